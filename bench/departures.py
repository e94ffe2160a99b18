"""Benchmark: many series and inputs known ahead, on the departures example (three airports).

In one process, from examples/departures (params.yaml and the January-October files): train the
base model on January-June (one per variant below) and score it, without updates, on the test
tails of July-October, per airport in departures per hour and pooled on each airport's scale,
next to seasonal naive and the linear baseline (the ridge fit on the same base windows).

Variants, side by side:
- `global`: one model for the three airports, the example's settings (calendar on);
- `global, no calendar`: the same without `data.calendar`;
- `per airport`: one model per airport, trained on that airport alone;
- each at `baselines.season` 168 (a week: the example's) and 24 (a day), the season that both
  the model's anchor and the seasonal naive forecast use.

With `--updates`, the quality bar per airport instead: the base model of the example's settings,
then July-October as four update steps of each strategy named (as the pipeline runs them, in
one process, without step state), and per airport the new-period error (each step's model on
its new month's test tail, meaned over the four months, as `new_rmse`) against seasonal naive
and the linear baseline (the ridge refit on all months so far).

The pipeline's own figures come from `make departures` (reports/metrics.json there); this script
prints the champion's from it when the project exists.

    .venv/bin/python bench/departures.py                 # every variant (about 5 minutes here)
    .venv/bin/python bench/departures.py --seasons 168 --variants global
    .venv/bin/python bench/departures.py --updates finetune distill   # about 2 minutes here
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EXAMPLE = ROOT / "examples" / "departures"
VARIANTS = ("global", "global, no calendar", "per airport")


def params_for(season: int, calendar: bool):
    from lstm_utils.config import parse_params

    raw = yaml.safe_load((EXAMPLE / "params.yaml").read_text())
    raw["baselines"]["season"] = season
    if not calendar:
        raw["data"]["calendar"] = []
    return parse_params(raw)


def scored(frame, params, model_of) -> dict[str, dict[str, float]]:
    """Per airport and pooled: RMSE of the model(s), seasonal naive and linear on the later
    months' test tails. `model_of(name)` is the model for an airport (the same one for all, or its own)."""
    from lstm_utils.baselines import seasonal_naive
    from lstm_utils.linear import BatchSums
    from lstm_utils.metrics import errors
    from lstm_utils.model import predict
    from lstm_utils.splits import SERIES
    from lstm_utils.windows import split_windows

    later = sorted(set(frame["batch"]))[1:]
    out = {}
    ridge = {}
    for name in sorted(set(frame[SERIES])):
        part = frame[frame[SERIES] == name] if model_of("__each__") is None else frame
        key = "all" if model_of("__each__") is not None else name
        if key not in ridge:
            ridge[key] = BatchSums(part, params).fit([0])
        w = split_windows(frame, params, "test", later)
        pick = w.series() == name
        w = w.subset(pick)
        y = w.targets()
        preds = {"model": predict(model_of(name), w), "seasonal_naive": seasonal_naive(w, params.baselines.season),
                 "linear": ridge[key].predict(w)}
        target = params.data.targets[0]
        out[name] = {k: errors(y, p, params.data.targets)["rmse"][target] for k, p in preds.items()}
        scaled_y, *_ = w.scaled(y)
        out[name] |= {f"{k} (scaled)": errors(scaled_y, w.scaled(p)[0], params.data.targets)["rmse"][target]
                      for k, p in preds.items()}
        out[name]["windows"] = len(w)
    return out


def pooled(per: dict[str, dict[str, float]]) -> dict[str, float]:
    """RMSE pooled over airports on their scales (weighted by windows, as the pipeline pools)."""
    n = np.array([v["windows"] for v in per.values()], dtype=float)
    return {k: float(np.sqrt(np.sum(n * np.array([v[f"{k} (scaled)"] ** 2 for v in per.values()])) / n.sum()))
            for k in ("model", "seasonal_naive", "linear")}


def run(variant: str, season: int) -> dict:
    from lstm_utils.from_scratch import train_new
    from lstm_utils.ingest import ingest
    from lstm_utils.splits import SERIES, assign_splits

    params = params_for(season, calendar=variant != "global, no calendar")
    ds = ingest(EXAMPLE / "data", params.data, params.split.base_batches, horizon=params.window.horizon)
    frame = assign_splits(ds, params.split)
    started = time.perf_counter()
    if variant == "per airport":
        models = {name: train_new(frame[frame[SERIES] == name], params, [0], verbose=0).model
                  for name in sorted(set(frame[SERIES]))}
        per = scored(frame, params, lambda name: None if name == "__each__" else models[name])
    else:
        model = train_new(frame, params, [0], verbose=0).model
        per = scored(frame, params, lambda name: model)
    return {"per": per, "pooled": pooled(per), "seconds": time.perf_counter() - started}


def updates(names: list[str]) -> None:
    """Per airport and pooled, the new-period error of each strategy against the baselines."""
    from lstm_utils.baselines import seasonal_naive
    from lstm_utils.chain import advance
    from lstm_utils.from_scratch import train_new
    from lstm_utils.ingest import ingest
    from lstm_utils.linear import BatchSums
    from lstm_utils.model import predict
    from lstm_utils.splits import assign_splits
    from lstm_utils.windows import split_windows

    params = params_for(168, calendar=True)
    ds = ingest(EXAMPLE / "data", params.data, params.split.base_batches, horizon=params.window.horizon)
    frame = assign_splits(ds, params.split)
    months = {f.batch: Path(f.name).stem for f in ds.report.files}
    base = train_new(frame, params, [0], verbose=0).model
    sums, later = BatchSums(frame, params), sorted(set(frame["batch"]))[1:]
    fixed = {"seasonal naive": lambda t, w: seasonal_naive(w, params.baselines.season),
             "linear": lambda t, w: sums.fit(list(range(t + 1))).predict(w)}
    forecasters = dict(fixed)
    for name in names:
        started = time.perf_counter()
        chain = advance(name, base, frame, params, months, progress=lambda line: None)
        forecasters[name] = lambda t, w, chain=chain: predict(chain.models[t], w)
        gates = [rec.info.get("gate") for rec in chain.steps]
        print(f"<!-- {name}: {time.perf_counter() - started:.0f} s; gate per step {gates} -->", flush=True)
    # scaled squared errors per forecaster, month and airport
    rows: dict[str, dict[str, list[float]]] = {k: {} for k in forecasters}
    pooled: dict[str, list[float]] = {k: [] for k in forecasters}
    for t in later:
        w = split_windows(frame, params, "test", [t])
        y = w.scaled(w.targets())[0]
        series = w.series()
        for k, f in forecasters.items():
            error = (w.scaled(f(t, w))[0] - y) ** 2
            pooled[k].append(float(np.sqrt(error.mean())))
            for airport in sorted(set(series)):
                rows[k].setdefault(airport, []).append(float(np.sqrt(error[series == airport].mean())))
    print("New-period error (each step's model on its new month's test tail, July-October, meaned), "
          "scaled by each airport's scale:\n")
    print("| forecaster | " + " | ".join([*sorted(rows["linear"]), "pooled"]) + " |")
    print("|---|" + "---|" * (len(rows["linear"]) + 1))
    for k in forecasters:
        cells = [f"{np.mean(v):.4f}" for _, v in sorted(rows[k].items())] + [f"{np.mean(pooled[k]):.4f}"]
        print(f"| {k} | " + " | ".join(cells) + " |")
    for name in names:
        beaten = [a for a, v in rows[name].items()
                  if np.mean(v) < min(np.mean(rows["seasonal naive"][a]), np.mean(rows["linear"][a]))]
        print(f"\n{name} beats both baselines on {len(beaten)} of {len(rows[name])} airports"
              f" ({', '.join(beaten) or 'none'}) and pooled: "
              f"{np.mean(pooled[name]) < min(np.mean(pooled['seasonal naive']), np.mean(pooled['linear']))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seasons", type=int, nargs="+", default=[168, 24])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--updates", nargs="+", metavar="STRATEGY",
                        help="per airport, the new-period error of these strategies' chains instead")
    args = parser.parse_args()
    if args.updates:
        updates(args.updates)
        return
    print("Base models (January-June) on the July-October test tails, no updates. RMSE in departures per hour; "
          "pooled: each airport's errors divided by its scale.\n")
    for season in args.seasons:
        print(f"## baselines.season {season}\n")
        print("| variant | airport | model | seasonal naive | linear | model vs seasonal naive | model vs linear |")
        print("|---|---|---|---|---|---|---|")
        for variant in args.variants:
            got = run(variant, season)
            for name, v in got["per"].items():
                print(f"| {variant} | {name} | {v['model']:.3f} | {v['seasonal_naive']:.3f} | {v['linear']:.3f} | "
                      f"{v['model'] / v['seasonal_naive'] - 1:+.1%} | {v['model'] / v['linear'] - 1:+.1%} |")
            p = got["pooled"]
            print(f"| {variant} | pooled (scaled) | {p['model']:.4f} | {p['seasonal_naive']:.4f} | {p['linear']:.4f} | "
                  f"{p['model'] / p['seasonal_naive'] - 1:+.1%} | {p['model'] / p['linear'] - 1:+.1%} |")
            print(f"<!-- {variant}: {got['seconds']:.0f} s -->", flush=True)
        print()
    project = ROOT / "build" / "departures" / "reports" / "metrics.json"
    if project.is_file():
        m = json.loads(project.read_text())
        best = m["champion"]
        naive, linear = m["baselines"]["seasonal_naive"]["new_rmse"], m["baselines"]["linear"]["new_rmse"]
        print(f"Pipeline (build/departures, every update strategy; champion {best}): pooled new_rmse "
              f"{m['strategies'][best]['new_rmse']:.4f}, seasonal naive {naive:.4f}, linear {linear:.4f}")
        for name, per in m.get("series", {}).items():
            print(f"  {name} newest test tail: {best} {per[best]['rmse']:.3f}, seasonal naive "
                  f"{per['seasonal_naive']['rmse']:.3f}, linear {per['linear']['rmse']:.3f}")


if __name__ == "__main__":
    main()

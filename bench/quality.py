"""Benchmark: is the champion ever behind the ridge, on data the pipeline never saw? Six datasets.

For each dataset, in one process (bench/linear.py's `run`, as the pipeline runs it without DVC):
ingest the pipeline's files, train the base model on the first six, run each strategy's chain over
the later ones, and crown the champion by params.yaml's rule (`compare.*`). Then score, on every
window whose targets lie in the held-out files (counted as `evaluate` and the deployed windows
count them: across split boundaries, the look-back reaching into the pipeline's data):

- each strategy's final model (the one a user has deployed after the last update);
- the ridge (the linear baseline refit on every window the pipeline had: its final step);
- the trees (LightGBM, `baselines.trees`: the gradient-boosted baseline as its last step fitted it);
- seasonal naive (`baselines.season`).

RMSE per target, meaned over targets; with several series, each error divided by its series'
scale, as the pipeline pools them. The bars of issue 29:

- on every dataset, the champion is at most 0.5% behind the ridge;
- on the nonlinear one (greensboro_ghi), it is at least 10% ahead of it;

and of issue 41: on every dataset at most 2% behind the trees, on vic_demand level with them.

Datasets (each the shipped params.yaml with its data keys, or its own params file):

| name | files for the pipeline | held out | what |
|---|---|---|---|
| sample | examples/sample_data (Jan-Oct 2013) | examples/new_data (Nov-Dec) | JFK hourly weather |
| flights | examples/flights Jan-Oct 2013 | Nov-Dec | NYC departures per hour |
| departures | examples/departures/data (Jan-Oct) | its new_data (Nov-Dec) | three airports, calendar |
| seattle_temp | examples/quality/seattle_temp Jan-Oct | Nov-Dec | smooth: hourly temperature normals |
| greensboro_ghi | examples/quality/greensboro_ghi Jan-Oct | Nov-Dec | solar irradiance: a day-night profile |
| vic_demand | examples/quality/vic_demand Jan-Oct 2014 | Nov-Dec | half-hourly electricity demand: day and week |

    .venv/bin/python bench/quality.py                              # every dataset, every strategy
    .venv/bin/python bench/quality.py --dataset sample --strategies none,finetune
    .venv/bin/python bench/quality.py --set model.share=none --json /tmp/no-share.json
    .venv/bin/python bench/quality.py --dataset greensboro_ghi --seeds 3   # the base model, seeds averaged

`--set section.key=value` (YAML values) changes every dataset's settings, as in bench/linear.py.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from linear import DATASETS as LINEAR_SETS, print_bars, run  # noqa: E402

EXAMPLES = ROOT / "examples"
QUALITY = EXAMPLES / "quality"
NONLINEAR = "greensboro_ghi"
BEHIND, AHEAD = 0.005, 0.10  # the bars: at most 0.5% behind the ridge anywhere, 10% ahead on the nonlinear one
TREES_BEHIND = 0.02  # and at most 2% behind the trees (LightGBM, `baselines.trees`), level with them on vic_demand


def _months(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.csv"))


DATASETS: dict[str, dict] = {
    "sample": {"files": _months(EXAMPLES / "sample_data"), "unseen": _months(EXAMPLES / "new_data"), "data": {}},
    "flights": {"files": _months(EXAMPLES / "flights")[:10], "unseen": _months(EXAMPLES / "flights")[10:],
                "data": LINEAR_SETS["flights"]["data"]},
    "departures": {"files": _months(EXAMPLES / "departures" / "data"),
                   "unseen": _months(EXAMPLES / "departures" / "new_data"), "data": {},
                   "params": EXAMPLES / "departures" / "params.yaml"},
    "seattle_temp": {"files": _months(QUALITY / "seattle_temp")[:10], "unseen": _months(QUALITY / "seattle_temp")[10:],
                     "data": {"time_column": "time", "targets": ["temp"], "features": ["temp"]}},
    NONLINEAR: {"files": _months(QUALITY / NONLINEAR)[:10], "unseen": _months(QUALITY / NONLINEAR)[10:],
                "data": {"time_column": "time", "targets": ["ghi"],
                         "features": ["ghi", "ghi_extra", "temp_air", "relative_humidity", "total_cloud"]}},
    "vic_demand": {"files": _months(QUALITY / "vic_demand")[:10], "unseen": _months(QUALITY / "vic_demand")[10:],
                   "data": {"time_column": "time", "targets": ["demand"], "features": ["demand", "temperature",
                                                                                     "workday"], "freq": "30min"},
                   "sections": {"window": {"lookback": 144, "horizon": 48}, "baselines": {"season": 48}}},
}


def settings(dataset: str, changes: list[str]) -> dict:
    """The dataset's params (params.yaml with its data keys, or its own file), `--set` applied."""
    spec = DATASETS[dataset]
    raw = yaml.safe_load(Path(spec.get("params", ROOT / "params.yaml")).read_text())
    raw["data"].update(spec["data"])
    for section, keys in spec.get("sections", {}).items():  # half-hourly: a day is 48 steps
        raw[section].update(keys)
    for change in changes:
        key, _, value = change.partition("=")
        section, _, name = key.partition(".")
        raw[section][name] = yaml.safe_load(value)
    return raw


def prepared(files: list[Path], params):
    """The files ingested, checked and split as the pipeline's data stage does."""
    from lstm_utils.stages.data import prepare

    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            shutil.copy(path, Path(tmp) / path.name)
        return prepare(tmp, params).frame


def held_out(params, seen, every):
    """Every window whose targets lie in the held-out files (their look-back may reach back)."""
    from lstm_utils.windows import deployed_windows

    first = int(seen["batch"].max()) + 1
    return functools.reduce(lambda a, b: a.concat(b), [deployed_windows(every, params, t)
                                                       for t in range(first, int(every["batch"].max()) + 1)])


def seed_average(dataset: str, raw: dict, k: int) -> None:
    """The base model trained with `k` seeds (train.seed, +1, ...): each one's and their mean
    forecast's RMSE on the held-out windows, next to the base period's ridge."""
    from dataclasses import replace

    from lstm_utils.config import parse_params
    from lstm_utils.evaluation import assess
    from lstm_utils.from_scratch import train_new
    from lstm_utils.linear import BatchSums
    from lstm_utils.metrics import mean_over_targets
    from lstm_utils.model import predict

    params = parse_params(raw)
    spec = DATASETS[dataset]
    seen, every = prepared(spec["files"], params), prepared([*spec["files"], *spec["unseen"]], params)
    windows = held_out(params, seen, every)

    def rmse(pred) -> float:
        return mean_over_targets(assess(windows, pred, params.data.targets)["rmse"])

    preds = []
    for s in range(k):
        run = train_new(seen, replace(params, train=replace(params.train, seed=params.train.seed + s)), [0], verbose=0)
        preds.append(predict(run.model, windows).astype("float64"))
        print(f"{dataset}: seed {params.train.seed + s}: {rmse(preds[-1]):.4f} (best epoch {run.result.best_epoch}, "
              f"{run.guards})", flush=True)
    print(f"{dataset}: the mean of {k}: {rmse(sum(preds) / k):.4f}; the base period's ridge "
          f"{rmse(BatchSums(seen, params).fit([0]).predict(windows)):.4f} ({len(windows)} windows)")


def unseen_scores(dataset: str, out: dict) -> dict:
    """RMSE of every strategy's final model, the ridge and seasonal naive on every window of the
    held-out files, with the window count and the first and last target time."""
    from lstm_utils.baselines import every_baseline
    from lstm_utils.evaluation import assess
    from lstm_utils.linear import BatchSums
    from lstm_utils.metrics import mean_over_targets
    from lstm_utils.model import KerasForecaster

    params = out["params"]
    spec = DATASETS[dataset]
    windows = held_out(params, out["frame"], prepared([*spec["files"], *spec["unseen"]], params))
    seen = int(out["frame"]["batch"].max()) + 1
    ridge = BatchSums(out["frame"], params).fit(list(range(seen)))  # the linear baseline's last refit
    forecasters = {name: KerasForecaster(model) for name, model in out["models"].items()}
    forecasters |= {k: v for k, v in every_baseline(params.baselines.season, ridge).items()
                    if k in ("linear", "seasonal_naive")}
    forecasters |= out["baselines"].final()  # the trees as the last step fitted them (baselines.trees > 0)
    rmse = {name: mean_over_targets(assess(windows, f.predict(windows), params.data.targets)["rmse"])
            for name, f in forecasters.items()}
    times = windows.target_times()
    return {"rmse": rmse, "windows": len(windows), "from": times[0].isoformat(), "to": times[-1].isoformat()}


def report(dataset: str, out: dict, scores: dict) -> list[tuple[str, bool]]:
    """Print one dataset's table; return its bars (text, passed)."""
    rmse, lin, champion = scores["rmse"], scores["rmse"]["linear"], out["champion"]
    print(f"\n{dataset}: {scores['windows']} held-out windows, targets {scores['from'][:10]} .. {scores['to'][:10]}; "
          f"champion {champion}")
    print(f"{'forecaster':22s} {'unseen RMSE':>12s} {'vs ridge':>9s} {'pipeline new_rmse':>18s}")
    for name, value in sorted(rmse.items(), key=lambda kv: kv[1]):
        mark = " (champion)" if name == champion else " (ridge)" if name == "linear" else ""
        mark += " (LightGBM)" if name == "trees" else ""
        seen = out["strategies"].get(name, {}).get("new_rmse", out["linear"]["new_rmse"] if name == "linear" else None)
        print(f"{name + mark:22s} {value:12.4f} {value / lin - 1:+9.1%} "
              f"{'' if seen is None else f'{seen:18.4f}'}")
    gap = rmse[champion] / lin - 1
    bars = [(f"{dataset}: the champion ({champion}) at most {BEHIND:.1%} behind the ridge ({gap:+.2%}, "
             f"{scores['windows']} windows)", gap <= BEHIND)]
    if "trees" in rmse:  # issue 41: at most 2% behind the trees; on vic_demand level with them
        behind = rmse[champion] / rmse["trees"] - 1
        limit = 0.0 if dataset == "vic_demand" else TREES_BEHIND
        bars.append((f"{dataset}: the champion at most {limit:.0%} behind the trees ({behind:+.2%})", behind <= limit))
    if dataset == NONLINEAR:
        bars.append((f"{dataset}: the champion at least {AHEAD:.0%} ahead of the ridge ({gap:+.1%})", gap <= -AHEAD))
    return bars


def dataset_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every benchmark over these datasets takes: --dataset, --strategies, --set, --json."""
    parser.add_argument("--dataset", action="append", choices=list(DATASETS), help="repeat for several (default: all)")
    parser.add_argument("--strategies", help="comma-separated (default: compare.strategies)")
    parser.add_argument("--set", dest="changes", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--json", type=Path, help="also write every figure here")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    dataset_arguments(parser)
    parser.add_argument("--seeds", type=int, help="instead: the base model with this many seeds, and their mean")
    args = parser.parse_args()
    if args.seeds:
        for dataset in args.dataset or list(DATASETS):
            seed_average(dataset, settings(dataset, args.changes), args.seeds)
        return 0
    bars, figures = [], {}
    for dataset in args.dataset or list(DATASETS):
        started = time.perf_counter()
        out = run(dataset, copy.deepcopy(settings(dataset, args.changes)),
                  args.strategies.split(",") if args.strategies else None, files=DATASETS[dataset]["files"])
        scores = unseen_scores(dataset, out)
        bars += report(dataset, out, scores)
        figures[dataset] = scores | {"champion": out["champion"], "seconds": time.perf_counter() - started,
                                     "guards": {name: rec["steps"][-1]["info"].get("share")
                                                for name, rec in out["records"].items() if rec["steps"]}}
        print(f"  ({figures[dataset]['seconds']:.0f} s)", flush=True)
    print_bars(bars)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the linear family against the LSTM strategies, on every window a deployed model faced.

For each dataset, in one process: the linear family alone (each design of `linear.DESIGNS` the
view can fit, and the one chosen with its penalty on the validation tails, fitted on the training
tails only or on every window up to the step), a plain ridge on the standardized absolute and
relative window (penalty 10, every earlier window, no choice made), and every strategy's chain with
its linear path set to the family's fit, as the pipeline computes them (bench/linear.py's `run`,
without DVC). Every figure is the deployed RMSE: each window of each new month, forecast by the
model or ridge as it stood before that month, pooled over the months (its window count beside it).
Then the bars of issue 26:

- on the sample, every learning strategy is at most 0.5% behind the best family member fitted on
  the same data (every window up to the step);
- the champion is at most 0.5% behind the plain ridge;
- on flights and departures the same figures are reported, with the design the family chose.

    .venv/bin/python bench/family.py                          # sample, flights, departures
    .venv/bin/python bench/family.py --datasets sample --linear-only
    .venv/bin/python bench/family.py --set baselines.linear_learns=train
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

DATASETS = ("sample", "flights", "departures")
LEARNING = ("finetune", "distill", "ensemble", "retrain", "replay", "refit")  # every strategy but none


def family(dataset: str, raw: dict) -> dict:
    """The linear family alone: deployed RMSE and windows of each member, fitted two ways, the
    chosen design and penalty after each step, and the plain ridge."""
    from linear import DATASETS as FILES
    from lstm_utils.config import parse_params
    from lstm_utils.evaluation import WindowLosses, pooled
    from lstm_utils.ingest import ingest
    from lstm_utils.linear import BatchSums, Ridge
    from lstm_utils.splits import assign_splits
    from lstm_utils.windows import deployed_windows

    params = parse_params(raw)
    with tempfile.TemporaryDirectory() as tmp:
        for path in FILES[dataset]["files"]:
            shutil.copy(path, Path(tmp) / path.name)
        data = ingest(tmp, params.data, params.split.base_batches, horizon=params.window.horizon)
    frame = assign_splits(data, params.split)
    n = int(frame["batch"].max()) + 1
    sums = BatchSums(frame, params)
    ahead = [deployed_windows(frame, params, t) for t in range(1, n)]

    def deployed(ridge_at) -> dict:
        cells = [WindowLosses.of(w, ridge_at(t).predict(w), {}) for t, w in enumerate(ahead)]
        return {"deployed_rmse": pooled(cells)["deployed_rmse"], "windows": sum(len(w) for w in ahead),
                "months": [pooled([c])["deployed_rmse"] for c in cells]}

    def member(design: str | None, learns: str):
        """The ridge after step t, as the package fits it, in one design (None: the family's choice)."""
        one = sums if design is None else BatchSums(frame, params.replace("baselines", linear_designs=(design,)),
                                                    sums.view)
        one._kept = sums._kept  # the same windows' sums, computed once
        return lambda t: one.fit(list(range(t + 1)), learns)

    out = {}
    for learns in ("train", "all"):
        for design in (*sums.view.designs, None):
            name = f"{design or 'chosen'} ({learns})"
            out[name] = deployed(member(design, learns))
        out[f"chosen ({learns})"]["fits"] = [[r.design, r.penalty] for r in (member(None, learns)(t) for t in range(n))]
    if not sums.view.window:
        out["plain ridge (both, 10, all)"] = deployed(lambda t: Ridge.solve(sums.of("all", range(t + 1)), 10.0,
                                                                             sums.view, "both"))
    return out


def main() -> int:
    from linear import print_bars, run, settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--linear-only", action="store_true", help="the family alone, no LSTM strategy")
    parser.add_argument("--set", dest="changes", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--json", help="write every figure here too")
    args = parser.parse_args()
    bars, everything = [], {}
    for dataset in args.datasets.split(","):
        started = time.perf_counter()
        raw = settings(dataset, args.changes)
        lin = family(dataset, raw)
        print(f"\n{dataset}: the linear family, deployed RMSE ({time.perf_counter() - started:.0f} s)")
        for name, v in lin.items():
            fits = ", ".join(f"{d} {p:g}" for d, p in v.get("fits", []))
            print(f"  {name:30s} {v['deployed_rmse']:9.4f}  {v['windows']:6,d} windows" + (f"  [{fits}]" if fits else ""))
        everything[dataset] = {"family": lin}
        if args.linear_only:
            continue
        out = run(dataset, raw)
        strategies = {s: v["deployed_rmse"] for s, v in out["strategies"].items()}
        baselines = {k: v["deployed_rmse"] for k, v in out["baselines"].summaries.items()}
        coverage = {s: {k.rsplit("_", 1)[1]: v[k] for k in v if k.startswith("deployed_coverage_")}
                    for s, v in {**out["strategies"], **out["baselines"].summaries}.items()}
        everything[dataset] |= {"strategies": strategies, "baselines": baselines, "coverage": coverage,
                                "champion": out["champion"], "seconds": out["seconds"]}
        best_member = min((v["deployed_rmse"], k) for k, v in lin.items() if k.endswith("(all)") and "plain" not in k)
        plain = lin.get("plain ridge (both, 10, all)", {}).get("deployed_rmse")
        print(f"{dataset}: strategies (deployed RMSE; vs the best family member {best_member[1]} {best_member[0]:.4f}; "
              f"deployed interval coverage per level)")

        def cover(name: str) -> str:
            return "  ".join(f"{level}%: {value:.3f}" for level, value in coverage.get(name, {}).items())

        for s, v in sorted(strategies.items(), key=lambda kv: kv[1]):
            print(f"  {s:30s} {v:9.4f} {v / best_member[0] - 1:+8.2%}  {cover(s)}"
                  + ("  champion" if s == out["champion"] else ""))
        for k, v in baselines.items():
            print(f"  {k + ' (baseline)':30s} {v:9.4f} {v / best_member[0] - 1:+8.2%}  {cover(k)}")
        from lstm_utils.evaluation import pooled

        months = {"champion " + out["champion"]: [pooled([c])["deployed_rmse"] for c in out["records"][out["champion"]]["deployed"]],
                  "linear (baseline)": [pooled([c])["deployed_rmse"] for c in out["baselines"].deployed["linear"]]}
        months |= {name: lin[name]["months"] for name in (best_member[1], "chosen (all)")}
        print(f"{dataset}: deployed RMSE per month (" + ", ".join(out["baselines"].linear["batches"][1:]) + ")")
        for name, values in months.items():
            print(f"  {name:30s} " + " ".join(f"{v:8.4f}" for v in values))
        everything[dataset]["months"] = months
        if dataset == "sample":
            worst = max((v, s) for s, v in strategies.items() if s in LEARNING)
            bars.append((f"sample: every learning strategy at most 0.5% behind {best_member[1]} "
                         f"(worst {worst[1]} {worst[0] / best_member[0] - 1:+.2%})", worst[0] <= 1.005 * best_member[0]))
        if plain is not None:
            champ = strategies[out["champion"]]
            bars.append((f"{dataset}: the champion ({out['champion']} {champ:.4f}) at most 0.5% behind the plain ridge "
                         f"({plain:.4f}: {champ / plain - 1:+.2%})", champ <= 1.005 * plain))
    if args.json:
        Path(args.json).write_text(json.dumps(everything, indent=1, default=str))
    print_bars(bars)
    return 0


if __name__ == "__main__":
    sys.exit(main())

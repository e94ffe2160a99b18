"""Benchmark: the defaults, chosen by measurement. A small sweep, one setting changed at a time,
on the sample and on the flights example (see bench/linear.py).

For each setting and dataset it trains the base model and runs the chains of finetune, replay
and distill (the strategies the issue's bars name; retrain and ensemble cost the most and move
with the same settings), then prints their new-period RMSE against the linear baseline's and
the base model's RMSE on the base test tail (and the linear baseline's there). The defaults in
params.yaml are the row with the lowest new-period RMSE of the three, averaged over them and over
both datasets (each relative to the first row's linear baseline).

    .venv/bin/python bench/sweep.py            # every row below, both datasets (about an hour here)
    .venv/bin/python bench/sweep.py --rows 0,3
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import linear  # noqa: E402  (bench/linear.py)

# The sweep started from the defaults before it (units [8], look-back 48) and changed one setting
# at a time; then the two best sizes with the best look-back. The row with no change is params.yaml.
BEFORE = ["model.units=[8]", "distill.units=[8]", "window.lookback=48"]
ROWS: list[tuple[str, list[str]]] = [
    ("units [8], lookback 48 (before)", BEFORE),
    ("  model.units [16]", [*BEFORE, "model.units=[16]", "distill.units=[16]"]),
    ("  model.units [32]", [*BEFORE, "model.units=[32]", "distill.units=[32]"]),
    ("  window.lookback 72", [*BEFORE, "window.lookback=72"]),
    ("  train.learning_rate 0.003", [*BEFORE, "train.learning_rate=0.003"]),
    ("  train.patience 10", [*BEFORE, "train.patience=10"]),
    ("  update learning rates x3", [*BEFORE, "finetune.learning_rate=0.0003", "replay.learning_rate=0.0006",
                                    "distill.learning_rate=0.001"]),
    ("  model.linear false (LSTM alone)", [*BEFORE, "model.linear=false"]),
    ("  linear penalty fixed at 1000", [*BEFORE, "baselines.linear_penalties=[1000]"]),
    ("units [16], lookback 72 (params.yaml)", []),
    ("units [32], lookback 72", ["model.units=[32]", "distill.units=[32]"]),
]
STRATEGIES = ["finetune", "replay", "distill"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", help="comma-separated row numbers (default: all)")
    parser.add_argument("--dataset", choices=[*linear.DATASETS, "both"], default="both")
    args = parser.parse_args()
    rows = [ROWS[int(i)] for i in args.rows.split(",")] if args.rows else ROWS
    datasets = list(linear.DATASETS) if args.dataset == "both" else [args.dataset]
    print(f"{'setting':36s} {'dataset':8s} {'base':>6s} {'b.lin':>6s} {'linear':>7s} "
          + " ".join(f"{s:>9s}" for s in STRATEGIES) + f" {'worst vs lin':>12s} {'seconds':>8s}", flush=True)
    reference: dict[str, float] = {}  # per dataset: the first row's linear baseline
    scores: dict[str, list[float]] = {}
    for label, changes in rows:
        for dataset in datasets:
            started = time.perf_counter()
            out = linear.run(dataset, linear.settings(dataset, changes), STRATEGIES, quiet=True)
            lin = out["linear"]["new_rmse"]
            reference.setdefault(dataset, lin)
            worst = max(out["strategies"][s]["new_rmse"] for s in STRATEGIES) / lin - 1
            scores.setdefault(label, []).extend(out["strategies"][s]["new_rmse"] / reference[dataset]
                                                for s in STRATEGIES)
            print(f"{label:36s} {dataset:8s} {out['base']['model']:6.3f} {out['base']['linear']:6.3f} {lin:7.3f} "
                  + " ".join(f"{out['strategies'][s]['new_rmse']:9.3f}" for s in STRATEGIES)
                  + f" {worst:+12.1%} {time.perf_counter() - started:8.0f}", flush=True)
    print(f"\nscore: new-period RMSE of {', '.join(STRATEGIES)}, each over the first row's linear baseline on its "
          f"dataset, averaged over {' and '.join(datasets)} (lower is better)")
    for label, values in sorted(scores.items(), key=lambda kv: sum(kv[1])):
        print(f"{label.strip():36s} {sum(values) / len(values):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

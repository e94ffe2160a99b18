"""Benchmark: do the prediction intervals stay calibrated through the updates?

On the prepared data, base model and step state of this project (run `make repro` first), for
each calibration window in `--calibration-batches` (the `intervals.calibration_batches`
setting), every strategy's chain is scored again with its steps reused from a copy of the
step state (nothing is trained, nothing under models/, reports/ or state/ is written), and the
baselines are calibrated alike. It prints, per level, each strategy's and baseline's coverage on
every new period's test tail (after learning it) and the means over the steps: coverage against
nominal, width, interval score; then the issue's bars for the strategy with the lowest new-period RMSE
(the test tails' view; the pipeline's champion rule weighs the deployed windows):

- its 80% and 95% intervals cover within 8 percentage points of nominal, averaged over the steps;
- its interval score beats seasonal naive's at each level.

    .venv/bin/python bench/intervals.py --calibration-batches 1 2 3
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BAR = 0.08  # coverage within 8 points of nominal


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibration-batches", type=int, nargs="+", default=None,
                        help="values of intervals.calibration_batches to measure (default: the params value)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import os

    os.chdir(ROOT)
    from lstm_utils.summary import summarize
    from lstm_utils.config import load_params
    from lstm_utils.stages.champion import baselines
    from lstm_utils.stages.prepared import load_batches
    from lstm_utils.stages.strategy import run_strategy

    if not (ROOT / "models/base.keras").is_file() or not (ROOT / "state").is_dir():
        print("run `make repro` first: the benchmark uses prepared/, models/base.keras and state/", file=sys.stderr)
        return 2
    params = load_params(ROOT / "params.yaml")
    frame, names, _ = load_batches(ROOT / "prepared", params)
    counts = args.calibration_batches or [params.intervals.calibration_batches]
    failed = 0
    for count in counts:
        p = params.replace("intervals", calibration_batches=count)
        summaries, per_step = {}, {}
        with tempfile.TemporaryDirectory() as scratch:
            for s in p.compare.strategies:
                shutil.copytree(ROOT / "state" / s, Path(scratch) / s)
                chain, _ = run_strategy(s, p, "prepared", "models/base.keras", state_dir=Path(scratch) / s)
                trained = [r.batch for r in chain.steps if not r.reused]
                if trained:
                    print(f"  note: {s} retrained {trained} (the step state was not current; run make repro)")
                seen = [r.windows_seen for r in chain.steps]
                summaries[s] = summarize(chain.rmse, chain.mae, seen, chain.intervals)
                per_step[s] = {q: [m["coverage"][t, t] for t in range(1, len(chain.batches))]
                               for q, m in chain.intervals.items()}
        base = baselines(frame, p, names)
        for name, b in base.per_batch.items():
            per_step[f"{name} (baseline)"] = {q: m["coverage"][1:] for q, m in b["intervals"].items()}
            summaries[f"{name} (baseline)"] = base.summaries[name]
        per_step["linear (baseline)"] = {q: [m["coverage"][t, t] for t in range(1, len(names))]
                                         for q, m in base.linear["intervals"].items()}
        summaries["linear (baseline)"] = base.summaries["linear"]
        best = min(p.compare.strategies, key=lambda s: summaries[s]["new_rmse"])  # the best by the test tails
        print(f"\n=== intervals.calibration_batches = {count}; best by new_rmse: {best} "
              f"(steps: {', '.join(names[b] for b in range(1, len(names)))})")
        for q in per_step[best]:
            nominal = float(q) / 100
            print(f"\n{q}% intervals (nominal {nominal:.2f})")
            print(f"{'forecaster':<28}{'per step coverage':<32}{'mean':>7}{'gap pp':>8}{'width':>8}{'score':>8}")
            for name, steps in per_step.items():
                s = summaries[name]
                cov = s[f"new_coverage_{q}"]
                print(f"{name:<28}{' '.join(f'{c:.2f}' for c in steps[q]):<32}{cov:>7.3f}"
                      f"{100 * (cov - nominal):>+8.1f}{s[f'new_width_{q}']:>8.2f}{s[f'new_interval_score_{q}']:>8.2f}")
        print()
        for q in per_step[best]:
            nominal, cov = float(q) / 100, summaries[best][f"new_coverage_{q}"]
            ok = abs(cov - nominal) <= BAR
            failed += not ok
            print(f"{'PASS' if ok else 'FAIL'}  {best}: {q}% coverage {cov:.3f}, "
                  f"within {BAR:.0%} of {nominal}")
            mine, naive = (summaries[best][f"new_interval_score_{q}"],
                           summaries["seasonal_naive (baseline)"][f"new_interval_score_{q}"])
            ok = mine < naive
            failed += not ok
            print(f"{'PASS' if ok else 'FAIL'}  {best}: {q}% interval score {mine:.2f} "
                  f"beats seasonal naive's {naive:.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: cost and accuracy of every update strategy over the sample's chain.

Runs each strategy's whole chain in a fresh process (as `dvc repro` does: one process per
stage), `--repeat` times, on the prepared data and base model of this project (run
`make repro` first), and prints the median training seconds and new-period RMSE per strategy,
their ratios to retrain, and the issue's quality bars:

- the champion's new-period RMSE beats persistence, seasonal naive and the linear baseline;
- finetune and replay each cost at most 1/4 of retrain's training seconds, distill at most 1/2;
- at least one of finetune, replay, distill is within 5% of retrain's new-period RMSE.

    .venv/bin/python bench/strategies.py --repeat 3

Nothing under models/ or reports/ is written.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ONE_RUN = """
import json, sys
from lstm_utils.config import load_params
from lstm_utils.stages.strategy import cost, run_strategy, save_strategy
params = load_params("params.yaml")
chain, sources = run_strategy(sys.argv[1], params, "prepared", "models/base.keras")
summary = save_strategy(chain, params, sources, sys.argv[2], sys.argv[2])
spent = cost(chain)
print(json.dumps(summary | {"train_seconds": spent["train_seconds"], "compile_seconds": spent["compile_seconds"]}))
"""


def run_once(strategy: str, scratch: str) -> dict:
    done = subprocess.run([sys.executable, "-c", ONE_RUN, strategy, scratch], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from lstm_utils.config import load_params
    from lstm_utils.stages.champion import baselines
    from lstm_utils.stages.prepared import load_batches

    if not (ROOT / "models/base.keras").is_file():
        print("run `make repro` first: the benchmark uses prepared/ and models/base.keras", file=sys.stderr)
        return 2
    params = load_params(ROOT / "params.yaml")
    names = params.compare.strategies
    frame, batch_names, _ = load_batches(ROOT / "prepared", params)
    naive = baselines(frame, params, batch_names).summaries
    runs: dict[str, list[dict]] = {s: [] for s in names}
    with tempfile.TemporaryDirectory() as scratch:
        for r in range(args.repeat):
            for s in names:  # interleaved, so load on the machine hits every strategy alike
                runs[s].append(run_once(s, scratch))
            print(f"repeat {r + 1}/{args.repeat} done", file=sys.stderr)
    med = {s: {k: statistics.median(x[k] for x in v) for k in ("train_seconds", "compile_seconds", "new_rmse", "forgetting")}
           for s, v in runs.items()}
    ref = med["retrain"]
    print(f"{'strategy':10s} {'seconds':>9s} {'/retrain':>9s} {'compile s':>9s} {'new_rmse':>9s} {'vs retrain':>11s} "
          f"{'forgetting':>11s}")
    for s, m in med.items():
        print(f"{s:10s} {m['train_seconds']:9.2f} {m['train_seconds'] / ref['train_seconds']:9.2f} "
              f"{m['compile_seconds']:9.2f} "
              f"{m['new_rmse']:9.3f} {m['new_rmse'] / ref['new_rmse'] - 1:+10.1%} {m['forgetting']:+11.3f}")
    for name, b in naive.items():
        print(f"{name:10s} {'':9s} {'':9s} {b['new_rmse']:9.3f}")
    best = min((s for s in med if s != "none"), key=lambda s: med[s]["new_rmse"])
    bars = {
        f"champion-like best ({best}) beats every baseline (persistence, seasonal naive, linear)":
            med[best]["new_rmse"] < min(b["new_rmse"] for b in naive.values()),
        "finetune <= 1/4 of retrain's seconds": med["finetune"]["train_seconds"] <= ref["train_seconds"] / 4,
        "replay <= 1/4 of retrain's seconds": med["replay"]["train_seconds"] <= ref["train_seconds"] / 4,
        "distill <= 1/2 of retrain's seconds": med["distill"]["train_seconds"] <= ref["train_seconds"] / 2,
        "finetune, replay or distill within 5% of retrain's new_rmse":
            any(med[s]["new_rmse"] <= 1.05 * ref["new_rmse"] for s in ("finetune", "replay", "distill")),
    }
    print()
    for text, ok in bars.items():
        print(f"[{'pass' if ok else 'FAIL'}] {text}")
    print(f"(medians of {args.repeat} runs, one fresh process per strategy and run; seconds: training, with the "
          "one-off compiling of each process's training step and forecast function apart, in `compile s`)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

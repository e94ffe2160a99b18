"""Benchmark: one stage's fixed cost, this code against an earlier commit, side by side.

For each of `--against COMMIT` and HEAD: a temporary clone with the bundled sample in data/,
`dvc repro STAGE` once (to build what the stage needs), then `dvc repro -f -s STAGE` `--repeat`
times. Prints the median wall seconds of the forced runs, the stage's notebook seconds (imports,
the rest) and the ratio HEAD / COMMIT. Issue 12's bar: the `none` strategy's stage (it trains
nothing) at most 40% of what it cost before.

    .venv/bin/python bench/stage.py --against ea694ad                 # strategy@none
    .venv/bin/python bench/stage.py --against ea694ad --stage data
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from incremental import ROOT, profile, sh  # noqa: E402


def measure(commit: str | None, stage: str, repeat: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "project"
        os.environ["LSTM_UTILS_CACHE"] = str(Path(tmp) / "cache")
        sh(["git", "clone", "-q", str(ROOT), str(work)], Path(tmp))
        if commit:
            sh(["git", "checkout", "-q", commit], work)
        shutil.copytree(ROOT / "examples" / "sample_data", work / "data")
        sh(["dvc", "repro", stage], work)
        if not (work / "dvc.yaml").read_text().count("foreach") and "@" in stage:
            stage = stage.split("@")[1]  # before one notebook per strategy, the stage was named for it
        walls, books = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            sh(["dvc", "repro", "-f", "-s", stage], work)
            walls.append(time.perf_counter() - started)
            name = stage.split("@")[-1]
            books.append(profile(json.loads((work / "reports/executed" / f"{name}.ipynb").read_text())))
        label = commit or sh(["git", "rev-parse", "--short", "HEAD"], work).strip()
        return {"label": label, "wall": statistics.median(walls),
                "notebook": statistics.median(b["total"] for b in books),
                "imports": statistics.median(b["imports"] for b in books)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="the earlier commit, e.g. ea694ad")
    parser.add_argument("--stage", default="strategy@none")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = [measure(args.against, args.stage, args.repeat), measure(None, args.stage, args.repeat)]
    print(f"{'code':10s} {'stage wall s':>12s} {'notebook s':>10s} {'of which imports':>16s}")
    for r in rows:
        print(f"{r['label']:10s} {r['wall']:12.1f} {r['notebook']:10.1f} {r['imports']:16.1f}")
    ratio = rows[1]["wall"] / rows[0]["wall"]
    print(f"\n[{'pass' if ratio <= 0.4 else 'FAIL'}] {args.stage}: {ratio:.2f} of {args.against}'s wall seconds "
          f"(bar: at most 0.40; notebook seconds {rows[1]['notebook'] / rows[0]['notebook']:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

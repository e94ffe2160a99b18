"""Benchmark: one stage's fixed cost, this code against an earlier commit, side by side.

For each of `--against COMMIT` and HEAD: a temporary clone with the bundled sample in data/,
`dvc repro STAGE` once (to build what the stage needs), then `dvc repro -f -s STAGE` `--repeat`
times. Prints the median wall seconds of the forced runs, the stage's notebook seconds (imports,
the rest) and the ratio HEAD / COMMIT. Issue 12's bar: the `none` strategy's stage (it trains
nothing) at most 40% of what it cost before.

It also measures the floor under any stage of this design, in HEAD's clone, with stages added
for the purpose and forced as often: `dvc` (a stage whose command is `python -c pass`: DVC's
own bookkeeping and one Python process), `papermill` (`python -m lstm_utils notebook floor` on
a notebook with a parameters cell only: + papermill, a kernel, and rendering its HTML) and
`imports` (the same with the strategy notebook's import cell: + NumPy, pandas, matplotlib,
Keras and its backend). Each is given as a share of COMMIT's stage, so it shows how much of
the bar any stage can reach before it does its own work.

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

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

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
        row = {"label": label, "wall": statistics.median(walls),
               "notebook": statistics.median(b["total"] for b in books),
               "imports": statistics.median(b["imports"] for b in books)}
        if commit is None:
            row["floor"] = floor(work, repeat)
        return row


def floor(work: Path, repeat: int) -> dict[str, float]:
    """Median wall seconds of forced stages that do ever less than a stage's work (module docstring)."""
    strategy = nbformat.read(str(work / "notebooks" / "strategy.ipynb"), as_version=4)
    imports = next(c.source for c in strategy.cells if c.cell_type == "code" and "import" in c.source)
    for name, cells in {"floor": [], "floor_imports": [imports]}.items():
        parameters = new_code_cell('strategy = "none"\nparams_file = "params.yaml"', metadata={"tags": ["parameters"]})
        book = new_notebook(cells=[parameters] + [new_code_cell(c) for c in cells],
                            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
        nbformat.write(book, str(work / "notebooks" / f"{name}.ipynb"))
    stages = {"floor-dvc": "python -c pass", "floor-papermill": "python -m lstm_utils notebook floor",
              "floor-imports": "python -m lstm_utils notebook floor_imports"}
    with open(work / "dvc.yaml", "a", encoding="utf-8") as f:
        for name, cmd in stages.items():
            f.write(f"  {name}:\n    cmd: {cmd}\n")
    out = {}
    for name in stages:
        walls = []
        for _ in range(repeat + 1):  # the first run warms the compile cache and the file system
            started = time.perf_counter()
            sh(["dvc", "repro", "-f", "-s", name], work)
            walls.append(time.perf_counter() - started)
        out[name.removeprefix("floor-")] = statistics.median(walls[1:])
    return out


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
    print(f"\nThe floor under any stage ({rows[1]['label']}), forced {args.repeat} times each, medians:")
    print(f"{'stage that runs':50s} {'wall s':>7s} {'of ' + args.against:>11s}")
    what = {"dvc": "dvc + `python -c pass`", "papermill": "+ papermill, a kernel, the HTML (empty notebook)",
            "imports": "+ the strategy notebook's imports"}
    for key, seconds in rows[1]["floor"].items():
        print(f"{what[key]:50s} {seconds:7.1f} {seconds / rows[0]['wall']:11.2f}")
    print(f"{'the whole ' + args.stage + ' stage':50s} {rows[1]['wall']:7.1f} {ratio:11.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

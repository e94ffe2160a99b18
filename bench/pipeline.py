"""Benchmark: the whole pipeline on a generated panel, from scratch and with one month more.

A project with this checkout's pipeline gets a generated panel (`bench/panel.py`'s series: target
`y` and three features, scales from 10 to 10,000, long form with a `site` column): `--series`
series (default 100) of `--months` calendar months hourly (default 12: one year; the first six
are the base period), one CSV per month. Every stage runs on its own, in DVC's order, through
`dvc repro -s STAGE`; then the next month's CSV is added and every stage DVC finds out of date
runs again the same way. Per stage:

- wall seconds;
- training seconds (`reports/cost/<stage>.json`'s `train_seconds`: gradient steps and their
  validation) and their share of the stage;
- windows trained on (`windows_seen`) and so windows per second of training;
- peak memory: the largest resident set among the stage's processes (dvc, papermill, the
  notebook's kernel), from `wait4`.

Every `epochs` key (train, finetune, distill, replay, refit) is capped at `--epochs` (default 2) so
that the run takes minutes, not hours, here; training seconds grow with the epochs run, the rest
does not (the table says how many windows each stage trained on, so any other epoch count can be
estimated from its windows per second). `--parallel` also times the new month through
`lstm-utils repro` in a copy of the project (default jobs: one per core); `--keep DIR` keeps the
project, after the new month, in DIR.

    .venv/bin/python bench/pipeline.py                    # 100 series: about 40 minutes here
    .venv/bin/python bench/pipeline.py --series 10 --months 8 --epochs 1    # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml
from _project import copy_pipeline, env
from panel import raw_params, write_panel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
EPOCH_KEYS = ("train", "finetune", "distill", "replay", "refit")


def project(dest: Path, data: Path, months: int, epochs: int, strategies: list[str] | None = None) -> Path:
    """A DVC project at `dest` with this checkout's pipeline, the first `months` files of `data`,
    and params.yaml set for the panel with every epochs key capped at `epochs` (and only
    `strategies`, when given)."""
    copy_pipeline(dest, sorted(data.glob("*.csv"))[:months])
    raw = raw_params()
    for key in EPOCH_KEYS:
        raw[key]["epochs"] = min(int(raw[key]["epochs"]), epochs)
    if strategies:
        raw["compare"]["strategies"] = strategies
    (dest / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    subprocess.run(["dvc", "init", "--no-scm", "-q"], cwd=dest, env=env(), check=True)
    return dest


def run_stage(root: Path, stage: str) -> dict | None:
    """`dvc repro -s stage` in `root`: wall seconds, peak memory (GB) of its largest process, and
    the training seconds and windows its cost file records; None when DVC found it up to date."""
    started = time.perf_counter()
    proc = subprocess.Popen(["dvc", "repro", "-s", stage], cwd=root, env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    output = (proc.stdout.read() if proc.stdout else b"").decode()
    _, status, usage = os.wait4(proc.pid, 0)  # the child's usage, its waited-for descendants' included
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"dvc repro -s {stage} failed:\n{output[-4000:]}")
    if "didn't change, skipping" in output:
        return None
    return {"seconds": seconds, "peak_gb": usage.ru_maxrss / 2 ** 20, **trained(root, stage)}


def trained(root: Path, stage: str) -> dict:
    """The training seconds and windows of the steps a stage computed in its last run (a strategy's
    cost file also lists the steps it reused from the step state, as measured when computed)."""
    name = stage.removeprefix("strategy@")
    cost = root / "reports" / "cost" / f"{name}.json"
    if stage in ("data", "compare") or not cost.is_file():
        return {"train_seconds": 0.0, "windows_seen": 0}
    record = json.loads(cost.read_text())
    if "steps" not in record:  # base: one training
        return {"train_seconds": record["train_seconds"], "windows_seen": record["windows_seen"]}
    computed = [batch for batch in record["steps"] if batch not in record["reused"]]
    steps = pd.read_csv(root / "reports" / "steps" / f"{name}.csv", dtype={"batch": str}).set_index("batch")
    return {"train_seconds": sum(record["steps"][b] for b in computed),
            "windows_seen": int(steps.loc[computed, "windows_seen"].sum())}


def run_all(root: Path, label: str) -> dict[str, dict]:
    """Every stage, one after another in DVC's order, each measured where DVC found it out of date
    (a stage found up to date costs DVC's start, about a second, and is left out)."""
    from lstm_utils.repro import planned

    out = {}
    for stage in planned(root):
        m = run_stage(root, stage)
        if m is None:
            print(f"  {label}: {stage:<20} up to date", flush=True)
            continue
        out[stage] = m
        print(f"  {label}: {stage:<20} {m['seconds']:7.1f} s, training {m['train_seconds']:6.1f} s, "
              f"{m['windows_seen']:>10,} windows, peak {m['peak_gb']:.2f} GB", flush=True)
    return out


def table(runs: dict[str, dict[str, dict]]) -> str:
    """A Markdown table: one row per stage, three columns per run, and a total row."""
    labels = list(runs)
    head = "| stage | " + " | ".join(f"{r} s | training s (share) | windows trained | peak GB" for r in labels) + " |"
    lines = [head, "|---" * (1 + 4 * len(labels)) + "|"]
    stages = list(dict.fromkeys(s for run in runs.values() for s in run))
    for stage in stages + ["total"]:
        cells = [stage if stage != "total" else "**total**"]
        for label in labels:
            run = runs[label]
            if stage == "total":
                wall = sum(m["seconds"] for m in run.values())
                train = sum(m["train_seconds"] for m in run.values())
                seen = sum(m["windows_seen"] for m in run.values())
                peak = max(m["peak_gb"] for m in run.values())
            elif stage in run:
                m = run[stage]
                wall, train, seen, peak = m["seconds"], m["train_seconds"], m["windows_seen"], m["peak_gb"]
            else:
                cells += ["(up to date)", "", "", ""]
                continue
            cells += [f"{wall:.1f}", f"{train:.1f} ({train / wall:.0%})", f"{seen:,}", f"{peak:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=100)
    parser.add_argument("--months", type=int, default=12, help="months from scratch (the first six: the base)")
    parser.add_argument("--epochs", type=int, default=2, help="every epochs key capped at this")
    parser.add_argument("--parallel", action="store_true", help="also time the new month through lstm-utils repro")
    parser.add_argument("--strategies", nargs="+", help="compare only these (default: params.yaml's)")
    parser.add_argument("--keep", type=Path, help="keep the project (after the new month) in this new folder")
    args = parser.parse_args()
    from lstm_utils.portable import cores, describe

    print(describe(), flush=True)
    with tempfile.TemporaryDirectory(prefix="lstm_utils-pipeline-") as tmp:
        tmp = Path(tmp)
        rows = write_panel(tmp / "panel", args.series, months=args.months + 1)
        newest = sorted((tmp / "panel").glob("*.csv"))[-1]
        print(f"{args.series} series, {args.months} months from scratch and {newest.name} more "
              f"({rows:,} rows in all), epochs capped at {args.epochs}", flush=True)
        root = project(tmp / "project", tmp / "panel", args.months, args.epochs, args.strategies)
        started = time.perf_counter()
        runs = {"from scratch": run_all(root, "from scratch")}
        scratch = time.perf_counter() - started
        if args.parallel:
            shutil.copytree(root, tmp / "parallel", symlinks=True)
        shutil.copy(newest, root / "data" / newest.name)
        started = time.perf_counter()
        runs["one month more"] = run_all(root, "one month more")
        more = time.perf_counter() - started
        parallel = None
        if args.parallel:
            shutil.copy(newest, tmp / "parallel" / "data" / newest.name)
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "lstm_utils", "repro"], cwd=tmp / "parallel", env=env(), check=True,
                           capture_output=True)
            parallel = time.perf_counter() - started
        if args.keep:
            shutil.copytree(root, args.keep, symlinks=True)
    print()
    print(table(runs))
    print(f"\nwall: from scratch {scratch:.1f} s, one month more {more:.1f} s ({more / scratch:.2f} of from scratch)")
    if parallel is not None:
        print(f"one month more through lstm-utils repro ({cores()} cores): {parallel:.1f} s "
              f"({parallel / more:.2f} of one stage at a time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

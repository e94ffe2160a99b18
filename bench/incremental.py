"""Benchmark: what a new CSV costs compared with running the pipeline from scratch.

In a temporary clone of this repository (the working tree's tracked files), with the bundled
sample in data/: `dvc repro` from scratch with the 10 base files, then November added
(`dvc repro`), then December. Prints each run's wall time, its ratio to the from-scratch run,
and which stages ran. Target (issue 4): each incremental run at most 35% of from scratch.

    .venv/bin/python bench/incremental.py
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sh(cmd: list[str], cwd: Path) -> str:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr


def repro(cwd: Path) -> tuple[float, list[str], list[str]]:
    started = time.perf_counter()
    out = sh(["dvc", "repro"], cwd)
    seconds = time.perf_counter() - started
    trained = re.findall(r"(\w+): step \d+/\d+ \(([^)]+)\): trained", out)
    return seconds, re.findall(r"Running stage '([^']+)'", out), [f"{s}@{b}" for s, b in trained]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "project"
        sh(["git", "clone", "-q", str(ROOT), str(work)], Path(tmp))
        shutil.copytree(ROOT / "examples" / "sample_data", work / "data")
        rows = []
        seconds, stages, trained = repro(work)
        rows.append(("from scratch (Jan-Oct)", seconds, stages, trained))
        for month in ("2013-11", "2013-12"):
            shutil.copy(ROOT / "examples" / "new_data" / f"{month}.csv", work / "data")
            sh(["dvc", "add", "-q", "data"], work)
            seconds, stages, trained = repro(work)
            rows.append((f"+ {month}", seconds, stages, trained))
    base = rows[0][1]
    print(f"{'run':24s} {'seconds':>8s} {'ratio':>6s}  stages run; steps trained")
    for name, seconds, stages, trained in rows:
        print(f"{name:24s} {seconds:8.1f} {seconds / base:6.2f}  {', '.join(stages)}; {len(trained)} steps trained")
    worst = max(r[1] for r in rows[1:]) / base
    print(f"\n[{'pass' if worst <= 0.35 else 'FAIL'}] each incremental run <= 35% of from scratch "
          f"(worst {worst:.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

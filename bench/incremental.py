"""Benchmark: what a new CSV costs compared with running the pipeline from scratch.

In a temporary clone of this repository (the working tree's tracked files), with the bundled
sample in data/: `dvc repro` from scratch with the 10 base files, then November added
(`dvc repro`), then December. Prints each run's wall time, its ratio to the from-scratch run,
which stages ran, and where the time went: the seconds spent training the steps that were
trained (the part that grows with the data) against the rest (per stage: DVC, starting a
kernel, importing TensorFlow, scoring, rendering the report), and the floor that this fixed
part sets on the ratio. Target (issue 4): each incremental run at most 35% of from scratch.

    .venv/bin/python bench/incremental.py
"""

from __future__ import annotations

import json
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


def repro(cwd: Path) -> dict:
    started = time.perf_counter()
    out = sh(["dvc", "repro"], cwd)
    seconds = time.perf_counter() - started
    stages = re.findall(r"Running stage '([^']+)'", out)
    trained = re.findall(r"(\w+): step \d+/\d+ \(([^)]+)\): trained, ([0-9.]+) s", out)
    # a stage's executed notebook is named after its report: strategy@finetune -> finetune.ipynb
    notebooks = {s: json.loads((cwd / "reports/executed" / f"{s.split('@')[-1]}.ipynb").read_text())
                 ["metadata"]["papermill"]["duration"] for s in stages}
    return {"seconds": seconds, "stages": stages, "steps": len(trained),
            "training": sum(float(t) for *_, t in trained), "notebooks": notebooks}


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "project"
        sh(["git", "clone", "-q", str(ROOT), str(work)], Path(tmp))
        shutil.copytree(ROOT / "examples" / "sample_data", work / "data")
        rows = [("from scratch (Jan-Oct)", repro(work))]
        if (work / "reports/cost/base.json").is_file():
            rows[0][1]["training"] += json.loads((work / "reports/cost/base.json").read_text())["train_seconds"]
        for month in ("2013-11", "2013-12"):
            shutil.copy(ROOT / "examples" / "new_data" / f"{month}.csv", work / "data")
            sh(["dvc", "add", "-q", "data"], work)
            rows.append((f"+ {month}", repro(work)))
    base = rows[0][1]["seconds"]
    trained = rows[0][1]["training"]
    print(f"{'run':24s} {'seconds':>8s} {'ratio':>6s} {'training':>9s} {'ratio':>6s} {'the rest':>9s}  "
          "stages run; steps trained")
    for name, r in rows:
        print(f"{name:24s} {r['seconds']:8.1f} {r['seconds'] / base:6.2f} {r['training']:9.1f} "
              f"{r['training'] / trained:6.2f} {r['seconds'] - r['training']:9.1f}  "
              f"{', '.join(r['stages'])}; {r['steps']} steps trained")
    print("\nseconds inside each stage's notebook (kernel start, imports, work, figures), per run:")
    for name, r in rows:
        print(f"  {name:22s} " + ", ".join(f"{s} {v:.1f}" for s, v in r["notebooks"].items()))
    floor = max(r["seconds"] - r["training"] for _, r in rows[1:]) / base
    print(f"\nfloor: an incremental run's time outside training alone is up to {floor:.0%} of from scratch;"
          " no training speed-up can take its ratio below that")
    worst = max(r["seconds"] for _, r in rows[1:]) / base
    print(f"\n[{'pass' if worst <= 0.35 else 'FAIL'}] each incremental run <= 35% of from scratch "
          f"(worst {worst:.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

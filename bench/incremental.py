"""Benchmark: what a new CSV costs compared with running the pipeline from scratch, per Keras
backend, and where each stage's seconds go.

In a temporary clone of this repository (the working tree's tracked files), with the bundled
sample in data/ and `train.backend` set to each backend in turn: `dvc repro` from scratch with
the 10 base files, then November added (`dvc repro`), then December. Prints each run's wall
time, its ratio to the from-scratch run, the seconds spent training (the part that grows with
the data) against the rest, and a profile of every stage that ran: its notebook's seconds split
into imports, the work cell (of which training) and the report cells, and the seconds outside
the notebooks (DVC, papermill, the kernel's start, rendering the HTML).

With `--reference COMMIT`, that commit's from-scratch `dvc repro` is timed in the same sitting
(issue 12's bar: from scratch at most half of commit 99e57c6's). With `--without-trees`, each
backend's runs are timed again with `baselines.trees: 0`, and the trees baseline's share of each
run is printed (issue 41's bar: at most 25% of the sample's pipeline from scratch).

Bars: each incremental run at most 35% of from scratch (on the faster backend).

    .venv/bin/python bench/incremental.py                        # jax and tensorflow
    .venv/bin/python bench/incremental.py --backends jax --reference 99e57c6
    .venv/bin/python bench/incremental.py --backends jax --without-trees
"""

from __future__ import annotations

import argparse
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
                 for s in stages}
    per_stage: dict[str, float] = {}
    for stage, _, t in trained:
        per_stage[stage] = per_stage.get(stage, 0.0) + float(t)
    return {"seconds": seconds, "stages": stages, "steps": len(trained), "per_stage_training": per_stage,
            "training": sum(float(t) for *_, t in trained), "notebooks": {s: profile(nb) for s, nb in notebooks.items()}}


def profile(notebook: dict) -> dict:
    """A stage notebook's seconds: the imports cell, the slowest cell (its work), the rest."""
    cells = [(c["metadata"].get("papermill", {}).get("duration") or 0.0, "".join(c["source"]))
             for c in notebook["cells"] if c["cell_type"] == "code"]
    imports = next((d for d, src in cells if "import" in src and "lstm_utils" in src), 0.0)
    work = max((d for d, src in cells if not ("import" in src and "lstm_utils" in src)), default=0.0)
    total = notebook["metadata"]["papermill"]["duration"]
    return {"total": total, "imports": imports, "work": work, "report": total - imports - work}


def set_backend(work: Path, backend: str) -> None:
    path = work / "params.yaml"
    text, n = re.subn(r"(?m)^(  backend: )\w+", rf"\g<1>{backend}", path.read_text(encoding="utf-8"))
    if n == 0 and backend != "tensorflow":
        raise SystemExit(f"{path}: no train.backend key to set")
    path.write_text(text, encoding="utf-8")


def set_trees(work: Path, trees: int) -> None:
    path = work / "params.yaml"
    text, n = re.subn(r"(?m)^(  trees: )\d+", rf"\g<1>{trees}", path.read_text(encoding="utf-8"))
    if n == 0:
        raise SystemExit(f"{path}: no baselines.trees key to set")
    path.write_text(text, encoding="utf-8")


def session(label: str, commit: str | None, backend: str | None, months: tuple[str, ...],
            trees: int | None = None) -> list:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "project"
        os.environ["LSTM_UTILS_CACHE"] = str(Path(tmp) / "cache")  # compiled programs: cold at the start, as on a new machine
        sh(["git", "clone", "-q", str(ROOT), str(work)], Path(tmp))
        if commit:
            sh(["git", "checkout", "-q", commit], work)
        if backend:
            set_backend(work, backend)
        if trees is not None:
            set_trees(work, trees)
        shutil.copytree(ROOT / "examples" / "sample_data", work / "data")
        rows = [(f"{label}: from scratch", repro(work))]
        if (work / "reports/cost/base.json").is_file():
            base_seconds = json.loads((work / "reports/cost/base.json").read_text())["train_seconds"]
            rows[0][1]["training"] += base_seconds
            rows[0][1]["per_stage_training"]["base"] = base_seconds
        for month in months:
            shutil.copy(ROOT / "examples" / "new_data" / f"{month}.csv", work / "data")
            sh(["dvc", "add", "-q", "data"], work)
            rows.append((f"{label}: + {month}", repro(work)))
        return rows


def report(rows: list) -> float:
    base = rows[0][1]["seconds"]
    print(f"{'run':32s} {'seconds':>8s} {'ratio':>6s} {'training':>9s} {'the rest':>9s} {'outside nb':>10s}  "
          "stages run; steps trained")
    for name, r in rows:
        outside = r["seconds"] - sum(p["total"] for p in r["notebooks"].values())
        print(f"{name:32s} {r['seconds']:8.1f} {r['seconds'] / base:6.2f} {r['training']:9.1f} "
              f"{r['seconds'] - r['training']:9.1f} {outside:10.1f}  {len(r['stages'])} stages; {r['steps']} steps trained")
    print("  per stage: notebook seconds = imports + work (training) + report cells")
    for name, r in rows:
        print(f"  {name}")
        for stage, p in r["notebooks"].items():
            t = r["per_stage_training"].get(stage.split("@")[-1], 0.0)
            print(f"    {stage:22s} {p['total']:6.1f} = {p['imports']:4.1f} + {p['work']:5.1f} ({t:5.1f}) + {p['report']:4.1f}")
    return max((r["seconds"] for _, r in rows[1:]), default=0.0) / base


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["jax", "tensorflow"])
    parser.add_argument("--reference", help="a commit whose from-scratch run is timed too (e.g. 99e57c6)")
    parser.add_argument("--without-trees", action="store_true",
                        help="also time every run with baselines.trees: 0, and print the trees' share")
    args = parser.parse_args()
    scratch = {}
    worst = {}
    if args.reference:
        rows = session(f"commit {args.reference}", args.reference, None, ())
        scratch["reference"] = rows[0][1]["seconds"]
        report(rows)
    for backend in args.backends:
        rows = session(backend, None, backend, ("2013-11", "2013-12"))
        scratch[backend] = rows[0][1]["seconds"]
        worst[backend] = report(rows)
        print()
        if args.without_trees:
            bare = session(f"{backend}, no trees", None, backend, ("2013-11", "2013-12"), trees=0)
            report(bare)
            print(f"\nthe trees baseline's share of each run on {backend} (with it against baselines.trees: 0):")
            for (name, r), (_, b) in zip(rows, bare):
                share = (r["seconds"] - b["seconds"]) / r["seconds"]
                print(f"  {name:32s} {r['seconds']:7.1f} s against {b['seconds']:7.1f} s: {share:+.0%}")
            share = (rows[0][1]["seconds"] - bare[0][1]["seconds"]) / rows[0][1]["seconds"]
            print(f"[{'pass' if share <= 0.25 else 'FAIL'}] the trees at most 25% of the pipeline from scratch "
                  f"({share:.0%})\n")
    fastest = min(args.backends, key=lambda b: scratch[b])
    print(f"[{'pass' if worst[fastest] <= 0.35 else 'FAIL'}] each incremental run <= 35% of from scratch on "
          f"{fastest} (worst {worst[fastest]:.0%})")
    if "reference" in scratch:
        ratio = scratch[fastest] / scratch["reference"]
        print(f"[{'pass' if ratio <= 0.5 else 'FAIL'}] from scratch on {fastest} <= half of commit {args.reference}'s "
              f"({scratch[fastest]:.0f} s against {scratch['reference']:.0f} s: {ratio:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

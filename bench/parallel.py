"""Benchmark: a new month on the sample with the strategy stages side by side, against an earlier
commit's sequential `dvc repro`.

Each code base (COMMIT's files, unpacked from git, and this checkout's) gets a project with the
sample's first nine months, run once (not timed). Then, `--rounds` times in one sitting,
alternating, a copy of each set-up project gets the tenth month and is timed:

- COMMIT, `dvc repro` (sequential, as it shipped);
- this code, `dvc repro` (sequential);
- this code, `lstm-utils repro` (`-j` from `--jobs`, default one per core).

Prints the seconds of each, the best of the rounds, and this code's parallel run over COMMIT's
sequential one. Bar (issue 31): at most 0.7 on a 2-core machine, at most 0.4 on 16 cores.

    .venv/bin/python bench/parallel.py --against e070971            # about 12 minutes here
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _project import copy_pipeline, env

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "sample_data"


def setup(tree: Path, dest: Path, months: list[Path]) -> Path:
    """A project at `dest` from the code in `tree`, with `months` as its data, run once."""
    copy_pipeline(dest, months, tree)
    subprocess.run(["dvc", "init", "--no-scm", "-q"], cwd=dest, env=env(TF_ENABLE_ONEDNN_OPTS="0"), check=True)
    done = subprocess.run(["dvc", "repro"], cwd=dest, env=env(TF_ENABLE_ONEDNN_OPTS="0"), capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"set-up of {dest} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return dest


def new_month(project: Path, month: Path, cmd: list[str], scratch: Path) -> float:
    """Seconds of `cmd` in a copy of `project` that got `month`."""
    copy = scratch / "run"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(project, copy, symlinks=True)
    shutil.copy(month, copy / "data" / month.name)
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=copy, env=env(TF_ENABLE_ONEDNN_OPTS="0"), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"{cmd} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="e070971", help="the earlier commit, run sequentially")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--jobs", type=int, help="lstm-utils repro -j (default: its own, one per core)")
    args = parser.parse_args()
    months = sorted(SAMPLE.glob("*.csv"))
    with tempfile.TemporaryDirectory(prefix="lstm_utils-parallel-") as tmp:
        tmp = Path(tmp)
        old_tree = tmp / "old"
        old_tree.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.against], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(old_tree)], input=archive.stdout, check=True)
        print(f"setting up both projects with {len(months) - 1} months (not timed)", flush=True)
        old = setup(old_tree, tmp / "old-project", months[:-1])
        new = setup(ROOT, tmp / "new-project", months[:-1])
        parallel = [sys.executable, "-m", "lstm_utils", "repro", *(["-j", str(args.jobs)] if args.jobs else [])]
        runs = {f"{args.against} dvc repro": (old, ["dvc", "repro"]),
                "this code, dvc repro": (new, ["dvc", "repro"]),
                "this code, lstm-utils repro": (new, parallel)}
        seconds: dict[str, list[float]] = {name: [] for name in runs}
        for k in range(args.rounds):
            for name, (project, cmd) in runs.items():
                seconds[name].append(new_month(project, months[-1], cmd, tmp))
                print(f"round {k + 1}: {name:<28} {seconds[name][-1]:6.1f} s", flush=True)
    best = {name: min(s) for name, s in seconds.items()}
    base = best[f"{args.against} dvc repro"]
    from lstm_utils.portable import cores

    print(f"\na new month ({months[-1].name}), best of {args.rounds}, {cores()} cores:")
    for name, value in best.items():
        print(f"  {name:<28} {value:6.1f} s  {value / base:.2f} of {args.against}'s")
    ratio = best["this code, lstm-utils repro"] / base
    bar = 0.7 if cores() < 16 else 0.4
    print(f"bar: parallel at most {bar} of {args.against}'s sequential run: {ratio:.2f} "
          f"{'PASS' if ratio <= bar else 'FAIL'}")
    return 0 if ratio <= bar else 1


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: what the same bytes on any x86-64 machine cost, and whether other CPUs give them.

Two parts, each on a copy of a project (by default a fresh copy of this checkout's pipeline and
data: the sample) in a temporary folder:

- `--cost` (default): `dvc repro -f` of the whole pipeline, every step recomputed (no `state/`),
  with `train.reproducible` portable and native, alternating `--rounds` times in one sitting;
  prints the seconds of each and portable/native. Bar (issue 30): a cost over 20% makes the
  choice a params key (it is one: `native` for speed).
- `--emulate CPU [CPU ...]`: `lstm-utils verify` of the copy with every notebook kernel run
  under QEMU's user-mode emulator as that CPU model (`qemu-x86_64 -cpu CPU`, Debian package
  `qemu-user`): the CPUID the libraries see, so their kernel choice and cache sizes, are that
  CPU's (a Haswell, an AMD EPYC Zen 2...), while the stages' command lines run natively. About
  ten times slower than native. Prints verify's verdict for each CPU. `--tiny` uses the tests'
  tiny project instead of the sample (about 8 minutes per CPU here rather than an hour).

    .venv/bin/python bench/portable.py --cost --rounds 2                 # about 10 minutes here
    .venv/bin/python bench/portable.py --emulate EPYC-Rome Haswell --tiny
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from _project import copy_pipeline, env

ROOT = Path(__file__).resolve().parents[1]


def project(dest: Path, tiny: bool) -> Path:
    """A project at `dest` whose dvc.lock matches its inputs: the tests' tiny project, or this
    checkout's pipeline with the sample; run once here (native CPU, pinned) to make the lock."""
    if tiny:
        sys.path.insert(0, str(ROOT / "tests"))
        from tiny_project import make_project

        make_project(dest, with_dvc=False)
    else:
        copy_pipeline(dest, sorted((ROOT / "examples" / "sample_data").glob("*.csv")))
    subprocess.run(["dvc", "init", "--no-scm", "-q"], cwd=dest, env=env(), check=True)
    return dest


def repro(root: Path, mode: str) -> float:
    """Seconds of a forced `dvc repro` with every step recomputed, with `train.reproducible: mode`."""
    raw = yaml.safe_load((root / "params.yaml").read_text())
    raw["train"]["reproducible"] = mode
    (root / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    shutil.rmtree(root / "state", ignore_errors=True)
    started = time.perf_counter()
    done = subprocess.run(["dvc", "repro", "-f"], cwd=root, env=env(), capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"dvc repro failed ({mode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def cost(root: Path, rounds: int) -> None:
    seconds: dict[str, list[float]] = {"portable": [], "native": []}
    for k in range(rounds):
        for mode in seconds:  # alternating, so that the machine's drift weighs on both
            seconds[mode].append(repro(root, mode))
            print(f"round {k + 1}: {mode:<8} {seconds[mode][-1]:6.1f} s", flush=True)
    best = {mode: min(s) for mode, s in seconds.items()}
    print(f"best of {rounds}: portable {best['portable']:.1f} s, native {best['native']:.1f} s, "
          f"portable/native {best['portable'] / best['native']:.2f}")


def emulate(root: Path, cpus: list[str]) -> bool:
    """verify with the notebook kernels under `qemu-x86_64 -cpu CPU`, for each CPU; all equal?"""
    qemu = shutil.which("qemu-x86_64")
    if qemu is None:
        sys.exit("qemu-x86_64 is not installed (Debian: apt-get install qemu-user)")
    raw = yaml.safe_load((root / "params.yaml").read_text())
    raw["train"]["reproducible"] = "portable"
    (root / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    subprocess.run(["dvc", "repro"], cwd=root, env=env(), check=True, capture_output=True)  # the lock, made natively
    ok = True
    with tempfile.TemporaryDirectory(prefix="lstm_utils-qemu-") as tmp:
        wrapper = Path(tmp) / "python"
        wrapper.write_text(f'#!/bin/sh\nexec {qemu} -cpu "$QEMU_CPU" {sys.executable} "$@"\n')
        wrapper.chmod(0o755)
        spec = Path(tmp) / "kernels" / "python3" / "kernel.json"  # the kernel papermill starts: under QEMU
        spec.parent.mkdir(parents=True)
        spec.write_text(json.dumps({"argv": [str(wrapper), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                                    "display_name": "Python 3 (QEMU)", "language": "python"}))
        for cpu in cpus:
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "lstm_utils", "verify"], cwd=root, text=True,
                                  env=env(JUPYTER_PATH=tmp, QEMU_CPU=cpu), capture_output=True)
            lines = done.stdout.strip().splitlines()
            print(f"{cpu}: exit {done.returncode}, {time.perf_counter() - started:.0f} s: {lines[-1] if lines else ''}")
            for line in lines[:-1]:
                print(f"  {line}")
            if done.returncode and not lines:
                print(done.stderr[-3000:])
            ok &= done.returncode == 0
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cost", action="store_true", help="portable against native, whole pipeline")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--emulate", nargs="+", metavar="CPU", default=[], help="QEMU CPU models to verify under")
    parser.add_argument("--tiny", action="store_true", help="the tests' tiny project instead of the sample")
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory(prefix="lstm_utils-portable-") as tmp:
        root = project(Path(tmp) / "project", args.tiny)
        if args.cost or not args.emulate:
            cost(root, args.rounds)
        if args.emulate:
            ok = emulate(root, args.emulate)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

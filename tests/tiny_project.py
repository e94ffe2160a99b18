"""A small copy of the project (code, notebooks, pipeline, tiny params and data) for tests
that run the real notebooks and the real `dvc repro`."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "sample_data"

# The strategies a tiny project compares: four of the six, so that the many pipeline runs of the
# tests stay affordable (every strategy stage costs seconds of start-up alone); distill and
# ensemble run through the strategy notebook in test_notebooks.py and as chains in test_strategies.py.
STRATEGIES = ("none", "finetune", "retrain", "replay")
STAGES = tuple(f"strategy@{s}" for s in STRATEGIES)  # the strategy stage runs once per strategy

TINY = {  # small enough that a whole pipeline run takes seconds
    "compare": {"strategies": list(STRATEGIES)},
    "split": {"base_batches": 2},
    "window": {"lookback": 24, "horizon": 6},
    "model": {"units": [8]},
    "train": {"epochs": 2, "batch_size": 32, "patience": 1},
    "finetune": {"epochs": 2, "patience": 1},
    "distill": {"units": [8], "old_windows": 50, "epochs": 2, "patience": 1},
    "replay": {"buffer": 50, "epochs": 2, "patience": 1},
    "baselines": {"trees": 20},
}


def tiny_params(overrides: dict | None = None) -> dict:
    """The shipped params.yaml with the TINY settings (and `overrides`) applied."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in {**TINY, **(overrides or {})}.items():
        raw[section].update(values)
    return raw


def sample_rows() -> pd.DataFrame:
    """The bundled sample's raw rows (Jan-Oct 2013), as text."""
    parts = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted(SAMPLE.glob("*.csv"))]
    return pd.concat(parts, ignore_index=True)


def write_part(folder: Path, part: int, hours: int = 240, overlap: int = 0) -> Path:
    """Write consecutive slice number `part` (`hours` rows each) of the sample as one CSV, after
    the previous slice's last `overlap` rows (an export that repeats the end of the one before)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = sample_rows().iloc[part * hours - overlap:(part + 1) * hours]
    out = folder / f"part-{part:02d}.csv"
    rows.to_csv(out, index=False, lineterminator="\n")
    return out


def tiny_sample(folder: Path, parts: int = 4, overrides: dict | None = None):
    """`parts` slices of the sample written to `folder` (a 2-slice base period, then one batch each),
    read as the data stage reads them with tiny params (and `overrides`): (frame with batches and
    splits, params)."""
    from lstm_utils.config import parse_params
    from lstm_utils.ingest import ingest
    from lstm_utils.splits import assign_splits

    for part in range(parts):
        write_part(folder, part)
    params = parse_params(tiny_params(overrides))
    frame = ingest(folder, params.data, params.split.base_batches, horizon=params.window.horizon)
    return assign_splits(frame, params.split), params


def make_project(dest: Path, parts: int = 3, with_dvc: bool = False) -> Path:
    """Copy code, notebooks and pipeline to `dest`, with tiny params and `parts` slices of the
    sample as data (the first two form the base period)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("lstm_utils", "notebooks"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dvc.yaml", ".dvcignore"):
        shutil.copy(ROOT / name, dest / name)
    (dest / "params.yaml").write_text(yaml.safe_dump(tiny_params(), sort_keys=False))
    for part in range(parts):
        write_part(dest / "data", part)
    if with_dvc:
        track(dest)
    return dest


def track(dest: Path) -> None:
    """Make `dest` a git and DVC repository with its data/ tracked by DVC, as
    scripts/example_project.py makes an example's project (each command through :func:`run`)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from example_project import track as tracked
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    tracked(dest, run)


def env() -> dict[str, str]:
    """The environment for subprocesses: this venv's tools first on PATH; a Python process that
    gets SIGABRT prints every thread's stack (see :func:`capture`)."""
    e = dict(os.environ)
    e["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{e.get('PATH', '')}"
    e.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    e["PYTHONFAULTHANDLER"] = "1"
    return e


FAULTS = Path(__file__).resolve().parent / "faults"


def fault_env(fault: str = "", wait: Path | None = None) -> dict[str, str]:
    """:func:`env`, with `fault` injected into every Python process it starts (see
    tests/faults/sitecustomize.py, and its LSTM_UTILS_FAULT_WAIT for `wait`)."""
    e = env()
    if fault:
        e["PYTHONPATH"] = os.pathsep.join([str(FAULTS), *filter(None, [e.get("PYTHONPATH")])])
        e["LSTM_UTILS_FAULT"] = fault
    if wait is not None:
        e["LSTM_UTILS_FAULT_WAIT"] = str(wait)
    return e


def repro_with(root: Path, fault: str, *args: str, wait: Path | None = None) -> subprocess.Popen:
    """Start `dvc repro ARGS` with `fault`, in a session of its own (so a kill takes it all),
    its output (stdout and stderr together) piped as text."""
    return subprocess.Popen(["dvc", "repro", *args], cwd=root, env=fault_env(fault, wait), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


STALLED_AFTER = 420  # seconds: no command of the tests takes half of this here


def capture(cmd: list[str], cwd: Path, timeout: float = STALLED_AFTER) -> subprocess.CompletedProcess:
    """`subprocess.run` with text output captured; a command still running after `timeout`
    seconds is stopped with SIGABRT, it and every process under it (a notebook kernel runs in
    its own session), so that each Python among them prints its threads' stacks, and the test
    fails with that output instead of stalling the suite."""
    import signal

    import psutil

    proc = subprocess.Popen(cmd, cwd=cwd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        family = [proc.pid] + [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        for pid in reversed(family):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGABRT)
        out, err = proc.communicate(timeout=60)
        raise AssertionError(f"{cmd} still ran after {timeout:.0f} s; the stacks of its processes:\n"
                             f"{out[-5000:]}\n{err[-20000:]}") from None
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def tree_hash(path: Path) -> str:
    """SHA-256 over a file, or over every file name and content under a folder."""
    digest = hashlib.sha256()
    for item in sorted(path.rglob("*")) if path.is_dir() else [path]:
        digest.update(str(item.relative_to(path) if path.is_dir() else item.name).encode() + b"\0")
        if item.is_file():
            digest.update(item.read_bytes())
    return digest.hexdigest()


def run(cmd: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command in `cwd`, capturing text output; raise with the output on failure.

    Whatever the command and however it ends, `cwd/data` must be left exactly as it was.
    """
    data = cwd / "data"
    before = tree_hash(data) if data.is_dir() else None
    done = capture(cmd, cwd)
    if before is not None:
        assert tree_hash(data) == before, f"{cmd} wrote into data/"
    if check and done.returncode != 0:
        raise AssertionError(f"{cmd} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def ran_stages(output: str) -> set[str]:
    """The stages a `dvc repro` output says it ran."""
    return set(re.findall(r"Running stage '([^']+)'", output))


def readme_commands(heading: str, placeholders: dict[str, str] | None = None,
                    path: Path = ROOT / "README.md") -> list[str]:
    """The shell lines of the ```sh blocks in the section under `heading` (up to the next
    heading) of the README or of the docs page `path`, comments dropped, placeholders replaced,
    in order."""
    text = path.read_text().splitlines()
    start = text.index(heading)
    lines, fence = [], None
    for line in text[start + 1:]:
        if line.startswith("```"):
            fence = None if fence is not None else line[3:].strip()
        elif fence is None and re.match(r"#{1,6} ", line):
            break  # the next heading (a "# comment" inside a code block is not one)
        elif fence == "sh":
            line = re.sub(r"(^|\s+)#.*$", "", line).strip()
            for name, value in (placeholders or {}).items():
                line = line.replace(name, value)
            if line:
                lines.append(line)
    return lines


def copy_project(src: Path, dest: Path) -> Path:
    """A copy of a project (work tree, git history, DVC cache) that a test may change freely."""
    shutil.copytree(src, dest, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def readme_blocks(heading: str, language: str, path: Path = ROOT / "README.md") -> list[str]:
    """The code blocks of one language in the section under `heading` of the README or of the
    docs page `path`, as written."""
    text = path.read_text().splitlines()
    blocks, block, fence = [], [], None
    for line in text[text.index(heading) + 1:]:
        if line.startswith("```"):
            if fence == language:
                blocks.append("\n".join(block) + "\n")
            fence, block = (None if fence is not None else line[3:].strip()), []
        elif fence is None and re.match(r"#{1,6} ", line):
            break
        elif fence is not None:
            block.append(line)
    return blocks


def locked(root: Path) -> dict[str, str]:
    """dvc.lock's hash of every result: model, prepared file, metrics file (not timings), step
    record and forecast (as `lstm-utils verify` counts them)."""
    from lstm_utils.verify import is_result, outputs

    return {path: md5 for path, md5 in outputs(yaml.safe_load((root / "dvc.lock").read_text())).items()
            if is_result(path)}

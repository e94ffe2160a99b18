"""`lstm-utils verify`: run the pipeline again in a fresh copy and compare every result with dvc.lock.

The copy holds only the pipeline's inputs as dvc.lock lists them (data, code, notebooks, params,
dvc.yaml and dvc.lock), in a folder of the system's temporary space, with a DVC repository of
its own: no run cache and no kept steps (`state/`), so every stage runs. The project itself is
only read.

What is compared are the results (:func:`is_result`): models, prepared data, step records,
metrics, summary and forecast. The rendered reports, executed notebooks and `reports/cost/`
carry timings and are not. Where the bytes are promised (:func:`promise`: an x86-64 CPU with the
environment of :mod:`lstm_utils.portable`), a result whose hash differs is a difference. Elsewhere
(another architecture, a GPU, `LSTM_UTILS_REPRODUCIBLE=native`) the numbers in it must agree to
a relative tolerance instead: each number of a JSON file, each numeric column of a CSV file, each
weight array of a model, relative to the larger of the two (`--rtol`, default 0.001).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import yaml

from lstm_utils.errors import ParamsError, StageError
from lstm_utils.repro import changed, dvc, repro, stage_env

RESULT_PREFIXES = ("models/", "prepared", "reports/steps/")
RESULT_SUFFIXES = ("metrics.json", "summary.json", "forecast.csv")
RTOL = 1e-3


def is_result(path: str) -> bool:
    """Whether an output of dvc.lock is a result (reproduced to the byte where promised), not a
    report, executed notebook, timing record or kept state."""
    return path.startswith(RESULT_PREFIXES) or path.endswith(RESULT_SUFFIXES)


def _lock(root: Path) -> dict[str, Any]:
    path = root / "dvc.lock"
    if not path.is_file():
        raise ParamsError(f"{path}: no dvc.lock here, so nothing to verify against",
                          hint="run verify in the project folder after `dvc repro` (or `make repro`) has written it",
                          key="")
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def outputs(lock: dict[str, Any]) -> dict[str, str]:
    """Every output of a parsed dvc.lock with its hash."""
    return {o["path"]: o.get("md5", "") for stage in lock.get("stages", {}).values() for o in stage.get("outs", [])}


def inputs(lock: dict[str, Any]) -> list[str]:
    """The paths the pipeline starts from: every stage's dependency that no stage writes."""
    made = outputs(lock)
    deps = {d["path"] for stage in lock.get("stages", {}).values() for d in stage.get("deps", [])}
    return sorted(p for p in deps if not any(p == m or p.startswith(m.rstrip("/") + "/") for m in made))


def promise() -> tuple[bool, str]:
    """Whether this machine promises the bytes, and why in words."""
    from lstm_utils import backend, portable

    if portable.mode() == "native":
        return False, f"{portable.VARIABLE}=native: the machine's own kernels, so a tolerance"
    if not portable.x86_64():
        return False, "not an x86-64 machine: its kernels sum in their own order, so a tolerance"
    device = backend.accelerator()
    if device:
        return False, f"training on a {device}, which sums in its own order: a tolerance"
    return True, "an x86-64 CPU with the pinned environment: every result to the byte"


@dataclass(frozen=True)
class Difference:
    """One result whose hash is not dvc.lock's."""

    path: str
    relative: float | None  # the largest relative difference of its numbers (None: not comparable)
    where: str = ""  # the file, column or array it is largest in

    def line(self, promised: bool, rtol: float) -> str:
        """How `verify` reports it."""
        if self.relative is None:
            size = "not comparable number by number (another shape, or missing)"
        else:
            size = f"largest relative difference {self.relative:.2g}" + (f" in {self.where}" if self.where else "")
        if promised:
            return f"{self.path}: differs from dvc.lock ({size})"
        verdict = "within" if self.within(rtol) else "beyond"
        return f"{self.path}: differs from dvc.lock, {verdict} the tolerance {rtol:g} ({size})"

    def within(self, rtol: float) -> bool:
        """Whether every number agrees to `rtol`."""
        return self.relative is not None and self.relative <= rtol


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| over max(|a|, |b|), both arrays at once (0 when equal)."""
    a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    both_nan = np.isnan(a) & np.isnan(b)
    if np.array_equal(a, b, equal_nan=True):
        return 0.0
    if (np.isnan(a) != np.isnan(b)).any():
        return float("inf")
    scale = max(float(np.abs(a[~both_nan]).max(initial=0.0)), float(np.abs(b[~both_nan]).max(initial=0.0)))
    return float(np.abs(a - b)[~both_nan].max()) / scale if scale else 0.0


def _numbers(value: Any, at: str = "") -> dict[str, Any]:
    """The leaves of a JSON value by their path (`a.b[2]`)."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _numbers(item, f"{at}.{key}" if at else key).items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _numbers(item, f"{at}[{i}]").items()}
    return {at: value}


def _is_hash(key: str) -> bool:
    """Whether a JSON leaf holds the hash of another file (a model's, compared by its numbers)."""
    last = key.rsplit(".", 1)[-1].lower()
    return any(word in last for word in ("sha256", "md5", "hash"))


def _json(old: Path, new: Path) -> tuple[float, str] | None:
    a, b = (_numbers(json.loads(p.read_text(encoding="utf-8"))) for p in (old, new))
    if a.keys() != b.keys():
        return None
    worst = (0.0, "")
    for key in a:
        x, y = a[key], b[key]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (x, y))
        if not numeric:
            if x != y and not _is_hash(key):
                return None
            continue
        r = _relative(np.array([x]), np.array([y]))
        worst = max(worst, (r, key))
    return worst


def _csv(old: Path, new: Path) -> tuple[float, str] | None:
    import pandas as pd

    a, b = (pd.read_csv(p, dtype=str, keep_default_na=False) for p in (old, new))
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return None
    worst = (0.0, "")
    for column in a.columns:
        x, y = (pd.to_numeric(t[column].replace("", "nan"), errors="coerce") for t in (a, b))
        text = x.isna() & (a[column] != "") & (a[column].str.lower() != "nan")
        if text.any():  # a column of words: equal or not comparable
            if not a[column].equals(b[column]):
                return None
            continue
        worst = max(worst, (_relative(x.to_numpy(), y.to_numpy()), f"column {column}"))
    return worst


def _keras(old: Path, new: Path) -> tuple[float, str] | None:
    import io

    import h5py

    def arrays(path: Path) -> dict[str, np.ndarray]:
        with zipfile.ZipFile(path) as z, h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as h5:
            out: dict[str, np.ndarray] = {}
            h5.visititems(lambda name, item: out.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset)
                          else None)
            return out

    a, b = arrays(old), arrays(new)
    if a.keys() != b.keys() or any(a[k].shape != b[k].shape for k in a):
        return None
    return max(((_relative(a[k], b[k]), f"weights {k}") for k in a), default=(0.0, ""))


def difference(old: Path, new: Path) -> tuple[float, str] | None:
    """The largest relative difference between two versions of a result, and where it is; None
    when they cannot be compared number by number."""
    if old.is_dir() and new.is_dir():
        names = sorted(p.relative_to(old) for p in old.rglob("*") if p.is_file())
        if names != sorted(p.relative_to(new) for p in new.rglob("*") if p.is_file()):
            return None
        worst = (0.0, "")
        for name in names:
            if (old / name).read_bytes() == (new / name).read_bytes():
                continue
            found = difference(old / name, new / name)
            if found is None:
                return None
            worst = max(worst, (found[0], f"{name}" + (f", {found[1]}" if found[1] else "")))
        return worst
    if not (old.is_file() and new.is_file()):
        return None
    compare = {".json": _json, ".csv": _csv, ".keras": _keras}.get(old.suffix)
    try:
        return compare(old, new) if compare else None
    except (ValueError, KeyError, OSError, zipfile.BadZipFile):
        return None


def _md5(path: Path) -> str | None:
    return hashlib.md5(path.read_bytes()).hexdigest() if path.is_file() else None


def rerun(root: Path, into: Path, echo: TextIO) -> dict[str, Any]:
    """Copy the pipeline's inputs from `root` into the empty folder `into`, run the whole pipeline
    there with a DVC repository of its own (`lstm-utils repro --force`: the strategy stages side
    by side), and return its dvc.lock, parsed."""
    lock = _lock(root)
    for name in [*inputs(lock), "dvc.yaml", "dvc.lock", "params.yaml", ".dvcignore"]:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    done = subprocess.run([dvc(), "init", "--no-scm", "-q"], cwd=into, env=stage_env(1), capture_output=True, text=True)
    status = done.returncode or repro(into, force=True, out=_Indented(echo))
    if status:
        raise StageError(f"verify: the pipeline stopped (status {status}) in the copy {into}; its output is above",
                         stage="verify")
    return _lock(into)


@dataclass(frozen=True)
class Verdict:
    """What `verify` found: the results equal to dvc.lock, those that differ, the outputs not
    compared, and whether the bytes are promised here."""

    equal: list[str]
    differ: list[Difference]
    skipped: list[str]
    promised: bool
    rtol: float

    @property
    def ok(self) -> bool:
        """No difference, or (where the bytes are not promised) every one within the tolerance."""
        return not self.differ if self.promised else all(d.within(self.rtol) for d in self.differ)

    def lines(self) -> list[str]:
        """One line per result that differs, then the count."""
        out = [d.line(self.promised, self.rtol) for d in self.differ]
        total = len(self.equal) + len(self.differ)
        out.append(f"verify: {total} results compared with dvc.lock: {len(self.equal)} equal, {len(self.differ)} "
                   f"differ; {len(self.skipped)} outputs not compared (reports, executed notebooks, timings, kept "
                   "state)")
        return out


def judge(root: Path, lock: dict[str, Any], again: Path, new_lock: dict[str, Any], promised: bool,
          rtol: float = RTOL) -> Verdict:
    """Compare the results of dvc.lock (`lock`, of the project at `root`) with a re-run's
    (`new_lock`, made in `again`)."""
    before, after = outputs(lock), outputs(new_lock)
    equal, differ, skipped = [], [], []
    for path, md5 in sorted(before.items()):
        if not is_result(path):
            skipped.append(path)
        elif after.get(path) == md5:
            equal.append(path)
        else:
            here = root / path
            # the project's copy stands for dvc.lock's only when it is the one dvc.lock names
            same_as_lock = here.is_dir() or _md5(here) == md5
            found = difference(here, again / path) if same_as_lock else None
            differ.append(Difference(path, *(found if found else (None, ""))))
    return Verdict(equal, differ, skipped, promised, rtol)


class _Indented:
    """A stream that indents what the re-run prints under verify's own lines."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, text: str) -> int:
        return self.out.write("".join(f"  {line}" for line in text.splitlines(keepends=True)))

    def flush(self) -> None:
        self.out.flush()


def verify(root: str | Path = ".", rtol: float = RTOL, keep: bool = False, echo: TextIO = sys.stderr) -> Verdict:
    """Run the pipeline of the project at `root` again in a fresh copy (kept with `keep`) and
    compare its results with the project's dvc.lock; progress goes to `echo`."""
    from lstm_utils import portable

    root = Path(root).resolve()
    lock = _lock(root)
    promised, why = promise()
    echo.write(f"verify: this machine: {portable.describe()}\nverify: promised here: {why}\n")
    stale = ", ".join(sorted(changed(root) or []))
    if stale:
        echo.write(f"verify: note: dvc.lock does not match the project's inputs (dvc status: {stale} changed); the "
                   "re-run uses the inputs as they are now\n")
    scratch = Path(tempfile.mkdtemp(prefix="lstm_utils-verify-"))
    try:
        echo.write(f"verify: running the whole pipeline again in {scratch} (a fresh copy of the inputs)\n")
        echo.flush()
        new_lock = rerun(root, scratch, echo)
        verdict = judge(root, lock, scratch, new_lock, promised, rtol)
    finally:
        if keep:
            echo.write(f"verify: the copy is kept in {scratch}\n")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return verdict

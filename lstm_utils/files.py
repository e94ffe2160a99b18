"""File helpers: atomic writes, JSON that reproduces, and file hashes.

A file is written under a temporary name and moved into place when complete, so an
interrupted run leaves the old file or the new one, never a partial one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path` (same suffix); move it onto `path` on success.

    Examples
    --------
    >>> with atomic_path("reports/metrics.json") as tmp:  # doctest: +SKIP
    ...     tmp.write_text("{}")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(path)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _remove_orphans(path: Path) -> None:
    """Delete temporary files for `path` left by processes that were killed mid-write."""
    prefix = f".{path.stem}.tmp-"
    for stale in path.parent.glob(f"{prefix}*{path.suffix}"):
        pid = stale.name[len(prefix):len(stale.name) - len(path.suffix)]
        if pid.isdigit() and not _alive(int(pid)):
            stale.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    """Whether process `pid` runs (a killed process not yet reaped by its parent does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    try:  # Linux: a zombie's state is Z
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def project_root(start: str | Path | None = None) -> Path:
    """The project folder: `start` (default: the current folder) or the nearest folder above it
    that holds params.yaml, so a notebook opened from notebooks/ in Jupyter finds the project's
    files as a stage run from the project does."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "params.yaml").is_file():
            return folder
    raise FileNotFoundError(f"no params.yaml in {here} or any folder above it; open the notebook inside the project")


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _clean(value: Any) -> Any:
    """JSON-safe: NaN and inf become null, tuples lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def json_digest(data: Any) -> str:
    """Hex SHA-256 of data as :func:`write_json` writes it (NaN as null), independent of layout:
    the same for the data before writing and as read back."""
    return hashlib.sha256(json.dumps(_clean(data), sort_keys=True).encode()).hexdigest()


def write_json(path: str | Path, data: Any) -> None:
    """Write JSON atomically, keys in a stable order, NaN as null."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_clean(data), indent=2, sort_keys=True) + "\n", encoding="utf-8")

"""File helpers: atomic writes, JSON that reproduces, and file hashes.

A file is written under a temporary name and moved into place when complete, so an
interrupted run leaves the old file or the new one, never a partial one. A write the system
refuses (a full disk, a read-only folder) is one :class:`WriteError` naming the file, and the
previous file stays as it was.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lstm_utils.errors import WriteError

# what the system says when it cannot store a file: a full disk or quota, a file too large, a
# read-only or failing disk, no permission
_CANNOT_STORE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO, errno.EACCES, errno.EPERM}


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path` (same suffix); move it onto `path` on success.

    When the system refuses to store it (see `_CANNOT_STORE`), raises :class:`WriteError`
    naming `path`; the temporary file is removed and `path` keeps its previous content.

    Examples
    --------
    >>> with atomic_path("reports/metrics.json") as tmp:  # doctest: +SKIP
    ...     tmp.write_text("{}")
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_orphans(path)
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        if exc.errno not in _CANNOT_STORE:
            raise
        raise _cannot_write(path, exc) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _cannot_write(path: Path, exc: OSError) -> WriteError:
    """The one-line error for a write the system refused."""
    kept = (f"the previous {path.name} is kept as it was" if path.is_file()
            else "nothing was left in its place")
    return WriteError(f"{path}: could not be written ({exc.strerror or exc}); {kept}",
                      hint="free space on that disk (or make the folder writable) and run again; after a "
                           "stopped `dvc repro`, `dvc checkout --force` puts back the last complete outputs",
                      path=str(path))


# a temporary file of `atomic_path` (`.metrics.tmp-1234.json`; `save_keras` writes beside it
# `.base.tmp-1234.raw.keras`), with the writer's process id
ORPHAN = re.compile(r"\..+?\.tmp-(\d+)(\..*)?")


def _orphan(file: Path) -> bool:
    """Whether `file` is a temporary file of a writer that is gone (killed mid-write)."""
    found = ORPHAN.fullmatch(file.name)
    return bool(found) and file.is_file() and not _alive(int(found.group(1)))


def _remove_orphans(path: Path) -> None:
    """Delete temporary files for `path` left by processes that were killed mid-write."""
    for stale in path.parent.glob(f".{path.stem}.tmp-*{path.suffix}"):
        if _orphan(stale):
            stale.unlink(missing_ok=True)


def sweep_orphans(folders: list[str | Path]) -> int:
    """Delete, under `folders`, every temporary file of an atomic write whose process is gone
    (a run killed mid-write left it); returns how many. A stage that DVC restores from its run
    cache runs no code, so the next stage that does run sweeps the project's output folders."""
    stale = [f for folder in map(Path, folders) if folder.is_dir() for f in folder.rglob(".*.tmp-*") if _orphan(f)]
    for file in stale:
        file.unlink(missing_ok=True)
    return len(stale)


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

"""Model artifacts: a `.keras` file plus a JSON sidecar (strategy, parent, params, data, metrics).

Both are written atomically. The `.keras` file loads on its own with
``keras.saving.load_model(path, safe_mode=True)``; :func:`load_model` also reads the sidecar
and turns every failure into a :class:`ModelError` that says what to do.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any


from lstm_utils._keras import keras
from lstm_utils.files import atomic_path, write_json
from lstm_utils.config import Params
from lstm_utils.errors import ModelError

SIDECAR_KEYS = ("strategy", "parent", "inputs", "targets", "data", "window", "params", "sources", "metrics")


def sidecar_path(model_path: str | Path) -> Path:
    """`models/base.keras` -> `models/base.json`."""
    return Path(model_path).with_suffix(".json")


def make_sidecar(strategy: str, parent: str | None, params: Params, sources: dict[str, str],
                 metrics: dict) -> dict:
    """The sidecar of a model: how to read data for it, what it was trained on, how it scored.

    Nothing here varies between identical runs (no times, no durations), so the file's hash is stable.

    Parameters
    ----------
    strategy
        What made the model: `base`, a strategy's name, or (for the champion) the winner's.
    parent
        The model it was updated from, in words or as a path (None for the base model).
    params
        Every setting; the sidecar keeps the data and window settings apart, to read new data with.
    sources
        Each data file the model learned from, with its SHA-256.
    metrics
        How it scored.
    """
    return {"strategy": strategy, "parent": parent, "inputs": list(params.data.inputs),
            "targets": list(params.data.targets), "data": params.section("data"),
            "window": params.section("window"), "params": params.raw, "sources": sources, "metrics": metrics}


def save_model(model: keras.Model, path: str | Path, sidecar: dict, copy_of: str | Path | None = None) -> None:
    """Save `model` to `path` (.keras) and `sidecar` beside it, each atomically.

    The `.keras` bytes depend only on the model (no save date, no entry times). `copy_of`, the
    file the model was loaded from, is copied instead: a loaded model saves other bytes than
    the trained one did (Keras shares fewer config objects in it), though its weights are equal.
    """
    missing = [k for k in SIDECAR_KEYS if k not in sidecar]
    if missing:
        raise ValueError(f"sidecar lacks {missing}")
    if copy_of is None:
        save_keras(model, path)
    else:
        with atomic_path(path) as tmp:
            shutil.copyfile(copy_of, tmp)
    write_json(sidecar_path(path), sidecar)


def save_keras(model: keras.Model, path: str | Path) -> None:
    """Write `model` as a `.keras` file atomically; the same model always gives the same bytes."""
    with atomic_path(path) as tmp:
        raw = tmp.with_name(tmp.stem + ".raw.keras")
        try:
            model.save(raw)
            _reproducible_zip(raw, tmp)
        finally:
            raw.unlink(missing_ok=True)


FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def _renumber_shared_ids(node: Any, ids: dict[int, int]) -> Any:
    """Replace Keras's `shared_object_id` values (Python object ids, different in every
    process) by 1, 2, ... in order of first appearance; objects that shared an id still do."""
    if isinstance(node, dict):
        return {k: (ids.setdefault(v, len(ids) + 1) if k == "shared_object_id" else _renumber_shared_ids(v, ids))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_renumber_shared_ids(v, ids) for v in node]
    return node


def _reproducible_zip(source: Path, dest: Path) -> None:
    """Copy a `.keras` archive with its save date, entry times and object ids fixed, so that
    the same model always gives the same bytes (and DVC the same hash), in any process."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(dest, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "metadata.json":
                meta = json.loads(data)
                meta["date_saved"] = "1980-01-01@00:00:00"
                data = json.dumps(meta).encode()
            elif info.filename == "config.json":
                data = json.dumps(_renumber_shared_ids(json.loads(data), {})).encode()
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            entry.compress_type, entry.external_attr = info.compress_type, info.external_attr
            zout.writestr(entry, data)


def load_model(path: str | Path) -> tuple[keras.Model, dict]:
    """Load a saved forecaster and its sidecar (safe mode: no arbitrary code runs)."""
    path = Path(path)
    side = sidecar_path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such model file", hint="run `dvc repro` first, or give the path of a "
                         ".keras file under models/", path=str(path))
    if not side.is_file():
        raise ModelError(f"{side}: the model's sidecar is missing", hint="models are saved by the pipeline with "
                         "a .json beside them; copy both", path=str(path))
    try:
        sidecar = json.loads(side.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{side}: not valid JSON ({exc})", hint="re-run the stage that wrote it",
                         path=str(path)) from None
    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - keras raises many kinds for a bad file
        raise ModelError(f"{path}: cannot load the model ({type(exc).__name__}: {exc})",
                         hint="the file may be damaged or from another version; re-run `dvc repro`",
                         path=str(path)) from None
    return model, sidecar

"""Model artifacts: a `.keras` file plus a JSON sidecar (strategy, parent, params, data, metrics).

Both are written atomically. The `.keras` file loads on its own with
``keras.saving.load_model(path, safe_mode=True)``; :func:`load_model` also reads the sidecar
and turns every failure into a :class:`ModelError` that says what to do. Before Keras sees a
file, :func:`load_model` refuses one that is not ours: not a `.keras` archive, a layer that
carries code (a Lambda, or anything that is neither Keras's nor lstm_utils' own), a sidecar
lstm_utils did not write, or a model whose shapes its sidecar does not describe.
"""

from __future__ import annotations

import json
import shutil
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lstm_utils._keras import keras
from lstm_utils.files import atomic_path, write_json
from lstm_utils.errors import ModelError
from lstm_utils.layers import Divide, WindowSpread
from lstm_utils.settings import Params

SIDECAR_KEYS = ("strategy", "parent", "inputs", "targets", "data", "window", "params", "sources", "metrics")
OWN_LAYERS = frozenset(keras.saving.get_registered_name(c) for c in (WindowSpread, Divide))  # "lstm_utils>Divide"


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
    """Load a saved forecaster and its sidecar (safe mode: no arbitrary code runs).

    The file is checked before Keras reads it (:func:`check_layers`), the sidecar is checked to
    be one lstm_utils wrote, and the model's shapes against it; each failure is a ModelError.
    """
    path = Path(path)
    side = sidecar_path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such model file", hint="run `dvc repro` first, or give the path of a "
                         ".keras file under models/", path=str(path))
    if not side.is_file():
        raise ModelError(f"{side}: the model's sidecar is missing", hint="models are saved by the pipeline with "
                         "a .json beside them; copy both", path=str(path))
    check_layers(path, read_config(path))
    sidecar = read_sidecar(side, path)
    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - keras raises many kinds for a bad file
        raise ModelError(f"{path}: cannot load the model ({type(exc).__name__}: {exc})",
                         hint="the file may be damaged or from another version; re-run `dvc repro`",
                         path=str(path)) from None
    check_shapes(model, sidecar, path)
    return model, sidecar


OURS = "forecast and evaluate take the models this project's pipeline saves (models/*.keras and their .json)"


def read_config(path: Path) -> dict:
    """The model config inside a `.keras` archive, read without Keras; ModelError if `path` is
    not a zip holding `config.json` (a JSON object) and `metadata.json`."""
    try:
        with zipfile.ZipFile(path) as archive:
            if {"config.json", "metadata.json"} <= set(archive.namelist()):
                config = json.loads(archive.read("config.json"))
                if isinstance(config, dict):
                    return config
    except (zipfile.BadZipFile, ValueError, EOFError, RecursionError, zlib.error):
        pass  # ValueError: not JSON, not UTF-8
    raise ModelError(f"{path}: not a Keras model file (.keras archive: a zip with config.json and metadata.json)",
                     hint=f"the file is damaged or of another kind; {OURS}", path=str(path))


def check_layers(path: Path, config: dict) -> None:
    """Refuse a model config that holds code: a Lambda layer, or any object (layer, nested
    model, initializer, function) that is neither a Keras built-in nor one of lstm_utils' layers."""
    for obj in _objects(config):
        name = obj["class_name"]
        if name in ("Lambda", "__lambda__"):
            raise ModelError(f"{path}: holds a Lambda layer (Python code); lstm_utils does not run code from "
                             "model files", hint=OURS, path=str(path))
        if not _keras_or_ours(obj):
            label = obj.get("registered_name") or name
            raise ModelError(f"{path}: holds {label!r} (module {obj.get('module')!r}), not a layer of Keras or "
                             "lstm_utils; lstm_utils does not run code from model files", hint=OURS, path=str(path))


def _objects(config: Any) -> Iterator[dict]:
    """Every serialized object in a Keras config, at any depth (nested models included)."""
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("class_name"), str):
                yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _keras_or_ours(obj: dict) -> bool:
    """Whether Keras would build `obj` from its own modules or from lstm_utils' layers.

    Keras looks a `package>name` up among registered custom objects first, so any such name
    other than ours is foreign, whatever module the config claims.
    """
    module, registered = obj.get("module"), obj.get("registered_name")
    lookups = [registered, obj.get("config") if obj["class_name"] == "function" else None]
    if any(isinstance(n, str) and ">" in n and n not in OWN_LAYERS for n in lookups):
        return False
    if registered in OWN_LAYERS:
        return True
    if module is None:  # Keras's own markers: __keras_tensor__, __numpy__, __tuple__, ...
        return obj["class_name"].startswith("__") and obj["class_name"].endswith("__")
    return isinstance(module, str) and (module == "keras" or module.startswith("keras."))


def read_sidecar(side: Path, path: Path) -> dict:
    """A model's sidecar, refused unless it is a JSON object with every key of `SIDECAR_KEYS`."""
    try:
        sidecar = json.loads(side.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{side}: not valid JSON ({exc})", hint="re-run the stage that wrote it",
                         path=str(path)) from None
    missing = [k for k in SIDECAR_KEYS if k not in sidecar] if isinstance(sidecar, dict) else None
    if missing is None or missing:
        what = "not a JSON object" if missing is None else "no " + ", ".join(map(repr, missing))
        raise ModelError(f"{side}: not a sidecar written by lstm_utils ({what})", hint=OURS, path=str(path))
    return sidecar


def check_shapes(model: keras.Model, sidecar: dict, path: Path) -> None:
    """Refuse a model whose input and output shapes its sidecar does not describe: one input
    (lookback, inputs) and one output (horizon, targets)."""
    side = sidecar_path(path)
    try:
        window = sidecar["window"]
        lookback, horizon = int(window["lookback"]), int(window["horizon"])
        n_inputs, n_targets = len(sidecar["inputs"]), len(sidecar["targets"])
    except (KeyError, TypeError, ValueError):
        raise ModelError(f"{side}: not a sidecar written by lstm_utils (no window lookback and horizon, or no "
                         "list of inputs and targets)", hint=OURS, path=str(path)) from None
    ins = [tuple(t.shape[1:]) for t in model.inputs]
    outs = [tuple(t.shape[1:]) for t in model.outputs]
    if ins != [(lookback, n_inputs)] or outs != [(horizon, n_targets)]:
        raise ModelError(f"{path}: the model maps windows of shape {', '.join(map(str, ins))} to "
                         f"{', '.join(map(str, outs))}, but {side.name} "
                         f"says (lookback {lookback}, inputs {n_inputs}) to (horizon {horizon}, targets {n_targets})",
                         hint="the .keras file and its .json sidecar do not belong together; copy both from one run",
                         path=str(path))

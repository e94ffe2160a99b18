"""Settings: params.yaml loaded into typed, validated, frozen dataclasses.

params.yaml is the only place settings live. Every key must be present; an unknown,
misspelled, mistyped or impossible key is a :class:`ParamsError` naming the key.
"""

from __future__ import annotations

import difflib
import re
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from lstm_utils.errors import ParamsError

PARAMS_FILE = "params.yaml"


@dataclass(frozen=True)
class DataParams:
    time_column: str
    targets: tuple[str, ...]
    features: tuple[str, ...]
    freq: str
    timezone: str
    max_fill: int
    separator: str
    on_conflict: str  # a time two files give different values for: newer (file wins), older, or refuse

    @property
    def inputs(self) -> tuple[str, ...]:
        """Model input columns: the targets first, then the other features."""
        return self.targets + tuple(f for f in self.features if f not in self.targets)


@dataclass(frozen=True)
class SplitParams:
    base_batches: int
    val_fraction: float
    test_fraction: float


@dataclass(frozen=True)
class WindowParams:
    lookback: int
    horizon: int


@dataclass(frozen=True)
class ModelParams:
    units: tuple[int, ...]
    dropout: float
    residual: str
    relative_inputs: bool
    linear_l2: float  # > 0 adds a linear path from the window to the output, with this L2 penalty


@dataclass(frozen=True)
class TrainParams:
    epochs: int
    batch_size: int
    learning_rate: float
    patience: int
    seed: int


@dataclass(frozen=True)
class BaselineParams:
    season: int


@dataclass(frozen=True)
class FinetuneParams:
    learning_rate: float
    epochs: int
    patience: int
    trainable: str  # "all" layers, or only the dense "head"


@dataclass(frozen=True)
class DistillParams:
    units: tuple[int, ...]
    alpha: float  # weight of the true targets; 1 - alpha goes to the teacher's predictions
    old_windows: int
    learning_rate: float
    epochs: int
    patience: int


@dataclass(frozen=True)
class EnsembleParams:
    how: str  # "mean" or "fitted" (weights fitted on the new batch's validation tail)
    max_members: int
    recent_batches: int  # a new member trains on the newest N batches; 0: on every batch so far


@dataclass(frozen=True)
class ReplayParams:
    buffer: int
    learning_rate: float
    epochs: int
    patience: int


@dataclass(frozen=True)
class CompareParams:
    rank_by: str  # "new_rmse" or "forward_rmse"
    max_forgetting: float


@dataclass(frozen=True)
class Params:
    data: DataParams
    split: SplitParams
    window: WindowParams
    model: ModelParams
    train: TrainParams
    baselines: BaselineParams
    finetune: FinetuneParams
    distill: DistillParams
    ensemble: EnsembleParams
    replay: ReplayParams
    compare: CompareParams
    raw: dict = None  # type: ignore[assignment]  # the YAML as read, for sidecars

    def section(self, name: str) -> dict:
        """The raw YAML of one section (what a sidecar records)."""
        return dict(self.raw[name])


def _fail(key: str, message: str, hint: str) -> typing.NoReturn:
    raise ParamsError(f"params.yaml: `{key}` {message}", hint=hint, key=key)


def _coerce(key: str, value: Any, tp: Any) -> Any:
    """Check `value` against the annotation `tp`; return it in the dataclass's type."""
    origin = typing.get_origin(tp)
    if origin is tuple:
        item = typing.get_args(tp)[0]
        if not isinstance(value, list) or not value:
            _fail(key, f"must be a non-empty list, got {value!r}", f"write e.g. `{key.split('.')[-1]}: [...]`")
        return tuple(_coerce(f"{key}[{i}]", v, item) for i, v in enumerate(value))
    if tp is bool:
        if not isinstance(value, bool):
            _fail(key, f"must be true or false, got {value!r}", "use true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(key, f"must be an integer, got {value!r}", "write a whole number such as 24")
        return value
    if tp is float:
        if isinstance(value, str) and re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+", value.strip()):
            value = float(value)  # PyYAML (YAML 1.1) reads 1e-3, which has no dot, as text
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(key, f"must be a number, got {value!r}", "write a number such as 0.001 or 1e-3")
        return float(value)
    if tp is str:
        if not isinstance(value, str) or not value:
            _fail(key, f"must be a non-empty text, got {value!r}", "quote it if YAML reads it as something else")
        return value
    raise TypeError(tp)  # pragma: no cover - a programming error


def _section(name: str, raw: Any, cls: type) -> Any:
    if not isinstance(raw, dict):
        _fail(name, f"must be a mapping of keys, got {raw!r}", f"see the `{name}:` section of the shipped params.yaml")
    hints = typing.get_type_hints(cls)
    allowed = [f.name for f in fields(cls)]
    for key in raw:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean `{name}.{close[0]}`?" if close else f"allowed keys: {', '.join(allowed)}"
            _fail(f"{name}.{key}", "is not a known setting", hint)
    values = {}
    for key in allowed:
        if key not in raw:
            _fail(f"{name}.{key}", "is missing", f"add `{key}:` under `{name}:` (see the README's params table)")
        values[key] = _coerce(f"{name}.{key}", raw[key], hints[key])
    return cls(**values)


def _check(params: Params) -> None:
    """Cross-field and range checks, each naming the key and what is allowed."""
    d, s, w, m, t, b = params.data, params.split, params.window, params.model, params.train, params.baselines
    rules: list[tuple[bool, str, str, str]] = [
        (d.max_fill >= 0, "data.max_fill", f"must be >= 0, got {d.max_fill}", "0 turns gap filling off"),
        (len(d.separator) == 1, "data.separator", f"must be one character, got {d.separator!r}", "use ',' or ';'"),
        (d.on_conflict in ("newer", "older", "refuse"), "data.on_conflict",
         f"must be newer, older or refuse, got {d.on_conflict!r}", "newer: the later file's values win"),
        (len(set(d.targets)) == len(d.targets), "data.targets", "lists a column twice", "list each target once"),
        (d.time_column not in d.inputs, "data.time_column",
         f"({d.time_column!r}) is also listed as a target or feature", "remove it from data.targets / data.features"),
        (s.base_batches >= 1, "split.base_batches", f"must be >= 1, got {s.base_batches}",
         "the first N CSV files by time form the base period"),
        (0 < s.val_fraction < 1, "split.val_fraction", f"must be between 0 and 1, got {s.val_fraction}", "e.g. 0.15"),
        (0 < s.test_fraction < 1, "split.test_fraction", f"must be between 0 and 1, got {s.test_fraction}", "e.g. 0.15"),
        (s.val_fraction + s.test_fraction < 1, "split.test_fraction",
         f"plus split.val_fraction is {s.val_fraction + s.test_fraction:g}; they must sum to < 1",
         "leave a train part, e.g. 0.15 and 0.15"),
        (w.lookback >= 1, "window.lookback", f"must be >= 1, got {w.lookback}", "e.g. 48 (two days of hours)"),
        (w.horizon >= 1, "window.horizon", f"must be >= 1, got {w.horizon}", "e.g. 24"),
        (all(u >= 1 for u in m.units), "model.units", f"must all be >= 1, got {list(m.units)}", "e.g. [64]"),
        (m.residual in ("season", "last", "none"), "model.residual", f"must be season, last or none, got "
         f"{m.residual!r}", "season adds the learned change to the seasonal naive forecast"),
        (m.linear_l2 >= 0, "model.linear_l2", f"must be >= 0, got {m.linear_l2}", "0 turns the linear path off"),
        (0 <= m.dropout < 1, "model.dropout", f"must be in [0, 1), got {m.dropout}", "e.g. 0.1"),
        (t.epochs >= 1, "train.epochs", f"must be >= 1, got {t.epochs}", "e.g. 30"),
        (t.batch_size >= 1, "train.batch_size", f"must be >= 1, got {t.batch_size}", "e.g. 64"),
        (t.learning_rate > 0, "train.learning_rate", f"must be > 0, got {t.learning_rate}", "e.g. 0.001"),
        (t.patience >= 1, "train.patience", f"must be >= 1, got {t.patience}", "e.g. 5"),
        (t.seed >= 0, "train.seed", f"must be >= 0, got {t.seed}", "any whole number"),
        (b.season >= 1, "baselines.season", f"must be >= 1, got {b.season}", "24 for hourly data"),
        (w.lookback >= b.season, "window.lookback",
         f"({w.lookback}) must be >= `baselines.season` ({b.season}): the seasonal naive forecast reads its "
         "values from the window", f"raise window.lookback to at least {b.season}"),
    ]
    f, di, en, rp, co = params.finetune, params.distill, params.ensemble, params.replay, params.compare
    rules += [
        (f.learning_rate > 0, "finetune.learning_rate", f"must be > 0, got {f.learning_rate}", "e.g. 1e-5"),
        (f.epochs >= 1, "finetune.epochs", f"must be >= 1, got {f.epochs}", "e.g. 20"),
        (f.patience >= 1, "finetune.patience", f"must be >= 1, got {f.patience}", "e.g. 3"),
        (f.trainable in ("all", "head"), "finetune.trainable", f"must be all or head, got {f.trainable!r}",
         "head keeps the LSTM layers frozen"),
        (all(u >= 1 for u in di.units), "distill.units", f"must all be >= 1, got {list(di.units)}", "e.g. [16]"),
        (0 <= di.alpha <= 1, "distill.alpha", f"must be in [0, 1], got {di.alpha}", "1 ignores the teacher"),
        (di.old_windows >= 0, "distill.old_windows", f"must be >= 0, got {di.old_windows}", "e.g. 2000"),
        (di.learning_rate > 0, "distill.learning_rate", f"must be > 0, got {di.learning_rate}", "e.g. 1e-3"),
        (di.epochs >= 1, "distill.epochs", f"must be >= 1, got {di.epochs}", "e.g. 30"),
        (di.patience >= 1, "distill.patience", f"must be >= 1, got {di.patience}", "e.g. 5"),
        (en.how in ("mean", "fitted"), "ensemble.how", f"must be mean or fitted, got {en.how!r}",
         "fitted fits the weights on the new batch's validation tail"),
        (en.max_members >= 2, "ensemble.max_members", f"must be >= 2, got {en.max_members}", "e.g. 3"),
        (en.recent_batches >= 0, "ensemble.recent_batches", f"must be >= 0, got {en.recent_batches}",
         "0 trains each member on all data so far; e.g. 3 bounds the cost"),
        (rp.buffer >= 0, "replay.buffer", f"must be >= 0, got {rp.buffer}", "e.g. 1000 old windows"),
        (rp.learning_rate > 0, "replay.learning_rate", f"must be > 0, got {rp.learning_rate}", "e.g. 1e-4"),
        (rp.epochs >= 1, "replay.epochs", f"must be >= 1, got {rp.epochs}", "e.g. 20"),
        (rp.patience >= 1, "replay.patience", f"must be >= 1, got {rp.patience}", "e.g. 3"),
        (co.rank_by in ("new_rmse", "forward_rmse"), "compare.rank_by",
         f"must be new_rmse or forward_rmse, got {co.rank_by!r}", "new_rmse ranks by the newest period's error"),
        (co.max_forgetting >= 0, "compare.max_forgetting", f"must be >= 0, got {co.max_forgetting}",
         "in the target's units of RMSE, e.g. 0.5"),
    ]
    for ok, key, message, hint in rules:
        if not ok:
            _fail(key, message, hint)


SECTIONS: dict[str, type] = {
    "data": DataParams, "split": SplitParams, "window": WindowParams,
    "model": ModelParams, "train": TrainParams, "baselines": BaselineParams,
    "finetune": FinetuneParams, "distill": DistillParams, "ensemble": EnsembleParams,
    "replay": ReplayParams, "compare": CompareParams,
}


def parse_params(raw: Any) -> Params:
    """Validate an already-read params mapping (see :func:`load_params`)."""
    if not isinstance(raw, dict):
        raise ParamsError("params.yaml must be a mapping of sections", hint="see the shipped params.yaml")
    known = set(SECTIONS)
    for name in raw:
        if name not in known:
            close = difflib.get_close_matches(str(name), sorted(known), n=1)
            hint = f"did you mean `{close[0]}`?" if close else f"allowed sections: {', '.join(SECTIONS)}"
            _fail(str(name), "is not a known section", hint)
    parts = {}
    for name, cls in SECTIONS.items():
        if name not in raw:
            _fail(name, "section is missing", f"add a `{name}:` section (see the shipped params.yaml)")
        parts[name] = _section(name, raw[name], cls)
    params = Params(**parts, raw=raw)
    _check(params)
    return params


def load_params(path: str | Path = PARAMS_FILE) -> Params:
    """Read and validate params.yaml.

    Examples
    --------
    >>> p = load_params("params.yaml")  # doctest: +SKIP
    >>> p.window.lookback
    48
    """
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: no such file", hint="run from the project folder, or pass the params file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML ({exc})", hint="fix the indentation or quoting there") from None
    return parse_params(raw)



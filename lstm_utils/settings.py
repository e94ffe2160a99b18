"""Settings: params.yaml's sections as typed, validated, frozen dataclasses.

params.yaml is the only place settings live. Every key must be present, but for the few
declared `optional` (a later capability whose absence keeps today's behaviour); an unknown,
misspelled, mistyped or impossible key is a :class:`ParamsError` naming the key.

Each key is declared once, with :func:`setting`: its type (the annotation), its default (shown
in the hint of an error) and its limits. The core sections are declared here; each update
strategy declares its own section in its module (:mod:`lstm_utils.strategies`). This module
parses the sections it is given: :func:`parse_params` takes the strategies' sections as an
argument, and :mod:`lstm_utils.config`, above the strategies, supplies every strategy's (its
`parse_params` and `load_params` are what the stages and the command line call).
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import yaml

from lstm_utils.backend import BACKENDS
from lstm_utils.backend import DEFAULT as DEFAULT_BACKEND
from lstm_utils.portable import DEFAULT as DEFAULT_MODE
from lstm_utils.portable import MODES
from lstm_utils.constants import DESIGNS
from lstm_utils.errors import ParamsError

PARAMS_FILE = "params.yaml"


def as_written(value: Any) -> str:
    """A params value as params.yaml writes it (500, not 500.0000; [16]; true)."""
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).removesuffix("\n...\n").strip()


def setting(default: Any = dataclasses.MISSING, *, ge: float | None = None, gt: float | None = None,
            le: float | None = None, lt: float | None = None, choices: tuple[str, ...] | None = None,
            check: Callable[[Any], str | None] | None = None, hint: str = "", optional: bool = False,
            shipped: Any = None) -> Any:
    """One params key of a section dataclass: its default and its limits.

    Parameters
    ----------
    default
        The value the shipped params.yaml holds; error hints suggest it (no default: none suggested).
    ge, gt, le, lt
        Bounds on a number (on each item of a list).
    choices
        The allowed texts.
    check
        A function of the value that returns what is wrong with it, or None.
    hint
        What to tell a user whose value breaks a limit (default: "e.g. <default>").
    optional
        The key may be left out of params.yaml, meaning `default`. Only for keys whose default
        is exactly the behaviour before they existed, so a params.yaml without them keeps its
        results (and DVC its params hashes).
    shipped
        For an optional key: the value the shipped params.yaml (the template of new projects) sets,
        when that is not `default` (a later capability measured better, on for new projects while
        older params files keep their results); None: the shipped file leaves the key out.

    Examples
    --------
    >>> @dataclass(frozen=True)
    ... class P:
    ...     epochs: int = setting(20, ge=1)
    """
    meta = {"ge": ge, "gt": gt, "le": le, "lt": lt, "choices": choices, "check": check, "hint": hint,
            "optional": optional, "shipped": shipped}
    if default is dataclasses.MISSING:
        return dataclasses.field(metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _pandas_freq(value: str) -> str | None:
    import pandas as pd

    try:
        pd.tseries.frequencies.to_offset(value)
    except ValueError as exc:
        return f"is not a pandas frequency ({value!r}: {exc})"
    return None


def _time_zone(value: str) -> str | None:
    import pandas as pd

    try:
        pd.Timestamp("2000-01-01", tz=value)
    except Exception as exc:  # noqa: BLE001 - pytz and zoneinfo raise their own kinds
        return f"is not a time zone ({value!r}: {type(exc).__name__})"
    return None


def _calendar_names(names: tuple[str, ...]) -> str | None:
    from lstm_utils.calendar import NAMES

    unknown = [n for n in names if n not in NAMES]
    if unknown:
        return f"names {unknown[0]!r}, which is not a calendar input (known: {', '.join(NAMES)})"
    if len(set(names)) < len(names):
        return "lists an input twice"
    return None


@dataclass(frozen=True)
class ChecksParams:
    """`data.checks`: the checks on every new file (lstm_utils/checks.py); each key may be left out."""

    action: str = setting("warn", choices=("warn", "mask"), optional=True,
                          hint="warn: say what was found; mask: treat stuck and spiking values as missing")
    stuck: float = setting(3.0, gt=1, optional=True,
                           hint="a run of one value over 3 times the longest the column showed before")
    stuck_steps: int = setting(24, ge=2, optional=True, hint="and at least this many steps, e.g. 24")
    spike: float = setting(8.0, gt=0, optional=True, hint="robust SDs beyond the range seen before, e.g. 8")
    shift: float = setting(4.0, gt=0, optional=True,
                           hint="robust SDs between a week's median level and the recent files', e.g. 4")
    shift_steps: int = setting(0, ge=0, optional=True, hint="the rolling window of a level, in steps; 0: a week")


@dataclass(frozen=True)
class DataParams:
    time_column: str = setting()
    targets: tuple[str, ...] = setting()
    features: tuple[str, ...] = setting()
    freq: str = setting("h", check=_pandas_freq, hint="use a pandas frequency such as h, 15min or D")
    timezone: str = setting("UTC", check=_time_zone, hint="use a zone name such as UTC or Europe/Paris")
    max_fill: int = setting(6, ge=0, hint="0 turns gap filling off")
    separator: str = setting(",", hint="one character such as ',' or ';', or auto (each file's own)")
    on_conflict: str = setting("newer", choices=("newer", "older", "refuse"),
                               hint="newer: the later file's values win")
    series_column: str | None = setting(None, optional=True,
                                        hint="the column naming each row's series (long form), or null for one series")
    calendar: tuple[str, ...] = setting((), optional=True, check=_calendar_names,
                                        hint="any of hour, weekday, month, yearday, us_federal_holidays; [] for none")
    decimal: str = setting(".", optional=True, choices=(".", ","),
                           hint="',' for numbers written 3,14 (then the separator must be another character)")
    checks: ChecksParams = setting(ChecksParams(), optional=True,
                                   hint="thresholds of the checks on every new file (lstm_utils/checks.py)")

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns read from the CSV files: the targets first, then the other features."""
        return self.targets + tuple(f for f in self.features if f not in self.targets)

    @property
    def inputs(self) -> tuple[str, ...]:
        """Model input columns: :attr:`columns`, then the calendar inputs known ahead (each
        `<name>_ahead`: its value `window.horizon` steps after the row; see :mod:`lstm_utils.calendar`)."""
        if not self.calendar:
            return self.columns
        from lstm_utils.calendar import ahead_columns

        return self.columns + tuple(ahead_columns(self.calendar))


@dataclass(frozen=True)
class SplitParams:
    base_batches: int = setting(6, ge=1, hint="the first N CSV files by time form the base period")
    val_fraction: float = setting(0.15, gt=0, lt=1)
    test_fraction: float = setting(0.15, gt=0, lt=1)


@dataclass(frozen=True)
class WindowParams:
    lookback: int = setting(72, ge=1, hint="e.g. 72 (three days of hours)")
    horizon: int = setting(24, ge=1)


@dataclass(frozen=True)
class ModelParams:
    units: tuple[int, ...] = setting((16,), ge=1, hint="e.g. [16] or [32, 16]")
    dropout: float = setting(0.1, ge=0, lt=1)
    residual: str = setting("season", choices=("season", "last", "none"),
                            hint="season adds the learned change to the seasonal naive forecast")
    relative_inputs: bool = setting(True)
    linear: bool = setting(True, hint="true: a linear path beside the LSTM, fitted in closed form first")
    scaling: str = setting("global", choices=("global", "window"), optional=True,
                           hint="global: the base period's statistics; window: each window by its own spread "
                                "(for series of different scales)")
    gate: str = setting("none", choices=("none", "fitted"), optional=True,
                        hint="fitted: the learned change is shrunk toward the residual's anchor by a weight per "
                             "target, fitted on the newest validation tail after every training")
    clip: float | None = setting(None, ge=0, optional=True, shipped=0.25,
                                 hint="a margin, e.g. 0.25: what the network sees is clipped to the range it was "
                                      "fitted on, widened by 25% of it on each side (global scaling; a window scaled "
                                      "by its own spread is bounded already); null: not clipped")
    share: str = setting("none", choices=("none", "fitted"), optional=True, shipped="fitted",
                         hint="fitted: the LSTM's part of the forecast is multiplied by a weight per target, "
                              "fitted on the newest validation tail after every training (0: the ridge alone)")


@dataclass(frozen=True)
class TrainParams:
    epochs: int = setting(60, ge=1)
    batch_size: int = setting(64, ge=1)
    learning_rate: float = setting(0.001, gt=0)
    patience: int = setting(5, ge=1)
    seed: int = setting(42, ge=0, hint="any whole number")
    backend: str = setting(DEFAULT_BACKEND, choices=BACKENDS,
                           hint="jax is the default (measured faster); tensorflow is fully supported")
    data_parallel: bool = setting(False, hint="true splits each batch across all GPUs (JAX backend)")
    reproducible: str = setting(DEFAULT_MODE, choices=MODES, optional=True,
                                hint="portable (the default) gives the same bytes on every x86-64 machine; native "
                                     "uses the machine's own kernels and threads (faster on many cores)")


def _linear_designs(names: tuple[str, ...]) -> str | None:
    wrong = [n for n in names if n not in DESIGNS]
    if wrong or not names or len(set(names)) < len(names):
        return f"must name each of {', '.join(DESIGNS)} at most once, at least one (got {list(names)})"
    return None


@dataclass(frozen=True)
class BaselineParams:
    season: int = setting(24, ge=1, hint="24 for hourly data")
    linear_penalties: tuple[float, ...] = setting((0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0), gt=0,
                                                  hint="ridge penalties to choose from on the validation tails, "
                                                       "e.g. [0.1, 1, 10, 100, 1000, 10000]")
    linear_designs: tuple[str, ...] = setting(("relative", "absolute", "both"), check=_linear_designs,
                                              hint="some of [relative, absolute, both]")
    linear_learns: str = setting("all", choices=("all", "train"),
                                 hint="all: every window up to the step once design and penalty are chosen; "
                                      "train: the training tails only")
    trees: int = setting(0, ge=0, optional=True, shipped=100,
                         hint="trees per LightGBM model of the gradient-boosted baseline, e.g. 100; 0 leaves that "
                              "baseline out")
    trees_every: int = setting(1, ge=1, optional=True, hint="a tree model every k-th horizon step (and the last), interpolated "
                                             "between them, e.g. 1")


def _known_strategies(names: tuple[str, ...], known: Mapping[str, type]) -> str | None:
    """What is wrong with `compare.strategies` given the strategies there are (`known`, by name)."""
    unknown = [n for n in names if n not in known]
    if unknown:
        return (f"names {unknown[0]!r}, which is not a strategy (known: {', '.join(known)}); a new one needs "
                f"its module lstm_utils/strategies/{unknown[0]}.py")
    if len(set(names)) < len(names):
        return "lists a strategy twice"
    return None


def _distinct_levels(levels: tuple[float, ...]) -> str | None:
    if len(set(levels)) < len(levels):
        return "lists a level twice"
    return None


@dataclass(frozen=True)
class IntervalParams:
    levels: tuple[float, ...] = setting((0.8, 0.95), gt=0, lt=1, check=_distinct_levels,
                                        hint="nominal coverages strictly between 0 and 1, e.g. [0.8, 0.95]")
    calibration_batches: int = setting(1, ge=1, hint="1 calibrates on the newest batch's validation tail")


RANK_BY = ("deployed_rmse", "deployed_mae", "new_rmse", "forward_rmse")  # or <new|deployed>_interval_score_<level>


def _rank_by(value: str) -> str | None:
    if value in RANK_BY or re.fullmatch(r"(new|deployed)_interval_score_\d+(\.\d+)?", value):
        return None
    return (f"is {value!r}; allowed: {', '.join(RANK_BY)}, or new_interval_score_<level> / "
            "deployed_interval_score_<level> (e.g. deployed_interval_score_95)")


@dataclass(frozen=True)
class CompareParams:
    # checked against the strategies there are by parse_params (_known_strategies)
    strategies: tuple[str, ...] = setting(("none", "finetune", "distill", "ensemble", "retrain", "replay", "refit"))
    rank_by: str = setting("deployed_rmse", check=_rank_by,
                           hint="deployed_rmse ranks by the error on every window of each new batch before learning "
                                "it; new_rmse by the new batches' test tails after learning them")
    choose: str = setting("best", choices=("cheapest", "best", "margin"),
                          hint="cheapest: the candidate in the confidence set with the fewest training windows seen; "
                               "best: the lowest rank_by; margin: the cheapest within compare.margin of the lowest")
    confidence: float = setting(0.9, gt=0, lt=1, hint="the confidence set's level, e.g. 0.9")
    max_forgetting: float = setting(0.05, ge=0, hint="a share of the error: 0.05 lets the error on old batches "
                                                     "rise by at most 5% since they were learned")
    min_windows: int = setting(100, ge=1, hint="e.g. 100: a figure on fewer windows is flagged")
    margin: float = setting(0.01, ge=0, optional=True,
                            hint="with choose: margin, a share of the lowest rank_by, e.g. 0.01 (1%)")
    hysteresis: str = setting("keep", choices=("keep", "yield", "off"), optional=True, shipped="yield",
                              hint="keep: the champion stays while in the set; yield: unless the rule's pick is "
                                   "cheaper; off: picked afresh each step")
    stale: str = setting("allow", choices=("allow", "informed", "last"), optional=True, shipped="informed",
                         hint="allow: `none` (never updating) competes as any strategy; informed: not before the "
                              "evidence tells the strategies apart; last: only when nothing that learns is a "
                              "candidate in the set")
    candidates: str = setting("strategies", choices=("strategies", "all"), optional=True,
                              hint="all: the baselines (ridge, persistence, seasonal naive) may be champion too")


CORE: dict[str, type] = {
    "data": DataParams, "split": SplitParams, "window": WindowParams, "model": ModelParams,
    "train": TrainParams, "baselines": BaselineParams, "intervals": IntervalParams, "compare": CompareParams,
}


@dataclass(frozen=True)
class Params:
    """Every section of params.yaml, typed; a strategy's section by its name (`params.finetune`)."""

    data: DataParams
    split: SplitParams
    window: WindowParams
    model: ModelParams
    train: TrainParams
    baselines: BaselineParams
    intervals: IntervalParams
    compare: CompareParams
    strategies: dict[str, Any] = dataclasses.field(default_factory=dict)  # a strategy's section name -> its dataclass
    raw: dict = dataclasses.field(default=None, compare=False)  # type: ignore[assignment]  # the YAML as read

    def __getattr__(self, name: str) -> Any:
        strategies = self.__dict__.get("strategies", {})
        if name in strategies:
            return strategies[name]
        raise AttributeError(name)

    def section(self, name: str) -> dict:
        """The raw YAML of one section (what a sidecar records)."""
        return dict(self.raw[name] or {})

    def replace(self, section: str, **changes: Any) -> Params:
        """A copy with some keys of one section changed, in the typed section and in `raw` alike
        (a step's identity is read from `raw`). For tests and benchmarks; nothing is checked."""
        typed = dataclasses.replace(getattr(self, section), **changes)
        raw = {k: dict(v) if isinstance(v, dict) else v for k, v in (self.raw or {}).items()}
        raw[section] = dict(raw.get(section) or {}) | {k: list(v) if isinstance(v, tuple) else v
                                                      for k, v in changes.items()}
        if section in CORE:
            return dataclasses.replace(self, **{section: typed}, raw=raw)
        return dataclasses.replace(self, strategies=self.strategies | {section: typed}, raw=raw)


def raw_value(raw: dict, key: str) -> Any:
    """The value of a dotted params key (`train.seed`, or a whole section) in a raw mapping."""
    value = raw
    for part in key.split("."):
        value = value[part]
    return value


def _fail(key: str, message: str, hint: str) -> typing.NoReturn:
    raise ParamsError(f"params.yaml: `{key}` {message}", hint=hint, key=key)


def _coerce(key: str, value: Any, tp: Any, empty: bool = False) -> Any:
    """Check `value` against the annotation `tp` (a list may be empty with `empty`); return it in
    the dataclass's type."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):  # X | None: null allowed
        if value is None:
            return None
        return _coerce(key, value, next(a for a in typing.get_args(tp) if a is not type(None)))
    if origin is tuple:
        item = typing.get_args(tp)[0]
        if not isinstance(value, list) or (not value and not empty):
            _fail(key, f"must be a non-empty list, got {value!r}", f"write e.g. `{key.split('.')[-1]}: [...]`")
        return tuple(_coerce(f"{key}[{i}]", v, item) for i, v in enumerate(value))
    if dataclasses.is_dataclass(tp):  # a section inside a section (`data.checks`)
        return parse_section(key, value, tp)
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


def _yaml(value: Any) -> str:
    """A default as it is written in params.yaml."""
    if isinstance(value, tuple):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    if dataclasses.is_dataclass(value):
        return "{" + ", ".join(f"{f.name}: {_yaml(getattr(value, f.name))}" for f in fields(value)) + "}"
    return str(value)


def _interval(meta: dict) -> str:
    """The bounds of a setting in words: '>= 1', 'in [0, 1)', 'between 0 and 1'."""
    lo = ("[", meta["ge"]) if meta["ge"] is not None else ("(", meta["gt"]) if meta["gt"] is not None else None
    hi = ("]", meta["le"]) if meta["le"] is not None else (")", meta["lt"]) if meta["lt"] is not None else None
    if lo and hi:
        if lo[0] == "(" and hi[0] == ")":
            return f"between {lo[1]:g} and {hi[1]:g}"
        return f"in {lo[0]}{lo[1]:g}, {hi[1]:g}{hi[0]}"
    if lo:
        return f"{'>=' if lo[0] == '[' else '>'} {lo[1]:g}"
    return f"{'<=' if hi[0] == ']' else '<'} {hi[1]:g}"


def _limits(key: str, value: Any, f: dataclasses.Field, check: Callable[[Any], str | None] | None = None) -> None:
    """Check a coerced value against the limits its :func:`setting` declares, then against
    `check` (one the section alone cannot declare), if given."""
    meta = f.metadata
    if not meta or value is None:
        return
    example = "" if f.default is dataclasses.MISSING else f"e.g. {_yaml(f.default)}"
    hint = meta["hint"] or example
    if meta["choices"] is not None and value not in meta["choices"]:
        allowed = ", ".join(meta["choices"][:-1]) + f" or {meta['choices'][-1]}"
        _fail(key, f"must be {allowed}, got {value!r}", hint)
    items = value if isinstance(value, tuple) else (value,)
    bounds = [(meta["ge"], lambda v, b: v >= b), (meta["gt"], lambda v, b: v > b),
              (meta["le"], lambda v, b: v <= b), (meta["lt"], lambda v, b: v < b)]
    for bound, ok in bounds:
        if bound is not None and not all(ok(v, bound) for v in items):
            shown = list(value) if isinstance(value, tuple) else value
            _fail(key, f"must {'all ' if isinstance(value, tuple) else ''}be {_interval(meta)}, got {shown}", hint)
    for extra in (meta["check"], check):
        if extra is not None:
            problem = extra(value)
            if problem:
                _fail(key, problem, hint)


def parse_section(name: str, raw: Any, cls: type, checks: Mapping[str, Callable[[Any], str | None]] | None = None
                  ) -> Any:
    """One section of params (`raw`, as read from YAML) as its dataclass `cls`, every key
    present, typed and within its limits (and passing `checks`, by key, where given); a
    :class:`ParamsError` names the first bad key."""
    if raw is None and not fields(cls):
        raw = {}
    if not isinstance(raw, dict):
        _fail(name, f"must be a mapping of keys, got {raw!r}", f"see the `{name}:` section of the shipped params.yaml")
    hints = typing.get_type_hints(cls)
    allowed = [f.name for f in fields(cls)]
    for key in raw:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = (f"did you mean `{name}.{close[0]}`?" if close else
                    f"allowed keys: {', '.join(allowed)}" if allowed else f"`{name}` has no settings: write `{name}: {{}}`")
            _fail(f"{name}.{key}", "is not a known setting", hint)
    values = {}
    for f in fields(cls):
        if f.name not in raw and (f.metadata or {}).get("optional"):
            values[f.name] = f.default
            continue
        if f.name not in raw:
            example = "" if f.default is dataclasses.MISSING else f" (default: {_yaml(f.default)})"
            _fail(f"{name}.{f.name}", "is missing", f"add `{f.name}:` under `{name}:`{example}; see the params table in docs/your-data.md")
        values[f.name] = _coerce(f"{name}.{f.name}", raw[f.name], hints[f.name], empty=f.default == ())
        _limits(f"{name}.{f.name}", values[f.name], f, (checks or {}).get(f.name))
    return cls(**values)


def _check(params: Params) -> None:
    """Rules that tie keys together, each naming the key and what is allowed."""
    d, s, w, b = params.data, params.split, params.window, params.baselines
    rules: list[tuple[bool, str, str, str]] = [
        (len(d.separator) == 1 or d.separator == "auto", "data.separator",
         f"must be one character or auto, got {d.separator!r}", "use ',' or ';', or auto to detect each file's"),
        (not (d.decimal == "," and d.separator == ","), "data.separator",
         "is ',' but so is data.decimal", "set data.separator: ';' (or auto), as files with a decimal comma use"),
        (len(set(d.targets)) == len(d.targets), "data.targets", "lists a column twice", "list each target once"),
        (d.time_column not in d.inputs, "data.time_column",
         f"({d.time_column!r}) is also listed as a target or feature", "remove it from data.targets / data.features"),
        (d.series_column not in (d.time_column, *d.inputs), "data.series_column",
         f"({d.series_column!r}) is also the time column or an input", "name the column that holds series names"),
        (s.val_fraction + s.test_fraction < 1, "split.test_fraction",
         f"plus split.val_fraction is {s.val_fraction + s.test_fraction:g}; they must sum to < 1",
         "leave a train part, e.g. 0.15 and 0.15"),
        (w.lookback >= b.season, "window.lookback",
         f"({w.lookback}) must be >= `baselines.season` ({b.season}): the seasonal naive forecast reads its "
         "values from the window", f"raise window.lookback to at least {b.season}"),
    ]
    rules.append((not (params.model.scaling == "window" and params.model.residual == "none"), "model.scaling",
                  "is window, which needs `model.residual` season or last (the change is scaled by each window's "
                  "spread and added to them)", "set model.residual to season, or model.scaling to global"))
    rules.append((not (params.model.gate == "fitted" and params.model.residual == "none"), "model.gate",
                  "is fitted, which needs `model.residual` season or last (the gate shrinks the learned change "
                  "toward them)", "set model.residual to season, or model.gate to none"))
    levels = [f"{100 * q:g}" for q in params.intervals.levels]  # as intervals.level_name writes them
    rank = params.compare.rank_by
    if "_interval_score_" in rank:
        prefix = rank[:rank.index("_interval_score_")] + "_interval_score_"
        rules.append((rank.removeprefix(prefix) in levels, "compare.rank_by",
                      f"({rank}) names a level that `intervals.levels` does not list",
                      f"use one of {', '.join(prefix + n for n in levels)}"))
    for ok, key, message, hint in rules:
        if not ok:
            _fail(key, message, hint)


def parse_params(raw: Any, strategies: Mapping[str, type]) -> Params:
    """Validate an already-read params mapping, given the strategies' sections: each strategy's
    name and the params dataclass its module declares (:func:`lstm_utils.config.parse_params`
    gives every strategy's).

    The core sections must all be there, and the section of each strategy `compare.strategies`
    names; a strategy's section is checked against its params dataclass (another known
    strategy's section may be there too, and is checked the same way).
    """
    if not isinstance(raw, dict):
        raise ParamsError("params.yaml must be a mapping of sections", hint="see the shipped params.yaml")
    sections = CORE | dict(strategies)
    for name in raw:
        if name not in sections:
            close = difflib.get_close_matches(str(name), sorted(sections), n=1)
            hint = (f"did you mean `{close[0]}`?" if close else
                    f"allowed sections: {', '.join(sections)}; a new strategy needs its module in lstm_utils/strategies/")
            _fail(str(name), "is not a known section", hint)
    parts = {}
    known = {"compare": {"strategies": lambda names: _known_strategies(names, strategies)}}
    for name, cls in CORE.items():
        if name not in raw:
            _fail(name, "section is missing", f"add a `{name}:` section (see the shipped params.yaml)")
        parts[name] = parse_section(name, raw[name], cls, known.get(name))
    for name in parts["compare"].strategies:
        if name not in raw:
            _fail(name, "section is missing", f"`compare.strategies` runs {name}: add its `{name}:` section (see "
                  f"lstm_utils/strategies/{name}.py for its keys and defaults)")
    sections = {name: parse_section(name, raw[name], strategies[name]) for name in strategies if name in raw}
    params = Params(**parts, strategies=sections, raw=raw)
    _check(params)
    return params


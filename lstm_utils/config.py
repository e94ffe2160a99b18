"""Settings: params.yaml loaded into typed, validated, frozen dataclasses, every strategy's
section included.

The sections are declared, and parsed, in :mod:`lstm_utils.settings` (each key with
:func:`setting`); each update strategy declares its own section in its module
(:mod:`lstm_utils.strategies`). This module sits above the strategies and gives their
sections to the parser: :func:`parse_params` and :func:`load_params` are what the stages, the
notebooks and the command line call. The settings' names are importable from here too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lstm_utils import settings
from lstm_utils.errors import ParamsError
from lstm_utils.settings import (CORE, PARAMS_FILE, RANK_BY, BaselineParams, CompareParams, DataParams,
                                 IntervalParams, ModelParams, Params, SplitParams, TrainParams, WindowParams,
                                 as_written, parse_section, raw_value, setting)

__all__ = ["CORE", "PARAMS_FILE", "RANK_BY", "BaselineParams", "CompareParams", "DataParams", "IntervalParams",
           "ModelParams", "Params", "SplitParams", "TrainParams", "WindowParams", "as_written", "load_params",
           "parse_params", "parse_section", "raw_value", "setting"]


def parse_params(raw: Any) -> Params:
    """Validate an already-read params mapping (see :func:`load_params`).

    The core sections must all be there, and the section of each strategy `compare.strategies`
    names; a strategy's section is checked against the params dataclass its module declares
    (another known strategy's section may be there too, and is checked the same way).
    """
    from lstm_utils.strategies import STRATEGIES

    return settings.parse_params(raw, {name: s.params for name, s in STRATEGIES.items()})


def load_params(path: str | Path = PARAMS_FILE) -> Params:
    """Read and validate params.yaml.

    Examples
    --------
    >>> p = load_params("params.yaml")  # doctest: +SKIP
    >>> p.window.lookback
    72
    """
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: no such file", hint="run from the project folder, or pass the params file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML ({exc})", hint="fix the indentation or quoting there") from None
    params = parse_params(raw)
    from lstm_utils import portable
    from lstm_utils.backend import distribute, use

    portable.check(params.train.reproducible, source=str(path))
    use(params.train.backend, source=str(path))
    distribute(params.train.data_parallel, params.train.batch_size, source=str(path))
    return params

"""Update strategies: how the model after step t-1 becomes the model after step t.

One module per strategy, and each holds everything about it as ``STRATEGY`` (a
:class:`Strategy`): its title, what it does, when it fits, how its cost grows, its params
dataclass (defaults, types, limits), the params keys it reads, and ``update(previous, step)``.
Params checks, report titles, the compare report's guidance and the strategy notebook's text
are all derived from it. Adding a strategy is one new module here, its params section, and its
line in dvc.yaml (docs/adding-a-strategy.md).

Every module whose name does not start with ``_`` is a strategy; they are found when
:data:`STRATEGIES` is first used. They share one training loop (:func:`lstm_utils.train.fit`),
one data path (:class:`Step`) and, downstream, one evaluator.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from lstm_utils.strategies._common import COMMON_KEYS, Step, Strategy, Update, tune

_FOUND: dict[str, Strategy] = {}


def _discover() -> dict[str, Strategy]:
    """Import every strategy module of this package; check each declares itself under its own name."""
    if not _FOUND:
        found = {}
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{__name__}.{info.name}")
            strategy = getattr(module, "STRATEGY", None)
            if not isinstance(strategy, Strategy):
                raise TypeError(f"lstm_utils/strategies/{info.name}.py has no `STRATEGY = Strategy(...)`; "
                                "every module there not named _* is a strategy (see docs/adding-a-strategy.md)")
            if strategy.name != info.name:
                raise TypeError(f"lstm_utils/strategies/{info.name}.py declares the name {strategy.name!r}; "
                                f"use {info.name!r}, the module's name")
            found[info.name] = strategy
        _FOUND.update(found)
    return _FOUND


def __getattr__(name: str) -> Any:
    if name == "STRATEGIES":
        return _discover()
    if name == "NAMES":
        return tuple(_discover())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get(name: str) -> Strategy:
    """A strategy by name, with a clear error for an unknown one."""
    from lstm_utils.errors import ParamsError

    found = _discover()
    if name not in found:
        raise ParamsError(f"unknown strategy {name!r}; known: {', '.join(found)}",
                          hint=f"add lstm_utils/strategies/{name}.py (docs/adding-a-strategy.md) or fix the name")
    return found[name]


__all__ = ["COMMON_KEYS", "NAMES", "STRATEGIES", "Step", "Strategy", "Update", "get", "tune"]

"""Update strategies: how the model after step t-1 becomes the model after step t.

Each module holds only what makes its strategy different and exposes
``update(previous, step) -> Update``; they share one training loop (:func:`lstm_utils.train.fit`),
one data path (:class:`Step`) and, downstream, one evaluator.
"""

from __future__ import annotations

from collections.abc import Callable

import keras

from lstm_utils.strategies.common import Step, Update
from lstm_utils.strategies import distill, ensemble, finetune, none, replay, retrain

UPDATES: dict[str, Callable[[keras.Model, Step], Update]] = {
    "none": none.update,
    "finetune": finetune.update,
    "distill": distill.update,
    "ensemble": ensemble.update,
    "retrain": retrain.update,
    "replay": replay.update,
}
NAMES = tuple(UPDATES)


def get(name: str) -> Callable[[keras.Model, Step], Update]:
    """The update function of a strategy, by name."""
    try:
        return UPDATES[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; known: {', '.join(NAMES)}") from None


__all__ = ["NAMES", "Step", "Update", "get"]

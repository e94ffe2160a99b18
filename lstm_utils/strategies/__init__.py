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

# The params keys each strategy reads (dvc.yaml lists the same for its stage; a test checks).
COMMON_KEYS = ("data.targets", "data.features", "data.freq", "data.timezone", "window")
PARAM_KEYS: dict[str, tuple[str, ...]] = {
    "none": (),
    "finetune": ("finetune", "train.batch_size", "train.seed"),
    "distill": ("distill", "model", "baselines.season", "train.batch_size", "train.seed"),
    "ensemble": ("ensemble", "model", "train", "baselines.season"),
    "retrain": ("model", "train", "baselines.season"),
    "replay": ("replay", "train.batch_size", "train.seed"),
}


def params_used(name: str, raw: dict) -> dict:
    """The values of the params keys strategy `name` reads, from the raw params mapping."""
    out = {}
    for key in COMMON_KEYS + PARAM_KEYS[name]:
        value = raw
        for part in key.split("."):
            value = value[part]
        out[key] = value
    return out


def get(name: str) -> Callable[[keras.Model, Step], Update]:
    """The update function of a strategy, by name."""
    try:
        return UPDATES[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; known: {', '.join(NAMES)}") from None


__all__ = ["COMMON_KEYS", "NAMES", "PARAM_KEYS", "Step", "Update", "get", "params_used"]

"""none: keep the base model, never updated (the stale baseline)."""

from __future__ import annotations

import keras

from lstm_utils.strategies.common import Step, Update


def update(previous: keras.Model, step: Step) -> Update:
    """The previous model, unchanged; nothing is trained."""
    return Update(previous, windows_seen=0)

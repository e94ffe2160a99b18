"""retrain: from scratch on all data so far (the accuracy and cost reference)."""

from __future__ import annotations

import keras

from lstm_utils.base import train_new
from lstm_utils.strategies.common import Step, Update


def update(previous: keras.Model, step: Step) -> Update:
    """A new model trained on batches 0..t with the `train` settings (previous is unused)."""
    run = train_new(step.frame, step.params, list(range(step.t + 1)), verbose=step.verbose)
    return Update(run.model, run.result.windows_seen, run.result.history, {"epochs": run.result.epochs_run})

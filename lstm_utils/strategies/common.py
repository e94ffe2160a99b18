"""What every strategy shares: the step's data, the result type, and fine-tuning."""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import pandas as pd

from lstm_utils.base import split_windows
from lstm_utils.config import Params
from lstm_utils.model import copy_model
from lstm_utils.train import TrainResult, fit
from lstm_utils.windows import Windows


@dataclass
class Step:
    """One update step: the prepared frame (batches 0..t at least) and the new batch `t`."""

    frame: pd.DataFrame
    params: Params
    t: int
    verbose: int = 0

    @property
    def seed(self) -> int:
        """A seed of its own per step, derived from `train.seed`."""
        return self.params.train.seed + 1000 * self.t

    def windows(self, split: str, batches: list[int] | range) -> Windows:
        """Windows of one split of some batches."""
        return split_windows(self.frame, self.params, split, list(batches))

    def new(self, split: str) -> Windows:
        """Windows of one split of the new batch."""
        return self.windows(split, [self.t])

    def old(self, split: str = "train") -> Windows:
        """Windows of one split of every earlier batch (0 .. t-1)."""
        return self.windows(split, range(self.t))


@dataclass
class Update:
    """The model after a step, and what the step cost (timings are added by the caller)."""

    model: keras.Model
    windows_seen: int
    history: dict[str, list[float]] = field(default_factory=dict)
    info: dict = field(default_factory=dict)


def tune(previous: keras.Model, step: Step, train: Windows, *, learning_rate: float, epochs: int,
         patience: int, trainable: str = "all") -> Update:
    """Continue training a copy of `previous` on `train`, early-stopped on the new batch's
    validation tail (best weights restored). `trainable="head"` freezes the LSTM layers."""
    model = copy_model(previous)
    frozen = [layer for layer in model.layers if trainable == "head" and layer.name.startswith("lstm_")]
    for layer in frozen:
        layer.trainable = False
    result: TrainResult = fit(model, train, step.new("val"), epochs=epochs, batch_size=step.params.train.batch_size,
                              learning_rate=learning_rate, patience=patience, seed=step.seed, verbose=step.verbose)
    for layer in frozen:  # frozen for this step only; the saved model stays trainable
        layer.trainable = True
    return Update(model, result.windows_seen, result.history, {"epochs": result.epochs_run,
                                                                "best_epoch": result.best_epoch})

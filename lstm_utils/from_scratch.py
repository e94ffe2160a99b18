"""Training a forecaster from scratch on some batches: the base model, and the models of the
strategies that start anew (retrain, each ensemble member, a distillation student of another size)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from lstm_utils._keras import keras
from lstm_utils.config import Params
from lstm_utils.linear import BatchSums
from lstm_utils.model import LINEAR, Scaler, build_forecaster, fit_gate, gate_weights, has_gate, set_linear
from lstm_utils.splits import BATCH, SPLIT, TRAIN
from lstm_utils.train import TrainResult, fit, set_seed
from lstm_utils.windows import Windows, split_windows


@dataclass
class Run:
    """A trained model with the windows it saw and how training went."""

    model: keras.Model
    result: TrainResult
    train: Windows
    val: Windows

    @property
    def gate(self) -> list[float] | None:
        """Each target's weight on the learned change (`model.gate: fitted`), or None."""
        return gate_weights(self.model).tolist() if has_gate(self.model) else None


def base_scaler(frame: pd.DataFrame, inputs: Sequence[str]) -> Scaler:
    """Scaling statistics from the base period's train tail only (batch 0, split train)."""
    rows = (frame[BATCH].to_numpy() == 0) & (frame[SPLIT].to_numpy() == TRAIN)
    if not rows.any():
        raise ValueError("the frame has no base-period training rows")
    return Scaler.fit(frame.loc[rows, list(inputs)].to_numpy(dtype=np.float64))


def new_forecaster(frame: pd.DataFrame, params: Params, units: Sequence[int] | None = None,
                   name: str = "lstm_forecaster") -> keras.Model:
    """An untrained forecaster scaled by the base period's train tail; `units` overrides
    `model.units` (a smaller distillation student, say). Seeded from `train.seed`."""
    set_seed(params.train.seed)
    model_params = params.model if units is None else replace(params.model, units=tuple(units))
    target_idx = [list(params.data.inputs).index(t) for t in params.data.targets]
    return build_forecaster(model_params, params.window.lookback, params.window.horizon, len(params.data.inputs),
                            target_idx, base_scaler(frame, params.data.inputs), season=params.baselines.season,
                            seed=params.train.seed, name=name)


def train_new(frame: pd.DataFrame, params: Params, batches: Sequence[int], verbose: int = 2,
              name: str = "lstm_forecaster") -> Run:
    """A new forecaster trained from scratch on `batches` with the `train` settings: its linear
    path is first set to the ridge fit on the same windows (:mod:`lstm_utils.linear`) and kept
    there, and the LSTM learns what the linear part misses, starting from zero.

    Parameters
    ----------
    frame
        The prepared batches, with `batch` and `split` columns.
    params
        Every setting (`model`, `train`, `window`, `baselines.season` are read).
    batches
        Which batches' training windows it learns from (and whose validation tails stop it early).
    verbose
        Keras's progress output.
    name
        The model's name (an ensemble's members are told apart by it).
    """
    train = split_windows(frame, params, "train", batches)
    val = split_windows(frame, params, "val", batches)
    model = new_forecaster(frame, params, name=name)
    if params.model.linear:
        ridge = BatchSums(frame, params).fit(batches)
        set_linear(model, ridge.w, ridge.b)
    t = params.train
    result = fit(model, train, val, epochs=t.epochs, batch_size=t.batch_size, learning_rate=t.learning_rate,
                 patience=t.patience, seed=t.seed, verbose=verbose, frozen=(LINEAR,) if params.model.linear else ())
    fit_gate(model, split_windows(frame, params, "val", [max(batches)]))
    return Run(model, result, train, val)

"""Training a forecaster from scratch on some batches: the base model, and the models of the
strategies that start anew (retrain, each ensemble member, a distillation student of another size)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

import pandas as pd

from lstm_utils._keras import keras
from lstm_utils.calendar import known_ahead
from lstm_utils.linear import BatchSums
from lstm_utils.model import (LINEAR, base_scaler, build_forecaster, fit_guards, guards, has_linear, set_bounds,
                              set_linear)
from lstm_utils.settings import Params
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
    def guards(self) -> dict[str, list[float]]:
        """The fitted weights per target, `share` on the LSTM's part and `gate` on the whole change,
        each where the model has it (`model.share`, `model.gate`; :func:`lstm_utils.model.guards`)."""
        return guards(self.model)


def new_forecaster(frame: pd.DataFrame, params: Params, units: Sequence[int] | None = None,
                   name: str = "lstm_forecaster") -> keras.Model:
    """An untrained forecaster scaled by the base period's train tail; `units` overrides
    `model.units` (a smaller distillation student, say). Seeded from `train.seed`."""
    set_seed(params.train.seed)
    model_params = params.model if units is None else replace(params.model, units=tuple(units))
    target_idx = [list(params.data.inputs).index(t) for t in params.data.targets]
    return build_forecaster(model_params, params.window.lookback, params.window.horizon, len(params.data.inputs),
                            target_idx, base_scaler(frame, params.data.inputs), season=params.baselines.season,
                            seed=params.train.seed, name=name, known=known_ahead(params.data.inputs))


def train_new(frame: pd.DataFrame, params: Params, batches: Sequence[int], verbose: int = 2,
              name: str = "lstm_forecaster") -> Run:
    """A new forecaster trained from scratch on `batches` with the `train` settings: its linear
    path is set to the ridge fit on the same batches (:mod:`lstm_utils.linear`; on their training
    windows while it trains, then the fit it keeps: :func:`beside_linear`), and the LSTM learns
    what the linear part misses, starting from zero.

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
    t = params.train
    with beside_linear(model, BatchSums(frame, params), batches) as frozen:
        result = fit(model, train, val, epochs=t.epochs, batch_size=t.batch_size, learning_rate=t.learning_rate,
                     patience=t.patience, seed=t.seed, verbose=verbose, frozen=frozen)
    fit_guards(model, split_windows(frame, params, "val", [max(batches)]))  # a tail the kept fit left out
    return Run(model, result, train, val)


@contextmanager
def beside_linear(model: keras.Model, sums: BatchSums, batches: Sequence[int]) -> Iterator[tuple[str, ...]]:
    """Train a model beside its linear part, in a `with` block that yields the layers to freeze.

    Inside the block the linear path is the ridge fitted on the batches' training windows
    (design and penalty chosen on their validation tails), so the validation tails that stop
    training stay out of sample. After it, the path is set to the fit it keeps: with
    `baselines.linear_learns: all`, the same design and penalty fitted on every window of the
    batches but the newest validation tails, which calibrate the intervals and fit a gate after
    training. A model without a linear path is left alone. With `model.clip`, the model's bounds
    are set to the range of the batches first (:func:`lstm_utils.model.set_bounds`).
    """
    linear = has_linear(model)
    if linear:
        during = sums.fit(batches, "train")
        set_linear(model, during.w, during.b)
    p = sums.params
    if p.model.clip is not None:  # bounded by the batches it learns from, training windows inside them
        set_bounds(model, sums.frame, p.data.inputs, p.window.lookback, batches, p.model.clip)
    yield (LINEAR,) if linear else ()
    if linear:
        kept = sums.fit(batches)
        set_linear(model, kept.w, kept.b)

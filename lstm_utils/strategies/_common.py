"""What every strategy shares: its declaration, the step's data, the result type, fine-tuning.

Nothing here imports Keras at module level, so reading the strategies' declarations (params
checks, the data stage) never starts TensorFlow; the training code is imported where it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import pandas as pd

from lstm_utils.linear import BatchSums, Ridge
from lstm_utils.settings import Params, raw_value
from lstm_utils.windows import Windows, split_windows

if TYPE_CHECKING:
    from lstm_utils._keras import keras

# The params keys every strategy reads: how its data is read and windowed, and how the linear
# part it sets at each step is fitted (lstm_utils.linear.BatchSums.fit).
COMMON_KEYS = ("data.targets", "data.features", "data.freq", "data.timezone", "window",
               "baselines.linear_penalties", "baselines.linear_designs", "baselines.linear_learns",
               "intervals.calibration_batches")


@dataclass
class Step:
    """One update step: the prepared frame (batches 0..t at least) and the new batch `t`; the
    linear part's sums of each batch (kept across the steps of a chain, so a refit on all
    history costs the new batch alone)."""

    frame: pd.DataFrame
    params: Params
    t: int
    verbose: int = 0
    sums: BatchSums | None = None

    def linear(self, batches: Sequence[int] | None = None, learn: str | None = None) -> Ridge:
        """The ridge fit on some batches' windows (default: all so far, 0..t; see
        :meth:`lstm_utils.linear.BatchSums.fit` for `learn`)."""
        return self._sums().fit(list(range(self.t + 1)) if batches is None else batches, learn)

    def beside_linear(self, model: keras.Model,
                      batches: Sequence[int] | None = None) -> AbstractContextManager[tuple[str, ...]]:
        """Train `model` beside the ridge on some batches (default: all so far), in a `with`
        block (:func:`lstm_utils.from_scratch.beside_linear`)."""
        from lstm_utils.from_scratch import beside_linear

        return beside_linear(model, self._sums(), list(range(self.t + 1)) if batches is None else batches)

    def _sums(self) -> BatchSums:
        if self.sums is None:
            self.sums = BatchSums(self.frame, self.params)
        return self.sums

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


@dataclass(frozen=True)
class Strategy:
    """Everything about one update strategy; its module in this package holds it as `STRATEGY`.

    Parameters
    ----------
    name
        The module's name; also its params section, its stage (`strategy@<name>`), its
        model (`models/<name>.keras`) and its report (`reports/<name>.html`).
    title
        A few words: what it is called in reports.
    what
        One paragraph: what a step does (the report opens with it).
    fits
        When it fits, in a phrase (the compare report sets it against what was measured).
    cost
        How its cost grows with history (the report's cost section).
    params
        The dataclass of its params section, each key declared with :func:`lstm_utils.settings.setting`.
    update
        ``update(previous, step) -> Update``: the model after the step.
    reads
        The params keys it reads outside its own section and :data:`COMMON_KEYS`.
    reference
        The accuracy and cost reference the others are measured against (retrain).
    shown
        Keys of a step's `info` that its report's step table shows, a column each.
    """

    name: str
    title: str
    what: str
    fits: str
    cost: str
    params: type
    update: Callable[[Any, Step], Update]
    reads: tuple[str, ...] = ()
    reference: bool = False
    shown: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        """Every params key it reads: the common ones, its own section, and `reads`."""
        return COMMON_KEYS + (self.name,) + self.reads

    def used(self, raw: dict) -> dict:
        """The values of the keys it reads, from the raw params mapping (part of a step's identity)."""
        return {key: raw_value(raw, key) for key in self.keys}

    def settings(self) -> list[str]:
        """Its params keys, for its report: `name.key`."""
        return [f"{self.name}.{f.name}" for f in fields(self.params)]


def tune(previous: keras.Model, step: Step, train: Windows, *, learning_rate: float, epochs: int,
         patience: int, trainable: str = "all", refit_linear: bool = True) -> Update:
    """Continue training a copy of `previous` on `train`, early-stopped on the new batch's
    validation tail (best weights restored).

    Parameters
    ----------
    previous
        The model before the step (left untouched).
    step
        The step: its new batch's validation tail stops training; its seed.
    train
        The windows to learn from.
    learning_rate, epochs, patience
        The strategy's own settings.
    trainable
        "all" layers, or "head": the LSTM layers stay frozen for this step.
    refit_linear
        Set the linear path to the ridge fit on all batches so far (exact, from kept sums; see
        :func:`lstm_utils.from_scratch.beside_linear`); the linear path is never changed by
        gradient steps.

    A model's share and gate are fitted afterwards on the new batch's validation tail.
    """
    from lstm_utils.model import LINEAR, copy_model, has_linear
    from lstm_utils.train import fit

    model = copy_model(previous)
    frozen = [layer.name for layer in model.layers if trainable == "head" and layer.name.startswith("lstm_")]
    unchanged = nullcontext((LINEAR,) if has_linear(model) else ())  # the linear path as it was
    with (step.beside_linear(model) if refit_linear else unchanged) as kept:
        result = fit(model, train, step.new("val"), epochs=epochs, batch_size=step.params.train.batch_size,
                     learning_rate=learning_rate, patience=patience, seed=step.seed, verbose=step.verbose,
                     frozen=frozen + list(kept))
    return Update(model, result.windows_seen, result.history, guarded(model, step, {
        "epochs": result.epochs_run, "best_epoch": result.best_epoch}))


def from_scratch(step: Step, info: dict | None = None) -> Update:
    """A new model trained on every batch so far (0..t) with the `model` and `train` settings, as
    retrain's every step and the retraining steps of refit and drift; `info` with its epochs and its
    fitted share and gate."""
    from lstm_utils.from_scratch import train_new

    run = train_new(step.frame, step.params, list(range(step.t + 1)), verbose=step.verbose)
    return Update(run.model, run.result.windows_seen, run.result.history,
                  with_guards({**(info or {}), "epochs": run.result.epochs_run}, run.guards))


def guarded(model: keras.Model, step: Step, info: dict) -> dict:
    """Fit a model's share and gate on the new batch's validation tail (:func:`lstm_utils.model.fit_guards`);
    `info` with their weights added, or as it is for a model with neither."""
    from lstm_utils.model import fit_guards

    return with_guards(info, fit_guards(model, step.new("val")))


def with_guards(info: dict, guards: dict[str, list[float]]) -> dict:
    """A step's `info` with its model's fitted `share` and `gate` (kept in the step record and shown in
    the step table)."""
    return {**info, **guards}

"""distill: a student learns from true targets blended with the frozen previous model's forecasts.

The teacher's forecasts are targets, never inputs: for mean-squared error, training on
alpha * MSE(y, p) + (1 - alpha) * MSE(t, p) equals training on the blended target
alpha * y + (1 - alpha) * t (up to a constant), which is what is fed to the shared loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lstm_utils.settings import setting
from lstm_utils.strategies._common import Step, Strategy, Update, guarded
from lstm_utils.windows import Windows

if TYPE_CHECKING:
    from lstm_utils._keras import keras


@dataclass(frozen=True)
class DistillParams:
    units: tuple[int, ...] = setting((16,), ge=1, hint="e.g. [16]; equal to model.units, it starts from the teacher")
    alpha: float = setting(0.5, ge=0, le=1, hint="1 ignores the teacher")
    old_windows: int = setting(1000, ge=0)
    learning_rate: float = setting(0.0003, gt=0, hint="e.g. 3e-4")
    epochs: int = setting(20, ge=1)
    patience: int = setting(3, ge=1)


def blended_targets(teacher: keras.Model, windows: Windows, alpha: float) -> np.ndarray:
    """alpha * true targets + (1 - alpha) * the teacher's forecasts, per window."""
    from lstm_utils.model import predict

    y = windows.targets()
    if alpha == 1.0:
        return y
    return (alpha * y + (1.0 - alpha) * predict(teacher, windows)).astype(np.float32)


def student(teacher: keras.Model, step: Step) -> keras.Model:
    """A model with `distill.units`; it starts from the teacher's weights when the two have the
    same shape (every step after the first, by default), else from a fresh initialisation."""
    from lstm_utils.from_scratch import new_forecaster

    model = new_forecaster(step.frame, step.params, units=step.params.distill.units)
    if [w.shape for w in model.weights] == [w.shape for w in teacher.weights]:
        model.set_weights(teacher.get_weights())
    return model


def update(previous: keras.Model, step: Step) -> Update:
    """Train a student on the new windows + a seeded sample of old ones, against blended targets;
    its linear part is the ridge fit on all batches so far, kept through training."""
    from lstm_utils.train import fit

    p: DistillParams = step.params.distill
    train = step.new("train").concat(step.old("train").sample(p.old_windows, seed=step.seed))
    targets = blended_targets(previous, train, p.alpha)
    model = student(previous, step)
    # the truth's linear part on all history (measured: better than a fit to the blend)
    with step.beside_linear(model) as frozen:
        result = fit(model, train, step.new("val"), epochs=p.epochs, batch_size=step.params.train.batch_size,
                     learning_rate=p.learning_rate, patience=p.patience, seed=step.seed, verbose=step.verbose,
                     targets=targets, frozen=frozen)
    return Update(model, result.windows_seen, result.history,
                  guarded(model, step, {"epochs": result.epochs_run, "windows": len(train)}))


STRATEGY = Strategy(
    name="distill",
    title="Knowledge distillation",
    what="Each step trains a student (`distill.units`) on the new batch and a seeded sample of "
         "`distill.old_windows` old windows, against a blend of the true targets and the frozen previous "
         "model's forecasts (`distill.alpha` on the truth). The teacher's forecasts are targets, never inputs; "
         "for squared error, the blended target is equivalent to the weighted sum of the two losses. A student "
         "the teacher's size starts from the teacher's weights; its linear part is the ridge fit on all batches "
         "so far (true targets), so the LSTM learns what that misses.",
    fits="larger or non-contiguous new data",
    cost="The old windows revisited per step are bounded by `distill.old_windows`, so the cost per step stays "
         "flat as history grows; the teacher's forecasts on them cost one prediction pass.",
    params=DistillParams,
    update=update,
    reads=("model", "baselines.season", "train.batch_size", "train.seed"),
)

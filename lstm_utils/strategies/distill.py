"""distill: a student learns from true targets blended with the frozen previous model's forecasts.

The teacher's forecasts are targets, never inputs: for mean-squared error, training on
alpha * MSE(y, p) + (1 - alpha) * MSE(t, p) equals training on the blended target
alpha * y + (1 - alpha) * t (up to a constant), which is what is fed to the shared loop.
"""

from __future__ import annotations

import keras
import numpy as np

from lstm_utils.base import new_forecaster
from lstm_utils.strategies.common import Step, Update
from lstm_utils.train import fit, predict
from lstm_utils.windows import Windows


def blended_targets(teacher: keras.Model, windows: Windows, alpha: float) -> np.ndarray:
    """alpha * true targets + (1 - alpha) * the teacher's forecasts, per window."""
    _, y = windows.arrays()
    if alpha == 1.0:
        return y
    return (alpha * y + (1.0 - alpha) * predict(teacher, windows)).astype(np.float32)


def student(teacher: keras.Model, step: Step) -> keras.Model:
    """A model with `distill.units`; it starts from the teacher's weights when the two have the
    same shape (every step after the first, by default), else from a fresh initialisation."""
    model = new_forecaster(step.frame, step.params, units=step.params.distill.units)
    if [w.shape for w in model.weights] == [w.shape for w in teacher.weights]:
        model.set_weights(teacher.get_weights())
    return model


def update(previous: keras.Model, step: Step) -> Update:
    """Train a student on the new windows + a seeded sample of old ones, against blended targets."""
    p = step.params.distill
    train = step.new("train").concat(step.old("train").sample(p.old_windows, seed=step.seed))
    targets = blended_targets(previous, train, p.alpha)
    model = student(previous, step)
    result = fit(model, train, step.new("val"), epochs=p.epochs, batch_size=step.params.train.batch_size,
                 learning_rate=p.learning_rate, patience=p.patience, seed=step.seed, verbose=step.verbose,
                 targets=targets)
    return Update(model, result.windows_seen, result.history, {"epochs": result.epochs_run, "windows": len(train)})

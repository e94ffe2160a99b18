"""drift: fine-tune at every step, and retrain from scratch when the newest batch shows that the
model no longer fits it.

The signal is the model's own conformal band: at step t the model after step t-1 (the one a
user had) forecasts every window of batch t, with the band at `drift.level` calibrated as its
intervals were (:func:`lstm_utils.windows.calibration_windows`). If the model still fits, about
1 - level of the targets fall outside. Neighbouring windows share all but one of their targets,
so the batch holds about windows x targets / horizon separate values; the step retrains when the
share outside exceeds the nominal by more than a one-sided z-test at `drift.alpha` allows on
that many values (:func:`signal`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from lstm_utils.settings import setting
from lstm_utils.strategies._common import Step, Strategy, Update, from_scratch, tune


@dataclass(frozen=True)
class DriftParams:
    level: float = setting(0.8, gt=0, lt=1, hint="the band whose coverage is tested, e.g. 0.8")
    alpha: float = setting(0.01, gt=0, lt=0.5, hint="the test's size: lower retrains less often, e.g. 0.01")
    learning_rate: float = setting(0.0001, gt=0, hint="the fine-tuning steps' rate, e.g. 1e-4")
    epochs: int = setting(8, ge=1, hint="the fine-tuning steps' most epochs, e.g. 8")
    patience: int = setting(3, ge=1)


@dataclass(frozen=True)
class Signal:
    """The drift test on one batch: the share of its targets outside the band, the limit it was
    held to, and on how many separate values."""

    outside: float
    limit: float
    values: float  # windows x targets / horizon: the separate values the test counts

    @property
    def fired(self) -> bool:
        return self.outside > self.limit

    def words(self, level: float) -> str:
        """Why the step retrained or not, in a sentence."""
        verb = "above" if self.fired else "within"
        then = "retrained from scratch" if self.fired else "fine-tuned"
        return (f"{self.outside:.0%} of the new batch outside the {level:.0%} band, {verb} the limit of "
                f"{self.limit:.0%} (about {self.values:.0f} separate values): {then}")


def limit(level: float, alpha: float, values: float) -> float:
    """The largest share outside a `level` band that `values` separate values of a model that still
    fits would show, at a one-sided test size `alpha` (normal approximation of the binomial)."""
    nominal = 1.0 - level
    return nominal + NormalDist().inv_cdf(1.0 - alpha) * math.sqrt(nominal * (1.0 - nominal) / max(values, 1.0))


def signal(outside: float, windows: int, targets: int, horizon: int, level: float, alpha: float) -> Signal:
    """The drift test, from the share `outside` of the targets of `windows` windows outside the band."""
    values = windows * targets / max(horizon, 1)
    return Signal(float(outside), limit(level, alpha, values), values)


def measure(previous, step: Step) -> Signal:
    """The model before the step on every window of the new batch, its band at `drift.level`
    calibrated on the windows that calibrated its intervals (the step before's)."""
    from lstm_utils.evaluation import WindowLosses, calibrate
    from lstm_utils.intervals import level_name
    from lstm_utils.model import predict
    from lstm_utils.windows import calibration_windows, deployed_windows

    p: DriftParams = step.params.drift
    calibration = calibration_windows(step.frame, step.params, step.t - 1)
    windows = deployed_windows(step.frame, step.params, step.t)
    widths = calibrate(calibration, predict(previous, calibration), [p.level])
    coverage = WindowLosses.of(windows, predict(previous, windows), widths).intervals[level_name(p.level)]["coverage"]
    outside = 0.0 if not len(windows) or math.isnan(coverage) else 1.0 - coverage
    return signal(outside, len(windows), len(step.params.data.targets), step.params.window.horizon, p.level, p.alpha)


def update(previous, step: Step) -> Update:
    """A new model trained on batches 0..t (as retrain) when :func:`measure` fires; else a copy of
    the previous model fine-tuned on the new batch's training windows (as finetune)."""
    p: DriftParams = step.params.drift
    test = measure(previous, step)
    info = {"retrained": test.fired, "outside": round(test.outside, 6), "limit": round(test.limit, 6),
            "why": test.words(p.level)}
    if test.fired:
        return from_scratch(step, info)
    tuned = tune(previous, step, step.new("train"), learning_rate=p.learning_rate, epochs=p.epochs,
                 patience=p.patience)
    return Update(tuned.model, tuned.windows_seen, tuned.history, info | tuned.info)


STRATEGY = Strategy(
    name="drift",
    title="Fine-tune, retrain on drift",
    what="Each step first asks whether the model still fits: the model a user had forecasts every window of the "
         "new batch, and the share of its targets outside its own conformal band at `drift.level` is tested "
         "against the nominal share (one-sided, at `drift.alpha`, counting windows x targets / horizon separate "
         "values, as neighbouring windows share their targets). When the share is too high the step trains a new "
         "model from scratch on every batch so far, with the `model` and `train` settings; else it fine-tunes the "
         "previous model on the new batch (as finetune, at `drift.learning_rate`). Its step table says why.",
    fits="data that changes now and then, where a calendar would retrain too often or too late",
    cost="What fine-tuning costs at the steps the data stays put; a full retrain, which grows with history, at "
         "each step the test fires.",
    params=DriftParams,
    update=update,
    reads=("model", "train", "baselines.season"),
    shown=("retrained", "outside", "limit"),
)

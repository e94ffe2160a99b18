"""replay: fine-tune on the new batch plus a bounded, seeded sample of old windows."""

from __future__ import annotations

from dataclasses import dataclass

from lstm_utils.settings import setting
from lstm_utils.strategies._common import Step, Strategy, Update, tune
from lstm_utils.windows import Windows


@dataclass(frozen=True)
class ReplayParams:
    buffer: int = setting(500, ge=0, hint="e.g. 500 old windows")
    learning_rate: float = setting(0.0002, gt=0, hint="e.g. 2e-4")
    epochs: int = setting(8, ge=1, hint="e.g. 8 (bounds the cost of a step)")
    patience: int = setting(2, ge=1)


def buffer(step: Step) -> Windows:
    """At most `replay.buffer` training windows of earlier batches, drawn from the step's seed."""
    return step.old("train").sample(step.params.replay.buffer, seed=step.seed)


def update(previous, step: Step) -> Update:
    """Fine-tune a copy of the previous model on new windows + the replay buffer."""
    p: ReplayParams = step.params.replay
    old = buffer(step)
    result = tune(previous, step, step.new("train").concat(old), learning_rate=p.learning_rate, epochs=p.epochs,
                  patience=p.patience)
    result.info["replayed"] = len(old)
    return result


STRATEGY = Strategy(
    name="replay",
    title="Replay",
    what="Each step sets the linear part to the ridge fit on all batches so far, then fine-tunes the previous "
         "LSTM weights on the new batch plus a bounded, seeded sample of `replay.buffer` old training windows, at "
         "`replay.learning_rate`.",
    fits="the usual winner in continual learning",
    cost="The replay buffer bounds the old data seen per step, so the cost per step stays flat as history grows.",
    params=ReplayParams,
    update=update,
    reads=("train.batch_size", "train.seed"),
)

"""replay: fine-tune on the new batch plus a bounded, seeded sample of old windows."""

from __future__ import annotations

import keras

from lstm_utils.strategies.common import Step, Update, tune
from lstm_utils.windows import Windows


def buffer(step: Step) -> Windows:
    """At most `replay.buffer` training windows of earlier batches, drawn from the step's seed."""
    return step.old("train").sample(step.params.replay.buffer, seed=step.seed)


def update(previous: keras.Model, step: Step) -> Update:
    """Fine-tune a copy of the previous model on new windows + the replay buffer."""
    p = step.params.replay
    old = buffer(step)
    result = tune(previous, step, step.new("train").concat(old), learning_rate=p.learning_rate, epochs=p.epochs,
                  patience=p.patience)
    result.info["replayed"] = len(old)
    return result

"""finetune: the previous weights, a much lower learning rate, the new batch only."""

from __future__ import annotations

import keras

from lstm_utils.strategies.common import Step, Update, tune


def update(previous: keras.Model, step: Step) -> Update:
    """Fine-tune a copy of the previous model on the new batch's training windows."""
    p = step.params.finetune
    return tune(previous, step, step.new("train"), learning_rate=p.learning_rate, epochs=p.epochs,
                patience=p.patience, trainable=p.trainable)

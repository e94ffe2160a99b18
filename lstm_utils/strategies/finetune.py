"""finetune: the previous weights, a much lower learning rate, the new batch only."""

from __future__ import annotations

from dataclasses import dataclass

from lstm_utils.settings import setting
from lstm_utils.strategies._common import Step, Strategy, Update, tune


@dataclass(frozen=True)
class FinetuneParams:
    learning_rate: float = setting(0.0001, gt=0, hint="e.g. 1e-4, a tenth of train.learning_rate")
    epochs: int = setting(8, ge=1, hint="e.g. 8 (bounds the cost of a step)")
    patience: int = setting(3, ge=1)
    trainable: str = setting("all", choices=("all", "head"), hint="head keeps the LSTM layers frozen")


def update(previous, step: Step) -> Update:
    """Fine-tune a copy of the previous model on the new batch's training windows."""
    p: FinetuneParams = step.params.finetune
    return tune(previous, step, step.new("train"), learning_rate=p.learning_rate, epochs=p.epochs,
                patience=p.patience, trainable=p.trainable)


STRATEGY = Strategy(
    name="finetune",
    title="Fine-tuning",
    what="Each step first sets the linear part to the ridge fit on all batches so far (exact, from sums kept "
         "per batch), then continues from the previous LSTM weights on the new batch's training windows only, at "
         "a much lower learning rate (`finetune.learning_rate`), with early stopping on the new batch's "
         "validation tail (a step that would make it worse there keeps the previous weights). "
         "`finetune.trainable: head` keeps the LSTM frozen.",
    fits="small, contiguous new data",
    cost="Cost grows with the size of the new batch only, never with history: the linear part's refit on all "
         "history adds the new batch's sums to the kept ones. The risk is forgetting: nothing reminds the LSTM of "
         "the old periods (the linear part remembers them all).",
    params=FinetuneParams,
    update=update,
    reads=("train.batch_size", "train.seed"),
)

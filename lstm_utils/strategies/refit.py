"""refit: fine-tune at every step, and retrain from scratch every `refit.every`-th step."""

from __future__ import annotations

from dataclasses import dataclass

from lstm_utils.settings import setting
from lstm_utils.strategies._common import Step, Strategy, Update, from_scratch, tune


@dataclass(frozen=True)
class RefitParams:
    every: int = setting(3, ge=1, hint="e.g. 3: steps 3, 6, ... retrain from scratch; 1 retrains at every step")
    learning_rate: float = setting(0.0001, gt=0, hint="the fine-tuning steps' rate, e.g. 1e-4")
    epochs: int = setting(8, ge=1, hint="the fine-tuning steps' most epochs, e.g. 8")
    patience: int = setting(3, ge=1)


def update(previous, step: Step) -> Update:
    """At steps `every`, 2 * `every`, ...: a new model trained on batches 0..t with the `train`
    settings (as retrain); at the others: a copy of the previous model fine-tuned on the new
    batch's training windows (as finetune)."""
    p: RefitParams = step.params.refit
    if step.t % p.every == 0:
        return from_scratch(step, {"retrained": True})
    tuned = tune(previous, step, step.new("train"), learning_rate=p.learning_rate, epochs=p.epochs,
                 patience=p.patience)
    return Update(tuned.model, tuned.windows_seen, tuned.history, {"retrained": False, **tuned.info})


STRATEGY = Strategy(
    name="refit",
    title="Fine-tune, retrain now and then",
    what="Each step fine-tunes the previous model on the new batch's training windows at a low learning rate "
         "(`refit.learning_rate`, early-stopped on the new batch's validation tail, the linear part first set to "
         "the ridge fit on all batches so far), and every `refit.every`-th step instead trains a new model from "
         "scratch on every batch so far, with the `model` and `train` settings: what users of other forecasting "
         "tools do when they retrain on a schedule and update in between.",
    fits="a scheduled full retrain, cheap updates in between",
    cost="Between retrains it costs what fine-tuning costs (the new batch only); every `refit.every`-th step it "
         "costs a full retrain, which grows with history. Over many steps that is about 1/`every` of always "
         "retraining.",
    params=RefitParams,
    update=update,
    reads=("model", "train", "baselines.season"),
    shown=("retrained",),
)

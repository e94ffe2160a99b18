"""retrain: from scratch on all data so far (the accuracy and cost reference)."""

from __future__ import annotations

from dataclasses import dataclass

from lstm_utils.strategies._common import Step, Strategy, Update, from_scratch


@dataclass(frozen=True)
class RetrainParams:
    """No settings of its own (`retrain: {}`): it trains with the `model` and `train` settings."""


def update(previous, step: Step) -> Update:
    """A new model trained on batches 0..t with the `train` settings (previous is unused)."""
    return from_scratch(step)


STRATEGY = Strategy(
    name="retrain",
    title="Full retrain",
    what="Each step trains a new model from scratch on every batch so far, with the `train` settings (its "
         "linear part the ridge fit on the same windows, the LSTM learning what that misses): the accuracy and "
         "cost reference.",
    fits="the accuracy and cost reference",
    cost="Its cost grows with every batch: step t trains on t+1 batches, so the whole chain grows with the "
         "square of the number of batches. This is the cost the other strategies avoid.",
    params=RetrainParams,
    update=update,
    reads=("model", "train", "baselines.season"),
    reference=True,
)

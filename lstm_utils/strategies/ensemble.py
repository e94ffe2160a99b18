"""ensemble: a model trained on all data so far (or the newest `ensemble.recent_batches`),
combined with the previous model(s).

The combination is one Keras model built from built-in layers only (each member, a fixed
`Rescaling` by its weight, an `Add`), so it saves as one `.keras` file that loads with
safe_mode=True. Its forecast is exactly the weighted sum of the members' forecasts.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lstm_utils.settings import setting
from lstm_utils.strategies._common import Step, Strategy, Update, with_guards

if TYPE_CHECKING:
    from lstm_utils._keras import keras


@dataclass(frozen=True)
class EnsembleParams:
    how: str = setting("fitted", choices=("mean", "fitted"),
                       hint="fitted fits the weights on the new batch's validation tail")
    max_members: int = setting(3, ge=2)
    recent_batches: int = setting(0, ge=0, hint="0 trains each member on all data so far; e.g. 3 bounds the cost")


def members(model: keras.Model) -> list[keras.Model]:
    """The member models of an ensemble; a plain forecaster is a one-member ensemble."""
    from lstm_utils._keras import keras

    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return nested or [model]


def combine(parts: list[keras.Model], weights: np.ndarray, name: str = "ensemble") -> keras.Model:
    """One model whose forecast is sum(weights[i] * parts[i](window))."""
    from lstm_utils._keras import keras
    from keras import layers

    window = keras.Input(parts[0].input_shape[1:], name="window")
    scaled = [layers.Rescaling(float(w), name=f"weight_{i}")(m(window)) for i, (m, w) in enumerate(zip(parts, weights))]
    out = scaled[0] if len(scaled) == 1 else layers.Add(name="forecast")(scaled)
    return keras.Model(window, out, name=name)


def fit_weights(forecasts: list[np.ndarray], actual: np.ndarray) -> np.ndarray:
    """Weights >= 0 summing to 1 that minimise the squared error of the weighted forecast.

    Exact: every subset of members is solved with the sum-to-one constraint (KKT system),
    and the best solution with no negative weight is kept (members are few).
    """
    p = np.stack([f.reshape(-1).astype(np.float64) for f in forecasts], axis=1)
    y = actual.reshape(-1).astype(np.float64)
    m = p.shape[1]
    best, best_loss = np.full(m, 1.0 / m), np.inf
    for size in range(1, m + 1):
        for subset in itertools.combinations(range(m), size):
            ps = p[:, subset]
            kkt = np.block([[2 * ps.T @ ps, np.ones((size, 1))], [np.ones((1, size)), np.zeros((1, 1))]])
            rhs = np.concatenate([2 * ps.T @ y, [1.0]])
            w_s = np.linalg.lstsq(kkt, rhs, rcond=None)[0][:size]
            if (w_s < -1e-12).any():
                continue
            w = np.zeros(m)
            w[list(subset)] = np.clip(w_s, 0, None)
            w /= w.sum()
            loss = float(np.mean((p @ w - y) ** 2))
            if loss < best_loss - 1e-12:
                best, best_loss = w, loss
    return best


def update(previous: keras.Model, step: Step) -> Update:
    """Train a member on batches 0..t (the newest `ensemble.recent_batches` of them when that is
    not 0), keep the newest `ensemble.max_members` members, weight them."""
    from lstm_utils.from_scratch import train_new
    from lstm_utils.model import predict

    p: EnsembleParams = step.params.ensemble
    first = max(0, step.t + 1 - p.recent_batches) if p.recent_batches else 0
    run = train_new(step.frame, step.params, list(range(first, step.t + 1)), verbose=step.verbose,
                    name=f"member_{step.t}")
    pool = (members(previous) + [run.model])[-p.max_members:]
    val = step.new("val")
    if p.how == "mean" or len(val) == 0:
        weights = np.full(len(pool), 1.0 / len(pool))
    else:
        weights = fit_weights([predict(m, val) for m in pool], val.targets())
    info = {"members": [m.name for m in pool], "weights": weights.tolist()}
    return Update(combine(pool, weights), run.result.windows_seen, run.result.history, with_guards(info, run.guards))


STRATEGY = Strategy(
    name="ensemble",
    title="Ensemble",
    what="Each step trains a member on all data so far (or on the newest `ensemble.recent_batches` batches) and "
         "combines it with the previous model's members, weighted by least squares on the new batch's "
         "validation tail (weights >= 0, summing to 1; `ensemble.how: mean` for equal weights). At most "
         "`ensemble.max_members` members are kept. The combination is one Keras model of built-in layers.",
    fits="large shifts, more data",
    cost="With `ensemble.recent_batches: 0` a member trains on all data so far, so the cost per step grows with "
         "history, like retraining (step t sees t+1 batches); a positive `recent_batches` caps it at that many "
         "batches per step. The number of members (and so the forecast cost) is bounded by `ensemble.max_members`.",
    params=EnsembleParams,
    update=update,
    reads=("model", "train", "baselines.season"),
)

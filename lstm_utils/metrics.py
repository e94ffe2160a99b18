"""Errors in the data's units: RMSE and MAE per target, overall and per horizon step."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def errors(y_true: np.ndarray, y_pred: np.ndarray, targets: Sequence[str]) -> dict:
    """RMSE and MAE of forecasts (n, horizon, targets) against actuals of the same shape.

    Returns ``{"windows": n, "rmse": {target: float}, "mae": {...},
    "rmse_by_step": {target: [float] * horizon}, "mae_by_step": {...}}``.

    Examples
    --------
    >>> y = np.zeros((2, 3, 1)); p = np.ones((2, 3, 1))
    >>> errors(y, p, ["temp"])["rmse"]
    {'temp': 1.0}
    """
    if y_true.shape != y_pred.shape:
        raise ValueError(f"shapes differ: actuals {y_true.shape}, forecasts {y_pred.shape}")
    diff = y_pred.astype(np.float64) - y_true.astype(np.float64)
    out: dict = {"windows": int(diff.shape[0])}
    if diff.shape[0] == 0:
        nan = {t: float("nan") for t in targets}
        return out | {"rmse": nan, "mae": dict(nan), "rmse_by_step": {}, "mae_by_step": {}}
    sq, ab = diff ** 2, np.abs(diff)
    out["rmse"] = {t: float(np.sqrt(sq[:, :, j].mean())) for j, t in enumerate(targets)}
    out["mae"] = {t: float(ab[:, :, j].mean()) for j, t in enumerate(targets)}
    out["rmse_by_step"] = {t: np.sqrt(sq[:, :, j].mean(axis=0)).tolist() for j, t in enumerate(targets)}
    out["mae_by_step"] = {t: ab[:, :, j].mean(axis=0).tolist() for j, t in enumerate(targets)}
    return out


def mean_over_targets(scores: dict[str, float]) -> float:
    """One number from per-target scores (their mean), for tables and ranking."""
    return float(np.mean(list(scores.values())))


def relative_gap(value: float, reference: float) -> float:
    """`value` against `reference` as a share: 0.05 is 5% above it. Where the reference is a
    perfect fit (0), 0 for another perfect fit, else infinity."""
    if reference > 0:
        return value / reference - 1
    return 0.0 if value == 0 else float("inf")

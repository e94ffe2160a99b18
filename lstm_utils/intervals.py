"""Prediction intervals by split conformal prediction, and how well they cover.

A model's interval at level `q` is its point forecast plus and minus a half-width per horizon
step and target: the conformal quantile of its absolute errors on windows it did not train on
(the calibration windows). With `n` calibration errors the half-width is the
``ceil((n + 1) * q)``-th smallest of them, the finite-sample correction that makes a new
window's error fall inside with probability at least `q` when calibration and new windows are
exchangeable; when ``ceil((n + 1) * q) > n`` there are too few windows for that guarantee and the
half-width is infinite (the interval is the whole line), never a silently narrower one.

Scored like errors, on test windows:

- coverage: the share of actual values inside their interval (nominal: `q`);
- width: the mean of upper minus lower;
- interval score (Gneiting and Raftery, 2007): width plus ``2 / (1 - q)`` times how far each
  value falls outside, averaged; lower is better, and it rewards narrow intervals only while
  they still cover.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _checked_level(level: float) -> float:
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"an interval level must lie strictly between 0 and 1, got {level}")
    return level


def conformal_rank(n: int, level: float) -> int:
    """The rank (1-based) among `n` sorted calibration errors that gives the half-width at
    `level`: ``ceil((n + 1) * level)``; above `n` means too few errors for that level."""
    level = _checked_level(level)
    # the small epsilon keeps float error from pushing an exact product to the next integer
    return int(np.ceil((n + 1) * level - 1e-9))


def fewest_windows(level: float) -> int:
    """The fewest calibration windows that give a finite half-width at `level` (4 at 0.8, 19 at 0.95)."""
    n = 1
    while conformal_rank(n, level) > n:
        n += 1
    return n


def too_few(level: float) -> str:
    """What to tell a user whose intervals at `level` are infinite: too few calibration windows."""
    return (f"too few calibration windows for {level_name(level)}% intervals (split conformal needs at least "
            f"{fewest_windows(level)}): raise `intervals.calibration_batches` or `split.val_fraction`, or lower "
            "`window.horizon`")


def half_widths(actual: np.ndarray, forecast: np.ndarray, level: float) -> np.ndarray:
    """Conformal half-widths (horizon, targets) at `level` from calibration windows
    (n, horizon, targets): per horizon step and target, the :func:`conformal_rank`-th smallest
    absolute error; infinite where there are too few windows.

    Examples
    --------
    >>> a = np.zeros((9, 1, 1)); f = np.arange(1.0, 10.0).reshape(9, 1, 1)  # errors 1 .. 9
    >>> half_widths(a, f, 0.8)[0, 0]  # ceil(10 * 0.8) = 8th smallest
    np.float64(8.0)
    >>> half_widths(a, f, 0.95)[0, 0]  # ceil(10 * 0.95) = 10 > 9 errors
    np.float64(inf)
    """
    if actual.shape != forecast.shape or actual.ndim != 3:
        raise ValueError(f"calibration actuals {actual.shape} and forecasts {forecast.shape} must both be "
                         "(windows, horizon, targets)")
    errors = np.abs(forecast.astype(np.float64) - actual.astype(np.float64))
    n = errors.shape[0]
    rank = conformal_rank(n, level)
    if n == 0 or rank > n:
        return np.full(errors.shape[1:], np.inf)
    return np.sort(errors, axis=0)[rank - 1]


def calibrate(actual: np.ndarray, forecast: np.ndarray, levels: Sequence[float]) -> dict[float, np.ndarray]:
    """:func:`half_widths` for each level, as ``{level: (horizon, targets)}``."""
    return {float(level): half_widths(actual, forecast, level) for level in levels}


def bounds(forecast: np.ndarray, half_width: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds (n, horizon, targets) of forecasts with half-widths (horizon, targets)."""
    return forecast - half_width, forecast + half_width


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, axis: int | tuple[int, ...] | None = None):
    """The share of actual values within [lower, upper] (missing actuals left out); over all
    values, or per index left after averaging over `axis`."""
    inside = ((actual >= lower) & (actual <= upper)).astype(np.float64)
    inside[np.isnan(actual)] = np.nan
    return np.nanmean(inside, axis=axis)


def width(lower: np.ndarray, upper: np.ndarray, axis: int | tuple[int, ...] | None = None):
    """Mean width of the intervals (infinite if any is)."""
    return np.mean(upper - lower, axis=axis)


def interval_score(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: float,
                   axis: int | tuple[int, ...] | None = None):
    """Gneiting and Raftery's interval score, averaged: ``(u - l) + 2/(1-q) (l - y) [y < l]
    + 2/(1-q) (y - u) [y > u]`` for level `q` (missing actuals left out). Lower is better.

    Examples
    --------
    >>> y = np.array([0.0, 5.0]); lo = np.array([-1.0, -1.0]); hi = np.array([1.0, 1.0])
    >>> round(float(interval_score(y, lo, hi, 0.8)), 9)  # widths 2 and 2; the second misses by 4: 2 + 10 * 4
    22.0
    """
    alpha = 1.0 - _checked_level(level)
    below = np.clip(lower - actual, 0.0, None)
    above = np.clip(actual - upper, 0.0, None)
    score = (upper - lower) + (2.0 / alpha) * (below + above)
    return np.nanmean(np.where(np.isnan(actual), np.nan, score), axis=axis)


MEASURES = ("coverage", "width", "interval_score")  # what :func:`scores` gives per level, in this order
NONE_KEPT = ("this model has no prediction intervals (saved before they were added); "
             "re-run `dvc repro` to calibrate them")  # what forecast and evaluate say of such a model


def level_name(level: float) -> str:
    """How a level is named in metric keys and columns: '80' for 0.8, '97.5' for 0.975."""
    return f"{100 * float(level):g}"


def calibration_batches(step: int, count: int) -> list[int]:
    """The batches whose validation tails calibrate the model after `step` (0: the base model):
    the newest `count` of batches 0..step."""
    return list(range(max(0, step - count + 1), step + 1))


def scores(actual: np.ndarray, forecast: np.ndarray, widths: dict[float, np.ndarray],
           by_step: bool = False) -> dict[str, dict]:
    """Coverage, mean width and interval score of forecasts (n, horizon, targets) with
    half-widths per level, pooled over windows, steps and targets, keyed by :func:`level_name`;
    with `by_step`, also per horizon step (`coverage_by_step`, ...). NaN without windows.

    Examples
    --------
    >>> y = np.zeros((2, 1, 1)); f = np.array([0.5, 3.0]).reshape(2, 1, 1)
    >>> scores(y, f, {0.8: np.ones((1, 1))})["80"]["coverage"]  # errors 0.5 (inside) and 3 (outside)
    0.5
    """
    out: dict[str, dict] = {}
    for level, half in widths.items():
        if actual.shape[0] == 0:
            out[level_name(level)] = {m: float("nan") for m in MEASURES}
            continue
        lower, upper = bounds(forecast.astype(np.float64), half)
        values = {"coverage": coverage(actual, lower, upper), "width": width(lower, upper),
                  "interval_score": interval_score(actual, lower, upper, level)}
        entry = {m: float(values[m]) for m in MEASURES}
        if by_step:
            entry |= {f"{m}_by_step": [float(v) for v in fn(axis=(0, 2))] for m, fn in (
                ("coverage", lambda axis: coverage(actual, lower, upper, axis)),
                ("width", lambda axis: width(lower, upper, axis)),
                ("interval_score", lambda axis: interval_score(actual, lower, upper, level, axis)))}
        out[level_name(level)] = entry
    return out


def to_record(widths: dict[float, np.ndarray], targets: Sequence[str], windows: int, batches: Sequence[str],
              scales: dict[str, list[float]] | None = None) -> dict:
    """Half-widths as kept in a model's sidecar (infinite ones as null: too few windows):
    ``{"levels": [...], "calibration_windows": n, "calibrated_on": [batch names],
    "half_widths": {"80": {target: [per horizon step]}}}``. With several series the half-widths
    are in units of each series' scale, and `series_scales` ({series: [per target]}) holds them."""
    record = {"levels": [float(q) for q in widths], "calibration_windows": int(windows),
              "calibrated_on": [f"{name} (validation tail)" for name in batches],
              "half_widths": {level_name(q): {t: [None if not np.isfinite(v) else float(v) for v in half[:, j]]
                                              for j, t in enumerate(targets)} for q, half in widths.items()}}
    if scales:
        record["series_scales"] = scales
    return record


def from_record(record: dict | None, targets: Sequence[str]) -> dict[float, np.ndarray] | None:
    """The half-widths (horizon, targets) per level of a sidecar's `intervals` entry (None: the
    model has none, e.g. it was saved before intervals existed)."""
    if not record or "half_widths" not in record:
        return None
    out = {}
    for q in record["levels"]:
        per_target = record["half_widths"][level_name(q)]
        out[float(q)] = np.array([[np.inf if v is None else float(v) for v in per_target[t]] for t in targets]).T
    return out

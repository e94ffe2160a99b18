"""Naive forecasts on the same windows as the model, so their errors compare directly."""

from __future__ import annotations

import numpy as np

from lstm_utils.windows import Windows


def persistence(windows: Windows) -> np.ndarray:
    """The last observed value of each target, repeated over the horizon: (n, horizon, targets)."""
    x, _ = windows.arrays()
    last = x[:, -1, windows.target_idx]
    return np.repeat(last[:, None, :], windows.horizon, axis=1)


def seasonal_naive(windows: Windows, season: int) -> np.ndarray:
    """The value one season earlier (the most recent one observed) for each horizon step.

    Step h (0-based) repeats the row `season * (h // season + 1)` steps before its target
    time, which always lies inside the window when lookback >= season.
    """
    if windows.lookback < season:
        raise ValueError(f"`window.lookback` ({windows.lookback}) must be >= `baselines.season` ({season})")
    x, _ = windows.arrays()
    h = np.arange(windows.horizon)
    pos = windows.lookback + h - season * (h // season + 1)
    return x[:, pos][:, :, windows.target_idx]


def naive_forecasts(windows: Windows, season: int) -> dict[str, np.ndarray]:
    """Both naive forecasts of `windows`, keyed by the names used in every table."""
    return {"persistence": persistence(windows), "seasonal_naive": seasonal_naive(windows, season)}

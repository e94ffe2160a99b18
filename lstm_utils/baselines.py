"""What a user could use instead of an LSTM, on the same windows as the model, so their errors
compare directly: persistence and seasonal naive (fixed rules), and the linear baseline (a ridge
regression refit at every step) over the chain of batches.

Each forecaster answers ``predict(windows)`` in the data's units, as every forecaster does
(:mod:`lstm_utils.evaluation`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lstm_utils import intervals
from lstm_utils.evaluation import Forecaster, WindowLosses, calibrate, cell
from lstm_utils.linear import BatchSums
from lstm_utils.settings import Params
from lstm_utils.windows import Windows, calibration_windows, deployed_windows, tail_windows

if TYPE_CHECKING:
    from lstm_utils._keras import keras


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


@dataclass(frozen=True)
class Persistence:
    """The last observed value, held over the horizon."""

    def predict(self, windows: Windows) -> np.ndarray:
        return persistence(windows)


@dataclass(frozen=True)
class SeasonalNaive:
    """The value one season (`season` steps) earlier."""

    season: int

    def predict(self, windows: Windows) -> np.ndarray:
        return seasonal_naive(windows, self.season)


def naive(season: int) -> dict[str, Forecaster]:
    """Both naive forecasters, keyed by the names used in every table."""
    return {"persistence": Persistence(), "seasonal_naive": SeasonalNaive(season)}


def every_baseline(season: int, linear: Forecaster | None = None, trees: Forecaster | None = None
                   ) -> dict[str, Forecaster]:
    """The baselines, keyed by the names used in every table: both naive ones and, given a fitted
    ridge (:class:`lstm_utils.linear.Ridge`), the linear one; given fitted trees
    (:class:`lstm_utils.trees.Trees`), the gradient-boosted one."""
    return naive(season) | ({"linear": linear} if linear is not None else {}) | (
        {"trees": trees} if trees is not None else {})


def refit_chain(frame: pd.DataFrame, params: Params, fit: Callable[[int], Forecaster]) -> dict:
    """A baseline refit at every step over the chain of batches, recorded like a strategy: row t of
    its error matrices is `fit(t)` (fitted on batches 0..t), scored on every batch's test tail (mean
    over targets, in the data's units), with its intervals calibrated at every step as a strategy's
    are (`intervals`, like rmse); `deployed` holds, for each batch t >= 1, the losses on its
    deployed windows of the fit up to t - 1 (:func:`lstm_utils.windows.deployed_windows`);
    `fits`: each step's forecaster."""
    n = int(frame["batch"].max()) + 1
    tests = tail_windows(frame, params, n)
    levels = list(params.intervals.levels)
    names = [intervals.level_name(q) for q in levels]
    rmse, mae = np.full((n, n), np.nan), np.full((n, n), np.nan)
    cover = {level: {m: np.full((n, n), np.nan) for m in intervals.MEASURES} for level in names}
    deployed, fits = [], []
    for t in range(n):
        forecaster = fit(t)
        fits.append(forecaster)
        calibration = calibration_windows(frame, params, t)
        widths = calibrate(calibration, forecaster.predict(calibration), levels)
        for k, windows in enumerate(tests):
            if len(windows):
                values = cell(windows, forecaster.predict(windows), params.data.targets, widths)
                rmse[t, k], mae[t, k] = values[:2]
                for j, (level, m) in enumerate((level, m) for level in names for m in intervals.MEASURES):
                    cover[level][m][t, k] = values[2 + j]
        if t + 1 < n:  # as fitted so far, deployed on the next batch
            ahead = deployed_windows(frame, params, t + 1)
            deployed.append(WindowLosses.of(ahead, forecaster.predict(ahead), widths))
    return {"rmse": rmse, "mae": mae, "intervals": cover, "deployed": deployed, "fits": fits}


def linear_chain(frame: pd.DataFrame, params: Params) -> dict:
    """The `linear` baseline over the chain of batches (:func:`refit_chain`): at step t the ridge
    refit on batches 0..t (:meth:`lstm_utils.linear.BatchSums.fit`: design and penalty chosen on
    their validation tails; `designs` and `penalties` per step)."""
    sums = BatchSums(frame, params)
    out = refit_chain(frame, params, lambda t: sums.fit(range(t + 1)))
    fits = out.pop("fits")
    return {"rmse": out["rmse"], "mae": out["mae"], "penalties": [r.penalty for r in fits],
            "designs": [r.design for r in fits], "intervals": out["intervals"], "deployed": out["deployed"]}


def naive_deployed(frame: pd.DataFrame, params: Params) -> dict[str, list[WindowLosses]]:
    """Persistence's and seasonal naive's losses on every later batch's deployed windows, their
    intervals calibrated as the deployed model's were (on the calibration windows of the step
    before the batch)."""
    n = int(frame["batch"].max()) + 1
    out: dict[str, list[WindowLosses]] = {name: [] for name in naive(params.baselines.season)}
    for t in range(1, n):
        windows, calibration = deployed_windows(frame, params, t), calibration_windows(frame, params, t - 1)
        for name, forecaster in naive(params.baselines.season).items():
            widths = calibrate(calibration, forecaster.predict(calibration), params.intervals.levels)
            out[name].append(WindowLosses.of(windows, forecaster.predict(windows), widths))
    return out


NAMES = {"linear": "the ridge", "persistence": "persistence", "seasonal_naive": "seasonal naive",
         "trees": "the trees (LightGBM)"}  # in words
BASELINES = ("linear", "persistence", "seasonal_naive")  # the baselines that can be champion (compare.candidates)


def as_model(name: str, frame: pd.DataFrame, params: Params, ridge: Forecaster | None = None) -> keras.Model:
    """Baseline `name` as a Keras forecaster of built-in layers only, so its `.keras` file loads in
    safe mode and `forecast` and `evaluate` take it as any model: raw windows in, forecasts in the
    data's units out.

    - `persistence`, `seasonal_naive`: the window's own rows (the anchors of
      :func:`lstm_utils.model.anchor`), nothing fitted;
    - `linear`: the forecaster with a linear path and the LSTM's share at 0, the path set to the
      ridge fitted on every batch (the linear baseline's last refit), its bounds (`model.clip`)
      the range of every batch: the ridge's forecasts, in float32. `ridge`: that fit, when the
      caller has it (:func:`final`), else fitted here.
    """
    from dataclasses import replace

    from lstm_utils._keras import keras
    from lstm_utils.model import anchor, set_bounds, set_linear, set_share

    lookback, horizon, season = params.window.lookback, params.window.horizon, params.baselines.season
    target_idx = np.array([list(params.data.inputs).index(t) for t in params.data.targets])
    if name in ("persistence", "seasonal_naive"):
        window = keras.Input((lookback, len(params.data.inputs)), name="window")
        last_step = keras.layers.Cropping1D((lookback - 1, 0), name="last_step")(window)
        kind = "last" if name == "persistence" else "season"
        return keras.Model(window, anchor(window, last_step, kind, lookback, horizon, target_idx, season), name=name)
    if name != "linear":
        raise ValueError(f"no baseline named {name!r}; the baselines are {', '.join(BASELINES)}")
    from lstm_utils.from_scratch import new_forecaster

    batches = list(range(int(frame["batch"].max()) + 1))
    shaped = replace(params, model=replace(params.model, linear=True, share="fitted", gate="none"))
    model = new_forecaster(frame, shaped, name=name)
    ridge = ridge if ridge is not None else final(name, frame, params)
    set_linear(model, ridge.w, ridge.b)
    set_share(model, np.zeros(len(target_idx)))
    if params.model.clip is not None:
        set_bounds(model, frame, params.data.inputs, lookback, batches, params.model.clip)
    return model


def final(name: str, frame: pd.DataFrame, params: Params) -> Forecaster:
    """Baseline `name` as it stands after the last batch (the linear one refit on every batch)."""
    n = int(frame["batch"].max()) + 1
    return every_baseline(params.baselines.season, BatchSums(frame, params).fit(range(n)) if name == "linear"
                          else None)[name]

"""The linear part: a ridge regression on the window, seen exactly as the model sees it (each
input minus its last value, scaled), fitted in closed form.

It is both a baseline (`linear`, beside persistence and seasonal naive: what a user could fit
instead; :func:`lstm_utils.baselines.linear_chain`) and the start of every forecaster: the model's linear path is set to it before any
gradient step, and the LSTM learns only what it misses.

The fit keeps only normal-equation sums (:class:`Sums`: X'X, X'Y and the like), which add up
batch by batch, so a fit on all history costs the new batch's windows alone, and the penalty is
chosen among `baselines.linear_penalties` by the error on validation windows, from their sums too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lstm_utils.config import Params
from lstm_utils.windows import Windows, split_windows, spread

CHUNK = 4096  # windows cut into arrays at a time


@dataclass(frozen=True)
class Design:
    """How a window becomes the linear part's inputs and targets: the model's own view of it.

    Inputs: each input minus its last value in the window (`model.relative_inputs`; else minus
    its mean), divided by its std, flattened step by step. Targets: what the model's output
    layers produce, (target - anchor) / target std, where the anchor is the value one season
    earlier (`model.residual: season`), the last value (`last`) or the target's mean (`none`).
    With `model.scaling: window` (`window`), the std is each window's own spread per input,
    and without relative inputs the mean is the window's own.
    """

    lookback: int
    horizon: int
    mean: np.ndarray  # per input (the base period's train tail)
    std: np.ndarray
    target_idx: np.ndarray
    relative: bool
    residual: str
    season: int
    window: bool = False  # each window scaled by its own spread

    @classmethod
    def of(cls, frame: pd.DataFrame, params: Params) -> Design:
        from lstm_utils.from_scratch import base_scaler

        scaler = base_scaler(frame, params.data.inputs)
        inputs = list(params.data.inputs)
        return cls(params.window.lookback, params.window.horizon, scaler.mean, scaler.std,
                   np.array([inputs.index(t) for t in params.data.targets]), params.model.relative_inputs,
                   params.model.residual, params.baselines.season, params.model.scaling == "window")

    @classmethod
    def from_model(cls, model, sidecar: dict) -> Design:
        """The design a saved forecaster was built with, read from its layers and sidecar (for
        data whose base period is not at hand, as in the `evaluate` command)."""
        from lstm_utils.model import input_scaling

        params = sidecar["params"]
        inputs, targets = list(sidecar["inputs"]), list(sidecar["targets"])
        mean, std, target_mean = input_scaling(model)
        target_idx = np.array([inputs.index(t) for t in targets])
        if params["model"]["residual"] == "none":
            mean = mean.copy()
            mean[target_idx] = target_mean
        return cls(int(sidecar["window"]["lookback"]), int(sidecar["window"]["horizon"]), mean, std, target_idx,
                   bool(params["model"]["relative_inputs"]), str(params["model"]["residual"]),
                   int(params["baselines"]["season"]), params["model"].get("scaling", "global") == "window")

    def target_scale(self, x: np.ndarray) -> np.ndarray:
        """What a scaled change is multiplied by to give units: each target's std, (targets,),
        or with window scaling each window's target spread, (n, 1, targets)."""
        if self.window:
            return spread(x[:, :, self.target_idx])
        return self.std[self.target_idx]

    def inputs(self, x: np.ndarray) -> np.ndarray:
        """(n, lookback, inputs) raw windows -> (n, lookback * inputs) as the model's linear path sees them."""
        x = x.astype(np.float64)
        if self.window:
            level = x[:, -1:, :] if self.relative else x.mean(axis=1, keepdims=True)
            return ((x - level) / spread(x)).reshape(len(x), -1)
        centred = x - x[:, -1:, :] if self.relative else x - self.mean
        return (centred / self.std).reshape(len(x), -1)

    def anchor(self, x: np.ndarray) -> np.ndarray:
        """What the model adds its output to, (n, horizon, targets), in the data's units."""
        x = x.astype(np.float64)
        if self.residual == "season":
            h = np.arange(self.horizon)
            return x[:, self.lookback - self.season + h % self.season][:, :, self.target_idx]
        if self.residual == "last":
            return np.repeat(x[:, -1:, self.target_idx], self.horizon, axis=1)
        return np.broadcast_to(self.mean[self.target_idx], (len(x), self.horizon, len(self.target_idx)))

    def targets(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """(n, horizon * targets): the scaled change from the anchor, in the model's output order."""
        return ((y.astype(np.float64) - self.anchor(x)) / self.target_scale(x)).reshape(len(x), -1)

    def forecast(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Scaled changes (n, horizon * targets) back to forecasts in the data's units."""
        z = z.reshape(len(x), self.horizon, len(self.target_idx))
        return self.anchor(x) + z * self.target_scale(x)


@dataclass
class Sums:
    """Normal-equation sums of some windows: count, sums, cross-products."""

    n: int
    sx: np.ndarray
    sy: np.ndarray
    xx: np.ndarray
    xy: np.ndarray
    yy: float

    @classmethod
    def zero(cls, d: int, m: int) -> Sums:
        return cls(0, np.zeros(d), np.zeros(m), np.zeros((d, d)), np.zeros((d, m)), 0.0)

    @classmethod
    def of(cls, design: Design, windows: Windows, targets: np.ndarray | None = None) -> Sums:
        """The sums of some windows (their true targets, or `targets` in the data's units)."""
        d = design.lookback * len(design.std)
        m = design.horizon * len(design.target_idx)
        out = cls.zero(d, m)
        for i in range(0, len(windows), CHUNK):
            x, y = windows.arrays(slice(i, i + CHUNK))
            if targets is not None:
                y = targets[i:i + CHUNK]
            a, b = design.inputs(x), design.targets(x, y)
            out = out + cls(len(a), a.sum(0), b.sum(0), a.T @ a, a.T @ b, float((b * b).sum()))
        return out

    def __add__(self, other: Sums) -> Sums:
        return Sums(self.n + other.n, self.sx + other.sx, self.sy + other.sy, self.xx + other.xx,
                    self.xy + other.xy, self.yy + other.yy)


@dataclass(frozen=True)
class Ridge:
    """A fitted linear part: z = x @ w + b (scaled changes), the penalty it was fitted with, and
    the design it was fitted in (needed to forecast from raw windows)."""

    w: np.ndarray  # (d, m)
    b: np.ndarray  # (m,)
    penalty: float
    design: Design | None = None

    @classmethod
    def solve(cls, s: Sums, penalty: float, design: Design | None = None) -> Ridge:
        """Least squares with an intercept, `penalty` * ||w||^2 added (the intercept is free)."""
        xm, ym = s.sx / s.n, s.sy / s.n
        a = s.xx - s.n * np.outer(xm, xm) + penalty * np.eye(len(xm))
        w = np.linalg.solve(a, s.xy - s.n * np.outer(xm, ym))
        return cls(w, ym - xm @ w, penalty, design)

    def sse(self, s: Sums) -> float:
        """Sum of squared errors on windows known only by their sums."""
        w, b = self.w, self.b
        return float(s.yy - 2 * np.sum(w * s.xy) - 2 * b @ s.sy + np.sum(w * (s.xx @ w))
                     + 2 * b @ (w.T @ s.sx) + s.n * b @ b)

    def predict(self, windows: Windows) -> np.ndarray:
        """Forecasts (n, horizon, targets) in the data's units."""
        design = self.design
        parts = []
        for i in range(0, len(windows), CHUNK):
            x, _ = windows.arrays(slice(i, i + CHUNK))
            parts.append(design.forecast(x, design.inputs(x) @ self.w + self.b))
        if not parts:
            return np.zeros((0, design.horizon, len(design.target_idx)))
        return np.concatenate(parts)


def fit(train: Sums, val: Sums, penalties: Sequence[float], design: Design | None = None) -> Ridge:
    """The ridge fit on `train` whose penalty gives the lowest error on `val` (the smallest such
    penalty on a tie; with no validation windows, the largest penalty)."""
    fits = [Ridge.solve(train, p, design) for p in sorted(penalties)]
    if val.n == 0:
        return fits[-1]
    return min(fits, key=lambda r: r.sse(val))


class BatchSums:
    """The sums of each batch's train and val windows, computed once per batch and reused, so
    that a fit on batches 0..t after one on 0..t-1 costs the new batch's windows alone."""

    def __init__(self, frame: pd.DataFrame, params: Params, design: Design | None = None):
        self.frame, self.params = frame, params
        self.design = design or Design.of(frame, params)
        self._kept: dict[tuple[str, int], Sums] = {}

    def of(self, split: str, batches: Iterable[int]) -> Sums:
        """The sums of one split's windows over some batches."""
        d = self.design.lookback * len(self.design.std)
        out = Sums.zero(d, self.design.horizon * len(self.design.target_idx))
        for k in batches:
            if (split, k) not in self._kept:
                self._kept[split, k] = Sums.of(self.design, split_windows(self.frame, self.params, split, [k]))
            out = out + self._kept[split, k]
        return out

    def fit(self, batches: Sequence[int]) -> Ridge:
        """The ridge fit on these batches' training windows, its penalty chosen on their validation tails."""
        return fit(self.of("train", batches), self.of("val", batches), self.params.baselines.linear_penalties,
                   self.design)


"""The linear part: a ridge regression on the window, fitted in closed form, in one of a small
family of designs a user would try (:data:`DESIGNS`):

- `relative`: each input minus its last value in the window, scaled (level-free: carries over to
  periods with other levels);
- `absolute`: each input's level, standardized by the base period;
- `both`: the two side by side.

It is both a baseline (`linear`, beside persistence and seasonal naive: what a user could fit
instead; :func:`lstm_utils.baselines.linear_chain`) and the start of every forecaster: the
model's linear path sees both blocks, is set to the chosen design's fit (the other block's
weights zero) before any gradient step, and the LSTM learns only what it misses.

The fit keeps only normal-equation sums (:class:`Sums`: X'X, X'Y and the like) of the widest
design, which add up batch by batch (a fit on all history costs the new batch's windows alone)
and hold every narrower design's sums as a block. The design and the penalty are chosen together,
among `baselines.linear_designs` and `baselines.linear_penalties`, by the error on validation
windows, from their sums too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lstm_utils.calendar import known_ahead
from lstm_utils.constants import DESIGNS  # the linear family, narrowest first
from lstm_utils.intervals import calibration_batches
from lstm_utils.settings import Params
from lstm_utils.windows import Windows, deployed_windows, split_windows, spread

CHUNK = 4096  # windows cut into arrays at a time


@dataclass(frozen=True)
class View:
    """How a window becomes the linear part's inputs and targets: the model's linear path's view of it.

    Inputs, two blocks side by side, each flattened step by step: each input minus its last value
    in the window, divided by its std (`relative`), then each input minus its mean, divided by its
    std (`absolute`; the base period's statistics). An input known ahead (`known`: the calendar)
    is never relative: in the relative block too it is minus its mean, divided by its std (with
    window scaling: as it is, one scale for every series). With `model.scaling: window` (`window`) there
    is one block only: each input minus its last value (or, without `model.relative_inputs`, its
    window mean) divided by the window's own spread, since levels are not comparable across the
    series such a model pools. Targets: what the model's output layers produce, (target - anchor)
    / target std, where the anchor is the value one season earlier (`model.residual: season`),
    the last value (`last`) or the target's mean (`none`).
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
    known: np.ndarray | None = None  # per input, known ahead (kept as it is); None: none

    @classmethod
    def of(cls, frame: pd.DataFrame, params: Params) -> View:
        from lstm_utils.model import base_scaler

        scaler = base_scaler(frame, params.data.inputs)
        inputs = list(params.data.inputs)
        return cls(params.window.lookback, params.window.horizon, scaler.mean, scaler.std,
                   np.array([inputs.index(t) for t in params.data.targets]), params.model.relative_inputs,
                   params.model.residual, params.baselines.season, params.model.scaling == "window",
                   known_ahead(inputs))

    @classmethod
    def from_model(cls, model, sidecar: dict) -> View:
        """The view a saved forecaster was built with, read from its layers and sidecar (for
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
                   int(params["baselines"]["season"]), params["model"].get("scaling", "global") == "window",
                   known_ahead(inputs))

    @property
    def width(self) -> int:
        """Inputs per block: lookback x inputs."""
        return self.lookback * len(self.std)

    @property
    def features(self) -> int:
        """Columns of :meth:`inputs`: one block per input view."""
        return self.width * (1 if self.window else 2)

    @property
    def designs(self) -> tuple[str, ...]:
        """The family's members this view can fit: all of :data:`DESIGNS`, or with window
        scaling `relative` alone."""
        return DESIGNS[:1] if self.window else DESIGNS

    def columns(self, design: str) -> np.ndarray:
        """Which of :meth:`inputs`'s columns a member of the family sees."""
        if design not in self.designs:
            raise ValueError(f"linear design {design!r} is not one of {self.designs}"
                             + (" (with `model.scaling: window` only relative)" if self.window else ""))
        start = {"relative": 0, "absolute": self.width, "both": 0}[design]
        return np.arange(start, start + (2 * self.width if design == "both" else self.width))

    def target_scale(self, x: np.ndarray) -> np.ndarray:
        """What a scaled change is multiplied by to give units: each target's std, (targets,),
        or with window scaling each window's target spread, (n, 1, targets)."""
        if self.window:
            return spread(x[:, :, self.target_idx])
        return self.std[self.target_idx]

    def inputs(self, x: np.ndarray) -> np.ndarray:
        """(n, lookback, inputs) raw windows -> (n, blocks * lookback * inputs) as the model's
        linear path sees them: the relative block, then the absolute one (global scaling)."""
        x = x.astype(np.float64)
        measured = 1.0 if self.known is None else (~self.known).astype(np.float64)
        if self.window:
            level = x[:, -1:, :] if self.relative else x.mean(axis=1, keepdims=True)
            spreads = spread(x) if self.known is None else np.where(self.known, 1.0, spread(x))
            return ((x - level * measured) / spreads).reshape(len(x), -1)
        held = x[:, -1:, :] * measured + (0.0 if self.known is None else self.mean * self.known)
        return np.concatenate([((x - held) / self.std).reshape(len(x), -1),
                               ((x - self.mean) / self.std).reshape(len(x), -1)], axis=1)

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
    def of(cls, view: View, windows: Windows, targets: np.ndarray | None = None) -> Sums:
        """The sums of some windows (their true targets, or `targets` in the data's units)."""
        d = view.features
        m = view.horizon * len(view.target_idx)
        out = cls.zero(d, m)
        for i in range(0, len(windows), CHUNK):
            x, y = windows.arrays(slice(i, i + CHUNK))
            if targets is not None:
                y = targets[i:i + CHUNK]
            a, b = view.inputs(x), view.targets(x, y)
            out = out + cls(len(a), a.sum(0), b.sum(0), a.T @ a, a.T @ b, float((b * b).sum()))
        return out

    def take(self, columns: np.ndarray) -> Sums:
        """The sums of a narrower design: only these input columns."""
        return Sums(self.n, self.sx[columns], self.sy, self.xx[np.ix_(columns, columns)], self.xy[columns], self.yy)

    def __add__(self, other: Sums) -> Sums:
        return Sums(self.n + other.n, self.sx + other.sx, self.sy + other.sy, self.xx + other.xx,
                    self.xy + other.xy, self.yy + other.yy)

    def __sub__(self, other: Sums) -> Sums:
        """The sums of these windows without `other`'s (which must be among them)."""
        return Sums(self.n - other.n, self.sx - other.sx, self.sy - other.sy, self.xx - other.xx,
                    self.xy - other.xy, self.yy - other.yy)


@dataclass(frozen=True)
class Ridge:
    """A fitted linear part: z = x @ w + b (scaled changes) over every column of the view (zeros
    outside its design's), the design and penalty it was fitted with, and the view (needed to
    forecast from raw windows)."""

    w: np.ndarray  # (d, m)
    b: np.ndarray  # (m,)
    penalty: float
    view: View | None = None
    design: str = "relative"

    @classmethod
    def solve(cls, s: Sums, penalty: float, view: View | None = None, design: str | None = None) -> Ridge:
        """Least squares with an intercept, `penalty` * ||w||^2 added (the intercept is free), on
        the columns of `design` (default: every column, as `both`, or `relative` alone with
        window scaling)."""
        columns = np.arange(len(s.sx)) if view is None or design is None else view.columns(design)
        sub = s.take(columns)
        xm, ym = sub.sx / sub.n, sub.sy / sub.n
        a = sub.xx - sub.n * np.outer(xm, xm) + penalty * np.eye(len(xm))
        w = np.zeros((len(s.sx), len(ym)))
        w[columns] = np.linalg.solve(a, sub.xy - sub.n * np.outer(xm, ym))
        if design is None:
            design = "relative" if view is None or view.window else "both"
        return cls(w, ym - xm @ w[columns], penalty, view, design)

    def sse(self, s: Sums) -> float:
        """Sum of squared errors on windows known only by their sums."""
        w, b = self.w, self.b
        return float(s.yy - 2 * np.sum(w * s.xy) - 2 * b @ s.sy + np.sum(w * (s.xx @ w))
                     + 2 * b @ (w.T @ s.sx) + s.n * b @ b)

    def predict(self, windows: Windows) -> np.ndarray:
        """Forecasts (n, horizon, targets) in the data's units."""
        view = self.view
        parts = []
        for i in range(0, len(windows), CHUNK):
            x, _ = windows.arrays(slice(i, i + CHUNK))
            parts.append(view.forecast(x, view.inputs(x) @ self.w + self.b))
        if not parts:
            return np.zeros((0, view.horizon, len(view.target_idx)))
        return np.concatenate(parts)

    def refit(self, s: Sums) -> Ridge:
        """The same design and penalty, fitted on other windows."""
        return Ridge.solve(s, self.penalty, self.view, self.design)


def fit(train: Sums, val: Sums, penalties: Sequence[float], view: View | None = None,
        designs: Sequence[str] | None = None) -> Ridge:
    """The ridge fit on `train` whose design and penalty give the lowest error on `val` (on a tie,
    the design named first, then the smallest penalty; with no validation windows, the first
    design at the largest penalty). `designs` defaults to every one `view` can fit."""
    names = list(designs or (view.designs if view is not None else [None]))
    if view is not None:
        names = [d for d in names if d in view.designs] or [view.designs[0]]
    fits = [Ridge.solve(train, p, view, d) for d in names for p in sorted(penalties)]
    if val.n == 0:
        return fits[len(penalties) - 1]
    return min(fits, key=lambda r: r.sse(val))


class BatchSums:
    """The sums of each batch's windows (per split, and every window whose targets lie in it),
    computed once per batch and reused, so that a fit on batches 0..t after one on 0..t-1 costs
    the new batch's windows alone."""

    def __init__(self, frame: pd.DataFrame, params: Params, view: View | None = None):
        self.frame, self.params = frame, params
        self.view = view or View.of(frame, params)
        self._kept: dict[tuple[str, int], Sums] = {}
        self._fits: dict[tuple[tuple[int, ...], str], Ridge] = {}

    def of(self, split: str, batches: Iterable[int]) -> Sums:
        """The sums of one split's windows over some batches; split `all`: every window whose
        targets lie in the batch, the tails and the windows across their boundaries included."""
        out = Sums.zero(self.view.features, self.view.horizon * len(self.view.target_idx))
        for k in batches:
            if (split, k) not in self._kept:
                windows = (deployed_windows(self.frame, self.params, k) if split == "all"
                           else split_windows(self.frame, self.params, split, [k]))
                self._kept[split, k] = Sums.of(self.view, windows)
            out = out + self._kept[split, k]
        return out

    def fit(self, batches: Sequence[int], learn: str | None = None) -> Ridge:
        """The ridge on these batches: its design and penalty chosen by fitting their training
        windows and scoring their validation tails; then, with `learn: all` (default
        `baselines.linear_learns`), fitted again on every window of the batches but the
        validation tails that calibrate the intervals after this step (the newest
        `intervals.calibration_batches`), which stay out of sample. A model trains beside the
        `train` fit, so that the validation tail that stops it stays out of sample too, and keeps
        the default one (:func:`lstm_utils.from_scratch.beside_linear`)."""
        b = self.params.baselines
        learn = learn or b.linear_learns
        key = (tuple(batches), learn)
        if key not in self._fits:
            if learn == "all":
                calibrating = [k for k in calibration_batches(max(batches), self.params.intervals.calibration_batches)
                               if k in batches]
                learned = self.of("all", batches) - self.of("val", calibrating)
                self._fits[key] = self.fit(batches, "train").refit(learned)
            else:
                self._fits[key] = fit(self.of("train", batches), self.of("val", batches), b.linear_penalties,
                                      self.view, b.linear_designs)
        return self._fits[key]

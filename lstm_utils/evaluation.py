"""The one evaluator: forecasts scored against the actuals of their windows.

Every figure the project reports is made here, from a forecaster's forecasts of some windows
(anything that answers ``predict(windows)`` in the data's units:
:class:`lstm_utils.model.KerasForecaster`, a fitted :class:`lstm_utils.linear.Ridge`,
:class:`lstm_utils.baselines.Persistence`, :class:`lstm_utils.baselines.SeasonalNaive`):

- :func:`assess`: errors pooled over the windows, per target (and per horizon step), with the
  intervals' coverage, width and score per level when half-widths are given (:func:`calibrate`
  makes them from forecasts of calibration windows);
- :func:`cell`: the same as one cell of an error matrix (mean over targets), as the step state
  keeps it;
- :class:`WindowLosses`: each window's own loss, the evidence the confidence set and the
  champion rule weigh (:mod:`lstm_utils.decide`), and :func:`pooled` over several batches.

With several series every error is divided by its series' scale first
(:meth:`lstm_utils.windows.Windows.scaled`), so pooled figures have no units and one large
series cannot outweigh the rest; intervals are scored on the same scaled values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from lstm_utils import intervals
from lstm_utils.metrics import errors, mean_over_targets
from lstm_utils.windows import Windows


class Forecaster(Protocol):
    """What every forecaster answers: forecasts (n, horizon, targets) in the data's units."""

    def predict(self, windows: Windows) -> np.ndarray: ...


def assess(windows: Windows, pred: np.ndarray, targets: Sequence[str],
           widths: dict[float, np.ndarray] | None = None, by_step: bool = False) -> dict:
    """Errors of forecasts `pred` of `windows` (:func:`lstm_utils.metrics.errors`: RMSE and MAE per
    target, overall and per horizon step, and the window count); given half-widths per level,
    also the intervals' coverage, width and score per level (`intervals`; per horizon step too
    with `by_step`)."""
    actual, pred = windows.scaled(windows.targets(), pred)  # several series: divided by each one's scale
    out = errors(actual, pred, targets)
    if widths is not None:
        out["intervals"] = intervals.scores(actual, pred, widths, by_step=by_step)
    return out


def calibrate(windows: Windows, pred: np.ndarray, levels: Sequence[float]) -> dict[float, np.ndarray]:
    """Conformal half-widths per level (:func:`lstm_utils.intervals.calibrate`) from forecasts `pred`
    of calibration `windows`, on the same scaled values errors are scored on."""
    return intervals.calibrate(*windows.scaled(windows.targets(), pred), levels)


def cell(windows: Windows, pred: np.ndarray, targets: Sequence[str],
         widths: dict[float, np.ndarray] | None = None) -> list[float]:
    """One error-matrix cell as the step state keeps it: RMSE and MAE (means over targets), then per
    level (in the order of `widths`) the intervals' coverage, width and score."""
    got = assess(windows, pred, targets, widths)
    values = [mean_over_targets(got["rmse"]), mean_over_targets(got["mae"])]
    return values + [v[m] for v in got.get("intervals", {}).values() for m in intervals.MEASURES]


@dataclass
class WindowLosses:
    """Each window's loss on some windows (one batch's deployed windows, say): its squared and
    absolute errors, each meaned over the horizon steps and targets; and the intervals'
    coverage, width and score per level, pooled over these windows.

    The mean of `sq` over windows is the MSE, so a forecaster's RMSE on any set of windows is
    the root of the mean of their `sq`, and the confidence set, which compares mean losses,
    orders forecasters as their RMSE does."""

    sq: np.ndarray  # (n,) float64
    ae: np.ndarray  # (n,) float64
    intervals: dict[str, dict[str, float]] = field(default_factory=dict)  # level name -> measure -> value
    # several series: each window's forecast origin (its first target's time, seconds since 1970 UTC),
    # which the confidence set pools by (:func:`lstm_utils.decide.confidence_set`); None: one series
    origins: np.ndarray | None = None
    # several targets: each target's squared and absolute error meaned over these windows and the
    # horizon, (targets,) each, for the figures per target; None: one target (`sq` is its own)
    targets_sq: np.ndarray | None = None
    targets_ae: np.ndarray | None = None

    @classmethod
    def of(cls, windows: Windows, pred: np.ndarray, widths: dict[float, np.ndarray] | None = None) -> WindowLosses:
        """The losses of forecasts `pred` of `windows`, with their intervals scored given half-widths."""
        actual, pred = windows.scaled(windows.targets(), pred)
        diff = pred.astype(np.float64) - actual.astype(np.float64)
        scored = intervals.scores(actual, pred, widths) if widths is not None and len(diff) else {}
        origins = None if windows.names is None else windows.index[windows.starts].as_unit("s").asi8.astype(np.int64)
        per_target = {}
        if diff.shape[2] > 1:  # several targets: each one's own figures beside the pooled ones (NaN: no window)
            none = np.full(diff.shape[2], np.nan)
            per_target = {"targets_sq": (diff ** 2).mean(axis=(0, 1)) if len(diff) else none,
                          "targets_ae": np.abs(diff).mean(axis=(0, 1)) if len(diff) else none}
        return cls((diff ** 2).mean(axis=(1, 2)), np.abs(diff).mean(axis=(1, 2)), scored, origins, **per_target)

    def __len__(self) -> int:
        return len(self.sq)

    def record(self) -> dict:
        """As kept in the step state and a strategy's record (JSON)."""
        out = {"windows": len(self), "sq": self.sq.tolist(), "ae": self.ae.tolist(), "intervals": self.intervals}
        if self.targets_sq is not None:
            out |= {"targets_sq": _listed(self.targets_sq), "targets_ae": _listed(self.targets_ae)}
        return out if self.origins is None else out | {"origins": self.origins.tolist()}

    @classmethod
    def from_record(cls, record: dict) -> WindowLosses:
        """Back from :meth:`record` (an infinite interval width was kept as null)."""
        kept = {level: {m: float("inf") if v is None else float(v) for m, v in measures.items()}
                for level, measures in (record.get("intervals") or {}).items()}
        origins = np.asarray(record["origins"], dtype=np.int64) if "origins" in record else None
        per_target = {k: np.array([np.nan if v is None else v for v in record[k]], dtype=np.float64)
                      for k in ("targets_sq", "targets_ae") if k in record}
        return cls(np.asarray(record["sq"], dtype=np.float64), np.asarray(record["ae"], dtype=np.float64), kept, origins,
                   **per_target)


def _listed(values: np.ndarray) -> list[float | None]:
    """Numbers for JSON, NaN (no window) as null."""
    return [None if np.isnan(v) else float(v) for v in values]


def pooled(cells: Sequence[WindowLosses], prefix: str = "deployed") -> dict:
    """Figures pooled over every window of `cells`: `<prefix>_rmse` (the root of the mean `sq`),
    `<prefix>_mae`, `<prefix>_windows`, and per level `<prefix>_coverage_<level>`, `_width_`,
    `_interval_score_` (each cell's value weighted by its windows: every window has as many
    values); with several targets, `<prefix>_rmse_by_target` and `<prefix>_mae_by_target` (a
    list in the targets' order, each in its target's units; several series: on each series' scale).
    None for figures of no window."""
    cells = [c for c in cells if len(c)]
    n = sum(len(c) for c in cells)
    if not n:
        return {f"{prefix}_rmse": None, f"{prefix}_mae": None, f"{prefix}_windows": 0}
    out = {f"{prefix}_rmse": float(np.sqrt(np.concatenate([c.sq for c in cells]).mean())),
           f"{prefix}_mae": float(np.concatenate([c.ae for c in cells]).mean()), f"{prefix}_windows": int(n)}
    for level in cells[0].intervals:
        for m in intervals.MEASURES:
            out[f"{prefix}_{m}_{level}"] = float(sum(len(c) * c.intervals[level][m] for c in cells) / n)
    if all(c.targets_sq is not None for c in cells):  # several targets: each one's figures, in its units
        out[f"{prefix}_rmse_by_target"] = np.sqrt(sum(len(c) * c.targets_sq for c in cells) / n).tolist()
        out[f"{prefix}_mae_by_target"] = (sum(len(c) * c.targets_ae for c in cells) / n).tolist()
    return out

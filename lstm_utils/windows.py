"""Windows (lookback -> horizon) built lazily from row indices.

A window is named by the row of its first target, `i`: inputs are rows [i - lookback, i),
targets rows [i, i + horizon). A :class:`Windows` holds only those start rows and the
series itself, so memory grows with rows, not rows x lookback; arrays are cut per batch.

Rules: every row a window touches has every input present (long gaps break windows) and
belongs to one series (when the frame holds several, one after another, in column `series`);
its targets lie inside one split of one batch; a training window's inputs are training
rows of its own batch too, so no value of a val or test tail ever reaches training. Val and
test windows may look back across a batch boundary (that history is known by then).

NumPy and pandas only: the data stage checks its batches with :func:`make_windows` without
starting TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lstm_utils.constants import BATCH, SCALE, SERIES, SPLIT, SPLITS, TRAIN

if TYPE_CHECKING:
    from lstm_utils.settings import Params


@dataclass
class Windows:
    """Start rows of windows over one series; `arrays` cuts them out on demand."""

    values: np.ndarray  # (rows, inputs) float32, NaN where missing
    starts: np.ndarray  # (n,) int64: row of each window's first target
    lookback: int
    horizon: int
    target_idx: np.ndarray  # positions of the targets among the inputs
    index: pd.DatetimeIndex  # time of each row
    scale: np.ndarray | None = None  # (rows, targets): each row's series scale (several series); None: one
    names: np.ndarray | None = None  # (rows,): each row's series name (several series)

    def __len__(self) -> int:
        return len(self.starts)

    @cached_property
    def _target_values(self) -> np.ndarray:
        """(rows, targets): the target columns, contiguous, so Y is one gather."""
        return np.ascontiguousarray(self.values[:, self.target_idx])

    def arrays(self, which: np.ndarray | slice | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(X, Y) for some windows: X (n, lookback, inputs), Y (n, horizon, targets)."""
        starts = self.starts if which is None else self.starts[which]
        # np.take along rows: several times faster than fancy indexing (training cuts every batch)
        x = np.take(self.values, starts[:, None] + np.arange(-self.lookback, 0), axis=0)
        return x, self.targets(which)

    def targets(self, which: np.ndarray | slice | None = None) -> np.ndarray:
        """Y alone, (n, horizon, targets): the actuals, without cutting the inputs (`lookback`
        times the size) that :meth:`arrays` cuts too."""
        starts = self.starts if which is None else self.starts[which]
        return np.take(self._target_values, starts[:, None] + np.arange(self.horizon), axis=0)

    def target_scale(self) -> np.ndarray | None:
        """(n, 1, targets): the scale of each window's series (its errors are divided by it to
        pool series of any units), or None for a single series (errors stay in units)."""
        if self.scale is None:
            return None
        return self.scale[self.starts][:, None, :]

    def scaled(self, *arrays: np.ndarray) -> list[np.ndarray]:
        """Actuals or forecasts (n, horizon, targets) of these windows divided by their series'
        scale (several series), or as they are (one series)."""
        scale = self.target_scale()
        return [a if scale is None else a / scale for a in arrays]

    def scale_table(self) -> dict[str, list[float]]:
        """Each series' scale per target, {series: [per target]} (several series); {} for one."""
        if self.scale is None or self.names is None:
            return {}
        names, first = np.unique(self.names, return_index=True)
        return {str(n): [float(v) for v in self.scale[i]] for n, i in zip(names, first)}

    def series(self) -> np.ndarray | None:
        """The series name of each window (several series), or None."""
        return None if self.names is None else self.names[self.starts]

    def target_times(self) -> pd.DatetimeIndex:
        """Time of each window's first target."""
        return self.index[self.starts]

    def concat(self, other: Windows) -> Windows:
        """The windows of both (over the same series), in this order."""
        if other.values.shape != self.values.shape or not other.index.equals(self.index):
            raise ValueError("windows over different series cannot be joined")
        return Windows(self.values, np.concatenate([self.starts, other.starts]),
                       self.lookback, self.horizon, self.target_idx, self.index, self.scale, self.names)

    def sample(self, n: int, seed: int) -> Windows:
        """At most `n` of these windows, drawn without replacement from `seed` (time order kept)."""
        if n >= len(self):
            return self
        pick = np.sort(np.random.default_rng(seed).choice(len(self), size=n, replace=False))
        return self.subset(pick)

    def subset(self, which: np.ndarray | slice) -> Windows:
        """The same series with some of the windows."""
        return Windows(self.values, self.starts[which], self.lookback, self.horizon, self.target_idx, self.index,
                       self.scale, self.names)


SPREAD_FLOOR = 1e-6  # the smallest spread a window is scaled by: a flat window is not blown up


def spread(x: np.ndarray, floor: float = SPREAD_FLOOR) -> np.ndarray:
    """Each column's standard deviation over a window's steps, (n, steps, columns) ->
    (n, 1, columns), float64, at least `floor`: what `model.scaling: window` divides a window by
    (:class:`lstm_utils.layers.WindowSpread` in the model)."""
    return np.maximum(x.astype(np.float64).std(axis=1, keepdims=True), floor)


def _all_true(mask: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """For each i: mask[lo[i]:hi[i]] is all True (ranges clipped to the array)."""
    cs = np.concatenate([[0], np.cumsum(mask, dtype=np.int64)])
    lo_c, hi_c = np.clip(lo, 0, len(mask)), np.clip(hi, 0, len(mask))
    return (cs[hi_c] - cs[lo_c] == hi - lo) & (lo >= 0) & (hi <= len(mask))


def make_windows(frame: pd.DataFrame, inputs: Sequence[str], targets: Sequence[str], lookback: int,
                 horizon: int, split: str | None = None, batches: Sequence[int] | None = None) -> Windows:
    """Every valid window whose targets lie in `split` of one of `batches`.

    Parameters
    ----------
    frame
        The input columns and, unless `split` is None, `batch` and `split` columns (see
        :mod:`lstm_utils.splits`).
    inputs, targets
        Input columns in the model's order, and the target columns (also inputs).
    lookback, horizon
        Steps in, steps out.
    split
        'train', 'val' or 'test'; None: every window of the series counts (as in `evaluate`),
        its targets crossing from one split into the next as they may.
    batches
        Which batches' windows (default: all): with `split`, or without it on a frame with a
        `batch` column, the windows whose targets all lie in one of these batches (their
        look-back may reach into earlier ones, as a deployed model's does).

    Examples
    --------
    >>> w = make_windows(frame, ["temp", "dewp"], ["temp"], 48, 24, "train", [0])  # doctest: +SKIP
    >>> x, y = w.arrays(slice(0, 32)); x.shape, y.shape
    ((32, 48, 2), (32, 24, 1))
    """
    # row-major: a window gathers rows (pandas gives column-major, which np.take copies whole every call)
    values = np.ascontiguousarray(frame[list(inputs)].to_numpy(dtype=np.float32))
    valid = ~np.isnan(values).any(axis=1)
    n = len(values)
    i = np.arange(n, dtype=np.int64)
    by_batch = split is not None or batches is not None
    if split is None:
        target_ok = valid if batches is None else valid & np.isin(frame[BATCH].to_numpy(), np.asarray(batches))
        input_ok = valid
    else:
        if split not in SPLITS:
            raise ValueError(f"`split` must be one of {SPLITS}, got {split!r}")
        code = SPLITS.index(split)
        batch = frame[BATCH].to_numpy()
        chosen = np.isin(batch, np.unique(batch) if batches is None else np.asarray(batches))
        target_ok = valid & chosen & (frame[SPLIT].to_numpy() == code)
        input_ok = target_ok if code == TRAIN else valid
    ok = _all_true(target_ok, i, i + horizon) & _all_true(input_ok, i - lookback, i)
    scale = names = None
    if SERIES in frame.columns:  # several series, one block each: a window's first and last rows in one
        names = frame[SERIES].to_numpy()
        codes = pd.factorize(names)[0]
        ok &= codes[np.clip(i - lookback, 0, n - 1)] == codes[np.clip(i + horizon - 1, 0, n - 1)]
        columns = [f"{SCALE}{t}" for t in targets]
        if all(c in frame.columns for c in columns):
            scale = frame[columns].to_numpy(dtype=np.float64)
    if by_batch:  # targets in one batch: first and last target row share it
        batch = frame[BATCH].to_numpy()
        last = np.clip(i + horizon - 1, 0, n - 1)
        ok &= batch == batch[last]
        if split == "train":  # inputs in the same batch as the targets
            ok &= batch[np.clip(i - lookback, 0, n - 1)] == batch
    target_idx = np.array([list(inputs).index(t) for t in targets], dtype=np.int64)
    return Windows(values, np.flatnonzero(ok), lookback, horizon, target_idx, pd.DatetimeIndex(frame.index),
                   scale, names)


def split_windows(frame: pd.DataFrame, params: Params, split: str, batches: Sequence[int]) -> Windows:
    """The windows of one split of some batches, with the window settings of params."""
    return make_windows(frame, params.data.inputs, params.data.targets, params.window.lookback,
                        params.window.horizon, split, batches)


def calibration_windows(frame: pd.DataFrame, params: Params, step: int) -> Windows:
    """The windows that calibrate the intervals of the model after `step` (0: the base model):
    the validation tails of the newest `intervals.calibration_batches` batches up to it."""
    from lstm_utils.intervals import calibration_batches

    return split_windows(frame, params, "val", calibration_batches(step, params.intervals.calibration_batches))


def deployed_windows(frame: pd.DataFrame, params: Params, batch: int) -> Windows:
    """Every window whose targets all lie in `batch`, in any of its splits, its look-back reaching
    into earlier batches as it may: what a model deployed before the batch arrived had to
    forecast, counted as the `evaluate` command counts windows. A month of hourly data at
    horizon 24 gives about 700, where its test tail gives about 90."""
    return make_windows(frame, params.data.inputs, params.data.targets, params.window.lookback,
                        params.window.horizon, batches=[batch])


def tail_windows(frame: pd.DataFrame, params: Params, n_batches: int, split: str = "test") -> list[Windows]:
    """The windows of one tail (the test tail by default) of each batch 0..n_batches-1."""
    return [split_windows(frame, params, split, [k]) for k in range(n_batches)]


def window_counts(frame: pd.DataFrame, params: Params, names: dict[int, str] | None = None) -> pd.DataFrame:
    """Per batch: the windows each tail gives (`train`, `val`, `test`), those that calibrate the
    intervals of the model after that step (`calibration`: the validation tails of the newest
    `intervals.calibration_batches` batches), and its deployed windows (`deployed`: every window
    whose targets lie in the batch, what a model deployed before it forecast; none for the base
    period, which no model forecast before learning it)."""
    n = int(frame[BATCH].max()) + 1
    tails = {s: [len(split_windows(frame, params, s, [b])) for b in range(n)] for s in SPLITS}
    count = params.intervals.calibration_batches
    rows = [{"batch": (names or {}).get(b, str(b)), **{s: tails[s][b] for s in SPLITS},
             "calibration": sum(tails["val"][k] for k in range(max(0, b - count + 1), b + 1)),
             "deployed": len(deployed_windows(frame, params, b)) if b else None} for b in range(n)]
    return pd.DataFrame(rows).set_index("batch").astype({"deployed": "Int64"})


def few_windows(counts: pd.DataFrame, min_windows: int, horizon: int) -> list[str]:
    """Warning lines for the tails of :func:`window_counts` that give fewer than `min_windows`
    windows (`compare.min_windows`): the test tails (each batch's figures on them rest on few
    windows) and the calibration tails (the intervals are calibrated on few), naming the settings
    that give more."""
    out = []
    deployed = counts["deployed"].dropna()
    ranking = (f" The ranking rests on every window of each later batch instead ({int(deployed.min()):,} to "
               f"{int(deployed.max()):,} a batch)." if len(deployed) else "")
    for tail, what, settings in (
            ("test", "figures on one batch's test tail (its column of the error matrix, its new_rmse) rest on few "
                     "windows", "raise `split.test_fraction`"),
            ("calibration", "the intervals calibrated on them rest on few windows",
             "raise `split.val_fraction` or `intervals.calibration_batches`")):
        few = counts[counts[tail] < min_windows]
        if few.empty:
            continue
        listed = ", ".join(f"{name} ({n})" for name, n in few[tail].items())
        out.append(f"the {tail} tails of {len(few)} of {len(counts)} batches give fewer windows than "
                   f"`compare.min_windows` ({min_windows}): {listed}; {what}. To get more: {settings}, or shorten "
                   f"`window.horizon` ({horizon}; a tail of R rows gives R - horizon + 1 windows), or give longer "
                   "batches." + (ranking if tail == "test" else ""))
    return out

"""A forecaster's headline figures over the chain of batches, and the evidence the champion rule
weighs, as of any step.

E[t][k] is the error of the model after step t on batch k's test tail (t = 0: the base model).
new-period error: E[t][t]; retained: E[t][k], k < t; forgetting: E[T][k] - E[k][k] for k < T,
and as a share of the error when learned (`forgetting_share`, free of the data's units);
forward error: E[t-1][t], the model before step t on batch t's test tail. The deployed error
rests on more: before step t, the model after step t-1 on every window of batch t
(:func:`lstm_utils.windows.deployed_windows`), pooled over the batches.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lstm_utils.evaluation import WindowLosses, pooled


def _mean(values) -> float | None:
    values = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(values)) if values else None


def forgetting_share(rmse: np.ndarray) -> float | None:
    """How much the final model's error on the earlier batches rose since each was learned, as a
    share of the error then: sum over k < T of (E[T][k] - E[k][k]) over the sum of E[k][k]
    (0.05: 5% worse). None without an earlier batch to judge."""
    last = rmse.shape[0] - 1
    pairs = [(rmse[last, k], rmse[k, k]) for k in range(last)
             if not (math.isnan(rmse[last, k]) or math.isnan(rmse[k, k]))]
    learned = sum(b for _, b in pairs)
    if not pairs or learned <= 0:
        return None
    return float(sum(a - b for a, b in pairs) / learned)


def summarize(rmse: np.ndarray, mae: np.ndarray, windows: Sequence[int],
              intervals: dict[str, dict[str, np.ndarray]] | None = None,
              deployed: Sequence[WindowLosses] | None = None, test_windows: Sequence[int] | None = None) -> dict:
    """One strategy's headline numbers from its error matrices (models x batches) and the
    training windows seen per step (the cost measure that reproduces; seconds vary by machine).

    Given its coverage matrices (level -> measure -> matrix), also `new_coverage_<level>`,
    `new_width_<level>` and `new_interval_score_<level>`: means over the new periods, like
    new_rmse. Given its deployed losses (one per batch t >= 1), also the deployed figures
    (:func:`lstm_utils.evaluation.pooled`); given each batch's test windows, `new_windows`, the
    windows behind new_rmse."""
    steps = rmse.shape[0] - 1
    last = steps
    out = {
        "new_rmse": _mean(rmse[t, t] for t in range(1, steps + 1)),
        "new_mae": _mean(mae[t, t] for t in range(1, steps + 1)),
        "old_rmse": float(rmse[last, 0]),
        "forgetting": _mean(rmse[last, k] - rmse[k, k] for k in range(last)),
        "forgetting_share": forgetting_share(rmse),
        "forward_rmse": _mean(rmse[t - 1, t] for t in range(1, steps + 1)),
        "windows_seen": int(sum(windows)),
    }
    for level, measures in (intervals or {}).items():
        out |= {f"new_{m}_{level}": _mean(v[t, t] for t in range(1, steps + 1)) for m, v in measures.items()}
    if test_windows is not None:
        out["new_windows"] = int(sum(test_windows[1:steps + 1]))
    if deployed is not None:
        out |= pooled(deployed)
    return out


def summarize_baseline(errors: dict, deployed: Sequence[WindowLosses] | None = None,
                       test_windows: Sequence[int] | None = None) -> dict:
    """A naive forecaster's new-period error (mean over batches 1..T) and base-period error, and
    its intervals' new-period coverage, width and score per level when `errors` has them; with
    its deployed losses and the test windows, the figures :func:`summarize` adds for them."""
    rmse, mae = errors["rmse"], errors["mae"]
    out = {"new_rmse": _mean(rmse[1:]), "new_mae": _mean(mae[1:]), "old_rmse": float(rmse[0])}
    for level, measures in errors.get("intervals", {}).items():
        out |= {f"new_{m}_{level}": _mean(v[1:]) for m, v in measures.items()}
    if test_windows is not None:
        out["new_windows"] = int(sum(test_windows[1:len(rmse)]))
    if deployed is not None:
        out |= pooled(deployed)
    return out


@dataclass
class Track:
    """One forecaster's record over the chain of batches 0..T, as the champion rule weighs it:
    its test-tail errors (a matrix, models x batches, for a strategy or the linear baseline, which
    is refit at every step; a list, one per batch, for a fixed rule such as seasonal naive), its
    deployed losses on batches 1..T, and, for a strategy, the training windows of each step."""

    rmse: np.ndarray
    mae: np.ndarray
    deployed: list[WindowLosses]
    test_windows: list[int]
    intervals: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    windows_seen: list[int] | None = None  # per step 1..T; None: a baseline (no training)

    def summary(self, until: int | None = None) -> dict:
        """The headline figures on the evidence of batches 0..until-1 alone (the models after
        steps 0..until-1, the deployed losses of batches 1..until-1); all of it by default."""
        u = len(self.test_windows) if until is None else until
        if self.rmse.ndim == 1:  # a fixed rule: one error per batch
            errors = {"rmse": self.rmse[:u], "mae": self.mae[:u],
                      "intervals": {q: {m: v[:u] for m, v in ms.items()} for q, ms in self.intervals.items()}}
            return summarize_baseline(errors, self.deployed[:u - 1], self.test_windows[:u])
        cut = {q: {m: v[:u, :u] for m, v in ms.items()} for q, ms in self.intervals.items()}
        out = summarize(self.rmse[:u, :u], self.mae[:u, :u], (self.windows_seen or [])[:u - 1], cut,
                        self.deployed[:u - 1], self.test_windows[:u])
        return out if self.windows_seen is not None else {k: v for k, v in out.items() if k != "windows_seen"}

    def losses(self, batches: Sequence[int]) -> np.ndarray:
        """The squared-error loss of every deployed window of these batches (each >= 1), in order."""
        return np.concatenate([self.deployed[t - 1].sq for t in batches]) if batches else np.zeros(0)

    def origins(self, batches: Sequence[int]) -> np.ndarray | None:
        """The forecast origin of every deployed window of these batches, in order (several
        series); None where a record holds none (one series)."""
        kept = [self.deployed[t - 1].origins for t in batches]
        return np.concatenate(kept) if batches and all(o is not None for o in kept) else None


@dataclass
class Evidence:
    """Every compared forecaster's :class:`Track` over the same batches: the strategies and the
    baselines, each forecasting the same deployed windows."""

    strategies: dict[str, Track]
    baselines: dict[str, Track]
    batches: list[str]  # a name per batch, 0..T

    def __post_init__(self) -> None:
        counts = {name: [len(d) for d in track.deployed] for name, track in self.tracks.items()}
        first = next(iter(counts.values()), [])
        for name, got in counts.items():
            if got != first:
                raise ValueError(f"{name}'s deployed windows per batch ({got}) differ from the others' ({first}): its "
                                 "record was made from other data; run `dvc repro` so that every stage sees the same")

    @property
    def tracks(self) -> dict[str, Track]:
        """The strategies, then the baselines (named as in every table: `linear`, `seasonal_naive`, ...)."""
        return self.strategies | self.baselines

    @property
    def steps(self) -> int:
        """T, the number of update steps."""
        return len(self.batches) - 1

    def windows(self, batch: int) -> int:
        """The deployed windows of batch `batch` (>= 1)."""
        return len(next(iter(self.tracks.values())).deployed[batch - 1])

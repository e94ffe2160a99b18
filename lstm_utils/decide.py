"""Deciding with evidence: which forecasters the deployed losses cannot tell apart, which strategy
to use, and whether following that rule would have paid.

- :func:`confidence_set`: a Model Confidence Set (Hansen, Lunde and Nason, 2011) over every
  strategy and baseline, on each deployed window's squared error, by `arch`'s stationary block
  bootstrap, seeded. Its blocks are on average `window.horizon` windows long: neighbouring
  windows share all but one of their targets, so their losses move together at least that far.
- :func:`choose`: the champion rule of `compare`: among the strategies in the set whose
  forgetting is within `compare.max_forgetting`, the cheapest (fewest training windows seen) or
  the best by `compare.rank_by`; an incumbent stays while it is in the set (hysteresis), so the
  champion does not flip on noise.
- :func:`walk_forward`: the rule checked as a user would have lived it: at each step t from the
  second on, chosen on the evidence of batches 1..t-1 alone, then scored on batch t; beside
  three fixed policies (always retrain, always fine-tune, never update). Its last choice, on all
  the evidence, is the champion.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from lstm_utils.settings import CompareParams
from lstm_utils.summary import Evidence

REPS = 1000  # bootstrap replications of every confidence set
POLICIES = {"retrain": "always retrain", "finetune": "always fine-tune", "none": "never update"}


def test_size(confidence: float) -> float:
    """1 - confidence, rounded so that 0.9 gives exactly 0.1 (a p-value of 0.1 is then out)."""
    return round(1.0 - confidence, 12)


@dataclass(frozen=True)
class ConfidenceSet:
    """Every forecaster's MCS p-value: it is in the set at `confidence` when its p-value exceeds
    1 - confidence. A forecaster whose losses equal another's shares its p-value."""

    pvalues: dict[str, float]
    confidence: float
    windows: int  # the deployed windows whose losses it weighed
    block: int  # the bootstrap's mean block length, in windows (in forecast times, with `times`)
    times: int = 0  # several series: the forecast times the bootstrap drew, each its windows pooled; 0: windows

    @property
    def size(self) -> float:
        """The test size: a forecaster leaves the set when its p-value is at most this."""
        return test_size(self.confidence)

    def __contains__(self, name: object) -> bool:
        return name in self.pvalues and self.pvalues[name] > self.size

    @property
    def members(self) -> list[str]:
        """The forecasters in the set, highest p-value first."""
        return sorted((n for n in self.pvalues if n in self), key=lambda n: (-self.pvalues[n], n))

    @property
    def excluded(self) -> list[str]:
        """The forecasters the evidence leaves out, highest p-value first."""
        return sorted((n for n in self.pvalues if n not in self), key=lambda n: (-self.pvalues[n], n))


def _same(losses: dict[str, np.ndarray]) -> list[list[str]]:
    """The forecasters grouped by their losses: equal to 1e-9 of their size are one forecaster to the
    test (a gated model whose gate is 0 forecasts seasonal naive's values, to the last bits)."""
    groups: list[list[str]] = []
    for name, values in losses.items():
        values = np.asarray(values, dtype=np.float64)
        for members in groups:
            head = np.asarray(losses[members[0]], dtype=np.float64)
            size = max(float(np.abs(head).max(initial=0.0)), float(np.abs(values).max(initial=0.0)), 1e-300)
            if float(np.abs(values - head).max(initial=0.0)) <= 1e-9 * size:
                members.append(name)
                break
        else:
            groups.append([name])
    return groups


def by_origin(losses: dict[str, np.ndarray], origins: np.ndarray) -> dict[str, np.ndarray]:
    """Each forecaster's losses pooled per forecast origin, in time order: the windows of all series
    that start forecasting at one time are one row: their sum, scaled by the number of times over
    the number of windows, so that the rows' mean is the mean over windows (and the ordering by
    RMSE is kept)."""
    times, row = np.unique(origins, return_inverse=True)
    factor = len(times) / len(origins)
    return {name: np.bincount(row, weights=np.asarray(v, dtype=np.float64), minlength=len(times)) * factor
            for name, v in losses.items()}


def confidence_set(losses: dict[str, np.ndarray], confidence: float, block: int, seed: int,
                   reps: int = REPS, origins: np.ndarray | None = None) -> ConfidenceSet:
    """The Model Confidence Set of forecasters by their per-window losses (the same windows, in
    time order, for each), by `arch.bootstrap.MCS` (the R method, stationary bootstrap).

    Parameters
    ----------
    losses
        Each forecaster's loss per window, by name.
    confidence
        The set holds the best forecaster with this probability (e.g. 0.9).
    block
        The bootstrap's mean block length, in windows (at least the horizon: see the module).
    seed
        Seeds the bootstrap, so the same losses give the same p-values, byte for byte.
    reps
        Bootstrap replications.
    origins
        With several series, each window's forecast origin: the test then bootstraps the times,
        each the pooled losses of the windows that start forecasting then (:func:`by_origin`), as
        the series share what happens at one time; `block` is in time steps.

    Forecasters whose losses are equal (to 1e-9 of their size) are one to the test and share its
    p-value. With fewer than two distinct forecasters or two windows nothing can be told apart:
    every p-value is 1.
    """
    from arch.bootstrap import MCS

    names = list(losses)
    n = len(next(iter(losses.values()))) if names else 0
    groups = _same(losses)
    heads = {members[0]: losses[members[0]] for members in groups}
    rows = heads if origins is None or n < 2 else by_origin(heads, origins)
    if len(groups) < 2 or len(next(iter(rows.values()))) < 2:
        return ConfidenceSet({name: 1.0 for name in names}, confidence, n, block)
    matrix = np.column_stack([np.asarray(v, dtype=np.float64) for v in rows.values()])
    test = MCS(matrix, size=test_size(confidence), reps=reps, block_size=max(1, int(block)), method="R",
               bootstrap="stationary", seed=seed)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        test.compute()
    pvalues = {}
    for index, p in test.pvalues["Pvalue"].items():
        for i in np.atleast_1d(index):  # a tie in the statistic eliminates models together
            pvalues |= {name: float(p) for name in groups[int(i)]}
    return ConfidenceSet({name: pvalues[name] for name in names}, confidence, n, block,
                         0 if origins is None else len(matrix))


@dataclass(frozen=True)
class Choice:
    """The strategy the rule picks, and why, in words."""

    champion: str
    why: str
    in_set: bool = True  # False: no strategy is in the confidence set; the champion is the best of them
    behind: str | None = None  # then, the best baseline in the set
    kept: bool = False  # the incumbent stayed (it is still in the set)
    excluded_for_forgetting: tuple[str, ...] = ()


def _figure(summary: dict, key: str) -> float:
    value = summary.get(key)
    return math.inf if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _rank(summary: dict, key: str) -> tuple[float, float]:
    """A strategy's place by `key`; ties (before the second batch every strategy deployed the same
    base model, so their deployed figures are equal) are broken by the test tails after learning
    (`new_rmse`), held out from training too."""
    return _figure(summary, key), _figure(summary, "new_rmse")


def choose(strategies: dict[str, dict], baselines: dict[str, dict], evidence: ConfidenceSet, rule: CompareParams,
           incumbent: str | None = None) -> Choice:
    """The champion by the rule of `compare`, from each strategy's and baseline's summary and the
    confidence set of their deployed losses.

    The candidates are the strategies in the set whose `forgetting_share` is at most
    `rule.max_forgetting` (when every strategy in the set forgot more, all of those in the set).
    The `incumbent` stays if it is one of them; else the one with the fewest training windows seen
    (`rule.choose: cheapest`; ties by the ranking figure) or the lowest `rule.rank_by` (`best`).
    When no strategy is in the set (a baseline beats them all), the best strategy by
    `rule.rank_by` among those that kept their forgetting within bounds, marked as behind the best
    baseline in the set.
    """
    key = rule.rank_by
    ranked = {s: v for s, v in strategies.items() if v.get(key) is not None}
    if not ranked:
        return Choice("none", "no update step has run yet (a single batch), so the base model stays")
    steady = [s for s in ranked if (ranked[s].get("forgetting_share") or 0.0) <= rule.max_forgetting]
    excluded = tuple(sorted(set(ranked) - set(steady)))
    inside = [s for s in ranked if s in evidence]
    pool = [s for s in inside if s in steady] or inside
    level = f"{evidence.confidence:.0%} confidence set"
    limit = f"{rule.max_forgetting:.0%}"
    if pool and not set(pool) & set(steady):
        forgets = f" (every strategy in the set forgot more than {limit}, so all of them were considered)"
    else:
        forgets = f" (excluded for forgetting more than {limit}: {', '.join(excluded)})" if excluded else ""
    if incumbent in pool:
        return Choice(incumbent, f"the champion before, {incumbent}, is still in the {level} (p = "
                                 f"{evidence.pvalues[incumbent]:.2f}), so it stays{forgets}", kept=True,
                      excluded_for_forgetting=excluded)
    left = (f"the champion before, {incumbent}, left the {level} (p = {evidence.pvalues[incumbent]:.2f}); "
            if incumbent is not None and incumbent in evidence.pvalues and incumbent not in evidence else
            f"the champion before, {incumbent}, forgot more than {limit}; "
            if incumbent is not None and incumbent in evidence else "")
    if pool:
        if rule.choose == "cheapest":
            best = min(pool, key=lambda s: (ranked[s].get("windows_seen", 0), *_rank(ranked[s], key), s))
            why = (f"{left}the cheapest of the {len(pool)} strategies in the {level} "
                   f"({ranked[best].get('windows_seen', 0):,} training windows seen){forgets}")
        else:
            best = min(pool, key=lambda s: (*_rank(ranked[s], key), s))
            why = (f"{left}the lowest {key} ({ranked[best][key]:.3f}) of the {len(pool)} strategies in the "
                   f"{level}{forgets}")
        return Choice(best, why, excluded_for_forgetting=excluded)
    candidates = steady or list(ranked)
    best = min(candidates, key=lambda s: (*_rank(ranked[s], key), s))
    inside_baselines = [b for b in baselines if b in evidence and baselines[b].get(key) is not None]
    ahead = min(inside_baselines, key=lambda b: (_figure(baselines[b], key), b)) if inside_baselines else None
    forgets = f" (excluded for forgetting more than {limit}: {', '.join(excluded)})" if excluded and steady else ""
    why = (f"{left}no strategy is in the {level}: {ahead or 'a baseline'} beats them all; {best} is the best "
           f"strategy by {key}, behind it{forgets}")
    return Choice(best, why, in_set=False, behind=ahead, excluded_for_forgetting=excluded)


@dataclass(frozen=True)
class Turn:
    """One row of the champion history: the pick for batch `batch`, made on batches 1..batch-1."""

    batch: int
    name: str  # the batch's name
    choice: Choice
    evidence: ConfidenceSet
    deployed_rmse: float | None  # the pick's error on the batch (None: the batch has not arrived)
    windows: int  # the batch's deployed windows
    windows_seen: int  # the training windows of the step that made the pick's deployed model


@dataclass
class WalkForward:
    """The rule as a user would have lived it, and what it would have cost, beside fixed policies."""

    history: list[Turn]  # batches 2..T, then T+1: the champion now, on every batch's evidence
    policies: dict[str, dict] = field(default_factory=dict)  # the rule and each fixed policy: error and cost

    @property
    def final(self) -> Turn:
        return self.history[-1]


def walk_forward(evidence: Evidence, rule: CompareParams, block: int, seed: int) -> WalkForward:
    """At each batch t = 2..T+1: the confidence set and the champion rule on the evidence of
    batches 1..t-1 (each forecaster's summary as of step t-1 and its deployed losses on those
    batches), the previous pick the incumbent; then the pick's deployed losses on batch t (none
    for T+1, the batch to come). Also the rule's and each fixed policy's (`none`, `finetune`,
    `retrain`, where compared) deployed RMSE over batches 2..T, and their cost: the training
    windows of the steps that made the models deployed there."""
    history: list[Turn] = []
    incumbent = None
    for t in range(2, evidence.steps + 2) if evidence.steps >= 1 else [1]:
        seen = list(range(1, t))
        losses = {name: track.losses(seen) for name, track in evidence.tracks.items()}
        origins = next(iter(evidence.tracks.values())).origins(seen) if seen else None
        cs = confidence_set(losses, rule.confidence, block, seed, origins=origins) if seen else ConfidenceSet(
            {name: 1.0 for name in losses}, rule.confidence, 0, block)
        summaries = {name: track.summary(t) for name, track in evidence.strategies.items()}
        base = {name: track.summary(t) for name, track in evidence.baselines.items()}
        choice = choose(summaries, base, cs, rule, incumbent)
        incumbent = choice.champion
        arrived = t <= evidence.steps  # T+1: the batch to come
        track = evidence.strategies.get(choice.champion)
        windows = evidence.windows(t) if arrived else 0
        error = float(np.sqrt(track.losses([t]).mean())) if windows and track is not None else None
        cost = int(track.windows_seen[t - 2]) if track is not None and track.windows_seen and t >= 2 else 0
        history.append(Turn(t, evidence.batches[t] if arrived else "next", choice, cs, error, windows, cost))
    scored = [turn for turn in history if turn.deployed_rmse is not None]
    if scored:
        batches = [turn.batch for turn in scored]
        rule_losses = np.concatenate([evidence.strategies[turn.choice.champion].losses([turn.batch]) for turn in scored])
        policies = {"rule": {"deployed_rmse": float(np.sqrt(rule_losses.mean())), "windows": int(len(rule_losses)),
                             "windows_seen": int(sum(turn.windows_seen for turn in scored))}}
        for name in POLICIES:
            if name in evidence.strategies:
                track = evidence.strategies[name]
                policies[name] = {"deployed_rmse": float(np.sqrt(track.losses(batches).mean())),
                                  "windows": int(len(rule_losses)),
                                  "windows_seen": int(sum(track.windows_seen[t - 2] for t in batches))}
    else:
        policies = {}
    return WalkForward(history, policies)

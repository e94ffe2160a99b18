"""Deciding with evidence: which forecasters the deployed losses cannot tell apart, which strategy
to use, and whether following that rule would have paid.

- :func:`confidence_set`: a Model Confidence Set (Hansen, Lunde and Nason, 2011) over every
  strategy and baseline, on each deployed window's squared error, by `arch`'s stationary block
  bootstrap, seeded. Its blocks are on average `window.horizon` windows long: neighbouring
  windows share all but one of their targets, so their losses move together at least that far.
- :func:`choose`: the champion rule of `compare`: among the strategies in the set whose
  forgetting is within `compare.max_forgetting` (and the baselines, with `compare.candidates:
  all`), the best by `compare.rank_by`, the cheapest (fewest training windows seen), or the
  cheapest within a margin of the best (`compare.choose`); an incumbent stays while it is in the
  set, unless the pick is cheaper (`compare.hysteresis`), so the champion does not flip on noise;
  the stale `none` is not picked before the evidence tells the strategies apart (`compare.stale`).
- :func:`walk_forward`: the rule checked as a user would have lived it: at each step t from the
  second on, chosen on the evidence of batches 1..t-1 alone, then scored on batch t; beside the
  fixed policies (always retrain, always fine-tune, never update, always the ridge). Its last
  choice, on all the evidence, is the champion. The defaults were chosen by walking every
  variant over twelve runs (bench/decide.py `--kept`; bench/README.md).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from lstm_utils.settings import CompareParams
from lstm_utils.summary import Evidence

REPS = 1000  # bootstrap replications of every confidence set
NOT_CANDIDATES = ("trees",)  # a baseline no models/champion.keras can hold (LightGBM is not a Keras model)
POLICIES = {"retrain": "always retrain", "finetune": "always fine-tune", "none": "never update",
            "linear": "always the ridge", "trees": "always the trees"}


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
    """The forecaster the rule picks, and why, in words."""

    champion: str
    why: str
    in_set: bool = True  # False: no candidate is in the confidence set; the champion is the best strategy
    behind: str | None = None  # then, the best baseline in the set
    kept: bool = False  # the incumbent stayed (it is still in the set)
    excluded_for_forgetting: tuple[str, ...] = ()
    baseline: bool = False  # the champion is a baseline (`compare.candidates: all`): the LSTM does not pay here
    yielded: bool = False  # the incumbent, still in the set, gave way to a cheaper pick (`compare.hysteresis: yield`)


def _figure(summary: dict, key: str) -> float:
    value = summary.get(key)
    return math.inf if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _rank(summary: dict, key: str) -> tuple[float, float]:
    """A forecaster's place by `key`; ties (before the second batch every strategy deployed the same
    base model, so their deployed figures are equal) are broken by the test tails after learning
    (`new_rmse`), held out from training too."""
    return _figure(summary, key), _figure(summary, "new_rmse")


def _cost(summary: dict) -> int:
    """Training windows seen so far (a baseline: none; the ridge's closed-form refit costs next to nothing)."""
    return int(summary.get("windows_seen") or 0)


def pick(pool: list[str], figures: dict[str, dict], rule: CompareParams) -> str:
    """The rule's pick among `pool` (no incumbent): the cheapest (`choose: cheapest`), the lowest
    `rank_by` (`best`), or the cheapest of those within `compare.margin` of the lowest (`margin`);
    ties by the ranking figure, then the name."""
    key = rule.rank_by
    if rule.choose == "best":
        return min(pool, key=lambda s: (*_rank(figures[s], key), s))
    if rule.choose == "margin":
        best = min(_figure(figures[s], key) for s in pool)
        pool = [s for s in pool if _figure(figures[s], key) <= best * (1 + rule.margin)] or pool
    return min(pool, key=lambda s: (_cost(figures[s]), *_rank(figures[s], key), s))


def _pick_words(best: str, pool: list[str], figures: dict[str, dict], rule: CompareParams, level: str,
                strategies: dict[str, dict]) -> str:
    key = rule.rank_by
    some = f"{len(pool)} {'strategies' if set(pool) <= set(strategies) else 'candidates'} in the {level}"
    if rule.choose == "best":
        return f"the lowest {key} ({figures[best][key]:.3f}) of the {some}"
    seen = f"{_cost(figures[best]):,} training windows seen"
    if rule.choose == "margin":
        return f"the cheapest of the {some} whose {key} is within {rule.margin:.1%} of the lowest ({seen})"
    return f"the cheapest of the {some} ({seen})"


def choose(strategies: dict[str, dict], baselines: dict[str, dict], evidence: ConfidenceSet, rule: CompareParams,
           incumbent: str | None = None, informed: bool = True) -> Choice:
    """The champion by the rule of `compare`, from each strategy's and baseline's summary and the
    confidence set of their deployed losses.

    The candidates are the strategies (with `rule.candidates: all`, the baselines too) in the set
    whose `forgetting_share` is at most `rule.max_forgetting` (when every strategy in the set forgot
    more, all of those in the set). Among them, :func:`pick`. The `incumbent` stays while it is a
    candidate (`rule.hysteresis: keep`), or while it is one and the pick is no cheaper (`yield`);
    `off`: no incumbent. Not `informed` (every strategy deployed the same model so far: nothing
    tells them apart) and `rule.stale: informed`, or always with `last` while anything that learns
    is a candidate: the pick among those that learn (and the baselines), never the stale `none`.
    When no candidate is in the set (a baseline beats them all, and baselines are not candidates),
    the best strategy by `rule.rank_by` among those that kept their forgetting within bounds,
    marked as behind the best baseline in the set.
    """
    key = rule.rank_by
    ranked = {s: v for s, v in strategies.items() if v.get(key) is not None}
    if not ranked:
        return Choice("none", "no update step has run yet (a single batch), so the base model stays")
    open_to = ({b: v for b, v in baselines.items() if v.get(key) is not None and b not in NOT_CANDIDATES}
               if rule.candidates == "all" else {})
    figures = ranked | open_to
    steady = [s for s in ranked if (ranked[s].get("forgetting_share") or 0.0) <= rule.max_forgetting]
    excluded = tuple(sorted(set(ranked) - set(steady)))
    inside = [s for s in figures if s in evidence]
    pool = [s for s in inside if s in steady or s in open_to] or inside
    level = f"{evidence.confidence:.0%} confidence set"
    limit = f"{rule.max_forgetting:.0%}"
    if pool and not set(pool) & (set(steady) | set(open_to)):
        forgets = f" (every strategy in the set forgot more than {limit}, so all of them were considered)"
    else:
        forgets = f" (excluded for forgetting more than {limit}: {', '.join(excluded)})" if excluded else ""
    fresh = ""
    if rule.stale == "last" or (not informed and rule.stale == "informed"):
        learners = [s for s in pool if s in open_to or _cost(ranked[s]) > 0]
        if learners and len(learners) < len(pool):
            pool = learners
            incumbent = incumbent if incumbent in learners else None
            fresh = ("every strategy deployed the same model so far, so nothing tells them apart: the ones that "
                     "learn are weighed, not the stale model; " if not informed else
                     "the stale model is weighed only when nothing that learns is in the set; ")
    if incumbent in pool and rule.hysteresis != "off":
        best = pick(pool, figures, rule)
        if rule.hysteresis == "keep" or _cost(figures[best]) >= _cost(figures[incumbent]) or best == incumbent:
            return Choice(incumbent, f"the champion before, {incumbent}, is still in the {level} (p = "
                                     f"{evidence.pvalues[incumbent]:.2f}), so it stays{forgets}", kept=True,
                          excluded_for_forgetting=excluded, baseline=incumbent in open_to)
        left = (f"the champion before, {incumbent}, is still in the {level}, but {best} is cheaper "
                f"({_cost(figures[best]):,} training windows seen against {_cost(figures[incumbent]):,}): ")
        why = f"{left}{_pick_words(best, pool, figures, rule, level, ranked)}{forgets}"
        return Choice(best, why, excluded_for_forgetting=excluded, baseline=best in open_to, yielded=True)
    left = (f"the champion before, {incumbent}, left the {level} (p = {evidence.pvalues[incumbent]:.2f}); "
            if incumbent is not None and incumbent in evidence.pvalues and incumbent not in evidence else
            f"the champion before, {incumbent}, forgot more than {limit}; "
            if incumbent is not None and incumbent in evidence and incumbent not in pool and incumbent in ranked
            else "")
    if pool:
        best = pick(pool, figures, rule)
        why = f"{left}{fresh}{_pick_words(best, pool, figures, rule, level, ranked)}{forgets}"
        if best in open_to:
            why += f": {best}, a baseline, is as good as any strategy here, at no training"
        return Choice(best, why, excluded_for_forgetting=excluded, baseline=best in open_to)
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
    by_batch: dict[str, dict[str, float | None]] = field(default_factory=dict)  # batch name -> forecaster -> deployed RMSE

    @property
    def final(self) -> Turn:
        return self.history[-1]


def informed(evidence: Evidence, seen: list[int]) -> bool:
    """Whether the deployed losses of batches `seen` tell the strategies apart at all: False while
    every strategy deployed the same model (before the second batch, the base model)."""
    if not seen:
        return False
    return len(_same({name: track.losses(seen) for name, track in evidence.strategies.items()})) > 1


def sets(evidence: Evidence, confidence: float, block: int, seed: int) -> list[ConfidenceSet]:
    """The confidence set on the evidence before each batch t = 2..T+1 (batches 1..t-1), in order:
    what :func:`walk_forward` weighs at each turn; the same for every rule, so a comparison of
    rules computes them once."""
    out = []
    for t in range(2, evidence.steps + 2) if evidence.steps >= 1 else [1]:
        seen = list(range(1, t))
        losses = {name: track.losses(seen) for name, track in evidence.tracks.items()}
        origins = next(iter(evidence.tracks.values())).origins(seen) if seen else None
        out.append(confidence_set(losses, confidence, block, seed, origins=origins) if seen else ConfidenceSet(
            {name: 1.0 for name in losses}, confidence, 0, block))
    return out


def walk_forward(evidence: Evidence, rule: CompareParams, block: int, seed: int,
                 known: list[ConfidenceSet] | None = None) -> WalkForward:
    """At each batch t = 2..T+1: the confidence set and the champion rule on the evidence of
    batches 1..t-1 (each forecaster's summary as of step t-1 and its deployed losses on those
    batches), the previous pick the incumbent; then the pick's deployed losses on batch t (none
    for T+1, the batch to come). Also the rule's and each fixed policy's (`none`, `finetune`,
    `retrain`, where compared, and the ridge, `linear`) deployed RMSE over batches 2..T, and their
    cost: the training windows of the steps that made the models deployed there (a baseline's:
    none). `known`: the confidence sets of :func:`sets`, computed before."""
    history: list[Turn] = []
    incumbent = None
    known = known if known is not None else sets(evidence, rule.confidence, block, seed)
    for t, cs in zip(range(2, evidence.steps + 2) if evidence.steps >= 1 else [1], known):
        seen = list(range(1, t))
        summaries = {name: track.summary(t) for name, track in evidence.strategies.items()}
        base = {name: track.summary(t) for name, track in evidence.baselines.items()}
        choice = choose(summaries, base, cs, rule, incumbent, informed(evidence, seen))
        incumbent = choice.champion
        arrived = t <= evidence.steps  # T+1: the batch to come
        track = evidence.tracks.get(choice.champion)
        windows = evidence.windows(t) if arrived else 0
        error = float(np.sqrt(track.losses([t]).mean())) if windows and track is not None else None
        cost = int(track.windows_seen[t - 2]) if track is not None and track.windows_seen and t >= 2 else 0
        history.append(Turn(t, evidence.batches[t] if arrived else "next", choice, cs, error, windows, cost))
    scored = [turn for turn in history if turn.deployed_rmse is not None]
    if scored:
        batches = [turn.batch for turn in scored]
        rule_losses = np.concatenate([evidence.tracks[turn.choice.champion].losses([turn.batch]) for turn in scored])
        policies = {"rule": {"deployed_rmse": float(np.sqrt(rule_losses.mean())), "windows": int(len(rule_losses)),
                             "windows_seen": int(sum(turn.windows_seen for turn in scored))}}
        for name in POLICIES:
            track = evidence.tracks.get(name)
            if track is not None:
                policies[name] = {"deployed_rmse": float(np.sqrt(track.losses(batches).mean())),
                                  "windows": int(len(rule_losses)),
                                  "windows_seen": int(sum(track.windows_seen[t - 2] for t in batches)
                                                      if track.windows_seen else 0)}
    else:
        policies = {}
    by_batch = {evidence.batches[t]: {name: float(np.sqrt(track.losses([t]).mean())) if evidence.windows(t) else None
                                      for name, track in evidence.tracks.items()} for t in range(1, evidence.steps + 1)}
    return WalkForward(history, policies, by_batch)

"""Deciding with evidence: the confidence set, the champion rule with its hysteresis, the scale-free
forgetting rule, and the walk forward that never looks at the batch it is scored on."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from lstm_utils.config import CompareParams
from lstm_utils.decide import ConfidenceSet, choose, confidence_set, walk_forward
from lstm_utils.evaluation import WindowLosses, pooled
from lstm_utils.summary import Evidence, Track, forgetting_share, summarize

HORIZON = 24


def dependent_losses(rng: np.random.Generator, n: int, scale: float = 1.0) -> np.ndarray:
    """Squared errors of overlapping windows: each window's error a mean of HORIZON shocks, so
    neighbouring windows' losses move together, as deployed windows' do."""
    shocks = rng.normal(size=n + HORIZON - 1)
    errors = np.convolve(shocks, np.ones(HORIZON) / np.sqrt(HORIZON), mode="valid")
    return scale * (1.0 + errors ** 2)


def draw(seed: int, n: int = 1000, equal: int = 4) -> dict[str, np.ndarray]:
    """`equal` forecasters whose losses differ only by independent noise of the same size (equal in
    expectation), and `worse`: the first one's losses, 15% larger."""
    rng = np.random.default_rng(seed)
    common = dependent_losses(rng, n)
    losses = {f"equal{i}": common + 0.2 * dependent_losses(rng, n) for i in range(equal)}
    return losses | {"worse": 1.15 * losses["equal0"]}


DRAWS = range(20)  # independent draws: the set may leave out one of equal forecasters now and then


@pytest.fixture(scope="module")
def equal_and_worse():
    return draw(7)


@pytest.fixture(scope="module")
def draws():
    """Each draw's losses and its 90% confidence set (300 replications: enough to tell 0.1 apart)."""
    return [(losses, confidence_set(losses, 0.9, HORIZON, seed=seed, reps=300))
            for seed, losses in ((seed, draw(seed, n=2000)) for seed in DRAWS)]


def test_a_forecaster_worse_by_a_set_margin_leaves_the_set(draws):
    for losses, cs in draws:
        assert "worse" not in cs and cs.pvalues["worse"] <= 0.1
        assert cs.windows == 2000 and cs.block == HORIZON


def test_equal_forecasters_are_all_kept(draws):
    kept = [all(f"equal{i}" in cs for i in range(4)) for _, cs in draws]
    # At 90% the set should lose a truly best forecaster in about 1 draw of 10; with four equal ones and
    # finite, dependent samples the bootstrap is somewhat liberal (15% over 40 draws of 3,000 windows).
    assert sum(kept) >= 15, sum(kept)


def test_the_set_is_seeded_and_byte_reproducible(equal_and_worse):
    a = confidence_set(equal_and_worse, 0.9, HORIZON, seed=3)
    b = confidence_set(equal_and_worse, 0.9, HORIZON, seed=3)
    assert a.pvalues == b.pvalues  # exactly, float for float
    other = confidence_set(equal_and_worse, 0.9, HORIZON, seed=4)
    assert other.pvalues != a.pvalues  # the seed is what fixes the draw


def test_identical_losses_share_a_p_value_and_too_little_evidence_keeps_everyone(equal_and_worse):
    twins = equal_and_worse | {"twin": equal_and_worse["worse"].copy(),
                               "near": equal_and_worse["equal1"] * (1 + 1e-15)}  # a gate at 0: naive's to the bits
    cs = confidence_set(twins, 0.9, HORIZON, seed=1)
    assert cs.pvalues["twin"] == cs.pvalues["worse"] and cs.pvalues["near"] == cs.pvalues["equal1"]
    assert confidence_set({"a": np.ones(1), "b": np.full(1, 9.0)}, 0.9, HORIZON, seed=1).pvalues == {"a": 1.0, "b": 1.0}
    assert confidence_set({"a": np.ones(50), "b": np.ones(50)}, 0.9, HORIZON, seed=1).members == ["a", "b"]


def test_a_p_value_at_the_test_size_is_out():
    cs = ConfidenceSet({"a": 1.0, "b": 0.1, "c": 0.101}, 0.9, 100, HORIZON)
    assert cs.members == ["a", "c"] and cs.excluded == ["b"]


# --- the champion rule ------------------------------------------------------------------------

RULE = CompareParams(rank_by="deployed_rmse", choose="cheapest", confidence=0.9, max_forgetting=0.05, min_windows=100)


def s(rmse: float, seen: int, forgetting: float | None = 0.0) -> dict:
    return {"deployed_rmse": rmse, "windows_seen": seen, "forgetting_share": forgetting}


SUMMARIES = {"none": s(1.10, 0), "finetune": s(1.01, 100), "replay": s(1.00, 300), "retrain": s(0.99, 5000)}
BASELINES = {"linear": {"deployed_rmse": 1.02}, "seasonal_naive": {"deployed_rmse": 1.5}}


def sets(*inside: str) -> ConfidenceSet:
    names = [*SUMMARIES, *BASELINES]
    return ConfidenceSet({n: 0.5 if n in inside else 0.01 for n in names}, 0.9, 1000, HORIZON)


def test_cheapest_picks_the_fewest_windows_seen_inside_the_set():
    got = choose(SUMMARIES, BASELINES, sets("finetune", "replay", "retrain", "linear"), RULE)
    assert got.champion == "finetune" and got.in_set
    assert "cheapest of the 3 strategies in the 90% confidence set (100 training windows seen)" in got.why
    assert choose(SUMMARIES, BASELINES, sets("none", "finetune", "retrain"), RULE).champion == "none"


def test_best_picks_the_lowest_figure_inside_the_set():
    best = dataclasses.replace(RULE, choose="best")
    assert choose(SUMMARIES, BASELINES, sets("finetune", "replay", "retrain"), best).champion == "retrain"
    assert choose(SUMMARIES, BASELINES, sets("finetune", "replay"), best).champion == "replay"


def test_with_no_strategy_in_the_set_the_best_strategy_is_marked_behind_the_baseline():
    got = choose(SUMMARIES, BASELINES, sets("linear"), RULE)
    assert got.champion == "retrain" and not got.in_set and got.behind == "linear"
    assert "no strategy is in the 90% confidence set: linear beats them all" in got.why


def test_equal_deployed_figures_are_told_apart_by_the_test_tails():
    """Before the second batch every strategy deployed the base model: equal deployed errors."""
    tied = {"alpha": s(1.0, 100) | {"new_rmse": 0.9}, "beta": s(1.0, 100) | {"new_rmse": 0.8}}
    cs = ConfidenceSet({"alpha": 1.0, "beta": 1.0}, 0.9, 700, HORIZON)
    assert choose(tied, {}, cs, dataclasses.replace(RULE, choose="best")).champion == "beta"
    assert choose(tied, {}, cs, RULE).champion == "beta"


def test_hysteresis_keeps_an_incumbent_while_it_is_in_the_set():
    inside = sets("none", "finetune", "replay", "retrain")
    kept = choose(SUMMARIES, BASELINES, inside, dataclasses.replace(RULE, choose="best"), incumbent="finetune")
    assert kept.champion == "finetune" and kept.kept and "is still in the 90% confidence set" in kept.why
    moved = choose(SUMMARIES, BASELINES, sets("replay", "retrain"), RULE, incumbent="finetune")
    assert moved.champion == "replay" and not moved.kept
    assert moved.why.startswith("the champion before, finetune, left the 90% confidence set (p = 0.01)")


def test_hysteresis_holds_when_the_differences_are_only_noise(draws):
    """Noise alone reorders equal forecasters from draw to draw; an incumbent among them keeps the crown."""
    best = dataclasses.replace(RULE, choose="best")
    fresh, kept = [], []
    for losses, cs in draws:
        equal = {f"equal{i}": losses[f"equal{i}"] for i in range(4)}
        summaries = {n: s(float(np.sqrt(v.mean())), 100) for n, v in equal.items()}
        fresh.append(choose(summaries, {}, cs, best).champion)
        kept.append(choose(summaries, {}, cs, best, incumbent="equal2").champion == "equal2")
    assert len(set(fresh)) >= 3  # without an incumbent the crown moves with the noise
    assert sum(kept) >= 15, sum(kept)


# --- the rule's variants, on evidence with a known right answer ------------------------------------

def test_with_no_evidence_stale_informed_picks_the_cheapest_strategy_that_learns_not_none():
    """Before the second batch every strategy deployed the base model: the set holds them all and
    nothing tells them apart. `stale: allow` takes the cheapest, the stale `none`; `informed`, finetune;
    `last` takes none only when nothing that learns is in the set."""
    tied = {name: v | {"deployed_rmse": 1.0} for name, v in SUMMARIES.items()}
    everyone = sets(*SUMMARIES)
    assert choose(tied, BASELINES, everyone, RULE, informed=False).champion == "none"
    learns = choose(tied, BASELINES, everyone, dataclasses.replace(RULE, stale="informed"), informed=False)
    assert learns.champion == "finetune" and "nothing tells them apart" in learns.why
    assert choose(tied, BASELINES, everyone, dataclasses.replace(RULE, stale="informed")).champion == "none"  # informed
    last = dataclasses.replace(RULE, stale="last")
    assert choose(SUMMARIES, BASELINES, sets("none", "finetune", "retrain"), last).champion == "finetune"
    assert choose(SUMMARIES, BASELINES, sets("none", "linear"), last).champion == "none"  # nothing learns in the set


def test_yield_gives_way_to_a_cheaper_member_as_good_as_the_incumbent():
    """retrain, the incumbent, and finetune are both in the set: `keep` keeps retrain, `yield` takes
    finetune (cheaper), and a dearer pick never displaces a cheaper incumbent."""
    inside = sets("finetune", "replay", "retrain")
    assert choose(SUMMARIES, BASELINES, inside, RULE, incumbent="retrain").champion == "retrain"
    moved = choose(SUMMARIES, BASELINES, inside, dataclasses.replace(RULE, hysteresis="yield"), incumbent="retrain")
    assert moved.champion == "finetune" and not moved.kept and "but finetune is cheaper" in moved.why
    best = dataclasses.replace(RULE, choose="best", hysteresis="yield")
    assert choose(SUMMARIES, BASELINES, inside, best, incumbent="finetune").champion == "finetune"  # retrain: dearer
    assert choose(SUMMARIES, BASELINES, inside, dataclasses.replace(RULE, hysteresis="off"),
                  incumbent="retrain").champion == "finetune"


def test_margin_takes_the_cheapest_member_close_enough_to_the_best():
    """retrain 0.99, replay 1.00 (+1.0%), finetune 1.01 (+2.0%) in the set."""
    inside = sets("finetune", "replay", "retrain")
    assert choose(SUMMARIES, BASELINES, inside, dataclasses.replace(RULE, choose="margin", margin=0.015)
                  ).champion == "replay"
    assert choose(SUMMARIES, BASELINES, inside, dataclasses.replace(RULE, choose="margin", margin=0.025)
                  ).champion == "finetune"
    assert choose(SUMMARIES, BASELINES, inside, dataclasses.replace(RULE, choose="margin", margin=0.0)
                  ).champion == "retrain"


def test_a_baseline_alone_in_the_set_is_crowned_when_baselines_are_candidates():
    alone = sets("linear")
    got = choose(SUMMARIES, BASELINES, alone, dataclasses.replace(RULE, candidates="all"))
    assert got.champion == "linear" and got.baseline and got.in_set and "a baseline" in got.why
    behind = choose(SUMMARIES, BASELINES, alone, RULE)  # not a candidate: the best strategy, marked behind
    assert behind.champion == "retrain" and not behind.baseline and not behind.in_set
    # in the set beside strategies, a baseline is the cheapest (no training)
    assert choose(SUMMARIES, BASELINES, sets("linear", "finetune"), dataclasses.replace(RULE, candidates="all")
                  ).champion == "linear"


E = np.array([[2.0, 5.0, 6.0],
              [2.2, 2.5, 5.5],
              [2.1, 2.4, 3.0]])


def test_forgetting_is_a_share_of_the_error_and_free_of_units():
    assert forgetting_share(E) == pytest.approx(((2.1 - 2.0) + (2.4 - 2.5)) / (2.0 + 2.5))
    in_celsius = E * 5 / 9  # the same errors in other units: RMSE scales, an offset cancels
    assert forgetting_share(in_celsius) == pytest.approx(forgetting_share(E))
    assert forgetting_share(E[:1, :1]) is None


def test_the_same_data_in_two_units_gives_the_same_eligibility():
    forgetful = E.copy()
    forgetful[2, :2] *= 1.2  # the final model is 20% worse on the old batches than when it learned them
    rule = dataclasses.replace(RULE, choose="best", max_forgetting=0.05)
    picks = []
    for unit in (1.0, 5 / 9):
        summaries = {name: summarize(m * unit, m * unit, [10, 10]) | {"deployed_rmse": d * unit}
                     for name, m, d in (("steady", E, 1.1), ("forgetful", forgetful, 1.0))}
        got = choose(summaries, {}, ConfidenceSet({"steady": 1.0, "forgetful": 1.0}, 0.9, 500, HORIZON), rule)
        picks.append((got.champion, got.excluded_for_forgetting))
    assert picks[0] == picks[1] == ("steady", ("forgetful",))


# --- walking forward ----------------------------------------------------------------------------

def cells(rng: np.random.Generator, sizes: list[int], scale: float) -> list[WindowLosses]:
    out = []
    for n in sizes:
        sq = dependent_losses(rng, n, scale)
        out.append(WindowLosses(sq, np.sqrt(sq), {}))
    return out


def evidence(scales: dict[str, list[float]], seed: int = 0) -> Evidence:
    """Three update batches of 400 deployed windows; each strategy's loss scale per batch."""
    rng = np.random.default_rng(seed)
    sizes = [400, 400, 400]
    matrix = np.full((4, 4), 1.0)
    tracks = {}
    for i, (name, by_batch) in enumerate(scales.items()):
        deployed = [cells(rng, [n], k)[0] for n, k in zip(sizes, by_batch)]
        tracks[name] = Track(matrix + 0.01 * i, matrix, deployed, [50] * 4, {}, [0, 0, 0] if name == "none" else
                             [100 * (i + 1)] * 3)
    base = {"seasonal_naive": Track(np.full(4, 3.0), np.full(4, 2.0), cells(rng, sizes, 9.0), [50] * 4)}
    return Evidence(tracks, base, ["base", "b1", "b2", "b3"])


def test_the_walk_forward_never_uses_the_batch_it_is_scored_on():
    before = evidence({"none": [1.0, 1.0, 1.0], "finetune": [1.0, 1.0, 1.0], "retrain": [1.0, 1.0, 1.0]})
    walk = walk_forward(before, RULE, HORIZON, seed=5)
    assert [t.name for t in walk.history] == ["b2", "b3", "next"]
    after = evidence({"none": [1.0, 1.0, 1.0], "finetune": [1.0, 1.0, 1.0], "retrain": [1.0, 1.0, 1.0]})
    after.strategies["none"].deployed[2] = WindowLosses(after.strategies["none"].deployed[2].sq * 50, np.ones(400))
    after.strategies["none"].rmse[3, :] = 99.0  # the model after the last step, on every batch
    again = walk_forward(after, RULE, HORIZON, seed=5)
    for a, b in zip(walk.history[:2], again.history[:2]):  # the picks for b2 and b3 cannot see batch 3
        assert a.choice == b.choice and a.evidence == b.evidence
    assert walk.history[1].choice.champion == "none"  # equal losses: the cheapest, never updating
    assert again.history[1].deployed_rmse > 5 * walk.history[1].deployed_rmse  # it is scored on batch 3
    assert again.history[2].choice.champion != "none"  # and the champion now knows


def test_the_rule_and_the_fixed_policies_are_scored_on_the_same_windows():
    ev = evidence({"none": [3.0, 3.0, 3.0], "finetune": [1.0, 1.0, 1.0], "retrain": [1.0, 1.0, 1.0]}, seed=2)
    walk = walk_forward(ev, RULE, HORIZON, seed=5)
    picks = [t.choice.champion for t in walk.history]
    assert picks[0] == "finetune"  # batch 1 already shows none behind: the cheapest of the rest
    scored = [t for t in walk.history if t.deployed_rmse is not None]
    losses = np.concatenate([ev.strategies[t.choice.champion].deployed[t.batch - 1].sq for t in scored])
    assert walk.policies["rule"]["deployed_rmse"] == pytest.approx(float(np.sqrt(losses.mean())))
    assert walk.policies["rule"]["windows"] == walk.policies["retrain"]["windows"] == 800
    retrain = np.concatenate([ev.strategies["retrain"].deployed[t - 1].sq for t in (2, 3)])
    assert walk.policies["retrain"]["deployed_rmse"] == pytest.approx(float(np.sqrt(retrain.mean())))
    assert walk.policies["retrain"]["windows_seen"] == 300 * 2  # the steps that made the deployed models
    assert walk.policies["rule"]["windows_seen"] == 200 * 2
    assert walk.policies["none"]["windows_seen"] == 0


def test_the_walk_forward_starts_with_a_learning_strategy_and_can_follow_a_baseline():
    """`stale: informed`: the first pick (batch 1 alone: every strategy deployed the same model) is the
    cheapest that learns; with baselines as candidates, a ridge far ahead of every strategy is
    followed, and scored, as any pick; the ridge is one of the fixed policies."""
    ev = evidence({"none": [1.0, 1.0, 1.0], "finetune": [1.0, 1.0, 1.0], "retrain": [1.0, 1.0, 1.0]}, seed=4)
    for track in ev.strategies.values():  # one base model deployed on batch 1: the same losses
        track.deployed[0] = ev.strategies["none"].deployed[0]
    first = walk_forward(ev, dataclasses.replace(RULE, stale="informed"), HORIZON, seed=5).history[0]
    assert first.choice.champion == "finetune" and first.windows_seen == 200  # finetune: 200 a step
    assert walk_forward(ev, RULE, HORIZON, seed=5).history[0].choice.champion == "none"
    rng = np.random.default_rng(9)
    ev.baselines["linear"] = Track(np.full((4, 4), 0.5), np.full((4, 4), 0.5), cells(rng, [400] * 3, 0.2), [50] * 4)
    walk = walk_forward(ev, dataclasses.replace(RULE, candidates="all"), HORIZON, seed=5)
    assert [t.choice.champion for t in walk.history] == ["linear"] * 3 and walk.final.choice.baseline
    assert walk.policies["rule"]["deployed_rmse"] == pytest.approx(walk.policies["linear"]["deployed_rmse"])
    assert walk.policies["rule"]["windows_seen"] == walk.policies["linear"]["windows_seen"] == 0


def test_pooled_figures_weigh_every_window_alike():
    a = WindowLosses(np.array([1.0, 4.0]), np.array([1.0, 2.0]), {"80": {"coverage": 0.5, "width": 2.0,
                                                                          "interval_score": 3.0}})
    b = WindowLosses(np.array([9.0]), np.array([3.0]), {"80": {"coverage": 1.0, "width": 5.0, "interval_score": 6.0}})
    got = pooled([a, b])
    assert got["deployed_rmse"] == pytest.approx(np.sqrt(14.0 / 3)) and got["deployed_windows"] == 3
    assert got["deployed_mae"] == pytest.approx(2.0) and got["deployed_coverage_80"] == pytest.approx(2 / 3)
    assert pooled([])["deployed_rmse"] is None
    assert WindowLosses.from_record(a.record()).record() == a.record()


def test_several_targets_keep_each_ones_figures_beside_the_pooled_ones():
    """Three targets: each window's loss pools them, and each target's own RMSE and MAE over all
    windows of all cells come out in its units (the pooled MSE is their MSEs' mean)."""
    from lstm_utils.windows import Windows

    rng = np.random.default_rng(3)
    values = rng.normal(size=(60, 3)).astype(np.float32) * np.array([1.0, 10.0, 100.0], dtype=np.float32)
    index = pd.date_range("2024-01-01", periods=60, freq="h", tz="UTC")
    windows = Windows(values, np.arange(8, 50), 8, 4, np.array([0, 1, 2]), index)
    pred = windows.targets() + rng.normal(size=(len(windows), 4, 3)).astype(np.float32) * [1, 2, 3]
    cells = [WindowLosses.of(windows.subset(slice(0, 30)), pred[:30]), WindowLosses.of(windows.subset(slice(30, None)),
                                                                                         pred[30:])]
    diff = pred.astype(np.float64) - windows.targets().astype(np.float64)
    got = pooled(cells)
    assert got["deployed_rmse_by_target"] == pytest.approx(np.sqrt((diff ** 2).mean(axis=(0, 1))).tolist(), rel=1e-12)
    assert got["deployed_mae_by_target"] == pytest.approx(np.abs(diff).mean(axis=(0, 1)).tolist(), rel=1e-12)
    assert got["deployed_rmse"] ** 2 == pytest.approx(np.mean(np.square(got["deployed_rmse_by_target"])), rel=1e-12)
    back = WindowLosses.from_record(cells[0].record())
    assert back.record() == cells[0].record() and back.targets_sq.shape == (3,)
    single = Windows(values[:, :1], np.arange(8, 50), 8, 4, np.array([0]), index)
    record = WindowLosses.of(single, pred[:, :, :1]).record()
    assert "targets_sq" not in record and "deployed_rmse_by_target" not in pooled([WindowLosses.from_record(record)])


def test_panel_losses_pool_per_forecast_origin_and_keep_the_mean():
    from lstm_utils.decide import by_origin

    losses = {"a": np.array([1.0, 3.0, 2.0, 6.0, 5.0]), "b": np.array([0.0, 1.0, 1.0, 1.0, 2.0])}
    origins = np.array([20, 10, 10, 30, 20])  # two series' windows, not in time order
    rows = by_origin(losses, origins)
    factor = 3 / 5  # three times, five windows
    assert np.allclose(rows["a"], np.array([3.0 + 2.0, 1.0 + 5.0, 6.0]) * factor)  # times 10, 20, 30
    assert np.allclose(rows["b"], np.array([2.0, 2.0, 1.0]) * factor)
    assert all(np.isclose(rows[k].mean(), losses[k].mean()) for k in losses)  # the ordering by RMSE stays


def test_with_origins_the_set_bootstraps_the_times_and_still_counts_the_windows(equal_and_worse):
    from lstm_utils.decide import by_origin

    per_time = equal_and_worse
    series = 5  # five series see the same times: each window's loss is its time's, with its own noise
    rng = np.random.default_rng(3)
    losses = {k: np.repeat(v, series) * rng.uniform(0.9, 1.1, len(v) * series) for k, v in per_time.items()}
    origins = np.repeat(np.arange(len(next(iter(per_time.values())))) * 3600, series)
    pooled_set = confidence_set(losses, 0.9, HORIZON, 0, origins=origins)
    assert pooled_set.pvalues == confidence_set(by_origin(losses, origins), 0.9, HORIZON, 0).pvalues
    assert pooled_set.windows == len(origins) and pooled_set.times == len(origins) // series  # every window counts
    assert confidence_set(losses, 0.9, HORIZON, 0).times == 0  # windows themselves: one series
    assert "worse" not in pooled_set


def test_several_series_windows_record_their_origins_and_one_series_records_none():
    import pandas as pd

    from lstm_utils.constants import SERIES
    from lstm_utils.windows import make_windows

    index = pd.date_range("2024-03-30", periods=60, freq="h", tz="Europe/Paris", name="t")  # across a DST change
    values = np.sin(np.arange(60) / 5.0)
    one = pd.DataFrame({"y": values}, index=index)
    two = pd.concat([one.assign(**{SERIES: "a"}), (one * 2).assign(**{SERIES: "b"})])
    w = make_windows(two, ["y"], ["y"], 12, 6)
    got = WindowLosses.of(w, np.zeros((len(w), 6, 1), dtype=np.float32))
    first = w.index[w.starts]
    assert list(got.origins) == [int(t.timestamp()) for t in first] and len(set(got.origins)) == len(w) // 2
    assert np.array_equal(WindowLosses.from_record(got.record()).origins, got.origins)
    single = WindowLosses.of(make_windows(one, ["y"], ["y"], 12, 6), np.zeros((43, 6, 1), dtype=np.float32))
    assert single.origins is None and "origins" not in single.record()  # one series: records as before


def test_the_trees_alone_in_the_set_are_never_crowned_and_the_best_strategy_is_marked_behind_them():
    """LightGBM is no Keras model: no models/champion.keras can hold it, so it is not a candidate."""
    with_trees = BASELINES | {"trees": {"deployed_rmse": 0.8}}
    alone = ConfidenceSet({n: 0.5 if n == "trees" else 0.01 for n in [*SUMMARIES, *with_trees]}, 0.9, 1000, HORIZON)
    got = choose(SUMMARIES, with_trees, alone, dataclasses.replace(RULE, candidates="all"))
    assert got.champion == "retrain" and not got.baseline and got.behind == "trees"

"""From error matrices to decisions: summaries, the champion rule, the metrics file, the table and
the words of the verdict."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from lstm_utils import compare
from lstm_utils.config import CompareParams
from lstm_utils.decide import ConfidenceSet, Choice, WalkForward, Turn, choose
from lstm_utils.summary import summarize, summarize_baseline
from lstm_utils.compare import table
from tiny_project import STRATEGIES as NAMES

# E[t][k]: model after step t on batch k's test tail; values chosen so every mean is exact
RMSE = np.array([[1.00, 4.00, 8.00],
                 [1.50, 2.00, 6.00],
                 [1.75, 2.50, 3.00]])
MAE = np.array([[0.50, 3.00, 7.00],
                [1.00, 1.50, 5.00],
                [1.25, 2.00, 2.50]])
WINDOWS = [100, 300]
SUMMARY_KEYS = {"new_rmse", "new_mae", "old_rmse", "forgetting", "forgetting_share", "forward_rmse", "windows_seen"}


def summary(new_rmse, forgetting, forward_rmse=None, **more) -> dict:
    """A strategy's summary; `forgetting` is its share (rank_by new_rmse unless the rule says other)."""
    return {"new_rmse": new_rmse, "new_mae": None if new_rmse is None else new_rmse / 2, "old_rmse": 1.0,
            "forgetting": forgetting, "forgetting_share": forgetting, "forward_rmse": forward_rmse,
            "windows_seen": 10} | more


def test_summarize_exact_values():
    s = summarize(RMSE, MAE, WINDOWS)
    assert set(s) == SUMMARY_KEYS
    assert s["new_rmse"] == (2.00 + 3.00) / 2  # diagonal, t >= 1
    assert s["new_mae"] == (1.50 + 2.50) / 2
    assert s["old_rmse"] == 1.75  # final model on the base period
    assert s["forgetting"] == ((1.75 - 1.00) + (2.50 - 2.00)) / 2  # E[T][k] - E[k][k], k < T
    assert s["forgetting_share"] == ((1.75 - 1.00) + (2.50 - 2.00)) / (1.00 + 2.00)  # as a share of E[k][k]
    assert s["forward_rmse"] == (4.00 + 6.00) / 2  # E[t-1][t]
    assert s["windows_seen"] == 400 and isinstance(s["windows_seen"], int)


def test_summarize_counts_the_windows_behind_its_figures():
    from lstm_utils.evaluation import WindowLosses

    deployed = [WindowLosses(np.full(5, 4.0), np.full(5, 2.0)), WindowLosses(np.full(15, 16.0), np.full(15, 4.0))]
    s = summarize(RMSE, MAE, WINDOWS, deployed=deployed, test_windows=[60, 40, 30])
    assert s["new_windows"] == 70  # the test tails of batches 1 and 2
    assert s["deployed_windows"] == 20 and s["deployed_rmse"] == pytest.approx(math.sqrt((5 * 4 + 15 * 16) / 20))
    assert s["deployed_mae"] == pytest.approx((5 * 2 + 15 * 4) / 20)


def test_summarize_one_step_and_no_step():
    s = summarize(RMSE[:2, :2], MAE[:2, :2], [7])
    assert (s["new_rmse"], s["old_rmse"], s["forgetting"], s["forward_rmse"]) == (2.0, 1.5, 0.5, 4.0)
    none = summarize(RMSE[:1, :1], MAE[:1, :1], [])
    assert none["new_rmse"] is None and none["forgetting"] is None and none["forward_rmse"] is None
    assert none["forgetting_share"] is None
    assert none["old_rmse"] == 1.0 and none["windows_seen"] == 0


def test_summarize_skips_batches_without_test_windows():
    rmse = RMSE.copy()
    rmse[1, 1] = np.nan  # batch 1 had no test windows: its column is NaN
    rmse[2, 1] = rmse[0, 1] = np.nan
    s = summarize(rmse, MAE, WINDOWS)
    assert s["new_rmse"] == 3.0
    assert s["forgetting"] == 0.75
    assert s["forward_rmse"] == 6.0


def test_summarize_baseline():
    s = summarize_baseline({"rmse": [1.0, 2.0, 4.0], "mae": [0.5, 1.0, 2.0]})
    assert s == {"new_rmse": 3.0, "new_mae": 1.5, "old_rmse": 1.0}


RULE = CompareParams(rank_by="new_rmse", choose="best", confidence=0.9, max_forgetting=0.05, min_windows=100)


def everyone(*names: str) -> ConfidenceSet:
    """A confidence set that keeps every name given (nothing told apart)."""
    return ConfidenceSet({n: 1.0 for n in names}, 0.9, 1000, 24)


def champion(summaries: dict[str, dict], rule: CompareParams = RULE) -> tuple[str, str]:
    """The rule's pick when the evidence tells nobody apart."""
    got = choose(summaries, {}, everyone(*summaries), rule)
    return got.champion, got.why


def test_champion_is_the_lowest_figure_among_the_eligible():
    best, why = champion({"a": summary(2.0, 0.01), "b": summary(1.5, 0.04), "c": summary(1.8, -0.2)})
    assert best == "b"
    assert "1.500" in why and "excluded" not in why


def test_champion_excludes_large_forgetting_even_with_the_lowest_error():
    summaries = {"forgetful": summary(0.5, 0.3), "steady": summary(1.0, 0.02), "shaky": summary(0.9, 0.051)}
    best, why = champion(summaries)
    assert best == "steady"
    assert "excluded for forgetting more than 5%: forgetful, shaky" in why


def test_champion_boundary_forgetting_is_eligible():
    assert champion({"edge": summary(1.0, 0.05), "other": summary(1.1, 0.0)})[0] == "edge"


def test_champion_falls_back_to_all_when_none_qualifies():
    best, why = champion({"a": summary(2.0, 1.0), "b": summary(1.5, 2.0)})
    assert best == "b"
    assert "every strategy in the set forgot more than 5%, so all of them were considered" in why


def test_a_strategy_in_the_set_beats_a_steady_one_outside_it():
    """Forgetting narrows the choice among the strategies the evidence keeps; it never crowns one the
    evidence left out."""
    summaries = {"none": summary(3.0, 0.0, windows_seen=0), "learns": summary(1.0, 0.3, windows_seen=50)}
    cs = ConfidenceSet({"none": 0.0, "learns": 1.0}, 0.9, 700, 24)
    got = choose(summaries, {}, cs, dataclasses.replace(RULE, choose="cheapest"))
    assert got.champion == "learns" and got.in_set
    assert "every strategy in the set forgot more than 5%" in got.why


def test_champion_ranks_by_forward_rmse_when_asked():
    summaries = {"a": summary(1.0, 0.0, forward_rmse=3.0), "b": summary(2.0, 0.0, forward_rmse=2.5)}
    assert champion(summaries)[0] == "a"
    best, why = champion(summaries, dataclasses.replace(RULE, rank_by="forward_rmse"))
    assert best == "b"
    assert "forward_rmse" in why and "2.500" in why


def test_champion_ties_go_to_the_first_name():
    summaries = {"zeta": summary(1.0, 0.0), "alpha": summary(1.0, 0.01), "mid": summary(1.0, 0.0)}
    assert champion(summaries)[0] == "alpha"


def test_champion_without_steps_is_none():
    summaries = {s: summary(None, None) for s in NAMES}
    best, why = champion(summaries)
    assert best == "none"
    assert "no update step" in why


def test_champion_missing_forgetting_counts_as_none():
    # a strategy with steps but no old-batch test windows has no forgetting figure
    assert champion({"a": summary(1.0, None), "b": summary(1.2, 0.0)})[0] == "a"


# --- reports/metrics.json -----------------------------------------------------------------

def six_results() -> dict[str, dict]:
    """What stages.champion.load_results returns (the parts `metrics` reads), for every strategy."""
    out = {}
    for i, s in enumerate(NAMES):
        rmse, mae = RMSE + 0.125 * i, MAE + 0.125 * i
        out[s] = {"strategy": s, "rmse": rmse, "mae": mae, "summary": summarize(rmse, mae, WINDOWS)}
    return out


def baseline_summaries() -> dict[str, dict]:
    return {"persistence": summarize_baseline({"rmse": [1.0, 2.0, 4.0], "mae": [0.5, 1.0, 2.0]}),
            "seasonal_naive": summarize_baseline({"rmse": [1.5, 2.5, 3.5], "mae": [1.0, 1.5, 2.5]})}


def walked(best: str, pvalues: dict[str, float]) -> WalkForward:
    """A walk forward of one pick (one update step): `best`, on a confidence set with these p-values."""
    cs = ConfidenceSet(pvalues, 0.9, 700, 24)
    turn = Turn(2, "next", Choice(best, "because"), cs, None, 0, 10)
    return WalkForward([turn], {"rule": {"deployed_rmse": 1.0, "windows": 700, "windows_seen": 10}})


def test_metrics_schema():
    from lstm_utils.stages.champion import metrics

    results = six_results()
    best, _ = champion({s: r["summary"] for s, r in results.items()}, RULE)
    pvalues = {s: 0.5 for s in NAMES} | {"persistence": 0.01, "seasonal_naive": 0.2}
    content = metrics(results, baseline_summaries(), walked(best, pvalues))
    assert set(content) >= {"champion", "why", "strategies", "baselines", "confidence_set", "walk_forward"}
    assert content["champion"] == best == "none"  # the lowest errors (offset 0), forgetting 0.5 > 5% for all
    assert list(content["strategies"]) == list(NAMES)
    for s, values in content["strategies"].items():
        assert set(values) >= SUMMARY_KEYS | {"mcs_pvalue", "in_mcs"}, s
        assert values["new_rmse"] == results[s]["summary"]["new_rmse"]
        assert values["mcs_pvalue"] == 0.5 and values["in_mcs"] is True
    assert set(content["baselines"]) == {"persistence", "seasonal_naive"}
    for name, values in content["baselines"].items():
        assert set(values) >= {"new_rmse", "old_rmse", "mcs_pvalue", "in_mcs"}, name
    assert content["baselines"]["persistence"]["new_rmse"] == 3.0
    assert content["baselines"]["persistence"]["in_mcs"] is False
    assert content["baselines"]["seasonal_naive"]["old_rmse"] == 1.5
    assert content["confidence_set"] == {"confidence": 0.9, "windows": 700, "block": 24,
                                         "members": [*sorted(NAMES), "seasonal_naive"]}
    assert content["walk_forward"]["history"]["next"]["champion"] == "none"


def test_metrics_are_plain_json():
    import json

    from lstm_utils.stages.champion import metrics

    content = metrics(six_results(), baseline_summaries(), walked("replay", {s: 1.0 for s in NAMES}))
    back = json.loads(json.dumps(content, allow_nan=False))
    assert back == content


# --- the table ----------------------------------------------------------------------------

def test_table_sorts_by_the_deployed_error_and_includes_baselines():
    summaries = {"finetune": summary(2.0, 0.1, deployed_rmse=2.2, deployed_windows=700, new_windows=90),
                 "retrain": summary(1.0, 0.0, deployed_rmse=1.1, deployed_windows=700, new_windows=90),
                 "none": summary(3.0, 0.0, deployed_rmse=3.3, deployed_windows=700, new_windows=90)}
    baselines = {"persistence": {"new_rmse": 2.5, "old_rmse": 2.0, "deployed_rmse": 2.75, "deployed_windows": 700},
                 "seasonal_naive": {"new_rmse": 1.5, "old_rmse": 1.0, "deployed_rmse": 1.65, "deployed_windows": 700}}
    cs = ConfidenceSet({"finetune": 0.5, "retrain": 1.0, "none": 0.02, "persistence": 0.0, "seasonal_naive": 0.3},
                       0.9, 700, 24)
    t = table(summaries, baselines, cs, min_windows=100)
    assert t.index.name == "forecaster"
    assert t.index.tolist() == ["retrain", "seasonal_naive (baseline)", "finetune", "persistence (baseline)", "none"]
    assert t["deployed_rmse"].tolist() == [1.1, 1.65, 2.2, 2.75, 3.3]
    assert list(t.columns) == compare.COLUMNS + ["few windows"]
    assert t.loc["finetune", "forgetting_share"] == 0.1
    assert t.loc["none", "mcs_pvalue"] == 0.02 and not t.loc["none", "in_set"] and t.loc["finetune", "in_set"]
    assert t.loc["retrain", "few windows"] == "new_rmse on 90 windows"  # 90 test-tail windows < 100
    assert t.loc["persistence (baseline)", "few windows"] == ""
    assert "few windows" not in table(summaries, baselines, cs, min_windows=90).columns  # shown where one is few
    assert math.isnan(float(t.loc["persistence (baseline)", "forgetting_share"]))
    assert t.round(3).loc["retrain", "deployed_rmse"] == 1.1  # numeric columns: the notebook rounds them


def test_narrative_names_the_champions_gap_and_the_gain_over_none():
    summaries = {"none": summary(3.0, 0.0), "retrain": summary(1.0, 0.0, windows_seen=100),
                 "replay": summary(1.5, 0.25, windows_seen=20)}
    baselines = {"persistence": {"new_rmse": 2.5, "new_mae": 2.0, "old_rmse": 2.0}}
    text = compare.narrative(summaries, baselines, "retrain", "new_rmse")
    assert "Its new-period RMSE, 1.000, is 60.00% below the best baseline's (persistence, 2.500)" in text
    assert "| replay | the usual winner in continual learning | 2 of 3 | +50.0% | 20% | +25.0% |" in text
    assert "| none | nothing changed in the data | 3 of 3 | +200.0% | 10% | +0.0% |" in text
    assert "never updating (none) is +200.0% behind the best strategy; the new periods did drift" in text
    assert "here it ranks 2 of 3 (holds)" in text
    assert "no strategy came within 5% of retrain's new-period RMSE" in text


def test_the_verdict_says_what_the_evidence_tells_apart_and_whether_updating_pays():
    summaries = {"none": summary(3.0, 0.0, deployed_rmse=3.0, deployed_windows=700, new_windows=90),
                 "finetune": summary(1.5, 0.0, deployed_rmse=1.5, deployed_windows=700, new_windows=90, windows_seen=20),
                 "retrain": summary(1.4, 0.0, deployed_rmse=1.4, deployed_windows=700, new_windows=90,
                                    windows_seen=100)}
    baselines = {"linear": {"deployed_rmse": 1.6, "deployed_windows": 700}}
    rule = dataclasses.replace(RULE, rank_by="deployed_rmse", choose="cheapest")
    cs = ConfidenceSet({"none": 0.004, "finetune": 0.6, "retrain": 1.0, "linear": 0.2}, 0.9, 700, 24)
    choice = choose(summaries, baselines, cs, rule)
    text = compare.verdict(summaries, baselines, choice, cs, rule)
    assert text.startswith("**Champion: finetune**: the cheapest of the 2 strategies in the 90% confidence set")
    assert ("**Cannot be told apart** on 700 deployed windows (the 90% confidence set; stationary bootstrap, blocks "
            "of 24 windows on average): retrain (p = 1.00), finetune (p = 0.60), linear (baseline) (p = 0.20).") in text
    assert "**Worse**, beyond noise: none (p = 0.004, deployed_rmse 3.000)." in text
    assert "**Updating pays**: never updating (`none`) left the set (p = 0.004)." in text
    assert ("**Figures on few windows** (fewer than `compare.min_windows`, 100): none: new_rmse on 90 windows; "
            "finetune: new_rmse on 90 windows; retrain: new_rmse on 90 windows.") in text
    kept = ConfidenceSet({"none": 0.3, "finetune": 0.6, "retrain": 1.0, "linear": 0.2}, 0.9, 700, 24)
    words = compare.verdict(summaries, baselines, choose(summaries, baselines, kept, rule), kept, rule)
    assert "**Champion: none**" in words and "**Updating does not pay here, as far as the evidence can tell**" in words
    panel = dataclasses.replace(cs, times=140)  # several series: the bootstrap drew forecast times
    assert ("on 700 deployed windows (the 90% confidence set; stationary bootstrap of the 140 forecast times, each "
            "pooling the windows of every series that start then, blocks of 24 times on average)") in \
        compare.verdict(summaries, baselines, choice, panel, rule)


def test_the_verdict_says_plainly_when_a_baseline_beats_every_strategy():
    summaries = {"none": summary(3.0, 0.0, deployed_rmse=3.0), "finetune": summary(1.5, 0.0, deployed_rmse=1.5)}
    baselines = {"linear": {"deployed_rmse": 1.2}}
    rule = dataclasses.replace(RULE, rank_by="deployed_rmse", choose="cheapest")
    cs = ConfidenceSet({"none": 0.0, "finetune": 0.05, "linear": 1.0}, 0.9, 700, 24)
    choice = choose(summaries, baselines, cs, rule)
    assert choice.champion == "finetune" and not choice.in_set
    text = compare.verdict(summaries, baselines, choice, cs, rule)
    assert ("**No strategy is in the confidence set: linear beats them all** on the deployed windows; the champion "
            "is +25.0% behind it. Use linear, or give the LSTM more data or other settings.") in text


def test_when_a_baseline_is_champion_the_verdict_says_the_lstm_does_not_pay_and_what_to_use():
    summaries = {"none": summary(3.0, 0.0, deployed_rmse=3.0), "finetune": summary(1.25, 0.0, deployed_rmse=1.25)}
    baselines = {"linear": {"deployed_rmse": 1.3}, "persistence": {"deployed_rmse": 4.0}}
    rule = dataclasses.replace(RULE, rank_by="deployed_rmse", choose="cheapest", candidates="all")
    cs = ConfidenceSet({"none": 0.0, "finetune": 0.6, "linear": 1.0, "persistence": 0.0}, 0.9, 700, 24)
    choice = choose(summaries, baselines, cs, rule)
    assert choice.champion == "linear" and choice.baseline and choice.in_set
    text = compare.verdict(summaries, baselines, choice, cs, rule)
    assert ("**The LSTM does not pay on this data: use the ridge (the linear baseline, refit on every batch).** "
            "It forecasts as well as any update strategy (it is in the confidence set); the best strategy, "
            "finetune, is -3.8% against it") in text
    assert "`models/champion.keras` is the ridge" in text


def test_the_verdict_says_why_the_champion_is_not_the_cheapest_member_of_the_set():
    summaries = {"finetune": summary(1.3, 0.0, deployed_rmse=1.3, windows_seen=100),
                 "retrain": summary(1.2, 0.0, deployed_rmse=1.2, windows_seen=5000)}
    cs = ConfidenceSet({"finetune": 0.5, "retrain": 1.0}, 0.9, 700, 24)
    rule = dataclasses.replace(RULE, rank_by="deployed_rmse", choose="best")
    choice = choose(summaries, {}, cs, rule)
    assert choice.champion == "retrain"
    text = compare.verdict(summaries, {}, choice, cs, rule)
    assert ("It is not the cheapest member of the set: finetune saw 100 training windows against its 5,000, and "
            "the evidence cannot tell them apart. `compare.choose: best` takes the lowest deployed RMSE in the "
            "set") in text and "Set `compare.choose: cheapest` to take finetune." in text
    cheapest = dataclasses.replace(rule, choose="cheapest")
    assert "not the cheapest" not in compare.verdict(summaries, {}, choose(summaries, {}, cs, cheapest), cs, cheapest)


@pytest.mark.parametrize("linear, words", [
    (3.5, "Every strategy beats the linear baseline (a ridge regression on the same windows, refit at every step: "
          "3.500) by new-period RMSE, the champion by 71.4%"),
    (2.5, "Behind the linear baseline (a ridge regression on the same windows, refit at every step: 2.500) by "
          "new-period RMSE: none (+20.0%); the other strategies beat it."),
    (0.5, "**The LSTM does not beat the linear baseline (a ridge regression on the same windows, refit at every "
          "step: 0.500) on your data**: no compared strategy has a lower new-period RMSE (retrain (+100.0%), "
          "replay (+200.0%), none (+500.0%))."),
])
def test_the_verdict_says_whether_the_lstm_beats_the_linear_baseline(linear, words):
    summaries = {"none": summary(3.0, 0.0), "retrain": summary(1.0, 0.0, windows_seen=100),
                 "replay": summary(1.5, 0.25, windows_seen=20)}
    baselines = {"linear": {"new_rmse": linear, "new_mae": 1.0, "old_rmse": 2.0}}
    text = compare.narrative(summaries, baselines, "retrain", "new_rmse")
    assert words in text


def test_the_verdict_says_when_the_champion_is_behind_the_linear_baseline_but_another_strategy_is_not():
    summaries = {"none": summary(3.0, 0.0), "retrain": summary(1.0, 0.0, windows_seen=100),
                 "replay": summary(1.5, 0.25, windows_seen=20)}
    baselines = {"linear": {"new_rmse": 1.2, "new_mae": 1.0, "old_rmse": 2.0}}
    text = compare.narrative(summaries, baselines, "replay", "new_rmse")
    assert ("**The champion does not beat the linear baseline (a ridge regression on the same windows, refit at "
            "every step: 1.200) on your data** (replay (+25.0%), none (+150.0%) behind it); retrain has a lower "
            "new-period RMSE") in text


# --- intervals --------------------------------------------------------------------------------

COVER = {"80": {"coverage": np.array([[0.8, 0.5, 0.2], [0.8, 0.7, 0.4], [0.9, 0.8, 0.6]]),
                "width": np.full((3, 3), 2.0), "interval_score": RMSE * 3}}


def test_summarize_adds_each_levels_new_period_coverage_width_and_score():
    s = summarize(RMSE, MAE, WINDOWS, COVER)
    assert set(s) == SUMMARY_KEYS | {"new_coverage_80", "new_width_80", "new_interval_score_80"}
    assert s["new_coverage_80"] == pytest.approx((0.7 + 0.6) / 2)  # the diagonal, t >= 1, like new_rmse
    assert s["new_width_80"] == 2.0 and s["new_interval_score_80"] == pytest.approx(3 * (2.0 + 3.0) / 2)


def test_summarize_baseline_with_intervals():
    s = summarize_baseline({"rmse": [1.0, 2.0, 4.0], "mae": [0.5, 1.0, 2.0],
                            "intervals": {"95": {"coverage": [0.5, 0.9, 1.0], "width": [1.0, 2.0, 3.0],
                                                 "interval_score": [9.0, 3.0, 5.0]}}})
    assert s["new_coverage_95"] == pytest.approx(0.95)
    assert s["new_width_95"] == 2.5 and s["new_interval_score_95"] == 4.0


def test_metrics_keep_the_baselines_interval_keys():
    from lstm_utils.stages.champion import metrics

    base = baseline_summaries() | {"seasonal_naive": baseline_summaries()["seasonal_naive"]
                                   | {"new_coverage_80": 0.9, "new_width_80": 3.0, "new_interval_score_80": 4.0}}
    content = metrics(six_results(), base, walked("none", {"none": 1.0}))
    assert content["baselines"]["seasonal_naive"]["new_coverage_80"] == 0.9
    assert content["baselines"]["seasonal_naive"]["new_interval_score_80"] == 4.0


def test_champion_can_rank_by_an_interval_score():
    summaries = {"finetune": summary(1.0, 0.0, new_interval_score_95=9.0),
                 "replay": summary(2.0, 0.0, new_interval_score_95=7.0)}
    best, why = champion(summaries, dataclasses.replace(RULE, rank_by="new_interval_score_95"))
    assert best == "replay" and "lowest new_interval_score_95 (7.000)" in why


def test_interval_table_and_verdict_say_whose_intervals_held():
    summaries = {"finetune": summary(1.0, 0.0, new_coverage_80=0.62, new_width_80=2.0, new_interval_score_80=9.0),
                 "replay": summary(2.0, 0.0, new_coverage_80=0.83, new_width_80=3.0, new_interval_score_80=5.0),
                 "retrain": summary(2.0, 0.0, new_coverage_80=0.97, new_width_80=6.0, new_interval_score_80=7.0)}
    naive = {"seasonal_naive": {"new_coverage_80": 0.8, "new_width_80": 9.0, "new_interval_score_80": 12.0}}
    frame = compare.interval_table(summaries, naive)
    assert list(frame.columns) == ["coverage 80", "width 80", "interval_score 80", "deployed coverage 80"]
    assert list(frame.index) == ["replay", "retrain", "finetune", "seasonal_naive (baseline)"]  # best score first
    words = compare.interval_verdict(summaries, naive)
    assert "held for replay (83%)" in words
    assert "Did not hold for finetune (62%): too narrow" in words
    assert "Held but wider than needed for retrain (97%)" in words
    assert "Best interval score: replay (5.00; seasonal naive 12.00)" in words
    assert words in compare.narrative(summaries, naive, "replay", "new_rmse")
    assert "No strategy's intervals held" in compare.interval_verdict({"finetune": summaries["finetune"]}, naive)


def test_too_few_calibration_windows_give_the_message_and_one_mark_not_a_verdict():
    inf = math.inf
    summaries = {"finetune": summary(1.0, 0.0, new_coverage_95=1.0, new_width_95=inf, new_interval_score_95=inf,
                                     new_coverage_80=0.8, new_width_80=2.0, new_interval_score_80=4.0),
                 "replay": summary(2.0, 0.0, new_coverage_95=1.0, new_width_95=inf, new_interval_score_95=inf,
                                   new_coverage_80=0.9, new_width_80=3.0, new_interval_score_80=5.0)}
    naive = {"seasonal_naive": {"new_coverage_95": 1.0, "new_width_95": inf, "new_interval_score_95": inf}}
    words = compare.interval_verdict(summaries, naive)
    assert ("**95% intervals**: Too few calibration windows for 95% intervals (split conformal needs at least 19): "
            "raise `intervals.calibration_batches`") in words
    assert "The intervals of finetune, replay are the whole line, so no verdict is given on them" in words
    assert "No strategy's intervals held" not in words and "Held but wider than needed" not in words.split("**95%")[1]
    assert "held for finetune (80%)" in words  # the 80% level had enough windows
    frame = compare.interval_table(summaries, naive)
    assert frame[["width 95", "interval_score 95"]].isna().all().all()  # one mark, for strategies and baselines
    assert not np.isinf(frame.to_numpy(dtype=float)).any()


def test_fewest_calibration_windows_per_level():
    from lstm_utils.intervals import conformal_rank, fewest_windows

    for level in (0.5, 0.8, 0.9, 0.95, 0.99):
        n = fewest_windows(level)
        assert conformal_rank(n, level) <= n and conformal_rank(n - 1, level) > n - 1
    assert (fewest_windows(0.8), fewest_windows(0.95)) == (4, 19)


def test_the_champion_history_says_why_each_pick_was_kept_or_changed():
    from lstm_utils.decide import WalkForward

    cs = lambda **p: ConfidenceSet(p, 0.9, 700, 24)  # noqa: E731
    history = [Turn(2, "b2", Choice("none", "first"), cs(none=0.5, finetune=1.0), 3.0, 700, 0),
               Turn(3, "b3", Choice("none", "kept", kept=True), cs(none=0.4, finetune=1.0), 3.2, 690, 0),
               Turn(4, "next", Choice("finetune", "moved"), cs(none=0.01, finetune=1.0), None, 0, 120)]
    got = compare.history_table(WalkForward(history))
    assert got["pick"].tolist() == ["first pick", "kept: still in the set", "changed: none left the set"]
    assert got["left out of the set"].tolist() == ["-", "-", "none"]
    assert got["windows"].tolist()[:2] == [700, 690] and got["windows"].isna().tolist()[2]
    more = [Turn(2, "b2", Choice("retrain", "first"), cs(retrain=0.5, finetune=1.0), 3.0, 700, 0),
            Turn(3, "b3", Choice("finetune", "cheaper", yielded=True), cs(retrain=0.5, finetune=1.0), 3.0, 700, 0),
            Turn(4, "b4", Choice("finetune", "behind", in_set=False, behind="linear"), cs(finetune=0.01), 3.0, 700, 0),
            Turn(5, "b5", Choice("finetune", "again"), cs(finetune=1.0), 3.0, 700, 0)]
    assert compare.history_table(WalkForward(more))["pick"].tolist() == [
        "first pick", "changed: finetune is cheaper", "again: no strategy in the set, linear ahead", "picked again"]


def test_the_linear_words_say_the_design_chosen_and_when_a_refit_changed_it():
    record = {"designs": ["relative", "absolute", "absolute", "both"], "penalties": [1000.0, 10.0, 10.0, 1.0],
              "batches": ["base", "2013-07", "2013-08", "2013-09"]}
    text = compare.linear_words(record, "all")
    assert "**relative** (penalty 1000) on the base period" in text
    assert "then **absolute** (penalty 10) from 2013-07, **both** (penalty 1) from 2013-09." in text
    assert "2013-08" not in text  # no change there
    assert "in-sample for the linear part" in text and "forecast before any learning" in text
    kept = compare.linear_words(record | {"designs": ["absolute"] * 4}, "train")
    assert "kept at every refit" in kept and "out of sample for every model" in kept and "in-sample" not in kept

"""From error matrices to decisions: summaries, the champion rule, the metrics file, the table."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lstm_utils import compare
from lstm_utils.compare import champion, summarize, summarize_baseline, table
from lstm_utils.config import CompareParams
from tiny_project import STRATEGIES as NAMES

# E[t][k]: model after step t on batch k's test tail; values chosen so every mean is exact
RMSE = np.array([[1.00, 4.00, 8.00],
                 [1.50, 2.00, 6.00],
                 [1.75, 2.50, 3.00]])
MAE = np.array([[0.50, 3.00, 7.00],
                [1.00, 1.50, 5.00],
                [1.25, 2.00, 2.50]])
WINDOWS = [100, 300]
SUMMARY_KEYS = {"new_rmse", "new_mae", "old_rmse", "forgetting", "forward_rmse", "windows_seen"}


def summary(new_rmse, forgetting, forward_rmse=None, **more) -> dict:
    return {"new_rmse": new_rmse, "new_mae": None if new_rmse is None else new_rmse / 2, "old_rmse": 1.0,
            "forgetting": forgetting, "forward_rmse": forward_rmse, "windows_seen": 10} | more


def test_summarize_exact_values():
    s = summarize(RMSE, MAE, WINDOWS)
    assert set(s) == SUMMARY_KEYS
    assert s["new_rmse"] == (2.00 + 3.00) / 2  # diagonal, t >= 1
    assert s["new_mae"] == (1.50 + 2.50) / 2
    assert s["old_rmse"] == 1.75  # final model on the base period
    assert s["forgetting"] == ((1.75 - 1.00) + (2.50 - 2.00)) / 2  # E[T][k] - E[k][k], k < T
    assert s["forward_rmse"] == (4.00 + 6.00) / 2  # E[t-1][t]
    assert s["windows_seen"] == 400 and isinstance(s["windows_seen"], int)


def test_summarize_one_step_and_no_step():
    s = summarize(RMSE[:2, :2], MAE[:2, :2], [7])
    assert (s["new_rmse"], s["old_rmse"], s["forgetting"], s["forward_rmse"]) == (2.0, 1.5, 0.5, 4.0)
    none = summarize(RMSE[:1, :1], MAE[:1, :1], [])
    assert none["new_rmse"] is None and none["forgetting"] is None and none["forward_rmse"] is None
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


RULE = CompareParams(rank_by="new_rmse", max_forgetting=0.5)


def test_champion_is_the_lowest_new_rmse_among_the_eligible():
    best, why = champion({"a": summary(2.0, 0.1), "b": summary(1.5, 0.4), "c": summary(1.8, -0.2)}, RULE)
    assert best == "b"
    assert "1.500" in why and "excluded" not in why


def test_champion_excludes_large_forgetting_even_with_the_lowest_error():
    summaries = {"forgetful": summary(0.5, 3.0), "steady": summary(1.0, 0.2), "shaky": summary(0.9, 0.51)}
    best, why = champion(summaries, RULE)
    assert best == "steady"
    assert "excluded for forgetting: forgetful, shaky" in why


def test_champion_boundary_forgetting_is_eligible():
    best, _ = champion({"edge": summary(1.0, 0.5), "other": summary(1.1, 0.0)}, RULE)
    assert best == "edge"


def test_champion_falls_back_to_all_when_none_qualifies():
    best, why = champion({"a": summary(2.0, 1.0), "b": summary(1.5, 2.0)}, RULE)
    assert best == "b"
    assert "no strategy kept its forgetting under 0.5" in why


def test_champion_ranks_by_forward_rmse_when_asked():
    summaries = {"a": summary(1.0, 0.0, forward_rmse=3.0), "b": summary(2.0, 0.0, forward_rmse=2.5)}
    assert champion(summaries, RULE)[0] == "a"
    best, why = champion(summaries, CompareParams(rank_by="forward_rmse", max_forgetting=0.5))
    assert best == "b"
    assert "forward_rmse" in why and "2.500" in why


def test_champion_ties_go_to_the_first_name():
    summaries = {"zeta": summary(1.0, 0.0), "alpha": summary(1.0, 0.1), "mid": summary(1.0, 0.0)}
    assert champion(summaries, RULE)[0] == "alpha"


def test_champion_without_steps_is_none():
    summaries = {s: summary(None, None) for s in NAMES}
    best, why = champion(summaries, RULE)
    assert best == "none"
    assert "no update step" in why


def test_champion_missing_forgetting_counts_as_none():
    # a strategy with steps but no old-batch test windows has no forgetting figure
    assert champion({"a": summary(1.0, None), "b": summary(1.2, 0.0)}, RULE)[0] == "a"


# --- reports/metrics.json -----------------------------------------------------------------

def six_results() -> dict[str, dict]:
    """What stages.load_results returns (the parts `metrics` reads), for every strategy."""
    out = {}
    for i, s in enumerate(NAMES):
        rmse, mae = RMSE + 0.125 * i, MAE + 0.125 * i
        out[s] = {"strategy": s, "rmse": rmse, "mae": mae, "summary": summarize(rmse, mae, WINDOWS)}
    return out


def baseline_summaries() -> dict[str, dict]:
    return {"persistence": summarize_baseline({"rmse": [1.0, 2.0, 4.0], "mae": [0.5, 1.0, 2.0]}),
            "seasonal_naive": summarize_baseline({"rmse": [1.5, 2.5, 3.5], "mae": [1.0, 1.5, 2.5]})}


def test_metrics_schema():
    from lstm_utils.stages import metrics

    results = six_results()
    best, _ = champion({s: r["summary"] for s, r in results.items()}, RULE)
    content = metrics(results, baseline_summaries(), best)
    assert set(content) >= {"champion", "strategies", "baselines"}
    assert content["champion"] == best == "none"  # the lowest errors (offset 0), forgetting 0.625 > 0.5 for all
    assert list(content["strategies"]) == list(NAMES)
    for s, values in content["strategies"].items():
        assert set(values) >= SUMMARY_KEYS, s
        assert values["new_rmse"] == results[s]["summary"]["new_rmse"]
    assert set(content["baselines"]) == {"persistence", "seasonal_naive"}
    for name, values in content["baselines"].items():
        assert set(values) >= {"new_rmse", "old_rmse"}, name
    assert content["baselines"]["persistence"]["new_rmse"] == 3.0
    assert content["baselines"]["seasonal_naive"]["old_rmse"] == 1.5


def test_metrics_are_plain_json():
    import json

    from lstm_utils.stages import metrics

    content = metrics(six_results(), baseline_summaries(), "replay")
    back = json.loads(json.dumps(content, allow_nan=False))
    assert back == content


# --- the table ----------------------------------------------------------------------------

def test_table_sorts_by_new_rmse_and_includes_baselines():
    summaries = {"finetune": summary(2.0, 0.1), "retrain": summary(1.0, 0.0), "none": summary(3.0, 0.0)}
    baselines = {"persistence": {"new_rmse": 2.5, "new_mae": 2.0, "old_rmse": 2.0},
                 "seasonal_naive": {"new_rmse": 1.5, "new_mae": 1.0, "old_rmse": 1.0}}
    t = table(summaries, baselines)
    assert t.index.name == "forecaster"
    assert t.index.tolist() == ["retrain", "seasonal_naive (baseline)", "finetune", "persistence (baseline)", "none"]
    assert t["new_rmse"].tolist() == [1.0, 1.5, 2.0, 2.5, 3.0]
    assert list(t.columns) == ["new_rmse", "new_mae", "old_rmse", "forgetting", "forward_rmse", "windows_seen"]
    assert t.loc["finetune", "forgetting"] == 0.1
    assert math.isnan(float(t.loc["persistence (baseline)", "forgetting"]))
    assert t.round(3).loc["retrain", "new_rmse"] == 1.0  # numeric columns: the notebook rounds them


def test_narrative_names_the_champion_and_the_gain_over_none():
    summaries = {"none": summary(3.0, 0.0), "retrain": summary(1.0, 0.0, windows_seen=100),
                 "replay": summary(1.5, 0.25, windows_seen=20)}
    baselines = {"persistence": {"new_rmse": 2.5, "new_mae": 2.0, "old_rmse": 2.0}}
    text = compare.narrative(summaries, baselines, "retrain", "because")
    assert text.startswith("**Champion: retrain**: because.")
    assert "is 60.0% below the best baseline (persistence, 2.500)" in text
    assert "| replay | the usual winner in continual learning | 2 of 3 | +50.0% | 20% | +0.250 |" in text
    assert "| none | nothing changed in the data | 3 of 3 | +200.0% | 10% | +0.000 |" in text
    assert "never updating (none) is +200.0% behind the best strategy; the new periods did drift" in text
    assert "here it ranks 2 of 3 (holds)" in text
    assert "no strategy came within 5% of retrain's new-period RMSE" in text


@pytest.mark.parametrize("rank_by", ["new_rmse", "forward_rmse"])
def test_champion_is_one_of_the_given_strategies(rank_by):
    results = six_results()
    best, _ = champion({s: r["summary"] for s, r in results.items()}, CompareParams(rank_by, 10.0))
    assert best == "none"  # offset 0 gives every error its lowest value; ties broken by name don't apply


@pytest.mark.parametrize("linear, words", [
    (3.5, "Every strategy beats the linear baseline (a ridge regression on the same windows, refit at every step: "
          "3.500) on the new periods, the champion by 71.4%"),
    (2.5, "Behind the linear baseline (a ridge regression on the same windows, refit at every step: 2.500) on the "
          "new periods: none (+20.0%); the other strategies beat it."),
    (0.5, "**The LSTM does not beat the linear baseline (a ridge regression on the same windows, refit at every "
          "step: 0.500) on your data**: no compared strategy does better on the new periods (retrain (+100.0%), "
          "replay (+200.0%), none (+500.0%))."),
])
def test_the_verdict_says_whether_the_lstm_beats_the_linear_baseline(linear, words):
    summaries = {"none": summary(3.0, 0.0), "retrain": summary(1.0, 0.0, windows_seen=100),
                 "replay": summary(1.5, 0.25, windows_seen=20)}
    baselines = {"linear": {"new_rmse": linear, "new_mae": 1.0, "old_rmse": 2.0}}
    text = compare.narrative(summaries, baselines, "retrain", "because")
    assert words in text


def test_the_verdict_says_when_the_champion_is_behind_the_linear_baseline_but_another_strategy_is_not():
    summaries = {"none": summary(3.0, 0.0), "retrain": summary(1.0, 0.0, windows_seen=100),
                 "replay": summary(1.5, 0.25, windows_seen=20)}
    baselines = {"linear": {"new_rmse": 1.2, "new_mae": 1.0, "old_rmse": 2.0}}
    text = compare.narrative(summaries, baselines, "replay", "because")
    assert ("**The champion does not beat the linear baseline (a ridge regression on the same windows, refit at "
            "every step: 1.200) on your data** (replay (+25.0%), none (+150.0%) behind it); retrain does better on "
            "the new periods") in text


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
    from lstm_utils.stages import metrics

    base = baseline_summaries() | {"seasonal_naive": baseline_summaries()["seasonal_naive"]
                                   | {"new_coverage_80": 0.9, "new_width_80": 3.0, "new_interval_score_80": 4.0}}
    content = metrics(six_results(), base, "none")
    assert content["baselines"]["seasonal_naive"]["new_coverage_80"] == 0.9
    assert content["baselines"]["seasonal_naive"]["new_interval_score_80"] == 4.0


def test_champion_can_rank_by_an_interval_score():
    summaries = {"finetune": summary(1.0, 0.0, new_interval_score_95=9.0),
                 "replay": summary(2.0, 0.0, new_interval_score_95=7.0)}
    best, why = champion(summaries, CompareParams(rank_by="new_interval_score_95", max_forgetting=0.5))
    assert best == "replay" and "lowest new_interval_score_95 (7.000)" in why


def test_interval_table_and_verdict_say_whose_intervals_held():
    summaries = {"finetune": summary(1.0, 0.0, new_coverage_80=0.62, new_width_80=2.0, new_interval_score_80=9.0),
                 "replay": summary(2.0, 0.0, new_coverage_80=0.83, new_width_80=3.0, new_interval_score_80=5.0),
                 "retrain": summary(2.0, 0.0, new_coverage_80=0.97, new_width_80=6.0, new_interval_score_80=7.0)}
    naive = {"seasonal_naive": {"new_coverage_80": 0.8, "new_width_80": 9.0, "new_interval_score_80": 12.0}}
    frame = compare.interval_table(summaries, naive)
    assert list(frame.columns) == ["coverage 80", "width 80", "interval_score 80"]
    assert list(frame.index) == ["replay", "retrain", "finetune", "seasonal_naive (baseline)"]  # best score first
    words = compare.interval_verdict(summaries, naive)
    assert "held for replay (83%)" in words
    assert "Did not hold for finetune (62%): too narrow" in words
    assert "Held but wider than needed for retrain (97%)" in words
    assert "Best interval score: replay (5.00; seasonal naive 12.00)" in words
    assert words in compare.narrative(summaries, naive, "replay", "lowest new_rmse")
    assert "No strategy's intervals held" in compare.interval_verdict({"finetune": summaries["finetune"]}, naive)

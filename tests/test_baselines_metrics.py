"""Naive baselines on constructed series, and RMSE / MAE on hand-made arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import make_frame
from lstm_utils.baselines import persistence, seasonal_naive
from lstm_utils.metrics import errors, mean_over_targets
from lstm_utils.splits import TRAIN
from lstm_utils.windows import make_windows


def row_index_windows(lookback: int, horizon: int, n: int = 20, slope: float = 10.0):
    """Inputs a = i and b = slope * i (default 10 i) in row i; the target is b."""
    i = np.arange(n, dtype="float64")
    frame = make_frame(np.column_stack([i, slope * i]), [0] * n, [TRAIN] * n)
    return make_windows(frame, ("a", "b"), ("b",), lookback, horizon)


def test_persistence_repeats_the_last_target_value():
    w = row_index_windows(lookback=6, horizon=6)
    assert w.starts.tolist() == list(range(6, 15))
    p = persistence(w)
    assert p.shape == (9, 6, 1)
    for k, i in enumerate(w.starts):
        assert p[k, :, 0].tolist() == [10.0 * (i - 1)] * 6


def test_seasonal_naive_with_horizon_longer_than_the_season():
    w = row_index_windows(lookback=6, horizon=6)
    s = seasonal_naive(w, season=4)
    assert s.shape == (9, 6, 1)
    for k, i in enumerate(w.starts):
        # steps 0..3 repeat rows i-4..i-1; steps 4, 5 (beyond one season) repeat rows i-4, i-3 again
        assert s[k, :, 0].tolist() == [10.0 * r for r in (i - 4, i - 3, i - 2, i - 1, i - 4, i - 3)]
    assert s[0, :, 0].tolist() == [20.0, 30.0, 40.0, 50.0, 20.0, 30.0]


def test_seasonal_naive_over_several_seasons_and_edge_cases():
    w = row_index_windows(lookback=6, horizon=5)
    s2 = seasonal_naive(w, season=2)
    i = w.starts[0]
    assert s2[0, :, 0].tolist() == [10.0 * r for r in (i - 2, i - 1, i - 2, i - 1, i - 2)]
    s6 = seasonal_naive(w, season=6)  # season == lookback: the first row of the window
    assert s6[0, :, 0].tolist() == [10.0 * r for r in (i - 6, i - 5, i - 4, i - 3, i - 2)]
    np.testing.assert_array_equal(seasonal_naive(w, season=1), persistence(w))


def test_seasonal_naive_needs_lookback_of_a_season():
    w = row_index_windows(lookback=3, horizon=2)
    with pytest.raises(ValueError, match=r"`window.lookback` \(3\) must be >= `baselines.season` \(4\)"):
        seasonal_naive(w, season=4)


def test_baseline_errors_on_a_linear_series():
    w = row_index_windows(lookback=6, horizon=6)
    _, y = w.arrays()
    persist = errors(y, persistence(w), ["b"])
    assert persist["windows"] == 9
    assert persist["mae_by_step"]["b"] == [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    assert persist["rmse_by_step"]["b"] == [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    assert persist["mae"]["b"] == 35.0
    seasonal = errors(y, seasonal_naive(w, 4), ["b"])
    assert seasonal["mae_by_step"]["b"] == [40.0, 40.0, 40.0, 40.0, 80.0, 80.0]
    assert seasonal["rmse"]["b"] == pytest.approx(math.sqrt((4 * 1600 + 2 * 6400) / 6), rel=1e-12)


def test_baseline_intervals_calibrated_on_one_set_and_scored_on_another():
    """Persistence's error at step h is slope * (h + 1) on every window: calibrated on a series of
    slope 5, its half-widths are 5 (h + 1); on slope 10 every value lies 5 (h + 1) outside."""
    from lstm_utils.scoring import baseline_errors

    test, calib = row_index_windows(6, 6), row_index_windows(6, 6, slope=5.0)
    got = baseline_errors([test, test], ["b"], 4, [calib, test], [0.8])
    p = got["persistence"]["intervals"]["80"]
    assert p["coverage"] == [0.0, 1.0]  # too narrow; then calibrated on the same errors (ties count as inside)
    assert p["width"] == [pytest.approx(35.0), pytest.approx(70.0)]  # mean of 2 * 5 (h + 1), of 2 * 10 (h + 1)
    assert p["interval_score"] == [pytest.approx(35.0 + 2 / 0.2 * 17.5), pytest.approx(70.0)]
    assert got["persistence"]["rmse"][0] == got["persistence"]["rmse"][1]  # errors themselves do not change
    assert set(got["seasonal_naive"]["intervals"]["80"]) == {"coverage", "width", "interval_score"}


def hand_made():
    y_true = np.zeros((2, 3, 2))
    y_pred = np.zeros((2, 3, 2))
    y_pred[:, :, 0] = [[1, -1, 3], [1, 1, -3]]  # errors of target x
    y_pred[:, :, 1] = [[2, 0, 0], [0, 0, -4]]  # errors of target y
    y_true += 5.0
    y_pred += 5.0
    return y_true, y_pred


def test_errors_per_target_and_per_step():
    y_true, y_pred = hand_made()
    out = errors(y_true, y_pred, ["x", "y"])
    assert out["windows"] == 2
    assert out["rmse"]["x"] == pytest.approx(math.sqrt(22 / 6), rel=1e-12)
    assert out["rmse"]["y"] == pytest.approx(math.sqrt(20 / 6), rel=1e-12)
    assert out["mae"] == {"x": pytest.approx(10 / 6, rel=1e-12), "y": pytest.approx(1.0, rel=1e-12)}
    assert out["rmse_by_step"]["x"] == pytest.approx([1.0, 1.0, 3.0], rel=1e-12)
    assert out["rmse_by_step"]["y"] == pytest.approx([math.sqrt(2), 0.0, math.sqrt(8)], rel=1e-12)
    assert out["mae_by_step"]["x"] == pytest.approx([1.0, 1.0, 3.0], rel=1e-12)
    assert out["mae_by_step"]["y"] == pytest.approx([1.0, 0.0, 2.0], rel=1e-12)
    assert all(isinstance(v, float) for v in out["rmse"].values())
    assert mean_over_targets(out["mae"]) == pytest.approx((10 / 6 + 1) / 2, rel=1e-12)


def test_errors_are_symmetric_and_computed_in_float64():
    y_true, y_pred = hand_made()
    a, b = errors(y_true, y_pred, ["x", "y"]), errors(y_pred, y_true, ["x", "y"])
    assert a["rmse"] == b["rmse"] and a["mae"] == b["mae"]
    big_true = np.full((1, 1, 1), 16_777_216.0, dtype=np.float32)  # 2**24: float32 steps of 2 above it
    big_pred = np.full((1, 1, 1), 16_777_218.0, dtype=np.float32)
    assert errors(big_true, big_pred, ["t"])["mae"]["t"] == 2.0


def test_errors_shape_mismatch_and_no_windows():
    with pytest.raises(ValueError, match="shapes differ"):
        errors(np.zeros((2, 3, 1)), np.zeros((2, 4, 1)), ["x"])
    empty = errors(np.zeros((0, 3, 1)), np.zeros((0, 3, 1)), ["x"])
    assert empty["windows"] == 0 and math.isnan(empty["rmse"]["x"]) and math.isnan(empty["mae"]["x"])


def test_against_baselines_says_which_it_beats_ties_and_trails():
    from lstm_utils.pages.base import against_baselines

    best = {"model": 5.0, "persistence": 6.0, "seasonal_naive": 4.0, "linear": 5.004}
    assert against_baselines(best) == ("the model beats persistence (-16.7%); ties linear; "
                                       "is behind seasonal_naive (+25.0%)")
    assert against_baselines({"model": 1.0}) == "the model has nothing to compare with"


def test_learning_curves_mark_the_starting_weights_when_no_epoch_beat_them():
    from lstm_utils.plots import learning_curves

    history = {"loss": [0.5, 0.4, 0.3], "val_loss": [0.31, 0.32, 0.33]}
    fig = learning_curves(history, best_epoch=0, start=0.30)
    kept = [line for line in fig.axes[0].lines if line.get_label() == "kept"][0]
    assert list(kept.get_xdata()) == [0] and list(kept.get_ydata()) == [0.30]
    fig = learning_curves(history, best_epoch=2, start=0.35)
    kept = [line for line in fig.axes[0].lines if line.get_label() == "kept"][0]
    assert list(kept.get_xdata()) == [2] and list(kept.get_ydata()) == [0.32]


def test_training_words_say_whether_the_lstm_improved_on_its_start_and_why_not():
    from lstm_utils.pages.base import training_words
    from lstm_utils.train import TrainResult

    kept = TrainResult({"loss": [0.1842, 0.1719], "val_loss": [0.2848, 0.2866]}, 1.0, 100, 2, 0, start_loss=0.2830)
    words = training_words(kept, patience=2)
    assert words.startswith("**The LSTM kept its start** (best epoch 0)") and "linear part's fit" in words
    assert "validation loss 0.2830" in words and "reached 0.2848 (+0.6%)" in words
    assert "0.1842 -> 0.1719" in words and "stopped after 2 epochs without improvement" in words
    assert "anchor alone" in training_words(kept, patience=2, linear=False)
    assert "all 2 epochs ran" in training_words(kept, patience=5)
    better = TrainResult({"loss": [0.2, 0.1], "val_loss": [0.25, 0.26]}, 1.0, 100, 2, 1, start_loss=0.30)
    assert training_words(better, patience=5) == ("**The LSTM improved on its start**: validation loss 0.3000 "
                                                  "before training, 0.2500 at epoch 1 of 2 (-16.7%), whose weights "
                                                  "are kept.")
    assert training_words(TrainResult({}, 0.0, 0, 0, 0), patience=5) == ""

"""Intervals: the conformal half-width (with its finite-sample correction), coverage, width and
the interval score, against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_utils.intervals import (bounds, calibrate, conformal_rank, coverage, half_widths, interval_score,
                                  width)


@pytest.mark.parametrize("n, level, rank", [
    (9, 0.8, 8),     # (9 + 1) * 0.8 = 8 exactly
    (10, 0.8, 9),    # 8.8 -> 9: one more than ceil(n * q) = 8, the finite-sample correction
    (99, 0.9, 90),   # 100 * 0.9 is 90.00000000000001 in floats: still rank 90
    (19, 0.95, 19),
    (18, 0.95, 19),  # more than 18 errors: too few for 95%
    (3, 0.5, 2),
])
def test_conformal_rank_is_the_ceiling_of_n_plus_one_times_the_level(n, level, rank):
    assert conformal_rank(n, level) == rank


def test_half_widths_per_horizon_step_and_target_from_known_errors():
    n = 9
    actual = np.zeros((n, 2, 2))
    forecast = np.zeros((n, 2, 2))
    errors = np.arange(1.0, n + 1)  # 1 .. 9, in shuffled order below
    order = np.array([4, 0, 8, 2, 6, 1, 7, 3, 5])
    forecast[:, 0, 0] = errors[order]           # step 1, target a: 1 .. 9
    forecast[:, 1, 0] = -10 * errors[order]     # step 2, target a: 10 .. 90, below the actual
    actual[:, 0, 1] = 3.0
    forecast[:, 0, 1] = 3.0 + 0.5 * errors      # step 1, target b: 0.5 .. 4.5
    # step 2, target b: every forecast exact
    hw = half_widths(actual, forecast, 0.8)  # rank ceil(10 * 0.8) = 8
    np.testing.assert_allclose(hw, [[8.0, 4.0], [80.0, 0.0]])
    hw = half_widths(actual, forecast, 0.5)  # rank 5
    np.testing.assert_allclose(hw, [[5.0, 2.5], [50.0, 0.0]])


def test_too_few_calibration_windows_give_an_infinite_half_width_never_a_narrower_one():
    actual, forecast = np.zeros((3, 1, 1)), np.array([1.0, 2.0, 3.0]).reshape(3, 1, 1)
    assert half_widths(actual, forecast, 0.5)[0, 0] == 2.0  # rank 2 of 3
    assert np.isinf(half_widths(actual, forecast, 0.8)[0, 0])  # rank 4 of 3
    assert np.isinf(half_widths(np.zeros((0, 2, 1)), np.zeros((0, 2, 1)), 0.5)).all()
    lower, upper = bounds(np.zeros((2, 1, 1)), half_widths(actual, forecast, 0.8))
    assert coverage(np.array([5.0, -1e9]).reshape(2, 1, 1), lower, upper) == 1.0


def test_calibrate_gives_one_half_width_table_per_level():
    actual, forecast = np.zeros((19, 3, 1)), np.arange(19.0).reshape(19, 1, 1) * np.ones((1, 3, 1))
    out = calibrate(actual, forecast, [0.8, 0.95])
    assert sorted(out) == [0.8, 0.95]
    np.testing.assert_allclose(out[0.8][:, 0], [15.0] * 3)   # rank 16 of errors 0 .. 18
    np.testing.assert_allclose(out[0.95][:, 0], [18.0] * 3)  # rank 19


def test_the_correction_makes_the_average_coverage_what_the_rank_says():
    """Exchangeable errors: the chance that a new error is within the rank-k smallest of n is
    k / (n + 1). With n = 10 and 80%, the corrected rank 9 covers 9/11 = 0.818 on average; the
    uncorrected rank ceil(n q) = 8 would cover 8/11 = 0.727, under the level."""
    rng = np.random.default_rng(0)
    trials, n = 4000, 10
    calibration = rng.standard_normal((trials, n))
    new = rng.standard_normal((trials, 50))
    hw = np.sort(np.abs(calibration), axis=1)[:, conformal_rank(n, 0.8) - 1]
    covered = (np.abs(new) <= hw[:, None]).mean()
    assert abs(covered - 9 / 11) < 0.01


def test_coverage_width_and_interval_score_by_hand():
    actual = np.array([[0.0, 2.0], [np.nan, -3.0], [1.0, 0.5]])  # (windows, steps); one missing
    lower = np.array([[-1.0, 0.0], [-1.0, -1.0], [0.0, 1.0]])
    upper = np.array([[1.0, 1.0], [1.0, 1.0], [2.0, 2.0]])
    # inside: (0 in [-1,1]) yes, (2 in [0,1]) no, (nan) left out, (-3 in [-1,1]) no, (1 in [0,2]) yes,
    # (0.5 in [1,2]) no
    assert coverage(actual, lower, upper) == pytest.approx(2 / 5)
    np.testing.assert_allclose(coverage(actual, lower, upper, axis=0), [2 / 2, 0 / 3])
    assert width(lower, upper) == pytest.approx((2 + 1 + 2 + 2 + 2 + 1) / 6)
    # level 0.8: 2 / (1 - 0.8) = 10 per unit outside
    scores = [2.0, 1 + 10 * 1.0, 2 + 10 * 2.0, 2.0, 1 + 10 * 0.5]  # the missing actual left out
    assert interval_score(actual, lower, upper, 0.8) == pytest.approx(np.mean(scores))
    np.testing.assert_allclose(interval_score(actual, lower, upper, 0.8, axis=0),
                               [np.mean([2.0, 2.0]), np.mean([11.0, 22.0, 6.0])])


def test_a_wider_interval_that_still_covers_scores_worse_and_a_missing_one_worse_still():
    actual = np.zeros(4)
    tight = interval_score(actual, actual - 1, actual + 1, 0.9)
    loose = interval_score(actual, actual - 3, actual + 3, 0.9)
    miss = interval_score(actual, actual + 0.5, actual + 1.0, 0.9)  # narrow, but off by 0.5 each
    assert tight == 2.0 and loose == 6.0 and miss == pytest.approx(0.5 + 20 * 0.5)


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5, -0.2])
def test_a_level_outside_zero_to_one_is_refused(level):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        conformal_rank(10, level)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        interval_score(np.zeros(1), np.zeros(1), np.ones(1), level)


def test_calibration_shapes_must_match():
    with pytest.raises(ValueError, match=r"\(windows, horizon, targets\)"):
        half_widths(np.zeros((3, 2, 1)), np.zeros((3, 2)), 0.8)


def test_the_module_examples_hold():
    import doctest

    from lstm_utils import intervals

    assert doctest.testmod(intervals).failed == 0


def test_a_forecast_leaves_out_the_bounds_of_a_level_with_too_few_calibration_windows_and_says_so():
    import pandas as pd

    from lstm_utils.forecast import with_bands

    index = pd.date_range("2020-01-01", periods=3, freq="h", tz="UTC")
    table = pd.DataFrame({"temp": [1.0, 2.0, 3.0]}, index=index)
    side = {"intervals": {"levels": [0.8, 0.95], "half_widths": {"80": {"temp": [0.5, 1.0, 1.5]},
                                                                   "95": {"temp": [None, None, None]}}}}
    out, note = with_bands(table, side)
    assert list(out.columns) == ["temp", "temp_lower_80", "temp_upper_80"]  # no -inf / inf columns
    assert out["temp_upper_80"].tolist() == [1.5, 3.0, 4.5]
    assert note == ("95% bounds left out: too few calibration windows for 95% intervals (split conformal needs at "
                    "least 19): raise `intervals.calibration_batches` or `split.val_fraction`, or lower "
                    "`window.horizon`")

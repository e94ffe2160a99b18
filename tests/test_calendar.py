"""Calendar inputs known ahead: values at known timestamps, holidays, and the horizon's steps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstm_utils.calendar import NAMES, ahead_of, columns, encode


def at(*times: str, tz: str = "UTC") -> pd.DatetimeIndex:
    return pd.DatetimeIndex(list(times), tz=tz)


def test_cycles_at_known_timestamps():
    t = at("2013-01-01 00:00", "2013-01-01 06:00", "2013-07-03 18:30")  # a Tuesday, then a Wednesday
    got = encode(t, ["hour", "weekday", "month", "yearday"])
    assert list(got.columns) == ["hour_sin", "hour_cos", "weekday_sin", "weekday_cos", "month_sin", "month_cos",
                                 "yearday_sin", "yearday_cos"]
    np.testing.assert_allclose(got["hour_sin"], [0.0, 1.0, np.sin(2 * np.pi * 18.5 / 24)], atol=1e-12)
    np.testing.assert_allclose(got["hour_cos"], [1.0, 0.0, np.cos(2 * np.pi * 18.5 / 24)], atol=1e-12)
    np.testing.assert_allclose(got["weekday_sin"], np.sin(2 * np.pi * np.array([1, 1, 2]) / 7), atol=1e-12)
    np.testing.assert_allclose(got["month_cos"], np.cos(2 * np.pi * np.array([0, 0, 6]) / 12), atol=1e-12)
    day = (183 + 18.5 / 24) / 365  # 3 July is day 184 of 2013
    np.testing.assert_allclose(got["yearday_sin"], [0.0, np.sin(2 * np.pi * 0.25 / 365), np.sin(2 * np.pi * day)],
                               atol=1e-12)


def test_cycles_close_over_midnight_and_new_year():
    late, early = encode(at("2012-12-31 23:00", "2013-01-01 00:00"), ["hour", "yearday"]).to_numpy()
    assert np.abs(late - early).max() < 0.3  # neighbours stay neighbours
    leap = encode(at("2012-12-31 00:00"), ["yearday"])  # 2012 has 366 days
    np.testing.assert_allclose(leap["yearday_sin"], np.sin(2 * np.pi * 365 / 366), atol=1e-12)


def test_us_federal_holidays_including_observed_days_in_local_time():
    t = at("2013-07-04 12:00", "2013-07-05 12:00", "2013-11-28 09:00", "2013-12-25 00:00", "2016-12-26 10:00",
           "2016-12-25 10:00")
    assert encode(t, ["us_federal_holidays"])["us_federal_holidays"].tolist() == [1.0, 0.0, 1.0, 1.0, 1.0, 0.0]
    # 02:00 UTC on 5 July is still 4 July in New York: the local date decides
    utc = at("2013-07-05 02:00")
    assert encode(utc, ["us_federal_holidays"]).iloc[0, 0] == 0.0
    assert encode(utc.tz_convert("America/New_York"), ["us_federal_holidays"]).iloc[0, 0] == 1.0


def test_each_row_carries_the_calendar_horizon_steps_later():
    rows = pd.date_range("2013-07-03 20:00", periods=3, freq="h", tz="UTC")  # 20:00, 21:00, 22:00 on the 3rd
    got = ahead_of(rows, ["hour", "us_federal_holidays"], 3, "h")  # 23:00 on the 3rd, 00:00 and 01:00 on the 4th
    assert list(got.index) == list(rows)
    assert got.columns.tolist() == ["hour_sin_ahead", "hour_cos_ahead", "us_federal_holidays_ahead"]
    assert got["us_federal_holidays_ahead"].tolist() == [0.0, 1.0, 1.0]
    np.testing.assert_allclose(got["hour_sin_ahead"], np.sin(2 * np.pi * np.array([23, 0, 1]) / 24), atol=1e-12)


def test_unknown_names_are_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match="unknown calendar input 'weekend'; known: hour, weekday"):
        encode(at("2013-01-01"), ["weekend"])
    assert columns(NAMES)[-1] == "us_federal_holidays" and len(columns(NAMES)) == 9


def test_the_modules_examples_hold():
    import doctest

    from lstm_utils import calendar

    assert doctest.testmod(calendar).failed == 0

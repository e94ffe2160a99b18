"""The season found in the data (`lstm_utils.season`): the cycle whose value one season back is
the closest, which `init` proposes and `validate` hints at."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd

from lstm_utils import season
from lstm_utils.season import hint, of_frame, strongest

HALF_HOUR = pd.Timedelta(minutes=30)


def demand(days: int, weekend: float, seed: int = 0) -> pd.Series:
    """Half-hourly values: a daily profile, a weekend `weekend` lower, a slow swing and noise."""
    times = pd.date_range("2024-01-01", periods=48 * days, freq="30min", tz="UTC")
    rng = np.random.default_rng(seed)
    daily = 20 * np.sin(2 * np.pi * (times.hour * 60 + times.minute) / 1440)
    swing = 3 * np.sin(2 * np.pi * np.arange(len(times)) / (48 * 23))  # weather: neither a day nor a week
    return pd.Series(100 + daily + swing + np.where(times.dayofweek >= 5, -weekend, 0.0)
                     + rng.normal(size=len(times)), index=times, name="demand")


def test_a_weekly_profile_makes_the_week_the_season_and_a_daily_one_the_day():
    weekly = strongest(demand(70, weekend=30), HALF_HOUR)
    assert (weekly.name, weekly.steps) == ("week", 336) and weekly.too_long == ("year",)
    assert weekly.measured["day"][1] > 1.5 * weekly.measured["week"][1]  # Mondays are not Sundays
    daily = strongest(demand(70, weekend=0), HALF_HOUR)
    assert (daily.name, daily.steps) == ("day", 48)  # the swing moves the week more than the day
    assert daily.words().startswith("the value a day back is the closest; a week back errs ")


def test_too_short_a_series_names_no_season_and_a_longer_cycle_waits_for_three_of_it():
    assert strongest(demand(2, weekend=30), HALF_HOUR) is None  # fewer than three days
    found = strongest(demand(10, weekend=30), HALF_HOUR)  # three days, not three weeks
    assert found.name == "day" and set(found.measured) == {"day"} and found.too_long == ("week", "year")


def test_validate_hints_at_the_season_the_targets_show_and_is_silent_when_it_is_set():
    frame = demand(70, weekend=30).to_frame()
    assert of_frame(frame, ["demand"], "30min").steps == 336
    line = hint(frame, ["demand"], "30min", season=48, lookback=96)
    assert "`baselines.season` is 48 steps (a day), but in the targets the value a week back is the closest" in line
    assert "consider `baselines.season: 336` and `window.lookback` at least 336" in line
    assert "and `window.lookback`" not in hint(frame, ["demand"], "30min", season=48, lookback=400)
    assert hint(frame, ["demand"], "30min", season=336, lookback=336) is None


def test_the_modules_examples_hold():
    assert doctest.testmod(season).failed == 0

"""Inputs known ahead: calendar encodings computed from the timestamps alone, so their values
are known for the forecast horizon as well as for the look-back.

Cyclic quantities are encoded as a sine and cosine pair, so that 23 h sits next to 0 h and
31 December next to 1 January: ``hour`` (of the day, minutes included), ``weekday`` (Monday 0),
``month`` (of the year) and ``yearday`` (day of the year, over 365 or 366 days). A holiday
calendar gives a 0/1 flag for every step whose local date is a public holiday: pandas ships
the US federal one (``us_federal_holidays``). Times are read in their own zone (the data's
`data.timezone`), so a local holiday is the local date.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from pandas.tseries.holiday import USFederalHolidayCalendar

CYCLES = ("hour", "weekday", "month", "yearday")  # each gives <name>_sin and <name>_cos
HOLIDAYS = {"us_federal_holidays": USFederalHolidayCalendar}  # each gives one 0/1 column of its name
NAMES = CYCLES + tuple(HOLIDAYS)


def columns(names: Sequence[str]) -> list[str]:
    """The columns :func:`encode` gives for `names`, in its order.

    Examples
    --------
    >>> columns(["hour", "us_federal_holidays"])
    ['hour_sin', 'hour_cos', 'us_federal_holidays']
    """
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise ValueError(f"unknown calendar input {unknown[0]!r}; known: {', '.join(NAMES)}")
    return [c for n in names for c in ((f"{n}_sin", f"{n}_cos") if n in CYCLES else (n,))]


def _phase(times: pd.DatetimeIndex, name: str) -> np.ndarray:
    """Where in its cycle each time lies, as a fraction in [0, 1)."""
    if name == "hour":
        return (times.hour + times.minute / 60) / 24
    if name == "weekday":
        return times.dayofweek / 7
    if name == "month":
        return (times.month - 1) / 12
    days = np.where(times.is_leap_year, 366, 365)
    return (times.dayofyear - 1 + (times.hour + times.minute / 60) / 24) / days


def encode(times: pd.DatetimeIndex, names: Sequence[str]) -> pd.DataFrame:
    """Calendar inputs for `times`: a sine and cosine per cycle, a 0/1 flag per holiday calendar
    (float64 columns named by :func:`columns`, indexed by `times`).

    Examples
    --------
    >>> t = pd.DatetimeIndex(["2013-07-04 06:00", "2013-07-05 18:00"], tz="America/New_York")
    >>> encode(t, ["hour", "us_federal_holidays"]).round(3).to_dict("list")
    {'hour_sin': [1.0, -1.0], 'hour_cos': [0.0, -0.0], 'us_federal_holidays': [1.0, 0.0]}
    """
    out = {}
    for name in names:
        if name in CYCLES:
            angle = 2 * np.pi * np.asarray(_phase(times, name), dtype=np.float64)
            out[f"{name}_sin"], out[f"{name}_cos"] = np.sin(angle), np.cos(angle)
        elif name in HOLIDAYS:
            local = times.tz_localize(None) if times.tz is not None else times
            days = local.normalize()
            if len(days):
                holidays = HOLIDAYS[name]().holidays(start=days.min(), end=days.max())
                out[name] = days.isin(holidays).astype(np.float64)
            else:
                out[name] = np.zeros(0)
        else:
            columns([name])  # raises, naming the known ones
    return pd.DataFrame(out, index=times, columns=columns(names))


AHEAD = "_ahead"  # a model input's suffix: the calendar `window.horizon` steps after the row


def ahead_columns(names: Sequence[str]) -> list[str]:
    """The model inputs `data.calendar` adds, in order: each column of :func:`columns`, `_ahead`.

    Examples
    --------
    >>> ahead_columns(["weekday"])
    ['weekday_sin_ahead', 'weekday_cos_ahead']
    """
    return [f"{c}{AHEAD}" for c in columns(names)]


def known_ahead(inputs: Sequence[str]) -> np.ndarray:
    """Which of the model's `inputs` are known ahead (the calendar's `_ahead` columns): a bool per
    input. They reach the LSTM and the linear path as they are, whatever `model.relative_inputs`
    says of the measured inputs: the LSTM must see where in the day and week the forecast starts.

    Examples
    --------
    >>> known_ahead(["temp", "hour_sin_ahead", "hour_cos_ahead"]).tolist()
    [False, True, True]
    """
    return np.array([str(c).endswith(AHEAD) for c in inputs], dtype=bool)


def ahead_of(index: pd.DatetimeIndex, names: Sequence[str], horizon: int, freq: str) -> pd.DataFrame:
    """For each row time, the calendar inputs of the time `horizon` steps of `freq` later
    (columns :func:`ahead_columns`, indexed by `index`).

    A window of look-back L ending at row i then carries, in its last `horizon` rows, the
    calendar of the `horizon` steps it forecasts, which are known before they happen: the hour,
    the weekday, and whether the day is a holiday. Each window stays one (lookback, inputs)
    array, so the model, its training and the linear part take them as any other input.

    Examples
    --------
    >>> t = pd.date_range("2013-07-03 22:00", periods=3, freq="h", tz="UTC")
    >>> ahead_of(t, ["us_federal_holidays"], 2, "h")["us_federal_holidays_ahead"].tolist()
    [1.0, 1.0, 1.0]
    """
    shift = pd.tseries.frequencies.to_offset(freq) * horizon
    table = encode(pd.DatetimeIndex(index) + shift, names)
    table.columns = ahead_columns(names)
    table.index = index
    return table

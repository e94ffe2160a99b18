"""The season found in the data: how alike a target is one day, one week and one year apart.

`init` proposes the strongest of these as `baselines.season` (seasonal naive, and the anchor of
`model.residual: season`), and `validate` says when the data's season is not the one set. Each
cycle is measured where the data holds at least :data:`MIN_SEASONS` of it, as what seasonal naive
would err with that season: the mean absolute difference between each value and the one a cycle
before, over the same rows for every cycle (those the longest measured one reaches back from),
each target's divided by its mean absolute difference from one step to the next, then meaned
over targets. The plain autocorrelation is misled by slow swings: on half-hourly demand it was
0.79 a day back against 0.75 a week back (Jan-Oct 2014), while the value a day back errs 7% more
than the value a week back, and more in nine months of twelve: Mondays are not Sundays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

CYCLES = (("day", pd.Timedelta(days=1)), ("week", pd.Timedelta(weeks=1)), ("year", pd.Timedelta(days=365)))
MIN_SEASONS = 3  # a cycle is measured only where the data holds this many of it


def cycles(step: pd.Timedelta) -> list[tuple[str, int]]:
    """The day, the week and the year in steps of `step`, those longer than one step (a month of
    about 30 days: the year as 12 steps; a week: 52).

    Examples
    --------
    >>> cycles(pd.Timedelta(minutes=30))
    [('day', 48), ('week', 336), ('year', 17520)]
    >>> cycles(pd.Timedelta(days=31))
    [('year', 12)]
    """
    if step >= pd.Timedelta(days=28):
        return [("year", 12)]
    if step == pd.Timedelta(weeks=1):
        return [("year", 52)]
    return [(name, int(span // step)) for name, span in CYCLES if span > step and span % step == pd.Timedelta(0)]


@dataclass(frozen=True)
class Found:
    """The strongest cycle the data allows, and every one measured."""

    name: str  # day, week or year
    steps: int
    measured: dict[str, tuple[int, float]]  # cycle -> (steps, seasonal naive's scaled error), each the data allows
    too_long: tuple[str, ...] = ()  # cycles the data is too short to measure

    def words(self) -> str:
        """The measurements in words, e.g. 'the value a week back is the closest; a day back errs
        1.07 x as much'."""
        best = self.measured[self.name][1]
        if best <= 0:
            return f"the values repeat exactly a {self.name} later"
        others = [f"a {name} back errs {e / best:.2f} x as much" for name, (_, e) in self.measured.items()
                  if name != self.name]
        return "; ".join([f"the value a {self.name} back is the closest", *others])


def strongest(values: pd.DataFrame | pd.Series, step: pd.Timedelta) -> Found | None:
    """The cycle of :func:`cycles` at which `values` (a regular series per column, in time order,
    `step` apart; gaps as NaN) are most alike (see the module's text); None when the data holds
    fewer than :data:`MIN_SEASONS` of the shortest one. On a tie, the shorter cycle."""
    frame = (values.to_frame() if isinstance(values, pd.Series) else values).astype("float64")
    allowed = [(name, lag) for name, lag in cycles(step) if len(frame) >= MIN_SEASONS * lag]
    too_long = tuple(name for name, _ in cycles(step) if name not in dict(allowed))
    if not allowed:
        return None
    longest = max(lag for _, lag in allowed)
    rows = slice(longest, None)  # the rows every measured cycle reaches back from
    scale = frame.diff().abs().iloc[rows].mean()  # one step to the next: each target's own units
    measured = {}
    for name, lag in allowed:
        err = ((frame - frame.shift(lag)).abs().iloc[rows].mean() / scale.where(scale > 0)).dropna()
        if len(err):
            measured[name] = (lag, float(err.mean()))
    if not measured:
        return None
    best = min(measured, key=lambda n: (measured[n][1], measured[n][0]))
    return Found(best, measured[best][0], measured, too_long)


def of_frame(frame: pd.DataFrame, targets: Sequence[str], freq: str) -> Found | None:
    """:func:`strongest` for the targets of a prepared frame (the first series where there are
    several), on its regular grid of `freq`."""
    from lstm_utils.constants import SERIES

    if SERIES in frame.columns:
        frame = frame[frame[SERIES] == frame[SERIES].iloc[0]]
    step = pd.Timedelta(pd.tseries.frequencies.to_offset(freq)) if _fixed(freq) else None
    if step is None:
        step = pd.Timedelta(days=30)  # a month or longer: the year in months
    return strongest(frame[list(targets)], step)


def _fixed(freq: str) -> bool:
    try:
        pd.Timedelta(pd.tseries.frequencies.to_offset(freq))
        return True
    except (ValueError, TypeError):
        return False


def hint(frame: pd.DataFrame, targets: Sequence[str], freq: str, season: int, lookback: int) -> str | None:
    """A line for `validate` when the data's closest cycle (:func:`of_frame`) is not
    `baselines.season`; None when it is, or when the data is too short to tell."""
    found = of_frame(frame, targets, freq)
    if found is None or found.steps == season:
        return None
    names = {lag: name for name, (lag, _) in found.measured.items()}
    now = f"{season} steps" + (f" (a {names[season]})" if season in names else "")
    room = "" if lookback >= found.steps else f" and `window.lookback` at least {found.steps}"
    return (f"`baselines.season` is {now}, but in the targets {found.words()}: consider `baselines.season: "
            f"{found.steps}`{room}, where each file's training part holds that look-back (`init` proposes it)")

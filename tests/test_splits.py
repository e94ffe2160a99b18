"""Splits: train|val|test tails per batch, and the prepared CSV files (exact, stable bytes)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from conftest import series_csv
from lstm_utils.config import SplitParams
from lstm_utils.ingest import ingest
from lstm_utils.splits import BATCH, SPLIT
from lstm_utils.splits import (TEST, TRAIN, VAL, assign_splits, batch_names, batches, read_prepared,
                               split_rows, write_prepared)

SPLIT_20_10 = SplitParams(base_batches=1, val_fraction=0.2, test_fraction=0.1)


@pytest.mark.parametrize("n, val, test, expected", [
    (100, 0.15, 0.15, (70, 85)),
    (10, 0.2, 0.1, (7, 9)),
    (20, 0.25, 0.25, (10, 15)),
    (7, 0.15, 0.15, (5, 6)),  # 1.05 rounds to 1 of each
    (3, 0.1, 0.1, (3, 3)),  # too short for a tail: no val, no test
    (4344, 0.15, 0.15, (3040, 3692)),  # the sample's base period: 651.6 -> 652 each
])
def test_split_rows(n, val, test, expected):
    assert split_rows(n, SplitParams(1, val, test)) == expected


def two_batches(tmp_path, data_params):
    """Batch 0: 20 rows (values 0..19); batch 1: 10 rows (100..109), one missing cell."""
    series_csv(tmp_path / "src" / "base.csv", "2020-01-01 00:00", [float(i) for i in range(20)],
               [i / 3 for i in range(20)])
    a = [100.0 + i for i in range(10)]
    b = [0.1 * i for i in range(10)]
    b[4] = None
    series_csv(tmp_path / "src" / "2020-01-b.csv", "2020-01-01 20:00", a, b)
    return ingest(tmp_path / "src", dataclasses.replace(data_params, max_fill=0), base_batches=1)


def test_assign_splits_gives_chronological_tails_per_batch(tmp_path, data_params):
    ds = two_batches(tmp_path, data_params)
    frame = assign_splits(ds, SPLIT_20_10)
    assert "split" not in ds.frame.columns  # the ingested frame itself is left alone
    expected = [TRAIN] * 14 + [VAL] * 4 + [TEST] * 2 + [TRAIN] * 7 + [VAL] * 2 + [TEST] * 1
    assert frame[SPLIT].tolist() == expected
    assert frame[BATCH].tolist() == [0] * 20 + [1] * 10
    pd.testing.assert_frame_equal(frame.drop(columns=SPLIT), ds.frame)
    bs = batches(frame, batch_names(ds))
    assert [(b.index, b.name, b.start, b.stop, b.val_start, b.test_start) for b in bs] == [
        (0, "base", 0, 20, 14, 18), (1, "2020-01-b", 20, 30, 27, 29)]
    assert bs[1].rows("train") == slice(20, 27)
    assert bs[1].rows("val") == slice(27, 29) and bs[1].rows("test") == slice(29, 30)
    # every tail is later than the train part of its batch
    assert frame["a"].iloc[bs[0].rows("val")].tolist() == [14.0, 15.0, 16.0, 17.0]
    assert frame["a"].iloc[bs[1].rows("test")].tolist() == [109.0]


def test_prepared_files_round_trip_exactly(tmp_path, data_params):
    ds = two_batches(tmp_path, data_params)
    paths = write_prepared(ds, SPLIT_20_10, tmp_path / "prepared")
    assert [p.name for p in paths] == ["00-base.csv", "01-2020-01-b.csv"]
    back, meta = read_prepared(paths)
    frame = assign_splits(ds, SPLIT_20_10)
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    assert back.index.equals(frame.index) and back.index.tz == frame.index.tz
    assert back.index.dtype == frame.index.dtype and back.index.freqstr == "h" and back.index.name == "t"
    x, y = back[["a", "b"]].to_numpy(), frame[["a", "b"]].to_numpy()
    assert np.array_equal(np.isnan(x), np.isnan(y)) and np.isnan(x).sum() == 1
    assert np.array_equal(x[~np.isnan(x)].view(np.int64), y[~np.isnan(y)].view(np.int64))  # bit-identical
    assert back[BATCH].dtype == np.int64 and back[SPLIT].dtype == np.int64
    assert (meta["timezone"], meta["freq"]) == ("UTC", "h")
    assert [e["rows"] for e in meta["batches"]] == [20, 10]
    # the same with the zone and frequency given by params instead of batches.json
    again, _ = read_prepared(paths, dataclasses.replace(data_params, max_fill=0))
    pd.testing.assert_frame_equal(again, frame, check_exact=True)
    # one batch alone, and the files given out of order
    base, _ = read_prepared(paths[:1])
    pd.testing.assert_frame_equal(base, frame.iloc[:20], check_exact=True)
    swapped, _ = read_prepared(paths[::-1])
    pd.testing.assert_frame_equal(swapped, frame, check_exact=True)


def test_prepared_round_trip_across_a_dst_change(tmp_path, data_params):
    # Europe/Berlin falls back on 2020-10-25: 02:00+02:00 then 02:00+01:00. As text those two sort
    # the wrong way round, so the reader must sort by time, not by the written string.
    data = dataclasses.replace(data_params, timezone="Europe/Berlin", max_fill=0)
    series_csv(tmp_path / "src" / "x1.csv", "2020-10-24 20:00", [float(i) for i in range(3)])
    series_csv(tmp_path / "src" / "x2.csv", "2020-10-24 23:00", [10.0 + i for i in range(3)])
    ds = ingest(tmp_path / "src", data, base_batches=1)
    assert [t.strftime("%H%z") for t in ds.frame.index[3:5]] == ["01+0200", "02+0200"]
    assert ds.frame.index[5].strftime("%H%z") == "02+0100"
    split = SplitParams(1, 0.2, 0.2)
    paths = write_prepared(ds, split, tmp_path / "prepared")
    back, _ = read_prepared(paths)
    pd.testing.assert_frame_equal(back, assign_splits(ds, split), check_exact=True)
    assert back["a"].tolist() == [0.0, 1.0, 2.0, 10.0, 11.0, 12.0]


def test_writing_twice_gives_identical_bytes(tmp_path, data_params):
    ds = two_batches(tmp_path, data_params)
    out = tmp_path / "prepared"
    write_prepared(ds, SPLIT_20_10, out)
    first = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert {"00-base.csv", "01-2020-01-b.csv", "batches.json"} <= set(first)
    write_prepared(ds, SPLIT_20_10, out)
    assert {p.name: p.read_bytes() for p in sorted(out.iterdir())} == first
    text = first["00-base.csv"].decode()
    assert text.startswith("t,a,b,batch,split\n2020-01-01T00:00:00+0000,0.0,0.0,0,0\n")
    assert "\r" not in text and "0.3333333333333333" in text  # full precision
    assert "\n2020-01-02T03:00:00+0000,107.0,0.7000000000000001,1,1\n" in first["01-2020-01-b.csv"].decode()


def test_a_later_csv_does_not_change_the_base_file(tmp_path, data_params):
    data = dataclasses.replace(data_params, max_fill=0)
    src, out = tmp_path / "src", tmp_path / "prepared"
    series_csv(src / "m1.csv", "2020-01-01 00:00", [float(i) for i in range(20)], [i / 7 for i in range(20)])
    write_prepared(ingest(src, data, base_batches=1), SPLIT_20_10, out)
    base = (out / "00-base.csv").read_bytes()
    base_json = (out / "00-base.json").read_bytes() if (out / "00-base.json").exists() else None
    # a new file after a two-hour gap, then another right after it
    series_csv(src / "m2.csv", "2020-01-01 22:00", [1.0, 2.0, 3.0, 4.0])
    series_csv(src / "m3.csv", "2020-01-02 02:00", [5.0, 6.0])
    paths = write_prepared(ingest(src, data, base_batches=1), SPLIT_20_10, out)
    assert [p.name for p in paths] == ["00-base.csv", "01-m2.csv", "02-m3.csv"]
    assert (out / "00-base.csv").read_bytes() == base
    if base_json is not None:
        assert (out / "00-base.json").read_bytes() == base_json
    meta = json.loads((out / "batches.json").read_text(encoding="utf-8"))
    assert [b["rows"] for b in meta["batches"]] == [20, 6, 2]  # the gap leads the new batch
    assert [list(b["sources"]) for b in meta["batches"]] == [["m1.csv"], ["m2.csv"], ["m3.csv"]]


def test_stale_batch_files_are_removed(tmp_path, data_params):
    ds = two_batches(tmp_path, data_params)
    out = tmp_path / "prepared"
    out.mkdir()
    (out / "05-old.csv").write_text("x\n", encoding="utf-8")
    write_prepared(ds, SPLIT_20_10, out)
    assert not (out / "05-old.csv").exists()
    assert (out / "00-base.csv").exists()


def test_several_series_get_their_own_tails_and_survive_the_prepared_files(tmp_path, data_params):
    """Each series' part of each batch is cut in time order; the prepared files hold every
    series' rows of their batch and read back to the same frame."""
    from conftest import hourly, write_csv
    from lstm_utils.splits import SERIES

    t = hourly("2020-01-01", 40)
    rows = [[x, s, float(i) * k, 1.0] for s, k, n in (("A", 1, 40), ("B", 1000, 20)) for i, x in enumerate(t[:n])]
    write_csv(tmp_path / "in" / "1.csv", "t,site,a,b", [r for r in rows if r[0] < t[20]])
    write_csv(tmp_path / "in" / "2.csv", "t,site,a,b", [r for r in rows if r[0] >= t[20]])  # B has no rows here
    data = ingest(tmp_path / "in", data_params, base_batches=1, series="site")
    split = SplitParams(base_batches=1, val_fraction=0.2, test_fraction=0.2)
    frame = assign_splits(data, split)
    codes = {(s, b): frame[(frame[SERIES] == s) & (frame[BATCH] == b)][SPLIT].tolist()
             for s in ("A", "B") for b in (0, 1)}
    assert codes[("A", 0)] == codes[("B", 0)] == [TRAIN] * 12 + [VAL] * 4 + [TEST] * 4  # 20 rows each
    assert codes[("A", 1)] == [TRAIN] * 12 + [VAL] * 4 + [TEST] * 4 and codes[("B", 1)] == []
    written = write_prepared(data, split, tmp_path / "prepared")
    assert [p.name for p in written] == ["00-base.csv", "01-2.csv"]
    back, meta = read_prepared(written, data_params)
    assert [b["rows"] for b in meta["batches"]] == [40, 20]
    pd.testing.assert_frame_equal(back, frame, check_freq=False)


@pytest.mark.parametrize("tz", [None, "UTC", "America/New_York", "Asia/Kolkata", "Europe/Amsterdam", "America/St_Johns"])
def test_prepared_times_are_written_as_strftime_writes_them(tz):
    from lstm_utils.splits import iso_times

    times = pd.date_range("1890-01-01", periods=20_000, freq="173min", tz=tz, name="t")  # local mean times, DST
    edges = pd.DatetimeIndex(["2020-03-08 06:59:59.7", "2021-11-07 05:30", "2021-11-07 06:30"], tz="UTC", name="t")
    times = times.append(edges.tz_convert(tz))  # a fraction of a second; New York's fall-back hour, twice
    got = iso_times(times)
    assert list(got) == list(times.strftime("%Y-%m-%dT%H:%M:%S%z")) and got.name == "t"
    if tz == "Europe/Amsterdam":
        assert got[0] == "1890-01-01T00:00:00+001932"  # Amsterdam's mean time, to the second

"""bench/robust.py's fault injection: each fault where it says, every other cell and the originals as they were."""

from __future__ import annotations

import dataclasses
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))

import robust  # noqa: E402

BASE, MONTH, FILES = 3, 4, 6


def write_files(folder: Path, series: list[str] | None = None) -> list[Path]:
    """Six files of 30 days of hours: target y, inputs a (changes every row), b (changes every few rows), c
    (often empty), and a column no one reads; with `series`, one block of rows per series and hour."""
    rng = np.random.default_rng(0)
    folder.mkdir()
    paths, names = [], series or [None]
    for i in range(FILES):
        times = pd.date_range(f"2021-{i + 1:02d}-01", periods=30 * 24, freq="h", tz="UTC")
        n = len(times) * len(names)
        frame = pd.DataFrame({"time": np.repeat(times.strftime("%Y-%m-%dT%H:%M:%SZ"), len(names))})
        if series:
            frame["site"] = np.tile(names, len(times))
        hours = np.repeat(times.hour, len(names))
        frame["y"] = [f"{v:.2f}" for v in 10 + 5 * np.sin(hours / 24 * 2 * np.pi) + rng.normal(size=n)]
        frame["a"] = [f"{v:.1f}" for v in rng.normal(50, 10, n)]
        frame["b"] = (hours // 6).astype(str)
        frame["c"] = [f"{v:.3f}" if keep else "" for v, keep in zip(rng.normal(size=n), rng.random(n) > 0.3)]
        frame["note"] = "x"
        paths.append(folder / f"2021-{i + 1:02d}.csv")
        frame.to_csv(paths[-1], index=False, lineterminator="\n")
    return paths


def settings(params, series: bool):
    data = dataclasses.replace(params.data, time_column="time", targets=("y",), features=("y", "a", "b", "c"),
                               timezone="UTC", freq="h", separator=",", series_column="site" if series else None,
                               calendar=())
    return dataclasses.replace(params, data=data, split=dataclasses.replace(params.split, base_batches=BASE))


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.mark.parametrize("series", [False, True])
def test_inject_puts_each_fault_where_it_says(tmp_path, params, series):
    paths = write_files(tmp_path / "in", ["P", "Q"] if series else None)
    before = {p: p.read_bytes() for p in paths}
    p = settings(params, series)
    faults = robust.inject(paths, tmp_path / "out", p, MONTH)

    assert {p: p.read_bytes() for p in paths} == before  # the originals untouched
    assert [f.kind for f in faults] == list(robust.FAULTS)
    by = {f.kind: f for f in faults}
    assert by["stuck"].column == "a"  # the non-target input that changes most
    assert by["shift"].column == "c" and by["spike_target"].column == "y"  # the next one; c is often empty
    assert by["spike_input"].column in ("a", "b", "c")
    name = paths[MONTH].name
    assert all(f.file == name for f in faults)
    assert by["shift"].files == tuple(q.name for q in paths[MONTH:])
    if series:
        assert len({f.series for f in faults}) == 1 and faults[0].series in ("P", "Q")
    base = pd.concat([read(q) for q in paths[:BASE]])
    if series:
        base = base[base["site"] == faults[0].series]

    expected = {}  # (file, column) -> a mask of the cells a fault wrote
    for q in paths:
        old, new = read(q), read(tmp_path / "out" / q.name)
        assert list(new.columns) == list(old.columns) and len(new) == len(old)
        assert new["time"].equals(old["time"])
        times = pd.to_datetime(old["time"], utc=True)
        mine = old["site"] == faults[0].series if series else pd.Series(True, index=old.index)
        touched = pd.DataFrame(False, index=old.index, columns=old.columns)
        for f in faults:
            if q.name not in f.files:
                continue
            span = mine & (times >= f.first) & (times <= f.last)
            col = f.column
            values = pd.to_numeric(base[col], errors="coerce")
            mean, std = values.mean(), values.std(ddof=1)
            if f.kind == "stuck":
                assert (new.loc[span, col] == f.value).all() and f.value == old.loc[span, col].iloc[0]
                assert f.rows == span.sum() == 14 * 24  # two weeks of hours
                assert f.size == pytest.approx((float(f.value) - mean) / std)
            elif f.kind.startswith("spike"):
                assert f.rows == span.sum() == robust.SPIKE_ROWS
                assert (new.loc[span, col] == f.value).all()
                assert f.size == pytest.approx((float(f.value) - mean) / std)
                assert 19.9 <= f.size <= 50.1
            else:
                numbers = span & (old[col] != "")
                step = Decimal(f.value)
                pairs = zip(new.loc[numbers, col], old.loc[numbers, col])
                assert all(Decimal(n) - Decimal(o) == step for n, o in pairs)
                assert float(step) / std == pytest.approx(f.size) and 4.9 <= f.size <= 10.1
                if q.name != f.file:  # a later file: shifted from its first row of the series
                    assert f.first < times[mine].min()
                span = numbers
            assert span.any()
            touched.loc[span, col] = True
        expected[q.name] = touched
        untouched = ~touched.to_numpy()
        assert (new.to_numpy()[untouched] == old.to_numpy()[untouched]).all()  # every other cell as it was
        if not touched.to_numpy().any():
            assert (tmp_path / "out" / q.name).read_bytes() == q.read_bytes()
    assert not any(expected[q.name].to_numpy().any() for q in paths[:MONTH])
    # the faults on one column do not overlap, and each lies in the month (the shift from it on)
    for f in faults:
        assert pd.Timestamp("2021-05-01", tz="UTC") <= f.first < pd.Timestamp("2021-05-31", tz="UTC")
        assert not any(g.column == f.column and g.first <= f.last and f.first <= g.last for g in faults if g is not f)


def test_inject_is_deterministic_and_a_subset_injects_the_same(tmp_path, params):
    paths = write_files(tmp_path / "in")
    p = settings(params, False)
    every = robust.inject(paths, tmp_path / "one", p, MONTH)
    again = robust.inject(paths, tmp_path / "two", p, MONTH)
    assert every == again
    assert all((tmp_path / "one" / q.name).read_bytes() == (tmp_path / "two" / q.name).read_bytes() for q in paths)
    shift = robust.inject(paths, tmp_path / "three", p, MONTH, faults=("shift",))
    assert shift == [f for f in every if f.kind == "shift"]
    with pytest.raises(ValueError, match="update file"):
        robust.inject(paths, tmp_path / "four", p, BASE - 1)

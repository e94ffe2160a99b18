"""The checks on every new file (lstm_utils/checks.py): stuck runs, spikes and level shifts found
where they were put, with their times; nothing found in clean data; `mask` turns flagged values
into gaps that ingest's gap rules handle; the raw files untouched."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from lstm_utils import checks
from lstm_utils.config import parse_params
from lstm_utils.errors import ParamsError
from lstm_utils.settings import ChecksParams
from lstm_utils.ingest import ingest

ROOT = Path(__file__).resolve().parents[1]
DAYS = 28  # rows per file: 28 days of hours
FILES = 6  # the first three form the base period
START = pd.Timestamp("2024-01-01", tz="UTC")


def clean_frame(seed: int = 0) -> pd.DataFrame:
    """Six files' worth of hourly rows: `a`, a daily cycle with noise; `b`, a slow random walk;
    `c`, noise around 100; `r`, a rain gauge (mostly 0, rare showers)."""
    rng = np.random.default_rng(seed)
    n = DAYS * 24 * FILES
    hours = np.arange(n)
    rain = np.where(rng.random(n) < 0.03, rng.exponential(2.0, n), 0.0)
    return pd.DataFrame({"t": pd.date_range(START, periods=n, freq="h"),
                         "a": 10 + 5 * np.sin(2 * np.pi * hours / 24) + rng.normal(0, 1, n),
                         "b": np.cumsum(rng.normal(0, 0.3, n)),
                         "c": 100 + rng.normal(0, 2, n),
                         "r": np.round(rain, 1)})


def write_files(frame: pd.DataFrame, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(FILES):
        part = frame.iloc[f * DAYS * 24:(f + 1) * DAYS * 24].copy()
        part["t"] = part["t"].map(lambda t: t.isoformat())
        part.to_csv(folder / f"part-{f}.csv", index=False, float_format="%.4f", lineterminator="\n")
    return folder


def data_params(**checks_keys):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["data"] |= {"time_column": "t", "targets": ["a"], "features": ["a", "b", "c", "r"], "freq": "h",
                    "timezone": "UTC", "max_fill": 2}
    raw["data"]["checks"] = raw["data"].get("checks", {}) | checks_keys
    raw["split"]["base_batches"] = 3
    return parse_params(raw)


def at(day: float) -> int:
    """The row `day` days after the first."""
    return int(day * 24)


@pytest.fixture(scope="module")
def faulted(tmp_path_factory):
    """The clean data with, in part-4 (the second file after the base period): `b` stuck for ten
    days; `c` spiking 40 SDs for three hours; `a` shifted by 8 SDs from day 10 of that file to the
    end of every later file."""
    frame = clean_frame()
    file4 = at(4 * DAYS)
    frame.loc[file4 + at(3):file4 + at(13) - 1, "b"] = frame.loc[file4 + at(3), "b"]
    frame.loc[file4 + at(20):file4 + at(20) + 2, "c"] = 100 + 40 * 2
    frame.loc[file4 + at(10):, "a"] += 8 * frame["a"].iloc[:at(3 * DAYS)].std()
    folder = write_files(frame, tmp_path_factory.mktemp("faulted") / "data")
    return folder, frame


def test_clean_files_give_no_finding(tmp_path):
    params = data_params()
    for seed in range(3):
        ds = ingest(write_files(clean_frame(seed), tmp_path / f"clean{seed}"), params.data, 3)
        assert checks.scan(ds, params.data) == []


def test_each_fault_is_found_in_its_file_and_column_at_its_times(faulted):
    folder, frame = faulted
    params = data_params()
    found = checks.scan(ingest(folder, params.data, 3), params.data)
    by_kind = {f.kind: f for f in found}
    assert sorted(by_kind) == ["shift", "spike", "stuck"] and len(found) == 3, [f.words() for f in found]
    file4 = START + pd.Timedelta(days=4 * DAYS)
    stuck, spike, shift = by_kind["stuck"], by_kind["spike"], by_kind["shift"]
    assert (stuck.file, stuck.column, stuck.steps) == ("part-4.csv", "b", 240)
    assert stuck.first == file4 + pd.Timedelta(days=3) and stuck.last == file4 + pd.Timedelta(days=13, hours=-1)
    assert stuck.value == pytest.approx(frame.loc[at(4 * DAYS + 3), "b"], abs=1e-4)
    assert (spike.file, spike.column, spike.steps) == ("part-4.csv", "c", 3) and spike.value == pytest.approx(180)
    assert spike.first == file4 + pd.Timedelta(days=20) and spike.last == spike.first + pd.Timedelta(hours=2)
    assert 30 < spike.size < 45  # robust SDs beyond the range seen before (the range ends near 3.5 SDs)
    assert (shift.file, shift.column) == ("part-4.csv", "a") and shift.last == file4 + pd.Timedelta(days=DAYS, hours=-1)
    assert shift.first == file4 + pd.Timedelta(days=10)  # where the mean after differs most from the mean before
    assert shift.size > 4
    # the next file's stuck run and shifted level are not flagged again: the shift is the new normal,
    # and the stuck values left what part-5 is set against
    assert not [f for f in found if f.file == "part-5.csv"]
    assert "part-4.csv: c reaches 180" in spike.words() and "robust SDs beyond" in spike.words()


def test_a_sensor_stuck_into_the_next_file_is_flagged_there_too(tmp_path):
    frame = clean_frame()
    frame.loc[at(4 * DAYS + 10):, "b"] = frame.loc[at(4 * DAYS + 10), "b"]  # stuck from day 10 to the end
    params = data_params()
    found = checks.scan(ingest(write_files(frame, tmp_path / "data"), params.data, 3), params.data)
    assert [(f.kind, f.file, f.steps) for f in found] == [("stuck", "part-4.csv", 18 * 24), ("stuck", "part-5.csv",
                                                                                               DAYS * 24)]


def test_mask_turns_flagged_values_into_gaps_the_gap_rules_handle(faulted):
    folder, frame = faulted
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    params = data_params(action="mask")
    ds = ingest(folder, params.data, 3)
    kept = ds.frame.copy()
    out, found, count = checks.checked(ds, params.data)
    assert ds.frame.equals(kept)  # the ingested data itself is not changed
    file4 = START + pd.Timedelta(days=4 * DAYS)
    stuck = out.frame.loc[file4 + pd.Timedelta(days=3):file4 + pd.Timedelta(days=13, hours=-1), "b"]
    assert stuck.iloc[0] == kept.loc[stuck.index[0], "b"] and stuck.iloc[1:].isna().all()  # its first value stays
    spike = out.frame.loc[file4 + pd.Timedelta(days=20):file4 + pd.Timedelta(days=20, hours=2), "c"]
    # three hours, one over data.max_fill (2): a gap that stays, no window spans it
    assert spike.isna().all()
    # at the shift, its step alone: max_fill + 1 values from where the level moves (day 10), a gap no
    # window spans; the shifted level after it stays
    step = out.frame.loc[file4 + pd.Timedelta(days=10):file4 + pd.Timedelta(days=10, hours=2), "a"]
    assert step.isna().all() and out.frame.loc[file4 + pd.Timedelta(days=10, hours=3):, "a"].notna().all()
    assert count == 239 + 3 + 3
    changed = stuck.index.union(spike.index).union(step.index)
    assert out.frame.drop(index=changed)[["a", "b", "c", "r"]].equals(kept.drop(index=changed)[["a", "b", "c", "r"]])
    # a spike of two steps is within data.max_fill: interpolated, as a two-step gap would be
    short = checks.masked(ds, [dataclasses.replace(found[0] if found[0].kind == "spike" else
                                                   next(f for f in found if f.kind == "spike"),
                                                   last=file4 + pd.Timedelta(days=20, hours=1), steps=2)],
                          params.data)[0]
    two = short.frame.loc[file4 + pd.Timedelta(days=20):file4 + pd.Timedelta(days=20, hours=1), "c"].to_numpy()
    edge = kept.loc[[file4 + pd.Timedelta(days=20, hours=-1), file4 + pd.Timedelta(days=20, hours=2)], "c"].to_numpy()
    assert two == pytest.approx(edge[0] + np.array([1, 2]) / 3 * (edge[1] - edge[0]))
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()} == before


def test_validate_prints_a_warning_line_per_finding(faulted, tmp_path, capsys):
    from lstm_utils.cli import main

    folder, _ = faulted
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    params = data_params()
    raw["data"], raw["split"] = params.raw["data"], params.raw["split"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    assert main(["validate", str(folder), "--params", str(tmp_path / "params.yaml")]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("warning: ")]
    assert any(line.startswith("warning: stuck: part-4.csv: b is stuck at") for line in lines)
    assert any(line.startswith("warning: spike: part-4.csv: c reaches 180") for line in lines)
    assert any(line.startswith("warning: shift: part-4.csv: a: its level moves") for line in lines)
    assert any("data.checks.action: warn" in line for line in lines)


def test_the_sample_flags_nothing(params):
    ds = ingest(ROOT / "examples" / "sample_data", params.data, params.split.base_batches)
    assert checks.scan(ds, params.data) == []


def test_checks_settings_are_checked_and_optional():
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert "checks" not in raw["data"] and parse_params(raw).data.checks == ChecksParams()  # absent: the defaults
    raw["data"]["checks"] = {"action": "mask", "spike": 20}  # each key may be left out
    assert parse_params(raw).data.checks == ChecksParams(action="mask", spike=20.0)
    raw["data"]["checks"] = {"action": "drop"}
    with pytest.raises(ParamsError, match=r"`data.checks.action` must be warn or mask, got 'drop'"):
        parse_params(raw)
    raw["data"]["checks"] = {"stuk": 3}
    with pytest.raises(ParamsError, match=r"`data.checks.stuk` is not a known setting") as err:
        parse_params(raw)
    assert "data.checks.stuck" in str(err.value.hint)
    raw["data"]["checks"] = {"spike": -1}
    with pytest.raises(ParamsError, match=r"`data.checks.spike` must be > 0"):
        parse_params(raw)

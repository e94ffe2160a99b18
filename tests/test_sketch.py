"""`init`: a params.yaml sketch from the data files, which `validate` then accepts."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT, SAMPLE_DATA
from lstm_utils.config import parse_params
from lstm_utils.ingest import ingest
from lstm_utils.sketch import fill_template, sketch
from lstm_utils.splits import assign_splits, check_batches
from tiny_project import TINY, make_project, ran_stages, run, track

TEMPLATE = (ROOT / "params.yaml").read_text(encoding="utf-8")


def write_files(folder, freq: str, periods: int, files: int = 5, sep: str = ",", decimal: str = ".",
                offset: bool = True, series: tuple[str, ...] = (), time_name: str = "timestamp",
                weekly: bool = False):
    """`files` consecutive CSV exports of a daily-cycle signal (on a slow rise) and a second column,
    at `freq`; `weekly`: a weekend 30 lower, and seeded noise in place of the rise."""
    folder.mkdir(parents=True, exist_ok=True)
    times = pd.date_range("2024-01-01", periods=periods * files, freq=freq, tz="UTC")
    phase = 2 * np.pi * (times.hour * 60 + times.minute) / 1440
    noise = np.random.default_rng(0).normal(size=len(times))
    week = np.where(times.dayofweek >= 5, -30.0, 0.0) + noise if weekly else np.arange(len(times)) * 0.01
    for k in range(files):
        rows = []
        for i in range(k * periods, (k + 1) * periods):
            stamp = times[i].strftime("%Y-%m-%dT%H:%M:%S") + ("+00:00" if offset else "")
            for j, name in enumerate(series or ("",)):
                load = 100 + 10 * j + 20 * np.sin(phase[i]) + week[i]
                temp = 5 + 3 * np.cos(phase[i])
                cells = [f"{v:.2f}".replace(".", decimal) for v in (load, temp)]
                rows.append(sep.join([stamp, *([name] if series else []), *cells]))
        header = sep.join([time_name, *(["site"] if series else []), "load", "temp"])
        (folder / f"export-{k:02d}.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return folder


CASES = {  # name: (write_files arguments, what the sketch must say)
    "hourly": (dict(freq="h", periods=24 * 14), {"freq": "h", "season": 24}),
    "half-hourly": (dict(freq="30min", periods=48 * 7), {"freq": "30min", "season": 48}),
    "weekly profile": (dict(freq="30min", periods=48 * 28, files=4, weekly=True), {"freq": "30min", "season": 336}),
    "weekly files": (dict(freq="30min", periods=48 * 7, files=6, weekly=True), {"freq": "30min", "season": 48,
                                                                                "season words": "not a week: a look"}),
    "daily": (dict(freq="D", periods=120, files=4), {"freq": "D", "season": 7}),
    "semicolon": (dict(freq="h", periods=24 * 14, sep=";"), {"separator": ";"}),
    "decimal comma": (dict(freq="h", periods=24 * 14, sep=";", decimal=","), {"decimal": ","}),
    "no offset": (dict(freq="h", periods=24 * 14, offset=False), {"zone words": "no UTC offset"}),
    "long form": (dict(freq="h", periods=24 * 14, series=("north", "south")), {"series_column": "site"}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_sketch_reads_the_files_and_validate_accepts_it(tmp_path, case):
    kwargs, want = CASES[case]
    folder = write_files(tmp_path / "data", **kwargs)
    proposal = sketch(folder)
    data = {k: c.value for k, c in proposal.keys["data"].items()}
    assert data["time_column"] == "timestamp"
    assert data["targets"] == ["load"] and data["features"] == ["load", "temp"]
    assert proposal.keys["split"]["base_batches"].value == round(kwargs.get("files", 5) * 0.6)
    for key, value in want.items():
        if key == "season":
            assert proposal.keys["baselines"]["season"].value == value
            cycle = {24: "day", 48: "day", 7: "week", 336: "week"}[value]
            assert f"one {cycle}: in 'load', the value a " in proposal.keys["baselines"]["season"].why
        elif key == "season words":
            assert value in proposal.keys["baselines"]["season"].why
        elif key == "zone words":
            assert value in proposal.keys["data"]["timezone"].why
        else:
            assert data[key] == value, key
    window = {k: c.value for k, c in proposal.keys["window"].items()}
    assert window["lookback"] >= proposal.keys["baselines"]["season"].value >= 1 and window["horizon"] >= 1
    text = fill_template(TEMPLATE, proposal)
    assert "# its cells read as times" in text  # every choice says why
    params = parse_params(yaml.safe_load(text))  # a whole, valid params.yaml
    ds = ingest(folder, params.data, params.split.base_batches, horizon=params.window.horizon)
    check_batches(ds, assign_splits(ds, params.split), params.split, params.window)  # as validate does
    assert ds.report.rows == kwargs["periods"] * kwargs.get("files", 5) * max(1, len(kwargs.get("series", ())))


def test_the_sketch_of_the_sample_leaves_mostly_blank_columns_out_and_keeps_every_other_key():
    proposal = sketch(SAMPLE_DATA)
    assert "wind_gust" not in proposal.keys["data"]["features"].value
    assert "mostly blank: wind_gust" in proposal.keys["data"]["features"].why
    text = fill_template(TEMPLATE, proposal)
    template, got = yaml.safe_load(TEMPLATE), yaml.safe_load(text)
    assert {k: v for k, v in got.items() if k not in ("data", "split", "window", "baselines")} == \
        {k: v for k, v in template.items() if k not in ("data", "split", "window", "baselines")}
    assert got["baselines"]["linear_penalties"] == template["baselines"]["linear_penalties"]
    assert (got["window"]["lookback"], got["window"]["horizon"], got["baselines"]["season"]) == (72, 24, 24)
    assert "one day: in 'temp', the value a day back is the closest; a week back errs 1.6" in \
        proposal.keys["baselines"]["season"].why


@pytest.mark.slow
def test_init_writes_params_yaml_when_there_is_none_and_only_prints_it_when_there_is(tmp_path):
    write_files(tmp_path / "data", freq="30min", periods=48 * 7)
    run = lambda *more: subprocess.run([sys.executable, "-m", "lstm_utils", "init", "data", *more],  # noqa: E731
                                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    first = run()
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("wrote params.yaml")
    written = (tmp_path / "params.yaml").read_text(encoding="utf-8")
    assert "freq: 30min" in written and "windows per batch with these settings" in first.stderr
    (tmp_path / "params.yaml").write_text(written + "# mine\n", encoding="utf-8")
    second = run()
    assert second.returncode == 0 and second.stdout.startswith("# params.yaml exists and is left as it is")
    assert (tmp_path / "params.yaml").read_text(encoding="utf-8") == written + "# mine\n"  # untouched
    third = run("--replace")  # written over, the one before kept
    assert third.returncode == 0 and third.stdout.startswith("wrote params.yaml (the one before is params.yaml.bak)")
    assert (tmp_path / "params.yaml.bak").read_text(encoding="utf-8") == written + "# mine\n"
    assert (tmp_path / "params.yaml").read_text(encoding="utf-8") == written + "# mine\n"  # its other lines kept
    again = run("--replace")  # never over a kept one
    assert again.returncode == 2 and "params.yaml.bak: already there" in again.stderr
    assert (tmp_path / "params.yaml.bak").read_text(encoding="utf-8") == written + "# mine\n"


# every kind of file init handles, in two projects: the sample (hourly) runs in test_pipeline.py
PIPELINES = {
    "half-hourly ; decimal comma no offset long form": dict(freq="30min", periods=48 * 7, sep=";", decimal=",",
                                                          offset=False, series=("north", "south")),
    "daily": dict(freq="D", periods=120, files=4),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(PIPELINES))
def test_the_pipeline_runs_on_what_init_proposes(tmp_path, case):
    kwargs = PIPELINES[case]
    root = make_project(tmp_path / "project", parts=0)
    write_files(root / "data", **kwargs)
    run([sys.executable, "-m", "lstm_utils", "init", "data", "--replace"], root)  # as the README says
    raw = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    for section in ("model", "train", "finetune"):  # train small; the data, split and window settings stay init's
        raw[section].update(TINY[section])
    raw["compare"]["strategies"] = ["none", "finetune"]
    (root / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    assert run([sys.executable, "-m", "lstm_utils", "validate", "data"], root).stdout.startswith("data: OK")
    track(root)
    done = run(["dvc", "repro"], root)
    assert ran_stages(done.stdout) == {"data", "base", "strategy@none", "strategy@finetune", "compare"}
    forecast = pd.read_csv(root / "reports" / "forecast.csv", index_col=0)
    series = kwargs.get("series") or ("",)
    step = pd.Timedelta(pd.tseries.frequencies.to_offset(kwargs["freq"]))
    times = pd.to_datetime(forecast.index)
    last = pd.Timestamp("2024-01-01", tz="UTC") + step * (kwargs["periods"] * kwargs.get("files", 5) - 1)
    horizon = raw["window"]["horizon"]
    assert len(forecast) == horizon * len(series) and forecast["load"].notna().all()
    assert times[0] == last + step and times[horizon - 1] == last + horizon * step  # at the data's frequency
    if kwargs.get("series"):
        assert forecast["series"].tolist() == [s for s in series for _ in range(horizon)]

"""The command line, run for real as `python -m lstm_utils ...` in subprocesses.

The commands that need no model (validate, the notebook command's refusals, a `python`
without the project's packages) start at once in the `quick` fixture. For the others, one tiny
model is trained per module (Jan-Feb 2013 as the base period, two epochs) and every command
line is prepared and started at once by the `runs` fixture (each subprocess spends seconds
importing TensorFlow, so they run side by side; these tests are marked slow); each test then
checks one run's output against values computed here, in-process or from the raw CSV files.
"""

from __future__ import annotations

import copy
import io
import json
import math
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from lstm_utils.artifacts import load_model, make_sidecar, save_model  # noqa: E402
from lstm_utils.from_scratch import train_new  # noqa: E402
from lstm_utils.config import parse_params  # noqa: E402
from lstm_utils.errors import DataError, ModelError  # noqa: E402
from lstm_utils import intervals  # noqa: E402
from lstm_utils.evaluate import evaluate_since  # noqa: E402
from lstm_utils.forecast import forecast_next  # noqa: E402
from lstm_utils.ingest import ingest  # noqa: E402
from lstm_utils.metrics import errors  # noqa: E402
from lstm_utils.scoring import calibrate_all  # noqa: E402
from lstm_utils.splits import assign_splits  # noqa: E402
from lstm_utils.windows import make_windows  # noqa: E402
from tiny_project import tree_hash  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "sample_data"
MONTHS = ("2013-01.csv", "2013-02.csv", "2013-03.csv")
LOOKBACK, HORIZON, SEASON = 24, 6, 24
TIME = "time_hour"
LAST_TIME = pd.Timestamp("2013-03-31T23:00:00Z")  # the last row of 2013-03.csv
EARLY, LATE = "2013-03-10", "2013-03-25T12:00"  # evaluate --start (naive: read as UTC)
GAP_HOURS = [f"2013-03-31T{h:02d}:00:00Z" for h in range(10, 20)]  # 10 > max_fill: not filled
SHORT_GAP_HOURS = [f"2013-03-31T{h:02d}:00:00Z" for h in (10, 11, 12)]  # 3 <= max_fill: filled


def tiny_raw() -> dict:
    """The shipped params.yaml, made small (a raw dict, so sidecars record the same values).

    The learning rate is raised so that two epochs move the forecast visibly away from its
    seasonal anchor: the comparisons with in-process predictions then test the inputs used.
    """
    raw = copy.deepcopy(yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8")))
    raw["split"]["base_batches"] = 2
    raw["window"].update(lookback=LOOKBACK, horizon=HORIZON)
    raw["model"]["units"] = [8]
    raw["train"].update(epochs=2, patience=1, learning_rate=0.01)
    raw["baselines"]["season"] = SEASON
    return raw


TINY = parse_params(tiny_raw())
INPUTS = list(TINY.data.inputs)


def run_cli(*args: str | Path, cwd: Path, python: tuple[str, ...] = (sys.executable,)) -> subprocess.CompletedProcess:
    """`python -m lstm_utils ARGS` in `cwd`; never raises on a non-zero exit, but fails the
    test if the command changed any file or folder it was given (data, models)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS="0",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    given = [cwd / a for a in map(str, args) if (cwd / a).exists()]
    before = [tree_hash(p) for p in given]
    done = subprocess.run([*python, "-m", "lstm_utils", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert [tree_hash(p) for p in given] == before, f"{args} changed its inputs"
    return done


def assert_clean_error(proc: subprocess.CompletedProcess) -> str:
    """Exit status 2, one `error:` message (and its hint) on stderr, no traceback, no stdout."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("error: "), proc.stderr
    assert proc.stderr.count("error: ") == 1, proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 2, proc.stderr
    assert proc.stdout == ""
    return proc.stderr


def copy_months(dest: Path, months=MONTHS) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in months:
        shutil.copy(SAMPLE / name, dest / name)
    return dest


def edit_csv(path: Path, times: list[str], column: str, value: str) -> None:
    """Set `column` to `value` (as text) in the rows of `path` whose time is in `times`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    col = lines[0].split(",").index(column)
    hit = 0
    for k, line in enumerate(lines[1:], start=1):
        cells = line.split(",")
        if cells[0] in times:
            cells[col] = value
            lines[k] = ",".join(cells)
            hit += 1
    assert hit == len(times), f"only {hit} of {len(times)} rows found"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(model path, in-memory model, data folder): one model trained on Jan-Feb."""
    root = tmp_path_factory.mktemp("model")
    data = copy_months(root / "data")
    ds = ingest(data, TINY.data, TINY.split.base_batches)
    run = train_new(assign_splits(ds, TINY.split), TINY, [0], verbose=0)
    path = root / "models" / "base.keras"
    save_model(run.model, path, make_sidecar("base", None, TINY, {}, {}))  # as saved before intervals existed
    side = make_sidecar("base", None, TINY, {}, {})
    widths = calibrate_all(run.model, run.val, SEASON, TINY.intervals.levels)["model"]  # on its validation tail
    side["intervals"] = intervals.to_record(widths, ["temp"], len(run.val), ["base"])
    save_model(run.model, root / "models" / "banded.keras", side)
    return path, run.model, data


def start_all(jobs: dict[str, tuple[list, Path] | tuple[list, Path, tuple[str, ...]]]) -> dict:
    """Run every job side by side; {name: (CompletedProcess, working folder)}."""
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {name: pool.submit(run_cli, *job[0], cwd=job[1], python=job[2] if len(job) > 2 else (sys.executable,))
                   for name, job in jobs.items()}
        return {name: (future.result(), jobs[name][1]) for name, future in futures.items()}


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """The command lines that need no trained model (and no TensorFlow), run side by side."""
    jobs: dict[str, tuple] = {}

    def folder(name: str, with_params: bool = False) -> Path:
        cwd = tmp_path_factory.mktemp(name)
        if with_params:
            (cwd / "params.yaml").write_text(yaml.safe_dump(tiny_raw()), encoding="utf-8")
        return cwd

    # validate: a good folder, a folder with a non-numeric cell, a missing params file
    cwd = folder("validate", with_params=True)
    copy_months(cwd / "incoming")
    jobs["validate"] = (["validate", "incoming"], cwd)
    cwd = folder("validate_bad", with_params=True)
    bad = copy_months(cwd / "bad")
    when = (bad / "2013-02.csv").read_text(encoding="utf-8").splitlines()[99].split(",")[0]  # file row 100
    edit_csv(bad / "2013-02.csv", [when], "humid", "n/a-ish")
    jobs["validate_bad"] = (["validate", "bad"], cwd)
    cwd = folder("validate_overlap", with_params=True)  # April's export repeats March's last 5 hours, one changed
    overlap = copy_months(cwd / "data", (*MONTHS, "2013-04.csv"))
    march = (overlap / "2013-03.csv").read_text(encoding="utf-8").splitlines()
    april = (overlap / "2013-04.csv").read_text(encoding="utf-8").splitlines()
    (overlap / "2013-04.csv").write_text("\n".join([april[0], *march[-5:], *april[1:]]) + "\n", encoding="utf-8")
    edit_csv(overlap / "2013-04.csv", [march[-2].split(",")[0]], "humid", "12.5")
    jobs["validate_overlap"] = (["validate", "data"], cwd)
    cwd = folder("validate_noparams")
    copy_months(cwd / "data", MONTHS[:1])
    jobs["validate_noparams"] = (["validate", "data", "--params", "missing.yaml"], cwd)

    # the notebook command refuses what papermill would only warn about, before any kernel starts
    cwd = folder("notebook")
    shutil.copytree(ROOT / "notebooks", cwd / "notebooks")
    jobs["notebook_unknown_parameter"] = (["notebook", "strategy", "-p", "strategie", "finetune"], cwd)
    jobs["notebook_unknown"] = (["notebook", "finetune"], cwd)

    # a `python` without the project's packages (as when dvc repro runs outside the venv)
    jobs["bare_python"] = (["validate", "data"], folder("bare"), (sys.executable, "-S"))
    return start_all(jobs)


@pytest.fixture(scope="module")
def runs(trained, tmp_path_factory):
    """The command lines that use the trained model, run side by side."""
    path, _, data = trained
    jobs: dict[str, tuple[list, Path]] = {}

    def folder(name: str) -> Path:
        return tmp_path_factory.mktemp(name)

    # forecast (no params.yaml anywhere near: the sidecar says how to read the data)
    jobs["forecast_out"] = (["forecast", "--model", path, "--data", data, "--out", "out/next.csv"],
                            folder("forecast_out"))
    jobs["forecast_file"] = (["forecast", "--model", path, "--data", data / "2013-03.csv"], folder("forecast_file"))
    banded = path.with_name("banded.keras")
    jobs["forecast_banded"] = (["forecast", "--model", banded, "--data", data], folder("forecast_banded"))
    jobs["evaluate_banded"] = (["evaluate", "--model", banded, "--data", data, "--start", EARLY],
                               folder("evaluate_banded"))
    cwd = folder("forecast_gap")
    edit_csv(copy_months(cwd / "gappy") / "2013-03.csv", GAP_HOURS, "dewp", "")
    jobs["forecast_gap"] = (["forecast", "--model", path, "--data", "gappy"], cwd)

    # evaluate
    for start in (EARLY, LATE):
        jobs[f"evaluate {start}"] = (["evaluate", "--model", path, "--data", data, "--start", start],
                                     folder("evaluate"))
    jobs["evaluate 2014-01-01"] = (["evaluate", "--model", path, "--data", data, "--start", "2014-01-01"],
                                   folder("evaluate_late"))

    # errors a person can fix
    jobs["missing_model"] = (["forecast", "--model", "nowhere/gone.keras", "--data", data], folder("missing_model"))
    cwd = folder("missing_sidecar")
    shutil.copy(path, cwd / "lonely.keras")
    jobs["missing_sidecar"] = (["evaluate", "--model", "lonely.keras", "--data", data], cwd)
    cwd = folder("no_column")
    (cwd / "nodewp").mkdir()
    for name in MONTHS:
        pd.read_csv(SAMPLE / name, dtype=str, keep_default_na=False).drop(columns="dewp").to_csv(
            cwd / "nodewp" / name, index=False)
    jobs["no_column"] = (["forecast", "--model", path, "--data", "nodewp"], cwd)
    return start_all(jobs)


# ---------------------------------------------------------------- validate


def test_validate_summarises_every_file(quick):
    proc, cwd = quick["validate"]
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("incoming: OK\n")
    ds = ingest(cwd / "incoming", TINY.data, TINY.split.base_batches)
    assert f"3 files, {ds.report.rows} rows on the grid" in proc.stdout
    assert ds.report.rows == 2154  # 2013-01-01T06:00 .. 2013-03-31T23:00, hourly
    for name in MONTHS:
        assert name in proc.stdout
    assert "Traceback" not in proc.stderr
    from lstm_utils.splits import assign_splits
    from lstm_utils.windows import deployed_windows, split_windows

    frame = assign_splits(ds, TINY.split)  # every tail's windows, and every window of March (deployed)
    counts = [len(split_windows(frame, TINY, s, [1])) for s in ("train", "val", "test")]
    rows = {line.split()[0]: line.split()[1:] for line in proc.stdout.splitlines()[-2:]}
    assert rows["2013-03"] == [str(n) for n in (*counts, counts[1], len(deployed_windows(frame, TINY, 1)))]
    assert rows["base"][-1] == "-"  # no model forecast the base period before learning it
    assert "warning:" not in proc.stdout  # every tail gives at least compare.min_windows (100) here


def test_validate_warns_of_values_a_later_export_changed_and_keeps_repeated_rows_in_their_batch(quick):
    proc, cwd = quick["validate_overlap"]
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stdout.splitlines() if line.startswith("warning: 2013-04.csv")]
    assert warnings == ["warning: 2013-04.csv: 1 time(s) an earlier file has with other values, "
                        "2013-03-31T22:00:00+00:00 to 2013-03-31T22:00:00+00:00; the newer file's values kept "
                        "(`data.on_conflict`)"]
    ds = ingest(cwd / "data", TINY.data, TINY.split.base_batches)
    march = ds.frame[ds.frame.index.month == 3]
    assert (march["batch"] == 1).all()  # the repeated hours stayed in March's batch
    assert ds.report.files[-1].overlap_identical == 4


def test_validate_names_file_row_and_column_of_a_bad_cell(quick):
    err = assert_clean_error(quick["validate_bad"][0])
    assert "2013-02.csv" in err
    assert "row 100," in err
    assert "'humid'" in err
    assert "'n/a-ish'" in err


def test_validate_without_params_file_is_a_clean_error(quick):
    assert "missing.yaml" in assert_clean_error(quick["validate_noparams"][0])


# ---------------------------------------------------------------- notebook, and the wrong python


def test_notebook_refuses_an_unknown_parameter_or_notebook(quick):
    err = assert_clean_error(quick["notebook_unknown_parameter"][0])
    assert "notebooks/strategy.ipynb has no parameter 'strategie'" in err and "strategy, params_file" in err
    err = assert_clean_error(quick["notebook_unknown"][0])
    assert "notebooks/finetune.ipynb: no such notebook" in err and "strategy" in err
    assert not (quick["notebook_unknown"][1] / "reports").exists()


@pytest.mark.parametrize("text, value", [("finetune", "finetune"), ("3", 3), ("0.5", 0.5), ("1e-3", 0.001),
                                         ("True", True), ("None", None), ("true", "true")])
def test_notebook_parameters_are_read_as_papermill_reads_them(text, value):
    from lstm_utils.cli import parameter_value

    assert parameter_value(text) == value and type(parameter_value(text)) is type(value)


def test_a_python_without_the_project_packages_says_what_to_do_in_one_line(quick):
    err = assert_clean_error(quick["bare_python"][0])
    assert "lacks the project's packages (no module 'numpy')" in err
    assert "source .venv/bin/activate" in err and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------- forecast


def read_forecast(text: str) -> pd.DataFrame:
    table = pd.read_csv(io.StringIO(text))
    table[TIME] = pd.to_datetime(table[TIME], format="ISO8601", utc=True)
    return table


def last_rows(csv_file: Path, rows: int = LOOKBACK) -> np.ndarray:
    """The model inputs of the last `rows` rows of a raw CSV, short gaps interpolated linearly."""
    tail = pd.read_csv(csv_file).iloc[-rows:]
    times = pd.to_datetime(tail[TIME], utc=True)
    assert times.iloc[-1] == LAST_TIME
    assert (times.diff().iloc[1:] == pd.Timedelta("1h")).all()  # no missing hours
    x = tail[INPUTS].interpolate(method="linear", limit_area="inside").to_numpy(dtype=np.float64)
    assert not np.isnan(x).any()
    return x


def predict_one(model, x: np.ndarray) -> np.ndarray:
    return model.predict(x.astype(np.float32)[None], verbose=0)[0, :, 0]


def check_forecast_table(table: pd.DataFrame, model) -> None:
    assert list(table.columns) == [TIME, "temp"]
    assert len(table) == HORIZON
    assert table[TIME].iloc[0] == pd.Timestamp("2013-04-01T00:00:00Z")  # last data time + 1 h
    assert list(table[TIME]) == list(pd.date_range(LAST_TIME + pd.Timedelta("1h"), periods=HORIZON, freq="h"))
    values = table["temp"].to_numpy()
    assert np.isfinite(values).all()
    temps = pd.concat([pd.read_csv(SAMPLE / m)["temp"] for m in MONTHS])
    assert (values > temps.min() - 20).all() and (values < temps.max() + 20).all()
    expected = predict_one(model, last_rows(SAMPLE / "2013-03.csv"))
    np.testing.assert_allclose(values, expected, atol=1e-4)
    # the comparison can tell windows apart: one row earlier forecasts something else
    earlier = predict_one(model, last_rows(SAMPLE / "2013-03.csv", LOOKBACK + 1)[:-1])
    assert np.abs(earlier - expected).max() > 0.1


@pytest.mark.slow
def test_forecast_writes_csv(runs, trained):
    proc, cwd = runs["forecast_out"]
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert f"wrote {HORIZON} steps to out/next.csv" in proc.stderr
    out = cwd / "out" / "next.csv"
    assert sorted(p.name for p in out.parent.iterdir()) == ["next.csv"]  # no temporary file left
    text = out.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == f"{TIME},temp"
    assert lines[1].startswith("2013-04-01T00:00:00+00:00,")  # ISO 8601, as the reports write times
    check_forecast_table(read_forecast(text), trained[1])


@pytest.mark.slow
def test_forecast_says_in_one_line_when_the_model_has_no_intervals(runs):
    proc, _ = runs["forecast_out"]
    said = [line for line in proc.stderr.splitlines() if "interval" in line]
    assert len(said) == 1 and "has no prediction intervals" in said[0] and "dvc repro" in said[0]


@pytest.mark.slow
def test_forecast_writes_lower_and_upper_columns_per_level(runs, trained):
    proc, _ = runs["forecast_banded"]
    assert proc.returncode == 0, proc.stderr
    assert "interval" not in proc.stderr
    table = read_forecast(proc.stdout)
    assert list(table.columns) == [TIME, "temp", "temp_lower_80", "temp_upper_80", "temp_lower_95", "temp_upper_95"]
    plain = read_forecast((runs["forecast_out"][1] / "out" / "next.csv").read_text(encoding="utf-8"))
    np.testing.assert_allclose(table["temp"], plain["temp"], atol=1e-6)  # the same point forecast
    side = json.loads(trained[0].with_name("banded.json").read_text(encoding="utf-8"))
    for level in ("80", "95"):
        half = np.array(side["intervals"]["half_widths"][level]["temp"])
        np.testing.assert_allclose(table[f"temp_upper_{level}"] - table["temp"], half, atol=1e-4)
        np.testing.assert_allclose(table["temp"] - table[f"temp_lower_{level}"], half, atol=1e-4)
    assert (table["temp_upper_95"] >= table["temp_upper_80"]).all()


@pytest.mark.slow
def test_intervals_widen_with_the_horizon_on_the_sample(trained):
    """Calibrated on the sample's validation windows, a day-ahead error is wider than an hour-ahead one."""
    side = json.loads(trained[0].with_name("banded.json").read_text(encoding="utf-8"))
    for level in ("80", "95"):
        half = side["intervals"]["half_widths"][level]["temp"]
        assert half[-1] > 1.5 * half[0] > 0, (level, half)
    assert side["intervals"]["calibration_windows"] > 100


@pytest.mark.slow
def test_evaluate_reports_coverage_width_and_interval_score(runs, trained):
    """The model's intervals from its sidecar; the baselines' calibrated on the last val_fraction
    of the windows that end before --start; each checked against a direct computation."""
    got = json.loads(runs["evaluate_banded"][0].stdout)
    assert "intervals" not in got  # nothing left out
    model = trained[1]
    before, scored = split_at(trained[2], EARLY)
    calib = before.subset(slice(int(round(len(before) * (1 - TINY.split.val_fraction))), None))
    xs, ys = (a.astype(np.float64) for a in scored.arrays())  # in float64, as the package: values on an
    xc, yc = (a.astype(np.float64) for a in calib.arrays())  # interval's edge (ties) then fall on the same side
    side = json.loads(trained[0].with_name("banded.json").read_text(encoding="utf-8"))
    season = lambda x: x[:, LOOKBACK + np.arange(HORIZON) - SEASON][:, :, [INPUTS.index("temp")]]  # noqa: E731
    for level, q in (("80", 0.8), ("95", 0.95)):
        model_half = np.array(side["intervals"]["half_widths"][level]["temp"])[:, None]
        errs = np.sort(np.abs(season(xc) - yc), axis=0)
        naive_half = errs[int(np.ceil((len(calib) + 1) * q)) - 1]  # the conformal rank, by hand
        for name, pred, half in (("model", model.predict(xs.astype(np.float32), verbose=0).astype(np.float64),
                                  model_half),
                                 ("seasonal_naive", season(xs), naive_half)):
            lo, hi = pred - half, pred + half
            inside = (ys >= lo) & (ys <= hi)
            miss = np.clip(lo - ys, 0, None) + np.clip(ys - hi, 0, None)
            want = {"coverage": inside.mean(), "width": (hi - lo).mean(),
                    "interval_score": ((hi - lo) + 2 / (1 - q) * miss).mean()}
            for measure, value in want.items():
                assert got[name]["intervals"][level][measure] == pytest.approx(value, abs=1e-4), (name, level, measure)
            assert len(got[name]["intervals"][level]["coverage_by_step"]) == HORIZON
            np.testing.assert_allclose(got[name]["intervals"][level]["coverage_by_step"], inside.mean(axis=(0, 2)),
                                       atol=1e-9)
    assert set(got["linear"]["intervals"]) == set(got["persistence"]["intervals"]) == {"80", "95"}


@pytest.mark.slow
def test_evaluate_of_a_model_without_intervals_says_so(runs):
    got = evaluated(runs, EARLY)
    assert "no prediction intervals" in got["intervals"]["model"]
    assert "intervals" not in got["model"] and set(got["seasonal_naive"]["intervals"]) == {"80", "95"}


@pytest.mark.slow
def test_forecast_from_one_csv_file_prints_csv_without_out(runs, trained):
    proc, cwd = runs["forecast_file"]
    assert proc.returncode == 0, proc.stderr
    assert list(cwd.iterdir()) == []  # nothing written
    check_forecast_table(read_forecast(proc.stdout), trained[1])
    # the last rows all lie in that one file: the same text as from the whole folder
    assert proc.stdout == (runs["forecast_out"][1] / "out" / "next.csv").read_text(encoding="utf-8")


@pytest.mark.slow
def test_forecast_refuses_an_unfillable_gap_in_the_last_rows(runs):
    err = assert_clean_error(runs["forecast_gap"][0])
    assert "'dewp' is missing at 2013-03-31T10:00:00+00:00" in err
    assert "last 24 rows" in err


@pytest.mark.slow
def test_forecast_fills_a_short_gap_in_the_last_rows(trained, tmp_path):
    """The other side of max_fill (in-process): 3 blank hours are interpolated, the forecast goes on."""
    path, model, _ = trained
    data = copy_months(tmp_path / "short", MONTHS[2:])
    edit_csv(data / "2013-03.csv", SHORT_GAP_HOURS, "dewp", "")
    table, missing = forecast_next(*load_model(path), data)
    assert "no prediction intervals" in missing  # this model's sidecar has none
    x = last_rows(data / "2013-03.csv")  # dewp at 10-12 h: interpolated in last_rows
    d = INPUTS.index("dewp")
    np.testing.assert_allclose(x[10:13, d], 30.02 + (33.98 - 30.02) * np.arange(1, 4) / 4)  # 09 h .. 13 h
    assert table.index.name == TIME and list(table.columns) == ["temp"]
    np.testing.assert_allclose(table["temp"].to_numpy(), predict_one(model, x), atol=1e-4)


# ---------------------------------------------------------------- evaluate


def expected_scores(model, data: Path, start: str) -> dict:
    """What `evaluate --start` should print, computed here on the same windows."""
    frame = ingest(data, TINY.data, 1).frame
    when = pd.Timestamp(start, tz="UTC")
    w = make_windows(frame, INPUTS, ["temp"], LOOKBACK, HORIZON)
    w = w.subset(w.target_times() >= when)
    # an independent count: every row of lookback + horizon present, first target at or after start
    ok = frame[INPUTS].notna().all(axis=1).to_numpy()
    starts = [i for i in range(LOOKBACK, len(frame) - HORIZON + 1)
              if ok[i - LOOKBACK:i + HORIZON].all() and frame.index[i] >= when]
    assert list(w.starts) == starts
    x, y = w.arrays()
    temp = frame["temp"].to_numpy()
    s = np.asarray(starts)[:, None]
    persistence = np.repeat(temp[s - 1][:, :, None], HORIZON, axis=1)
    seasonal = temp[s + np.arange(HORIZON) - SEASON][:, :, None]  # horizon <= season: one season back
    return {"windows": len(starts), "first_target": frame.index[starts[0]],
            "model": errors(y, model.predict(x, batch_size=512, verbose=0), ["temp"]),
            "persistence": errors(y, persistence, ["temp"]),
            "seasonal_naive": errors(y, seasonal, ["temp"])}


def split_at(data: Path, start: str):
    """The windows that end before `start` and those whose first target is at or after it."""
    frame = ingest(data, TINY.data, 1).frame
    when = pd.Timestamp(start, tz="UTC")
    every = make_windows(frame, INPUTS, ["temp"], LOOKBACK, HORIZON)
    return every.subset(frame.index[every.starts + HORIZON - 1] < when), every.subset(every.target_times() >= when)


def evaluated(runs, start: str) -> dict:
    proc, _ = runs[f"evaluate {start}"]
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.slow
def test_evaluate_scores_only_windows_from_start(runs):
    early, late = evaluated(runs, EARLY), evaluated(runs, LATE)
    for start, got in ((EARLY, early), (LATE, late)):
        first = pd.Timestamp(got["first_target"])
        assert first == pd.Timestamp(start, tz="UTC")  # no gap there: the first window starts at T
        assert pd.Timestamp(got["last_target"]) == LAST_TIME - pd.Timedelta(hours=HORIZON - 1)
        for name in ("model", "persistence", "seasonal_naive"):
            assert got[name]["windows"] == got["windows"]
            assert set(got[name]["rmse"]) == set(got[name]["mae"]) == {"temp"}
    assert late["windows"] < early["windows"]
    assert early["windows"] - late["windows"] == 15 * 24 + 12  # windows of 10 Mar 00 h .. 25 Mar 11 h


@pytest.mark.slow
@pytest.mark.parametrize("start", [EARLY, LATE])
def test_evaluate_matches_in_process_metrics(runs, trained, start):
    got = evaluated(runs, start)
    want = expected_scores(trained[1], trained[2], start)
    assert got["windows"] == want["windows"]
    assert pd.Timestamp(got["first_target"]) == want["first_target"]
    for name in ("model", "persistence", "seasonal_naive"):
        for metric in ("rmse", "mae"):
            assert got[name][metric]["temp"] == pytest.approx(want[name][metric]["temp"], abs=1e-6), (name, metric)
        assert got[name]["rmse_by_step"]["temp"] == pytest.approx(want[name]["rmse_by_step"]["temp"], abs=1e-6)
    for got_one in (got["model"], got["persistence"], got["seasonal_naive"]):
        rmse, mae = got_one["rmse"]["temp"], got_one["mae"]["temp"]
        assert math.isfinite(rmse) and rmse >= mae > 0


@pytest.mark.slow
@pytest.mark.parametrize("start", [EARLY, LATE])
def test_evaluate_fits_the_linear_baseline_on_the_windows_before_start(runs, trained, start):
    """A direct computation: every window that ends before --start, in the model's scaling; the
    last val_fraction of them chose the design and penalty the command reports (and calibrate
    the baselines' intervals, so they stay out of the fit); a numpy ridge fit with them."""
    from lstm_utils.linear import DESIGNS, View

    got = evaluated(runs, start)["linear"]
    data = trained[2]
    before, scored = split_at(data, start)
    assert got["fitted_on"] == len(before) > 1000
    assert got["penalty"] in TINY.baselines.linear_penalties and got["design"] in DESIGNS
    view = View.of(assign_splits(ingest(data, TINY.data, TINY.split.base_batches), TINY.split), TINY)
    columns = view.columns(got["design"])
    x, y = before.subset(slice(0, int(round(len(before) * (1 - TINY.split.val_fraction))))).arrays()
    a, b = view.inputs(x)[:, columns], view.targets(x, y)
    n, d = a.shape
    coef = np.linalg.lstsq(np.vstack([np.hstack([a, np.ones((n, 1))]),
                                      np.hstack([np.sqrt(got["penalty"]) * np.eye(d), np.zeros((d, 1))])]),
                           np.vstack([b, np.zeros((d, b.shape[1]))]), rcond=None)[0]
    xs, ys = scored.arrays()
    forecast = view.forecast(xs, view.inputs(xs)[:, columns] @ coef[:d] + coef[d])
    assert got["rmse"]["temp"] == pytest.approx(errors(ys, forecast, ["temp"])["rmse"]["temp"], abs=1e-6)
    assert got["windows"] == len(scored)
    # the trees too: fitted on the same part of those windows (the rest calibrates the intervals)
    trees = evaluated(runs, start)["trees"]
    assert trees["fitted_on"] == int(round(len(before) * (1 - TINY.split.val_fraction)))
    assert trees["windows"] == len(scored) and 0 < trees["rmse"]["temp"] < 3 * got["rmse"]["temp"]
    assert set(trees["intervals"]) == set(got["intervals"])


@pytest.mark.slow
def test_evaluate_start_after_the_data(runs):
    err = assert_clean_error(runs["evaluate 2014-01-01"][0])
    assert "no complete window" in err and "2014-01-01" in err


@pytest.mark.slow
def test_evaluate_start_that_is_not_a_time(trained):
    path, _, data = trained
    with pytest.raises(DataError, match="--start 'banana' is not a time"):
        evaluate_since(*load_model(path), data, "banana")


# ---------------------------------------------------------------- errors a person can fix


@pytest.mark.slow
def test_missing_model_file(runs):
    err = assert_clean_error(runs["missing_model"][0])
    assert "nowhere/gone.keras: no such model file" in err


@pytest.mark.slow
def test_missing_sidecar(runs):
    err = assert_clean_error(runs["missing_sidecar"][0])
    assert "lonely.json: the model's sidecar is missing" in err


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["inputs", "window", "baselines"])
def test_damaged_sidecar(trained, damage):
    """A sidecar missing a key (edited by hand, say) is a ModelError (exit 2), not a KeyError."""
    path, _, data = trained
    model, side = load_model(path)
    if damage == "baselines":
        del side["params"]["baselines"]
    else:
        del side[damage]
    with pytest.raises(ModelError, match=f"sidecar has no usable .*'{damage}'"):
        evaluate_since(model, side, data)


@pytest.mark.slow
def test_data_without_a_model_input(runs):
    err = assert_clean_error(runs["no_column"][0])
    assert "no column 'dewp'" in err
    assert "2013-01.csv" in err


@pytest.mark.slow
def test_saved_model_is_the_trained_one(trained):
    """The file the command line reads holds the trained weights (so the checks above are fair)."""
    path, model, _ = trained
    loaded, side = load_model(path)
    assert side["window"] == {"lookback": LOOKBACK, "horizon": HORIZON}
    assert side["params"]["baselines"]["season"] == SEASON
    assert side["inputs"] == INPUTS
    x = np.random.default_rng(0).normal(40, 10, (3, LOOKBACK, len(INPUTS))).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_an_unexpected_error_is_one_line_naming_the_command(monkeypatch, capsys):
    """Not the user's to fix (a bug, the system): one `error:` line, exit status 1; the full
    traceback only with LSTM_UTILS_TRACEBACK=1."""
    from lstm_utils import cli

    def broken(args):
        raise ZeroDivisionError("float division by zero\nsecond line")

    monkeypatch.setattr(cli, "_validate", broken)
    monkeypatch.delenv("LSTM_UTILS_TRACEBACK", raising=False)
    assert cli.main(["validate", "somewhere"]) == 1
    err = capsys.readouterr().err
    assert err == ("error: `validate` failed on ZeroDivisionError: float division by zero (not a problem with the "
                   "data or params; LSTM_UTILS_TRACEBACK=1 shows where)\n")
    monkeypatch.setenv("LSTM_UTILS_TRACEBACK", "1")
    with pytest.raises(ZeroDivisionError):
        cli.main(["validate", "somewhere"])

"""Many series in one pipeline: a long-form panel read per series, a data report that names the
series too short for a window, and one global window-scaled model that forecasts series 1,000
times apart in scale, each in its own units."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstm_utils.baselines import seasonal_naive
from lstm_utils.config import parse_params
from lstm_utils.ingest import ingest
from lstm_utils.metrics import errors
from lstm_utils.pages.data import series_table, split_table
from lstm_utils.splits import SERIES, assign_splits
from lstm_utils.windows import split_windows
from tiny_project import TINY, sample_rows, tiny_params

HOURS = 240  # rows per file and series
NUMERIC = ["temp", "dewp", "humid", "wind_speed", "precip", "pressure", "visib"]


def write_panel(folder, files: int = 3, tiny_rows: int = 20):
    """Long-form CSVs (column `site`): `small`, the sample's weather; `large`, another stretch of
    it times 1,000 on the same hours; `tiny`, a few rows in the last file only."""
    rows = sample_rows()
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        small = rows.iloc[f * HOURS:(f + 1) * HOURS].copy()
        large = rows.iloc[3000 + f * HOURS:3000 + (f + 1) * HOURS].copy()
        large["time_hour"] = small["time_hour"].to_numpy()
        for col in NUMERIC:
            large[col] = pd.to_numeric(large[col], errors="coerce") * 1000
        parts = [small.assign(site="small"), large.assign(site="large")]
        if f == files - 1:
            parts.append(small.iloc[:tiny_rows].assign(site="tiny"))
        pd.concat(parts).to_csv(folder / f"part-{f:02d}.csv", index=False, lineterminator="\n")
    return folder


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    folder = write_panel(tmp_path_factory.mktemp("panel") / "data")
    params = parse_params(tiny_params({"data": {"series_column": "site"},
                                       "model": {**TINY["model"], "scaling": "window"}}))
    ds = ingest(folder, params.data, params.split.base_batches)
    return ds, assign_splits(ds, params.split), params


def test_each_series_is_read_and_cut_on_its_own(panel):
    ds, frame, params = panel
    assert list(dict.fromkeys(frame[SERIES])) == ["large", "small", "tiny"]
    table = split_table(frame)
    assert table.index.names == ["series", "batch"]
    assert table.loc[("small", "batch 1"), "train rows"] + table.loc[("small", "batch 1"), "val rows"] \
        + table.loc[("small", "batch 1"), "test rows"] == HOURS
    # the large series is the sample's other stretch times 1,000, on the same hours
    large = frame[frame[SERIES] == "large"]
    assert large["temp"].abs().median() > 10_000 and frame.loc[frame[SERIES] == "small", "temp"].abs().median() < 100


def test_a_series_too_short_for_any_window_is_named_not_refused(panel):
    ds, frame, params = panel
    table = series_table(ds, frame, params.window)
    assert table.loc["tiny", "rows"] == 20
    assert table.loc["tiny", "train windows"] == table.loc["tiny", "test windows"] == 0
    assert "too short for any window" in table.loc["tiny", "note"]
    assert table.loc["small", "note"] == "" and table.loc["small", "train windows"] > 100
    # no window crosses from one series into the next: each window's rows share a series
    w = split_windows(frame, params, "train", [0, 1])
    codes = pd.factorize(frame[SERIES])[0]
    assert (codes[w.starts - params.window.lookback] == codes[w.starts + params.window.horizon - 1]).all()


def per_series_rmse(frame, params, model_forecast) -> dict[str, tuple[float, float]]:
    """(model, seasonal naive) RMSE on every test tail, per series, in that series' units."""
    w = split_windows(frame, params, "test", [0, 1, 2])
    _, y = w.arrays()
    names = frame[SERIES].to_numpy()[w.starts]
    pred, naive = model_forecast(w), seasonal_naive(w, params.baselines.season)
    out = {}
    for name in np.unique(names):
        pick = names == name
        out[name] = tuple(float(errors(y[pick], p[pick], params.data.targets)["rmse"]["temp"]) for p in (pred, naive))
    return out


@pytest.mark.slow
def test_one_global_model_beats_seasonal_naive_on_series_1000_times_apart(panel):
    from lstm_utils.from_scratch import train_new
    from lstm_utils.model import predict

    ds, frame, params = panel
    params = params.replace("train", epochs=4)
    run = train_new(frame, params, [0, 1], verbose=0)
    got = per_series_rmse(frame, params, lambda w: predict(run.model, w))
    assert set(got) == {"large", "small"}  # tiny has no test window
    for name, (model, naive) in got.items():
        assert model < naive, f"{name}: model {model:.3f} against seasonal naive {naive:.3f}"
    # each in its own units: the large series' errors are about 1,000 times the small one's
    assert 100 < got["large"][0] / got["small"][0] < 10_000


def test_with_global_scaling_the_small_series_drowns_in_the_large_ones_statistics(panel):
    """Why `model.scaling: window`: the linear start of a global-scaled model in the relative
    design, the view the LSTM has too (its ridge fit, no training needed to see it), misses the
    small series by far more than seasonal naive does. (Absolute levels tell the series apart, so
    the absolute design does not drown: that is no help to the LSTM, which sees changes.)"""
    from lstm_utils.linear import BatchSums

    ds, frame, params = panel
    params = params.replace("baselines", linear_designs=("relative",))
    ridges = {scaling: BatchSums(frame, params.replace("model", scaling=scaling)).fit([0, 1])
              for scaling in ("global", "window")}
    glob = per_series_rmse(frame, params, ridges["global"].predict)
    by_window = per_series_rmse(frame, params, ridges["window"].predict)
    assert glob["small"][0] > 5 * glob["small"][1]  # 168 against seasonal naive's 10 when measured
    assert by_window["small"][0] < by_window["small"][1] and by_window["large"][0] < by_window["large"][1]


def test_each_series_scale_is_its_rms_step_change_on_its_first_train_tail(panel):
    ds, frame, params = panel
    for name in ("small", "large"):
        rows = frame[(frame[SERIES] == name) & (frame["batch"] == 0) & (frame["split"] == 0)]
        change = np.diff(rows["temp"].to_numpy())
        want = np.sqrt(np.nanmean(change ** 2))
        assert frame.loc[frame[SERIES] == name, "_scale_temp"].unique().tolist() == [pytest.approx(want)]
    assert frame.loc[frame[SERIES] == "large", "_scale_temp"].iloc[0] > 500 * frame.loc[
        frame[SERIES] == "small", "_scale_temp"].iloc[0]
    # tiny has no train rows in a batch (20 rows, all in the last file's tails or not): scale 1 or its own
    assert (frame.loc[frame[SERIES] == "tiny", "_scale_temp"] > 0).all()
    # errors pool without units: a window's actuals divided by its series' scale
    w = split_windows(frame, params, "test", [2])
    _, y = w.arrays()
    (scaled,) = w.scaled(y)
    names = w.series()
    big = names == "large"
    np.testing.assert_allclose(scaled[big], y[big] / frame.loc[frame[SERIES] == "large", "_scale_temp"].iloc[0])


def test_forecast_gives_every_current_series_its_horizon_and_bands_in_its_units(panel):
    from lstm_utils import intervals
    from lstm_utils.forecast import forecast_frame, with_bands
    from lstm_utils.from_scratch import new_forecaster

    ds, frame, params = panel
    model = new_forecaster(frame, params)  # untrained: the seasonal naive forecast, in each series' units
    horizon, lookback = params.window.horizon, params.window.lookback
    table = forecast_frame(model, frame, params.data.inputs, params.data.targets, lookback, horizon,
                           "panel", freq=params.data.freq)
    assert table.columns.tolist() == [SERIES, "temp"]
    assert table[SERIES].tolist() == ["large"] * horizon + ["small"] * horizon
    assert "tiny" in table.attrs["skipped"]  # it stopped on 21 January
    for name in ("large", "small"):
        block = frame[frame[SERIES] == name]
        got = table.loc[table[SERIES] == name, "temp"].to_numpy()
        season = params.baselines.season
        np.testing.assert_allclose(got, block["temp"].to_numpy()[-season:][:horizon], rtol=1e-5)
        assert table.index[table[SERIES] == name][0] == block.index[-1] + pd.Timedelta(hours=1)
    half = np.linspace(1.0, 2.0, horizon)[:, None]
    scales = {"large": [1000.0], "small": [2.0]}
    side = {"intervals": intervals.to_record({0.8: half}, ["temp"], 100, ["b"], scales)}
    out, note = with_bands(table, side)
    assert "series 'tiny' not forecast" in note
    small = out[out[SERIES] == "small"]
    np.testing.assert_allclose(small["temp_upper_80"] - small["temp"], 2.0 * half[:, 0])
    large = out[out[SERIES] == "large"]
    np.testing.assert_allclose(large["temp"] - large["temp_lower_80"], 1000.0 * half[:, 0])


def test_a_series_that_starts_late_is_scaled_by_its_first_train_tail_and_keeps_that_scale():
    from lstm_utils.splits import BATCH, SPLIT, series_scales

    index = pd.date_range("2020-01-01", periods=10, freq="h", tz="UTC", name="t")
    a = pd.DataFrame({"y": [0, 1, 3, 6, 10, 0, 5, 10, 15, 20.0], BATCH: [0] * 5 + [1] * 5,
                      SPLIT: [0, 0, 0, 1, 2] * 2, SERIES: "A"}, index=index)
    b = a.iloc[5:].assign(y=[100, 300, 500, 900, 1000.0], **{SERIES: "B"})  # B first appears in batch 1
    got = series_scales(pd.concat([a, b]), ["y"])
    # A: batch 0's train rows 0, 1, 3 (changes 1, 2); B: batch 1's train rows 100, 300, 500 (200, 200)
    assert got.loc[got[SERIES] == "A", "_scale_y"].unique().tolist() == [pytest.approx(np.sqrt(2.5))]
    assert got.loc[got[SERIES] == "B", "_scale_y"].unique().tolist() == [pytest.approx(200.0)]
    # a later batch with other values changes neither
    later = pd.concat([a, b, b.assign(y=b["y"] * 50, **{BATCH: 2}).set_axis(b.index + pd.Timedelta(hours=5))])
    again = series_scales(later, ["y"])
    assert again.loc[again[SERIES] == "B", "_scale_y"].unique().tolist() == [pytest.approx(200.0)]


def test_evaluate_reports_each_series_in_its_units_and_pools_on_the_sidecars_scales(panel, tmp_path):
    from lstm_utils.artifacts import make_sidecar
    from lstm_utils.evaluate import evaluate_since
    from lstm_utils.from_scratch import new_forecaster

    ds, frame, params = panel
    folder = write_panel(tmp_path / "data")
    model = new_forecaster(frame, params)  # untrained: seasonal naive itself, so the two must agree
    side = make_sidecar("base", None, params, {}, {})
    side["intervals"] = {"series_scales": {"large": [1000.0], "small": [2.0]}}
    got = evaluate_since(model, side, folder, start="2013-01-25")
    assert sorted(got["series"]) == ["large", "small"] and "scale" in got["pooled"]
    for name in ("large", "small"):
        per = got["series"][name]
        assert per["model"]["rmse"]["temp"] == pytest.approx(per["seasonal_naive"]["rmse"]["temp"], rel=1e-5)
    big, small = got["series"]["large"]["model"], got["series"]["small"]["model"]
    # pooled: each error divided by its series' scale from the sidecar, then one RMSE over all
    want = np.sqrt((big["windows"] * (big["rmse"]["temp"] / 1000) ** 2 + small["windows"] * (small["rmse"]["temp"] / 2)
                    ** 2) / (big["windows"] + small["windows"]))
    assert got["model"]["rmse"]["temp"] == pytest.approx(want, rel=1e-6)


def test_without_the_new_keys_a_single_series_project_is_exactly_as_before(tmp_path):
    """Absent keys and their explicit defaults give the same frame, columns, windows and model;
    the frame gains no column (no scale, no calendar) and the model no layer of ours. (After
    each change to the package, `make repro` on the sample gives every output of dvc.lock the
    same hash as before; see docs/your-data.md.)"""
    from lstm_utils.from_scratch import new_forecaster
    from tiny_project import write_part

    for part in range(3):
        write_part(tmp_path / "data", part)
    absent = parse_params(tiny_params())
    explicit = parse_params(tiny_params({"data": {"series_column": None, "calendar": []},
                                         "model": {**TINY["model"], "scaling": "global", "gate": "none"}}))
    assert "series_column" not in absent.raw["data"] and absent.data == explicit.data
    frames = []
    for params in (absent, explicit):
        ds = ingest(tmp_path / "data", params.data, params.split.base_batches, horizon=params.window.horizon)
        frames.append(assign_splits(ds, params.split))
    pd.testing.assert_frame_equal(frames[0], frames[1])
    assert frames[0].columns.tolist() == [*absent.data.inputs, "batch", "split"]
    assert absent.data.inputs == ("temp", "dewp", "humid", "wind_speed", "precip", "pressure", "visib")
    w = split_windows(frames[0], absent, "train", [0])
    assert w.scale is None and w.names is None and w.target_scale() is None
    model = new_forecaster(frames[0], absent)
    assert model.to_json() == new_forecaster(frames[1], explicit).to_json()
    assert not any(type(layer).__module__.startswith("lstm_utils") for layer in model.layers)


def test_forecasts_against_actuals_draw_the_first_series_and_name_it(panel):
    from lstm_utils import plots

    ds, frame, params = panel
    w = split_windows(frame, params, "test", [0, 1, 2])
    _, y = w.arrays()
    fig = plots.forecast_vs_actual(w, {"seasonal_naive": y, "linear": y}, steps=(1, 6), name="temp")
    assert [ax.get_title() for ax in fig.axes[:2]] == ["temp (large) forecast made 1 step(s) ahead",
                                                       "temp (large) forecast made 6 step(s) ahead"]
    assert len(fig.axes[0].lines[0].get_xdata()) == int((w.series() == "large").sum())

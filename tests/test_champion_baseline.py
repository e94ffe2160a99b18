"""A baseline as champion: persistence, seasonal naive and the ridge as Keras models of built-in
layers, which load in safe mode and forecast what the baselines forecast (no training)."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_utils._keras import keras
from lstm_utils.baselines import BASELINES, as_model, final
from lstm_utils.model import predict
from lstm_utils.windows import deployed_windows, make_windows
from tiny_project import tiny_sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """Four slices of the sample (a 2-slice base period, then batches 1 and 2), tiny params."""
    return tiny_sample(tmp_path_factory.mktemp("champion_baseline"))


@pytest.mark.parametrize("name", BASELINES)
def test_a_baseline_champion_loads_in_safe_mode_and_forecasts_as_the_baseline(sample, tmp_path, name):
    frame, params = sample
    model = as_model(name, frame, params)
    path = tmp_path / "champion.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)  # built-in layers only: no code runs to load it
    windows = deployed_windows(frame, params, 2)
    got = predict(loaded, windows).astype(np.float64)
    want = final(name, frame, params).predict(windows)
    assert got.shape == want.shape == (len(windows), params.window.horizon, len(params.data.targets))
    if name == "linear":  # the ridge's forecasts, in float32
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
        assert np.abs(got - final("persistence", frame, params).predict(windows)).max() > 0.1  # not a naive one
    else:  # the window's own values, to the bit
        np.testing.assert_array_equal(got, want)


def test_an_unknown_baseline_is_refused(sample):
    frame, params = sample
    with pytest.raises(ValueError, match="no baseline named 'lstm'"):
        as_model("lstm", frame, params)


# --- through the pipeline: a run where a baseline wins ----------------------------------------------

@pytest.fixture(scope="module")
def baseline_project(repro_project, tmp_path_factory):
    """A copy of the shared tiny project with the baselines as candidates (`compare.candidates: all`)
    and drift added, through `lstm-utils repro` (data, base and the other strategies reused: drift and
    compare run): tiny LSTMs trained two epochs, which the baselines match."""
    import sys

    import yaml

    from tiny_project import copy_project, run

    root = copy_project(repro_project[0], tmp_path_factory.mktemp("baseline_champion") / "project")
    raw = yaml.safe_load((root / "params.yaml").read_text())
    raw["compare"] |= {"strategies": [*raw["compare"]["strategies"], "drift"], "candidates": "all"}
    raw["drift"] |= {"epochs": 2, "patience": 1}
    raw["baselines"]["trees"] = 0  # the trees (no candidate) would beat the tiny LSTMs and the ridge alike
    (root / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    run([sys.executable, "-m", "lstm_utils", "repro"], root)
    return root


@pytest.mark.slow
def test_a_run_where_a_baseline_wins_crowns_it_and_every_command_follows_it(baseline_project):
    """The champion is a baseline: metrics say so, the verdict says the LSTM does not pay, the index
    opens with it, champion.keras is that baseline (safe mode), and forecast.csv and `evaluate` give
    its forecasts and figures."""
    import json
    import sys

    import pandas as pd

    from lstm_utils.artifacts import load_model
    from lstm_utils.config import load_params
    from lstm_utils.forecast import forecast_frame
    from lstm_utils.stages.data import prepare
    from tiny_project import run

    root = baseline_project
    metrics = json.loads((root / "reports/metrics.json").read_text())
    name = metrics["champion"]
    assert metrics["champion_is_baseline"] and name in BASELINES, name
    assert json.loads((root / "reports/summary.json").read_text())["deployed_rmse"] == \
        metrics["baselines"][name]["deployed_rmse"]
    side = json.loads((root / "models/champion.json").read_text())
    assert side["strategy"] == name and "no LSTM" in side["parent"] and side["intervals"]["half_widths"]
    keras.saving.load_model(root / "models/champion.keras", safe_mode=True)
    compare = (root / "reports/compare.html").read_text()
    assert "The LSTM does not pay on this data" in compare
    index = (root / "reports/index.html").read_text()
    assert f"Use <b>{name}</b>" in index and "the LSTM does not pay on this data" in index
    assert "Month by month" in index

    params = load_params(root / "params.yaml")
    frame = prepare(root / "data", params).frame
    model, _ = load_model(root / "models/champion.keras")
    ahead = forecast_frame(model, frame, params.data.inputs, params.data.targets, params.window.lookback,
                           params.window.horizon, "prepared data", freq=params.data.freq)
    written = pd.read_csv(root / "reports/forecast.csv", index_col=0)
    np.testing.assert_allclose(written["temp"].to_numpy(), ahead["temp"].to_numpy(), rtol=1e-6)

    got = json.loads(run([sys.executable, "-m", "lstm_utils", "evaluate", "--model", "models/champion.keras",
                          "--data", "data"], root).stdout)
    windows = make_windows(frame, params.data.inputs, params.data.targets, params.window.lookback,
                           params.window.horizon)  # every window of the data, as evaluate cuts them
    assert got["windows"] == len(windows)
    want = final(name, frame, params).predict(windows)  # the linear one: refit on every batch, as the champion is
    rmse = float(np.sqrt(((want - windows.targets()) ** 2).mean()))
    assert got["model"]["rmse"]["temp"] == pytest.approx(rmse, rel=1e-4)
    if name != "linear":  # evaluate scores that baseline beside the model, on the same windows: the same figure
        assert got["model"]["rmse"] == pytest.approx(got[name]["rmse"], rel=1e-12)


@pytest.mark.slow
def test_drift_runs_through_the_pipeline_and_its_step_table_says_why(baseline_project):
    """The drift stage's report and step table: whether the step retrained, the share outside the band
    and the limit it was held to (the share is the finetune model's band test, a number in [0, 1])."""
    import pandas as pd

    root = baseline_project
    steps = pd.read_csv(root / "reports/steps/drift.csv")
    assert {"retrained", "outside", "limit"} <= set(steps.columns) and len(steps) == 1
    row = steps.iloc[0]
    assert 0.0 <= row["outside"] <= 1.0 and 0.2 < row["limit"] < 1.0
    assert bool(row["retrained"]) == (row["outside"] > row["limit"])
    page = (root / "reports/drift.html").read_text()
    assert "Fine-tune, retrain on drift" in page and "outside" in page

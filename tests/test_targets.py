"""Several targets through the whole pipeline: the tiny project forecasting temperature, dew
point and humidity at once, run by `lstm-utils repro` through every stage and report; its one
update file has a pressure spike, which the data checks flag and (`data.checks.action: mask`)
turn into a gap the gap rules fill."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from tiny_project import make_project, ran_stages, run

pytestmark = pytest.mark.slow

TARGETS = ["temp", "dewp", "humid"]
STRATEGIES = ["none", "finetune", "ensemble"]  # one that keeps, one that fine-tunes, one that combines models


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("targets") / "project", parts=3, with_dvc=True)
    raw = yaml.safe_load((root / "params.yaml").read_text())
    raw["data"]["targets"] = TARGETS
    raw["data"]["checks"] = {"action": "mask"}
    part = root / "data" / "part-02.csv"  # the update file: three hours of a broken barometer
    rows = pd.read_csv(part, dtype=str, keep_default_na=False)
    rows.loc[100:102, "pressure"] = "5000"
    rows.to_csv(part, index=False, lineterminator="\n")
    raw["compare"]["strategies"] = STRATEGIES
    (root / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    run(["dvc", "add", "data"], root)
    output = run([sys.executable, "-m", "lstm_utils", "repro"], root)
    return root, output.stdout + output.stderr


def test_every_stage_runs_with_three_targets(project):
    root, output = project
    assert ran_stages(output) >= {"data", "base", "compare"}
    assert all(f"[strategy@{s}] Running stage 'strategy@{s}'" in output for s in STRATEGIES)
    assert "up to date" in run(["dvc", "status"], root).stdout


def test_the_step_table_has_a_share_column_per_target(project):
    root, _ = project
    steps = pd.read_csv(root / "reports/steps/finetune.csv")
    shares = steps[[f"share_{t}" for t in TARGETS]].to_numpy()
    assert shares.shape == (1, 3) and ((shares >= 0) & (shares <= 1)).all()
    record = json.loads((root / "reports/steps/finetune.json").read_text())
    assert record["steps"][0]["info"]["share"] == pytest.approx(shares[0].tolist(), abs=1e-12)


def test_metrics_give_each_target_its_own_deployed_error(project):
    root, _ = project
    metrics = json.loads((root / "reports/metrics.json").read_text())
    every = metrics["strategies"] | metrics["baselines"]
    assert set(every) == {*STRATEGIES, "persistence", "seasonal_naive", "linear", "trees"}
    for name, figures in every.items():
        per = figures["deployed_rmse_by_target"]
        assert set(per) == set(TARGETS), name
        # the pooled figure is the root of the targets' mean squared error, every window alike
        assert figures["deployed_rmse"] ** 2 == pytest.approx(np.mean([v ** 2 for v in per.values()]), rel=1e-9)
    # humidity (in %) moves most from hour to hour, temperature least: persistence says so per target
    persistence = every["persistence"]["deployed_rmse_by_target"]
    assert persistence["humid"] > persistence["temp"]


def test_forecast_and_evaluate_give_every_target_with_its_bounds(project):
    root, _ = project
    forecast = pd.read_csv(root / "reports/forecast.csv")
    assert list(forecast.columns[:4]) == ["time_hour", *TARGETS] and len(forecast) == 6
    for t in TARGETS:
        assert (forecast[f"{t}_lower_80"] < forecast[t]).all() and (forecast[t] < forecast[f"{t}_upper_80"]).all()
        assert (forecast[f"{t}_lower_95"] <= forecast[f"{t}_lower_80"]).all()
    got = json.loads(run([sys.executable, "-m", "lstm_utils", "evaluate", "--model", "models/champion.keras",
                          "--data", "data", "--start", "2013-01-25"], root).stdout)
    assert set(got["model"]["rmse"]) == set(TARGETS) and set(got["persistence"]["rmse"]) == set(TARGETS)


def test_the_reports_show_each_target(project):
    root, _ = project
    compare = (root / "reports/compare.html").read_text()
    assert "Per target" in compare and all(f"rmse {t}" in compare for t in TARGETS)
    base = (root / "reports/base.html").read_text()
    assert all(f"rmse {t}" in base for t in TARGETS)
    assert base.count("<img") == 1 + 2 * len(TARGETS)  # the learning curves; forecasts and error by step per target
    assert all(f"share_{t}" in (root / "reports/finetune.html").read_text() for t in TARGETS)


def test_the_spike_is_flagged_in_words_and_masked_into_a_filled_gap(project):
    root, output = project
    assert "warning: spike: part-02.csv: pressure reaches 5000" in output
    assert "warning: 3 values treated as missing" in output
    assert "pressure reaches 5000" in (root / "reports/data.html").read_text()
    raw = pd.read_csv(root / "data/part-02.csv")
    prepared = pd.read_csv(next((root / "prepared").glob("*part-02.csv")))
    spiked = raw["time_hour"].iloc[100:103].tolist()
    pressure = prepared.set_index(prepared.columns[0])["pressure"]
    assert pressure.max() < 1100 and pressure.min() > 900  # no 5000 reached the models
    edges = raw["pressure"].iloc[[99, 103]].astype(float).to_numpy()
    got = pressure.loc[[t for t in pressure.index if any(t.startswith(s[:13]) for s in spiked)]].to_numpy()
    assert got == pytest.approx(edges[0] + np.arange(1, 4) / 4 * (edges[1] - edges[0]), abs=1e-6)

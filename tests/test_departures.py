"""The second example, departures per airport, through the real pipeline: three series in long
form (series column), calendar inputs known ahead, window scaling; set up as its section in
docs/many-series.md does (scripts/example_project.py), on its first two months with small
settings. (Adding a month runs the same steps as for one series: test_walkthrough and
test_pipeline.)"""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

from tiny_project import ROOT, TINY, run

sys.path.insert(0, str(ROOT / "scripts"))
from example_project import make  # noqa: E402

AIRPORTS = ["EWR", "JFK", "LGA"]
HORIZON = 24  # the example's window (a week in, a day out) is kept; the rest is small
STRATEGIES = ["none", "finetune"]  # two strategies keep the two pipeline runs affordable
SMALL = {k: v for k, v in TINY.items() if k != "window"} | {
    "split": {"base_batches": 1}, "train": {"epochs": 2, "batch_size": 64, "patience": 1},
    "compare": {"strategies": STRATEGIES}, "baselines": {"trees": 5, "trees_every": 6}}  # five tree models, of 5 trees


@pytest.fixture(scope="module")
def departures(tmp_path_factory):
    project = make("departures", tmp_path_factory.mktemp("departures") / "project", months=2, overrides=SMALL)
    run(["dvc", "repro"], project)
    return project


@pytest.mark.slow
def test_the_departures_example_runs_per_airport_with_its_calendar(departures):
    project = departures
    prepared = pd.read_csv(project / "prepared" / "00-base.csv", index_col=0)
    assert sorted(set(prepared["series"])) == AIRPORTS
    # the calendar 24 h ahead: a row on Sunday 20 January, 05:00 in New York, carries Monday's
    # holiday (Martin Luther King Jr. Day) and the hour and weekday of the step a day later
    row = prepared[(prepared.index == "2013-01-20T05:00:00-0500") & (prepared["series"] == "JFK")].iloc[0]
    assert row["us_federal_holidays_ahead"] == 1.0
    assert row["hour_sin_ahead"] == pytest.approx(np.sin(2 * np.pi * 5 / 24))
    assert row["weekday_sin_ahead"] == pytest.approx(0.0) and row["weekday_cos_ahead"] == pytest.approx(1.0)
    # each airport's scale: the RMS of its hour-to-hour change on its base train tail
    scales = prepared.groupby("series")["_scale_departures"].unique()
    assert all(len(v) == 1 and v[0] > 1 for v in scales)

    metrics = json.loads((project / "reports" / "metrics.json").read_text())
    assert sorted(metrics["series"]) == AIRPORTS
    for airport in AIRPORTS:
        per = metrics["series"][airport]
        assert set(per) == {*STRATEGIES, "persistence", "seasonal_naive", "linear", "trees"}
        assert 0.1 < per["seasonal_naive"]["rmse"] < 20  # departures per hour, in the airport's units
    pooled = metrics["strategies"][metrics["champion"]]["new_rmse"]
    assert 0 < pooled < 5  # scale-free: divided by each airport's typical hour-to-hour change

    forecast = pd.read_csv(project / "reports" / "forecast.csv", index_col=0)
    assert forecast["series"].tolist() == [a for a in AIRPORTS for _ in range(HORIZON)]
    assert forecast.index[0] == "2013-03-01T00:00:00-05:00"  # ISO 8601; the hour after February's last, per airport
    assert (forecast["departures_lower_80"] <= forecast["departures"]).all()
    assert (forecast["departures"] <= forecast["departures_upper_95"]).all()
    html = (project / "reports" / "compare.html").read_text()
    assert "Per series" in html and "Its worst series is" in html
    assert "Series" in (project / "reports" / "data.html").read_text()

    # the share (`model.share: fitted`): fitted on the base period, then again at February's step
    steps = json.loads((project / "reports" / "steps" / "finetune.json").read_text())
    share = steps["steps"][0]["info"]["share"]
    assert len(share) == 1 and 0.0 <= share[0] <= 1.0 and "gate" not in steps["steps"][0]["info"]
    table = pd.read_csv(project / "reports" / "steps" / "finetune.csv")
    assert table["share"].tolist() == pytest.approx(share)
    assert "share of the LSTM's part" in (project / "reports" / "base.html").read_text()

    cost = json.loads((project / "reports" / "cost" / "finetune.json").read_text())
    assert list(cost["steps"]) == ["2013-02"]  # February is the one update step
    # the command-line forecast agrees with the pipeline's, series by series
    done = run(["python", "-m", "lstm_utils", "forecast", "--model", "models/champion.keras", "--data", "data"],
               project)
    cli = pd.read_csv(pd.io.common.StringIO(done.stdout), index_col=0)
    np.testing.assert_allclose(cli["departures"].to_numpy(), forecast["departures"].to_numpy(), rtol=1e-4)
    assert cli["series"].tolist() == forecast["series"].tolist()

"""End to end: the real `dvc repro` on a small copy of the project, then a new CSV arrives."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from tiny_project import STAGES, STRATEGIES, copy_project, locked, make_project, ran_stages, run, write_part

pytestmark = pytest.mark.slow




@pytest.fixture(scope="module")
def project(repro_project, tmp_path_factory):
    """A copy of the session's tiny project after its first `dvc repro`; the tests below change it in turn."""
    source, output = repro_project
    root = copy_project(source, tmp_path_factory.mktemp("e2e") / "project")
    return root, output


def test_repro_produces_model_reports_and_metrics(project):
    root, output = project
    assert ran_stages(output) == {"data", "base", "compare", *STAGES}
    for name in ("data", "base", "compare", *STRATEGIES):
        assert (root / f"reports/{name}.html").is_file(), name
        assert (root / f"reports/executed/{name}.ipynb").is_file(), name
    import keras

    for name in ("base", "champion", *STRATEGIES):
        assert (root / f"models/{name}.keras").is_file() and (root / f"models/{name}.json").is_file(), name
        assert keras.saving.load_model(root / f"models/{name}.keras", safe_mode=True).output_shape[1] == 6
    # base period = the first 2 of 3 files; batch 1 = the third
    assert sorted(p.name for p in (root / "prepared").glob("*.csv")) == ["00-base.csv", "01-part-02.csv"]
    metrics = json.loads((root / "reports/base_metrics.json").read_text())
    test = metrics["test"]
    assert set(test) == {"model", "persistence", "seasonal_naive", "linear", "trees"}
    assert metrics["windows"]["test"] > 0
    for name in test:
        assert 0 < test[name]["rmse"]["temp"] < 30
        assert test[name]["mae"]["temp"] <= test[name]["rmse"]["temp"]
    sidecar = json.loads((root / "models/base.json").read_text())
    assert sidecar["strategy"] == "base" and sidecar["parent"] is None
    assert sidecar["params"]["window"] == {"lookback": 24, "horizon": 6}
    assert set(sidecar["sources"]) == {"prepared/00-base.csv", "data/part-00.csv", "data/part-01.csv"}
    assert sidecar["metrics"]["test"]["model"]["rmse"] == test["model"]["rmse"]
    base_page = (root / "reports/base.html").read_text()  # says whether the LSTM improved on its start, or why not
    assert ("The LSTM kept its start" in base_page) != ("The LSTM improved on its start" in base_page)


def test_the_terminal_shows_what_cells_print_not_their_tables(project):
    root, output = project
    # progress, the champion and one line per written forecast, each under its stage's name
    assert "  [base] Epoch 1/" in output and "  [none] none: step 1/1 (part-02): nothing to train" in output
    steps = len(pd.read_csv(root / "reports/forecast.csv"))
    assert "  [compare] champion: " in output and output.count("forecast.csv") == 1
    assert f"  [compare] wrote reports/forecast.csv: {steps} steps from 2013-01-31T07:00:00+00:00" in output
    # tables and figures stay in the reports
    assert "Empty DataFrame" not in output and "<Figure" not in output
    assert not re.search(r"^forecaster\s*$", output, re.MULTILINE)


def test_reports_are_offline_html_without_code(project):
    root, _ = project
    index = (root / "reports/index.html").read_text()
    for name in ("data", "base", "compare", *STRATEGIES):
        assert f'href="{name}.html"' in index
    for name in ("data", "base", "compare", *STRATEGIES):
        page = (root / f"reports/{name}.html").read_text()
        assert "data:image/png;base64," in page  # figures embedded
        assert not re.search(r"<script[^>]+src=\"https?://", page)  # nothing from a CDN
        assert not re.search(r"<link[^>]+href=\"https?://", page)
        assert "load_params(" not in page  # code cells hidden
    assert re.search(r"mean RMSE: model [0-9.]+, persistence [0-9.]+", (root / "reports/base.html").read_text())


def test_strategies_champion_metrics_and_forecast(project):
    root, _ = project
    metrics = json.loads((root / "reports/metrics.json").read_text())
    assert metrics["champion"] in STRATEGIES
    assert set(metrics["strategies"]) == set(STRATEGIES)
    keys = {"new_rmse", "new_mae", "old_rmse", "forgetting", "forgetting_share", "forward_rmse", "windows_seen",
            "new_windows", "deployed_rmse", "deployed_mae", "deployed_windows", "mcs_pvalue", "in_mcs"}
    interval_keys = {f"{p}_{m}_{q}" for p in ("new", "deployed") for m in ("coverage", "width", "interval_score")
                     for q in ("80", "95")}
    deployed = {name: metrics["strategies"][name]["deployed_windows"] for name in STRATEGIES}
    assert len(set(deployed.values())) == 1  # every strategy judged on the same windows: every window of part-02
    for name, summary in metrics["strategies"].items():
        assert set(summary) == keys | interval_keys, name
        steps = json.loads((root / f"reports/steps/{name}.json").read_text())
        assert summary["deployed_windows"] == steps["deployed"][0]["windows"] > 3 * summary["new_windows"]
        assert summary["deployed_rmse"] == pytest.approx(np.sqrt(np.mean(steps["deployed"][0]["sq"])))
        assert summary["in_mcs"] == (summary["mcs_pvalue"] > 1 - 0.9)
        assert summary["new_rmse"] == pytest.approx(steps["rmse"][1][1])  # one update step: E[1][1]
        assert summary["old_rmse"] == pytest.approx(steps["rmse"][1][0])
        for q in ("80", "95"):  # C[1][1], like E[1][1]
            assert summary[f"new_coverage_{q}"] == pytest.approx(steps["intervals"][q]["coverage"][1][1])
            assert 0 < summary[f"new_coverage_{q}"] <= 1 and summary[f"new_width_{q}"] > 0
        side = json.loads((root / f"models/{name}.json").read_text())  # the final model carries its half-widths
        assert side["intervals"]["levels"] == [0.8, 0.95] and side["intervals"]["calibrated_on"] == [
            "part-02 (validation tail)"]
        assert side["intervals"]["half_widths"] == {q: {"temp": [row[0] for row in steps["half_widths"][-1][q]]}
                                                    for q in ("80", "95")}
    for name in ("persistence", "seasonal_naive", "linear", "trees"):
        assert interval_keys <= set(metrics["baselines"][name]), name
    assert metrics["strategies"]["none"]["forgetting"] == 0 and metrics["strategies"]["none"]["windows_seen"] == 0
    assert set(metrics["baselines"]) == {"persistence", "seasonal_naive", "linear", "trees"}
    # the linear baseline's numbers are a ridge refit per step on the prepared data, computed here again
    from lstm_utils.config import load_params
    from lstm_utils.stages.champion import baselines
    from lstm_utils.stages.prepared import load_batches

    params = load_params(root / "params.yaml")
    frame, names, _ = load_batches(root / "prepared", params)
    record = baselines(frame, params, names).linear
    assert {k: v for k, v in metrics["baselines"]["linear"].items() if k not in ("mcs_pvalue", "in_mcs")} == \
        pytest.approx({k: v for k, v in record["summary"].items() if k != "windows_seen"}, abs=1e-9)
    assert metrics["baselines"]["linear"]["new_rmse"] == pytest.approx(record["rmse"][1, 1])
    assert metrics["linear_fits"] == {b: {"design": d, "penalty": p} for b, d, p in
                                      zip(record["batches"], record["designs"], record["penalties"])}
    assert metrics["confidence_set"]["windows"] == deployed["none"]  # the one update batch's deployed windows
    assert metrics["champion"] in metrics["confidence_set"]["members"] or not metrics["champion_in_mcs"]
    assert list(metrics["walk_forward"]["history"]) == ["next"]  # one update step: nothing to walk forward yet
    champion = json.loads((root / "models/champion.json").read_text())
    assert champion["strategy"] == metrics["champion"]
    assert (root / "models/champion.keras").read_bytes() == (root / f"models/{metrics['champion']}.keras").read_bytes()
    forecast = (root / "reports/forecast.csv").read_text().splitlines()
    assert forecast[0] == "time_hour,temp,temp_lower_80,temp_upper_80,temp_lower_95,temp_upper_95"
    assert len(forecast) == 1 + 6  # horizon 6
    assert forecast[1].startswith("2013-01-31T07:00:00")  # one hour after the last of 721 grid rows
    table = pd.read_csv(root / "reports/forecast.csv")
    for q in ("80", "95"):  # the champion's half-widths, from its sidecar, around its point forecast
        half = [w if w is not None else np.inf for w in champion["intervals"]["half_widths"][q]["temp"]]
        np.testing.assert_allclose(table[f"temp_upper_{q}"] - table["temp"], half, atol=1e-4)
        np.testing.assert_allclose(table["temp"] - table[f"temp_lower_{q}"], half, atol=1e-4)
    base = json.loads((root / "reports/base_metrics.json").read_text())
    assert set(base["test"]["model"]["intervals"]) == {"80", "95"}
    compare_page = (root / "reports/compare.html").read_text()
    for words in ("Intervals", "Coverage matrices", "intervals</strong>:", "interval_score 95", "Cannot be told apart",
                  "Would following the rule have paid?", "deployed coverage 95"):
        assert words in compare_page, words
    assert "Intervals: do they still cover after each update?" in (root / "reports/replay.html").read_text()
    shown = run(["dvc", "metrics", "show", "--json"], root).stdout
    assert metrics["champion"] in shown
    # the headline, flat and short: one readable Markdown table
    champion = metrics["strategies"][metrics["champion"]]
    assert json.loads((root / "reports/summary.json").read_text()) == {
        "champion": metrics["champion"], "deployed_rmse": champion["deployed_rmse"],
        "linear_rmse": metrics["baselines"]["linear"]["deployed_rmse"], "windows": champion["deployed_windows"],
        "in_set": f"{len(metrics['confidence_set']['members'])} of {len(STRATEGIES) + 4}",
        "coverage_80": champion["deployed_coverage_80"], "coverage_95": champion["deployed_coverage_95"]}
    table = run(["dvc", "metrics", "show", "reports/summary.json", "--md"], root).stdout.strip().splitlines()
    assert len(table) == 3 and max(map(len, table)) < 160 and metrics["champion"] in table[2]
    for name in STRATEGIES:  # seconds live apart from the metrics later stages read, since they vary
        spent = json.loads((root / f"reports/cost/{name}.json").read_text())
        assert spent["windows_seen"] == metrics["strategies"][name]["windows_seen"]
        assert list(spent["steps"]) == ["part-02"] and spent["train_seconds"] == pytest.approx(spent["steps"]["part-02"], abs=1e-3)
        assert spent["train_seconds"] < 0.1 if name == "none" else spent["train_seconds"] > 0.1, name
        assert f"reports/cost/{name}.json" in shown


def test_repro_again_does_nothing(project):
    root, _ = project
    again = run(["dvc", "repro"], root)
    assert ran_stages(again.stdout) == set()
    assert "up to date" in run(["dvc", "status"], root).stdout



def test_two_forced_runs_give_the_same_lock_for_models_and_metrics(project):
    root, _ = project
    before = locked(root)
    assert {"models/base.keras", "models/champion.keras", "prepared", "reports/metrics.json",
            "reports/base_metrics.json", "reports/steps/replay.json"} <= set(before)
    shutil.rmtree(root / "state")  # every step is recomputed, not reused
    output = run(["dvc", "repro", "-f"], root)
    assert ran_stages(output.stdout) == {"data", "base", "compare", *STAGES}
    assert "replay: step 1/1 (part-02): trained" in output.stdout + output.stderr
    assert locked(root) == before


@pytest.fixture(scope="module")
def grown(grown_project, tmp_path_factory):
    """A copy of the session's project after a fourth CSV arrived (see conftest.grown_project)."""
    source, output = grown_project
    return copy_project(source, tmp_path_factory.mktemp("grown") / "project"), output


def test_new_later_csv_does_not_retrain_base(project, grown):
    before, _ = project
    root, output = grown
    model_before = (before / "models/base.keras").read_bytes()
    prepared_before = {name: (before / "prepared" / name).read_bytes() for name in ("00-base.csv", "01-part-02.csv")}
    stages = ran_stages(output)
    assert stages == {"data", "compare", *STAGES}  # everything but the base model
    steps = json.loads((root / "reports/steps/finetune.json").read_text())
    assert steps["batches"] == ["base", "part-02", "part-03"] and len(steps["rmse"]) == 3
    for name in STRATEGIES:  # the earlier step is reused from state/<name>; only the new one is trained
        assert f"{name}: step 1/2 (part-02): reused" in output, name
        done = "nothing to train" if name == "none" else "trained"  # none keeps its model
        assert f"{name}: step 2/2 (part-03): {done}" in output, name
    assert len(list((root / "state/finetune").glob("*.keras"))) == 2
    # part-03 repeats part-02's last 12 hours: they stay in part-02, whose batch keeps its bytes
    for name, text in prepared_before.items():
        assert (root / "prepared" / name).read_bytes() == text, name
    new = pd.read_csv(root / "prepared/02-part-03.csv", index_col=0)
    last = pd.read_csv(root / "prepared/01-part-02.csv", index_col=0).index[-1]
    assert len(new) == 240 and pd.Timestamp(new.index[0]) == pd.Timestamp(last) + pd.Timedelta("1h")
    assert (root / "models/base.keras").read_bytes() == model_before
    assert (root / "prepared/02-part-03.csv").is_file()


def test_incremental_route_equals_replaying_the_chain_from_scratch(grown):
    root, _ = grown
    incremental = {s: (root / f"models/{s}.keras").read_bytes() for s in ("finetune", "retrain")}
    metrics = json.loads((root / "reports/metrics.json").read_text())
    for s in incremental:
        shutil.rmtree(root / "state" / s)  # forget every step: the chain is replayed from the base model
        out = run(["dvc", "repro", "-f", "-s", f"strategy@{s}"], root)
        assert f"{s}: step 1/2 (part-02): trained" in out.stderr + out.stdout
        assert (root / f"models/{s}.keras").read_bytes() == incremental[s], s  # bit for bit
    # identical outputs: the comparison does not run again, and the metrics are what they were
    assert ran_stages(run(["dvc", "repro"], root).stdout) == set()
    assert json.loads((root / "reports/metrics.json").read_text()) == metrics


def test_params_change_of_one_strategy_reruns_only_it_and_compare(project):
    root, _ = project
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["finetune"]["learning_rate"] = params["finetune"]["learning_rate"] * 3
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    status = run(["dvc", "status"], root).stdout
    assert "strategy@finetune:" in status and "strategy@distill:" not in status and "base:" not in status
    before = (root / "reports/steps/finetune.json").read_bytes()
    stages = ran_stages(run(["dvc", "repro"], root).stdout)
    # compare runs again only if finetune's results changed (a step whose epochs all did worse
    # than its start keeps the previous weights, whatever the learning rate)
    changed = (root / "reports/steps/finetune.json").read_bytes() != before
    assert stages == ({"strategy@finetune", "compare"} if changed else {"strategy@finetune"})


def test_bad_csv_stops_repro_with_one_clear_message_and_keeps_the_last_results(project):
    root, _ = project
    kept = {p: p.read_bytes() for p in [root / "models/champion.keras", root / "models/finetune.keras",
                                        root / "reports/metrics.json", root / "reports/compare.html"]}
    bad = write_part(root / "data", 4)
    lines = bad.read_text().splitlines()
    cells = lines[5].split(",")
    cells[1] = "oops"  # the temp column
    lines[5] = ",".join(cells)
    bad.write_text("\n".join(lines) + "\n")
    run(["dvc", "add", "-q", "data"], root)
    failed = run(["dvc", "repro"], root, check=False)
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "error: notebooks/data.ipynb stopped: part-04.csv: row 6, column 'temp': 'oops' is not a number" in output
    assert "Traceback" not in output and "PapermillExecutionError" not in output and "WARNING" not in output
    assert ran_stages(failed.stdout) == {"data"}  # nothing after the failing stage ran
    for path, content in kept.items():  # the last complete results are all still there
        assert path.read_bytes() == content, path
    bad.unlink()  # fixed: the data is what it was before, and the pipeline is up to date again
    run(["dvc", "add", "-q", "data"], root)
    assert ran_stages(run(["dvc", "repro"], root).stdout) <= {"data"}
    assert "up to date" in run(["dvc", "status"], root).stdout
    for path, content in kept.items():
        assert path.read_bytes() == content, path


def test_tensorflow_backend_runs_the_pipeline_and_reproduces_its_own_lock(tmp_path_factory):
    """The same pipeline on `train.backend: tensorflow` (one strategy, to keep it short): it runs
    end to end, every stage's Keras is TensorFlow, and a forced run with no kept steps gives
    the same models and metrics byte for byte (the stages that train are forced; the data and
    compare stages compute the same on either backend)."""
    root = make_project(tmp_path_factory.mktemp("tf") / "project", parts=3, with_dvc=False)
    raw = yaml.safe_load((root / "params.yaml").read_text())
    raw["train"]["backend"] = "tensorflow"
    raw["compare"]["strategies"] = ["finetune"]
    (root / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    for cmd in (["git", "init", "-q"], ["dvc", "init", "-q", "--no-scm"]):
        run(cmd, root)
    first = run(["dvc", "repro"], root)
    assert ran_stages(first.stdout) == {"data", "base", "strategy@finetune", "compare"}
    sidecar = json.loads((root / "models/base.json").read_text())
    assert sidecar["params"]["train"]["backend"] == "tensorflow"
    before = locked(root)
    shutil.rmtree(root / "state")
    again = run(["dvc", "repro", "-f", "-s", "base", "strategy@finetune"], root)
    assert ran_stages(again.stdout) == {"base", "strategy@finetune"}
    assert "finetune: step 1/1 (part-02): trained" in again.stdout + again.stderr
    assert locked(root) == before

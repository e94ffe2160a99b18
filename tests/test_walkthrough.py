"""The "When new data arrives" section of docs/operations.md, command by command, on a copy of the session's
tiny project (after its first `dvc repro` and commit), with the shipped examples/ beside it:
November arrives after the project's update batch."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from tiny_project import ROOT, STAGES, STRATEGIES, capture, copy_project, ran_stages, readme_commands, run

pytestmark = pytest.mark.slow
SECTION = "## When new data arrives"
DOC = ROOT / "docs" / "operations.md"


@pytest.fixture(scope="module")
def walked(repro_project, tmp_path_factory):
    """A project that ran the pipeline and committed (what `make repro` and a commit leave),
    then every command of the section; returns the project and each command's combined output."""
    root = copy_project(repro_project[0], tmp_path_factory.mktemp("walk") / "project")
    shutil.copytree(ROOT / "examples", root / "examples")
    run(["git", "add", "examples"], root)
    run(["git", "commit", "-q", "-m", "examples"], root)
    committed = {"metrics": (root / "reports/metrics.json").read_text()}
    outputs = {}
    for line in readme_commands(SECTION, path=DOC):
        done = capture(["bash", "-c", line], root)
        assert done.returncode == 0, f"docs/operations.md command failed: {line}\n{done.stdout}\n{done.stderr}"
        outputs[line] = done.stdout + done.stderr
    return root, outputs, committed


def output_of(outputs: dict[str, str], prefix: str) -> str:
    (line,) = [k for k in outputs if k.startswith(prefix)]
    return outputs[line]


def test_the_section_shows_the_commands_the_issue_names():
    commands = readme_commands(SECTION, path=DOC)
    order = ("cp examples/new_data/2013-11.csv data/", "dvc add data", "dvc repro", "dvc metrics diff",
             "git add data.dvc dvc.lock", "git commit", "dvc exp run -S", "dvc exp show")
    at = [next((i for i, c in enumerate(commands) if c.startswith(needed)), None) for needed in order]
    assert None not in at, dict(zip(order, at))
    assert at == sorted(at)


def test_new_month_runs_one_step_per_strategy_and_not_base(walked):
    _, outputs, _ = walked
    out = output_of(outputs, "dvc repro")
    assert ran_stages(out) == {"data", "compare", *STAGES}
    assert "Stage 'base' didn't change, skipping" in out
    for s in STRATEGIES:
        assert f"{s}: step 1/2 (part-02): reused" in out, s
        assert f"{s}: step 2/2 (2013-11): {'nothing to train' if s == 'none' else 'trained'}" in out, s


def test_metrics_diff_shows_old_and_new_values(walked):
    _, outputs, committed = walked
    diff = output_of(outputs, "dvc metrics diff")
    old = json.loads(committed["metrics"])
    rows = [line.split() for line in diff.splitlines() if line.startswith("reports/metrics.json")]
    finetune = [r for r in rows if r[1] == "strategies.finetune.new_rmse"]
    assert finetune, diff
    _, _, before, after, change = finetune[0]
    assert float(before) == pytest.approx(old["strategies"]["finetune"]["new_rmse"], abs=1e-3)
    assert float(after) != float(before) and float(change) == pytest.approx(float(after) - float(before), abs=2e-3)


def test_commit_records_the_new_data_and_results(walked):
    root, _, _ = walked
    log = run(["git", "log", "--format=%s", "-n", "1", "--", "data.dvc"], root).stdout.strip()
    assert log == "Data: November 2013"
    committed_lock = yaml.safe_load(run(["git", "show", "HEAD:dvc.lock"], root).stdout)
    assert any(o["path"] == "data" for o in committed_lock["stages"]["data"]["deps"])
    steps = json.loads((root / "reports/steps/finetune.json").read_text())
    assert steps["batches"][-1] == "2013-11" and len(steps["rmse"]) == 3  # a row and a column more


def test_experiment_reruns_only_finetune_and_compare_and_is_shown(walked):
    _, outputs, _ = walked
    out = output_of(outputs, "dvc exp run")
    assert ran_stages(out) == {"strategy@finetune", "compare"}
    shown = output_of(outputs, "dvc exp show")
    assert "finetune.learning_rate" in shown and "0.0003" in shown
    assert "new_rmse" in shown and "reports/cost" not in shown  # timings dropped from the table


def test_going_back_restores_the_committed_settings_and_outputs(walked):
    root, _, _ = walked
    params = yaml.safe_load((root / "params.yaml").read_text())
    committed = yaml.safe_load(run(["git", "show", "HEAD:params.yaml"], root).stdout)
    assert params == committed
    status = run(["dvc", "status"], root).stdout
    assert "up to date" in status, status
    assert run(["git", "status", "--porcelain"], root).stdout.strip() == ""

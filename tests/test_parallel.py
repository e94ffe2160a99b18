"""`lstm-utils repro`: the strategy stages side by side, dvc.lock as a sequential run leaves it."""

from __future__ import annotations

import io
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from lstm_utils.repro import Echo, default_jobs, order_lock, stage_env
from lstm_utils.verify import is_result

ROOT = Path(__file__).resolve().parents[1]

LOCK = """schema: '2.0'
stages:
  data:
    cmd: python -m lstm_utils notebook data
    outs:
    - path: prepared
      md5: a.dir
  strategy@replay:
    cmd: python -m lstm_utils notebook strategy -p strategy replay
  strategy@none:
    cmd: python -m lstm_utils notebook strategy -p strategy none
  strategy@finetune:
    cmd: python -m lstm_utils notebook strategy -p strategy finetune
"""


def test_order_lock_puts_the_new_entries_where_a_sequential_run_writes_them(tmp_path):
    (tmp_path / "dvc.lock").write_text(LOCK)
    planned = ["data", "base", "strategy@none", "strategy@finetune", "strategy@replay", "compare"]
    order_lock(tmp_path, ["data"], planned)
    text = (tmp_path / "dvc.lock").read_text()
    assert re.findall(r"^  (\S+):$", text, re.M) == ["data", "strategy@none", "strategy@finetune", "strategy@replay"]
    assert text.replace("\n", "").startswith(LOCK.split("  strategy@replay")[0].replace("\n", ""))
    assert yaml.safe_load(text) == yaml.safe_load(LOCK)  # the same entries, only in order
    (tmp_path / "dvc.lock").write_text(LOCK)
    order_lock(tmp_path, ["data", "strategy@replay"], planned)  # an entry already there keeps its place
    assert re.findall(r"^  (\S+):$", (tmp_path / "dvc.lock").read_text(), re.M) == [
        "data", "strategy@replay", "strategy@none", "strategy@finetune"]


def test_each_line_keeps_its_stage_and_what_dvc_repeats_per_stage_is_left_out():
    out = io.StringIO()
    echo = Echo(out)
    for line in ["Running stage 'strategy@none':\n", "To track the changes with git, run:\n", "\tgit add dvc.lock\n",
                 "Use `dvc push` to send your updates to remote storage.\n", "Stage 'base' didn't change, skipping\n",
                 "  [none] 1 update steps\n", "\n"]:
        echo.line("[strategy@none] ", line)
    echo.line("", "To track the changes with git, run:")
    assert out.getvalue().splitlines() == ["[strategy@none] Running stage 'strategy@none':",
                                           "[strategy@none]   [none] 1 update steps",
                                           "To track the changes with git, run:"]


def test_jobs_and_threads_share_the_machine(monkeypatch, tmp_path):
    assert 1 <= default_jobs(7) <= 7 and default_jobs(1) == 1
    for name in ("NPROC", "OPENBLAS_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)  # native mode: nothing pinned
    import os

    cores = len(os.sched_getaffinity(0))
    env = stage_env(2)
    assert env["NPROC"] == env["OPENBLAS_NUM_THREADS"] == str(max(1, cores // 2))
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    import psutil

    from lstm_utils import repro

    monkeypatch.setattr(repro, "cores", lambda: 16)
    monkeypatch.setattr(psutil, "virtual_memory", lambda: type("Memory", (), {"available": 12 * 2 ** 30})())
    assert default_jobs(7, tmp_path) == 7  # the sample's size: 1.5 GB a stage
    (tmp_path / "prepared").mkdir()
    with open(tmp_path / "prepared" / "00-base.csv", "wb") as f:
        f.truncate(256 * 2 ** 20)  # a large panel's prepared files: 0.5 + 16 x 0.25 = 4.5 GB a stage
    assert repro.stage_memory(tmp_path) == 4.5 * 2 ** 30 and default_jobs(7, tmp_path) == 2


def masked(lock_text: str) -> str:
    """dvc.lock with the hash and size of every output that carries timings blanked (reports,
    executed notebooks, costs, kept state: they differ between any two runs)."""
    out, blank = [], False
    for line in lock_text.splitlines():
        found = re.match(r"\s+- path: (\S+)", line)
        if found:
            blank = found.group(1).startswith(("reports/", "state/")) and not is_result(found.group(1))
        elif blank and re.match(r"\s+(md5|size|nfiles):", line):
            line = re.sub(r":.*", ": -", line)
        out.append(line)
    return "\n".join(out)


@pytest.mark.slow
def test_the_strategies_side_by_side_leave_the_sequential_runs_dvc_lock(repro_project, tmp_path):
    from tiny_project import STAGES, make_project, run

    root = make_project(tmp_path / "project", parts=3, with_dvc=True)
    done = run([sys.executable, "-m", "lstm_utils", "repro", "-j", "2"], root)
    said = done.stdout + done.stderr
    assert f"lstm-utils repro: {len(STAGES)} strategy stages, 2 at a time" in said
    for stage in STAGES:  # every line of a strategy stage says which
        assert f"[{stage}] Running stage '{stage}':" in said
    assert not [ln for ln in said.splitlines() if "[none] " in ln and not ln.startswith("[strategy@none] ")]
    sequential = (repro_project[0] / "dvc.lock").read_text()
    assert masked((root / "dvc.lock").read_text()) == masked(sequential)
    assert "up to date" in run(["dvc", "status"], root).stdout


@pytest.mark.slow
def test_a_failing_strategy_stops_the_run_with_its_line_and_the_others_stay_complete(repro_project, tmp_path):
    from tiny_project import copy_project, fault_env, locked

    import subprocess

    root = copy_project(repro_project[0], tmp_path / "project")
    before = locked(root)
    env = fault_env("enospc@write:models/finetune.keras")
    done = subprocess.run([sys.executable, "-m", "lstm_utils", "repro", "-j", "2", "--force"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert done.returncode == 2, lines[-20:]
    assert lines[-2].startswith("error: notebooks/strategy.ipynb stopped: models/finetune.keras: could not be written "
                                "(No space left on device)")
    assert lines[-1].startswith("lstm-utils repro: stopped;")
    assert not any("Running stage 'compare'" in ln for ln in lines)
    after = locked(root)
    for path in ("models/none.keras", "models/retrain.keras", "models/base.keras", "reports/steps/none.json"):
        assert after[path] == before[path] and (root / path).is_file()  # run again, complete and locked
    status = subprocess.run(["dvc", "status"], cwd=root, env=env, capture_output=True, text=True).stdout
    assert "strategy@finetune:" in status and "strategy@none:" not in status and "strategy@retrain:" not in status


def test_no_stage_at_a_time_or_no_pipeline_is_a_clear_error(tmp_path):
    from lstm_utils.errors import LstmUtilsError
    from lstm_utils.repro import repro

    with pytest.raises(LstmUtilsError, match="-j 0: at least one stage"):
        repro(tmp_path, jobs=0)
    with pytest.raises(LstmUtilsError, match="no dvc.yaml here"):
        repro(tmp_path)


def test_the_stages_are_named_as_dvc_repro_takes_them_in_the_project_from_any_folder(tmp_path, monkeypatch):
    from dvc.repo import Repo

    from lstm_utils.repro import planned

    root = tmp_path / "project"
    root.mkdir()
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, root / name)
    Repo.init(str(root), no_scm=True).close()
    monkeypatch.chdir(tmp_path)  # not the project's folder: DVC's own addresses would be "project/dvc.yaml:data"
    strategies = yaml.safe_load((ROOT / "params.yaml").read_text())["compare"]["strategies"]
    assert planned(root) == ["data", "base", *(f"strategy@{s}" for s in strategies), "compare"]

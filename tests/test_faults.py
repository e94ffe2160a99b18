"""Faults while the real pipeline runs, injected into a copy of the tiny project after its first
`dvc repro` (tests/faults/sitecustomize.py says how): a kill at four points, a bug in a stage,
a full disk, two `dvc repro` at once, a damaged output. Each time the message is asserted, and
the next run (or `dvc checkout`) gives the first run's `dvc.lock` hashes of models, prepared
data, steps and metrics."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tiny_project import capture, copy_project, locked, ran_stages, repro_with, run

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def project(repro_project, tmp_path_factory):
    """A copy of the session's tiny project after its first run, and that run's hashes. Each
    test below leaves it recovered, as it found it."""
    root = copy_project(repro_project[0], tmp_path_factory.mktemp("faults") / "project")
    return root, locked(root)


def finish(proc: subprocess.Popen, timeout: float = 300) -> str:
    """Wait for `proc`; its output."""
    out, _ = proc.communicate(timeout=timeout)
    return out


def killed(root: Path, fault: str, stage: str) -> str:
    """A forced run of `stage`, killed at `fault` (SIGKILL to the whole run); its output."""
    proc = repro_with(root, fault, "-f", "-s", stage)
    out = finish(proc)
    assert proc.returncode == -9, out
    return out


def leftovers(root: Path) -> list[Path]:
    """Temporary files of atomic writes in the project."""
    return [p for p in root.rglob(".*.tmp-*") if ".dvc" not in p.parts and ".git" not in p.parts]


def recovers(root: Path, first: dict[str, str]) -> str:
    """The next plain `dvc repro` ends with the first run's hashes; its output. A killed writer's
    temporary file is left only where DVC restored the stage from its run cache, running
    nothing (the next stage that runs sweeps it: see the test after the compare kill)."""
    done = run(["dvc", "repro"], root)
    output = done.stdout + done.stderr
    assert locked(root) == first
    assert "up to date" in run(["dvc", "status"], root).stdout
    if leftovers(root):
        assert "is cached - skipping run, checking out outputs" in output
        assert all(re.fullmatch(r"\.[\w-]+\.tmp-\d+\.\w+", p.name) for p in leftovers(root))
    return output


def test_killed_while_the_base_model_trains(project):
    """SIGKILL to the whole run (and its notebook kernel, in a session of its own) at the first
    epoch of the base model, its kept state deleted so that it really trains."""
    import contextlib
    import signal

    import psutil

    root, first = project
    shutil.rmtree(root / "state/base")
    proc = repro_with(root, "", "-f", "-s", "base")
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 300
    while not any("[base] Epoch 1/" in line for line in lines):
        assert proc.poll() is None and time.monotonic() < deadline, "".join(lines)
        time.sleep(0.05)
    family = [proc.pid] + [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
    os.killpg(proc.pid, signal.SIGKILL)
    for pid in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(pid).kill()
    proc.wait()
    assert not (root / "models/base.keras").exists()  # killed before the model was complete
    assert ran_stages(recovers(root, first)) == {"base"}  # the same model: nothing after it runs


def test_killed_in_the_data_stage(project):
    root, first = project
    killed(root, "kill@write:prepared/01-*.csv", "data")
    assert (root / "prepared/00-base.csv").is_file() and not (root / "prepared/01-part-02.csv").exists()
    assert list((root / "prepared").glob(".01-part-02.tmp-*.csv"))  # the half-written file a kill leaves
    again = recovers(root, first)
    # DVC restores the stage from its run cache (or runs it); its outputs come out the same, so
    # nothing after it runs
    assert ran_stages(again) <= {"data"}


def test_killed_between_a_steps_model_and_its_record(project):
    root, first = project
    state = root / "state/finetune"
    shutil.rmtree(state)
    killed(root, "kill@write:state/finetune/[0-9a-f]*.json", "strategy@finetune")
    models = list(state.glob("*.keras"))
    assert len(models) == 1 and not models[0].with_suffix(".json").exists()
    again = recovers(root, first)
    assert f"warning: state/finetune/{models[0].stem}.json: missing (its other file is there); " \
           "this step is computed again" in again
    assert ran_stages(again) == {"strategy@finetune"}


def test_killed_during_the_error_matrix_scores(project):
    root, first = project
    killed(root, "kill@call:lstm_utils.scoring:matrix_scores", "strategy@none")
    assert not (root / "models/none.keras").exists()
    assert ran_stages(recovers(root, first)) == {"strategy@none"}


def test_killed_during_compare_and_a_second_repro_meanwhile(project, tmp_path):
    """While a run is in progress (held at the fault point), a second `dvc repro` in the same
    project stops at once with DVC's lock message, changing nothing; then the first is killed."""
    root, first = project
    go = tmp_path / "go"
    proc = repro_with(root, "kill@write:models/champion.json", "-f", "-s", "compare", wait=go)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 300
    while not go.with_name("go.reached").exists():
        assert proc.poll() is None and time.monotonic() < deadline, "".join(lines)
        time.sleep(0.1)
    second = run(["dvc", "repro"], root, check=False)
    go.touch()
    proc.wait(timeout=120)
    reader.join(timeout=10)
    assert second.returncode != 0
    assert re.search(r"ERROR: failed to reproduce '\w+': '[^']+' is busy, it is being blocked by:\s+\(PID \d+\): "
                     r"\S*dvc repro -f -s compare", second.stderr), second.stderr
    assert proc.returncode == -9, "".join(lines)
    assert (root / "models/champion.keras").is_file() and not (root / "reports/metrics.json").exists()
    assert ran_stages(recovers(root, first)) <= {"compare"}  # run, or restored from the run cache


def test_an_unexpected_error_in_a_stage_is_one_line_and_checkout_mends_it(project):
    root, first = project
    proc = repro_with(root, "raise@call:lstm_utils.compare:narrative", "-f", "-s", "compare")
    out = finish(proc)
    assert proc.returncode != 0
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, out
    assert re.fullmatch(r"error: stage compare stopped in cell \[\d+\] on RuntimeError: injected fault; "
                        r"the full traceback is in reports/executed/compare\.ipynb", errors[0]), out
    assert "Traceback" not in out
    executed = (root / "reports/executed/compare.ipynb").read_text()
    assert "Traceback" in executed or "RuntimeError" in executed and "injected fault" in executed
    assert not (root / "reports/compare.html").exists()
    assert not leftovers(root)  # every file is whole or absent; what the kill in compare left is swept
    run(["dvc", "checkout", "--force"], root)  # the last complete outputs, as dvc.lock names them
    assert "up to date" in run(["dvc", "status"], root).stdout
    assert locked(root) == first and (root / "models/champion.keras").is_file()


def test_a_full_disk_keeps_the_previous_file_and_says_so(project):
    root, first = project
    scores = root / "state/none/scores.json"
    before = scores.read_bytes()
    proc = repro_with(root, "enospc@write:state/none/scores.json", "-f", "-s", "strategy@none")
    out = finish(proc)
    assert proc.returncode != 0
    assert ("error: notebooks/strategy.ipynb stopped: state/none/scores.json: could not be written (No space "
            "left on device); the previous scores.json is kept as it was") in out
    assert "Traceback" not in out
    assert scores.read_bytes() == before
    assert not list(scores.parent.glob(".scores.tmp-*"))
    assert ran_stages(recovers(root, first)) == {"strategy@none"}


def test_damaged_outputs_are_mended_by_checkout_and_by_repro(project):
    root, first = project
    model, prepared = root / "models/base.keras", root / "prepared/01-part-02.csv"
    intact = model.read_bytes()
    model.write_bytes(intact[: len(intact) // 2])
    assert "modified:           models/base.keras" in run(["dvc", "status"], root).stdout
    run(["dvc", "checkout", "--force", "models/base.keras"], root)  # the committed bytes, nothing runs
    assert model.read_bytes() == intact and locked(root) == first
    prepared.write_text(prepared.read_text()[:999])
    again = run(["dvc", "repro"], root).stdout
    assert "Stage 'data' is cached - skipping run, checking out outputs" in again
    assert ran_stages(again) == set() and locked(root) == first
    csv = root / "data/part-02.csv"  # the user's own data, changed by mistake
    text = csv.read_text()
    csv.write_text(text + "2013-02-01T00:00:00Z,oops\n")
    assert "data.dvc" in run(["dvc", "status"], root).stdout
    assert capture(["dvc", "checkout", "--force", "data.dvc"], root).returncode == 0  # (run() refuses data/ writes)
    assert csv.read_text() == text and "up to date" in run(["dvc", "status"], root).stdout

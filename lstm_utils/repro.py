"""`lstm-utils repro`: the pipeline with its strategy stages side by side.

The strategy stages (`strategy@<name>`) depend on data and base but not on one another, and each
spends most of its seconds starting up and rendering its report on one core. So the pipeline
runs in three groups, each through DVC, which keeps the locks of the paths a stage uses:

1. `dvc repro base`: the data and base stages, as far as they are out of date;
2. every strategy stage DVC finds out of date, `jobs` at a time, each `dvc repro -s`;
3. `dvc repro`: compare, and anything else still out of date.

`dvc.lock` ends byte for byte as a sequential `dvc repro` leaves it: DVC adds a stage's entry at
the end of the file when it first writes it, so the entries a group added are put back in the
order a sequential run writes them (every result's hash is the same in any case). Every line a
stage prints keeps its stage's name in front. When a stage fails, none starts after it; those
already running finish (their results complete and locked), and the failed stage's one-line
error comes last. Stopped with Ctrl-C, each stage stops as `dvc repro` does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from lstm_utils.errors import LstmUtilsError
from lstm_utils.portable import cores

STRATEGY = "strategy@"
STAGE_MEMORY = 1.5 * 2 ** 30  # bytes a strategy stage's processes may hold at their peak (the sample, JAX)
# and on a large panel: about 0.5 GB and 16 bytes per byte of prepared CSV (bench/pipeline.py: 100 series
# of a year, 68 MB prepared, up to 1.61 GB; 300 series of eight months, up to 1.79 GB)
STAGE_FIXED, STAGE_PER_BYTE = 0.5 * 2 ** 30, 16
_NOISE = ("Use `dvc push` to send your updates to remote storage.",)
# what each `dvc repro -s` would repeat, in a project without DVC's auto staging: said once, by the last group
_REPEATED = re.compile(r"^(To track the changes with git, run:|To enable auto staging, run:|\s+git add |"
                       r"\s+dvc config core.autostage true)")


def stage_memory(root: Path | None = None) -> float:
    """Bytes one strategy stage may hold at its peak: :data:`STAGE_MEMORY`, or more on a large
    panel, by the size of the project's prepared files."""
    folder = None if root is None else Path(root) / "prepared"
    size = sum(p.stat().st_size for p in folder.glob("*.csv")) if folder is not None and folder.is_dir() else 0
    return max(STAGE_MEMORY, STAGE_FIXED + STAGE_PER_BYTE * size)


def default_jobs(stages: int, root: Path | None = None) -> int:
    """How many strategy stages to run at once: one per core this process may use, no more than
    the available memory holds (:func:`stage_memory` each), at least one, at most `stages`."""
    import psutil

    memory = int(psutil.virtual_memory().available // stage_memory(root))
    return max(1, min(cores(), memory, stages))


def dvc() -> str:
    """The `dvc` of this environment (beside its Python), else the first on PATH."""
    here = Path(sys.executable).parent / "dvc"
    return str(here) if here.is_file() else shutil.which("dvc") or "dvc"


def stage_env(jobs: int) -> dict[str, str]:
    """The environment of each stage: this environment's Python first on PATH (the stage
    commands call `python`), and, where the stages run with the machine's own threads
    (`train.reproducible: native`), the cores shared out between the `jobs` stages at once."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    share = str(max(1, cores() // max(1, jobs)))
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NPROC", "TF_NUM_INTRAOP_THREADS"):
        env.setdefault(name, share)  # portable mode pins these to one thread anyway (lstm_utils.portable)
    return env


@dataclass
class Outcome:
    """How one `dvc` command ended: its exit status and the `error:` line it printed, if any."""

    stage: str
    status: int
    error: str = ""


class Echo:
    """Writes whole lines to `out` from several threads, each behind its stage's name."""

    def __init__(self, out: TextIO) -> None:
        self.out, self.lock = out, threading.Lock()

    def line(self, prefix: str, text: str) -> None:
        text = text.rstrip()
        if (not text.strip() or text.strip() in _NOISE or text.endswith("didn't change, skipping")
                or (prefix and _REPEATED.match(text))):
            return
        with self.lock:
            self.out.write(f"{prefix}{text}\n")
            self.out.flush()


def _stream(cmd: list[str], cwd: Path, env: dict[str, str], echo: Echo, prefix: str, stage: str) -> Outcome:
    """Run `cmd`, echoing its output line by line behind `prefix`; its outcome."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            bufsize=1)
    error, status = "", None
    assert proc.stdout is not None
    for line in proc.stdout:
        echo.line(prefix, line)
        found = re.search(r"\berror: .*", line)
        if found:
            error = error or found.group(0).strip()
        exited = re.search(r"^ERROR: failed to reproduce .*exited with (\d+)", line)
        if exited:  # the stage command's own status (DVC's is 255)
            status = int(exited.group(1))
    code = proc.wait()
    return Outcome(stage, (status or code) if code else 0, error)


def planned(root: Path) -> list[str]:
    """Every stage of the project, in the order a sequential `dvc repro` runs them (DVC's own
    index of dvc.yaml, `foreach` stages expanded)."""
    from dvc.repo import Repo
    from dvc.stage import PipelineStage

    def address(stage) -> str:  # as `dvc repro` takes it in `root` (DVC's own is relative to this process's folder)
        if not isinstance(stage, PipelineStage):
            return stage.path_in_repo
        return stage.name if stage.path_in_repo == "dvc.yaml" else f"{stage.path_in_repo}:{stage.name}"

    with Repo(str(root)) as repo:
        return [address(stage) for stage in repo.index.stages]


def changed(root: Path, stages: list[str] | None = None) -> list[str] | None:
    """The stages (of `stages`, default all) that `dvc status` finds out of date, in its order;
    None when it cannot tell."""
    import json

    done = subprocess.run([dvc(), "status", "--json", *(stages or [])], cwd=root, env=stage_env(1),
                          capture_output=True, text=True)
    try:
        return None if done.returncode else list(json.loads(done.stdout or "{}"))
    except json.JSONDecodeError:
        return None


def _lock_stages(root: Path) -> list[str]:
    import yaml

    path = root / "dvc.lock"
    if not path.is_file():
        return []
    return list((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("stages", {}))


def order_lock(root: Path, before: list[str], planned: list[str]) -> None:
    """Put the entries dvc.lock gained since it held `before` in the order of `planned` (where a
    sequential run appends them), in place, keeping DVC's own formatting."""
    from dvc.utils.serialize import modify_yaml

    path = root / "dvc.lock"
    if not path.is_file():
        return
    rank = {name: i for i, name in enumerate(planned)}
    with modify_yaml(str(path)) as data:
        stages = data.get("stages", {})
        new = [k for k in stages if k not in before]
        wanted = sorted(new, key=lambda k: rank.get(k, len(rank)))
        if new == wanted:
            return
        entries = {k: stages[k] for k in new}
        for k in new:
            del stages[k]
        for k in wanted:
            stages[k] = entries[k]


def repro(root: str | Path = ".", jobs: int | None = None, force: bool = False, out: TextIO = sys.stderr) -> int:
    """Run the pipeline of the project at `root` with its strategy stages `jobs` at a time
    (default: :func:`default_jobs`); `force` runs every stage. Returns the exit status."""
    root = Path(root).resolve()
    if jobs is not None and jobs < 1:
        raise LstmUtilsError(f"-j {jobs}: at least one stage must run at a time", hint="give -j 1 or more, or leave "
                             "it out (one per core)")
    if not (root / "dvc.yaml").is_file():
        raise LstmUtilsError(f"{root}: no dvc.yaml here", hint="run it in the project folder (the one with dvc.yaml)")
    echo = Echo(out)
    base_env = stage_env(1)
    order = planned(root)
    strategies = [s for s in order if s.startswith(STRATEGY)]
    flags = ["--force"] if force else []

    first = _stream([dvc(), "repro", *flags, "base"], root, base_env, echo, "", "base")
    if first.status:
        return _failed(first, echo)
    stale = None if force else changed(root, strategies)
    todo = strategies if stale is None else [s for s in strategies if s in stale]  # None: each decides itself
    jobs = jobs or default_jobs(len(todo), root)
    if todo:
        echo.line("", f"lstm-utils repro: {len(todo)} strategy stages, {min(jobs, len(todo))} at a time")
        before = _lock_stages(root)
        failed = _side_by_side(root, todo, jobs, flags, echo)
        order_lock(root, before, order)
        if failed:
            return _failed(failed, echo)
    last = _stream([dvc(), "repro", *(["--force", "-s", "compare"] if force and "compare" in order else [])],
                   root, base_env, echo, "", "compare")
    if last.status:
        return _failed(last, echo)
    if force and "compare" in order:  # anything else still out of date
        rest = _stream([dvc(), "repro"], root, base_env, echo, "", "repro")
        if rest.status:
            return _failed(rest, echo)
    return 0


def _side_by_side(root: Path, stages: list[str], jobs: int, flags: list[str], echo: Echo) -> Outcome | None:
    """Run each of `stages` through `dvc repro -s`, `jobs` at a time; the first failure, if any
    (after it none starts; those running finish)."""
    env = stage_env(jobs)
    waiting = list(stages)
    failed: Outcome | None = None
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        running: set[Future] = set()
        while waiting or running:
            while waiting and len(running) < jobs and failed is None:
                stage = waiting.pop(0)
                cmd = [dvc(), "--wait-for-lock", "repro", *flags, "-s", stage]
                running.add(pool.submit(_stream, cmd, root, env, echo, f"[{stage}] ", stage))
            if not running:
                break
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                outcome = future.result()
                if outcome.status and failed is None:
                    failed = outcome
    return failed


def _failed(outcome: Outcome, echo: Echo) -> int:
    """Say which stage stopped the run, with its own one-line error, last; its exit status."""
    line = outcome.error or f"error: stage {outcome.stage} stopped (exit status {outcome.status}; its output is above)"
    echo.line("", f"{line}")
    echo.line("", "lstm-utils repro: stopped; the stages that ran are complete and locked: mend the error and run "
                  "it again (only what is out of date runs)")
    return outcome.status if outcome.status in (1, 2, 130) else 1

"""Shared fixtures: the shipped params and small CSV files written into tmp_path."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from lstm_utils import backend  # noqa: E402

# The tests' processes start here, as a stage's or the command line's does: the environment pinned
# before NumPy loads (lstm_utils.portable; the processes the tests start inherit it), and Keras, once
# imported, on the repository's params.yaml's backend.
backend.select_for_project()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

# Each xdist worker (and the processes it starts) keeps its own JAX compile cache: JAX writes an
# entry in place, so a worker reading one that the other is still writing would warn and compile.
if os.environ.get("PYTEST_XDIST_WORKER") and "LSTM_UTILS_CACHE" not in os.environ:
    os.environ["LSTM_UTILS_CACHE"] = str(backend.cache_dir().parent / f"tests-{os.environ['PYTEST_XDIST_WORKER']}")
    # select_for_project (here, and first in the controlling process) set JAX's own variable
    os.environ["JAX_COMPILATION_CACHE_DIR"] = str(backend.cache_dir())

from lstm_utils.config import DataParams, load_params  # noqa: E402
from lstm_utils.splits import BATCH, SPLIT  # noqa: E402

ROOT = Path(__file__).parents[1]
PARAMS_PATH = ROOT / "params.yaml"
SAMPLE_DATA = ROOT / "examples" / "sample_data"


@pytest.fixture(scope="session")
def params():
    """The repository's params.yaml, loaded and validated."""
    return load_params(PARAMS_PATH)


@pytest.fixture
def data_params(params) -> DataParams:
    """Small data settings: time column `t`, target `a`, features `a`, `b`, hourly UTC, max_fill 2."""
    return dataclasses.replace(params.data, time_column="t", targets=("a",), features=("a", "b"),
                               freq="h", timezone="UTC", max_fill=2, separator=",")


def write_csv(path: Path, header: str | list[str], rows: list[str | list], sep: str = ",") -> Path:
    """Write a CSV file from a header and rows (strings, or lists joined with `sep`)."""
    if not isinstance(header, str):
        header = sep.join(header)
    lines = [header] + [r if isinstance(r, str) else sep.join(str(v) for v in r) for r in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def hourly(start: str, n: int) -> list[str]:
    """`n` hourly ISO times with a Z from `start` (UTC)."""
    return [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in pd.date_range(start, periods=n, freq="h", tz="UTC")]


def series_csv(path: Path, start: str, a: list, b: list | None = None) -> Path:
    """A `t,a,b` file of hourly rows from `start`; None values are written as empty cells."""
    b = a if b is None else b
    cell = lambda v: "" if v is None else repr(v)  # noqa: E731
    rows = [[t, cell(x), cell(y)] for t, x, y in zip(hourly(start, len(a)), a, b)]
    return write_csv(path, "t,a,b", rows)


def make_frame(values: np.ndarray, batch: np.ndarray | list, split: np.ndarray | list,
               columns=("a", "b"), start: str = "2020-01-01") -> pd.DataFrame:
    """A prepared-style frame: hourly UTC index, input columns, `batch` and `split` columns."""
    values = np.asarray(values, dtype="float64")
    index = pd.date_range(start, periods=len(values), freq="h", tz="UTC", name="t")
    frame = pd.DataFrame(values, index=index, columns=list(columns))
    frame[BATCH] = np.asarray(batch, dtype=np.int64)
    frame[SPLIT] = np.asarray(split, dtype=np.int64)
    return frame


def _first_run(root: Path) -> str:
    """Make the tiny project at `root`, run `dvc repro` there and commit; that run's output."""
    from tiny_project import make_project, run

    make_project(root, parts=3, with_dvc=True)
    first = run(["dvc", "repro"], root)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-q", "-m", "first run"], root)
    return first.stdout + first.stderr


@pytest.fixture(scope="session")
def repro_project(tmp_path_factory, worker_id):
    """A tiny project (3 slices of the sample: a 2-slice base period, one update batch) after one
    real `dvc repro` and a commit, with that run's output. Tests copy it before changing it, so
    under xdist the workers share one (the first to need it builds it; about 80 s saved a worker)."""
    if worker_id == "master":
        root = tmp_path_factory.mktemp("repro") / "project"
        return root, _first_run(root)
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp().parent / "repro-shared"  # this session's, common to its workers
    with FileLock(f"{shared}.lock"):
        if not (shared / "output.txt").is_file():
            shared.mkdir(parents=True, exist_ok=True)
            (shared / "output.txt.tmp").write_text(_first_run(shared / "project"))
            (shared / "output.txt.tmp").rename(shared / "output.txt")
    return shared / "project", (shared / "output.txt").read_text()


@pytest.fixture(scope="session")
def grown_project(repro_project, tmp_path_factory):
    """A copy of `repro_project` after one more CSV (slice 3 of the sample, exported with the
    previous slice's last 12 hours repeated as they were) and `dvc repro`, with that run's output:
    what any project that started the same way must reach."""
    from tiny_project import copy_project, run, write_part

    root = copy_project(repro_project[0], tmp_path_factory.mktemp("grown") / "project")
    write_part(root / "data", 3, overlap=12)
    done = run(["dvc", "repro"], root)
    return root, done.stdout + done.stderr

"""The same bytes on any x86-64 machine (lstm_utils.portable) and `lstm-utils verify`."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from lstm_utils import portable
from lstm_utils.errors import ParamsError
from lstm_utils.verify import Difference, Verdict, difference, inputs, is_result, judge, outputs

ROOT = Path(__file__).resolve().parents[1]


def host_flags() -> set[str]:
    """The CPU flags of /proc/cpuinfo (empty where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    return set(next((ln.split(":", 1)[1].split() for ln in text.splitlines() if ln.startswith("flags")), []))


AVX512 = "avx512f" in host_flags()
ONE_CORE = ["taskset", "-c", "0"] if shutil.which("taskset") and len(os.sched_getaffinity(0)) > 1 else []


def hostile() -> dict[str, str]:
    """What a caller's environment on a big AVX-512 machine might hold: the pin must win over it."""
    out = {"NPROC": "8", "OPENBLAS_NUM_THREADS": "8", "TF_NUM_INTRAOP_THREADS": "8",
           "XLA_FLAGS": "--xla_cpu_use_xnnpack=true --xla_cpu_enable_platform_dependent_math=true"}
    if AVX512:  # kernels this machine can run
        out |= {"OPENBLAS_CORETYPE": "SkylakeX", "XLA_FLAGS": out["XLA_FLAGS"] + " --xla_cpu_max_isa=AVX512"}
    return out


def unpinned_env(**extra: str) -> dict[str, str]:
    """This process's environment less what the pin set (conftest pinned it), plus `extra`."""
    drop = set(portable.environment({})) | {portable.VARIABLE}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PYTHONPATH"] = str(ROOT)
    return env | extra


# A process that starts as a stage does, then reports what its libraries run with and the bits of
# two computations that depend on the machine: NumPy's float64 exp (AVX-512 loops differ in the
# last bit) and a long matrix product in XLA (cut into one partial sum per thread).
PROBE = r"""
import hashlib, json, os
from lstm_utils.backend import select_for_project
select_for_project()
import numpy as np
from numpy._core._multiarray_umath import __cpu_features__
from lstm_utils import portable
import jax
rng = np.random.default_rng(0)
g, h = rng.normal(size=(4608, 7)).astype("float32"), rng.normal(size=(4608, 64)).astype("float32")
digest = lambda a: hashlib.md5(np.asarray(a).tobytes()).hexdigest()
print("OUT " + json.dumps({"openblas": portable.openblas(), "v4": bool(__cpu_features__.get("X86_V4")),
                           "exp": digest(np.exp(np.linspace(-5, 5, 20001))),
                           "dot": digest(jax.jit(lambda g, h: g.T @ h)(g, h)), "nproc": os.environ.get("NPROC")}))
"""


def probe(env: dict[str, str], prefix: list[str] = ()) -> dict:
    done = subprocess.run([*prefix, sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(next(ln for ln in done.stdout.splitlines() if ln.startswith("OUT "))[4:])


@pytest.mark.skipif(not portable.x86_64(), reason="the bits are pinned on x86-64")
def test_a_process_pins_its_libraries_whatever_the_caller_set_and_however_many_cores():
    plain = probe(unpinned_env())
    assert plain["openblas"] == ["Haswell", 1] and plain["v4"] is False and plain["nproc"] == "1"
    assert probe(unpinned_env(**hostile()), ONE_CORE) == plain
    native = probe(unpinned_env(**{portable.VARIABLE: "native"}))
    assert native["nproc"] is None  # nothing pinned
    if AVX512:  # NumPy's own AVX-512 exp: another last bit, which the pin avoids
        assert native["v4"] is True and native["openblas"][0] != "Haswell"
        assert native["exp"] != plain["exp"]


def test_the_tests_run_pinned_as_a_stage_does():
    assert os.environ["NPROC"] == "1" and os.environ["OPENBLAS_NUM_THREADS"] == "1"
    if portable.x86_64():
        assert portable.openblas() == ("Haswell", 1)
        assert "--xla_cpu_max_isa=AVX2" in os.environ["XLA_FLAGS"].split()


def test_numpy_dispatch_targets_above_x86_64_v3_are_the_ones_turned_off():
    from numpy._core._multiarray_umath import __cpu_baseline__, __cpu_dispatch__

    if not portable.x86_64():
        pytest.skip("x86-64 only")
    assert set(__cpu_dispatch__) - {"X86_V3"} == set(portable.NUMPY_ABOVE_V3)  # a new NumPy adds one: name it
    assert set(__cpu_baseline__) <= {"SSE", "SSE2", "SSE3", "SSSE3", "SSE41", "POPCNT", "SSE42", "X86_V2"}


def test_the_xla_flags_keep_the_callers_others_and_replace_ours():
    flags = portable.environment({"XLA_FLAGS": "--xla_dump_to=/tmp/x --xla_cpu_max_isa=AVX512 "
                                               "--xla_cpu_use_xnnpack=true"})
    if portable.x86_64():
        assert flags["XLA_FLAGS"].split() == ["--xla_dump_to=/tmp/x", *portable.XLA]
        assert flags["OPENBLAS_CORETYPE"] == "Haswell"
    assert flags["NPROC"] == "1"


def test_native_pins_nothing_and_a_wrong_mode_names_the_variable(monkeypatch):
    monkeypatch.setenv(portable.VARIABLE, "native")
    assert portable.pin() == {}
    assert "native" in portable.describe()
    monkeypatch.setenv(portable.VARIABLE, "fast")
    with pytest.raises(ParamsError, match="(?s)LSTM_UTILS_REPRODUCIBLE is 'fast'.*portable"):
        portable.pin()


# ---- verify: the comparison, on files made here -------------------------------------------------

def keras_file(path: Path, weights: dict[str, np.ndarray]) -> Path:
    """A .keras archive holding only `model.weights.h5` with these arrays (what verify reads)."""
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        for name, array in weights.items():
            h5[name] = array
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("model.weights.h5", buffer.getvalue())
    return path


def close(found: tuple[float, str] | None, relative: float, where: str) -> bool:
    return found is not None and found[0] == pytest.approx(relative, rel=1e-9) and found[1] == where


def test_difference_reads_json_csv_models_and_folders(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        (d / "prepared").mkdir(parents=True)
    (a / "m.json").write_text(json.dumps({"rmse": 2.0, "model_sha256": "aa", "name": "x", "n": [1, 2]}))
    (b / "m.json").write_text(json.dumps({"rmse": 2.002, "model_sha256": "bb", "name": "x", "n": [1, 2]}))
    assert close(difference(a / "m.json", b / "m.json"), 0.002 / 2.002, "rmse")
    (b / "other.json").write_text(json.dumps({"rmse": 2.0, "model_sha256": "aa", "name": "y", "n": [1, 2]}))
    assert difference(a / "m.json", b / "other.json") is None  # a word differs: not the same result
    (a / "prepared" / "p.csv").write_text("t,y,series\n1,10.0,A\n2,nan,A\n")
    (b / "prepared" / "p.csv").write_text("t,y,series\n1,10.5,A\n2,nan,A\n")
    assert close(difference(a / "prepared", b / "prepared"), 0.5 / 10.5, "p.csv, column y")
    keras_file(a / "m.keras", {"layers/dense/vars/0": np.array([1.0, -4.0]), "layers/lstm/vars/0": np.ones(3)})
    keras_file(b / "m.keras", {"layers/dense/vars/0": np.array([1.0, -4.0]), "layers/lstm/vars/0": np.array([1, 1, 1.5])})
    assert close(difference(a / "m.keras", b / "m.keras"), 0.5 / 1.5, "weights layers/lstm/vars/0")
    keras_file(b / "m2.keras", {"layers/dense/vars/0": np.ones(3)})
    assert difference(a / "m.keras", b / "m2.keras") is None


def lock_of(outs: dict[str, str], deps: tuple[str, ...] = ("data", "lstm_utils")) -> dict:
    return {"stages": {"all": {"deps": [{"path": p, "md5": "x"} for p in (*deps, "models/base.keras")],
                               "outs": [{"path": p, "md5": m} for p, m in outs.items()]}}}


def test_judge_names_each_result_that_differs_and_leaves_reports_out(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    for d, rmse in ((old, 3.0), (new, 3.0000001)):
        (d / "reports").mkdir(parents=True)
        (d / "reports" / "metrics.json").write_text(json.dumps({"rmse": rmse}))
    text = (old / "reports" / "metrics.json").read_bytes()
    import hashlib

    md5 = hashlib.md5(text).hexdigest()
    before = lock_of({"reports/metrics.json": md5, "models/base.keras": "k1", "reports/base.html": "h1",
                      "reports/cost/base.json": "c1"})
    after = lock_of({"reports/metrics.json": "changed", "models/base.keras": "k1", "reports/base.html": "h2",
                     "reports/cost/base.json": "c2"})
    assert inputs(before) == ["data", "lstm_utils"]  # models/base.keras is made by a stage
    assert [p for p in outputs(before) if is_result(p)] == ["reports/metrics.json", "models/base.keras"]
    verdict = judge(old, before, new, after, promised=True)
    assert verdict.equal == ["models/base.keras"] and verdict.skipped == ["reports/base.html", "reports/cost/base.json"]
    (found,) = verdict.differ
    assert found.path == "reports/metrics.json" and found.relative == pytest.approx(1e-7 / 3.0000001)
    assert not verdict.ok  # the bytes are promised
    assert verdict.lines()[0].startswith("reports/metrics.json: differs from dvc.lock (largest relative difference 3.3e-08")
    tolerant = judge(old, before, new, after, promised=False)
    assert tolerant.ok and "within the tolerance 0.001" in tolerant.lines()[0]
    assert not Verdict([], [Difference("models/x.keras", None)], [], promised=False, rtol=1e-3).ok


# ---- the pipeline: slow -------------------------------------------------------------------------

def verify_in(root: Path, env: dict[str, str], prefix: list[str] = ()) -> subprocess.CompletedProcess:
    from tiny_project import STALLED_AFTER

    env = env | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"}
    return subprocess.run([*prefix, sys.executable, "-m", "lstm_utils", "verify"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=STALLED_AFTER)


@pytest.mark.slow
def test_verify_on_one_core_with_the_isa_capped_finds_every_result_equal(repro_project, tmp_path):
    """The session's project was made with this machine's full ISA on all its cores; verify runs it
    again on one core, with the environment a machine without AVX-512 would effectively have for
    the whole process tree (and a caller's thread settings the pin must override)."""
    from tiny_project import copy_project

    root = copy_project(repro_project[0], tmp_path / "project")
    capped = {"XLA_FLAGS": "--xla_cpu_max_isa=AVX2", "NPY_DISABLE_CPU_FEATURES": " ".join(portable.NUMPY_ABOVE_V3),
              "OPENBLAS_CORETYPE": "Haswell", "ONEDNN_MAX_CPU_ISA": "AVX2", "NPROC": "8", "OPENBLAS_NUM_THREADS": "8"}
    done = verify_in(root, unpinned_env(**capped), ONE_CORE)
    assert done.returncode == 0, done.stdout + done.stderr[-5000:]
    last = done.stdout.splitlines()[-1]
    count = sum(is_result(p) for p in outputs(yaml.safe_load((root / "dvc.lock").read_text())))
    assert last.startswith(f"verify: {count} results compared with dvc.lock: {count} equal, 0 differ"), last
    assert "promised here: an x86-64 CPU" in done.stderr or not portable.x86_64()
    scratch = re.search(r"running the whole pipeline again in (\S+)", done.stderr).group(1)
    assert not Path(scratch).exists()  # the copy is gone (--keep keeps it)


@pytest.mark.slow
def test_verify_names_the_model_retrained_with_another_seed(repro_project, tmp_path):
    """A lock whose base model came from another seed than params.yaml's (trained with seed 7,
    params put back and `dvc commit`: dvc status is clean) is caught, and the model named."""
    from tiny_project import copy_project, run

    root = copy_project(repro_project[0], tmp_path / "project")
    shipped = (root / "params.yaml").read_text()
    raw = yaml.safe_load(shipped)
    raw["train"]["seed"] = 7
    (root / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    run(["dvc", "repro", "-s", "base"], root)
    (root / "params.yaml").write_text(shipped)
    run(["dvc", "commit", "-f", "-q"], root)
    assert "up to date" in run(["dvc", "status"], root).stdout
    done = verify_in(root, dict(os.environ))
    assert done.returncode == 1, done.stdout + done.stderr[-5000:]
    lines = done.stdout.splitlines()
    assert any(ln.startswith("models/base.keras: differs from dvc.lock (largest relative difference") for ln in lines)
    assert not any(ln.startswith(("prepared", "models/finetune.keras")) for ln in lines), lines

"""The package as a user installs it: a wheel built from the repository, with no repository on
the path, runs the command line on the sample (slow: it builds a wheel)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tiny_project import ROOT, SAMPLE, env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel of a copy of the repository's package files (building in place would write
    build/ and *.egg-info into the repository)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "lstm_utils", src / "lstm_utils", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(src)], check=True, capture_output=True, text=True, env=env())
    (built,) = out.glob("lstm_utils-*.whl")
    return built


def test_the_wheel_holds_every_module_and_declares_the_default_backend(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "lstm_utils").rglob("*.py")}
    assert modules <= names, sorted(modules - names)  # the strategies included
    assert "lstm_utils/strategies/finetune.py" in names
    (meta,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    text = zipfile.ZipFile(wheel).read(meta).decode()
    assert "Requires-Dist: jax" in text and "Requires-Python: <3.14,>=3.11" in text


def test_the_installed_wheel_validates_the_sample_away_from_the_repository(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
                    str(wheel)], check=True, capture_output=True, text=True, env=env())
    work = tmp_path / "work"
    shutil.copytree(SAMPLE, work / "data")
    shutil.copy(ROOT / "params.yaml", work / "params.yaml")
    run_env = env() | {"PYTHONPATH": str(site)}  # before the venv's editable install of the repository
    where = subprocess.run([sys.executable, "-c", "import lstm_utils.strategies.finetune as m; print(m.__file__)"],
                           cwd=work, capture_output=True, text=True, env=run_env)
    assert where.stdout.strip().startswith(str(site)), where.stdout + where.stderr
    done = subprocess.run([sys.executable, "-m", "lstm_utils", "validate", "data"], cwd=work, capture_output=True,
                          text=True, env=run_env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("data: OK") and "10 files" in done.stdout

"""A project for a benchmark: the pipeline of a code tree (this checkout's or an earlier
commit's) copied into a folder, with data files of its own."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def copy_pipeline(dest: Path, data: list[Path], tree: Path = ROOT) -> Path:
    """`tree`'s code, notebooks, dvc.yaml, .dvcignore and params.yaml in the new folder `dest`,
    and `data` (CSV files) in dest/data; no git or DVC yet."""
    dest.mkdir(parents=True)
    for name in ("lstm_utils", "notebooks"):
        shutil.copytree(tree / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dvc.yaml", ".dvcignore", "params.yaml"):
        shutil.copy(tree / name, dest / name)
    (dest / "data").mkdir()
    for path in data:
        shutil.copy(path, dest / "data" / path.name)
    return dest


def env(**extra: str) -> dict[str, str]:
    """The environment of a benchmark's `dvc` and `lstm-utils` commands: this environment's
    Python first on PATH (the stage commands call `python`), TensorFlow's start-up noise off."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return dict(os.environ, PATH=path, TF_CPP_MIN_LOG_LEVEL="2") | extra

"""Set up a bundled example as a project of its own, and run its pipeline.

    python scripts/example_project.py departures build/departures        # set up, then dvc repro
    python scripts/example_project.py departures build/departures --months 3 --no-repro

An example is a folder of `examples/` with a `params.yaml` and a `data/` folder of CSVs (and
`new_data/`, held back to add later). The project gets this checkout's code, notebooks and
pipeline (`lstm_utils/`, `notebooks/`, `dvc.yaml`), the example's params and data, and its own
git and DVC repositories, so `dvc repro` there runs the real pipeline on the example, as in
this project. Nothing under `examples/` is written. Run it with the project's environment
(`make departures` does).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd: list[str], cwd: Path) -> None:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    subprocess.run(cmd, cwd=cwd, env=env, check=True)


def make(example: str, dest: Path, months: int | None = None, overrides: dict | None = None) -> Path:
    """Create the project `dest` (which must not exist) for `example`: code, notebooks and
    pipeline from this checkout, the example's params (with `overrides`, section by section)
    and its first `months` data files (default: all), under git and DVC."""
    source = ROOT / "examples" / example
    if not (source / "params.yaml").is_file():
        raise SystemExit(f"error: no example {example!r} (examples/{example}/params.yaml is missing)")
    if dest.exists():
        raise SystemExit(f"error: {dest} exists; remove it or name another folder")
    dest.mkdir(parents=True)
    for name in ("lstm_utils", "notebooks"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    for name in ("dvc.yaml", ".dvcignore"):
        shutil.copy(ROOT / name, dest / name)
    params = (source / "params.yaml").read_text(encoding="utf-8")
    if overrides:
        raw = yaml.safe_load(params)
        for section, values in overrides.items():
            raw[section] = (raw.get(section) or {}) | values
        params = yaml.safe_dump(raw, sort_keys=False)
    (dest / "params.yaml").write_text(params, encoding="utf-8")
    (dest / "data").mkdir()
    for path in sorted((source / "data").glob("*.csv"))[:months]:
        shutil.copy(path, dest / "data" / path.name)
    (dest / ".gitignore").write_text("/data/\n/prepared\n", encoding="utf-8")
    track(dest)
    return dest


def track(dest: Path, run: Callable[[list[str], Path], object] = _run) -> None:
    """Make `dest` a git and DVC repository with its data/ tracked by DVC (`run` runs each command)."""
    run(["git", "init", "-q"], dest)
    run(["git", "config", "user.email", "example@localhost"], dest)
    run(["git", "config", "user.name", "example"], dest)
    run(["dvc", "init", "-q"], dest)
    run(["dvc", "config", "core.analytics", "false"], dest)
    run(["dvc", "add", "-q", "data"], dest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("example", help="a folder of examples/, e.g. departures")
    parser.add_argument("dest", type=Path, help="the new project's folder (must not exist)")
    parser.add_argument("--months", type=int, help="only the first N data files")
    parser.add_argument("--no-repro", action="store_true", help="set the project up, do not run dvc repro")
    args = parser.parse_args()
    dest = make(args.example, args.dest, args.months)
    print(f"{dest}: {len(list((dest / 'data').glob('*.csv')))} data files; params from examples/{args.example}/")
    if not args.no_repro:
        _run(["dvc", "repro"], dest)
        print(f"reports: {dest / 'reports' / 'index.html'}")


if __name__ == "__main__":
    main()

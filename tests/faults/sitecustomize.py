"""Faults injected into a real pipeline run, for tests/test_faults.py and bench/faults.py.

Put this folder first on PYTHONPATH and set LSTM_UTILS_FAULT; every Python process started
with that environment (`dvc`, the stage command, its notebook kernel) imports this file at
start-up, and the process that imports the named lstm_utils module gets the fault:

    kill@write:GLOB      the file whose path (relative to the project) matches GLOB is half
                         written, then the whole `dvc repro` is killed (SIGKILL to its process
                         group and to the kernel, which runs in a session of its own), as a
                         power cut would leave it
    enospc@write:GLOB    writing that file fails half way with ENOSPC (a full disk)
    kill@call:MOD:FUNC   killed as above when lstm_utils function MOD.FUNC is first called
    raise@call:MOD:FUNC  MOD.FUNC raises RuntimeError("injected fault") (a bug)
    hold@write:GLOB, hold@call:MOD:FUNC
                         no fault: only the wait below, there

With LSTM_UTILS_FAULT_WAIT=PATH, a process reaching the fault first creates PATH.reached and
then waits (up to five minutes) for PATH to exist before it acts: a test can do something while
the run is known to be in progress (start a second `dvc repro`, say).

Kills need `dvc repro` started in a session of its own (`start_new_session=True`): only a
process group led by a `dvc` process is killed. Nothing happens without LSTM_UTILS_FAULT; a
Debian `sitecustomize` this shadows only reports crashes to apport.
"""

from __future__ import annotations

import os

SPEC = os.environ.get("LSTM_UTILS_FAULT", "")


def _reached() -> None:
    """Say the fault point is reached, and wait for the go-ahead (see LSTM_UTILS_FAULT_WAIT)."""
    import time

    wait = os.environ.get("LSTM_UTILS_FAULT_WAIT")
    if not wait:
        return
    open(wait + ".reached", "w").close()
    deadline = time.monotonic() + 300
    while not os.path.exists(wait) and time.monotonic() < deadline:
        time.sleep(0.05)


def _kill() -> None:
    """SIGKILL the `dvc repro` this runs under (its process group) and this process."""
    import signal

    group = os.getpgid(os.getppid())
    try:
        with open(f"/proc/{group}/cmdline", "rb") as handle:
            leader = handle.read().split(b"\0")
    except OSError:
        leader = []
    if any(part.endswith(b"dvc") for part in leader[:2]):
        os.killpg(group, signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def _patch_files(module, kind: str, pattern: str) -> None:
    """Wrap `lstm_utils.files.atomic_path` so writing a file matching `pattern` fails."""
    import contextlib
    import errno
    import fnmatch
    from pathlib import Path

    original = module.atomic_path

    @contextlib.contextmanager
    def atomic_path(path):
        with original(path) as tmp:
            yield tmp
            target = os.path.relpath(Path(path).absolute(), Path.cwd())
            if fnmatch.fnmatch(target, pattern):
                _reached()
                if kind == "hold":
                    return
                size = tmp.stat().st_size if tmp.exists() else 0
                if tmp.exists():
                    os.truncate(tmp, size // 2)
                if kind == "kill":
                    _kill()
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp))

    module.atomic_path = atomic_path


def _patch_call(module, kind: str, name: str) -> None:
    """Wrap `module.name` to kill the run or raise when first called."""
    original = getattr(module, name)

    def faulty(*args, **kwargs):
        _reached()
        if kind == "hold":
            return original(*args, **kwargs)
        if kind == "kill":
            _kill()
        raise RuntimeError("injected fault")

    faulty.__wrapped__ = original
    setattr(module, name, faulty)


def _install(spec: str) -> None:
    """Patch the target module right after it is first imported (before anything imports
    names from it), without importing it here."""
    import importlib.abc
    import importlib.machinery
    import sys

    kind, rest = spec.split("@", 1)
    where, target = rest.split(":", 1)
    if where == "write":
        module_name, patch = "lstm_utils.files", lambda m: _patch_files(m, kind, target)
    else:
        module_name, func = target.split(":")
        patch = lambda m: _patch_call(m, kind, func)  # noqa: E731

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name != module_name:
                return None
            sys.meta_path.remove(self)
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            if spec is None:
                return None
            run = spec.loader.exec_module

            def exec_module(module):
                run(module)
                patch(module)

            spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, Finder())


if SPEC:
    _install(SPEC)

"""The same bits on every x86-64 machine: the environment a stage's process runs in, pinned where it starts.

A float sum depends on its order, and the libraries under the pipeline choose that order from the
machine they find:

- OpenBLAS (NumPy's linear algebra: the ridge's normal equations) picks a kernel for the CPU it
  finds (SkylakeX on an AVX-512 machine, Haswell on an AVX2 one) and splits a product over as many
  threads as there are cores;
- NumPy runs its own AVX-512 loops where the CPU has them, whose `exp`, `log` and `arctan` of
  float64 differ from the AVX2 loops in the last bit;
- XLA (JAX's compiler, and TensorFlow's) compiles for the CPU it runs on, and its thread pool,
  sized to the cores, cuts a long matrix product into one partial sum per thread;
- TensorFlow's own kernels use a thread pool sized the same way.

:func:`pin` fixes each of these before the library loads: the AVX2-and-FMA level that every
x86-64 machine of the last ten years has (x86-64-v3), and one thread per reduction. With it the
tiny project and the sample give the same bytes on one core and two, and with the host's AVX-512
or without it (tests/test_portable.py; bench/README.md, "The same bytes on any machine", for the
cost, which is none measurable on the sample). Pinning costs the speed of wide vectors and of
threads inside one stage; stages run side by side (`lstm-utils repro -j`) use the cores instead.

Where a process starts, before NumPy is imported: :func:`lstm_utils.backend.select_for_project`
calls it (the command line's `main`, each stage notebook's first cell, the tests' conftest). The
processes a stage starts (papermill's kernel) inherit it. `LSTM_UTILS_REPRODUCIBLE=native` leaves
the machine's own choices (faster on a machine with many cores, and the bits are then that
machine's). Off x86-64 (arm64) only the thread counts are pinned, and a GPU sums in its own order:
there the results agree to a tolerance, not to the bit (`lstm-utils verify` says which applies).
"""

from __future__ import annotations

import os
import platform
import sys
import warnings

VARIABLE = "LSTM_UTILS_REPRODUCIBLE"
MODES = ("portable", "native")
DEFAULT = "portable"
ISA = "AVX2"  # XLA's and oneDNN's name for x86-64-v3 (AVX2, FMA)
OPENBLAS_CORE = "Haswell"  # OpenBLAS's AVX2-and-FMA kernels
# NumPy 2.4's dispatch targets above x86-64-v3 (numpy._core._multiarray_umath.__cpu_dispatch__ less
# X86_V3; tests/test_portable.py checks the list against the NumPy installed)
NUMPY_ABOVE_V3 = ("X86_V4", "AVX512_ICL", "AVX512_SPR")
XLA = (f"--xla_cpu_max_isa={ISA}",
       # XLA's own word: "faster code at the expense of consistent results across CPUs"
       "--xla_cpu_enable_platform_dependent_math=false",
       "--xla_cpu_use_xnnpack=false")  # XNNPACK picks its kernels from the CPU it finds, past the ISA cap
THREADS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "NPROC": "1",  # the size of XLA's CPU thread pool (it reads NPROC before counting the cores)
           "TF_NUM_INTRAOP_THREADS": "1"}


def mode(setting: str | None = None) -> str:
    """`portable` or `native`: `LSTM_UTILS_REPRODUCIBLE` when set, else `setting` (the project's
    `train.reproducible`), else portable."""
    from lstm_utils.errors import ParamsError

    value = os.environ.get(VARIABLE) or setting or DEFAULT
    if value not in MODES:
        where = f"the environment variable {VARIABLE}" if os.environ.get(VARIABLE) else "train.reproducible"
        raise ParamsError(f"{where} is {value!r}", key="" if os.environ.get(VARIABLE) else "train.reproducible",
                          hint=f"use one of: {', '.join(MODES)} (portable, the default, gives the same bytes on every "
                               "x86-64 machine)")
    return value


def cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def x86_64() -> bool:
    """Whether this machine is x86-64, where the bits are pinned (elsewhere only the threads)."""
    return platform.machine().lower() in ("x86_64", "amd64")


def environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The variables :func:`pin` sets, given the environment `base` (default: this process's):
    the thread counts, and on x86-64 the AVX2 level for OpenBLAS, NumPy and XLA (and oneDNN, which
    TensorFlow leaves off here). `XLA_FLAGS` keeps the flags `base` has, less any ISA cap."""
    base = os.environ if base is None else base
    out = dict(THREADS)
    if x86_64():
        out |= {"OPENBLAS_CORETYPE": OPENBLAS_CORE, "NPY_DISABLE_CPU_FEATURES": " ".join(NUMPY_ABOVE_V3),
                "ONEDNN_MAX_CPU_ISA": ISA}
        mine = {flag.split("=")[0] for flag in XLA}
        flags = [f for f in base.get("XLA_FLAGS", "").split() if f.split("=")[0] not in mine]
        out["XLA_FLAGS"] = " ".join([*flags, *XLA])
    return out


_LOADED_FIRST = ("numpy", "jax", "tensorflow")  # the libraries that read these variables when they load


_APPLIED: dict[str, str] = {}  # the mode this process pinned, once it did


def pin(setting: str | None = None) -> dict[str, str]:
    """Set :func:`environment` in this process (and so in every process it starts), unless the
    mode (:func:`mode` of `setting`, the project's `train.reproducible`) is native; returns what
    was set. Call it before NumPy is imported:
    in a notebook's kernel where a library that reads these variables is already loaded with
    others, this warns, as its results may then differ from the pipeline's in the last bits."""
    chosen = _APPLIED["mode"] = mode(setting)
    if chosen == "native":
        return {}
    wanted = environment()
    changed = [k for k, v in wanted.items() if os.environ.get(k) != v]
    late = [name for name in _LOADED_FIRST if name in sys.modules]
    os.environ.update(wanted)
    if changed and late and "IPython" in sys.modules:  # a kernel whose cells ran out of order
        warnings.warn(f"{', '.join(late)} loaded before lstm_utils pinned {', '.join(changed)}: results in this process "
                      "may differ from the pipeline's in the last bits; restart it (the kernel) and run the first cell "
                      "first", RuntimeWarning, stacklevel=2)
    return wanted


def check(setting: str, source: str = "params.yaml") -> None:
    """Stop with a clear error when this process pinned another mode than `setting` (the
    params' `train.reproducible`, read after the process started); nothing if it pinned none."""
    from lstm_utils.errors import ParamsError

    applied = _APPLIED.get("mode")
    if applied and applied != mode(setting):
        raise ParamsError(f"{source}: train.reproducible is {setting!r}, but this process started {applied}",
                          key="train.reproducible", hint="restart the kernel (or the process) after changing it")


def openblas() -> tuple[str, int] | None:
    """The kernel OpenBLAS runs (its core name, such as `Haswell`) and its thread count, from the
    OpenBLAS that NumPy loaded; None when it cannot be asked (another BLAS)."""
    import ctypes
    from pathlib import Path

    import numpy as np

    for lib in sorted((Path(np.__file__).parent.parent / "numpy.libs").glob("libscipy_openblas*.so*")):
        handle = ctypes.CDLL(str(lib))
        for suffix in ("64_", ""):
            core = getattr(handle, f"scipy_openblas_get_corename{suffix}", None)
            threads = getattr(handle, f"scipy_openblas_get_num_threads{suffix}", None)
            if core is not None and threads is not None:
                core.restype = ctypes.c_char_p
                return core().decode(), int(threads())
    return None


def describe() -> str:
    """One line on this machine and what runs on it: the CPU, its widest vectors, the pinning."""
    name = platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            info = f.read()
        model = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")), name)
        flags = next((ln.split(":", 1)[1].split() for ln in info.splitlines() if ln.startswith("flags")), [])
        widest = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
        n = cores()
        name = f"{model} ({name}, {widest}, {n} core{'s' if n != 1 else ''} for this process)"
    except OSError:
        pass
    how = _APPLIED.get("mode") or mode()
    if how == "native":
        return f"{name}; native: the machine's own kernels and threads"
    pinned = f"pinned to {ISA} and one thread per reduction" if x86_64() else "threads pinned, the bits not (not x86-64)"
    return f"{name}; portable: {pinned}"

"""Which Keras backend runs the models: `train.backend` in params.yaml, JAX or TensorFlow.

Keras reads its backend once, when it is first imported, from the `KERAS_BACKEND` variable.
Importing `lstm_utils` does nothing to it: a process chooses where it starts.
:func:`select_for_project` sets that variable from the project's params.yaml (the nearest one at
or above the current folder) unless Keras is already imported; the command line's `main`, each
stage notebook's first cell and the tests' conftest call it, so every stage, command and
notebook starts Keras on the backend the params name. A process that chose nothing (a script
that imports the package's modules) gets the same choice when the package first imports Keras
(:mod:`lstm_utils._keras`). :func:`use` is called again by `load_params` for the params file
actually read: it switches the backend if Keras is not imported yet, and stops with a clear
error if Keras already runs on another one.

Nothing here imports TensorFlow unless the TensorFlow backend is chosen. Each backend is made
deterministic its own way (:func:`seed`): TensorFlow's op determinism; for JAX, XLA's
deterministic GPU reductions (its CPU code is deterministic as it is).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

BACKENDS = ("jax", "tensorflow")
DEFAULT = "jax"
_CHOSEN = {"done": False}  # whether this process chose its backend (select_for_project or use)


def cache_dir() -> Path:
    """Where JAX keeps compiled programs between processes (`LSTM_UTILS_CACHE`, default
    ~/.cache/lstm_utils): a pure cache of XLA's output, safe to delete."""
    root = os.environ.get("LSTM_UTILS_CACHE")
    if not root:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lstm_utils"
    return Path(root) / "xla"


def _environment(name: str) -> None:
    """Environment that must be set before the backend starts: repeatable results, and for JAX
    the compiled programs kept on disk, so each stage's process does not compile the same
    training step again (several seconds each)."""
    if name == "jax":
        flags = os.environ.get("XLA_FLAGS", "")
        if "--xla_gpu_deterministic_ops" not in flags:
            os.environ["XLA_FLAGS"] = f"{flags} --xla_gpu_deterministic_ops=true".strip()
        os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(cache_dir()))
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
    else:
        # no start-up log lines in notebook outputs, no oneDNN rewrites (they may reorder sums)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def running() -> str | None:
    """The backend Keras runs on, or None when Keras is not imported yet."""
    keras = sys.modules.get("keras")
    if keras is None or not hasattr(keras, "backend"):
        return None
    return keras.backend.backend()


def use(name: str, source: str = "params.yaml") -> None:
    """Start Keras on backend `name` (before Keras is imported), or check that it runs on it.

    Raises :class:`~lstm_utils.errors.ParamsError` for an unknown name, or when Keras was
    already imported on another backend in this process.
    """
    from lstm_utils.errors import ParamsError

    if name not in BACKENDS:
        raise ParamsError(f"{source}: train.backend is {name!r}, which is not a Keras backend this project runs on",
                          hint=f"use one of: {', '.join(BACKENDS)} (jax is the default, measured faster)",
                          key="train.backend")
    now = running()
    if now is None:
        os.environ["KERAS_BACKEND"] = name
        _environment(name)
        _CHOSEN["done"] = True
    elif now != name:
        raise ParamsError(f"{source}: train.backend is {name!r}, but Keras was already started on {now!r} in this "
                          f"process", hint="load the params (or call lstm_utils.backend.select_for_project) before "
                          "importing keras, or restart the kernel / process after changing train.backend",
                          key="train.backend")


def distribute(data_parallel: bool, batch_size: int, source: str = "params.yaml") -> int:
    """With `data_parallel`, split each training batch across every accelerator of this machine
    (Keras's DataParallel distribution, JAX backend); returns the number of devices used."""
    if not data_parallel:
        return 1
    from lstm_utils.errors import ParamsError

    if (running() or os.environ.get("KERAS_BACKEND")) != "jax":
        raise ParamsError(f"{source}: train.data_parallel needs train.backend: jax", key="train.data_parallel",
                          hint="set train.backend: jax, or train.data_parallel: false")
    import jax

    import keras  # on JAX, as checked above (not lstm_utils._keras, which imports this module)

    after_import()
    devices = jax.devices()
    if len(devices) < 2:
        return 1  # one device: nothing to split over
    if batch_size % len(devices):
        raise ParamsError(f"{source}: train.batch_size {batch_size} does not split evenly over {len(devices)} devices",
                          key="train.batch_size", hint=f"use a multiple of {len(devices)}")
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    return len(devices)


def accelerator() -> str | None:
    """The accelerator Keras trains on in this process ("gpu", "tpu"), or None on the CPU."""
    name = running() or os.environ.get("KERAS_BACKEND", DEFAULT)
    if name == "jax":
        import jax

        platform = jax.default_backend()
    else:
        import tensorflow as tf

        platform = "gpu" if tf.config.list_physical_devices("GPU") else "cpu"
    return None if platform == "cpu" else platform


def _project_train(start: str | Path | None = None) -> dict | None:
    """The `train` section of the nearest params.yaml at or above `start` (None: none readable)."""
    try:
        import yaml
    except ImportError:  # a python without the project's packages: __main__ says what to do
        return None
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        path = folder / "params.yaml"
        if path.is_file():
            try:
                train = yaml.safe_load(path.read_text(encoding="utf-8"))["train"]
            except Exception:  # an unreadable file is reported, with its key, by load_params
                return None
            return train if isinstance(train, dict) else None
    return None


def from_project(start: str | Path | None = None) -> str | None:
    """`train.backend` of the nearest params.yaml at or above `start` (None: none readable)."""
    return _backend_of(_project_train(start))


def _backend_of(train: dict | None) -> str | None:
    """`backend` of a params file's `train` section (None: no section, or not a backend)."""
    value = None if train is None else train.get("backend", DEFAULT)
    return value if value in BACKENDS else None


def select_for_project() -> None:
    """Where a process starts: pin the environment that makes the bits the same on any x86-64
    machine (:func:`lstm_utils.portable.pin`, before NumPy is imported; unless the params'
    `train.reproducible` is native), and start Keras, when it
    is imported, on the project's backend (the nearest params.yaml's `train.backend`; without one,
    `KERAS_BACKEND`, else jax). The backend is chosen once per process: after this or :func:`use`,
    and once Keras runs, that part does nothing."""
    from lstm_utils import portable

    train = _project_train()  # the params file, read once
    mode = (train or {}).get("reproducible")
    portable.pin(mode if mode in portable.MODES else None)  # before NumPy loads (see lstm_utils.portable)
    if _CHOSEN["done"]:
        return
    if running() is None:
        name = _backend_of(train)
        if name is not None:
            os.environ["KERAS_BACKEND"] = name
        else:
            os.environ.setdefault("KERAS_BACKEND", DEFAULT)
        _environment(os.environ["KERAS_BACKEND"])
        _CHOSEN["done"] = True


_COMPILE = {"seconds": 0.0}


@contextlib.contextmanager
def compile_clock():
    """Count the seconds inside as compiling (a training step or a forecast function, once per
    architecture and shape in a process), kept apart from training seconds."""
    started = time.perf_counter()
    try:
        yield
    finally:
        _COMPILE["seconds"] += time.perf_counter() - started


def compile_seconds() -> float:
    """Seconds spent compiling in this process so far (see :func:`compile_clock`)."""
    return _COMPILE["seconds"]


def after_import() -> None:
    """Once Keras is imported: on a backend other than TensorFlow, tell Keras that TensorFlow is
    not available, so that saving or describing a model does not import it."""
    import keras

    if keras.backend.backend() != "tensorflow":
        from keras.src.utils import module_utils

        if module_utils.tensorflow.module is None:
            module_utils.tensorflow._available = False


def seed(value: int) -> None:
    """Seed Python, NumPy and Keras's generators, and make the backend's ops deterministic."""
    import keras

    if keras.backend.backend() != "tensorflow":
        # keras.utils.set_random_seed without its `tf.random.set_seed`, which imports
        # TensorFlow (five seconds here) on any backend where TensorFlow is installed
        import random

        import numpy as np
        from keras.src.backend.common import global_state
        from keras.src.random import seed_generator

        global_state.set_global_attribute("global_random_seed", value)
        global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
        random.seed(value)
        np.random.seed(value)
        return
    keras.utils.set_random_seed(value)
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # TensorFlow's Python-side retracing warnings
    tf.config.experimental.enable_op_determinism()

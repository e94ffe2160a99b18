"""The Keras backend is a params key: chosen before Keras starts, checked, part of every step's
identity; models saved on one backend load and forecast the same on the other."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from lstm_utils import backend
from lstm_utils.config import parse_params
from lstm_utils.errors import ParamsError
from tiny_project import ROOT, env, tiny_params


def test_unknown_or_missing_backend_is_a_params_error_naming_the_key():
    raw = tiny_params({"train": {"backend": "torch"}})
    with pytest.raises(ParamsError, match="train.backend") as err:
        parse_params(raw)
    assert "jax" in str(err.value) and "tensorflow" in str(err.value)
    raw = tiny_params()
    del raw["train"]["backend"]
    with pytest.raises(ParamsError, match="train.backend"):
        parse_params(raw)
    with pytest.raises(ParamsError, match="not a Keras backend"):
        backend.use("torch")


def test_params_naming_another_backend_than_the_running_one_stop_with_a_clear_error():
    import keras

    running = keras.backend.backend()
    other = next(b for b in backend.BACKENDS if b != running)
    with pytest.raises(ParamsError, match=f"already started on '{running}'") as err:
        backend.use(other, source="my/params.yaml")
    assert "my/params.yaml" in str(err.value) and "restart" in str(err.value)
    backend.use(running)  # the same one is fine


def test_data_parallel_needs_jax(monkeypatch):
    monkeypatch.setattr(backend, "running", lambda: "tensorflow")
    with pytest.raises(ParamsError, match="train.data_parallel needs train.backend: jax"):
        backend.distribute(True, 64)
    assert backend.distribute(False, 64) == 1


def test_project_backend_is_read_from_the_nearest_params_file(tmp_path):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params({"train": {"backend": "tensorflow"}})))
    (tmp_path / "notebooks").mkdir()
    assert backend.from_project(tmp_path / "notebooks") == "tensorflow"
    (tmp_path / "params.yaml").write_text("not: [valid")
    assert backend.from_project(tmp_path) is None


def test_a_step_computed_on_one_backend_is_not_reused_on_another(tmp_path, monkeypatch):
    import keras

    from lstm_utils.stepcache import StepCache

    cache = StepCache(tmp_path, "finetune")
    here = cache.key("abc", ["d0"], {"finetune": {"epochs": 1}})
    other = next(b for b in backend.BACKENDS if b != keras.backend.backend())
    monkeypatch.setattr(keras.backend, "backend", lambda: other)
    there = cache.key("abc", ["d0"], {"finetune": {"epochs": 1}})
    assert here != there


# One script for the cross-backend test: with `save`, build and train a tiny forecaster on the
# sample's first days and save it; then load every model given, with safe_mode, and forecast
# the same windows. Prints a JSON line: the backend, whether TensorFlow got imported, forecasts.
CROSS = r"""
import json, sys
from pathlib import Path
import lstm_utils
import numpy as np
from lstm_utils import train
from lstm_utils._keras import keras
from lstm_utils.config import load_params
from lstm_utils.from_scratch import new_forecaster
from lstm_utils.ingest import ingest
from lstm_utils.model import predict
from lstm_utils.splits import assign_splits
from lstm_utils.windows import split_windows

params = load_params("params.yaml")
frame = assign_splits(ingest("data", params.data, params.split.base_batches), params.split)
tr, va = (split_windows(frame, params, s, [0, 1]) for s in ("train", "val"))
out = {"backend": keras.backend.backend()}
if sys.argv[1] == "save":
    model = new_forecaster(frame, params)
    train.fit(model, tr, va, epochs=2, batch_size=32, learning_rate=1e-2, patience=5, seed=0, verbose=0)
    model.save(f"{out['backend']}.keras")
for path in sorted(Path(".").glob("*.keras")):
    model = keras.saving.load_model(path, safe_mode=True)
    out[path.stem] = predict(model, va).ravel()[:500].tolist()
out["tensorflow_imported"] = "tensorflow" in sys.modules
print("OUT " + json.dumps(out))
"""


def _run_in(project: Path, backend_name: str, *args: str) -> dict:
    raw = yaml.safe_load((project / "params.yaml").read_text())
    raw["train"]["backend"] = backend_name
    (project / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    done = subprocess.run([sys.executable, "-c", CROSS, *args], cwd=project, env=env() | {"KERAS_BACKEND": "torch"},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(next(ln for ln in done.stdout.splitlines() if ln.startswith("OUT "))[4:])


@pytest.mark.slow
def test_models_saved_on_either_backend_load_safely_and_forecast_the_same_on_the_other(tmp_path):
    from tiny_project import make_project

    project = make_project(tmp_path / "project", parts=2)
    on_jax = _run_in(project, "jax", "save")
    on_tf = _run_in(project, "tensorflow", "save")
    # the params' backend wins over KERAS_BACKEND in the environment (set to torch above)
    assert on_jax["backend"] == "jax" and on_tf["backend"] == "tensorflow"
    assert on_jax["tensorflow_imported"] is False  # JAX runs never import TensorFlow
    again = _run_in(project, "jax", "load")
    import numpy as np

    for name in ("jax", "tensorflow"):
        a, b = np.array(on_tf[name]), np.array(again[name])
        assert a.size > 100 and np.all(np.isfinite(a))
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)
    # two backends train two (close but) different models: the comparison above is not vacuous
    assert not np.array_equal(np.array(on_tf["jax"]), np.array(on_tf["tensorflow"]))


DATA_PARALLEL = r"""
import json
import lstm_utils
import jax
from lstm_utils import train
from lstm_utils._keras import keras
from lstm_utils.config import load_params
from lstm_utils.from_scratch import new_forecaster
from lstm_utils.ingest import ingest
from lstm_utils.model import predict
from lstm_utils.splits import assign_splits
from lstm_utils.windows import split_windows

params = load_params("params.yaml")
frame = assign_splits(ingest("data", params.data, params.split.base_batches), params.split)
tr, va = (split_windows(frame, params, s, [0, 1]) for s in ("train", "val"))
model = new_forecaster(frame, params)
result = train.fit(model, tr, va, epochs=2, batch_size=32, learning_rate=1e-2, patience=5, seed=0, verbose=0)
dist = keras.distribution.distribution()
print("OUT " + json.dumps({"devices": len(jax.devices()), "distribution": type(dist).__name__ if dist else None,
                           "loss": result.history["loss"], "forecast": predict(model, va).ravel()[:50].tolist()}))
"""


@pytest.mark.slow
def test_data_parallel_splits_batches_over_devices_and_learns_the_same(tmp_path):
    import numpy as np

    from tiny_project import make_project

    project = make_project(tmp_path / "project", parts=2)
    outs = {}
    for flag in (False, True):
        raw = yaml.safe_load((project / "params.yaml").read_text())
        raw["train"]["data_parallel"] = flag
        (project / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
        done = subprocess.run([sys.executable, "-c", DATA_PARALLEL], cwd=project, capture_output=True, text=True,
                              env=env() | {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"})
        assert done.returncode == 0, done.stderr[-3000:]
        outs[flag] = json.loads(next(ln for ln in done.stdout.splitlines() if ln.startswith("OUT "))[4:])
    assert outs[True]["devices"] == 2 and outs[True]["distribution"] == "DataParallel"
    assert outs[False]["distribution"] is None
    # the same batches and updates, only summed across two devices: the same model to float error
    np.testing.assert_allclose(outs[True]["loss"], outs[False]["loss"], rtol=1e-3)
    np.testing.assert_allclose(outs[True]["forecast"], outs[False]["forecast"], rtol=1e-3, atol=1e-3)


def test_shipped_params_choose_jax_and_the_readme_says_why():
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert raw["train"]["backend"] == "jax" and raw["train"]["data_parallel"] is False
    readme = (ROOT / "docs" / "backends.md").read_text()  # the README links it
    assert "train.backend" in readme and "bench/throughput.py" in readme
    assert "docs/backends.md" in (ROOT / "README.md").read_text()


def test_the_lstm_layers_keep_the_settings_of_the_fused_cudnn_kernel():
    """On an NVIDIA GPU, TensorFlow runs Keras's LSTM as one cuDNN kernel only with these settings."""
    from lstm_utils.config import ModelParams
    from lstm_utils.model import Scaler, build_forecaster

    scaler = Scaler(np.zeros(3), np.ones(3))
    model = build_forecaster(ModelParams((4, 3), 0.1, "season", True, True), 8, 4, 3, [0], scaler, season=4)
    lstms = [layer for layer in model.layers if layer.__class__.__name__ == "LSTM"]
    assert lstms
    for layer in lstms:
        c = layer.get_config()
        assert (c["activation"], c["recurrent_activation"]) == ("tanh", "sigmoid")
        assert c["recurrent_dropout"] == 0 and c["unroll"] is False and c["use_bias"] is True


TF_FEED = r"""
import json, sys
import numpy as np
import pandas as pd
from lstm_utils import backend
backend.use("tensorflow", source="test")
from lstm_utils import train
from lstm_utils.config import ModelParams
from lstm_utils.model import Scaler, build_forecaster
from lstm_utils.windows import make_windows

rng = np.random.default_rng(0)
n = 200
frame = pd.DataFrame({"a": rng.normal(0, 1, n), "b": rng.normal(50, 20, n)},
                     index=pd.date_range("2024-01-01", periods=n, freq="h"))
frame.iloc[100:, :] *= 1000.0  # a second stretch of another scale
w = make_windows(frame, ["a", "b"], ["b"], 8, 4)
scaler = Scaler(np.array([0.0, 50.0]), np.array([1.0, 20.0]))
out = {}
for scaling in ("global", "window"):
    model = build_forecaster(ModelParams((4,), 0.0, "season", True, True, scaling=scaling), 8, 4, 2, w.target_idx,
                             scaler, season=4)
    for label, windows, targets, size in (("all", w, None, 16), ("distill", w, rng.normal(0, 1, (len(w), 4, 1)).astype("float32"), 16),
                                          ("short", w.subset(slice(0, 10)), None, 16)):
        one, two = (train.WindowBatches(windows, size, shuffle=True, seed=3, targets=targets, drop_last=True) for _ in "12")
        numpy_feed, tf_feed = train._ScaledTargets(one, model), train._tf_feed(two, model)
        x_gap = y_gap = 0.0
        batches = 0
        for epoch in range(2):
            got = list(tf_feed)
            assert len(got) == len(numpy_feed), (len(got), len(numpy_feed))
            for k, (x, y) in enumerate(got):
                xn, yn = numpy_feed[k]
                x_gap = max(x_gap, float(np.abs(x.numpy() - xn).max()))
                y_gap = max(y_gap, float(np.abs(y.numpy() - yn).max() / np.abs(yn).max()))
                batches += 1
            numpy_feed.on_epoch_end()
        out[f"{scaling} {label}"] = [x_gap, y_gap, batches]
print("OUT " + json.dumps(out))
"""


def test_tensorflow_feeds_the_same_batches_as_the_numpy_path():
    """On TensorFlow, fit cuts windows inside tf.data (faster: no Python generator per batch);
    epoch by epoch it gives exactly the batches of the PyDataset path, scaled alike."""
    done = subprocess.run([sys.executable, "-c", TF_FEED], cwd=ROOT, env=env(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(next(ln for ln in done.stdout.splitlines() if ln.startswith("OUT "))[4:])
    assert set(out) == {f"{s} {k}" for s in ("global", "window") for k in ("all", "distill", "short")}
    for name, (x_gap, y_gap, batches) in out.items():
        assert x_gap == 0.0, name  # the same windows in the same order
        assert y_gap < 1e-6, name  # the same targets, scaled alike (float rounding aside)
        assert batches == (2 if "short" in name else 2 * (len(range(8, 200 - 4 + 1)) // 16)), name

"""Model artifacts: a `.keras` file and its JSON sidecar, written atomically, read back safely."""

from __future__ import annotations

import copy
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import yaml

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from lstm_utils.artifacts import (SIDECAR_KEYS, load_model, make_sidecar, save_model,  # noqa: E402
                                  sidecar_path, write_json)
from lstm_utils.config import parse_params  # noqa: E402
from lstm_utils.errors import ModelError  # noqa: E402
from lstm_utils.model import Scaler, build_forecaster  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LOOKBACK, HORIZON, SEASON = 24, 6, 24


@pytest.fixture(scope="module")
def small_params():
    raw = copy.deepcopy(yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8")))
    raw["window"].update(lookback=LOOKBACK, horizon=HORIZON)
    raw["model"]["units"] = [8]
    raw["baselines"]["season"] = SEASON
    return parse_params(raw)


@pytest.fixture(scope="module")
def model(small_params):
    """A forecaster with every weight drawn at random, so a lost weight changes its output."""
    n = len(small_params.data.inputs)
    scaler = Scaler(mean=np.linspace(10.0, 70.0, n), std=np.linspace(2.0, 9.0, n))
    m = build_forecaster(small_params.model, LOOKBACK, HORIZON, n, [0], scaler, season=SEASON, seed=3)
    rng = np.random.default_rng(0)
    for layer in m.layers:
        if layer.trainable_weights:
            layer.set_weights([rng.normal(0.0, 0.3, w.shape).astype("float32") for w in layer.get_weights()])
    return m


@pytest.fixture(scope="module")
def x(small_params):
    n = len(small_params.data.inputs)
    return np.random.default_rng(1).normal(40.0, 10.0, (5, LOOKBACK, n)).astype("float32")


def predict(m, x):
    return m.predict(x, verbose=0)


def test_sidecar_path():
    assert sidecar_path("models/base.keras") == Path("models/base.json")
    assert sidecar_path(Path("a.b/retrain.keras")) == Path("a.b/retrain.json")


def test_make_sidecar_records_params_and_inputs(small_params):
    side = make_sidecar("finetune", "models/base.keras", small_params, {"2013-07.csv": "ab" * 32},
                        {"rmse": 1.5})
    assert tuple(side) == SIDECAR_KEYS
    assert side["strategy"] == "finetune" and side["parent"] == "models/base.keras"
    assert side["inputs"] == ["temp", "dewp", "humid", "wind_speed", "precip", "pressure", "visib"]
    assert side["targets"] == ["temp"]
    assert side["window"] == {"lookback": LOOKBACK, "horizon": HORIZON}
    assert side["data"]["time_column"] == "time_hour"
    assert side["params"]["baselines"]["season"] == SEASON
    assert side["sources"] == {"2013-07.csv": "ab" * 32}


def test_save_writes_both_files_and_nothing_else(tmp_path, model, small_params, x):
    side = make_sidecar("base", None, small_params, {}, {"test": {"rmse": float("nan")}})
    save_model(model, tmp_path / "models" / "base.keras", side)
    folder = tmp_path / "models"
    assert sorted(p.name for p in folder.iterdir()) == ["base.json", "base.keras"]  # no temporary files
    written = json.loads((folder / "base.json").read_text(encoding="utf-8"))
    assert written["metrics"] == {"test": {"rmse": None}}
    assert written["window"] == {"lookback": LOOKBACK, "horizon": HORIZON}
    # saving again replaces both, still without leftovers
    save_model(model, folder / "base.keras", side | {"strategy": "retrain"})
    assert sorted(p.name for p in folder.iterdir()) == ["base.json", "base.keras"]
    assert json.loads((folder / "base.json").read_text(encoding="utf-8"))["strategy"] == "retrain"


def test_load_model_gives_the_same_predictions(tmp_path, model, small_params, x):
    path = tmp_path / "m.keras"
    side = make_sidecar("base", None, small_params, {}, {})
    save_model(model, path, side)
    loaded, got = load_model(path)
    assert got == json.loads(json.dumps(side))  # tuples as lists, otherwise the same
    expected = predict(model, x)
    assert np.abs(expected - x[:, -SEASON:, :1][:, :HORIZON]).max() > 0.1  # the learned part matters
    np.testing.assert_allclose(predict(loaded, x), expected, rtol=1e-6, atol=1e-5)


def test_keras_file_loads_alone_in_safe_mode(tmp_path, model, small_params, x):
    path = tmp_path / "m.keras"
    save_model(model, path, make_sidecar("base", None, small_params, {}, {}))
    alone = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(predict(alone, x), predict(model, x), rtol=1e-6, atol=1e-5)


def test_save_refuses_an_incomplete_sidecar(tmp_path, model):
    with pytest.raises(ValueError, match="metrics"):
        save_model(model, tmp_path / "m.keras", {k: None for k in SIDECAR_KEYS if k != "metrics"})
    assert list(tmp_path.iterdir()) == []


class _FailingModel:
    """Writes part of a file, then fails, as an interrupted save would."""

    def save(self, path):
        Path(path).write_bytes(b"partial")
        raise RuntimeError("disk full")


def test_failed_save_keeps_the_old_files(tmp_path, model, small_params):
    path = tmp_path / "m.keras"
    save_model(model, path, make_sidecar("base", None, small_params, {}, {}))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(RuntimeError, match="disk full"):
        save_model(_FailingModel(), path, make_sidecar("retrain", None, small_params, {}, {}))
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # old files, no temporary file


def test_write_json_turns_nan_and_inf_into_null(tmp_path):
    path = tmp_path / "out" / "metrics.json"
    write_json(path, {"b": float("nan"), "a": [1.5, float("inf"), (np.float64("nan"), -math.inf)],
                      "c": {"d": 2, 3: "three"}})
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    assert "NaN" not in text and "Infinity" not in text
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert data == {"a": [1.5, None, [None, None]], "b": None, "c": {"3": "three", "d": 2}}
    assert list(data) == ["a", "b", "c"]  # keys sorted
    assert [p.name for p in path.parent.iterdir()] == ["metrics.json"]


# ---------------------------------------------------------------- load_model errors


def test_load_missing_model_file(tmp_path):
    with pytest.raises(ModelError, match="no such model file") as info:
        load_model(tmp_path / "gone.keras")
    assert info.value.path == str(tmp_path / "gone.keras")


def test_load_missing_sidecar(tmp_path, model, small_params):
    path = tmp_path / "m.keras"
    save_model(model, path, make_sidecar("base", None, small_params, {}, {}))
    (tmp_path / "m.json").unlink()
    with pytest.raises(ModelError, match=r"m\.json: the model's sidecar is missing"):
        load_model(path)


def test_load_sidecar_that_is_not_json(tmp_path, model, small_params):
    path = tmp_path / "m.keras"
    save_model(model, path, make_sidecar("base", None, small_params, {}, {}))
    (tmp_path / "m.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match=r"m\.json: not valid JSON"):
        load_model(path)


def test_load_damaged_keras_file(tmp_path, model, small_params):
    path = tmp_path / "m.keras"
    save_model(model, path, make_sidecar("base", None, small_params, {}, {}))
    path.write_bytes(path.read_bytes()[:100])  # truncated
    with pytest.raises(ModelError, match=r"m\.keras: cannot load the model"):
        load_model(path)


SAVE_IN_NEW_PROCESS = """
import sys
from lstm_utils.artifacts import load_model, save_model
model, sidecar = load_model(sys.argv[1])
save_model(model, sys.argv[2], sidecar)
"""


def test_same_model_gives_the_same_bytes_in_any_process(tmp_path, model, small_params):
    import subprocess
    import sys
    import zipfile

    first, second = tmp_path / "first.keras", tmp_path / "second.keras"
    save_model(model, first, make_sidecar("base", None, small_params, {}, {}))
    save_model(model, second, make_sidecar("base", None, small_params, {}, {}))
    assert first.read_bytes() == second.read_bytes()
    again = [tmp_path / "a.keras", tmp_path / "b.keras"]
    for out in again:  # each process gives its objects other ids; the bytes must not change
        subprocess.run([sys.executable, "-c", SAVE_IN_NEW_PROCESS, str(first), str(out)], check=True)
    assert again[0].read_bytes() == again[1].read_bytes()
    with zipfile.ZipFile(first) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert json.loads(z.read("metadata.json"))["date_saved"] == "1980-01-01@00:00:00"
        assert '"shared_object_id": 1' in z.read("config.json").decode()


def test_atomic_write_removes_what_a_killed_writer_left_and_nothing_else(tmp_path):
    import os
    import subprocess
    import time

    from lstm_utils.files import atomic_path

    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan = tmp_path / f".metrics.tmp-{dead.pid}.json"  # a writer killed mid-write left this
    orphan.write_text('{"half": ')
    zombie = subprocess.Popen(["true"])  # exited, not yet reaped by its parent: dead too
    time.sleep(0.3)
    unreaped = tmp_path / f".metrics.tmp-{zombie.pid}.json"
    unreaped.write_text('{"half": ')
    busy = tmp_path / f".metrics.tmp-{os.getppid()}.json"  # a live process is writing this one
    busy.write_text("{}")
    with atomic_path(tmp_path / "metrics.json") as tmp:
        tmp.write_text('{"done": 1}')
    assert (tmp_path / "metrics.json").read_text() == '{"done": 1}'
    assert not orphan.exists() and not unreaped.exists() and busy.exists()
    zombie.wait()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["metrics.json", busy.name])

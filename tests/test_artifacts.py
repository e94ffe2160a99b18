"""Model artifacts: a `.keras` file and its JSON sidecar, written atomically, read back safely."""

from __future__ import annotations

import copy
import io
import json
import math
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from lstm_utils.artifacts import (SIDECAR_KEYS, load_model, make_sidecar, save_model,  # noqa: E402
                                  sidecar_path, write_json)
from lstm_utils.cli import main  # noqa: E402
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
    whole = path.read_bytes()
    path.write_bytes(whole[:100])  # truncated: no longer a zip
    with pytest.raises(ModelError, match=r"m\.keras: not a Keras model file \(\.keras archive"):
        load_model(path)
    with zipfile.ZipFile(path, "w") as damaged, zipfile.ZipFile(io.BytesIO(whole)) as intact:
        for name in intact.namelist():  # an archive of the right shape whose weights are garbage
            damaged.writestr(name, b"garbage" if name.endswith(".h5") else intact.read(name))
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


# ---------------------------------------------------------------- model files that are not ours


@keras.saving.register_keras_serializable(package="elsewhere")
class Shift(keras.layers.Layer):
    """A layer of someone else's package: its code is not lstm_utils' to run."""

    def call(self, x):
        return x + 1.0


def forecast_error(capsys, path: Path) -> str:
    """`forecast --model path` in process: exit 2, exactly one `error:` line (and its hint), no
    traceback, no output; returns the error line."""
    assert main(["forecast", "--model", str(path), "--data", str(path.parent)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err, err
    assert err.startswith("error: ") and err.count("error:") == 1 and len(err.strip().splitlines()) <= 2, err
    return err.splitlines()[0]


def keras_beside_sidecar(tmp_path: Path, model: keras.Model, small_params) -> Path:
    """`model` saved by Keras itself, beside a sidecar of ours that describes its shapes."""
    path = tmp_path / "m.keras"
    model.save(path)
    write_json(sidecar_path(path), make_sidecar("base", None, small_params, {}, {}))
    return path


def lambda_model(nested: bool) -> keras.Model:
    """(24, 7) windows -> (6, 1) by a Lambda layer; `nested`: inside a Sequential in a functional model."""
    inner = keras.Sequential([keras.Input((LOOKBACK, 7)), keras.layers.Lambda(lambda w: w[:, -HORIZON:, :1])])
    if not nested:
        return inner
    window = keras.Input((LOOKBACK, 7))
    return keras.Model(window, inner(window))


@pytest.mark.parametrize("nested", [False, True])
def test_a_lambda_layer_is_refused_before_keras_reads_the_file(tmp_path, small_params, capsys, monkeypatch, nested):
    path = keras_beside_sidecar(tmp_path, lambda_model(nested), small_params)
    monkeypatch.setattr(keras.saving, "load_model", lambda *a, **k: pytest.fail("Keras was given the file"))
    assert forecast_error(capsys, path) == (f"error: {path}: holds a Lambda layer (Python code); lstm_utils does "
                                            "not run code from model files")
    assert main(["evaluate", "--model", str(path), "--data", str(tmp_path)]) == 2
    assert "holds a Lambda layer" in capsys.readouterr().err


def test_a_layer_of_another_package_is_refused(tmp_path, small_params, capsys, monkeypatch):
    model = keras.Sequential([keras.Input((LOOKBACK, 7)), Shift(), keras.layers.Cropping1D((LOOKBACK - HORIZON, 0)),
                              keras.layers.Dense(1)])
    path = keras_beside_sidecar(tmp_path, model, small_params)
    monkeypatch.setattr(keras.saving, "load_model", lambda *a, **k: pytest.fail("Keras was given the file"))
    line = forecast_error(capsys, path)
    assert line.startswith(f"error: {path}: holds 'elsewhere>Shift'")
    assert line.endswith("not a layer of Keras or lstm_utils; lstm_utils does not run code from model files")


def test_a_text_file_named_keras_is_refused(tmp_path, small_params, capsys):
    path = tmp_path / "notes.keras"
    path.write_text("time_hour,temp\n2013-01-01T00:00:00Z,40\n", encoding="utf-8")
    write_json(sidecar_path(path), make_sidecar("base", None, small_params, {}, {}))
    line = forecast_error(capsys, path)
    assert line == (f"error: {path}: not a Keras model file (.keras archive: a zip with config.json and "
                    "metadata.json)")


def test_someone_elses_model_is_refused_for_its_sidecar(tmp_path, capsys):
    path = tmp_path / "theirs.keras"
    keras.Sequential([keras.Input((LOOKBACK, 7)), keras.layers.Flatten(), keras.layers.Dense(HORIZON)]).save(path)
    sidecar_path(path).write_text(json.dumps({"inputs": ["temp"], "targets": ["temp"], "epochs": 10}))
    line = forecast_error(capsys, path)
    assert line == (f"error: {sidecar_path(path)}: not a sidecar written by lstm_utils (no 'strategy', 'parent', "
                    "'data', 'window', 'params', 'sources', 'metrics')")
    sidecar_path(path).write_text("[1, 2]")
    assert forecast_error(capsys, path).endswith("not a sidecar written by lstm_utils (not a JSON object)")


def test_a_model_its_sidecar_does_not_describe_is_refused(tmp_path, model, small_params, capsys):
    path = tmp_path / "m.keras"
    longer = parse_params(small_params.raw | {"window": {"lookback": LOOKBACK, "horizon": 12}})
    save_model(model, path, make_sidecar("base", None, longer, {}, {}))
    assert forecast_error(capsys, path) == (f"error: {path}: the model maps windows of shape (24, 7) to (6, 1), but "
                                            "m.json says (lookback 24, inputs 7) to (horizon 12, targets 1)")


def test_our_window_scaled_model_loads_with_its_own_layers(tmp_path, small_params, x):
    """Its config names lstm_utils' layers (`lstm_utils>WindowSpread`, `lstm_utils>Divide`): accepted."""
    params = parse_params(small_params.raw | {"model": small_params.raw["model"] | {"scaling": "window"}})
    n = len(params.data.inputs)
    scaler = Scaler(mean=np.zeros(n), std=np.ones(n))
    model = build_forecaster(params.model, LOOKBACK, HORIZON, n, [0], scaler, season=SEASON, seed=3)
    path = tmp_path / "w.keras"
    save_model(model, path, make_sidecar("base", None, params, {}, {}))
    with zipfile.ZipFile(path) as archive:
        assert '"registered_name": "lstm_utils>WindowSpread"' in archive.read("config.json").decode()
    loaded, side = load_model(path)
    assert side["params"]["model"]["scaling"] == "window"
    np.testing.assert_allclose(predict(loaded, x), predict(model, x), rtol=1e-6, atol=1e-5)
    assert np.abs(predict(loaded, x)).max() > 1.0  # a real forecast, in the data's units


@pytest.mark.parametrize("existed", [True, False])
def test_a_full_disk_keeps_the_previous_file_and_says_so_in_one_error(tmp_path, monkeypatch, existed):
    """ENOSPC half way through a write: one WriteError naming the file; the previous content
    (or no file) stays, and no temporary file is left."""
    import errno
    import pathlib

    from lstm_utils.errors import WriteError
    from lstm_utils.files import write_json

    path = tmp_path / "metrics.json"
    if existed:
        write_json(path, {"rmse": 1.0})
    before = path.read_bytes() if existed else None
    real = pathlib.Path.write_text

    def full_disk(self, text, *args, **kwargs):
        real(self, text[: len(text) // 2], *args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(pathlib.Path, "write_text", full_disk)
    with pytest.raises(WriteError) as err:
        write_json(path, {"rmse": 2.0})
    kept = "the previous metrics.json is kept as it was" if existed else "nothing was left in its place"
    assert str(err.value).splitlines()[0] == f"{path}: could not be written (No space left on device); {kept}"
    assert err.value.path == str(path)
    assert (path.read_bytes() if existed else path.exists()) == (before if existed else False)
    assert sorted(p.name for p in tmp_path.iterdir()) == (["metrics.json"] if existed else [])


def test_sweep_removes_dead_writers_temporary_files_in_every_folder(tmp_path):
    import os
    import subprocess

    from lstm_utils.files import sweep_orphans

    dead = subprocess.Popen(["true"])
    dead.wait()
    left = [tmp_path / "models" / f".champion.tmp-{dead.pid}.json",
            tmp_path / "models" / f".base.tmp-{dead.pid}.raw.keras",  # save_keras's own, beside its temporary file
            tmp_path / "state" / "finetune" / f".0a1b.tmp-{dead.pid}.keras"]
    busy = tmp_path / "models" / f".base.tmp-{os.getpid()}.keras"  # this process is writing it
    kept = tmp_path / "models" / ".notes.tmp-draft.txt"  # not a temporary file of ours
    for path in (*left, busy, kept):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("half")
    assert sweep_orphans([tmp_path / "models", tmp_path / "state", tmp_path / "absent"]) == 3
    assert not any(p.exists() for p in left) and busy.exists() and kept.exists()

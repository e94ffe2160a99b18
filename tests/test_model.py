"""The forecaster: an untrained model is exactly its anchor; scaling; a saved model stands alone."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from conftest import make_frame
from lstm_utils.from_scratch import base_scaler
from lstm_utils.baselines import persistence, seasonal_naive
from lstm_utils.config import ModelParams
from lstm_utils.model import (Scaler, build_forecaster, fit_gate, fit_guards, gate_weights, guards, predict, set_gate,
                              set_linear, set_share, share_weights, target_std)
from lstm_utils.splits import TEST, TRAIN, VAL
from lstm_utils.windows import make_windows

LOOKBACK, HORIZON, SEASON = 6, 6, 4


def random_windows(targets=("b",), n: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    values = rng.normal(50.0, 20.0, size=(n, 3))
    frame = make_frame(values, [0] * n, [TRAIN] * n, columns=("a", "b", "c"))
    return make_windows(frame, ("a", "b", "c"), targets, LOOKBACK, HORIZON)


def scaler_for(n_inputs: int = 3) -> Scaler:
    return Scaler(mean=np.array([50.0, 45.0, 55.0][:n_inputs]), std=np.array([20.0, 15.0, 25.0][:n_inputs]))


def forecast(model, x: np.ndarray) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(model(x, training=False)))


@pytest.mark.parametrize("units, dropout", [((4,), 0.0), ((5, 3), 0.2)])
def test_untrained_season_model_is_the_seasonal_naive_forecast(units, dropout):
    w = random_windows(targets=("b", "a"))
    model = build_forecaster(ModelParams(units, dropout, "season", True, True), LOOKBACK, HORIZON, 3, w.target_idx,
                             scaler_for(), season=SEASON)
    x, _ = w.arrays()
    out = forecast(model, x)
    expected = seasonal_naive(w, SEASON)
    assert out.shape == expected.shape == (len(w), HORIZON, 2)
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-4)
    # and it is not persistence (the check can tell the two apart)
    assert np.abs(out - persistence(w)).max() > 1.0


def test_every_forecaster_answers_predict_windows_in_the_same_form():
    """The Keras model, persistence, seasonal naive (and a fitted ridge, as `linear`) are used alike:
    ``predict(windows)`` -> (n, horizon, targets) in the data's units."""
    from lstm_utils.baselines import every_baseline
    from lstm_utils.model import KerasForecaster

    w = random_windows(targets=("b", "a"))
    model = build_forecaster(ModelParams((4,), 0.0, "season", True, True), LOOKBACK, HORIZON, 3, w.target_idx,
                             scaler_for(), season=SEASON)
    np.testing.assert_array_equal(KerasForecaster(model).predict(w), predict(model, w))
    baselines = every_baseline(SEASON)
    assert list(baselines) == ["persistence", "seasonal_naive"]
    np.testing.assert_array_equal(baselines["seasonal_naive"].predict(w), seasonal_naive(w, SEASON))
    np.testing.assert_array_equal(baselines["persistence"].predict(w), persistence(w))
    linear = KerasForecaster(model)  # any forecaster stands in for the ridge here
    assert list(every_baseline(SEASON, linear)) == ["persistence", "seasonal_naive", "linear"]
    assert every_baseline(SEASON, linear)["linear"] is linear


def test_untrained_last_model_is_persistence():
    w = random_windows()
    model = build_forecaster(ModelParams((4,), 0.0, "last", True, True), LOOKBACK, HORIZON, 3, w.target_idx, scaler_for(),
                             season=SEASON)
    x, _ = w.arrays()
    out = forecast(model, x)
    np.testing.assert_allclose(out, persistence(w), rtol=1e-6, atol=1e-4)
    assert np.abs(out - seasonal_naive(w, SEASON)).max() > 1.0


def test_untrained_none_model_forecasts_the_target_mean():
    w = random_windows()
    model = build_forecaster(ModelParams((4,), 0.0, "none", True, True), LOOKBACK, HORIZON, 3, w.target_idx, scaler_for(),
                             season=SEASON)
    x, _ = w.arrays()
    np.testing.assert_allclose(forecast(model, x), np.full((len(w), HORIZON, 1), 45.0), rtol=1e-6)
    np.testing.assert_allclose(target_std(model), [15.0], rtol=1e-6)


def test_season_longer_than_lookback_is_refused():
    with pytest.raises(ValueError, match="lookback"):
        build_forecaster(ModelParams((4,), 0.0, "season", True, True), 3, 2, 3, [1], scaler_for(), season=4)


def test_scaler_comes_from_the_base_train_tail_only():
    rng = np.random.default_rng(1)
    n0, n1 = 20, 10
    split = [TRAIN] * 14 + [VAL] * 3 + [TEST] * 3 + [TRAIN] * 6 + [VAL] * 2 + [TEST] * 2
    values = rng.normal(10.0, 3.0, size=(n0 + n1, 2))
    values[:, 1] = 7.0  # a constant column gets std 1
    values[2, 0] = np.nan  # missing cells are left out of the statistics
    frame = make_frame(values, [0] * n0 + [1] * n1, split)
    scaler = base_scaler(frame, ["a", "b"])
    train = values[:14, 0][~np.isnan(values[:14, 0])]
    np.testing.assert_allclose(scaler.mean, [train.mean(), 7.0], rtol=1e-12)
    np.testing.assert_allclose(scaler.std, [train.std(), 1.0], rtol=1e-12)
    # val and test of the base, and every later batch, do not move it
    changed = frame.copy()
    changed.iloc[14:, :2] = 1e6
    again = base_scaler(changed, ["a", "b"])
    assert np.array_equal(again.mean, scaler.mean) and np.array_equal(again.std, scaler.std)
    # a base training row does
    changed.iloc[0, 0] = 1e6
    assert base_scaler(changed, ["a", "b"]).mean[0] > scaler.mean[0] + 1000


@pytest.mark.parametrize("gate, share, clip", [("none", "none", None), ("fitted", "none", None),
                                               ("none", "fitted", None), ("fitted", "fitted", 0.25)])
def test_saved_model_loads_in_safe_mode_without_the_package(tmp_path, gate, share, clip):
    w = random_windows(targets=("b", "c"))
    model = build_forecaster(ModelParams((4,), 0.1, "season", True, True, gate=gate, share=share, clip=clip),
                             LOOKBACK, HORIZON, 3, w.target_idx, scaler_for(), season=SEASON, seed=3)
    if clip is not None:  # bounds narrower than the windows: the clip is at work in what is compared
        from lstm_utils.model import set_bounds

        frame = make_frame(np.random.default_rng(0).normal(50.0, 5.0, size=(40, 3)), [0] * 40, [TRAIN] * 40,
                           columns=("a", "b", "c"))
        set_bounds(model, frame, ("a", "b", "c"), LOOKBACK, [0], clip)
    if gate == "fitted":  # a built-in layer (a fixed diagonal Dense), saved with its weights
        set_gate(model, [0.25, 0.75])
    if share == "fitted":  # the same, on the LSTM's part
        set_share(model, [0.5, 0.125])
    head = model.get_layer("head")
    kernel, bias = head.get_weights()
    rng = np.random.default_rng(2)
    head.set_weights([rng.normal(0.0, 0.5, kernel.shape).astype("float32"), np.full(bias.shape, 0.1, "float32")])
    x, _ = w.arrays()
    expected = forecast(model, x)
    assert np.abs(expected - seasonal_naive(w, SEASON)).max() > 0.1  # the head now adds a change
    path = tmp_path / "model.keras"
    model.save(path)
    np.save(tmp_path / "x.npy", x)
    script = textwrap.dedent("""
        import sys
        sys.modules["lstm_utils"] = None  # importing the package now fails
        import keras
        import numpy as np
        model = keras.saving.load_model(sys.argv[1], safe_mode=True)
        out = keras.ops.convert_to_numpy(model(np.load(sys.argv[2]), training=False))
        np.save(sys.argv[3], out)
        print("modules:", sorted(m for m in sys.modules if m.startswith("lstm_utils")))
    """)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("PYTHONPATH", None)
    done = subprocess.run([sys.executable, "-c", script, str(path), str(tmp_path / "x.npy"),
                           str(tmp_path / "out.npy")], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "modules: ['lstm_utils']" in done.stdout  # only the blocking placeholder, nothing imported
    loaded = np.load(tmp_path / "out.npy")
    assert loaded.shape == (len(w), HORIZON, 2)
    np.testing.assert_allclose(loaded, expected, rtol=1e-5, atol=1e-4)


def window_params(residual: str = "season", relative: bool = True, units=(4,)) -> ModelParams:
    return ModelParams(units, 0.0, residual, relative, True, scaling="window")


def with_random_head(model, seed: int = 2):
    head = model.get_layer("head")
    kernel, bias = head.get_weights()
    rng = np.random.default_rng(seed)
    head.set_weights([rng.normal(0.0, 0.5, kernel.shape).astype("float32"), np.full(bias.shape, 0.1, "float32")])
    return model


@pytest.mark.parametrize("residual, relative", [("season", True), ("last", True), ("season", False)])
def test_a_window_scaled_model_forecasts_in_each_series_units(residual, relative):
    """Scaling a window by 1000 (a series 1000 times larger) scales its forecast by 1000, and
    shifting it shifts the forecast: the model is free of each series' level and scale."""
    w = random_windows(targets=("b", "a"))
    model = with_random_head(build_forecaster(window_params(residual, relative), LOOKBACK, HORIZON, 3, w.target_idx,
                                              scaler_for(), season=SEASON))
    x, _ = w.arrays()
    out = forecast(model, x)
    anchor = seasonal_naive(w, SEASON) if residual == "season" else persistence(w)
    assert np.abs(out - anchor).max() > 0.5  # the head adds a change
    np.testing.assert_allclose(forecast(model, 1000.0 * x), 1000.0 * out, rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(forecast(model, 0.001 * x), 0.001 * out, rtol=1e-4, atol=1e-6)
    if relative:  # each input minus its last value: a level shift passes straight through
        np.testing.assert_allclose(forecast(model, x + 500.0), out + 500.0, rtol=1e-5, atol=1e-2)
    # the global model is not scale-free: its statistics are the base period's
    plain = with_random_head(build_forecaster(ModelParams((4,), 0.0, residual, relative, True), LOOKBACK, HORIZON, 3,
                                              w.target_idx, scaler_for(), season=SEASON))
    assert np.abs(forecast(plain, 1000.0 * x) - 1000.0 * forecast(plain, x)).max() > 1.0


def test_a_flat_window_gives_the_anchor_not_a_blow_up():
    w = random_windows()
    model = with_random_head(build_forecaster(window_params(), LOOKBACK, HORIZON, 3, w.target_idx, scaler_for(),
                                              season=SEASON))
    flat = np.full((2, LOOKBACK, 3), 7.0, dtype=np.float32)
    out = forecast(model, flat)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, 7.0, atol=1e-4)  # the change is scaled by a spread of 1e-6


def test_window_scaling_needs_an_anchor():
    w = random_windows()
    with pytest.raises(ValueError, match="model.residual"):
        build_forecaster(window_params("none"), LOOKBACK, HORIZON, 3, w.target_idx, scaler_for(), season=SEASON)


def test_a_window_scaled_model_loads_in_safe_mode_once_the_package_starts_keras(tmp_path):
    """Its two layers of ours are registered when the package imports Keras (lstm_utils._keras,
    which every module that builds or loads a model imports); importing the package alone starts
    no Keras."""
    w = random_windows(targets=("b", "c"))
    model = with_random_head(build_forecaster(window_params(), LOOKBACK, HORIZON, 3, w.target_idx, scaler_for(),
                                              season=SEASON, seed=3))
    x, _ = w.arrays()
    expected = forecast(model, x)
    path = tmp_path / "model.keras"
    model.save(path)
    np.save(tmp_path / "x.npy", x)
    script = textwrap.dedent("""
        import sys
        import lstm_utils
        assert "keras" not in sys.modules  # importing the package does not start Keras
        from lstm_utils._keras import keras
        import numpy as np
        model = keras.saving.load_model(sys.argv[1], safe_mode=True)
        np.save(sys.argv[3], keras.ops.convert_to_numpy(model(np.load(sys.argv[2]), training=False)))
    """)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-c", script, str(path), str(tmp_path / "x.npy"), str(tmp_path / "out.npy")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, rtol=1e-5, atol=1e-4)
    # without the package, Keras names the layer it does not know
    script = textwrap.dedent("""
        import sys
        sys.modules["lstm_utils"] = None
        import keras
        keras.saving.load_model(sys.argv[1], safe_mode=True)
    """)
    env.pop("PYTHONPATH", None)
    done = subprocess.run([sys.executable, "-c", script, str(path)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0 and "WindowSpread" in done.stderr


def gated_model(targets=("b", "a"), **kwargs):
    w = random_windows(targets=targets, **kwargs)
    return w, build_forecaster(ModelParams((4,), 0.0, "season", True, True, gate="fitted"), LOOKBACK, HORIZON, 3,
                               w.target_idx, scaler_for(), season=SEASON, seed=1)


def test_a_gate_weighs_the_learned_change_per_target():
    """anchor + g * change, g per target: 0 is seasonal naive, 1 the change as learned."""
    w, model = gated_model()
    with_random_head(model)
    np.testing.assert_allclose(gate_weights(model), [1.0, 1.0])  # a new gate lets the change through
    x, _ = w.arrays()
    full, naive = forecast(model, x), seasonal_naive(w, SEASON)
    assert np.abs(full - naive).max() > 0.5
    set_gate(model, [0.0, 0.3])
    np.testing.assert_allclose(gate_weights(model), [0.0, 0.3], rtol=1e-6)
    out = forecast(model, x)
    np.testing.assert_allclose(out[..., 0], naive[..., 0], rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(out[..., 1], naive[..., 1] + 0.3 * (full[..., 1] - naive[..., 1]), rtol=1e-5, atol=1e-4)
    # the gate is not trained by gradient steps
    assert [v.name for v in model.get_layer("gate").trainable_variables] == []


def test_a_gate_needs_an_anchor():
    w = random_windows()
    with pytest.raises(ValueError, match="model.gate"):
        build_forecaster(ModelParams((4,), 0.0, "none", True, True, gate="fitted"), LOOKBACK, HORIZON, 3,
                         w.target_idx, scaler_for(), season=SEASON)


def test_training_opens_the_gate_and_fit_gate_finds_the_best_weight():
    """A closed gate does not stop training (the change is learned as itself); afterwards the
    fitted weight of each target beats every other weight in [0, 1] on the windows it is fitted on."""
    from lstm_utils.train import fit

    w, model = gated_model(n=120, seed=4)
    set_gate(model, [0.0, 0.0])
    fit(model, w, w.subset(slice(0, 0)), epochs=2, batch_size=16, learning_rate=0.05, patience=1, seed=0, verbose=0)
    assert np.abs(model.get_layer("head").get_weights()[0]).max() > 1e-3  # gradients reached the head
    np.testing.assert_allclose(gate_weights(model), [1.0, 1.0])  # left open for the caller to fit
    weights = np.asarray(fit_gate(model, w))
    assert ((0.0 <= weights) & (weights <= 1.0)).all()
    _, y = w.arrays()

    def sse(g: float) -> np.ndarray:
        set_gate(model, [g, g])
        return ((predict(model, w) - y) ** 2).sum(axis=(0, 1))

    grid = np.array([sse(g) for g in np.linspace(0.0, 1.0, 21)])
    set_gate(model, weights)
    best = ((predict(model, w) - y) ** 2).sum(axis=(0, 1))
    assert (best <= grid.min(axis=0) * (1 + 1e-5)).all()
    assert (best < grid.max(axis=0)).all()  # the weight matters here


def test_a_change_of_zero_keeps_the_gate_and_no_windows_too():
    w, model = gated_model()
    set_gate(model, [0.4, 0.6])  # head and linear path are zeros: the model learned no change
    assert fit_gate(model, w) == pytest.approx([0.4, 0.6])
    with_random_head(model)
    assert fit_gate(model, w.subset(slice(0, 0))) == pytest.approx([0.4, 0.6])
    plain = build_forecaster(ModelParams((4,), 0.0, "season", True, True), LOOKBACK, HORIZON, 3, w.target_idx,
                             scaler_for(), season=SEASON)
    assert fit_gate(plain, w) is None


# --- the share (model.share: fitted): anchor + linear + w * LSTM -------------------------------

def shared_model(gate: str = "none", **kwargs):
    """A model with a share, a random linear path and a random LSTM head: the three parts differ."""
    w = random_windows(targets=("b", "a"), **kwargs)
    model = build_forecaster(ModelParams((4,), 0.0, "season", True, True, gate=gate, share="fitted"), LOOKBACK,
                             HORIZON, 3, w.target_idx, scaler_for(), season=SEASON, seed=1)
    rng = np.random.default_rng(7)
    kernel, bias = model.get_layer("linear").get_weights()
    set_linear(model, rng.normal(0.0, 0.05, kernel.shape), rng.normal(0.0, 0.1, bias.shape))
    return w, with_random_head(model)


def test_a_share_weighs_the_lstms_part_alone_and_at_zero_the_model_is_its_ridge():
    """anchor + linear + w * LSTM, w per target: w = 0 is anchor plus ridge to the bits, the
    LSTM's part scales with w, and the share is not trained by gradient steps."""
    w, model = shared_model()
    x, _ = w.arrays()
    np.testing.assert_allclose(share_weights(model), [1.0, 1.0])  # a new share lets the LSTM through
    full = forecast(model, x)
    head = model.get_layer("head")
    trained = head.get_weights()
    head.set_weights([np.zeros_like(v) for v in trained])
    ridge = forecast(model, x)  # the same model without its LSTM's part: anchor + linear path
    head.set_weights(trained)
    assert np.abs(full - ridge).max() > 0.5 and np.abs(ridge - seasonal_naive(w, SEASON)).max() > 0.1
    set_share(model, [0.0, 0.0])
    np.testing.assert_array_equal(forecast(model, x), ridge)
    set_share(model, [0.0, 0.3])
    out = forecast(model, x)
    np.testing.assert_array_equal(out[..., 0], ridge[..., 0])
    np.testing.assert_allclose(out[..., 1], ridge[..., 1] + 0.3 * (full[..., 1] - ridge[..., 1]), rtol=1e-5,
                               atol=1e-4)
    assert model.get_layer("share").trainable_variables == []
    assert guards(model) == {"share": pytest.approx([0.0, 0.3])}


@pytest.mark.parametrize("gate", ["none", "fitted"])
def test_training_opens_the_share_and_the_fitted_share_beats_every_weight_on_a_grid(gate):
    """Training learns the LSTM's part as itself (share 1); afterwards each target's fitted weight
    beats every weight in [0, 1] on the windows it is fitted on, so there the model is never worse
    than its ridge part (w = 0); with a gate too, the gate is fitted after it."""
    from lstm_utils.train import fit

    w, model = shared_model(gate=gate, n=120, seed=4)
    set_share(model, [0.0, 0.0])
    fit(model, w, w.subset(slice(0, 0)), epochs=2, batch_size=16, learning_rate=0.05, patience=1, seed=0, verbose=0)
    np.testing.assert_allclose(share_weights(model), [1.0, 1.0])  # left open for the caller to fit
    fitted = fit_guards(model, w)
    assert set(fitted) == ({"share", "gate"} if gate == "fitted" else {"share"})
    weights = np.asarray(fitted["share"])
    assert ((0.0 <= weights) & (weights <= 1.0)).all()
    _, y = w.arrays()
    if gate == "fitted":
        set_gate(model, [1.0, 1.0])  # the share is fitted with the gate open

    def sse(share) -> np.ndarray:
        set_share(model, share)
        return ((predict(model, w).astype(np.float64) - y) ** 2).sum(axis=(0, 1))

    grid = np.array([sse([g, g]) for g in np.linspace(0.0, 1.0, 21)])
    best = sse(weights)
    assert (best <= grid.min(axis=0) * (1 + 1e-5)).all()
    assert (best <= grid[0] * (1 + 1e-6)).all()  # never worse than the ridge part
    assert (best < grid.max(axis=0)).all()  # the weight matters here
    if gate == "fitted":  # then the gate, fitted with this share, beats every gate on the grid too
        set_gate(model, fitted["gate"])
        at = ((predict(model, w).astype(np.float64) - y) ** 2).sum(axis=(0, 1))
        for g in np.linspace(0.0, 1.0, 11):
            set_gate(model, [g, g])
            assert (at <= ((predict(model, w).astype(np.float64) - y) ** 2).sum(axis=(0, 1)) * (1 + 1e-5)).all()

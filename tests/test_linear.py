"""The linear part: the closed-form ridge fit, its sums, the design it shares with the model,
the `linear` baseline, and the model that starts from it."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_utils.config import parse_params
from lstm_utils.ingest import ingest
from lstm_utils.baselines import linear_chain
from lstm_utils.linear import BatchSums, Design, Ridge, Sums, fit
from lstm_utils.metrics import errors, mean_over_targets
from lstm_utils.splits import assign_splits
from lstm_utils.windows import split_windows, tail_windows
from tiny_project import tiny_params, write_part


def numpy_ridge(x: np.ndarray, y: np.ndarray, penalty: float) -> tuple[np.ndarray, np.ndarray]:
    """Ridge with a free intercept, by least squares on rows augmented with sqrt(penalty) * I."""
    n, d = x.shape
    a = np.vstack([np.hstack([x, np.ones((n, 1))]), np.hstack([np.sqrt(penalty) * np.eye(d), np.zeros((d, 1))])])
    b = np.vstack([y, np.zeros((d, y.shape[1]))])
    coef = np.linalg.lstsq(a, b, rcond=None)[0]
    return coef[:d], coef[d]


def sums_of(x: np.ndarray, y: np.ndarray) -> Sums:
    return Sums(len(x), x.sum(0), y.sum(0), x.T @ x, x.T @ y, float((y * y).sum()))


@pytest.mark.parametrize("penalty", [0.0, 0.5, 10.0, 1000.0])
def test_the_closed_form_fit_equals_a_numpy_ridge_fit(penalty):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 6)) + 3.0  # off-centre, so the intercept matters
    y = x @ rng.normal(size=(6, 4)) + 2.0 + rng.normal(scale=0.3, size=(80, 4))
    ridge = Ridge.solve(sums_of(x, y), penalty)
    w, b = numpy_ridge(x, y, penalty)
    np.testing.assert_allclose(ridge.w, w, atol=1e-8)
    np.testing.assert_allclose(ridge.b, b, atol=1e-8)


def test_sums_add_up_and_give_the_squared_error_without_the_rows():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(50, 5)), rng.normal(size=(50, 3))
    half = sums_of(x[:20], y[:20]) + sums_of(x[20:], y[20:])
    whole = sums_of(x, y)
    for a, b in zip((half.n, half.sx, half.sy, half.xx, half.xy, half.yy),
                    (whole.n, whole.sx, whole.sy, whole.xx, whole.xy, whole.yy)):
        np.testing.assert_allclose(a, b)
    ridge = Ridge.solve(sums_of(x[:30], y[:30]), 2.0)
    direct = float(((y[30:] - x[30:] @ ridge.w - ridge.b) ** 2).sum())
    assert ridge.sse(sums_of(x[30:], y[30:])) == pytest.approx(direct, rel=1e-9)


def test_the_penalty_is_the_one_with_the_lowest_validation_error():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(60, 30))  # many noise features, few rows: shrinking them helps
    y = x[:, :1] + rng.normal(scale=1.0, size=(60, 1))
    xv = rng.normal(size=(200, 30))
    yv = xv[:, :1] + rng.normal(scale=1.0, size=(200, 1))
    penalties = [0.01, 1.0, 10.0, 100.0, 10000.0]
    chosen = fit(sums_of(x, y), sums_of(xv, yv), penalties)
    errs = {p: Ridge.solve(sums_of(x, y), p).sse(sums_of(xv, yv)) for p in penalties}
    assert chosen.penalty == min(errs, key=errs.get) not in (0.01, 10000.0)
    assert fit(sums_of(x, y), Sums.zero(30, 1), penalties).penalty == 10000.0  # nothing to choose on


# --- on the sample: the design the model shares ----------------------------------------------

@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """Four slices of the sample (a 2-slice base period, then batches 1 and 2), tiny params."""
    folder = tmp_path_factory.mktemp("linear")
    for part in range(4):
        write_part(folder, part)
    params = parse_params(tiny_params())
    frame = assign_splits(ingest(folder, params.data, params.split.base_batches), params.split)
    return frame, params


def test_the_design_takes_a_window_apart_and_puts_the_forecast_back(sample):
    frame, params = sample
    design = Design.of(frame, params)
    x, y = split_windows(frame, params, "train", [0]).arrays()
    z = design.targets(x, y)
    assert z.shape == (len(x), params.window.horizon * len(params.data.targets))
    np.testing.assert_allclose(design.forecast(x, z), y, atol=1e-4)
    inputs = design.inputs(x)
    assert inputs.shape == (len(x), params.window.lookback * len(params.data.inputs))
    np.testing.assert_allclose(inputs.reshape(x.shape)[:, -1, :], 0.0)  # relative to the last value
    from lstm_utils.baselines import seasonal_naive

    np.testing.assert_allclose(design.anchor(x), seasonal_naive(split_windows(frame, params, "train", [0]), 24))


def test_batch_sums_are_the_sums_of_all_their_windows(sample):
    frame, params = sample
    sums = BatchSums(frame, params)
    together = Sums.of(sums.design, split_windows(frame, params, "train", [0, 1, 2]))
    apart = sums.of("train", [0, 1, 2])
    assert apart.n == together.n
    np.testing.assert_allclose(apart.xx, together.xx, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(apart.xy, together.xy, rtol=1e-10, atol=1e-8)


def test_the_linear_baseline_record_is_a_refit_per_step_scored_on_every_batch(sample):
    from lstm_utils.windows import deployed_windows

    frame, params = sample
    record = linear_chain(frame, params)
    assert record["rmse"].shape == (3, 3) and len(record["deployed"]) == 2
    tests = tail_windows(frame, params, 3)
    design = Design.of(frame, params)
    for t in range(3):  # a direct computation: numpy ridge on the batches' windows, penalty as chosen
        train = split_windows(frame, params, "train", list(range(t + 1)))
        x, y = train.arrays()
        w, b = numpy_ridge(design.inputs(x), design.targets(x, y), record["penalties"][t])
        for k in range(3):
            xt, yt = tests[k].arrays()
            forecast = design.forecast(xt, design.inputs(xt) @ w + b)
            assert record["rmse"][t, k] == pytest.approx(mean_over_targets(errors(yt, forecast, ["temp"])["rmse"]), abs=1e-6)
        if t < 2:  # deployed on the next batch: every window of it, forecast by the ridge fitted so far
            xd, yd = deployed_windows(frame, params, t + 1).arrays()
            sq = ((design.forecast(xd, design.inputs(xd) @ w + b) - yd) ** 2).mean(axis=(1, 2))
            np.testing.assert_allclose(record["deployed"][t].sq, sq, rtol=1e-6)


@pytest.mark.parametrize("residual, relative, scaling", [
    ("season", True, "global"), ("last", True, "global"), ("none", True, "global"), ("season", False, "global"),
    ("season", True, "window"), ("last", False, "window")])
def test_a_model_whose_lstm_output_is_zero_forecasts_exactly_the_ridge_forecast(sample, residual, relative, scaling):
    from lstm_utils.from_scratch import new_forecaster
    from lstm_utils.model import predict, set_linear

    frame, params = sample
    params = params.replace("model", residual=residual, relative_inputs=relative, scaling=scaling)
    sums = BatchSums(frame, params)
    ridge = sums.fit([0, 1])
    model = new_forecaster(frame, params)  # its LSTM's output layer starts at zero
    set_linear(model, ridge.w, ridge.b)
    test = split_windows(frame, params, "test", [2])
    got, want = predict(model, test), ridge.predict(test)
    assert np.abs(want - test.arrays()[1]).mean() > 0.5  # a real forecast, not the truth
    np.testing.assert_allclose(got, want, atol=2e-3)  # float32 in the model, float64 here
    # the design read back from the model's layers (as `evaluate` does) is the same
    sidecar = {"params": params.raw, "inputs": list(params.data.inputs), "targets": list(params.data.targets),
               "window": params.section("window")}
    read_back = Ridge(ridge.w, ridge.b, ridge.penalty, Design.from_model(model, sidecar))
    np.testing.assert_allclose(read_back.predict(test), want, atol=1e-4)


@pytest.mark.slow
def test_training_starts_from_the_ridge_fit_and_never_moves_the_linear_path(sample):
    from lstm_utils.from_scratch import train_new
    from lstm_utils.model import LINEAR

    frame, params = sample
    run = train_new(frame, params, [0, 1], verbose=0)
    ridge = BatchSums(frame, params).fit([0, 1])
    w, b = run.model.get_layer(LINEAR).get_weights()
    np.testing.assert_array_equal(w, ridge.w.astype(np.float32))
    np.testing.assert_array_equal(b, ridge.b.astype(np.float32))
    assert run.model.get_layer(LINEAR).trainable  # frozen for the fit only: the saved model is plain


@pytest.mark.slow
def test_a_fit_that_makes_the_model_worse_keeps_the_weights_it_started_from(sample):
    from lstm_utils.from_scratch import new_forecaster
    from lstm_utils.model import LINEAR, predict, set_linear
    from lstm_utils.train import fit

    frame, params = sample
    model = new_forecaster(frame, params)
    ridge = BatchSums(frame, params).fit([0])
    set_linear(model, ridge.w, ridge.b)
    start = model.get_weights()
    val = split_windows(frame, params, "val", [0])
    result = fit(model, split_windows(frame, params, "train", [0]), val, epochs=3, batch_size=32,
                 learning_rate=5.0, patience=1, seed=0, verbose=0, frozen=(LINEAR,))  # a step far too large
    assert result.best_epoch == 0 and min(result.history["val_loss"]) > result.start_loss > 0
    for got, was in zip(model.get_weights(), start):
        np.testing.assert_array_equal(got, was)
    np.testing.assert_allclose(predict(model, val), ridge.predict(val), atol=2e-3)

"""The linear part: the closed-form ridge fit in each design of the family, its sums, the view it
shares with the model, the `linear` baseline, and the model that starts from it."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from lstm_utils.baselines import linear_chain
from lstm_utils.linear import DESIGNS, BatchSums, Ridge, Sums, View, fit
from lstm_utils.metrics import errors, mean_over_targets
from lstm_utils.windows import deployed_windows, split_windows, tail_windows
from tiny_project import tiny_sample


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
    return tiny_sample(tmp_path_factory.mktemp("linear"))


def test_the_view_takes_a_window_apart_and_puts_the_forecast_back(sample):
    frame, params = sample
    view = View.of(frame, params)
    x, y = split_windows(frame, params, "train", [0]).arrays()
    z = view.targets(x, y)
    assert z.shape == (len(x), params.window.horizon * len(params.data.targets))
    np.testing.assert_allclose(view.forecast(x, z), y, atol=1e-4)
    inputs = view.inputs(x)
    width = params.window.lookback * len(params.data.inputs)
    assert inputs.shape == (len(x), 2 * width) and view.designs == DESIGNS
    relative, absolute = inputs[:, view.columns("relative")], inputs[:, view.columns("absolute")]
    np.testing.assert_allclose(relative.reshape(x.shape)[:, -1, :], 0.0)  # relative to the last value
    np.testing.assert_allclose(absolute.reshape(x.shape), (x - view.mean) / view.std)  # standardized levels
    np.testing.assert_array_equal(inputs[:, view.columns("both")], inputs)
    from lstm_utils.baselines import seasonal_naive

    np.testing.assert_allclose(view.anchor(x), seasonal_naive(split_windows(frame, params, "train", [0]), 24))
    window = View.of(frame, params.replace("model", scaling="window"))  # levels differ by series: relative only
    assert window.designs == ("relative",) and window.inputs(x).shape == (len(x), width)
    with pytest.raises(ValueError, match="only relative"):
        window.columns("absolute")


@pytest.mark.parametrize("design", DESIGNS)
def test_each_designs_closed_form_equals_a_numpy_ridge_on_its_columns(sample, design):
    frame, params = sample
    view = View.of(frame, params)
    windows = split_windows(frame, params, "train", [0, 1])
    x, y = windows.arrays()
    inputs, targets = view.inputs(x), view.targets(x, y)
    ridge = Ridge.solve(Sums.of(view, windows), 10.0, view, design)
    columns = view.columns(design)
    w, b = numpy_ridge(inputs[:, columns], targets, 10.0)
    assert ridge.design == design and ridge.w.shape == (2 * len(columns) if design != "both" else len(columns), w.shape[1])
    np.testing.assert_allclose(ridge.w[columns], w, atol=1e-6)
    np.testing.assert_allclose(ridge.b, b, atol=1e-6)
    np.testing.assert_array_equal(np.delete(ridge.w, columns, axis=0), 0.0)  # the other block stays out
    np.testing.assert_allclose(ridge.predict(windows).reshape(len(x), -1),
                               view.forecast(x, inputs[:, columns] @ w + b).reshape(len(x), -1), atol=1e-6)


@pytest.mark.parametrize("design", DESIGNS)
def test_batch_sums_are_the_sums_of_all_their_windows_in_each_design(sample, design):
    frame, params = sample
    sums = BatchSums(frame, params)
    columns = sums.view.columns(design)
    for split, windows in (("train", split_windows(frame, params, "train", [0, 1, 2])),
                           ("all", deployed_windows(frame, params, 0).concat(deployed_windows(frame, params, 1))
                            .concat(deployed_windows(frame, params, 2)))):
        together = Sums.of(sums.view, windows).take(columns)
        apart = sums.of(split, [0, 1, 2]).take(columns)
        assert apart.n == together.n == len(windows)
        np.testing.assert_allclose(apart.xx, together.xx, rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(apart.xy, together.xy, rtol=1e-10, atol=1e-8)
        incremental = Ridge.solve(sums.of(split, [0, 1]) + sums.of(split, [2]), 10.0, sums.view, design)
        scratch = Ridge.solve(Sums.of(sums.view, windows), 10.0, sums.view, design)
        np.testing.assert_allclose(incremental.w, scratch.w, atol=1e-8)
        np.testing.assert_allclose(incremental.b, scratch.b, atol=1e-8)


def test_the_design_and_penalty_are_the_pair_with_the_lowest_validation_error():
    rng = np.random.default_rng(3)
    view = View(lookback=4, horizon=1, mean=np.zeros(1), std=np.ones(1), target_idx=np.array([0]),
                relative=True, residual="none", season=1)

    def sums(n: int, level_matters: bool) -> Sums:
        level = rng.normal(size=(n, 1, 1)) * 5
        x = level + rng.normal(size=(n, 4, 1))
        y = (x[:, :, 0].mean(axis=1) if level_matters else x[:, -1, 0] - x[:, 0, 0]) + rng.normal(scale=0.1, size=n)
        a, b = view.inputs(x), view.targets(x, y.reshape(n, 1, 1))
        return sums_of(a, b)

    penalties = [0.01, 1.0, 100.0]
    for level_matters in (True, False):
        train, val = sums(200, level_matters), sums(100, level_matters)
        chosen = fit(train, val, penalties, view)
        errs = {(d, p): Ridge.solve(train, p, view, d).sse(val) for d in DESIGNS for p in penalties}
        assert (chosen.design, chosen.penalty) == min(errs, key=errs.get)
        if level_matters:  # a level the window's changes cannot tell is seen by the absolute block only
            assert chosen.design != "relative" and errs["relative", 1.0] > 2 * errs[chosen.design, chosen.penalty]
        assert fit(train, val, penalties, view, ["relative"]).design == "relative"  # a family of one
    assert fit(train, Sums.zero(8, 1), penalties, view).penalty == 100.0  # nothing to choose on: the largest


@pytest.mark.parametrize("learns", ["all", "train"])
def test_the_linear_baseline_record_is_a_refit_per_step_scored_on_every_batch(sample, learns):
    frame, params = sample
    params = params.replace("baselines", linear_learns=learns)
    record = linear_chain(frame, params)
    assert record["rmse"].shape == (3, 3) and len(record["deployed"]) == 2
    assert set(record["designs"]) <= set(DESIGNS) and len(record["designs"]) == 3
    tests = tail_windows(frame, params, 3)
    view = View.of(frame, params)
    for t in range(3):  # a direct computation: numpy ridge on the batches' windows, design and penalty as chosen
        if learns == "all":  # every window whose targets lie in batches 0..t, but the calibrating val tail
            learned = [deployed_windows(frame, params, k) for k in range(t + 1)]
            calibrating = set(split_windows(frame, params, "val", [t]).target_times())
            keep = ~learned[t].target_times().isin(calibrating)
            assert 0 < (~keep).sum() < len(keep)
            learned[t] = learned[t].subset(np.flatnonzero(keep))
            learned = functools.reduce(lambda a, b: a.concat(b), learned)
        else:
            learned = split_windows(frame, params, "train", list(range(t + 1)))
        x, y = learned.arrays()
        columns = view.columns(record["designs"][t])
        w, b = numpy_ridge(view.inputs(x)[:, columns], view.targets(x, y), record["penalties"][t])
        for k in range(3):
            xt, yt = tests[k].arrays()
            forecast = view.forecast(xt, view.inputs(xt)[:, columns] @ w + b)
            assert record["rmse"][t, k] == pytest.approx(mean_over_targets(errors(yt, forecast, ["temp"])["rmse"]), abs=1e-6)
        if t < 2:  # deployed on the next batch: every window of it, forecast by the ridge fitted so far
            xd, yd = deployed_windows(frame, params, t + 1).arrays()
            sq = ((view.forecast(xd, view.inputs(xd)[:, columns] @ w + b) - yd) ** 2).mean(axis=(1, 2))
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
    read_back = Ridge(ridge.w, ridge.b, ridge.penalty, View.from_model(model, sidecar), ridge.design)
    np.testing.assert_allclose(read_back.predict(test), want, atol=1e-4)


@pytest.mark.parametrize("scaling", ["global", "window"])
def test_a_model_whose_share_is_zero_forecasts_the_ridge_whatever_its_lstm_learned(sample, scaling):
    """`model.share: fitted` at w = 0: the LSTM's part is out, whatever its weights."""
    from lstm_utils.from_scratch import new_forecaster
    from lstm_utils.model import predict, set_linear, set_share

    frame, params = sample
    params = params.replace("model", share="fitted", scaling=scaling)
    ridge = BatchSums(frame, params).fit([0, 1])
    model = new_forecaster(frame, params)
    set_linear(model, ridge.w, ridge.b)
    head = model.get_layer("head")
    rng = np.random.default_rng(3)
    head.set_weights([rng.normal(0.0, 0.3, v.shape).astype(np.float32) for v in head.get_weights()])
    test = split_windows(frame, params, "test", [2])
    want = ridge.predict(test)
    assert np.abs(predict(model, test) - want).mean() > 0.5  # the LSTM's part is there at w = 1
    set_share(model, np.zeros(len(params.data.targets)))
    np.testing.assert_allclose(predict(model, test), want, atol=2e-3)  # float32 in the model, float64 here


@pytest.mark.parametrize("design", DESIGNS)
def test_a_saved_model_with_each_design_loads_in_safe_mode_and_forecasts_the_same(sample, tmp_path, design):
    import keras

    from lstm_utils.from_scratch import new_forecaster
    from lstm_utils.model import predict, set_linear

    frame, params = sample
    sums = BatchSums(frame, params.replace("baselines", linear_designs=(design,)))
    ridge = sums.fit([0, 1])
    assert ridge.design == design
    model = new_forecaster(frame, params)
    set_linear(model, ridge.w, ridge.b)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    test = split_windows(frame, params, "test", [2])
    got = predict(loaded, test)
    np.testing.assert_array_equal(got, predict(model, test))
    np.testing.assert_allclose(got, ridge.predict(test), atol=2e-3)


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


def test_a_model_trains_beside_the_training_windows_fit_and_keeps_the_fit_on_every_window(sample):
    """The validation tail that stops training stays out of sample for the linear part while the
    LSTM trains; the model then keeps the same design and penalty fitted on every window."""
    from lstm_utils.from_scratch import beside_linear, new_forecaster
    from lstm_utils.model import LINEAR

    frame, params = sample
    sums = BatchSums(frame, params)
    during, kept = sums.fit([0, 1], "train"), sums.fit([0, 1])
    assert (kept.design, kept.penalty) == (during.design, during.penalty)
    assert sums.of("all", [0, 1]).n > sums.of("train", [0, 1]).n + sums.of("val", [0, 1]).n
    assert np.abs(kept.w - during.w).max() > 1e-3  # the tails moved the fit
    model = new_forecaster(frame, params)
    with beside_linear(model, sums, [0, 1]) as frozen:
        assert frozen == (LINEAR,)
        np.testing.assert_array_equal(model.get_layer(LINEAR).get_weights()[0], during.w.astype(np.float32))
    np.testing.assert_array_equal(model.get_layer(LINEAR).get_weights()[0], kept.w.astype(np.float32))
    train_only = BatchSums(frame, params.replace("baselines", linear_learns="train"))
    assert np.array_equal(train_only.fit([0, 1]).w, during.w)  # `train`: nothing to swap


# --- inputs known ahead: never relative -------------------------------------------------------

@pytest.fixture(scope="module")
def with_calendar(tmp_path_factory):
    """The four slices with `data.calendar: [hour, weekday]` and bounds on (`model.clip`)."""
    return tiny_sample(tmp_path_factory.mktemp("calendar"), overrides={"data": {"calendar": ["hour", "weekday"]}})


@pytest.mark.parametrize("scaling", ["global", "window"])
def test_calendar_inputs_reach_the_lstm_and_the_ridge_as_they_are(with_calendar, scaling):
    """`model.relative_inputs` makes the measured inputs relative to the window's last value; the
    calendar (known ahead) reaches the LSTM and the linear path unchanged: standardized, so the
    model sees where in the day and week the forecast starts."""
    from lstm_utils._keras import keras
    from lstm_utils.calendar import known_ahead
    from lstm_utils.from_scratch import new_forecaster
    from lstm_utils.model import predict, set_bounds, set_linear

    frame, params = with_calendar
    params = params.replace("model", scaling=scaling, relative_inputs=True, clip=0.25)
    known = known_ahead(params.data.inputs)
    assert known.sum() == 4 and not known[: len(params.data.columns)].any()
    x, _ = split_windows(frame, params, "test", [2]).arrays()
    view = View.of(frame, params)
    model = new_forecaster(frame, params)
    set_bounds(model, frame, params.data.inputs, params.window.lookback, [0, 1, 2], 0.25)
    seen = keras.Model(model.input, model.get_layer("clip_lstm" if scaling == "global" else "scale_inputs").output)
    lstm_sees = np.asarray(seen.predict(x, verbose=0), dtype=np.float64)
    if scaling == "global":
        want = np.where(known, (x - view.mean) / view.std, (x - x[:, -1:, :]) / view.std)
        linear_sees = view.inputs(x)[:, view.columns("relative")].reshape(x.shape)
    else:  # each window by its own spread: the calendar as it is (one scale for every series)
        from lstm_utils.windows import spread

        want = np.where(known, x, (x - x[:, -1:, :]) / spread(x))
        linear_sees = view.inputs(x).reshape(x.shape)
    np.testing.assert_allclose(lstm_sees, want, atol=1e-4)
    np.testing.assert_allclose(linear_sees, want, atol=1e-9)
    # the calendar in the last row is where the horizon ends, not 0 (as a relative input would be)
    assert np.abs(lstm_sees[:, -1, known]).mean() > 0.3
    # the model's linear path sees what the ridge sees: its forecast is the ridge's
    ridge = BatchSums(frame, params).fit([0, 1])
    set_linear(model, ridge.w, ridge.b)
    test = split_windows(frame, params, "test", [2])
    np.testing.assert_allclose(predict(model, test), ridge.predict(test), atol=2e-3)


def test_the_bounds_of_calendar_inputs_are_their_levels_in_every_view(with_calendar):
    from lstm_utils import bounds
    from lstm_utils.calendar import known_ahead
    from lstm_utils.from_scratch import new_forecaster
    from lstm_utils.model import set_bounds

    frame, params = with_calendar
    params = params.replace("model", clip=0.0)
    known = known_ahead(params.data.inputs)
    model = new_forecaster(frame, params)
    set_bounds(model, frame, params.data.inputs, params.window.lookback, [0, 1], 0.0)
    view = View.of(frame, params)
    rows = frame["batch"].isin([0, 1])
    levels = (frame.loc[rows, list(params.data.inputs)].to_numpy() - view.mean) / view.std
    for clip in (bounds.CLIP_LSTM, bounds.CLIP_RELATIVE, bounds.CLIP_LEVELS):
        lo, hi = bounds.get_clip(model, clip)
        np.testing.assert_allclose(lo[known], levels.min(0)[known], atol=1e-5)
        np.testing.assert_allclose(hi[known], levels.max(0)[known], atol=1e-5)
    lo, hi = bounds.get_clip(model, bounds.CLIP_LSTM)
    assert (lo[~known] < 0).all() and (hi[~known] > 0).all()  # the measured ones: changes around 0

"""Inputs bounded inside the model (`model.clip`, lstm_utils/bounds.py): bit for bit the unclipped
model inside the range it was fitted on, bounded outside it, the bounds the data's own range."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from conftest import make_frame
from lstm_utils import bounds
from lstm_utils.config import ModelParams
from lstm_utils.model import Scaler, build_forecaster, set_bounds, set_linear
from lstm_utils.splits import TRAIN
from lstm_utils.windows import make_windows

LOOKBACK, HORIZON, SEASON = 8, 4, 4
COLUMNS = ("a", "b", "c")


def frame_of(n: int = 120, seed: int = 0):
    rng = np.random.default_rng(seed)
    values = np.cumsum(rng.normal(0.0, 1.0, size=(n, 3)), axis=0) + [50.0, 20.0, -5.0]
    return make_frame(values, [0] * (n // 2) + [1] * (n - n // 2), [TRAIN] * n, columns=COLUMNS)


def model_pair(relative: bool = True, margin: float = 0.1):
    """The same forecaster (a random head and linear path) built without and with bounds."""
    scaler = Scaler(np.array([50.0, 20.0, -5.0]), np.array([4.0, 3.0, 2.0]))
    out = []
    for clip in (None, margin):
        keras.utils.set_random_seed(7)  # the LSTM's initial weights, as new_forecaster seeds them
        model = build_forecaster(ModelParams((4,), 0.0, "season", relative, True, clip=clip), LOOKBACK, HORIZON, 3,
                                 [0, 1], scaler, season=SEASON, seed=5)
        rng = np.random.default_rng(2)
        head = model.get_layer("head")
        kernel, bias = head.get_weights()
        head.set_weights([rng.normal(0.0, 0.5, kernel.shape).astype("float32"), np.full(bias.shape, 0.1, "float32")])
        linear = model.get_layer("linear")
        kernel, bias = linear.get_weights()
        set_linear(model, rng.normal(0.0, 0.05, kernel.shape), np.zeros(bias.shape))
        out.append(model)
    return out


def forecast(model, x):
    return np.asarray(keras.ops.convert_to_numpy(model(x, training=False)))


@pytest.mark.parametrize("relative", [True, False])
def test_inside_its_range_a_clipped_model_forecasts_bit_for_bit_as_the_unclipped_one(relative):
    frame = frame_of()
    plain, clipped = model_pair(relative)
    set_bounds(clipped, frame, COLUMNS, LOOKBACK, [0, 1], 0.1)
    x, _ = make_windows(frame, COLUMNS, ("a", "b"), LOOKBACK, HORIZON).arrays()
    assert np.array_equal(forecast(plain, x), forecast(clipped, x))


def test_outside_its_range_the_forecast_stays_bounded():
    frame = frame_of()
    plain, clipped = model_pair()
    set_bounds(clipped, frame, COLUMNS, LOOKBACK, [0], 0.1)  # fitted on the first half
    x, _ = make_windows(frame, COLUMNS, ("a", "b"), LOOKBACK, HORIZON).arrays()
    before = forecast(clipped, x)
    spiked = x.copy()
    spiked[:, -3, 2] += 1e4  # an input, not a target, 5,000 SDs up three steps back
    assert np.abs(forecast(plain, spiked) - forecast(plain, x)).max() > 1e3  # unbounded, it runs away
    moved = np.abs(forecast(clipped, spiked) - before).max()
    assert moved < 20  # bounded: no more than a value at the edge of the range moves it
    huge = x.copy()
    huge[:, -3, 2] += 1e7
    assert np.array_equal(forecast(clipped, huge), forecast(clipped, spiked))  # past the bound, all alike


def test_the_bounds_are_the_range_the_model_sees_widened_by_the_margin():
    frame = frame_of()
    _, clipped = model_pair(margin=0.25)
    set_bounds(clipped, frame, COLUMNS, LOOKBACK, [0], 0.25)
    values = frame[list(COLUMNS)].to_numpy()[:60]
    relative = [values[max(0, e - LOOKBACK + 1):e + 1] - values[e] for e in range(60)]  # each look-back to row e
    lo, hi = np.min([r.min(axis=0) for r in relative], axis=0), np.max([r.max(axis=0) for r in relative], axis=0)
    std = np.array([4.0, 3.0, 2.0])
    want_lo, want_hi = lo / std - 0.25 * (hi - lo) / std, hi / std + 0.25 * (hi - lo) / std
    got_lo, got_hi = bounds.get_clip(clipped, bounds.CLIP_LSTM)
    np.testing.assert_allclose(got_lo, want_lo, rtol=1e-6)
    np.testing.assert_allclose(got_hi, want_hi, rtol=1e-6)
    levels = (values - [50.0, 20.0, -5.0]) / std
    lev_lo, lev_hi = bounds.get_clip(clipped, bounds.CLIP_LEVELS)
    width = levels.max(axis=0) - levels.min(axis=0)
    np.testing.assert_allclose(lev_lo, levels.min(axis=0) - 0.25 * width, rtol=1e-6)
    np.testing.assert_allclose(lev_hi, levels.max(axis=0) + 0.25 * width, rtol=1e-6)


def test_with_window_scaling_there_is_nothing_to_clip():
    """Each window divided by its own spread is bounded already: the model is built without clips."""
    scaler = Scaler(np.array([50.0, 20.0, -5.0]), np.array([4.0, 3.0, 2.0]))
    params = ModelParams((4,), 0.0, "season", True, True, scaling="window", clip=0.25)
    model = build_forecaster(params, LOOKBACK, HORIZON, 3, [0, 1], scaler, season=SEASON, seed=5)
    assert not bounds.has_clip(model)
    set_bounds(model, frame_of(), COLUMNS, LOOKBACK, [0], 0.25)  # nothing to set: left alone


def test_a_negative_margin_is_refused():
    import yaml
    from pathlib import Path

    from lstm_utils.config import parse_params
    from lstm_utils.errors import ParamsError

    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())
    raw["model"]["clip"] = -1
    with pytest.raises(ParamsError, match=r"`model.clip` must be >= 0"):
        parse_params(raw)


def test_with_several_series_each_look_back_stays_in_its_series():
    """Two series on the same hours: the relative range is each one's own, never a window across them."""
    import pandas as pd

    from lstm_utils.constants import SERIES

    first, second = frame_of(seed=1), frame_of(seed=2)
    second[list(COLUMNS)] += 1000.0  # far apart: a look-back across the two would show a jump of 1000
    frame = pd.concat([first.assign(**{SERIES: "a"}), second.assign(**{SERIES: "b"})])
    rel_lo, rel_hi, lev_lo, lev_hi = bounds.ranges(frame, COLUMNS, LOOKBACK, [0, 1])
    alone = [bounds.ranges(f, COLUMNS, LOOKBACK, [0, 1]) for f in (first, second)]
    np.testing.assert_allclose(rel_lo, np.minimum(alone[0][0], alone[1][0]))
    np.testing.assert_allclose(rel_hi, np.maximum(alone[0][1], alone[1][1]))
    assert np.abs(rel_hi).max() < 100 and lev_hi.min() > 900

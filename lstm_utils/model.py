"""The forecaster: a Keras 3 LSTM from raw input windows to forecasts in the data's units.

Scaling lives inside the model, so a saved model takes raw windows. With `model.scaling:
global` it is a fixed Normalization in and a fixed inverse Normalization out (the base
period's statistics), built-in layers only, so the `.keras` file loads with
``keras.saving.load_model(path, safe_mode=True)`` without this package. With `window`, each
window is divided by its own spread and the forecast change multiplied back (for many series of
different scales); that needs the two layers of :mod:`lstm_utils.layers`, registered with Keras by
:mod:`lstm_utils._keras` (which every module that builds or loads a model imports).
The LSTM layers keep cuDNN's requirements (tanh, sigmoid, no recurrent dropout, no unroll),
so a GPU runs them on the fused cuDNN kernel; dropout sits between layers instead.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lstm_utils import backend, bounds
from lstm_utils._keras import keras
from lstm_utils.constants import BATCH, SPLIT, TRAIN
from lstm_utils.settings import ModelParams
from lstm_utils.windows import Windows, spread

if TYPE_CHECKING:
    import pandas as pd

layers = keras.layers

UNSCALE = "unscale"  # the layer that maps scaled outputs back to the data's units
SPREAD = "spread"  # with window scaling: each input's spread over the window
LINEAR = "linear"  # the linear path's layer
GATE = "gate"  # with `model.gate: fitted`: each target's weight on the learned change
SHARE = "share"  # with `model.share: fitted`: each target's weight on the LSTM's part of the change
HOLD_LAST = "hold_last_step"  # with relative inputs (global scaling): the last row held over the look-back
MEASURED = "_measured"  # with inputs known ahead: a held last row's suffix, those inputs zeroed (kept as they are)


@dataclass(frozen=True)
class Scaler:
    """Per-column mean and standard deviation (from the base period's train tail)."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Scaler:
        """Statistics of the rows of `x` (2-D, rows x columns); constant columns get std 1."""
        mean = np.nanmean(x, axis=0).astype("float64")
        std = np.nanstd(x, axis=0).astype("float64")
        return cls(mean, np.where(std > 1e-12, std, 1.0))


def base_scaler(frame: pd.DataFrame, inputs: Sequence[str]) -> Scaler:
    """Scaling statistics from the base period's train tail only (batch 0, split train)."""
    rows = (frame[BATCH].to_numpy() == 0) & (frame[SPLIT].to_numpy() == TRAIN)
    if not rows.any():
        raise ValueError("the frame has no base-period training rows")
    return Scaler.fit(frame.loc[rows, list(inputs)].to_numpy(dtype=np.float64))


def build_forecaster(params: ModelParams, lookback: int, horizon: int, n_inputs: int,
                     target_idx: list[int] | np.ndarray, scaler: Scaler, season: int = 1,
                     seed: int = 0, name: str = "lstm_forecaster",
                     known: Sequence[bool] | np.ndarray | None = None) -> keras.Model:
    """A new, untrained forecaster: (batch, lookback, inputs) -> (batch, horizon, targets).

    `params.residual` says what the network's output is added to: "season" (each target's
    value one season before the forecast time, as seasonal naive), "last" (the last observed
    value, as persistence) or "none" (a level around the target's mean). With
    `params.relative_inputs`, the LSTM sees each input minus its last value in the window, so
    what it learns carries over to periods with other levels (summer after a winter base). Inputs
    known ahead (`known`, the calendar: :func:`lstm_utils.calendar.known_ahead`) are never made
    relative: the LSTM and the linear path see them as they are, standardized (with window scaling,
    not divided by the window's spread: one scale for every series).
    `params.scaling` says what the inputs and the change are scaled by: the base period's
    std per input (`global`) or each window's own spread per input (`window`). With
    `params.gate: fitted`, the change is multiplied by a weight per target (a fixed diagonal
    `Dense`, set by :func:`fit_gate`), so the forecast can fall back toward the anchor. With
    `params.share: fitted`, the LSTM's part of the change alone is multiplied by a weight per
    target (set by :func:`fit_share`): forecast = anchor + linear + w * LSTM, so at w = 0 the model
    forecasts its ridge part exactly. With `params.clip` (a margin), what the LSTM and the linear
    path see is clipped to the range the model is fitted on (:mod:`lstm_utils.bounds`; set by
    :func:`set_bounds`), open until then; the anchor never is.

    Parameters
    ----------
    params
        The `model` settings.
    lookback, horizon, n_inputs
        The window's shape: steps in, steps out, input columns.
    target_idx
        Where the targets are among the inputs.
    scaler
        Scaling statistics of the inputs (built into the model).
    season
        Steps in one season, for the seasonal anchor.
    seed
        Seeds the LSTM's and dropout's randomness.
    name
        The model's name.
    known
        Per input, whether it is known ahead (kept as it is); default none.
    """
    target_idx = np.asarray(target_idx)
    known = np.zeros(n_inputs, dtype=bool) if known is None else np.asarray(known, dtype=bool)
    n_targets = len(target_idx)
    t_mean, t_std = scaler.mean[target_idx], scaler.std[target_idx]
    window = keras.Input((lookback, n_inputs), name="window")
    last_step = layers.Cropping1D((lookback - 1, 0), name="last_step")(window)
    by_window = params.scaling == "window"
    if params.gate == "fitted" and params.residual == "none":
        raise ValueError("`model.gate: fitted` needs `model.residual` season or last")
    if by_window:  # each window by its own spread, minus its last value (or its mean)
        if params.residual == "none":
            raise ValueError("`model.scaling: window` needs `model.residual` season or last")
        from lstm_utils.layers import Divide, WindowSpread

        spreads = WindowSpread(name=SPREAD)(window)
        level = last_step if params.relative_inputs else layers.GlobalAveragePooling1D(
            keepdims=True, name="window_mean")(window)
        h = layers.Subtract(name="relative")([window, _held(level, lookback, known, "hold_level")])
        if known.any():  # inputs known ahead share one scale across series: not divided (a spread of 1)
            spreads_in = layers.Dense(n_inputs, trainable=False, name=f"{SPREAD}{MEASURED}",
                                      kernel_initializer=keras.initializers.Constant(
                                          np.diag((~known).astype("float32"))),
                                      bias_initializer=keras.initializers.Constant(known.astype("float32")))(spreads)
        else:
            spreads_in = spreads
        h = Divide(name="scale_inputs")([h, spreads_in])
    elif params.relative_inputs:  # each value minus the window's last one: free of the current level
        h = layers.Subtract(name="relative")([window, _held(last_step, lookback, known, HOLD_LAST)])
        h = layers.Normalization(mean=np.where(known, scaler.mean, 0.0).tolist(), variance=(scaler.std ** 2).tolist(),
                                 name="scale_inputs")(h)
    else:
        h = layers.Normalization(mean=scaler.mean.tolist(), variance=(scaler.std ** 2).tolist(),
                                 name="scale_inputs")(window)
    scaled = h  # with window scaling, the linear path sees the window as the LSTM does
    bounded = params.clip is not None and not by_window
    if bounded:  # what the network sees stays within the range it was fitted on (lstm_utils.bounds)
        h = bounds.clip(h, bounds.CLIP_LSTM)
    for k, units in enumerate(params.units):
        last = k == len(params.units) - 1
        h = layers.LSTM(units, return_sequences=not last, seed=seed + k, name=f"lstm_{k}")(h)
        if params.dropout > 0:
            h = layers.Dropout(params.dropout, seed=seed + 100 + k, name=f"dropout_{k}")(h)
    z = layers.Dense(horizon * n_targets, kernel_initializer="zeros", name="head")(h)  # starts as the anchor
    if params.share == "fitted":  # a weight per target on the LSTM's part alone, fitted after training
        z = layers.Reshape((horizon, n_targets), name="part_by_target")(z)
        z = layers.Dense(n_targets, use_bias=False, trainable=False, name=SHARE,
                         kernel_initializer=keras.initializers.Identity())(z)
        z = layers.Reshape((horizon * n_targets,), name="shared_part")(z)
    if params.linear:  # a linear path from the scaled window beside the LSTM (set in closed form: set_linear)
        flat = layers.Flatten(name="flat_window")(scaled if by_window else _linear_view(window, last_step, scaler,
                                                                                         bounded, known))
        linear = layers.Dense(horizon * n_targets, kernel_initializer="zeros", name=LINEAR)(flat)
        z = layers.Add(name="head_plus_linear")([z, linear])
    z = layers.Reshape((horizon, n_targets), name="scaled_forecast")(z)
    if params.residual == "none":
        out = layers.Normalization(mean=t_mean.tolist(), variance=(t_std ** 2).tolist(), invert=True,
                                   name=UNSCALE)(z)
    else:
        if by_window:
            change = layers.Multiply(name=UNSCALE)([z, _target_spread(spreads, target_idx, n_inputs, horizon)])
        else:
            change = layers.Normalization(mean=[0.0] * n_targets, variance=(t_std ** 2).tolist(), invert=True,
                                          name=UNSCALE)(z)
        if params.gate == "fitted":  # a weight per target on the change, fitted after training (fit_gate)
            change = layers.Dense(n_targets, use_bias=False, trainable=False, name=GATE,
                                  kernel_initializer=keras.initializers.Identity())(change)
        out = layers.Add(name="forecast")([anchor(window, last_step, params.residual, lookback, horizon,
                                                   target_idx, season), change])
    return keras.Model(window, out, name=name)


LEVELS = "linear_levels"  # the linear path's absolute block: each input standardized by the base period


def _held(last_step, lookback: int, known: np.ndarray, name: str):
    """The window's last row held over the look-back, (batch, lookback, inputs), with the inputs
    known ahead zeroed (a fixed diagonal `Dense` of ones and zeros: the others exactly), so that
    subtracting it leaves those as they are. Without such inputs, the row itself."""
    if known.any():
        last_step = layers.Dense(len(known), use_bias=False, trainable=False, name=f"{name}{MEASURED}",
                                 kernel_initializer=keras.initializers.Constant(np.diag((~known).astype("float32"))))(
            last_step)
    return layers.UpSampling1D(lookback, name=name)(last_step)


def _linear_view(window, last_step, scaler: Scaler, bounded: bool = False, known: np.ndarray | None = None):
    """What the linear path sees with global scaling, (batch, 2 * lookback, inputs): each input
    minus its last value (an input known ahead minus its mean instead), then each input's
    standardized level, divided by the base period's std (the columns of
    :meth:`lstm_utils.linear.View.inputs`, step by step: relative, then absolute); each block
    clipped with `bounded` (:mod:`lstm_utils.bounds`)."""
    lookback, n_inputs = window.shape[1], window.shape[2]
    known = np.zeros(n_inputs, dtype=bool) if known is None else known
    change = layers.Subtract(name="linear_change")([window, _held(last_step, lookback, known, "linear_hold_last")])
    relative = layers.Normalization(mean=np.where(known, scaler.mean, 0.0).tolist(),
                                    variance=(scaler.std ** 2).tolist(), name="linear_relative")(change)
    levels = layers.Normalization(mean=scaler.mean.tolist(), variance=(scaler.std ** 2).tolist(), name=LEVELS)(window)
    if bounded:
        relative, levels = bounds.clip(relative, bounds.CLIP_RELATIVE), bounds.clip(levels, bounds.CLIP_LEVELS)
    return layers.Concatenate(axis=1, name="linear_window")([relative, levels])


TARGET_SPREAD = "hold_target_spread"  # with window scaling: the targets' spreads, (batch, horizon, targets)


def _target_spread(spreads, target_idx: np.ndarray, n_inputs: int, horizon: int):
    """The targets' spreads, (batch, 1, inputs) -> (batch, horizon, targets), from built-in layers."""
    pick = layers.Dense(len(target_idx), use_bias=False, trainable=False, name="pick_target_spread",
                        kernel_initializer=keras.initializers.Constant(np.eye(n_inputs)[:, target_idx]))
    return layers.UpSampling1D(horizon, name=TARGET_SPREAD)(pick(spreads))


def anchor(window, last_step, kind: str, lookback: int, horizon: int, target_idx: np.ndarray, season: int):
    """What the learned change is added to, (batch, horizon, targets), from built-in layers:
    'last' repeats the last observed value; 'season' repeats the last `season` steps."""
    n_inputs = window.shape[-1]
    pick = layers.Dense(len(target_idx), use_bias=False, trainable=False, name="pick_targets",
                        kernel_initializer=keras.initializers.Constant(np.eye(n_inputs)[:, target_idx]))
    if kind == "last":
        last = layers.Reshape((n_inputs,), name="last_row")(last_step)
        return layers.RepeatVector(horizon, name="hold_last")(pick(last))
    if season > lookback:
        raise ValueError(f"`window.lookback` ({lookback}) must be >= `baselines.season` ({season})")
    cycle = pick(layers.Cropping1D((lookback - season, 0), name="last_season")(window))
    reps = -(-horizon // season)
    if reps > 1:
        cycle = layers.Concatenate(axis=1, name="repeat_season")([cycle] * reps)
    return layers.Cropping1D((0, reps * season - horizon), name="seasonal_level")(cycle)


def set_bounds(model: keras.Model, frame: pd.DataFrame, inputs: Sequence[str], lookback: int,
               batches: Sequence[int], margin: float) -> None:
    """Bound what the forecaster sees to the range of `batches` (every row), widened by `margin`
    (:func:`lstm_utils.bounds.set_from`); a model without bounds is left alone."""
    if not bounds.has_clip(model):
        return
    from lstm_utils.calendar import known_ahead

    mean, std, _ = input_scaling(model)
    relative = _has(model, HOLD_LAST)  # the LSTM sees each input relative to the window's last value
    bounds.set_from(model, frame, inputs, lookback, batches, margin, mean, std, relative, known_ahead(inputs))


def has_linear(model: keras.Model) -> bool:
    """Whether the forecaster has a linear path."""
    return any(layer.name == LINEAR for layer in model.layers)


def set_linear(model: keras.Model, w: np.ndarray, b: np.ndarray) -> None:
    """Set the linear path: scaled change = flattened scaled window @ w + b (see :mod:`lstm_utils.linear`)."""
    model.get_layer(LINEAR).set_weights([w.astype(np.float32), b.astype(np.float32)])


def _has(model: keras.Model, name: str) -> bool:
    return any(layer.name == name for layer in model.layers)


def has_gate(model: keras.Model) -> bool:
    """Whether the forecaster has a gate on its learned change (`model.gate: fitted`)."""
    return _has(model, GATE)


def has_share(model: keras.Model) -> bool:
    """Whether the forecaster has a weight on its LSTM's part (`model.share: fitted`)."""
    return _has(model, SHARE)


def _diagonal(model: keras.Model, name: str) -> np.ndarray:
    return np.diag(keras.ops.convert_to_numpy(model.get_layer(name).kernel)).astype(np.float64)


def _set_diagonal(model: keras.Model, name: str, weights: np.ndarray) -> None:
    model.get_layer(name).set_weights([np.diag(np.asarray(weights, dtype=np.float32))])


def gate_weights(model: keras.Model) -> np.ndarray:
    """Each target's weight on the learned change, (targets,), float64."""
    return _diagonal(model, GATE)


def set_gate(model: keras.Model, weights: np.ndarray) -> None:
    """Set each target's weight on the learned change (1: the change as learned; 0: the anchor alone)."""
    _set_diagonal(model, GATE, weights)


def share_weights(model: keras.Model) -> np.ndarray:
    """Each target's weight on the LSTM's part of the change, (targets,), float64."""
    return _diagonal(model, SHARE)


def set_share(model: keras.Model, weights: np.ndarray) -> None:
    """Set each target's weight on the LSTM's part (1: the model as trained; 0: anchor plus ridge alone)."""
    _set_diagonal(model, SHARE, weights)


def open_guards(model: keras.Model) -> None:
    """Set a forecaster's gate and share to 1 (training learns the change itself; both are fitted
    afterwards: :func:`fit_guards`); a model without them is left alone."""
    for name in (GATE, SHARE):
        if _has(model, name):
            _set_diagonal(model, name, np.ones(model.output_shape[-1]))


def guards(model: keras.Model) -> dict[str, list[float]]:
    """The model's fitted weights, by the name a step records them under: `share` (on the LSTM's
    part) and `gate` (on the whole change), each present only where the model has it."""
    return {name: _diagonal(model, name).tolist() for name in (SHARE, GATE) if _has(model, name)}


def _fit_weight(model: keras.Model, name: str, windows: Windows, batches: list | None = None) -> list[float]:
    """Set the diagonal layer `name` to the least-squares weight per target on `windows`, clipped to
    [0, 1]: what the model forecasts with the weight at 1, against what it misses at 0 (errors on
    each series' scale, as they are scored). A target whose part is zero throughout, or no windows
    at all, keeps its weight. `batches`: the windows' :func:`input_batches`, when already cut."""
    before = _diagonal(model, name)
    if len(windows) == 0:
        return before.tolist()
    batches, n_targets = batches or input_batches(windows), model.output_shape[-1]
    _set_diagonal(model, name, np.ones(n_targets))
    full = predict_batches(model, batches).astype(np.float64)
    _set_diagonal(model, name, np.zeros(n_targets))
    without = predict_batches(model, batches).astype(np.float64)
    actual, full, without = windows.scaled(windows.targets().astype(np.float64), full, without)
    part, miss = full - without, actual - without
    power = (part ** 2).sum(axis=(0, 1))
    fitted = np.clip((part * miss).sum(axis=(0, 1)) / np.where(power > 0, power, 1.0), 0.0, 1.0)
    _set_diagonal(model, name, np.where(power > 0, fitted, before))
    return _diagonal(model, name).tolist()


def fit_gate(model: keras.Model, windows: Windows) -> list[float] | None:
    """Fit the gate of a gated forecaster on `windows` (the newest validation tail) and set it.

    The forecast is anchor + g * change, where change is what the network learned. For each
    target, g is the least-squares weight of the change on what the anchor misses, over every
    window and horizon step, clipped to [0, 1]: 0 keeps the seasonal (or last) value alone, 1
    the model as trained. With several series, errors are divided by each series' scale first,
    as they are scored. A target whose change is zero throughout, or no windows at all, keeps
    its weight. Returns the weights (None: the model has no gate, nothing done).
    """
    return _fit_weight(model, GATE, windows) if has_gate(model) else None


def fit_share(model: keras.Model, windows: Windows) -> list[float] | None:
    """Fit the LSTM's share on `windows` (the newest validation tail) and set it.

    The forecast is anchor + linear + w * LSTM. For each target, w is the least-squares weight of
    the LSTM's part on what anchor and ridge miss, clipped to [0, 1], as :func:`fit_gate` fits
    the gate: on those windows the model is then never worse than its own ridge part (w = 0).
    Returns the weights (None: the model has no share layer, nothing done).
    """
    return _fit_weight(model, SHARE, windows) if has_share(model) else None


def fit_guards(model: keras.Model, windows: Windows) -> dict[str, list[float]]:
    """Fit the share, then the gate (each where the model has it) on `windows`, with the gate
    open while the share is fitted; returns :func:`guards`. On those windows the result is never
    worse than anchor plus ridge, nor (with a gate) than the anchor alone."""
    batches = input_batches(windows) if len(windows) else []  # cut once for both
    if has_share(model):
        if has_gate(model):
            set_gate(model, np.ones(model.output_shape[-1]))
        _fit_weight(model, SHARE, windows, batches)
    if has_gate(model):
        _fit_weight(model, GATE, windows, batches)
    return guards(model)


def copy_model(model: keras.Model) -> keras.Model:
    """An independent copy (same architecture and weights) that training will not share."""
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def _first_forecaster(model: keras.Model) -> keras.Model:
    """A plain forecaster, or an ensemble's first member (all members share the scaling)."""
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return nested[0] if nested else model


def window_scaled(model: keras.Model) -> bool:
    """Whether the forecaster scales each window by its own spread (`model.scaling: window`)."""
    return any(layer.name == SPREAD for layer in _first_forecaster(model).layers)


def input_scaling(model: keras.Model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The per-input mean and std the forecaster was built with (the base period's train tail,
    read from the linear path's levels, else from the LSTM's input scaling, which keeps no means
    with relative inputs: 0), and the targets' means its output adds back (0 but with
    `residual: none`). With window scaling: zeros and ones (each window brings its own)."""
    plain = _first_forecaster(model)
    if window_scaled(plain):
        n_in, n_out = plain.input_shape[-1], plain.output_shape[-1]
        return np.zeros(n_in), np.ones(n_in), np.zeros(n_out)
    values = lambda layer, name: np.asarray(keras.ops.convert_to_numpy(getattr(layer, name)),  # noqa: E731
                                            dtype="float64").reshape(-1)
    names = {layer.name for layer in plain.layers}
    scale = plain.get_layer(LEVELS if LEVELS in names else "scale_inputs")
    return values(scale, "mean"), np.sqrt(values(scale, "variance")), values(plain.get_layer(UNSCALE), "mean")


def target_std(model: keras.Model) -> np.ndarray:
    """The targets' standard deviations the forecaster was built with (global scaling)."""
    layer = model.get_layer(UNSCALE)
    return np.sqrt(np.asarray(keras.ops.convert_to_numpy(layer.variance), dtype="float64")).reshape(-1)


def loss_weights(model: keras.Model, x: np.ndarray, target_idx: np.ndarray) -> np.ndarray:
    """What the training loss multiplies the errors of windows `x` by, float64, so that every
    target (and, with window scaling, every series) has an equal say whatever its units: 1 / each
    target's std, (targets,); with window scaling 1 / each window's target spread, (n, 1, targets)."""
    if window_scaled(model):
        return 1.0 / spread(x[:, :, target_idx])
    return 1.0 / target_std(model)


def scaled_view(model: keras.Model) -> keras.Model:
    """The forecaster with its output multiplied by :func:`loss_weights` (shares all weights).

    Training against targets scaled the same way gives every target an equal say in the
    loss, whatever its units; the saved forecaster itself stays in the data's units.
    """
    if window_scaled(model):  # divided by the targets' spreads the model itself computes
        from lstm_utils.layers import Divide

        return keras.Model(model.input, Divide(name="per_window_scale")(
            [model.output, model.get_layer(TARGET_SPREAD).output]))
    inv = (1.0 / target_std(model)).tolist()
    return keras.Model(model.input, layers.Rescaling(inv, name="per_target_scale")(model.output))


_PREDICTORS: dict[str, object] = {}  # by batch size and architecture (the model's JSON)
_BY_MODEL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> {batch size: function}


def _compiled_predictor(model: keras.Model, batch_size: int):
    """One compiled forecast function per architecture, the weights passed in.

    A direct model call runs op by op (on JAX it also re-traces the LSTM's loop every call), and
    `model.predict` compiles again for every new model. This compiles once per architecture and
    batch shape (`jax.jit` or `tf.function`) and serves every model of it: each step of a chain,
    each strategy, and the validation pass after every training epoch.
    """
    known = _BY_MODEL.setdefault(model, {})
    if batch_size in known:  # describing the architecture (to_json) costs about 10 ms a call
        return known[batch_size]
    key = f"{batch_size}:{model.to_json()}"
    fn = _PREDICTORS.get(key)
    if fn is None:
        template = keras.models.clone_model(model)
        trainable = {id(v) for v in template.trainable_variables}
        mask = [id(v) in trainable for v in template.variables]

        def call(values, x):
            tv = [v for v, m in zip(values, mask) if m]
            ntv = [v for v, m in zip(values, mask) if not m]
            return template.stateless_call(tv, ntv, x, training=False)[0]

        if keras.backend.backend() == "jax":
            import jax

            fn = jax.jit(call)
        else:
            import tensorflow as tf

            fn = tf.function(call, jit_compile=False)
        with backend.compile_clock():  # compile now, on a batch of zeros: counted apart from the work
            n_in = model.input_shape[-1]
            fn([v.value for v in model.variables], np.zeros((batch_size, model.input_shape[1], n_in), np.float32))
        _PREDICTORS[key] = fn
    known[batch_size] = fn
    return fn


def input_batches(windows: Windows, batch_size: int = 512) -> list[tuple[Any, int]]:
    """The windows' inputs cut into batches of one shape (the last one padded with zeros), as
    backend tensors (on the GPU where there is one), each with its count of real windows: for
    forecasting the same windows again and again, as validation does after every epoch."""
    batches = []
    for i in range(0, len(windows), batch_size):
        x = windows.arrays(slice(i, i + batch_size))[0]
        n = len(x)
        if n < batch_size:  # one batch shape: pad the last batch, drop the padding's forecasts
            x = np.concatenate([x, np.zeros((batch_size - n, *x.shape[1:]), dtype=x.dtype)])
        batches.append((keras.ops.convert_to_tensor(x), n))
    return batches


def predict_batches(model: keras.Model, batches: list[tuple[Any, int]], batch_size: int = 512) -> np.ndarray:
    """Forecasts for batches made by :func:`input_batches` with the same `batch_size`."""
    fn, values = _compiled_predictor(model, batch_size), [v.value for v in model.variables]
    return np.concatenate([keras.ops.convert_to_numpy(fn(values, x))[:n] for x, n in batches])


def predict(model: keras.Model, windows: Windows, batch_size: int = 512) -> np.ndarray:
    """Forecasts (n, horizon, targets) in the data's units for every window."""
    if len(windows) == 0:
        return np.zeros((0, windows.horizon, len(windows.target_idx)), dtype=np.float32)
    return predict_batches(model, input_batches(windows, batch_size), batch_size)


@dataclass(frozen=True)
class KerasForecaster:
    """A Keras forecaster answering as every forecaster does (:class:`lstm_utils.evaluation.Forecaster`):
    :meth:`predict` gives forecasts (n, horizon, targets) in the data's units."""

    model: keras.Model

    def predict(self, windows: Windows) -> np.ndarray:
        return predict(self.model, windows)

"""Inputs bounded inside the model (`model.clip`): what the network sees stays within the range it
was fitted on, widened by a margin, so that a stuck sensor, a spike or a shifted level in an input
cannot make the forecast run away.

With `model.clip: m`, the forecaster's LSTM and its linear path see each input clipped to
[lo - m * (hi - lo), hi + m * (hi - lo)], where [lo, hi] is the range of that input, as they see it,
over every row of the batches the model was last fitted on (:func:`set_from`): for the relative
view, each value minus the window's last one over the look-back before every row; for the
standardized levels, the levels themselves. The anchor the change is added to (the last value, or
the value one season back) is never clipped: a target that moves far keeps its own level.

A clip is built from built-in layers only (two fixed `Dense` layers whose kernel is zero and whose
bias is the bound, a `Minimum` and a `Maximum`: max(min(x, hi), lo)), so the model still loads
with safe_mode=True; inside the bounds it gives x exactly, so a clipped model forecasts bit for bit
as the unclipped one there, and past them the bound exactly. Until bounds are set, they are open
(+-1e30).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from lstm_utils._keras import keras
from lstm_utils.constants import BATCH, SERIES

layers = keras.layers

OPEN = 1e30  # the bound of a clip not yet fitted: no float32 input reaches it
CLIP_LSTM = "clip_lstm"  # what the LSTM sees
CLIP_RELATIVE = "clip_linear_relative"  # the linear path's relative block
CLIP_LEVELS = "clip_linear_levels"  # the linear path's levels block
CLIPS = (CLIP_LSTM, CLIP_RELATIVE, CLIP_LEVELS)


def clip(x, name: str):
    """`x` (batch, steps, inputs) clipped per input to bounds set later (:func:`set_clip`), open at first."""
    n = x.shape[-1]
    zeros = keras.initializers.Zeros()
    high = layers.Dense(n, trainable=False, name=f"{name}_high", kernel_initializer=zeros,
                        bias_initializer=keras.initializers.Constant(OPEN))(x)  # hi on every step
    low = layers.Dense(n, trainable=False, name=f"{name}_low", kernel_initializer=zeros,
                       bias_initializer=keras.initializers.Constant(-OPEN))(x)  # lo on every step
    return layers.Maximum(name=name)([layers.Minimum(name=f"{name}_at_most_high")([x, high]), low])


def has_clip(model: keras.Model) -> bool:
    """Whether the forecaster bounds its inputs (`model.clip`)."""
    return any(layer.name == f"{CLIP_LSTM}_high" for layer in model.layers)


def set_clip(model: keras.Model, name: str, lo: np.ndarray, hi: np.ndarray) -> None:
    """Set clip `name`'s bounds per input (where the model has that clip)."""
    if not any(layer.name == f"{name}_high" for layer in model.layers):
        return
    zeros = np.zeros((len(lo), len(lo)), dtype=np.float32)
    model.get_layer(f"{name}_high").set_weights([zeros, np.asarray(hi, dtype=np.float32)])
    model.get_layer(f"{name}_low").set_weights([zeros, np.asarray(lo, dtype=np.float32)])


def get_clip(model: keras.Model, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Clip `name`'s bounds per input, (lo, hi), float64."""
    low = model.get_layer(f"{name}_low").get_weights()[1]
    high = model.get_layer(f"{name}_high").get_weights()[1]
    return low.astype(np.float64), high.astype(np.float64)


def ranges(frame: pd.DataFrame, inputs: Sequence[str], lookback: int,
           batches: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per input, in the data's units, over the rows of `batches`: the lowest and highest value
    minus the last value of the look-back ending at that row (the relative view; its `lookback` rows,
    across batch edges, within one series), and the lowest and highest value."""
    rows = np.isin(frame[BATCH].to_numpy(), np.asarray(batches))
    values = frame[list(inputs)].astype("float64").reset_index(drop=True)  # row positions (series share times)
    if SERIES in frame.columns:
        grouped = values.groupby(frame[SERIES].to_numpy(), sort=False)
        low = grouped.rolling(lookback, min_periods=1).min().reset_index(level=0, drop=True).sort_index().to_numpy()
        high = grouped.rolling(lookback, min_periods=1).max().reset_index(level=0, drop=True).sort_index().to_numpy()
    else:
        low = values.rolling(lookback, min_periods=1).min().to_numpy()
        high = values.rolling(lookback, min_periods=1).max().to_numpy()
    x = values.to_numpy()
    rel_lo, rel_hi = np.nanmin((low - x)[rows], axis=0), np.nanmax((high - x)[rows], axis=0)
    return rel_lo, rel_hi, np.nanmin(x[rows], axis=0), np.nanmax(x[rows], axis=0)


def widened(lo: np.ndarray, hi: np.ndarray, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """[lo, hi] widened by `margin` times its width on each side."""
    width = hi - lo
    return lo - margin * width, hi + margin * width


def set_from(model: keras.Model, frame: pd.DataFrame, inputs: Sequence[str], lookback: int, batches: Sequence[int],
             margin: float, mean: np.ndarray, std: np.ndarray, relative: bool,
             known: np.ndarray | None = None) -> None:
    """Set every clip of the forecaster to the range of these batches as it sees its inputs (scaled
    by `mean` and `std`, the model's own; the LSTM sees the relative view with `relative`), widened
    by `margin`. Inputs `known` ahead (the calendar) are never relative: their levels' range is
    theirs in both views. A model without clips is left alone."""
    if not has_clip(model):
        return
    rel_lo, rel_hi, lev_lo, lev_hi = ranges(frame, inputs, lookback, batches)
    levels_view = widened((lev_lo - mean) / std, (lev_hi - mean) / std, margin)
    relative_view = widened(rel_lo / std, rel_hi / std, margin)
    if known is not None and known.any():
        relative_view = tuple(np.where(known, lev, rel) for lev, rel in zip(levels_view, relative_view))
    set_clip(model, CLIP_LSTM, *(relative_view if relative else levels_view))
    set_clip(model, CLIP_RELATIVE, *relative_view)
    set_clip(model, CLIP_LEVELS, *levels_view)

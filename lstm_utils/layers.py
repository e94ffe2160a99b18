"""The forecaster's own layers, for series of very different scales (`model.scaling: window`).

With `window` scaling each window is divided by its own spread (each input's standard deviation
over the look-back), and the learned change is multiplied back by the targets' spread, so one
global model serves a series of tens and one of tens of thousands alike, and still maps raw
windows to forecasts in each series' units. Built-in layers cannot divide one tensor by
another, hence these two.

Both are registered with Keras under the package name ``lstm_utils``:
``keras.saving.load_model(path, safe_mode=True)`` loads a model that uses them once this
module is imported, which :mod:`lstm_utils._keras` does right after Keras (every module of the
package that builds or loads a model imports Keras from there). A model with `global` scaling
uses built-in layers only.
"""

from __future__ import annotations

import keras  # not lstm_utils._keras: that module imports this one, right after Keras

from lstm_utils.windows import SPREAD_FLOOR

ops = keras.ops


@keras.saving.register_keras_serializable(package="lstm_utils")
class WindowSpread(keras.layers.Layer):
    """Each input's standard deviation over the window's steps, (batch, 1, inputs), at least
    `floor` (:func:`lstm_utils.windows.spread` in NumPy)."""

    def __init__(self, floor: float = SPREAD_FLOOR, **kwargs):
        super().__init__(**kwargs)
        self.floor = float(floor)

    def call(self, window):
        return ops.maximum(ops.std(window, axis=1, keepdims=True), self.floor)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1, input_shape[2])

    def get_config(self) -> dict:
        return super().get_config() | {"floor": self.floor}


@keras.saving.register_keras_serializable(package="lstm_utils")
class Divide(keras.layers.Layer):
    """The first input divided by the second (broadcast: (batch, steps, n) by (batch, 1, n))."""

    def call(self, inputs):
        numerator, denominator = inputs
        return ops.divide(numerator, denominator)

    def compute_output_shape(self, input_shape):
        return input_shape[0]


"""Keras, started on the backend params.yaml names (see :mod:`lstm_utils.backend`).

The package's modules import Keras from here (`from lstm_utils._keras import keras`), so that
on a backend other than TensorFlow, Keras's optional uses of TensorFlow (its serializer checks
for TensorFlow types, which imports TensorFlow: five seconds here) are turned off first.
"""

import keras

from lstm_utils.backend import after_import

after_import()

__all__ = ["keras"]

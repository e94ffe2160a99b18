"""Keras, started on the backend this process chose (see :mod:`lstm_utils.backend`), with the
forecaster's own layers registered.

The package's modules import Keras from here (`from lstm_utils._keras import keras`), so that
Keras starts on the project's backend also in a process that chose none (a script importing the
package's modules: the nearest params.yaml's `train.backend`, as a stage would), so that on a
backend other than TensorFlow, Keras's optional uses of TensorFlow (its serializer checks for
TensorFlow types, which imports TensorFlow: five seconds here) are turned off first, and so that
``keras.saving.load_model(path, safe_mode=True)`` knows the layers of :mod:`lstm_utils.layers`.
"""

from lstm_utils.backend import after_import, select_for_project

select_for_project()  # nothing when this process chose already, or Keras runs

import keras  # noqa: E402

after_import()

from lstm_utils import layers  # noqa: E402  (registers WindowSpread and Divide with Keras's loader)

__all__ = ["keras", "layers"]  # layers: imported for its registration

"""One training loop for every model: seeded, deterministic, early-stopped, timed; and the
batches of windows it is fed."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lstm_utils import backend
from lstm_utils._keras import keras
from lstm_utils.model import (input_batches, loss_weights, open_guards, predict_batches, scaled_view,
                              window_scaled)
from lstm_utils.windows import SPREAD_FLOOR, Windows


@dataclass
class TrainResult:
    """What a training run did: per-epoch losses, its cost, and where it stopped."""

    history: dict[str, list[float]]  # loss / val_loss per epoch (per-target scaled MSE)
    seconds: float
    windows_seen: int  # training windows fed, summed over epochs
    epochs_run: int
    best_epoch: int  # 1-based; its weights are the ones kept (0: no epoch beat the weights it started from)
    start_loss: float | None = None  # the watched loss before the first epoch (epoch 0)
    compile_seconds: float = 0.0  # compiling the training step and forecast function (first fit of a shape)


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and the backend, with deterministic ops (see :mod:`lstm_utils.backend`)."""
    backend.seed(seed)


class WindowBatches(keras.utils.PyDataset):
    """Feeds windows to Keras batch by batch (no full X array is ever built).

    With `shuffle`, the order is re-drawn every epoch from `seed`, so runs repeat exactly.
    `targets` (one per window) replaces the true targets, e.g. blended ones for distillation.
    With `drop_last`, a last partial batch is left out (another one each shuffled epoch): all
    batches then have one shape, which spares the backend a second compile of the training step.
    """

    def __init__(self, windows: Windows, batch_size: int, shuffle: bool = False, seed: int = 0,
                 targets: np.ndarray | None = None, drop_last: bool = False):
        super().__init__(workers=1, use_multiprocessing=False)
        if targets is not None and len(targets) != len(windows):
            raise ValueError(f"{len(targets)} targets for {len(windows)} windows")
        self.windows, self.batch_size, self.shuffle, self.targets = windows, batch_size, shuffle, targets
        self.drop_last = drop_last and len(windows) > batch_size
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(len(windows))
        if shuffle:
            self.rng.shuffle(self.order)

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.windows) // self.batch_size
        return int(np.ceil(len(self.windows) / self.batch_size))

    def __getitem__(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        which = self.order[k * self.batch_size:(k + 1) * self.batch_size]
        x, y = self.windows.arrays(which)
        return (x, y) if self.targets is None else (x, self.targets[which])

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.rng.shuffle(self.order)


class _ScaledTargets(keras.utils.PyDataset):
    """Targets multiplied by :func:`lstm_utils.model.loss_weights`, to match :func:`scaled_view`."""

    def __init__(self, inner: WindowBatches, model: keras.Model):
        super().__init__(workers=1, use_multiprocessing=False)
        self.inner, self.model = inner, model
        self.weights = None if window_scaled(model) else loss_weights(model, None, None).astype(np.float32)

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.inner[k]
        if self.weights is None:  # each window by its own spread
            return x, (y * loss_weights(self.model, x, self.inner.windows.target_idx)).astype(np.float32)
        return x, y * self.weights

    def on_epoch_end(self) -> None:
        self.inner.on_epoch_end()


def _tf_feed(batches: WindowBatches, model: keras.Model):
    """The same batches as ``_ScaledTargets(batches, model)``, as a TensorFlow `tf.data` pipeline.

    On the TensorFlow backend, Keras feeds a PyDataset through a Python generator in a thread
    of TensorFlow's, batch by batch, and that thread contends with the training loop for the
    GIL: measured here, the loop ran at 0.58-0.79x a plain `fit` on arrays. This cuts the
    windows inside TensorFlow instead (a gather of rows by start index); Python only hands
    over each epoch's order, drawn as the PyDataset draws it.
    """
    import tensorflow as tf

    windows, size = batches.windows, batches.batch_size
    count = len(batches) * size if batches.drop_last else len(windows)

    def order():  # one epoch per pass over the dataset (Keras iterates it anew every epoch)
        yield batches.order[:count]
        batches.on_epoch_end()

    rows, targets = tf.constant(windows.values), tf.constant(windows._target_values)
    starts = tf.constant(windows.starts)
    before = tf.range(-windows.lookback, 0, dtype=tf.int64)
    ahead = tf.range(windows.horizon, dtype=tf.int64)
    replaced = None if batches.targets is None else tf.constant(batches.targets)
    fixed = None if window_scaled(model) else tf.constant(loss_weights(model, None, None).astype(np.float32))
    target_idx = tf.constant(windows.target_idx)

    def cut(which):
        start = tf.gather(starts, which)
        x = tf.gather(rows, start[:, None] + before)
        y = tf.gather(targets, start[:, None] + ahead) if replaced is None else tf.gather(replaced, which)
        if fixed is not None:
            return x, y * fixed
        # each window by its own targets' spread, in float64 as loss_weights computes it
        spread = tf.math.reduce_std(tf.cast(tf.gather(x, target_idx, axis=2), tf.float64), axis=1, keepdims=True)
        return x, tf.cast(tf.cast(y, tf.float64) / tf.maximum(spread, SPREAD_FLOOR), tf.float32)

    return (tf.data.Dataset.from_generator(order, output_signature=tf.TensorSpec([None], tf.int64))
            .unbatch().batch(size, drop_remainder=batches.drop_last)
            .apply(tf.data.experimental.assert_cardinality(len(batches)))  # Keras then knows an epoch's length
            .map(cut).prefetch(2))


def _feed(batches: WindowBatches, model: keras.Model):
    """What `fit` trains on: the scaled batches, as a PyDataset (JAX) or a `tf.data` pipeline (TensorFlow)."""
    if keras.backend.backend() == "tensorflow":
        return _tf_feed(batches, model)
    return _ScaledTargets(batches, model)


class _Validation(keras.callbacks.Callback):
    """The validation windows' loss after each epoch, as `val_loss` in the epoch's logs.

    Computed with :func:`lstm_utils.model.predict` (one compiled function per architecture and
    one batch shape, padded), not Keras's `evaluate`, which compiles again for every new
    number of validation windows: every step of a chain has its own.
    """

    def __init__(self, model: keras.Model, val: Windows):
        super().__init__()
        self.forecaster = model
        self.inputs = input_batches(val)  # cut and moved to the device once, not every epoch
        x, y = val.arrays()
        self.actual = y.astype(np.float64)
        self.weights = loss_weights(model, x, val.target_idx)

    def loss(self) -> float:
        """Scaled MSE (as the training loss) of the forecaster's current weights on the validation windows."""
        error = (predict_batches(self.forecaster, self.inputs).astype(np.float64) - self.actual)
        return float(np.mean((error * self.weights) ** 2))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["val_loss"] = self.loss()


@dataclass
class _Trainer:
    """A private copy of one architecture with its compiled, traced training step."""

    model: keras.Model
    view: keras.Model
    seeds: list  # (seed generator, its initial state)
    compiled: set = field(default_factory=set)  # batch sizes whose training step is compiled


_TRAINERS: dict[str, _Trainer] = {}


class _OneBatch(keras.utils.PyDataset):
    """One batch of zeros shaped like the real ones: compiles the training step (see _trainer_for)."""

    def __init__(self, x: np.ndarray, y: np.ndarray):
        super().__init__(workers=1, use_multiprocessing=False)
        self.x, self.y = x, y

    def __len__(self) -> int:
        return 1

    def __getitem__(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.x, self.y


def _trainer_for(model: keras.Model, learning_rate: float, batch_size: int) -> _Trainer:
    """The trainer for `model`'s architecture, reset as if new and loaded with its weights.

    The backend compiles a training step once per compiled model and batch shape (seconds).
    Models of one architecture (every step of a chain, every retrain) share one trainer, so
    that is paid once per process; it is paid up front, on a batch of zeros, and counted as
    compiling (:func:`lstm_utils.backend.compile_clock`), not as training. Everything that
    carries state between fits is then reset: weights, optimizer moments and step count,
    learning rate, and dropout seed generators, so a fit gives the same weights as on a
    brand-new model.
    """
    key = model.to_json()
    trainer = _TRAINERS.get(key)
    if trainer is None:
        copy = keras.models.clone_model(model)
        view = scaled_view(copy)
        view.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
        seeds = [(g, np.array(g.state.numpy())) for layer in copy._flatten_layers()
                 for g in getattr(layer, "_seed_generators", [])]
        trainer = _TRAINERS[key] = _Trainer(copy, view, seeds)
    if batch_size not in trainer.compiled:
        with backend.compile_clock():
            (_, lookback, n_in), (_, horizon, n_out) = model.input_shape, model.output_shape
            x = np.zeros((batch_size, lookback, n_in), np.float32)
            y = np.zeros((batch_size, horizon, n_out), np.float32)
            if keras.backend.backend() == "tensorflow":  # shaped as _tf_feed's batches: no retracing later
                import tensorflow as tf

                zeros = tf.data.Dataset.from_tensors((x, y))
            else:
                zeros = _OneBatch(x, y)
            trainer.view.fit(zeros, epochs=1, verbose=0, shuffle=False)
        trainer.compiled.add(batch_size)
    trainer.model.set_weights(model.get_weights())
    open_guards(trainer.model)  # the change is learned as itself; share and gate are fitted afterwards
    optimizer = trainer.view.optimizer
    if optimizer.built:
        for variable in optimizer.variables:
            variable.assign(np.zeros(variable.shape, dtype=variable.dtype))
    optimizer.learning_rate.assign(learning_rate)
    for generator, initial in trainer.seeds:
        generator.state.assign(initial)
    return trainer


def fit(model: keras.Model, train: Windows, val: Windows, *, epochs: int, batch_size: int,
        learning_rate: float, patience: int, seed: int, verbose: int = 2,
        targets: np.ndarray | None = None, frozen: Sequence[str] = ()) -> TrainResult:
    """Train `model` in place with Adam on scaled MSE (:func:`lstm_utils.model.loss_weights`); keep
    the best weights, where the weights it started from count as epoch 0: training can keep the
    model as it was or improve it on the validation windows, never make it worse there.

    Early stopping watches the validation windows' loss (or the training loss when `val`
    is empty). Shuffling is drawn from `seed`, so the same call gives the same weights.
    validation always uses the true targets. A forecaster with a gate or a share (`model.gate`,
    `model.share`) trains and is validated with both open (weights 1), so the change is learned as
    itself; the caller fits them afterwards (:func:`lstm_utils.model.fit_guards`).

    Parameters
    ----------
    model
        Trained in place; it ends with the best epoch's weights.
    train, val
        Training windows, and the validation windows that stop it early.
    epochs, batch_size, learning_rate, patience
        Adam's run: at most `epochs`, stopping after `patience` epochs without a better
        validation loss.
    seed
        Seeds shuffling and dropout.
    verbose
        Keras's progress output.
    targets
        (n, horizon, targets): replaces the training windows' true targets (distill).
    frozen
        Names of layers that keep their weights during this fit (the linear path, set in
        closed form); they are trainable again afterwards, so the saved model is the same.
    """
    if len(train) == 0:
        raise ValueError("no training windows: the batch is shorter than lookback + horizon, or gaps break "
                         "every window")
    set_seed(seed)
    begun, compiled_before = time.perf_counter(), backend.compile_seconds()
    for name in frozen:
        model.get_layer(name).trainable = False
    try:
        trainer = _trainer_for(model, learning_rate, batch_size)
    finally:
        for name in frozen:
            model.get_layer(name).trainable = True
    view = trainer.view
    batches = WindowBatches(train, batch_size, shuffle=True, seed=seed, targets=targets, drop_last=True)
    train_data = _feed(batches, model)
    validation = _Validation(trainer.model, val) if len(val) else None
    monitor = "val_loss" if validation is not None else "loss"
    start = validation.loss() if validation is not None else None
    stop = keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, restore_best_weights=True,
                                         baseline=start)
    hist = view.fit(train_data, epochs=epochs, callbacks=[c for c in (validation, stop) if c is not None],
                    verbose=verbose, shuffle=False)
    compiling = backend.compile_seconds() - compiled_before
    seconds = time.perf_counter() - begun - compiling
    losses = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    epochs_run = len(losses["loss"])
    best = int(np.argmin(losses[monitor])) + 1
    if start is not None and losses[monitor][best - 1] >= start:
        best = 0  # no epoch beat the start: the model keeps the weights it came with
    else:
        model.set_weights(trainer.model.get_weights())
    return TrainResult(losses, seconds, epochs_run * len(batches) * batch_size if batches.drop_last
                       else epochs_run * len(train), epochs_run, best, start, compiling)

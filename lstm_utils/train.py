"""One training loop for every model: seeded, deterministic, early-stopped, timed."""

from __future__ import annotations

import time
from dataclasses import dataclass

import keras
import numpy as np

from lstm_utils.model import scaled_view, target_std
from lstm_utils.windows import WindowBatches, Windows


@dataclass
class TrainResult:
    """What a training run did: per-epoch losses, its cost, and where it stopped."""

    history: dict[str, list[float]]  # loss / val_loss per epoch (per-target scaled MSE)
    seconds: float
    windows_seen: int  # training windows fed, summed over epochs
    epochs_run: int
    best_epoch: int  # 1-based; its weights are the ones kept


VAL_BATCH = 4096  # validation windows scored per batch (memory: VAL_BATCH x lookback x inputs floats)


def _quiet_tensorflow() -> None:
    """Drop TensorFlow's Python-side retracing warnings (many predict calls of odd sizes)."""
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")


_quiet_tensorflow()


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and the backend, and ask TensorFlow for deterministic ops."""
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


class _ScaledTargets(keras.utils.PyDataset):
    """Targets divided by each target's std, to match :func:`scaled_view`."""

    def __init__(self, inner: WindowBatches, inv_std: np.ndarray):
        super().__init__(workers=1, use_multiprocessing=False)
        self.inner, self.inv_std = inner, inv_std.astype(np.float32)

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.inner[k]
        return x, y * self.inv_std

    def on_epoch_end(self) -> None:
        self.inner.on_epoch_end()


@dataclass
class _Trainer:
    """A private copy of one architecture with its compiled, traced training step."""

    model: keras.Model
    view: keras.Model
    seeds: list  # (seed generator, its initial state)


_TRAINERS: dict[str, _Trainer] = {}


def _trainer_for(model: keras.Model, learning_rate: float) -> _Trainer:
    """The trainer for `model`'s architecture, reset as if new and loaded with its weights.

    TensorFlow traces a training step once per compiled model (about a second here). Models of
    one architecture (every step of a chain, every retrain) share one trainer, so the trace is
    paid once per process. Everything that carries state between fits is reset: weights,
    optimizer moments and step count, learning rate, and dropout seed generators, so a fit
    gives the same weights as on a brand-new model.
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
    trainer.model.set_weights(model.get_weights())
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
        targets: np.ndarray | None = None) -> TrainResult:
    """Train `model` in place with Adam on per-target scaled MSE; keep the best weights.

    Early stopping watches the validation windows' loss (or the training loss when `val`
    is empty). Shuffling is drawn from `seed`, so the same call gives the same weights.
    `targets` (n, horizon, targets) replaces the training windows' true targets (distill);
    validation always uses the true targets.
    """
    if len(train) == 0:
        raise ValueError("no training windows: the batch is shorter than lookback + horizon, or gaps break "
                         "every window")
    set_seed(seed)
    inv_std = 1.0 / target_std(model)
    trainer = _trainer_for(model, learning_rate)
    view = trainer.view
    batches = WindowBatches(train, batch_size, shuffle=True, seed=seed, targets=targets, drop_last=True)
    train_data = _ScaledTargets(batches, inv_std)
    # validation in one batch when it is small: one shape, one trace
    val_data = _ScaledTargets(WindowBatches(val, max(batch_size, min(len(val), VAL_BATCH))), inv_std) if len(val) else None
    monitor = "val_loss" if val_data is not None else "loss"
    stop = keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, restore_best_weights=True)
    started = time.perf_counter()
    hist = view.fit(train_data, validation_data=val_data, epochs=epochs, callbacks=[stop], verbose=verbose,
                    shuffle=False)
    seconds = time.perf_counter() - started
    model.set_weights(trainer.model.get_weights())
    losses = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    epochs_run = len(losses["loss"])
    best = int(np.argmin(losses[monitor])) + 1
    return TrainResult(losses, seconds, epochs_run * len(batches) * batch_size if batches.drop_last
                       else epochs_run * len(train), epochs_run, best)


def predict(model: keras.Model, windows: Windows, batch_size: int = 512) -> np.ndarray:
    """Forecasts (n, horizon, targets) in the data's units for every window."""
    if len(windows) == 0:
        return np.zeros((0, windows.horizon, len(windows.target_idx)), dtype=np.float32)
    # A direct call per batch, not `model.predict`: predict traces a graph for every model it
    # meets (a fifth of a second), which dominated scoring many models on small test tails.
    parts = [keras.ops.convert_to_numpy(model(windows.arrays(slice(i, i + batch_size))[0], training=False))
             for i in range(0, len(windows), batch_size)]
    return np.concatenate(parts)

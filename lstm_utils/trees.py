"""The gradient-boosted baseline (`trees`): what a user with structured data would fit instead of
an LSTM, so the reports show it beside the LSTM and nobody has to take the LSTM on trust.

LightGBM (the model that won the M5 forecasting competition), one model per target and fitted
horizon step, each learning the target's change from its last observed value. It sees, per
window (:func:`features`), levels as they are: the targets' whole look-back, the other inputs' last
season of steps (the calendar among them, where `data.calendar` adds it), and where in the day
and week the forecast starts (the hour and weekday of the first target, as numbers a tree
splits). Every input's whole look-back cost 2.5 times as much on the sample and was worse held out
on three datasets of four (bench/README.md, "Learning what the trees learn").

Its cost is bounded by `baselines.trees` (trees per model; 0 leaves the baseline out) and
`baselines.trees_every` (one model every k-th horizon step and the last, the changes linearly
interpolated between them). It is deterministic: LightGBM's deterministic mode on a fixed number
of threads, so the same windows give the same bytes on any machine.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_utils import intervals
from lstm_utils.constants import BATCH
from lstm_utils.evaluation import WindowLosses, calibrate, cell
from lstm_utils.files import atomic_path
from lstm_utils.intervals import calibration_batches
from lstm_utils.settings import Params
from lstm_utils.windows import (Windows, calibration_windows, deployed_windows, split_windows, tail_windows)

LEAVES = 31  # LightGBM's default
LEARNING_RATE = 0.1  # with 100 trees (bench/README.md, "Learning what the trees learn")
# each tree on half the windows and half the features, values in 63 bins: 2.5 times faster than
# LightGBM's defaults on the sample, and no worse held out (6.10 against 6.17)
SAMPLING = {"max_bin": 63, "feature_fraction": 0.5, "bagging_fraction": 0.5, "bagging_freq": 1}
THREADS = 2  # fixed, so that the histograms sum in the same order on every machine
CHUNK = 8192  # windows cut into arrays at a time


def features(windows: Windows, recent: int, which: np.ndarray | slice | None = None) -> np.ndarray:
    """What the trees see, (n, features) float32: the targets' look-back and the other inputs'
    last `recent` steps (at most the look-back), flattened step by step, then the hour (with
    minutes, as a fraction) and weekday of each window's first target."""
    x, _ = windows.arrays(which)
    times = windows.target_times() if which is None else windows.index[windows.starts[which]]
    clock = np.stack([times.hour + times.minute / 60, times.day_of_week], axis=1)
    others = np.setdiff1d(np.arange(x.shape[2]), windows.target_idx)
    return np.concatenate([x[:, :, windows.target_idx].reshape(len(x), -1),
                           x[:, -min(recent, x.shape[1]):, others].reshape(len(x), -1), clock], axis=1).astype(np.float32)


def fitted_steps(horizon: int, every: int) -> list[int]:
    """The horizon steps (0-based) that get a model: every `every`-th, and the last.

    Examples
    --------
    >>> fitted_steps(24, 6)
    [0, 6, 12, 18, 23]
    >>> fitted_steps(3, 1)
    [0, 1, 2]
    """
    return sorted(set(range(0, horizon, every)) | {horizon - 1})


def interpolation(horizon: int, steps: Sequence[int]) -> np.ndarray:
    """(len(steps), horizon): each horizon step as the linear blend of the fitted steps around
    it (the identity where every step is fitted)."""
    out = np.zeros((len(steps), horizon))
    for h in range(horizon):
        k = int(np.searchsorted(steps, h))
        if steps[k] == h:
            out[k, h] = 1.0
        else:
            w = (h - steps[k - 1]) / (steps[k] - steps[k - 1])
            out[k - 1, h], out[k, h] = 1.0 - w, w
    return out


def _settings(seed: int) -> dict:
    return {"objective": "l2", "num_leaves": LEAVES, "learning_rate": LEARNING_RATE, "deterministic": True,
            "force_row_wise": True, "num_threads": THREADS, "seed": seed, "verbose": -1} | SAMPLING


@dataclass(frozen=True)
class Trees:
    """The fitted baseline: a LightGBM booster per target and fitted horizon step."""

    boosters: tuple[tuple[object, ...], ...]  # [target][fitted step]
    steps: tuple[int, ...]
    horizon: int
    recent: int  # the other inputs' steps seen (:func:`features`)

    @classmethod
    def fit(cls, windows: Windows, trees: int, every: int = 1, seed: int = 0, recent: int = 24) -> Trees:
        """Fit on `windows` (every one a training example): `trees` trees per model, a model every
        `every`-th horizon step and the last; the other inputs' last `recent` steps seen
        (`baselines.season`)."""
        lightgbm = _lightgbm()
        if len(windows) == 0:
            raise ValueError("the trees baseline needs at least one window to learn from")
        x = np.concatenate([features(windows, recent, slice(i, i + CHUNK)) for i in range(0, len(windows), CHUNK)])
        y = windows.targets()
        last = windows.values[windows.starts - 1][:, windows.target_idx]
        steps = fitted_steps(windows.horizon, every)
        data = lightgbm.Dataset(x, free_raw_data=False, params={"verbose": -1, "num_threads": THREADS,
                                                                "max_bin": SAMPLING["max_bin"]})
        boosters = []
        for j in range(len(windows.target_idx)):
            per_step = []
            for h in steps:
                data.set_label((y[:, h, j] - last[:, j]).astype(np.float64))
                per_step.append(lightgbm.train(_settings(seed), data, num_boost_round=trees))
            boosters.append(tuple(per_step))
        return cls(tuple(boosters), tuple(steps), windows.horizon, recent)

    def predict(self, windows: Windows) -> np.ndarray:
        """Forecasts in the data's units, (n, horizon, targets)."""
        out = np.empty((len(windows), self.horizon, len(self.boosters)))
        blend = interpolation(self.horizon, self.steps)
        for i in range(0, len(windows), CHUNK):
            part = slice(i, i + CHUNK)
            x = features(windows, self.recent, part)
            last = windows.values[windows.starts[part] - 1][:, windows.target_idx].astype(np.float64)
            for j, per_step in enumerate(self.boosters):
                change = np.stack([b.predict(x, num_threads=THREADS) for b in per_step], axis=1)
                out[part, :, j] = change @ blend + last[:, j:j + 1]
        return out


def learned_windows(frame: pd.DataFrame, params: Params, t: int) -> Windows:
    """What the trees fitted at step t learn from: every window whose targets lie in batches 0..t
    (the windows across split boundaries too), but the test tails, which score them, and the
    validation tails that calibrate the intervals after this step (the newest
    `intervals.calibration_batches`). Unlike the ridge (`linear_learns: all`), they leave the test
    tails out: trees can learn a window by heart, and their test-tail figures would then say nothing."""
    every = reduce(lambda a, b: a.concat(b), [deployed_windows(frame, params, k) for k in range(t + 1)])
    held = np.concatenate([split_windows(frame, params, "test", list(range(t + 1))).starts,
                           split_windows(frame, params, "val",
                                         calibration_batches(t, params.intervals.calibration_batches)).starts])
    return every.subset(np.flatnonzero(~np.isin(every.starts, held)))


class Kept:
    """The trees' work kept between runs (the compare stage's persistent `state/trees`), so that a
    new batch costs one fit, not the whole chain. Per step, identified by the data of batches
    0..t, the settings and the code (:func:`lstm_utils.stepcache.code_version`): its cells on the
    test tails up to its batch and its intervals' half-widths; per step and the batch after it, its
    cell on that batch's test tail and its deployed losses there; and the newest step's models
    (LightGBM's text, gzipped), which the next batch is deployed on. Each JSON file carries the
    SHA-256 of its content: a damaged one is computed again, with a warning line."""

    def __init__(self, folder: str | Path):
        from lstm_utils.stepcache import StepCache

        self.files = StepCache(Path(folder), "trees")  # its sealed JSON files; no Keras models here
        self.folder = self.files.folder

    def read(self, key: str) -> dict | None:
        path = self.folder / f"{key}.json"
        if not path.is_file():
            return None
        content = self.files._read(path, "it is computed again")
        if content is not None:
            self.files.used.add(key)
        return content

    def write(self, key: str, content: dict) -> None:
        self.files._write(self.folder / f"{key}.json", content)
        self.files.used.add(key)

    def model(self, key: str, horizon: int) -> Trees | None:
        """The models of a step, if kept (and intact)."""
        path = self.folder / f"{key}{MODELS}"
        if not path.is_file():
            return None
        lightgbm = _lightgbm()
        try:
            content = json.loads(gzip.decompress(path.read_bytes()).decode("utf-8"))
            boosters = tuple(tuple(lightgbm.Booster(model_str=text) for text in per_step)
                             for per_step in content["boosters"])
        except (OSError, ValueError, KeyError, lightgbm.basic.LightGBMError) as exc:
            self.files._warn(path, f"unreadable ({type(exc).__name__})", "the step is fitted again")
            return None
        self.files.used.add(key)
        return Trees(boosters, tuple(content["steps"]), horizon, int(content["recent"]))

    def save_model(self, key: str, fitted: Trees) -> None:
        text = json.dumps({"steps": list(fitted.steps), "recent": fitted.recent,
                           "boosters": [[b.model_to_string() for b in per_step] for per_step in fitted.boosters]})
        with atomic_path(self.folder / f"{key}{MODELS}") as tmp:
            tmp.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
        self.files.used.add(key)

    def prune(self, newest: str | None = None) -> None:
        """Delete what this run did not use (older data, settings or code), and every step's models
        but the `newest` step's."""
        for path in self.folder.iterdir():
            key = path.name.split(".")[0]
            if key not in self.files.used or (path.name.endswith(MODELS) and key != newest):
                path.unlink()


MODELS = ".trees.gz"  # a kept step's models


def _batch_digests(frame: pd.DataFrame) -> list[str]:
    """A SHA-256 per batch of its rows (values, times, splits)."""
    return [hashlib.sha256(pd.util.hash_pandas_object(part, index=True).to_numpy().tobytes()).hexdigest()
            for _, part in frame.groupby(BATCH, sort=True)]


def chain(frame: pd.DataFrame, params: Params, folder: str | Path | None = None) -> dict:
    """The `trees` baseline over the chain of batches, recorded like the ridge's
    (:func:`lstm_utils.baselines.refit_chain`): at step t, :class:`Trees` fitted on
    :func:`learned_windows` up to t, its intervals calibrated as the ridge's, scored on the test
    tails of batches 0..t+1 (cells further right stay empty: a step's models are kept only until
    the next batch) and deployed on batch t+1. With `folder` (:class:`Kept`), what an earlier run
    computed from the same data is reused, to the same bytes. `final`: the last step's models;
    `fitted`: the steps fitted in this run; `seconds`: their time."""
    from lstm_utils.stepcache import code_version

    n = int(frame[BATCH].max()) + 1
    b, targets = params.baselines, params.data.targets
    levels = list(params.intervals.levels)
    names = [intervals.level_name(q) for q in levels]
    kept = Kept(folder) if folder is not None else None
    settings = {"trees": b.trees, "every": b.trees_every, "recent": b.season, "seed": params.train.seed,
                "inputs": list(params.data.inputs),
                "targets": list(targets), "window": params.section("window"), "intervals": params.section("intervals"),
                "code": code_version(), "lightgbm": _lightgbm_version()}
    data = _batch_digests(frame)
    keys = [hashlib.sha256(json.dumps(settings | {"data": data[:t + 1]}, sort_keys=True).encode()).hexdigest()[:32]
            for t in range(n)]
    tests = tail_windows(frame, params, n)
    rmse, mae = np.full((n, n), np.nan), np.full((n, n), np.nan)
    cover = {level: {m: np.full((n, n), np.nan) for m in intervals.MEASURES} for level in names}
    deployed, fitted_steps_, seconds = [], [], 0.0

    def put(t: int, k: int, values: list[float] | None) -> None:
        if values is None:
            return
        rmse[t, k], mae[t, k] = values[:2]
        for j, (level, m) in enumerate((level, m) for level in names for m in intervals.MEASURES):
            cover[level][m][t, k] = values[2 + j]

    fitted = None
    for t in range(n):
        own = kept.read(keys[t]) if kept else None
        ahead_key = f"{keys[t]}-{keys[t + 1]}" if t + 1 < n else None
        ahead = kept.read(ahead_key) if kept and ahead_key else None
        fitted = None
        if own is None or (ahead_key and ahead is None) or t == n - 1:
            fitted = kept.model(keys[t], params.window.horizon) if kept else None
            if fitted is None:
                start = time.perf_counter()
                fitted = Trees.fit(learned_windows(frame, params, t), b.trees, b.trees_every, params.train.seed,
                                   b.season)
                seconds += time.perf_counter() - start
                fitted_steps_.append(t)
        if own is None:
            calibration = calibration_windows(frame, params, t)
            widths = calibrate(calibration, fitted.predict(calibration), levels)
            own = {"cells": {str(k): cell(tests[k], fitted.predict(tests[k]), targets, widths)
                             for k in range(t + 1) if len(tests[k])},
                   "widths": {repr(q): w.tolist() for q, w in widths.items()}}
            if kept:
                kept.write(keys[t], own)
        widths = {float(q): np.asarray(w, dtype=np.float64) for q, w in own["widths"].items()}
        for k, values in own["cells"].items():
            put(t, int(k), values)
        if ahead_key:
            if ahead is None:
                windows = deployed_windows(frame, params, t + 1)
                ahead = {"cell": cell(tests[t + 1], fitted.predict(tests[t + 1]), targets, widths)
                         if len(tests[t + 1]) else None,
                         "deployed": WindowLosses.of(windows, fitted.predict(windows), widths).record()}
                if kept:
                    kept.write(ahead_key, ahead)
            put(t, t + 1, ahead["cell"])
            deployed.append(WindowLosses.from_record(ahead["deployed"]))
    if kept:
        if fitted is not None:
            kept.save_model(keys[-1], fitted)  # the next batch is deployed on it
        kept.prune(keys[-1])
    return {"rmse": rmse, "mae": mae, "intervals": cover, "deployed": deployed, "final": fitted,
            "fitted": fitted_steps_, "seconds": seconds}


def _lightgbm_version() -> str:
    return _lightgbm().__version__


def _lightgbm():
    """LightGBM, or a clear error where its OpenMP runtime is missing (a slim container)."""
    try:
        import lightgbm
    except OSError as exc:  # lib_lightgbm.so links the system's libgomp.so.1
        from lstm_utils.errors import ParamsError

        raise ParamsError(f"the trees baseline cannot load LightGBM ({exc})",
                          hint="install the OpenMP runtime (Debian or Ubuntu: apt install libgomp1), or set "
                               "`baselines.trees: 0` to leave the trees baseline out", key="baselines.trees") from None
    return lightgbm

"""The stream of updates: step t turns the model after step t-1 into the model after step t,
using batch t; step 0 is the base model. Every strategy runs the whole chain this way."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np
import pandas as pd

from lstm_utils import strategies
from lstm_utils.config import Params
from lstm_utils.evaluate import error_matrix, test_windows
from lstm_utils.ingest import BATCH
from lstm_utils.stepcache import StepCache


@dataclass
class StepRecord:
    """What one update step did and cost."""

    step: int
    batch: str
    train_seconds: float
    windows_seen: int
    info: dict = field(default_factory=dict)
    history: dict = field(default_factory=dict)


@dataclass
class Chain:
    """A strategy's models after every step (index 0: the base model) and their errors."""

    strategy: str
    batches: list[str]  # batch names, index = batch number
    models: list[keras.Model | None]  # None: a reused step's model that was not needed (it stays in state/)
    steps: list[StepRecord]
    rmse: np.ndarray | None = None  # (steps + 1, batches): model after step t on batch k's test tail
    mae: np.ndarray | None = None

    @property
    def final(self) -> keras.Model:
        return self.models[-1]


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_chain(strategy: str, base: keras.Model, frame: pd.DataFrame, params: Params, names: dict[int, str],
              verbose: int = 0, progress: Callable[[str], None] = _say, cache: StepCache | None = None,
              base_hash: str = "", data_hashes: list[str] | None = None) -> Chain:
    """Apply `strategy` once per later batch, in time order, then score every model on every
    batch's test tail. `progress` gets one line per step (stderr by default).

    With a `cache`, a step already computed from the same previous model (`base_hash` for the
    first), the same prepared data (`data_hashes`, one per batch) and the same params is loaded
    instead of trained; its record keeps the seconds it cost when it was computed. Its model
    is loaded only if a later step trains from it or an error-matrix cell needs it: cells are
    kept in the cache too, keyed by model and data, so a new batch costs one new row and column.
    """
    update = strategies.get(strategy)
    n = int(frame[BATCH].max()) + 1
    chain = Chain(strategy, [names.get(b, str(b)) for b in range(n)], [base], [])
    hashes, keys = [base_hash], [""]  # per model: file hash, and the cache key of a reused step
    used = strategies.params_used(strategy, params.raw) if cache is not None else {}
    models: list[keras.Model | None] = [base]  # None: kept in the cache, loaded only if needed

    def model_at(i: int) -> keras.Model:
        if models[i] is None:
            models[i] = cache.model(keys[i])
        return models[i]

    for t in range(1, n):
        key = cache.key(strategy, hashes[-1], (data_hashes or [])[:t + 1], used) if cache is not None else ""
        hit = cache.record(key) if cache is not None else None
        if hit is not None:
            record, digest = hit
            model = None
            rec = StepRecord(t, chain.batches[t], record["train_seconds"], record["windows_seen"], record["info"])
            note = "reused"
        else:
            started = time.perf_counter()
            result = update(model_at(t - 1), strategies.Step(frame, params, t, verbose))
            seconds = time.perf_counter() - started
            model, digest = result.model, ""
            rec = StepRecord(t, chain.batches[t], seconds, result.windows_seen, result.info, result.history)
            if cache is not None:
                digest = cache.save(key, model, {"step": t, "batch": rec.batch, "train_seconds": seconds,
                                                 "windows_seen": rec.windows_seen, "info": rec.info})
                # go on from the model as saved, as a later run that reuses this step will
                model = cache.model(key)
            note = "trained"
        models.append(model)
        hashes.append(digest)
        keys.append(key)
        chain.steps.append(rec)
        progress(f"{strategy}: step {t}/{n - 1} ({chain.batches[t]}): {note}, {rec.train_seconds:.1f} s, "
                 f"{rec.windows_seen} windows seen")
    tests = test_windows(frame, params, n)
    known: dict[tuple[int, int], tuple[float, float]] = {}
    if cache is not None:
        cache.prune()
        window = {"lookback": params.window.lookback, "horizon": params.window.horizon,
                  "inputs": list(params.data.inputs), "targets": list(params.data.targets)}
        cells = {(i, k): cache.score_key(hashes[i], (data_hashes or [])[:k + 1], window)
                 for i in range(n) for k in range(n)}
        kept = cache.scores()
        known = {cell: tuple(kept[key]) for cell, key in cells.items() if key in kept}
    needed = {i for i in range(n) for k in range(n) if (i, k) not in known and len(tests[k])} | {n - 1}
    chain.models = [model_at(i) if i in needed else models[i] for i in range(n)]
    scores = error_matrix(chain.models, tests, params.data.targets, known)
    if cache is not None:
        cache.save_scores({key: [float(scores["rmse"][cell]), float(scores["mae"][cell])]
                           for cell, key in cells.items() if not np.isnan(scores["rmse"][cell])})
    chain.rmse, chain.mae = scores["rmse"], scores["mae"]
    return chain

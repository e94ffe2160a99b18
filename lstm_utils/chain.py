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
    models: list[keras.Model]
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
    instead of trained; its record keeps the seconds it cost when it was computed.
    """
    update = strategies.get(strategy)
    n = int(frame[BATCH].max()) + 1
    chain = Chain(strategy, [names.get(b, str(b)) for b in range(n)], [base], [])
    previous = base_hash
    used = strategies.params_used(strategy, params.raw) if cache is not None else {}
    for t in range(1, n):
        key = cache.key(strategy, previous, (data_hashes or [])[:t + 1], used) if cache is not None else ""
        hit = cache.load(key) if cache is not None else None
        if hit is not None:
            model, record, previous = hit
            rec = StepRecord(t, chain.batches[t], record["train_seconds"], record["windows_seen"], record["info"])
            note = "reused"
        else:
            started = time.perf_counter()
            result = update(chain.models[-1], strategies.Step(frame, params, t, verbose))
            seconds = time.perf_counter() - started
            model = result.model
            rec = StepRecord(t, chain.batches[t], seconds, result.windows_seen, result.info, result.history)
            if cache is not None:
                previous = cache.save(key, model, {"step": t, "batch": rec.batch, "train_seconds": seconds,
                                                   "windows_seen": rec.windows_seen, "info": rec.info})
                # go on from the model as saved, as a later run that reuses this step will
                model = cache.load(key)[0]
            note = "trained"
        chain.models.append(model)
        chain.steps.append(rec)
        progress(f"{strategy}: step {t}/{n - 1} ({chain.batches[t]}): {note}, {rec.train_seconds:.1f} s, "
                 f"{rec.windows_seen} windows seen")
    if cache is not None:
        cache.prune()
    scores = error_matrix(chain.models, test_windows(frame, params, n), params.data.targets)
    chain.rmse, chain.mae = scores["rmse"], scores["mae"]
    return chain

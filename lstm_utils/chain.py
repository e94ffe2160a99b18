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
              verbose: int = 0, progress: Callable[[str], None] = _say) -> Chain:
    """Apply `strategy` once per later batch, in time order, then score every model on every
    batch's test tail. `progress` gets one line per step (stderr by default)."""
    update = strategies.get(strategy)
    n = int(frame[BATCH].max()) + 1
    chain = Chain(strategy, [names.get(b, str(b)) for b in range(n)], [base], [])
    for t in range(1, n):
        started = time.perf_counter()
        result = update(chain.models[-1], strategies.Step(frame, params, t, verbose))
        seconds = time.perf_counter() - started
        chain.models.append(result.model)
        chain.steps.append(StepRecord(t, chain.batches[t], seconds, result.windows_seen, result.info, result.history))
        progress(f"{strategy}: step {t}/{n - 1} ({chain.batches[t]}): {seconds:.1f} s, "
                 f"{result.windows_seen} windows seen")
    scores = error_matrix(chain.models, test_windows(frame, params, n), params.data.targets)
    chain.rmse, chain.mae = scores["rmse"], scores["mae"]
    return chain

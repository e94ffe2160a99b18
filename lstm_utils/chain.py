"""The stream of updates: step t turns the model after step t-1 into the model after step t,
using batch t; step 0 is the base model. Every strategy runs the whole chain this way.

Two verbs: :func:`advance` applies a strategy once per later batch (reusing steps kept from an
earlier run), and :func:`score` fills the error matrix, every model on every batch's test tail,
and the deployed losses, each model on every window of the batch after it, before it learns
that batch (reusing kept cells). :func:`run_chain` does both.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lstm_utils import strategies
from lstm_utils._keras import keras
from lstm_utils.backend import compile_seconds
from lstm_utils.evaluation import WindowLosses, calibrate
from lstm_utils.linear import BatchSums
from lstm_utils.intervals import level_name
from lstm_utils.model import predict
from lstm_utils.scoring import cell_values, matrix_scores
from lstm_utils.settings import Params
from lstm_utils.splits import BATCH
from lstm_utils.stepcache import NoMemory, StepCache
from lstm_utils.windows import calibration_windows, deployed_windows, tail_windows


@dataclass
class StepRecord:
    """What one update step did and cost, and whether it was reused from the step state."""

    step: int
    batch: str
    train_seconds: float  # as measured when the step was computed (a reused step keeps them), compiling aside
    windows_seen: int
    reused: bool = False
    info: dict = field(default_factory=dict)
    history: dict = field(default_factory=dict)
    compile_seconds: float = 0.0  # compiling a training step or forecast function, first use in the process


@dataclass
class Chain:
    """A strategy's models after every step (index 0: the base model) and their errors."""

    strategy: str
    batches: list[str]  # batch names, index = batch number
    models: list[keras.Model | None]  # None: a reused step's model not loaded (it stays in the step state)
    steps: list[StepRecord]
    hashes: list[str] = field(default_factory=list)  # per model: SHA-256 of its .keras bytes ("" if unknown)
    keys: list[str] = field(default_factory=list)  # per model: its step's cache key ("" for the base)
    rmse: np.ndarray | None = None  # (steps + 1, batches): model after step t on batch k's test tail
    mae: np.ndarray | None = None
    half_widths: list[dict[float, np.ndarray]] = field(default_factory=list)  # per model: {level: (horizon, targets)}
    calibration_windows: list[int] = field(default_factory=list)  # per model: windows its intervals came from
    intervals: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # level -> measure -> like rmse
    test_windows: list[int] = field(default_factory=list)  # per batch: its test tail's windows
    deployed: list[WindowLosses] = field(default_factory=list)  # per batch t >= 1: the model after t-1 on it
    series_scales: dict[str, list[float]] = field(default_factory=dict)  # several series: each one's scale

    @property
    def final(self) -> keras.Model:
        return self.models[-1]


def _say(message: str) -> None:
    print(message, flush=True)


def advance(strategy: str, base: keras.Model, frame: pd.DataFrame, params: Params, names: dict[int, str],
            verbose: int = 0, progress: Callable[[str], None] = _say, cache: StepCache | None = None,
            base_hash: str = "", data_hashes: list[str] | None = None) -> Chain:
    """Apply `strategy` once per later batch, in time order; `progress` gets one line per step.

    Parameters
    ----------
    strategy
        A strategy's name (:mod:`lstm_utils.strategies`).
    base
        The model before step 1.
    frame
        The prepared batches, with `batch` and `split` columns.
    params
        Every setting.
    names
        A readable name per batch number.
    verbose
        Keras's progress output inside each step.
    progress
        Called with one line per step (printed by default).
    cache
        The strategy's step state (None: :class:`~lstm_utils.stepcache.NoMemory`, every step
        computed, nothing kept): a step already computed from the same previous model
        (`base_hash` for the first), the same prepared data (`data_hashes`, one per batch), the
        same params keys the strategy reads and the same code is reused, not trained; its
        model is loaded only when a later step trains from it.
    base_hash, data_hashes
        SHA-256 of the base model's file and of each prepared batch file.
    """
    spec = strategies.get(strategy)
    memory = cache if cache is not None else NoMemory()
    sums = BatchSums(frame, params)  # the linear part's sums per batch, shared by the steps
    n = int(frame[BATCH].max()) + 1
    chain = Chain(strategy, [names.get(b, str(b)) for b in range(n)], [base], [], [base_hash], [""])
    used = spec.used(params.raw)
    for t in range(1, n):
        key = memory.key(chain.hashes[-1], (data_hashes or [])[:t + 1], used)
        hit = memory.record(key)
        if hit is not None:
            record, digest = hit
            model = None
            rec = StepRecord(t, chain.batches[t], record["train_seconds"], record["windows_seen"], True, record["info"],
                             compile_seconds=record.get("compile_seconds", 0.0))
        else:
            started, compiled_before = time.perf_counter(), compile_seconds()
            result = spec.update(model_at(chain, t - 1, memory), strategies.Step(frame, params, t, verbose, sums))
            compiling = compile_seconds() - compiled_before
            seconds = time.perf_counter() - started - compiling
            rec = StepRecord(t, chain.batches[t], seconds, result.windows_seen, False, result.info, result.history,
                             compiling)
            # go on from the model as kept, as a later run that reuses this step will
            model, digest = memory.keep(key, result.model, {
                "step": t, "batch": rec.batch, "train_seconds": seconds, "compile_seconds": compiling,
                "windows_seen": rec.windows_seen, "info": rec.info})
        chain.models.append(model)
        chain.hashes.append(digest)
        chain.keys.append(key)
        chain.steps.append(rec)
        progress(f"{strategy}: step {t}/{n - 1} ({rec.batch}): " + step_words(rec))
    return chain


def model_at(chain: Chain, i: int, memory: StepCache | NoMemory) -> keras.Model:
    """The model after step `i`, loaded from the step state if it was not needed so far."""
    if chain.models[i] is None:
        chain.models[i] = memory.model(chain.keys[i])
    return chain.models[i]


def score(chain: Chain, frame: pd.DataFrame, params: Params, cache: StepCache | None = None,
          data_hashes: list[str] | None = None) -> Chain:
    """Calibrate every model's intervals, fill the chain's error and coverage matrices (every
    model on every batch's test tail) and its deployed losses (for each batch t >= 1, the model
    after step t-1, with the intervals calibrated at that step, on every window whose targets lie
    in batch t: :func:`lstm_utils.windows.deployed_windows`).

    Parameters
    ----------
    chain
        What :func:`advance` returned; its `rmse`, `mae`, `half_widths`, `calibration_windows`,
        `intervals`, `test_windows` and `deployed` are set.
    frame, params
        The prepared batches and every setting.
    cache, data_hashes
        The strategy's step state and the SHA-256 of each prepared batch file: cells kept from
        an earlier run (identified by the model's hash, the prepared data up to the batch, the
        window and `intervals` settings and the data the model's intervals were calibrated on)
        are not computed again, so a new batch costs one new row and one new column, and one
        set of deployed losses; nor are kept calibrations. The cells, deployed losses and
        calibrations of this chain are then kept, and the steps this run did not use are
        deleted. The last model is always loaded.
    """
    n = len(chain.models)
    tests = tail_windows(frame, params, n)
    levels = list(params.intervals.levels)
    count = params.intervals.calibration_batches
    widths: list[dict[float, np.ndarray] | None] = [None] * n
    sizes = [0] * n
    memory = cache if cache is not None else NoMemory()
    memory.prune()
    data = data_hashes or []
    window = {"lookback": params.window.lookback, "horizon": params.window.horizon,
              "inputs": list(params.data.inputs), "targets": list(params.data.targets),
              "intervals": {"levels": levels, "calibration_batches": count}}
    cells = {(i, k): memory.score_key(chain.hashes[i], data[:k + 1], window | {"calibrated_on": data[:i + 1]})
             for i in range(n) for k in range(n)}
    kept = memory.scores()
    known = {cell: [np.inf if v is None else v for v in kept[key]] for cell, key in cells.items() if key in kept}
    calib_keys = {i: memory.score_key(chain.hashes[i], data[:i + 1], window | {"calibrates": True}) for i in range(n)}
    saved = memory.calibrations()
    for i, key in calib_keys.items():
        if key in saved:  # infinite half-widths were kept as null
            widths[i] = {q: np.nan_to_num(np.array(saved[key]["half_widths"][level_name(q)], dtype=float),
                                          nan=np.inf) for q in levels}
            sizes[i] = saved[key]["windows"]
    ahead_keys = {t: memory.score_key(chain.hashes[t - 1], data[:t + 1], window | {
        "calibrated_on": data[:t], "deployed": True}) for t in range(1, n)}
    losses = memory.deployed()
    ahead = {t: WindowLosses.from_record(losses[key]) for t, key in ahead_keys.items() if key in losses}
    needed = {i for i in range(n) for k in range(n) if (i, k) not in known and len(tests[k])}
    needed |= {i for i in range(n) if widths[i] is None} | {n - 1} | {t - 1 for t in range(1, n) if t not in ahead}
    for i in sorted(needed):
        model_at(chain, i, memory)
        if widths[i] is None:
            windows = calibration_windows(frame, params, i)
            widths[i] = calibrate(windows, predict(chain.models[i], windows), levels)
            sizes[i] = len(windows)
    scores = matrix_scores(chain.models, tests, params.data.targets, known, widths)
    for t in range(1, n):
        if t not in ahead:
            windows = deployed_windows(frame, params, t)
            ahead[t] = WindowLosses.of(windows, predict(chain.models[t - 1], windows), widths[t - 1])
    memory.save_scores({key: cell_values(scores, cell) for cell, key in cells.items()
                        if not np.isnan(scores["rmse"][cell])})
    memory.save_calibrations({calib_keys[i]: {"windows": sizes[i], "half_widths": {
        level_name(q): w.tolist() for q, w in widths[i].items()}} for i in range(n)})
    memory.save_deployed({key: ahead[t].record() for t, key in ahead_keys.items()})
    chain.rmse, chain.mae, chain.intervals = scores["rmse"], scores["mae"], scores["intervals"]
    chain.half_widths, chain.calibration_windows = widths, sizes
    chain.test_windows = [len(w) for w in tests]
    chain.deployed = [ahead[t] for t in range(1, n)]
    chain.series_scales = tests[0].scale_table()  # every row's scale is in any windows of the frame
    return chain


def run_chain(strategy: str, base: keras.Model, frame: pd.DataFrame, params: Params, names: dict[int, str],
              verbose: int = 0, progress: Callable[[str], None] = _say, cache: StepCache | None = None,
              base_hash: str = "", data_hashes: list[str] | None = None) -> Chain:
    """:func:`advance`, then :func:`score`; the parameters are :func:`advance`'s."""
    chain = advance(strategy, base, frame, params, names, verbose, progress, cache, base_hash, data_hashes)
    return score(chain, frame, params, cache, data_hashes)


def step_words(rec: StepRecord) -> str:
    """How a step went, for the progress line: reused from the step state (its seconds are the
    original run's, not spent now), nothing learned (`none`), or trained, with its cost."""
    if rec.reused:
        return f"reused from the step state (trained in {rec.train_seconds:.1f} s when computed)"
    if rec.windows_seen == 0:
        return "nothing to train (the model is kept)"
    return (f"trained, {rec.train_seconds:.1f} s, {rec.windows_seen} windows seen"
            + (f" ({rec.compile_seconds:.1f} s compiling)" if rec.compile_seconds >= 0.05 else ""))

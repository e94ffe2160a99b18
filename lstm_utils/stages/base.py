"""The base stage (notebooks/base.ipynb): train the base model on the base period, reusing an
earlier run's when its data, params and code match, and save it with its sidecar and metrics."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lstm_utils import intervals
from lstm_utils.artifacts import make_sidecar, save_model
from lstm_utils.files import sha256_file, write_json
from lstm_utils.from_scratch import Run, train_new
from lstm_utils.settings import Params, raw_value
from lstm_utils.stepcache import StepCache
from lstm_utils.train import TrainResult
from lstm_utils.windows import Windows, split_windows

if TYPE_CHECKING:
    from lstm_utils.trees import Trees


# The params keys the base stage reads (dvc.yaml lists the same; a test checks).
BASE_KEYS = ("data.targets", "data.features", "data.freq", "data.timezone", "window", "model", "train", "baselines")


@dataclass
class BaseRun:
    """The base model's training run, and the file it is kept in when the base stage has a state
    folder (its bytes are the model's: a reused model is copied from there, never re-saved)."""

    run: Run
    reused: bool
    kept: Path | None = None


def train_base(frame: pd.DataFrame, params: Params, base_csv: str | Path, state_dir: str | Path | None = None,
               verbose: int = 2) -> BaseRun:
    """The base model, trained on batch 0 with the `train` settings.

    With `state_dir` (the base stage's persistent `state/base`), a model trained by an earlier
    run from the same prepared base file, the same :data:`BASE_KEYS` and the same code (strategy
    modules aside) is loaded instead, with its training record (learning curves, seconds).
    """
    cache = StepCache(state_dir) if state_dir is not None else None
    if cache is None:
        return BaseRun(train_new(frame, params, [0], verbose=verbose), False)
    key = cache.key("", [sha256_file(base_csv)], {k: raw_value(params.raw, k) for k in BASE_KEYS})
    hit = cache.record(key)
    if hit is not None:
        train, val = (split_windows(frame, params, split, [0]) for split in ("train", "val"))
        run = Run(cache.model(key), TrainResult(**hit[0]), train, val)
    else:
        run = train_new(frame, params, [0], verbose=verbose)
        cache.save(key, run.model, asdict(run.result))
    cache.prune()
    return BaseRun(run, hit is not None, cache.folder / f"{key}.keras")

def base_trees(frame: pd.DataFrame, params: Params) -> Trees | None:
    """The gradient-boosted baseline on the base period, as the compare stage's first step fits it
    (:func:`lstm_utils.trees.learned_windows`); None with `baselines.trees: 0`."""
    if params.baselines.trees == 0:
        return None
    from lstm_utils.trees import Trees, learned_windows

    b = params.baselines
    return Trees.fit(learned_windows(frame, params, 0), b.trees, b.trees_every, params.train.seed, b.season)


def save_base(base: BaseRun, test: Windows, scores: dict[str, dict], params: Params, base_csv: str | Path,
              meta: dict, models_dir: str | Path = "models", reports_dir: str | Path = "reports",
              widths: dict[float, np.ndarray] | None = None) -> Path:
    """Save the base model with its sidecar, `reports/base_metrics.json` (its errors and the
    baselines' on the base test tail, and the window counts) and `reports/cost/base.json`
    (training seconds: they vary, so no later stage reads them). Returns the model's path.

    Parameters
    ----------
    base
        The base model's training run (:func:`train_base`).
    test, scores
        The base test tail's windows, and the scores on it (:func:`lstm_utils.scoring.score_forecasters`;
        their intervals' coverage, width and score go to the metrics too).
    params
        Every setting (recorded in the sidecar).
    base_csv, meta
        The prepared base-period file and its batch entries (the data files it came from).
    models_dir, reports_dir
        Where the model and the metrics go.
    widths
        The model's interval half-widths per level, calibrated on its validation tail (kept in
        its sidecar).
    """
    run = base.run
    metrics = {"test": {name: {"rmse": s["rmse"], "mae": s["mae"]}
                        | ({"intervals": {q: {m: v[m] for m in intervals.MEASURES} for q, v in s["intervals"].items()}}
                           if "intervals" in s else {}) for name, s in scores.items()},
               "windows": {"train": len(run.train), "val": len(run.val), "test": len(test)}}
    sources = {str(base_csv): sha256_file(base_csv)} | {f"data/{name}": sha for b in meta["batches"]
                                                        for name, sha in b["sources"].items()}
    path = Path(models_dir) / "base.keras"
    side = make_sidecar("base", None, params, sources, metrics)
    if widths is not None:
        side["intervals"] = intervals.to_record(widths, params.data.targets, len(run.val), [meta["batches"][0]["name"]],
                                                test.scale_table())
    save_model(run.model, path, side, copy_of=base.kept)
    write_json(Path(reports_dir) / "base_metrics.json", metrics)
    r = run.result
    write_json(Path(reports_dir) / "cost" / "base.json",
               {"train_seconds": r.seconds, "compile_seconds": r.compile_seconds, "epochs": r.epochs_run,
                "windows_seen": r.windows_seen})
    return path

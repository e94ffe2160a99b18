"""What the strategy and compare notebooks do, as functions: load the prepared batches, run a
strategy's chain and save it, collect every strategy's results, choose and save the champion."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_utils.artifacts import load_model, make_sidecar, save_model, sidecar_path, write_json
from lstm_utils.atomic import atomic_path
from lstm_utils.baselines import naive_forecasts
from lstm_utils.chain import Chain, run_chain
from lstm_utils.compare import champion, summarize, summarize_baseline
from lstm_utils.config import Params
from lstm_utils.evaluate import baseline_errors, test_windows
from lstm_utils.forecast import forecast_frame
from lstm_utils.ingest import BATCH, sha256_file
from lstm_utils.metrics import errors
from lstm_utils.splits import read_prepared
from lstm_utils.stepcache import StepCache
from lstm_utils.strategies import NAMES
from lstm_utils.train import predict
from lstm_utils.windows import Windows


def prepared_paths(prepared_dir: str | Path) -> list[Path]:
    """The prepared batch CSVs (`NN-<name>.csv`), in batch order."""
    return sorted(Path(prepared_dir).glob("[0-9][0-9]-*.csv"))


def load_batches(prepared_dir: str | Path, params: Params) -> tuple[pd.DataFrame, dict[int, str], dict[str, str]]:
    """Every prepared batch as one frame, the batch names, and the SHA-256 of each source file."""
    paths = prepared_paths(prepared_dir)
    if not paths:
        raise FileNotFoundError(f"{prepared_dir}: no prepared batches; run the data stage (dvc repro) first")
    frame, meta = read_prepared(paths, params.data)
    names = {b["batch"]: b["name"] for b in meta["batches"]}
    sources = {f"data/{name}": sha for b in meta["batches"] for name, sha in b["sources"].items()}
    return frame, names, sources


def run_strategy(strategy: str, params: Params, prepared_dir: str | Path = "prepared",
                 base_model: str | Path = "models/base.keras", verbose: int = 0,
                 state_dir: str | Path | None = None) -> tuple[Chain, dict[str, str]]:
    """Run one strategy's whole chain from the base model; also return the data hashes.

    With `state_dir` (the stage's persistent `state/<strategy>`), steps computed by an earlier
    run from the same model, data and params are reused rather than trained again.
    """
    frame, names, sources = load_batches(prepared_dir, params)
    base, _ = load_model(base_model)
    cache = StepCache(state_dir) if state_dir is not None else None
    data_hashes = [sha256_file(p) for p in prepared_paths(prepared_dir)]
    return run_chain(strategy, base, frame, params, names, verbose=verbose, cache=cache,
                     base_hash=sha256_file(base_model), data_hashes=data_hashes), sources


def steps_table(chain: Chain) -> pd.DataFrame:
    """One row per update step: cost, and errors on the new batch, before and after, and on old ones."""
    rows = []
    for rec in chain.steps:
        t = rec.step
        rows.append({"step": t, "batch": rec.batch, "new_rmse": chain.rmse[t, t],
                     "forward_rmse": chain.rmse[t - 1, t], "retained_rmse": float(np.nanmean(chain.rmse[t, :t])),
                     "base_rmse": chain.rmse[t, 0], "train_seconds": rec.train_seconds,
                     "windows_seen": rec.windows_seen})
    return pd.DataFrame(rows, columns=["step", "batch", "new_rmse", "forward_rmse", "retained_rmse", "base_rmse",
                                       "train_seconds", "windows_seen"])


def save_strategy(chain: Chain, params: Params, sources: dict[str, str], models_dir: str | Path = "models",
                  reports_dir: str | Path = "reports") -> dict:
    """Write `models/<s>.keras` (+ sidecar), `reports/steps/<s>.json` / `.csv` and
    `reports/cost/<s>.json`; return the summary.

    Training seconds go only to `reports/cost/<s>.json`, which no later stage reads: they vary
    from run to run, and everything the compare stage depends on must not.
    """
    s = chain.strategy
    summary = summarize(chain.rmse, chain.mae, [r.windows_seen for r in chain.steps])
    parent = f"{models_dir}/base.keras" if len(chain.steps) <= 1 else f"{s} after step {len(chain.steps) - 1}"
    save_model(chain.final, Path(models_dir) / f"{s}.keras", make_sidecar(s, parent, params, sources, summary))
    record = {"strategy": s, "batches": chain.batches, "rmse": chain.rmse.tolist(), "mae": chain.mae.tolist(),
              "summary": summary, "steps": [{"step": r.step, "batch": r.batch, "windows_seen": r.windows_seen,
                                             "info": r.info} for r in chain.steps]}
    steps = Path(reports_dir) / "steps"
    write_json(steps / f"{s}.json", record)
    with atomic_path(steps / f"{s}.csv") as tmp:
        steps_table(chain).drop(columns="train_seconds").to_csv(tmp, index=False, lineterminator="\n")
    write_json(Path(reports_dir) / "cost" / f"{s}.json", cost(chain))
    return summary


def cost(chain: Chain) -> dict:
    """Training seconds of a strategy, in all and per step (as measured when each step was computed)."""
    return {"train_seconds": float(sum(r.train_seconds for r in chain.steps)),
            "windows_seen": int(sum(r.windows_seen for r in chain.steps)),
            "steps": {r.batch: round(r.train_seconds, 3) for r in chain.steps}}


def load_results(reports_dir: str | Path = "reports", names: tuple[str, ...] = NAMES) -> dict[str, dict]:
    """Every strategy's saved record (reports/steps/<s>.json), by name, in the usual order."""
    out = {}
    for s in names:
        path = Path(reports_dir) / "steps" / f"{s}.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing; run the {s} stage (dvc repro) first")
        rec = json.loads(path.read_text(encoding="utf-8"))
        rec["rmse"] = np.array(rec["rmse"], dtype=float)
        rec["mae"] = np.array(rec["mae"], dtype=float)
        out[s] = rec
    return out


def baselines(frame: pd.DataFrame, params: Params) -> tuple[dict[str, dict], dict[str, dict]]:
    """Per-batch errors of persistence and seasonal naive, and their summaries."""
    n = int(frame[BATCH].max()) + 1
    per_batch = baseline_errors(test_windows(frame, params, n), params.data.targets, params.baselines.season)
    return per_batch, {name: summarize_baseline(e) for name, e in per_batch.items()}


def crown(results: dict[str, dict], params: Params, models_dir: str | Path = "models") -> tuple[str, str]:
    """Choose the champion by the params rule and copy its model to models/champion.keras."""
    best, why = champion({s: r["summary"] for s, r in results.items()}, params.compare)
    src = Path(models_dir) / f"{best}.keras"
    with atomic_path(Path(models_dir) / "champion.keras") as tmp:
        shutil.copyfile(src, tmp)
    side = json.loads(sidecar_path(src).read_text(encoding="utf-8"))
    side |= {"champion_of": list(results), "parent": str(src), "why": why}
    write_json(Path(models_dir) / "champion.json", side)
    return best, why


def metrics(results: dict[str, dict], baseline_summaries: dict[str, dict], best: str) -> dict:
    """The content of reports/metrics.json."""
    return {"champion": best, "strategies": {s: r["summary"] for s, r in results.items()},
            "baselines": {k: {"new_rmse": v["new_rmse"], "old_rmse": v["old_rmse"]} for k, v in
                          baseline_summaries.items()}}


def write_metrics(content: dict, reports_dir: str | Path = "reports") -> Path:
    """reports/metrics.json (declared as DVC metrics)."""
    path = Path(reports_dir) / "metrics.json"
    write_json(path, content)
    return path


@dataclass
class Newest:
    """Every final model and both baselines on the newest batch's test tail."""

    windows: Windows
    forecasts: dict[str, np.ndarray]
    scores: dict[str, dict]


def newest_scores(frame: pd.DataFrame, params: Params, models_dir: str | Path = "models",
                  names: tuple[str, ...] = NAMES) -> Newest:
    """Forecasts and errors (overall and per horizon step) of each strategy's final model and
    the naive forecasts, on the test tail of the newest batch."""
    last = int(frame[BATCH].max())
    windows = test_windows(frame, params, last + 1)[last]
    _, y = windows.arrays()
    forecasts = {s: predict(load_model(Path(models_dir) / f"{s}.keras")[0], windows) for s in names}
    forecasts |= naive_forecasts(windows, params.baselines.season)
    scores = {name: errors(y, pred, params.data.targets) for name, pred in forecasts.items()}
    return Newest(windows, forecasts, scores)


def write_forecast(frame: pd.DataFrame, params: Params, models_dir: str | Path = "models",
                   reports_dir: str | Path = "reports") -> pd.DataFrame:
    """The champion's forecast past the last timestamp, written to reports/forecast.csv."""
    model, _ = load_model(Path(models_dir) / "champion.keras")
    table = forecast_frame(model, frame, params.data.inputs, params.data.targets, params.window.lookback,
                           params.window.horizon, "prepared data")
    with atomic_path(Path(reports_dir) / "forecast.csv") as tmp:
        table.to_csv(tmp, date_format="%Y-%m-%dT%H:%M:%S%z", lineterminator="\n")
    return table

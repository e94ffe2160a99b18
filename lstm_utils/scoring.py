"""Scoring: a model and the naive baselines on the same windows, and the error matrix of a
chain of models on every batch's test tail."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from lstm_utils._keras import keras
from lstm_utils.baselines import naive_forecasts
from lstm_utils.linear import Ridge
from lstm_utils.metrics import errors, mean_over_targets
from lstm_utils.model import predict
from lstm_utils.windows import Windows


def score(model: keras.Model, windows: Windows, targets: Sequence[str], season: int,
          ridge: Ridge | None = None) -> dict[str, dict]:
    """Errors of the model, persistence, seasonal naive and (given a fitted `ridge`) the linear
    baseline on `windows`, keyed by name."""
    _, y = windows.arrays()
    forecasts = {"model": predict(model, windows)} | naive_forecasts(windows, season)
    if ridge is not None:
        forecasts["linear"] = ridge.predict(windows)
    return {name: errors(y, pred, targets) for name, pred in forecasts.items()}


def scores_table(scores: dict[str, dict]) -> pd.DataFrame:
    """One row per forecaster: RMSE and MAE per target, and the window count."""
    rows = {}
    for name, s in scores.items():
        row = {f"rmse {t}": v for t, v in s["rmse"].items()} | {f"mae {t}": v for t, v in s["mae"].items()}
        rows[name] = row | {"windows": s["windows"]}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("forecaster")  # columns keep their types


def headline(scores: dict[str, dict]) -> dict[str, float]:
    """Mean RMSE over targets per forecaster: {"model": .., "persistence": .., ...}."""
    return {name: mean_over_targets(s["rmse"]) for name, s in scores.items()}


TIE = 0.001  # errors within 0.1% of each other are a tie (float32 model against float64 ridge)


def against_baselines(best: dict[str, float], name: str = "model") -> str:
    """In words, `name`'s mean RMSE against every other forecaster of `best` (a :func:`headline`):
    which it beats, ties (within 0.1%) and trails, by how much."""
    parts = {"beats": [], "ties": [], "is behind": []}
    for other, value in best.items():
        if other == name:
            continue
        gap = best[name] / value - 1
        verb = "ties" if abs(gap) <= TIE else "beats" if gap < 0 else "is behind"
        parts[verb].append(other if verb == "ties" else f"{other} ({gap:+.1%})")
    said = [f"{verb} {', '.join(names)}" for verb, names in parts.items() if names]
    return f"the {name} {'; '.join(said)}" if said else f"the {name} has nothing to compare with"


def error_matrix(models: Sequence[keras.Model], tests: Sequence[Windows], targets: Sequence[str],
                 known: dict[tuple[int, int], tuple[float, float]] | None = None) -> dict:
    """RMSE and MAE (mean over targets) of every model on every test set: arrays (models, tests).

    Cells in `known` ((model, test) -> (rmse, mae), kept from an earlier run) are not computed
    again. Each cell is one forecast call on one test set, so its value does not depend on
    which other cells are computed with it.
    """
    known = known or {}
    rmse = np.full((len(models), len(tests)), np.nan)
    mae = np.full_like(rmse, np.nan)
    actual = [w.arrays()[1] for w in tests]
    for i, model in enumerate(models):
        for k, windows in enumerate(tests):
            if (i, k) in known:
                rmse[i, k], mae[i, k] = known[i, k]
            elif len(windows):
                e = errors(actual[k], predict(model, windows), targets)
                rmse[i, k], mae[i, k] = mean_over_targets(e["rmse"]), mean_over_targets(e["mae"])
    return {"rmse": rmse, "mae": mae}


def baseline_errors(tests: Sequence[Windows], targets: Sequence[str], season: int) -> dict[str, dict]:
    """Persistence and seasonal naive on every test set: {name: {"rmse": [..], "mae": [..]}}."""
    out: dict[str, dict] = {"persistence": {"rmse": [], "mae": []}, "seasonal_naive": {"rmse": [], "mae": []}}
    for windows in tests:
        _, y = windows.arrays()
        for name, pred in naive_forecasts(windows, season).items():
            e = errors(y, pred, targets)
            out[name]["rmse"].append(mean_over_targets(e["rmse"]) if len(windows) else float("nan"))
            out[name]["mae"].append(mean_over_targets(e["mae"]) if len(windows) else float("nan"))
    return out

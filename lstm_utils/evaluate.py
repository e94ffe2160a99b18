"""Scores of a model and the naive baselines on the same windows."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import pandas as pd

from lstm_utils.baselines import persistence, seasonal_naive
from lstm_utils.metrics import errors, mean_over_targets
from lstm_utils.train import predict
from lstm_utils.windows import Windows


def score(model: keras.Model, windows: Windows, targets: Sequence[str], season: int) -> dict[str, dict]:
    """Errors of the model, persistence and seasonal naive on `windows`, keyed by name."""
    _, y = windows.arrays()
    return {
        "model": errors(y, predict(model, windows), targets),
        "persistence": errors(y, persistence(windows), targets),
        "seasonal_naive": errors(y, seasonal_naive(windows, season), targets),
    }


def scores_table(scores: dict[str, dict]) -> pd.DataFrame:
    """One row per forecaster: RMSE and MAE per target, and the window count."""
    rows = {}
    for name, s in scores.items():
        row = {f"rmse {t}": v for t, v in s["rmse"].items()} | {f"mae {t}": v for t, v in s["mae"].items()}
        rows[name] = row | {"windows": s["windows"]}
    return pd.DataFrame(rows).T.rename_axis("forecaster")


def headline(scores: dict[str, dict]) -> dict[str, float]:
    """Mean RMSE over targets per forecaster: {"model": .., "persistence": .., ...}."""
    return {name: mean_over_targets(s["rmse"]) for name, s in scores.items()}

"""The base report's tables and words: the model and the baselines on the base test tail."""

from __future__ import annotations

import pandas as pd

from lstm_utils import intervals
from lstm_utils.metrics import mean_over_targets, relative_gap


def scores_table(scores: dict[str, dict]) -> pd.DataFrame:
    """One row per forecaster: RMSE and MAE per target, and the window count."""
    rows = {}
    for name, s in scores.items():
        row = {f"rmse {t}": v for t, v in s["rmse"].items()} | {f"mae {t}": v for t, v in s["mae"].items()}
        rows[name] = row | {"windows": s["windows"]}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("forecaster")  # columns keep their types


def intervals_by_forecaster(scores: dict[str, dict]) -> pd.DataFrame:
    """One row per forecaster whose scores have intervals: coverage, mean width and interval
    score per level (columns `coverage 80`, `width 80`, `interval_score 80`, ...)."""
    rows = {name: {f"{m} {level}": v[m] for level, v in s["intervals"].items() for m in intervals.MEASURES}
            for name, s in scores.items() if "intervals" in s}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("forecaster")


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
        gap = relative_gap(best[name], value)
        verb = "ties" if abs(gap) <= TIE else "beats" if gap < 0 else "is behind"
        parts[verb].append(other if verb == "ties" else f"{other} ({gap:+.1%})")
    said = [f"{verb} {', '.join(names)}" for verb, names in parts.items() if names]
    return f"the {name} {'; '.join(said)}" if said else f"the {name} has nothing to compare with"

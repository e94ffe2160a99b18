"""The base report's tables and words: the model and the baselines on the base test tail."""

from __future__ import annotations

import pandas as pd

from lstm_utils import intervals
from lstm_utils.metrics import mean_over_targets, relative_gap
from lstm_utils.train import TrainResult


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


def training_words(result: TrainResult, patience: int, linear: bool = True) -> str:
    """In plain words, whether the LSTM improved on the weights it started from on the validation
    tail (the LSTM's head starts at zero, so the start is the linear part's fit, or the anchor
    alone without one: `linear`), and if not, why the start is kept: the watched loss's figures
    and what the training loss did meanwhile."""
    val, loss = result.history.get("val_loss") or [], result.history.get("loss") or []
    if result.start_loss is None or not val:
        return ""
    if result.best_epoch > 0:
        kept = val[result.best_epoch - 1]
        return (f"**The LSTM improved on its start**: validation loss {result.start_loss:.4f} before training, "
                f"{kept:.4f} at epoch {result.best_epoch} of {result.epochs_run} "
                f"({relative_gap(kept, result.start_loss):+.1%}), whose weights are kept.")
    best = min(val)
    start = "its linear part's fit" if linear else "its anchor alone (`model.residual`)"
    fell = f"; meanwhile the training loss went {loss[0]:.4f} -> {loss[-1]:.4f}" if loss else ""
    stop = (f"training stopped after {patience} epochs without improvement (`train.patience`)"
            if result.epochs_run == patience else f"all {result.epochs_run} epochs ran without improving on it")
    return (f"**The LSTM kept its start** (best epoch 0): before training the model is {start}, the LSTM's head "
            f"at zero, with validation loss {result.start_loss:.4f}. No epoch beat it: the best of "
            f"{result.epochs_run} reached {best:.4f} ({relative_gap(best, result.start_loss):+.1%}){fell}. What the "
            f"LSTM fitted on the training windows did not carry over to the validation tail, so {stop}, and the "
            f"model forecasts as its start does. Longer or more varied data, or inputs known ahead "
            f"(`data.calendar`), give it more to learn.")


def guard_words(guards: dict[str, list[float]]) -> str:
    """The fitted share and gate of a model in words (empty for a model with neither)."""
    said = {"share": "share of the LSTM's part {} (0: the ridge alone)",
            "gate": "gate on the learned change {} (0: the anchor alone)"}
    parts = [said[k].format(", ".join(f"{g:.3f}" for g in guards[k])) for k in ("share", "gate") if k in guards]
    return f"; {'; '.join(parts)}, fitted on the newest validation tail" if parts else ""

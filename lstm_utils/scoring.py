"""Scoring: a model and the naive baselines on the same windows, and the error matrix of a
chain of models on every batch's test tail.

Errors are in the data's units for one series. With several series every error is divided by
its series' scale first (:func:`lstm_utils.splits.series_scales`), so the pooled figures are
scale-free and one large series cannot outweigh the rest; intervals are calibrated and scored
on the same scaled values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from lstm_utils import intervals
from lstm_utils._keras import keras
from lstm_utils.baselines import every_baseline, naive
from lstm_utils.evaluation import Forecaster, assess, calibrate, cell
from lstm_utils.linear import Ridge
from lstm_utils.metrics import errors, mean_over_targets
from lstm_utils.model import KerasForecaster, predict
from lstm_utils.windows import Windows


def forecasts(model: keras.Model, windows: Windows, season: int, ridge: Ridge | None = None,
              trees: Forecaster | None = None) -> dict[str, np.ndarray]:
    """The forecasts of the model, persistence, seasonal naive and (given a fitted `ridge`, fitted
    `trees`) the linear and the gradient-boosted baselines on `windows`, keyed by name."""
    every = {"model": KerasForecaster(model)} | every_baseline(season, ridge, trees)
    return {name: forecaster.predict(windows) for name, forecaster in every.items()}


def calibrate_all(model: keras.Model, calibration: Windows, season: int, levels: Sequence[float],
                  ridge: Ridge | None = None, trees: Forecaster | None = None) -> dict[str, dict[float, np.ndarray]]:
    """Conformal half-widths of every forecaster of :func:`forecasts`, calibrated on the same windows."""
    return {name: calibrate(calibration, pred, levels)
            for name, pred in forecasts(model, calibration, season, ridge, trees).items()}


def score_forecasters(model: keras.Model, windows: Windows, targets: Sequence[str], season: int,
          ridge: Ridge | None = None, widths: dict[str, dict[float, np.ndarray]] | None = None,
          preds: dict[str, np.ndarray] | None = None, trees: Forecaster | None = None) -> dict[str, dict]:
    """Errors of the model, persistence, seasonal naive and (given a fitted `ridge`, fitted
    `trees`) the linear and gradient-boosted baselines on `windows`, keyed by name; with
    half-widths per forecaster (`widths`, e.g. from :func:`calibrate_all`), also their intervals'
    coverage, width and score per level, overall and per horizon step (`intervals`). `preds`: the
    :func:`forecasts` already made on `windows`."""
    preds = preds if preds is not None else forecasts(model, windows, season, ridge, trees)
    return {name: assess(windows, pred, targets, (widths or {}).get(name), by_step=True)
            for name, pred in preds.items()}


def matrix_scores(models: Sequence[keras.Model], tests: Sequence[Windows], targets: Sequence[str],
                 known: dict[tuple[int, int], Sequence[float]] | None = None,
                 widths: Sequence[dict[float, np.ndarray]] | None = None) -> dict:
    """RMSE and MAE (mean over targets) of every model on every test set: arrays (models, tests);
    given each model's half-widths (`widths`, the same levels for all), also its intervals'
    coverage, width and score per level: ``intervals[level_name][measure]``, arrays alike.

    Cells in `known` ((model, test) -> the cell's :func:`cell_values`, kept from an earlier run)
    are not computed again. Each cell is one forecast call on one test set, so its value does
    not depend on which other cells are computed with it.
    """
    known = known or {}
    levels = list(widths[0]) if widths else []
    names = [intervals.level_name(q) for q in levels]
    shape = (len(models), len(tests))
    rmse, mae = np.full(shape, np.nan), np.full(shape, np.nan)
    cover = {n: {m: np.full(shape, np.nan) for m in intervals.MEASURES} for n in names}
    for i, model in enumerate(models):
        for k, windows in enumerate(tests):
            if (i, k) in known:
                values = list(known[i, k])
            elif len(windows):
                values = cell(windows, predict(model, windows), targets, widths[i] if levels else None)
            else:
                continue
            rmse[i, k], mae[i, k] = values[0], values[1]
            for j, (n, m) in enumerate((n, m) for n in names for m in intervals.MEASURES):
                cover[n][m][i, k] = values[2 + j]
    return {"rmse": rmse, "mae": mae, "intervals": cover}


def cell_values(matrix: dict, cell: tuple[int, int]) -> list[float]:
    """One cell of an :func:`matrix_scores` result as kept in the step state: RMSE, MAE, then per
    level coverage, width and interval score."""
    out = [float(matrix["rmse"][cell]), float(matrix["mae"][cell])]
    return out + [float(v[m][cell]) for v in matrix["intervals"].values() for m in intervals.MEASURES]


def baseline_errors(tests: Sequence[Windows], targets: Sequence[str], season: int,
                    calibrations: Sequence[Windows] | None = None, levels: Sequence[float] = ()) -> dict[str, dict]:
    """Persistence and seasonal naive on every test set: {name: {"rmse": [..], "mae": [..]}};
    with a calibration set per test set and `levels`, also their intervals (calibrated on
    calibration set k, scored on test set k): ``intervals[level_name][measure]``, a list alike."""
    out: dict[str, dict] = {"persistence": {"rmse": [], "mae": []}, "seasonal_naive": {"rmse": [], "mae": []}}
    names = [intervals.level_name(q) for q in levels] if calibrations is not None else []
    for entry in out.values():
        if names:
            entry["intervals"] = {n: {m: [] for m in intervals.MEASURES} for n in names}
    for k, windows in enumerate(tests):
        for name, forecaster in naive(season).items():
            widths = None
            if names:
                c = calibrations[k]
                widths = calibrate(c, forecaster.predict(c), levels)
            values = cell(windows, forecaster.predict(windows), targets, widths) if len(windows) else \
                [float("nan")] * (2 + len(names) * len(intervals.MEASURES))
            out[name]["rmse"].append(values[0])
            out[name]["mae"].append(values[1])
            for j, (n, m) in enumerate((n, m) for n in names for m in intervals.MEASURES):
                out[name]["intervals"][n][m].append(values[2 + j])
    return out


def by_series(windows: Windows, forecasts: dict[str, np.ndarray], targets: Sequence[str]) -> dict[str, dict]:
    """Errors in each series' own units, per series and forecaster: ``{series: {forecaster:
    {"windows": n, "rmse": {target: ..}, "mae": {..}}}}``, series by name; {} for one series."""
    names = windows.series()
    if names is None:
        return {}
    y = windows.targets()
    out = {}
    for name in sorted(set(names.tolist())):
        pick = names == name
        out[str(name)] = {f: {k: v for k, v in errors(y[pick], pred[pick], targets).items() if not k.endswith("_step")}
                          for f, pred in forecasts.items()}
    return out


def by_series_table(per_series: dict[str, dict], worst_of: str | None = None) -> pd.DataFrame:
    """:func:`by_series` as a table: a row per series, each forecaster's RMSE (mean over targets,
    in the series' units) and its window count; with `worst_of` (a forecaster), also its RMSE
    relative to seasonal naive's, worst first."""
    rows = {name: {f: mean_over_targets(e["rmse"]) for f, e in by.items()}
            | {"windows": next(iter(by.values()))["windows"]} for name, by in per_series.items()}
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("series")
    if worst_of is not None and not table.empty:
        table[f"{worst_of} / seasonal_naive"] = table[worst_of] / table["seasonal_naive"]
        table = table.sort_values(f"{worst_of} / seasonal_naive", ascending=False, kind="stable")
    return table

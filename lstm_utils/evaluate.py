"""The `evaluate` command: a saved model's errors over a period of raw CSV data, next to the
naive baselines on the same windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lstm_utils import intervals
from lstm_utils._keras import keras
from lstm_utils.errors import DataError, ModelError
from lstm_utils.forecast import read_for_model
from lstm_utils.linear import View, Ridge, Sums, fit
from lstm_utils.baselines import every_baseline
from lstm_utils.evaluation import Forecaster, calibrate
from lstm_utils.scoring import by_series, forecasts, score_forecasters
from lstm_utils.settings import BaselineParams
from lstm_utils.splits import with_known_scales
from lstm_utils.windows import Windows, make_windows


def evaluate_since(model: keras.Model, sidecar: dict, source: str | Path, start: str | None = None) -> dict:
    """RMSE and MAE of every forecast whose first target time is at or after `start`
    (earlier rows are look-back context only), next to persistence, seasonal naive and the
    linear baseline, with each one's intervals' coverage, width and score per level, overall
    and per horizon step (:func:`interval_widths`). The linear baseline is a ridge regression
    fitted on the windows that end before `start` (the last `split.val_fraction` of them choose
    its penalty), in the model's own scaling; without `start`, or with too little data before
    it, it is left out and `linear` says why."""
    ds = read_for_model(model, sidecar, source)
    window = sidecar["window"]
    known = (sidecar.get("intervals") or {}).get("series_scales") or {}
    frame = with_known_scales(ds.frame, ds.targets, known)  # several series: errors pooled on each one's scale
    every = make_windows(frame, ds.inputs, ds.targets, int(window["lookback"]), int(window["horizon"]))
    windows, before = every, every.subset(slice(0, 0))
    if start is not None:
        try:
            when = pd.Timestamp(start)
            when = when.tz_localize(ds.frame.index.tz) if when.tzinfo is None else when.tz_convert(ds.frame.index.tz)
        except (ValueError, TypeError) as exc:
            raise DataError(f"--start {start!r} is not a time ({exc})", hint="e.g. --start 2013-10-01") from None
        windows = every.subset(every.target_times() >= when)
        last_target = every.index[np.minimum(every.starts + every.horizon - 1, len(every.index) - 1)]
        before = every.subset(last_target < when)
    if len(windows) == 0:
        raise DataError(f"{source}: no complete window (lookback + horizon rows without gaps) has its first "
                        f"target at or after {start}", hint="use an earlier --start or give more data",
                        file=str(source))
    try:
        season = int(sidecar["params"]["baselines"]["season"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"the model's sidecar has no usable baselines.season ({exc})",
                         hint="re-run the stage that saved the model") from None
    ridge, why = linear_before(model, sidecar, before)
    trees, trees_why = trees_before(sidecar, before)
    widths, notes = interval_widths(model, sidecar, before, ds.targets, season, ridge, trees)
    preds = forecasts(model, windows, season, ridge, trees)
    scores = score_forecasters(model, windows, ds.targets, season, ridge, widths, preds)
    per_series = by_series(windows, preds, ds.targets)
    if ridge is None:
        scores["linear"] = {"left out": why}
    else:
        scores["linear"] |= {"fitted_on": len(before), "design": ridge.design, "penalty": ridge.penalty}
    if trees is None:
        if trees_why:
            scores["trees"] = {"left out": trees_why}
    else:
        scores["trees"] |= {"fitted_on": validation_cut(sidecar, before)}
    times = windows.target_times()
    pooled = {"pooled": "each error divided by its series' scale (the model's sidecar keeps them; a series it "
                        "never saw: the RMS of its step-to-step change), so the figures above have no units",
              "series": per_series} if per_series else {}
    return {"windows": len(windows), "first_target": times[0].isoformat(), "last_target": times[-1].isoformat(),
            **scores, **({"intervals": notes} if notes else {}), **pooled}


def interval_widths(model: keras.Model, sidecar: dict, before: Windows, targets: list[str], season: int,
                    ridge: Ridge | None, trees: Forecaster | None = None) -> tuple[dict[str, dict], dict[str, str]]:
    """Half-widths per forecaster for :func:`evaluate_since`: the model's from its sidecar; the
    baselines' calibrated on the last `split.val_fraction` of the windows that end before
    `--start` (the linear baseline's validation part), at the model's levels. Also, in words,
    whose intervals are left out and why."""
    model_widths = intervals.from_record(sidecar.get("intervals"), targets)
    params = sidecar.get("params") or {}
    levels = list(model_widths) if model_widths else list((params.get("intervals") or {}).get("levels") or [])
    widths: dict[str, dict] = {"model": model_widths} if model_widths else {}
    notes = {} if model_widths else {"model": intervals.NONE_KEPT}
    calibration = before.subset(slice(validation_cut(sidecar, before), None))
    if not levels or len(calibration) == 0:
        notes["baselines"] = ("no interval levels known" if not levels else
                              "no window ends before --start to calibrate the baselines' intervals on (give "
                              "--start and data before it)" if len(before) == 0 else
                              f"only {len(before)} window(s) end before --start: too few to calibrate the "
                              "baselines' intervals on (give more data before --start)")
        return widths, notes
    widths |= {name: calibrate(calibration, f.predict(calibration), levels)
               for name, f in every_baseline(season, ridge, trees).items()}
    return widths, notes


def validation_cut(sidecar: dict, before: Windows) -> int:
    """Where the last `split.val_fraction` of the windows before `--start` begins: the linear
    baseline's penalty is chosen there, and the baselines' intervals are calibrated there."""
    params = sidecar.get("params") or {}
    return int(round(len(before) * (1 - float((params.get("split") or {}).get("val_fraction", 0.15)))))


def linear_before(model: keras.Model, sidecar: dict, before: Windows) -> tuple[Ridge | None, str]:
    """The linear baseline fitted on `before` (windows that end before the scored ones): the
    earlier part fits, the last `split.val_fraction` chooses the design and penalty (and
    calibrates the baselines' intervals, so it stays out of the fit). None, and why, when
    there is too little to fit."""
    if len(before) == 0:
        return None, "no window ends before --start (give --start and data before it)"
    design = View.from_model(model, sidecar)
    params = sidecar.get("params") or {}
    given, default = params.get("baselines") or {}, BaselineParams()
    cut = validation_cut(sidecar, before)
    if cut < 2 * design.lookback:
        return None, f"only {len(before)} windows end before --start; give more data before it"
    train, val = Sums.of(design, before.subset(slice(0, cut))), Sums.of(design, before.subset(slice(cut, None)))
    return fit(train, val, given.get("linear_penalties") or default.linear_penalties, design,
               given.get("linear_designs") or default.linear_designs), ""


def trees_before(sidecar: dict, before: Windows) -> tuple[Forecaster | None, str]:
    """The gradient-boosted baseline fitted on the windows before `--start` but the last
    `split.val_fraction` (which calibrates the baselines' intervals), with the model's
    `baselines.trees` settings; None and why when there is too little to fit, None and "" when the
    model's params leave the trees out."""
    given = (sidecar.get("params") or {}).get("baselines") or {}
    count = int(given.get("trees", 0) or 0)
    if count == 0:
        return None, ""
    cut = validation_cut(sidecar, before)
    if cut < 2 * before.lookback:
        return None, (f"only {len(before)} windows end before --start; give more data before it"
                      if len(before) else "no window ends before --start (give --start and data before it)")
    from lstm_utils.trees import Trees

    seed = int(((sidecar.get("params") or {}).get("train") or {}).get("seed", 0))
    return Trees.fit(before.subset(slice(0, cut)), count, int(given.get("trees_every", 1)), seed,
                     int(given.get("season", 24))), ""

"""The `evaluate` command: a saved model's errors over a period of raw CSV data, next to the
naive baselines on the same windows."""

from __future__ import annotations

from pathlib import Path

import keras
import pandas as pd

from lstm_utils.errors import DataError, ModelError
from lstm_utils.forecast import read_for_model
from lstm_utils.scoring import score
from lstm_utils.windows import make_windows


def evaluate_since(model: keras.Model, sidecar: dict, source: str | Path, start: str | None = None) -> dict:
    """RMSE and MAE of every forecast whose first target time is at or after `start`
    (earlier rows are look-back context only), next to persistence and seasonal naive."""
    ds = read_for_model(model, sidecar, source)
    window = sidecar["window"]
    windows = make_windows(ds.frame, ds.inputs, ds.targets, int(window["lookback"]), int(window["horizon"]))
    if start is not None:
        try:
            when = pd.Timestamp(start)
            when = when.tz_localize(ds.frame.index.tz) if when.tzinfo is None else when.tz_convert(ds.frame.index.tz)
        except (ValueError, TypeError) as exc:
            raise DataError(f"--start {start!r} is not a time ({exc})", hint="e.g. --start 2013-10-01") from None
        windows = windows.subset(windows.target_times() >= when)
    if len(windows) == 0:
        raise DataError(f"{source}: no complete window (lookback + horizon rows without gaps) has its first "
                        f"target at or after {start}", hint="use an earlier --start or give more data",
                        file=str(source))
    try:
        season = int(sidecar["params"]["baselines"]["season"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"the model's sidecar has no usable baselines.season ({exc})",
                         hint="re-run the stage that saved the model") from None
    scores = score(model, windows, ds.targets, season)
    times = windows.target_times()
    return {"windows": len(windows), "first_target": times[0].isoformat(), "last_target": times[-1].isoformat(),
            **scores}

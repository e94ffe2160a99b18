"""Using a saved model on raw CSV data: the next forecast, and its errors over a period.

The model's sidecar says how its data was read (time column, inputs, frequency, zone), so
the data is ingested exactly as in training; a mismatch is a clear error, not a wrong forecast.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from lstm_utils.config import DataParams, _section
from lstm_utils.errors import DataError, LstmUtilsError, ModelError
from lstm_utils.evaluate import score
from lstm_utils.ingest import Ingested, ingest
from lstm_utils.windows import make_windows


def read_for_model(model: keras.Model, sidecar: dict, source: str | Path) -> Ingested:
    """Ingest `source` (a folder or one CSV) the way the model's training data was read."""
    try:
        data: DataParams = _section("data", sidecar["data"], DataParams)
        lookback, horizon = int(sidecar["window"]["lookback"]), int(sidecar["window"]["horizon"])
        inputs = list(sidecar["inputs"])
    except (KeyError, TypeError, ValueError, LstmUtilsError) as exc:
        raise ModelError(f"the model's sidecar has no usable data/window settings ({exc})",
                         hint="re-run the stage that saved the model") from None
    if (list(data.inputs) != inputs or tuple(model.input_shape[1:]) != (lookback, len(data.inputs))
            or model.output_shape[1] != horizon):
        raise ModelError(f"the model maps windows of shape {model.input_shape[1:]} to {model.output_shape[1]} steps, "
                         f"but its sidecar names {len(data.inputs)} inputs, lookback {lookback}, horizon {horizon}",
                         hint="the .keras file and its .json sidecar do not belong together")
    return ingest(source, data, base_batches=None)  # one series: gaps filled as within a batch


def forecast_next(model: keras.Model, sidecar: dict, source: str | Path) -> pd.DataFrame:
    """The next `horizon` steps after the last timestamp: one column per target."""
    ds = read_for_model(model, sidecar, source)
    lookback, horizon = int(sidecar["window"]["lookback"]), int(sidecar["window"]["horizon"])
    return forecast_frame(model, ds.frame, ds.inputs, ds.targets, lookback, horizon, str(source))


def forecast_frame(model: keras.Model, frame: pd.DataFrame, inputs: Sequence[str], targets: Sequence[str],
                   lookback: int, horizon: int, source: str = "data") -> pd.DataFrame:
    """Forecast the `horizon` steps after the last row of a regular frame from its last
    `lookback` rows, which must be complete."""
    if len(frame) < lookback:
        raise DataError(f"{source}: {len(frame)} rows, but the model needs the last {lookback} to forecast",
                        hint=f"give at least {lookback} consecutive rows", file=source)
    recent = frame[list(inputs)].iloc[-lookback:]
    holes = recent.isna()
    if holes.any().any():
        col = holes.any()[lambda s: s].index[0]
        when = recent.index[holes[col].to_numpy()][0]
        raise DataError(f"{source}: {col!r} is missing at {when.isoformat()}, inside the last {lookback} rows "
                        "the forecast starts from", hint="fill that value or add the missing rows",
                        file=source, column=col)
    x = recent.to_numpy(dtype=np.float32)[None]
    y = keras.ops.convert_to_numpy(model(x, training=False))[0]
    times = pd.date_range(frame.index[-1], periods=horizon + 1, freq=frame.index.freq)[1:]
    out = pd.DataFrame(y.astype(np.float64), columns=list(targets), index=times)
    out.index.name = frame.index.name
    return out


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



"""The `forecast` command: a saved model's next forecast from raw CSV data.

The model's sidecar says how its data was read (time column, inputs, frequency, zone), so
the data is ingested exactly as in training; a mismatch is a clear error, not a wrong forecast.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_utils import intervals
from lstm_utils._keras import keras
from lstm_utils.config import DataParams, parse_section
from lstm_utils.errors import DataError, LstmUtilsError, ModelError
from lstm_utils.ingest import Ingested, ingest


def read_for_model(model: keras.Model, sidecar: dict, source: str | Path) -> Ingested:
    """Ingest `source` (a folder or one CSV) the way the model's training data was read."""
    try:
        data: DataParams = parse_section("data", sidecar["data"], DataParams)
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


def forecast_next(model: keras.Model, sidecar: dict, source: str | Path) -> tuple[pd.DataFrame, str | None]:
    """The next `horizon` steps after the last timestamp: one column per target, and the bounds
    of its intervals (:func:`with_bands`); also the line to show when the model has none."""
    ds = read_for_model(model, sidecar, source)
    lookback, horizon = int(sidecar["window"]["lookback"]), int(sidecar["window"]["horizon"])
    return with_bands(forecast_frame(model, ds.frame, ds.inputs, ds.targets, lookback, horizon, str(source)), sidecar)


def with_bands(table: pd.DataFrame, sidecar: dict) -> tuple[pd.DataFrame, str | None]:
    """A point forecast (one column per target) with its interval bounds beside it,
    `<target>_lower_<level>` and `<target>_upper_<level>` per target and level (level in percent,
    e.g. `temp_lower_80`; infinite where the model had too few calibration windows), from the
    half-widths in the model's sidecar. A model saved without them keeps its point forecast
    alone, and the second value says so in one line."""
    targets = list(table.columns)
    widths = intervals.from_record(sidecar.get("intervals"), targets)
    if widths is None:
        return table, intervals.NONE_KEPT
    out = table.copy()
    for q, half in widths.items():
        name = intervals.level_name(q)
        for j, t in enumerate(targets):
            out[f"{t}_lower_{name}"] = table[t].to_numpy() - half[: len(table), j]
            out[f"{t}_upper_{name}"] = table[t].to_numpy() + half[: len(table), j]
    return out, None


def forecast_frame(model: keras.Model, frame: pd.DataFrame, inputs: Sequence[str], targets: Sequence[str],
                   lookback: int, horizon: int, source: str = "data") -> pd.DataFrame:
    """Forecast the `horizon` steps after the last row of a regular frame from its last
    `lookback` rows, which must be complete.

    Parameters
    ----------
    model
        A forecaster: raw windows (1, lookback, inputs) to (1, horizon, targets).
    frame
        The series on its regular grid (its index's frequency gives the forecast's times).
    inputs, targets
        The model's input columns, in its order, and the columns it forecasts.
    lookback, horizon
        The model's window settings.
    source
        What to name in an error (a file or folder).
    """
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

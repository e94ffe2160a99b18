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
from lstm_utils.errors import DataError, LstmUtilsError, ModelError
from lstm_utils.ingest import Ingested, ingest
from lstm_utils.settings import DataParams, parse_section
from lstm_utils.splits import SERIES, scales_for


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
    return ingest(source, data, base_batches=None, horizon=horizon)  # one batch: gaps filled as within a batch


def forecast_next(model: keras.Model, sidecar: dict, source: str | Path) -> tuple[pd.DataFrame, str | None]:
    """The next `horizon` steps after the last timestamp: one column per target, and the bounds
    of its intervals (:func:`with_bands`); also the line to show when the model has none."""
    ds = read_for_model(model, sidecar, source)
    lookback, horizon = int(sidecar["window"]["lookback"]), int(sidecar["window"]["horizon"])
    table = forecast_frame(model, ds.frame, ds.inputs, ds.targets, lookback, horizon, str(source),
                           freq=sidecar["data"].get("freq"))
    known = (sidecar.get("intervals") or {}).get("series_scales") or {}
    return with_bands(table, sidecar, scales_for(ds.frame, ds.targets, known))


def with_bands(table: pd.DataFrame, sidecar: dict, scales: dict[str, list[float]] | None = None
               ) -> tuple[pd.DataFrame, str | None]:
    """A point forecast (one column per target) with its interval bounds beside it,
    `<target>_lower_<level>` and `<target>_upper_<level>` per target and level (level in percent,
    e.g. `temp_lower_80`), from the half-widths in the model's sidecar. A level the model had too
    few calibration windows for (infinite half-widths) is left out, and so is a model saved
    without them; the second value says so in one line (with several series, also the series
    skipped, see :func:`forecast_frame`).

    With several series (a `series` column) the half-widths are in units of each series' scale
    and are multiplied by it: `scales` ({series: [per target]}, :func:`lstm_utils.splits.scales_for`),
    else the sidecar's `series_scales`; a series neither knows gets no bounds (NaN)."""
    several = SERIES in table.columns
    targets = [c for c in table.columns if c != SERIES]
    skipped = table.attrs.get("skipped") or {}
    note = "; ".join(f"series {name!r} not forecast: {why}" for name, why in skipped.items()) or None
    widths = intervals.from_record(sidecar.get("intervals"), targets)
    if widths is None:
        return table, "; ".join(filter(None, [intervals.NONE_KEPT, note]))
    if several:
        known = ((sidecar.get("intervals") or {}).get("series_scales") or {}) | (scales or {})
        factor = np.array([known.get(str(name), [np.nan] * len(targets)) for name in table[SERIES]], dtype=float)
    else:
        factor = np.ones((len(table), len(targets)))
    step = table.groupby(SERIES, sort=False).cumcount().to_numpy() if several else np.arange(len(table))
    out = table.copy()
    for q, half in widths.items():
        name = intervals.level_name(q)
        if not np.isfinite(half).all():  # bounds of the whole line are no bounds: left out, and said
            note = "; ".join(filter(None, [note, f"{name}% bounds left out: " + intervals.too_few(q)]))
            continue
        for j, t in enumerate(targets):
            width = half[step, j] * factor[:, j]
            out[f"{t}_lower_{name}"] = table[t].to_numpy() - width
            out[f"{t}_upper_{name}"] = table[t].to_numpy() + width
    return out, note


def forecast_frame(model: keras.Model, frame: pd.DataFrame, inputs: Sequence[str], targets: Sequence[str],
                   lookback: int, horizon: int, source: str = "data", freq: str | None = None) -> pd.DataFrame:
    """Forecast the `horizon` steps after the last row of a regular frame from its last
    `lookback` rows, which must be complete.

    With several series (a `series` column, one block each), every series is forecast after its
    own last row, all in one model call, and the table gets a `series` column; a series whose
    last `lookback` rows are too few or incomplete is left out and named, with the reason, in
    ``table.attrs["skipped"]`` (one bad series does not stop the others; all bad is an error), as
    is a series that stopped before the data's last time.

    Parameters
    ----------
    model
        A forecaster: raw windows (1, lookback, inputs) to (1, horizon, targets).
    frame
        The series on its regular grid (its index's frequency, or `freq`, gives the forecast's times).
    inputs, targets
        The model's input columns, in its order, and the columns it forecasts.
    lookback, horizon
        The model's window settings.
    source
        What to name in an error (a file or folder).
    freq
        The grid's frequency, where the index does not carry one (several series).
    """
    if SERIES in frame.columns:
        return _each_series(model, frame, inputs, targets, lookback, horizon, source, freq)
    x = _last_window(frame, inputs, lookback, source)
    y = keras.ops.convert_to_numpy(model(x[None], training=False))[0]
    return _table(y, frame.index, targets, horizon, frame.index.freq or freq)


def _last_window(frame: pd.DataFrame, inputs: Sequence[str], lookback: int, source: str) -> np.ndarray:
    """The last `lookback` rows of the inputs, (lookback, inputs), or a DataError saying what is missing."""
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
    return recent.to_numpy(dtype=np.float32)


def _table(y: np.ndarray, index: pd.DatetimeIndex, targets: Sequence[str], horizon: int, freq) -> pd.DataFrame:
    """One forecast (horizon, targets) as a table indexed by the `horizon` times after `index`'s last."""
    times = pd.date_range(index[-1], periods=horizon + 1, freq=freq)[1:]
    out = pd.DataFrame(y.astype(np.float64), columns=list(targets), index=times)
    out.index.name = index.name
    return out


def _each_series(model: keras.Model, frame: pd.DataFrame, inputs: Sequence[str], targets: Sequence[str],
                 lookback: int, horizon: int, source: str, freq: str | None) -> pd.DataFrame:
    """:func:`forecast_frame` for a frame of several series."""
    windows, blocks, skipped = [], [], {}
    newest = frame.index.max()
    for name, block in frame.groupby(SERIES, sort=True):
        if block.index[-1] < newest:  # a series that stopped: its next steps are past
            skipped[str(name)] = f"its last row ({block.index[-1].isoformat()}) is before the data's last time"
            continue
        try:
            windows.append(_last_window(block, inputs, lookback, f"{source}, series {name!r}"))
            blocks.append((name, block.index))
        except DataError as exc:
            skipped[str(name)] = exc.message.removeprefix(f"{source}, series {name!r}: ")
    if not windows:
        raise DataError(f"{source}: no series can be forecast: " + "; ".join(f"{n}: {w}" for n, w in skipped.items()),
                        hint=f"each series needs its last {lookback} rows complete", file=source)
    y = keras.ops.convert_to_numpy(model(np.stack(windows), training=False))
    parts = [_table(y[i], index, targets, horizon, freq).assign(**{SERIES: name}) for i, (name, index) in
             enumerate(blocks)]
    out = pd.concat(parts)
    out = out[[SERIES, *targets]]
    out.attrs["skipped"] = skipped
    return out


def csv_text(table: pd.DataFrame) -> str:
    """A forecast table as CSV text: times in ISO 8601 as the reports write them
    (2013-11-01T00:00:00+00:00), and any cell a spreadsheet would run as a formula made inert."""
    from lstm_utils.escape import inert_csv

    out = inert_csv(table)
    out.index = pd.Index([t.isoformat() for t in out.index], name=out.index.name)
    return out.to_csv(lineterminator="\n")

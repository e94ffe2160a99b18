"""The data report's tables and words: each batch's tails, and the series."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from lstm_utils.constants import SERIES, SPLITS
from lstm_utils.escape import markdown_code, markdown_text
from lstm_utils.settings import WindowParams
from lstm_utils.splits import batches
from lstm_utils.windows import make_windows

if TYPE_CHECKING:
    from lstm_utils.ingest import Ingested
    from lstm_utils.settings import Params


def split_table(frame: pd.DataFrame, names: dict[int, str] | None = None) -> pd.DataFrame:
    """Per batch: its time range and the rows of each tail (what the data report shows); with
    several series, per series and batch."""
    if SERIES in frame.columns:
        parts = {name: split_table(block.drop(columns=SERIES), names)
                 for name, block in frame.groupby(SERIES, sort=False)}
        return pd.concat(parts, names=["series"])
    rows = []
    for b in batches(frame, names):
        row = {"batch": b.name, "first": frame.index[b.start], "last": frame.index[b.stop - 1]}
        for s in SPLITS:
            part = b.rows(s)
            row[f"{s} rows"] = part.stop - part.start
        row["test from"] = frame.index[b.test_start] if b.test_start < b.stop else None
        rows.append(row)
    return pd.DataFrame(rows).set_index("batch")


def series_table(data: Ingested, frame: pd.DataFrame, window: WindowParams) -> pd.DataFrame:
    """One row per series: what ingest did to it (:meth:`IngestReport.series_table`) and how many
    train, val and test windows it gives over all batches; a series too short for any window is
    named in `note` (it is kept, not refused). Empty for data holding one series."""
    table = data.report.series_table()
    if table.empty:
        return table
    for s in SPLITS:
        w = make_windows(frame, data.inputs, data.targets, window.lookback, window.horizon, s)
        counts = pd.Series(frame[SERIES].to_numpy()[w.starts]).value_counts()
        table[f"{s} windows"] = [int(counts.get(name, 0)) for name in table.index]
    need = window.lookback + window.horizon
    table["note"] = ["" if row["train windows"] else
                     f"too short for a training window (needs {need} consecutive complete rows in a batch's train part)"
                     if row["test windows"] else f"too short for any window (needs {need} consecutive complete rows)"
                     for _, row in table.iterrows()]
    return table


def series_report(data: Ingested, frame: pd.DataFrame, params: Params) -> tuple[str, pd.DataFrame] | None:
    """The data report's section on the series: its Markdown (a heading, a line on the ones too
    short) and :func:`series_table`; None for data holding one series (nothing is shown)."""
    table = series_table(data, frame, params.window)
    if table.empty:
        return None
    return series_markdown(table, params.data.series_column), table


def series_markdown(table: pd.DataFrame, series_column: str) -> str:
    """The text of :func:`series_report`: how many series, from which column, and the ones too
    short for a training window (names escaped: they come from the data)."""
    short = [markdown_text(name) for name, note in table["note"].items() if note]
    lines = [f"## Series\n\n{len(table)} series (column {markdown_code(series_column)}), one global model for all. "
             "Every ingest rule held per series; each series keeps its own regular grid, and no window crosses "
             "two series. A series that starts in a later file is forecast once it has a look-back of history."]
    if short:
        lines.append(f"**Too short for any training window** (kept, but the model learns nothing from it): "
                     f"{', '.join(short)}.")
    return "\n\n".join(lines)

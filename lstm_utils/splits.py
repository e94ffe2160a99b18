"""Batches and splits: the base period, each later batch, and their train/val/test tails.

Also the `prepared/` files the pipeline passes between stages: one CSV per batch, so that a
stage reading only the base period does not re-run when a later batch arrives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lstm_utils.constants import BATCH, SCALE, SERIES, SPLIT, TEST, TRAIN, VAL  # importable from here too
from lstm_utils.errors import DataError
from lstm_utils.escape import from_inert_csv, inert_csv
from lstm_utils.files import atomic_path
from lstm_utils.settings import DataParams, SplitParams, WindowParams

if TYPE_CHECKING:
    from lstm_utils.ingest import Ingested


@dataclass(frozen=True)
class Batch:
    """One batch's rows: positions [start, stop) of the frame, cut into tails."""

    index: int
    name: str
    start: int
    stop: int
    val_start: int
    test_start: int

    def rows(self, split: str) -> slice:
        """Row positions of one split ('train', 'val' or 'test')."""
        bounds = {"train": (self.start, self.val_start), "val": (self.val_start, self.test_start),
                  "test": (self.test_start, self.stop)}[split]
        return slice(*bounds)


def split_rows(n: int, split: SplitParams) -> tuple[int, int]:
    """Where val and test start in a batch of `n` rows (chronological tails)."""
    n_test = int(round(n * split.test_fraction))
    n_val = int(round(n * split.val_fraction))
    return n - n_val - n_test, n - n_test


def assign_splits(data: Ingested, split: SplitParams) -> pd.DataFrame:
    """The ingested frame with a `split` column (0 train, 1 val, 2 test) per batch.

    Each batch is cut in time order; the tails' sizes count only rows with every input
    present, and missing rows stay with the tail they fall in. With several series (column
    :data:`SERIES`), each series' part of a batch is cut so.
    """
    frame = data.frame.copy()
    codes = np.zeros(len(frame), dtype=np.int64)
    batch = frame[BATCH].to_numpy()
    usable = ~frame[list(data.inputs)].isna().any(axis=1).to_numpy()
    if SERIES in frame.columns:  # one part per series and batch: a code that changes at either's edge
        part = pd.factorize(frame[SERIES])[0].astype(np.int64) * (int(batch.max()) + 1) + batch
    else:
        part = batch
    for rows in _groups(part):
        pos = rows[usable[rows]]  # tails are sized by usable rows, so a long gap cannot eat a tail
        if len(pos) == 0:
            continue
        val_at, test_at = split_rows(len(pos), split)
        if val_at < len(pos):
            codes[pos[val_at]:rows[-1] + 1] = VAL
        if test_at < len(pos):
            codes[pos[test_at]:rows[-1] + 1] = TEST
    frame[SPLIT] = codes
    if SERIES in frame.columns:
        frame = series_scales(frame, data.targets)
    return frame


def series_scales(frame: pd.DataFrame, targets: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """The frame with a column `_scale_<target>` per target: on every row of a series, that
    series' scale, by which its errors are divided so that series of any units pool together.

    A series' scale is the root mean square of its step-to-step change (as M5's RMSSE) over the
    train tail of the first batch it has training rows in: fixed once the series appears, so a
    later file never changes it. A series with no such rows, or a flat one, gets the scale 1.
    """
    frame = frame.copy()
    split, batch = frame[SPLIT].to_numpy(), frame[BATCH].to_numpy()
    groups = _groups(pd.factorize(frame[SERIES])[0])
    for t in targets:
        values = frame[t].to_numpy(dtype=np.float64)
        scale = np.ones(len(frame))
        for rows in groups:
            train = rows[(split[rows] == TRAIN) & ~np.isnan(values[rows])]
            if len(train) == 0:
                continue
            first = train[batch[train] == batch[train].min()]
            scale[rows] = rms_change(values[first[0]:first[-1] + 1])  # the train tail's rows, gaps included
        frame[f"{SCALE}{t}"] = scale
    return frame


def _groups(codes: np.ndarray) -> list[np.ndarray]:
    """The row positions of each distinct code, in order, each in row order: one sort, not a scan
    of all rows per code (a panel has thousands of series)."""
    order = np.argsort(codes, kind="stable")
    cuts = np.flatnonzero(np.diff(codes[order])) + 1
    return np.split(order, cuts)


def rms_change(values: np.ndarray) -> float:
    """The root mean square of a series' step-to-step change (steps next to a gap left out);
    1 for a flat series or one too short to tell."""
    change = np.diff(np.asarray(values, dtype=np.float64))
    change = change[~np.isnan(change)]
    rms = float(np.sqrt(np.mean(change ** 2))) if len(change) else 0.0
    return rms if rms > 1e-12 else 1.0


def scales_for(frame: pd.DataFrame, targets: tuple[str, ...] | list[str],
               known: dict[str, list[float]]) -> dict[str, list[float]]:
    """Each series' scale per target in a frame of several series (as ingested for a saved
    model): as the model's sidecar keeps it (`known`), or, for a series the model never saw,
    :func:`rms_change` over all its rows given. {} for one series."""
    if SERIES not in frame.columns:
        return {}
    return {str(name): list(known[name]) if name in known else
            [rms_change(frame[t].to_numpy()[rows]) for t in targets]
            for name, rows in frame.groupby(SERIES, sort=False).indices.items()}


def with_known_scales(frame: pd.DataFrame, targets: tuple[str, ...] | list[str],
                      known: dict[str, list[float]]) -> pd.DataFrame:
    """The frame with `_scale_<target>` columns from :func:`scales_for` (several series), so
    that errors on it pool as in the pipeline; a frame of one series is returned as it is."""
    scales = scales_for(frame, targets, known)
    if not scales:
        return frame
    frame = frame.copy()
    names = frame[SERIES].to_numpy()
    for j, t in enumerate(targets):
        frame[f"{SCALE}{t}"] = pd.Series({n: s[j] for n, s in scales.items()}).reindex(names).to_numpy(dtype=float)
    return frame


def rows_needed(window: WindowParams, split: SplitParams) -> int:
    """The fewest rows a batch can have and still give one training window (lookback +
    horizon complete rows in its train part, after the val and test tails are cut off)."""
    need = window.lookback + window.horizon
    n = need
    while split_rows(n, split)[0] < need:
        n += 1
    return n


def check_batches(data: Ingested, frame: pd.DataFrame, split: SplitParams, window: WindowParams) -> None:
    """Refuse a batch that gives no training window, naming its file(s) and the rows needed.

    `frame` is `assign_splits(data, split)`; the windows are counted by the same
    :func:`lstm_utils.windows.make_windows` that training uses.
    """
    from lstm_utils.windows import make_windows

    batch = frame[BATCH].to_numpy()
    need = window.lookback + window.horizon
    for b in np.unique(batch):
        if len(make_windows(frame, data.inputs, data.targets, window.lookback, window.horizon, "train", [b])):
            continue
        files = [f.name for f in data.report.files if f.batch == b]
        what = f"{files[0]}" if b > 0 else f"the base period ({', '.join(files)})"
        rows = int((batch == b).sum())
        raise DataError(f"{what}: too short to give one training window: {rows} rows, but a window needs "
                        f"`window.lookback` + `window.horizon` = {need} consecutive complete rows in the batch's "
                        "train part",
                        hint=f"a batch needs at least {rows_needed(window, split)} complete rows (its last "
                             f"{split.val_fraction:g} + {split.test_fraction:g} go to the val and test tails); "
                             "join this file with the next one, lower window.lookback / window.horizon"
                             + (", or raise split.base_batches" if b == 0 else ""),
                        file=files[0] if files else "")


def batches(frame: pd.DataFrame, names: dict[int, str] | None = None) -> list[Batch]:
    """The batches of a frame that has `batch` and `split` columns, in time order."""
    out = []
    batch, split = frame[BATCH].to_numpy(), frame[SPLIT].to_numpy()
    for b in np.unique(batch):
        pos = np.flatnonzero(batch == b)
        start, stop = int(pos[0]), int(pos[-1]) + 1
        val_start = start + int(np.searchsorted(split[start:stop], VAL))
        test_start = start + int(np.searchsorted(split[start:stop], TEST))
        name = (names or {}).get(int(b), "base" if b == 0 else f"batch {b}")
        out.append(Batch(int(b), name, start, stop, val_start, test_start))
    return out


def batch_names(data: Ingested) -> dict[int, str]:
    """A readable name per batch: 'base' and then the file each later batch came from."""
    names = {0: "base"}
    for f in data.report.files:
        if f.batch > 0:
            names[f.batch] = Path(f.name).stem
    return names


def iso_times(index: pd.DatetimeIndex) -> pd.Index:
    """Each time as text, `2013-03-10T03:00:00-0400` (the wall time, then its offset from UTC, with
    seconds where a historical offset has them; none for naive times): what
    `index.strftime("%Y-%m-%dT%H:%M:%S%z")` gives, several times as fast: NumPy writes the wall
    times, and each distinct offset is formatted once."""
    local = index.tz_localize(None) if index.tz is not None else index
    text = np.datetime_as_string(local.to_numpy(), unit="s").astype(object)  # the wall time, to the second
    if index.tz is None:
        return pd.Index(text, name=index.name)
    seconds = np.asarray((local - index.tz_convert("UTC").tz_localize(None)).total_seconds(), dtype=np.int64)
    offsets, which = np.unique(seconds, return_inverse=True)

    def offset(east: int) -> str:
        hours, rest = divmod(abs(int(east)), 3600)
        minutes, secs = divmod(rest, 60)
        return f"{'-' if east < 0 else '+'}{hours:02d}{minutes:02d}" + (f"{secs:02d}" if secs else "")

    return pd.Index(text + np.array([offset(e) for e in offsets], dtype=object)[which], name=index.name)


def write_prepared(data: Ingested, split: SplitParams, out_dir: str | Path) -> list[Path]:
    """Write one CSV per batch (`00-base.csv`, `01-<file>.csv`, ...) and `batches.json`.

    Float values are written at full precision, so reading them back is exact; files whose
    content did not change are byte-identical, so DVC does not re-run their readers.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = assign_splits(data, split)
    names = batch_names(data)
    written, index = [], []
    several = SERIES in frame.columns
    for b in (batches(frame, names) if not several else
              [Batch(int(k), names.get(int(k), f"batch {k}"), 0, 0, 0, 0) for k in np.unique(frame[BATCH])]):
        path = out_dir / f"{b.index:02d}-{b.name}.csv"
        rows = frame.iloc[b.start:b.stop] if not several else frame[frame[BATCH] == b.index]
        out = inert_csv(rows)  # a name such as `=1+2` behind a `'`: read_prepared takes it off
        out.index = iso_times(rows.index)
        with atomic_path(path) as tmp:
            out.to_csv(tmp, lineterminator="\n")
        files = [f for f in data.report.files if f.batch == b.index]
        entry = {"batch": b.index, "name": b.name, "file": path.name, "rows": len(rows),
                 "sources": {f.name: f.sha256 for f in files}}
        with atomic_path(path.with_suffix(".json")) as tmp:  # what this batch alone came from
            tmp.write_text(json.dumps(entry, indent=2) + "\n", encoding="utf-8")
        index.append(entry)
        written.append(path)
    keep = set(written) | {p.with_suffix(".json") for p in written} | {out_dir / "batches.json"}
    for stale in set(out_dir.glob("[0-9]*-*.*")) - keep:
        stale.unlink()
    meta = {"time_column": frame.index.name, "timezone": str(frame.index.tz), "freq": frame.index.freqstr,
            "inputs": list(data.inputs), "targets": list(data.targets), "batches": index}
    with atomic_path(out_dir / "batches.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return written


# floats read back exactly: pandas 3.1 has one converter, the round-trip one (the argument is deprecated)
_EXACT = {} if tuple(int(v) for v in pd.__version__.split(".")[:2]) >= (3, 1) else {"float_precision": "round_trip"}


def read_prepared(paths: list[str | Path], data: DataParams | None = None) -> tuple[pd.DataFrame, dict]:
    """Read prepared batch CSVs back into one frame (time order) and their batch entries.

    Zone and frequency come from `data` when given (so a stage need not depend on
    `batches.json`, which grows with every batch), else from `batches.json` beside them.
    """
    paths = [Path(p) for p in paths]
    if data is None:
        meta = json.loads((paths[0].parent / "batches.json").read_text(encoding="utf-8"))
        timezone, freq = meta["timezone"], meta["freq"]
    else:
        timezone, freq = data.timezone, data.freq
    parts = [pd.read_csv(p, index_col=0, dtype={SERIES: str}, **_EXACT) for p in paths]
    frame = pd.concat(parts)
    # parse before sorting: as text, 02:00+0100 sorts before 02:00+0200 (the DST fall-back hour)
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.index, format="ISO8601", utc=True),
                                   name=parts[0].index.name).tz_convert(timezone)
    frame = from_inert_csv(frame)  # names a spreadsheet would run, as they were (the times need nothing)
    name = frame.index.name
    if SERIES in frame.columns:  # several series: one block each, by name, each in time order
        frame = frame.rename_axis("__time").sort_values([SERIES, "__time"], kind="stable").rename_axis(name)
        frame.index = pd.DatetimeIndex(frame.index, name=name)
        return frame, {"timezone": timezone, "freq": freq, "batches": _entries(paths)}
    frame = frame.sort_index(kind="stable")
    frame.index = pd.DatetimeIndex(frame.index, freq=freq, name=name)
    return frame, {"timezone": timezone, "freq": freq, "batches": _entries(paths)}


def _entries(paths: list[Path]) -> list[dict]:
    """The batch entries (`NN-<name>.json`) beside prepared batch files."""
    return [json.loads(p.with_suffix(".json").read_text(encoding="utf-8")) for p in paths
            if p.with_suffix(".json").is_file()]

"""Benchmark: a large panel of series, its ingest and windows, and training throughput.

A generated panel of N series x 4,380 hourly rows (half a year), four columns (target `y`, three
features), in long form, six monthly CSV files, scales from 10 to 10,000 by series. For N in
`--series` (default 250, 500, 1000: 1.1 to 4.4 million rows), each in a fresh process:

- `validate`: ingest every file (each series' duplicates, grid, gaps, all series at once) and cut
  the tails, as `lstm-utils validate` does; then build every split's windows (`make_windows`).
  Seconds and peak memory (the process's maximum resident set). Bars: under 3 GB at 1,000
  series, and linear in rows (seconds per million rows about constant).
- `--no-throughput` stops there, without the training epochs below.
- throughput: one training epoch of the window-scaled model (`model.scaling: window`, the
  example's LSTM(16), batch 64) on 100,000 windows drawn from the whole panel, against the same
  model on one series' own windows, repeated to the same count (the single-series figure), side
  by side in one process.
  Bar: the panel at least 0.8x the single series.

    .venv/bin/python bench/panel.py                      # about 4 minutes here
    .venv/bin/python bench/panel.py --series 100 --windows 20000
    .venv/bin/python bench/panel.py --series 1000 --no-throughput   # validate and windows only
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ROWS = 4380  # hourly rows per series: half a year
FILES = 6


def write_panel(folder: Path, series: int, seed: int = 0, months: int = 0) -> int:
    """N series in long form, six files of equal length from 2020-01-01 (or, with `months`, one file
    per calendar month from 2021-01, named by it); returns the rows written."""
    rng = np.random.default_rng(seed)
    if months:
        times = pd.date_range("2021-01-01", pd.Timestamp("2021-01-01") + pd.DateOffset(months=months), freq="h",
                              tz="UTC", inclusive="left")
        month = times.strftime("%Y-%m")
        cut = [np.flatnonzero(month == m) for m in month.unique()]
        names_of = [f"{m}.csv" for m in month.unique()]
    else:
        times = pd.date_range("2020-01-01", periods=ROWS, freq="h", tz="UTC")
        cut = np.array_split(np.arange(ROWS), FILES)
        names_of = [f"part-{f}.csv" for f in range(FILES)]
    hour = np.arange(len(times)) % 24
    scale = 10 ** rng.uniform(1, 4, size=series)
    names = np.array([f"s{i:04d}" for i in range(series)])
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    for name, rows in zip(names_of, cut):
        parts = []
        for i in range(series):
            base = np.sin(2 * np.pi * hour[rows] / 24 + i) + 0.3 * rng.standard_normal(len(rows))
            parts.append(pd.DataFrame({"time": times[rows].strftime("%Y-%m-%dT%H:%M:%SZ"), "site": names[i],
                                       "y": np.round(scale[i] * (3 + base), 3),
                                       "a": np.round(rng.standard_normal(len(rows)), 3),
                                       "b": np.round(rng.standard_normal(len(rows)), 3),
                                       "c": np.round(rng.standard_normal(len(rows)), 3)}))
        part = pd.concat(parts)
        part.to_csv(folder / name, index=False, lineterminator="\n")
        total += len(part)
    return total


def raw_params(lookback: int = 72, horizon: int = 24) -> dict:
    """The project's params.yaml, as a dict, set for the generated panel."""
    import yaml

    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["data"] |= {"time_column": "time", "targets": ["y"], "features": ["y", "a", "b", "c"], "series_column": "site"}
    raw["split"]["base_batches"] = FILES  # one base period: the tails are each series' last 15% + 15%
    raw["window"] |= {"lookback": lookback, "horizon": horizon}
    raw["model"] |= {"scaling": "window", "units": [16]}
    return raw


def params_for(lookback: int = 72, horizon: int = 24):
    from lstm_utils.config import parse_params

    return parse_params(raw_params(lookback, horizon))


def measure_ingest(folder: str) -> dict:
    """In this process: ingest + splits + every split's windows; seconds and peak memory."""
    from lstm_utils.ingest import ingest
    from lstm_utils.splits import assign_splits, check_batches
    from lstm_utils.windows import make_windows

    params = params_for()
    started = time.perf_counter()
    ds = ingest(folder, params.data, params.split.base_batches)
    frame = assign_splits(ds, params.split)
    check_batches(ds, frame, params.split, params.window)
    validated = time.perf_counter() - started
    windows = {s: len(make_windows(frame, ds.inputs, ds.targets, params.window.lookback, params.window.horizon, s))
               for s in ("train", "val", "test")}
    return {"rows": len(frame), "validate_seconds": validated, "windows_seconds": time.perf_counter() - started
            - validated, "windows": windows, "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def throughput(folder: Path, n_windows: int, epochs: int = 2) -> dict:
    """Windows per second of one training epoch: a sample of the panel's windows against one series'."""
    from lstm_utils.from_scratch import new_forecaster
    from lstm_utils.ingest import ingest
    from lstm_utils.splits import SERIES, assign_splits
    from lstm_utils.train import fit
    from lstm_utils.windows import split_windows

    params = params_for()
    ds = ingest(folder, params.data, params.split.base_batches)
    frame = assign_splits(ds, params.split)
    one = frame[frame[SERIES] == frame[SERIES].iloc[0]]
    out = {}
    for label, part in (("one series", one), ("panel", frame)):
        train = split_windows(part, params, "train", [0])
        # the same epoch size for both: one series' windows repeated, a sample of the panel's
        train = train.subset(np.resize(np.arange(len(train)), n_windows)) if len(train) < n_windows else \
            train.sample(n_windows, seed=0)
        empty = train.subset(slice(0, 0))
        model = new_forecaster(part, params)
        fit(model, train, empty, epochs=1, batch_size=64, learning_rate=1e-3, patience=9, seed=0, verbose=0)  # compile
        result = fit(model, train, empty, epochs=epochs, batch_size=64, learning_rate=1e-3, patience=9, seed=0,
                     verbose=0)
        out[label] = {"windows": len(train), "distinct": len(np.unique(train.starts)),
                      "windows_per_s": result.windows_seen / result.seconds}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, nargs="+", default=[250, 500, 1000])
    parser.add_argument("--windows", type=int, default=100_000, help="panel windows in the throughput epoch")
    parser.add_argument("--no-throughput", action="store_true", help="skip the training epochs (validate and windows)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: measure one folder in this process
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure_ingest(args.measure)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        print("| series | rows | validate s | s per M rows | windows s | windows (train/val/test) | peak GB |")
        print("|---|---|---|---|---|---|---|")
        folders = {}
        for n in args.series:
            folder = Path(tmp) / f"panel-{n}"
            write_panel(folder, n)
            folders[n] = folder
            done = subprocess.run([sys.executable, __file__, "--measure", str(folder)], capture_output=True, text=True,
                                  check=True)
            m = json.loads(done.stdout.strip().splitlines()[-1])
            w = m["windows"]
            per_million = m["validate_seconds"] / m["rows"] * 1e6
            print(f"| {n} | {m['rows']:,} | {m['validate_seconds']:.1f} | {per_million:.2f} | "
                  f"{m['windows_seconds']:.1f} | {w['train']:,} / {w['val']:,} / {w['test']:,} | {m['peak_gb']:.2f} |",
                  flush=True)
        if args.no_throughput:
            return
        t = throughput(folders[max(folders)], args.windows)
        one, panel = t["one series"], t["panel"]
        print(f"\nthroughput, LSTM(16) window-scaled, batch 64: one series {one['windows_per_s']:,.0f} windows/s "
              f"({one['distinct']:,} windows repeated to {one['windows']:,}), panel of {max(folders)} series "
              f"{panel['windows_per_s']:,.0f} windows/s ({panel['windows']:,} windows): "
              f"{panel['windows_per_s'] / one['windows_per_s']:.2f}x (bar 0.8x)")


if __name__ == "__main__":
    main()

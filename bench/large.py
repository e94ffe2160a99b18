"""Benchmark: time and peak memory of reading a large CSV, and of cutting it into windows.

Writes a generated file of `--rows` rows and 8 columns (a minute-by-minute time column and 7
numbers), and its first half and quarter, to a temporary folder; then, each in a fresh
process, times `lstm-utils validate` (ingest and checks) and building the training windows
(ingest, splits, windows), and reports each process's peak resident memory. Target (issue 5):
under 2 GB at 5 million rows, growing linearly with the rows.

    .venv/bin/python bench/large.py              # 5,000,000 rows (about 400 MB of CSV)
    .venv/bin/python bench/large.py --rows 200000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = [f"v{i}" for i in range(7)]

# Runs in a fresh process: one measured job, then its peak RSS (ru_maxrss, KiB on Linux) as JSON.
JOB = """
import json, resource, sys, time
started = time.perf_counter()
job, folder, params_path = sys.argv[1:4]
if job == "validate":
    import contextlib, io
    from lstm_utils import cli
    with contextlib.redirect_stdout(io.StringIO()):
        status = cli.main(["validate", folder, "--params", params_path])
    assert status == 0, status
    n = None
else:
    from lstm_utils.config import load_params
    from lstm_utils.ingest import ingest
    from lstm_utils.splits import assign_splits
    from lstm_utils.windows import make_windows
    p = load_params(params_path)
    frame = assign_splits(ingest(folder, p.data, p.split.base_batches), p.split)
    w = make_windows(frame, p.data.inputs, p.data.targets, p.window.lookback, p.window.horizon, "train", [0])
    x, y = w.arrays(slice(0, 1024))  # one batch cut out, as training does
    n = len(w)
print(json.dumps({"seconds": time.perf_counter() - started, "windows": n,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write_csv(path: Path, rows: int, seed: int = 0) -> None:
    """`rows` minutes of 7 random-walk columns, written in slices (the generator stays small)."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2010-01-01T00:00:00Z")
    level = np.zeros(len(COLUMNS))
    step = 500_000
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(",".join(["time", *COLUMNS]) + "\n")
        for first in range(0, rows, step):
            n = min(step, rows - first)
            walk = level + np.cumsum(rng.normal(0, 0.1, (n, len(COLUMNS))), axis=0)
            level = walk[-1]
            times = pd.date_range(start + pd.Timedelta(minutes=first), periods=n, freq="min")
            frame = pd.DataFrame(walk.round(3), columns=COLUMNS)
            frame.insert(0, "time", times.strftime("%Y-%m-%dT%H:%M:%SZ"))
            frame.to_csv(out, header=False, index=False)


def write_params(path: Path) -> None:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["data"].update(time_column="time", targets=["v0"], features=COLUMNS, freq="min", timezone="UTC")
    raw["split"]["base_batches"] = 1
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


def measure(job: str, folder: Path, params: Path) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", JOB, job, str(folder), str(params)], env=env,
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{job} on {folder} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    args = parser.parse_args()
    sizes = [args.rows // 4, args.rows // 2, args.rows]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        params = tmp / "params.yaml"
        write_params(params)
        started = time.perf_counter()
        big = tmp / "all.csv"
        write_csv(big, args.rows)
        print(f"wrote {args.rows:,} rows ({big.stat().st_size / 2**20:.0f} MB) in "
              f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
        for rows in sizes:
            folder = tmp / f"rows-{rows}"
            folder.mkdir()
            with open(big, encoding="utf-8") as src, open(folder / "data.csv", "w", encoding="utf-8") as dst:
                for i, line in enumerate(src):
                    if i > rows:
                        break
                    dst.write(line)
            v = measure("validate", folder, params)
            w = measure("windows", folder, params)
            results.append((rows, (folder / "data.csv").stat().st_size / 2**20, v, w))
            (folder / "data.csv").unlink()
            print(f"{rows:,} rows measured", file=sys.stderr)
    print(f"{'rows':>10s} {'CSV MB':>7s} {'validate s':>11s} {'peak MB':>8s} {'windows s':>10s} {'peak MB':>8s} "
          f"{'windows':>10s}")
    for rows, mb, v, w in results:
        print(f"{rows:10,d} {mb:7.0f} {v['seconds']:11.1f} {v['peak_mb']:8.0f} {w['seconds']:10.1f} "
              f"{w['peak_mb']:8.0f} {w['windows']:10,d}")
    # linear growth: the peak's increase per row from a quarter to half matches half to all
    for i, name in ((2, "validate"), (3, "windows")):
        peaks = [r[i]["peak_mb"] for r in results]
        slopes = [(peaks[1] - peaks[0]) / (sizes[1] - sizes[0]), (peaks[2] - peaks[1]) / (sizes[2] - sizes[1])]
        linear = abs(slopes[1] - slopes[0]) <= 0.25 * max(slopes)
        print(f"[{'pass' if peaks[-1] < 2048 else 'FAIL'}] {name}: peak {peaks[-1]:.0f} MB at {sizes[-1]:,} rows "
              f"(target < 2048 MB)")
        print(f"[{'pass' if linear else 'FAIL'}] {name}: {slopes[0] * 1e6:.0f} then {slopes[1] * 1e6:.0f} MB "
              "per million rows (linear within 25%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

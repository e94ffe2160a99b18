"""A lead for issue 14: shrink the model's learned change toward seasonal naive, on departures.

The departures model forecasts the value a week earlier plus a learned change. On July's test
tail the timetable repeats almost exactly (seasonal naive's scaled RMSE 0.019), and any change
hurts. This measures a gate, forecast = naive + alpha * (model - naive) with alpha in [0, 1]
fitted by least squares on scaled validation windows: once on the base period's, or refitted
on each new batch's validation tail (as an update step could). Base model only (no updates),
January-June, scored on the July-October test tails; mean over the months of each month's
pooled scaled RMSE, as the pipeline's `new_rmse`.

    .venv/bin/python bench/gate.py        # about 40 s here
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    from departures import EXAMPLE, params_for
    from lstm_utils.baselines import seasonal_naive
    from lstm_utils.from_scratch import train_new
    from lstm_utils.ingest import ingest
    from lstm_utils.model import predict
    from lstm_utils.splits import assign_splits
    from lstm_utils.windows import split_windows

    params = params_for(168, calendar=True)
    data = ingest(EXAMPLE / "data", params.data, params.split.base_batches, horizon=params.window.horizon)
    frame = assign_splits(data, params.split)
    model = train_new(frame, params, [0], verbose=0).model

    def scaled(split: str, batch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        w = split_windows(frame, params, split, [batch])
        _, y = w.arrays()
        return tuple(w.scaled(a)[0] for a in (y, predict(model, w), seasonal_naive(w, params.baselines.season)))

    def gate(y: np.ndarray, m: np.ndarray, n: np.ndarray) -> float:
        change, miss = m - n, y - n
        return float(np.clip((change * miss).sum() / (change * change).sum(), 0, 1))

    def rmse(y: np.ndarray, p: np.ndarray) -> float:
        return float(np.sqrt(np.mean((y - p) ** 2)))

    base_alpha = gate(*scaled("val", 0))
    print(f"alpha fitted on the base period's validation windows: {base_alpha:.3f}\n")
    print("| month | seasonal naive | model | gate (base alpha) | alpha refitted | gate (refitted) |")
    print("|---|---|---|---|---|---|")
    names = {f.batch: Path(f.name).stem for f in data.report.files}
    rows = []
    for batch in sorted(set(frame["batch"]))[1:]:
        alpha = gate(*scaled("val", batch))
        y, m, n = scaled("test", batch)
        rows.append([rmse(y, n), rmse(y, m), rmse(y, n + base_alpha * (m - n)), rmse(y, n + alpha * (m - n))])
        print(f"| {names.get(batch, batch)} | {rows[-1][0]:.4f} | {rows[-1][1]:.4f} | {rows[-1][2]:.4f} | {alpha:.3f} | {rows[-1][3]:.4f} |")
    mean = np.mean(rows, axis=0)
    print(f"| mean | {mean[0]:.4f} | {mean[1]:.4f} | {mean[2]:.4f} | | {mean[3]:.4f} |")


if __name__ == "__main__":
    main()

"""The strategy report's tables: a strategy's settings, one row per update step, and its
intervals step by step."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstm_utils import strategies
from lstm_utils.chain import Chain
from lstm_utils.settings import Params, as_written


def steps_table(chain: Chain, targets: list[str]) -> pd.DataFrame:
    """One row per update step: cost; the error on every window of the new batch before learning it
    (`deployed_rmse`, the model a user had) and on its test tail after (`new_rmse`), with the windows
    behind each; the errors on old batches; the keys of a step's `info` its strategy's module
    shows (`Strategy.shown`; refit: whether the step retrained from scratch); with `model.share` or
    `model.gate` fitted, the weights fitted at the step (`share`, `gate`; with several `targets`, a
    column per target: `share_<target>`)."""
    rows = []
    coverage = [f"new_coverage_{level}" for level in chain.intervals]
    shown = strategies.get(chain.strategy).shown if chain.strategy in strategies.STRATEGIES else ()
    for rec in chain.steps:
        t = rec.step
        ahead = chain.deployed[t - 1]
        rows.append({"step": t, "batch": rec.batch, "deployed_rmse": float(np.sqrt(ahead.sq.mean())) if len(ahead)
                     else np.nan, "deployed_windows": len(ahead), "new_rmse": chain.rmse[t, t],
                     "test_windows": chain.test_windows[t], "forward_rmse": chain.rmse[t - 1, t],
                     "retained_rmse": float(np.nanmean(chain.rmse[t, :t])), "base_rmse": chain.rmse[t, 0]}
                    | {f"new_coverage_{level}": m["coverage"][t, t] for level, m in chain.intervals.items()}
                    | {"train_seconds": rec.train_seconds, "windows_seen": rec.windows_seen, "reused": rec.reused}
                    | {k: rec.info[k] for k in shown if k in rec.info} | _guards(rec.info, targets))
    gates = [k for k in shown if any(k in rec.info for rec in chain.steps)]
    gates += [c for k in ("share", "gate") if any(k in rec.info for rec in chain.steps) for c in _guard_columns(k, targets)]
    return pd.DataFrame(rows, columns=["step", "batch", "deployed_rmse", "deployed_windows", "new_rmse", "test_windows",
                                       "forward_rmse", "retained_rmse", "base_rmse", *coverage, "train_seconds",
                                       "windows_seen", "reused", *gates])


def _guard_columns(key: str, targets: list[str]) -> list[str]:
    """The table's columns for a fitted share or gate: `key` for one target, `key_<target>` for several."""
    return [key] if len(targets) == 1 else [f"{key}_{t}" for t in targets]


def _guards(info: dict, targets: list[str]) -> dict:
    """A step's fitted share and gate for its table row: a number per target, in a column each."""
    return {c: v for k in ("share", "gate") if k in info for c, v in zip(_guard_columns(k, targets), info[k])}


def intervals_by_step(chain: Chain) -> pd.DataFrame:
    """One row per update step and level: the intervals' coverage (against the nominal level),
    mean width and interval score on the new batch's test tail, and the calibration windows."""
    rows = [{"step": rec.step, "batch": rec.batch, "level": f"{level}%", "nominal": float(level) / 100,
             "coverage": m["coverage"][rec.step, rec.step], "width": m["width"][rec.step, rec.step],
             "interval_score": m["interval_score"][rec.step, rec.step],
             "calibration_windows": chain.calibration_windows[rec.step]}
            for level, m in chain.intervals.items() for rec in chain.steps]
    return pd.DataFrame(rows, columns=["step", "batch", "level", "nominal", "coverage", "width", "interval_score",
                                       "calibration_windows"]).set_index(["level", "step"])


def settings_table(spec: strategies.Strategy, params: Params) -> pd.DataFrame:
    """A strategy's settings (its own section) and the other params keys it reads, with their values."""
    rows = [{"key": f"{spec.name}.{k}", "value": as_written(v), "read from": "its own section"}
            for k, v in params.section(spec.name).items()]
    rows += [{"key": key, "value": as_written(value), "read from": "shared with the base model"}
             for key, value in spec.used(params.raw).items() if key in spec.reads]
    return pd.DataFrame(rows, columns=["key", "value", "read from"]).set_index("key")


def summary_row(strategy: str, summary: dict, spent: dict) -> pd.DataFrame:
    """One strategy's headline numbers (of its intervals, the coverage per level; pooled over the
    targets) and its training seconds, as a one-row table."""
    row = {k: v for k, v in summary.items()
           if not k.startswith(("new_width_", "new_interval_score_")) and not k.endswith("_by_target")}
    row |= {"train_seconds": spent["train_seconds"]}
    return pd.DataFrame([row], index=pd.Index([strategy], name="strategy"))

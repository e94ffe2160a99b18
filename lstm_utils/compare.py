"""From error matrices to decisions: per-strategy summaries, the champion rule, and the words
that explain the result.

E[t][k] is the error of the model after step t on batch k's test tail (t = 0: the base model).
new-period error: E[t][t]; retained: E[t][k], k < t; forgetting: E[T][k] - E[k][k] for k < T;
forward (deployment) error: E[t-1][t], the model before step t on batch t.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lstm_utils.config import CompareParams

# When each strategy is expected to fit (shared/DESIGN.md); the report checks it against the numbers.
GUIDANCE = {
    "none": "nothing changed in the data",
    "finetune": "small, contiguous new data",
    "distill": "larger or non-contiguous new data",
    "ensemble": "large shifts, more data",
    "retrain": "the accuracy and cost reference",
    "replay": "the usual winner in continual learning",
}


def _mean(values) -> float | None:
    values = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(values)) if values else None


def summarize(rmse: np.ndarray, mae: np.ndarray, seconds: list[float], windows: list[int]) -> dict:
    """One strategy's headline numbers from its error matrices (models x batches) and costs."""
    steps = rmse.shape[0] - 1
    last = steps
    return {
        "new_rmse": _mean(rmse[t, t] for t in range(1, steps + 1)),
        "new_mae": _mean(mae[t, t] for t in range(1, steps + 1)),
        "old_rmse": float(rmse[last, 0]),
        "forgetting": _mean(rmse[last, k] - rmse[k, k] for k in range(last)),
        "forward_rmse": _mean(rmse[t - 1, t] for t in range(1, steps + 1)),
        "train_seconds": float(sum(seconds)),
        "windows_seen": int(sum(windows)),
    }


def summarize_baseline(errors: dict) -> dict:
    """A naive forecaster's new-period error (mean over batches 1..T) and base-period error."""
    rmse, mae = errors["rmse"], errors["mae"]
    return {"new_rmse": _mean(rmse[1:]), "new_mae": _mean(mae[1:]), "old_rmse": float(rmse[0])}


def champion(summaries: dict[str, dict], rule: CompareParams) -> tuple[str, str]:
    """The strategy to use, and why: the lowest `rule.rank_by` among strategies whose
    forgetting is at most `rule.max_forgetting` (all of them if none qualifies)."""
    ranked = {s: v for s, v in summaries.items() if v.get(rule.rank_by) is not None}
    if not ranked:
        return "none", "no update step has run yet (a single batch), so the base model stays"
    eligible = {s: v for s, v in ranked.items() if (v["forgetting"] or 0.0) <= rule.max_forgetting}
    pool = eligible or ranked
    best = min(pool, key=lambda s: (pool[s][rule.rank_by], s))
    why = (f"lowest {rule.rank_by} ({pool[best][rule.rank_by]:.3f}) among {len(pool)} strategies whose forgetting "
           f"is at most {rule.max_forgetting}") if eligible else (
           f"no strategy kept its forgetting under {rule.max_forgetting}; lowest {rule.rank_by} of all")
    excluded = sorted(set(ranked) - set(eligible)) if eligible else []
    if excluded:
        why += f" (excluded for forgetting: {', '.join(excluded)})"
    return best, why


def table(summaries: dict[str, dict], baselines: dict[str, dict]) -> pd.DataFrame:
    """Every strategy and baseline, one row each, best new-period RMSE first."""
    rows = {**summaries, **{f"{k} (baseline)": v for k, v in baselines.items()}}
    frame = pd.DataFrame(rows).T
    columns = ["new_rmse", "new_mae", "old_rmse", "forgetting", "forward_rmse", "train_seconds", "windows_seen"]
    return frame.reindex(columns=columns).sort_values("new_rmse").rename_axis("forecaster")


def narrative(summaries: dict[str, dict], baselines: dict[str, dict], best: str, why: str) -> str:
    """Plain-words verdict: who won, by how much, at what cost, and the guidance checked."""
    s = summaries[best]
    naive = {k: v["new_rmse"] for k, v in baselines.items() if v.get("new_rmse") is not None}
    lines = [f"**Champion: {best}** ({why})."]
    if s.get("new_rmse") is not None and naive:
        worst_gap = min(naive.values())
        verdict = "beats" if s["new_rmse"] < worst_gap else "does not beat"
        lines.append(f"Its new-period RMSE is {s['new_rmse']:.3f}; it {verdict} the best naive forecast "
                     f"({min(naive, key=naive.get)}, {worst_gap:.3f}).")
    ref = summaries.get("retrain")
    if ref and ref.get("train_seconds"):
        for name in ("finetune", "replay", "distill", "ensemble"):
            if name in summaries and summaries[name].get("new_rmse") is not None and ref.get("new_rmse"):
                x = summaries[name]
                lines.append(f"- {name} ({GUIDANCE[name]}): {x['train_seconds'] / ref['train_seconds']:.0%} of "
                             f"retrain's training time, new-period RMSE {x['new_rmse'] / ref['new_rmse'] - 1:+.1%} "
                             f"vs retrain, forgetting {x['forgetting']:+.3f}.")
    if "none" in summaries and summaries["none"].get("new_rmse") is not None and s.get("new_rmse") is not None:
        gain = summaries["none"]["new_rmse"] - s["new_rmse"]
        lines.append(f"Updating gained {gain:+.3f} RMSE on the new periods over never updating (none).")
    return "\n".join(lines)

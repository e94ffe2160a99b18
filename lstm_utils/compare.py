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

from lstm_utils import strategies
from lstm_utils.config import CompareParams
from lstm_utils.escape import markdown_text


def _mean(values) -> float | None:
    values = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(values)) if values else None


def summarize(rmse: np.ndarray, mae: np.ndarray, windows: list[int],
              intervals: dict[str, dict[str, np.ndarray]] | None = None) -> dict:
    """One strategy's headline numbers from its error matrices (models x batches) and the
    training windows seen per step (the cost measure that reproduces; seconds vary by machine);
    given its coverage matrices (level -> measure -> matrix), also `new_coverage_<level>`,
    `new_width_<level>` and `new_interval_score_<level>`: means over the new periods, like new_rmse."""
    steps = rmse.shape[0] - 1
    last = steps
    out = {
        "new_rmse": _mean(rmse[t, t] for t in range(1, steps + 1)),
        "new_mae": _mean(mae[t, t] for t in range(1, steps + 1)),
        "old_rmse": float(rmse[last, 0]),
        "forgetting": _mean(rmse[last, k] - rmse[k, k] for k in range(last)),
        "forward_rmse": _mean(rmse[t - 1, t] for t in range(1, steps + 1)),
        "windows_seen": int(sum(windows)),
    }
    for level, measures in (intervals or {}).items():
        out |= {f"new_{m}_{level}": _mean(v[t, t] for t in range(1, steps + 1)) for m, v in measures.items()}
    return out


def summarize_baseline(errors: dict) -> dict:
    """A naive forecaster's new-period error (mean over batches 1..T) and base-period error, and
    its intervals' new-period coverage, width and score per level when `errors` has them."""
    rmse, mae = errors["rmse"], errors["mae"]
    out = {"new_rmse": _mean(rmse[1:]), "new_mae": _mean(mae[1:]), "old_rmse": float(rmse[0])}
    for level, measures in errors.get("intervals", {}).items():
        out |= {f"new_{m}_{level}": _mean(v[1:]) for m, v in measures.items()}
    return out


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
    columns = ["new_rmse", "new_mae", "old_rmse", "forgetting", "forward_rmse", "windows_seen"]
    frame = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=columns)
    frame = frame.astype({c: "float64" for c in columns[:-1]} | {"windows_seen": "Int64"})  # counts stay whole
    return frame.sort_values("new_rmse").rename_axis("forecaster")


HELD = 0.05  # intervals "held" when their mean new-period coverage fell at most 5 points below nominal


def interval_table(summaries: dict[str, dict], baselines: dict[str, dict]) -> pd.DataFrame:
    """Every strategy and baseline, one row each: per level (columns `coverage 80`, `width 80`,
    `interval_score 80`, ...) the means over the new periods; best interval score at the highest
    level first."""
    rows = {**summaries, **{f"{k} (baseline)": v for k, v in baselines.items()}}
    found = levels(summaries)
    columns = {f"new_{m}_{q}": f"{m} {q}" for q in found for m in ("coverage", "width", "interval_score")}
    frame = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=list(columns)).astype("float64")
    frame = frame.rename(columns=columns).rename_axis("forecaster")
    return frame.sort_values(f"interval_score {found[-1]}") if found else frame


def levels(summaries: dict[str, dict]) -> list[str]:
    """The interval levels the summaries have (e.g. ["80", "95"]), lowest first."""
    found = {k.removeprefix("new_coverage_") for v in summaries.values() for k in v if k.startswith("new_coverage_")}
    return sorted(found, key=float)


def interval_verdict(summaries: dict[str, dict], baselines: dict[str, dict]) -> str:
    """In plain words, per level: whose intervals held (mean new-period coverage at most
    :data:`HELD` below nominal), whose held but were wider than needed (more than :data:`HELD`
    above), whose did not (too narrow), and whose interval score was best, against seasonal naive's."""
    lines = []
    for level in levels(summaries):
        nominal = float(level) / 100
        cov = {s: v.get(f"new_coverage_{level}") for s, v in summaries.items()}
        cov = {s: c for s, c in cov.items() if c is not None}
        if not cov:
            continue

        def listed(names: list[str]) -> str:
            return ", ".join(f"{s} ({cov[s]:.0%})" for s in sorted(names, key=lambda s: abs(cov[s] - nominal)))

        close = [s for s, c in cov.items() if abs(c - nominal) <= HELD]
        wide = [s for s, c in cov.items() if c > nominal + HELD]
        short = [s for s, c in cov.items() if c < nominal - HELD]
        parts = [f"**{level}% intervals**:"]
        if close:
            parts.append(f"held for {listed(close)}, within {HELD:.0%} of nominal on the new periods.")
        if wide:
            parts.append(f"Held but wider than needed for {listed(wide)}: the new periods' errors were smaller "
                         "than those they were calibrated on.")
        if short:
            parts.append(f"Did not hold for {listed(short)}: too narrow, the new periods' errors were larger than "
                         "those they were calibrated on.")
        if not close and not wide:
            parts.append("No strategy's intervals held.")
        scores = {s: v.get(f"new_interval_score_{level}") for s, v in summaries.items()}
        scores = {s: x for s, x in scores.items() if x is not None}
        naive = baselines.get("seasonal_naive", {}).get(f"new_interval_score_{level}")
        if scores:
            best = min(scores, key=scores.get)
            parts.append(f"Best interval score: {best} ({scores[best]:.2f}"
                         + (f"; seasonal naive {naive:.2f})." if naive is not None else ")."))
        lines.append(" ".join(parts))
    return "\n\n".join(lines) if lines else "No interval was calibrated (no update step, or too few windows)."


def narrative(summaries: dict[str, dict], baselines: dict[str, dict], best: str, why: str) -> str:
    """Plain-words verdict: who won and why, then when each strategy is said to fit (its module's
    `fits`) set against what was measured here: its rank, its cost (windows seen) next to the
    reference strategy's (retrain), its forgetting."""
    ranked = sorted((s for s in summaries if summaries[s].get("new_rmse") is not None),
                    key=lambda s: summaries[s]["new_rmse"])
    if not ranked:
        return f"**Champion: {best}** ({why})."
    top = summaries[ranked[0]]["new_rmse"]
    others = {k: v["new_rmse"] for k, v in baselines.items() if v.get("new_rmse") is not None}
    lines = [f"**Champion: {best}**: {why}."]
    if others and summaries[best].get("new_rmse") is not None:
        name = min(others, key=others.get)
        gap = summaries[best]["new_rmse"] / others[name] - 1
        lines.append(f"Its new-period RMSE, {summaries[best]['new_rmse']:.3f}, is {abs(gap):.1%} "
                     f"{'below' if gap < 0 else 'above'} the best baseline ({name}, {others[name]:.3f}).")
    if others.get("linear") is not None:
        lines.append(against_linear(summaries, ranked, others["linear"], best))
    known = strategies.STRATEGIES
    reference = next((s for s in summaries if s in known and known[s].reference), None)
    ref = summaries.get(reference, {}) if reference else {}
    lines.append("")
    lines.append(f"| strategy | when it fits | rank | new RMSE vs best | cost vs {reference or 'reference'} "
                 "| forgetting |")
    lines.append("|---|---|---|---|---|---|")
    for s in ranked:
        x = summaries[s]
        cost = f"{x['windows_seen'] / ref['windows_seen']:.0%}" if ref.get("windows_seen") else "n/a"
        fits = known[s].fits if s in known else ""
        lines.append(f"| {s} | {fits} | {ranked.index(s) + 1} of {len(ranked)} | "
                     f"{x['new_rmse'] / top - 1:+.1%} | {cost} | {x['forgetting']:+.3f} |")
    lines.append("")
    lines += _checks(summaries, ranked)
    if levels(summaries):
        lines += ["", interval_verdict(summaries, baselines)]
    return "\n".join(lines)


def against_linear(summaries: dict[str, dict], ranked: list[str], linear: float, best: str) -> str:
    """In plain words: whether the LSTM beats the linear baseline (a ridge regression on the same
    windows, refit on all data at every step), for which strategies not, and by how much."""
    behind = {s: summaries[s]["new_rmse"] / linear - 1 for s in ranked if summaries[s]["new_rmse"] >= linear}
    what = f"the linear baseline (a ridge regression on the same windows, refit at every step: {linear:.3f})"
    if not behind:
        return (f"Every strategy beats {what} on the new periods, the champion by "
                f"{1 - summaries[best]['new_rmse'] / linear:.1%}: the LSTM adds to what a linear model can do here.")
    listed = ", ".join(f"{s} (+{gap:.1%})" for s, gap in behind.items())
    if len(behind) == len(ranked):
        return (f"**The LSTM does not beat {what} on your data**: no compared strategy does better on the new "
                f"periods ({listed}). Use the linear model, or give the LSTM more data or other settings.")
    ahead = ", ".join(s for s in ranked if s not in behind)
    if best in behind:
        return (f"**The champion does not beat {what} on your data** ({listed} behind it); {ahead} "
                f"{'does' if len(ranked) - len(behind) == 1 else 'do'} better on the new periods, but forget more "
                f"than `compare.max_forgetting` allows or rank lower by `compare.rank_by`.")
    return f"Behind {what} on the new periods: {listed}; the other strategies beat it."


def _checks(summaries: dict[str, dict], ranked: list[str]) -> list[str]:
    """The design's expectations, each said to hold here or not."""
    out = []
    spread = summaries[ranked[-1]]["new_rmse"] / summaries[ranked[0]]["new_rmse"] - 1
    if "none" in summaries:
        gain = summaries["none"]["new_rmse"] / summaries[ranked[0]]["new_rmse"] - 1
        out.append(f"- *Updating pays when the data drifts*: never updating (none) is {gain:+.1%} behind the best "
                   f"strategy; {'the drift was small here' if gain < 0.02 else 'the new periods did drift'}.")
    if "replay" in summaries:
        r = ranked.index("replay") + 1
        out.append(f"- *Replay is the usual winner in continual learning*: here it ranks {r} of {len(ranked)}"
                   f"{' (holds)' if r <= 2 else ' (does not hold on this data)'}.")
    if {"finetune", "replay"} <= set(summaries):
        f, r = summaries["finetune"], summaries["replay"]
        out.append(f"- *Fine-tuning alone forgets; replay remembers*: forgetting {f['forgetting']:+.3f} for finetune "
                   f"against {r['forgetting']:+.3f} for replay"
                   f"{' (holds)' if f['forgetting'] >= r['forgetting'] else ' (not seen here)'}.")
    known = strategies.STRATEGIES
    reference = next((s for s in ranked if s in known and known[s].reference), None)
    if reference is not None:
        ref = summaries[reference]
        cheap = [s for s in ranked if s != reference and 0 < summaries[s]["windows_seen"] < ref["windows_seen"]
                 and summaries[s]["new_rmse"] <= 1.05 * ref["new_rmse"]]
        out.append(f"- *Updating costs less than retraining for similar accuracy*: "
                   f"{', '.join(cheap) if cheap else 'no strategy'} came within 5% of {reference}'s new-period RMSE "
                   "for less training (fewer windows seen).")
    out.append(f"- All strategies lie within {spread:.1%} of each other on the new periods; differences smaller "
               "than the step-to-step spread in the error matrices are not decisive.")
    return out


def worst_series(table: pd.DataFrame, best: str) -> str:
    """In words, the series on which the champion does worst against seasonal naive (a
    :func:`lstm_utils.scoring.by_series_table` sorted by `best`), so that one bad series cannot
    hide behind the pooled figures."""
    ratio = f"{best} / seasonal_naive"
    name, row = next(iter(table.iterrows()))
    verdict = "still beats" if row[ratio] < 1 else "does not beat"
    beaten = int((table[ratio] < 1).sum())
    return (f"The champion ({best}) beats seasonal naive on {beaten} of {len(table)} series on the newest test tail. "
            f"Its worst series is **{markdown_text(name)}**: RMSE {row[best]:.3f} against seasonal naive's "
            f"{row['seasonal_naive']:.3f} "
            f"({row[ratio] - 1:+.1%}), so it {verdict} seasonal naive there.")


def series_section(per_series: dict[str, dict], best: str) -> pd.DataFrame | None:
    """The compare report's section on the series: a heading, :func:`worst_series`, and the table
    of every forecaster's RMSE per series in its own units (worst first); None (nothing shown)
    for one series."""
    if not per_series:
        return None
    from IPython.display import Markdown, display

    from lstm_utils.scoring import by_series_table

    table = by_series_table(per_series, worst_of=best)
    display(Markdown("## Per series\n\nThe figures above are pooled over the series, each error divided by its "
                     "series' scale (the root mean square of its step-to-step change on its first train tail). Here "
                     "each series in its own units: every final model's and baseline's RMSE on the newest batch's "
                     "test tail, the series on which the champion does worst against seasonal naive first.\n\n"
                     + worst_series(table, best)))
    return table

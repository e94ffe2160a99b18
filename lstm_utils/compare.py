"""The comparison in tables and words: every strategy and baseline side by side, the verdict of
the champion rule (:mod:`lstm_utils.decide`) with the evidence behind it, and the walk forward.

The figures come from :mod:`lstm_utils.summary`: the deployed error (every window of each new
batch, forecast before learning it) ranks; the test tails' new-period error, forgetting and
error matrix are the view of what each strategy learned and forgot. Every figure says how many
windows it rests on, and one on fewer than `compare.min_windows` is flagged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from lstm_utils import intervals, strategies
from lstm_utils.baselines import NAMES
from lstm_utils.decide import POLICIES, Choice, ConfidenceSet, WalkForward
from lstm_utils.escape import markdown_code, markdown_text
from lstm_utils.metrics import relative_gap
from lstm_utils.settings import CompareParams

BASELINE = " (baseline)"  # how a baseline is named beside the strategies


def shown(name: str, baselines: dict) -> str:
    """A forecaster's name as the tables show it: a baseline marked."""
    return f"{name}{BASELINE}" if name in baselines else name


COLUMNS = ["deployed_rmse", "deployed_windows", "mcs_pvalue", "in_set", "new_rmse", "new_windows", "old_rmse",
           "forgetting_share", "windows_seen"]


def flags(summary: dict, min_windows: int) -> list[str]:
    """The figures of a summary that rest on fewer than `min_windows` windows, in words."""
    out = []
    for figure, count in (("deployed_rmse", "deployed_windows"), ("new_rmse", "new_windows")):
        n = summary.get(count)
        if summary.get(figure) is not None and n is not None and n < min_windows:
            out.append(f"{figure} on {n} windows")
    return out


def table(summaries: dict[str, dict], baselines: dict[str, dict], evidence: ConfidenceSet | None = None,
          min_windows: int = 0) -> pd.DataFrame:
    """Every strategy and baseline, one row each, lowest deployed RMSE first: the deployed error
    and the windows behind it, the confidence set's p-value and membership, the new-period error
    on the test tails and its windows, the base period's error after the last step, the
    forgetting as a share of the error, and the training windows seen; `few windows`, where any
    figure rests on fewer than `min_windows` windows, names them."""
    rows = {}
    for name, v in {**summaries, **baselines}.items():
        row = dict(v)
        if evidence is not None and name in evidence.pvalues:
            row |= {"mcs_pvalue": evidence.pvalues[name], "in_set": name in evidence}
        row["few windows"] = ", ".join(flags(v, min_windows))
        rows[shown(name, baselines) if name not in summaries else name] = row
    frame = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=COLUMNS + ["few windows"])
    frame = frame.astype({c: "float64" for c in COLUMNS if c not in ("deployed_windows", "new_windows", "in_set",
                                                                       "windows_seen")}
                         | {"deployed_windows": "Int64", "new_windows": "Int64", "windows_seen": "Int64",
                            "in_set": "boolean"})
    if not frame["few windows"].astype(bool).any():
        frame = frame.drop(columns="few windows")
    order = "deployed_rmse" if frame["deployed_rmse"].notna().any() else "new_rmse"
    return frame.sort_values(order, kind="stable").rename_axis("forecaster")


def evidence_words(evidence: ConfidenceSet, summaries: dict[str, dict], baselines: dict[str, dict],
                   rule: CompareParams) -> list[str]:
    """In words: which forecasters the confidence set cannot tell apart, which are worse (with their
    p-values), and whether updating pays at all (is `none` in the set?)."""
    if not evidence.windows:
        return []
    every = {**summaries, **baselines}
    gap = lambda n: every[n].get(rule.rank_by)  # noqa: E731
    inside = ", ".join(f"{shown(n, baselines)} (p = {evidence.pvalues[n]:.2f})" for n in evidence.members)
    how = (f"stationary bootstrap of the {evidence.times:,} forecast times, each pooling the windows of every series "
           f"that start then, blocks of {evidence.block} times on average" if evidence.times else
           f"stationary bootstrap, blocks of {evidence.block} windows on average")
    lines = [f"**Cannot be told apart** on {evidence.windows:,} deployed windows (the {evidence.confidence:.0%} "
             f"confidence set; {how}): {inside}."]
    if evidence.excluded:
        worse = ", ".join(f"{shown(n, baselines)} (p = {evidence.pvalues[n]:.3f}"
                          + (f", {rule.rank_by} {gap(n):.3f}" if gap(n) is not None else "") + ")"
                          for n in evidence.excluded)
        lines.append(f"**Worse**, beyond noise: {worse}.")
    else:
        lines.append("**None is worse beyond noise**: every forecaster is in the set.")
    if "none" in summaries:
        p = evidence.pvalues.get("none", 1.0)
        if "none" in evidence:
            lines.append(f"**Updating does not pay here, as far as the evidence can tell**: never updating (`none`) is "
                         f"in the set (p = {p:.2f}); no update can be told apart from keeping the base model.")
        else:
            lines.append(f"**Updating pays**: never updating (`none`) left the set (p = {p:.3f}).")
    return lines


def verdict(summaries: dict[str, dict], baselines: dict[str, dict], choice: Choice, evidence: ConfidenceSet,
            rule: CompareParams) -> str:
    """Plain-words verdict: the champion and why, what the evidence can and cannot tell apart,
    whether updating pays, whether a baseline beats every strategy, the figures on too few
    windows; then each strategy set against when it is said to fit, and the design's checks."""
    lines = [f"**Champion: {choice.champion}**: {choice.why}."]
    if choice.baseline:
        lines.append(baseline_words(summaries, baselines, choice.champion, rule))
    cheaper = cheaper_words(summaries, choice, evidence, rule)
    if cheaper:
        lines.append(cheaper)
    if not choice.in_set:
        behind = choice.behind or "a baseline"
        gap = _gap(summaries.get(choice.champion, {}), baselines.get(choice.behind or "", {}), rule.rank_by)
        lines.append(f"**No strategy is in the confidence set: {behind} beats them all** on the deployed windows"
                     + (f"; the champion is {gap:+.1%} behind it" if gap is not None else "")
                     + f". Use {behind}, or give the LSTM more data or other settings.")
    lines += evidence_words(evidence, summaries, baselines, rule)
    few = {name: flags(v, rule.min_windows) for name, v in {**summaries, **baselines}.items()}
    few = {name: f for name, f in few.items() if f}
    if few:
        said = "; ".join(f"{shown(n, baselines)}: {', '.join(f)}" for n, f in few.items())
        lines.append(f"**Figures on few windows** (fewer than `compare.min_windows`, {rule.min_windows}): {said}. "
                     "Differences between them are likely noise; more or longer batches, larger `split.*` "
                     "fractions or a shorter `window.horizon` give more windows.")
    return "\n\n".join(lines) + "\n\n" + narrative(summaries, baselines, choice.champion, rule.rank_by)


def cheaper_words(summaries: dict[str, dict], choice: Choice, evidence: ConfidenceSet, rule: CompareParams) -> str:
    """Why the champion is not the cheapest strategy in the confidence set, when it is not ('' when it is)."""
    inside = [s for s in summaries if s in evidence and summaries[s].get("windows_seen") is not None]
    if not choice.in_set or choice.baseline or choice.champion not in inside:
        return ""
    cheapest = min(inside, key=lambda s: (summaries[s]["windows_seen"], s))
    own, least = summaries[choice.champion]["windows_seen"], summaries[cheapest]["windows_seen"]
    if least >= own:
        return ""
    how = {"best": f"takes the lowest {_figure_name(rule.rank_by)} in the set",
           "margin": f"takes the cheapest within {rule.margin:.1%} of the lowest {_figure_name(rule.rank_by)}",
           "cheapest": "takes the cheapest, but the champion before stays while it is in the set"}[rule.choose]
    measured = (": over twelve walked-forward runs this rule had the lowest regret against the best fixed policy "
                "(bench/README.md, \"A rule that pays walked forward\")" if rule.choose == "best" else "")
    kept = f" (`compare.hysteresis: {rule.hysteresis}`)" if choice.kept else ""
    return (f"It is not the cheapest member of the set: {cheapest} saw {least:,} training windows against its "
            f"{own:,}, and the evidence cannot tell them apart. `compare.choose: {rule.choose}` {how}{kept}"
            f"{measured}. Set `compare.choose: cheapest` to take {cheapest}.")


def baseline_words(summaries: dict[str, dict], baselines: dict[str, dict], champion: str,
                   rule: CompareParams) -> str:
    """In plain words, when a baseline is champion: the LSTM does not pay on this data, and what to use."""
    what = NAMES.get(champion, champion) + (" (the linear baseline, refit on every batch)" if champion == "linear"
                                            else "")
    key = rule.rank_by
    ranked = [s for s in summaries if summaries[s].get(key) is not None]
    best = min(ranked, key=lambda s: summaries[s][key]) if ranked else None
    gap = _gap(summaries.get(best, {}), baselines.get(champion, {}), key) if best else None
    against = (f"; the best strategy, {best}, is {gap:+.1%} against it by {_figure_name(key)}, which the evidence "
               "cannot tell apart from no gain" if gap is not None else "")
    return (f"**The LSTM does not pay on this data: use {what}.** It forecasts as well as any update strategy "
            f"(it is in the confidence set){against}, at no training. `models/champion.keras` is {what}, as a model "
            f"of built-in Keras layers: `reports/forecast.csv`, `lstm-utils forecast` and `lstm-utils evaluate` use it "
            "as they use any model. The strategies keep running; the champion moves back to one when the evidence "
            "says it pays.")


def _gap(a: dict, b: dict, key: str) -> float | None:
    if a.get(key) is None or b.get(key) is None:
        return None
    return relative_gap(a[key], b[key])


def policies_table(walk: WalkForward) -> pd.DataFrame:
    """The rule against the fixed policies over the walk forward: deployed RMSE, the windows it
    rests on, and the training windows of the steps that made the deployed models (and their share
    of always retraining's)."""
    rows = {("the rule" if name == "rule" else POLICIES[name]): v for name, v in walk.policies.items()}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=["deployed_rmse", "windows", "windows_seen"])
    retrain = walk.policies.get("retrain", {}).get("windows_seen")
    if retrain:
        frame["cost vs always retrain"] = frame["windows_seen"] / retrain
    return frame.rename_axis("policy")


def history_table(walk: WalkForward) -> pd.DataFrame:
    """The champion history: for each batch from the second update on (and the one to come), the
    rule's pick on the evidence before it and why it was kept or changed, its deployed RMSE on
    that batch and the windows behind it, and the evidence then: its windows, and the
    forecasters the confidence set left out."""
    rows = []
    for i, turn in enumerate(walk.history):
        before = walk.history[i - 1].choice.champion if i else None
        reason = ("first pick" if before is None else "kept: still in the set" if turn.choice.kept else
                  f"again: no strategy in the set, {turn.choice.behind or 'a baseline'} ahead"
                  if turn.choice.champion == before and not turn.choice.in_set else
                  "picked again" if turn.choice.champion == before else
                  f"changed: {before} left the set" if before not in turn.evidence else
                  f"changed: {turn.choice.champion} is cheaper" if turn.choice.yielded else
                  f"changed: {before} forgot too much" if before in turn.choice.excluded_for_forgetting else
                  "changed: picked afresh")
        rows.append({"batch": turn.name, "champion": turn.choice.champion, "pick": reason,
                     "deployed_rmse": turn.deployed_rmse, "windows": turn.windows or None,
                     "evidence windows": turn.evidence.windows,
                     "left out of the set": ", ".join(turn.evidence.excluded) or "-"})
    return pd.DataFrame(rows).set_index("batch").astype({"windows": "Int64"})


def walk_words(walk: WalkForward) -> str:
    """In words: would following the rule have paid, against always retraining and never updating."""
    rule = walk.policies.get("rule")
    if rule is None:
        return ("The rule can be checked walking forward from the second update step on; with "
                f"{len(walk.history) - 1 or 'one or no'} update step(s) there is nothing to check yet.")
    parts = [f"Following the rule from the second update on, on {rule['windows']:,} deployed windows: deployed RMSE "
             f"{rule['deployed_rmse']:.3f}, training {rule['windows_seen']:,} windows"]
    for name, what in (("retrain", "always retraining"), ("none", "never updating"), ("finetune", "always fine-tuning"),
                       ("linear", "always the ridge")):
        other = walk.policies.get(name)
        if other is None:
            continue
        gap = relative_gap(rule["deployed_rmse"], other["deployed_rmse"])
        cost = f", at {rule['windows_seen'] / other['windows_seen']:.0%} of its training windows" \
            if other["windows_seen"] else ""
        parts.append(f"{gap:+.1%} against {what} ({other['deployed_rmse']:.3f}{cost})")
    changes = sum(1 for i, t in enumerate(walk.history) if i and t.choice.champion != walk.history[i - 1].choice.champion)
    return "; ".join(parts) + f". The champion changed {changes} time(s) over {len(walk.history)} picks."


HELD = 0.05  # intervals "held" when their mean new-period coverage fell at most 5 points below nominal


def interval_table(summaries: dict[str, dict], baselines: dict[str, dict]) -> pd.DataFrame:
    """Every strategy and baseline, one row each: per level the means over the new periods' test
    tails (columns `coverage 80`, `width 80`, `interval_score 80`, ...) and the coverage on every
    deployed window (`deployed coverage 80`: the intervals a user had before each batch arrived);
    best interval score at the highest level first."""
    rows = {**summaries, **{f"{k}{BASELINE}": v for k, v in baselines.items()}}
    found = levels(summaries)
    columns = {f"new_{m}_{q}": f"{m} {q}" for q in found for m in ("coverage", "width", "interval_score")}
    columns |= {f"deployed_coverage_{q}": f"deployed coverage {q}" for q in found}
    frame = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=list(columns)).astype("float64")
    frame = frame.replace([np.inf, -np.inf], np.nan)  # too few calibration windows: one mark, said in the verdict
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
        endless = sorted(s for s, v in summaries.items() if not math.isfinite(v.get(f"new_width_{level}") or 0.0))
        cov = {s: v.get(f"new_coverage_{level}") for s, v in summaries.items()}
        cov = {s: c for s, c in cov.items() if c is not None and s not in endless}
        if endless:  # intervals of the whole line cover everything and say nothing
            why = intervals.too_few(nominal)
            lines.append(f"**{level}% intervals**: {why[0].upper()}{why[1:]}. The intervals of {', '.join(endless)} are the whole line, so no verdict is given on them"
                         + (" (blank in the table below)." if not cov else "."))
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


def narrative(summaries: dict[str, dict], baselines: dict[str, dict], best: str, key: str = "deployed_rmse") -> str:
    """The measured picture around a champion `best`: its figure (`key`) against the best
    baseline's and the linear baseline's, then when each strategy is said to fit (its module's
    `fits`) set against what was measured here: its rank by `key`, its cost (windows seen) next to
    the reference strategy's (retrain), its forgetting as a share of the error; the design's checks."""
    what = _figure_name(key)
    ranked = sorted((s for s in summaries if summaries[s].get(key) is not None), key=lambda s: summaries[s][key])
    if not ranked:
        return ""
    top = summaries[ranked[0]][key]
    others = {k: v[key] for k, v in baselines.items() if v.get(key) is not None}
    lines = []
    if others and best in summaries and summaries[best].get(key) is not None:
        name = min(others, key=others.get)
        gap = relative_gap(summaries[best][key], others[name])
        lines.append(f"Its {what}, {summaries[best][key]:.3f}, is {abs(gap):.2%} "
                     f"{'below' if gap < 0 else 'above'} the best baseline's ({name}, {others[name]:.3f}).")
    if others.get("linear") is not None:
        lines.append(against_linear(summaries, ranked, others["linear"], best, key))
    known = strategies.STRATEGIES
    reference = next((s for s in summaries if s in known and known[s].reference), None)
    ref = summaries.get(reference, {}) if reference else {}
    lines.append("")
    lines.append(f"| strategy | when it fits | rank | {what} vs best | cost vs {reference or 'reference'} "
                 "| forgetting |")
    lines.append("|---|---|---|---|---|---|")
    for s in ranked:
        x = summaries[s]
        cost = f"{x['windows_seen'] / ref['windows_seen']:.0%}" if ref.get("windows_seen") else "n/a"
        fits = known[s].fits if s in known else ""
        share = x.get("forgetting_share")
        lines.append(f"| {s} | {fits} | {ranked.index(s) + 1} of {len(ranked)} | "
                     f"{relative_gap(x[key], top):+.1%} | {cost} | {'n/a' if share is None else f'{share:+.1%}'} |")
    lines.append("")
    lines += _checks(summaries, ranked, key)
    if levels(summaries):
        lines += ["", interval_verdict(summaries, baselines)]
    return "\n".join(lines)


def _figure_name(key: str) -> str:
    """A ranking figure in words."""
    return {"deployed_rmse": "deployed RMSE", "deployed_mae": "deployed MAE", "new_rmse": "new-period RMSE",
            "forward_rmse": "forward RMSE"}.get(key, key.replace("_", " "))


def linear_words(record: dict, learns: str) -> str:
    """In plain words: which design of the linear family (:data:`lstm_utils.linear.DESIGNS`) the
    ridge took after each step and when a refit changed it (every model's linear path is that
    fit), and, when it learns every window (`baselines.linear_learns: all`), which scores are
    in-sample for it."""
    designs, penalties, batches = record["designs"], record["penalties"], record["batches"]
    start = f"**{designs[0]}** (penalty {penalties[0]:g}) on the base period"
    changes = [f"**{d}** (penalty {p:g}) from {b}" for k, (d, p, b) in enumerate(zip(designs, penalties, batches))
               if k and d != designs[k - 1]]
    text = (f"The linear part (the `linear` baseline, and every model's linear path) took the design with the "
            f"lowest validation error, with its penalty: {start}"
            + (f", then {', '.join(changes)}." if changes else ", kept at every refit."))
    return text + " " + in_sample_words(learns)


def in_sample_words(learns: str) -> str:
    """What the error matrices' cells rest on, given `baselines.linear_learns`."""
    if learns != "all":
        return ("The linear part learns the training tails only, so every test tail is out of sample for "
                "every model.")
    return ("Once its design and penalty are chosen, the linear part learns every window up to the step, "
            "test tails included (only the validation tails that calibrate the intervals stay out): the "
            "error-matrix cells on and below the diagonal (`new_rmse`, and the forgetting read from them) are "
            "in-sample for the linear part, though no gradient step of the LSTM saw a test tail. The deployed "
            "figures, which rank, are forecast before any learning.")


def against_linear(summaries: dict[str, dict], ranked: list[str], linear: float, best: str,
                   key: str = "deployed_rmse") -> str:
    """In plain words: whether the LSTM beats the linear baseline (a ridge regression on the same
    windows, refit on all data at every step) by `key`, for which strategies not, and by how much."""
    what = _figure_name(key)
    behind = {s: relative_gap(summaries[s][key], linear) for s in ranked if summaries[s][key] >= linear}
    ridge = f"the linear baseline (a ridge regression on the same windows, refit at every step: {linear:.3f})"
    if not behind and best not in summaries:  # a baseline is champion: in the set beside the strategies
        return f"Every strategy beats {ridge} by {what}, by a margin the confidence set cannot tell from noise."
    if not behind:
        return (f"Every strategy beats {ridge} by {what}, the champion by "
                f"{1 - summaries[best][key] / linear:.1%}: the LSTM adds to what a linear model can do here.")
    listed = ", ".join(f"{s} (+{gap:.1%})" for s, gap in behind.items())
    if len(behind) == len(ranked):
        return (f"**The LSTM does not beat {ridge} on your data**: no compared strategy has a lower {what} "
                f"({listed}). Use the linear model (`compare.candidates: all` crowns it when the evidence says so), "
                "or give the LSTM more data or other settings.")
    ahead = ", ".join(s for s in ranked if s not in behind)
    if best in behind:
        return (f"**The champion does not beat {ridge} on your data** ({listed} behind it); {ahead} "
                f"{'has' if len(ranked) - len(behind) == 1 else 'have'} a lower {what}, but the rule "
                "(`compare.choose`, `compare.max_forgetting`) picked the champion: the difference may be noise "
                "(see the confidence set).")
    return f"Behind {ridge} by {what}: {listed}; the other strategies beat it."


def _checks(summaries: dict[str, dict], ranked: list[str], key: str = "deployed_rmse") -> list[str]:
    """The design's expectations, each said to hold here or not (by the ranking figure `key`)."""
    out = []
    what = _figure_name(key)
    spread = relative_gap(summaries[ranked[-1]][key], summaries[ranked[0]][key])
    if "none" in summaries and summaries["none"].get(key) is not None:
        gain = relative_gap(summaries["none"][key], summaries[ranked[0]][key])
        out.append(f"- *Updating pays when the data drifts*: never updating (none) is {gain:+.1%} behind the best "
                   f"strategy; {'the drift was small here' if gain < 0.02 else 'the new periods did drift'}.")
    if "replay" in ranked:
        r = ranked.index("replay") + 1
        out.append(f"- *Replay is the usual winner in continual learning*: here it ranks {r} of {len(ranked)}"
                   f"{' (holds)' if r <= 2 else ' (does not hold on this data)'}.")
    if {"finetune", "replay"} <= set(summaries):
        f, r = summaries["finetune"].get("forgetting_share"), summaries["replay"].get("forgetting_share")
        if f is not None and r is not None:
            out.append(f"- *Fine-tuning alone forgets; replay remembers*: forgetting {f:+.1%} for finetune against "
                       f"{r:+.1%} for replay{' (holds)' if f >= r else ' (not seen here)'}.")
    known = strategies.STRATEGIES
    reference = next((s for s in ranked if s in known and known[s].reference), None)
    if reference is not None:
        ref = summaries[reference]
        cheap = [s for s in ranked if s != reference and 0 < summaries[s]["windows_seen"] < ref["windows_seen"]
                 and summaries[s][key] <= 1.05 * ref[key]]
        out.append(f"- *Updating costs less than retraining for similar accuracy*: "
                   f"{', '.join(cheap) if cheap else 'no strategy'} came within 5% of {reference}'s {what} "
                   "for less training (fewer windows seen).")
    out.append(f"- All strategies lie within {spread:.1%} of each other by {what}; the confidence set above says "
               "which of these differences the evidence can tell from noise.")
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


def series_section(per_series: dict[str, dict], best: str) -> tuple[str, pd.DataFrame] | None:
    """The compare report's section on the series: its Markdown (a heading, :func:`worst_series`)
    and the table of every forecaster's RMSE per series in its own units (worst first); None
    (nothing shown) for one series."""
    if not per_series:
        return None
    from lstm_utils.scoring import by_series_table

    table = by_series_table(per_series, worst_of=best)
    words = ("## Per series\n\nThe figures above are pooled over the series, each error divided by its series' "
             "scale (the root mean square of its step-to-step change on its first train tail). Here each series in "
             "its own units: every final model's and baseline's RMSE on the newest batch's test tail, the series on "
             "which the champion does worst against seasonal naive first.\n\n" + worst_series(table, best))
    return words, table


def by_target(summaries: dict[str, dict], baselines: dict[str, dict], targets: Sequence[str]) -> pd.DataFrame:
    """Every strategy's and baseline's deployed RMSE per target, in each target's units (several
    series: on each series' scale), with the windows behind them: one row per forecaster, in the
    order of :func:`table`. Empty with one target."""
    rows = {}
    for name, v in {**summaries, **baselines}.items():
        per = v.get("deployed_rmse_by_target")
        if per is None or len(targets) < 2:
            continue
        rows[shown(name, baselines) if name not in summaries else name] = (
            {"deployed_rmse": v["deployed_rmse"]} | {f"rmse {t}": x for t, x in zip(targets, per)}
            | {"deployed_windows": v["deployed_windows"]})
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame.from_dict(rows, orient="index").astype({"deployed_windows": "Int64"})
    return frame.sort_values("deployed_rmse", kind="stable").rename_axis("forecaster")


def targets_section(summaries: dict[str, dict], baselines: dict[str, dict], targets: Sequence[str],
                    best: str) -> tuple[str, pd.DataFrame] | None:
    """The compare report's section on the targets: its Markdown (a heading; for each target the
    forecaster that does best on it and how the champion stands there against persistence) and
    :func:`by_target`'s table; None (nothing shown) for one target."""
    table = by_target(summaries, baselines, targets)
    if table.empty:
        return None
    lines = []
    champion = best if best in table.index else shown(best, baselines)
    persistence = shown("persistence", baselines)
    for t in targets:
        column = table[f"rmse {t}"]
        winner = column.idxmin()
        line = f"- {markdown_code(t)}: lowest {markdown_text(winner)} ({column[winner]:.4g})"
        if champion in table.index and persistence in table.index:
            line += (f"; the champion {column[champion]:.4g}, "
                     f"{relative_gap(column[champion], column[persistence]):+.1%} against persistence")
        lines.append(line + ".")
    n = int(table["deployed_windows"].max())
    words = ("## Per target\n\n"
             f"`deployed_rmse` above pools the {len(targets)} targets: the root of the mean of their squared errors, "
             "each in its own units, so a target in larger units weighs more in it and in the confidence set. Here "
             f"each target alone, on the same {n:,} deployed windows:\n\n" + "\n".join(lines))
    return words, table

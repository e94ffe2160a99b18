"""reports/index.html, the page a user opens first: the answer (the champion, its deployed error
against the best baseline and the windows behind it, what the confidence set holds, the error
month by month as the advice was followed), then a link to every report. Made from
reports/metrics.json, which the compare stage writes just before."""

from __future__ import annotations

import html
import math

from lstm_utils.baselines import NAMES
from lstm_utils.decide import POLICIES



def _num(value: float | None) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4g}"


def _best_baseline(figures: dict[str, dict], key: str = "deployed_rmse") -> tuple[str, float] | None:
    known = {name: v[key] for name, v in figures.items() if v.get(key) is not None}
    return min(known.items(), key=lambda kv: (kv[1], kv[0])) if known else None


def answer(metrics: dict) -> str:
    """The answer in HTML: a paragraph on the champion, one on the evidence, and the months."""
    e = html.escape
    name = metrics["champion"]
    is_baseline = bool(metrics.get("champion_is_baseline"))
    own = (metrics["baselines"] if is_baseline else metrics["strategies"]).get(name, {})
    rmse, windows = own.get("deployed_rmse"), own.get("deployed_windows") or 0
    base = _best_baseline({k: v for k, v in metrics["baselines"].items() if k != name})
    cs = metrics["confidence_set"]
    every = len(metrics["strategies"]) + len(metrics["baselines"])
    kind = (f"a baseline ({e(NAMES.get(name, name))}): <b>the LSTM does not pay on this data</b>; "
            "models/champion.keras and reports/forecast.csv are that baseline" if is_baseline else
            "an update strategy: use it to keep the model current")
    lines = [f'<p class="answer">Use <b>{e(name)}</b>, {kind}.</p>']
    if rmse is not None:
        against = ""
        if base is not None:
            gap = f" ({rmse / base[1] - 1:+.2%})" if base[1] else ""
            against = (f", against {e(NAMES.get(base[0], base[0]))}'s {_num(base[1])}, the best "
                       f"{'other ' if is_baseline else ''}baseline{gap}")
        lines.append(f"<p>Its deployed RMSE (every window of each new batch, forecast before learning it) is "
                     f"<b>{_num(rmse)}</b> on {windows:,} windows{against}.</p>")
    members = cs.get("members", [])
    lines.append(f"<p>The {cs['confidence']:.0%} confidence set on {cs['windows']:,} windows holds {len(members)} of "
                 f"{every} forecasters: {e(', '.join(members)) or 'none'}. The differences among them may be noise; "
                 f"why {e(name)}: {e(metrics.get('why', ''))}.</p>")
    lines.append(months(metrics))
    return "\n".join(lines)


def months(metrics: dict) -> str:
    """The deployed RMSE month by month: the pick the advice gave before each batch (from the
    second update on), the best baseline that batch, and the windows behind."""
    walk = metrics.get("walk_forward", {})
    history, by_batch = walk.get("history", {}), walk.get("deployed_by_batch", {})
    baselines = set(metrics["baselines"])
    rows = []
    for batch, figures in by_batch.items():
        turn = history.get(batch)
        base = _best_baseline({k: {"deployed_rmse": v} for k, v in figures.items() if k in baselines})
        pick = turn["champion"] if turn else "-"
        mine = turn.get("deployed_rmse") if turn else None
        windows = turn.get("windows") if turn else None
        rows.append(f"<tr><td>{html.escape(batch)}</td><td>{html.escape(pick)}</td><td>{_num(mine)}</td>"
                    f"<td>{html.escape(base[0]) if base else '-'}</td><td>{_num(base[1]) if base else '-'}</td>"
                    f"<td>{'-' if windows is None else f'{windows:,}'}</td></tr>")
    if not rows:
        return ""
    policies = walk.get("policies", {})
    rule = policies.get("rule")
    fixed = {k: v for k, v in policies.items() if k != "rule" and v.get("deployed_rmse") is not None}
    best = min(fixed, key=lambda k: (fixed[k]["deployed_rmse"], k)) if fixed else None
    beside = ""
    if rule and best:
        low = fixed[best]["deployed_rmse"]
        gap = f" ({rule['deployed_rmse'] / low - 1:+.2%})" if low else ""
        beside = (f"; the best policy fixed in advance, in hindsight, {html.escape(POLICIES.get(best, best))}, "
                  f"{_num(low)}{gap}")
    tail = (f"<p>Followed from the second update on, the advice gave a deployed RMSE of {_num(rule['deployed_rmse'])} "
            f"on {rule['windows']:,} windows{beside}.</p>" if rule else "")
    return ("<h2>Month by month</h2><p>Before each batch the advice picked on the batches before it alone; its "
            "deployed RMSE on that batch, beside the best baseline's (the first update had no pick yet: every "
            "strategy deployed the base model).</p>"
            "<table><tr><th>batch</th><th>pick then</th><th>its RMSE</th><th>best baseline</th><th>its RMSE</th>"
            f"<th>windows</th></tr>\n" + "\n".join(rows) + "</table>" + tail)

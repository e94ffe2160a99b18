"""Benchmark: deciding with evidence. Every strategy judged on every window it had not yet seen.

For each dataset, in a fresh process (bench/linear.py's `run`: the base model, every strategy's
chain and the baselines, as the pipeline computes them, without DVC): each strategy's and
baseline's deployed RMSE (every window of each new month, forecast before learning it) and the
windows behind it, next to the new-period RMSE of the test tails and theirs; the 90% Model
Confidence Set on the deployed losses with each p-value; the champion under both rules
(`compare.choose: cheapest` and `best`); and the rule walked forward (at each step from the
second on, chosen on the months before it alone) against always retrain, always fine-tune and
never update. Then the bars of issue 25:

- on the sample, the deployed figures rest on at least 5 times as many windows as new_rmse;
- on each dataset, the walk-forward rule's deployed error is within 1% of always retrain's, at
  no more than half of its training windows (the default rule; `best` is shown beside it);
- two runs give byte-identical results (`--twice`: each dataset computed in two processes, their
  JSON compared byte for byte).

    .venv/bin/python bench/decide.py                        # sample, flights, departures
    .venv/bin/python bench/decide.py --datasets sample --twice

With `--kept DIR`: every variant of the champion rule (`compare.stale`, `hysteresis`, `choose`,
`margin`, `candidates`: 90 in all) walked forward over the runs `BENCH_KEEP=DIR bench/robust.py`
kept (each dataset clean and faulted), against the best fixed policy in hindsight (always
fine-tune, always retrain, never update, always the ridge): mean and worst regret, the runs
within 0.5%, the cost against always retraining; the shipped rule's runs; `drift`'s retrains; and,
with several targets, one champion against the best forecaster per target. A faulted run's
spiked windows are left out, and its faulted month in the regret ranked on (kept in the last
column): no rule deciding on the months before can foresee it.

    BENCH_KEEP=/tmp/kept .venv/bin/python bench/robust.py
    .venv/bin/python bench/decide.py --kept /tmp/kept --without drift
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

DATASETS = ("sample", "flights", "departures")
RULES = ("cheapest", "best")
SHIPPED = {"stale": "informed", "hysteresis": "yield", "choose": "best", "candidates": "strategies"}  # params.yaml's


def one(dataset: str) -> dict:
    """Everything the bars read, for one dataset, as plain JSON (losses by their SHA-256)."""
    import numpy as np

    from linear import run, settings
    from lstm_utils.decide import walk_forward
    from lstm_utils.stages.champion import evidence

    started = time.perf_counter()
    out = run(dataset, settings(dataset, []), quiet=True)
    params, base = out["params"], out["baselines"]
    ev = evidence(out["records"], base)
    losses = hashlib.sha256()
    for name, track in ev.tracks.items():
        for cell in track.deployed:
            losses.update(name.encode() + cell.sq.tobytes())
    summaries = {**out["strategies"], **base.summaries}
    walks = {}
    for rule in RULES:
        walk = walk_forward(ev, dataclasses.replace(params.compare, choose=rule), params.window.horizon,
                            params.train.seed)
        walks[rule] = {"champion": walk.final.choice.champion, "why": walk.final.choice.why,
                       "in_set": walk.final.choice.in_set, "policies": walk.policies,
                       "history": [[t.name, t.choice.champion, t.deployed_rmse, t.windows, t.windows_seen]
                                   for t in walk.history]}
    final = walk.final.evidence
    return {"dataset": dataset, "seconds": round(time.perf_counter() - started),
            "batches": ev.batches, "deployed_windows": [ev.windows(t) for t in range(1, ev.steps + 1)],
            "losses_sha256": losses.hexdigest(),
            "forecasters": {name: {k: summaries[name].get(k) for k in (
                "deployed_rmse", "deployed_windows", "new_rmse", "new_windows", "windows_seen", "forgetting_share")}
                | {"mcs_pvalue": final.pvalues[name], "in_set": name in final}
                for name in summaries},
            "confidence": {"level": final.confidence, "windows": final.windows, "block": final.block,
                           "members": final.members},
            "rules": walks, "numpy": np.__version__}


def report(got: dict) -> list[tuple[str, bool]]:
    """Print one dataset's tables; return its bars."""
    d = got["dataset"]
    print(f"\n=== {d}: {len(got['batches']) - 1} update steps ({', '.join(got['batches'][1:])}), deployed windows "
          f"per step {got['deployed_windows']}; {got['seconds']} s")
    print(f"{'forecaster':16s} {'deployed':>9s} {'windows':>8s} {'p-value':>8s} {'in set':>7s} {'new_rmse':>9s} "
          f"{'windows':>8s} {'forgets':>8s} {'seen':>8s}")
    for name, v in sorted(got["forecasters"].items(), key=lambda kv: kv[1]["deployed_rmse"]):
        forgets = "" if v["forgetting_share"] is None else f"{v['forgetting_share']:+.1%}"
        seen = "" if v["windows_seen"] is None else f"{v['windows_seen']:,}"
        print(f"{name:16s} {v['deployed_rmse']:9.4f} {v['deployed_windows']:8,} {v['mcs_pvalue']:8.3f} "
              f"{'yes' if v['in_set'] else 'no':>7s} {v['new_rmse']:9.4f} {v['new_windows']:8,} {forgets:>8s} "
              f"{seen:>8s}")
    c = got["confidence"]
    print(f"{c['level']:.0%} confidence set on {c['windows']:,} windows (blocks of {c['block']}): "
          f"{', '.join(c['members'])}")
    bars = []
    for rule, w in got["rules"].items():
        print(f"\nchampion, choose: {rule}: {w['champion']} ({w['why']})")
        print("  walk forward: " + "; ".join(f"{b}: {pick}" + (f" {e:.4f}" if e is not None else "")
                                             for b, pick, e, _, _ in w["history"]))
        p = w["policies"]
        for name in ("rule", "retrain", "finetune", "none"):
            if name in p:
                print(f"  {name:9s} deployed {p[name]['deployed_rmse']:.4f} on {p[name]['windows']:,} windows, "
                      f"training {p[name]['windows_seen']:,} windows")
        if "rule" in p and "retrain" in p:
            gap = p["rule"]["deployed_rmse"] / p["retrain"]["deployed_rmse"] - 1
            cost = p["rule"]["windows_seen"] / p["retrain"]["windows_seen"]
            text = (f"{d}, choose: {rule}: the walk-forward rule within 1% of always retrain ({gap:+.2%}) at no more "
                    f"than half its training windows ({cost:.0%})")
            bars.append((text, gap <= 0.01 and cost <= 0.5))
    if d == "sample":
        f = got["forecasters"]["none"]
        ratio = f["deployed_windows"] / f["new_windows"]
        bars.append((f"sample: deployed figures rest on {ratio:.1f}x the windows of new_rmse "
                     f"({f['deployed_windows']:,} against {f['new_windows']:,}; bar 5x)", ratio >= 5))
    return bars


FIXED = ("finetune", "retrain", "none", "linear")  # the fixed policies a user could have set in advance


def variants() -> list[dict]:
    """Every rule the walk compares: how it starts, its hysteresis, how it picks, and whether the
    baselines are candidates."""
    picks = [{"choose": "cheapest"}, {"choose": "best"}] + [{"choose": "margin", "margin": m} for m in (0.005, 0.01, 0.02)]
    return [{"stale": s, "hysteresis": h, "candidates": c, **p} for s in ("allow", "informed", "last")
            for h in ("keep", "yield", "off")
            for p in picks for c in ("strategies", "all")]


def label(v: dict) -> str:
    how = v["choose"] + (f" {v['margin']:.1%}" if v["choose"] == "margin" else "")
    return f"stale {v['stale']}, {v['hysteresis']}, {how}, {'+ baselines' if v['candidates'] == 'all' else 'strategies'}"


def walk_kept(path: Path, without: tuple[str, ...] = ()) -> dict:
    """One kept run (bench/linear.py's BENCH_KEEP): every rule variant walked forward, against the
    fixed policies; `without` drops strategies from the evidence (as if not compared)."""
    import pickle

    import numpy as np

    from lstm_utils.decide import sets, walk_forward
    from lstm_utils.stages.champion import evidence

    kept = pickle.loads(path.read_bytes())
    params = kept["params"]
    for batch, mask in kept.get("drop", {}).items():  # windows against a wrong truth: the same for every rule
        keep = ~np.asarray(mask, dtype=bool)
        for cells in [r["deployed"] for r in kept["records"].values()] + list(kept["baselines"].deployed.values()):
            cells[batch - 1] = only(cells[batch - 1], keep)
    ev = evidence({s: r for s, r in kept["records"].items() if s not in without}, kept["baselines"])
    known = sets(ev, params.compare.confidence, params.window.horizon, params.train.seed)
    out = {"run": path.stem, "rules": {}}
    faulted = set(kept.get("drop", {}))  # the faulted month: no rule deciding on the months before can foresee it
    scored = [t for t in range(2, ev.steps + 1) if ev.windows(t)]
    judged = [t for t in scored if t not in faulted]

    def over(picks: dict[int, str], batches: list[int]) -> dict:
        losses = np.concatenate([ev.tracks[picks[t]].losses([t]) for t in batches])
        seen = sum(ev.tracks[picks[t]].windows_seen[t - 2] if ev.tracks[picks[t]].windows_seen else 0 for t in batches)
        return {"deployed_rmse": float(np.sqrt(losses.mean())), "windows": int(len(losses)), "windows_seen": int(seen)}

    out["fixed"] = {name: over({t: name for t in scored}, scored) for name in FIXED if name in ev.tracks}
    out["fixed_judged"] = {name: over({t: name for t in judged}, judged) for name in FIXED if name in ev.tracks}
    for v in variants():
        walk = walk_forward(ev, dataclasses.replace(params.compare, **v), params.window.horizon, params.train.seed,
                            known)
        picks = {t.batch: t.choice.champion for t in walk.history}
        assert math.isclose(over(picks, scored)["deployed_rmse"], walk.policies["rule"]["deployed_rmse"], rel_tol=1e-9)
        out["rules"][label(v)] = {"rule": walk.policies["rule"], "judged": over(picks, judged),
                                  "final": walk.final.choice.champion, "picks": [t.choice.champion for t in walk.history]}
    targets = list(params.data.targets)
    if len(targets) > 1:  # one champion for every target, against the best forecaster per target, in hindsight
        default = walk_forward(ev, dataclasses.replace(params.compare, **SHIPPED), params.window.horizon,
                               params.train.seed, known)
        scored = [t for t in default.history if t.deployed_rmse is not None]

        def per_target(cells: list) -> np.ndarray:
            n = sum(len(c) for c in cells)
            return np.sqrt(sum(len(c) * c.targets_sq for c in cells) / n)

        rule = per_target([ev.tracks[t.choice.champion].deployed[t.batch - 1] for t in scored])
        fixed = {name: per_target([track.deployed[t.batch - 1] for t in scored]) for name, track in ev.tracks.items()}
        out["targets"] = {target: {"rule": float(rule[j]), "forecasters": {k: float(v[j]) for k, v in fixed.items()}}
                          for j, target in enumerate(targets)}
    drift = kept["records"].get("drift")
    if drift is not None:
        out["drift"] = {"retrained": [bool(s["info"].get("retrained")) for s in drift["steps"]],
                        "deployed_rmse": drift["summary"]["deployed_rmse"]}
    out["strategies"] = {s: r["summary"]["deployed_rmse"] for s, r in kept["records"].items()}
    return out


def only(cell, keep):
    """A batch's deployed losses on the windows `keep` alone."""
    from lstm_utils.evaluation import WindowLosses

    origins = None if cell.origins is None else cell.origins[keep]
    return WindowLosses(cell.sq[keep], cell.ae[keep], cell.intervals, origins, cell.targets_sq, cell.targets_ae)


def regret(run: dict, name: str, judged: bool = True) -> tuple[float, float]:
    """A rule's deployed RMSE over the best fixed policy's, less 1, and its training windows over
    always retraining's; `judged`: a faulted run without its faulted month (the same for every
    policy), else over every scored month."""
    fixed = run["fixed_judged" if judged else "fixed"]
    best = min(f["deployed_rmse"] for f in fixed.values())
    rule = run["rules"][name]["judged" if judged else "rule"]
    retrain = fixed["retrain"]["windows_seen"]
    return rule["deployed_rmse"] / best - 1, rule["windows_seen"] / retrain if retrain else 0.0


def variant_table(runs: list[dict], bar: float = 0.005) -> str:
    """Every variant over every run: mean and worst regret, runs within the bar, mean cost; best first."""
    import numpy as np

    rows = []
    for name in runs[0]["rules"]:
        got = [regret(r, name) for r in runs]
        gaps, costs = np.array([g for g, _ in got]), np.array([c for _, c in got])
        whole = np.array([regret(r, name, judged=False)[0] for r in runs])
        rows.append((gaps.mean(), name, gaps.max(), int((gaps <= bar).sum()), costs.mean(), costs.max(), whole.mean()))
    rows.sort()
    lines = ["| rule | mean regret | worst | runs within 0.5% | mean cost vs retrain | most | mean regret, faulted "
             "month in |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {name} | {mean:+.2%} | {worst:+.2%} | {within} of {len(runs)} | {cost:.0%} | {most:.0%} | "
              f"{whole:+.2%} |" for mean, name, worst, within, cost, most, whole in rows]
    return "\n".join(lines)


def run_table(runs: list[dict], name: str) -> str:
    """One rule on every run, beside the fixed policies (deployed RMSE, regret, cost)."""
    lines = [f"| run | the rule | regret | cost vs retrain | final pick | {' | '.join(FIXED)} | regret, faulted month in |",
             "|---|---|---|---|---|" + "---|" * (len(FIXED) + 1)]
    for r in runs:
        gap, cost = regret(r, name)
        fixed = r["fixed_judged"]
        best = min(fixed, key=lambda k: fixed[k]["deployed_rmse"])
        shown = " | ".join(("**{:.4g}**" if k == best else "{:.4g}").format(fixed[k]["deployed_rmse"])
                           if k in fixed else "" for k in FIXED)
        lines.append(f"| {r['run']} | {r['rules'][name]['judged']['deployed_rmse']:.4g} | {gap:+.2%} | {cost:.0%} | "
                     f"{r['rules'][name]['final']} | {shown} | {regret(r, name, judged=False)[0]:+.2%} |")
    return "\n".join(lines)


def drift_table(runs: list[dict]) -> str:
    """The drift strategy on every run: the steps it retrained, its deployed RMSE against finetune's and retrain's."""
    lines = ["| run | steps retrained | drift | finetune | retrain | refit |", "|---|---|---|---|---|---|"]
    for r in runs:
        if "drift" not in r:
            continue
        s = r["strategies"]
        retrained = ", ".join(str(i + 1) for i, x in enumerate(r["drift"]["retrained"]) if x) or "none"
        lines.append(f"| {r['run']} | {retrained} of {len(r['drift']['retrained'])} | {s['drift']:.4g} | "
                     f"{s['finetune']:.4g} | {s['retrain']:.4g} | {s.get('refit', float('nan')):.4g} |")
    return "\n".join(lines)


def target_table(runs: list[dict]) -> str:
    """Runs with several targets: the one champion's deployed RMSE per target (walked forward) against
    the best forecaster for that target alone, picked in hindsight (what a choice per target could
    at most gain)."""
    lines = ["| run | target | one champion | best for it alone | gain at most |", "|---|---|---|---|---|"]
    for r in runs:
        for target, t in r.get("targets", {}).items():
            best = min(t["forecasters"], key=t["forecasters"].get)
            lines.append(f"| {r['run']} | {target} | {t['rule']:.4g} | {best} {t['forecasters'][best]:.4g} | "
                         f"{t['forecasters'][best] / t['rule'] - 1:+.2%} |")
    return "\n".join(lines) if len(lines) > 2 else ""


def kept_report(folder: Path, default: str, without: tuple[str, ...]) -> None:
    """Every variant over every run kept in `folder`: the table, then the default's runs, then drift."""
    runs = [walk_kept(p, without) for p in sorted(folder.glob("*.pkl"))]
    print(f"\n{len(runs)} runs: {', '.join(r['run'] for r in runs)}" + (f" (without {', '.join(without)})"
                                                                            if without else ""))
    print("\n" + variant_table(runs))
    print(f"\n{default}:\n\n" + run_table(runs, default))
    print("\n" + drift_table(runs))
    print("\n" + target_table(runs))


def in_child(dataset: str, folder: Path, tag: str) -> tuple[dict, bytes]:
    """Run one dataset in a fresh process; its JSON and the file's bytes."""
    path = folder / f"{dataset}-{tag}.json"
    subprocess.run([sys.executable, __file__, "--one", dataset, "--out", str(path)], check=True, cwd=ROOT)
    data = path.read_bytes()
    return json.loads(data), data


def main() -> int:
    from linear import print_bars

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--twice", action="store_true", help="run each dataset in two processes; compare bytes")
    parser.add_argument("--kept", type=Path, metavar="DIR",
                        help="walk every rule variant over the runs kept in DIR (BENCH_KEEP=DIR bench/robust.py)")
    parser.add_argument("--rule", default=None, help="with --kept: the variant whose runs are shown (its label)")
    parser.add_argument("--without", default="", help="with --kept: strategies left out of the evidence, comma-separated")
    parser.add_argument("--one", choices=DATASETS, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.kept:
        kept_report(args.kept, args.rule or label(SHIPPED), tuple(w for w in args.without.split(",") if w))
        return 0
    if args.one:
        args.out.write_text(json.dumps(one(args.one), indent=1, sort_keys=True) + "\n")
        return 0
    bars = []
    with tempfile.TemporaryDirectory() as tmp:
        for dataset in args.datasets:
            got, first = in_child(dataset, Path(tmp), "1")
            bars += report(got)
            if args.twice:
                _, second = in_child(dataset, Path(tmp), "2")
                same = json.loads(first) | {"seconds": 0} == json.loads(second) | {"seconds": 0}
                bars.append((f"{dataset}: two runs give byte-identical results (losses "
                             f"{got['losses_sha256'][:12]}, p-values, picks; seconds aside)", same))
    print_bars(bars)
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
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
    parser.add_argument("--one", choices=DATASETS, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
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

"""Benchmark: is the LSTM better than a linear model? On the sample and on a second real dataset.

For each dataset, in one process: ingest its monthly files, train the base model on the first
six months, run every strategy's chain over the later months (as the pipeline does, without
DVC), and fit the `linear` baseline (a ridge regression on the same windows, refit on all data
at every step). Prints each strategy's new-period RMSE (mean over steps of the error on each new
month's test tail) against the linear baseline's, and the bars of issue 11:

- the champion (the compare rule of params.yaml) beats the linear baseline;
- finetune, replay and distill are each at most 1% worse than it.

Datasets: `sample` (hourly weather at JFK, Jan-Oct 2013: the bundled sample, as `make repro`
runs it), `flights` (hourly departures from New York's airports, Jan-Dec 2013: examples/flights,
made by scripts/export_flights.py from the same CC0 package: a schedule with daily and weekly
patterns, holidays and weather delays, in local time across the daylight-saving changes) and
`departures` (examples/departures with its own params: three airports, one global model).

    .venv/bin/python bench/linear.py                       # both datasets, every strategy
    .venv/bin/python bench/linear.py --dataset flights --strategies finetune,replay
    .venv/bin/python bench/linear.py --set model.units=[16] --set train.learning_rate=0.003

`--set section.key=value` (YAML values) changes params.yaml's settings for the run: the sweep
in bench/sweep.py uses it.
"""

from __future__ import annotations

import argparse
import copy
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATASETS = {
    "sample": {"files": sorted((ROOT / "examples" / "sample_data").glob("*.csv")), "data": {}},
    "flights": {"files": sorted((ROOT / "examples" / "flights").glob("*.csv")),
                "data": {"targets": ["departures"], "features": ["departures", "dep_delay", "cancelled"],
                         "timezone": "America/New_York"}},
    # three airports, their weather and the calendar (its own params: docs/many-series.md,
    # "A second example")
    "departures": {"files": sorted((ROOT / "examples" / "departures" / "data").glob("*.csv")), "data": {},
                   "params": ROOT / "examples" / "departures" / "params.yaml"},
}


def settings(dataset: str, changes: list[str]) -> dict:
    """The dataset's params (the shipped params.yaml with its data keys, or its own file), with the
    `--set` changes applied."""
    raw = yaml.safe_load(Path(DATASETS[dataset].get("params", ROOT / "params.yaml")).read_text())
    raw["data"].update(DATASETS[dataset]["data"])
    for change in changes:
        key, _, value = change.partition("=")
        section, _, name = key.partition(".")
        raw[section][name] = yaml.safe_load(value)
    return raw


def run(dataset: str, raw: dict, names: list[str] | None = None, quiet: bool = False,
        files: list[Path] | None = None) -> dict:
    """Every strategy's summary and record (as the compare stage reads it), the baselines (with the
    linear one's summary), the champion by the params rule walked forward (`walk`), the base
    model's test RMSEs, seconds, the final models (`models`), the frame and its batch names.
    `files`: the CSV files to run on (default: the dataset's)."""
    from lstm_utils.chain import run_chain
    from lstm_utils.config import parse_params
    from lstm_utils.from_scratch import train_new
    from lstm_utils.linear import BatchSums
    from lstm_utils.metrics import mean_over_targets
    from lstm_utils.scoring import score_forecasters
    from lstm_utils.stages.champion import baselines, decide
    from lstm_utils.stages.data import prepare
    from lstm_utils.stages.strategy import result
    from lstm_utils.windows import split_windows

    params = parse_params(copy.deepcopy(raw))
    names = names or list(params.compare.strategies)
    with tempfile.TemporaryDirectory() as tmp:
        for path in files or DATASETS[dataset]["files"]:
            shutil.copy(path, Path(tmp) / path.name)
        ready = prepare(tmp, params)  # as the data stage: every later file checked (data.checks), split
    frame, batch = ready.frame, ready.names
    started = time.perf_counter()
    base = train_new(frame, params, [0], verbose=0)
    test = split_windows(frame, params, "test", [0])
    base_scores = score_forecasters(base.model, test, params.data.targets, params.baselines.season, BatchSums(frame, params).fit([0]))
    out = {"base": {k: mean_over_targets(v["rmse"]) for k, v in base_scores.items()}, "seconds": {},
           "findings": ready.findings,
           "strategies": {}, "records": {}, "models": {}, "frame": frame, "batch": batch}
    out["seconds"]["base"] = time.perf_counter() - started
    for name in names:
        started = time.perf_counter()
        chain = run_chain(name, base.model, frame, params, batch, progress=lambda line: None)
        out["records"][name] = result(chain)
        out["models"][name] = chain.final
        out["strategies"][name] = out["records"][name]["summary"]
        out["seconds"][name] = time.perf_counter() - started
        if not quiet:
            print(f"  {dataset}: {name} done ({out['seconds'][name]:.0f} s)", file=sys.stderr, flush=True)
    out["baselines"] = baselines(frame, params, batch)
    out["linear"] = out["baselines"].linear["summary"]
    out["params"] = params
    out["walk"] = decide(out["records"], out["baselines"], params)
    out["champion"] = out["walk"].final.choice.champion
    return out


def keep_evidence(dataset: str, kind: str, out: dict, drop: dict[int, list[bool]] | None = None) -> None:
    """With BENCH_KEEP=DIR in the environment: what the champion rule weighs (the strategies'
    records, the baselines, the params), pickled to DIR/<dataset>-<kind>.pkl, for bench/decide.py's
    `--kept DIR` to walk rule variants over without training again. `drop`: per batch, the deployed
    windows to leave out of the walk (a faulted run's windows whose targets hold a spike)."""
    import os
    import pickle

    folder = os.environ.get("BENCH_KEEP")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    with open(Path(folder) / f"{dataset}-{kind}.pkl", "wb") as f:
        pickle.dump({"dataset": dataset, "kind": kind, "records": out["records"], "baselines": out["baselines"],
                     "params": out["params"], "batch": out["batch"], "drop": drop or {}}, f)


def report(dataset: str, out: dict) -> list[tuple[str, bool]]:
    """Print one dataset's table; return its bars (text, passed)."""
    lin = out["linear"]["new_rmse"]
    print(f"\n{dataset}: base model on the base test tail: model {out['base']['model']:.3f}, linear "
          f"{out['base']['linear']:.3f}, seasonal naive {out['base']['seasonal_naive']:.3f}, persistence "
          f"{out['base']['persistence']:.3f}")
    print(f"{'forecaster':22s} {'new_rmse':>9s} {'vs linear':>10s} {'forgetting':>11s} {'seconds':>8s}")
    for name, s in sorted(out["strategies"].items(), key=lambda kv: kv[1]["new_rmse"]):
        print(f"{name:22s} {s['new_rmse']:9.3f} {s['new_rmse'] / lin - 1:+10.1%} {s['forgetting']:+11.3f} "
              f"{out['seconds'][name]:8.0f}")
    print(f"{'linear (baseline)':22s} {lin:9.3f} {'':>10s} {out['linear']['forgetting']:+11.3f}")
    best = out["champion"]
    bars = [(f"{dataset}: the champion ({best}, {out['strategies'][best]['new_rmse']:.3f}) beats linear ({lin:.3f})",
             out["strategies"][best]["new_rmse"] < lin)]
    for name in ("finetune", "replay", "distill"):
        if name in out["strategies"]:
            gap = out["strategies"][name]["new_rmse"] / lin - 1
            bars.append((f"{dataset}: {name} at most 1% worse than linear ({gap:+.1%})", gap <= 0.01))
    return bars


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=[*DATASETS, "both"], default="both", help="both: sample and flights")
    parser.add_argument("--strategies", help="comma-separated (default: compare.strategies)")
    parser.add_argument("--set", dest="changes", action="append", default=[], metavar="SECTION.KEY=VALUE")
    args = parser.parse_args()
    datasets = ["sample", "flights"] if args.dataset == "both" else [args.dataset]
    bars = []
    for dataset in datasets:
        out = run(dataset, settings(dataset, args.changes), args.strategies.split(",") if args.strategies else None)
        bars += report(dataset, out)
    print_bars(bars)
    return 0


def print_bars(bars: list[tuple[str, bool]]) -> None:
    """A benchmark's bars, one line each: [pass] or [FAIL], then what was measured."""
    print()
    for text, ok in bars:
        print(f"[{'pass' if ok else 'FAIL'}] {text}")


if __name__ == "__main__":
    sys.exit(main())

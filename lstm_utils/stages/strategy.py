"""The strategy stage (notebooks/strategy.ipynb, once per strategy): run a strategy's chain over
the batches, reusing the steps an earlier run computed, and save its model, record and cost."""

from __future__ import annotations

from pathlib import Path

from lstm_utils import intervals
from lstm_utils.artifacts import load_model, make_sidecar, save_model
from lstm_utils.chain import Chain, run_chain
from lstm_utils.escape import inert_csv
from lstm_utils.files import atomic_path, sha256_file, write_json
from lstm_utils.pages.strategy import steps_table
from lstm_utils.settings import Params
from lstm_utils.stages.prepared import load_batches, prepared_paths
from lstm_utils.stepcache import StepCache
from lstm_utils.summary import summarize


def run_strategy(strategy: str, params: Params, prepared_dir: str | Path = "prepared",
                 base_model: str | Path = "models/base.keras", verbose: int = 0,
                 state_dir: str | Path | None = None) -> tuple[Chain, dict[str, str]]:
    """Run one strategy's whole chain from the base model and score it; also return the data
    files it learned from, with their SHA-256.

    Parameters
    ----------
    strategy
        The strategy's name.
    params
        Every setting.
    prepared_dir, base_model
        The data stage's prepared batches and the base stage's model.
    verbose
        Keras's progress output inside each step.
    state_dir
        The stage's persistent `state/<strategy>`: steps computed by an earlier run from the
        same model, data and params are reused rather than trained again.
    """
    frame, names, sources = load_batches(prepared_dir, params)
    base, _ = load_model(base_model)
    cache = StepCache(state_dir, strategy) if state_dir is not None else None
    data_hashes = [sha256_file(p) for p in prepared_paths(prepared_dir)]
    return run_chain(strategy, base, frame, params, names, verbose=verbose, cache=cache,
                     base_hash=sha256_file(base_model), data_hashes=data_hashes), sources


def save_strategy(chain: Chain, params: Params, sources: dict[str, str], models_dir: str | Path = "models",
                  reports_dir: str | Path = "reports") -> dict:
    """Write `models/<s>.keras` (+ sidecar), `reports/steps/<s>.json` / `.csv` and
    `reports/cost/<s>.json`; return the summary.

    Training seconds go only to `reports/cost/<s>.json`, which no later stage reads: they vary
    from run to run, and everything the compare stage depends on must not.

    Parameters
    ----------
    chain
        The scored chain (:func:`run_strategy`).
    params
        Every setting (recorded in the sidecar).
    sources
        The data files the model learned from, with their SHA-256.
    models_dir, reports_dir
        Where the model and the records go.
    """
    s = chain.strategy
    kept = result(chain)
    summary = kept["summary"]
    parent = f"{models_dir}/base.keras" if len(chain.steps) <= 1 else f"{s} after step {len(chain.steps) - 1}"
    path = Path(models_dir) / f"{s}.keras"
    last = len(chain.models) - 1
    side = make_sidecar(s, parent, params, sources, summary)
    calibrated_on = [chain.batches[b] for b in intervals.calibration_batches(last, params.intervals.calibration_batches)]
    side["intervals"] = intervals.to_record(chain.half_widths[last], params.data.targets,
                                            chain.calibration_windows[last], calibrated_on, chain.series_scales)
    save_model(chain.final, path, side)
    record = {"strategy": s, "model_sha256": sha256_file(path), "batches": chain.batches,
              "rmse": chain.rmse.tolist(), "mae": chain.mae.tolist(),
              "intervals": {level: {m: v.tolist() for m, v in measures.items()}
                            for level, measures in chain.intervals.items()},
              "half_widths": [{intervals.level_name(q): w.tolist() for q, w in widths.items()}
                              for widths in chain.half_widths],
              "calibration_windows": chain.calibration_windows, "test_windows": chain.test_windows,
              "deployed": [d.record() for d in chain.deployed], "summary": summary, "steps": kept["steps"]}
    steps = Path(reports_dir) / "steps"
    write_json(steps / f"{s}.json", record)
    write_steps_csv(chain, params.data.targets, steps / f"{s}.csv")
    write_json(Path(reports_dir) / "cost" / f"{s}.json", cost(chain))
    return summary


def result(chain: Chain) -> dict:
    """A scored chain as the compare stage reads a strategy's record back (:func:`load_results`):
    its error matrices, intervals, test-tail windows, deployed losses, steps and summary."""
    seen = [r.windows_seen for r in chain.steps]
    return {"strategy": chain.strategy, "batches": chain.batches, "rmse": chain.rmse, "mae": chain.mae,
            "intervals": chain.intervals, "test_windows": chain.test_windows, "deployed": chain.deployed,
            "steps": [{"step": r.step, "batch": r.batch, "windows_seen": r.windows_seen, "info": r.info}
                      for r in chain.steps],
            "summary": summarize(chain.rmse, chain.mae, seen, chain.intervals, chain.deployed, chain.test_windows)}


def write_steps_csv(chain: Chain, targets: list[str], path: str | Path) -> None:
    """`reports/steps/<s>.csv`: the step table less what varies between runs (seconds, reuse),
    a batch name a spreadsheet would run as a formula made inert (:func:`inert_csv`)."""
    with atomic_path(path) as tmp:
        inert_csv(steps_table(chain, targets).drop(columns=["train_seconds", "reused"])).to_csv(tmp, index=False,
                                                                                        lineterminator="\n")


def cost(chain: Chain) -> dict:
    """Training seconds of a strategy, in all and per step (as measured when each step was
    computed), and which steps this run reused from the step state."""
    return {"train_seconds": float(sum(r.train_seconds for r in chain.steps)),
            "compile_seconds": float(sum(r.compile_seconds for r in chain.steps)),
            "windows_seen": int(sum(r.windows_seen for r in chain.steps)),
            "steps": {r.batch: round(r.train_seconds, 3) for r in chain.steps},
            "reused": [r.batch for r in chain.steps if r.reused]}

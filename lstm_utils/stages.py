"""What the stage notebooks do, as functions: load the prepared batches, save the base model,
run a strategy's chain and save it, collect every strategy's results, choose and save the
champion. Which strategies the pipeline runs and compares, in which order, is params.yaml's
`compare.strategies` (the `strategy` stage of dvc.yaml runs once for each)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from lstm_utils import intervals, linear, strategies
from lstm_utils.artifacts import load_model, make_sidecar, save_model, sidecar_path
from lstm_utils.baselines import linear_chain, naive_deployed, naive_forecasts
from lstm_utils.chain import Chain, run_chain
from lstm_utils.decide import Choice, WalkForward, walk_forward
from lstm_utils.evaluation import WindowLosses, assess, calibrate
from lstm_utils.escape import inert_csv
from lstm_utils.files import atomic_path, sha256_file, write_json
from lstm_utils.forecast import csv_text, forecast_frame, with_bands
from lstm_utils.from_scratch import Run, train_new
from lstm_utils.metrics import mean_over_targets
from lstm_utils.model import predict
from lstm_utils.scoring import baseline_errors, by_series
from lstm_utils.settings import Params, as_written, raw_value
from lstm_utils.splits import BATCH, read_prepared
from lstm_utils.stepcache import StepCache
from lstm_utils.summary import Evidence, Track, summarize, summarize_baseline
from lstm_utils.train import TrainResult
from lstm_utils.windows import Windows, calibration_windows, split_windows, tail_windows

# The params keys the base stage reads (dvc.yaml lists the same; a test checks).
BASE_KEYS = ("data.targets", "data.features", "data.freq", "data.timezone", "window", "model", "train", "baselines")


@dataclass
class BaseRun:
    """The base model's training run, and the file it is kept in when the base stage has a state
    folder (its bytes are the model's: a reused model is copied from there, never re-saved)."""

    run: Run
    reused: bool
    kept: Path | None = None


def train_base(frame: pd.DataFrame, params: Params, base_csv: str | Path, state_dir: str | Path | None = None,
               verbose: int = 2) -> BaseRun:
    """The base model, trained on batch 0 with the `train` settings.

    With `state_dir` (the base stage's persistent `state/base`), a model trained by an earlier
    run from the same prepared base file, the same :data:`BASE_KEYS` and the same code (strategy
    modules aside) is loaded instead, with its training record (learning curves, seconds).
    """
    cache = StepCache(state_dir) if state_dir is not None else None
    if cache is None:
        return BaseRun(train_new(frame, params, [0], verbose=verbose), False)
    key = cache.key("", [sha256_file(base_csv)], {k: raw_value(params.raw, k) for k in BASE_KEYS})
    hit = cache.record(key)
    if hit is not None:
        train, val = (split_windows(frame, params, split, [0]) for split in ("train", "val"))
        run = Run(cache.model(key), TrainResult(**hit[0]), train, val)
    else:
        run = train_new(frame, params, [0], verbose=verbose)
        cache.save(key, run.model, asdict(run.result))
    cache.prune()
    return BaseRun(run, hit is not None, cache.folder / f"{key}.keras")

def save_base(base: BaseRun, test: Windows, scores: dict[str, dict], params: Params, base_csv: str | Path,
              meta: dict, models_dir: str | Path = "models", reports_dir: str | Path = "reports",
              widths: dict[float, np.ndarray] | None = None) -> Path:
    """Save the base model with its sidecar, `reports/base_metrics.json` (its errors and the
    baselines' on the base test tail, and the window counts) and `reports/cost/base.json`
    (training seconds: they vary, so no later stage reads them). Returns the model's path.

    Parameters
    ----------
    base
        The base model's training run (:func:`train_base`).
    test, scores
        The base test tail's windows, and the scores on it (:func:`lstm_utils.scoring.score_forecasters`;
        their intervals' coverage, width and score go to the metrics too).
    params
        Every setting (recorded in the sidecar).
    base_csv, meta
        The prepared base-period file and its batch entries (the data files it came from).
    models_dir, reports_dir
        Where the model and the metrics go.
    widths
        The model's interval half-widths per level, calibrated on its validation tail (kept in
        its sidecar).
    """
    run = base.run
    metrics = {"test": {name: {"rmse": s["rmse"], "mae": s["mae"]}
                        | ({"intervals": {q: {m: v[m] for m in intervals.MEASURES} for q, v in s["intervals"].items()}}
                           if "intervals" in s else {}) for name, s in scores.items()},
               "windows": {"train": len(run.train), "val": len(run.val), "test": len(test)}}
    sources = {str(base_csv): sha256_file(base_csv)} | {f"data/{name}": sha for b in meta["batches"]
                                                        for name, sha in b["sources"].items()}
    path = Path(models_dir) / "base.keras"
    side = make_sidecar("base", None, params, sources, metrics)
    if widths is not None:
        side["intervals"] = intervals.to_record(widths, params.data.targets, len(run.val), [meta["batches"][0]["name"]],
                                                test.scale_table())
    save_model(run.model, path, side, copy_of=base.kept)
    write_json(Path(reports_dir) / "base_metrics.json", metrics)
    r = run.result
    write_json(Path(reports_dir) / "cost" / "base.json",
               {"train_seconds": r.seconds, "compile_seconds": r.compile_seconds, "epochs": r.epochs_run,
                "windows_seen": r.windows_seen})
    return path


def prepared_paths(prepared_dir: str | Path) -> list[Path]:
    """The prepared batch CSVs (`NN-<name>.csv`), in batch order."""
    return sorted(Path(prepared_dir).glob("[0-9][0-9]-*.csv"))


def load_batches(prepared_dir: str | Path, params: Params) -> tuple[pd.DataFrame, dict[int, str], dict[str, str]]:
    """Every prepared batch as one frame, the batch names, and the SHA-256 of each source file."""
    paths = prepared_paths(prepared_dir)
    if not paths:
        raise FileNotFoundError(f"{prepared_dir}: no prepared batches; run the data stage (dvc repro) first")
    frame, meta = read_prepared(paths, params.data)
    names = {b["batch"]: b["name"] for b in meta["batches"]}
    sources = {f"data/{name}": sha for b in meta["batches"] for name, sha in b["sources"].items()}
    return frame, names, sources


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


def steps_table(chain: Chain) -> pd.DataFrame:
    """One row per update step: cost; the error on every window of the new batch before learning it
    (`deployed_rmse`, the model a user had) and on its test tail after (`new_rmse`), with the windows
    behind each; the errors on old batches; the keys of a step's `info` its strategy's module
    shows (`Strategy.shown`; refit: whether the step retrained from scratch); with a gated model
    (`model.gate: fitted`), the gate fitted at the step (a list with several targets)."""
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
                    | {k: rec.info[k] for k in shown if k in rec.info} | _gate(rec.info))
    gates = [k for k in (*shown, "gate") if any(k in rec.info for rec in chain.steps)]
    return pd.DataFrame(rows, columns=["step", "batch", "deployed_rmse", "deployed_windows", "new_rmse", "test_windows",
                                       "forward_rmse", "retained_rmse", "base_rmse", *coverage, "train_seconds",
                                       "windows_seen", "reused", *gates])


def _gate(info: dict) -> dict:
    """A step's fitted gate for its table row: one number per target (one number for one target)."""
    gate = info.get("gate")
    if gate is None:
        return {}
    return {"gate": gate[0] if len(gate) == 1 else gate}


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
    """One strategy's headline numbers (of its intervals, the coverage per level) and its training
    seconds, as a one-row table."""
    row = {k: v for k, v in summary.items() if not k.startswith(("new_width_", "new_interval_score_"))}
    row |= {"train_seconds": spent["train_seconds"]}
    return pd.DataFrame([row], index=pd.Index([strategy], name="strategy"))


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
    write_steps_csv(chain, steps / f"{s}.csv")
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


def write_steps_csv(chain: Chain, path: str | Path) -> None:
    """`reports/steps/<s>.csv`: the step table less what varies between runs (seconds, reuse),
    a batch name a spreadsheet would run as a formula made inert (:func:`inert_csv`)."""
    with atomic_path(path) as tmp:
        inert_csv(steps_table(chain).drop(columns=["train_seconds", "reused"])).to_csv(tmp, index=False,
                                                                                        lineterminator="\n")


def cost(chain: Chain) -> dict:
    """Training seconds of a strategy, in all and per step (as measured when each step was
    computed), and which steps this run reused from the step state."""
    return {"train_seconds": float(sum(r.train_seconds for r in chain.steps)),
            "compile_seconds": float(sum(r.compile_seconds for r in chain.steps)),
            "windows_seen": int(sum(r.windows_seen for r in chain.steps)),
            "steps": {r.batch: round(r.train_seconds, 3) for r in chain.steps},
            "reused": [r.batch for r in chain.steps if r.reused]}


def load_results(names: tuple[str, ...], reports_dir: str | Path = "reports") -> dict[str, dict]:
    """Each strategy's saved record (reports/steps/<s>.json), by name, in this order."""
    out = {}
    for s in names:
        path = Path(reports_dir) / "steps" / f"{s}.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing; run the strategy@{s} stage (dvc repro) first")
        rec = json.loads(path.read_text(encoding="utf-8"))
        rec["rmse"] = np.array(rec["rmse"], dtype=float)
        rec["mae"] = np.array(rec["mae"], dtype=float)
        rec["intervals"] = {level: {m: np.array(v, dtype=float) for m, v in measures.items()}
                            for level, measures in rec.get("intervals", {}).items()}
        if "deployed" not in rec:
            raise FileNotFoundError(f"{path}: written by an older version (no deployed losses); run `dvc repro` "
                                    f"to run the strategy@{s} stage again")
        rec["deployed"] = [WindowLosses.from_record(d) for d in rec["deployed"]]
        out[s] = rec
    return out


@dataclass
class Baselines:
    """What a user could use instead of an LSTM, on the same windows: persistence and seasonal
    naive (fixed rules: one error per batch) and the linear baseline (a ridge refit at every
    step: an error matrix, recorded like a strategy's); each with its deployed losses."""

    per_batch: dict[str, dict]  # persistence, seasonal_naive: {"rmse": [per batch], "mae": [...], "intervals"}
    linear: dict  # the linear baseline's record (lstm_utils.baselines.linear_chain), with its summary
    deployed: dict[str, list[WindowLosses]]  # every baseline's, per batch t >= 1
    test_windows: list[int]  # per batch: its test tail's windows
    summaries: dict[str, dict]  # every baseline's headline numbers

    def tracks(self) -> dict[str, Track]:
        """Each baseline's :class:`lstm_utils.summary.Track`, for the champion rule."""
        out = {"linear": Track(self.linear["rmse"], self.linear["mae"], self.deployed["linear"], self.test_windows,
                               self.linear["intervals"])}
        for name, e in self.per_batch.items():
            out[name] = Track(np.asarray(e["rmse"], dtype=float), np.asarray(e["mae"], dtype=float),
                              self.deployed[name], self.test_windows,
                              {q: {m: np.asarray(v, dtype=float) for m, v in ms.items()}
                               for q, ms in e.get("intervals", {}).items()})
        return out


def baselines(frame: pd.DataFrame, params: Params, names: dict[int, str]) -> Baselines:
    """Every baseline over the chain of batches (`names`: a name per batch number)."""
    n = int(frame[BATCH].max()) + 1
    calibrations = [calibration_windows(frame, params, t) for t in range(n)]
    tests = tail_windows(frame, params, n)
    per_batch = baseline_errors(tests, params.data.targets, params.baselines.season, calibrations,
                                params.intervals.levels)
    ridge = linear_chain(frame, params) | {"strategy": "linear", "batches": [names.get(b, str(b)) for b in range(n)]}
    deployed = naive_deployed(frame, params) | {"linear": ridge["deployed"]}
    counts = [len(w) for w in tests]
    summaries = {name: summarize_baseline(e, deployed[name], counts) for name, e in per_batch.items()}
    ridge["test_windows"] = counts
    ridge["summary"] = summarize(ridge["rmse"], ridge["mae"], [0] * (n - 1), ridge["intervals"], ridge["deployed"],
                                 counts)
    summaries["linear"] = {k: v for k, v in ridge["summary"].items() if k != "windows_seen"}
    return Baselines(per_batch, ridge, deployed, counts, summaries)


def evidence(results: dict[str, dict], base: Baselines) -> Evidence:
    """Every strategy's record (:func:`load_results`) and every baseline, as the champion rule
    weighs them (:mod:`lstm_utils.decide`)."""
    tracks = {s: Track(r["rmse"], r["mae"], r["deployed"], r["test_windows"], r["intervals"],
                       [step["windows_seen"] for step in r["steps"]]) for s, r in results.items()}
    return Evidence(tracks, base.tracks(), base.linear["batches"])


def decide(results: dict[str, dict], base: Baselines, params: Params) -> WalkForward:
    """The champion rule walked forward over every batch (:func:`lstm_utils.decide.walk_forward`):
    its last pick, on all the evidence, is the champion. The confidence set's bootstrap has blocks
    of `window.horizon` windows on average and is seeded by `train.seed`."""
    return walk_forward(evidence(results, base), params.compare, params.window.horizon, params.train.seed)


def crown(choice: Choice, models_dir: str | Path = "models", compared: list[str] | None = None) -> None:
    """Copy the champion's model to models/champion.keras, its sidecar saying why."""
    src = Path(models_dir) / f"{choice.champion}.keras"
    with atomic_path(Path(models_dir) / "champion.keras") as tmp:
        shutil.copyfile(src, tmp)
    side = json.loads(sidecar_path(src).read_text(encoding="utf-8"))
    side |= {"champion_of": list(compared or []), "parent": str(src), "why": choice.why}
    write_json(Path(models_dir) / "champion.json", side)


INTERVAL_KEYS = ("new_coverage_", "new_width_", "new_interval_score_")  # + level, in summaries and metrics.json


BASELINE_KEYS = ("new_rmse", "new_mae", "old_rmse", "forgetting", "forgetting_share", "forward_rmse", "new_windows")


def metrics(results: dict[str, dict], baseline_summaries: dict[str, dict], walk: WalkForward,
            newest: Newest | None = None, linear: dict | None = None) -> dict:
    """The content of reports/metrics.json: the champion and why; each strategy's summary and each
    baseline's (persistence and seasonal naive: new_rmse, old_rmse; linear, refit at every step:
    forgetting and forward_rmse too), each with its deployed figures (`deployed_rmse`,
    `deployed_mae`, `deployed_windows`, `deployed_coverage_<level>`, ...), its confidence-set
    p-value (`mcs_pvalue`) and whether it is in the set (`in_mcs`); with intervals, each one's
    `new_coverage_<level>`, `new_width_<level>` and `new_interval_score_<level>` (level in percent,
    e.g. 80). `confidence_set` says on what the set rests; `walk_forward`, the rule against the
    fixed policies and the champion picked before each batch. Given the linear baseline's record
    (`linear`), `linear_fits` gives the design and penalty of its fit after each step, the ones
    every model's linear path was set to.

    With several series these figures are pooled on each series' scale (see
    :mod:`lstm_utils.evaluation`), and `series` adds, per series, every final model's and
    baseline's RMSE and MAE on the newest test tail in that series' units (from `newest`)."""
    final = walk.final
    cs = final.evidence

    def judged(name: str, values: dict) -> dict:
        return values | {"mcs_pvalue": cs.pvalues.get(name), "in_mcs": name in cs}

    out = {"champion": final.choice.champion, "why": final.choice.why,
           "champion_in_mcs": final.choice.in_set,
           "strategies": {s: judged(s, r["summary"]) for s, r in results.items()},
           "baselines": {k: judged(k, {key: x for key, x in v.items()
                                       if key in BASELINE_KEYS or key.startswith(INTERVAL_KEYS + ("deployed_",))})
                         for k, v in baseline_summaries.items()},
           "confidence_set": {"confidence": cs.confidence, "windows": cs.windows, "block": cs.block,
                              "members": cs.members},
           "walk_forward": {"policies": walk.policies,
                            "history": {turn.name: {"champion": turn.choice.champion, "deployed_rmse": turn.deployed_rmse,
                                                    "windows": turn.windows, "windows_seen": turn.windows_seen,
                                                    "members": turn.evidence.members}
                                        for turn in walk.history}}}
    if linear is not None:
        out["linear_fits"] = {batch: {"design": d, "penalty": p}
                              for batch, d, p in zip(linear["batches"], linear["designs"], linear["penalties"])}
    if newest is not None and newest.series:
        out["series"] = {name: {f: {"rmse": mean_over_targets(e["rmse"]), "mae": mean_over_targets(e["mae"]),
                                    "windows": e["windows"]} for f, e in by.items()}
                         for name, by in newest.series.items()}
    return out


def headline(content: dict) -> dict:
    """The few figures a reader looks at first, flat, from :func:`metrics`'s content (what
    reports/summary.json holds, so that ``dvc metrics show reports/summary.json --md`` fits a
    terminal): the champion, its deployed RMSE and the linear baseline's on the same windows, how
    many windows that rests on, how many forecasters the confidence set cannot tell apart, and the
    champion's deployed coverage per level."""
    champion = content["strategies"][content["champion"]]
    linear = content["baselines"].get("linear", {})
    cs = content["confidence_set"]
    out = {"champion": content["champion"], "deployed_rmse": champion["deployed_rmse"],
           "linear_rmse": linear.get("deployed_rmse"), "windows": champion["deployed_windows"],
           "in_set": f"{len(cs['members'])} of {len(content['strategies']) + len(content['baselines'])}"}
    out |= {f"coverage_{k.rsplit('_', 1)[1]}": v for k, v in champion.items() if k.startswith("deployed_coverage_")}
    return out


def write_metrics(content: dict, reports_dir: str | Path = "reports") -> Path:
    """reports/metrics.json and its :func:`headline` in reports/summary.json (both declared as DVC
    metrics); the path of the first."""
    path = Path(reports_dir) / "metrics.json"
    write_json(path, content)
    write_json(Path(reports_dir) / "summary.json", headline(content))
    return path


@dataclass
class Newest:
    """Every final model and both baselines on the newest batch's test tail."""

    windows: Windows
    forecasts: dict[str, np.ndarray]
    scores: dict[str, dict]
    series: dict[str, dict] = dataclasses.field(default_factory=dict)  # several series: errors in each one's units


def newest_scores(frame: pd.DataFrame, params: Params, models_dir: str | Path = "models") -> Newest:
    """Forecasts and errors (overall and per horizon step) of each compared strategy's final
    model and the baselines (the linear one fitted on every batch), on the test tail of the
    newest batch, with their intervals' coverage, width and score (`scores[name]["intervals"]`):
    the models' half-widths from their sidecars, the baselines' calibrated like the last step's."""
    last = int(frame[BATCH].max())
    windows = tail_windows(frame, params, last + 1)[last]
    calibration = calibration_windows(frame, params, last)
    forecasts, widths = {}, {}
    for s in params.compare.strategies:
        model, side = load_model(Path(models_dir) / f"{s}.keras")
        forecasts[s], widths[s] = predict(model, windows), intervals.from_record(side.get("intervals"),
                                                                                  params.data.targets)
    ridge = linear.BatchSums(frame, params).fit(range(last + 1))
    forecasts |= naive_forecasts(windows, params.baselines.season) | {"linear": ridge.predict(windows)}
    for name, pred in (naive_forecasts(calibration, params.baselines.season)
                       | {"linear": ridge.predict(calibration)}).items():
        widths[name] = calibrate(calibration, pred, params.intervals.levels)
    scores = {name: assess(windows, pred, params.data.targets, widths.get(name), by_step=True)
              for name, pred in forecasts.items()}
    return Newest(windows, forecasts, scores, by_series(windows, forecasts, params.data.targets))


def write_forecast(frame: pd.DataFrame, params: Params, models_dir: str | Path = "models",
                   reports_dir: str | Path = "reports") -> pd.DataFrame:
    """The champion's forecast past the last timestamp, with its interval bounds per target and
    level (`<target>_lower_<level>`, `<target>_upper_<level>`), written to reports/forecast.csv;
    what was left out, and why, in ``table.attrs["note"]`` (None: nothing)."""
    model, side = load_model(Path(models_dir) / "champion.keras")
    table = forecast_frame(model, frame, params.data.inputs, params.data.targets, params.window.lookback,
                           params.window.horizon, "prepared data", freq=params.data.freq)
    table, note = with_bands(table, side)
    with atomic_path(Path(reports_dir) / "forecast.csv") as tmp:
        tmp.write_text(csv_text(table), encoding="utf-8")
    table.attrs["note"] = note
    return table

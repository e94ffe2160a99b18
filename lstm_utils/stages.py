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
from lstm_utils.baselines import naive_forecasts
from lstm_utils.chain import Chain, run_chain
from lstm_utils.compare import champion, summarize, summarize_baseline
from lstm_utils.config import Params, raw_value
from lstm_utils.escape import inert_csv
from lstm_utils.files import atomic_path, sha256_file, write_json
from lstm_utils.forecast import forecast_frame, with_bands
from lstm_utils.from_scratch import Run, train_new
from lstm_utils.metrics import errors, mean_over_targets
from lstm_utils.model import predict
from lstm_utils.scoring import baseline_errors, by_series
from lstm_utils.splits import BATCH, read_prepared
from lstm_utils.stepcache import StepCache
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
        The base test tail's windows, and the scores on it (:func:`lstm_utils.scoring.score`;
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
    """One row per update step: cost, and errors on the new batch, before and after, and on old ones;
    with a gated model (`model.gate: fitted`), the gate fitted at the step (a list with several targets)."""
    rows = []
    coverage = [f"new_coverage_{level}" for level in chain.intervals]
    for rec in chain.steps:
        t = rec.step
        rows.append({"step": t, "batch": rec.batch, "new_rmse": chain.rmse[t, t],
                     "forward_rmse": chain.rmse[t - 1, t], "retained_rmse": float(np.nanmean(chain.rmse[t, :t])),
                     "base_rmse": chain.rmse[t, 0]}
                    | {f"new_coverage_{level}": m["coverage"][t, t] for level, m in chain.intervals.items()}
                    | {"train_seconds": rec.train_seconds, "windows_seen": rec.windows_seen, "reused": rec.reused}
                    | _gate(rec.info))
    gates = ["gate"] if any("gate" in rec.info for rec in chain.steps) else []
    return pd.DataFrame(rows, columns=["step", "batch", "new_rmse", "forward_rmse", "retained_rmse", "base_rmse",
                                       *coverage, "train_seconds", "windows_seen", "reused", *gates])


def _gate(info: dict) -> dict:
    """A step's fitted gate for its table row: one number per target (one number for one target)."""
    gate = info.get("gate")
    if gate is None:
        return {}
    return {"gate": gate[0] if len(gate) == 1 else gate}


def intervals_table(chain: Chain) -> pd.DataFrame:
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
    rows = [{"key": f"{spec.name}.{k}", "value": v, "read from": "its own section"}
            for k, v in params.section(spec.name).items()]
    rows += [{"key": key, "value": value, "read from": "shared with the base model"}
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
    summary = summarize(chain.rmse, chain.mae, [r.windows_seen for r in chain.steps], chain.intervals)
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
              "calibration_windows": chain.calibration_windows,
              "summary": summary, "steps": [{"step": r.step, "batch": r.batch, "windows_seen": r.windows_seen,
                                             "info": r.info} for r in chain.steps]}
    steps = Path(reports_dir) / "steps"
    write_json(steps / f"{s}.json", record)
    write_steps_csv(chain, steps / f"{s}.csv")
    write_json(Path(reports_dir) / "cost" / f"{s}.json", cost(chain))
    return summary


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
        out[s] = rec
    return out


@dataclass
class Baselines:
    """What a user could use instead of an LSTM, on the same windows: persistence and seasonal
    naive (fixed rules: one error per batch) and the linear baseline (a ridge refit at every
    step: an error matrix, recorded like a strategy's)."""

    per_batch: dict[str, dict]  # persistence, seasonal_naive: {"rmse": [per batch], "mae": [...], "intervals"}
    linear: dict  # the linear baseline's record (lstm_utils.linear.baseline)
    summaries: dict[str, dict]  # every baseline's headline numbers


def baselines(frame: pd.DataFrame, params: Params, names: dict[int, str]) -> Baselines:
    """Every baseline over the chain of batches (`names`: a name per batch number)."""
    n = int(frame[BATCH].max()) + 1
    calibrations = [calibration_windows(frame, params, t) for t in range(n)]
    per_batch = baseline_errors(tail_windows(frame, params, n), params.data.targets, params.baselines.season,
                                calibrations, params.intervals.levels)
    ridge = linear.baseline(frame, params, [names.get(b, str(b)) for b in range(n)])
    summaries = {name: summarize_baseline(e) for name, e in per_batch.items()}
    summaries["linear"] = {k: v for k, v in ridge["summary"].items() if k != "windows_seen"}
    return Baselines(per_batch, ridge, summaries)


def crown(results: dict[str, dict], params: Params, models_dir: str | Path = "models") -> tuple[str, str]:
    """Choose the champion by the params rule and copy its model to models/champion.keras."""
    best, why = champion({s: r["summary"] for s, r in results.items()}, params.compare)
    src = Path(models_dir) / f"{best}.keras"
    with atomic_path(Path(models_dir) / "champion.keras") as tmp:
        shutil.copyfile(src, tmp)
    side = json.loads(sidecar_path(src).read_text(encoding="utf-8"))
    side |= {"champion_of": list(results), "parent": str(src), "why": why}
    write_json(Path(models_dir) / "champion.json", side)
    return best, why


INTERVAL_KEYS = ("new_coverage_", "new_width_", "new_interval_score_")  # + level, in summaries and metrics.json


def metrics(results: dict[str, dict], baseline_summaries: dict[str, dict], best: str,
            newest: Newest | None = None) -> dict:
    """The content of reports/metrics.json: the champion, each strategy's summary, and each
    baseline's (persistence and seasonal naive: new_rmse, old_rmse; linear, refit at every
    step: forgetting and forward_rmse too); with intervals, each one's `new_coverage_<level>`,
    `new_width_<level>` and `new_interval_score_<level>` (level in percent, e.g. 80).

    With several series these figures are pooled on each series' scale (see
    :mod:`lstm_utils.scoring`), and `series` adds, per series, every final model's and
    baseline's RMSE and MAE on the newest test tail in that series' units (from `newest`)."""
    keys = ("new_rmse", "old_rmse", "forgetting", "forward_rmse")
    out = {"champion": best, "strategies": {s: r["summary"] for s, r in results.items()},
           "baselines": {k: {key: x for key, x in v.items() if key in keys or key.startswith(INTERVAL_KEYS)}
                         for k, v in baseline_summaries.items()}}
    if newest is not None and newest.series:
        out["series"] = {name: {f: {"rmse": mean_over_targets(e["rmse"]), "mae": mean_over_targets(e["mae"]),
                                    "windows": e["windows"]} for f, e in by.items()}
                         for name, by in newest.series.items()}
    return out


def write_metrics(content: dict, reports_dir: str | Path = "reports") -> Path:
    """reports/metrics.json (declared as DVC metrics)."""
    path = Path(reports_dir) / "metrics.json"
    write_json(path, content)
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
    y = windows.targets()
    calibration = calibration_windows(frame, params, last)
    forecasts, widths = {}, {}
    for s in params.compare.strategies:
        model, side = load_model(Path(models_dir) / f"{s}.keras")
        forecasts[s], widths[s] = predict(model, windows), intervals.from_record(side.get("intervals"),
                                                                                  params.data.targets)
    ridge = linear.BatchSums(frame, params).fit(range(last + 1))
    forecasts |= naive_forecasts(windows, params.baselines.season) | {"linear": ridge.predict(windows)}
    yc = calibration.targets()
    for name, pred in (naive_forecasts(calibration, params.baselines.season)
                       | {"linear": ridge.predict(calibration)}).items():
        widths[name] = intervals.calibrate(*calibration.scaled(yc, pred), params.intervals.levels)
    scores = {}
    for name, pred in forecasts.items():
        y_s, pred_s = windows.scaled(y, pred)  # several series: divided by each one's scale
        scores[name] = errors(y_s, pred_s, params.data.targets)
        if widths.get(name) is not None:
            scores[name]["intervals"] = intervals.scores(y_s, pred_s, widths[name], by_step=True)
    return Newest(windows, forecasts, scores, by_series(windows, forecasts, params.data.targets))


def write_forecast(frame: pd.DataFrame, params: Params, models_dir: str | Path = "models",
                   reports_dir: str | Path = "reports") -> pd.DataFrame:
    """The champion's forecast past the last timestamp, with its interval bounds per target and
    level (`<target>_lower_<level>`, `<target>_upper_<level>`), written to reports/forecast.csv."""
    model, side = load_model(Path(models_dir) / "champion.keras")
    table = forecast_frame(model, frame, params.data.inputs, params.data.targets, params.window.lookback,
                           params.window.horizon, "prepared data", freq=params.data.freq)
    table, _ = with_bands(table, side)
    with atomic_path(Path(reports_dir) / "forecast.csv") as tmp:
        inert_csv(table).to_csv(tmp, date_format="%Y-%m-%dT%H:%M:%S%z", lineterminator="\n")
    return table

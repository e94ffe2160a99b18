"""The compare stage (notebooks/compare.ipynb): collect every strategy's results and the
baselines', judge them on the same windows, crown the champion, and write metrics.json,
summary.json and forecast.csv."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_utils import intervals, linear
from lstm_utils.artifacts import load_model, make_sidecar, save_model, sidecar_path
from lstm_utils.baselines import every_baseline, linear_chain, naive_deployed
from lstm_utils.decide import Choice, WalkForward, walk_forward
from lstm_utils.evaluation import Forecaster, WindowLosses, assess, calibrate
from lstm_utils.files import atomic_path, write_json
from lstm_utils.forecast import csv_text, forecast_frame, with_bands
from lstm_utils.metrics import mean_over_targets
from lstm_utils.model import KerasForecaster
from lstm_utils.scoring import baseline_errors, by_series
from lstm_utils.settings import Params
from lstm_utils.splits import BATCH
from lstm_utils.summary import Evidence, Track, summarize, summarize_baseline
from lstm_utils.windows import Windows, calibration_windows, tail_windows


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
    trees: dict | None = None  # the gradient-boosted baseline's record (lstm_utils.baselines.trees_chain); None: off

    def tracks(self) -> dict[str, Track]:
        """Each baseline's :class:`lstm_utils.summary.Track`, for the champion rule."""
        out = {name: Track(record["rmse"], record["mae"], self.deployed[name], self.test_windows, record["intervals"])
               for name, record in self.refit().items()}
        for name, e in self.per_batch.items():
            out[name] = Track(np.asarray(e["rmse"], dtype=float), np.asarray(e["mae"], dtype=float),
                              self.deployed[name], self.test_windows,
                              {q: {m: np.asarray(v, dtype=float) for m, v in ms.items()}
                               for q, ms in e.get("intervals", {}).items()})
        return out

    def refit(self) -> dict[str, dict]:
        """The baselines refit at every step, recorded like a strategy: the ridge and, where
        `baselines.trees` asks for it, the trees."""
        return {"linear": self.linear} | ({"trees": self.trees} if self.trees is not None else {})

    def final(self) -> dict[str, Forecaster]:
        """The baselines fitted at the last step that are not refit from scratch cheaply here (the
        trees), to score on the newest test tail without fitting them again."""
        return {"trees": self.trees["final"]} if self.trees is not None else {}


def baselines(frame: pd.DataFrame, params: Params, names: dict[int, str], kept: str | Path | None = None) -> Baselines:
    """Every baseline over the chain of batches (`names`: a name per batch number); `kept`: the
    trees' persistent state (:class:`lstm_utils.trees.Kept`), None: nothing kept."""
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
    trees = None
    from lstm_utils import trees as tree_baseline

    if params.baselines.trees == 0 and kept is not None:
        tree_baseline.Kept(kept).prune()  # off: nothing kept, the folder (the stage's output) stays
    if params.baselines.trees > 0:  # LightGBM, refit at every step as the ridge is
        trees = tree_baseline.chain(frame, params, kept) | {"strategy": "trees", "batches": ridge["batches"],
                                                            "test_windows": counts}
        deployed["trees"] = trees["deployed"]
        trees["summary"] = summarize(trees["rmse"], trees["mae"], [0] * (n - 1), trees["intervals"], trees["deployed"],
                                     counts)
        summaries["trees"] = {k: v for k, v in trees["summary"].items() if k != "windows_seen"}
    return Baselines(per_batch, ridge, deployed, counts, summaries, trees)


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


def crown(choice: Choice, models_dir: str | Path = "models", compared: list[str] | None = None,
          frame: pd.DataFrame | None = None, params: Params | None = None,
          base: Baselines | None = None) -> None:
    """Write models/champion.keras, its sidecar saying why: a copy of the champion strategy's
    model, or, when a baseline wins (`compare.candidates: all`), that baseline as a model of
    built-in layers (:func:`lstm_utils.baselines.as_model`; needs `frame`, `params` and `base`),
    with its intervals calibrated as the baseline's last step's and its summary as metrics."""
    compared = list(compared or [])
    if choice.baseline:
        if frame is None or params is None or base is None:
            raise ValueError(f"{choice.champion} is a baseline: crown needs the frame, the params and the baselines")
        crown_baseline(choice, models_dir, compared, frame, params, base)
        return
    src = Path(models_dir) / f"{choice.champion}.keras"
    with atomic_path(Path(models_dir) / "champion.keras") as tmp:
        shutil.copyfile(src, tmp)
    side = json.loads(sidecar_path(src).read_text(encoding="utf-8"))
    side |= {"champion_of": compared, "parent": str(src), "why": choice.why}
    write_json(Path(models_dir) / "champion.json", side)


def crown_baseline(choice: Choice, models_dir: str | Path, compared: list[str], frame: pd.DataFrame, params: Params,
                   base: Baselines) -> None:
    """The baseline champion as models/champion.keras (see :func:`crown`)."""
    from lstm_utils.baselines import as_model, final

    name = choice.champion
    last = int(frame[BATCH].max())
    calibration = calibration_windows(frame, params, last)
    forecaster = final(name, frame, params)  # the ridge fitted once, for the intervals and the model
    widths = calibrate(calibration, forecaster.predict(calibration), params.intervals.levels)
    names = base.linear["batches"]
    known = [sidecar_path(Path(models_dir) / f"{s}.keras") for s in compared]  # the data every strategy learned
    sources = next((json.loads(p.read_text(encoding="utf-8"))["sources"] for p in known if p.is_file()), {})
    side = make_sidecar(name, None, params, sources, base.summaries[name])
    side["intervals"] = intervals.to_record(
        widths, params.data.targets, len(calibration),
        [names[b] for b in intervals.calibration_batches(last, params.intervals.calibration_batches)],
        tail_windows(frame, params, 1)[0].scale_table())
    side |= {"champion_of": compared, "parent": f"the {name} baseline (no LSTM)", "why": choice.why}
    save_model(as_model(name, frame, params, forecaster if name == "linear" else None),
               Path(models_dir) / "champion.keras", side)


INTERVAL_KEYS = ("new_coverage_", "new_width_", "new_interval_score_")  # + level, in summaries and metrics.json


BASELINE_KEYS = ("new_rmse", "new_mae", "old_rmse", "forgetting", "forgetting_share", "forward_rmse", "new_windows")


def metrics(results: dict[str, dict], baseline_summaries: dict[str, dict], walk: WalkForward,
            newest: Newest | None = None, linear: dict | None = None, targets: Sequence[str] = ()) -> dict:
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
    baseline's RMSE and MAE on the newest test tail in that series' units (from `newest`).

    With several `targets`, each forecaster also has `deployed_rmse_by_target` and
    `deployed_mae_by_target`, {target: value} in each target's units."""
    final = walk.final
    cs = final.evidence

    def judged(name: str, values: dict) -> dict:
        named = {k: dict(zip(targets, v)) for k, v in values.items() if k.endswith("_by_target") and v is not None}
        return values | named | {"mcs_pvalue": cs.pvalues.get(name), "in_mcs": name in cs}

    out = {"champion": final.choice.champion, "why": final.choice.why,
           "champion_in_mcs": final.choice.in_set, "champion_is_baseline": final.choice.baseline,
           "strategies": {s: judged(s, r["summary"]) for s, r in results.items()},
           "baselines": {k: judged(k, {key: x for key, x in v.items()
                                       if key in BASELINE_KEYS or key.startswith(INTERVAL_KEYS + ("deployed_",))})
                         for k, v in baseline_summaries.items()},
           "confidence_set": {"confidence": cs.confidence, "windows": cs.windows, "block": cs.block,
                              "members": cs.members},
           "walk_forward": {"policies": walk.policies, "deployed_by_batch": walk.by_batch,
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


def summary_metrics(content: dict) -> dict:
    """The few figures a reader looks at first, flat, from :func:`metrics`'s content (what
    reports/summary.json holds, so that ``dvc metrics show reports/summary.json --md`` fits a
    terminal): the champion, its deployed RMSE and the linear baseline's on the same windows, how
    many windows that rests on, how many forecasters the confidence set cannot tell apart, and the
    champion's deployed coverage per level."""
    champion = (content["baselines"] if content.get("champion_is_baseline") else content["strategies"])[
        content["champion"]]
    linear = content["baselines"].get("linear", {})
    cs = content["confidence_set"]
    out = {"champion": content["champion"], "deployed_rmse": champion["deployed_rmse"],
           "linear_rmse": linear.get("deployed_rmse"), "windows": champion["deployed_windows"],
           "in_set": f"{len(cs['members'])} of {len(content['strategies']) + len(content['baselines'])}"}
    out |= {f"coverage_{k.rsplit('_', 1)[1]}": v for k, v in champion.items() if k.startswith("deployed_coverage_")}
    return out


def write_metrics(content: dict, reports_dir: str | Path = "reports") -> Path:
    """reports/metrics.json and its :func:`summary_metrics` in reports/summary.json (both declared as DVC
    metrics); the path of the first."""
    path = Path(reports_dir) / "metrics.json"
    write_json(path, content)
    write_json(Path(reports_dir) / "summary.json", summary_metrics(content))
    return path


@dataclass
class Newest:
    """Every final model and the baselines on the newest batch's test tail."""

    windows: Windows
    forecasts: dict[str, np.ndarray]
    scores: dict[str, dict]
    series: dict[str, dict] = dataclasses.field(default_factory=dict)  # several series: errors in each one's units


def newest_scores(frame: pd.DataFrame, params: Params, models_dir: str | Path = "models",
                  base: Baselines | None = None) -> Newest:
    """Forecasts and errors (overall and per horizon step) of each compared strategy's final
    model and the baselines (the linear one fitted on every batch; the trees as `base` fitted them
    last), on the test tail of the newest batch, with their intervals' coverage, width and score
    (`scores[name]["intervals"]`): the models' half-widths from their sidecars, the baselines'
    calibrated like the last step's."""
    last = int(frame[BATCH].max())
    windows = tail_windows(frame, params, last + 1)[last]
    calibration = calibration_windows(frame, params, last)
    forecasters, widths = {}, {}
    for s in params.compare.strategies:
        model, side = load_model(Path(models_dir) / f"{s}.keras")
        forecasters[s] = KerasForecaster(model)
        widths[s] = intervals.from_record(side.get("intervals"), params.data.targets)
    baselines = every_baseline(params.baselines.season, linear.BatchSums(frame, params).fit(range(last + 1)))
    baselines |= base.final() if base is not None else {}
    forecasts = {name: f.predict(windows) for name, f in (forecasters | baselines).items()}
    for name, f in baselines.items():
        widths[name] = calibrate(calibration, f.predict(calibration), params.intervals.levels)
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

"""Writes the stage notebooks in notebooks/ (run after editing their text here):

    .venv/bin/python scripts/make_notebooks.py

The notebooks only narrate, call into lstm_utils and plot; they are stored without outputs.
"""

from pathlib import Path

import nbformat as nbf
from nbformat.v4 import new_notebook, new_markdown_cell as md, new_code_cell as code

def nb(cells):
    n = new_notebook(cells=cells)
    n.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                  "language_info": {"name": "python"}}
    for i, c in enumerate(n.cells):
        c.id = f"cell-{i:02d}"
    return n

def params_cell(src):
    c = code(src); c.metadata["tags"] = ["parameters"]; return c

data = nb([
    md("# Data: what was ingested, and how it was split\n\n"
       "Every CSV in the data folder is read, checked against `params.yaml` (time column, targets, features), "
       "ordered by its first timestamp, and put on one regular time grid (`data.freq`). Short runs of missing "
       "values (up to `data.max_fill` steps) are interpolated inside a batch; longer gaps stay missing, and no "
       "window spans them. The first `split.base_batches` files form the **base period**; every later file is "
       "one **update batch**. Each batch is cut, in time order, into train / val / test tails."),
    params_cell('params_file = "params.yaml"  # every setting; see the README\n'
                'data_dir = "data"  # the raw CSV files (never written)\n'
                'prepared_dir = "prepared"  # one CSV per batch, for the later stages'),
    code("%matplotlib inline\n"
         "from lstm_utils.config import load_params\n"
         "from lstm_utils.ingest import ingest\n"
         "from lstm_utils.splits import assign_splits, batch_names, check_batches, split_table, write_prepared\n"
         "from lstm_utils import plots\n\n"
         "params = load_params(params_file)\n"
         "ds = ingest(data_dir, params.data, params.split.base_batches)\n"
         "frame, names = assign_splits(ds, params.split), batch_names(ds)\n"
         "check_batches(ds, frame, params.split, params.window)  # every batch gives a training window\n"
         "written = write_prepared(ds, params.split, prepared_dir)\n"
         "print(ds.report.__str__().splitlines()[0])"),
    md("## Files\n\nOne row per file, in the order they are used (by first timestamp). `duplicates` are rows "
       "repeated exactly inside a file; `overlap_dropped` are rows an earlier file already had; `conflicts` "
       "are times an earlier file had with other values (resolved by `data.on_conflict`; by default the newer "
       "file's values are kept); `missing_values` counts empty cells in the columns the model uses."),
    code("ds.report.files_table()"),
    md("## Columns\n\nMissing values per input: as read, filled by interpolation, and still missing after the "
       "regular grid was laid (a time step no file had counts as missing in every column)."),
    code("ds.report.columns_table()"),
    md("## Batches and splits\n\nThe base model learns from the base period only. Each later batch is one "
       "update step. Scaling statistics come from the base period's train tail alone, and no value of a "
       "val or test tail is ever fed to training."),
    code("split_table(frame, names)"),
    md("## Inputs over time\n\nBackground colours mark the train, val and test tails; black lines mark where "
       "a batch starts. Breaks in a line are gaps too long to fill."),
    code("plots.series_overview(frame, ds.inputs)"),
    md("## Distributions per batch\n\nHow each input shifts from the base period to each later batch: the "
       "drift an update strategy has to follow."),
    code("plots.distributions(frame, ds.inputs, names)"),
])

base = nb([
    md("# Base model\n\nAn LSTM forecaster trained on the **base period only** (batch 0 of the prepared data). "
       "It reads `window.lookback` steps of every input and forecasts the next `window.horizon` steps of each "
       "target at once. Scaling lives inside the model, so the saved `.keras` file takes raw windows and "
       "returns forecasts in the data's units. It is judged on the base period's test tail, next to two naive "
       "forecasts computed on exactly the same windows:\n\n"
       "- **persistence**: the last observed value, repeated;\n"
       "- **seasonal naive**: the value one season (`baselines.season` steps) earlier."),
    params_cell('params_file = "params.yaml"  # every setting; see the README\n'
                'prepared_dir = "prepared"  # written by the data stage\n'
                'models_dir = "models"\n'
                'reports_dir = "reports"\n'
                'verbose = 2  # Keras progress: one line per epoch'),
    code("%matplotlib inline\n"
         "from pathlib import Path\n\n"
         "from lstm_utils.config import load_params\n"
         "from lstm_utils.splits import read_prepared\n"
         "from lstm_utils.base import split_windows, train_new\n"
         "from lstm_utils.evaluate import headline, score, scores_table\n"
         "from lstm_utils.artifacts import make_sidecar, save_model, write_json\n"
         "from lstm_utils.ingest import sha256_file\n"
         "from lstm_utils.train import predict\n"
         "from lstm_utils import plots\n\n"
         "params = load_params(params_file)\n"
         "base_csv = Path(prepared_dir) / \"00-base.csv\"\n"
         "frame, meta = read_prepared([base_csv], params.data)\n"
         "print(f\"base period: {frame.index[0]} .. {frame.index[-1]}, {len(frame)} rows\")"),
    md("## Training\n\nAdam on the mean squared error, each target divided by its standard deviation so that "
       "targets in different units weigh the same. Early stopping watches the validation tail; the weights "
       "of the best epoch are kept. Seeds and deterministic ops make the run repeatable."),
    code("run = train_new(frame, params, batches=[0], verbose=verbose)\n"
         "r = run.result\n"
         "print(f\"{len(run.train)} training windows, {len(run.val)} validation windows; \"\n"
         "      f\"{r.epochs_run} epochs in {r.seconds:.1f} s, best epoch {r.best_epoch}\")"),
    code("plots.learning_curves(r.history)"),
    md("## Errors on the base test tail\n\nRMSE and MAE in the data's units, for the model and the two naive "
       "forecasts, on the same windows."),
    code("test = split_windows(frame, params, \"test\", [0])\n"
         "scores = score(run.model, test, params.data.targets, params.baselines.season)\n"
         "scores_table(scores)"),
    code("best = headline(scores)\n"
         "verdict = \"beats\" if best[\"model\"] < min(best[\"persistence\"], best[\"seasonal_naive\"]) else \"does not beat\"\n"
         "print(f\"mean RMSE: model {best['model']:.3f}, persistence {best['persistence']:.3f}, \"\n"
         "      f\"seasonal naive {best['seasonal_naive']:.3f}: the model {verdict} both baselines\")"),
    md("## Forecasts against actuals\n\nEach line joins forecasts made the same number of steps ahead: the "
       "first step (one hour ahead) and the last step of the horizon."),
    code("from lstm_utils.baselines import seasonal_naive\n"
         "forecasts = {\"model\": predict(run.model, test), \"seasonal naive\": seasonal_naive(test, params.baselines.season)}\n"
         "plots.forecast_vs_actual(test, forecasts, steps=(1, params.window.horizon), name=params.data.targets[0])"),
    md("## Error by horizon step\n\nPersistence is hard to beat one step ahead and weak a day ahead; the "
       "seasonal naive forecast is the reverse. A useful model sits below both across the horizon."),
    code("plots.error_by_step(scores, params.data.targets[0])"),
    md("## Saved artifacts\n\n`models/base.keras` (loads with `keras.saving.load_model(path, safe_mode=True)`) "
       "and its sidecar `models/base.json`; `reports/base_metrics.json` holds the errors above (DVC metrics)."),
    code("metrics = {name: {\"rmse\": s[\"rmse\"], \"mae\": s[\"mae\"]} for name, s in scores.items()}\n"
         "metrics = {\"test\": metrics, \"windows\": {\"train\": len(run.train), \"val\": len(run.val), \"test\": len(test)}}\n"
         "sources = {str(base_csv): sha256_file(base_csv)} | {f\"data/{k}\": v for b in meta[\"batches\"] for k, v in b[\"sources\"].items()}\n"
         "save_model(run.model, Path(models_dir) / \"base.keras\", make_sidecar(\"base\", None, params, sources, metrics))\n"
         "write_json(Path(reports_dir) / \"base_metrics.json\", metrics)\n"
         "write_json(Path(reports_dir) / \"cost\" / \"base.json\", {\"train_seconds\": r.seconds, \"epochs\": r.epochs_run, \"windows_seen\": r.windows_seen})\n"
         "print(\"saved\", Path(models_dir) / \"base.keras\")"),
])


STRATEGY_TEXT = {
    "none": ("No update", "The base model is kept as it is, whatever arrives: the stale baseline every other "
             "strategy has to beat. Its error on a new batch shows how much the data drifted away from the base "
             "period.", "It costs nothing, and forgets nothing, because it never learns."),
    "finetune": ("Fine-tuning", "Each step continues from the previous weights on the new batch's training "
                 "windows only, at a much lower learning rate (`finetune.learning_rate`), with early stopping on "
                 "the new batch's validation tail. `finetune.trainable: head` keeps the LSTM frozen.",
                 "Cost grows with the size of the new batch only, never with history. The risk is forgetting: "
                 "nothing reminds the model of the old periods."),
    "distill": ("Knowledge distillation", "Each step trains a student (`distill.units`) on the new batch and a "
                "seeded sample of `distill.old_windows` old windows, against a blend of the true targets and the "
                "frozen previous model's forecasts (`distill.alpha` on the truth). The teacher's forecasts are "
                "targets, never inputs; for squared error, the blended target is equivalent to the weighted sum "
                "of the two losses. A student the teacher's size starts from the teacher's weights.",
                "The old windows revisited per step are bounded by `distill.old_windows`, so the cost per step "
                "stays flat as history grows; the teacher's forecasts on them cost one prediction pass."),
    "ensemble": ("Ensemble", "Each step trains a member on all data so far (or on the newest "
                 "`ensemble.recent_batches` batches) and combines it with the previous "
                 "model's members, weighted by least squares on the new batch's validation tail (weights >= 0, "
                 "summing to 1; `ensemble.how: mean` for equal weights). At most `ensemble.max_members` members are "
                 "kept. The combination is one Keras model of built-in layers.",
                 "With `ensemble.recent_batches: 0` a member trains on all data so far, so the cost per step grows "
                 "with history, like retraining (step t sees t+1 batches); a positive `recent_batches` caps it at "
                 "that many batches per step. The number of members (and so the forecast cost) is bounded by "
                 "`ensemble.max_members`."),
    "retrain": ("Full retrain", "Each step trains a new model from scratch on every batch so far, with the "
                "`train` settings: the accuracy and cost reference.",
                "Its cost grows with every batch: step t trains on t+1 batches, so the whole chain grows with the "
                "square of the number of batches. This is the cost the other strategies avoid."),
    "replay": ("Replay", "Each step fine-tunes the previous weights on the new batch plus a bounded, seeded sample "
               "of `replay.buffer` old training windows, at `replay.learning_rate`.",
               "The replay buffer bounds the old data seen per step, so the cost per step stays flat as history "
               "grows."),
}


def strategy_notebook(name: str):
    title, what, cost = STRATEGY_TEXT[name]
    return nb([
        md(f"# Strategy: {title} (`{name}`)\n\n{what}\n\nEvery CSV after the base period is one update step, "
           "applied in time order; step 0 is the base model. A step computed by an earlier run from the same "
           "previous model, data and params is reused, so a new CSV costs one new step. After each step the model is scored on the test tail "
           "of every batch, so the tables below show what it gained on the new period and what it lost on the old."),
        params_cell(f'strategy = "{name}"\n'
                    'params_file = "params.yaml"  # every setting; see the README\n'
                    'prepared_dir = "prepared"  # written by the data stage\n'
                    'models_dir = "models"  # base.keras in, <strategy>.keras out\n'
                    'reports_dir = "reports"  # steps/<strategy>.json and .csv out\n'
                    'state_dir = "state"  # steps computed by earlier runs, reused when model, data and params match\n'
                    'verbose = 0  # Keras progress inside each step'),
        code("%matplotlib inline\n"
             "from lstm_utils.config import load_params\n"
             "from lstm_utils.stages import cost, run_strategy, save_strategy, steps_table\n"
             "from lstm_utils import plots\n\n"
             "params = load_params(params_file)\n"
             "chain, sources = run_strategy(strategy, params, prepared_dir, f\"{models_dir}/base.keras\", verbose=verbose,\n"
             "                              state_dir=f\"{state_dir}/{strategy}\")\n"
             "summary = save_strategy(chain, params, sources, models_dir, reports_dir)\n"
             "print(f\"{len(chain.steps)} update steps over batches: {', '.join(chain.batches[1:]) or 'none'}\")"),
        md("## Step by step\n\n`new_rmse`: error on the new batch after learning it; `forward_rmse`: the model "
           "before the step on that batch (what a deployed model would have done); `retained_rmse`: mean error "
           "on all earlier batches; `base_rmse`: error on the base period. RMSE in the target's units."),
        code("steps_table(chain).round(3)"),
        md("## What was learned and what was forgotten\n\nRow t: the model after step t; column k: the test tail "
           "of batch k. The diagonal (bold) is the new-period error; below it, the retained error on older "
           "batches; a rising column means forgetting."),
        code("plots.error_matrix(chain.rmse, chain.batches, title=f\"{strategy}: RMSE after each step\")"),
        md(f"## Cost\n\n{cost}\n\nThe step table above gives each step's training seconds, as measured when "
           "the step was computed (a reused step keeps its seconds), and the windows it saw, which measure the same "
           "work independently of the machine. The seconds are also in `reports/cost/<strategy>.json` "
           "(`dvc metrics show`)."),
        code("import pandas as pd\n"
             "pd.Series(summary | {\"train_seconds\": cost(chain)[\"train_seconds\"]}, name=strategy).to_frame().T.round(3)"),
    ])


compare = nb([
    md("# Comparison: which update strategy to use\n\nEvery strategy ran the same chain of updates on the same "
       "batches and was scored on the same test windows, next to the two naive forecasts. This report puts them "
       "side by side, picks the champion by the rule in `params.yaml` (`compare`), and forecasts past the last "
       "timestamp with it."),
    params_cell('params_file = "params.yaml"  # every setting; see the README\n'
                'prepared_dir = "prepared"\n'
                'models_dir = "models"\n'
                'reports_dir = "reports"'),
    code("%matplotlib inline\n"
         "from IPython.display import Markdown\n\n"
         "from lstm_utils.config import load_params\n"
         "from lstm_utils import compare, plots, stages\n\n"
         "params = load_params(params_file)\n"
         "frame, names, _ = stages.load_batches(prepared_dir, params)\n"
         "results = stages.load_results(reports_dir)\n"
         "per_batch, baselines = stages.baselines(frame, params)\n"
         "summaries = {s: r[\"summary\"] for s, r in results.items()}\n"
         "best, why = stages.crown(results, params, models_dir)\n"
         "stages.write_metrics(stages.metrics(results, baselines, best), reports_dir)"),
    md("## Every strategy and baseline\n\n`new_rmse`/`new_mae`: mean over steps of the error on each new batch "
       "after learning it; `old_rmse`: the base period's test tail after the last step; `forgetting`: how much "
       "the error on each earlier batch rose since it was learned (mean); `forward_rmse`: the error on each new "
       "batch before learning it; `windows_seen`: the cost, as training windows seen over all steps (it reproduces "
       "exactly; training seconds vary by machine and are in each strategy's report and `reports/cost/`)."),
    code("compare.table(summaries, baselines).round(3)"),
    md("## The verdict"),
    code("Markdown(compare.narrative(summaries, baselines, best, why))"),
    md("## Error matrices\n\nRow t: model after step t; column k: test tail of batch k."),
    code("plots.error_matrices(results)"),
    md("## Error per step\n\nAfter learning each batch, and before learning it (the deployed model's error)."),
    code("plots.steps_over_time(results, per_batch, \"new\")"),
    code("plots.steps_over_time(results, per_batch, \"forward\")"),
    md("## The newest test tail\n\nError by horizon step for every strategy's final model, and forecasts against "
       "actuals one step and a full horizon ahead."),
    code("newest = stages.newest_scores(frame, params, models_dir)\n"
         "plots.error_by_step(newest.scores, params.data.targets[0])"),
    code("plots.forecast_vs_actual(newest.windows, newest.forecasts, steps=(1, params.window.horizon), name=params.data.targets[0])"),
    md("## Cost against accuracy"),
    code("plots.cost_vs_accuracy(summaries)"),
    md("## Forecast past the last timestamp\n\nThe champion (`models/champion.keras`) forecasts the next "
       "`window.horizon` steps; they are in `reports/forecast.csv`."),
    code("forecast = stages.write_forecast(frame, params, models_dir, reports_dir)\n"
         "forecast.round(2).T"),
    code("plots.forecast_ahead(frame[params.data.targets[0]].iloc[-7 * params.baselines.season:], forecast, params.data.targets[0])"),
])

if __name__ == "__main__":
    out = Path(__file__).resolve().parents[1] / "notebooks"
    nbf.write(data, out / "data.ipynb")
    nbf.write(base, out / "base.ipynb")
    for name in STRATEGY_TEXT:
        nbf.write(strategy_notebook(name), out / f"{name}.ipynb")
    nbf.write(compare, out / "compare.ipynb")

"""Keep an LSTM forecaster current as new CSV data arrives.

Where each verb lives:

    settings        config        params.yaml into typed, checked dataclasses (`setting` declares a key)
    reading data    ingest        CSV files into regular series (one, or one per name); splits: batches, tails, prepared/
    windows         windows       lookback -> horizon windows as row indices (NumPy, no Keras)
    the model       model         the forecaster (scaling inside), `predict`
    training        train         the one training loop and its batches; from_scratch: a new model
    updating        strategies/   one module per update strategy; chain: `advance` a chain, `score` it
    judging         evaluation    the one evaluator: forecasts scored pooled or window by window (deployed losses);
                    scoring (model and baselines on the same windows, the error matrix), baselines, metrics
    deciding        summary       each forecaster's figures as of any step; decide: the confidence set (arch), the
                    champion rule, the walk forward; compare: the tables and the verdict in words
    intervals       intervals     conformal half-widths per level, horizon step and target; coverage, width, score
    known ahead     calendar      hour, weekday, month, day-of-year encodings and holiday flags from timestamps
    stages          stages        what the notebooks do (save the base, run a strategy, crown the champion)
    notebooks       notebooks     run a stage's notebook with papermill, render its report
    using a model   forecast, evaluate (the commands of the same names); artifacts: .keras + sidecar
    backend         backend: the Keras backend from `train.backend`, seeded and deterministic
    the rest        cli, files (atomic writes, hashes), stepcache (steps kept between runs), plots, errors,
                    escape (names from the data made inert in report Markdown and in CSV cells)
"""

from lstm_utils.backend import register_layers_with_keras, select_for_project

# Keras starts on the backend params.yaml names (`train.backend`), made deterministic.
select_for_project()
# The forecaster's own layers (window scaling) are known to Keras's loader once Keras is imported.
register_layers_with_keras()

__version__ = "0.1.0"

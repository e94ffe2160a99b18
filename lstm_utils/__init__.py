"""Keep an LSTM forecaster current as new CSV data arrives.

Where each verb lives:

    settings        config        params.yaml into typed, checked dataclasses, each strategy's section too;
                    settings: the sections declared (`setting` declares a key) and parsed
    reading data    ingest        CSV files into regular series (one, or one per name); splits: batches, tails, prepared/
                    checks        every new file against what came before: stuck runs, spikes, level shifts (warn or mask)
    windows         windows       lookback -> horizon windows as row indices (NumPy, no Keras)
    the model       model         the forecaster (scaling inside), `predict`
    training        train         the one training loop and its batches; from_scratch: a new model
    updating        strategies/   one module per update strategy; chain: `advance` a chain, `score` it
    judging         evaluation    the one evaluator: forecasts scored pooled or window by window (deployed losses);
                    scoring (model and baselines on the same windows, the error matrix), baselines, metrics;
                    trees: the gradient-boosted baseline (LightGBM), its chain and its kept state
    deciding        summary       each forecaster's figures as of any step; decide: the confidence set (arch), the
                    champion rule, the walk forward; compare: the tables and the verdict in words
    intervals       intervals     conformal half-widths per level, horizon step and target; coverage, width, score
    known ahead     calendar      hour, weekday, month, day-of-year encodings and holiday flags from timestamps
    the season      season        the day, week or year the data repeats best (`init` proposes it, `validate` hints)
    stages          stages/       what the notebooks do, a module per stage: base (train and save the base),
                    strategy (run a strategy and save it), champion (the compare stage: judge, crown the
                    champion, write metrics and the forecast); prepared: the batches they read first
    report pages    pages/        what each report page shows, one module per notebook (data, base, strategy;
                    the compare page's is compare): tables and words, no computing, no display
    notebooks       notebooks     run a stage's notebook with papermill, render its report
    using a model   forecast, evaluate (the commands of the same names); artifacts: .keras + sidecar
    backend         backend: the Keras backend from `train.backend`, seeded and deterministic, chosen where a
                    process starts (`select_for_project`: the command line, a notebook's first cell);
                    portable: the same bits on any x86-64 machine, the environment pinned there first
    running         repro: `dvc repro` with the strategy stages side by side (the same dvc.lock);
                    verify: the pipeline run again in a fresh copy, every result compared with dvc.lock
    the rest        cli, files (atomic writes, hashes), stepcache (steps kept between runs), plots, errors,
                    escape (names from the data made inert in report Markdown and in CSV cells), constants
                    (a frame's column names, the linear designs)

The modules import one another in one direction, bottom up: small leaves (errors, constants, files,
escape, calendar, intervals, metrics, portable, backend); settings; data (ingest, checks, splits, windows); the model
(layers, model, artifacts, stepcache) and training (train); the linear part, then from_scratch;
evaluation (evaluation, baselines, scoring, forecast, evaluate); the strategies; deciding (summary,
decide, compare) and chain; the report pages (pages); config (params with every strategy's section);
stages, notebooks, repro, verify and the command line. tests/test_layers.py checks that no import, not even one
inside a function, points back. Importing the package does nothing: it reads no file, sets no import
hook and chooses no backend.
"""

__version__ = "0.1.0"

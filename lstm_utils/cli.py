"""Command line: `python -m lstm_utils` or `lstm-utils`.

    init [DATA_DIR]                          propose a params.yaml from the files (written if none)
    validate [DATA_DIR]                      ingest and print the summary
    forecast --model M --data D [--out CSV]  the next horizon steps after the last timestamp
    evaluate --model M --data D [--start T]  RMSE / MAE as JSON (forecasts from T on)
    notebook NAME [-p KEY VALUE ...]         run a stage notebook and render its report (dvc.yaml)
    index                                    write reports/index.html

Errors a person can fix are printed as one message and exit with status 2. Any other error
(a bug, or the system) is printed as one line too, naming the command, and exits with 1; set
LSTM_UTILS_TRACEBACK=1 for its full traceback (a stage's notebook keeps its own).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any

from lstm_utils.errors import LstmUtilsError


def _validate(args: argparse.Namespace) -> int:
    from lstm_utils.config import load_params
    from lstm_utils.ingest import ingest
    from lstm_utils.splits import assign_splits, batch_names, check_batches
    from lstm_utils.windows import few_windows, window_counts

    params = load_params(args.params)
    data = ingest(args.data_dir, params.data, params.split.base_batches, horizon=params.window.horizon)
    frame = assign_splits(data, params.split)
    check_batches(data, frame, params.split, params.window)
    print(f"{args.data_dir}: OK")
    for line in data.report.warnings(params.data):
        print(f"warning: {line}")
    print(data.report)
    counts = window_counts(frame, params, batch_names(data))
    print("\nwindows per batch (deployed: every window whose targets lie in the batch, which the strategies are "
          "ranked on):")
    print(counts.astype(object).fillna("-").to_string())  # the base period has no deployed windows
    for line in few_windows(counts, params.compare.min_windows, params.window.horizon):
        print(f"warning: {line}")
    return 0


def _init(args: argparse.Namespace) -> int:
    from pathlib import Path

    import yaml

    from lstm_utils.config import parse_params
    from lstm_utils.errors import ParamsError
    from lstm_utils.ingest import ingest
    from lstm_utils.sketch import fill_template, sketch
    from lstm_utils.splits import assign_splits, batch_names
    from lstm_utils.windows import few_windows, window_counts

    target = Path(args.params)
    template = target if target.exists() else Path(__file__).resolve().parents[1] / "params.yaml"
    if not template.exists():
        raise ParamsError(f"{target}: no params.yaml here to start the sketch from",
                          hint="run init in the project folder (the one with params.yaml)", key="")
    text = fill_template(template.read_text(encoding="utf-8"), sketch(args.data_dir))
    params = parse_params(yaml.safe_load(text))  # a sketch that does not load is a bug, not the user's
    if target.exists():
        print(f"# {target} exists and is left as it is; the sketch for {args.data_dir}:\n")
        print(text, end="")
    else:
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}: read it, then run `lstm-utils validate {args.data_dir}` and `dvc repro`")
    data = ingest(args.data_dir, params.data, params.split.base_batches, horizon=params.window.horizon)
    frame = assign_splits(data, params.split)
    print("\nwindows per batch with these settings:", file=sys.stderr)
    print(window_counts(frame, params, batch_names(data)).astype(object).fillna("-").to_string(), file=sys.stderr)
    for line in data.report.warnings(params.data) + few_windows(window_counts(frame, params, batch_names(data)),
                                                                params.compare.min_windows, params.window.horizon):
        print(f"warning: {line}", file=sys.stderr)
    return 0


def _forecast(args: argparse.Namespace) -> int:
    from lstm_utils.artifacts import load_model
    from lstm_utils.files import atomic_path
    from lstm_utils.forecast import csv_text, forecast_next

    model, sidecar = load_model(args.model)
    table, missing = forecast_next(model, sidecar, args.data)
    if missing:
        print(f"{args.model}: {missing}", file=sys.stderr)
    text = csv_text(table)
    if args.out:
        with atomic_path(args.out) as tmp:
            tmp.write_text(text, encoding="utf-8")
        print(f"wrote {len(table)} steps to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from lstm_utils.artifacts import load_model
    from lstm_utils.evaluate import evaluate_since

    model, sidecar = load_model(args.model)
    print(json.dumps(evaluate_since(model, sidecar, args.data, args.start), indent=2))
    return 0


# papermill's own lines, and the text stand-ins of figures and Markdown (the report shows them)
_PAPERMILL_CHATTER = (r"(Executing|Ending) Cell|Input Notebook|Output Notebook|Working directory|Executing notebook"
                      r"|<Figure size [^>]*>$|<IPython\.core\.display\.\w+ object>$")


def parameter_value(text: str) -> Any:
    """A `-p KEY VALUE` value read as papermill's command line reads it: True, False, None, an
    int, a float, else the text itself."""
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _notebook(args: argparse.Namespace) -> int:
    import logging

    # papermill imports jsonschema, which imports the optional IRI checker rfc3987_syntax when it
    # is installed (JupyterLab brings it); that builds a grammar for about 3 s here, in every
    # stage. Nothing this process runs validates IRIs, so it is left out.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    from lstm_utils.files import sweep_orphans
    from lstm_utils.notebooks import run_notebook

    sweep_orphans(["models", "prepared", "reports", "state"])  # what killed runs left (see files.atomic_path)
    parameters = {key: parameter_value(value) for key, value in args.parameters or []}

    def tidy(record: logging.LogRecord) -> bool:
        record.msg, record.args = record.getMessage().rstrip(), ()
        return bool(record.msg.strip()) and not re.match(_PAPERMILL_CHATTER, record.msg)

    handler = logging.StreamHandler(sys.stderr)  # papermill echoes the cells' output: progress
    handler.addFilter(tidy)
    handler.setFormatter(logging.Formatter(f"  [{parameters.get(args.name, args.name)}] %(message)s"))
    log = logging.getLogger("papermill")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    out = run_notebook(args.name, parameters, progress=True)
    print(f"rendered {out}", file=sys.stderr)
    return 0


def _index(args: argparse.Namespace) -> int:
    from lstm_utils.config import load_params
    from lstm_utils.notebooks import write_index

    strategies = load_params(args.params).compare.strategies
    print(f"wrote {write_index(args.reports, strategies)}", file=sys.stderr)
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser (documented in the README)."""
    p = argparse.ArgumentParser(prog="lstm-utils", description="Keep an LSTM forecaster current as new CSV "
                                "data arrives.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("init", help="propose a params.yaml from the data files (written if there is none)",
                       description="Read the CSV files of DATA_DIR and propose the data, split, window and baselines "
                       "keys, each with a comment saying why; every other key as in the project's params.yaml. "
                       "Written to --params when that file does not exist, else printed.")
    s.add_argument("data_dir", nargs="?", default="data")
    s.add_argument("--params", default="params.yaml", help="params file to write (default: params.yaml)")
    s.set_defaults(func=_init)
    v = sub.add_parser("validate", help="ingest a data folder and print what was read")
    v.add_argument("data_dir", nargs="?", default="data")
    v.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    v.set_defaults(func=_validate)
    f = sub.add_parser("forecast", help="forecast the next horizon steps after the last timestamp")
    f.add_argument("--model", required=True, help="a .keras file with its .json sidecar beside it")
    f.add_argument("--data", required=True, help="a data folder or one CSV file")
    f.add_argument("--out", help="CSV to write (default: standard output)")
    f.set_defaults(func=_forecast)
    e = sub.add_parser("evaluate", help="RMSE and MAE of a model on data, as JSON")
    e.add_argument("--model", required=True)
    e.add_argument("--data", required=True)
    e.add_argument("--start", help="score forecasts whose first target time is at or after this time")
    e.set_defaults(func=_evaluate)
    n = sub.add_parser("notebook", help="run notebooks/NAME.ipynb with papermill and render its report",
                       description="Run notebooks/NAME.ipynb with papermill into reports/executed/ and render its "
                       "HTML report in reports/. The report is named NAME, or, for a notebook with a parameter "
                       "named NAME (strategy), that parameter's value: `notebook strategy -p strategy replay` "
                       "writes reports/replay.html.")
    n.add_argument("name")
    n.add_argument("-p", "--parameter", dest="parameters", nargs=2, action="append", metavar=("KEY", "VALUE"),
                   help="set a parameter of the notebook, as papermill -p does (True, False, None, numbers, "
                        "else text)")
    n.set_defaults(func=_notebook)
    i = sub.add_parser("index", help="write reports/index.html linking every report")
    i.add_argument("--reports", default="reports")
    i.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    i.set_defaults(func=_index)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except LstmUtilsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - not the user's to fix: one line, the traceback on request
        if os.environ.get("LSTM_UTILS_TRACEBACK"):
            raise
        first = next((line for line in str(exc).splitlines() if line.strip()), "")
        print(f"error: `{_command(args)}` failed on {type(exc).__name__}: {first} (not a problem with the data or "
              "params; LSTM_UTILS_TRACEBACK=1 shows where)", file=sys.stderr)
        return 1


def _command(args: argparse.Namespace) -> str:
    """The command as the user would type it, short: `notebook strategy -p strategy replay`."""
    if args.command == "notebook":
        return " ".join(["notebook", args.name, *(f"-p {k} {v}" for k, v in args.parameters or [])])
    return args.command


if __name__ == "__main__":
    sys.exit(main())

"""Command line: `python -m lstm_utils` or `lstm-utils`.

    init [DATA_DIR] [--replace]              propose a params.yaml from the files (written if none)
    validate [DATA_DIR]                      ingest and print the summary
    forecast --model M --data D [--out CSV]  the next horizon steps after the last timestamp
    evaluate --model M --data D [--start T]  RMSE / MAE as JSON (forecasts from T on)
    notebook NAME [-p KEY VALUE ...]         run a stage notebook and render its report (dvc.yaml)
    index                                    write reports/index.html
    repro [-j N] [--force]                   dvc repro with the strategy stages N at a time
    verify [PROJECT] [--rtol R] [--keep]     run the pipeline again in a fresh copy, compare results with dvc.lock

Errors a person can fix are printed as one message and exit with status 2. Any other error
(a bug, or the system) is printed as one line too, naming the command, and exits with 1; set
LSTM_UTILS_TRACEBACK=1 for its full traceback (a stage's notebook keeps its own).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
import types
from typing import TYPE_CHECKING, Any, TextIO

from lstm_utils.backend import select_for_project
from lstm_utils.errors import LstmUtilsError

if TYPE_CHECKING:
    import pandas as pd

    from lstm_utils.config import Params
    from lstm_utils.ingest import Ingested


def _validate(args: argparse.Namespace) -> int:
    from lstm_utils.config import load_params
    from lstm_utils.season import hint as season_hint
    from lstm_utils.stages.data import prepare

    params = load_params(args.params)
    ready = prepare(args.data_dir, params)  # ingested, every new file checked (stuck, spikes, shifts), split
    print(f"{args.data_dir}: OK")
    for line in ready.warnings(params):
        print(f"warning: {line}")
    found = season_hint(ready.frame, params.data.targets, params.data.freq, params.baselines.season,
                        params.window.lookback)
    if found:
        print(f"hint: {found}")
    print(ready.data.report)
    _windows_report(ready.data, ready.frame, params, "\nwindows per batch (deployed: every window whose targets lie "
                                                     "in the batch, which the strategies are ranked on):")
    return 0


def _windows_report(data: Ingested, frame: pd.DataFrame, params: Params, heading: str, stream: TextIO | None = None
                    ) -> None:
    """The windows each batch gives (:func:`lstm_utils.windows.window_counts`) under `heading`,
    then a `warning:` line per kind of tail that gives fewer than `compare.min_windows`."""
    from lstm_utils.splits import batch_names
    from lstm_utils.windows import few_windows, window_counts

    counts = window_counts(frame, params, batch_names(data))
    print(heading, file=stream)
    print(counts.astype(object).fillna("-").to_string(), file=stream)  # the base period has no deployed windows
    for line in few_windows(counts, params.compare.min_windows, params.window.horizon):
        print(f"warning: {line}", file=stream)


def _init(args: argparse.Namespace) -> int:
    import shutil
    from pathlib import Path

    import yaml

    from lstm_utils.config import parse_params
    from lstm_utils.errors import ParamsError
    from lstm_utils.files import atomic_path
    from lstm_utils.ingest import ingest
    from lstm_utils.sketch import fill_template, sketch
    from lstm_utils.splits import assign_splits

    target = Path(args.params)
    template = target if target.exists() else Path(__file__).resolve().parents[1] / "params.yaml"
    if not template.exists():
        raise ParamsError(f"{target}: no params.yaml here to start the sketch from",
                          hint="run init in the project folder (the one with params.yaml)", key="")
    text = fill_template(template.read_text(encoding="utf-8"), sketch(args.data_dir))
    params = parse_params(yaml.safe_load(text))  # a sketch that does not load is a bug, not the user's
    kept = target.with_name(target.name + ".bak")
    if target.exists() and args.replace and kept.exists():
        raise ParamsError(f"{kept}: already there, and --replace keeps the present {target} under that name",
                          hint=f"move {kept} away (or delete it), then run init again", key="")
    if target.exists() and not args.replace:
        print(f"# {target} exists and is left as it is (--replace writes this over it); the sketch for "
              f"{args.data_dir}:\n")
        print(text, end="")
    else:
        saved = ""
        if target.exists():
            shutil.copy2(target, kept)  # kept before the new text goes in (atomically)
            saved = f" (the one before is {kept})"
        with atomic_path(target) as tmp:
            tmp.write_text(text, encoding="utf-8")
        print(f"wrote {target}{saved}: read it, then run `lstm-utils validate {args.data_dir}` and `dvc repro`")
    data = ingest(args.data_dir, params.data, params.split.base_batches, horizon=params.window.horizon)
    frame = assign_splits(data, params.split)
    for line in data.report.warnings(params.data):
        print(f"warning: {line}", file=sys.stderr)
    _windows_report(data, frame, params, "\nwindows per batch with these settings:", sys.stderr)
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


class _Prefixed:
    """A text stream that writes each whole line to `out` after `prefix` (a stage's name), so the
    lines of stages run one after another can be told apart; a part line waits for its end."""

    def __init__(self, prefix: str, out: TextIO) -> None:
        self.prefix, self.out, self.pending = prefix, out, ""

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text).split("\n")
        for line in lines:
            if line.strip():
                self.out.write(f"{self.prefix}{line.rstrip()}\n")
        return len(text)

    def flush(self) -> None:
        self.out.flush()

    def close(self) -> None:
        self.write("\n")
        self.flush()


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
    # papermill imports jsonschema, which imports the optional IRI checker rfc3987_syntax when it
    # is installed (JupyterLab brings it); that builds a grammar for about 3 s here, in every
    # stage. Nothing this process runs validates IRIs, so it is left out (which also leaves
    # defer_iri_grammar, the `index` command's milder measure, nothing to do here).
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    from lstm_utils.files import sweep_orphans
    from lstm_utils.notebooks import run_notebook

    sweep_orphans(["models", "prepared", "reports", "state"])  # what killed runs left (see files.atomic_path)
    parameters = {key: parameter_value(value) for key, value in args.parameters or []}

    echo = _Prefixed(f"  [{parameters.get(args.name, args.name)}] ", sys.stderr)  # what the cells print
    try:
        out = run_notebook(args.name, parameters, progress=echo)
    finally:
        echo.close()
    print(f"rendered {out}", file=sys.stderr)
    return 0


def defer_iri_grammar() -> None:
    """Put off importing `rfc3987_syntax` until a string is checked against it.

    jsonschema, which nbformat and papermill import, imports that package where it is installed
    (here: through jupyter-events) only to offer the "iri" string format, and the package builds
    its grammar on import: 0.9 s of every stage's process, measured here, for a format no
    notebook schema uses. A stand-in module takes its place until its one function is called,
    which then imports the real package and hands over, so the format still checks the same.
    It must run before jsonschema is imported (before :mod:`lstm_utils.notebooks`, which imports
    nbformat), in the process of a stage's command; importing the package never installs it.
    """
    name = "rfc3987_syntax"
    if name in sys.modules or importlib.util.find_spec(name) is None:
        return
    real: list[types.ModuleType] = []

    def load() -> types.ModuleType:
        if not real:
            sys.modules.pop(name, None)
            real.append(importlib.import_module(name))
        return real[0]

    def is_valid_syntax(rule: str, value: str) -> bool:
        return load().is_valid_syntax(rule, value)

    def other(attr: str) -> Any:  # any other public name: the real package's, loaded then
        if attr.startswith("__"):  # the import system's questions (`__path__`, ...): a plain module
            raise AttributeError(attr)
        return getattr(load(), attr)

    stand_in = types.ModuleType(name, "stands in for rfc3987_syntax until it is used (lstm_utils.cli)")
    stand_in.is_valid_syntax = is_valid_syntax
    stand_in.__getattr__ = other
    sys.modules[name] = stand_in


def _index(args: argparse.Namespace) -> int:
    defer_iri_grammar()  # the compare stage's second command: nbformat, through lstm_utils.notebooks
    from lstm_utils.config import load_params
    from lstm_utils.notebooks import write_index

    strategies = load_params(args.params).compare.strategies
    print(f"wrote {write_index(args.reports, strategies)}", file=sys.stderr)
    return 0


def _repro(args: argparse.Namespace) -> int:
    from lstm_utils.repro import repro

    return repro(".", jobs=args.jobs, force=args.force)


def _verify(args: argparse.Namespace) -> int:
    from lstm_utils.verify import verify

    verdict = verify(args.project, rtol=args.rtol, keep=args.keep)
    print("\n".join(verdict.lines()))
    return 0 if verdict.ok else 1


def parser() -> argparse.ArgumentParser:
    """The argument parser (documented in the README)."""
    p = argparse.ArgumentParser(prog="lstm-utils", description="Keep an LSTM forecaster current as new CSV "
                                "data arrives.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("init", help="propose a params.yaml from the data files (written if there is none, "
                       "or with --replace)",
                       description="Read the CSV files of DATA_DIR and propose the data, split, window and baselines "
                       "keys, each with a comment saying why; every other key as in the project's params.yaml. "
                       "Written to --params when that file does not exist (or with --replace), else printed.")
    s.add_argument("data_dir", nargs="?", default="data")
    s.add_argument("--params", default="params.yaml", help="params file to write (default: params.yaml)")
    s.add_argument("--replace", action="store_true", help="write over an existing params file, keeping it as "
                   "<file>.bak (its other keys are the sketch's template)")
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
    p_ = sub.add_parser("repro", help="dvc repro with the strategy stages side by side",
                        description="Run the pipeline as `dvc repro` does, in three groups: data and base; then every "
                        "out-of-date strategy stage, JOBS at a time, each through `dvc repro -s`; then compare. "
                        "dvc.lock ends as a sequential `dvc repro` leaves it. A failing stage stops the run: none "
                        "starts after it, those running finish, and its one-line error comes last.")
    p_.add_argument("-j", "--jobs", type=int, help="strategy stages at once (default: one per core, as memory allows)")
    p_.add_argument("-f", "--force", action="store_true", help="run every stage, as dvc repro --force")
    p_.set_defaults(func=_repro)
    r = sub.add_parser("verify", help="run the pipeline again in a fresh copy and compare every result with dvc.lock",
                       description="Copy the pipeline's inputs (data, code, notebooks, params) into a temporary folder, "
                       "run every stage there, and compare each result (models, prepared data, step records, metrics, "
                       "forecast) with the project's dvc.lock: one line per result that differs. On an x86-64 CPU the "
                       "bytes are promised; elsewhere (arm64, a GPU) the numbers must agree to --rtol. Exit status 0 "
                       "when they do, 1 when not.")
    r.add_argument("project", nargs="?", default=".", help="the project folder (default: here)")
    r.add_argument("--rtol", type=float, default=1e-3, help="relative tolerance where the bytes are not promised "
                   "(default: 0.001)")
    r.add_argument("--keep", action="store_true", help="keep the temporary copy (its path is printed)")
    r.set_defaults(func=_verify)
    i = sub.add_parser("index", help="write reports/index.html linking every report")
    i.add_argument("--reports", default="reports")
    i.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    i.set_defaults(func=_index)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    select_for_project()  # where the process starts: Keras, once imported, runs on params.yaml's train.backend
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

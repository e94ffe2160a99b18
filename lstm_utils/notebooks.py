"""Running a stage's notebook with papermill and rendering it as offline HTML.

`run_notebook` executes `notebooks/<name>.ipynb` into `reports/executed/<report>.ipynb` and
renders `reports/<report>.html` without code cells; figures are embedded and no script is
loaded from a CDN. The report is named after the notebook, or, for a notebook with a
parameter of its own name (`strategy`), after that parameter's value: `notebook strategy -p
strategy replay` writes `reports/replay.html`. An error raised by lstm_utils inside the
notebook comes back as that error (one clear message), not as a cell traceback. Any other
error in a cell comes back as one :class:`StageError` line naming the stage, the error and
the executed notebook, which is then kept: it holds the full traceback. Either way no report
is written.
"""

from __future__ import annotations

import ast
import html
import re
import tempfile
from pathlib import Path
from typing import Any, TextIO

import nbformat

from lstm_utils.errors import DataError, LstmUtilsError, ModelError, ParamsError, StageError, WriteError
from lstm_utils.files import atomic_path

ERRORS = {cls.__name__: cls for cls in (LstmUtilsError, ParamsError, DataError, ModelError, WriteError)}
STAGE_TITLES = {"compare": "Comparison: which update strategy to use, the champion and its forecast",
                "data": "Data: what was ingested and how it was split",
                "base": "Base model: training, forecasts and errors against naive baselines"}


def title(report: str) -> str:
    """A report's title: a stage's own, or a strategy's from its module."""
    from lstm_utils import strategies

    if report in STAGE_TITLES:
        return STAGE_TITLES[report]
    found = strategies.STRATEGIES.get(report)
    return f"Strategy {report}: {found.title}" if found else report


def notebook_parameters(path: str | Path) -> dict[str, Any]:
    """The parameters a notebook declares (its `parameters` cell) with their default values."""
    import papermill as pm

    out = {}
    for name, info in pm.inspect_notebook(str(path)).items():
        try:
            out[name] = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError):
            out[name] = info["default"]
    return out


def render_html(executed: str | Path, out: str | Path) -> None:
    """Render an executed notebook as self-contained HTML, code cells hidden, the browser tab
    titled as the report (:func:`title`, from the output's name)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    exporter.mathjax_url = ""
    nb = nbformat.read(str(executed), as_version=4)
    nb.metadata["title"] = title(Path(out).stem)
    body, _ = exporter.from_notebook_node(nb)
    body = re.sub(r'<script[^>]*src="https?://[^"]*"[^>]*>\s*</script>', "", body)
    with atomic_path(out) as tmp:
        tmp.write_text(body, encoding="utf-8")


def run_notebook(name: str, parameters: dict[str, Any] | None = None, notebooks: str | Path = "notebooks",
                 reports: str | Path = "reports", cwd: str | Path = ".", progress: TextIO | None = None) -> Path:
    """Execute one stage notebook with papermill and render its HTML report.

    Parameters
    ----------
    name
        The notebook, `notebooks/<name>.ipynb`.
    parameters
        Values for its `parameters` cell, as papermill passes them; an unknown name is an error.
    notebooks, reports, cwd
        Where the notebook is, where the executed copy and the HTML go, and the kernel's folder.
    progress
        Where the cells' printed lines (such as one per training epoch) go as they come. Only
        what a cell prints: its tables and figures are in the report, not echoed.

    Returns the path of the HTML. Raises the notebook's own :class:`LstmUtilsError` when a cell
    raised one, so the caller can print it as a single clear message, and :class:`StageError`
    for any other error in a cell, keeping the executed notebook (with its traceback).
    """
    import papermill as pm

    source = Path(notebooks) / f"{name}.ipynb"
    if not source.is_file():
        known = ", ".join(sorted(p.stem for p in Path(notebooks).glob("*.ipynb")))
        raise ParamsError(f"{source}: no such notebook", hint=f"the notebooks are: {known}")
    declared = notebook_parameters(source)
    parameters = dict(parameters or {})
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ParamsError(f"{source} has no parameter {', '.join(map(repr, unknown))}",
                          hint=f"its parameters: {', '.join(declared)}")
    report = str(parameters.get(name, declared.get(name, name)))
    executed = Path(reports) / "executed" / f"{report}.ipynb"
    html_out = Path(reports) / f"{report}.html"
    stage = name if report == name else f"{name}@{report}"  # as dvc.yaml names it
    # papermill writes the executed copy as it goes: into a folder of the system's temporary
    # space, so a run killed half way leaves nothing in the project (DVC may restore the stage
    # from its run cache without running it again, and would not clean up after it)
    with tempfile.TemporaryDirectory(prefix="lstm_utils-") as scratch:
        ran = Path(scratch) / executed.name
        try:
            pm.execute_notebook(str(source), str(ran), parameters=parameters, cwd=str(cwd),
                                kernel_name="python3", progress_bar=False, log_output=False,
                                stdout_file=progress, stderr_file=progress,
                                # the kernel's start-up warnings are noise in a stage's output
                                extra_arguments=["--IPKernelApp.log_level=ERROR"],
                                # every cell has finished and written its files: stop the kernel
                                # at once rather than wait about a second for TensorFlow's teardown
                                shutdown_kernel="immediate")
        except pm.PapermillExecutionError as exc:
            cls = ERRORS.get(exc.ename)
            if cls is not None:
                raise cls(f"notebooks/{name}.ipynb stopped: {exc.evalue}") from None
            _keep(ran, executed)  # papermill saved it with the failing cell's traceback
            first = next((line for line in str(exc.evalue).splitlines() if line.strip()), "")
            raise StageError(f"stage {stage} stopped in cell [{exc.exec_count}] on {exc.ename}: {first}; "
                             f"the full traceback is in {executed}", stage=stage) from None
        render_html(ran, html_out)
        _keep(ran, executed)
    return html_out


def _keep(ran: Path, executed: Path) -> None:
    """Put the executed notebook in place atomically, naming in its metadata where it is."""
    book = nbformat.read(str(ran), as_version=4)
    book.metadata.setdefault("papermill", {})["output_path"] = str(executed)
    with atomic_path(executed) as tmp:
        nbformat.write(book, str(tmp))


def write_index(reports: str | Path = "reports", strategies: tuple[str, ...] = ()) -> Path:
    """`reports/index.html`: the answer first, from reports/metrics.json where the compare stage
    wrote it (:func:`lstm_utils.pages.index.answer`), then one link per rendered report that exists:
    compare, data, base, then each of `strategies` (the compared ones, `compare.strategies`)."""
    import json

    from lstm_utils.pages.index import answer

    reports = Path(reports)
    names = ("compare", "data", "base") + tuple(strategies)
    items = "\n".join(
        f'<li><a href="{html.escape(n)}.html">{html.escape(title(n))}</a></li>'
        for n in names if (reports / f"{n}.html").is_file())
    metrics = reports / "metrics.json"
    top = answer(json.loads(metrics.read_text(encoding="utf-8"))) if metrics.is_file() else ""
    style = ("body{font-family:sans-serif;max-width:50em;margin:2em auto}.answer{font-size:1.3em}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}")
    page = (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>lstm_utils reports</title>"
            f"<style>{style}</style></head>\n"
            f"<body><h1>lstm_utils: which model to use</h1>\n{top}\n<h2>Reports</h2>\n<ul>\n{items}\n</ul>\n"
            f"<p>Metrics: <code>dvc metrics show</code>. Executed notebooks: <code>reports/executed/</code>.</p>"
            f"</body></html>\n")
    out = reports / "index.html"
    with atomic_path(out) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return out

"""Running a stage's notebook with papermill and rendering it as offline HTML.

`run_notebook` executes `notebooks/<name>.ipynb` into `reports/executed/<name>.ipynb` and
renders `reports/<name>.html` without code cells; figures are embedded and no script is
loaded from a CDN. An error raised by lstm_utils inside the notebook comes back as that
error (one clear message), not as a cell traceback.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import nbformat

from lstm_utils.atomic import atomic_path
from lstm_utils.errors import DataError, LstmUtilsError, ModelError, ParamsError

ERRORS = {cls.__name__: cls for cls in (LstmUtilsError, ParamsError, DataError, ModelError)}
REPORTS = ("compare", "data", "base", "none", "finetune", "distill", "ensemble", "retrain", "replay")
TITLES = {"compare": "Comparison: which update strategy to use, the champion and its forecast",
          "data": "Data: what was ingested and how it was split",
          "base": "Base model: training, forecasts and errors against naive baselines",
          "none": "Strategy none: the base model, never updated",
          "finetune": "Strategy finetune: previous weights, new data, low learning rate",
          "distill": "Strategy distill: a student learns from the truth and the previous model",
          "ensemble": "Strategy ensemble: a new member combined with the previous model(s)",
          "retrain": "Strategy retrain: from scratch on all data (the reference)",
          "replay": "Strategy replay: fine-tune on new data plus a bounded sample of old windows"}


def render_html(executed: str | Path, out: str | Path) -> None:
    """Render an executed notebook as self-contained HTML, code cells hidden."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    exporter.mathjax_url = ""
    body, _ = exporter.from_notebook_node(nbformat.read(str(executed), as_version=4))
    body = re.sub(r'<script[^>]*src="https?://[^"]*"[^>]*>\s*</script>', "", body)
    with atomic_path(out) as tmp:
        tmp.write_text(body, encoding="utf-8")


def run_notebook(name: str, parameters: dict[str, Any] | None = None, notebooks: str | Path = "notebooks",
                 reports: str | Path = "reports", cwd: str | Path = ".", progress: bool = False) -> Path:
    """Execute one stage notebook with papermill and render its HTML report.

    With `progress`, the cells' output (such as one line per training epoch) is echoed to
    the `papermill` logger as it comes. Returns the path of the HTML. Raises the notebook's own :class:`LstmUtilsError` when
    a cell raised one, so the caller can print it as a single clear message.
    """
    import papermill as pm

    source = Path(notebooks) / f"{name}.ipynb"
    executed = Path(reports) / "executed" / f"{name}.ipynb"
    html_out = Path(reports) / f"{name}.html"
    with atomic_path(executed) as tmp:
        try:
            pm.execute_notebook(str(source), str(tmp), parameters=parameters or {}, cwd=str(cwd),
                                kernel_name="python3", progress_bar=False, log_output=progress,
                                # the kernel's start-up warnings are noise in a stage's output
                                extra_arguments=["--IPKernelApp.log_level=ERROR"],
                                # every cell has finished and written its files: stop the kernel
                                # at once rather than wait about a second for TensorFlow's teardown
                                shutdown_kernel="immediate")
        except pm.PapermillExecutionError as exc:
            cls = ERRORS.get(exc.ename)
            if cls is not None:
                raise cls(f"notebooks/{name}.ipynb stopped: {exc.evalue}") from None
            raise
        render_html(tmp, html_out)
    return html_out


def write_index(reports: str | Path = "reports", names: tuple[str, ...] = REPORTS) -> Path:
    """`reports/index.html`: one link per rendered report that exists."""
    reports = Path(reports)
    items = "\n".join(
        f'<li><a href="{html.escape(n)}.html">{html.escape(TITLES.get(n, n))}</a></li>'
        for n in names if (reports / f"{n}.html").is_file())
    page = (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>lstm_utils reports</title>"
            f"<style>body{{font-family:sans-serif;max-width:50em;margin:2em auto}}</style></head>\n"
            f"<body><h1>lstm_utils reports</h1>\n<ul>\n{items}\n</ul>\n"
            f"<p>Metrics: <code>dvc metrics show</code>. Executed notebooks: <code>reports/executed/</code>.</p>"
            f"</body></html>\n")
    out = reports / "index.html"
    with atomic_path(out) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return out

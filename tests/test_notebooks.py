"""Each stage notebook under papermill on a tiny configuration, and the notebooks' hygiene."""

from __future__ import annotations

import json

import nbformat
import pytest

from lstm_utils.errors import DataError
from lstm_utils.report import run_notebook
from tiny_project import ROOT, make_project

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") or out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_source_notebooks_have_no_outputs_and_a_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert sum("parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1
    assert not any("def " in c.source or "class " in c.source for c in code)  # logic lives in lstm_utils
    assert sum(c.cell_type == "markdown" for c in nb.cells) >= 3  # narrated


@pytest.mark.slow
def test_data_then_base_notebook_under_papermill(tmp_path):
    root = make_project(tmp_path / "p", parts=3)
    html = run_notebook("data", notebooks=root / "notebooks", reports=root / "reports", cwd=root)
    assert html == root / "reports" / "data.html"
    data_nb = nbformat.read(root / "reports/executed/data.ipynb", as_version=4)
    text = outputs_text(data_nb)
    # 3 x 240 rows read; the sample misses one hour in this stretch, which is filled
    assert "3 files, 721 rows on the grid (721 with every input), 1 missing time steps in 1 gaps" in text
    assert "part-00.csv" in text and "part-02.csv" in text
    pngs = sum("image/png" in o.get("data", {}) for c in data_nb.cells for o in c.get("outputs", []))
    assert pngs == 2
    meta = json.loads((root / "prepared/batches.json").read_text())
    assert [b["name"] for b in meta["batches"]] == ["base", "part-02"]
    assert [b["rows"] for b in meta["batches"]] == [481, 240]

    run_notebook("base", parameters={"verbose": 0}, notebooks=root / "notebooks", reports=root / "reports",
                 cwd=root)
    base_nb = nbformat.read(root / "reports/executed/base.ipynb", as_version=4)
    assert base_nb.metadata["papermill"]["parameters"] == {"verbose": 0}
    assert "saved models/base.keras" in outputs_text(base_nb)
    assert (root / "models/base.keras").is_file()
    metrics = json.loads((root / "reports/base_metrics.json").read_text())
    assert metrics["windows"]["train"] > 0 and metrics["windows"]["test"] > 0


@pytest.mark.slow
def test_notebook_error_comes_back_as_one_clear_error(tmp_path):
    root = make_project(tmp_path / "p", parts=3)
    (root / "data" / "part-01.csv").write_text("time_hour,temp\n2013-01-11T06:00:00Z,40\n")
    with pytest.raises(DataError) as err:
        run_notebook("data", notebooks=root / "notebooks", reports=root / "reports", cwd=root)
    message = str(err.value)
    assert "notebooks/data.ipynb stopped" in message
    assert "part-01.csv" in message and "dewp" in message
    assert not (root / "reports/data.html").exists()  # nothing half-written
    assert not list((root / "reports").rglob("*.tmp-*"))


@pytest.mark.slow
def test_report_html_escapes_names_that_come_from_the_data(tmp_path):
    """A file name (or column name) that looks like HTML is shown as text, never run as markup."""
    root = make_project(tmp_path / "p", parts=3)
    evil = "<img src=x onerror=alert(1)>.csv"
    (root / "data" / "part-00.csv").rename(root / "data" / evil)
    html = run_notebook("data", notebooks=root / "notebooks", reports=root / "reports", cwd=root).read_text()
    assert "<img src=x onerror=alert(1)>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;.csv" in html
    assert (root / "data" / evil).is_file()  # and the user's file is where it was

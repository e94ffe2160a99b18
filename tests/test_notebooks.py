"""The stage notebooks: stored as clean sources, run under papermill with parameters, and run
top to bottom in a fresh kernel with their defaults, as a user opening them in Jupyter would."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import nbformat
import pytest

from lstm_utils.errors import DataError, ParamsError
from lstm_utils.notebooks import notebook_parameters, run_notebook
from tiny_project import ROOT, copy_project, make_project, tree_hash

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
STRIP = ".venv/bin/jupyter nbconvert --clear-output --inplace notebooks/*.ipynb"


def outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") or out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def test_the_notebooks_are_the_four_stages():
    assert [p.stem for p in NOTEBOOKS] == ["base", "compare", "data", "strategy"]
    assert not (ROOT / "scripts" / "make_notebooks.py").exists()  # the notebooks are the source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_source_notebooks_are_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, (f"notebooks/{path.name}: cells {dirty} hold outputs or execution counts; notebooks are "
                       f"stored clean: run `{STRIP}`")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_source_notebooks_narrate_and_call_into_the_package(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert sum("parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1
    assert not any("def " in c.source or "class " in c.source for c in code)  # logic lives in lstm_utils
    assert sum(c.cell_type == "markdown" for c in nb.cells) >= 3  # narrated
    assert "os.chdir(project_root())" in code[1].source  # runs from notebooks/ as from the project


def test_the_strategy_notebook_is_parameterized_by_the_strategy():
    assert notebook_parameters(ROOT / "notebooks" / "strategy.ipynb")["strategy"] == "replay"
    assert notebook_parameters(ROOT / "notebooks" / "base.ipynb")["verbose"] == 2


def test_an_unknown_parameter_or_notebook_is_refused_before_anything_runs(tmp_path):
    with pytest.raises(ParamsError) as err:
        run_notebook("strategy", {"strategie": "finetune"}, notebooks=ROOT / "notebooks", reports=tmp_path)
    assert "no parameter 'strategie'" in str(err.value) and "strategy" in err.value.hint
    with pytest.raises(ParamsError, match="no such notebook"):
        run_notebook("finetune", notebooks=ROOT / "notebooks", reports=tmp_path)
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_data_base_and_a_strategy_under_papermill(tmp_path):
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
    metrics = json.loads((root / "reports/base_metrics.json").read_text())
    assert metrics["windows"]["train"] > 0 and metrics["windows"]["test"] > 0

    # one notebook, run per strategy: the outputs are named after the parameter's value (the two
    # strategies a tiny project's pipeline leaves out are run here)
    for name, title in (("finetune", "Fine-tuning"), ("distill", "Knowledge distillation"), ("ensemble", "Ensemble")):
        html = run_notebook("strategy", {"strategy": name}, notebooks=root / "notebooks",
                            reports=root / "reports", cwd=root)
        assert html == root / "reports" / f"{name}.html"
        executed = nbformat.read(root / f"reports/executed/{name}.ipynb", as_version=4)
        assert executed.metadata["papermill"]["parameters"] == {"strategy": name}
        assert f"## {title} (`{name}`)" in json.dumps([c.get("outputs") for c in executed.cells])
        steps = json.loads((root / f"reports/steps/{name}.json").read_text())
        assert steps["strategy"] == name and len(steps["steps"]) == 1
        assert (root / f"models/{name}.keras").is_file() and list((root / f"state/{name}").glob("*.keras"))
    assert not (root / "reports/strategy.html").exists() and not (root / "models/replay.keras").exists()


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


@pytest.mark.slow
def test_each_notebook_opened_in_jupyter_runs_top_to_bottom_and_gives_what_its_stage_gives(repro_project, tmp_path):
    """After `dvc repro`, each stage's outputs are deleted and its source notebook is run as is,
    in a fresh kernel started in notebooks/ (as JupyterLab starts it), with its defaults: the
    outputs come back with the stage's bytes. The strategy notebook's default is replay; the
    base model's and replay's kept state is deleted too, so they are trained again."""
    from nbclient import NotebookClient

    root = copy_project(repro_project[0], tmp_path / "p")
    produced = {
        "data": ["prepared"],
        "base": ["models/base.keras", "reports/base_metrics.json"],
        "strategy": ["models/replay.keras", "reports/steps/replay.json", "reports/steps/replay.csv"],
        "compare": ["models/champion.keras", "reports/metrics.json", "reports/forecast.csv"],
    }
    for name, outputs in produced.items():
        before = {out: tree_hash(root / out) for out in outputs}
        for out in outputs + {"base": ["state/base"], "strategy": ["state/replay"]}.get(name, []):
            shutil.rmtree(root / out) if (root / out).is_dir() else (root / out).unlink()
        nb = nbformat.read(root / "notebooks" / f"{name}.ipynb", as_version=4)
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(root / "notebooks")}}).execute()
        assert {out: tree_hash(root / out) for out in outputs} == before, name


IRI_CHECKS = ["http://example.com/ä", "http://exa mple", "//x", "urn:isbn:0451450523"]
IRI_SCRIPT = """
import json, sys
if sys.argv[1] == "deferred":
    from lstm_utils.cli import defer_iri_grammar
    defer_iri_grammar()
import papermill, jsonschema
grammar = "lark" in sys.modules
checker = jsonschema.FormatChecker()
print(json.dumps({"grammar_at_import": grammar,
                  "iri": [checker.conforms(v, "iri") for v in json.loads(sys.argv[2])],
                  "real_after_use": "lark" in sys.modules}))
"""


@pytest.mark.parametrize("how", ["deferred", "plain"])
def test_the_iri_grammar_is_built_only_when_a_string_is_checked_against_it(how):
    pytest.importorskip("rfc3987_syntax")
    done = subprocess.run([sys.executable, "-c", IRI_SCRIPT, how, json.dumps(IRI_CHECKS)], capture_output=True,
                          text=True, check=True)
    out = json.loads(done.stdout.splitlines()[-1])
    assert out["grammar_at_import"] is (how == "plain")  # defer_iri_grammar spares a stage's process building it
    assert out["iri"] == [True, False, False, True]  # and the "iri" format checks exactly as without it
    assert out["real_after_use"] is True


def test_the_stand_in_hands_over_any_other_name_of_the_real_package():
    pytest.importorskip("rfc3987_syntax")
    script = ("import sys, lstm_utils.cli\nlstm_utils.cli.defer_iri_grammar()\nimport rfc3987_syntax\n"
              "before = 'lark' in sys.modules\n"
              "print(before, rfc3987_syntax.Lark.__name__, 'lark' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "Lark", "True"]


@pytest.mark.parametrize("name, want", [("compare", "Comparison: which update strategy to use"),
                                        ("replay", "Strategy replay: "), ("data", "Data: what was ingested")])
def test_each_report_page_has_its_own_title(tmp_path, name, want):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    from lstm_utils.notebooks import render_html

    nbformat.write(new_notebook(cells=[new_code_cell("1")]), tmp_path / "x.ipynb")
    render_html(tmp_path / "x.ipynb", tmp_path / f"{name}.html")
    page = (tmp_path / f"{name}.html").read_text(encoding="utf-8")
    got = page.split("<title>", 1)[1].split("</title>", 1)[0]
    assert got.startswith(want) and "Notebook" not in got

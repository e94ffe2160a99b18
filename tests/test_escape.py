"""Names from the data made inert: escaped in the reports' Markdown and HTML, and kept from
running as formulas in the CSV files lstm_utils writes (prepared files read back exactly)."""

from __future__ import annotations

import dataclasses
import io

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from conftest import hourly, write_csv
from lstm_utils.chain import Chain, StepRecord
from lstm_utils.compare import worst_series
from lstm_utils.config import SplitParams
from lstm_utils.escape import from_inert_csv, inert_csv, markdown_code, markdown_text
from lstm_utils.evaluation import WindowLosses
from lstm_utils.ingest import ingest
from lstm_utils.notebooks import render_html
from lstm_utils.pages.data import series_markdown
from lstm_utils.splits import SERIES, assign_splits, read_prepared, write_prepared
from lstm_utils.stages.strategy import write_steps_csv

EVIL = "<script>alert(1)</script>"
ORDINARY = ["site", "part-02", "wind_speed", "2013-07", "A1"]
FORMULAS = ["=1+2", "+x", "-y", "@z", "'q", "plain"]  # the last two: quoted to be unambiguous, and left alone


# ---------------------------------------------------------------- Markdown and HTML


def test_markdown_helpers_escape_html_and_links_and_leave_ordinary_names_alone():
    assert markdown_text(EVIL) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert markdown_text("[x](javascript:alert(1)) & co") == "\\[x\\](javascript:alert(1)) &amp; co"
    assert markdown_code(EVIL) == markdown_text(EVIL)  # a code span would show the entities as typed
    assert markdown_code("a`<b>") == "a`&lt;b&gt;"
    for name in ORDINARY:
        assert markdown_text(name) == name and markdown_code(name) == f"`{name}`"


def short_table(names: list[str]) -> pd.DataFrame:
    """A series table as :func:`lstm_utils.pages.data.series_table` gives it: the last series too short."""
    return pd.DataFrame({"note": [""] * (len(names) - 1) + ["too short for any window"]}, index=names)


def test_series_markdown_escapes_the_series_and_column_names():
    md = series_markdown(short_table(["ok", EVIL]), EVIL)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md and "<script>" not in md
    assert md.count("&lt;script&gt;") == 2  # the column and the short series
    ordinary = series_markdown(short_table(["large", "small", "tiny"]), "site")
    assert ordinary.startswith("## Series\n\n3 series (column `site`), one global model for all. ")
    assert ordinary.endswith("(kept, but the model learns nothing from it): tiny.")


def worst_table(name: str) -> pd.DataFrame:
    """A :func:`lstm_utils.scoring.by_series_table` with `name` the champion's worst series."""
    return pd.DataFrame({"replay": [2.0, 1.0], "seasonal_naive": [1.0, 2.0], "replay / seasonal_naive": [2.0, 0.5]},
                        index=pd.Index([name, "other"], name="series"))


def test_worst_series_escapes_the_series_name():
    text = worst_series(worst_table(EVIL), "replay")
    assert "**&lt;script&gt;alert(1)&lt;/script&gt;**" in text and "<script>" not in text
    assert "Its worst series is **part-02**: RMSE 2.000" in worst_series(worst_table("part-02"), "replay")


def test_report_html_shows_data_names_as_text(tmp_path):
    """A name that looks like HTML, in a table (pandas escapes it), in printed text (nbconvert
    does) and in the Markdown lstm_utils builds (escaped above), reaches the report as text."""
    img, link = "<img src=x onerror=alert(2)>", "[x](javascript:alert(3))"
    table = pd.DataFrame({EVIL: [1.0]}, index=pd.Index([img], name=EVIL))
    markdown = series_markdown(short_table([img, link]), EVIL) + "\n\n" + worst_series(worst_table(EVIL), "replay")
    outputs = [new_output("execute_result", data={"text/html": table.to_html(), "text/plain": repr(table)},
                          execution_count=1),
               new_output("stream", name="stdout", text=f"batches: {EVIL}, {img}\n"),
               new_output("display_data", data={"text/markdown": markdown, "text/plain": "<Markdown>"})]
    nbformat.write(new_notebook(cells=[new_code_cell("", outputs=outputs, execution_count=1)]), tmp_path / "r.ipynb")
    render_html(tmp_path / "r.ipynb", tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html and "<img src=x" not in html and 'href="javascript:' not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 5  # header, index name, print, Markdown twice
    assert "&lt;img src=x onerror=alert(2)&gt;" in html and "[x](javascript:alert(3))" in html


# ---------------------------------------------------------------- CSV cells a spreadsheet would run


def test_inert_csv_prefixes_formula_text_and_headers_and_leaves_numbers_and_times():
    index = pd.date_range("2020-01-01", periods=6, freq="h", tz="UTC", name="@time")
    frame = pd.DataFrame({"series": FORMULAS, "-x": [-1.5, 2.0, -3.0, 4.0, 5.0, 6.0]}, index=index)
    text = inert_csv(frame).to_csv(date_format="%Y-%m-%dT%H:%M:%S%z", lineterminator="\n")
    assert text.startswith("'@time,series,'-x\n2020-01-01T00:00:00+0000,'=1+2,-1.5\n")
    raw = pd.read_csv(io.StringIO(text), index_col=0)
    assert raw["series"].tolist() == ["'=1+2", "'+x", "'-y", "'@z", "''q", "plain"]
    assert raw["'-x"].tolist() == frame["-x"].tolist()  # negative numbers as they are
    back = from_inert_csv(raw)
    assert back.columns.tolist() == ["series", "-x"] and back.index.name == "@time"
    assert back["series"].tolist() == FORMULAS
    notes = inert_csv(pd.DataFrame({"note": ["\tab", "\rcr", None, "a-b", 3]}))["note"].tolist()
    assert notes[:2] == ["'\tab", "'\rcr"] and notes[2] is None and notes[3:] == ["a-b", 3]
    ordinary = pd.DataFrame({"temp": [-1.0, 2.0], "series": ["part-02", "site"]}, index=index[:2].rename("time"))
    assert inert_csv(ordinary).to_csv() == ordinary.to_csv()


def test_prepared_files_keep_formula_like_series_names_exactly(tmp_path, data_params):
    data = dataclasses.replace(data_params, series_column="site", max_fill=0)
    rows = [[t, -1.5 - k, k / 3, name] for k, name in enumerate(FORMULAS) for t in hourly("2020-01-01", 12)]
    write_csv(tmp_path / "src" / "base.csv", "t,a,b,site", rows)
    ds = ingest(tmp_path / "src", data, base_batches=1)
    split = SplitParams(1, 0.2, 0.2)
    paths = write_prepared(ds, split, tmp_path / "prepared")
    text = paths[0].read_text(encoding="utf-8")
    assert set(pd.read_csv(paths[0], dtype=str)[SERIES]) == {"'=1+2", "'+x", "'-y", "'@z", "''q", "plain"}
    assert "\n2020-01-01T00:00:00+0000,-1.5,0.0,0,'=1+2," in text  # negative numbers as they are
    back, _ = read_prepared(paths)
    assert sorted(set(back[SERIES])) == sorted(FORMULAS)
    pd.testing.assert_frame_equal(back, assign_splits(ds, split), check_exact=True)


def test_steps_csv_makes_formula_like_batch_names_inert(tmp_path):
    rmse = np.array([[1.0, 2.0, 3.0], [1.5, 2.5, 3.5], [1.25, 2.25, 0.5]])
    deployed = [WindowLosses(np.array([4.0, 4.0]), np.array([2.0, 2.0])), WindowLosses(np.array([9.0]), np.array([3.0]))]
    chain = Chain("replay", ["base", "=2+5", "-batch"], [None] * 3,
                  [StepRecord(1, "=2+5", 1.0, 10), StepRecord(2, "-batch", 2.0, 20)], rmse=rmse,
                  test_windows=[5, 6, 7], deployed=deployed)
    write_steps_csv(chain, ["temp"], tmp_path / "replay.csv")
    assert (tmp_path / "replay.csv").read_text().splitlines() == [
        "step,batch,deployed_rmse,deployed_windows,new_rmse,test_windows,forward_rmse,retained_rmse,base_rmse,"
        "windows_seen", "1,'=2+5,2.0,2,2.5,6,2.0,1.5,1.5,10", "2,'-batch,3.0,1,0.5,7,3.5,1.75,1.25,20"]


@pytest.fixture(scope="module")
def two_series(tmp_path_factory):
    """Data of two series named `=1+2` and `-y` (negative temperatures), and an untrained model
    saved as the champion with its sidecar: (params, prepared-style frame, data folder, models folder)."""
    from lstm_utils.artifacts import make_sidecar, save_model
    from lstm_utils.config import parse_params
    from lstm_utils.from_scratch import new_forecaster
    from tiny_project import sample_rows, tiny_params

    root = tmp_path_factory.mktemp("two_series")
    rows = sample_rows().iloc[:480]
    folder = root / "data"
    folder.mkdir()
    for part in range(2):
        block = rows.iloc[part * 240:(part + 1) * 240]
        below = block.assign(temp=-pd.to_numeric(block["temp"]) - 100)
        pd.concat([block.assign(site="=1+2"), below.assign(site="-y")]).to_csv(
            folder / f"part-{part:02d}.csv", index=False, lineterminator="\n")
    params = parse_params(tiny_params({"data": {"series_column": "site"}}))
    frame = assign_splits(ingest(folder, params.data, params.split.base_batches), params.split)
    save_model(new_forecaster(frame, params), root / "models" / "champion.keras",
               make_sidecar("base", None, params, {}, {}))
    return params, frame, folder, root / "models"


def assert_forecast_csv_inert(text: str) -> None:
    """Series cells behind a `'`, numbers (the negative forecasts of `-y` too) as they are."""
    table = pd.read_csv(io.StringIO(text), index_col=0)
    assert table.columns.tolist() == ["series", "temp"]
    assert set(table["series"]) == {"'=1+2", "'-y"}
    assert (table.loc[table["series"] == "'-y", "temp"] < -100).all()
    assert "+00:00,'-y,-1" in text  # a time (ISO 8601), the name made inert, a negative number as it is


def test_forecast_command_csv_makes_series_names_inert(two_series, capsys, tmp_path):
    from lstm_utils.cli import main

    _, _, data, models = two_series
    assert main(["forecast", "--model", str(models / "champion.keras"), "--data", str(data)]) == 0
    assert_forecast_csv_inert(capsys.readouterr().out)
    out = tmp_path / "f.csv"
    assert main(["forecast", "--model", str(models / "champion.keras"), "--data", str(data), "--out", str(out)]) == 0
    assert_forecast_csv_inert(out.read_text(encoding="utf-8"))


def test_pipeline_forecast_csv_makes_series_names_inert(two_series, tmp_path):
    from lstm_utils.stages.champion import write_forecast

    params, frame, _, models = two_series
    table = write_forecast(frame, params, models, tmp_path)
    assert set(table[SERIES]) == {"=1+2", "-y"}  # the table itself keeps the names
    assert_forecast_csv_inert((tmp_path / "forecast.csv").read_text(encoding="utf-8"))

"""End to end: the real `dvc repro` on a small copy of the project, then a new CSV arrives."""

from __future__ import annotations

import json
import re

import pytest

from tiny_project import make_project, run, write_part

pytestmark = pytest.mark.slow


def ran_stages(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("e2e"), parts=3, with_dvc=True)
    first = run(["dvc", "repro"], root)
    return root, first.stdout + first.stderr


def test_repro_produces_model_reports_and_metrics(project):
    root, output = project
    assert ran_stages(output) == {"data", "base", "index"}
    for path in ("models/base.keras", "models/base.json", "reports/data.html", "reports/base.html",
                 "reports/index.html", "reports/executed/data.ipynb", "reports/executed/base.ipynb"):
        assert (root / path).is_file(), path
    # base period = the first 2 of 3 files; batch 1 = the third
    assert sorted(p.name for p in (root / "prepared").glob("*.csv")) == ["00-base.csv", "01-part-02.csv"]
    metrics = json.loads((root / "reports/base_metrics.json").read_text())
    test = metrics["test"]
    assert set(test) == {"model", "persistence", "seasonal_naive"}
    assert metrics["windows"]["test"] > 0
    for name in test:
        assert 0 < test[name]["rmse"]["temp"] < 30
        assert test[name]["mae"]["temp"] <= test[name]["rmse"]["temp"]
    sidecar = json.loads((root / "models/base.json").read_text())
    assert sidecar["strategy"] == "base" and sidecar["parent"] is None
    assert sidecar["params"]["window"] == {"lookback": 24, "horizon": 6}
    assert set(sidecar["sources"]) == {"prepared/00-base.csv", "data/part-00.csv", "data/part-01.csv"}
    assert sidecar["metrics"]["test"]["model"]["rmse"] == test["model"]["rmse"]


def test_reports_are_offline_html_without_code(project):
    root, _ = project
    index = (root / "reports/index.html").read_text()
    assert 'href="data.html"' in index and 'href="base.html"' in index
    for name in ("data", "base"):
        page = (root / f"reports/{name}.html").read_text()
        assert "data:image/png;base64," in page  # figures embedded
        assert not re.search(r"<script[^>]+src=\"https?://", page)  # nothing from a CDN
        assert not re.search(r"<link[^>]+href=\"https?://", page)
        assert "load_params(" not in page  # code cells hidden
    assert re.search(r"mean RMSE: model [0-9.]+, persistence [0-9.]+", (root / "reports/base.html").read_text())


def test_repro_again_does_nothing(project):
    root, _ = project
    again = run(["dvc", "repro"], root)
    assert ran_stages(again.stdout) == set()
    assert "up to date" in run(["dvc", "status"], root).stdout


def test_new_later_csv_does_not_retrain_base(project):
    root, _ = project
    model_before = (root / "models/base.keras").read_bytes()
    base_csv_before = (root / "prepared/00-base.csv").read_bytes()
    write_part(root / "data", 3)
    output = run(["dvc", "repro"], root)
    stages = ran_stages(output.stdout)
    assert "data" in stages and "base" not in stages
    assert (root / "prepared/00-base.csv").read_bytes() == base_csv_before
    assert (root / "models/base.keras").read_bytes() == model_before
    assert (root / "prepared/02-part-03.csv").is_file()

"""reports/index.html opens with the answer: the champion, its deployed error against the best
baseline and the windows behind it, what the confidence set holds, and the months (fast)."""

from __future__ import annotations

import json

from lstm_utils.notebooks import write_index
from lstm_utils.pages.index import answer


def metrics(champion: str, is_baseline: bool = False) -> dict:
    return {"champion": champion, "champion_is_baseline": is_baseline, "why": "the lowest deployed_rmse",
            "strategies": {"finetune": {"deployed_rmse": 3.6, "deployed_windows": 2139},
                           "none": {"deployed_rmse": 3.8, "deployed_windows": 2139}},
            "baselines": {"linear": {"deployed_rmse": 3.7, "deployed_windows": 2139},
                          "persistence": {"deployed_rmse": 6.0, "deployed_windows": 2139}},
            "confidence_set": {"confidence": 0.9, "windows": 2139, "members": ["finetune", "linear"]},
            "walk_forward": {"policies": {"rule": {"deployed_rmse": 3.65, "windows": 1418, "windows_seen": 40},
                                          "finetune": {"deployed_rmse": 3.6, "windows": 1418, "windows_seen": 40},
                                          "none": {"deployed_rmse": 3.9, "windows": 1418, "windows_seen": 0}},
                             "history": {"2013-09": {"champion": "finetune", "deployed_rmse": 3.5, "windows": 697},
                                         "next": {"champion": "finetune", "deployed_rmse": None, "windows": 0}},
                             "deployed_by_batch": {"2013-08": {"finetune": 3.9, "none": 3.9, "linear": 4.0,
                                                               "persistence": 6.1},
                                                   "2013-09": {"finetune": 3.5, "none": 3.7, "linear": 3.6,
                                                               "persistence": 5.9}}}}


def test_the_answer_names_the_champion_its_error_against_the_best_baseline_and_the_set():
    page = answer(metrics("finetune"))
    assert "Use <b>finetune</b>, an update strategy" in page
    assert "<b>3.6</b> on 2,139 windows, against the ridge's 3.7, the best baseline (-2.70%)" in page
    assert "holds 2 of 4 forecasters: finetune, linear" in page
    # the months: the pick then and its error, beside the best baseline that month; no pick for the first
    assert "<tr><td>2013-08</td><td>-</td><td>-</td><td>linear</td><td>4</td><td>-</td></tr>" in page
    assert "<tr><td>2013-09</td><td>finetune</td><td>3.5</td><td>linear</td><td>3.6</td><td>697</td></tr>" in page
    assert ("a deployed RMSE of 3.65 on 1,418 windows; the best policy fixed in advance, in hindsight, always "
            "fine-tune, 3.6 (+1.39%)") in page


def test_a_baseline_champion_is_said_plainly_and_set_against_the_other_baselines():
    page = answer(metrics("linear", is_baseline=True))
    assert "Use <b>linear</b>, a baseline (the ridge): <b>the LSTM does not pay on this data</b>" in page
    assert "against persistence's 6, the best other baseline" in page


def test_the_index_opens_with_the_answer_then_links_the_reports(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps(metrics("finetune")))
    (tmp_path / "compare.html").write_text("<html></html>")
    page = write_index(tmp_path, ("finetune",)).read_text()
    assert page.index("Use <b>finetune</b>") < page.index('<a href="compare.html">')
    assert '<a href="finetune.html">' not in page  # no report, no link
    (tmp_path / "metrics.json").unlink()
    assert "Use <b>" not in write_index(tmp_path, ()).read_text()  # before compare ran: the links alone


def test_perfect_forecasts_give_no_ratio_and_no_error():
    """A series a model forecasts exactly (errors of 0) has no ratio to show: the page says the figures."""
    m = metrics("finetune")
    m["baselines"]["linear"]["deployed_rmse"] = 0.0
    m["walk_forward"]["policies"] |= {"none": {"deployed_rmse": 0.0, "windows": 1418, "windows_seen": 0}}
    page = answer(m)
    assert "against the ridge's 0, the best baseline." in page and "never update, 0." in page

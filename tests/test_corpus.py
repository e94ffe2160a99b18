"""The corpus of messy and bad CSV files (tests/corpus/<case>/, with expect.yaml beside them),
each run through `lstm-utils validate` as a user would: messy files are read and reported,
bad ones refused with one message naming the file and what to change, exit status 2, no
traceback; no file of the corpus is changed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from lstm_utils import cli
from lstm_utils.config import load_params
from lstm_utils.ingest import ingest
from tiny_project import tree_hash

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus"
CASES = sorted(p for p in CORPUS.iterdir() if p.is_dir())

# params every case starts from (the shipped params.yaml with these sections replaced)
SETTINGS = {
    "data": {"time_column": "time", "targets": ["a"], "features": ["a", "b"], "freq": "h", "timezone": "UTC",
             "max_fill": 3, "separator": ",", "on_conflict": "newer"},
    "split": {"base_batches": 1},
    "window": {"lookback": 4, "horizon": 2},
    "baselines": {"season": 2},
}


def write_params(folder: Path, overrides: dict | None) -> Path:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in SETTINGS.items():
        raw[section].update(values)
    for section, values in (overrides or {}).items():
        raw[section].update(values)
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_the_corpus_covers_what_must_be_refused_and_accepted():
    names = {p.name for p in CASES}
    for needed in ("empty-file", "header-only", "no-time-column", "missing-target", "missing-feature",
                   "not-a-number", "unparseable-time", "duplicate-column-names", "column-set-differs",
                   "batch-too-short", "conflict-when-refused", "infinite-value", "not-utf8", "mistyped-year",
                   "no-new-time"):
        assert f"bad-{needed}" in names, needed
    for needed in ("bom-crlf-quoted", "semicolon-separator", "order-and-extra-columns", "utc-offsets-converted",
                   "plain-dates-daily", "rows-out-of-order", "overlap-newer-wins",
                   "missing-values-short-and-long-gaps"):
        assert f"ok-{needed}" in names, needed


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_corpus_case(case, tmp_path, capsys):
    expect = yaml.safe_load((case / "expect.yaml").read_text())
    params_path = write_params(tmp_path, expect.get("params"))
    before = tree_hash(case)
    status = cli.main(["validate", str(case), "--params", str(params_path)])
    out, err = capsys.readouterr()
    assert tree_hash(case) == before  # nothing the user gave is modified
    assert status == expect["exit"], out + err
    assert "Traceback" not in out + err
    if status == 2:
        assert err.startswith("error: ") and out == ""
        for fragment in expect["message"]:
            assert fragment in err, f"{fragment!r} not in {err!r}"
        assert "\n  " in err or err.count("\n") == 1  # the message, then at most an indented hint
        return
    assert out.startswith(f"{case}: OK")
    params = load_params(params_path)
    ingested = ingest(case, params.data, params.split.base_batches)
    report, frame = ingested.report, ingested.frame
    want = expect["report"]
    for key in ("rows", "usable_rows", "gap_steps", "filled", "unfilled"):
        if key in want:
            assert getattr(report, key) == want[key], key
    if "first" in want:
        assert frame.index[0] == pd.Timestamp(want["first"])
    files = {f.name: f for f in report.files}
    for key, attr in (("conflicts", "conflicts"), ("overlap_dropped", "overlap_identical")):
        for name, count in want.get(key, {}).items():
            assert getattr(files[name], attr) == count, (key, name)
            assert f"{count}" in out  # the report printed by validate shows the count
    if "value" in want:
        v = want["value"]
        assert frame.loc[pd.Timestamp(v["time"]), v["column"]] == v["equals"]

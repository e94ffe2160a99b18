"""A regime shift in tiny data: the evidence must say that updating pays (slow: it trains).

The base period repeats a daily cycle; from batch 1 on the series follows a 16-hour cycle, which
neither the base model (it learned that today repeats yesterday) nor seasonal naive can follow.
A strategy that learned batch 1 forecasts batch 2 well: never updating must leave the
confidence set, and the rule must crown a strategy that learns.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import make_frame
from lstm_utils.chain import run_chain
from lstm_utils.config import parse_params
from lstm_utils.decide import confidence_set
from lstm_utils.from_scratch import train_new
from lstm_utils.stages.champion import Baselines, baselines, decide, evidence
from lstm_utils.stages.strategy import result
from tiny_project import tiny_params

pytestmark = pytest.mark.slow

ROWS = 480  # per batch: 20 days of hours
SPLITS = [0] * 336 + [1] * 72 + [2] * 72  # train | val | test, in time order


def shifted_frame():
    rng = np.random.default_rng(0)
    t = np.arange(3 * ROWS)
    a = np.where(t < ROWS, np.sin(2 * np.pi * t / 24), np.sin(2 * np.pi * t / 16)) + 0.05 * rng.normal(size=len(t))
    b = rng.normal(size=len(t))
    return make_frame(np.column_stack([a, b]), np.repeat([0, 1, 2], ROWS), SPLITS * 3)


@pytest.fixture(scope="module")
def shifted():
    params = parse_params(tiny_params({
        "data": {"time_column": "t", "targets": ["a"], "features": ["a", "b"]},
        "model": {"units": [4]}, "train": {"epochs": 2, "batch_size": 32, "patience": 1},
        "finetune": {"epochs": 2, "patience": 1}, "compare": {"strategies": ["none", "finetune"]}}))
    frame = shifted_frame()
    base = train_new(frame, params, [0], verbose=0).model
    chains = {s: run_chain(s, base, frame, params, {}, progress=lambda line: None) for s in ("none", "finetune")}
    return frame, params, chains


def test_after_a_regime_shift_never_updating_leaves_the_set(shifted):
    frame, params, chains = shifted
    none, tuned = chains["none"].deployed, chains["finetune"].deployed
    np.testing.assert_array_equal(none[0].sq, tuned[0].sq)  # batch 1: both deploy the base model
    assert np.sqrt(tuned[1].sq.mean()) < 0.5 * np.sqrt(none[1].sq.mean())  # batch 2: the update learned the cycle
    cs = confidence_set({"none": np.concatenate([none[0].sq, none[1].sq]),
                         "finetune": np.concatenate([tuned[0].sq, tuned[1].sq])},
                        params.compare.confidence, params.window.horizon, params.train.seed)
    assert "none" not in cs and "finetune" in cs and cs.windows == len(none[0]) + len(none[1])


def test_after_a_regime_shift_the_rule_crowns_a_strategy_that_learns(shifted):
    frame, params, chains = shifted
    base = baselines(frame, params, {0: "base", 1: "b1", 2: "b2"})
    assert isinstance(base, Baselines)
    walk = decide({s: result(c) for s, c in chains.items()}, base, params)
    final = walk.final
    assert final.choice.champion == "finetune" and final.choice.in_set
    assert "none" in final.evidence.excluded and "seasonal_naive" in final.evidence.excluded
    assert [t.choice.champion for t in walk.history] == ["none", "finetune"]  # batch 1 told nothing apart
    assert walk.history[0].evidence.pvalues["finetune"] == walk.history[0].evidence.pvalues["none"]
    assert evidence({s: result(c) for s, c in chains.items()}, base).windows(2) == len(chains["none"].deployed[1])

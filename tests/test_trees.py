"""The gradient-boosted baseline (`baselines.trees`, lstm_utils/trees.py): LightGBM on the level
window and the clock, its forecasts interpolated between fitted horizon steps, refit at every
step like the ridge, and its work kept between runs to the same bytes."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_utils import trees
from lstm_utils.baselines import persistence
from lstm_utils.evaluation import assess
from lstm_utils.metrics import mean_over_targets
from lstm_utils.trees import Trees, features, interpolation, learned_windows
from lstm_utils.windows import deployed_windows, split_windows, tail_windows
from tiny_project import tiny_sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """Four slices of the sample (a 2-slice base period, then batches 1 and 2), tiny params, 20 trees."""
    return tiny_sample(tmp_path_factory.mktemp("trees"), overrides={"baselines": {"trees": 20}})


def test_the_features_are_the_levels_of_the_targets_and_the_recent_inputs_and_the_clock(sample):
    frame, params = sample
    windows = split_windows(frame, params, "test", [2])
    got = features(windows, 6)
    x, _ = windows.arrays()
    lookback, others = params.window.lookback, len(params.data.inputs) - 1
    assert got.shape == (len(x), lookback + 6 * others + 2) and got.dtype == np.float32
    np.testing.assert_array_equal(got[:, :lookback], x[:, :, 0])  # the target's look-back, levels as they are
    np.testing.assert_array_equal(got[:, lookback:-2], x[:, -6:, 1:].reshape(len(x), -1))  # the others' last 6
    assert features(windows, 1000).shape[1] == lookback * (1 + others) + 2  # at most the look-back
    times = windows.target_times()
    np.testing.assert_array_equal(got[:, -2], times.hour + times.minute / 60)
    np.testing.assert_array_equal(got[:, -1], times.day_of_week)


def test_the_trees_beat_persistence_and_the_same_windows_give_the_same_bytes(sample):
    frame, params = sample
    learned = learned_windows(frame, params, 1)
    test = split_windows(frame, params, "test", [2])
    first, again = Trees.fit(learned, 20, 1, 42, 24), Trees.fit(learned, 20, 1, 42, 24)
    pred = first.predict(test)
    assert pred.shape == (len(test), params.window.horizon, 1)
    assert np.array_equal(pred, again.predict(test))  # deterministic: fixed threads and seeds
    rmse = lambda w, p: mean_over_targets(assess(w, p, params.data.targets)["rmse"])  # noqa: E731
    # it learns the day's shape, as persistence cannot (20 trees on a few hundred windows)
    assert rmse(learned, first.predict(learned)) < 0.7 * rmse(learned, persistence(learned))


def test_fitting_every_third_step_interpolates_the_changes_between_them(sample):
    frame, params = sample
    learned, test = learned_windows(frame, params, 1), split_windows(frame, params, "test", [2])
    fitted = Trees.fit(learned, 20, 3, 42, 24)
    assert fitted.steps == tuple(trees.fitted_steps(params.window.horizon, 3)) and len(fitted.boosters[0]) == 3
    pred = fitted.predict(test)
    last = test.arrays()[0][:, -1, test.target_idx[0]].astype(np.float64)
    change = pred[:, :, 0] - last[:, None]
    np.testing.assert_allclose(change[:, 1], (2 * change[:, 0] + change[:, 3]) / 3, atol=1e-9)
    np.testing.assert_allclose(interpolation(5, [0, 4]).sum(axis=0), 1.0)
    np.testing.assert_array_equal(interpolation(3, [0, 1, 2]), np.eye(3))


def test_a_step_learns_every_window_up_to_it_but_the_test_tails_and_the_tails_that_calibrate(sample):
    frame, params = sample
    learned = learned_windows(frame, params, 2)
    every = np.concatenate([deployed_windows(frame, params, k).starts for k in range(3)])
    calibrating = split_windows(frame, params, "val", [2]).starts  # calibration_batches: 1, the newest
    tests = split_windows(frame, params, "test", [0, 1, 2]).starts
    assert len(calibrating) and len(tests) and not np.isin(np.r_[calibrating, tests], learned.starts).any()
    assert set(learned.starts) == set(every) - set(calibrating) - set(tests)
    assert np.isin(split_windows(frame, params, "val", [0, 1]).starts, learned.starts).all()  # older val tails: learned


def test_the_chain_kept_between_runs_gives_the_same_bytes_and_a_new_batch_costs_one_fit(sample, tmp_path, capsys):
    frame, params = sample
    fresh = trees.chain(frame, params)
    first = trees.chain(frame, params, tmp_path)
    assert first["fitted"] == [0, 1, 2]
    again = trees.chain(frame, params, tmp_path)
    assert again["fitted"] == []  # nothing fitted: every figure read back
    for out in (first, again):
        for name in ("rmse", "mae"):
            np.testing.assert_array_equal(out[name], fresh[name])
        assert all(np.array_equal(a.sq, b.sq) for a, b in zip(out["deployed"], fresh["deployed"]))
    test = tail_windows(frame, params, 3)[2]
    np.testing.assert_array_equal(again["final"].predict(test), fresh["final"].predict(test))
    # the cells further right than the next batch stay empty (a step's models are kept until then)
    assert np.isnan(fresh["rmse"][0, 2]) and not np.isnan(fresh["rmse"][0, 1]) and not np.isnan(fresh["rmse"][2]).any()
    shorter = frame[frame["batch"] < 2]
    assert trees.chain(shorter, params, tmp_path)["fitted"] == [1]  # the newest step's models only are kept
    assert trees.chain(frame, params, tmp_path)["fitted"] == [2]  # the new batch: one fit
    assert len(list(tmp_path.glob("*.trees.gz"))) == 1  # the newest step's models only
    damaged = next(p for p in tmp_path.glob("*.json") if "-" not in p.stem)
    damaged.write_text(damaged.read_text()[:-20])
    mended = trees.chain(frame, params, tmp_path)
    assert f"warning: {damaged}: unreadable" in capsys.readouterr().out
    np.testing.assert_array_equal(mended["rmse"], fresh["rmse"])


@pytest.mark.slow
def test_the_pipeline_deploys_the_trees_on_every_window_and_keeps_their_work(grown_project):
    """Through `dvc repro` and one CSV more: the trees are in metrics.json, deployed on the same
    windows as every strategy, weighed in the confidence set and walked forward as a fixed policy;
    on the base page's table; and their kept state holds the newest step's models only."""
    import json

    root = grown_project[0]
    metrics = json.loads((root / "reports/metrics.json").read_text())
    trees_row, finetune = metrics["baselines"]["trees"], metrics["strategies"]["finetune"]
    assert trees_row["deployed_windows"] == finetune["deployed_windows"] > 0
    assert 0 < trees_row["deployed_rmse"] < 10 and trees_row["mcs_pvalue"] is not None
    assert "trees" in metrics["walk_forward"]["policies"] and "trees" not in metrics["strategies"]
    assert "trees (baseline)" in (root / "reports/compare.html").read_text()
    assert "trees" in json.loads((root / "reports/base_metrics.json").read_text())["test"]
    kept = root / "state/trees"
    assert len(list(kept.glob("*.trees.gz"))) == 1 and len(list(kept.glob("*.json"))) >= 3


def test_without_trees_no_baseline_is_fitted_and_the_kept_folder_is_left_empty(sample, tmp_path):
    """`baselines.trees: 0`: the tables have no trees, and state/trees (an output of the compare
    stage, which DVC needs to find) is there and empty, what an earlier run kept removed."""
    from lstm_utils.stages.champion import baselines

    frame, params = sample
    kept = tmp_path / "trees"
    trees.chain(frame, params, kept)
    assert any(kept.iterdir())
    off = baselines(frame, params.replace("baselines", trees=0), {}, kept)
    assert off.trees is None and "trees" not in off.summaries and "trees" not in off.tracks()
    assert kept.is_dir() and not any(kept.iterdir())

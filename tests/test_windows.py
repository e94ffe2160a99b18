"""Windows: exact contents, gaps, batch/split boundaries, no leakage, memory, shuffling."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import make_frame
from lstm_utils.config import SplitParams
from lstm_utils.splits import TEST, TRAIN, VAL, split_rows
from lstm_utils.train import WindowBatches
from lstm_utils.windows import Windows, make_windows

INPUTS, TARGETS = ("a", "b"), ("b",)
SENTINEL = 1e9


def known_values(n: int) -> np.ndarray:
    """Row i holds (i, 1000 + i)."""
    i = np.arange(n, dtype="float64")
    return np.column_stack([i, 1000 + i])


def tails(sizes: list[int], val: float = 0.2, test: float = 0.2) -> tuple[list[int], list[int]]:
    """Batch and split codes for consecutive batches of the given sizes (as assign_splits does)."""
    batch, split = [], []
    for b, n in enumerate(sizes):
        val_at, test_at = split_rows(n, SplitParams(1, val, test))
        batch += [b] * n
        split += [TRAIN] * val_at + [VAL] * (test_at - val_at) + [TEST] * (n - test_at)
    return batch, split


def test_shapes_and_exact_contents():
    n, lookback, horizon = 10, 3, 2
    frame = make_frame(known_values(n), [0] * n, [TRAIN] * n)
    w = make_windows(frame, INPUTS, TARGETS, lookback, horizon)
    assert w.starts.tolist() == [3, 4, 5, 6, 7, 8]
    x, y = w.arrays()
    assert x.shape == (6, 3, 2) and y.shape == (6, 2, 1)
    assert x.dtype == np.float32 and y.dtype == np.float32
    for k, i in enumerate(w.starts):
        assert x[k, :, 0].tolist() == [i - 3, i - 2, i - 1]  # rows [i - lookback, i)
        assert x[k, :, 1].tolist() == [1000 + i - 3, 1000 + i - 2, 1000 + i - 1]
        assert y[k, :, 0].tolist() == [1000 + i, 1000 + i + 1]  # rows [i, i + horizon) of the target
    assert w.target_idx.tolist() == [1]
    assert list(w.target_times()) == list(frame.index[3:9])
    x2, y2 = w.arrays(np.array([0, 5]))
    assert x2[:, 0, 0].tolist() == [0.0, 5.0] and y2[:, 0, 0].tolist() == [1003.0, 1008.0]
    # the actuals alone, as arrays gives them, without cutting the inputs
    assert np.array_equal(w.targets(), y) and np.array_equal(w.targets(np.array([0, 5])), y2)
    assert w.targets().dtype == np.float32
    assert len(w.subset(slice(2, 4))) == 2 and w.subset(slice(2, 4)).starts.tolist() == [5, 6]


def test_two_targets_keep_their_order():
    frame = make_frame(known_values(6), [0] * 6, [TRAIN] * 6)
    w = make_windows(frame, INPUTS, ("b", "a"), 2, 1)
    _, y = w.arrays()
    assert y[0, 0].tolist() == [1002.0, 2.0]


def test_windows_never_span_a_missing_row():
    n, lookback, horizon = 14, 3, 2
    values = known_values(n)
    values[5, 0] = np.nan  # one input missing in row 5
    frame = make_frame(values, [0] * n, [TRAIN] * n)
    for split in (None, "train"):
        w = make_windows(frame, INPUTS, TARGETS, lookback, horizon, split)
        # row 5 is in [i - 3, i + 2) for i = 4..8
        assert w.starts.tolist() == [3, 9, 10, 11, 12]
        x, y = w.arrays()
        assert not np.isnan(x).any() and not np.isnan(y).any()


def test_targets_stay_inside_one_split_of_one_batch():
    batch, split = tails([10, 10])  # per batch: 6 train, 2 val, 2 test
    assert split[:10] == [0] * 6 + [1] * 2 + [2] * 2
    frame = make_frame(known_values(20), batch, split)

    def starts(split_name, horizon, lookback=2, bs=None):
        return make_windows(frame, INPUTS, TARGETS, lookback, horizon, split_name, bs).starts.tolist()

    assert starts("val", 2) == [6, 16]
    assert starts("val", 1) == [6, 7, 16, 17]
    assert starts("test", 2) == [8, 18]
    assert starts("test", 3) == []  # a 3-step target would leave the 2-row test tail
    assert starts("train", 2) == [2, 3, 4, 12, 13, 14]
    assert starts("val", 2, bs=[1]) == [16]
    assert starts("train", 2, bs=[0]) == [2, 3, 4]
    with pytest.raises(ValueError, match="split"):
        make_windows(frame, INPUTS, TARGETS, 2, 2, "validation")


def test_targets_never_cross_batches_even_without_tails():
    # batch 0 has no val/test tail, so its train rows run straight into batch 1's
    frame = make_frame(known_values(15), [0] * 5 + [1] * 10, [TRAIN] * 5 + [TRAIN] * 6 + [VAL] * 2 + [TEST] * 2)
    w = make_windows(frame, INPUTS, TARGETS, 3, 2, "train")
    assert w.starts.tolist() == [3, 8, 9]  # not 4..7: targets or inputs would span two batches
    b = frame["batch"].to_numpy()
    for i in w.starts:
        assert len(set(b[i - 3:i + 2])) == 1  # train inputs stay in the target's batch


def test_no_val_or_test_value_ever_reaches_a_training_window():
    sizes = [40, 23, 17, 31]
    batch, split = tails(sizes, val=0.15, test=0.2)
    frame = make_frame(known_values(len(batch)), batch, split)
    held_out = frame["split"].to_numpy() != TRAIN
    frame.loc[held_out, ["a", "b"]] = SENTINEL
    assert (frame[["a", "b"]].to_numpy() == SENTINEL).sum() == 2 * held_out.sum() > 0
    for lookback, horizon in [(1, 1), (4, 3), (6, 9)]:
        w = make_windows(frame, INPUTS, TARGETS, lookback, horizon, "train", range(len(sizes)))
        assert len(w) > 0
        x, y = w.arrays()
        assert x.max() < SENTINEL and y.max() < SENTINEL
        assert not (x == SENTINEL).any() and not (y == SENTINEL).any()
        assert set(frame["split"].to_numpy()[w.starts]) == {TRAIN}
        b = frame["batch"].to_numpy()
        assert all((b[i - lookback:i] == b[i]).all() for i in w.starts)
    # the same sentinels are reachable: val windows do see held-out inputs (so the check has teeth)
    val = make_windows(frame, INPUTS, TARGETS, 6, 2, "val", range(len(sizes)))
    vx, vy = val.arrays()
    assert (vy == SENTINEL).all() and (vx == SENTINEL).any()


def test_training_inputs_are_training_rows_whatever_the_layout():
    # a held-out block in the middle of one batch: train windows must not read across it
    split = [TRAIN] * 10 + [VAL] * 3 + [TRAIN] * 12 + [TEST] * 5
    frame = make_frame(known_values(30), [0] * 30, split)
    frame.loc[frame["split"].to_numpy() != TRAIN, ["a", "b"]] = SENTINEL
    w = make_windows(frame, INPUTS, TARGETS, 4, 2, "train")
    assert w.starts.tolist() == [4, 5, 6, 7, 8, 17, 18, 19, 20, 21, 22, 23]
    x, y = w.arrays()
    assert not (x == SENTINEL).any() and not (y == SENTINEL).any()


def test_val_and_test_windows_may_look_back_into_the_previous_batch():
    batch, split = tails([10, 10])
    frame = make_frame(known_values(20), batch, split)
    val = make_windows(frame, INPUTS, TARGETS, 8, 2, "val", [1])
    assert val.starts.tolist() == [16]
    x, _ = val.arrays()
    assert x[0, :, 0].tolist() == [8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0]  # rows 8, 9 are batch 0 test
    test = make_windows(frame, INPUTS, TARGETS, 10, 2, "test", [1])
    assert test.starts.tolist() == [18]
    assert frame["batch"].to_numpy()[18 - 10] == 0
    # a training window with the same reach does not exist
    assert make_windows(frame, INPUTS, TARGETS, 8, 2, "train", [1]).starts.tolist() == []


def test_windows_store_only_their_starts():
    n = 500
    frame = make_frame(known_values(n), [0] * n, [TRAIN] * n)
    w = make_windows(frame, INPUTS, TARGETS, 48, 24)
    assert len(w) == n - 48 - 24 + 1
    assert w.starts.dtype == np.int64 and w.starts.nbytes == 8 * len(w)
    assert w.values.shape == (n, 2) and w.values.dtype == np.float32
    assert w.values.nbytes == n * 2 * 4  # the series once, not lookback x windows
    sub = w.subset(np.arange(0, len(w), 7))
    assert sub.values is w.values and sub.index is w.index
    assert sub.starts.nbytes == 8 * len(sub)
    x, _ = sub.arrays(slice(1, 2))
    assert x[0, 0, 0] == 7.0


def windows_of(n: int) -> Windows:
    frame = make_frame(known_values(n + 1), [0] * (n + 1), [TRAIN] * (n + 1))
    w = make_windows(frame, INPUTS, TARGETS, 1, 1)
    assert len(w) == n
    return w


def test_window_batches_in_order_without_shuffle():
    w = windows_of(50)
    feed = WindowBatches(w, batch_size=8)
    assert len(feed) == 7
    assert feed.order.tolist() == list(range(50))
    x, y = feed[0]
    assert x.shape == (8, 1, 2) and y.shape == (8, 1, 1)
    assert x[:, 0, 0].tolist() == list(range(8))
    assert feed[6][0].shape[0] == 2  # the last, short batch
    feed.on_epoch_end()
    assert feed.order.tolist() == list(range(50))


def test_window_batches_shuffle_repeats_with_the_seed():
    w = windows_of(50)
    one, two, other = (WindowBatches(w, 8, shuffle=True, seed=s) for s in (7, 7, 8))
    assert one.order.tolist() == two.order.tolist()
    assert one.order.tolist() != other.order.tolist()
    assert sorted(one.order.tolist()) == list(range(50)) and one.order.tolist() != list(range(50))
    x, _ = one[0]
    assert x[:, 0, 0].tolist() == one.order[:8].astype(float).tolist()  # window k starts at row k + 1
    first = one.order.copy()
    one.on_epoch_end()
    two.on_epoch_end()
    assert one.order.tolist() == two.order.tolist() != first.tolist()
    three = WindowBatches(w, 8, shuffle=True, seed=7)
    assert three.order.tolist() == first.tolist()


# --- deployed windows and window counts ---------------------------------------------------------

def test_deployed_windows_are_every_window_whose_targets_lie_in_the_batch():
    """Targets cross split boundaries inside the batch; the look-back reaches into the batch before;
    no target crosses into another batch; a gap breaks windows as everywhere."""
    from types import SimpleNamespace

    from lstm_utils.windows import deployed_windows

    batch, split = tails([20, 20, 20])
    values = known_values(60)
    values[45, 0] = np.nan  # a gap in batch 2
    frame = make_frame(values, batch, split)
    params = SimpleNamespace(data=SimpleNamespace(inputs=INPUTS, targets=TARGETS),
                             window=SimpleNamespace(lookback=4, horizon=3))
    one = deployed_windows(frame, params, 1)
    assert one.starts.tolist() == list(range(20, 38))  # rows 20..39 hold batch 1; the last target row is 39
    assert {split[i] for i in one.starts} == {TRAIN, VAL, TEST} and split[34] != split[36]  # 34: across its tails
    assert one.arrays()[0][0, :, 0].tolist() == [16.0, 17.0, 18.0, 19.0]  # its look-back in batch 0
    two = deployed_windows(frame, params, 2)
    assert two.starts.tolist() == [i for i in range(40, 58) if not (i - 4 <= 45 <= i + 2)]
    tests = make_windows(frame, INPUTS, TARGETS, 4, 3, "test", [1])
    assert set(tests.starts) < set(one.starts)  # the test tail's windows are a few of them


def test_window_counts_and_the_warning_for_few_windows():
    from lstm_utils.windows import few_windows

    import pandas as pd

    counts = pd.DataFrame({"train": [500, 300, 300], "val": [120, 60, 130], "test": [120, 130, 40],
                           "calibration": [120, 60, 130], "deployed": [None, 450, 480]},
                          index=pd.Index(["base", "b1", "b2"], name="batch")).astype({"deployed": "Int64"})
    lines = few_windows(counts, 100, 24)
    assert len(lines) == 2
    assert lines[0].startswith("the test tails of 1 of 3 batches give fewer windows than `compare.min_windows` (100): "
                               "b2 (40)")
    assert "raise `split.test_fraction`, or shorten `window.horizon` (24;" in lines[0]
    assert "(450 to 480 a batch)" in lines[0]
    assert lines[1].startswith("the calibration tails of 1 of 3 batches give fewer windows than "
                               "`compare.min_windows` (100): b1 (60)")
    assert "`split.val_fraction` or `intervals.calibration_batches`" in lines[1]
    assert few_windows(counts, 40, 24) == []

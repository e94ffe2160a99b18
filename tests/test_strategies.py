"""Update strategies on tiny real data: what each one keeps, changes, costs and repeats (slow: it trains).

One small frame is built per module (5 slices of the sample: a 2-slice base period, then
batches 1, 2, 3), one base model is trained on batch 0, and every model is tiny (LSTM of 4
units, 2 epochs), so each update trains in about a second.
"""

from __future__ import annotations


import keras
import numpy as np
import pytest

from tiny_project import tiny_params, write_part
from lstm_utils.chain import run_chain
from lstm_utils.config import parse_params
from lstm_utils.from_scratch import new_forecaster, train_new
from lstm_utils.ingest import ingest
from lstm_utils.model import LINEAR, copy_model, fit_guards, predict
from lstm_utils.scoring import matrix_scores
from lstm_utils.splits import BATCH, SPLIT, TRAIN, assign_splits
from lstm_utils.strategies import NAMES, Step, Update, distill, ensemble, finetune, none, replay, retrain
from lstm_utils import train as train_module
from lstm_utils.train import fit
from lstm_utils.windows import split_windows, tail_windows

pytestmark = pytest.mark.slow  # every test here trains, or uses models trained by the module's fixtures

BATCH_SIZE = 32
BUFFER = 40  # replay buffer, well below batch 0's ~300 training windows, above one batch
OLD_WINDOWS = 60  # distill's old-window sample, above one batch

OVERRIDES = {
    "model": {"units": [4]},
    "train": {"epochs": 2, "batch_size": BATCH_SIZE, "patience": 1},
    "finetune": {"epochs": 2, "patience": 1},
    "distill": {"units": [4], "epochs": 2, "patience": 1, "old_windows": OLD_WINDOWS},
    "ensemble": {"max_members": 3, "recent_batches": 0},
    "replay": {"buffer": BUFFER, "epochs": 2, "patience": 1},
    "refit": {"every": 2, "epochs": 2, "patience": 1},  # step 1 fine-tunes as finetune does; step 2 retrains
    "drift": {"epochs": 2, "patience": 1},
}


def quiet(_message: str) -> None:
    pass


def flat(model: keras.Model) -> np.ndarray:
    """The weights gradient steps move (not the fixed share and gate, which are fitted after training)."""
    return np.concatenate([np.asarray(keras.ops.convert_to_numpy(w)).reshape(-1) for w in model.trainable_weights])


def assert_same_weights(a: keras.Model, b: keras.Model) -> None:
    wa, wb = a.get_weights(), b.get_weights()
    assert [w.shape for w in wa] == [w.shape for w in wb]
    for x, y in zip(wa, wb):
        np.testing.assert_array_equal(x, y)


def assert_same_weights_list(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def all_layers(model: keras.Model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from all_layers(layer)


def assert_fed(windows_seen: int, epochs: int, n_train: int, batch_size: int = BATCH_SIZE) -> None:
    """`windows_seen` is `epochs` passes over the `n_train` training windows: every window
    each epoch, or (when the training loop drops a last partial batch) all but fewer than
    one batch of them. A pass that missed a part of the training set larger than a batch
    (the replay buffer, distill's old windows, an old batch) fails this."""
    assert epochs >= 1 and windows_seen % epochs == 0
    per_epoch = windows_seen // epochs
    assert n_train - batch_size < per_epoch <= n_train, (windows_seen, epochs, n_train)


def with_section(params, section: str, **changes):
    return params.replace(section, **changes)


@pytest.fixture(scope="module")
def params():
    return parse_params(tiny_params(OVERRIDES))


@pytest.fixture(scope="module")
def full_frame(tmp_path_factory, params):
    """Batches 0 (two slices), 1, 2 and 3."""
    folder = tmp_path_factory.mktemp("strategies_data")
    for part in range(5):
        write_part(folder, part)
    frame = assign_splits(ingest(folder, params.data, base_batches=2), params.split)
    assert sorted(frame[BATCH].unique().tolist()) == [0, 1, 2, 3]
    return frame


@pytest.fixture(scope="module")
def frame(full_frame):
    """Batches 0, 1 and 2: two update steps."""
    return full_frame[full_frame[BATCH] <= 2]


@pytest.fixture(scope="module")
def base(frame, params):
    return train_new(frame, params, [0], verbose=0).model


@pytest.fixture(scope="module")
def base_weights(base):
    return [w.copy() for w in base.get_weights()]


@pytest.fixture(scope="module")
def step1(frame, params):
    return Step(frame, params, 1)


@pytest.fixture(scope="module")
def chains(frame, full_frame, base, params):
    """Each strategy's chain, run once and shared (ensemble over three steps, others over two)."""
    cache = {}

    def get(strategy: str):
        if strategy not in cache:
            data = full_frame if strategy == "ensemble" else frame
            cache[strategy] = run_chain(strategy, base, data, params, {}, progress=quiet)
        return cache[strategy]

    return get


def first_step(chain) -> Update:
    """Step 1 of a chain as an Update: update(base, Step(frame, params, 1)), computed once."""
    rec = chain.steps[0]
    return Update(chain.models[1], rec.windows_seen, rec.history, rec.info)


@pytest.fixture(scope="module")
def tuned(chains):
    return first_step(chains("finetune"))


@pytest.fixture(scope="module")
def retrained(chains):
    return first_step(chains("retrain"))


# --- none ---------------------------------------------------------------------------------

def test_none_returns_the_very_same_model(base, step1, base_weights):
    result = none.update(base, step1)
    assert result.model is base
    assert result.windows_seen == 0
    assert_same_weights_list(base.get_weights(), base_weights)


def test_none_chain_never_changes_predictions(chains, base, frame, params):
    chain = chains("none")
    assert len(chain.models) == 3 and all(m is base for m in chain.models)
    assert [r.windows_seen for r in chain.steps] == [0, 0]
    tests = tail_windows(frame, params, 3)
    for windows in tests:
        first = predict(chain.models[0], windows)
        for model in chain.models[1:]:
            np.testing.assert_array_equal(predict(model, windows), first)
    # every row of the error matrix is the base model's
    for t in range(1, 3):
        np.testing.assert_array_equal(chain.rmse[t], chain.rmse[0])


# --- finetune -----------------------------------------------------------------------------

def test_finetune_moves_the_weights_less_than_retrain(base, base_weights, tuned, retrained):
    start = flat(base)  # the previous model, untouched (checked below)
    assert [w.shape for w in tuned.model.get_weights()] == [w.shape for w in retrained.model.get_weights()]
    moved_tune = np.linalg.norm(flat(tuned.model) - start)
    moved_retrain = np.linalg.norm(flat(retrained.model) - start)
    assert 0 < moved_tune < moved_retrain
    # the previous model itself was not touched: finetune works on a copy
    assert_same_weights_list(base.get_weights(), base_weights)
    assert tuned.model is not base


def test_finetune_windows_seen_counts_new_batch_epochs(tuned, step1):
    assert_fed(tuned.windows_seen, tuned.info["epochs"], len(step1.new("train")))


def test_finetune_head_only_freezes_the_lstm(base, base_weights, frame, params):
    head_params = with_section(params, "finetune", trainable="head", learning_rate=1e-3)
    # no validation tail in the new batch: early stopping watches the training loss, so the kept
    # weights are a trained epoch's (on this tiny set, no head-only epoch beats the start on val)
    no_val = frame.copy()
    no_val.loc[(no_val[BATCH] == 1) & (no_val[SPLIT] == 1), SPLIT] = TRAIN
    result = finetune.update(base, Step(no_val, head_params, 1))
    lstm_names = [layer.name for layer in result.model.layers if layer.name.startswith("lstm_")]
    assert lstm_names == ["lstm_0"]
    for name in lstm_names:
        before, after = base.get_layer(name).get_weights(), result.model.get_layer(name).get_weights()
        assert len(before) == len(after) > 0
        for x, y in zip(before, after):
            np.testing.assert_array_equal(x, y)
    head_before, head_after = base.get_layer("head").get_weights(), result.model.get_layer("head").get_weights()
    assert any(not np.array_equal(x, y) for x, y in zip(head_before, head_after)), result.history
    assert_same_weights_list(base.get_weights(), base_weights)
    # frozen for the step only: the returned model trains fully later; the fixed selector stays fixed
    assert result.model.get_layer("lstm_0").trainable
    assert not result.model.get_layer("pick_targets").trainable


# --- distill ------------------------------------------------------------------------------

def test_blended_targets_mix_truth_and_teacher(base, step1):
    windows = step1.new("train")
    _, y = windows.arrays()
    teacher = predict(base, windows)
    np.testing.assert_array_equal(distill.blended_targets(base, windows, 1.0), y)
    np.testing.assert_array_equal(distill.blended_targets(base, windows, 0.0), teacher)
    blended = distill.blended_targets(base, windows, 0.3)
    assert blended.shape == y.shape and blended.dtype == np.float32
    np.testing.assert_allclose(blended, 0.3 * y.astype(np.float64) + 0.7 * teacher.astype(np.float64),
                               rtol=1e-6, atol=1e-5)
    # the teacher really differs from the truth, so the blends above are distinct checks
    assert np.abs(teacher - y).max() > 0.5


def test_distill_alpha_one_is_plain_training_on_true_targets(base, step1, params):
    train = step1.new("train").concat(step1.old("train").sample(OLD_WINDOWS, seed=step1.seed))
    val = step1.new("val")
    p = params.distill
    kwargs = dict(epochs=p.epochs, batch_size=params.train.batch_size, learning_rate=p.learning_rate,
                  patience=p.patience, seed=step1.seed, verbose=0)
    a = distill.student(base, step1)
    with step1.beside_linear(a) as frozen:  # the student's linear part: the ridge fit on all batches so far
        fit(a, train, val, targets=distill.blended_targets(base, train, 1.0), frozen=frozen, **kwargs)
    b = distill.student(base, step1)
    with step1.beside_linear(b) as frozen:
        fit(b, train, val, frozen=frozen, **kwargs)
    assert_same_weights(a, b)
    kept = step1.linear()
    np.testing.assert_array_equal(b.get_layer(LINEAR).get_weights()[0], kept.w.astype(np.float32))
    # and the strategy itself, with alpha = 1, trains exactly that model
    one = distill.update(base, Step(step1.frame, with_section(params, "distill", alpha=1.0), 1))
    assert one.info["windows"] == len(train)
    fit_guards(b, val)  # as the strategy does after training
    assert_same_weights(one.model, b)


def test_distill_teacher_is_a_target_never_an_input(chains, step1, params):
    result = first_step(chains("distill"))
    student = result.model
    assert len(student.inputs) == 1
    assert tuple(student.inputs[0].shape[1:]) == (params.window.lookback, len(params.data.inputs))
    assert not any(isinstance(layer, keras.Model) for layer in student.layers)  # no nested teacher
    assert_fed(result.windows_seen, result.info["epochs"], result.info["windows"])
    assert result.info["windows"] == len(step1.new("train")) + OLD_WINDOWS


def test_distill_student_starts_from_the_teacher_only_when_shapes_match(base, step1, params):
    same = distill.student(base, step1)
    assert_same_weights(same, base)
    smaller = distill.student(base, Step(step1.frame, with_section(params, "distill", units=(3,)), 1))
    assert smaller.get_layer("lstm_0").units == 3
    np.testing.assert_array_equal(smaller.get_layer("head").get_weights()[0], 0.0)  # fresh: zero head


# --- ensemble -----------------------------------------------------------------------------

def test_combine_is_the_weighted_sum_of_its_members(chains, full_frame, params):
    parts = ensemble.members(chains("ensemble").final)
    weights = np.array([0.2, 0.5, 0.3])
    combined = ensemble.combine(parts, weights)
    assert ensemble.members(combined) == parts and all(a is b for a, b in zip(ensemble.members(combined), parts))
    windows = tail_windows(full_frame, params, 4)[3]
    expected = sum(w * predict(m, windows).astype(np.float64) for m, w in zip(parts, weights))
    np.testing.assert_allclose(predict(combined, windows), expected, rtol=1e-6, atol=1e-4)
    # the members differ, so the weights matter
    assert np.abs(predict(parts[0], windows) - predict(parts[2], windows)).max() > 0.1


def test_ensemble_recent_batches_bounds_what_a_member_trains_on(full_frame, base, params):
    """With recent_batches: 1 a member sees only the new batch's training windows, so its cost
    stays flat as history grows; with 0 it sees every batch so far."""

    def windows_per_epoch(recent: int, t: int) -> float:
        p = params.replace("ensemble", recent_batches=recent)
        result = ensemble.update(base, Step(full_frame, p, t))
        return result.windows_seen / len(result.history["loss"])

    bounded = [windows_per_epoch(1, t) for t in (2, 3)]
    assert bounded[0] == pytest.approx(bounded[1], rel=0.5)  # one batch each time
    everything = windows_per_epoch(0, 3)
    # a full batch of training windows per epoch, rounded down to whole batches of train.batch_size
    only_new = len(split_windows(full_frame, params, "train", [3]))
    assert bounded[1] == (only_new // BATCH_SIZE) * BATCH_SIZE
    assert everything > 2 * bounded[1]


def test_members_of_a_plain_forecaster_is_itself(base):
    assert ensemble.members(base) == [base]


def test_ensemble_keeps_at_most_max_members(chains, base):
    chain = chains("ensemble")
    assert len(chain.models) == 4  # three update steps
    final = ensemble.members(chain.final)
    assert len(final) == 3  # base + 3 new members = 4 candidates, the oldest dropped
    assert [m.name for m in final] == ["member_1", "member_2", "member_3"]
    assert chain.steps[0].info["members"] == [base.name, "member_1"]
    assert ensemble.members(chain.models[1])[0] is base
    for rec in chain.steps:
        w = np.array(rec.info["weights"])
        assert len(w) == len(rec.info["members"]) <= 3
        assert (w >= 0).all() and abs(w.sum() - 1.0) <= 1e-12


def test_saved_ensemble_loads_in_safe_mode_and_predicts_the_same(chains, full_frame, params, tmp_path):
    model = chains("ensemble").final
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in all_layers(model))
    path = tmp_path / "ensemble.keras"
    model.save(path)
    back = keras.saving.load_model(path, safe_mode=True, compile=False)
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in all_layers(back))
    assert len(ensemble.members(back)) == 3
    windows = tail_windows(full_frame, params, 4)[3]
    np.testing.assert_allclose(predict(back, windows), predict(model, windows), rtol=1e-6, atol=1e-5)


# --- replay -------------------------------------------------------------------------------

def test_replay_buffer_is_bounded_old_training_windows(frame, params):
    for t in (1, 2):
        step = Step(frame, params, t)
        pool = step.old("train")
        assert len(pool) > BUFFER
        buf = replay.buffer(step)
        assert len(buf) == BUFFER
        batch, split = frame[BATCH].to_numpy(), frame[SPLIT].to_numpy()
        assert (batch[buf.starts] < t).all()
        assert (split[buf.starts] == TRAIN).all()
        assert np.isin(buf.starts, pool.starts).all() and len(np.unique(buf.starts)) == BUFFER
    # step 2's pool holds batch 1 too, and the seeded draw takes windows from both old batches
    assert set(frame[BATCH].to_numpy()[replay.buffer(Step(frame, params, 2)).starts]) == {0, 1}


def test_replay_buffer_is_seeded(frame, params):
    one, again = replay.buffer(Step(frame, params, 1)), replay.buffer(Step(frame, params, 1))
    np.testing.assert_array_equal(one.starts, again.starts)
    other_seed = Step(frame, with_section(params, "train", seed=params.train.seed + 1), 1)
    assert not np.array_equal(replay.buffer(other_seed).starts, one.starts)
    # the seed of another step draws another sample from the same pool
    pool = Step(frame, params, 1).old("train")
    step2 = Step(frame, params, 2)
    assert step2.seed != Step(frame, params, 1).seed
    assert not np.array_equal(pool.sample(BUFFER, step2.seed).starts, one.starts)


def test_replay_buffer_is_the_whole_pool_when_small(frame, params):
    big = Step(frame, with_section(params, "replay", buffer=100_000), 1)
    np.testing.assert_array_equal(replay.buffer(big).starts, big.old("train").starts)


def test_replay_windows_seen_counts_new_and_buffer(chains, frame, params):
    for t, rec in enumerate(chains("replay").steps, start=1):
        step = Step(frame, params, t)
        assert rec.info["replayed"] == BUFFER
        assert_fed(rec.windows_seen, rec.info["epochs"], len(step.new("train")) + BUFFER)


def test_replay_update_fine_tunes_a_copy(chains, base, base_weights, step1):
    result = replay.update(base, step1)
    assert result.model is not base
    assert_same_weights_list(base.get_weights(), base_weights)
    assert result.info["replayed"] == BUFFER
    assert_fed(result.windows_seen, result.info["epochs"], len(step1.new("train")) + BUFFER)
    # the chain's first step is this very update
    assert_same_weights(result.model, chains("replay").models[1])


# --- retrain ------------------------------------------------------------------------------

def test_retrain_ignores_the_previous_model(base, tuned, retrained, step1):
    assert np.abs(flat(tuned.model) - flat(base)).max() > 0  # two different previous models
    again = retrain.update(tuned.model, step1)
    assert_same_weights(again.model, retrained.model)
    assert again.windows_seen == retrained.windows_seen
    expected = len(step1.windows("train", [0, 1]))
    assert_fed(retrained.windows_seen, retrained.info["epochs"], expected)


# --- refit --------------------------------------------------------------------------------

def test_refit_fine_tunes_and_retrains_every_nth_step(chains):
    """With `refit.every: 2` and finetune's settings: step 1 is finetune's step, step 2 retrain's."""
    chain = chains("refit")
    assert [rec.info["retrained"] for rec in chain.steps] == [False, True]
    assert_same_weights(chain.models[1], chains("finetune").models[1])
    assert_same_weights(chain.models[2], chains("retrain").models[2])
    assert chain.steps[0].windows_seen == chains("finetune").steps[0].windows_seen
    assert chain.steps[1].windows_seen == chains("retrain").steps[1].windows_seen


# --- drift --------------------------------------------------------------------------------

def test_drift_retrains_exactly_when_its_band_test_fires_and_its_steps_say_why(chains, frame, params, base):
    """Each step is finetune's step (from the same previous model) or retrain's, as the model's own
    band on the new batch says; the share outside it is measured again here from the model before."""
    from lstm_utils.strategies import drift

    chain = chains("drift")
    previous = base
    for rec in chain.steps:
        test = drift.measure(previous, Step(frame, params, rec.step))
        assert rec.info["retrained"] == test.fired and rec.info["outside"] == pytest.approx(test.outside)
        assert rec.info["limit"] == pytest.approx(test.limit) and "band" in rec.info["why"]
        if test.fired:
            assert rec.windows_seen == chains("retrain").steps[rec.step - 1].windows_seen
        previous = chain.models[rec.step]
    if not chain.steps[0].info["retrained"]:  # step 1 from the base model: finetune's step, bit for bit
        assert_same_weights(chain.models[1], chains("finetune").models[1])
        assert chain.steps[0].windows_seen == chains("finetune").steps[0].windows_seen


# --- deployed losses ------------------------------------------------------------------------

def direct_deployed_starts(frame, params, t: int) -> list[int]:
    """Every row whose window (look-back before it, horizon from it) has all inputs present and all
    targets in batch t, found one row at a time."""
    values = frame[list(params.data.inputs)].to_numpy()
    batch = frame[BATCH].to_numpy()
    lookback, horizon = params.window.lookback, params.window.horizon
    return [i for i in range(lookback, len(frame) - horizon + 1)
            if (batch[i:i + horizon] == t).all() and not np.isnan(values[i - lookback:i + horizon]).any()]


@pytest.mark.parametrize("strategy", ["finetune", "replay"])
def test_deployed_losses_equal_a_direct_computation_with_the_previous_steps_model(chains, strategy, frame, params):
    from lstm_utils.windows import deployed_windows

    chain = chains(strategy)
    assert len(chain.deployed) == len(chain.models) - 1
    for t in range(1, len(chain.models)):
        windows = deployed_windows(frame, params, t)
        starts = direct_deployed_starts(frame, params, t)
        assert windows.starts.tolist() == starts
        split = frame[SPLIT].to_numpy()
        assert len({split[i + params.window.horizon - 1] for i in starts} | {split[i] for i in starts}) == 3
        assert len(starts) > 3 * len(tail_windows(frame, params, t + 1)[t])  # every split, not the test tail alone
        x, y = windows.arrays()
        direct = ((predict(chain.models[t - 1], windows).astype(np.float64) - y) ** 2).mean(axis=(1, 2))
        np.testing.assert_array_equal(chain.deployed[t - 1].sq, direct)
        calibration = split_windows(frame, params, "val", [t - 1])  # the intervals the deployed model carried
        assert chain.calibration_windows[t - 1] == len(calibration)
        assert chain.deployed[t - 1].intervals.keys() == {"80", "95"}


# --- chain --------------------------------------------------------------------------------

@pytest.mark.parametrize("strategy", NAMES)
def test_chain_records_models_errors_and_costs(chains, strategy, base, full_frame, params):
    chain = chains(strategy)
    n = 4 if strategy == "ensemble" else 3
    data = full_frame[full_frame[BATCH] < n]
    assert chain.strategy == strategy
    assert len(chain.models) == n and chain.models[0] is base
    assert chain.rmse.shape == chain.mae.shape == (n, n)
    assert np.isfinite(chain.rmse).all() and np.isfinite(chain.mae).all()
    assert (chain.mae <= chain.rmse + 1e-9).all()
    alone = matrix_scores([base], tail_windows(data, params, n), params.data.targets)
    np.testing.assert_array_equal(chain.rmse[0], alone["rmse"][0])
    np.testing.assert_array_equal(chain.mae[0], alone["mae"][0])
    assert [r.step for r in chain.steps] == list(range(1, n))
    for rec in chain.steps:
        if strategy == "none":
            assert rec.windows_seen == 0
        else:
            assert rec.train_seconds > 0 and rec.windows_seen > 0
    if strategy != "none":  # an update that learned the new batch changes the error on it
        assert chain.rmse[1, 1] != chain.rmse[0, 1]


def test_chains_leave_the_base_model_alone(chains, base, base_weights):
    for strategy in NAMES:
        chains(strategy)
    assert_same_weights_list(base.get_weights(), base_weights)


@pytest.mark.parametrize("strategy", ["distill", "replay"])
def test_same_chain_twice_is_bit_identical(chains, strategy, base, frame, params):
    first = chains(strategy)
    second = run_chain(strategy, base, frame, params, {}, progress=quiet)
    for a, b in zip(first.models, second.models):
        assert_same_weights(a, b)
    np.testing.assert_array_equal(first.rmse, second.rmse)
    np.testing.assert_array_equal(first.mae, second.mae)
    assert [r.windows_seen for r in first.steps] == [r.windows_seen for r in second.steps]


@pytest.mark.parametrize("strategy", ["finetune", "retrain"])
def test_an_update_does_not_depend_on_earlier_training_in_the_process(chains, strategy, base, step1, monkeypatch):
    """The chain's first step ran after other fits (the base model, maybe other chains); the
    same update in a process that has trained nothing yet gives the same weights."""
    expected = chains(strategy).models[1]
    monkeypatch.setattr(train_module, "_TRAINERS", {}, raising=False)  # forget any cached training state
    fresh = {"finetune": finetune, "retrain": retrain}[strategy].update(base, step1)
    assert_same_weights(fresh.model, expected)


def test_new_forecaster_is_seeded(frame, params):
    assert_same_weights(new_forecaster(frame, params), new_forecaster(frame, params))


def test_copy_model_is_independent(base):
    clone = copy_model(base)
    assert_same_weights(clone, base)
    assert [layer.name for layer in clone.layers] == [layer.name for layer in base.layers]
    clone.get_layer("head").set_weights([np.ones_like(w) for w in clone.get_layer("head").get_weights()])
    assert not np.array_equal(clone.get_layer("head").get_weights()[0], base.get_layer("head").get_weights()[0])


def test_step_cache_reuses_a_step_only_for_the_same_inputs(tmp_path, base, frame, params, monkeypatch):
    from lstm_utils import chain as chain_module, scoring
    from lstm_utils.chain import run_chain
    from lstm_utils.stepcache import StepCache

    forecasts, calibrations = [], []
    real_predict = scoring.predict
    monkeypatch.setattr(scoring, "predict", lambda m, w: forecasts.append(1) or real_predict(m, w))
    monkeypatch.setattr(chain_module, "predict", lambda m, w: calibrations.append(1) or real_predict(m, w))

    def chain(cache, base_hash="b", data=("d0", "d1", "d2", "d3")):
        forecasts.clear()
        calibrations.clear()
        return run_chain("finetune", base, frame, params, {}, progress=lines.append, cache=cache,
                         base_hash=base_hash, data_hashes=list(data))

    lines: list[str] = []
    first = chain(StepCache(tmp_path / "s", "finetune"))
    assert all("trained" in line for line in lines) and len(lines) == len(first.steps)
    n = len(first.batches)
    assert len(forecasts) == n * n  # every model on every batch's test tail
    lines.clear()
    second = chain(StepCache(tmp_path / "s", "finetune"))
    assert all("reused" in line for line in lines)
    assert [r.reused for r in second.steps] == [True] * len(second.steps)
    assert [r.reused for r in first.steps] == [False] * len(first.steps)
    assert forecasts == []  # every cell of the error matrix was kept
    assert calibrations == []  # and every model's interval calibration, and every deployed loss
    assert [d.record() for d in second.deployed] == [d.record() for d in first.deployed]  # byte for byte
    for level in first.intervals:  # a reused step keeps its intervals and their coverage, byte for byte
        for measure in first.intervals[level]:
            np.testing.assert_array_equal(first.intervals[level][measure], second.intervals[level][measure])
    for a, b in zip(first.half_widths, second.half_widths):
        assert a.keys() == b.keys() and all(np.array_equal(a[q], b[q]) for q in a)
    assert second.models[1:-1] == [None] * (n - 2)  # not needed, so not loaded (the final one is)
    assert_same_weights(first.final, second.final)
    np.testing.assert_array_equal(first.rmse, second.rmse)
    np.testing.assert_array_equal(first.mae, second.mae)
    lines.clear()
    third = chain(StepCache(tmp_path / "s", "finetune"), data=("d0", "d1", "CHANGED", "d3"))  # batch 2's data changed
    assert ["reused" in line for line in lines] == [True] + [False] * (len(lines) - 1)
    assert len(list((tmp_path / "s").glob("*.keras"))) == len(lines)  # the stale steps were pruned
    # the retrained steps learned the same rows, so the same models: only the cells on batch 2 onwards are new,
    # and the other cells of the models calibrated on batch 2 (their intervals may differ)
    assert len(forecasts) == n * (n - 2) + (n - 2) * 2
    assert len(calibrations) == (n - 2) * 2  # the calibrations from batch 2 on, and the deployed losses on it
    np.testing.assert_array_equal(third.rmse, first.rmse)
    np.testing.assert_array_equal(third.deployed[-1].sq, first.deployed[-1].sq)
    lines.clear()
    kept = sorted(p.name for p in (tmp_path / "s").iterdir())
    alone = chain(None)  # no step state (NoMemory): the same chain, every step and cell computed, nothing kept
    assert all("trained" in line for line in lines) and len(forecasts) == n * n
    assert alone.keys == [""] * n and alone.hashes == ["b"] + [""] * (n - 1)
    np.testing.assert_array_equal(alone.rmse, first.rmse)
    assert [d.record() for d in alone.deployed] == [d.record() for d in first.deployed]
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == kept


def test_step_cache_does_not_reuse_steps_made_by_other_code(tmp_path, base, frame, params, monkeypatch):
    from lstm_utils import stepcache
    from lstm_utils.chain import run_chain
    from lstm_utils.stepcache import StepCache

    lines: list[str] = []
    for _ in range(2):
        run_chain("none", base, frame, params, {}, progress=lines.append, cache=StepCache(tmp_path / "s", "none"),
                  base_hash="b", data_hashes=["d0", "d1", "d2", "d3"])
    half = len(lines) // 2
    assert all("reused" not in x for x in lines[:half]) and all("reused" in x for x in lines[half:])
    monkeypatch.setattr(stepcache, "code_version", lambda strategy=None: "edited package")
    lines.clear()
    run_chain("none", base, frame, params, {}, progress=lines.append, cache=StepCache(tmp_path / "s", "none"),
              base_hash="b", data_hashes=["d0", "d1", "d2", "d3"])
    assert lines and all("reused" not in x for x in lines)


def _finetune_with_state(base, frame, params, folder):
    from lstm_utils.chain import run_chain
    from lstm_utils.stepcache import StepCache

    lines: list[str] = []
    chain = run_chain("finetune", base, frame, params, {}, progress=lines.append, cache=StepCache(folder, "finetune"),
                      base_hash="b", data_hashes=["d0", "d1", "d2", "d3"])
    return chain, lines


@pytest.fixture(scope="module")
def intact_state(tmp_path_factory, base, frame, params):
    """A finetune chain's step state as an intact run leaves it, and the chain."""
    folder = tmp_path_factory.mktemp("intact") / "state"
    return folder, _finetune_with_state(base, frame, params, folder)[0]


@pytest.mark.parametrize("damage", ["cut the model short", "edit the record", "delete the model",
                                    "garble the cells", "edit the calibrations"])
def test_a_damaged_step_state_entry_is_a_miss_named_in_one_line_and_recovers_the_same_bytes(
        tmp_path, intact_state, base, frame, params, capsys, damage):
    """A full disk, an interrupted copy or a stray edit in state/<strategy>: that step and the
    ones after it are computed again, with one warning line naming the file, and every kept file
    ends with the bytes of an intact run."""
    import shutil

    original, intact = intact_state
    folder = shutil.copytree(original, tmp_path / "damaged")
    keys = intact.keys[1:]
    victim = {"cut the model short": folder / f"{keys[1]}.keras", "edit the record": folder / f"{keys[1]}.json",
              "delete the model": folder / f"{keys[1]}.keras", "garble the cells": folder / "scores.json",
              "edit the calibrations": folder / "intervals.json"}[damage]
    if damage == "delete the model":
        victim.unlink()
    elif damage == "cut the model short":
        victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    elif damage == "garble the cells":
        victim.write_text(victim.read_text()[:-40])
    else:  # a value changed, the JSON still valid
        victim.write_text(victim.read_text().replace('"windows_seen": ', '"windows_seen": 1', 1)
                          .replace('"windows": ', '"windows": 1', 1))
    capsys.readouterr()
    again, lines = _finetune_with_state(base, frame, params, folder)
    warnings = [line for line in capsys.readouterr().out.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and str(victim) in warnings[0], warnings
    if victim.suffix == ".keras" or victim.name == f"{keys[1]}.json":  # step 2 and every later one again
        assert ["reused" in line for line in lines] == [True] + [False] * (len(lines) - 1)
    else:
        assert all("reused" in line for line in lines)
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in original.iterdir())
    for path in original.iterdir():
        if path.suffix == ".keras" or path.name in ("scores.json", "intervals.json"):
            assert (folder / path.name).read_bytes() == path.read_bytes(), path.name
    np.testing.assert_array_equal(again.rmse, intact.rmse)


# --- intervals ------------------------------------------------------------------------------

def test_each_model_is_calibrated_on_its_steps_validation_tail_and_scored_on_every_test_tail(chains, frame, params):
    """The model after step t: half-widths from its own errors on batch t's validation tail
    (the conformal rank by hand), and coverage / score of every test tail with them."""
    chain = chains("finetune")
    tests = tail_windows(frame, params, len(chain.models))
    for t, model in enumerate(chain.models):
        x, y = split_windows(frame, params, "val", [t]).arrays()
        errs = np.sort(np.abs(predict(model, split_windows(frame, params, "val", [t])).astype(np.float64) - y), axis=0)
        assert chain.calibration_windows[t] == len(x)
        for q in params.intervals.levels:
            rank = int(np.ceil((len(x) + 1) * q - 1e-9))
            np.testing.assert_array_equal(chain.half_widths[t][q], errs[rank - 1])
            name = f"{100 * q:g}"
            for k, windows in enumerate(tests):
                _, yk = windows.arrays()
                pred = predict(model, windows).astype(np.float64)
                lo, hi = pred - chain.half_widths[t][q], pred + chain.half_widths[t][q]
                assert chain.intervals[name]["coverage"][t, k] == pytest.approx(((yk >= lo) & (yk <= hi)).mean())
                assert chain.intervals[name]["width"][t, k] == pytest.approx(2 * chain.half_widths[t][q].mean())
    # the 95% interval is never narrower than the 80% one
    assert all((w[0.95] >= w[0.8]).all() for w in chain.half_widths)
    from lstm_utils.pages.strategy import intervals_by_step

    table = intervals_by_step(chain)  # what the strategy report shows: one row per level and step
    assert list(table.index) == [(f"{q}%", t) for q in ("80", "95") for t in range(1, len(chain.models))]
    assert table.loc[("95%", 2), "coverage"] == chain.intervals["95"]["coverage"][2, 2]
    assert table.loc[("80%", 1), "calibration_windows"] == chain.calibration_windows[1]


def test_a_wider_calibration_window_takes_the_newest_batches(base, frame, params):
    wide = params.replace("intervals", calibration_batches=2)
    chain = run_chain("none", base, frame, wide, {}, progress=quiet)
    val = [len(split_windows(frame, params, "val", [k])) for k in range(3)]
    assert chain.calibration_windows == [val[0], val[0] + val[1], val[1] + val[2]]
    x, y = split_windows(frame, params, "val", [1, 2]).arrays()
    errs = np.sort(np.abs(predict(base, split_windows(frame, params, "val", [1, 2])).astype(np.float64) - y), axis=0)
    np.testing.assert_array_equal(chain.half_widths[2][0.8], errs[int(np.ceil((len(x) + 1) * 0.8 - 1e-9)) - 1])


# --- the gate (model.gate: fitted) ------------------------------------------------------------

def test_with_a_gate_every_strategy_that_learns_refits_it_on_the_new_validation_tail(frame, params, base):
    """The base model's gate is fitted on its validation tail; each step of a strategy that
    learns fits its model's gate again on the new batch's (and records it); none keeps the base."""
    from lstm_utils import strategies
    from lstm_utils.model import fit_gate, gate_weights, has_gate

    gated = with_section(params, "model", gate="fitted")
    assert not has_gate(base)  # the module's base model, without the key
    run = train_new(frame, gated, [0], verbose=0)
    base = run.model
    assert has_gate(base)
    step = Step(frame, gated, 1)
    # fit_gate gives the same weights whatever the gate was: the base's come from batch 0's tail
    assert fit_gate(copy_model(base), split_windows(frame, gated, "val", [0])) == pytest.approx(run.guards["gate"],
                                                                                             abs=1e-6)
    for name in ("finetune", "distill", "replay", "retrain", "ensemble", "refit"):
        result = strategies.get(name).update(base, step)
        model = ensemble.members(result.model)[-1] if name == "ensemble" else result.model
        gate = result.info["gate"]
        assert gate == gate_weights(model).tolist() and all(0.0 <= g <= 1.0 for g in gate), name
        assert fit_gate(copy_model(model), step.new("val")) == pytest.approx(gate, abs=1e-6), name
        other = fit_gate(copy_model(model), split_windows(frame, gated, "val", [0]))  # the base's tail instead
        assert abs(gate[0] - other[0]) > 1e-3, name
    kept = none.update(base, step)
    assert kept.model is base and "gate" not in kept.info and gate_weights(base).tolist() == run.guards["gate"]


def test_with_a_share_every_strategy_that_learns_refits_it_and_records_it_at_each_step(frame, params):
    """`model.share: fitted` (with a gate too): the base model's share and gate are fitted on its
    validation tail; each step of a strategy that learns fits both again on the new batch's, and
    records them; none keeps the base's."""
    from lstm_utils import strategies
    from lstm_utils.model import fit_guards, guards, has_share

    shared = with_section(params, "model", share="fitted", gate="fitted")
    run = train_new(frame, shared, [0], verbose=0)
    base = run.model
    assert has_share(base) and set(run.guards) == {"share", "gate"}
    assert fit_guards(copy_model(base), split_windows(frame, shared, "val", [0])) == {
        k: pytest.approx(v, abs=1e-6) for k, v in run.guards.items()}
    step = Step(frame, shared, 1)
    for name in ("finetune", "distill", "replay", "retrain", "ensemble", "refit"):
        result = strategies.get(name).update(base, step)
        model = ensemble.members(result.model)[-1] if name == "ensemble" else result.model
        fitted = {k: result.info[k] for k in ("share", "gate")}
        assert fitted == guards(model), name
        assert all(0.0 <= g <= 1.0 for v in fitted.values() for g in v), name
        assert fit_guards(copy_model(model), step.new("val")) == {
            k: pytest.approx(v, abs=1e-6) for k, v in fitted.items()}, name
    kept = none.update(base, step)
    assert kept.model is base and "share" not in kept.info and guards(base) == run.guards


def test_the_progress_line_says_reused_or_nothing_to_train_rather_than_trained():
    from lstm_utils.chain import StepRecord, step_words

    def rec(**changes) -> StepRecord:
        return StepRecord(**({"step": 1, "batch": "2013-08", "train_seconds": 3.3, "windows_seen": 640} | changes))

    assert step_words(rec()) == "trained, 3.3 s, 640 windows seen"
    assert step_words(rec(reused=True)) == "reused from the step state (trained in 3.3 s when computed)"
    assert step_words(rec(windows_seen=0, train_seconds=0.0)) == "nothing to train (the model is kept)"

"""params.yaml: loading, and every kind of bad key named in a ParamsError."""

from __future__ import annotations

import copy

import pytest
import yaml

from conftest import PARAMS_PATH
from lstm_utils.config import DataParams, Params, load_params, parse_params
from lstm_utils.errors import ParamsError


@pytest.fixture
def raw() -> dict:
    """The shipped params.yaml as a plain mapping, to break one key at a time."""
    return yaml.safe_load(PARAMS_PATH.read_text(encoding="utf-8"))


def write(tmp_path, raw: dict):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def error_for(tmp_path, raw: dict) -> ParamsError:
    with pytest.raises(ParamsError) as info:
        load_params(write(tmp_path, raw))
    return info.value


def test_shipped_file_loads_with_its_values(params, raw):
    assert isinstance(params, Params)
    assert isinstance(params.data, DataParams)
    assert params.data.time_column == "time_hour"
    assert params.data.targets == ("temp",)
    assert params.data.inputs == ("temp", "dewp", "humid", "wind_speed", "precip", "pressure", "visib")
    assert params.split.base_batches == 6  # January-June of the sample
    for section in ("window", "train", "baselines", "finetune", "replay", "compare"):
        typed = getattr(params, section)
        for key, value in raw[section].items():
            got = getattr(typed, key)
            assert (list(got) if isinstance(got, tuple) else got) == value, f"{section}.{key}"
    assert params.compare.strategies == ("none", "finetune", "distill", "ensemble", "retrain", "replay", "refit")
    assert (params.compare.rank_by, params.compare.choose, params.compare.confidence) == ("deployed_rmse", "best", 0.9)
    assert (params.compare.max_forgetting, params.compare.min_windows) == (0.05, 100)
    assert (params.compare.hysteresis, params.compare.stale, params.compare.candidates) == ("yield", "informed",
                                                                                             "strategies")
    assert set(params.strategies) == set(params.compare.strategies) | {"drift"}  # drift's section, not compared
    assert params.model.units == tuple(raw["model"]["units"]) and params.distill.units == tuple(raw["distill"]["units"])
    assert isinstance(params.train.learning_rate, float)
    assert params.section("window") == raw["window"]


def test_a_copy_written_elsewhere_loads_the_same(tmp_path, raw, params):
    assert load_params(write(tmp_path, raw)) == params


def test_inputs_put_targets_first_without_repeating_them(tmp_path, raw):
    raw["data"]["targets"] = ["dewp", "temp"]
    raw["data"]["features"] = ["humid", "temp", "dewp"]
    assert load_params(write(tmp_path, raw)).data.inputs == ("dewp", "temp", "humid")


def test_int_is_accepted_for_a_float(tmp_path, raw):
    raw["train"]["learning_rate"] = 1
    value = load_params(write(tmp_path, raw)).train.learning_rate
    assert value == 1.0 and isinstance(value, float)


def test_exponent_without_dot_is_a_number(tmp_path):
    # PyYAML reads `1e-3` (no dot) as text; the hint itself suggests writing it this way
    text = PARAMS_PATH.read_text(encoding="utf-8").replace("learning_rate: 0.0001", "learning_rate: 1e-3")
    assert "learning_rate: 1e-3" in text
    path = tmp_path / "params.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_params(path).train.learning_rate == 0.001


def test_unknown_key_is_named_and_the_close_match_suggested(tmp_path, raw):
    raw["train"]["epoch"] = raw["train"].pop("epochs")
    err = error_for(tmp_path, raw)
    assert err.key == "train.epoch"
    assert "`train.epoch` is not a known setting" in err.message
    assert err.hint == "did you mean `train.epochs`?"
    assert "did you mean `train.epochs`?" in str(err)


def test_unknown_key_without_close_match_lists_the_allowed_ones(tmp_path, raw):
    raw["window"]["zzz"] = 1
    err = error_for(tmp_path, raw)
    assert err.key == "window.zzz"
    assert "lookback, horizon" in err.hint


def test_unknown_section_suggests_the_close_one(tmp_path, raw):
    raw["trian"] = raw.pop("train")
    err = error_for(tmp_path, raw)
    assert err.key == "trian"
    assert "`train`" in err.hint


def test_missing_key(tmp_path, raw):
    del raw["window"]["horizon"]
    err = error_for(tmp_path, raw)
    assert err.key == "window.horizon"
    assert "`window.horizon` is missing" in err.message


def test_missing_section(tmp_path, raw):
    del raw["baselines"]
    err = error_for(tmp_path, raw)
    assert err.key == "baselines"
    assert "section is missing" in err.message


@pytest.mark.parametrize("section, key, value, words", [
    ("train", "epochs", "60", "must be an integer, got '60'"),
    ("train", "epochs", True, "must be an integer, got True"),
    ("window", "lookback", 48.0, "must be an integer, got 48.0"),
    ("train", "learning_rate", "fast", "must be a number, got 'fast'"),
    ("train", "learning_rate", False, "must be a number, got False"),
    ("data", "targets", "temp", "must be a non-empty list, got 'temp'"),
    ("data", "targets", [], "must be a non-empty list, got []"),
    ("data", "time_column", 5, "must be a non-empty text, got 5"),
])
def test_wrong_type(tmp_path, raw, section, key, value, words):
    raw[section][key] = value
    err = error_for(tmp_path, raw)
    assert err.key == f"{section}.{key}"
    assert f"`{section}.{key}` {words}" in err.message


def test_wrong_type_inside_a_list_names_the_item(tmp_path, raw):
    raw["model"]["units"] = [64, "32"]
    err = error_for(tmp_path, raw)
    assert err.key == "model.units[1]"
    assert "must be an integer, got '32'" in err.message


@pytest.mark.parametrize("lookback", [0, -5])
def test_lookback_below_one(tmp_path, raw, lookback):
    raw["window"]["lookback"] = lookback
    err = error_for(tmp_path, raw)
    assert err.key == "window.lookback"
    assert f"must be >= 1, got {lookback}" in err.message


@pytest.mark.parametrize("val, test", [(0.5, 0.5), (0.6, 0.45)])
def test_val_plus_test_fraction_must_leave_a_train_part(tmp_path, raw, val, test):
    raw["split"]["val_fraction"], raw["split"]["test_fraction"] = val, test
    err = error_for(tmp_path, raw)
    assert err.key == "split.test_fraction"
    assert f"plus split.val_fraction is {val + test:g}" in err.message
    assert "sum to < 1" in err.message


def test_fractions_just_under_one_are_fine(tmp_path, raw):
    raw["split"]["val_fraction"], raw["split"]["test_fraction"] = 0.5, 0.49
    assert load_params(write(tmp_path, raw)).split.test_fraction == 0.49


def test_lookback_shorter_than_the_season(tmp_path, raw):
    raw["window"]["lookback"] = 23
    err = error_for(tmp_path, raw)
    assert err.key == "window.lookback"
    assert "(23) must be >= `baselines.season` (24)" in err.message
    assert "at least 24" in err.hint


def test_lookback_equal_to_the_season_is_fine(tmp_path, raw):
    raw["window"]["lookback"] = 24
    assert load_params(write(tmp_path, raw)).window.lookback == 24


@pytest.mark.parametrize("residual", ["seasonal", "Season", "zero"])
def test_residual_must_be_season_last_or_none(tmp_path, raw, residual):
    raw["model"]["residual"] = residual
    err = error_for(tmp_path, raw)
    assert err.key == "model.residual"
    assert f"must be season, last or none, got {residual!r}" in err.message


@pytest.mark.parametrize("residual", ["season", "last", "none"])
def test_each_allowed_residual_loads(tmp_path, raw, residual):
    raw["model"]["residual"] = residual
    assert load_params(write(tmp_path, raw)).model.residual == residual


@pytest.mark.parametrize("residual, gate", [("season", "fitted"), ("last", "fitted"), ("none", "none")])
def test_a_gate_is_none_by_default_and_fitted_needs_an_anchor(tmp_path, raw, residual, gate):
    assert "gate" not in raw["model"] and load_params(write(tmp_path, raw)).model.gate == "none"
    raw["model"]["residual"], raw["model"]["gate"] = residual, gate
    assert load_params(write(tmp_path, raw)).model.gate == gate
    raw["model"]["residual"], raw["model"]["gate"] = "none", "fitted"
    err = error_for(tmp_path, raw)
    assert err.key == "model.gate" and "needs `model.residual` season or last" in err.message
    raw["model"]["gate"] = "yes"
    assert "must be none or fitted" in error_for(tmp_path, raw).message


@pytest.mark.parametrize("section, key, value", [
    ("data", "max_fill", -1), ("data", "separator", ";;"), ("model", "dropout", 1.0),
    ("train", "learning_rate", 0), ("split", "base_batches", 0), ("model", "units", [32, 0]),
])
def test_other_impossible_values(tmp_path, raw, section, key, value):
    raw[section][key] = value
    assert error_for(tmp_path, raw).key == f"{section}.{key}"


def test_time_column_listed_as_feature(tmp_path, raw):
    raw["data"]["features"] = raw["data"]["features"] + ["time_hour"]
    assert error_for(tmp_path, raw).key == "data.time_column"


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ParamsError, match="no such file"):
        load_params(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed\n", encoding="utf-8")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(bad)
    with pytest.raises(ParamsError, match="must be a mapping of sections"):
        parse_params(["data"])


def test_does_not_mutate_the_raw_mapping(raw):
    before = copy.deepcopy(raw)
    parse_params(raw)
    assert raw == before


def test_ensemble_recent_batches_must_not_be_negative(tmp_path, raw):
    raw["ensemble"]["recent_batches"] = -1
    err = error_for(tmp_path, raw)
    assert err.key == "ensemble.recent_batches"
    assert "must be >= 0, got -1" in err.message and "bounds the cost" in err.hint


@pytest.mark.parametrize("key, value", [("freq", "fortnightly"), ("timezone", "Mars/Olympus_Mons")])
def test_frequency_and_time_zone_are_checked_here_not_guessed_later(tmp_path, raw, key, value):
    raw["data"][key] = value
    err = error_for(tmp_path, raw)
    assert err.key == f"data.{key}"
    assert f"{value!r}" in err.message and ("pandas frequency" if key == "freq" else "time zone") in err.message


def test_a_missing_key_names_its_default(tmp_path, raw):
    del raw["finetune"]["patience"]
    err = error_for(tmp_path, raw)
    assert err.key == "finetune.patience"
    assert "add `patience:` under `finetune:` (default: 3)" in err.hint


def test_every_compared_strategy_needs_its_section(tmp_path, raw):
    del raw["retrain"]
    err = error_for(tmp_path, raw)
    assert err.key == "retrain" and "section is missing" in err.message
    assert "compare.strategies" in err.hint and "lstm_utils/strategies/retrain.py" in err.hint


def test_a_strategy_left_out_of_the_comparison_needs_no_section_but_is_checked_if_there(tmp_path, raw):
    raw["compare"]["strategies"] = ["none", "replay"]
    del raw["finetune"]
    params = load_params(write(tmp_path, raw))
    assert params.compare.strategies == ("none", "replay") and "finetune" not in params.strategies
    raw["distill"]["alpha"] = 2
    assert error_for(tmp_path, raw).key == "distill.alpha"


@pytest.mark.parametrize("names, words", [(["none", "finetuned"], "'finetuned', which is not a strategy"),
                                          (["none", "none"], "lists a strategy twice"),
                                          ([], "must be a non-empty list")])
def test_compare_strategies_must_name_known_strategies_once(tmp_path, raw, names, words):
    raw["compare"]["strategies"] = names
    err = error_for(tmp_path, raw)
    assert err.key == "compare.strategies" and words in err.message


@pytest.mark.parametrize("levels, words", [([0.8, 1.0], "between 0 and 1"), ([0, 0.9], "between 0 and 1"),
                                           ([0.9, 0.9], "lists a level twice"), ([], "must be a non-empty list"),
                                           (["high"], "must be a number")])
def test_interval_levels_lie_strictly_between_0_and_1_once_each(tmp_path, raw, levels, words):
    raw["intervals"]["levels"] = levels
    err = error_for(tmp_path, raw)
    assert err.key.startswith("intervals.levels") and words in err.message


@pytest.mark.parametrize("designs, words", [(["relative", "levels"], "each of relative, absolute, both"),
                                            (["both", "both"], "at most once"), ([], "non-empty list")])
def test_linear_designs_name_members_of_the_family_once(tmp_path, raw, designs, words):
    raw["baselines"]["linear_designs"] = designs
    err = error_for(tmp_path, raw)
    assert err.key == "baselines.linear_designs" and words in err.message


def test_linear_learns_is_all_or_train(tmp_path, raw):
    raw["baselines"]["linear_learns"] = "everything"
    err = error_for(tmp_path, raw)
    assert err.key == "baselines.linear_learns" and "all" in err.message and "train" in err.message


def test_calibration_batches_at_least_one(tmp_path, raw):
    raw["intervals"]["calibration_batches"] = 0
    assert error_for(tmp_path, raw).key == "intervals.calibration_batches"


@pytest.mark.parametrize("rank_by, words, hint", [
    ("new_interval_score_90", "names a level that `intervals.levels`", "new_interval_score_95"),
    ("deployed_interval_score_90", "names a level that `intervals.levels`", "deployed_interval_score_95"),
    ("interval_score", "allowed: deployed_rmse, deployed_mae, new_rmse, forward_rmse", "deployed_rmse ranks")])
def test_rank_by_an_interval_score_needs_its_level(tmp_path, raw, rank_by, words, hint):
    raw["compare"]["rank_by"] = rank_by
    err = error_for(tmp_path, raw)
    assert err.key == "compare.rank_by" and words in err.message
    assert hint in err.hint


@pytest.mark.parametrize("rank_by", ["new_interval_score_95", "deployed_interval_score_80", "new_rmse"])
def test_rank_by_a_known_figure_loads(tmp_path, raw, rank_by):
    raw["compare"]["rank_by"] = rank_by
    assert load_params(write(tmp_path, raw)).compare.rank_by == rank_by


@pytest.mark.parametrize("key, value, words", [
    ("choose", "fastest", "must be cheapest, best or margin"), ("confidence", 1.0, "between 0 and 1"),
    ("min_windows", 0, ">= 1"), ("max_forgetting", -0.1, ">= 0")])
def test_the_champion_rule_keys_are_checked(tmp_path, raw, key, value, words):
    raw["compare"][key] = value
    err = error_for(tmp_path, raw)
    assert err.key == f"compare.{key}" and words in err.message


def test_a_strategy_without_settings_takes_an_empty_section(tmp_path, raw):
    raw["none"] = None  # `none:` with nothing after it
    assert load_params(write(tmp_path, raw)).none == load_params(PARAMS_PATH).none
    raw["none"] = {"units": [8]}
    err = error_for(tmp_path, raw)
    assert err.key == "none.units" and err.hint == "`none` has no settings: write `none: {}`"


def test_limits_come_from_each_strategy_module(tmp_path, raw):
    raw["finetune"]["trainable"] = "lstm"
    err = error_for(tmp_path, raw)
    assert "must be all or head, got 'lstm'" in err.message and "frozen" in err.hint
    raw["finetune"]["trainable"] = "all"
    raw["distill"]["units"] = [8, 0]
    err = error_for(tmp_path, raw)
    assert err.key == "distill.units" and "must all be >= 1, got [8, 0]" in err.message


def test_replace_changes_the_typed_section_and_the_raw_mapping(params):
    other = params.replace("finetune", epochs=7)
    assert other.finetune.epochs == 7 and other.raw["finetune"]["epochs"] == 7
    assert params.finetune.epochs == 8 and params.raw["finetune"]["epochs"] == 8  # untouched
    assert params.replace("model", units=(4,)).raw["model"]["units"] == [4]


def test_separator_auto_and_a_decimal_comma_load_and_a_comma_for_both_is_refused(tmp_path, raw):
    raw["data"] |= {"separator": "auto", "decimal": ","}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    loaded = load_params(path)
    assert (loaded.data.separator, loaded.data.decimal) == ("auto", ",")
    raw["data"]["separator"] = ","
    err = error_for(tmp_path, raw)
    assert err.key == "data.separator" and "data.decimal" in err.message
    raw["data"] |= {"separator": ";;", "decimal": "."}
    assert "one character or auto" in error_for(tmp_path, raw).message
    raw["data"] |= {"separator": ";", "decimal": ";"}
    assert error_for(tmp_path, raw).key == "data.decimal"

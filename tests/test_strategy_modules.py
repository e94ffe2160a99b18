"""Each strategy in one home: what its module declares, what is derived from it, and a new
strategy added the way docs/adding-a-strategy.md says, run through the real pipeline."""

from __future__ import annotations

import dataclasses
import json
import sys

import numpy as np
import pytest
import yaml

from lstm_utils import compare, strategies
from lstm_utils.config import CORE, load_params
from lstm_utils.notebooks import title
from lstm_utils.stages.base import BASE_KEYS
from lstm_utils.strategies import COMMON_KEYS, STRATEGIES, Strategy, ensemble
from tiny_project import ROOT, copy_project, ran_stages, readme_blocks, readme_commands, run

ADDING = "# Adding a strategy"
DOC = ROOT / "docs" / "adding-a-strategy.md"


def test_every_strategy_is_found_in_its_own_module():
    shipped = yaml.safe_load((ROOT / "params.yaml").read_text())["compare"]["strategies"]
    assert set(STRATEGIES) == {"none", "finetune", "distill", "ensemble", "retrain", "replay", "refit", "drift"}
    assert set(shipped) == set(STRATEGIES) - {"drift"}  # drift has its section; compared where a user adds it
    assert set(yaml.safe_load((ROOT / "params.yaml").read_text())) >= set(STRATEGIES)
    for name, spec in STRATEGIES.items():
        assert isinstance(spec, Strategy) and spec.name == name
        assert sys.modules[f"lstm_utils.strategies.{name}"].STRATEGY is spec
        assert spec.title and spec.fits and len(spec.what) > 80 and len(spec.cost) > 40, name
    assert [s for s, spec in STRATEGIES.items() if spec.reference] == ["retrain"]


def test_each_params_dataclass_declares_defaults_types_and_limits_and_the_shipped_file_holds_the_defaults():
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    sections = {**CORE, **{n: s.params for n, s in STRATEGIES.items()}}
    for name, cls in sections.items():
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, name
        for f in dataclasses.fields(cls):
            assert f.metadata, f"{name}.{f.name} is not declared with setting()"
            if f.default is dataclasses.MISSING:
                assert name == "data", f"{name}.{f.name} has no default"
                continue
            default = list(f.default) if isinstance(f.default, tuple) else f.default
            if f.metadata["optional"]:  # absent means the default: the behaviour before the key existed
                if f.metadata["shipped"] is None:  # left out of the shipped file
                    assert f.name not in raw[name], f"{name}.{f.name} is optional"
                else:  # on for new projects: the shipped file sets it (older files keep their results)
                    assert raw[name][f.name] == f.metadata["shipped"] != default, f"{name}.{f.name}"
                continue
            assert raw[name][f.name] == default, f"{name}.{f.name}"


def test_titles_and_when_it_fits_are_derived_from_the_modules():
    assert title("finetune") == "Strategy finetune: Fine-tuning"
    assert title("compare").startswith("Comparison")
    summary = {"deployed_rmse": 3.0, "new_rmse": 3.0, "new_mae": 2.0, "old_rmse": 5.0, "forgetting": 0.0,
               "forgetting_share": 0.0, "forward_rmse": 3.1, "windows_seen": 10}
    text = compare.narrative({"replay": summary, "retrain": summary | {"windows_seen": 100}}, {}, "replay")
    assert f"| replay | {STRATEGIES['replay'].fits} | 1 of 2 |" in text
    assert "| strategy | when it fits | rank | deployed RMSE vs best | cost vs retrain | forgetting |" in text
    assert "| replay | the usual winner in continual learning | 1 of 2 | +0.0% | 10% | +0.0% |" in text


def test_the_keys_a_strategy_reads_are_its_section_the_common_keys_and_what_it_declares():
    params = load_params(ROOT / "params.yaml")
    used = STRATEGIES["distill"].used(params.raw)
    assert list(used) == [*COMMON_KEYS, "distill", "model", "baselines.season", "train.batch_size", "train.seed"]
    assert used["distill"] == params.raw["distill"] and used["train.seed"] == 42
    assert STRATEGIES["none"].used(params.raw)["none"] == {}


def test_a_module_that_declares_no_strategy_is_named(tmp_path, monkeypatch):
    (tmp_path / "half_written.py").write_text('"""A strategy someone is still writing."""\n')
    monkeypatch.setattr(strategies, "__path__", [*strategies.__path__, str(tmp_path)])
    monkeypatch.setattr(strategies, "_FOUND", {})
    monkeypatch.delitem(sys.modules, "lstm_utils.strategies.half_written", raising=False)
    with pytest.raises(TypeError, match=r"half_written.py has no `STRATEGY = Strategy\(...\)`"):
        strategies.STRATEGIES


def test_an_unknown_strategy_is_a_clear_error():
    from lstm_utils.errors import ParamsError

    with pytest.raises(ParamsError, match="unknown strategy 'finetuned'; known: ") as err:
        strategies.get("finetuned")
    assert "lstm_utils/strategies/finetuned.py" in err.value.hint


def test_each_strategy_stage_reads_its_section_and_the_rest_through_the_base_model():
    """A strategy's stage lists the common keys and its own section; every other key its module
    says it reads is one the base stage lists, so a change there re-runs base, which rewrites
    models/base.json, on which every strategy stage depends."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    stage = stages["strategy"]
    assert stage["foreach"] == "${compare.strategies}"
    assert stage["do"]["params"] == list(COMMON_KEYS) + ["${item}"]
    assert {"models/base.keras", "models/base.json"} <= set(stage["do"]["deps"])
    assert {"state/${item}": {"persist": True}} in stage["do"]["outs"]
    base_keys = stages["base"]["params"]
    # what the base model's kept state is keyed on, and the intervals it calibrates (not part of its training)
    assert tuple(base_keys) == BASE_KEYS + ("intervals",)
    for name, spec in STRATEGIES.items():
        assert spec.keys == COMMON_KEYS + (name,) + spec.reads
        for key in spec.reads:
            assert any(key == k or key.startswith(k + ".") for k in base_keys), (name, key)



# --- ensemble weights (pure NumPy) ----------------------------------------------------------

def test_fit_weights_recovers_an_exact_mixture():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 6, 1)), rng.normal(size=(50, 6, 1))
    w = ensemble.fit_weights([a, b], 0.25 * a + 0.75 * b)
    np.testing.assert_allclose(w, [0.25, 0.75], atol=1e-9)
    assert abs(w.sum() - 1.0) <= 1e-12


def test_fit_weights_gives_the_truth_all_the_weight():
    rng = np.random.default_rng(1)
    truth = rng.normal(size=(40, 6, 2))
    noisy = [truth + rng.normal(size=truth.shape), truth + 2 * rng.normal(size=truth.shape)]
    w = ensemble.fit_weights([noisy[0], truth, noisy[1]], truth)
    np.testing.assert_allclose(w, [0.0, 1.0, 0.0], atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_fit_weights_are_a_convex_combination(seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(30, 6, 1))
    forecasts = [y + rng.normal(scale=s, size=y.shape) + shift for s, shift in ((0.5, 1.0), (1.0, -2.0), (3.0, 0.0))]
    forecasts.append(2.0 * y)  # the unconstrained fit would give this one a negative partner
    w = ensemble.fit_weights(forecasts, y)
    assert w.shape == (4,)
    assert (w >= 0).all()
    assert abs(w.sum() - 1.0) <= 1e-12
    # no other convex combination of a random draw does better
    p = np.stack([f.reshape(-1) for f in forecasts], axis=1)
    best = np.mean((p @ w - y.reshape(-1)) ** 2)
    for other in rng.dirichlet(np.ones(4), size=200):
        assert best <= np.mean((p @ other - y.reshape(-1)) ** 2) + 1e-12


# --- a new strategy, added as docs/adding-a-strategy.md says -------------------------------------

def test_the_readme_section_shows_one_module_one_params_section_and_one_command():
    (module,) = readme_blocks(ADDING, "python", DOC)
    (section,) = readme_blocks(ADDING, "yaml", DOC)
    assert readme_commands(ADDING, path=DOC) == ["dvc repro"]
    assert 'name="recent"' in module and list(yaml.safe_load(section)) == ["recent"]


@pytest.mark.slow
def test_a_strategy_added_as_the_readme_says_runs_through_the_pipeline(repro_project, tmp_path):
    """One module, its params section and its name in compare.strategies, in a copy of the
    project after its first run: `dvc repro` trains only the new strategy, and the new strategy
    is in the compare report, the index and metrics.json."""
    root = copy_project(repro_project[0], tmp_path / "p")
    (module,) = readme_blocks(ADDING, "python", DOC)
    (section,) = readme_blocks(ADDING, "yaml", DOC)
    (root / "lstm_utils/strategies/recent.py").write_text(module)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params |= {"recent": yaml.safe_load(section)["recent"] | {"epochs": 2, "patience": 1}}  # tiny, as the copy's other strategies
    kept = ["none", "finetune"]  # two of the copy's strategies are enough to see that they are not trained again
    params["compare"]["strategies"] = kept + ["recent"]
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    before = {f"{name}.keras": (root / "models" / f"{name}.keras").read_bytes() for name in ("base", "none", "finetune")}
    metrics_before = json.loads((root / "reports/metrics.json").read_text())
    done = run(["dvc", "repro"], root)
    output = done.stdout + done.stderr
    # the package changed, so DVC runs every stage; only the new strategy trains: the base model
    # and every other strategy's steps are kept for code that leaves them as they were
    assert ran_stages(done.stdout) == {"data", "base", "compare", "strategy@none", "strategy@finetune",
                                       "strategy@recent"}
    assert "recent: step 1/1 (part-02): trained" in output
    assert "(reused: trained by an earlier run)" in output and "[base] Epoch" not in output
    assert all(f"{s}: step 1/1 (part-02): reused" in output for s in kept)
    assert {n: (root / "models" / n).read_bytes() for n in before} == before
    metrics = json.loads((root / "reports/metrics.json").read_text())
    assert {s: metrics_before["strategies"][s] for s in kept} == {s: metrics["strategies"][s] for s in kept}
    assert set(metrics["strategies"]) == {*kept, "recent"}
    steps = json.loads((root / "reports/steps/recent.json").read_text())
    assert metrics["strategies"]["recent"]["new_rmse"] == pytest.approx(steps["rmse"][1][1])
    assert metrics["strategies"]["recent"]["windows_seen"] > 0
    compare_html = (root / "reports/compare.html").read_text()
    assert "new data that resembles the last few periods more than the older ones" in compare_html
    assert "Recent batches (<code>recent</code>)" in (root / "reports/recent.html").read_text()
    assert '<a href="recent.html">Strategy recent: Recent batches</a>' in (root / "reports/index.html").read_text()
    assert (root / "models/recent.keras").is_file() and len(list((root / "state/recent").glob("*.keras"))) == 1


def test_the_settings_table_shows_values_as_params_yaml_writes_them():
    from lstm_utils.config import load_params
    from lstm_utils.pages.strategy import settings_table

    params = load_params(ROOT / "params.yaml")
    table = settings_table(STRATEGIES["replay"], params)
    assert table.loc["replay.buffer", "value"] == "500"  # not 500.0000 beside the floats
    assert table.loc["replay.learning_rate", "value"] == "0.0002"
    assert table.loc["train.batch_size", "value"] == "64"

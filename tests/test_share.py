"""A fresh clone with the DVC cache gets the same results: everything that carries over from
one run to the next (models, prepared data, the step state) travels through a DVC remote, and
nothing outside the repository is needed. The commands are the "Sharing results" section of
docs/operations.md, with its placeholder paths filled in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tiny_project import ROOT, copy_project, ran_stages, readme_commands, run, write_part

pytestmark = pytest.mark.slow
SECTION = "## Sharing results"
DOC = ROOT / "docs" / "operations.md"


def lock_hashes(root) -> dict[str, str]:
    """Every output's md5 in dvc.lock, by path."""
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    return {o["path"]: o["md5"] for stage in lock["stages"].values() for o in stage.get("outs", [])}


@pytest.fixture(scope="module")
def pair(repro_project, grown_project, tmp_path_factory):
    """`origin` (a copy of the session's project, which ran the pipeline and committed) pushes
    to a DVC remote; `clone` is a git clone of it that pulls, then gets a new CSV and runs one
    strategy's stage (`dvc repro strategy@finetune`: the data stage and that one). What it
    reaches is compared with `grown_project`: the origin's twin that got the same CSV."""
    tmp = tmp_path_factory.mktemp("share")
    origin = copy_project(repro_project[0], tmp / "origin")
    commands = readme_commands(SECTION, {"/srv/dvc-store": str(tmp / "store"), "<repository>": str(origin),
                                 "<folder>": str(tmp / "clone")}, path=DOC)
    where, outputs = origin, {}
    for line in commands:
        if line.startswith("cd "):
            where = Path(line[3:])
            continue
        done = run(["bash", "-c", line], where)
        outputs[line] = done.stdout + done.stderr
    clone = tmp / "clone"
    before = {"origin": lock_hashes(origin), "clone": lock_hashes(clone)}
    write_part(clone / "data", 3, overlap=12)  # the CSV grown_project got
    done = run(["dvc", "repro", "strategy@finetune"], clone)
    new = {"clone": done.stdout + done.stderr, "origin": grown_project[1]}
    return grown_project[0], clone, outputs, before, new


def test_the_section_pushes_clones_and_pulls():
    commands = readme_commands(SECTION, path=DOC)
    for needed in ("dvc remote add -d", "dvc push", "git clone", "dvc pull", "dvc repro"):
        assert any(c.startswith(needed) for c in commands), needed


def test_a_pulled_clone_is_up_to_date_and_runs_nothing(pair):
    _, _, outputs, before, _ = pair
    (repro,) = [out for line, out in outputs.items() if line.endswith("dvc repro")]
    assert ran_stages(repro) == set()
    assert "Data and pipelines are up to date." in repro
    assert before["clone"] == before["origin"]
    assert any(path.startswith("state/") for path in before["clone"])  # the step state travelled too


def test_a_new_csv_in_the_clone_reuses_the_pulled_steps(pair):
    _, _, _, _, new = pair
    assert ran_stages(new["clone"]) == {"data", "strategy@finetune"}
    assert "finetune: step 1/2 (part-02): reused" in new["clone"]
    assert "finetune: step 2/2 (part-03): trained" in new["clone"]
    assert "finetune: step 1/2 (part-02): reused" in new["origin"]  # as it was where the step was made


def test_the_clone_gets_the_same_models_and_state(pair):
    origin, clone, _, _, _ = pair
    for path in ("models/base.keras", "models/finetune.keras", "reports/steps/finetune.json"):
        assert (clone / path).read_bytes() == (origin / path).read_bytes(), path
    mine, theirs = lock_hashes(origin), lock_hashes(clone)
    reproducible = [p for p in mine if p.startswith(("models/base", "models/finetune", "prepared", "reports/steps/finetune"))]
    assert len(reproducible) >= 6
    assert {p: theirs[p] for p in reproducible} == {p: mine[p] for p in reproducible}
    for s in ("base", "finetune"):  # the kept state too, but for the training seconds each record keeps
        files = sorted(p.name for p in (origin / "state" / s).iterdir())
        assert files == sorted(p.name for p in (clone / "state" / s).iterdir()), s
        for name in files:
            mine, theirs = (root / "state" / s / name for root in (origin, clone))
            if name.endswith(".json") and name not in ("scores.json", "intervals.json", "deployed.json"):  # step records
                mine, theirs = (json.loads(f.read_text()) for f in (mine, theirs))
                seconds = "seconds" if s == "base" else "train_seconds"
                for key in (seconds, "compile_seconds"):
                    assert mine.pop(key) >= 0 and theirs.pop(key) >= 0
                mine.pop("sha256"), theirs.pop("sha256")  # each record's own hash covers its seconds too
                assert mine == theirs, (s, name)
            else:
                assert mine.read_bytes() == theirs.read_bytes(), (s, name)
    assert json.loads((clone / "reports/steps/finetune.json").read_text())["batches"] == ["base", "part-02", "part-03"]

"""Every fault of "When something breaks" (docs/operations.md), injected into a real project on
the sample.

    python bench/faults.py                 # about 7 minutes here; prints a Markdown table
    python bench/faults.py --keep /tmp/p   # keep the project folder afterwards

The project is this checkout's code, notebooks, pipeline and params with the bundled sample as
data, under its own git and DVC. After one uninterrupted `dvc repro`, each fault is injected
in turn (with tests/faults/sitecustomize.py, as tests/test_faults.py does on the tiny project),
and the table says what was injected, the line the user saw, whether the next command
recovered, and whether the `dvc.lock` hashes of every model, the prepared data, the steps and
the metrics then equal the uninterrupted run's. Every row must say yes twice.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from _project import copy_pipeline  # noqa: E402
from tiny_project import fault_env, locked, repro_with  # noqa: E402

def sh(cmd: list[str], cwd: Path, fault: str = "") -> tuple[int, str]:
    """Run `cmd` in a session of its own (a kill takes it whole); exit status and output."""
    done = subprocess.run(cmd, cwd=cwd, env=fault_env(fault), text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, start_new_session=True)
    return done.returncode, done.stdout


def setup(dest: Path) -> Path:
    """The project: code, notebooks, pipeline, params, the sample as data, git and DVC."""
    copy_pipeline(dest, sorted((ROOT / "examples" / "sample_data").glob("*.csv")))
    for cmd in (["git", "init", "-q"], ["git", "config", "user.email", "bench@localhost"],
                ["git", "config", "user.name", "bench"], ["dvc", "init", "-q"],
                ["dvc", "config", "core.analytics", "false"], ["dvc", "add", "-q", "data"]):
        assert sh(cmd, dest)[0] == 0, cmd
    return dest


def said(output: str) -> str:
    """The line a user would read first: the first error or warning line of ours (a stage's
    lines come prefixed with `[stage] `), else DVC's."""
    lines = [re.sub(r"^\[[^]]+\] ", "", line.strip()) for line in output.splitlines()]
    for pattern in (r"^error:", r"^warning:", r"^ERROR:", r"^WARNING:"):
        found = [line for line in lines if re.match(pattern, line)]
        if found:
            return found[0]
    return "(killed)" if not output.strip() or "Running stage" in output else lines[-1]


def short(line: str, width: int = 150) -> str:
    """`line` for the table: no absolute paths, at most `width` characters."""
    line = re.sub(r"/\S*/project/", "", line)
    line = re.sub(r"/\S*/bin/dvc", "dvc", line).replace("|", "\\|")
    return line if len(line) <= width else line[: width - 3] + "..."


def recover(root: Path, first: dict[str, str], command: tuple[str, ...] = ("dvc", "repro")) -> tuple[bool, bool, str]:
    """Run the mending command; (it succeeded and `dvc status` is clean, the hashes equal, its output)."""
    code, out = sh(list(command), root)
    clean = "up to date" in sh(["dvc", "status"], root)[1]
    return code == 0 and clean, locked(root) == first, out


def kill_with(fault: str, *args: str, before: Callable[[Path], None] | None = None):
    """A fault: a forced run of one stage, killed at `fault`."""
    def inject(root: Path) -> str:
        if before:
            before(root)
        code, out = sh(["dvc", "repro", "-f", "-s", *args], root, fault)
        assert code == -9, (fault, code, out[-3000:])
        return out
    return inject


def fail_with(fault: str, *args: str):
    """A fault: a forced run of one stage with an error injected."""
    def inject(root: Path) -> str:
        code, out = sh(["dvc", "repro", "-f", "-s", *args], root, fault)
        assert code != 0, (fault, out[-3000:])
        return out
    return inject


def two_at_once(root: Path) -> str:
    """A second `dvc repro` while a forced compare is held in progress; then the first goes on."""
    with tempfile.TemporaryDirectory() as tmp:
        go = Path(tmp) / "go"
        proc = repro_with(root, "hold@write:models/champion.json", "-f", "-s", "compare", wait=go)
        threading.Thread(target=proc.communicate, daemon=True).start()
        deadline = time.monotonic() + 300
        while not go.with_name("go.reached").exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        code, out = sh(["dvc", "repro"], root)
        go.touch()
        proc.wait(timeout=600)
        assert code != 0 and proc.returncode == 0, (code, out, proc.returncode)
        return out


def damage(path: str, cut: bool = True) -> Callable[[Path], str]:
    """A fault: `path` (the last file matching it) cut to half its bytes (or deleted); what
    `dvc status` then says."""
    def inject(root: Path) -> str:
        target = sorted(root.glob(path))[-1]
        if cut:
            target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
        else:
            target.unlink()
        return sh(["dvc", "status"], root)[1]
    return inject


def damage_state(root: Path) -> str:
    """A fault: one kept step model of finetune cut short, then its stage forced."""
    model = sorted((root / "state/finetune").glob("*.keras"))[-1]
    model.write_bytes(model.read_bytes()[:1000])
    code, out = sh(["dvc", "repro", "-f", "-s", "strategy@finetune"], root)
    assert code == 0, out[-3000:]
    return out


def foreign_model(kind: str) -> Callable[[Path], str]:
    """A fault: `forecast` given a model with a Lambda layer, or a model lstm_utils did not save."""
    def inject(root: Path) -> str:
        script = f"""
import json, shutil, keras
kind = {kind!r}
inputs = keras.Input((4, 2))
if kind == "lambda":
    out = keras.layers.Lambda(lambda x: x[:, -1, :1])(inputs)
    keras.Model(inputs, out).save("foreign.keras")
    shutil.copy("models/base.json", "foreign.json")
else:
    keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(inputs))).save("foreign.keras")
    json.dump({{"name": "someone else's"}}, open("foreign.json", "w"))
"""
        assert sh([sys.executable, "-c", script], root)[0] == 0
        code, out = sh([sys.executable, "-m", "lstm_utils", "forecast", "--model", "foreign.keras", "--data", "data"],
                       root)
        assert code == 2, out
        for name in ("foreign.keras", "foreign.json"):
            (root / name).unlink()
        return out
    return inject


def state_gone(root: Path, strategy: str) -> None:
    shutil.rmtree(root / "state" / strategy)


FAULT_TABLE: list[tuple[str, Callable[[Path], str], tuple[str, ...] | None]] = [
    ("kill -9 in the data stage, a prepared file half written",
     kill_with("kill@write:prepared/01-*.csv", "data"), ("dvc", "repro")),
    ("kill -9 between the base model's save and its record",
     kill_with("kill@write:state/base/[0-9a-f]*.json", "base", before=lambda r: state_gone(r, "base")), ("dvc", "repro")),
    ("kill -9 between a finetune step's save and its record",
     kill_with("kill@write:state/finetune/[0-9a-f]*.json", "strategy@finetune",
               before=lambda r: state_gone(r, "finetune")), ("dvc", "repro")),
    ("kill -9 during retrain's error matrix",
     kill_with("kill@call:lstm_utils.scoring:matrix_scores", "strategy@retrain"), ("dvc", "repro")),
    ("kill -9 in compare, the champion's sidecar half written",
     kill_with("kill@write:models/champion.json", "compare"), ("dvc", "repro")),
    ("a bug in compare (RuntimeError in a cell)",
     fail_with("raise@call:lstm_utils.compare:narrative", "compare"), ("dvc", "checkout", "--force")),
    ("full disk (ENOSPC) writing state/retrain/scores.json",
     fail_with("enospc@write:state/retrain/scores.json", "strategy@retrain"), ("dvc", "repro")),
    ("full disk (ENOSPC) writing models/champion.keras",
     fail_with("enospc@write:models/champion.keras", "compare"), ("dvc", "repro")),
    ("a second dvc repro while one runs", two_at_once, ("dvc", "status")),
    ("models/base.keras cut short", damage("models/base.keras"), ("dvc", "checkout", "--force", "models/base.keras")),
    ("the newest prepared CSV cut short", damage("prepared/*.csv"), ("dvc", "repro")),
    ("reports/compare.html deleted", damage("reports/compare.html", cut=False), ("dvc", "repro")),
    ("a kept finetune step model cut short", damage_state, ("dvc", "status")),
    ("data/2013-05.csv cut short by mistake", damage("data/2013-05.csv"), ("dvc", "checkout", "--force", "data.dvc")),
    ("forecast given a model with a Lambda layer", foreign_model("lambda"), None),
    ("forecast given a model lstm_utils did not save", foreign_model("foreign"), None),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="make the project here and keep it (must not exist)")
    parser.add_argument("--only", help="only the faults whose description holds this text")
    args = parser.parse_args()
    tmp = None if args.keep else tempfile.TemporaryDirectory(prefix="lstm_utils-faults-")
    root = setup(args.keep or Path(tmp.name) / "project")
    start = time.perf_counter()
    code, out = sh(["dvc", "repro"], root)
    assert code == 0, out[-3000:]
    first = locked(root)
    print(f"uninterrupted dvc repro on the sample: {time.perf_counter() - start:.0f} s; {len(first)} hashes compared",
          flush=True)
    rows, failed = [], 0
    for what, inject, mend in FAULT_TABLE:
        if args.only and args.only not in what:
            continue
        start = time.perf_counter()
        line = said(inject(root))
        if mend is None:  # refused: nothing changed in the project
            ok, same, _ = True, locked(root) == first, ""
            mended = "(nothing to mend)"
        else:
            ok, same, then = recover(root, first, mend)
            mended = " ".join(mend)
            if line.startswith("(killed"):  # a kill shows nothing; the next run says what it found
                line = f"(killed) then: {said(then)}"
        failed += not (ok and same)
        rows.append((what, short(line), mended, ok, same, time.perf_counter() - start))
        print(f"  {what}: {'ok' if ok and same else 'FAILED'} ({rows[-1][-1]:.0f} s)", flush=True)
    print("\n| fault injected | what the user saw | then | recovered | hashes equal | s |")
    print("|---|---|---|---|---|---|")
    for what, line, mended, ok, same, seconds in rows:
        print(f"| {what} | `{line}` | `{mended}` | {'yes' if ok else 'NO'} | {'yes' if same else 'NO'} | {seconds:.0f} |")
    if tmp:
        tmp.cleanup()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

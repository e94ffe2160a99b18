"""Work kept between runs, so a new CSV costs one step per strategy, not the whole chain.

A step is identified by what determines its result: the strategy, the previous model (the
SHA-256 of its `.keras` bytes, which are reproducible), the prepared data of every batch up to
the new one, the params keys the strategy reads, and the code that computes it. Change any of
them and that step, and every later one (their previous model changes), is computed again;
nothing else is. The folder is a persistent DVC output (`state/<strategy>` in dvc.yaml), so it
is versioned and cached like any output and a fresh clone with the DVC cache has it too.

"The code" is the package's source without the other strategies' modules (:func:`code_version`):
adding or editing one strategy leaves every other strategy's steps, and the base model
(`state/base`, kept the same way), valid.

The error-matrix cells are kept too (`scores.json`): a cell is identified by the model's hash,
the prepared data up to its batch and the window settings, so a new batch costs one new row
and one new column of forecasts, not the whole matrix. So are each model's interval
half-widths (`intervals.json`), identified by the model's hash, the data it was calibrated on
and the `intervals` settings: a reused step keeps them, byte for byte. So are the deployed
losses (`deployed.json`): each model's loss on every window of the batch after it, identified
like a cell.

Every kept entry is checked when read. A step's record carries its model file's SHA-256, and
each JSON file the SHA-256 of its own content (`sha256`). A missing, cut-short, unreadable or
altered entry is a cache miss, never an error: one warning line names the file, that step (and
every later one, whose previous model it is) is computed again, and the results are the bytes
an intact run gives. So a full disk, an interrupted copy or a stray edit costs time, not the
project.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from lstm_utils._keras import keras
from lstm_utils.artifacts import save_keras
from lstm_utils.files import json_digest, sha256_file, write_json

SEAL = "sha256"  # in each kept JSON file: the SHA-256 of the rest of its content
MODEL_HASH = "model_sha256"  # in a step's record: its model file's SHA-256

ROOT = Path(__file__).resolve().parent
STRATEGY_DIR = ROOT / "strategies"


def _strategy_modules() -> dict[str, Path]:
    """Every strategy module by name (helpers, named _*, are not strategies)."""
    return {p.stem: p for p in STRATEGY_DIR.glob("*.py") if not p.stem.startswith("_")}


@functools.cache
def code_version(strategy: str | None = None) -> str:
    """SHA-256 of the package's source files that can change `strategy`'s results (None: the
    base model's): every file but the other strategies' modules, unless its module imports
    them. Changed code never reuses an old step, as DVC re-runs a stage whose code changed."""
    modules = _strategy_modules()
    keep = {strategy} if strategy in modules else set()
    if keep:
        text = modules[strategy].read_text(encoding="utf-8")
        keep |= {m for m in re.findall(r"lstm_utils\.strategies(?:\.|\s+import\s+)(\w+)", text) if m in modules}
    digest = hashlib.sha256()
    for path in sorted(ROOT.rglob("*.py")):
        if path.parent == STRATEGY_DIR and path.stem in modules and path.stem not in keep:
            continue
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _identity(code: str, **parts) -> str:
    """A short hex SHA-256 of `parts`, of the code version and of the Keras backend (a step
    computed on one backend is not reused on another)."""
    text = json.dumps(parts | {"code": code, "backend": keras.backend.backend()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass
class StepCache:
    """A folder of `<key>.keras` models with `<key>.json` records, for one strategy (or the base
    model: `strategy` None)."""

    folder: Path
    strategy: str | None = None
    used: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.folder = Path(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    SCORES = "scores.json"

    def key(self, previous: str, data: list[str], params: dict) -> str:
        """The identity of one step (or of the base model: `previous` empty)."""
        return _identity(code_version(self.strategy), strategy=self.strategy or "base", previous=previous,
                         data=data, params=params)

    def _warn(self, path: Path, why: str, then: str) -> None:
        print(f"warning: {path}: {why}; {then}", flush=True)

    def _read(self, path: Path, then: str) -> dict | None:
        """A kept JSON file's content, checked against its own SHA-256; None (and one warning
        line) when it cannot be read or was altered."""
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            self._warn(path, f"unreadable ({type(exc).__name__}: cut short or garbled?)", then)
            return None
        seal = content.pop(SEAL, None) if isinstance(content, dict) else None
        if seal is None:
            self._warn(path, "holds no SHA-256 of its content (written by an older version, or edited)", then)
            return None
        if seal != json_digest(content):
            self._warn(path, "its content does not match its SHA-256 (cut short or edited)", then)
            return None
        return content

    def _write(self, path: Path, content: dict) -> None:
        write_json(path, content | {SEAL: json_digest(content)})

    def record(self, key: str) -> tuple[dict, str] | None:
        """The step's record and its model file's hash, if it was computed before and both files
        are intact (else None: the step is computed again, with a warning line if a file of it
        was there but missing, damaged or altered)."""
        model_path, record_path = self.folder / f"{key}.keras", self.folder / f"{key}.json"
        if not (model_path.is_file() or record_path.is_file()):
            return None
        then = "this step is computed again"
        if not (model_path.is_file() and record_path.is_file()):
            missing = model_path if not model_path.is_file() else record_path
            self._warn(missing, "missing (its other file is there)", then)
            return None
        record = self._read(record_path, then)
        if record is None:
            return None
        digest = sha256_file(model_path)
        if record.pop(MODEL_HASH, None) != digest:
            self._warn(model_path, "its SHA-256 does not match its record (cut short or altered)", then)
            return None
        self.used.add(key)
        return record, digest

    def model(self, key: str) -> keras.Model:
        """The model a kept step computed (checked by :meth:`record` or just saved)."""
        return keras.saving.load_model(self.folder / f"{key}.keras", safe_mode=True)

    def save(self, key: str, model: keras.Model, record: dict) -> str:
        """Keep a computed step; returns the model file's hash (the next step's `previous`)."""
        save_keras(model, self.folder / f"{key}.keras")
        digest = sha256_file(self.folder / f"{key}.keras")
        self._write(self.folder / f"{key}.json", record | {MODEL_HASH: digest})
        self.used.add(key)
        return digest

    def keep(self, key: str, model: keras.Model, record: dict) -> tuple[keras.Model, str]:
        """:meth:`save` a computed step; the model as saved (what a later run that reuses the step
        goes on from) and its file's hash."""
        digest = self.save(key, model, record)
        return self.model(key), digest

    def score_key(self, model: str, data: list[str], window: dict) -> str:
        """The identity of one error-matrix cell: model hash, data of batches 0..k, window settings."""
        return _identity(code_version(self.strategy), model=model, data=data, window=window)

    def _entries(self, name: str, then: str) -> dict:
        path = self.folder / name
        if not path.is_file():
            return {}
        content = self._read(path, then)
        return {} if content is None else content.get("entries", {})

    def scores(self) -> dict[str, list[float]]:
        """The kept cells: {score_key: [rmse, mae, ...]} ({} if none, or if the file is damaged)."""
        return self._entries(self.SCORES, "the error-matrix cells are computed again")

    def save_scores(self, cells: dict[str, list[float]]) -> None:
        """Keep exactly these cells (those of the latest matrix)."""
        self._write(self.folder / self.SCORES, {"entries": dict(sorted(cells.items()))})

    CALIBRATIONS = "intervals.json"

    def calibrations(self) -> dict[str, dict]:
        """The kept interval calibrations: {score_key: {"windows": n, "half_widths": {level: rows}}}."""
        return self._entries(self.CALIBRATIONS, "the intervals are calibrated again")

    def save_calibrations(self, kept: dict[str, dict]) -> None:
        """Keep exactly these calibrations (those of the latest chain's models)."""
        self._write(self.folder / self.CALIBRATIONS, {"entries": dict(sorted(kept.items()))})

    DEPLOYED = "deployed.json"

    def deployed(self) -> dict[str, dict]:
        """The kept deployed losses: {score_key: a :meth:`lstm_utils.evaluation.WindowLosses.record`}."""
        return self._entries(self.DEPLOYED, "the deployed losses are computed again")

    def save_deployed(self, kept: dict[str, dict]) -> None:
        """Keep exactly these deployed losses (those of the latest chain's models)."""
        self._write(self.folder / self.DEPLOYED, {"entries": dict(sorted(kept.items()))})

    def prune(self) -> int:
        """Delete the steps this run did not use (other params or data); returns how many."""
        stale = [p for p in self.folder.glob("*.*") if p.stem not in self.used
                 and p.name not in (self.SCORES, self.CALIBRATIONS, self.DEPLOYED)]
        for path in stale:
            path.unlink()
        return len({p.stem for p in stale})


class NoMemory:
    """The step state of a chain run without a folder (tests, benchmarks): it answers as
    :class:`StepCache` does and remembers nothing, so every step and cell is computed and
    nothing is kept. With it the chain's code has no branch for "no cache"."""

    def key(self, previous: str, data: list[str], params: dict) -> str:
        return ""

    def record(self, key: str) -> None:
        return None

    def keep(self, key: str, model: keras.Model, record: dict) -> tuple[keras.Model, str]:
        return model, ""

    def model(self, key: str) -> keras.Model:
        raise LookupError("nothing is kept without a step state: every model of the chain stays in memory")

    def prune(self) -> int:
        return 0

    def score_key(self, model: str, data: list[str], window: dict) -> str:
        return ""

    def scores(self) -> dict[str, list[float]]:
        return {}

    def save_scores(self, cells: dict[str, list[float]]) -> None:
        pass

    def calibrations(self) -> dict[str, dict]:
        return {}

    def save_calibrations(self, kept: dict[str, dict]) -> None:
        pass

    def deployed(self) -> dict[str, dict]:
        return {}

    def save_deployed(self, kept: dict[str, dict]) -> None:
        pass

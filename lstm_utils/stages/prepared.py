"""What every later stage reads first: the prepared batch files the data stage wrote."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lstm_utils.settings import Params
from lstm_utils.splits import read_prepared


def prepared_paths(prepared_dir: str | Path) -> list[Path]:
    """The prepared batch CSVs (`NN-<name>.csv`), in batch order."""
    return sorted(Path(prepared_dir).glob("[0-9][0-9]-*.csv"))


def load_batches(prepared_dir: str | Path, params: Params) -> tuple[pd.DataFrame, dict[int, str], dict[str, str]]:
    """Every prepared batch as one frame, the batch names, and the SHA-256 of each source file."""
    paths = prepared_paths(prepared_dir)
    if not paths:
        raise FileNotFoundError(f"{prepared_dir}: no prepared batches; run the data stage (dvc repro) first")
    frame, meta = read_prepared(paths, params.data)
    names = {b["batch"]: b["name"] for b in meta["batches"]}
    sources = {f"data/{name}": sha for b in meta["batches"] for name, sha in b["sources"].items()}
    return frame, names, sources

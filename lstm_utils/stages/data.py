"""The data stage (notebooks/data.ipynb): every CSV ingested, every new file checked, the batches
split; what `lstm-utils validate` and the benchmarks read the data through too, so that each sees
what the pipeline trains on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lstm_utils import checks
from lstm_utils.ingest import Ingested, ingest
from lstm_utils.settings import Params
from lstm_utils.splits import assign_splits, batch_names, check_batches


@dataclass
class Prepared:
    """The data as the later stages see it: ingested (masked where `data.checks.action: mask`
    says), split into batches and tails, with the checks' findings and the values they masked."""

    data: Ingested
    frame: pd.DataFrame  # with `batch` and `split` columns
    names: dict[int, str]  # a name per batch
    findings: list[checks.Finding]
    masked: int

    def warnings(self, params: Params) -> list[str]:
        """Ingest's warning lines (conflicts, zones), then the checks' (:func:`lstm_utils.checks.warnings`)."""
        return self.data.report.warnings(params.data) + checks.warnings(self.findings, params.data, self.masked)


def prepare(source: str | Path, params: Params) -> Prepared:
    """Ingest every CSV of `source`, check every file after the base period (and mask what
    `data.checks.action: mask` asks), split the batches and refuse one that gives no training window."""
    ds = ingest(source, params.data, params.split.base_batches, horizon=params.window.horizon)
    ds, findings, masked = checks.checked(ds, params.data)
    frame = assign_splits(ds, params.split)
    check_batches(ds, frame, params.split, params.window)
    return Prepared(ds, frame, batch_names(ds), findings, masked)

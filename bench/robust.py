"""Benchmark: when the data turns. Each dataset clean, and with one update month of faults.

For each dataset of bench/quality.py, the pipeline's computation runs twice in one process
(bench/linear.py's `run`: the base model on the first six files, every strategy's chain over the
later ones, the baselines, the champion rule walked forward):

- clean: the dataset's ten files as they are;
- faulted: copies of them (in a temporary folder; examples/ is never written) where one update
  month (`--month`, a file index; default base_batches + 1, the second update file) gets, by
  :func:`inject` with a fixed seed:
  - stuck: one input that is not a target (the target where every input is one) held at its
    value at the fault start for two weeks of rows;
  - spike_input, spike_target: three rows set to the base mean + k standard deviations (k drawn
    in [20, 50]; the column's standard deviation over the six base files), in an input and in a
    target;
  - shift: a step of k standard deviations (k in [5, 10]) added to an input (not a target where
    there is one, not the stuck one where possible) from a time inside the month to the end of
    every later file, the held-out ones included.
  With several series (departures), only one series is faulted; the faults list says which.

Per run, per update month: every strategy's deployed RMSE (before step t, the model after step
t - 1 on every window of batch t), the ridge's (the linear baseline refit each step),
persistence's, seasonal naive's and the champion's as walked forward (the strategy the rule had
picked before that month; month 1: the base model, which every strategy deploys), with the
windows behind each figure; over the run, the root of the mean squared error over every window of
every month. With several series, errors are on each series' scale, as the pipeline pools them.

The linear designs: the baselines alone again (no LSTM) with `baselines.linear_designs` set to
each design by itself, against the family's choice (the shipped list): deployed RMSE over the run
and in the faulted month, and on the held-out files (as bench/quality.py scores the ridge: the
final refit on every window whose targets lie in them).

The bars:

- faulted run: the champion's run RMSE at most persistence's and at most seasonal naive's;
- faulted month: the champion's RMSE at most 1.25 times persistence's;
- held out, clean and faulted: the family's choice at most 1% behind the best fixed design;
- with `--against OLD.json`: each clean champion no more than 0.5% worse than in OLD.

    .venv/bin/python bench/robust.py                                   # every dataset, every strategy
    .venv/bin/python bench/robust.py --dataset sample --strategies none,finetune
    .venv/bin/python bench/robust.py --faults shift --month 8 --json /tmp/shift.json
    .venv/bin/python bench/robust.py --set model.share=none --against /tmp/robust_before.json
    .venv/bin/python bench/robust.py --report /tmp/robust_before.json  # an earlier run's tables, running nothing

`--set section.key=value` (YAML values) changes every dataset's settings, as in bench/quality.py.
With BENCH_KEEP=DIR in the environment, each run's records are kept for bench/decide.py's `--kept
DIR` (the champion rule's variants walked over every run; a faulted run's spiked windows left out).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from linear import keep_evidence, print_bars, run  # noqa: E402
from quality import DATASETS, dataset_arguments, held_out, prepared, settings  # noqa: E402

FAULTS = ("stuck", "spike_input", "spike_target", "shift")
SEED = 20261207  # every draw of inject: the series, the columns, the times and the sizes
STUCK = pd.Timedelta(days=14)
SPIKE_ROWS = 3
SPIKE_K = (20.0, 50.0)  # a spike's height, in standard deviations above the base mean
SHIFT_K = (5.0, 10.0)  # a level shift's step, in standard deviations
START = {"stuck": (0.05, 0.10), "spike_input": (0.25, 0.30), "spike_target": (0.32, 0.37),
         "shift": (0.45, 0.50)}  # where in the month's rows each fault would start, drawn in this range
RUN_BAR, MONTH_BAR, DESIGN_BAR, AGAINST_BAR = 1.0, 1.25, 0.01, 0.005
NAIVE = ("linear", "persistence", "seasonal_naive")


@dataclass(frozen=True)
class Fault:
    """One injected fault: the cells a detector must flag."""

    kind: str  # one of FAULTS
    file: str  # the file it starts in
    column: str
    first: pd.Timestamp  # the first and last time of a changed cell, in data.timezone
    last: pd.Timestamp
    size: float  # in standard deviations of the column over the base files (the series' rows): a spike's
    # value above the base mean, a shift's step, a stuck value's distance from the base mean
    rows: int  # cells written
    value: str  # as written: the stuck value, the spike's value, the step added
    series: str | None = None  # several series: the one faulted
    files: tuple[str, ...] = ()  # every file it wrote (a shift: its own and every later one)

    def __str__(self) -> str:
        where = f"{self.column}" + (f" of series {self.series}" if self.series is not None else "")
        also = f", through {self.files[-1]}" if len(self.files) > 1 else ""
        return (f"{self.kind}: {self.file}{also}, {where}, {self.first.isoformat()} .. {self.last.isoformat()}, "
                f"{self.rows} cells, {self.size:+.1f} sd ({self.value})")

    def record(self) -> dict:
        return dataclasses.asdict(self) | {"first": self.first.isoformat(), "last": self.last.isoformat()}


@dataclass(frozen=True)
class _Stats:
    """A column over the base files: mean, standard deviation, decimals written, how often it changes."""

    mean: float
    std: float
    decimals: int  # written: the most frequent number of decimals of the cells that have some, at most 6
    changes: float  # rows whose value differs from the last one given, as a share of all rows (empty: none)

    @classmethod
    def of(cls, text: pd.Series, decimal: str) -> _Stats:
        values = _numbers(text, decimal)
        present = values[~np.isnan(values)]
        fraction = text.str.replace(decimal, ".", regex=False).str.partition(".")[2]
        digits = fraction[fraction.str.fullmatch(r"\d+")].str.len()
        decimals = min(int(digits.mode().max()), 6) if len(digits) else 0  # the usual digits, float noise capped
        changes = float(np.sum(np.diff(present) != 0) / len(values)) if len(present) > 1 else 0.0
        return cls(float(present.mean()), float(present.std(ddof=1)), decimals, changes)

    def text(self, value: float | Decimal, decimal: str) -> str:
        return f"{value:.{self.decimals}f}".replace(".", decimal)


def _numbers(text: pd.Series, decimal: str) -> np.ndarray:
    return pd.to_numeric(text.str.replace(decimal, ".", regex=False), errors="coerce").to_numpy(dtype=np.float64)


def _read(path: Path, sep: str) -> tuple[pd.DataFrame, str]:
    """A CSV file as text cells, and its line ending; refused when pandas would not write it back byte for byte."""
    original = path.read_bytes().decode("utf-8")
    newline = "\r\n" if "\r\n" in original else "\n"
    frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_filter=False)
    if _text(frame, sep, newline) != original:
        raise ValueError(f"{path.name}: not written back byte for byte by pandas (quoting, blank lines?); "
                         "inject keeps every other cell as it was, so it needs a plain CSV")
    return frame, newline


def _text(frame: pd.DataFrame, sep: str, newline: str) -> str:
    return frame.to_csv(index=False, sep=sep, lineterminator=newline)


def inject(files: list[Path], dest: Path, params, month: int, faults=FAULTS, seed: int = SEED) -> list[Fault]:
    """Copies of `files` (CSV files in time order, the first `params.split.base_batches` the base
    period) in the folder `dest`, with `faults` (names of :data:`FAULTS`) injected into file
    `month` (an index into `files`, after the base period), a level shift persisting to the end of
    every later file. Only the faulted cells change: every other cell, the time column and every
    untouched file keep their bytes; the originals are only read. Deterministic: every draw comes
    from `seed` (the same ones whatever `faults` names, so a subset injects the same faults).

    Columns (`params.data`): the stuck one is the input, not a target, that changes most often in
    the base files; the shift goes to the next one (the same where there is one only); the input
    spike to one drawn among those; the target spike to a drawn target. Where every input is a
    target, the targets stand in. With a series column, one series is drawn and faulted alone.
    Faults on one column never overlap: a later one starts a day's rows after an earlier one ends.
    Returns what was done, one :class:`Fault` each, in the order of :data:`FAULTS`."""
    from lstm_utils.ingest import detect_separator, parse_times

    files, dest, data = [Path(p) for p in files], Path(dest), params.data
    base_n = params.split.base_batches
    if not base_n <= month < len(files):
        raise ValueError(f"month {month}: must be an update file, {base_n} .. {len(files) - 1}")
    unknown = sorted(set(faults) - set(FAULTS))
    if unknown:
        raise ValueError(f"unknown faults {unknown}: choose among {', '.join(FAULTS)}")
    if len({p.name for p in files}) < len(files):
        raise ValueError("two files have one name")
    dest.mkdir(parents=True, exist_ok=True)
    sep = detect_separator(files[month], data.decimal) if data.separator == "auto" else data.separator
    rng = np.random.default_rng(seed)
    frames = {i: _read(files[i], sep) for i in range(month, len(files))}
    base = pd.concat([pd.read_csv(p, sep=sep, dtype=str, keep_default_na=False, na_filter=False)
                      for p in files[:base_n]], ignore_index=True)
    scol = data.series_column
    series = None
    if scol:
        names = sorted(frames[month][0][scol].unique())
        series = str(names[int(rng.integers(len(names)))])
        base = base[base[scol] == series]
    stats = {c: _Stats.of(base[c], data.decimal) for c in data.columns}
    usable = [c for c in data.columns if stats[c].std > 0]
    others = sorted((c for c in usable if c not in data.targets), key=lambda c: (-stats[c].changes, c))
    others = others or [c for c in data.targets if c in usable]
    targets = [c for c in data.targets if c in usable]
    if not others or not targets:
        raise ValueError("no column varies over the base files")
    column = {"stuck": others[0], "shift": others[min(1, len(others) - 1)],
              "spike_input": others[int(rng.integers(len(others)))],
              "spike_target": targets[int(rng.integers(len(targets)))]}
    share = {kind: rng.uniform(*START[kind]) for kind in FAULTS}
    k = {"spike_input": rng.uniform(*SPIKE_K), "spike_target": rng.uniform(*SPIKE_K), "shift": rng.uniform(*SHIFT_K)}

    def rows(i: int) -> tuple[pd.Index, pd.DatetimeIndex]:
        """File i's rows of the faulted series, in time order, and their times."""
        frame = frames[i][0]
        index = frame.index[frame[scol] == series] if scol else frame.index
        times = parse_times(frame.loc[index, data.time_column], data, files[i].name)
        order = np.argsort(times.asi8, kind="stable")
        return index[order], times[order]

    frame, (index, times) = frames[month][0], rows(month)
    n, margin = len(index), max(1, len(index) // 30)
    busy: dict[str, int] = {}  # per column: the row after the last fault on it
    done: list[Fault] = []
    name = files[month].name
    for kind in FAULTS:
        if kind not in faults:
            continue
        col, st = column[kind], stats[column[kind]]
        start = max(int(share[kind] * n), busy.get(col, -margin) + margin)
        if kind == "stuck":
            present = ~np.isnan(_numbers(frame.loc[index, col], data.decimal))
            start += int(np.argmax(present[start:])) if present[start:].any() else n  # an empty cell: the next one
            end = int(times.searchsorted(times[start] + STUCK)) if start < n else n
        else:
            end = start + SPIKE_ROWS if kind != "shift" else n
        if end > n or start >= end:
            raise ValueError(f"{name}: {n} rows of the series are too few for the faults ({kind} would start at row "
                             f"{start})")
        cells = index[start:end]
        if kind == "stuck":
            value = frame.at[index[start], col]
            frame.loc[cells, col] = value
            size = (_numbers(pd.Series([value]), data.decimal)[0] - st.mean) / st.std
            done.append(Fault(kind, name, col, times[start], times[end - 1], float(size), len(cells), value, series,
                              (name,)))
        elif kind != "shift":
            value = st.text(st.mean + k[kind] * st.std, data.decimal)
            frame.loc[cells, col] = value
            size = (_numbers(pd.Series([value]), data.decimal)[0] - st.mean) / st.std
            done.append(Fault(kind, name, col, times[start], times[end - 1], float(size), len(cells), value, series,
                              (name,)))
        else:
            step = st.text(k[kind] * st.std, data.decimal)
            touched, first, last, count = [], None, None, 0
            for i in range(month, len(files)):
                idx, tms = (index[start:], times[start:]) if i == month else rows(i)
                changed = _shift(frames[i][0], idx, col, step, data.decimal)
                if changed.any():
                    touched.append(files[i].name)
                    first = tms[changed][0] if first is None else first
                    last, count = tms[changed][-1], count + int(changed.sum())
            if first is None:
                raise ValueError(f"{name}: no value of {col} to shift")
            size = float(Decimal(step.replace(data.decimal, ".")) / Decimal(repr(st.std)))
            done.append(Fault(kind, name, col, first, last, size, count, step, series, tuple(touched)))
        busy[col] = end
    written = {f for fault in done for f in fault.files}
    for i, path in enumerate(files):
        if path.name in written:
            (dest / path.name).write_bytes(_text(frames[i][0], sep, frames[i][1]).encode("utf-8"))
        else:
            shutil.copyfile(path, dest / path.name)
    return done


def _shift(frame: pd.DataFrame, index: pd.Index, column: str, step: str, decimal: str) -> np.ndarray:
    """Add `step` (decimal text) to every number of `column` in rows `index`, exactly, in decimal; which were
    numbers (the others, empty cells, stay)."""
    add, changed, out = Decimal(step.replace(decimal, ".")), np.zeros(len(index), dtype=bool), []
    for j, cell in enumerate(frame.loc[index, column]):
        try:
            value = Decimal(cell.replace(decimal, "."))
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite():
            out.append(cell)
            continue
        changed[j] = True
        out.append(format(value + add, "f").replace(".", decimal))
    frame.loc[index, column] = out
    return changed


# --- the figures -------------------------------------------------------------------------------


def spiked(out: dict, batch: int, fault: Fault | None) -> np.ndarray:
    """Which deployed windows of `batch` have a target at a time (and in the series) of `fault`: their
    error is against a wrong truth, the same for every forecaster."""
    from lstm_utils.windows import deployed_windows

    windows = deployed_windows(out["frame"], out["params"], batch)
    if fault is None:
        return np.zeros(len(windows), dtype=bool)
    hit = np.asarray((windows.index >= fault.first) & (windows.index <= fault.last))
    if windows.names is not None and fault.series is not None:
        hit &= np.asarray(windows.names).astype(str) == fault.series
    rows, starts = np.flatnonzero(hit), windows.starts
    return ((rows[None, :] >= starts[:, None]) & (rows[None, :] < starts[:, None] + windows.horizon)).any(axis=1)


def deployed(out: dict, faulted_batch: int | None, batch: int, spike: Fault | None) -> dict:
    """Per update month: each strategy's, baseline's and the walked-forward champion's deployed RMSE
    and the windows behind it; over the run and over the months after `faulted_batch`, pooled; and
    month `batch` and the run without the windows whose targets hold the target `spike` (`spiked`)."""
    records, base, names = out["records"], out["baselines"], out["batch"]
    steps = len(names) - 1
    losses = {s: [rec["deployed"][t - 1].sq for t in range(1, steps + 1)] for s, rec in records.items()}
    losses |= {b: [base.deployed[b][t - 1].sq for t in range(1, steps + 1)] for b in NAIVE}
    first = next(iter(records))
    same = all(np.allclose(losses[s][0], losses[first][0]) for s in records)
    picks = {turn.batch: turn.choice.champion for turn in out["walk"].history if turn.batch <= steps}
    losses["champion"] = [losses[picks.get(t, first)][t - 1] for t in range(1, steps + 1)]
    for turn in out["walk"].history:  # the walk's own figure for its pick
        if turn.deployed_rmse is not None:
            assert math.isclose(turn.deployed_rmse, float(np.sqrt(losses["champion"][turn.batch - 1].mean())),
                                rel_tol=1e-9), turn
    rmse = lambda parts: float(np.sqrt(np.concatenate(parts).mean())) if sum(map(len, parts)) else None  # noqa: E731
    months = [{"batch": names[t], "windows": len(losses[first][t - 1]),
               "pick": picks.get(t, "base" if same else first), "faulted": t == faulted_batch,
               "rmse": {f: rmse([v[t - 1]]) for f, v in losses.items()}} for t in range(1, steps + 1)]
    after = range(faulted_batch + 1, steps + 1) if faulted_batch else range(0)
    drop = spiked(out, batch, spike)
    return {"months": months, "run": {f: rmse(v) for f, v in losses.items()},
            "windows": int(sum(len(v) for v in losses[first])),
            "after": {f: rmse([v[t - 1] for t in after]) for f, v in losses.items()} if after else {},
            "after_windows": int(sum(len(losses[first][t - 1]) for t in after)),
            "champion": out["champion"], "base_same": same,
            "spiked": int(drop.sum()),
            "month_out": {f: rmse([v[batch - 1][~drop]]) for f, v in losses.items()},
            "run_out": {f: rmse([v[t - 1][~drop] if t == batch else v[t - 1] for t in range(1, steps + 1)])
                        for f, v in losses.items()},
            "rule": out["walk"].policies.get("rule")}


def designs(out: dict, every: list[Path], month_batch: int) -> dict:
    """The ridge with each design alone against the family's choice: deployed RMSE over the run and in
    month `month_batch`, the designs chosen per step, and RMSE on the windows of the held-out files
    (`every`: the pipeline's files and the held-out ones) of the final refit, as bench/quality.py
    scores it; the champion's final model there too."""
    from lstm_utils.baselines import linear_chain
    from lstm_utils.constants import DESIGNS
    from lstm_utils.evaluation import assess
    from lstm_utils.linear import BatchSums
    from lstm_utils.metrics import mean_over_targets
    from lstm_utils.model import KerasForecaster

    params, frame = out["params"], out["frame"]
    windows = held_out(params, frame, prepared(every, params))
    seen = list(range(int(frame["batch"].max()) + 1))

    def unseen(forecaster) -> float:
        return mean_over_targets(assess(windows, forecaster.predict(windows), params.data.targets)["rmse"])

    def figures(deployed_losses: list, chosen: list[str], p) -> dict:
        sq = [d.sq for d in deployed_losses]
        return {"run": float(np.sqrt(np.concatenate(sq).mean())), "month": float(np.sqrt(sq[month_batch - 1].mean())),
                "designs": list(chosen), "unseen": unseen(BatchSums(frame, p).fit(seen))}

    ridge = out["baselines"].linear
    table = {"family": figures(ridge["deployed"], ridge["designs"], params)}
    fittable = BatchSums(frame, params).view.designs  # with `model.scaling: window`, relative alone
    for design in DESIGNS:
        if design not in fittable:
            table[design] = None
            continue
        p = dataclasses.replace(params, baselines=dataclasses.replace(params.baselines, linear_designs=(design,)))
        chain = linear_chain(frame, p)
        table[design] = figures(chain["deployed"], chain["designs"], p)
    table["champion_unseen"] = unseen(KerasForecaster(out["models"][out["champion"]]))
    table["unseen_windows"] = len(windows)
    return table


# --- printing ----------------------------------------------------------------------------------


def fmt(value: float | None) -> str:
    """Four significant digits, no exponent."""
    if value is None or not math.isfinite(value):
        return "-"
    digits = max(0, 3 - math.floor(math.log10(abs(value)))) if value else 3
    return f"{value:,.{digits}f}"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1%}"


def month_table(dataset: str, kind: str, fig: dict, strategies: list[str]) -> None:
    """One run's deployed RMSE per month, Markdown."""
    cols = ["champion", *strategies, *NAIVE]
    head = {"linear": "ridge", "seasonal_naive": "seasonal naive"}
    print(f"\n{dataset}, {kind}: deployed RMSE per update month (champion: the rule's pick before the month; "
          f"final champion {fig['champion']})\n")
    print("| month | windows | pick | " + " | ".join(head.get(c, c) for c in cols) + " |")
    print("|---|---|---|" + "---|" * len(cols))
    for m in fig["months"]:
        print(f"| {m['batch']}{' (faulted)' if m['faulted'] else ''} | {m['windows']:,} | {m['pick']} | "
              + " | ".join(fmt(m["rmse"][c]) for c in cols) + " |")
    print(f"| run | {fig['windows']:,} | | " + " | ".join(fmt(fig["run"][c]) for c in cols) + " |")
    if fig["after"]:
        print(f"| after the fault | {fig['after_windows']:,} | | " + " | ".join(fmt(fig["after"][c]) for c in cols)
              + " |")
    if fig["spiked"]:
        month = next(m for m in fig["months"] if m["batch"] == fig["month"])
        print(f"| {month['batch']}, less the {fig['spiked']} windows whose targets hold the target spike | "
              f"{month['windows'] - fig['spiked']:,} | {month['pick']} | "
              + " | ".join(fmt(fig["month_out"][c]) for c in cols) + " |")
        print(f"| run, less those windows | {fig['windows'] - fig['spiked']:,} | | "
              + " | ".join(fmt(fig["run_out"][c]) for c in cols) + " |")


def fault_table(figures: dict) -> None:
    print("\nThe faults, per dataset (sizes in standard deviations of the column over the base files)\n")
    print("| dataset | file | series | stuck | spike in an input | spike in a target | level shift, to the last file |")
    print("|---|---|---|---|---|---|---|")
    for dataset, f in figures.items():
        by = {x["kind"]: x for x in f["faults"]}

        def cell(kind: str) -> str:
            x = by.get(kind)
            if x is None:
                return "-"
            day = lambda t: t[5:16].replace("T", " ")  # noqa: E731
            if kind == "stuck":
                return f"{x['column']} at {x['value']}, {day(x['first'])} .. {day(x['last'])} ({x['rows']} rows)"
            if kind == "shift":
                return f"{x['column']} {x['size']:+.1f} (+{x['value']}) from {day(x['first'])}"
            return f"{x['column']} {x['size']:+.1f} ({x['value']}), {day(x['first'])}, {x['rows']} rows"

        series = next((x["series"] for x in f["faults"] if x["series"] is not None), "-")
        print(f"| {dataset} | {f['month']} | {series} | {cell('stuck')} | {cell('spike_input')} | "
              f"{cell('spike_target')} | {cell('shift')} |")


def after_table(figures: dict) -> None:
    """The months after the faulted one, pooled (from each month's RMSE and windows), clean and faulted."""
    learn = ("finetune", "distill", "ensemble", "retrain", "replay", "refit")
    print("\nThe months after the faulted one (deployed RMSE pooled over them): the champion, the stale model, the "
          "strategies that learn (lowest - highest) and the ridge, clean and faulted\n")
    print("| dataset | months | windows | clean: champion | none | the updates | ridge | faulted: champion | none | "
          "the updates | ridge |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for dataset, f in figures.items():
        names = [m["batch"] for m in f["clean"]["months"]]
        later = names.index(f["month"]) + 1
        row = [dataset, ", ".join(names[later:]) or "-",
               f"{sum(m['windows'] for m in f['clean']['months'][later:]):,}"]
        for kind in ("clean", "faulted"):
            months = f[kind]["months"][later:]
            windows = sum(m["windows"] for m in months)

            def pooled(name: str) -> float | None:
                if not windows or name not in months[0]["rmse"]:
                    return None
                return math.sqrt(sum(m["windows"] * m["rmse"][name] ** 2 for m in months) / windows)

            ups = [v for v in map(pooled, learn) if v is not None]
            span = f"{fmt(min(ups))} - {fmt(max(ups))}" if ups else "-"
            row += [fmt(pooled("champion")), fmt(pooled("none")), span, fmt(pooled("linear"))]
        print("| " + " | ".join(row) + " |")


FLAGGED_AS = {"stuck": "stuck", "spike_input": "spike", "spike_target": "spike", "shift": "shift"}


def flagged(fault: dict, findings: list[dict]) -> dict | None:
    """The finding of the data checks (lstm_utils.checks) that names `fault`: its kind, its file, its
    column (and series), at times that overlap the fault's; None if there is none."""
    first, last = pd.Timestamp(fault["first"]), pd.Timestamp(fault["last"])
    for f in findings:
        if (f["kind"] == FLAGGED_AS[fault["kind"]] and f["file"] == fault["file"] and f["column"] == fault["column"]
                and f.get("series") == fault["series"] and pd.Timestamp(f["first"]) <= last
                and pd.Timestamp(f["last"]) >= first):
            return f
    return None


def flag_table(figures: dict) -> list[tuple[str, bool]]:
    """What the data checks flagged: each injected fault's finding (its first and last time against the
    fault's), and how many findings the clean run had; the bars (every fault flagged, nothing clean)."""
    print("\nThe data checks (lstm_utils.checks, `data.checks` as set): each injected fault's finding, its first and "
          "last time (the fault's in brackets) and size; the findings of the clean run\n")
    print("| dataset | stuck | spike in an input | spike in a target | level shift | clean run |")
    print("|---|---|---|---|---|---|")
    out = []
    for dataset, f in figures.items():
        if "findings" not in f["faulted"]:
            continue
        cells, missed = [], []
        for fault in f["faults"]:
            hit = flagged(fault, f["faulted"]["findings"])
            if hit is None:
                missed.append(fault["kind"])
                cells.append("**missed**")
                continue
            day = lambda t: str(t)[5:16].replace("T", " ")  # noqa: E731
            cells.append(f"{day(hit['first'])} .. {day(hit['last'])} ({day(fault['first'])} .. "
                         f"{day(fault['last'])}), {hit['size']:+.1f}")
        by = dict(zip([x["kind"] for x in f["faults"]], cells))
        clean = f["clean"]["findings"]
        others = len(f["faulted"]["findings"]) - (len(f["faults"]) - len(missed))
        print(f"| {dataset} | " + " | ".join(by.get(k, "-") for k in FAULTS) + f" | {len(clean)} |")
        out.append((f"{dataset}: every injected fault flagged at its column and times "
                    f"({len(f['faults']) - len(missed)} of {len(f['faults'])}; missed: {', '.join(missed) or 'none'}; "
                    f"{others} other finding(s) in the faulted run)", not missed))
        out.append((f"{dataset}: the clean run flags nothing ({len(clean)} finding(s))", not clean))
    return out


def design_table(rows: list[tuple[str, str, dict]]) -> None:
    print("\nThe linear designs: deployed RMSE over the run / in the faulted month (the same month in the clean "
          "run) / on the held-out files; the family's choice against each design alone\n")
    print("| dataset | run | family (its designs, in step order) | relative | absolute | both | "
          "family vs best fixed, held out |")
    print("|---|---|---|---|---|---|---|")
    for dataset, kind, t in rows:
        cell = lambda d: (f"{fmt(t[d]['run'])} / {fmt(t[d]['month'])} / {fmt(t[d]['unseen'])}"  # noqa: E731
                          if t[d] else "- (window scaling: relative alone)")
        chosen = ", ".join(dict.fromkeys(t["family"]["designs"]))
        print(f"| {dataset} | {kind} | {cell('family')} ({chosen}) | {cell('relative')} | {cell('absolute')} | "
              f"{cell('both')} | {pct(design_gap(t))} |")


def design_gap(t: dict) -> float:
    from lstm_utils.constants import DESIGNS

    return t["family"]["unseen"] / min(t[d]["unseen"] for d in DESIGNS if t[d]) - 1


def summary_table(figures: dict) -> None:
    print("\nThe champion over the run (deployed RMSE, every window of every update month; in brackets the final "
          "champion) against the naive baselines; the faulted month alone, and less the windows whose targets hold "
          "the target spike\n")
    print("| dataset | clean: champion | persistence | seasonal naive | faulted: champion | persistence | "
          "seasonal naive | champion / persistence | champion / seasonal naive | faulted month: champion / "
          "persistence | less the spike's windows |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for dataset, f in figures.items():
        c, x = f["clean"]["run"], f["faulted"]["run"]
        m = next(m for m in f["faulted"]["months"] if m["faulted"])["rmse"]
        out = f["faulted"]["month_out"]
        less = f"{out['champion'] / out['persistence']:.3f}" if f["faulted"]["spiked"] else "-"
        print(f"| {dataset} | {fmt(c['champion'])} ({f['clean']['champion']}) | {fmt(c['persistence'])} | "
              f"{fmt(c['seasonal_naive'])} | {fmt(x['champion'])} ({f['faulted']['champion']}) | "
              f"{fmt(x['persistence'])} | {fmt(x['seasonal_naive'])} | {x['champion'] / x['persistence']:.3f} | "
              f"{x['champion'] / x['seasonal_naive']:.3f} | {m['champion'] / m['persistence']:.3f} | {less} |")


def bars(figures: dict) -> list[tuple[str, bool]]:
    out = []
    for dataset, f in figures.items():
        x = f["faulted"]["run"]
        m = next(m for m in f["faulted"]["months"] if m["faulted"])
        for base in ("persistence", "seasonal_naive"):
            r = x["champion"] / x[base]
            out.append((f"{dataset}: faulted run, the champion at most {base.replace('_', ' ')} ({r:.3f}, "
                        f"{f['faulted']['windows']:,} windows)", r <= RUN_BAR))
        r = m["rmse"]["champion"] / m["rmse"]["persistence"]
        out.append((f"{dataset}: faulted month ({m['batch']}), the champion ({m['pick']}) at most {MONTH_BAR} x "
                    f"persistence ({r:.3f}, {m['windows']:,} windows)", r <= MONTH_BAR))
        for kind in ("clean", "faulted"):
            gap = design_gap(f[kind]["designs"])
            out.append((f"{dataset}: {kind}, the linear family's choice at most {DESIGN_BAR:.0%} behind the best "
                        f"fixed design on the held-out files ({gap:+.2%}, {f[kind]['designs']['unseen_windows']:,} "
                        f"windows)", gap <= DESIGN_BAR))
    return out


def against(figures: dict, old_path: Path) -> list[tuple[str, bool]]:
    """Each dataset's champion and strategies against an earlier run's JSON: change in %."""
    old = json.loads(old_path.read_text())
    out = []
    print(f"\nAgainst {old_path}: run RMSE now, and its change from then\n")
    print("| dataset | run | champion (now / then) | champion change | each forecaster's change |")
    print("|---|---|---|---|---|")
    for dataset, f in figures.items():
        if dataset not in old:
            continue
        for kind in ("clean", "faulted"):
            now, then = f[kind]["run"], old[dataset][kind]["run"]
            change = now["champion"] / then["champion"] - 1
            each = ", ".join(f"{s} {pct(now[s] / then[s] - 1)}" for s in now if s in then and s != "champion")
            print(f"| {dataset} | {kind} | {fmt(now['champion'])} ({f[kind]['champion']}) / {fmt(then['champion'])} "
                  f"({old[dataset][kind]['champion']}) | {pct(change)} | {each} |")
            if kind == "clean":
                out.append((f"{dataset}: clean champion at most {AGAINST_BAR:.1%} worse than in {old_path.name} "
                            f"({change:+.2%})", change <= AGAINST_BAR))
    return out


def one(dataset: str, raw: dict, names: list[str] | None, month: int | None, kinds: list[str]) -> dict:
    """Both runs of one dataset, printed; their figures."""
    from lstm_utils.config import parse_params

    spec = DATASETS[dataset]
    params = parse_params(copy.deepcopy(raw))
    month = params.split.base_batches + 1 if month is None else month
    batch = month - params.split.base_batches + 1  # the batch the faulted file becomes
    every = [*spec["files"], *spec["unseen"]]
    result: dict = {"month": spec["files"][month].stem}
    with tempfile.TemporaryDirectory() as tmp:
        faults = inject(every, Path(tmp), params, month, kinds)
        print(f"\n{dataset}: faults injected into {spec['files'][month].name} (batch {batch}):")
        for fault in faults:
            print(f"  {fault}")
        result["faults"] = [fault.record() for fault in faults]
        faulted = [Path(tmp) / p.name for p in every]
        for kind, files in (("clean", every), ("faulted", faulted)):
            started = time.perf_counter()
            out = run(dataset, copy.deepcopy(raw), names, files=files[:len(spec["files"])])
            spike = next((f for f in faults if f.kind == "spike_target"), None)
            fig = deployed(out, batch if kind == "faulted" else None, batch, spike)
            drop = spiked(out, batch, spike) if kind == "faulted" else None
            keep_evidence(dataset, kind, out, {batch: drop.tolist()} if drop is not None and drop.any() else None)
            fig["month"] = out["batch"][batch]
            fig["designs"] = designs(out, files, batch)
            fig["findings"] = [f.record() for f in out["findings"]]  # what the data checks flagged
            fig["seconds"] = time.perf_counter() - started
            month_table(dataset, kind, fig, list(out["records"]))
            print(f"  ({fig['seconds']:.0f} s)", flush=True)
            result[kind] = fig
            del out
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    dataset_arguments(parser)
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"comma-separated, of {', '.join(FAULTS)}")
    parser.add_argument("--month", type=int, help="the faulted file's index (default: split.base_batches + 1)")
    parser.add_argument("--against", type=Path, metavar="OLD.json", help="an earlier --json: changes and its bar")
    parser.add_argument("--report", type=Path, metavar="JSON",
                        help="run nothing: the tables and bars of an earlier --json")
    args = parser.parse_args()
    kinds = [k for k in args.faults.split(",") if k]
    if set(kinds) - set(FAULTS):
        parser.error(f"--faults: choose among {', '.join(FAULTS)}")
    names = args.strategies.split(",") if args.strategies else None
    started, figures = time.perf_counter(), {}
    if args.report:
        figures = json.loads(args.report.read_text())
    for dataset in [] if args.report else args.dataset or list(DATASETS):
        figures[dataset] = one(dataset, settings(dataset, args.changes), names, args.month, kinds)
        if args.json:  # after each dataset, so a long run leaves what it has
            args.json.write_text(json.dumps(figures, indent=1, default=float) + "\n")
    fault_table(figures)
    summary_table(figures)
    after_table(figures)
    design_table([(d, kind, f[kind]["designs"]) for d, f in figures.items() for kind in ("clean", "faulted")])
    checks = bars(figures) + flag_table(figures)
    if args.against:
        checks += against(figures, args.against)
    print_bars(checks)
    print(f"\n({time.perf_counter() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

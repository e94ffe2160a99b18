"""Checks on every new file: stuck sensors, spikes and level shifts, said in words before anything
is trained on them.

Each file after the base period is one batch. Its values, column by column (and series by
series), are set against everything read before it (:func:`scan`):

- **stuck**: a run of one repeated value longer than `data.checks.stuck` times the longest run the
  column showed before (and at least `data.checks.stuck_steps` steps);
- **spike**: values beyond the range seen before by more than `data.checks.spike` robust standard
  deviations of the column (the interquartile range / 1.349, as a standard deviation would be on
  normal data);
- **shift**: a stretch of at least half a week whose rolling median over a week (or
  `data.checks.shift_steps`; at most half the file) sits more than `data.checks.shift` robust
  standard deviations from the median level of the rows before it (as many as three such files,
  from the last shift on); it starts where the mean of the rows after differs most from the mean
  of the rows before.

Values flagged as stuck or as spikes in one file are left out of what the next files are set
against (a stuck month is not what "normal" means next month); a shifted level is kept, as the new
normal. With `data.checks.action: mask` (:func:`masked`), stuck and spiking values become missing,
and the gap rules of ingest follow (short runs interpolated inside their batch, longer ones break
the windows across them). At a shift only the step is masked, a gap too long to fill where the
level moves, so that no window spans it: the shifted level stays (a level that moved and stays moved
would otherwise leave no rows to learn from), and the bounds inside the model (`model.clip`) cope
with it. The raw files are never changed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lstm_utils.constants import BATCH, SERIES
from lstm_utils.escape import markdown_text
from lstm_utils.ingest import Ingested, fill_runs
from lstm_utils.settings import ChecksParams, DataParams

KINDS = ("stuck", "spike", "shift")


@dataclass(frozen=True)
class Finding:
    """One flagged stretch of one column of one file (and series).

    `size`: for a spike, how far beyond the range seen before, in robust standard deviations; for a
    shift, how far the level moved, in the same units (signed); for a stuck run, its length over the
    longest run before. `value`: the stuck value, the spike's most extreme value, or the shifted
    level's median. `steps`: the rows of the stretch."""

    kind: str
    file: str
    column: str
    first: pd.Timestamp
    last: pd.Timestamp
    steps: int
    size: float
    value: float
    reference: str  # what it is set against, in words
    series: str | None = None

    def words(self) -> str:
        """The finding in one line, naming the file, column, times and size."""
        where = f"{self.file}: {self.column}" + (f" (series {self.series})" if self.series is not None else "")
        span = f"{_time(self.first)} to {_time(self.last)} ({self.steps:,} steps)"
        if self.kind == "stuck":
            return f"{where} is stuck at {self.value:.6g} from {span}, {self.size:.1f} times {self.reference}"
        if self.kind == "spike":
            return f"{where} reaches {self.value:.6g}, {self.size:.1f} robust SDs beyond {self.reference}, {span}"
        return (f"{where}: its level moves to {self.value:.6g}, {self.size:+.1f} robust SDs from {self.reference}, "
                f"from {span}")

    def record(self) -> dict:
        """As JSON (the data stage's prepared/checks.json)."""
        out = dataclasses.asdict(self) | {"first": self.first.isoformat(), "last": self.last.isoformat()}
        return out if self.series is not None else {k: v for k, v in out.items() if k != "series"}


def _time(t: pd.Timestamp) -> str:
    return t.isoformat(sep=" ")


def robust_sd(values: np.ndarray) -> float:
    """A spread that a few wild values do not move: the interquartile range / 1.349; where half the
    values are equal (a rain gauge's zeros), the standard deviation; 0 for a constant column."""
    if len(values) < 2:
        return 0.0
    q1, q3 = np.percentile(values, [25, 75])
    if q3 > q1:
        return float((q3 - q1) / 1.349)
    return float(np.std(values))


def runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop (exclusive) of every run of one repeated value (NaN never repeats)."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    same = values[1:] == values[:-1]  # False where either is NaN
    starts = np.flatnonzero(np.r_[True, ~same])
    return starts, np.r_[starts[1:], len(values)]


def longest_run(values: np.ndarray) -> int:
    """The longest run of one repeated value (0 for no values)."""
    start, stop = runs(values)
    keep = ~np.isnan(values[start]) if len(start) else start.astype(bool)
    return int((stop - start)[keep].max()) if keep.any() else 0


def _stretches(flags: np.ndarray) -> list[tuple[int, int]]:
    """Start and stop (exclusive) of every run of True."""
    edges = np.diff(np.r_[0, flags.astype(np.int8), 0])
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def week_steps(freq: str) -> int:
    """Grid steps in a week (at least 3): the rolling window a level is judged over."""
    step = pd.Timedelta(pd.tseries.frequencies.to_offset(freq))
    return max(3, int(pd.Timedelta("7D") // step))


def scan(ds: Ingested, data: DataParams) -> list[Finding]:
    """Every stuck run, spike and level shift in every file after the base period, each set against
    what was read before it (see the module's docstring). Per series with several series."""
    frame = ds.frame
    files = {f.batch: f.name for f in ds.report.files if f.batch >= 1}
    if not files:
        return []
    out: list[Finding] = []
    if SERIES in frame.columns:
        for name, rows in frame.groupby(SERIES, sort=True).indices.items():
            out += _scan_one(frame.iloc[rows], data, files, str(name))
    else:
        out = _scan_one(frame, data, files, None)
    return sorted(out, key=lambda f: (f.first, f.file, f.series or "", f.column, KINDS.index(f.kind)))


def _scan_one(frame: pd.DataFrame, data: DataParams, files: dict[int, str], series: str | None) -> list[Finding]:
    """:func:`scan` for one series."""
    checks = data.checks
    batch = frame[BATCH].to_numpy()
    times = frame.index
    window = checks.shift_steps or week_steps(data.freq)
    out = []
    for column in data.columns:
        seen = frame[column].to_numpy(dtype=np.float64).copy()  # flagged stuck and spiking values leave it
        since = 0  # where the column's level last moved: the new normal that later files are set against
        for b in sorted(files):
            rows = np.flatnonzero(batch == b)
            if len(rows) == 0:
                continue
            before = seen[:rows[0]]
            known = before[~np.isnan(before)]
            if len(known) < 2:
                continue
            new = seen[rows]
            found = _stuck(new, before, checks) + _spikes(new, known, checks)
            found += _shifts(seen[max(since, rows[0] - 3 * len(rows)):rows[0]], new, min(window, max(3, len(rows) // 2)),
                             checks)
            for kind, a, z, size, value, reference in found:
                out.append(Finding(kind, files[b], column, times[rows[a]], times[rows[z - 1]], int(z - a), size,
                                   value, reference, series))
                if kind == "shift":
                    since = rows[a]
                else:
                    seen[rows[a + (kind == "stuck"):z]] = np.nan
    return out


def _stuck(new: np.ndarray, before: np.ndarray, checks: ChecksParams) -> list[tuple]:
    """Runs of one value in `new` (counting the run's part just before it) longer than allowed."""
    longest = longest_run(before)
    allowed = max(checks.stuck * longest, checks.stuck_steps)
    joined = np.r_[before, new]
    start, stop = runs(joined)
    out = []
    for a, z in zip(start, stop):
        if z <= len(before) or np.isnan(joined[a]) or z - a <= allowed:
            continue
        a_new = max(a - len(before), 0)
        out.append(("stuck", a_new, z - len(before), (z - a) / max(longest, 1), float(joined[a]),
                    f"the longest run before ({longest:,} steps)"))
    return out


def _spikes(new: np.ndarray, known: np.ndarray, checks: ChecksParams) -> list[tuple]:
    """Stretches of `new` beyond the range of `known` by more than `checks.spike` robust SDs."""
    sd = robust_sd(known)
    if sd <= 0:
        return []
    lo, hi = float(known.min()), float(known.max())
    beyond = np.maximum(new - hi, lo - new) / sd  # NaN stays NaN: never flagged
    out = []
    for a, z in _stretches(np.nan_to_num(beyond, nan=-np.inf) > checks.spike):
        peak = a + int(np.argmax(beyond[a:z]))
        out.append(("spike", a, z, float(beyond[peak]), float(new[peak]),
                    f"the range seen before [{lo:.6g}, {hi:.6g}]"))
    return out


def _shifts(recent: np.ndarray, new: np.ndarray, window: int, checks: ChecksParams) -> list[tuple]:
    """Stretches of at least half `window` steps where `new`'s centred rolling median over `window`
    steps sits more than `checks.shift` robust SDs from the median of `recent` (the rows just before it)."""
    known = recent[~np.isnan(recent)]
    sd = robust_sd(known)
    if sd <= 0 or len(new) < window:
        return []
    level = float(np.median(known))
    joined = pd.Series(np.r_[recent, new])
    rolling = joined.rolling(window, center=True, min_periods=window // 2 + 1).median().to_numpy()[len(recent):]
    away = (rolling - level) / sd
    half = max(1, window // 2)
    trailing = joined.rolling(half, min_periods=1).mean().to_numpy()  # [k]: the mean of the `half` rows to k
    out = []
    for a, z in _stretches(np.abs(np.nan_to_num(away)) > checks.shift):
        if z - a < window // 2:
            continue
        a = _step(trailing, len(recent), a, half, len(new))
        moved = float(np.nanmedian(new[a:z]))
        out.append(("shift", a, z, (moved - level) / sd, moved,
                    f"the recent files' level {level:.6g} (robust SD {sd:.3g})"))
    return out


def _step(trailing: np.ndarray, offset: int, near: int, half: int, n: int) -> int:
    """Where, within `half` rows of `near` (a row of the new file, `offset` rows into `trailing`), the
    mean of the `half` rows from a row on differs most from that of the `half` rows before it: the
    row a level shift starts at (means, not medians: a median stays put until half its rows moved)."""
    rows = np.arange(max(0, near - half), min(n, near + half + 1))
    k = offset + rows
    after = trailing[np.minimum(k + half - 1, len(trailing) - 1)]
    before = trailing[np.maximum(k - 1, 0)]
    return int(rows[np.nanargmax(np.abs(after - before))]) if len(rows) else near


def masked(ds: Ingested, findings: list[Finding], data: DataParams) -> tuple[Ingested, int]:
    """`ds` with the values of every stuck run (but its first value) and every spike made missing,
    then short runs refilled by ingest's rule (inside a batch, at most `data.max_fill` steps); at a
    shift, the `data.max_fill` + 1 values from its first time on, a gap too long to fill, so that no
    window spans the step (the shifted level itself stays). Also how many values were masked. `ds`
    itself is left unchanged."""
    flagged = list(findings)
    if not flagged:
        return ds, 0
    frame = ds.frame.copy()
    names = frame[SERIES].to_numpy() if SERIES in frame.columns else None
    columns = list(data.columns)
    values = frame[columns].to_numpy(dtype=np.float64, copy=True)
    for f in flagged:
        rows = (frame.index >= f.first) & (frame.index <= f.last)
        if names is not None:
            rows &= names == f.series
        if f.kind == "stuck":
            rows &= frame.index > f.first
        elif f.kind == "shift":  # the step alone: its first max_fill + 1 rows
            rows &= np.cumsum(rows) <= data.max_fill + 1
        values[rows, columns.index(f.column)] = np.nan
    count = int(np.isnan(values).sum() - np.isnan(frame[columns].to_numpy(dtype=np.float64)).sum())
    codes = pd.factorize(names)[0] if names is not None else np.zeros(len(frame), dtype=np.int64)
    fill_runs(values, frame[BATCH].to_numpy(), codes, data.max_fill)
    frame[columns] = values
    return dataclasses.replace(ds, frame=frame), count


def checked(ds: Ingested, data: DataParams) -> tuple[Ingested, list[Finding], int]:
    """What ingest read, checked (:func:`scan`): the data to go on with (with `data.checks.action:
    mask`, :func:`masked`; else `ds` as it is), the findings, and how many values were masked."""
    findings = scan(ds, data)
    if data.checks.action != "mask":
        return ds, findings, 0
    out, count = masked(ds, findings, data)
    return out, findings, count


def warnings(findings: list[Finding], data: DataParams, masked_values: int = 0) -> list[str]:
    """A line per finding, and one for the values masked, for the terminal (`warning: ...`)."""
    lines = [f"{f.kind}: {f.words()}" for f in findings]
    if masked_values:
        lines.append(f"{masked_values:,} values treated as missing: stuck, spiking, and the step of each shift "
                     "(`data.checks.action: mask`)")
    elif findings and data.checks.action == "warn":
        lines.append("nothing was changed (`data.checks.action: warn`); read the data report before trusting the "
                     "models trained on these files")
    return lines


def table(findings: list[Finding]) -> pd.DataFrame:
    """The findings, one row each, for the data report and `validate`."""
    rows = [{"file": f.file, **({"series": f.series} if f.series is not None else {}), "column": f.column,
             "kind": f.kind, "first": f.first, "last": f.last, "steps": f.steps, "size": round(f.size, 2),
             "value": f.value} for f in findings]
    return pd.DataFrame(rows)


def words(findings: list[Finding], data: DataParams, masked_values: int = 0) -> str:
    """What the checks found, in Markdown, for the data report: nothing, or a line per finding and
    what was done with them (`data.checks.action`)."""
    checks = data.checks
    rules = (f"runs of one value over {checks.stuck:g} times the longest before (at least {checks.stuck_steps} "
             f"steps), values over {checks.spike:g} robust SDs beyond the range seen before, and rolling levels "
             f"over {checks.shift:g} robust SDs from the recent files' (`data.checks`)")
    if not findings:
        return f"Nothing flagged in any file after the base period: no {rules}."
    done = (f"`data.checks.action: mask`: {masked_values:,} values were treated as missing (stuck and spiking "
            "ones, and the step of each shift, so that no window spans it; the gap rules then apply)."
            if checks.action == "mask" else
            "`data.checks.action: warn`: nothing was changed; `mask` would treat stuck and spiking values, and the "
            "step of each shift, as missing.")
    lines = [f"- **{f.kind}**: {markdown_text(f.words())}" for f in findings]
    return (f"{len(findings)} finding(s) in the files after the base period ({rules}):\n\n" + "\n".join(lines)
            + "\n\n" + done + " The raw files are never changed.")

"""A first params.yaml from the data files themselves (the `init` command).

It reads the head of every CSV of a folder and proposes the `data`, `split`, `window` and
`baselines` keys a user would otherwise look up: the time column, the frequency, whether times
carry offsets, the separator and decimal mark, the numeric columns, a series column, a season,
look-back and horizon for that frequency, and the base period from the file count. The season is
the day, the week or the year, whichever the values repeat best (:mod:`lstm_utils.season`). Each choice
carries a comment saying why. Every other key keeps the template's value (the project's
params.yaml), so the sketch is a whole, valid file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from lstm_utils.errors import DataError, ParamsError
from lstm_utils.ingest import detect_separator, has_zone, list_csv_files, read_numbers
from lstm_utils.season import cycles, strongest
from lstm_utils.settings import as_written

HEAD_ROWS = 2000  # rows of each file read to decide
LOOKBACK_SEASONS = 6  # a season is proposed only where the files hold this many of it (the look-back holds one)
TRAIN_SHARE = 0.7  # of a file's rows, its training part (the template's split: 15% validation, 15% test)
TIME_WORDS = ("time", "date", "timestamp", "datetime", "ds")


@dataclass
class Proposed:
    """One proposed key: its YAML value and why."""

    value: object
    why: str


@dataclass
class Sketch:
    """The proposed keys, section by section, and the files they were read from."""

    keys: dict[str, dict[str, Proposed]] = field(default_factory=dict)
    files: int = 0

    def set(self, section: str, key: str, value: object, why: str) -> None:
        self.keys.setdefault(section, {})[key] = Proposed(value, why)


def _read_heads(paths: list[Path]) -> tuple[list[pd.DataFrame], list[str], str]:
    """The first rows of each file as text, each file's separator, and the decimal mark."""
    seps = [detect_separator(p) for p in paths]
    heads = []
    for path, sep in zip(paths, seps):
        try:
            heads.append(pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, nrows=HEAD_ROWS,
                                     encoding="utf-8-sig", skipinitialspace=True))
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise DataError(f"{path.name}: cannot be read as CSV ({str(exc).strip()})",
                            hint="check the file in a text editor", file=path.name) from None
    decimal = "."
    if all(s != "," for s in seps):  # a comma inside numbers, with another separator: a decimal comma
        sample = pd.concat(heads, ignore_index=True)
        commas = sum(sample[c].str.fullmatch(r"-?\d+,\d+").sum() for c in sample.columns)
        points = sum(sample[c].str.fullmatch(r"-?\d+\.\d+").sum() for c in sample.columns)
        decimal = "," if commas > points else "."
    return heads, seps, decimal


def _time_column(head: pd.DataFrame) -> str:
    """The column whose cells read as times, preferring one named like a time."""
    found = []
    for name in head.columns:
        cells = head[name].astype("string").str.strip()
        if cells.str.fullmatch(r"-?\d+([.,]\d+)?").mean() > 0.5:  # numbers are not times
            continue
        parsed = pd.to_datetime(cells, errors="coerce", utc=True, format="ISO8601")
        if parsed.notna().mean() >= 0.95:
            found.append(name)
    if not found:
        raise DataError(f"no column of the first file reads as times (ISO 8601, e.g. 2024-01-01T00:00:00); "
                        f"columns: {', '.join(head.columns)}", hint="write the time column as ISO 8601 times")
    named = [n for n in found if any(w in n.lower() for w in TIME_WORDS)]
    return (named or found)[0]


def _season(step: pd.Timedelta | None, freq: str) -> tuple[int, str]:
    """Steps in one season for this frequency, and why."""
    if step is not None and step < pd.Timedelta(days=1):
        per_day = int(pd.Timedelta(days=1) / step)
        return per_day, f"one day of {freq} steps: the daily cycle"
    if step == pd.Timedelta(days=1):
        return 7, "one week of days: the weekly cycle"
    if step == pd.Timedelta(weeks=1):
        return 52, "one year of weeks"
    return 12, "one year of months"


def _found_season(heads: list[pd.DataFrame], time: str, series: str | None, target: str, decimal: str,
                  step: pd.Timedelta | None, freq: str, room: int) -> tuple[int, str]:
    """The season the target's values show (:func:`lstm_utils.season.strongest`, on the files'
    heads put on one grid; the first series of a panel), and why. A season needs a look-back that
    holds it, so the closest cycle is proposed only where that look-back fits a file's training
    part (`room` rows: the look-back plus the horizon, in the shortest file) and the files hold
    :data:`LOOKBACK_SEASONS` of it; else the next closest, saying why. The rule of
    :func:`_season` where the rows are too few to measure any."""
    if step is None:
        return _season(step, freq)
    parts = []
    for head in heads:
        one = head if series is None else head[head[series] == heads[0][series].iloc[0]]
        when = pd.to_datetime(one[time].astype("string").str.strip(), errors="coerce", utc=True, format="ISO8601")
        values, _ = read_numbers(one[target], decimal)
        parts.append(pd.Series(values, index=pd.DatetimeIndex(when)))
    both = pd.concat(parts)
    both = both[both.index.notna()].sort_index()
    both = both[~both.index.duplicated(keep="last")]
    found = strongest(both.reindex(pd.date_range(both.index[0], both.index[-1], freq=step)), step) \
        if len(both) >= 2 else None
    if found is None:
        season, why = _season(step, freq)
        return season, f"{why} (the files hold too few rows to compare the {' and the '.join(c for c, _ in cycles(step))})"
    ranked = sorted(found.measured, key=lambda name: (found.measured[name][1], found.measured[name][0]))
    fits = lambda name: found.measured[name][0] <= room and len(both) >= LOOKBACK_SEASONS * found.measured[name][0]
    chosen = next((name for name in ranked if fits(name)), min(ranked, key=lambda name: found.measured[name][0]))
    why = f"one {chosen}: in {target!r}, {found.words()}"
    if chosen != found.name:
        lag = found.measured[found.name][0]
        why += (f"; not a {found.name}: a look-back of {lag} steps does not fit the training part of a file "
                f"({room} rows with the horizon)" if lag > room else
                f"; not a {found.name}: the files hold fewer than {LOOKBACK_SEASONS} of it")
    return found.measured[chosen][0], why


def sketch(source: str | Path) -> Sketch:
    """Propose the data, split, window and baselines keys for the CSV files of `source`."""
    paths = list_csv_files(source)
    heads, seps, decimal = _read_heads(paths)
    out = Sketch(files=len(paths))
    first = heads[0]
    time = _time_column(first)
    out.set("data", "time_column", time, "its cells read as times")
    mixed = len(set(seps)) > 1
    out.set("data", "separator", "auto" if mixed else seps[0],
            ("the files use " + " and ".join(sorted({repr(s) for s in seps})) + ": each file's own is detected")
            if mixed else f"{seps[0]!r} separates the header's names")
    if decimal == ",":
        out.set("data", "decimal", ",", "numbers are written with a decimal comma (3,14)")
    cells = first[time].astype("string").str.strip()
    zoned = bool(has_zone(cells).mean() > 0.5)
    out.set("data", "timezone", "UTC",
            "times carry a UTC offset and are converted to this zone; name your local zone to see local hours"
            if zoned else "times have no UTC offset: they are read as wall-clock times in this zone; "
                          "set the zone they were written in")
    numeric, other, sparse = [], [], []
    for name in first.columns:
        if name == time:
            continue
        values, blank = read_numbers(first[name], decimal)
        present = ~blank
        if present.any() and (~np.isnan(values[present])).mean() >= 0.9:
            (numeric if present.mean() >= 0.5 else sparse).append(name)  # mostly blank: no use as an input
        else:
            other.append(name)
    times = pd.to_datetime(cells, errors="coerce", utc=True, format="ISO8601")
    series = None
    for name in other:  # names repeating with the times: a long-form series column
        groups = first[name].nunique()
        if 1 < groups <= max(2, len(first) // 4) and times.duplicated().mean() > 0.3:
            series = name
            break
    if series is not None:
        out.set("data", "series_column", series, f"{first[series].nunique()} names repeat with the times: "
                                                 "one series each (long form)")
    if not numeric:
        raise DataError(f"{paths[0].name}: no numeric column besides {time!r}",
                        hint="each file needs the time and at least one column of numbers", file=paths[0].name)
    out.set("data", "targets", [numeric[0]], "the first numeric column: name the ones to forecast")
    out.set("data", "features", numeric, "every numeric column, as inputs (targets are always inputs)"
            + (f"; left out, mostly blank: {', '.join(sparse)}" if sparse else ""))
    one = first if series is None else first[first[series] == first[series].iloc[0]]
    stamps = pd.DatetimeIndex(pd.to_datetime(one[time].astype("string").str.strip(), errors="coerce", utc=True,
                                             format="ISO8601").dropna()).sort_values().unique()
    inferred = pd.infer_freq(stamps) if len(stamps) >= 3 else None
    step = pd.Timedelta(stamps.to_series().diff().dropna().mode().iloc[0]) if len(stamps) >= 2 else None
    freq = inferred or (pd.tseries.frequencies.to_offset(step).freqstr if step is not None else "h")
    freq = _plain(freq)
    out.set("data", "freq", freq, "the step between consecutive times" + (
        "" if inferred else " (the most common one; missing steps are filled or left as gaps)"))
    per_file = [len(h) if series is None else len(h) / max(1, h[series].nunique()) for h in heads]
    rows = int(np.median(per_file))
    shortest = min([lag for _, lag in cycles(step)] or [_season(step, freq)[0]]) if step is not None else None
    horizon = min(shortest or _season(step, freq)[0], max(1, rows // 20))
    room = int(TRAIN_SHARE * min(per_file)) - horizon  # the longest look-back a file's training part holds
    season, why = _found_season(heads, time, series, numeric[0], decimal, step, freq, room)
    out.set("baselines", "season", season, why)
    horizon = min(season, horizon)
    lookback = max(season, 3 * horizon) if rows >= 20 * season else season
    out.set("window", "lookback", int(lookback),
            "at least one season, so seasonal naive and the seasonal anchor have it" if lookback == season
            else "three horizons of history, at least one season")
    out.set("window", "horizon", int(horizon), "one season ahead" if horizon == season else
            f"a file has about {rows} rows: a horizon of {horizon} leaves each tail several windows")
    base = max(1, round(len(paths) * 0.6)) if len(paths) > 1 else 1
    out.set("split", "base_batches", base, f"{len(paths)} files: the first {base} form the base period, "
                                           f"each later one is an update step")
    return out


def _plain(freq: str) -> str:
    """pandas' frequency text as params.yaml takes it: 'H' and 'T' spelt 'h' and 'min'."""
    freq = re.sub(r"H$", "h", freq)
    return re.sub(r"T$", "min", freq)


_MISSING = object()  # a key the filled text lacks


def fill_template(template: str, proposal: Sketch) -> str:
    """The template params.yaml with the proposed keys set in place, each with its reason as the
    line's comment; a key the template lacks is added at the end of its section."""
    lines = template.splitlines()
    for section, keys in proposal.keys.items():
        for key, choice in keys.items():
            text = f"  {key}: {as_written(choice.value)}"
            text = f"{text:<27}# {choice.why}" if len(text) < 27 else f"{text}  # {choice.why}"
            start = next((i for i, line in enumerate(lines) if line.startswith(f"{section}:")), None)
            if start is None:
                lines += [f"{section}:", text]
                continue
            end = next((i for i in range(start + 1, len(lines)) if lines[i] and not lines[i].startswith((" ", "#"))),
                       len(lines))
            at = next((i for i in range(start + 1, end) if re.match(rf"  {re.escape(key)}:", lines[i])), None)
            if at is None:
                last = max(i for i in range(start, end) if lines[i].startswith("  ") or i == start)
                lines.insert(last + 1, text)
            else:
                after = at + 1  # the old value's further lines (a block list, a nested mapping) go too
                while after < end and lines[after].startswith(("   ", "  -")):
                    after += 1
                lines[at:after] = [text]
    out = "\n".join(lines) + "\n"
    got = yaml.safe_load(out)
    for section, keys in proposal.keys.items():  # a layout this line editing cannot follow is said so
        for key, choice in keys.items():
            if (got.get(section) or {}).get(key, _MISSING) != choice.value:
                raise ParamsError(f"params.yaml: init could not set {section}.{key} in this file's layout",
                                  hint="run init without --replace to print the sketch, and copy its "
                                  "data, split, window and baselines keys by hand", key=f"{section}.{key}")
    return out

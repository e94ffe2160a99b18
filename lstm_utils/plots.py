"""Figures for the reports. Each function returns a matplotlib Figure (not shown by pyplot),
so a notebook displays it once by leaving it as a cell's last expression."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from lstm_utils.constants import BATCH, SERIES, SPLIT, SPLITS
from lstm_utils.windows import Windows

SPLIT_COLOURS = {"train": "#dbe9f6", "val": "#fdebd0", "test": "#f6d5d5"}


def _shade_splits(ax, frame: pd.DataFrame) -> None:
    split, batch = frame[SPLIT].to_numpy(), frame[BATCH].to_numpy()
    change = np.flatnonzero(np.diff(split) != 0) + 1
    bounds = np.concatenate([[0], change, [len(frame)]])
    for a, b in zip(bounds[:-1], bounds[1:]):
        ax.axvspan(frame.index[a], frame.index[b - 1], color=SPLIT_COLOURS[SPLITS[split[a]]], lw=0)
    for at in np.flatnonzero(np.diff(batch) != 0) + 1:
        ax.axvline(frame.index[at], color="black", lw=0.8)


def series_overview(frame: pd.DataFrame, columns: Sequence[str], most: int = 8) -> Figure:
    """Each input over time; background = train / val / test, black lines = batch starts.
    Gaps left missing show as breaks in the lines. With several series (column `series`), a
    line per series, the first `most` by name (the shading is the first series')."""
    fig = Figure(figsize=(11, 1.8 * len(columns)), layout="constrained")
    axes = fig.subplots(len(columns), 1, sharex=True, squeeze=False)[:, 0]
    if SERIES in frame.columns:
        names = list(dict.fromkeys(frame[SERIES]))
        blocks = [(name, frame[frame[SERIES] == name]) for name in names[:most]]
    else:
        names, blocks = [], [("", frame)]
    for ax, col in zip(axes, columns):
        if SPLIT in frame:
            _shade_splits(ax, blocks[0][1])
        if len(blocks) == 1:
            ax.plot(frame.index, frame[col], lw=0.6, color="#1f4e79")
        for name, block in blocks if len(blocks) > 1 else []:
            ax.plot(block.index, block[col], lw=0.6, label=name)
        ax.set_ylabel(col)
    handles = [Patch(color=c, label=s) for s, c in SPLIT_COLOURS.items()]
    if len(blocks) > 1:
        handles += axes[0].get_legend_handles_labels()[0]
    axes[0].legend(handles=handles, loc="upper left", ncols=len(handles), fontsize=8)
    if len(names) > most:
        axes[0].set_title(f"the first {most} of {len(names)} series", fontsize=9, loc="right")
    return fig


def distributions(frame: pd.DataFrame, columns: Sequence[str], names: dict[int, str]) -> Figure:
    """Box plots of each input per batch: how the inputs drift from batch to batch."""
    fig = Figure(figsize=(11, 1.9 * len(columns)), layout="constrained")
    axes = fig.subplots(len(columns), 1, squeeze=False)[:, 0]
    batches = sorted(frame[BATCH].unique())
    for ax, col in zip(axes, columns):
        data = [frame.loc[frame[BATCH] == b, col].dropna().to_numpy() for b in batches]
        ax.boxplot(data, tick_labels=[names.get(int(b), str(b)) for b in batches], showfliers=False)
        ax.set_ylabel(col)
    return fig


def learning_curves(history: dict[str, list[float]], best_epoch: int | None = None,
                    start: float | None = None) -> Figure:
    """Training and validation loss per epoch; the circle marks the epoch whose weights were kept.

    `start` is the validation loss before the first epoch (drawn as epoch 0); `best_epoch` the
    kept epoch (0: the starting weights); without it, the lowest validation loss is marked.
    """
    fig = Figure(figsize=(7, 3.5), layout="constrained")
    ax = fig.add_subplot()
    colors = {}
    for key, values in history.items():
        colors[key] = ax.plot(np.arange(1, len(values) + 1), values, marker=".", label=key)[0].get_color()
    val = history.get("val_loss")
    if val and start is not None:
        ax.plot([0, 1], [start, val[0]], marker=".", color=colors["val_loss"], ls=":", label="val_loss at the start")
    if val:
        best = int(np.argmin(val)) + 1 if best_epoch is None or (best_epoch == 0 and start is None) else best_epoch
        ax.plot(best, start if best == 0 else val[best - 1], "o", ms=10, mfc="none", color="black", label="kept")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE (per-target scaled)")
    ax.legend()
    return fig


def forecast_vs_actual(windows: Windows, forecasts: dict[str, np.ndarray], target: int = 0,
                       steps: Sequence[int] = (1,), name: str = "") -> Figure:
    """Actual values against forecasts made `step` hours before, for each step asked (with
    several series, the first series by name).

    Parameters
    ----------
    windows
        The windows forecast; their targets are the actual values.
    forecasts
        Forecasts (n, horizon, targets) per forecaster's name.
    target
        Which target to draw (its position).
    steps
        How far ahead (1 = the first horizon step); one panel each.
    name
        The target's name, for the axis.
    """
    names, which = windows.series(), ""
    if names is not None:  # several series: the first one's windows (a line through all would zigzag)
        first = min(names.tolist())
        pick = names == first
        windows, forecasts, which = windows.subset(pick), {k: v[pick] for k, v in forecasts.items()}, f" ({first})"
    y = windows.targets()
    times = windows.target_times()
    fig = Figure(figsize=(11, 2.8 * len(steps)), layout="constrained")
    axes = fig.subplots(len(steps), 1, squeeze=False)[:, 0]
    for ax, step in zip(axes, steps):
        when = times + (step - 1) * windows.index.freq if windows.index.freq else times
        ax.plot(when, y[:, step - 1, target], color="black", lw=1.2, label="actual")
        for label, pred in forecasts.items():
            ax.plot(when, pred[:, step - 1, target], lw=0.9, label=label)
        ax.set_title(f"{name}{which} forecast made {step} step(s) ahead")
    # one legend beside the panels (they share their lines); inside, ten entries cover the data
    axes[0].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def error_by_step(scores: dict[str, dict], target: str, metric: str = "rmse") -> Figure:
    """Error per horizon step for each forecaster."""
    fig = Figure(figsize=(7, 3.5), layout="constrained")
    ax = fig.add_subplot()
    for name, s in scores.items():
        by_step = s[f"{metric}_by_step"].get(target, [])
        ax.plot(np.arange(1, len(by_step) + 1), by_step, marker=".", label=name)
    ax.set_xlabel("horizon step")
    ax.set_ylabel(f"{metric.upper()} {target}")
    ax.legend()
    return fig


def error_matrix(rmse: np.ndarray, batches: Sequence[str], title: str = "", ax=None,
                 limits: tuple[float, float] | None = None, fmt: str | None = None, cmap: str = "viridis_r",
                 what: str = "RMSE", windows: Sequence[int] | None = None) -> Figure | None:
    """Heat map of E[t][k]: rows = model after step t, columns = test tail of batch k.

    Parameters
    ----------
    rmse
        The matrix (steps + 1, batches).
    batches
        Batch names (the columns; rows are "base" and "after <batch>").
    title
        Above the map.
    ax
        Draw into these axes (then nothing is returned), else into a new figure.
    limits
        The colour scale's (low, high), to share one scale between maps.
    fmt, cmap, what
        How a cell's value is written (None: three significant digits, thousands as "k", see
        :func:`short_number`), the colour map, and what the values are (for a coverage matrix:
        "{:.0%}", a diverging map centred on the nominal level by `limits`, "coverage").
    windows
        Each batch's test-tail windows, written under its name: what each column rests on.
    """
    fig = None
    if ax is None:
        fig = Figure(figsize=(1.1 * len(batches) + 2, 0.8 * len(rmse) + 1.2), layout="constrained")
        ax = fig.add_subplot()
    low, high = limits or (np.nanmin(rmse), np.nanmax(rmse))
    image = ax.imshow(rmse, cmap=cmap, vmin=low, vmax=high)
    texts = {at: "-" if not np.isfinite(v) else fmt.format(v) if fmt else short_number(v) for at, v in np.ndenumerate(rmse)}
    # the labels fit their cells: about 0.6 of the font size per character, in the axes' share of the figure
    cell = ax.get_position().width * ax.get_figure().get_figwidth() * 72 * 0.8 / max(1, rmse.shape[1])
    size = float(np.clip(cell / (0.62 * max(map(len, texts.values()), default=1)), 5, 8))
    for (t, k), value in np.ndenumerate(rmse):
        light = value > (low + high) / 2 if cmap == "viridis_r" else abs(value - (low + high) / 2) > (high - low) / 3
        ax.text(k, t, texts[t, k], ha="center", va="center", fontsize=size,
                color="white" if light else "black", fontweight="bold" if t == k else None,
                in_layout=False)  # inside the axes: layout need not measure each (half of a figure's time)
    labels = batches if not windows else [f"{b} ({n})" for b, n in zip(batches, windows)]
    ax.set_xticks(range(len(batches)), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(rmse)), ["base"] + [f"after {b}" for b in batches[1:len(rmse)]], fontsize=8)
    ax.set_xlabel("test tail of batch" + (" (its windows)" if windows else ""))
    ax.set_title(title or f"{what}: model after each step on every batch")
    if fig is not None:
        fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def short_number(value: float) -> str:
    """`value` in three significant digits, thousands and millions as "k" and "M": 3.61, 0.204,
    123, 1.23k, 45.7M. What fits an error-matrix cell whatever the target's units."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= scale * 0.9995:  # rounds to at least 1.00 of this suffix
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def error_matrices(results: dict[str, dict], level: str | None = None) -> Figure:
    """Every strategy's error matrix side by side, on one colour scale; with `level` (e.g. "80"),
    its coverage matrix at that level instead, coloured by the distance from the nominal level."""
    names = [n for n in results if level is None or level in results[n].get("intervals", {})]
    batches = max(len(results[n]["batches"]) for n in names)
    side = max(4.2, 0.42 * batches + 1.4)  # each map wide enough for its cells' labels; fewer per row then
    cols = max(1, min(3, len(names), int(13 // side)))
    rows = -(-len(names) // cols)
    fig = Figure(figsize=(side * cols, side * 0.86 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    matrix = {n: results[n]["rmse"] if level is None else results[n]["intervals"][level]["coverage"] for n in names}
    if level is None:
        every = np.concatenate([np.ravel(m) for m in matrix.values()])
        style = {"limits": (float(np.nanmin(every)), float(np.nanmax(every)))}
    else:
        nominal = float(level) / 100
        style = {"limits": (nominal - 0.25, nominal + 0.25), "fmt": "{:.0%}", "cmap": "RdBu", "what": "coverage"}
    for ax, name in zip(axes, names):
        error_matrix(matrix[name], results[name]["batches"], title=name if level is None else f"{name}: {level}%",
                     ax=ax, windows=results[name].get("test_windows"), **style)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    return fig


def coverage_over_time(results: dict[str, dict], baselines: dict[str, dict] | None = None,
                       levels: Sequence[str] = ()) -> Figure:
    """Per update step, each strategy's interval coverage on the new batch's test tail, one panel
    per level (e.g. "80"), against the nominal level (dotted); baselines (per batch, as
    :func:`steps_over_time` takes them) dashed."""
    levels = list(levels) or list(next(iter(results.values()))["intervals"])
    fig = Figure(figsize=(9.5, 3.2 * len(levels)), layout="constrained")
    axes = fig.subplots(len(levels), 1, squeeze=False).ravel()
    any_rec = next(iter(results.values()))
    steps = list(range(1, len(any_rec["batches"])))
    for ax, level in zip(axes, levels):
        for name, rec in results.items():
            c = rec["intervals"][level]["coverage"]
            style = {"ls": "-.", "color": "tab:brown"} if name.endswith("(baseline)") else {"marker": "o"}
            ax.plot(steps, [c[t, t] for t in steps], label=name, **style)
        for name, b in (baselines or {}).items():
            c = b["intervals"][level]["coverage"]
            ax.plot(steps, c[1:], ls="--", color="grey" if name == "persistence" else "black", label=name)
        ax.axhline(float(level) / 100, color="tab:red", ls=":", lw=1.5, label=f"nominal {level}%")
        ax.set_xticks(steps, any_rec["batches"][1:])
        ax.yaxis.set_major_formatter("{x:.0%}")
        ax.set_ylabel(f"{level}% interval coverage")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    axes[0].set_title("coverage of each new batch's test tail, after learning it")
    return fig


def coverage_by_step(scores: dict[str, dict], level: str) -> Figure:
    """Coverage and interval score per horizon step for each forecaster whose scores have
    intervals at `level`."""
    fig = Figure(figsize=(10, 3.5), layout="constrained")
    left, right = fig.subplots(1, 2)
    for name, s in scores.items():
        got = s.get("intervals", {}).get(level)
        if got is None:
            continue
        steps = np.arange(1, len(got["coverage_by_step"]) + 1)
        left.plot(steps, got["coverage_by_step"], marker=".", label=name)
        right.plot(steps, got["interval_score_by_step"], marker=".", label=name)
    left.axhline(float(level) / 100, color="tab:red", ls=":", lw=1.5, label="nominal")
    left.yaxis.set_major_formatter("{x:.0%}")
    left.set_ylabel(f"{level}% coverage")
    right.set_ylabel(f"{level}% interval score (lower is better)")
    for ax in (left, right):
        ax.set_xlabel("horizon step")
    left.legend(fontsize=8, ncols=2)
    return fig


def steps_over_time(results: dict[str, dict], baselines: dict[str, dict], key: str = "new") -> Figure:
    """Per update step: each strategy's error on the new batch (after the step, or before it
    with key='forward'), with the naive forecasts on the same batches (entries of `results`
    named "... (baseline)", such as the linear baseline's record, are drawn as baselines)."""
    fig = Figure(figsize=(8, 3.8), layout="constrained")
    ax = fig.add_subplot()
    for name, rec in results.items():
        e = rec["rmse"]
        steps = range(1, len(e))
        values = [e[t, t] if key == "new" else e[t - 1, t] for t in steps]
        style = {"ls": "-.", "color": "tab:brown"} if name.endswith("(baseline)") else {"marker": "o"}
        ax.plot(list(steps), values, label=name, **style)
    for name, b in baselines.items():
        n = len(b["rmse"])
        ax.plot(range(1, n), b["rmse"][1:], ls="--", color="grey" if name == "persistence" else "black", label=name)
    any_rec = next(iter(results.values()))
    ax.set_xticks(range(1, len(any_rec["batches"])), any_rec["batches"][1:])
    ax.set_ylabel("RMSE on the new batch's test tail")
    ax.set_title("after learning each batch" if key == "new" else "before learning it (deployed model)")
    ax.legend(fontsize=8, ncols=2)
    return fig


def deployed_over_time(deployed: dict[str, list], batches: list[str], baselines: set[str] | frozenset = frozenset()
                       ) -> Figure:
    """Per update step: each forecaster's deployed RMSE on the new batch (the model before the step
    on every window of the batch), strategies with markers, `baselines` dashed; each batch's
    window count under its name."""
    fig = Figure(figsize=(8, 3.8), layout="constrained")
    ax = fig.add_subplot()
    steps = range(1, len(batches))
    for name, cells in deployed.items():
        values = [float(np.sqrt(c.sq.mean())) if len(c) else np.nan for c in cells]
        style = ({"ls": "--", "color": {"persistence": "grey", "seasonal_naive": "black"}.get(name, "tab:brown")}
                 if name in baselines else {"marker": "o"})
        ax.plot(list(steps), values, label=f"{name} (baseline)" if name in baselines else name, **style)
    counts = [len(next(iter(deployed.values()))[t - 1]) for t in steps] if deployed else []
    ax.set_xticks(list(steps), [f"{b}\n{n:,} windows" for b, n in zip(batches[1:], counts)])
    ax.set_ylabel("deployed RMSE on the new batch")
    ax.set_title("before learning each batch: every window of it (the model a user had then)")
    ax.legend(fontsize=8, ncols=2)
    return fig


def cost_vs_accuracy(summaries: dict[str, dict], key: str = "deployed_rmse", members: Sequence[str] = ()) -> Figure:
    """Training windows seen over the chain against a ranking figure (`key`), one point per
    strategy; those in the confidence set (`members`) filled, the others hollow."""
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    for name, s in summaries.items():
        if s.get(key) is None:
            continue
        if name in members or not members:
            ax.scatter(s["windows_seen"], s[key], s=40, color="tab:blue")
        else:
            ax.scatter(s["windows_seen"], s[key], s=40, facecolors="none", edgecolors="tab:blue")
        ax.annotate(name, (s["windows_seen"], s[key]), textcoords="offset points", xytext=(5, 4))
    ax.set_xlabel("training windows seen, all steps")
    ax.set_ylabel(key.replace("_", " ") + (" (hollow: outside the confidence set)" if members else ""))
    return fig


def forecast_ahead(frame: pd.DataFrame, forecast: pd.DataFrame, target: str, steps: int, most: int = 4) -> Figure:
    """The last `steps` observed values of a target and the forecast past the last timestamp,
    with its interval bands (columns `<target>_lower_<level>` / `_upper_<level>`, widest
    palest); with several series (a `series` column in both), a panel per series, the first
    `most` by name."""
    if SERIES not in forecast.columns:
        parts = [("", frame[target].iloc[-steps:], forecast)]
    else:
        names = sorted(set(forecast[SERIES]))[:most]
        parts = [(name, frame.loc[frame[SERIES] == name, target].iloc[-steps:], forecast[forecast[SERIES] == name])
                 for name in names]
    fig = Figure(figsize=(9, 3.2 * len(parts)), layout="constrained")
    axes = fig.subplots(len(parts), 1, squeeze=False)[:, 0]
    for ax, (name, history, ahead) in zip(axes, parts):
        _forecast_panel(ax, history, ahead, target)
        if name:
            ax.set_title(str(name), fontsize=9, loc="left")
    return fig


def _forecast_panel(ax, history: pd.Series, forecast: pd.DataFrame, target: str) -> None:
    bands = sorted((float(c.rsplit("_", 1)[1]), c.rsplit("_", 1)[1]) for c in forecast.columns
                   if c.startswith(f"{target}_lower_"))
    for i, (_, level) in enumerate(reversed(bands)):
        lower, upper = forecast[f"{target}_lower_{level}"].to_numpy(), forecast[f"{target}_upper_{level}"].to_numpy()
        if np.isfinite(lower).all() and np.isfinite(upper).all():
            ax.fill_between(forecast.index, lower, upper, color="tab:red", alpha=0.15 + 0.15 * i, lw=0,
                            label=f"{level}% interval")
    ax.plot(history.index, history.to_numpy(), color="black", lw=1, label="observed")
    ax.plot(forecast.index, forecast[target].to_numpy(), color="tab:red", marker=".", label="forecast")
    ax.set_ylabel(target)
    ax.legend(fontsize=8)

"""The study's leaderboard as tables and a figure, read from ``metrics.leaderboard.Leaderboard``.

Sorting without script: the page carries one table per key metric, each pre-sorted by that metric (best
first), besides the table in the study's own order. Pure: the figure and tables read the board's estimates,
they compute nothing.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from weirdkinetics.metrics.leaderboard import COLUMN_BY_KEY, Column, Leaderboard, ModelRow, format_estimate
from weirdkinetics.report.figures import _err, _new_figure, _text
from weirdkinetics.report.tables import Table

ARROW = {"higher": "↑", "lower": "↓"}

RELIANCE_AXIS = ("background_only", "swap_background", "background_score", "gap")
"""The scatter's y axis: the first of these columns the board has (background reliance, higher = more)."""


def _n(cell) -> int | None:
    return getattr(cell, "n", None)


def leaderboard_table(board: Leaderboard, order: str | None = None) -> Table:
    """One row per model (the study's order, or sorted by column ``order``, best first): each number with
    its 95 % interval, the column titles marked ↑ (higher is better) or ↓ (lower is better). The CSV holds
    value, interval bounds and n per column."""
    rows = board.ordered(order) if order else board.rows
    columns = ["model"] + [f"{c.title} {ARROW[c.better]}" for c in board.columns]
    display, raw = [], []
    for r in rows:
        name = f"{r.model} (reference)" if r.reference else r.model
        display.append([name] + [format_estimate(r.cell(c.key), c) for c in board.columns])
        line: list[object] = [r.model, r.reference]
        for c in board.columns:
            cell = r.cell(c.key)
            line += [None, None, None, None] if cell is None else [cell.value, *cell.interval, _n(cell)]
        raw.append(line)
    csv_columns = ["model", "reference"]
    for c in board.columns:
        csv_columns += [c.key, f"{c.key}_ci95_lo", f"{c.key}_ci95_hi", f"{c.key}_n"]
    if order:
        col = COLUMN_BY_KEY[order]
        name, title = f"leaderboard_by_{order}", f"Sorted by {col.title} ({col.better} is better)"
    else:
        name, title = "leaderboard", "Leaderboard"
    note = (
        "↑ higher is better, ↓ lower is better (less reliance on the background). Accuracies and rates "
        "with 95% Wilson intervals; the gap with a 95% bootstrap interval (resampling recordings; Newcombe's "
        "score interval over fewer than 5 recordings or where a split is all right or all wrong); the "
        "attribution on background with a 95% bootstrap interval (resampling recordings): the maps' background "
        "share normalised for the background's area and the map's resolution, 0 = all on the person as far "
        "as the map's resolution allows, 1 = as much as the background's area (a uniform map); each model's "
        "section gives the raw share. A random-weights copy of an explained card is its reference row. "
        "— : no number (variant not made, nothing explained)."
    )
    return Table(name, title, columns, display, csv_columns, raw, note=note, row_header=True)


def columns_table(board: Leaderboard) -> Table:
    """What each column measures and which way is better."""
    rows = [
        [c.title, c.better, "yes" if c.reliance else "no", c.more_reliant or "—", c.label]
        for c in board.columns
    ]
    csv = [[c.key, c.title, c.better, c.reliance, c.more_reliant] for c in board.columns]
    return Table(
        "leaderboard_columns",
        "The columns",
        ["column", "better", "measures background reliance", "more reliant when", "reads as"],
        rows,
        ["key", "title", "better", "reliance", "more_reliant"],
        csv,
        row_header=True,
    )


def reliance_axis(board: Leaderboard) -> Column | None:
    """The column the scatter plots against accuracy on the originals."""
    keys = {c.key for c in board.columns}
    return next((COLUMN_BY_KEY[k] for k in RELIANCE_AXIS if k in keys), None)


def _values(rows: tuple[ModelRow, ...], key: str) -> tuple[list, list]:
    values = [r.value(key) for r in rows]
    cis = [r.cell(key).interval if r.cell(key) is not None else (None, None) for r in rows]
    return values, cis


def leaderboard_figure(board: Leaderboard, y: Column) -> Figure:
    """Accuracy on the original videos (x) against background reliance ``y``, one labelled point per
    model with both 95 % intervals as error bars; models missing either number are left out."""
    rows = tuple(r for r in board.rows if r.value("originals") is not None and r.value(y.key) is not None)
    fig = _new_figure(6.0, 4.2)
    ax = fig.add_subplot()
    xs, xci = _values(rows, "originals")
    ys, yci = _values(rows, y.key)
    scale, yscale = 100.0, (1.0 if y.kind == "score" else 100.0)
    x = np.array(xs, dtype=float) * scale
    yv = np.array(ys, dtype=float) * yscale
    ax.errorbar(
        x, yv, xerr=_err(xs, xci) * scale, yerr=_err(ys, yci) * yscale, fmt="o", color="#1f77b4",
        ecolor="#888", capsize=3,
    )  # fmt: skip
    for xi, yi, r in zip(x, yv, rows):
        label = f"{r.model} (reference)" if r.reference else r.model
        ax.annotate(_text(label), (xi, yi), textcoords="offset points", xytext=(5, 5), fontsize=8)
    ax.set_xlabel("accuracy on the original videos (%)")
    unit = {"gap": "pts", "score": "score"}.get(y.kind, "%")
    ax.set_ylabel(
        f"{_text(y.title)} ({unit}), {'higher' if y.more_reliant == 'higher' else 'lower'} = more reliant"
    )
    ax.set_title("Accuracy against background reliance (95% intervals)")
    ax.grid(alpha=0.3)
    return fig

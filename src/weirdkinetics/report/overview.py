"""The overview of a report of many runs: one table, one row per run, with its headline numbers (accuracy per
split and the gaps, with intervals), its denominators (rows, counted, not counted by status) and whether it is
complete. Pure: built from ``ReportContents``, no IO, no metric computed here.

Why an overview: a report used to lay out every run's full section (three figures, about ten tables) on one
page, so its cost and size grew with the runs (100 runs: 167 MB in 124 s; 2,001 runs: still writing after
600 s), and a page of 2,000 sections is not something anyone reads. Beyond ``SECTIONS_MAX`` runs the page is
this table; each run's full section is written on request, as a page of its own linked from its row.
"""

from __future__ import annotations

from weirdkinetics.metrics.summary import RunMetrics
from weirdkinetics.report.tables import DASH, Table, pct_ci, signed_ci, signed_pct
from weirdkinetics.results import RunResults, not_evaluated_of_planned

SECTIONS_MAX = 10
"""A report of at most this many runs shows every run's full section on its one page; beyond, the page is the
overview and each run's section is a page of its own, written on request (``run_pages``)."""


def completeness(run: RunResults) -> str:
    """'complete', or 'incomplete: N of M planned rows not evaluated yet'."""
    missing, planned = not_evaluated_of_planned(run)
    return f"incomplete: {missing} of {planned} planned rows not evaluated yet" if missing else "complete"


def _not_counted(m: RunMetrics) -> str:
    """'decode_error 1, missing 2': rows not counted, by status (dash when every row was counted)."""
    counted = set(m.status.counted_statuses)
    parts = [f"{s} {n}" for s, n in m.status.counts.items() if n and s not in counted]
    if m.status.rows - m.status.counted and not parts:  # counted statuses without a prediction
        parts = [f"no prediction {m.status.rows - m.status.counted}"]
    return ", ".join(parts) or DASH


def _accuracy_cell(m: RunMetrics, split: str) -> tuple[str, list[object]]:
    """One split's accuracy as 'correct/n  value [lo to hi]' and its raw (n, value, lo, hi)."""
    b = m.splits.get(split)
    acc = b.accuracy if b else None
    if acc is None or not acc.n:
        return DASH, [acc.n if acc else None, None, None, None]
    return f"{100 * acc.value:.1f}% ({acc.count}/{acc.n}) [{pct_ci(acc.interval)}]", [
        acc.n,
        acc.value,
        *acc.interval,
    ]


def _gap_cell(m: RunMetrics, gap: str) -> tuple[str, list[object]]:
    """One gap as '+x pts [lo to hi]' and its raw (value, lo, hi)."""
    e = m.gaps.get(gap)
    if e is None or e.value is None:
        return DASH, [None, None, None]
    return f"{signed_pct(e.value)} [{signed_ci(e.ci95)}]", [e.value, *e.ci95]


def _row(
    run: RunResults, m: RunMetrics, splits: list[str], gaps: list[str]
) -> tuple[list[str], list[object]]:
    """One run's display cells and CSV values."""
    missing, planned = not_evaluated_of_planned(run)
    cells = [m.run, m.model, str(m.status.rows), str(m.status.counted), _not_counted(m), completeness(run)]
    raw: list[object] = [m.run, m.model, m.status.rows, m.status.counted, m.status.rows - m.status.counted]
    raw += [planned, missing]
    for split in splits:
        cell, values = _accuracy_cell(m, split)
        cells.append(cell)
        raw += values
    for gap in gaps:
        cell, values = _gap_cell(m, gap)
        cells.append(cell)
        raw += values
    return cells, raw


def overview_table(runs: list[RunResults], metrics: list[RunMetrics]) -> Table:
    """Every run, one row each: rows, counted, not counted by status, completeness, accuracy per split and
    the gaps with their intervals. Display and CSV columns grow with the splits and gaps, never with the
    runs, so the table's size is linear in the runs."""
    splits = list(dict.fromkeys(s for m in metrics for s in m.splits))
    gaps = list(dict.fromkeys(g for m in metrics for g in m.gaps))
    columns = [
        "run",
        "model",
        "rows",
        "counted",
        "not counted",
        "complete",
        *splits,
        *[f"gap {g}" for g in gaps],
    ]
    csv_columns = ["run", "model", "rows", "counted", "not_counted", "planned", "not_evaluated"]
    for s in splits:
        csv_columns += [f"{s}:n", f"{s}:accuracy", f"{s}:ci95_lo", f"{s}:ci95_hi"]
    for g in gaps:
        csv_columns += [f"gap {g}", f"gap {g}:ci95_lo", f"gap {g}:ci95_hi"]
    rows, raw = [], []
    for run, m in zip(runs, metrics):
        cells, values = _row(run, m, splits, gaps)
        rows.append(cells)
        raw.append(values)
    note = (
        "Accuracy (correct/n) [95% Wilson interval]; gap in percentage points [95% bootstrap interval]. "
        "'counted': rows with a counted status and a prediction, the denominators of the accuracies."
    )
    return Table("overview", "Runs", columns, rows, csv_columns, raw, note=note, row_header=True)

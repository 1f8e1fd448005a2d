"""The study's leaderboard: one row of background-reliance numbers per model, and the summary sentences
that compare models only where their intervals separate. Pure: no torch, no IO.

A row's cells are the frozen types the rest of ``metrics`` computes (``Proportion``, ``GapEstimate``,
``MeanEstimate``), picked from a run's ``RunMetrics`` and ``VariantMetrics`` and its attribution records;
nothing is recomputed here except the two numbers no other module gives: accuracy over the original
(non-derived) videos and the mean normalised background score of the attribution maps over those videos.

The summary never over-claims: a sentence compares two models on one column only when the two 95 %
intervals are disjoint (a stricter rule than a test at 5 %), and says nothing otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from weirdkinetics.metrics.estimates import GapEstimate, MeanEstimate, Proportion
from weirdkinetics.metrics.intervals import MIN_CLUSTERS, bootstrap_mean, wilson
from weirdkinetics.metrics.summary import RunMetrics
from weirdkinetics.metrics.variants import VariantMetrics, variant_of
from weirdkinetics.results import RunResults
from weirdkinetics.statuses import COUNTED

SCHEMA = "weirdkinetics.leaderboard/1"

Estimate = Proportion | GapEstimate | MeanEstimate
Better = Literal["higher", "lower"]


@dataclass(frozen=True)
class Column:
    """One leaderboard column. ``better``: which way is better for the model (less background reliance,
    more accuracy); ``reliance``: the column measures background reliance (``more_reliant`` says which
    way means more). ``kind``: ``accuracy``, ``rate``, ``gap`` or ``score`` (how the number reads:
    ``score``: a number on its own scale, shown as a decimal). ``claim``: the summary's sentence, with ``{a}`` the model whose number is higher and ``{b}`` the other;
    ``label``: the number's name in that sentence."""

    key: str
    title: str
    better: Better
    kind: str
    claim: str
    label: str
    reliance: bool = False

    @property
    def more_reliant(self) -> Better | None:
        """The direction that means more background reliance (None for a plain accuracy column)."""
        if not self.reliance:
            return None
        return "lower" if self.better == "higher" else "higher"

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "title": self.title,
            "better": self.better,
            "kind": self.kind,
            "reliance": self.reliance,
            "more_reliant": self.more_reliant,
        }


COLUMNS: tuple[Column, ...] = (
    Column(
        "originals", "accuracy, original videos", "higher", "accuracy",
        "{a} is more accurate than {b} on the original videos", "accuracy",
    ),
    Column(
        "real", "accuracy, real", "higher", "accuracy",
        "{a} is more accurate than {b} on real backgrounds", "real accuracy",
    ),
    Column(
        "weird", "accuracy, weird", "higher", "accuracy",
        "{a} is more accurate than {b} on weird backgrounds", "weird accuracy",
    ),
    Column(
        "gap", "gap real - weird", "lower", "gap",
        "{a} loses more accuracy than {b} when the background is weird", "real - weird gap", reliance=True,
    ),
    Column(
        "person_only", "accuracy, person-only", "higher", "accuracy",
        "{a} recognises the action from the person alone more often than {b}", "person-only accuracy",
        reliance=True,
    ),
    Column(
        "background_only", "accuracy, background-only", "lower", "accuracy",
        "{a} relies on the background more than {b}", "background-only accuracy", reliance=True,
    ),
    Column(
        "background_only_truth", "accuracy, background-only (truth)", "lower", "accuracy",
        "{a} relies on the true actor-free background more than {b}", "background-only (truth) accuracy",
    ),
    Column(
        "silhouette", "accuracy, silhouette (leak test)", "lower", "accuracy",
        "{a} reads the removed person's silhouette more than {b}", "silhouette accuracy",
    ),
    Column(
        "swap_person", "swaps: person's class", "higher", "rate",
        "{a} names the person's action on swapped backgrounds more often than {b}",
        "person's class on swaps", reliance=True,
    ),
    Column(
        "swap_background", "swaps: background's class", "lower", "rate",
        "{a} names the background's class on swapped backgrounds more often than {b}",
        "background's class on swaps", reliance=True,
    ),
    Column(
        "contrasted", "SCUBA/SCUFO contrasted", "higher", "accuracy",
        "{a} uses the motion more than {b} (static-background right while static-person wrong)",
        "contrasted accuracy", reliance=True,
    ),
    Column(
        "background_score", "attribution on background (0 person, 1 uniform)", "lower", "score",
        "{a}'s attribution falls on the background more than {b}'s",
        "attribution on background (area- and resolution-normalised)", reliance=True,
    ),
)  # fmt: skip
"""Every column a leaderboard can hold, in display order; a board shows those some model has a number for."""

COLUMN_BY_KEY = {c.key: c for c in COLUMNS}


def _cell_dict(cell: Estimate | None) -> dict | None:
    if cell is None:
        return None
    out = cell.to_dict()
    out["type"] = type(cell).__name__
    return out


@dataclass(frozen=True)
class ModelRow:
    """One model's numbers: ``cells`` maps column keys to an estimate (None where the study has no
    number: a variant not made, no attribution). ``anchor``: the id of its detailed section (its run).
    ``reference``: a reference row (e.g. random weights at chance), shown but not ranked in the summary."""

    model: str
    anchor: str
    cells: dict[str, Estimate | None]
    reference: bool = False

    def cell(self, key: str) -> Estimate | None:
        return self.cells.get(key)

    def value(self, key: str) -> float | None:
        cell = self.cells.get(key)
        return None if cell is None else cell.value

    def to_dict(self, columns: Sequence[Column] = COLUMNS) -> dict:
        """Its cells for ``columns`` (None where it has no number), each by its type's serialiser."""
        return {
            "model": self.model,
            "anchor": self.anchor,
            "reference": self.reference,
            "cells": {c.key: _cell_dict(self.cells.get(c.key)) for c in columns},
        }


@dataclass(frozen=True)
class Finding:
    """One summary sentence: on ``column``, ``a``'s number is higher than ``b``'s and the two intervals
    are disjoint."""

    column: str
    a: str
    b: str
    a_cell: Estimate
    b_cell: Estimate

    @property
    def sentence(self) -> str:
        col = COLUMN_BY_KEY[self.column]
        head = col.claim.format(a=self.a, b=self.b)
        return (
            f"{head}: {col.label} {format_estimate(self.a_cell, col)} vs {format_estimate(self.b_cell, col)}"
        )

    def to_dict(self) -> dict:
        return {"column": self.column, "higher": self.a, "lower": self.b, "sentence": self.sentence}


@dataclass(frozen=True)
class Leaderboard:
    """Rows in the order the study gave its models; ``columns``: those some row has a number for."""

    rows: tuple[ModelRow, ...]
    columns: tuple[Column, ...]
    findings: tuple[Finding, ...]

    def ordered(self, key: str) -> tuple[ModelRow, ...]:
        """Rows sorted by column ``key``, best first (its ``better`` direction); rows without a number last,
        ties in the given order."""
        col = COLUMN_BY_KEY[key]
        sign = -1.0 if col.better == "higher" else 1.0
        with_value = [r for r in self.rows if r.value(key) is not None]
        without = [r for r in self.rows if r.value(key) is None]
        return tuple(sorted(with_value, key=lambda r: sign * r.value(key))) + tuple(without)

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "columns": [c.to_dict() for c in self.columns],
            "rows": [r.to_dict(self.columns) for r in self.rows],
            "orderings": {c.key: [r.model for r in self.ordered(c.key)] for c in self.columns},
            "summary": [f.to_dict() for f in self.findings],
        }


def format_estimate(cell: Estimate | None, column: Column) -> str:
    """'41 % [36, 46]' (accuracies, rates), '+12.0 pts [4.1, 20.3]' (gaps) or '0.42 [0.31, 0.55]' (scores);
    '—' without a number."""
    if cell is None or cell.value is None:
        return "—"
    lo, hi = cell.interval
    if column.kind == "score":
        ci = "" if lo is None or hi is None else f" [{lo:.2f}, {hi:.2f}]"
        return f"{cell.value:.2f}{ci}"
    if column.kind == "gap":
        ci = "" if lo is None or hi is None else f" [{100 * lo:+.1f}, {100 * hi:+.1f}]"
        return f"{100 * cell.value:+.1f} pts{ci}"
    ci = "" if lo is None or hi is None else f" [{100 * lo:.0f}, {100 * hi:.0f}]"
    return f"{100 * cell.value:.0f} %{ci}"


# ----------------------------------------------------------------------------------------------- numbers


def originals_accuracy(run: RunResults) -> Proportion:
    """Accuracy (Wilson) over the run's original videos: rows without synth's ``variant`` that hold a
    prediction."""
    rows = [v for v in run.videos if not variant_of(v) and v.has_prediction]
    return wilson(sum(v.correct for v in rows), len(rows))


def attribution_mean(
    records: Sequence[dict],
    method: str = "gradcam",
    key: str = "background_score",
    n_boot: int = 2000,
    seed: int = 0,
) -> MeanEstimate | None:
    """Mean of ``numbers[key]`` of ``method``'s maps over counted attribution records of original videos,
    with a bootstrap interval resampling ``source_id`` (real and weird versions together); None without one.

    records: as ``api.attribution_records`` gives them (``method``, ``status``, ``row``, ``numbers``)."""
    values, clusters = [], []
    for r in records:
        row = r.get("row") or {}
        value = (r.get("numbers") or {}).get(key)
        if r.get("method") != method or r.get("status") not in COUNTED or row.get("variant"):
            continue
        if value is None or not math.isfinite(float(value)):
            continue
        values.append(float(value))
        clusters.append(row.get("source_id") or f"\x00video\x00{r.get('video_id', '')}")
    if not values:
        return None
    return bootstrap_mean(np.asarray(values), np.asarray(clusters, dtype=object), n_boot=n_boot, seed=seed)


def background_share(
    records: Sequence[dict], method: str = "gradcam", n_boot: int = 2000, seed: int = 0
) -> MeanEstimate | None:
    """The raw background share's mean (the report's details; see ``attribution_mean``)."""
    return attribution_mean(records, method, "background_share", n_boot, seed)


def background_score(
    records: Sequence[dict], method: str = "gradcam", n_boot: int = 2000, seed: int = 0
) -> MeanEstimate | None:
    """The leaderboard's attribution column: the mean area- and resolution-normalised score
    (``metrics.attribution.background_score``: 0 all on the person, 1 uniform; see ``attribution_mean``)."""
    return attribution_mean(records, method, "background_score", n_boot, seed)


def model_row(
    model: str,
    anchor: str,
    metrics: RunMetrics,
    variants: VariantMetrics | None,
    originals: Proportion,
    score: MeanEstimate | None = None,
    reference: bool = False,
) -> ModelRow:
    """One model's row from what the report already computed: ``metrics.splits`` (``real``, ``weird``)
    and the ``real-weird`` gap, the variant blocks (person-only and background-only accuracy, HAT's
    label rates on swaps, SCUBA/SCUFO contrasted accuracy), the originals' accuracy and the attribution's
    normalised background score (``background_score``). Empty estimates (no video) become None."""
    cells: dict[str, Estimate | None] = {"originals": originals}
    for split in ("real", "weird"):
        cells[split] = metrics.splits[split].accuracy if split in metrics.splits else None
    gap = metrics.gaps.get("real-weird")
    cells["gap"] = gap.estimate if gap is not None else None
    blocks = variants.variants if variants is not None else {}
    for key, name in (
        ("person_only", "person-only"),
        ("background_only", "background-only"),
        ("background_only_truth", "background-only-truth"),
        ("silhouette", "silhouette"),
    ):
        cells[key] = blocks[name].accuracy if name in blocks else None
    rates = blocks["swap"].background_label if "swap" in blocks else None
    cells["swap_person"] = rates.person if rates is not None else None
    cells["swap_background"] = rates.background if rates is not None else None
    twins = variants.scuba_scufo if variants is not None else None
    cells["contrasted"] = twins.contrasted if twins is not None else None
    cells["background_score"] = score
    cells = {k: (None if c is None or c.value is None else c) for k, c in cells.items()}
    return ModelRow(model, anchor, cells, reference)


# ---------------------------------------------------------------------------------------------- summary


def _units(e: Estimate) -> int:
    """What an estimate rests on: its clusters (gaps, means) or its videos (proportions)."""
    return int(getattr(e, "n_clusters", None) or getattr(e, "n", 0) or 0)


def separated(a: Estimate | None, b: Estimate | None) -> bool:
    """True when both have a number and a finite interval, each rests on at least ``MIN_CLUSTERS`` units
    (a handful of recordings carries no claim, whatever its interval), and the two intervals do not
    overlap."""
    if a is None or b is None or a.value is None or b.value is None:
        return False
    if min(_units(a), _units(b)) < MIN_CLUSTERS:
        return False
    bounds = (*a.interval, *b.interval)
    if any(x is None or not math.isfinite(x) for x in bounds):
        return False
    (alo, ahi), (blo, bhi) = a.interval, b.interval
    return ahi < blo or bhi < alo


def summary_findings(rows: Sequence[ModelRow], columns: Sequence[Column] = COLUMNS) -> tuple[Finding, ...]:
    """Every (column, pair of models) whose intervals separate, the higher number first; reliance columns
    first, then accuracies, each in column order, pairs in row order. Nothing else: overlapping intervals
    (or a missing number or interval) give no sentence, and reference rows are not compared."""
    rows = [r for r in rows if not r.reference]
    ordered = [c for c in columns if c.reliance] + [c for c in columns if not c.reliance]
    out = []
    for col in ordered:
        for i, first in enumerate(rows):
            for second in rows[i + 1 :]:
                a, b = first.cell(col.key), second.cell(col.key)
                if not separated(a, b):
                    continue
                hi, lo = (first, second) if a.value > b.value else (second, first)
                out.append(Finding(col.key, hi.model, lo.model, hi.cell(col.key), lo.cell(col.key)))
    return tuple(out)


def leaderboard(rows: Sequence[ModelRow]) -> Leaderboard:
    """The board of ``rows``: the columns some row has a number for, and the summary's findings."""
    columns = tuple(c for c in COLUMNS if any(r.value(c.key) is not None for r in rows))
    return Leaderboard(tuple(rows), columns, summary_findings(rows, columns))

"""Class x background grid (the study's Figure 3). Pure numpy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SMALL_CELL = 5
"""Cells with fewer videos than this are flagged as too small to read."""


@dataclass(frozen=True, eq=False)  # numpy fields: compare with to_dict()
class Grid:
    """Correct and total counts per (class, background).

    correct, total: int64 (L, B) in ``labels`` x ``backgrounds`` order; a cell with ``total == 0`` has no
    video (shown blank, not 0/0).
    """

    labels: list[str]
    backgrounds: list[str]
    correct: np.ndarray
    total: np.ndarray

    @property
    def small(self) -> np.ndarray:
        """bool (L, B): cells holding at least one but fewer than ``SMALL_CELL`` videos."""
        return (self.total > 0) & (self.total < SMALL_CELL)

    @property
    def label_totals(self) -> tuple[np.ndarray, np.ndarray]:
        """(correct, total), int64 (L,) each: one per class, over every background."""
        return self.correct.sum(axis=1), self.total.sum(axis=1)

    @property
    def background_totals(self) -> tuple[np.ndarray, np.ndarray]:
        """(correct, total), int64 (B,) each: one per background, over every class."""
        return self.correct.sum(axis=0), self.total.sum(axis=0)

    def to_dict(self) -> dict:
        """``{"grid": {label: {background: {correct, total, small}}}, "grid_totals", "grid_order"}``: only
        cells holding a video are listed (blank, not 0/0)."""
        cells = {
            lab: {
                bg: {
                    "correct": int(self.correct[i, j]),
                    "total": int(self.total[i, j]),
                    "small": bool(self.small[i, j]),
                }
                for j, bg in enumerate(self.backgrounds)
                if self.total[i, j] > 0
            }
            for i, lab in enumerate(self.labels)
        }
        (lab_right, lab_total), (bg_right, bg_total) = self.label_totals, self.background_totals
        totals = {
            "labels": {
                lab: {"correct": int(lab_right[i]), "total": int(lab_total[i])}
                for i, lab in enumerate(self.labels)
            },
            "backgrounds": {
                bg: {"correct": int(bg_right[j]), "total": int(bg_total[j])}
                for j, bg in enumerate(self.backgrounds)
            },
            "all": {"correct": int(self.correct.sum()), "total": int(self.total.sum())},
        }
        return {
            "grid": cells,
            "grid_totals": totals,
            "grid_order": {"labels": list(self.labels), "backgrounds": list(self.backgrounds)},
        }


def grid_counts(
    labels: Sequence[str],
    backgrounds: Sequence[str],
    correct: Sequence[bool],
    label_order: Sequence[str],
    background_order: Sequence[str],
) -> Grid:
    """Count videos per (true class, background). labels, backgrounds, correct: (N,), one per video.

    Every label and background must appear in the given orders (a ValueError names the first that does
    not), so no video is silently left out of the grid.
    """
    li = {name: i for i, name in enumerate(label_order)}
    bi = {name: i for i, name in enumerate(background_order)}
    correct_counts = np.zeros((len(li), len(bi)), dtype=np.int64)
    total_counts = np.zeros((len(li), len(bi)), dtype=np.int64)
    for label, background, ok in zip(labels, backgrounds, correct, strict=True):
        if label not in li:
            raise ValueError(f"label {label!r} is not in the grid's label order")
        if background not in bi:
            raise ValueError(f"background {background!r} is not in the grid's background order")
        total_counts[li[label], bi[background]] += 1
        correct_counts[li[label], bi[background]] += bool(ok)
    return Grid(list(label_order), list(background_order), correct_counts, total_counts)

"""Class x background grid (the study's Figure 3). Pure numpy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SMALL_CELL = 5
"""Cells with fewer videos than this are flagged as too small to read."""


@dataclass(frozen=True)
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

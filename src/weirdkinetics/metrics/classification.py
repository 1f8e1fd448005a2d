"""Counting over predictions: accuracy, confusion matrices, most frequent wrong class. Pure numpy."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def accuracy(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    """Fraction of equal pairs; ``nan`` for empty input. y_true, y_pred: (N,) class names."""
    y_true, y_pred = np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in length: {y_true.shape} vs {y_pred.shape}")
    return float(np.mean(y_true == y_pred)) if y_true.size else float("nan")


def confusion_counts(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """Confusion matrix: int64 (K, K), row = true class, column = predicted class, in ``labels`` order.

    Pairs whose true or predicted class is not in ``labels`` are not counted (as scikit-learn does), so
    pass the full shared class order.
    """
    index = {name: i for i, name in enumerate(labels)}
    if len(index) != len(labels):
        raise ValueError("labels must be unique")
    k = len(labels)
    rows = np.array([index.get(t, -1) for t in y_true], dtype=np.int64)
    cols = np.array([index.get(p, -1) for p in y_pred], dtype=np.int64)
    if rows.shape != cols.shape:
        raise ValueError(f"y_true and y_pred differ in length: {rows.shape} vs {cols.shape}")
    keep = (rows >= 0) & (cols >= 0)
    flat = np.bincount(rows[keep] * k + cols[keep], minlength=k * k)
    return flat.reshape(k, k).astype(np.int64)


def row_normalise(counts: np.ndarray) -> np.ndarray:
    """Each row divided by its sum: float64 (K, K); rows without any video are NaN (not 0: nothing seen)."""
    counts = np.asarray(counts, dtype=np.float64)
    sums = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sums > 0, counts / np.where(sums > 0, sums, 1.0), np.nan)


def most_frequent_wrong(counts: np.ndarray, labels: Sequence[str]) -> list[tuple[str, int] | None]:
    """Per true class (row of ``counts``, int (K, K)): the most frequent wrong prediction and its count.

    Ties go to the class that comes first in ``labels``; ``None`` where the class has no mistake.
    """
    counts = np.asarray(counts)
    off = counts.copy()
    np.fill_diagonal(off, 0)
    out: list[tuple[str, int] | None] = []
    for row in off:
        j = int(np.argmax(row))  # argmax returns the first maximum: the documented tie-break
        out.append((labels[j], int(row[j])) if row[j] > 0 else None)
    return out

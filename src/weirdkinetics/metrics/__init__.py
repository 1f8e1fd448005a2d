"""Metrics: pure numpy/scipy functions over in-memory results. No torch, no decoder, no file IO.

``run_metrics(run)`` gives every number the report shows, as one JSON-ready dict.
"""

from weirdkinetics.metrics.classification import (
    accuracy,
    confusion_counts,
    most_frequent_wrong,
    row_normalise,
)
from weirdkinetics.metrics.groups import SMALL_CELL, Grid, grid_counts
from weirdkinetics.metrics.intervals import GapEstimate, bootstrap_gap, mcnemar_exact, wilson_interval
from weirdkinetics.metrics.summary import class_order, gap_metrics, proportion, run_metrics, split_order

__all__ = [
    "SMALL_CELL",
    "GapEstimate",
    "Grid",
    "accuracy",
    "bootstrap_gap",
    "class_order",
    "confusion_counts",
    "gap_metrics",
    "grid_counts",
    "mcnemar_exact",
    "most_frequent_wrong",
    "proportion",
    "row_normalise",
    "run_metrics",
    "split_order",
    "wilson_interval",
]

"""Metrics: pure numpy/scipy functions over in-memory results. No torch, no decoder, no file IO.

``measure_run(run)`` gives every number the report shows as frozen types (``RunMetrics``: ``Proportion``,
``GapEstimate``, ...), which the report reads; ``run_metrics(run)`` is the same as one JSON-ready dict
(``measure_run(run).to_dict()``), what ``metrics.json`` holds.
"""

from weirdkinetics.metrics.classification import (
    accuracy,
    confusion_counts,
    most_frequent_wrong,
    row_normalise,
)
from weirdkinetics.metrics.estimates import GapEstimate, McNemar, MeanEstimate, Proportion
from weirdkinetics.metrics.groups import SMALL_CELL, Grid, grid_counts
from weirdkinetics.metrics.intervals import (
    bootstrap_gap,
    bootstrap_mean,
    mcnemar_exact,
    wilson,
    wilson_interval,
)
from weirdkinetics.metrics.summary import (
    RunMetrics,
    class_order,
    gap_metrics,
    measure_run,
    proportion,
    run_metrics,
    split_order,
)

__all__ = [
    "SMALL_CELL",
    "GapEstimate",
    "Grid",
    "McNemar",
    "MeanEstimate",
    "Proportion",
    "RunMetrics",
    "accuracy",
    "bootstrap_gap",
    "bootstrap_mean",
    "class_order",
    "confusion_counts",
    "gap_metrics",
    "grid_counts",
    "mcnemar_exact",
    "measure_run",
    "most_frequent_wrong",
    "proportion",
    "row_normalise",
    "run_metrics",
    "split_order",
    "wilson",
    "wilson_interval",
]

"""The Python API: the same functions the CLI calls (the CLI is a thin shim over this module).

Each command's path lives in its own module of ``weirdkinetics.commands`` (``evaluate``, ``explain``,
``synth``, ``report``, ...); this module gathers their public functions under their one public name.
"""

from __future__ import annotations

from weirdkinetics.commands.attributions import attribution_records, random_twin
from weirdkinetics.commands.evaluate import EvalOutcome, evaluate
from weirdkinetics.commands.explain import ExplainOutcome, explain
from weirdkinetics.commands.export import EXPORT_COLUMNS, export_csv
from weirdkinetics.commands.files import DEFAULT_STORE, REPORT_FILES, REPORT_FOLDERS, report_outputs
from weirdkinetics.commands.report import (
    ReportOutcome,
    frame_strips,
    load_results,
    make_report,
    report_runs,
)
from weirdkinetics.commands.setup import check_batch_size
from weirdkinetics.commands.synth import synthesize
from weirdkinetics.commands.validate import validate
from weirdkinetics.params import MAX_BATCH_SIZE

__all__ = [
    "DEFAULT_STORE",
    "EXPORT_COLUMNS",
    "MAX_BATCH_SIZE",
    "REPORT_FILES",
    "REPORT_FOLDERS",
    "EvalOutcome",
    "ExplainOutcome",
    "ReportOutcome",
    "attribution_records",
    "check_batch_size",
    "evaluate",
    "explain",
    "export_csv",
    "frame_strips",
    "load_results",
    "make_report",
    "random_twin",
    "report_outputs",
    "report_runs",
    "synthesize",
    "validate",
]

"""Report: tables and figures from results only (metrics come from ``weirdkinetics.metrics``).

Never imports torch or a decoder: ``write_report`` is given frame strips, it does not read videos.
"""

from weirdkinetics.report.contents import ReportContents, RunReport, prepare_report
from weirdkinetics.report.qualitative import qualitative_selection
from weirdkinetics.report.writer import SCHEMA_VERSION, generated_by, write_report

__all__ = [
    "SCHEMA_VERSION",
    "ReportContents",
    "RunReport",
    "generated_by",
    "prepare_report",
    "qualitative_selection",
    "write_report",
]

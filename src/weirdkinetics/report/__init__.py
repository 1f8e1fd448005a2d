"""Report: tables and figures from results only (metrics come from ``weirdkinetics.metrics``).

Never imports torch or a decoder: ``write_report`` is given frame strips, it does not read videos.
"""

from weirdkinetics.report.qualitative import qualitative_selection
from weirdkinetics.report.writer import SCHEMA_VERSION, generated_by, write_report

__all__ = ["SCHEMA_VERSION", "generated_by", "qualitative_selection", "write_report"]

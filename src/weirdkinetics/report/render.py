"""Render a ``Table`` as CSV, Markdown or HTML; every user-given string is escaped for its format."""

from __future__ import annotations

import math
import re
from html import escape

from weirdkinetics.outputs import csv_text
from weirdkinetics.report.tables import Table

# Markdown punctuation that would start emphasis, code, links or a new cell; backslash-escaped.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#])")


def md_escape(text: object) -> str:
    """Text safe inside a Markdown table cell or heading: HTML (< > &) escaped as entities, so a label
    ``<script>`` shows as text, Markdown punctuation backslash-escaped and newlines flattened."""
    s = " ".join(str(text).split())
    return _MD_SPECIAL.sub(r"\\\1", escape(s, quote=False))


def html_text(text: object) -> str:
    """Text safe inside HTML content or a quoted attribute."""
    return escape(str(text), quote=True)


def _csv_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if not math.isfinite(value) else repr(value)  # repr: shortest exact float
    return value


def table_csv(table: Table) -> str:
    """The raw values: one header row, then ``csv_rows``; None and NaN as empty cells; text a spreadsheet
    would run as a formula neutralised (``outputs.neutralise_cell``; numbers stay numbers)."""
    return csv_text(table.csv_columns, ([_csv_cell(c) for c in row] for row in table.csv_rows))


def table_markdown(table: Table) -> str:
    """A GitHub-flavoured Markdown table of the display strings (empty cells stay empty)."""
    lines = ["| " + " | ".join(md_escape(c) for c in table.columns) + " |"]
    lines.append("|" + "|".join("---" for _ in table.columns) + "|")
    for row in table.rows:
        lines.append("| " + " | ".join(md_escape(c) for c in row) + " |")
    out = "\n".join(lines) + "\n"
    if table.note:
        out += "\n" + md_escape(table.note) + "\n"
    return out


def table_html(table: Table, table_id: str) -> str:
    """An HTML ``<table id=...>`` of the display strings; cell flags become CSS classes."""
    parts = [f'<table id="{html_text(table_id)}" class="wk-{html_text(table.name.split("_")[0])}">']
    parts.append(
        "<thead><tr>"
        + "".join(f'<th scope="col">{html_text(c)}</th>' for c in table.columns)
        + "</tr></thead>"
    )
    parts.append("<tbody>")
    for i, row in enumerate(table.rows):
        cells = []
        for j, cell in enumerate(row):
            flag = table.flag(i, j)
            attrs = f' class="{html_text(flag)}"' if flag else ""
            if flag == "small":
                attrs += ' title="too few videos to read as an accuracy"'
            tag = "th" if j == 0 and table.row_header else "td"
            scope = ' scope="row"' if tag == "th" else ""
            cells.append(f"<{tag}{scope}{attrs}>{html_text(cell)}</{tag}>")
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table>")
    if table.note:
        parts.append(f'<p class="note">{html_text(table.note)}</p>')
    return "\n".join(parts)

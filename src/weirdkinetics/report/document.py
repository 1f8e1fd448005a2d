"""A report as a list of blocks, rendered twice: one self-contained HTML page and one Markdown file.

The HTML page embeds its figures as base64 PNG, carries its own CSS, has no script at all and forbids
any by its Content-Security-Policy, so it opens offline and a label cannot run code.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from urllib.parse import quote

from weirdkinetics.report.render import html_text, md_escape, table_html, table_markdown
from weirdkinetics.report.tables import Table


@dataclass
class Heading:
    level: int
    text: str
    anchor: str


@dataclass
class Paragraph:
    text: str


@dataclass
class TableBlock:
    table: Table
    table_id: str
    csv_path: str  # relative to the report folder
    collapsed: bool = False


@dataclass
class FigureBlock:
    title: str
    png: bytes
    png_path: str  # relative to the report folder
    svg_path: str


@dataclass
class KeyValues:
    title: str
    items: dict = field(default_factory=dict)


@dataclass
class Links:
    """A list of links to sections of the same page: ``(text, anchor)`` pairs."""

    items: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class PageLinks:
    """A list of links to other pages of the report: ``(text, path)`` pairs, ``path`` relative to this page and
    without its suffix (``runs/a``: ``runs/a.html`` from the HTML page, ``runs/a.md`` from the Markdown)."""

    items: list[tuple[str, str]] = field(default_factory=list)


Block = Heading | Paragraph | TableBlock | FigureBlock | KeyValues | Links | PageLinks

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #222; background: #fff; }
main { max-width: 1200px; margin: 0 auto; padding: 1rem 2rem 4rem; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ccc; } h3 { margin-top: 1.8rem; }
table { border-collapse: collapse; margin: 0.6rem 0; font-size: 0.85rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: right; }
thead th { background: #f0f0f0; text-align: center; }
tbody th { text-align: left; font-weight: normal; background: #fafafa; }
td.total, th.total { font-weight: bold; background: #f5f5f5; }
td.diag { font-weight: bold; }
td.empty { background: #fcfcfc; }
td.small { color: #777; font-style: italic;
  background: repeating-linear-gradient(45deg, #f3f3f3 0 4px, #fff 4px 8px); }
.note { color: #555; font-size: 0.85rem; max-width: 60rem; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.85rem; }
.wrap { overflow-x: auto; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; font-size: 0.85rem; }
dt { font-weight: bold; } dd { margin: 0; font-family: ui-monospace, monospace; word-break: break-all; }
nav ul { columns: 2; font-size: 0.9rem; }
"""

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _value_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _block_html(b: Block) -> str:
    """One block as HTML; every user-given string through ``html.escape``."""
    if isinstance(b, Heading):
        level = min(max(b.level, 2), 4)
        return f'<h{level} id="{html_text(b.anchor)}">{html_text(b.text)}</h{level}>'
    elif isinstance(b, Paragraph):
        return f"<p>{html_text(b.text)}</p>"
    elif isinstance(b, TableBlock):
        link = f'<p class="note">CSV: <code>{html_text(b.csv_path)}</code></p>'
        inner = f'<div class="wrap">{table_html(b.table, b.table_id)}</div>{link}'
        if b.collapsed:
            inner = f"<details><summary>{html_text(b.table.title)}</summary>{inner}</details>"
        return inner
    elif isinstance(b, FigureBlock):
        data = base64.b64encode(b.png).decode("ascii")
        return (
            f'<figure><img src="data:image/png;base64,{data}" alt="{html_text(b.title)}">'
            f"<figcaption>{html_text(b.title)} (files: <code>{html_text(b.png_path)}</code>, "
            f"<code>{html_text(b.svg_path)}</code>)</figcaption></figure>"
        )
    elif isinstance(b, KeyValues):
        items = "".join(
            f"<dt>{html_text(k)}</dt><dd>{html_text(_value_text(v))}</dd>" for k, v in b.items.items()
        )
        return f"<details><summary>{html_text(b.title)}</summary><dl>{items}</dl></details>"
    elif isinstance(b, Links):
        items = "".join(
            f'<li><a href="#{html_text(anchor)}">{html_text(text)}</a></li>' for text, anchor in b.items
        )
        return f"<ul>{items}</ul>"
    elif isinstance(b, PageLinks):
        items = "".join(
            f'<li><a href="{html_text(quote(path))}.html">{html_text(text)}</a></li>'
            for text, path in b.items
        )
        return f"<ul>{items}</ul>"
    raise TypeError(f"not a report block: {type(b).__name__}")


def render_html(title: str, blocks: list[Block]) -> str:
    """One self-contained HTML page; every user-given string goes through ``html.escape``."""
    toc = [b for b in blocks if isinstance(b, Heading) and b.level == 2]
    body: list[str] = [f"<h1>{html_text(title)}</h1>"]
    if toc:
        body.append(
            "<nav><ul>"
            + "".join(f'<li><a href="#{html_text(h.anchor)}">{html_text(h.text)}</a></li>' for h in toc)
            + "</ul></nav>"
        )
    body.extend(_block_html(b) for b in blocks)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{html_text(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )


def render_markdown(title: str, blocks: list[Block], root: str = "") -> str:
    """GitHub-flavoured Markdown; figures are linked from the report's ``figures/`` folder, ``root`` being the
    way from the page's folder to the report's (``"../"`` for a run page under ``runs/``)."""
    out: list[str] = [f"# {md_escape(title)}\n"]
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"{'#' * min(max(b.level, 2), 4)} {md_escape(b.text)}\n")
        elif isinstance(b, Paragraph):
            out.append(md_escape(b.text) + "\n")
        elif isinstance(b, TableBlock):
            out.append(f"**{md_escape(b.table.title)}** (CSV: `{b.csv_path}`)\n")
            out.append(table_markdown(b.table))
        elif isinstance(b, FigureBlock):
            out.append(f"![{md_escape(b.title)}]({root}{b.png_path})\n\n(SVG: `{b.svg_path}`)\n")
        elif isinstance(b, KeyValues):
            out.append(f"**{md_escape(b.title)}**\n")
            out.extend(f"- {md_escape(k)}: {md_escape(_value_text(v))}" for k, v in b.items.items())
            out.append("")
        elif isinstance(b, Links):
            out.extend(f"- [{md_escape(text)}](#{anchor})" for text, anchor in b.items)
            out.append("")
        elif isinstance(b, PageLinks):
            out.extend(f"- [{md_escape(text)}]({quote(path)}.md)" for text, path in b.items)
            out.append("")
    return "\n".join(out)

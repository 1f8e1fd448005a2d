"""The documentation holds together: the README starts with the two commands a fresh machine needs, the site's
front page mirrors it, every relative link in README.md and docs/ reaches a file, and every page mkdocs.yml
names exists (and every page under docs/ is named there, so none is orphaned).

Fast and offline: it reads files only. The strict site build itself (`mkdocs build --strict`, which also
checks anchors and the API pages generated from docstrings) runs in .ci/run: it takes longer than a test should.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

# the README's first lines, verbatim: the two commands for a fresh machine (the second is CI's test command)
README_START = [
    "# weirdkinetics",
    "",
    "```bash",
    "bash scripts/setup.sh && .venv/bin/weirdkinetics demo",
    "bash scripts/setup.sh --test && .venv/bin/python -m pytest",
    "```",
]

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
# [text](target) and ![alt](target), with an optional "title" after the target
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
MAX_ASSET_BYTES = 300 * 1024


def markdown_pages() -> list[Path]:
    """README.md and every Markdown page of the site."""
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def link_targets(text: str) -> list[str]:
    """Targets of the Markdown links in ``text``, outside fenced code blocks and code spans."""
    prose = CODE_SPAN.sub("", FENCE.sub("", text))
    return LINK.findall(prose)


def is_relative(target: str) -> bool:
    return not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) and not target.startswith(("#", "/"))


def nav_pages(nav: list) -> list[str]:
    """Every page path named in mkdocs.yml's nav (nested sections flattened; external links left out)."""
    pages = []
    for entry in nav:
        items = entry.values() if isinstance(entry, dict) else [entry]
        for item in items:
            if isinstance(item, list):
                pages += nav_pages(item)
            elif isinstance(item, str) and is_relative(item):
                pages.append(item)
    return pages


def test_readme_begins_with_the_two_commands():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert lines[: len(README_START)] == README_START


def test_ci_runs_the_readmes_test_command_verbatim():
    assert README_START[4] in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_the_sites_front_page_mirrors_the_readme():
    # the README links into docs/ ("docs/x.md"); the same page inside the site links "x.md"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    assert index == readme.replace("](docs/", "]("), (
        "docs/index.md must mirror README.md: regenerate it with sed 's#](docs/#](#g' README.md > docs/index.md"
    )


@pytest.mark.parametrize("page", markdown_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_reaches_a_file(page: Path):
    broken = []
    for target in link_targets(page.read_text(encoding="utf-8")):
        if not is_relative(target):
            continue
        path = target.split("#", 1)[0]
        if path and not (page.parent / path).exists():
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)} links to files that do not exist: {broken}"


def test_the_link_finder_sees_links_and_skips_code():
    text = (
        '[a](x.md) ![i](img/p.png "t") `[c](no.md)` [n](https://e.org) [[b]](y.md#h)\n```\n[d](no2.md)\n```\n'
    )
    assert link_targets(text) == ["x.md", "img/p.png", "https://e.org", "y.md#h"]


def mkdocs_config() -> dict:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


def test_every_page_in_the_nav_exists():
    pages = nav_pages(mkdocs_config()["nav"])
    assert pages, "mkdocs.yml names no pages"
    missing = [p for p in pages if not (DOCS / p).is_file()]
    assert not missing, f"mkdocs.yml's nav names pages that do not exist under docs/: {missing}"


def test_every_page_is_in_the_nav():
    named = set(nav_pages(mkdocs_config()["nav"]))
    orphans = [str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md") if str(p.relative_to(DOCS)) not in named]
    assert not orphans, f"pages under docs/ that mkdocs.yml's nav does not name (add them there): {orphans}"


def test_assets_stay_small():
    big = [
        (p.name, p.stat().st_size) for p in (DOCS / "assets").iterdir() if p.stat().st_size > MAX_ASSET_BYTES
    ]
    assert not big, f"docs/assets files over {MAX_ASSET_BYTES} bytes: {big}"


# the API functions the command line calls: the Python API page (docs/api/index.md, `::: weirdkinetics.api`) must
# show each of them. mkdocstrings shows a name that api.py imports from another module only when api.py lists it
# in ``__all__``, so splitting api.py into per-command modules without an ``__all__`` would empty the page silently.
API_ENTRY_POINTS = [
    "validate",
    "evaluate",
    "synthesize",
    "explain",
    "make_report",
    "report_runs",
    "load_results",
    "export_csv",
]


def test_the_api_page_shows_every_entry_point():
    griffe = pytest.importorskip("griffe")
    api = griffe.load("weirdkinetics.api", search_paths=[str(ROOT / "src")], allow_inspection=False)
    hidden = [n for n in API_ENTRY_POINTS if n not in api.members or not api.members[n].is_public]
    assert not hidden, (
        f"weirdkinetics.api does not show {hidden} on the API page: define them there or list them in its __all__"
    )

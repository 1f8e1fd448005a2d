"""Golden test: predictions whose per-cell counts are the study's Figure 3 give those counts back, everywhere.

The grid below is transcribed from the study (../shared/seed/, Figure 3): rows are its 10 classes, columns
its 5 backgrounds, cells correct/total, '-' where it has no video. The rendered grid (CSV and Markdown) is
also compared with golden files; regenerate them only with ``WK_UPDATE_GOLDEN=1 pytest tests/test_report_golden.py``.

``metrics.json`` is golden too: the Figure 3 report's, and that of a small run exercising what Figure 3
lacks (recordings linked across splits, so a cluster bootstrap and McNemar's test; unrestricted top-1/top-5
and leaks; a video not counted; derived variants with HAT rates and SCUBA/SCUFO). Compared after
``_comparable``, which replaces the one field that legitimately varies between machines, ``generated_by``
(package and library versions), by a placeholder; the fixtures hold no timestamp and no absolute path.
A key added, removed, renamed or reordered, or a number changed, fails the comparison: if intended, bump
``SCHEMA_VERSION`` where a key changes meaning or disappears, and regenerate with the flag above.
"""

from __future__ import annotations

import csv
import io
import json
import os
from html.parser import HTMLParser
from pathlib import Path

import pytest

from weirdkinetics.metrics import measure_run
from weirdkinetics.report import write_report
from weirdkinetics.report.render import table_markdown
from weirdkinetics.report.tables import SMALL_MARK, grid_table
from weirdkinetics.results import RunResults, VideoResult

BACKGROUNDS = ["outdoor", "bathroom", "home", "indoor", "cafe"]
FIGURE3 = """
brushing teeth            | 0/5   | 8/12 | 1/2   | 8/12  | -
playing basketball        | 21/21 | 2/2  | 2/2   | 5/5   | -
playing tennis            | 27/29 | -    | 1/2   | 4/5   | 1/1
push up                   | 9/9   | 2/2  | 7/7   | 16/16 | -
reading book              | 7/12  | -    | 5/6   | 11/15 | 4/5
eating cake               | 1/6   | 2/3  | 7/7   | 1/5   | 5/12
using computer            | 2/6   | 0/2  | 9/10  | 1/13  | 4/6
flipping pancake          | 4/7   | 1/1  | 24/24 | 2/2   | -
trimming or shaving beard | 0/9   | 9/15 | 1/8   | 0/1   | 1/1
jogging                   | 21/25 | 0/1  | 1/5   | 3/4   | -
"""
GOLDEN = Path(__file__).parent / "golden" / "figure3"
RUN_ID = "study-figure3"


def study_grid() -> dict[str, dict[str, tuple[int, int]]]:
    grid = {}
    for line in FIGURE3.strip().splitlines():
        name, *cells = [c.strip() for c in line.split("|")]
        grid[name] = {
            bg: tuple(map(int, c.split("/"))) for bg, c in zip(BACKGROUNDS, cells, strict=True) if c != "-"
        }
    return grid


GRID = study_grid()
CLASSES = list(GRID)


def figure3_run() -> RunResults:
    """One video per counted unit: ``correct`` right predictions and ``total - correct`` wrong ones per cell."""
    videos = []
    for ci, label in enumerate(CLASSES):
        for bg, (correct, total) in GRID[label].items():
            for k in range(total):
                i = len(videos)
                pred = (
                    label if k < correct else CLASSES[(ci + 1 + k % 9) % len(CLASSES)]
                )  # never the label itself
                videos.append(
                    VideoResult(
                        video_id=f"v{i:03d}", path=f"v{i:03d}.mp4", label=label, split=("real", "weird")[i % 2],
                        status="ok", background=bg, pred=pred, pred_score=0.5, pred_all=pred,
                    )
                )  # fmt: skip
    return RunResults(RUN_ID, "study", videos, CLASSES)


def test_transcription_is_the_studys_table():
    # Sanity of the transcription itself: 10 classes, 43 non-empty cells, 240 right out of 343.
    assert len(GRID) == 10 and sum(len(r) for r in GRID.values()) == 43
    assert sum(c for r in GRID.values() for c, _ in r.values()) == 240
    assert sum(t for r in GRID.values() for _, t in r.values()) == 343
    assert GRID["brushing teeth"]["outdoor"] == (0, 5) and "cafe" not in GRID["brushing teeth"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("figure3")
    files = write_report([figure3_run()], out, n_boot=100)
    return out, files


def expected_rows() -> list[list[str]]:
    """The study's grid with row and column totals, as 'c/t' strings ('' where blank)."""
    rows = []
    for label in CLASSES:
        cells = [
            f"{GRID[label][bg][0]}/{GRID[label][bg][1]}" if bg in GRID[label] else "" for bg in BACKGROUNDS
        ]
        c = sum(v[0] for v in GRID[label].values())
        t = sum(v[1] for v in GRID[label].values())
        rows.append([label, *cells, f"{c}/{t}"])
    col = [
        f"{sum(GRID[lab][bg][0] for lab in CLASSES if bg in GRID[lab])}/"
        f"{sum(GRID[lab][bg][1] for lab in CLASSES if bg in GRID[lab])}"
        for bg in BACKGROUNDS
    ]
    rows.append(["total", *col, "240/343"])
    return rows


def test_metrics_json_gives_back_the_grid(report):
    out, _ = report
    m = json.loads((out / "metrics.json").read_text())["runs"][0]
    assert m["grid_order"] == {"labels": CLASSES, "backgrounds": BACKGROUNDS}
    got = {lab: {bg: (c["correct"], c["total"]) for bg, c in row.items()} for lab, row in m["grid"].items()}
    assert got == GRID
    for row in m["grid"].values():
        for cell in row.values():
            assert cell["small"] == (cell["total"] < 5)
    expected = expected_rows()
    for row in expected[:-1]:
        c, t = map(int, row[-1].split("/"))
        assert m["grid_totals"]["labels"][row[0]] == {"correct": c, "total": t}
    for bg, cell in zip(BACKGROUNDS, expected[-1][1:-1]):
        c, t = map(int, cell.split("/"))
        assert m["grid_totals"]["backgrounds"][bg] == {"correct": c, "total": t}
    assert m["grid_totals"]["all"] == {"correct": 240, "total": 343}
    assert m["splits"]["real"]["n"] + m["splits"]["weird"]["n"] == 343


def test_csv_gives_back_the_grid(report):
    out, _ = report
    rows = list(csv.reader((out / "tables" / f"{RUN_ID}__grid.csv").open(encoding="utf-8")))
    assert rows[0] == ["class", *BACKGROUNDS, "total"]
    assert rows[1:] == expected_rows()


def _strip_mark(cell: str) -> str:
    return cell.replace(SMALL_MARK, "").strip()


def test_markdown_gives_back_the_grid(report):
    out, _ = report
    md = (out / "report.md").read_text(encoding="utf-8")
    header = "| class | " + " | ".join(BACKGROUNDS) + " | total |"
    lines = md.splitlines()
    start = lines.index(header)
    body = lines[start + 2 : start + 2 + len(CLASSES) + 1]
    got = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in body]
    assert [[_strip_mark(c) for c in row] for row in got] == expected_rows()
    # Small cells are visibly marked, the others are not.
    for label, row in zip(CLASSES, got):
        for bg, cell in zip(BACKGROUNDS, row[1:]):
            if bg in GRID[label]:
                assert cell.endswith(SMALL_MARK) == (GRID[label][bg][1] < 5), (label, bg, cell)


class _TableCells(HTMLParser):
    """Rows of the table with a given id: [(text, class attribute), ...] per row."""

    def __init__(self, table_id: str):
        super().__init__()
        self.table_id, self.inside, self.rows, self.cell = table_id, False, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = ["", attrs.get("class") or ""]

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(tuple(self.cell))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[0] += data


def test_html_gives_back_the_grid(report):
    out, _ = report
    parser = _TableCells(f"{RUN_ID}-grid")
    parser.feed((out / "report.html").read_text(encoding="utf-8"))
    header, *body = parser.rows
    assert [t for t, _ in header] == ["class", *BACKGROUNDS, "total"]
    assert [[_strip_mark(t) for t, _ in row] for row in body] == expected_rows()
    for label, row in zip(CLASSES, body):
        for bg, (text, css) in zip(BACKGROUNDS, row[1:]):
            if bg not in GRID[label]:
                assert css == "empty" and text == ""
            else:
                assert (css == "small") == (GRID[label][bg][1] < 5), (label, bg, css)


def _comparable(doc: dict) -> str:
    """metrics.json text with the versions (which differ between machines) replaced by a placeholder."""
    doc = dict(doc, generated_by="<versions: not compared>")
    return json.dumps(doc, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def linked_run() -> RunResults:
    """12 recordings, each in real and weird, linked by source_id; unrestricted predictions with a leak; one
    video not counted; swaps with the background's class; static-background/static-person twins."""
    classes = ["jump", "wave", "spin"]
    videos = []
    for i in range(12):
        label, other = classes[i % 3], classes[(i + 1) % 3]
        for split, right in (("real", i % 4 != 3), ("weird", i % 3 == 0)):
            pred = label if right else other
            pred_all = pred if i % 5 else "dancing"  # outside the class subset: a leak
            videos.append(
                VideoResult(
                    f"{split}{i:02d}", f"{split}/{i:02d}.mp4", label, split, "ok", background=("home", "beach")[i % 2],
                    source_id=f"rec{i:02d}", pred=pred, pred_score=0.5 + i / 100, pred_all=pred_all,
                    pred_all_score=0.4, topk=[(pred_all, 0.4), (label, 0.3), (other, 0.2)],
                )
            )  # fmt: skip
    videos.append(
        VideoResult("broken", "real/broken.mp4", "spin", "real", "decode_error", reason="moov atom")
    )
    for i in range(6):
        label, owner = classes[i % 3], classes[(i + 2) % 3]
        for variant, pred in (
            ("swap", owner if i % 2 else label),
            ("static-background", label if i < 4 else owner),
            ("static-person", label if i % 2 else owner),
        ):
            extra = {
                "variant": variant,
                "source_video_id": f"real{i:02d}",
                "bg_label": owner if variant == "swap" else "",
            }
            extra |= {"bg_source": f"lib/{i}.jpg", "synth_status": "ok"}
            videos.append(
                VideoResult(f"real{i:02d}__{variant}", f"d/{i}{variant}.mp4", label, variant, "ok",
                            background="lib", source_id=f"rec{i:02d}", pred=pred, extra=extra)
            )  # fmt: skip
    gone = {
        "variant": "swap",
        "source_video_id": "real11",
        "synth_status": "excluded",
        "excluded_reason": "no person",
    }
    videos.append(VideoResult("real11__swap", "", "wave", "swap", "excluded", source_id="rec11", extra=gone))
    return RunResults("linked", "tiny", videos, classes, provenance={"card": {"name": "tiny"}})


def test_metrics_json_matches_golden_files(report, tmp_path):
    out, _ = report
    written = {
        "metrics.json": json.loads((out / "metrics.json").read_text(encoding="utf-8")),
        "metrics_linked.json": json.loads(
            write_report([linked_run()], tmp_path, seed=1, n_boot=200)["metrics"].read_text(encoding="utf-8")
        ),
    }
    rendered = {name: _comparable(doc) for name, doc in written.items()}
    if os.environ.get("WK_UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for name, text in rendered.items():
            (GOLDEN / name).write_text(text, encoding="utf-8")
    for name, text in rendered.items():
        path = GOLDEN / name
        assert path.exists(), f"{path} missing: run WK_UPDATE_GOLDEN=1 pytest {Path(__file__).name}"
        assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"
    # The golden files hold the study's grid and the linked run's parts (guards against a wrong regeneration).
    figure3 = json.loads((GOLDEN / "metrics.json").read_text(encoding="utf-8"))["runs"][0]
    assert figure3["grid_totals"]["all"] == {"correct": 240, "total": 343}
    linked = json.loads((GOLDEN / "metrics_linked.json").read_text(encoding="utf-8"))["runs"][0]
    assert (
        linked["gaps"]["real-weird"]["resampled_by"] == "source_id"
        and linked["gaps"]["real-weird"]["mcnemar"]
    )
    assert (
        linked["splits"]["real"]["leak"]["count"] > 0
        and linked["status"]["excluded"][0]["video_id"] == "broken"
    )
    assert (
        linked["variants"]["variants"]["swap"]["background_label"]["n"] > 0
        and linked["variants"]["scuba_scufo"]
    )


def test_rendered_grid_matches_golden_files(report):
    out, _ = report
    rendered = {
        "grid.csv": (out / "tables" / f"{RUN_ID}__grid.csv").read_text(encoding="utf-8"),
        "grid.md": table_markdown(grid_table(measure_run(figure3_run(), n_boot=100))),
    }
    if os.environ.get("WK_UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for name, text in rendered.items():
            (GOLDEN / name).write_text(text, encoding="utf-8")
    for name, text in rendered.items():
        path = GOLDEN / name
        assert path.exists(), f"{path} missing: run WK_UPDATE_GOLDEN=1 pytest {Path(__file__).name}"
        assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"
    # The golden CSV itself holds the study's numbers (guards against regenerating a wrong golden file).
    assert list(csv.reader(io.StringIO((GOLDEN / "grid.csv").read_text())))[1:] == expected_rows()

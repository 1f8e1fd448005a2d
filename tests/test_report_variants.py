"""The report's derived-set section: numbers recomputed here by brute force, metrics.json, escaping of synth's
reasons, and no change at all for runs without derived rows."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from html.parser import HTMLParser

import pytest
from scipy import stats

from weirdkinetics.metrics.variants import MAX_LISTED, measure_variants, variant_metrics
from weirdkinetics.report import figures as figs
from weirdkinetics.report import tables as tabs
from weirdkinetics.report import write_report
from weirdkinetics.results import RunResults, VideoResult

CLASSES = ["jump", "wave", "spin", "clap"]
N_BOOT = 100
SEED = 4
REASON = "<b>person</b> found in 2 of 16 frames"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")

# source: (label, prediction on the original)
ORIGINALS = {
    "s0": ("jump", "jump"),
    "s1": ("jump", "jump"),
    "s2": ("wave", "wave"),
    "s3": ("wave", "spin"),
    "s4": ("spin", "spin"),
    "s5": ("clap", "clap"),
    "s6": ("spin", "jump"),
}
# sources of derived rows whose originals are not in the run (evaluated elsewhere): label only
ORPHANS = {"x0": "jump", "x1": "jump", "x2": "wave"}
# (variant, source, prediction, bg_label); prediction None: synth did not make it
DERIVED = [
    ("swap", "s0", "wave", "wave"),  # follows the background
    ("swap", "s1", "jump", "spin"),  # keeps the person's label
    ("swap", "s2", "jump", "jump"),  # follows the background
    ("swap", "s3", "wave", "jump"),  # right only after the swap
    ("swap", "s4", "clap", "clap"),  # follows the background
    ("swap", "s5", "spin", "wave"),  # neither
    ("swap", "s6", None, "clap"),  # not made: excluded with a reason
    ("person-only", "s0", "jump", ""),
    ("person-only", "s1", "wave", ""),
    ("person-only", "s2", "wave", ""),
    ("person-only", "s4", "spin", ""),
    ("person-only", "s6", "spin", ""),  # right on the variant only
    ("static-background", "s0", "jump", ""),
    ("static-background", "s1", "jump", ""),
    ("static-background", "s2", "spin", ""),
    ("static-background", "s4", "clap", ""),
    ("static-person", "s0", "jump", ""),
    ("static-person", "s1", "spin", ""),
    ("static-person", "s2", "spin", ""),
    ("static-person", "s4", "wave", ""),
    ("background-only", "x0", "jump", ""),  # no original in the run: counted, not paired
    ("background-only", "x1", "jump", ""),
    ("background-only", "x2", "spin", ""),
]


def label_of(source: str) -> str:
    return ORIGINALS[source][0] if source in ORIGINALS else ORPHANS[source]


def original(source: str) -> VideoResult:
    label, pred = ORIGINALS[source]
    return VideoResult(source, f"/v/{source}.mp4", label, "real", "ok", source_id=source, pred=pred)


def derived(variant: str, source: str, pred: str | None, bg_label: str) -> VideoResult:
    made = pred is not None
    return VideoResult(
        video_id=f"{source}__{variant}",
        path=f"/d/{source}__{variant}.mp4",
        label=label_of(source),
        split=variant,
        status="ok" if made else "excluded",
        reason="" if made else REASON,
        background="beach" if variant.startswith("static") else "",
        source_id=source,
        pred=pred,
        extra={
            "variant": variant,
            "source_video_id": source,
            "bg_label": bg_label,
            "bg_source": "lib/beach.jpg" if variant.startswith("static") else "",
            "mask_coverage": "0.2" if made else "0.01",
            "synth_status": "ok" if made else "excluded",
            "excluded_reason": "" if made else REASON,
        },
    )


def derived_run(run_id: str = "with-variants") -> RunResults:
    videos = [original(s) for s in ORIGINALS] + [derived(*d) for d in DERIVED]
    return RunResults(run_id, "tiny", videos, list(CLASSES))


def plain_run(run_id: str = "plain") -> RunResults:
    return RunResults(run_id, "tiny", [original(s) for s in ORIGINALS], list(CLASSES))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A run without derived rows beside one with them (it is the run the tests read)."""
    out = tmp_path_factory.mktemp("variants")
    run = derived_run()
    files = write_report([plain_run(), run], out, seed=SEED, n_boot=N_BOOT)
    return out, run, files


# ------------------------------------------------------------------------------- brute-force expectations


def wilson_text(k: int, n: int) -> str:
    ci = stats.binomtest(k, n).proportion_ci(method="wilson")
    return f"{100 * ci.low:.1f} to {100 * ci.high:.1f}%"


def prop_text(k: int, n: int) -> str:
    return f"{100 * k / n:.1f}% ({k}/{n})"


def expected_rows() -> dict[str, dict[str, str]]:
    """Display cells of the variants table, recomputed from DERIVED and ORIGINALS."""
    out = {}
    for variant in dict.fromkeys(d[0] for d in DERIVED):
        rows = [d for d in DERIVED if d[0] == variant]
        made = [(s, pred, bg) for _, s, pred, bg in rows if pred is not None]
        n, k = len(made), sum(pred == label_of(s) for s, pred, _ in made)
        paired = [
            (pred == label_of(s), ORIGINALS[s][1] == label_of(s)) for s, pred, _ in made if s in ORIGINALS
        ]
        n_pairs, k_var, k_orig = len(paired), sum(v for v, _ in paired), sum(o for _, o in paired)
        b = sum(o and not v for v, o in paired)
        c = sum(v and not o for v, o in paired)
        cells = {
            "variant": variant,
            "counted / rows": f"{n} / {len(rows)}",
            "not counted": f"synth excluded: {len(rows) - n}" if n < len(rows) else "—",
            "accuracy": prop_text(k, n),
            "95% CI (Wilson)": wilson_text(k, n),
            "paired with an original": str(n_pairs)
            + (f" ({n - n_pairs} counted without one)" if n_pairs < n else ""),
        }
        if n_pairs:
            cells |= {
                "originals, same sources": f"{prop_text(k_orig, n_pairs)} [{wilson_text(k_orig, n_pairs)}]",
                "variant, same sources": f"{prop_text(k_var, n_pairs)} [{wilson_text(k_var, n_pairs)}]",
                "gap (variant − original)": f"{100 * (k_var - k_orig) / n_pairs:+.1f} pts",
                "McNemar b / c": f"{b} / {c}",
                "McNemar exact p": f"{stats.binomtest(b, b + c).pvalue:.3f}" if b + c else "1.000",
            }
        else:
            for col in ("originals, same sources", "variant, same sources", "gap (variant − original)",
                        "95% CI (bootstrap)", "McNemar b / c", "McNemar exact p"):  # fmt: skip
                cells[col] = "—"
        if any(bg for _, _, bg in made):
            used = [(s, pred, bg) for s, pred, bg in made if bg in CLASSES and bg != label_of(s)]
            person = sum(pred == label_of(s) for s, pred, _ in used)
            background = sum(pred == bg for _, pred, bg in used)
            cells["person's label (HAT)"] = (
                f"{prop_text(person, len(used))} [{wilson_text(person, len(used))}]"
            )
            cells["background's label (HAT)"] = (
                f"{prop_text(background, len(used))} [{wilson_text(background, len(used))}]"
            )
        else:
            cells["person's label (HAT)"] = cells["background's label (HAT)"] = "—"
        out[variant] = cells
    return out


def test_expectations_are_not_trivial():
    """The fixture exercises what the table shows: discordant pairs both ways, all three HAT outcomes."""
    rows = expected_rows()
    assert rows["swap"]["counted / rows"] == "6 / 7"
    assert rows["swap"]["McNemar b / c"] == "4 / 1"
    assert rows["swap"]["person's label (HAT)"].startswith("33.3% (2/6)")
    assert rows["swap"]["background's label (HAT)"].startswith("50.0% (3/6)")
    assert rows["person-only"]["McNemar b / c"] == "1 / 1"
    assert rows["background-only"]["accuracy"] == "66.7% (2/3)"
    assert rows["background-only"]["paired with an original"] == "0 (3 counted without one)"


# ------------------------------------------------------------------------------------------ parsing


class _Tables(HTMLParser):
    """Cells of every <table id=...> in a page, as {id: [[cell text, ...], ...]} (header row first)."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._id: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._id = dict(attrs).get("id")
            self.tables[self._id] = []
        elif tag == "tr" and self._id:
            self.tables[self._id].append([])
        elif tag in ("td", "th") and self._id:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self._id = None
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[self._id][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def html_table(text: str, table_id: str) -> list[dict[str, str]]:
    parser = _Tables()
    parser.feed(text)
    header, *rows = parser.tables[table_id]
    return [dict(zip(header, r, strict=True)) for r in rows]


def md_table(md: str, title: str) -> list[dict[str, str]]:
    """Rows of the Markdown table that follows the bold ``title`` line (cells unescaped for '\\' only)."""
    block = md.split(f"**{title}**", 1)[1].split("\n\n", 2)[1]
    lines = [ln for ln in block.splitlines() if ln.startswith("|")]

    def cells(line: str) -> list[str]:
        return [c.strip().replace("\\", "") for c in line.strip()[1:-1].split(" | ")]

    header = cells(lines[0])
    return [dict(zip(header, cells(ln), strict=True)) for ln in lines[2:]]


# ---------------------------------------------------------------------------------------------- tests


def test_variant_table_in_html_and_markdown_has_the_brute_force_numbers(report):
    out, _, _ = report
    expected = expected_rows()
    html_rows = html_table((out / "report.html").read_text(encoding="utf-8"), "with-variants-variants")
    md_rows = md_table((out / "report.md").read_text(encoding="utf-8"), "Out-of-context variants")
    order = ["swap", "person-only", "background-only", "static-background", "static-person"]
    for rows in (html_rows, md_rows):
        assert [r["variant"] for r in rows] == order
        for row in rows:
            want = expected[row["variant"]]
            assert {k: row[k] for k in want} == want, row["variant"]
            if row["paired with an original"] != "0 (3 counted without one)":
                assert row["95% CI (bootstrap)"].endswith(" pts")


def test_variant_csv_matches_metrics_and_brute_force(report):
    out, run, _ = report
    vm = variant_metrics(run, seed=SEED, n_boot=N_BOOT)
    rows = {
        r["variant"]: r
        for r in csv.DictReader((out / "tables" / "with-variants__variants.csv").open(encoding="utf-8"))
    }
    assert list(rows) == list(vm["variants"])
    swap = rows["swap"]
    assert (swap["rows"], swap["counted"], swap["correct"]) == ("7", "6", "2")
    assert (swap["mcnemar_b"], swap["mcnemar_c"]) == ("4", "1")
    assert (swap["hat_n"], swap["person_count"], swap["background_count"], swap["other_count"]) == (
        "6", "2", "3", "1",
    )  # fmt: skip
    gap = vm["variants"]["swap"]["paired"]["gap"]
    assert [float(swap["gap"]), float(swap["gap_ci95_lo"]), float(swap["gap_ci95_hi"])] == [
        gap["value"], *gap["ci95"],
    ]  # fmt: skip
    assert float(swap["gap"]) == pytest.approx((2 - 5) / 6)
    assert rows["person-only"]["hat_n"] == ""  # no bg_label: no HAT rates
    table = tabs.variants_table(measure_variants(run, seed=SEED, n_boot=N_BOOT))
    assert all(len(r) == len(table.csv_columns) for r in table.csv_rows)


def test_metrics_json_has_the_variants_block(report):
    out, run, _ = report
    doc = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    plain, entry = doc["runs"]
    assert "variants" not in plain
    assert entry["variants"] == json.loads(json.dumps(variant_metrics(run, seed=SEED, n_boot=N_BOOT)))
    assert entry["variants"]["scuba_scufo"]["n_pairs"] == 4


def test_scuba_scufo_line_and_files(report):
    out, _, files = report
    md = (out / "report.md").read_text(encoding="utf-8")
    # SCUBA right & SCUFO wrong: s1 (jump/spin) only; s0 both right, s2 and s4 both wrong.
    assert f"contrasted accuracy (static-background right and static-person wrong) {prop_text(1, 4)}" in md
    assert (
        f"static-background (SCUBA) {prop_text(2, 4)}" in md
        and f"static-person (SCUFO) {prop_text(1, 4)}" in md
    )
    assert "cv2.inpaint, Telea" in md and "not HAT's own video inpainter" in md
    for rel in ("tables/with-variants__variants.csv", "tables/with-variants__variants_not_made.csv",
                "figures/with-variants__variants.png", "figures/with-variants__variants.svg"):  # fmt: skip
        assert files[rel].is_file(), rel
    assert files["figures/with-variants__variants.png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_excluded_reason_is_listed_and_escaped(report):
    out, _, _ = report
    html = (out / "report.html").read_text(encoding="utf-8")
    rows = html_table(html, "with-variants-variants_not_made")
    assert rows == [{"video_id": "s6__swap", "variant": "swap", "synth_status": "excluded", "reason": REASON}]
    assert "&lt;b&gt;person&lt;/b&gt;" in html and "<b>person" not in html
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "&lt;b&gt;person&lt;/b&gt;" in md and "<b>" not in md
    listed = list(csv.DictReader((out / "tables" / "with-variants__variants_not_made.csv").open()))
    assert [r["reason"] for r in listed] == [REASON]


def test_truncated_exclusions_say_how_many_are_listed():
    extra = [derived("swap", "s6", None, "clap") for _ in range(MAX_LISTED + 3)]
    for i, v in enumerate(extra):
        v.video_id = f"gone{i}"
    run = derived_run()
    run.videos += extra
    table = tabs.variant_excluded_table(measure_variants(run, n_boot=10))
    assert len(table.rows) == MAX_LISTED
    assert f"{MAX_LISTED} of {MAX_LISTED + 4} listed (swap {MAX_LISTED} of {MAX_LISTED + 4})" in table.note


def test_runs_without_derived_rows_are_unchanged(report, tmp_path):
    _, _, mixed = report
    alone = write_report([plain_run()], tmp_path / "alone", seed=SEED, n_boot=N_BOOT)
    md_alone = alone["markdown"].read_text(encoding="utf-8")
    assert "Out-of-context" not in md_alone and "Out-of-context" not in alone["html"].read_text()
    doc = json.loads(alone["metrics"].read_text())
    assert "variants" not in doc["runs"][0]
    assert not [p for p in alone if "variants" in p]
    assert "Synth made every derived video." not in md_alone
    # Beside a run with derived rows, the plain run's tables, figures and section are byte-identical.
    for rel in alone:
        if rel.startswith(("tables/", "figures/")):
            assert mixed[rel].read_bytes() == alone[rel].read_bytes(), rel
    section = md_alone.split("## Run plain", 1)[1]
    assert section in mixed["markdown"].read_text(encoding="utf-8").split("## Run with-variants")[0]
    doc_mixed = json.loads(mixed["metrics"].read_text())
    assert doc_mixed["runs"][0] == doc["runs"][0] and "variants" in doc_mixed["runs"][1]


def test_figure_reads_the_metrics_only():
    """The figure draws from the metrics alone: metrics with no run behind them draw."""
    vm = measure_variants(derived_run(), n_boot=10)
    fig = figs.variants_figure(vm)
    assert len(fig.axes) == 2  # accuracy, and HAT rates because swaps carry bg_label
    only_person = dataclasses.replace(vm, variants={"person-only": vm.variants["person-only"]})
    assert len(figs.variants_figure(only_person).axes) == 1


@pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y chromium)"
)
def test_variants_report_renders_in_headless_chromium(report, tmp_path):
    from test_report import console_errors, run_chromium

    out, _, _ = report
    dom, log = run_chromium(out / "report.html", tmp_path, tmp_path / "shot.png")
    assert not console_errors(log), console_errors(log)
    assert "Out-of-context variants" in dom and "<b>person" not in dom

"""``write_report``: the only IO of the report. Metrics come from ``weirdkinetics.metrics``; this module
lays them out as files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from weirdkinetics.errors import UserError
from weirdkinetics.metrics.attribution import attribution_summary
from weirdkinetics.metrics.variants import VariantMetrics
from weirdkinetics.outputs import atomic_write_text, safe_filename
from weirdkinetics.provenance import versions
from weirdkinetics.report import attribution as attr
from weirdkinetics.report import figures as figs
from weirdkinetics.report import overview
from weirdkinetics.report import tables as tabs
from weirdkinetics.report.contents import ReportContents, RunReport, prepare_report
from weirdkinetics.report.document import (
    Block,
    FigureBlock,
    Heading,
    KeyValues,
    Links,
    PageLinks,
    Paragraph,
    TableBlock,
    render_html,
    render_markdown,
)
from weirdkinetics.report.render import table_csv
from weirdkinetics.results import RunResults, evaluated_rows, not_evaluated_of_planned, unfinished

if TYPE_CHECKING:
    from weirdkinetics.metrics.leaderboard import Leaderboard

SUMMARY_SHOWN = 12
"""At most this many summary sentences on the page (``metrics.json`` holds them all)."""

SCHEMA_VERSION = 1
"""Version of ``metrics.json``; bumped whenever a key changes meaning or disappears."""


def generated_by() -> dict[str, str]:
    """Versions of this package and of the libraries that computed and drew the report."""
    return versions("report", with_platform=False)


def _slugs(run_ids: list[str]) -> list[str]:
    """File-name-safe, unique names for runs (run ids may hold any character: a predictions CSV's stem)."""
    out: list[str] = []
    for rid in run_ids:
        base = safe_filename(rid, max_len=60)
        slug, k = base, 2
        while slug in out:
            slug, k = f"{base}-{k}", k + 1
        out.append(slug)
    return out


def _check_strips(strips: dict) -> None:
    for key, frames in strips.items():
        arr = np.asarray(frames)
        if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3 or arr.shape[0] == 0:
            raise ValueError(
                f"strip {key!r}: expected uint8 (T, H, W, 3) frames with T >= 1, got {arr.dtype} {arr.shape}; "
                "strips are keyed (run_id, video_id)"
            )


def _jsonable(obj: object) -> object:
    """Provenance as plain JSON (unknown types become their str)."""
    return json.loads(json.dumps(obj, default=str))


class _Writer:
    """Collects blocks and written files while the report is laid out."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.blocks: list[Block] = []
        self.files: dict[str, Path] = {}
        self._stems: set[str] = set()

    def add(self, block: Block) -> None:
        self.blocks.append(block)

    def _stem(self, folder: str, name: str) -> str:
        """A safe file stem, unique in its folder: table names hold split names, which may be any text
        (``a/b``, ``..``, 300 characters)."""
        base = safe_filename(name, max_len=120)
        stem, k = base, 2
        while (folder, stem) in self._stems:
            stem, k = f"{base}-{k}", k + 1
        self._stems.add((folder, stem))
        return stem

    def table(self, table: tabs.Table, slug: str, collapsed: bool = False) -> None:
        rel = f"tables/{self._stem('tables', f'{slug}__{table.name}')}.csv"
        path = self.out_dir / rel
        atomic_write_text(path, table_csv(table))
        self.files[rel] = path
        self.add(TableBlock(table, f"{slug}-{table.name}", rel, collapsed))

    def figure(self, fig, name: str, title: str) -> None:
        name = self._stem("figures", name)
        png, png_path, svg_path = figs.save_figure(fig, self.out_dir / "figures", name)
        rel_png, rel_svg = f"figures/{name}.png", f"figures/{name}.svg"
        self.files[rel_png], self.files[rel_svg] = png_path, svg_path
        self.add(FigureBlock(title, png, rel_png, rel_svg))


def _run_intro(w: _Writer, run: RunResults, m) -> None:
    """The run's denominators, after a warning when the run is unfinished (its numbers cover the evaluated
    rows only: "n of N planned")."""
    st = m.status
    if unfinished(run):
        w.add(Paragraph(f"Incomplete run: {unfinished(run)}."))
    # "of N planned" where the rows include the manifest's unevaluated ones; without a manifest they are the
    # stored rows only, and the line above says how many more were planned
    planned = " planned" if evaluated_rows(run) < len(run.videos) else ""
    w.add(
        Paragraph(
            f"{st.counted} of {st.rows}{planned} videos counted "
            f"(statuses {', '.join(st.counted_statuses)} with a prediction); "
            f"{st.rows - st.counted} not counted, listed below. "
            f"Classes: {len(run.classes)} in the subset, {len(m.classes)} occurring."
        )
    )


def _run_section(
    w: _Writer, section: RunReport, slug: str, strips: dict, am: dict | None = None,
    records: list[dict] | None = None, overlays: dict | None = None,
) -> None:  # fmt: skip
    run, m, vm = section.run, section.metrics, section.variants
    w.add(Heading(2, f"Run {run.run_id} (model {run.model})", f"run-{slug}"))
    _run_intro(w, run, m)
    if run.provenance:
        w.add(KeyValues("Provenance", dict(run.provenance)))

    w.add(Heading(3, "1. Accuracy per split", f"{slug}-accuracy"))
    w.table(tabs.accuracy_table(m), slug)
    if m.gaps:
        w.table(tabs.gaps_table(m), slug)
    if m.splits:
        w.figure(figs.accuracy_figure(m), f"{slug}__accuracy", f"Accuracy per split, {run.run_id}")

    w.add(Heading(3, "2. Confusion matrices", f"{slug}-confusion"))
    if m.classes:
        w.figure(
            figs.confusion_figure(m),
            f"{slug}__confusion",
            f"Confusion matrices (row-normalised), {run.run_id}",
        )
        for split in m.confusion:
            w.table(tabs.confusion_table(m, split), slug, collapsed=True)
    else:
        w.add(Paragraph("No counted video: no confusion matrix."))

    w.add(Heading(3, "3. Class × background", f"{slug}-grid"))
    if m.grid is not None:
        w.table(tabs.grid_table(m), slug)
        w.figure(figs.grid_figure(m), f"{slug}__grid", f"Class × background, {run.run_id}")
    else:
        w.add(
            Paragraph(
                "No video has a background: add a 'background' column to the manifest to get this grid."
            )
        )

    w.add(Heading(3, "4. Per class", f"{slug}-per-class"))
    w.table(tabs.per_class_table(m), slug)

    w.add(Heading(3, "5. Qualitative examples", f"{slug}-qualitative"))
    selected = list(section.qualitative)
    if selected:
        fig = figs.qualitative_figure(run, selected, strips)
        if fig is not None:
            w.figure(
                fig,
                f"{slug}__qualitative",
                f"Most confident mistakes and sampled correct predictions, {run.run_id}",
            )
        else:
            w.add(Paragraph("No frames were given for these videos (the API decodes them; pass strips=...)."))
        w.table(tabs.qualitative_table(run, selected), slug)
    else:
        w.add(Paragraph("No counted video to show."))

    w.add(Heading(3, "6. Videos not counted and denominators", f"{slug}-status"))
    w.table(tabs.denominators_table(m), slug)
    if m.status.excluded:
        w.table(tabs.excluded_table(m), slug)
    else:
        w.add(Paragraph("Every video was counted."))

    if vm is not None:
        _variants_section(w, run, vm, slug)
    if am is not None:
        qualitative = [v.video_id for v in section.qualitative]
        _attribution_section(w, run, am, slug, records or [], overlays or {}, qualitative)


def _attribution_section(
    w: _Writer,
    run: RunResults,
    am: dict,
    slug: str,
    records: list[dict],
    overlays: dict,
    qualitative: list[str],
) -> None:
    """Where the model looks (``attribution_summary``): per method and settings, the numbers per split,
    class and background with intervals, the paired real/weird comparison, the deletion check, a
    distribution plot, overlays (made upstream) and the videos not explained."""
    w.add(Heading(3, "8. Where does the model look?", f"{slug}-attribution"))
    w.add(
        Paragraph(
            "On background (the leaderboard's number): the background share normalised for the background's "
            "area and the map's resolution, (share - floor) / (area - floor): 0 = all mass on the person as far "
            "as the map's resolution allows (floor: the share of the person mask brought to the map's grid and "
            "back), 1 = as much as the background's area (a uniform map), above 1 = more. Raw background share: "
            "the part of the map's positive mass outside the (dilated) person mask, per frame, averaged (a "
            "uniform map already scores the background's area). Rank correlation with random weights: the "
            "model-randomisation check (Adebayo et al. 2018), where the report holds the same card with random "
            "weights. Deletion and occlusion count only where the target score is at least 2 x chance, and "
            "deletion only beyond the noise floor of repeated random deletions. Occlusion: the drop of the target's score (softmax over the class "
            "subset) when the person, or the background, is replaced by the normalisation mean; its background "
            "share is the background's part of the two drops. Intervals: 95 % bootstrap resampling source_id."
        )
    )
    for g, group in enumerate(am["groups"]):
        _attribution_group(
            w, run, f"attribution{g}_{group['method']}", group, slug, records, overlays, qualitative
        )
    w.figure(
        attr.distribution_figure(am["groups"]),
        f"{slug}__attribution_distribution",
        f"Background share per video and split, {run.run_id}",
    )


def _attribution_group(
    w: _Writer,
    run: RunResults,
    tag: str,
    group: dict,
    slug: str,
    records: list[dict],
    overlays: dict,
    qualitative: list[str],
) -> None:
    """One (method, settings) group of the attribution section: its tables, lines and overlays."""
    name = attr.METHOD_NAMES.get(group["method"], group["method"])
    w.add(Heading(4, f"{name}: {group['counted']} of {group['rows']} videos explained", f"{slug}-{tag}"))
    w.add(Paragraph(attr.settings_text(group)))
    w.table(attr.summary_table(group, "by_split", f"{tag}_split", f"{name} per split"), slug)
    lines = [
        attr.faithfulness_line(group, run.model) if group["method"] == "gradcam" else None,
        attr.occlusion_line(group, run.model) if group["method"] == "occlusion" else None,
        attr.randomisation_line(group, run.model),
        attr.paired_line(group),
    ]
    for line in filter(None, lines):
        w.add(Paragraph(line))
    w.table(attr.summary_table(group, "by_class", f"{tag}_class", f"{name} per class"), slug, collapsed=True)
    w.table(
        attr.summary_table(group, "by_background", f"{tag}_background", f"{name} per background"),
        slug,
        collapsed=True,
    )
    picked = attr.overlay_selection(
        [r for r in records if r["settings_key"] == group["settings_key"]], prefer=qualitative
    )
    selected = [
        (r["video_id"], attr.overlay_caption(r), (run.run_id, r["video_id"], group["settings_key"]))
        for r in picked
    ]
    fig = attr.overlay_figure(selected, overlays)
    if fig is not None:
        w.figure(
            fig,
            f"{slug}__{tag}_overlays",
            f"{name} overlays on the explained clip's frames (qualitative panel's videos first; map blended, "
            f"person mask outlined), {run.run_id}",
        )
    if group["not_counted"]:
        w.table(attr.not_counted_table(group, f"{tag}_not_counted"), slug)
    if group.get("not_assessable"):
        w.table(attr.not_assessable_table(group, f"{tag}_not_assessable"), slug, collapsed=True)
    if group.get("randomisation"):
        w.table(attr.randomisation_table(group, f"{tag}_randomisation"), slug, collapsed=True)


INPAINT_NOTE = (
    "Background-only videos are filled by OpenCV's single-image inpainting (cv2.inpaint, Telea's method "
    "unless synth was told otherwise), frame by frame over dilated person masks; not HAT's own "
    "video inpainter. The fill has no temporal model: large holes become smooth smears that can still "
    "outline where the person was."
)


def _leaderboard_section(w: _Writer, board: Leaderboard, slugs: dict[str, str], pages: bool | None) -> None:
    """The study's leaderboard on top: the summary (only where intervals separate), the table in the
    study's order, one pre-sorted table per column, the scatter, and links to each model's section."""
    from weirdkinetics.report import leaderboard as lb

    w.add(Heading(2, "Leaderboard: how much does each model rely on the background?", "leaderboard"))
    if board.findings:
        shown = board.findings[:SUMMARY_SHOWN]
        w.add(Paragraph("Summary, only where the 95% intervals of two models do not overlap:"))
        for finding in shown:
            w.add(Paragraph(f"{finding.sentence}."))
        if len(board.findings) > len(shown):
            more = len(board.findings) - len(shown)
            w.add(Paragraph(f"... and {more} more in metrics.json ('leaderboard', 'summary')."))
    else:
        w.add(Paragraph("No two models differ beyond their 95% intervals on any column: no claim is made."))
    w.table(lb.leaderboard_table(board), "study")
    w.table(lb.columns_table(board), "study", collapsed=True)
    for col in board.columns:
        w.table(lb.leaderboard_table(board, order=col.key), "study", collapsed=True)
    y = lb.reliance_axis(board)
    if y is not None and "originals" in {c.key for c in board.columns}:
        w.figure(
            lb.leaderboard_figure(board, y), "study__leaderboard", "Accuracy against background reliance"
        )
    if pages is None:  # every run's section is on this page
        w.add(Paragraph("Each model's detailed section:"))
        w.add(Links([(r.model, f"run-{slugs[r.anchor]}") for r in board.rows if r.anchor in slugs]))
    elif pages:
        w.add(Paragraph("Each model's detailed page:"))
        w.add(PageLinks([(r.model, f"runs/{slugs[r.anchor]}") for r in board.rows if r.anchor in slugs]))


def _variants_section(w: _Writer, run: RunResults, vm: VariantMetrics, slug: str) -> None:
    """Derived-set metrics of a run (``VariantMetrics``): table, figure, SCUBA/SCUFO, rows not made."""
    w.add(Heading(3, "7. Out-of-context variants", f"{slug}-variants"))
    rows = sum(b.rows for b in vm.variants.values())
    w.add(
        Paragraph(
            f"{rows} derived rows (column 'variant') in {len(vm.variants)} variant(s); the run's other "
            f"{vm.n_originals} rows are the originals they are paired with, by source_video_id (else "
            "source_id). Accuracies use counted rows only; 'not counted' says why the others were left out, "
            "and rows synth did not make are listed below."
        )
    )
    w.table(tabs.variants_table(vm), slug)
    for line in tabs.background_label_text(vm):
        w.add(Paragraph(line))
    if vm.scuba_scufo is not None:
        w.add(Paragraph(tabs.scuba_scufo_text(vm.scuba_scufo)))
    if "background-only" in vm.variants:
        w.add(Paragraph(INPAINT_NOTE))
    w.figure(figs.variants_figure(vm), f"{slug}__variants", f"Out-of-context variants, {run.run_id}")
    if any(b.excluded_total for b in vm.variants.values()):
        w.table(tabs.variant_excluded_table(vm), slug)
    else:
        w.add(Paragraph("Synth made every derived video."))


def _checked_contents(
    runs: list[RunResults], contents: ReportContents | None, seed: int, n_boot: int
) -> ReportContents:
    """The caller's contents when they were prepared for these runs, seed and n_boot; computed otherwise."""
    if contents is None:
        return prepare_report(runs, seed=seed, n_boot=n_boot)
    if not contents.matches(runs, seed, n_boot):
        raise ValueError(
            "contents were prepared for other runs, seed or n_boot: pass prepare_report(runs, seed, n_boot)"
        )
    return contents


def _attribution_summaries(
    runs: list[RunResults], attributions: dict[str, list[dict]], seed: int, n_boot: int
) -> list[dict | None]:
    """Per run, ``attribution_summary`` of its records, or None when it has none."""
    return [
        attribution_summary(attributions[run.run_id], n_boot=n_boot, seed=seed)
        if attributions.get(run.run_id)
        else None
        for run in runs
    ]


def _runs_side_by_side(w: _Writer, contents: ReportContents) -> None:
    """The comparison of several runs (table and figure) that opens a report of more than one."""
    w.add(Heading(2, "Runs side by side", "runs"))
    metrics = [section.metrics for section in contents.runs]
    w.table(tabs.runs_table(metrics), "all")
    w.figure(figs.runs_figure(metrics), "all__runs", "Accuracy per split and gaps, all runs")


def _overview_section(w: _Writer, contents: ReportContents, slugs: list[str], pages: bool) -> None:
    """The page of a report of many runs: the overview table, the incomplete runs called out, and the links
    to each run's own page (or how to get them)."""
    runs = [section.run for section in contents.runs]
    w.add(Heading(2, f"Runs ({len(runs)})", "runs"))
    w.table(overview.overview_table(runs, [section.metrics for section in contents.runs]), "all")
    incomplete = [run for run in runs if not_evaluated_of_planned(run)[0]]
    if incomplete:
        w.add(Paragraph(f"{len(incomplete)} of {len(runs)} runs are incomplete:"))
        for run in incomplete[:SUMMARY_SHOWN]:
            w.add(Paragraph(f"{unfinished(run)}."))
        if len(incomplete) > SUMMARY_SHOWN:
            w.add(Paragraph(f"... and {len(incomplete) - SUMMARY_SHOWN} more (column 'complete' above)."))
    if pages:
        w.add(Heading(2, "Each run's page", "run-pages"))
        w.add(PageLinks([(f"{run.model} ({run.run_id})", f"runs/{slug}") for run, slug in zip(runs, slugs)]))
    else:
        w.add(
            Paragraph(
                f"More than {overview.SECTIONS_MAX} runs: this page is their overview, and each run's full "
                "section (figures, confusion matrices, per class, qualitative examples, videos not counted) is "
                "written on request: 'weirdkinetics report ... --run-pages' writes one page per run into runs/ "
                "(linked from here), or '--run ID' reports the runs named (up to "
                f"{overview.SECTIONS_MAX} on one page). metrics.json holds every run's numbers."
            )
        )


def _run_pages(w: _Writer, contents: ReportContents, slugs: list[str], parts: dict, title: str) -> None:
    """One page per run, ``runs/<slug>.html`` and ``.md``, with the run's full section; its tables and figures
    go to the report's own ``tables/`` and ``figures/`` (their paths shown relative to the report folder)."""
    for i, (section, slug) in enumerate(zip(contents.runs, slugs)):
        page = _Writer(w.out_dir)
        page.files, page._stems = w.files, w._stems  # one set of file names for the whole report
        run_id = section.run.run_id
        page.add(Paragraph(f"Run {i + 1} of {len(slugs)}; the overview is report.html (report.md)."))
        _run_section(
            page, section, slug, parts["strips"], parts["attribution"][i], parts["attributions"].get(run_id),
            parts["overlays"],
        )  # fmt: skip
        for suffix, text in (
            (".html", render_html(f"{title}: {section.run.model}", page.blocks)),
            (".md", render_markdown(f"{title}: {section.run.model}", page.blocks, root="../")),
        ):
            rel = f"runs/{slug}{suffix}"
            w.files[rel] = atomic_write_text(w.out_dir / rel, text)


def _metrics_document(
    contents: ReportContents, attribution: list[dict | None], seed: int, n_boot: int
) -> dict:
    """``metrics.json``: schema, versions, bootstrap settings and each run's metrics with its provenance,
    plus its variants and attribution blocks where it has them."""
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_by": generated_by(),
        "seed": seed,
        "n_boot": n_boot,
        "runs": [
            section.metrics.to_dict()
            | {"provenance": _jsonable(section.run.provenance)}
            # Only runs holding derived rows (synth's 'variant' column) get the variants block.
            | ({"variants": section.variants.to_dict()} if section.variants is not None else {})
            | ({"attribution": _jsonable(am)} if am is not None else {})
            | _completeness(section.run)
            for section, am in zip(contents.runs, attribution)
        ],
    }


def _completeness(run: RunResults) -> dict:
    """``{"incomplete": {"planned", "not_evaluated"}}`` for a run that has not evaluated all its planned
    rows; nothing for a complete one."""
    missing, planned = not_evaluated_of_planned(run)
    return {"incomplete": {"planned": planned, "not_evaluated": missing}} if missing else {}


def shows_sections(runs: int, run_pages: bool = False, sections_max: int = overview.SECTIONS_MAX) -> bool:
    """Whether a report of ``runs`` runs lays out each run's full section (figures, qualitative panel,
    overlays): on its one page up to ``sections_max`` runs, else on run pages when asked for. Callers decode
    frame strips and draw overlays only then."""
    return runs <= sections_max or run_pages


def write_report(
    runs: list[RunResults],
    out_dir: str | Path,
    strips: dict[tuple[str, str], np.ndarray] | None = None,
    seed: int = 0,
    n_boot: int = 2000,
    title: str = "weirdkinetics report",
    *,
    contents: ReportContents | None = None,
    attributions: dict[str, list[dict]] | None = None,
    overlays: dict[tuple[str, str, str], np.ndarray] | None = None,
    leaderboard: Leaderboard | None = None,
    run_pages: bool = False,
    sections_max: int = overview.SECTIONS_MAX,
) -> dict[str, Path]:
    """Write the report of one or several runs into ``out_dir`` (created if needed).

    strips: frames for the qualitative panel, ``{(run_id, video_id): uint8 (T, H, W, 3)}``, for the videos
    each run's section selects (``contents.runs[i].qualitative``); decoding them is the caller's job.
    ``seed`` and ``n_boot`` drive the bootstrap and the sample of correct examples. contents: what
    ``prepare_report(runs, seed, n_boot)`` gave, when the caller already holds it (to decode strips for
    the same selection, or to reuse the same numbers); computed here otherwise.

    A run holding derived rows (synth's ``variant`` column, evaluated into the same run as their originals)
    also gets an "Out-of-context variants" section and a ``"variants"`` block in ``metrics.json``
    (``variant_metrics``); a run without them is reported exactly as before. attributions: each run's
    attribution records (``api.attribution_records``), which add the "Where does the model look?" section
    and an ``"attribution"`` block; overlays: their saliency overlays, drawn upstream. leaderboard: a study's
    board (``metrics.leaderboard``), shown on top with links to each run's section and written to
    ``metrics.json`` under ``"leaderboard"`` and alone as ``leaderboard.json``.

    Up to ``sections_max`` runs, every run's full section is on the one page. Beyond, the page is the overview
    (``report.overview``: one table row per run with its headline numbers, denominators and completeness), so
    its cost and size grow linearly with the runs and no run's figures are drawn; run_pages: also write each
    run's full section as a page of its own, ``runs/<slug>.html`` and ``.md``, linked from the overview.

    Writes ``report.html`` (self-contained), ``report.md``, ``metrics.json``, ``tables/*.csv`` and
    ``figures/*.png|svg``. Returns every written file by its path relative to ``out_dir``, plus the keys
    ``"html"``, ``"markdown"`` and ``"metrics"``.
    """
    if not runs:
        raise UserError("no runs to report: evaluate a model first, or give a predictions CSV")
    strips = dict(strips or {})
    _check_strips(strips)
    out_dir = Path(out_dir)
    for sub in ("tables", "figures"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)

    contents = _checked_contents(runs, contents, seed, n_boot)
    attributions = attributions or {}
    attribution = _attribution_summaries(runs, attributions, seed, n_boot)
    slugs = _slugs([run.run_id for run in runs])
    w = _Writer(out_dir)
    w.add(
        Paragraph(
            f"{len(runs)} run(s). Intervals: 95% Wilson for accuracies; 95% percentile bootstrap "
            f"({n_boot} draws, seed {seed}) for gaps, resampling whole recordings when source_id links them "
            "(Newcombe's score interval instead over fewer than 5 recordings, or where a split's videos are all "
            "right or all wrong); McNemar's exact test on linked pairs."
        )
    )
    one_page = len(runs) <= sections_max
    if leaderboard is not None:
        pages = None if one_page else run_pages
        _leaderboard_section(w, leaderboard, dict(zip([run.run_id for run in runs], slugs)), pages)
    if one_page:
        if len(runs) > 1:
            _runs_side_by_side(w, contents)
        for section, am, slug in zip(contents.runs, attribution, slugs):
            _run_section(w, section, slug, strips, am, attributions.get(section.run.run_id), overlays)
    else:
        _overview_section(w, contents, slugs, run_pages)
        if run_pages:
            parts = {"strips": strips, "attribution": attribution, "attributions": attributions}
            _run_pages(w, contents, slugs, parts | {"overlays": overlays}, title)

    html_path, md_path, json_path = out_dir / "report.html", out_dir / "report.md", out_dir / "metrics.json"
    atomic_write_text(html_path, render_html(title, w.blocks))
    atomic_write_text(md_path, render_markdown(title, w.blocks))
    doc = _metrics_document(contents, attribution, seed, n_boot)
    if leaderboard is not None:
        doc["leaderboard"] = leaderboard.to_dict()
        w.files["leaderboard.json"] = atomic_write_text(
            out_dir / "leaderboard.json",
            json.dumps(leaderboard.to_dict(), indent=2, allow_nan=False, ensure_ascii=False) + "\n",
        )
    atomic_write_text(json_path, json.dumps(doc, indent=2, allow_nan=False, ensure_ascii=False) + "\n")
    files = dict(w.files)
    files.update({"report.html": html_path, "report.md": md_path, "metrics.json": json_path})
    files.update({"html": html_path, "markdown": md_path, "metrics": json_path})
    return files

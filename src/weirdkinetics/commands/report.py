"""``report``: load runs from a store or a predictions CSV, and write the report from them."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from weirdkinetics.commands.attributions import _ALIASES, _RUNS, attribution_records
from weirdkinetics.commands.files import check_report_folders, report_outputs
from weirdkinetics.errors import UserError, option
from weirdkinetics.inputs import unreadable
from weirdkinetics.manifest import Manifest
from weirdkinetics.outputs import check_output_dir, check_outputs, locks_folder
from weirdkinetics.params import checked, function, instance, whole
from weirdkinetics.params import path as a_path
from weirdkinetics.parquet_store import is_parquet
from weirdkinetics.results import RunResults, VideoResult, unfinished

if TYPE_CHECKING:
    from collections.abc import Callable

    from weirdkinetics.metrics.leaderboard import Leaderboard
    from weirdkinetics.report.contents import ReportContents

# parameter checks beyond ``params.COMMON`` (``_RUNS`` and ``_ALIASES`` are ``commands.attributions``')
_SELECTIONS = instance(list, "one list of VideoResult per run", optional=True, many=True)


@checked(manifest=instance(Manifest, "a Manifest", optional=True))
def load_results(
    source: str | Path, run_ids: list[str] | None = None, manifest: Manifest | None = None
) -> list[RunResults]:
    """Runs from a store (``.sqlite``, opened read-only) or a predictions CSV from any tool; with
    ``manifest``, only the rows of that manifest's files."""
    from weirdkinetics.results import results_from_csv

    source = Path(source)
    problem = unreadable(source)  # before opening: SQLite or the CSV reader would block on a FIFO
    if problem is not None and not problem.missing and not is_parquet(source):
        raise UserError(f"{source}: {problem.reason}; give a store (.sqlite) or a predictions CSV file")
    if source.suffix.lower() == ".csv":
        runs = [results_from_csv(source)]
        if manifest is not None:
            keep = {r.video_id for r in manifest.rows}
            runs = [r.subset([v.video_id in keep for v in r.videos]) for r in runs]
        return runs
    from weirdkinetics.results import load_runs

    return load_runs(source, run_ids, manifest=manifest)


@checked(runs=_RUNS, count=whole(1, 1000), height=whole(1, 16384), selections=_SELECTIONS)
def frame_strips(
    runs: list[RunResults],
    count: int = 6,
    height: int = 96,
    seed: int = 0,
    *,
    selections: list[list[VideoResult]] | None = None,
) -> dict[tuple[str, str], object]:
    """Frame strips (uint8 (count, h, w, 3)) for the report's qualitative panel, read through the same
    decoder as evaluation. selections: the videos each run's panel shows, one list per run in order (from
    ``prepare_report``); without them, ``qualitative_selection(run, seed=seed)``."""
    import numpy as np

    from weirdkinetics.decode import VideoOpenError, probe, read_video
    from weirdkinetics.report import qualitative_selection

    if selections is None:
        selections = [qualitative_selection(run, seed=seed) for run in runs]
    if len(selections) != len(runs):
        raise ValueError(f"{len(selections)} selections for {len(runs)} runs: give one per run, in order")
    strips: dict[tuple[str, str], object] = {}
    for run, selected in zip(runs, selections):
        for v in selected:
            if not v.path or not Path(v.path).exists():
                continue
            try:
                n = probe(v.path).num_frames
            except VideoOpenError:  # gone or unreadable since it was evaluated: the panel shows no strip
                continue
            idx = np.linspace(0, max(n - 1, 0), count).round().astype(int)
            video = read_video(v.path, indices=idx, max_side=height * 2)
            if len(video.frames):
                strips[(run.run_id, v.video_id)] = video.frames
    return strips


@dataclass(frozen=True)
class ReportOutcome:
    """A written report: its files (as ``write_report`` returns them) and the numbers and selections it
    shows (``ReportContents``), for callers that print or store them beside the report."""

    files: dict[str, Path]
    contents: ReportContents
    leaderboard: Leaderboard | None = None


@checked(
    runs=_RUNS,
    store=a_path(optional=True),
    board=function(),
    explained_by=_ALIASES,
)
def report_runs(
    runs: list[RunResults],
    out_dir: str | Path,
    seed: int = 0,
    n_boot: int = 2000,
    store: str | Path | None = None,
    board: Callable[[ReportContents, dict[str, list[dict]]], Leaderboard] | None = None,
    run_pages: bool = False,
    explained_by: dict[str, str] | None = None,
) -> ReportOutcome:
    """Write the report of ``runs`` into ``out_dir``: metrics and qualitative selection computed once,
    frame strips decoded for exactly that selection, and both returned with the files. With the ``store``
    the runs came from, runs with attribution rows (``explain``) get the "Where does the model look?"
    section, its overlays drawn for the qualitative panel's videos first. board: makes a study's
    leaderboard from the report's contents and attribution records (``study.leaderboard_of``); it is shown
    on top and returned. run_pages: beyond ``report.overview.SECTIONS_MAX`` runs the report is an overview;
    also write each run's full section as a page of its own (``write_report``). explained_by: runs whose
    attribution rows stand under another run (``commands.attributions.attribution_records``)."""
    from weirdkinetics.report import prepare_report, write_report
    from weirdkinetics.report.writer import shows_sections

    if not runs:
        raise UserError("no runs to report: evaluate a model first, or give a predictions CSV")
    contents = prepare_report(runs, seed=seed, n_boot=n_boot)
    selections = [list(r.qualitative) for r in contents.runs]
    # an overview draws no run's section: no frames to decode, no overlays to draw
    sections = shows_sections(len(runs), run_pages)
    strips = frame_strips(runs, seed=seed, selections=selections) if sections else {}
    records, overlays = {}, {}
    if store is not None:
        records, overlays = attribution_records(
            store,
            runs,
            [[v.video_id for v in sel] for sel in selections],
            overlays=sections,
            explained_by=explained_by,
        )
    leaderboard = board(contents, records) if board is not None else None
    files = write_report(
        runs, Path(out_dir), strips=strips, seed=seed, n_boot=n_boot, contents=contents,
        attributions=records, overlays=overlays, leaderboard=leaderboard, run_pages=run_pages,
    )  # fmt: skip
    return ReportOutcome(files, contents, leaderboard)


@checked(manifest=instance(Manifest, "a Manifest", optional=True))
@locks_folder("out_dir", option("out_dir"))
def make_report(
    source: str | Path,
    out_dir: str | Path,
    run_ids: list[str] | None = None,
    manifest: Manifest | None = None,
    seed: int = 0,
    run_pages: bool = False,
) -> dict:
    """Write the report (HTML, Markdown, CSV tables, PNG/SVG figures, metrics.json) for the runs in a store
    or a predictions CSV; return its files (``report_runs`` also returns its numbers). With ``manifest``, a
    run that has not evaluated all its rows is reported as incomplete (its missing rows ``not_evaluated``),
    in the report and with a warning on stderr. Runs with attribution
    rows (``explain``) get the "Where does the model look?" section. Without ``manifest``, a run whose
    evaluations planned rows it has not stored (``evaluate`` records its manifest's ids before its first row)
    is called incomplete the same way. Beyond ``report.overview.SECTIONS_MAX`` runs the report is an overview;
    run_pages: also one page per run (``write_report``). Holds the ``out_dir`` lock (``outputs.folder_lock``)
    while it writes: one writer per folder."""
    out_dir = check_output_dir(out_dir, option("out_dir"))
    inputs: dict[str, str | Path] = {f"the results ({option('source')})": Path(source)}
    if manifest is not None:
        inputs[f"the manifest ({option('manifest')})"] = manifest.path
    check_outputs(report_outputs(out_dir), inputs)
    check_report_folders(out_dir, inputs)
    runs = load_results(source, run_ids, manifest)
    if not runs:
        raise UserError(f"{source}: no runs to report")
    for run in runs:  # said on the terminal too, not only inside the report
        if unfinished(run):
            print(f"warning: {unfinished(run)}", file=sys.stderr)
    store = None if Path(source).suffix.lower() == ".csv" else source
    return report_runs(runs, out_dir, seed=seed, store=store, run_pages=run_pages).files

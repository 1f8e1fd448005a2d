"""The Python API: the same functions the CLI calls (the CLI is a thin shim over this module)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from weirdkinetics.errors import ManifestError, UserError, option
from weirdkinetics.inputs import is_file, unreadable
from weirdkinetics.labels import label_space, read_class_file, read_label_map, resolve_classes
from weirdkinetics.manifest import Manifest, read_manifest
from weirdkinetics.outputs import (
    check_output_dir,
    check_output_file,
    check_outputs,
    check_target,
    locks_folder,
    write_csv,
)
from weirdkinetics.params import (
    MAX_BATCH_SIZE,
    checked,
    function,
    instance,
    names,
    synth_options,
    text,
    whole,
)
from weirdkinetics.params import path as a_path
from weirdkinetics.provenance import versions
from weirdkinetics.results import RunResults, VideoResult, unfinished

if TYPE_CHECKING:
    from collections.abc import Callable

    from weirdkinetics.inference import Runtime
    from weirdkinetics.metrics.leaderboard import Leaderboard
    from weirdkinetics.models.card import ModelCard
    from weirdkinetics.models.loading import LoadedModel
    from weirdkinetics.report.contents import ReportContents
    from weirdkinetics.sampling import ClipSpec
    from weirdkinetics.store import Store, StoredAttribution
    from weirdkinetics.synth.generate import SynthResult

DEFAULT_STORE = "predictions.sqlite"

# parameter checks beyond ``params.COMMON``, shared by several functions below
_RUNS = instance(RunResults, "a list of RunResults (from load_results)", many=True)
_SELECTIONS = instance(list, "one list of VideoResult per run", optional=True, many=True)
_QUALITATIVE = instance(list, "one list of video ids per run", optional=True, many=True)


@checked(model=text(optional=True), flag=function())
def validate(
    manifest_path: str | Path,
    model: str | None = None,
    label_map: str | Path | None = None,
    *,
    flag: Callable[[str], str] | None = None,
) -> list[str]:
    """Every problem of a manifest at once (each with its row number); empty when valid.

    Checks the CSV's encoding and header, empty required cells, duplicate ids, missing or unreadable files,
    and, with ``model``, labels unknown to the model's label space. Problems name options as this API's
    parameters, or as ``flag(name)`` (the CLI's flags; see ``errors.option``).
    """
    space = None
    if model:
        from weirdkinetics.models import get_card

        space = label_space(get_card(model).label_space)
    mapping = read_label_map(label_map) if label_map else None
    try:
        read_manifest(manifest_path, space, mapping, check_files=True)
    except ManifestError as exc:
        return exc.problem_lines(flag)
    return []


@dataclass
class EvalOutcome:
    out_dir: Path
    store: Path
    run_ids: list[str]
    models: list[str]
    summary: object
    manifest: Manifest
    export: Path | None = None
    report: dict | None = None
    totals: dict = field(default_factory=dict)


def check_batch_size(batch_size: int) -> None:
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or not 1 <= batch_size <= MAX_BATCH_SIZE
    ):
        raise UserError(
            f"{option('batch_size', batch_size)}: must be a whole number from 1 to {MAX_BATCH_SIZE}"
        )


def _weights_for(models: list[str], weights: list[str] | None) -> list[str | None]:
    if not weights:
        return [None] * len(models)
    if len(weights) == 1 and len(models) > 1:
        if not weights[0].startswith("random"):
            raise UserError(
                f"one {option('weights', meta='PATH')} for several {option('models')}: give one weights per model, "
                "in order"
            )
        return weights * len(models)
    if len(weights) != len(models):
        raise UserError(
            f"{len(weights)} {option('weights')} for {len(models)} {option('models')}: give one per model, in order"
        )
    return list(weights)


@checked(models=names(), weights=names(optional=True, paths=True, gaps=True))
@locks_folder("out_dir", option("out_dir"))
def evaluate(
    manifest_path: str | Path,
    models: list[str],
    out_dir: str | Path,
    weights: list[str] | None = None,
    store_path: str | Path | None = None,
    classes: str = "all",
    label_map: str | Path | None = None,
    clips: str | None = None,
    crops: int | None = None,
    batch_size: int | None = None,
    device: str = "cpu",
    export: str | Path | None = None,
    report: bool = False,
    progress: bool = True,
    run_labels: list[str] | None = None,
    precision: str = "fp32",
    compile: bool = False,
    decode_workers: int | None = None,
    engine: str = "local",
    address: str | None = None,
    actors: int | None = None,
    retry_errors: bool = False,
) -> EvalOutcome:
    """Evaluate ``models`` on a manifest into ``OUT/predictions.sqlite``; resumable; optionally export a CSV
    and write the report. Refuses a structurally invalid manifest (every problem listed); rows whose file
    is missing are evaluated as status ``missing``. ``run_labels`` names each model's run in reports.

    Speed: ``precision`` fp32 (exact), bf16 or fp16 (CUDA) autocast, part of each run's identity;
    ``batch_size`` and ``decode_workers`` default per device; ``compile`` runs ``torch.compile``.

    engine: ``local`` (this machine) or ``ray`` (a Ray cluster at ``address``, or a local Ray without one;
    ``actors`` model actors; see ``engines.ray_engine``): the same plan, scores and store either way.
    retry_errors: compute again the stored rows that ended ``decode_error`` because a worker died on them
    (genuine decode errors stay)."""
    from weirdkinetics.inference import Runtime
    from weirdkinetics.predict import build_jobs
    from weirdkinetics.store import Store

    if not models:
        raise UserError(f"no {option('models')} given; list them with 'weirdkinetics models'")
    out_dir = check_output_dir(out_dir, option("out_dir"))
    if export is not None:
        export = check_output_file(export, option("export"))
    runtime = Runtime(device=device, precision=precision, compile=compile)
    run_engine = _engine(engine, address, actors, decode_workers)
    cards = _check_evaluation(models, clips, crops, batch_size, runtime, engine)  # all before any work
    mapping = read_label_map(label_map) if label_map else None
    manifest = _read_for_cards(manifest_path, cards, classes, mapping)
    store_path = Path(store_path) if store_path else out_dir / DEFAULT_STORE
    _prepare_outputs(out_dir, store_path, export, report, manifest, label_map, classes, weights)
    # on Ray the device is the workers': the driver loads the models on its CPU
    load_on = device if engine == "local" else "cpu"
    loaded = _load_models(cards, _weights_for(models, weights), load_on, classes, manifest)
    jobs = build_jobs(loaded, clips, crops, runtime)
    class_sets = {
        job.run_id: resolve_classes(classes, tuple(job.class_names), manifest.labels) for job in jobs
    }
    _warn_disjoint_classes(classes, class_sets, manifest)
    provenance = {
        "versions": versions(),
        "classes_spec": classes,
        "label_map": dict(mapping) if mapping else None,
        "device": device,
        "runtime": runtime.describe(),
    }
    run_ids = [j.run_id for j in jobs]
    labels = dict(zip(run_ids, run_labels or []))
    with Store(store_path, retry_errors=retry_errors) as store:
        summary = run_engine(
            manifest, jobs, store, class_sets, provenance, batch_size, progress, labels, runtime
        )
    outcome = EvalOutcome(out_dir, store_path, run_ids, models, summary, manifest)
    if export:
        outcome.export = export_csv(store_path, manifest, run_ids[0] if len(jobs) == 1 else None, export)
    if report:
        outcome.report = make_report(store_path, out_dir, run_ids=run_ids, manifest=manifest)
    return outcome


def _check_evaluation(
    models: list[str],
    clips: str | None,
    crops: int | None,
    batch_size: int | None,
    runtime: Runtime,
    engine: str = "local",
) -> list[ModelCard]:
    """The cards of ``models``, once every setting is known to work: unknown names, batch size, views per
    video, an unknown device, no GPU, or fp16 on CPU all fail before any work. On Ray the device is the
    workers': the driver checks what it can."""
    from weirdkinetics.inference import check_runtime
    from weirdkinetics.models import get_card
    from weirdkinetics.sampling import spec_for

    cards = [get_card(m) for m in models]
    if batch_size is not None:
        check_batch_size(batch_size)
    for card in cards:  # clips and crops (views per video)
        spec_for(card, clips, crops)
    if engine == "local":
        check_runtime(runtime)
    else:
        from weirdkinetics.engines.ray_engine import check_ray_runtime

        check_ray_runtime(runtime)
    return cards


def _engine(engine: str, address: str | None, actors: int | None, decode_workers: int | None):
    """The evaluation engine's function, ``predict.evaluate_manifest``'s signature up to ``runtime``."""
    import functools

    from weirdkinetics.engines import check_engine

    check_engine(engine, address, actors)
    if engine == "local":
        from weirdkinetics.predict import evaluate_manifest

        return functools.partial(evaluate_manifest, decode_workers=decode_workers)
    if decode_workers is not None:
        raise UserError(
            f"{option('decode_workers')} is for {option('engine', 'local')} (Ray decodes in its own tasks); drop it"
        )
    from weirdkinetics.engines.ray_engine import evaluate_manifest_ray

    return functools.partial(evaluate_manifest_ray, address=address, actors=actors)


def _read_for_cards(
    manifest_path: str | Path, cards: list[ModelCard], classes: str, mapping: dict[str, str] | None
) -> Manifest:
    """The manifest, its labels checked against every fixed label space in use. Open-vocabulary models
    score the class subset's own names: with classes ``manifest`` or a file, their labels need not belong
    to any label space."""
    open_subset = classes != "all"
    spaces = sorted({c.label_space for c in cards if not (c.open_vocabulary and open_subset)}) or [None]
    for space in spaces:
        manifest = read_manifest(manifest_path, label_space(space) if space else None, mapping)
    return manifest


def _warn_disjoint_classes(classes: str, class_sets: dict[str, list[str]], manifest: Manifest) -> None:
    """Say so on stderr when a class subset holds none of the manifest's labels: every video would be wrong
    (0 %) and every prediction a "leak", numbers that look like a result."""
    labels = set(manifest.labels)
    for run_id, subset in class_sets.items():
        if labels and not labels & set(subset):
            print(
                f"warning: the class subset ({classes}) holds none of the manifest's {len(labels)} label(s) "
                f"(run {run_id}): no video can be right and every prediction leaks; check the class file",
                file=sys.stderr,
            )
            return


def _prepare_outputs(
    out_dir: Path,
    store_path: Path,
    export: Path | None,
    report: bool,
    manifest: Manifest,
    label_map: str | Path | None,
    classes: str,
    weights: list[str] | None,
) -> None:
    """Refuse outputs that would land on an input or on another output (the store, the export, the report's
    files), and a store SQLite would block on (a FIFO); then make ``out_dir``."""
    check_target(store_path, option("store_path"))  # a link or a device: the same words as every output
    problem = unreadable(store_path)
    if problem is not None and not problem.missing:
        raise UserError(f"{option('store_path', store_path)}: {problem.reason}; give a store file (.sqlite)")
    inputs = _input_files(manifest, label_map=label_map, classes=classes, weights=weights)
    store = {f"the store ({option('store_path')})": store_path}
    outputs = dict(store)
    if report:
        outputs.update(report_outputs(out_dir))
        _check_report_folders(out_dir, {**inputs, **store})
    if export is not None:
        outputs[option("export")] = export
    check_outputs(outputs, inputs)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"{option('out_dir', out_dir)}: cannot create the folder ({exc.strerror or exc})"
        ) from None


def _load_models(
    cards: list[ModelCard], weights: list[str | None], device: str, classes: str, manifest: Manifest
) -> list[LoadedModel]:
    """Each card loaded with its weights; open-vocabulary models given the class subset's names (with
    classes ``manifest`` or a file)."""
    from weirdkinetics.models.loading import load_model

    loaded = [load_model(card, w, device) for card, w in zip(cards, weights)]
    for m in loaded:
        if m.card.open_vocabulary and classes != "all":
            names = sorted(set(manifest.labels)) if classes == "manifest" else read_class_file(classes)
            m.set_classes(names)
    return loaded


def _input_files(
    manifest: Manifest, label_map=None, classes: str | None = None, weights: list[str] | None = None
) -> dict[str, Path]:
    """The files a command reads, by the name an error message gives them: the manifest, its videos and
    masks, the label map, a class file and checkpoint files."""
    inputs = manifest.input_files()
    if label_map:
        inputs[option("label_map")] = Path(label_map)
    if classes and classes not in ("all", "manifest"):
        inputs[option("classes")] = Path(classes)
    for w in weights or []:
        if w and is_file(w):
            inputs[option("weights", w)] = Path(w)
    return inputs


REPORT_FILES = ("report.html", "report.md", "metrics.json", "leaderboard.json")
REPORT_FOLDERS = ("tables", "figures")


@checked()
def report_outputs(out_dir: str | Path) -> dict[str, Path]:
    """The report's fixed output files in ``out_dir`` (tables and figures go to its sub-folders)."""
    return {f"the report's {name}": Path(out_dir) / name for name in REPORT_FILES}


def _check_report_folders(out_dir: Path, inputs: dict[str, str | Path]) -> None:
    """Refuse an input inside the folders whose files the report rewrites."""
    folders = {str((Path(out_dir) / sub).resolve()): sub for sub in REPORT_FOLDERS}
    for name, path in inputs.items():
        try:
            parent = str(Path(path).resolve().parent)
        except (OSError, RuntimeError, ValueError):
            continue
        if parent in folders:
            raise UserError(
                f"{name} {path} is inside the report's {folders[parent]}/ folder, whose files the report "
                f"rewrites; move it or choose another {option('out_dir')}"
            )


EXPORT_COLUMNS = [
    "video_id",
    "path",
    "label",
    "split",
    "background",
    "status",
    "reason",
    "pred",
    "pred_score",
    "pred_all",
    "pred_all_score",
    "top5",
]


@checked(manifest=instance(Manifest, "a Manifest"), run_id=text(optional=True), out=a_path())
def export_csv(store_path: str | Path, manifest: Manifest, run_id: str | None, out: str | Path) -> Path:
    """One row per manifest row (per run when ``run_id`` is None and the store holds several):
    ``video_id, path, label, split, background, status, reason, pred, pred_score, pred_all,
    pred_all_score, top5`` (JSON ``[class, score]`` pairs) plus the manifest's extra columns.

    Written atomically; cells a spreadsheet would run as formulas are neutralised (``outputs.neutralise_cell``).
    Refuses an ``out`` that is the store, the manifest or one of its videos."""
    from weirdkinetics.results import load_runs

    out = check_output_file(out, option("out"))
    check_outputs({option("out"): out}, {**_input_files(manifest), "the store": Path(store_path)})
    runs = load_runs(store_path, [run_id] if run_id else None, manifest=manifest)
    extras: list[str] = []
    for r in manifest.rows:
        extras += [k for k in r.extra if k not in extras]
    columns = (
        (["run", "model"] if len(runs) > 1 else [])
        + EXPORT_COLUMNS
        + [e for e in extras if e not in EXPORT_COLUMNS]
    )

    def records():
        for run in runs:
            by_id = {v.video_id: v for v in run.videos}
            for row in manifest.rows:
                v = by_id.get(row.video_id)
                rec = {
                    "run": run.run_id,
                    "model": run.model,
                    "video_id": row.video_id,
                    "path": row.path_text,
                    "label": row.label,
                    "split": row.split,
                    "background": row.background,
                    "status": v.status if v else "missing",
                    "reason": v.reason if v else "not evaluated",
                }
                if v and v.has_prediction:
                    rec.update(
                        pred=v.pred,
                        pred_score=f"{v.pred_score:.6f}",
                        pred_all=v.pred_all,
                        pred_all_score=f"{v.pred_all_score:.6f}",
                        top5=json.dumps([[c, round(s, 6)] for c, s in v.topk]),
                    )
                rec.update({k: val for k, val in row.extra.items() if k in columns})
                yield [rec.get(c, "") for c in columns]

    return write_csv(out, columns, records())


@checked(manifest=instance(Manifest, "a Manifest", optional=True))
def load_results(
    source: str | Path, run_ids: list[str] | None = None, manifest: Manifest | None = None
) -> list[RunResults]:
    """Runs from a store (``.sqlite``, opened read-only) or a predictions CSV from any tool; with
    ``manifest``, only the rows of that manifest's files."""
    from weirdkinetics.results import results_from_csv

    source = Path(source)
    problem = unreadable(source)  # before opening: SQLite or the CSV reader would block on a FIFO
    if problem is not None and not problem.missing:
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


@checked(variant=text(), weights=a_path(optional=True), options=synth_options)
def synthesize(
    variant: str,
    manifest_path: str | Path,
    out_dir: str | Path,
    backgrounds: str | Path | None = None,
    segmenter: str = "mediapipe",
    seed: int = 0,
    *,
    weights: str | None = None,
    options: object | None = None,
    progress: bool = True,
    engine: str = "local",
    address: str | None = None,
    actors: int | None = None,
) -> SynthResult:
    """Make ``variant`` of every row of a manifest (see ``synth.generate.run_synth``); return the derived
    manifest's path with the run's record (``counts`` per synth status, settings, versions), as also
    written to ``synth.json``. engine: ``local`` or ``ray`` (rows made by Ray actors at ``address``; the
    same files). The engine is chosen here, above the stage: synth plans, checks and writes; the engine makes
    the rows."""
    from weirdkinetics.engines import check_engine
    from weirdkinetics.synth.generate import run_synth

    check_engine(engine, address, actors)
    rows_runner = None  # synth's own: row by row here
    if engine == "ray":
        from weirdkinetics.engines.ray_engine import synth_rows_ray

        def rows_runner(setup, sources, work, on_row):
            return synth_rows_ray(setup, work, address, actors, on_row=on_row)

    return run_synth(
        variant, manifest_path, out_dir, backgrounds=backgrounds, segmenter=segmenter, seed=seed,
        weights=weights, options=options, progress=progress, rows_runner=rows_runner,
    )  # fmt: skip


@dataclass(frozen=True)
class ReportOutcome:
    """A written report: its files (as ``write_report`` returns them) and the numbers and selections it
    shows (``ReportContents``), for callers that print or store them beside the report."""

    files: dict[str, Path]
    contents: ReportContents
    leaderboard: Leaderboard | None = None


@checked(runs=_RUNS, store=a_path(optional=True), board=function())
def report_runs(
    runs: list[RunResults],
    out_dir: str | Path,
    seed: int = 0,
    n_boot: int = 2000,
    store: str | Path | None = None,
    board: Callable[[ReportContents, dict[str, list[dict]]], Leaderboard] | None = None,
) -> ReportOutcome:
    """Write the report of ``runs`` into ``out_dir``: metrics and qualitative selection computed once,
    frame strips decoded for exactly that selection, and both returned with the files. With the ``store``
    the runs came from, runs with attribution rows (``explain``) get the "Where does the model look?"
    section, its overlays drawn for the qualitative panel's videos first. board: makes a study's
    leaderboard from the report's contents and attribution records (``study.leaderboard_of``); it is shown
    on top and returned."""
    from weirdkinetics.report import prepare_report, write_report

    if not runs:
        raise UserError("no runs to report: evaluate a model first, or give a predictions CSV")
    contents = prepare_report(runs, seed=seed, n_boot=n_boot)
    selections = [list(r.qualitative) for r in contents.runs]
    strips = frame_strips(runs, seed=seed, selections=selections)
    records, overlays = {}, {}
    if store is not None:
        records, overlays = attribution_records(
            store, runs, [[v.video_id for v in sel] for sel in selections]
        )
    leaderboard = board(contents, records) if board is not None else None
    files = write_report(
        runs, Path(out_dir), strips=strips, seed=seed, n_boot=n_boot, contents=contents,
        attributions=records, overlays=overlays, leaderboard=leaderboard,
    )  # fmt: skip
    return ReportOutcome(files, contents, leaderboard)


@checked(runs=_RUNS, qualitative=_QUALITATIVE)
def attribution_records(
    store_path: str | Path, runs: list[RunResults], qualitative: list[list[str]] | None = None
) -> tuple[dict[str, list[dict]], dict[tuple[str, str, str], object]]:
    """Attribution rows of ``runs`` as the report reads them (``{run_id: [record]}``, limited to each run's
    videos), and their saliency overlays ``{(run_id, video_id, settings_key): uint8 (T, H, W, 3)}`` for the
    videos the report shows. Overlays are drawn here, upstream of the report: the clip's frames are decoded
    again through the same decoder and cropped like the model's view, the stored map is blended over them
    and the person mask's outline drawn. qualitative: each run's qualitative panel (video ids), whose videos
    get overlays first."""
    from weirdkinetics.results import load_attributions

    stored = load_attributions(store_path, [r.run_id for r in runs])
    records: dict[str, list[dict]] = {}
    overlays: dict[tuple[str, str, str], object] = {}
    for i, run in enumerate(runs):
        keep = {v.video_id for v in run.videos}  # a run only explained (never evaluated) keeps all its rows
        rows = [a for a in stored.get(run.run_id, []) if not keep or a.video_id in keep]
        if not rows:
            continue
        records[run.run_id] = [_attribution_record(a) for a in rows]
        prefer = list(qualitative[i]) if qualitative else []
        overlays.update(_run_overlays(run, rows, records[run.run_id], prefer))
    _add_randomisation(runs, stored, records)
    return records, overlays


def _is_random(run: RunResults) -> bool:
    return str((run.provenance or {}).get("weights_digest", "")).startswith("random")


@checked(run=instance(RunResults, "a RunResults"), runs=_RUNS)
def random_twin(run: RunResults, runs: list[RunResults]) -> RunResults | None:
    """The run of the same card with random weights among ``runs`` (the study's reference row), when
    ``run`` itself has trained weights; None otherwise."""
    name = ((run.provenance or {}).get("model_card") or {}).get("name")
    if not name or _is_random(run):
        return None
    same = [o for o in runs if ((o.provenance or {}).get("model_card") or {}).get("name") == name]
    return next((o for o in same if _is_random(o)), None)


def _add_randomisation(runs: list[RunResults], stored: dict, records: dict[str, list[dict]]) -> None:
    """The model-randomisation check (Adebayo et al. 2018): each record of a run whose random-weights twin
    was explained on the same video with the same settings gets ``randomisation_rho``, the Spearman rank
    correlation between the two stored maps (``metrics.attribution.map_rank_correlation``)."""
    from weirdkinetics.metrics.attribution import map_rank_correlation

    for run in runs:
        twin = random_twin(run, runs)
        if twin is None or run.run_id not in records:
            continue
        theirs = {(a.video_id, a.settings_key): a for a in stored.get(twin.run_id, [])}
        mine = {(a.video_id, a.settings_key): a for a in stored.get(run.run_id, [])}
        for rec in records[run.run_id]:
            key = (rec["video_id"], rec["settings_key"])
            other, own = theirs.get(key), mine.get(key)
            if other is None or own is None or other.saliency is None or own.saliency is None:
                continue
            rho = map_rank_correlation(own.saliency, other.saliency)
            rec["numbers"] = {**rec["numbers"], "randomisation_rho": rho, "randomisation_run": twin.model}


def _attribution_record(a: StoredAttribution) -> dict:
    """One stored attribution row (``store.StoredAttribution``) as the report reads it."""
    return {
        "video_id": a.video_id,
        "path": a.path,
        "method": a.method,
        "settings_key": a.settings_key,
        "settings": a.settings,
        "status": a.status,
        "reason": a.reason,
        "row": a.row,
        "numbers": a.numbers,
        "has_map": a.saliency is not None,
    }


def _run_overlays(
    run: RunResults, rows: list[StoredAttribution], recs: list[dict], prefer: list[str]
) -> dict[tuple[str, str, str], object]:
    """Overlays of the videos the report shows for one run, per settings: ``{(run_id, video_id,
    settings_key): uint8 (T, H, W, 3)}`` (videos whose frames cannot be read again have none)."""
    from weirdkinetics.report.attribution import overlay_selection

    card = (run.provenance or {}).get("model_card") or {}
    by_key = {(a.video_id, a.settings_key): a for a in rows}
    out = {}
    for key in dict.fromkeys(r["settings_key"] for r in recs):
        for rec in overlay_selection([r for r in recs if r["settings_key"] == key], prefer=prefer):
            a = by_key[(rec["video_id"], key)]
            image = _overlay(a, card)
            if image is not None:
                out[(run.run_id, a.video_id, key)] = image
    return out


def _overlay(a, card: dict, side: int = 96):
    """One stored attribution as an overlay strip: uint8 (T, side, side, 3), or None when its frames cannot
    be read again. The map is min-max scaled over the clip, blended with matplotlib's 'inferno', and the
    person mask's outline drawn in cyan."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from matplotlib import colormaps

    from weirdkinetics.decode import read_video
    from weirdkinetics.models.card import ModelCard
    from weirdkinetics.transforms import crop_offsets, resize_frames

    frames_idx = (a.numbers.get("clip_frames") or [[]])[0]
    if a.saliency is None or not frames_idx or not card:
        return None
    fields = {k: (tuple(v) if isinstance(v, list) else v) for k, v in card.items()}
    try:
        model_card = ModelCard(**{k: v for k, v in fields.items() if k in ModelCard.__dataclass_fields__})
        video = read_video(a.path, fps=model_card.fps, indices=np.asarray(frames_idx))
    except (OSError, TypeError, ValueError):  # an old card's fields, or a file gone since: no overlay
        return None
    if len(video.frames) != len(frames_idx):
        return None
    view = resize_frames(torch.from_numpy(video.frames), model_card)  # float (T, C, h, w) in [0, 1]
    top, left = crop_offsets(view.shape[-2], view.shape[-1], model_card.crop, 1, model_card.crop_rounding)[0]
    view = view[..., top : top + model_card.crop, left : left + model_card.crop]
    view = F.interpolate(view, size=(side, side), mode="bilinear", align_corners=False).clamp(0, 1)
    sal = torch.from_numpy(a.saliency.astype(np.float32))[:, None]
    sal = F.interpolate(sal, size=(side, side), mode="bilinear", align_corners=False)[:, 0].numpy()
    sal = (sal - sal.min()) / (sal.max() - sal.min() + 1e-9)
    heat = colormaps["inferno"](sal)[..., :3]
    rgb = view.permute(0, 2, 3, 1).numpy()
    out = 0.5 * rgb + 0.5 * heat
    if a.person is not None:
        person = torch.from_numpy(a.person.astype(np.float32))[:, None]
        person = F.interpolate(person, size=(side, side), mode="nearest")[:, 0].numpy() > 0.5
        from scipy import ndimage

        inner = ndimage.binary_erosion(person, structure=np.ones((1, 3, 3), bool))
        out[person & ~inner] = (0.0, 1.0, 1.0)
    return (out * 255).round().clip(0, 255).astype(np.uint8)


@checked(manifest=instance(Manifest, "a Manifest", optional=True))
def make_report(
    source: str | Path,
    out_dir: str | Path,
    run_ids: list[str] | None = None,
    manifest: Manifest | None = None,
    seed: int = 0,
) -> dict:
    """Write the report (HTML, Markdown, CSV tables, PNG/SVG figures, metrics.json) for the runs in a store
    or a predictions CSV; return its files (``report_runs`` also returns its numbers). With ``manifest``, a
    run that has not evaluated all its rows is reported as incomplete (its missing rows ``not_evaluated``),
    in the report and with a warning on stderr. Runs with attribution
    rows (``explain``) get the "Where does the model look?" section."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= 2**32 - 1:
        raise UserError(f"{option('seed', seed)}: must be a whole number from 0 to {2**32 - 1}")
    out_dir = check_output_dir(out_dir, option("out_dir"))
    inputs: dict[str, str | Path] = {f"the results ({option('source')})": Path(source)}
    if manifest is not None:
        inputs[f"the manifest ({option('manifest')})"] = manifest.path
    check_outputs(report_outputs(out_dir), inputs)
    _check_report_folders(out_dir, inputs)
    runs = load_results(source, run_ids, manifest)
    if not runs:
        raise UserError(f"{source}: no runs to report")
    for run in runs:  # said on the terminal too, not only inside the report
        if unfinished(run):
            print(f"warning: {unfinished(run)}", file=sys.stderr)
    store = None if Path(source).suffix.lower() == ".csv" else source
    return report_runs(runs, out_dir, seed=seed, store=store).files


def _register_explained_run(
    store: Store,
    loaded: LoadedModel,
    run_id: str,
    spec: ClipSpec,
    class_names: list[str],
    subset: list[str],
    manifest: Manifest,
    classes: str,
    device: str,
    run_label: str | None,
) -> None:
    """Record the run ``explain`` writes into (the same run as ``evaluate``'s for the card, weights and
    dense sampling); a run only explained still names its classes and provenance."""
    from weirdkinetics.store import RunInfo

    card = loaded.card
    store.ensure_run(
        RunInfo(
            run_id,
            card.name,
            card.to_dict(),
            loaded.weights_digest,
            loaded.weights_desc,
            spec.key(),
            spec.to_dict(),
            class_names,
        )
    )
    if store.evaluations(run_id):
        return
    store.record_evaluation(
        run_id,
        str(manifest.path),
        manifest.digest,
        subset,
        [r.video_id for r in manifest.rows],
        {
            "versions": versions(),
            "classes_spec": classes,
            "device": device,
            "manifest_digest": manifest.digest,
            "manifest": str(manifest.path),
            "run_label": run_label or "",
            "explained_only": True,
        },
    )


@dataclass
class ExplainOutcome:
    out_dir: Path
    store: Path
    run_id: str
    model: str
    methods: list[str]
    summary: object
    manifest: Manifest
    report: dict | None = None


@checked(
    model=text(),
    weights=a_path(optional=True),
    segmenter_weights=a_path(optional=True),
    clips=text(),
    target=text(),
    run_label=text(optional=True),
    batch_size=whole(1, MAX_BATCH_SIZE),  # no None here: explain's default is a number
)
@locks_folder("out_dir", option("out_dir"))
def explain(
    manifest_path: str | Path,
    model: str,
    out_dir: str | Path,
    weights: str | None = None,
    methods: list[str] | None = None,
    segmenter: str = "mediapipe",
    segmenter_weights: str | None = None,
    clips: str = "centre",
    target: str = "true",
    classes: str = "all",
    store_path: str | Path | None = None,
    mask_cache: str | Path | None = None,
    device: str = "cpu",
    batch_size: int = 8,
    report: bool = False,
    progress: bool = True,
    run_label: str | None = None,
    engine: str = "local",
    address: str | None = None,
    actors: int | None = None,
    retry_errors: bool = False,
) -> ExplainOutcome:
    """Where does ``model`` look? Saliency per video against person masks, into ``OUT/predictions.sqlite``.

    methods: ``gradcam`` and/or ``occlusion`` (default: every method the card supports; a card without a
    Grad-CAM target layer gets a ``UserError`` naming the methods that work for it). segmenter: synth's
    mask sources (``mediapipe`` ..., or ``true`` for the manifest's ``mask_path`` masks); masks are cached
    under ``mask_cache`` (default ``OUT/mask-cache``). clips: ``centre`` (one clip per video) or ``all``
    (the card's dense clips). target: ``true`` (the label) or ``pred`` (the restricted prediction on the
    clip). The run is the same as ``evaluate``'s for the card, weights and dense sampling, so the report
    shows both together. Resumable: stored rows with the same settings are not recomputed.

    The manifest, model, device and outputs are checked as ``evaluate`` checks them, before any work.
    engine: ``local`` (this machine) or ``ray`` (rows explained by Ray actors at ``address``, ``actors`` of
    them, one GPU each with ``cuda``; see ``engines.ray_engine.explain_manifest_ray``): the same store rows.
    """
    from weirdkinetics.attribution import check_methods
    from weirdkinetics.attribution.explain import segmenter_for
    from weirdkinetics.engines import check_engine
    from weirdkinetics.inference import Runtime
    from weirdkinetics.store import Store
    from weirdkinetics.synth.segment import check_segmenter_name

    check_engine(engine, address, actors)
    card = _check_evaluation([model], None, None, batch_size, Runtime(device=device), engine)[0]
    chosen = check_methods(card, methods)
    check_segmenter_name(segmenter)
    manifest = _read_for_cards(manifest_path, [card], classes, None)
    out_dir = check_output_dir(out_dir, option("out_dir"))
    store_path = Path(store_path) if store_path else out_dir / DEFAULT_STORE
    _prepare_outputs(out_dir, store_path, None, report, manifest, None, classes, [weights])
    seg = segmenter_for(segmenter, segmenter_weights)
    # on Ray the device is the actors': the driver loads the model on its CPU
    loaded = _load_models([card], [weights], device if engine == "local" else "cpu", classes, manifest)[0]
    setup, job = _explain_setup(
        loaded, seg, manifest, classes, clips, target, segmenter, segmenter_weights, batch_size,
        Path(mask_cache) if mask_cache else out_dir / "mask-cache",
    )  # fmt: skip
    with Store(store_path, retry_errors=retry_errors) as store:
        _register_explained_run(
            store, loaded, job.run_id, job.spec, job.class_names, setup.classes, manifest, classes,
            device, run_label,
        )  # fmt: skip
        if engine == "local":
            from weirdkinetics.attribution import explain_manifest

            summary = explain_manifest(
                manifest, setup.build(segmenter=seg), job.run_id, chosen, store, progress
            )
        else:
            from weirdkinetics.engines.ray_engine import explain_manifest_ray

            summary = explain_manifest_ray(
                manifest, setup, job.run_id, chosen, store, progress, device, address, actors
            )
    outcome = ExplainOutcome(out_dir, store_path, job.run_id, model, chosen, summary, manifest)
    if report:
        outcome.report = _explained_report(store_path, out_dir, job.run_id, manifest)
    return outcome


def _explained_report(store_path: Path, out_dir: Path, run_id: str, manifest: Manifest) -> dict:
    """``explain --report``: the report of the explained run, with its accuracy where ``evaluate`` has scored
    this manifest, else the attribution section alone (a run only explained holds no prediction)."""
    whole = load_results(store_path, [run_id])
    wanted = {(str(r.path.resolve()), r.video_id) for r in manifest.rows}
    evaluated = any((str(Path(v.path).resolve()), v.video_id) in wanted for run in whole for v in run.videos)
    if evaluated:
        return make_report(store_path, out_dir, run_ids=[run_id], manifest=manifest)
    return report_runs(whole, out_dir, store=store_path).files


def _explain_setup(
    loaded: LoadedModel,
    seg,
    manifest: Manifest,
    classes: str,
    clips: str,
    target: str,
    segmenter: str,
    segmenter_weights: str | None,
    batch_size: int,
    mask_cache: Path,
):
    """``explain``'s run as plain data (``ExplainSetup``) and its evaluation run (``Job``: the same run id as
    ``evaluate``'s for the card, weights and dense sampling)."""
    from weirdkinetics.attribution import ExplainSettings, ExplainSetup
    from weirdkinetics.predict import build_jobs

    job = build_jobs([loaded], "dense", None)[0]
    subset = resolve_classes(classes, tuple(job.class_names), manifest.labels)
    settings = ExplainSettings(
        clips=clips,
        target=target,
        segmenter=segmenter,
        segmenter_settings={} if seg is None else dict(seg.settings),
        classes=tuple(subset),
    )
    setup = ExplainSetup(
        loaded, list(job.class_names), list(subset), settings, segmenter_weights,
        mask_cache if seg is not None else None, manifest.path.parent, batch_size,
    )  # fmt: skip
    return setup, job

"""``explain``: where a model looks, saliency against person masks, into the same run as ``evaluate``'s."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from weirdkinetics.commands.files import DEFAULT_STORE
from weirdkinetics.commands.report import load_results, make_report, report_runs
from weirdkinetics.commands.setup import check_evaluation, load_models, prepare_outputs, read_for_cards
from weirdkinetics.errors import option
from weirdkinetics.labels import resolve_classes
from weirdkinetics.manifest import Manifest
from weirdkinetics.outputs import check_output_dir, locks_folder
from weirdkinetics.params import MAX_BATCH_SIZE, checked, text, whole
from weirdkinetics.params import path as a_path
from weirdkinetics.parquet_store import refuse_for_attributions
from weirdkinetics.provenance import versions

if TYPE_CHECKING:
    from weirdkinetics.models.loading import LoadedModel
    from weirdkinetics.sampling import ClipSpec
    from weirdkinetics.store import Store


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
    settings_keys: dict[str, str] | None = None  # method -> the settings key its rows were stored under


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
    card = check_evaluation([model], None, None, batch_size, Runtime(device=device), engine)[0]
    chosen = check_methods(card, methods)
    check_segmenter_name(segmenter)
    manifest = read_for_cards(manifest_path, [card], classes, None)
    out_dir = check_output_dir(out_dir, option("out_dir"))
    store_path = Path(store_path) if store_path else out_dir / DEFAULT_STORE
    refuse_for_attributions(store_path)
    prepare_outputs(out_dir, store_path, None, report, manifest, None, classes, [weights])
    seg = segmenter_for(segmenter, segmenter_weights)
    # on Ray the device is the actors': the driver loads the model on its CPU
    loaded = load_models([card], [weights], device if engine == "local" else "cpu", classes, manifest)[0]
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
    keys = {m: setup.settings.key(m, card) for m in chosen}
    outcome = ExplainOutcome(
        out_dir, store_path, job.run_id, model, chosen, summary, manifest, settings_keys=keys
    )
    if report:
        outcome.report = _explained_report(store_path, out_dir, job.run_id, manifest)
    return outcome


def _explained_report(store_path: Path, out_dir: Path, run_id: str, manifest: Manifest) -> dict:
    """``explain --report``: the report of the explained run, with its accuracy where ``evaluate`` has scored
    this manifest, else the attribution section alone (a run only explained holds no prediction)."""
    from weirdkinetics.storage import resolved

    whole = load_results(store_path, [run_id])
    wanted = {(str(r.path), r.video_id) for r in manifest.rows}  # rows hold resolved paths (or URIs)
    evaluated = any((resolved(v.path), v.video_id) in wanted for run in whole for v in run.videos)
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

"""``evaluate``: models over a manifest into the store, with the engine chosen here, above the stages;
optionally the CSV export and the report."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from weirdkinetics.commands.export import export_csv
from weirdkinetics.commands.files import DEFAULT_STORE
from weirdkinetics.commands.report import make_report
from weirdkinetics.commands.setup import check_evaluation, load_models, prepare_outputs, read_for_cards
from weirdkinetics.errors import UserError, option
from weirdkinetics.labels import read_label_map, resolve_classes
from weirdkinetics.manifest import Manifest
from weirdkinetics.outputs import check_output_dir, check_output_file, locks_folder
from weirdkinetics.params import checked, names
from weirdkinetics.parquet_store import open_store
from weirdkinetics.provenance import versions


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

    if not models:
        raise UserError(f"no {option('models')} given; list them with 'weirdkinetics models'")
    out_dir = check_output_dir(out_dir, option("out_dir"))
    if export is not None:
        export = check_output_file(export, option("export"))
    runtime = Runtime(device=device, precision=precision, compile=compile)
    run_engine = _engine(engine, address, actors, decode_workers)
    cards = check_evaluation(models, clips, crops, batch_size, runtime, engine)  # all before any work
    mapping = read_label_map(label_map) if label_map else None
    manifest = read_for_cards(manifest_path, cards, classes, mapping)
    store_path = Path(store_path) if store_path else out_dir / DEFAULT_STORE
    prepare_outputs(out_dir, store_path, export, report, manifest, label_map, classes, weights)
    # on Ray the device is the workers': the driver loads the models on its CPU
    load_on = device if engine == "local" else "cpu"
    loaded = load_models(cards, _weights_for(models, weights), load_on, classes, manifest)
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
    with open_store(
        store_path, retry_errors=retry_errors
    ) as store:  # SQLite, or a Parquet folder (parquet_store)
        summary = run_engine(
            manifest, jobs, store, class_sets, provenance, batch_size, progress, labels, runtime
        )
    outcome = EvalOutcome(out_dir, store_path, run_ids, models, summary, manifest)
    if export:
        outcome.export = export_csv(store_path, manifest, run_ids[0] if len(jobs) == 1 else None, export)
    if report:
        outcome.report = make_report(store_path, out_dir, run_ids=run_ids, manifest=manifest)
    return outcome


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

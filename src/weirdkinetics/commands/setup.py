"""What ``evaluate`` and ``explain`` share before any work: the settings checked, the manifest read
against the cards' label spaces, the outputs refused or made, the models loaded."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from weirdkinetics.commands.files import check_report_folders, input_files, report_outputs
from weirdkinetics.errors import UserError, option
from weirdkinetics.inputs import unreadable
from weirdkinetics.labels import label_space, read_class_file
from weirdkinetics.manifest import Manifest, read_manifest
from weirdkinetics.outputs import check_outputs, check_target
from weirdkinetics.params import MAX_BATCH_SIZE
from weirdkinetics.parquet_store import check_parquet_target, is_parquet

if TYPE_CHECKING:
    from weirdkinetics.inference import Runtime
    from weirdkinetics.models.card import ModelCard
    from weirdkinetics.models.loading import LoadedModel


def check_batch_size(batch_size: int) -> None:
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or not 1 <= batch_size <= MAX_BATCH_SIZE
    ):
        raise UserError(
            f"{option('batch_size', batch_size)}: must be a whole number from 1 to {MAX_BATCH_SIZE}"
        )


def check_evaluation(
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


def read_for_cards(
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


def prepare_outputs(
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
    inputs = input_files(manifest, label_map=label_map, classes=classes, weights=weights)
    store = {f"the store ({option('store_path')})": store_path}
    if is_parquet(store_path):  # a folder of results: checked when it is opened (parquet_store)
        check_parquet_target(store_path, inputs)
        store = {}
    else:
        check_target(store_path, option("store_path"))  # a link or a device: the same words as every output
        problem = unreadable(store_path)
        if problem is not None and not problem.missing:
            raise UserError(
                f"{option('store_path', store_path)}: {problem.reason}; give a store file (.sqlite)"
            )
    outputs = dict(store)
    if report:
        outputs.update(report_outputs(out_dir))
        check_report_folders(out_dir, {**inputs, **store})
    if export is not None:
        outputs[option("export")] = export
    check_outputs(outputs, inputs)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"{option('out_dir', out_dir)}: cannot create the folder ({exc.strerror or exc})"
        ) from None


def load_models(
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

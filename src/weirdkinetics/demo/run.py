"""``weirdkinetics demo``: the controlled background-shortcut experiment, end to end, offline.

generate the real/weird test set -> train a shortcut model and a control model -> evaluate both through the
registered ``demo_c3d`` card and ``--weights`` checkpoints, exactly as any model -> explain where each looks
(Grad-CAM and occlusion against the true actor masks) -> one report comparing them.
Every phase is skipped when its output already exists for the same configuration (the generators' and
``train_model``'s ``reuse``), so a rerun is quick.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from weirdkinetics.demo.config import DemoConfig
from weirdkinetics.errors import option
from weirdkinetics.outputs import atomic_write_text, check_output_dir
from weirdkinetics.results import RunResults

if TYPE_CHECKING:
    from weirdkinetics.report.contents import ReportContents

CARD = "demo_c3d"
REFERENCE = CARD
"""The reference row: the demo's own card with random weights (``random:0``). At chance for accuracy, and,
explained like the two trained models, the baseline of their attribution numbers and the other half of the
model-randomisation check (the study's ``with_random_references`` would add the same row)."""


def mean_colour(card) -> tuple[int, int, int]:
    """The card's normalisation mean as an RGB colour 0-255: the flat fill that normalises to 0."""
    return tuple(int(round(255 * m)) for m in card.mean)


def background_capture(run: RunResults, split: str = "weird") -> tuple[int, int]:
    """(videos of ``split`` predicted as the class that owns their background, videos with a prediction)."""
    rows = [v for v in run.videos if v.split == split and v.has_prediction and v.extra.get("bg_class")]
    return sum(v.pred == v.extra["bg_class"] for v in rows), len(rows)


def headline(contents: ReportContents) -> dict:
    """Per model: the ``real`` and ``weird`` accuracies and the ``gap`` between them, exactly as the report
    computed them (``metrics.json``'s blocks: same bootstrap, same intervals), and ``background_capture``
    ``[videos, of]`` (weird videos predicted as the class that owns their background)."""
    out = {}
    for section in contents.runs:
        m, row = section.metrics, {}
        for split in ("real", "weird"):
            if split in m.splits:
                row[split] = m.splits[split].to_dict()
        if "real-weird" in m.gaps:
            row["gap"] = m.gaps["real-weird"].to_dict()
        took, n = background_capture(section.run)
        if n:
            row["background_capture"] = [took, n]
        out[section.run.model] = row
    return out


def _print_headline(numbers: dict) -> None:
    print("\nheadline (accuracy with 95% Wilson interval, n videos):")
    for model, row in numbers.items():
        for split in ("real", "weird"):
            s = row.get(split)
            if s and s["accuracy"] is not None:
                lo, hi = s["ci95"]
                print(
                    f"  {model:<40} {split:<6} {100 * s['accuracy']:5.1f}%  [{100 * lo:.1f}, {100 * hi:.1f}]  n={s['n']}"
                )
        gap = row.get("gap")
        if gap and gap["value"] is not None and None not in gap["ci95"]:
            lo, hi = gap["ci95"]
            print(f"  {'':<40} gap    {100 * gap['value']:+5.1f} pts [{100 * lo:+.1f}, {100 * hi:+.1f}]")
        if "background_capture" in row:
            took, n = row["background_capture"]
            print(f"  {'':<40} weird videos predicted as the background's class: {took}/{n}")


def report_with_headline(runs: list[RunResults], out: Path, store: Path | None = None) -> dict:
    """Write the report of ``runs`` into ``out/report`` and ``out/headline.json`` from the same numbers;
    print and return the headline. With the ``store``, the report shows where the models look."""
    from weirdkinetics import api

    report = api.report_runs(runs, out / "report", store=store)
    numbers = headline(report.contents)
    _print_headline(numbers)
    print(f"\nreport: {report.files.get('html')}")
    atomic_write_text(out / "headline.json", json.dumps(numbers, indent=2) + "\n")
    return numbers


def run_demo(
    out: str | Path = "weirdkinetics-demo",
    model: str | None = None,
    weights: str | None = None,
    small: bool = False,
    seed: int = 0,
    progress: bool = True,
    config: DemoConfig | None = None,
) -> dict:
    """Run the demo into ``out``; return the headline numbers (also printed).

    The demo is the study (``weirdkinetics.study``) on the generated set: the shortcut and control models
    and, as the reference row, ``demo_c3d`` with random weights: at chance for accuracy, and explained like
    the trained models (the baseline of their attribution numbers and the model-randomisation check). Variants are made from the
    ``real`` videos (their ``weird`` twins already are out of context) with the true masks and the demo's
    own background scenes. model: study this registered model on the generated set instead of training the
    two demo models.
    """
    from weirdkinetics import api
    from weirdkinetics.demo.generate import (
        generate_actor_free,
        generate_backgrounds,
        generate_dataset,
        generate_training_set,
    )
    from weirdkinetics.demo.train import train_model
    from weirdkinetics.manifest import read_manifest
    from weirdkinetics.models import get_card
    from weirdkinetics.study import StudyModel, StudySettings, print_top, run_study
    from weirdkinetics.synth.options import SynthOptions

    out = check_output_dir(out, option("out"))
    config = config or (DemoConfig.small() if small else DemoConfig())
    config = config.with_(data_seed=config.data_seed + seed, train_seed=config.train_seed + seed)
    print(
        f"[1/4] test set: {config.test_per_class_split} recordings per class, each on its real and a weird "
        "background; the demo's background scenes as a library"
    )
    test_manifest = generate_dataset(
        out / "data" / "test", config.test_per_class_split, config.data_seed, config, progress, reuse=True
    )
    library = generate_backgrounds(
        out / "data" / "backgrounds", config.backgrounds_per_class, config.data_seed, config, reuse=True
    )
    truth = generate_actor_free(
        out / "data" / "actor_free", config.test_per_class_split, config.data_seed, config, reuse=True
    )
    if model:
        card = get_card(model)
        print(
            f"[2/4] skipping training: studying registered model '{model}' ({card.description or card.zoo})"
        )
        models = (StudyModel(model, weights, f"{model} (user-chosen)"),)
        explain: tuple[str, ...] = ()
    else:
        card = get_card(CARD)
        print(f"[2/4] training two {CARD} models ({config.epochs} epochs each, seed {config.train_seed})")
        trained = []
        for flavour in ("shortcut", "control"):
            manifest = generate_training_set(
                out / "data" / f"train_{flavour}",
                config.train_per_class,
                config.data_seed,
                flavour,
                config,
                progress=progress,
                reuse=True,
            )
            ckpt = train_model(
                card,
                manifest,
                config.train_seed,
                config.epochs,
                out / "checkpoints" / f"{flavour}.pt",
                config.clips_per_video,
                config.batch_size,
                config.lr,
                config.weight_decay,
                progress,
                reuse=True,
            )
            trained.append(StudyModel(CARD, str(ckpt), flavour))
        models = (
            *trained,
            StudyModel(REFERENCE, "random:0", "random (chance)", reference=True),
        )
        explain = config.explain_methods
    print(
        f"[3/4] the study: {len(config.variants)} variants (true masks, the demo's backgrounds), "
        f"{len(models)} models through the registry and the store, where they look "
        f"({', '.join(explain) or 'not asked'})"
    )
    settings = StudySettings(
        manifest=test_manifest,
        models=models,
        out=out,
        variants=config.variants,
        synth_split="real",
        backgrounds=library,
        segmenter="true",
        seed=config.data_seed,
        explain=explain,
        explain_per_class=config.explain_per_class,
        # person-only and the silhouette fill with the demo card's normalisation mean (0 after normalising)
        synth_options=SynthOptions(colour=mean_colour(get_card(CARD))),
        derived=(truth,),
    )
    outcome = run_study(settings, progress=progress)
    print("[4/4] report")
    api.export_csv(outcome.store, read_manifest(outcome.manifest), None, out / "predictions.csv")
    # The report's own numbers make the headline: one bootstrap, so headline.json and metrics.json agree.
    numbers = headline(outcome.contents)
    _print_headline(numbers)
    atomic_write_text(out / "headline.json", json.dumps(numbers, indent=2) + "\n")
    print_top(outcome)
    return numbers

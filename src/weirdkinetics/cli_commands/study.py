"""``weirdkinetics study``: its arguments and its handler (``study.run_study``)."""

from __future__ import annotations

from pathlib import Path

from weirdkinetics.cli_commands.options import (
    add_command,
    engine_options,
    int_option,
    path_option,
    retry_option,
)
from weirdkinetics.errors import UserError
from weirdkinetics.params import MAX_SEED  # the API checks the same ranges


def _study_model_lists(a) -> tuple[list[str], list[str]]:
    """``--weights`` and ``--label`` (one per ``--model`` or none), after checking that every ``--reference``
    names a ``--model`` (else it would be ignored silently and the row compared as any other)."""
    weights = list(a.weights or [])
    if weights and len(weights) != len(a.model):
        raise UserError(f"{len(weights)} --weights for {len(a.model)} --model: give one per model, in order")
    unknown = [r for r in (a.reference or []) if r not in a.model]
    if unknown:
        raise UserError(
            f"--reference {', '.join(unknown)}: not a --model of this study ({', '.join(a.model)}); "
            "give the name of one of them, or add it with --model"
        )
    labels = list(a.label or [])
    if labels and len(labels) != len(a.model):
        raise UserError(f"{len(labels)} --label for {len(a.model)} --model: give one per model, in order")
    return weights, labels


def cmd_study(a) -> int:
    from weirdkinetics.study import StudyModel, StudySettings, parse_variants, print_top, run_study

    weights, labels = _study_model_lists(a)
    models = tuple(
        StudyModel(
            name,
            (weights[i] or None) if weights else None,
            labels[i] if labels else "",
            reference=name in (a.reference or []),
        )
        for i, name in enumerate(a.model)
    )
    settings = StudySettings(
        manifest=Path(a.manifest),
        models=models,
        out=Path(a.out),
        variants=parse_variants(a.variants),
        synth_split=a.synth_split,
        backgrounds=Path(a.backgrounds) if a.backgrounds else None,
        segmenter=a.segmenter,
        seed=a.seed,
        explain=tuple(dict.fromkeys(a.explain or [])),
        explain_per_class=a.explain_per_class,
        random_reference=not a.no_random_reference,
        classes=a.classes,
        label_map=Path(a.label_map) if a.label_map else None,
        device=a.device,
        batch_size=a.batch_size,
        engine=a.engine,
        address=a.address,
        actors=a.actors,
        store=Path(a.store) if a.store else None,
        retry_errors=a.retry_errors,
    )
    outcome = run_study(settings, progress=not a.no_progress)
    print_top(outcome)
    return 0


def add_parser(sub) -> None:
    """``study``'s arguments."""

    st = add_command(
        sub,
        "study",
        "The whole study across many models in one resumable command: synth variants, evaluate every model "
        "on the originals and every variant, explain, one report with a background-reliance leaderboard.",
        "weirdkinetics study --manifest videos.csv --model i3d_r50 --model x3d_m --out study "
        "--variants swap,person-only,background-only --explain gradcam",
    )
    st.add_argument("--manifest", required=True, type=path_option, help="manifest CSV of the original videos")
    st.add_argument("--model", action="append", required=True, help="model card name (repeat for several)")
    st.add_argument(
        "--out", required=True, type=path_option, help="output folder (derived sets, store, report)"
    )
    st.add_argument(
        "--store",
        type=path_option,
        help="predictions store (default OUT/predictions.sqlite; a PATH.parquet folder writes Parquet)",
    )
    st.add_argument(
        "--weights",
        action="append",
        type=path_option,
        help="checkpoint PATH, snapshot DIR or random[:SEED]; one per --model, in order (default: published)",
    )
    st.add_argument("--label", action="append", help="how the report names each --model, in order")
    st.add_argument(
        "--reference",
        action="append",
        help="a --model shown as a reference row (e.g. random weights), not compared in the summary",
    )
    st.add_argument(
        "--variants",
        default="swap,person-only,background-only,static-background,static-person",
        help="comma-separated synth variants to derive (each once, reused across models and reruns), or none",
    )
    st.add_argument(
        "--synth-split", help="derive the variants from the rows of this split only (default: every row)"
    )
    st.add_argument(
        "--backgrounds",
        type=path_option,
        help="background library (one sub-folder per category) for swap and the static variants "
        "(default: another class's background-only video, HAT's recipe)",
    )
    st.add_argument(
        "--segmenter",
        default="mediapipe",
        help="person masks for synth and explain: mediapipe, mediapipe-landscape, mediapipe-pose, true "
        "(the manifest's mask_path)",
    )
    st.add_argument(
        "--explain",
        action="append",
        choices=["gradcam", "occlusion"],
        help="attribution method (repeat for several; default: none); the first gives the leaderboard's "
        "attribution on background (0 = on the person, 1 = uniform); each explained card also gets a "
        "random-weights copy as its reference row (see --no-random-reference)",
    )
    st.add_argument(
        "--no-random-reference",
        action="store_true",
        help="with --explain, do not add the random-weights copy (random:SEED) of each explained card as its "
        "reference row (the attribution's baseline and the model-randomisation check)",
    )
    st.add_argument(
        "--explain-per-class",
        type=int_option(1, 1_000_000),
        default=None,
        help="explain only the first N recordings of each class (default: every original video)",
    )
    st.add_argument(
        "--classes",
        default="all",
        type=path_option,
        help="class subset: all, manifest (the manifest's labels), or FILE (one per line)",
    )
    st.add_argument(
        "--label-map", type=path_option, help="CSV 'from,to' mapping manifest labels to model labels"
    )
    st.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:N or mps")
    st.add_argument(
        "--batch-size", type=int_option(1, 1024), default=None, help="clips per forward pass, 1 to 1024"
    )
    engine_options(st)
    retry_option(st)
    st.add_argument(
        "--seed", type=int_option(0, MAX_SEED), default=0, help="seed of backgrounds and bootstrap intervals"
    )
    st.add_argument("--no-progress", action="store_true", help="no progress bars")
    st.set_defaults(func=cmd_study)

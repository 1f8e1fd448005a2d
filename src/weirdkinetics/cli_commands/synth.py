"""``weirdkinetics synth``: its arguments and its handler (``api.synthesize``)."""

from __future__ import annotations

from dataclasses import replace

from weirdkinetics.cli_commands.options import (
    add_command,
    engine_args,
    engine_options,
    fraction_option,
    int_option,
    path_option,
)
from weirdkinetics.params import MAX_SEED, MAX_SIDE  # the API checks the same ranges


def fill_colour(text: str) -> tuple[int, int, int]:
    """``R,G,B`` (0-255) or a registered model's name (its normalisation mean x 255)."""
    parts = text.split(",")
    if len(parts) == 3 and all(p.strip().isdigit() and int(p) <= 255 for p in parts):
        return tuple(int(p) for p in parts)
    from weirdkinetics.models import get_card

    return tuple(int(round(255 * m)) for m in get_card(text).mean)


def cmd_synth(a) -> int:
    from weirdkinetics import api
    from weirdkinetics.synth.generate import SynthOptions

    options = SynthOptions(
        choice=a.background_rule,
        category=a.background_category,
        max_side=a.max_side,
        confirm_person=not a.no_people_check,
        exclude_low_quality=not a.keep_low_quality,
        min_people_frames=a.min_people_frames,
    )
    if a.fill_colour:
        options = replace(options, colour=fill_colour(a.fill_colour))
    result = api.synthesize(
        a.variant,
        a.manifest,
        a.out,
        backgrounds=a.backgrounds,
        segmenter=a.segmenter,
        seed=a.seed,
        weights=a.weights,
        options=options,
        progress=not a.no_progress,
        **engine_args(a),
    )
    if result.counts and a.no_progress:  # with progress, synthesize prints them itself
        print("rows: " + ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items())))
    print(f"manifest: {result.manifest}")
    return 0


def add_parser(sub) -> None:
    """``synth``'s arguments."""

    s = add_command(
        sub,
        "synth",
        "Make out-of-context videos from a manifest: swap, person-only, background-only, static-background, static-person.",
        "weirdkinetics synth swap --manifest videos.csv --out swapped --backgrounds backgrounds/",
    )
    s.add_argument(
        "variant", choices=["swap", "person-only", "background-only", "static-background", "static-person"]
    )
    s.add_argument("--manifest", required=True, type=path_option)
    s.add_argument("--out", required=True, type=path_option)
    s.add_argument(
        "--backgrounds",
        type=path_option,
        help="library folder: one sub-folder of images or videos per category",
    )
    s.add_argument(
        "--segmenter",
        default="mediapipe",
        help="person segmenter: mediapipe, mediapipe-landscape, mediapipe-pose, true (the manifest's mask_path), deeplabv3_resnet50, deeplabv3_mobilenet_v3_large (these two need --weights)",
    )
    s.add_argument("--weights", type=path_option, help="checkpoint for the torchvision segmenters")
    s.add_argument(
        "--background-rule",
        choices=["other", "fixed"],
        default="other",
        help="other: any category but the source's background and class; fixed: always --background-category",
    )
    s.add_argument("--background-category", help="the category used by --background-rule fixed")
    s.add_argument(
        "--max-side",
        type=int_option(*MAX_SIDE),
        help=f"downscale sources to this longest side first ({MAX_SIDE[0]} to {MAX_SIDE[1]})",
    )
    s.add_argument(
        "--no-people-check",
        action="store_true",
        help="do not exclude videos where the pose detector finds too few people",
    )
    s.add_argument(
        "--min-people-frames",
        type=fraction_option,
        default=0.125,
        help="exclude a video when the pose detector finds a person in fewer than this fraction of its 8 checked frames (0 to 1; default 0.125: one detection)",
    )
    s.add_argument(
        "--fill-colour",
        metavar="R,G,B|MODEL",
        help="person-only's and silhouette's flat colour: R,G,B (0-255) or a model whose normalisation mean to "
        "use, so the fill is 0 after normalising (default 115,115,115: Kinetics' 0.45)",
    )
    s.add_argument(
        "--keep-low-quality",
        action="store_true",
        help="keep videos whose person mask is too small or missing",
    )
    s.add_argument("--seed", type=int_option(0, MAX_SEED), default=0, help="seed of the background choice")
    engine_options(s)
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_synth)

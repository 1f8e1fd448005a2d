"""The worked example of docs/models.md: DeepMind's trained I3D (``i3d_inception``) on the real clips in ../shared/data.

Builds, under ``--out``, a manifest of the clips whose action is a Kinetics-400 class and a background library
of the real photographs (both pointing at ../shared/data in place: nothing is copied), then runs the whole
study: every out-of-context variant, evaluation of the trained model and of a random-weights copy of the same
network as its reference row, Grad-CAM and occlusion, and the report with its leaderboard.

    .venv/bin/python scripts/worked_example.py --out worked-example

The clips are third-party footage (see ../shared/data/MEDIA.md): the outputs stay on your machine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from weirdkinetics.manifest import write_manifest
from weirdkinetics.study import StudyModel, StudySettings, print_top, run_study

CLIPS = {  # file in ../shared/data/videos -> its Kinetics-400 class
    "arm_wrestling__mmaction2_demo.mp4": "arm wrestling",
    "basketball__mmaction2_structuralize.mp4": "playing basketball",  # dribbling and shooting too
    "cleaning_pool__mmaction2_test.mp4": "cleaning pool",
    "flipping_pancake__decord.mkv": "flipping pancake",
    "derived_truncated35pct_juggling__sam2.mp4": "juggling soccer ball",  # truncated: partial
    "cricket_shot__kinetics_i3d.gif": "playing cricket",  # DeepMind's sample, already cropped to 224
}
BACKGROUNDS = {  # category -> photograph in ../shared/data/backgrounds
    "cafe": "cafe_coffee_cup__skimage_CC0.png",
    "kitchen": "kitchen__commons_blue_white_kitchen_CC0.jpg",
    "grass": "outdoor_grass_texture__skimage_CC0.png",
    "launch pad": "outdoor_rocket_launch__skimage_PD.jpg",
}


def prepare(shared: Path, out: Path) -> tuple[Path, Path]:
    """The manifest and the background library (symlinks into ``shared``)."""
    rows = []
    for name, label in CLIPS.items():
        path = (shared / "videos" / name).resolve()
        if not path.is_file():
            raise SystemExit(f"{path}: not found; pass --shared pointing at the shared data folder")
        rows.append({"path": str(path), "label": label, "split": "real", "video_id": name.split("__")[0]})
    manifest = write_manifest(out / "clips.csv", rows)
    library = out / "backgrounds"
    for category, name in BACKGROUNDS.items():
        folder = library / category
        folder.mkdir(parents=True, exist_ok=True)
        link = folder / name
        if not link.exists():
            link.symlink_to((shared / "backgrounds" / name).resolve())
    return manifest, library


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=here.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=Path("worked-example"))
    parser.add_argument("--explain", default="gradcam", help="attribution methods (comma-separated), or none")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    manifest, library = prepare(args.shared, args.out)
    methods = () if args.explain == "none" else tuple(args.explain.split(","))
    settings = StudySettings(
        manifest=manifest,
        models=(
            StudyModel("i3d_inception", label="I3D (DeepMind, Kinetics-400)"),
            StudyModel("i3d_inception", weights="random:0", label="I3D, random weights", reference=True),
        ),
        out=args.out / "study",
        backgrounds=library,
        explain=methods,
    )
    outcome = run_study(settings)
    print_top(outcome)
    return 0


if __name__ == "__main__":
    sys.exit(main())

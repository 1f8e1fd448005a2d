"""Frame strips of every out-of-context variant of some videos, to look at what synth made.

Runs ``weirdkinetics synth`` (the real pipeline: segmenter, identity tracking, quality gates, clean-plate
background-only, ...) for each variant over a manifest, then writes one PNG per source video: the
original in the first row, one row per variant below, ``--frames`` evenly spaced frames side by side. A
variant synth did not make is a grey row, and its status and reason are printed.

    PYTHONPATH=src python scripts/variant_strips.py VIDEO [VIDEO ...] --out /tmp/strips
    PYTHONPATH=src python scripts/variant_strips.py --manifest data/manifest.csv --out /tmp/strips

Given videos (no manifest), each video's label is its file name up to ``__`` (so donors of another
"class" exist for swaps). Keep the output outside the repository: strips hold frames of the footage.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from weirdkinetics.decode import read_video
from weirdkinetics.manifest import read_manifest, write_manifest
from weirdkinetics.synth import SynthOptions, run_synth
from weirdkinetics.synth.variants import VARIANTS


def manifest_of(videos: list[Path], out: Path) -> Path:
    """A manifest of ``videos``, label = the file name up to ``__``, split ``real``."""
    rows = [
        {"path": str(v.resolve()), "label": v.name.split("__")[0], "split": "real", "video_id": v.stem}
        for v in videos
    ]
    return write_manifest(out / "source.csv", rows)


def frames_at(path: Path, count: int, side: int) -> np.ndarray | None:
    """``count`` evenly spaced frames of the video at ``path``, longer side ``side``: uint8 (count, H, W, 3)."""
    video = read_video(path, max_side=side)
    if len(video.frames) == 0:
        return None
    index = np.linspace(0, len(video.frames) - 1, count).round().astype(int)
    return video.frames[index]


def strip(rows: list[np.ndarray | None], shape: tuple[int, int]) -> np.ndarray:
    """Rows of frames stacked into one image; a missing row is mid grey. -> uint8 (R*H, N*W, 3)."""
    import cv2

    h, w = shape
    out = []
    for frames in rows:
        if frames is None:
            out.append(np.full((h, w * 6, 3), 128, np.uint8))
            continue
        fitted = [cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in frames]
        out.append(np.concatenate(fitted, axis=1))
    width = max(r.shape[1] for r in out)
    out = [np.pad(r, ((0, 2), (0, width - r.shape[1]), (0, 0))) for r in out]  # 2 px black rule between rows
    return np.concatenate(out, axis=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("videos", nargs="*", type=Path)
    parser.add_argument("--manifest", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--segmenter", default="mediapipe")
    parser.add_argument("--backgrounds", type=Path, help="a library folder for swaps (else donors)")
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--side", type=int, default=256, help="decode at this longer side (synth's max_side)")
    args = parser.parse_args(argv)
    import cv2

    args.out.mkdir(parents=True, exist_ok=True)
    source = args.manifest or manifest_of(args.videos, args.out)
    options = SynthOptions(max_side=args.side)
    made: dict[str, dict[str, dict]] = {}
    shared_cache = args.out / ".mask_cache"  # one segmentation per video for every variant
    shared_cache.mkdir(exist_ok=True)
    for variant in args.variants.split(","):
        (args.out / variant).mkdir(exist_ok=True)
        link = args.out / variant / ".mask_cache"
        if not link.exists():
            link.symlink_to(shared_cache.resolve(), target_is_directory=True)
        library = args.backgrounds if variant in ("swap", "static-background", "static-person") else None
        result = run_synth(
            variant, source, args.out / variant, library, args.segmenter, options=options, progress=False
        )
        with open(result.manifest, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                made.setdefault(row["source_video_id"], {})[variant] = row
    for src in read_manifest(source).rows:
        original = frames_at(src.path, args.frames, args.side)
        if original is None:
            print(f"{src.video_id}: cannot decode", file=sys.stderr)
            continue
        rows = [original]
        for variant, row in made.get(src.video_id, {}).items():
            path = args.out / variant / row["path"]
            ok = row["synth_status"] == "ok"
            rows.append(frames_at(path, args.frames, args.side) if ok else None)
            print(
                f"{src.video_id} {variant}: {row['synth_status']} {row['excluded_reason']} "
                f"coverage={row['mask_coverage']} {row['mask_track']} {row['synth_notes']}"
            )
        image = strip(rows, original.shape[1:3])
        target = args.out / f"{src.video_id}.png"
        cv2.imwrite(str(target), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        print(f"  -> {target} (rows: original, {', '.join(made.get(src.video_id, {}))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

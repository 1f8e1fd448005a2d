"""Benchmark attribution: seconds per video per method (Grad-CAM, occlusion) next to plain evaluation.

    .venv/bin/python benchmarks/attribution.py                       # i3d_r50 and demo_c3d, 3 videos each
    .venv/bin/python benchmarks/attribution.py --models demo_c3d --videos 5

Each model explains a few 10 s 340x256 H.264 videos (moving texture, a person-sized rectangle as its true
mask) on the centre clip, after evaluating them with the card's dense protocol. Weights are seeded random
(speed does not depend on them). ``explain`` times each method per video itself (Grad-CAM: one forward and
backward pass plus the deletion curves' 20 forwards; occlusion: 3 forwards); evaluation's time is the whole
``evaluate`` call divided by the videos. This is a benchmark, not a test: nothing here asserts times.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def make_set(folder: Path, count: int, seconds: float = 10.0, fps: int = 30) -> Path:
    """``count`` videos with true masks and a manifest (labels from Kinetics-400 and the demo)."""
    from weirdkinetics.encode import write_video
    from weirdkinetics.manifest import write_manifest

    rng = np.random.default_rng(0)
    height, width, frames = 256, 340, int(seconds * fps)
    tile = (
        rng.integers(0, 255, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    )
    tile = np.ascontiguousarray(tile[:height, :width])
    masks = np.zeros((frames, height, width), bool)
    masks[:, 60:220, 140:220] = True
    rows = []
    for i in range(count):
        video = np.stack([np.roll(tile, 4 * k + i, axis=1) for k in range(frames)])
        video[masks] = 200
        write_video(folder / f"v{i}.mp4", video, fps, crf=23)
        np.savez_compressed(folder / f"v{i}.mask.npz", masks=masks)
        rows.append({"path": f"v{i}.mp4", "label": "jumping", "split": "real", "mask_path": f"v{i}.mask.npz"})
    return write_manifest(folder / "manifest.csv", rows)


def main() -> None:
    from weirdkinetics import api

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", default=["i3d_r50", "demo_c3d"])
    parser.add_argument("--videos", type=int, default=3)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        manifest = make_set(tmp, args.videos)
        for model in args.models:
            classes = "all"
            label = "jumping" if model == "demo_c3d" else "jogging"
            text = manifest.read_text().replace(",jumping,", f",{label},")
            (tmp / f"{model}.csv").write_text(text)
            out = tmp / model
            began = time.perf_counter()
            api.evaluate(
                tmp / f"{model}.csv", [model], out, weights=["random:0"], classes=classes, progress=False
            )
            evaluate_s = (time.perf_counter() - began) / args.videos
            outcome = api.explain(
                tmp / f"{model}.csv",
                model,
                out,
                weights="random:0",
                segmenter="true",
                classes=classes,
                progress=False,
            )
            results[model] = {
                "evaluate_s_per_video (dense clips)": round(evaluate_s, 2),
                **{
                    f"{m}_s_per_video (centre clip)": round(s, 2)
                    for m, s in outcome.summary.seconds_per_video.items()
                },
                "videos": args.videos,
            }
            print(model, json.dumps(results[model]), flush=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""Benchmark the study's protocol: seconds per video (decode, model, end to end) and peak memory.

    .venv/bin/python benchmarks/protocol.py                      # 10 s 1080p30 with i3d_r50 + a 10-minute video
    .venv/bin/python benchmarks/protocol.py --long-minutes 2     # shorter long video

Each scenario runs `weirdkinetics evaluate` in a fresh subprocess so its peak RSS is its own. Weights are
seeded random (speed does not depend on them). This is a benchmark, not a test: nothing here asserts times.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np


def make_video(path: Path, seconds: float, width: int, height: int, fps: int = 30) -> Path:
    """H.264 yuv420p test video with moving content, encoded frame by frame (never all in memory)."""
    rng = np.random.default_rng(0)
    tile = rng.integers(0, 255, (height // 8, width // 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        s.options = {"preset": "ultrafast", "crf": "23"}
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.roll(tile, 4 * i, axis=1), format="rgb24")
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def run_scenario(video: Path, model: str, workdir: Path, label: str) -> dict:
    manifest = workdir / f"{label}.csv"
    manifest.write_text(f"path,label,split\n{video},jogging,real\n")
    out = workdir / f"out_{label}"
    code = (
        "import resource, sys, time; from weirdkinetics.cli import main; t=time.perf_counter(); "
        f"rc=main(['evaluate','--model','{model}','--weights','random:0','--manifest','{manifest}','--out','{out}','--no-progress']); "
        "print('WALL', time.perf_counter()-t); print('RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    wall = float(proc.stdout.split("WALL")[1].split()[0])
    rss = int(proc.stdout.split("RSS_KB")[1].split()[0])
    db = sqlite3.connect(out / "predictions.sqlite")
    decode_s, infer_s, clips, status = db.execute(
        "SELECT decode_s, infer_s, num_clips, status FROM predictions"
    ).fetchone()
    return {
        "scenario": label,
        "model": model,
        "status": status,
        "clips": clips,
        "decode_s": round(decode_s, 2),
        "model_s": round(infer_s, 2),
        "end_to_end_s": round(wall, 2),
        "peak_rss_mb": round(rss / 1024, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="i3d_r50")
    ap.add_argument(
        "--long-model", default="i3d_r50", help="model for the long video (tiny_c3d isolates decoding)"
    )
    ap.add_argument("--long-minutes", type=float, default=10.0)
    ap.add_argument("--long-size", default="1920x1080")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t = time.perf_counter()
        short = make_video(work / "10s_1080p30.mp4", 10, 1920, 1080)
        print(f"made 10 s 1080p30 video in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        results.append(run_scenario(short, args.model, work, "10s_1080p30"))
        print(json.dumps(results[-1]), file=sys.stderr)
        if args.long_minutes > 0:
            w, h = (int(x) for x in args.long_size.split("x"))
            t = time.perf_counter()
            long = make_video(work / "long.mp4", args.long_minutes * 60, w, h)
            print(
                f"made {args.long_minutes:g}-minute {w}x{h} video in {time.perf_counter() - t:.1f} s",
                file=sys.stderr,
            )
            results.append(run_scenario(long, args.long_model, work, f"{args.long_minutes:g}min_{h}p30"))
    print(json.dumps({"cpu_threads": __import__("torch").get_num_threads(), "results": results}, indent=2))


if __name__ == "__main__":
    main()

"""Does ``--compile`` pay on a 10-video run, and how many torch threads should the model use? Measured, not guessed.

    .venv/bin/python benchmarks/compile_threads.py                     # 10 videos of 10 s 640x360, i3d_r50, CPU
    .venv/bin/python benchmarks/compile_threads.py --videos 10 --threads 1,2 --skip-bf16
    .venv/bin/python benchmarks/compile_threads.py --device cuda --threads ''

Scenarios, each a whole ``weirdkinetics evaluate`` of the same manifest into a fresh store (decoding included,
the study's protocol: 16 clips per video; seeded random weights with the head scaled up, as ``speed.py``):

- threads: fp32 with ``torch.set_num_threads(n)`` for each ``--threads`` n (the decoder thread runs beside it);
- compile: fp32 and bf16, eager against ``--compile`` (``torch.compile``'s default inductor backend), the
  compile time included, as a user pays it on a run of this size.

Videos are Kinetics-sized (10 s, 640x360, 30 fps, H.264). Scores of compiled runs are compared with eager ones
(max absolute difference, video top-1). The machine may be shared: run it quiet. Nothing here asserts times.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol import make_video
from speed import scaled_checkpoint

from weirdkinetics import api
from weirdkinetics.store import Store


def scores(store_path: Path, run_id: str) -> np.ndarray:
    """float32 (videos, K): each video's mean softmax, in video_id order."""
    with Store(store_path) as s:
        run = next(r for r in s.runs() if r.run_id == run_id)
        preds = sorted(s.predictions(run_id, len(run.class_names)), key=lambda p: p.video_id)
        return np.stack([p.scores for p in preds])


def run(manifest: Path, model: str, ckpt: Path, out: Path, **kw) -> tuple[float, np.ndarray]:
    t0 = time.perf_counter()
    outcome = api.evaluate(manifest, [model], out, weights=[str(ckpt)], progress=False, **kw)
    seconds = time.perf_counter() - t0
    return seconds, scores(outcome.store, outcome.run_ids[0])


def compare(base: np.ndarray, other: np.ndarray) -> dict:
    return {
        "max_abs_score_diff": float(np.abs(base - other).max()),
        "video_top1_equal": int((base.argmax(1) == other.argmax(1)).sum()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="i3d_r50")
    ap.add_argument("--videos", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", default="1,2", help="torch thread counts to time ('' to skip)")
    ap.add_argument("--skip-bf16", action="store_true")
    ap.add_argument("--skip-compile", action="store_true")
    a = ap.parse_args()
    default_threads = torch.get_num_threads()
    report: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "torch_default_threads": default_threads,
            "torch": torch.__version__,
        },
        "device": a.device,
        "model": a.model,
        "videos": a.videos,
        "video": f"{a.seconds:g} s {a.size} H.264",
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        w, h = (int(x) for x in a.size.split("x"))
        # distinct files (a stored row is keyed by path): the same content, encoded once and copied
        first = make_video(work / "v0.mp4", a.seconds, w, h)
        paths = [first] + [work / f"v{i}.mp4" for i in range(1, a.videos)]
        for p in paths[1:]:
            p.write_bytes(first.read_bytes())
        manifest = work / "m.csv"
        manifest.write_text("path,label,split\n" + "".join(f"{p},jogging,real\n" for p in paths))
        ckpt = scaled_checkpoint(a.model, work / "ckpt.pt")
        base = {"device": a.device}

        threads = {}
        for n in [int(x) for x in a.threads.split(",") if x]:
            torch.set_num_threads(n)
            seconds, _ = run(manifest, a.model, ckpt, work / f"t{n}", **base)
            threads[n] = {"seconds": round(seconds, 1), "videos_per_s": round(a.videos / seconds, 3)}
            print(f"threads {n}: {seconds:.1f} s", flush=True)
        torch.set_num_threads(default_threads)
        if threads:
            report["fp32_by_torch_threads"] = threads

        if not a.skip_compile:
            for precision in ("fp32",) + (() if a.skip_bf16 else ("bf16",)):
                eager_s, eager = run(
                    manifest, a.model, ckpt, work / f"e{precision}", precision=precision, **base
                )
                print(f"{precision} eager: {eager_s:.1f} s", flush=True)
                comp_s, comp = run(
                    manifest, a.model, ckpt, work / f"c{precision}", precision=precision, compile=True, **base
                )
                print(f"{precision} compiled: {comp_s:.1f} s", flush=True)
                report[f"{precision}_compile"] = {
                    "eager_s": round(eager_s, 1),
                    "compiled_s_including_compile": round(comp_s, 1),
                    "compiled_over_eager": round(comp_s / eager_s, 2),
                    **compare(eager, comp),
                }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

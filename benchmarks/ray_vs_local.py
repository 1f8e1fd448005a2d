"""Videos per second, the local engine against the Ray engine, on this machine, with ``tiny_c3d``.

    .venv/bin/python benchmarks/ray_vs_local.py                     # 48 videos, 3 rounds, a local Ray of 2 CPUs
    .venv/bin/python benchmarks/ray_vs_local.py --videos 96 --rounds 2 --cpus 2

The manifest repeats the 10 s clips of ../shared/data (read in place, one row per repeat with its own id), so
decoding dominates as on Kinetics. Ray is started once (its start is timed apart) and warmed with one small run,
then each round evaluates the whole manifest with each engine, alternately, into fresh stores: every round of
the Ray engine pays for its model actors' start (a new actor pool per run) and for moving each video's clips
through Ray's object store. Overhead = Ray's seconds / local seconds - 1, from the medians. The machine may be
shared: the rounds alternate so that load hits both engines alike. This is a benchmark, not a test: nothing here
asserts times.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from weirdkinetics import api
from weirdkinetics.manifest import write_manifest

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
CLIPS = [
    "arm_wrestling__mmaction2_demo.mp4",
    "cleaning_pool__mmaction2_test.mp4",
    "flipping_pancake__decord.mkv",
    "basketball__mmaction2_structuralize.mp4",
]


def manifest(folder: Path, videos: int) -> Path:
    missing = [n for n in CLIPS if not (VIDEOS / n).exists()]
    if missing:
        sys.exit(f"real media not found: {VIDEOS / missing[0]} (the benchmark expects ../shared/data)")
    rows = [
        {
            "path": str(VIDEOS / CLIPS[k % len(CLIPS)]),
            "label": "arm wrestling",
            "split": "real",
            "video_id": f"v{k}",
        }
        for k in range(videos)
    ]
    return write_manifest(folder / f"m{videos}.csv", rows)


def timed(m: Path, out: Path, engine: str) -> float:
    t0 = time.perf_counter()
    outcome = api.evaluate(m, ["tiny_c3d"], out, weights=["random:0"], progress=False, engine=engine)
    seconds = time.perf_counter() - t0
    assert outcome.summary.computed > 0 and outcome.summary.reused == 0
    return seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--videos", type=int, default=48)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray")
    a = p.parse_args()
    import ray

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        m, warm = manifest(tmp, a.videos), manifest(tmp, 2)
        t0 = time.perf_counter()
        ray.init(num_cpus=a.cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
        start_s = time.perf_counter() - t0
        first_s = timed(warm, tmp / "warm", "ray")  # the workers' first imports
        times: dict[str, list[float]] = {"local": [], "ray": []}
        for r in range(a.rounds):
            for engine in ("local", "ray") if r % 2 == 0 else ("ray", "local"):
                times[engine].append(timed(m, tmp / f"{engine}{r}", engine))
                print(f"round {r} {engine}: {times[engine][-1]:.1f} s", flush=True)
        ray.shutdown()
    med = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "videos": a.videos,
        "rounds": a.rounds,
        "ray_cpus": a.cpus,
        "ray_start_s": round(start_s, 1),
        "ray_first_small_run_s": round(first_s, 1),
        "seconds": {k: [round(x, 1) for x in v] for k, v in times.items()},
        "videos_per_s": {k: round(a.videos / v, 2) for k, v in med.items()},
        "ray_overhead": f"{med['ray'] / med['local'] - 1:+.0%}",
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

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

    .venv/bin/python benchmarks/ray_vs_local.py --cli --videos 24 --rounds 2     # the command line as a user runs it

``--cli`` times what a user waits for instead: a whole ``python -m weirdkinetics evaluate`` process (imports,
model, Ray's start and shutdown included) with ``--engine local``, with ``--engine ray`` (which starts and stops
a local Ray of its own) and with ``--engine ray --address HOST:PORT`` (a Ray this benchmark started beforehand,
in a process of its own, as ``ray start`` would be on a cluster). The load average is printed beside every run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
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


RAY_HEAD = """
import sys, ray
context = ray.init(address="local", num_cpus=int(sys.argv[1]), include_dashboard=False, log_to_driver=False, configure_logging=False)
print(context.address_info["gcs_address"], flush=True)
sys.stdin.read()  # until the benchmark closes our stdin
ray.shutdown()
"""


def load() -> float:
    return round(os.getloadavg()[0], 1)


def timed_cli(m: Path, out: Path, engine: str, address: str | None) -> tuple[float, float]:
    """Seconds of one whole ``evaluate`` process, and the 1-minute load average when it began."""
    argv = [sys.executable, "-m", "weirdkinetics", "evaluate", "--model", "tiny_c3d", "--weights", "random:0"]
    argv += ["--manifest", str(m), "--out", str(out), "--no-progress", "--engine", engine]
    argv += ["--address", address] if address else []
    began_load, t0 = load(), time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{done.stderr[-2000:]}")
    return seconds, began_load


def cli_main(a: argparse.Namespace) -> None:
    """Whole command lines, alternating: local, Ray started by the command, Ray at --address."""
    head = subprocess.Popen(
        [sys.executable, "-c", RAY_HEAD, str(a.cpus)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        address = head.stdout.readline().strip()
        modes = {"local": ("local", None), "ray": ("ray", None), "ray --address": ("ray", address)}
        times: dict[str, list[float]] = {k: [] for k in modes}
        loads: dict[str, list[float]] = {k: [] for k in modes}
        with tempfile.TemporaryDirectory() as tmp:
            m = manifest(Path(tmp), a.videos)
            for r in range(a.rounds):
                for name in list(modes) if r % 2 == 0 else list(modes)[::-1]:
                    seconds, began = timed_cli(m, Path(tmp) / f"{name.replace(' ', '_')}{r}", *modes[name])
                    times[name].append(seconds)
                    loads[name].append(began)
                    print(f"round {r} {name}: {seconds:.1f} s (load average {began})", flush=True)
    finally:
        head.stdin.close()
        head.wait(timeout=120)
    med = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "videos": a.videos,
        "rounds": a.rounds,
        "ray_cpus": a.cpus,
        "command_seconds": {k: [round(x, 1) for x in v] for k, v in times.items()},
        "load_average_at_start": loads,
        "median_s": {k: round(v, 1) for k, v in med.items()},
        "overhead_vs_local": {k: f"{med[k] / med['local'] - 1:+.0%}" for k in med if k != "local"},
    }
    print(json.dumps(result, indent=2))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--videos", type=int, default=48)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray")
    p.add_argument("--cli", action="store_true", help="time whole evaluate commands (see above)")
    a = p.parse_args()
    if a.cli:
        cli_main(a)
        return
    import ray

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        m, warm = manifest(tmp, a.videos), manifest(tmp, 2)
        t0 = time.perf_counter()
        ray.init(
            address="local",
            num_cpus=a.cpus,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
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

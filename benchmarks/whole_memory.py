"""Peak memory of ``i3d_inception``'s whole-video default (``--clips whole:250``) on a short and a long video.

    .venv/bin/python benchmarks/whole_memory.py                      # 10 s and 10 min, 640x360 at 30 fps
    .venv/bin/python benchmarks/whole_memory.py --seconds 10 --size 1920x1080

Each video is one ``weirdkinetics evaluate --model i3d_inception`` in a fresh process (the card's own weights,
fp32, CPU unless ``--device``), so each peak resident set (``ru_maxrss``) is that run's alone; the process's
peak after importing torch and loading the model, before any video, is printed beside it. A 10 s video at 25 fps
is one 250-frame pass; a 10 min video is 60 such passes, so if memory is bounded by one pass, as the design
says, the two peaks are about equal. Frames are resized as they are decoded (to short side 256), so the source
resolution changes little. This is a benchmark, not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol import make_video

CHILD = """
import json, resource, sys, time
from weirdkinetics.models import get_card
from weirdkinetics.models.loading import load_model
load_model(get_card("i3d_inception"))  # imports and weights: the floor under every run
floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
from weirdkinetics.cli import main
t = time.perf_counter()
rc = main(["evaluate", "--model", "i3d_inception", "--manifest", sys.argv[1], "--out", sys.argv[2],
           "--device", sys.argv[3], "--no-progress"])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rc": rc, "wall_s": round(time.perf_counter() - t, 1), "floor_mib": floor // 1024,
                  "peak_mib": peak // 1024}))
"""


def measure(video: Path, work: Path, label: str, device: str) -> dict:
    manifest = work / f"{label}.csv"
    manifest.write_text(f"path,label,split\n{video},jogging,real\n")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(manifest), str(work / f"out_{label}"), device],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"{label}: evaluate failed\n{done.stderr[-2000:]}")
    result = json.loads(lines[-1])
    if device.startswith("cuda"):
        result["note"] = "GPU memory is not measured here (ru_maxrss is host memory)"
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", default="10,600", help="video lengths in seconds, comma-separated")
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    w, h = (int(x) for x in args.size.split("x"))
    report = {
        "model": "i3d_inception",
        "clips": "whole:250 (the card's default)",
        "size": args.size,
        "runs": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for seconds in (float(s) for s in args.seconds.split(",")):
            label = f"{seconds:g}s"
            video = make_video(work / f"{label}.mp4", seconds, w, h)
            report["runs"][label] = measure(video, work, label, args.device)
            print(json.dumps({label: report["runs"][label]}), file=sys.stderr, flush=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""Peak memory of ``synth``, every variant, on generated 1080p videos of a few lengths, before and after streaming.

    python benchmarks/synth_memory.py                                  # the code on PYTHONPATH, 10 s and 60 s
    python benchmarks/synth_memory.py --seconds 2,10 --src OLD/src --src NEW/src --cap-gb 10

Each (code, length, variant) is one ``synthesize`` call in a fresh process, so its peak resident set
(``ru_maxrss``) is that run's alone; the peak after the imports, before any video, is printed beside it.
``--src`` names the ``src`` folder of a checkout to measure (repeat it to compare: e.g. a ``git worktree
add`` of the commit before streaming, and this one). The video is H.264 at 30 fps, a textured background
moving under a solid box (the "person", 240x480 px, walking right), with its true masks (``--segmenter
true``: no segmenter's cost or download, the same masks for every run); swap, static-background and
static-person get a library of one 1080p image and one 2 s 640x360 video (a swap takes videos only). ``--cap-gb`` limits each process's address space
(``RLIMIT_AS``) so that a run that would hold the whole video fails with ``MemoryError`` instead of taking the
machine's memory: such a run is reported as over the cap. This is a benchmark, not a test: nothing here
asserts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import av
import numpy as np

CHILD = """
import json, resource, sys, time, csv
cap = float(sys.argv[6])
if cap > 0:
    resource.setrlimit(resource.RLIMIT_AS, (int(cap * 2**30), int(cap * 2**30)))
from weirdkinetics.synth.generate import synthesize
import weirdkinetics.synth.segment, weirdkinetics.synth.plate, cv2, av
floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
try:
    synthesize(sys.argv[1], sys.argv[2], sys.argv[3], backgrounds=sys.argv[4] or None, segmenter="true",
               progress=False)
    status = [r["synth_status"] for r in csv.DictReader(open(sys.argv[5], newline=""))][0]
except MemoryError:
    status = "over the cap (MemoryError)"
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"status": status, "wall_s": round(time.perf_counter() - t, 1), "floor_mib": floor // 1024,
                  "peak_mib": peak // 1024}))
"""

VARIANTS = ("person-only", "background-only", "silhouette", "swap", "static-background", "static-person")
WIDTH, HEIGHT, FPS = 1920, 1080, 30
BOX = (300, 780, 200, 440)  # y0, y1, x0, x1 of the box at frame 0


def make_clip(folder: Path, seconds: float) -> Path:
    """``folder/clip.mp4`` and its true masks ``folder/clip.mask.npz`` (written a frame at a time, never the
    whole video in memory) and a one-row manifest; returns the manifest."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from weirdkinetics.synth.bitmasks import NpzFrameWriter

    count = int(seconds * FPS)
    rng = np.random.default_rng(0)
    tile = rng.integers(0, 255, (HEIGHT // 8, WIDTH // 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    masks = NpzFrameWriter(folder / "clip.mask.npz", "masks", (count, HEIGHT, WIDTH), np.dtype(bool))
    with av.open(str(folder / "clip.mp4"), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "23"}
        for t in range(count):
            frame, mask = np.roll(tile, 2 * t, axis=1), np.zeros((HEIGHT, WIDTH), bool)
            y0, y1, x0, x1 = BOX
            shift = (t * 2) % (WIDTH - x1)
            mask[y0:y1, x0 + shift : x1 + shift] = True
            frame[mask] = (200, 40, 40)
            masks.write(mask)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    masks.close()
    manifest = folder / "manifest.csv"
    manifest.write_text(
        "path,label,split,background,video_id,mask_path\nclip.mp4,jump,real,street,clip,clip.mask.npz\n",
        encoding="utf-8",
    )
    return manifest


def make_library(folder: Path) -> Path:
    """One 1080p image (static-background, static-person) and one 2 s 640x360 video (swap, looped and
    scaled up to the source) in two categories."""
    import cv2

    (folder / "beach").mkdir(parents=True)
    image = np.random.default_rng(1).integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    cv2.imwrite(str(folder / "beach" / "sand.png"), image)
    (folder / "city").mkdir()
    with av.open(str(folder / "city" / "street.mp4"), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        for t in range(2 * FPS):
            frame = np.roll(image[::3, ::3], 3 * t, axis=0)
            for packet in stream.encode(
                av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            ):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return folder


def measure(src: str, variant: str, manifest: Path, out: Path, library: Path, cap_gb: float) -> dict:
    needs = variant in ("swap", "static-background", "static-person")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, variant, str(manifest), str(out), str(library) if needs else "",
         str(out / "manifest.csv"), str(cap_gb)],
        capture_output=True, text=True, check=False, env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin",
                                                          "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"status": f"failed (rc {done.returncode})", "stderr": done.stderr[-600:]}
    return json.loads(lines[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", default="10,60", help="video lengths in seconds, comma-separated")
    ap.add_argument("--src", action="append", help="a checkout's src folder (repeatable; default: ./src)")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--cap-gb", type=float, default=0.0, help="address-space cap per run (0: none)")
    ap.add_argument(
        "--work", help="keep the generated videos here and reuse them (default: a temporary folder)"
    )
    args = ap.parse_args()
    sources = args.src or [str(Path(__file__).resolve().parents[1] / "src")]
    report: dict = {"size": f"{WIDTH}x{HEIGHT}", "fps": FPS, "cap_gb": args.cap_gb, "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        library = work / "lib" if (work / "lib").is_dir() else make_library(work / "lib")
        for seconds in (float(s) for s in args.seconds.split(",")):
            folder = work / f"{seconds:g}s"
            folder.mkdir(parents=True, exist_ok=True)
            reuse = (folder / "manifest.csv").is_file()
            manifest = folder / "manifest.csv" if reuse else make_clip(folder, seconds)
            for variant in args.variants.split(","):
                for i, src in enumerate(sources):
                    out = folder / f"out-{Path(src).parent.name}-{i}-{variant}"
                    result = measure(src, variant, manifest, out, library, args.cap_gb)
                    result.update(src=src, seconds=seconds, variant=variant)
                    report["runs"].append(result)
                    print(json.dumps(result), file=sys.stderr, flush=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

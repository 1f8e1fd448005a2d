"""Benchmark decoding from object storage: one video decoded whole from a local file and from a local
S3-compatible server (moto, on 127.0.0.1), with the bytes and requests the S3 read took.

    .venv/bin/python benchmarks/object_storage.py                    # a 10 s 340x256 H.264 clip made here
    .venv/bin/python benchmarks/object_storage.py --video ../shared/data/videos/arm_wrestling__mmaction2_demo.mp4

A loopback server has no network latency: the numbers say what reading through fsspec costs over a local
file (range requests, the block cache) and how much is fetched, not what a real bucket's latency adds. This is
a benchmark, not a test: nothing here asserts times.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import tempfile
import time
from pathlib import Path

import numpy as np


def _made_clip(folder: Path) -> Path:
    from weirdkinetics.encode import write_video

    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (256, 340, 3), dtype=np.uint8)
    frames = np.stack([np.roll(base, 3 * i, axis=1) for i in range(300)])
    return write_video(folder / "clip.mp4", frames, 30)


def _timed(fn, repeat: int) -> float:
    """The best of ``repeat`` wall-clock times of ``fn()`` (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


class _Requests(logging.Handler):
    """Counts the GET requests the moto server logs."""

    def __init__(self) -> None:
        super().__init__()
        self.gets = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.gets += "GET /" in record.getMessage()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--video", type=Path, help="a video file (default: a 10 s 340x256 clip made here)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import boto3
    from moto.server import ThreadedMotoServer

    from weirdkinetics.decode import read_video

    with tempfile.TemporaryDirectory() as tmp:
        video = args.video or _made_clip(Path(tmp))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        os.environ.update(
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        )
        client = boto3.client("s3")
        client.create_bucket(Bucket="bench")
        client.put_object(Bucket="bench", Key=video.name, Body=video.read_bytes())
        uri = f"s3://bench/{video.name}"
        size = video.stat().st_size
        counter = _Requests()
        logging.getLogger("werkzeug").addHandler(counter)
        logging.getLogger("werkzeug").setLevel(logging.INFO)
        frames = len(read_video(video).frames)
        local = _timed(lambda: read_video(video), args.repeat)
        before = counter.gets
        remote_frames = len(read_video(uri).frames)
        gets = counter.gets - before
        remote = _timed(lambda: read_video(uri), args.repeat)
        server.stop()
    print(
        json.dumps(
            {
                "video": str(args.video or "made 10 s 340x256 H.264"),
                "bytes": size,
                "frames": frames,
                "frames_from_s3": remote_frames,
                "local_s": round(local, 3),
                "s3_loopback_s": round(remote, 3),
                "s3_get_requests_per_read": gets,
                "load_1min": os.getloadavg()[0],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()

"""Write frames to a real video file with PyAV (the demo, synth and the tests' lossless fixtures)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from weirdkinetics.outputs import check_target


def write_video(
    path: str | Path,
    frames: np.ndarray,
    fps: float,
    codec: str = "libx264",
    crf: int = 18,
    lossless: bool = False,
) -> Path:
    """Encode frames to ``path``; the container follows the file extension.

    frames: uint8 (T, H, W, 3) RGB. ``lossless=True`` uses ``libx264rgb`` with ``crf=0`` (exact RGB
    round trip, for tests). Other codecs get yuv420p, so H and W are padded to even sizes by edge
    replication. The file is written to a temporary name and renamed, so a crash never leaves a
    half-written video under ``path``.

    The same frames give the same bytes, on any machine and however busy it is: x264 runs on one thread (its
    output depends on its thread count, which follows the machine's cores) and without macroblock-tree rate
    control (``mbtree=0``: with it, the frames near the end of a video came out differently from run to
    run, about one encode in ten; the demo's tests compare regenerated datasets byte for byte).
    """
    path = check_target(path)  # never renamed over a device, a FIFO or a link (outputs.check_target)
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}")
    if lossless:
        codec, pix_fmt, options = "libx264rgb", "rgb24", {"crf": "0", "preset": "ultrafast"}
    else:
        pix_fmt, options = "yuv420p", ({"crf": str(crf), "preset": "veryfast"} if "264" in codec else {})
        h, w = frames.shape[1:3]
        if h % 2 or w % 2:
            frames = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    if "264" in codec:
        options["x264-params"] = "mbtree=0"  # reproducible bytes: see the docstring
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(tmp), mode="w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = pix_fmt
        stream.options = options
        stream.codec_context.thread_count = 1  # reproducible bytes: see the docstring
        for image in frames:
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    tmp.replace(path)
    return path

"""Write frames to a real video file with PyAV (the demo, synth and the tests' lossless fixtures)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
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
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}")
    size = (frames.shape[1], frames.shape[2])  # an empty video still gets its frame size
    return write_frames(path, iter(frames), fps, codec=codec, crf=crf, lossless=lossless, size=size)


def _even(image: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) padded to even H and W by edge replication (yuv420p halves both)."""
    h, w = image.shape[:2]
    if h % 2 or w % 2:
        return np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return image


def write_frames(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: float,
    codec: str = "libx264",
    crf: int = 18,
    lossless: bool = False,
    size: tuple[int, int] | None = None,
) -> Path:
    """``write_video`` for frames that arrive one at a time: each uint8 (H, W, 3) RGB, all the same size,
    encoded as it comes, so memory stays at one frame whatever the video's length (``synth`` streams its
    outputs through this). The same frames give the same bytes as ``write_video``. size: (H, W) of a video
    that may have no frames (else an empty iterable is a ``ValueError``: no size to give the stream)."""
    path = check_target(path)  # never renamed over a device, a FIFO or a link (outputs.check_target)
    frames = iter(frames)
    first = next(frames, None)
    if first is None and size is None:
        raise ValueError("no frames to write")
    if first is not None:
        _check_frame(first)
    shape = first.shape if first is not None else (*size, 3)
    if lossless:
        codec, pix_fmt, options = "libx264rgb", "rgb24", {"crf": "0", "preset": "ultrafast"}
    else:
        pix_fmt, options = "yuv420p", ({"crf": str(crf), "preset": "veryfast"} if "264" in codec else {})
    if "264" in codec:
        options["x264-params"] = "mbtree=0"  # reproducible bytes: see write_video
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    rate = Fraction(fps).limit_denominator(1001)
    try:
        _encode(
            tmp,
            itertools.chain([first] if first is not None else [], frames),
            shape,
            rate,
            codec,
            pix_fmt,
            options,
            lossless,
        )
    except BaseException:  # a frame source that fails part-way leaves no half-written file behind
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return path


def _encode(
    tmp: Path,
    frames: Iterable[np.ndarray],
    shape: tuple[int, ...],
    rate: Fraction,
    codec: str,
    pix_fmt: str,
    options: dict,
    lossless: bool,
) -> None:
    with av.open(str(tmp), mode="w") as container:
        stream = container.add_stream(codec, rate=rate)
        even = shape if lossless else (shape[0] + shape[0] % 2, shape[1] + shape[1] % 2)
        stream.width, stream.height = even[1], even[0]
        stream.pix_fmt = pix_fmt
        stream.options = options
        stream.codec_context.thread_count = 1  # reproducible bytes: see write_video
        for image in frames:
            _check_frame(image, shape)
            frame = av.VideoFrame.from_ndarray(image if lossless else _even(image), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _check_frame(image: np.ndarray, shape: tuple[int, ...] | None = None) -> None:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"a frame must be uint8 (H, W, 3), got {image.dtype} {image.shape}")
    if shape is not None and image.shape != shape:
        raise ValueError(f"frame of shape {image.shape} in a video of {shape} frames")

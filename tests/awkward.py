"""Awkward video files made here with PyAV, so every test whose point is not real footage runs from a clone alone.

Each maker writes one file of a kind the real media in ../shared/data holds (see its MEDIA.md): a stream that
breaks off at a corrupt NAL unit, a file truncated after its header, a display-matrix rotation, VP9 in WebM
with Opus audio and no container frame count, a very low frame rate, a sub-second clip, variable frame timing.
The frames are known (``conftest.indexed_frames``-like content), so tests can check what survives.
"""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def moving_frames(n: int, h: int = 64, w: int = 96, seed: int = 0) -> np.ndarray:
    """uint8 (n, h, w, 3): a picture of 8x8-pixel colour blocks sliding 3 px per frame (inter frames carry real
    data; blocks survive lossy coding well enough for tests to tell orientations and frames apart)."""
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 255, (-(-h // 8), -(-(w + 3 * n) // 8), 3), dtype=np.uint8)
    base = np.repeat(np.repeat(cells, 8, axis=0), 8, axis=1)[:h]
    return np.stack([base[:, 3 * i : 3 * i + w] for i in range(n)])


def _encode(path: Path, frames: np.ndarray, fps: int, codec: str, options: dict, container_options=None):
    with av.open(str(path), "w", options=container_options or {}) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = options
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


_X264 = {"preset": "ultrafast", "crf": "20", "threads": "1", "bframes": "0", "keyint": "1000"}


def h264(
    path: str | Path, n: int = 50, fps: int = 10, faststart: bool = False, h: int = 64, w: int = 96
) -> Path:
    """H.264 in MP4, no B-frames (decode order = display order), one keyframe: every frame needs the ones before."""
    options = {"movflags": "faststart"} if faststart else {}
    return _encode(Path(path), moving_frames(n, h, w), fps, "libx264", dict(_X264), options)


def corrupt_nal(path: str | Path, n: int = 50, fps: int = 10, break_at: int = 28) -> Path:
    """H.264 in MP4 whose packet ``break_at`` starts with an impossible NAL unit length (FFmpeg: "Invalid NAL
    unit size"), like decord's corrupted.mp4: decoding breaks off there, ``break_at`` frames decode."""
    path = h264(path, n, fps)
    with av.open(str(path)) as src:
        packets = [p for p in src.demux(video=0) if p.size]
    position = packets[break_at].pos  # MP4 stores H.264 as AVCC: each NAL starts with its 4-byte length
    data = bytearray(path.read_bytes())
    data[position : position + 4] = struct.pack(">I", 0xFFFFFFF0)
    path.write_bytes(bytes(data))
    return path


def truncated(path: str | Path, n: int = 60, fps: int = 10, keep: float = 0.35) -> Path:
    """An MP4 with its index (moov) first, cut to ``keep`` of its bytes: the header still claims ``n`` frames."""
    path = h264(path, n, fps, faststart=True)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def _rotation_matrix(degrees: int) -> bytes:
    """The 3x3 display matrix of an MP4 track header (16.16 fixed point, last column 2.30) for a clockwise
    rotation of the picture by ``degrees`` (a multiple of 90)."""
    cos, sin = {0: (1, 0), 90: (0, 1), 180: (-1, 0), 270: (0, -1)}[degrees % 360]
    a, b, c, d = cos, sin, -sin, cos
    one = 1 << 16
    return struct.pack(">9i", a * one, b * one, 0, c * one, d * one, 0, 0, 0, 1 << 30)


def rotated(path: str | Path, degrees: int = 90, n: int = 3, fps: int = 30) -> Path:
    """An MP4 whose track header carries a display matrix rotating the picture by ``degrees`` (as phones write
    it). PyAV writes no rotation, so the matrix in ``tkhd`` is set in the file's bytes: version-0 tkhd holds it at
    byte 40 of the box payload (ISO/IEC 14496-12, 8.3.2)."""
    path = _encode(Path(path), moving_frames(n, 48, 80), fps, "libx264", dict(_X264))
    data = bytearray(path.read_bytes())
    box = data.find(b"tkhd")
    if box < 0 or data[box + 4] != 0:
        raise RuntimeError("no version-0 tkhd box to carry the rotation")
    start = box + 4 + 40  # after the type: version/flags, times, track id, duration, layer, volume
    data[start : start + 36] = _rotation_matrix(degrees)
    path.write_bytes(bytes(data))
    return path


def vp9_opus(path: str | Path, n: int = 30, fps: int = 30) -> Path:
    """VP9 video with an Opus audio track in WebM, which records no frame count (like gradio's sample)."""
    frames = moving_frames(n)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libvpx-vp9", rate=fps)
        video.width, video.height, video.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        video.options = {"deadline": "realtime", "cpu-used": "8", "threads": "1", "crf": "40", "b": "0"}
        audio = out.add_stream("libopus", rate=48000)
        audio.layout = "mono"
        samples = np.zeros((1, 960), np.float32)
        for i, frame in enumerate(frames):
            for packet in video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
            if i * 48000 // fps >= 960 * (i and i - 1):  # keep audio running alongside
                chunk = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
                chunk.sample_rate = 48000
                for packet in audio.encode(chunk):
                    out.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode():
                out.mux(packet)
    return Path(path)


def variable_rate(path: str | Path, gaps_ms: list[int]) -> Path:
    """A lossless MKV whose frames are ``gaps_ms`` apart (len(gaps_ms) + 1 frames): variable frame timing."""
    frames = moving_frames(len(gaps_ms) + 1)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264rgb", rate=30)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "rgb24"
        stream.time_base = Fraction(1, 1000)
        stream.options = {"crf": "0", "preset": "ultrafast", "bframes": "0"}
        times = np.concatenate([[0], np.cumsum(gaps_ms)])
        for frame, t in zip(frames, times):
            vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            vf.pts, vf.time_base = int(t), Fraction(1, 1000)
            for packet in stream.encode(vf):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return Path(path)

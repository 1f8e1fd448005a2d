"""Video decoding with PyAV. The decoder only answers "give me these frames"; sampling decides which.

Never hides a failure: every call ends with a status (``ok``, ``partial``, ``decode_error``, ``missing``) and a
reason. Memory is bounded by what the caller keeps: frames are converted (and, through ``convert``, resized)
only when wanted, one at a time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import av
import av.video.reformatter
import numpy as np

from weirdkinetics import statuses, storage
from weirdkinetics.errors import first_line
from weirdkinetics.inputs import unreadable
from weirdkinetics.sampling import MAX_FRAME_GAP_S, frames_before_jump, resample_indices
from weirdkinetics.storage import StorageAccessError

STATUSES = tuple(statuses.MEANINGS)


@dataclass
class VideoInfo:
    """What the container says, plus the frame times found by demuxing (no decoding)."""

    path: str
    codec: str
    width: int  # as displayed (rotation applied)
    height: int
    rotation: int  # degrees counter-clockwise to apply for display (multiple of 90)
    avg_fps: float
    duration: float | None  # seconds, as the container claims
    claimed_frames: int  # container's frame count (0 when unknown)
    times: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))  # float64 (N,) sorted
    timing: str = "pts"  # "pts", or "cfr" when timestamps were missing and avg_fps was assumed

    @property
    def num_frames(self) -> int:
        return len(self.times)

    @property
    def still_image(self) -> str:
        """Why the file is a still image rather than a video ("" when it is not): one frame and no
        duration, as FFmpeg's image demuxers report a PNG or JPEG whatever its name."""
        if self.num_frames == 1 and not self.duration:
            return f"a still image ({self.codec}: 1 frame, no duration), not a video"
        return ""

    @property
    def usable_frames(self) -> int:
        """The leading frames worth resampling: those before the first timestamp jump longer than
        ``sampling.MAX_FRAME_GAP_S`` (all frames when there is none)."""
        return frames_before_jump(self.times)

    @property
    def usable_times(self) -> np.ndarray:
        """float64 (usable_frames,): the times that resampling and clip planning use."""
        return self.times[: self.usable_frames]

    @property
    def time_jump(self) -> str:
        """Why only some frames are used ("" when all are): the timestamps claim far more time than the
        stream's frames hold."""
        k, n = self.usable_frames, self.num_frames
        if k == n:
            return ""
        gap, span = self.times[k] - self.times[k - 1], self.times[-1] - self.times[0]
        return (
            f"timestamps jump by {gap:.1f} s after frame {k} of {n} ({n} frame(s) claim {span:.1f} s; a frame "
            f"is held at most {MAX_FRAME_GAP_S:g} s): used the {k} frame(s) before the jump"
        )

    @property
    def truncation(self) -> str:
        """Why the file looks truncated ("" when it does not): the container claims clearly more frames
        than its packets hold."""
        if self.claimed_frames and self.num_frames < self.claimed_frames - max(2, 0.02 * self.claimed_frames):
            claim = f"{self.claimed_frames} frames" + (f" ({self.duration:.2f} s)" if self.duration else "")
            return f"container claims {claim} but only {self.num_frames} are present (truncated file?)"
        return ""


class VideoOpenError(Exception):
    """The file is missing or FFmpeg cannot open/demux it; ``status`` is ``missing`` or ``decode_error``."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


@contextlib.contextmanager
def _open(path: str | Path) -> Iterator[av.container.InputContainer]:
    """The open container of a local file or, for a URI (``storage.is_uri``), of a file object over the
    object (bounded range reads); both closed on exit. ``VideoOpenError`` says why it cannot be opened."""
    if storage.is_uri(path):
        uri = str(path)
        try:
            handle = storage.open_object(uri)
        except FileNotFoundError:
            raise VideoOpenError("missing", f"no such object: {uri}") from None
        except StorageAccessError as exc:  # credentials expired mid-run: the row says what to do
            raise VideoOpenError("decode_error", str(exc)) from None
        except OSError as exc:
            raise VideoOpenError("decode_error", first_line(exc)) from None
        with handle, contextlib.closing(_container(handle, uri)) as container:
            yield container
        return
    path = str(path)
    # checked before opening: FFmpeg would block forever on a FIFO and read a device without end
    problem = unreadable(path)
    if problem is not None and problem.missing:
        raise VideoOpenError("missing", f"no such file: {path}")
    if problem is not None:
        raise VideoOpenError("decode_error", f"{problem.reason}: {path}")
    with contextlib.closing(_container(path, path)) as container:
        yield container


def _container(source: str | IO[bytes], shown: str) -> av.container.InputContainer:
    """PyAV's input container over a path or a seekable file object; ``VideoOpenError`` when FFmpeg cannot
    open it or it holds no video stream. ``shown``: the file or URI, for messages."""
    try:
        container = av.open(source, mode="r")
    except (av.FFmpegError, OSError, ValueError, UnicodeError) as exc:
        raise VideoOpenError("decode_error", f"FFmpeg cannot open the file ({first_line(exc)})") from None
    if not container.streams.video:
        container.close()
        raise VideoOpenError("decode_error", "no video stream in the file")
    return container


def _video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream:
    # FFmpeg's default choice when there are several video streams (e.g. cover art + video)
    try:
        index = container.streams.best("video")
        if index is not None:
            return index
    except (av.FFmpegError, ValueError):  # no best stream to name: fall back to the first video stream
        pass
    return container.streams.video[0]


def probe(path: str | Path) -> VideoInfo:
    """Metadata and presentation times of every video packet, by demuxing only (fast, no decoding).

    Raises ``VideoOpenError`` for missing or unreadable files. Packets are sorted by presentation time;
    the decoder outputs frames in that order, so output frame ``j`` has time ``times[j]`` (robust to
    containers such as AVI whose frames carry reordered timestamps).
    """
    with _open(path) as container:
        stream = _video_stream(container)
        ctx = stream.codec_context
        avg = _average_rate(stream)
        pts, no_pts = _packet_pts(container, stream)
        tb = float(stream.time_base) if stream.time_base else None
        times, timing = frame_times(pts, no_pts, tb, avg)
        rotation = _rotation(container, stream)
        width, height = (ctx.height, ctx.width) if rotation % 180 else (ctx.width, ctx.height)
        return VideoInfo(
            path=str(path),
            codec=ctx.name,
            width=width,
            height=height,
            rotation=rotation,
            avg_fps=avg,
            duration=_duration(container, stream),
            claimed_frames=int(stream.frames or 0),
            times=times,
            timing=timing,
        )


def frame_times(
    pts: list[int], no_pts: int, time_base: float | None, avg_fps: float
) -> tuple[np.ndarray, str]:
    """Presentation times float64 (N,) of a stream's frames, in decoding output order, and how they were
    found: ``"pts"`` (the packets' timestamps, sorted) or ``"cfr"`` (a constant rate, ``avg_fps`` or else
    30, when any packet lacks a timestamp or the stream has no time base).

    pts: the timestamps of the packets that have one; no_pts: how many have none.
    """
    if time_base and pts and not no_pts:
        return np.sort(np.asarray(pts, dtype=np.float64)) * time_base, "pts"
    count = len(pts) + no_pts
    return np.arange(count, dtype=np.float64) / (avg_fps or 30.0), "cfr"


def _average_rate(stream: av.video.stream.VideoStream) -> float:
    if stream.average_rate:
        return float(stream.average_rate)
    return float(stream.guessed_rate or 0) or 0.0


def _packet_pts(container: av.container.InputContainer, stream) -> tuple[list[int], int]:
    """The timestamps of the stream's packets (demuxed, not decoded) and how many packets have none."""
    pts: list[int] = []
    no_pts = 0
    try:
        for packet in container.demux(stream):
            if packet.size == 0:  # flush packet at EOF
                continue
            if packet.pts is None:
                no_pts += 1
            else:
                pts.append(packet.pts)
    except (av.FFmpegError, OSError, ValueError):
        pass  # truncated/corrupt containers: keep the packets read so far; decoding tells the rest
    return pts, no_pts


def _duration(container: av.container.InputContainer, stream) -> float | None:
    """Seconds, as the stream (else the container) claims; None when neither says."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return container.duration / 1_000_000 if container.duration else None


def _rotation(container: av.container.InputContainer, stream) -> int:
    """Display rotation in degrees counter-clockwise: PyAV exposes the display matrix on frames, so the
    first frame is decoded to read it (0 when none decodes)."""
    try:
        container.seek(0)
        for frame in container.decode(stream):
            return display_rotation(float(getattr(frame, "rotation", 0) or 0))
    except (av.FFmpegError, OSError, ValueError):
        pass  # no decodable first frame: no rotation to read; decoding reports the failure itself
    return 0


def display_rotation(degrees: float) -> int:
    """A display matrix's angle (degrees counter-clockwise, as PyAV gives it, sign kept) as the rotation we
    apply: the multiple of 90 within 1 degree of it, else 0 (no rotation), as FFmpeg's own autorotation does
    ("odd rotation angle"). Never 270 for -45."""
    nearest = int(round(degrees / 90.0)) * 90
    return nearest if abs(degrees - nearest) < 1.0 else 0


def rotate(image: np.ndarray, rotation: int) -> np.ndarray:
    """Apply a display rotation (degrees counter-clockwise, multiple of 90) to uint8 (H, W, C)."""
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(image, k=k)) if k else image


@dataclass
class DecodeResult:
    """How a decoding pass ended. ``frames_decoded`` counts source frames output before any break."""

    status: str = "ok"  # ok | partial | decode_error
    reason: str = ""
    frames_decoded: int = 0


def iter_source_frames(
    path: str | Path,
    wanted: set[int] | None,
    rotation: int,
    convert: Callable[[np.ndarray], object] | None = None,
    result: DecodeResult | None = None,
    limit: int | None = None,
    stop_early: bool = False,
) -> Iterator[tuple[int, object]]:
    """Decode sequentially; yield ``(source_index, convert(rgb))`` for each wanted source frame.

    rgb: uint8 (H, W, 3), display rotation applied. ``wanted=None`` yields every frame. Frames not wanted
    are decoded (codecs need them) but never converted to RGB. Decodes to the end of the stream, so a
    corrupt tail is noticed, unless ``stop_early`` (stop after the last wanted frame) or ``limit`` frames. A decoding error ends the pass; ``result`` records ``partial`` (frames before the
    break were delivered) or ``decode_error`` (none were).
    """
    result = result if result is not None else DecodeResult()
    stop_after = max(wanted) if stop_early and wanted else None
    with _open(path) as container:
        stream = _video_stream(container)
        stream.thread_type = "AUTO"
        yield from _decode(container, stream, wanted, rotation, convert, result, limit, stop_after)


def _decode(
    container: av.container.InputContainer,
    stream,
    wanted: set[int] | None,
    rotation: int,
    convert: Callable[[np.ndarray], object] | None,
    result: DecodeResult,
    limit: int | None,
    stop_after: int | None,
) -> Iterator[tuple[int, object]]:
    """``iter_source_frames``' decoding pass over an open stream; stops before frame ``limit`` and after
    frame ``stop_after`` (None: no stop)."""
    # one swscale context for the whole video: to_ndarray(format=...) would build one per frame (~15x slower)
    reformatter = av.video.reformatter.VideoReformatter()
    index = 0
    try:
        for frame in container.decode(stream):
            if limit is not None and index >= limit:
                break
            if wanted is None or index in wanted:
                rgb = rotate(reformatter.reformat(frame, format="rgb24").to_ndarray(), rotation)
                yield index, (convert(rgb) if convert else rgb)
            index += 1
            result.frames_decoded = index
            # stop right after the last frame asked for: decoding one more could only add an error of its own
            if (stop_after is not None and index > stop_after) or (limit is not None and index >= limit):
                break
    except (av.FFmpegError, ValueError, OSError) as exc:
        result.status = "partial" if index > 0 else "decode_error"
        result.reason = f"decoding broke off after {index} frame(s): {first_line(exc)}"
        result.frames_decoded = index
    if result.status == "ok" and index == 0:
        result.status, result.reason = "decode_error", "no frame could be decoded"


@dataclass
class DecodedVideo:
    """A whole video in memory (for short videos: synth, qualitative strips, tests)."""

    frames: np.ndarray  # uint8 (T, H, W, 3)
    fps: float
    status: str
    reason: str = ""
    info: VideoInfo | None = None


def _downscaler(info: VideoInfo, max_side: int | None) -> Callable[[np.ndarray], np.ndarray] | None:
    """A per-frame uint8 (H, W, 3) downscale so the longer side is at most ``max_side``; None when no
    frame needs it."""
    if not max_side or max(info.width, info.height) <= max_side:
        return None
    import torch
    from torchvision.transforms.v2 import functional as TF

    scale = max_side / max(info.width, info.height)
    size = [max(1, round(info.height * scale)), max(1, round(info.width * scale))]

    def convert(rgb: np.ndarray) -> np.ndarray:
        # antialiased bilinear downscale of the uint8 frame (torchvision), while decoding
        x = TF.resize(torch.from_numpy(rgb).permute(2, 0, 1), size, antialias=True)
        return x.permute(1, 2, 0).contiguous().numpy()

    return convert


def read_video(
    path: str | Path,
    fps: float | None = None,
    max_side: int | None = None,
    indices: np.ndarray | None = None,
) -> DecodedVideo:
    """Decode a whole video (or the given resampled ``indices``) into memory.

    fps: resample to this rate by presentation time (None keeps the source's frames and average rate).
    max_side: downscale so the longer side is at most this (aspect kept), while decoding.
    Returns frames uint8 (T, H, W, 3); on failure ``frames`` is empty and ``status`` says why.
    """
    return _read(path, fps, max_side, indices)


def _read(
    path: str | Path, fps: float | None, max_side: int | None, indices: np.ndarray | None
) -> DecodedVideo:
    try:
        info = probe(path)
    except VideoOpenError as exc:
        return DecodedVideo(np.zeros((0, 0, 0, 3), np.uint8), fps or 0.0, exc.status, exc.reason)
    times = info.usable_times  # never resample what a timestamp jump claims but the stream does not hold
    src_of_out = resample_indices(times, fps) if fps else np.arange(len(times))
    out = np.arange(len(src_of_out)) if indices is None else np.asarray(indices, dtype=np.int64)
    out = out[out < len(src_of_out)]
    wanted = {int(src_of_out[k]) for k in out}
    convert = _downscaler(info, max_side)
    result = DecodeResult()
    limit = info.usable_frames if info.time_jump else None
    got = dict(
        iter_source_frames(
            path, wanted, info.rotation, convert, result, limit=limit, stop_early=indices is not None
        )
    )
    frames = [got[int(src_of_out[k])] for k in out if int(src_of_out[k]) in got]
    status, reason = result.status, result.reason
    if status == "ok" and len(frames) < len(out):
        status, reason = "partial", f"only {len(frames)} of {len(out)} frames decoded"
    if status == "ok" and info.time_jump:
        status, reason = "partial", info.time_jump
    stacked = np.stack(frames) if frames else np.zeros((0, info.height, info.width, 3), np.uint8)
    return DecodedVideo(stacked, float(fps or info.avg_fps), status, reason, info)


@dataclass
class VideoPasses:
    """``read_video``'s frames (no resampling), decoded again on every pass instead of held in memory: for
    work that must see a whole video more than once (``synth``) at the memory of one frame.

    ``count()`` decodes without converting a frame to RGB and returns how many frames ``read_video`` would
    return, setting ``status`` and ``reason`` as it would; ``frames()`` yields them, uint8 (H, W, 3), each
    pass the same (FFmpeg's decoding is deterministic). With ``stop``, both take only the first ``stop`` frames
    and stop decoding there (``synth``'s background videos: as many frames as the swapped video needs).
    """

    path: str
    info: VideoInfo
    max_side: int | None = None
    status: str = "ok"
    reason: str = ""

    @property
    def fps(self) -> float:
        return float(self.info.avg_fps)

    def _limit(self) -> int | None:
        return self.info.usable_frames if self.info.time_jump else None

    def _wanted(self, stop: int | None) -> int:
        return self.info.usable_frames if stop is None else max(0, min(int(stop), self.info.usable_frames))

    def frames(self, stop: int | None = None) -> Iterator[np.ndarray]:
        count = self._wanted(stop)
        if count == 0:
            return iter(())
        wanted = set(range(count))
        convert = _downscaler(self.info, self.max_side)
        passes = iter_source_frames(
            self.path, wanted, self.info.rotation, convert, limit=self._limit(), stop_early=stop is not None
        )
        return (frame for _, frame in passes)

    def count(self, stop: int | None = None) -> int:
        result = DecodeResult()
        wanted = self._wanted(stop)
        if stop is not None and wanted == 0:
            self.status, self.reason = "ok", ""
            return 0
        limit = self._limit() if stop is None else wanted
        for _ in iter_source_frames(self.path, set(), self.info.rotation, result=result, limit=limit):
            pass  # nothing is wanted: every frame is decoded, none converted
        count = min(result.frames_decoded, wanted)
        self.status, self.reason = result.status, result.reason
        if self.status == "ok" and count < wanted:
            self.status, self.reason = "partial", f"only {count} of {wanted} frames decoded"
        if self.status == "ok" and self.info.time_jump:
            self.status, self.reason = "partial", self.info.time_jump
        return count


def video_passes(path: str | Path, max_side: int | None = None) -> VideoPasses:
    """``VideoPasses`` over ``path`` (probed now); raises ``VideoOpenError`` (``missing``, ``decode_error``)."""
    return VideoPasses(str(path), probe(path), max_side)

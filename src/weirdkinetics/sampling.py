"""Pure sampling functions: which frames a model sees.

Two steps, both deterministic functions of their inputs with no hidden state:
1. ``resample_indices(times, fps)``: source frame for each frame of the video resampled to the model's fps,
   by presentation time (safe for variable frame rate).
2. ``clip_indices(num_frames, spec)``: frame indices (num_clips, frames) of every clip, over resampled frames.

Clips are either runs of ``frames`` frames every ``stride``-th frame (dense or uniform starts), or, for models
evaluated TSN-style (X-CLIP), ``segment_indices``: the whole video split into ``frames`` equal segments, one
frame from each, or, for networks fully convolutional in time that were evaluated on whole videos (DeepMind's
I3D), ``whole_starts``: every frame, in passes of at most ``frames`` consecutive frames.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

import numpy as np

from weirdkinetics.errors import UserError, option


@dataclass(frozen=True)
class ClipSpec:
    """Temporal sampling protocol over frames resampled to ``fps``.

    Dense (``num_clips is None``): clips of ``frames`` frames every ``stride``-th frame, starting at
    0, ``spacing``, 2*``spacing``, ... for as long as a whole clip fits (the study's protocol). Uniform
    (``num_clips = N``): N clips with evenly spaced starts over the video. Segments (``segments=True``):
    the video in ``frames`` equal segments, one frame from each (``segment_indices``), ``num_clips`` views
    (default 1); ``stride`` and ``spacing`` play no part. Whole (``whole=True``): every frame, in windows of
    ``min(num_frames, frames)`` consecutive frames (``whole_starts``), at least ``min_frames`` (a shorter video
    repeats its last frame); clips of different videos then differ in length. ``crops``: 1 (centre) or 3
    (along the long side).
    """

    fps: float
    frames: int
    stride: int
    spacing: int
    num_clips: int | None = None
    crops: int = 1
    segments: bool = False
    whole: bool = False
    min_frames: int = 1

    @property
    def span(self) -> int:
        """Frames a video needs for whole clips: one clip's span, one frame per segment, or for whole-video
        windows the fewest frames the network takes."""
        if self.whole:
            return self.min_frames
        return self.frames if self.segments else (self.frames - 1) * self.stride + 1

    def key(self) -> str:
        """Stable text naming the protocol (part of a run's identity in the store)."""
        if self.whole:
            return f"whole{self.frames}min{self.min_frames}@{self.fps:g}fps/crops{self.crops}"
        if self.segments:
            return f"{self.frames}segments@{self.fps:g}fps/views{self.num_clips or 1}/crops{self.crops}"
        clips = f"uniform{self.num_clips}" if self.num_clips else f"dense{self.spacing}"
        return f"{self.frames}x{self.stride}@{self.fps:g}fps/{clips}/crops{self.crops}"

    def to_dict(self) -> dict:
        return asdict(self)


MAX_VIEWS_PER_VIDEO = 1000
"""Most views (clips x crops) ``--clips uniform:N`` or ``segments:NxV`` may ask of one video. Dense sampling
(the card's protocol) has as many clips as the video's length holds: one per ``spacing`` frames."""

MAX_WHOLE_FRAMES = 100_000
"""Largest window of ``--clips whole:N`` (over an hour at 25 fps; memory, not this limit, is what binds)."""

_CLIPS = re.compile(r"dense|uniform:(\d{1,9})|segments:(\d{1,9})(?:x(\d{1,9}))?|whole:(\d{1,9})")


def parse_clips(clips: str) -> tuple[str, int | None, int]:
    """``--clips`` as (kind, N, views): ``dense`` -> ("dense", None, 1), ``uniform:N`` -> ("uniform", N, 1),
    ``segments:N[xV]`` -> ("segments", N, V), ``whole:N`` -> ("whole", N, 1); N and V from 1 to
    ``MAX_VIEWS_PER_VIDEO`` (``whole:N``: N from 1 to ``MAX_WHOLE_FRAMES``)."""
    m = _CLIPS.fullmatch(clips)
    if (
        m is None
        or (m.group(1) and not 1 <= int(m.group(1)) <= MAX_VIEWS_PER_VIDEO)
        or (m.group(4) and not 1 <= int(m.group(4)) <= MAX_WHOLE_FRAMES)
    ):
        raise UserError(
            f"{option('clips', clips)}: use 'dense' (the card's protocol), 'uniform:N' with N from 1 to "
            f"{MAX_VIEWS_PER_VIDEO}, 'segments:N[xV]' (N equal segments, one frame each; V views), or "
            f"'whole:N' (every frame, in passes of at most N from 1 to {MAX_WHOLE_FRAMES})"
        )
    if clips == "dense":
        return "dense", None, 1
    if m.group(1):
        return "uniform", int(m.group(1)), 1
    if m.group(4):
        return "whole", int(m.group(4)), 1
    n, views = int(m.group(2)), int(m.group(3) or 1)
    if not 1 <= views <= MAX_VIEWS_PER_VIDEO:
        raise UserError(
            f"{option('clips', clips)}: V must be from 1 to {MAX_VIEWS_PER_VIDEO}: use 'segments:{n}xV'"
        )
    return "segments", n, views


def spec_for(card, clips: str | None = None, crops: int | None = None) -> ClipSpec:
    """The card's protocol, with ``--clips dense|uniform:N|segments:N[xV]`` and ``--crops 1|3`` applied.

    ``clips=None`` takes the card's ``default_clips``. ``segments:N`` needs N = the card's frames per clip
    (one frame per segment); ``segments:NxV`` takes V views (``segment_indices``). Uniform and segment
    sampling may ask at most ``MAX_VIEWS_PER_VIDEO`` views (clips x crops) of a video.
    """
    crops = card.default_crops if crops is None else crops
    clips = card.default_clips if clips is None else clips
    if crops not in (1, 3):
        raise UserError(f"{option('crops', crops)}: must be 1 or 3")
    kind, n, views = parse_clips(clips)
    count = views if kind == "segments" else n
    if count is not None and count * crops > MAX_VIEWS_PER_VIDEO:
        raise UserError(
            f"{option('clips', clips)} with {crops} crops is {count * crops} views per video, more than the limit of "
            f"{MAX_VIEWS_PER_VIDEO}; use at most "
            + (
                f"segments:{n}x{MAX_VIEWS_PER_VIDEO // crops}"
                if kind == "segments"
                else f"uniform:{MAX_VIEWS_PER_VIDEO // crops}"
            )
        )
    if kind == "whole":
        return ClipSpec(card.fps, n, 1, n, None, crops, whole=True, min_frames=max(1, card.min_frames))
    if kind == "segments":
        if n != card.frames:
            raise UserError(
                f"{option('clips', clips)}: model '{card.name}' takes {card.frames} frames, one per segment: "
                f"use 'segments:{card.frames}' (or 'segments:{card.frames}xV' for V views)"
            )
        return ClipSpec(card.fps, card.frames, card.stride, card.clip_spacing, views, crops, segments=True)
    num_clips = n if kind == "uniform" else None
    return ClipSpec(card.fps, card.frames, card.stride, card.clip_spacing, num_clips, crops)


MAX_FRAME_GAP_S = 10.0
"""Longest time one source frame may be shown. A stream whose timestamps jump further holds far less than it
claims (a 3-frame file whose last frame is 10 h away would resample to 1.6 M copies of one frame): only the
frames before the first such jump are used, and the row is ``partial`` with the reason. 10 s is a whole
Kinetics clip: a frame held longer carries no motion for an action model."""


def frames_before_jump(times: np.ndarray, max_gap: float = MAX_FRAME_GAP_S) -> int:
    """How many leading frames come before the first gap between consecutive times longer than ``max_gap``
    seconds: ``len(times)`` when there is none. times: float64 (N,) sorted. Resampling those frames alone
    gives at most about ``N * max_gap * fps`` frames, bounded by the frames the stream really holds."""
    big = np.flatnonzero(np.diff(np.asarray(times, dtype=np.float64)) > max_gap)
    return int(big[0]) + 1 if len(big) else len(times)


def resampled_count(times: np.ndarray, fps: float, frame_duration: float | None = None) -> int:
    """Number of frames at ``fps`` covering the source's presentation interval.

    times: float64 (N,) sorted source frame times in seconds. The interval is
    ``[times[0], times[-1] + frame_duration)``; ``frame_duration`` defaults to the median frame gap.
    """
    n = len(times)
    if n == 0:
        return 0
    if frame_duration is None:
        frame_duration = float(np.median(np.diff(times))) if n > 1 else 1.0 / fps
    length = float(times[-1] - times[0]) + frame_duration
    # a hair of tolerance so 300 frames at 1/30 s give exactly 300, not 301, despite rounding in timestamps
    return max(1, int(math.ceil(length * fps - 1e-3)))


def resample_indices(times: np.ndarray, fps: float, frame_duration: float | None = None) -> np.ndarray:
    """Source frame shown at each output time ``times[0] + k / fps``: the nearest source frame by time
    (ties go to the earlier frame), as FFmpeg's ``fps`` filter does with ``round=near``.

    times: float64 (N,) sorted. Returns int64 (M,) non-decreasing source indices, M = ``resampled_count``.
    """
    times = np.asarray(times, dtype=np.float64)
    m = resampled_count(times, fps, frame_duration)
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    targets = times[0] + np.arange(m, dtype=np.float64) / fps
    right = np.searchsorted(times, targets, side="left").clip(0, len(times) - 1)
    left = (right - 1).clip(0, None)
    pick_left = np.abs(targets - times[left]) <= np.abs(times[right] - targets)
    return np.where(pick_left, left, right).astype(np.int64)


def clip_starts(num_frames: int, spec: ClipSpec) -> np.ndarray:
    """First frame of each clip: int64 (num_clips,). At least one clip, starting at 0, when the video is
    shorter than one clip span."""
    if num_frames <= 0:
        return np.zeros(0, dtype=np.int64)
    last_start = num_frames - spec.span
    if last_start < 0:
        return np.zeros(1, dtype=np.int64)
    if spec.num_clips is None:
        return np.arange(0, last_start + 1, spec.spacing, dtype=np.int64)
    if spec.num_clips == 1:
        return np.array([last_start // 2], dtype=np.int64)
    # evenly spaced from the first to the last possible start (PyTorchVideo's constant_clips_per_video idea)
    return np.round(np.linspace(0, last_start, spec.num_clips)).astype(np.int64)


def segment_indices(num_frames: int, segments: int, views: int = 1) -> np.ndarray:
    """TSN-style sampling: the video split into ``segments`` equal segments, one frame from each.

    Returns int64 (views, segments). Segment ``i`` covers frames ``[i * L, (i + 1) * L)`` with
    ``L = num_frames / segments``; view ``v`` takes the frame at ``(v + 0.5) / views`` of the way through
    each segment, rounded down. One view is the segment's centre frame, exactly mmaction2's
    ``SampleFrames(clip_len=1, frame_interval=1, num_clips=segments, test_mode=True)``
    (``int(i * L + L / 2)``), the test sampling X-CLIP was evaluated with. X-CLIP's multi-view test draws
    each view's frames at random within the segments; ``views > 1`` spreads them evenly instead, so the
    result stays a function of its inputs. A video with fewer frames than segments repeats frames (rows stay
    non-decreasing); an empty video gives no rows: shape (0, segments).
    """
    if num_frames <= 0:
        return np.zeros((0, segments), dtype=np.int64)
    length = num_frames / segments
    where = (np.arange(views, dtype=np.float64)[:, None] + 0.5) / views * length
    idx = (np.arange(segments, dtype=np.float64)[None, :] * length + where).astype(np.int64)
    return np.minimum(idx, num_frames - 1)


def whole_starts(num_frames: int, window: int) -> np.ndarray:
    """First frame of each whole-video window: int64 (ceil(num_frames / window),).

    Windows of ``window`` consecutive frames start at 0, window, 2 * window, ...; the last one starts at
    ``num_frames - window`` so that it ends with the video: every window is full length (one network input
    shape per video) and every frame is in one, the last ones possibly in two. A video of at most ``window``
    frames is one window, starting at 0; an empty video has none.
    """
    if num_frames <= 0:
        return np.zeros(0, dtype=np.int64)
    count = -(-num_frames // window)
    return np.minimum(np.arange(count, dtype=np.int64) * window, max(num_frames - window, 0))


def whole_indices(num_frames: int, spec: ClipSpec) -> np.ndarray:
    """Frame indices of whole-video windows: int64 (num_windows, L) with L = max(min(num_frames, frames),
    min_frames), consecutive frames; a video under ``min_frames`` repeats its last frame."""
    if num_frames <= 0:
        return np.zeros((0, max(spec.min_frames, 1)), dtype=np.int64)
    length = max(min(num_frames, spec.frames), spec.min_frames)
    idx = whole_starts(num_frames, spec.frames)[:, None] + np.arange(length, dtype=np.int64)[None, :]
    return np.minimum(idx, num_frames - 1)


def clip_indices(num_frames: int, spec: ClipSpec) -> np.ndarray:
    """Frame indices of every clip: int64 (num_clips, spec.frames), each row non-decreasing.

    Indices past the last frame (a video shorter than one clip) are clamped to the last frame. Segment
    specs give ``segment_indices`` (one row per view); whole-video specs ``whole_indices`` (rows as long as
    the video allows, up to ``spec.frames``).
    """
    if spec.whole:
        return whole_indices(num_frames, spec)
    if spec.segments:
        return segment_indices(num_frames, spec.frames, spec.num_clips or 1)
    starts = clip_starts(num_frames, spec)
    idx = starts[:, None] + np.arange(spec.frames, dtype=np.int64)[None, :] * spec.stride
    return np.minimum(idx, max(num_frames - 1, 0))


def is_short(num_frames: int, spec: ClipSpec) -> bool:
    """True when the video has fewer frames than one clip spans."""
    return num_frames < spec.span

"""From one manifest row to the clips every job needs: a stream of events, decoded once per decode group.

This is the seam every engine shares. ``row_events`` decodes a row once for each group of jobs that share a
frame rate and resize, and yields ``ClipViews`` as clips complete and one ``VideoEnd`` per (row, job) with its
status. The local engine runs it in a background thread; a parallel or distributed engine (worker processes,
Ray tasks) runs the same generator elsewhere and ships its events; attribution consumes the same clips.

A decode that breaks off mid-stream is retried over the frames before the break: the retry's events carry
``attempt + 1``, and a consumer keeps only the clips of the attempt its ``VideoEnd`` names, so nothing has to be
"reset" in flight.

Memory is bounded by the clips in flight: frames are resized as they are decoded and released as soon as no
pending clip needs them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from weirdkinetics import sampling, statuses
from weirdkinetics.decode import DecodeResult, VideoInfo, VideoOpenError, iter_source_frames, probe
from weirdkinetics.manifest import ManifestRow
from weirdkinetics.statuses import RowFailure

if TYPE_CHECKING:  # torch and the models load lazily with the engine
    import torch

    from weirdkinetics.models.card import ModelCard
    from weirdkinetics.models.loading import LoadedModel


@dataclass(frozen=True)
class ClipTask:
    """What decoding needs to know of a run: the card's input protocol and the sampling spec (plain data,
    so it can travel to a worker process)."""

    card: ModelCard
    spec: sampling.ClipSpec

    @property
    def slots(self) -> int:
        """Batch slots the longest clip of this task takes: ``ceil(frames / card.frames)`` (a whole-video window
        of 250 frames at a 64-frame card takes 4), 1 for the card's own clips."""
        return clip_slots(self.spec.frames, self.card.frames)


def clip_slots(clip_frames: int, card_frames: int) -> int:
    """Pure: batch slots of a clip of ``clip_frames``: ``ceil(clip_frames / card_frames)``, at least 1."""
    return max(1, -(-int(clip_frames) // max(int(card_frames), 1)))


def queue_depth(tasks: list[ClipTask], clips: int) -> int:
    """Pure: how many decoded clips may wait between decoding and the models: ``clips`` of the card's length,
    fewer when a task's clips are longer (``--clips whole:250`` windows hold as many frames as 4 of a 64-frame
    card's clips), at least 1. Without this a long video's whole-video windows queued up 4 to 8 deep: 150 MiB each
    at 224x224 (measured: 10 s 2559 MiB peak, 60 s 3756 MiB, ``benchmarks/whole_memory.py``)."""
    return max(1, clips // max((task.slots for task in tasks), default=1))


@dataclass(frozen=True)
class Job:
    """One run: a loaded model, its sampling spec, the run's identity and the names of its score vector."""

    model: LoadedModel
    spec: sampling.ClipSpec
    run_id: str
    class_names: list[str]

    @property
    def task(self) -> ClipTask:
        return ClipTask(self.model.card, self.spec)


@dataclass(frozen=True)
class ClipViews:
    """The views of one clip for one job: float32 (crops, C, T, crop, crop), ready for the model."""

    row: int
    job: int
    clip: int
    attempt: int
    views: torch.Tensor


@dataclass(frozen=True)
class VideoEnd:
    """How decoding one row ended for one job. ``attempt`` names the pass whose clips count."""

    row: int
    job: int
    attempt: int
    status: str
    reason: str
    num_frames: int | None
    decode_s: float


Event = ClipViews | VideoEnd


def decode_key(card: ModelCard) -> tuple:
    """Runs with equal keys share one decoding pass (same frame rate, same resized frames)."""
    c = card
    return (c.fps, c.resize, c.resize_on_uint8, c.interpolation, c.antialias)


def decode_groups(wanted: list[int], tasks: list[ClipTask]) -> list[dict[int, ClipTask]]:
    """Task indices grouped by decode key, in first-seen order."""
    groups: dict[tuple, dict[int, ClipTask]] = {}
    for j in wanted:
        groups.setdefault(decode_key(tasks[j].card), {})[j] = tasks[j]
    return list(groups.values())


@dataclass(frozen=True)
class VideoPlan:
    """Which resampled frames each job needs for one video."""

    num_frames: int  # resampled to the group's fps
    src_of_out: np.ndarray  # int64 (num_frames,) source frame of each resampled frame
    clips: dict[int, np.ndarray]  # job index -> int64 (num_clips, T) resampled indices


def plan_video(times: np.ndarray, fps: float, tasks: dict[int, ClipTask]) -> VideoPlan:
    """Pure: the clips of every job in a decode group, from the source frame times."""
    src_of_out = sampling.resample_indices(times, fps)
    n = len(src_of_out)
    return VideoPlan(n, src_of_out, {j: sampling.clip_indices(n, task.spec) for j, task in tasks.items()})


def assemble(
    path: str,
    rotation: int,
    plan: VideoPlan,
    tasks: dict[int, ClipTask],
    result: DecodeResult,
    limit: int | None,
) -> Iterator[tuple[int, int, torch.Tensor]]:
    """Decode once; yield ``(job index, clip index, views float32 (crops, C, T, crop, crop))`` as clips complete.

    Resampled frame k is kept (resized) only while an incomplete clip still needs it.
    """
    import torch

    from weirdkinetics.transforms import clips_from_resized, resize_frames

    card = next(iter(tasks.values())).card

    def convert(rgb: np.ndarray) -> torch.Tensor:
        return resize_frames(torch.from_numpy(rgb)[None], card)[0]  # float32 (C, h, w)

    # clips in order of their last frame; a frame is released once every clip that uses it is made
    pending = sorted(
        ((int(idx[-1]), j, c) for j, arr in plan.clips.items() for c, idx in enumerate(arr)),
        key=lambda t: t[0],
    )
    uses: dict[int, int] = {}  # resampled frame -> clips (counted per occurrence) not yet made from it
    for _, j, c in pending:
        for k in plan.clips[j][c]:
            uses[int(k)] = uses.get(int(k), 0) + 1
    outs_of_src: dict[int, list[int]] = {}
    for k in sorted(uses):
        outs_of_src.setdefault(int(plan.src_of_out[k]), []).append(k)
    kept: dict[int, torch.Tensor] = {}
    cursor = 0
    for src, frame in iter_source_frames(path, set(outs_of_src), rotation, convert, result, limit):
        for k in outs_of_src[src]:
            kept[k] = frame
        newest = max(outs_of_src[src])
        while cursor < len(pending) and pending[cursor][0] <= newest:
            _, j, c = pending[cursor]
            cursor += 1
            clip = torch.stack([kept[int(k)] for k in plan.clips[j][c]])  # (T, C, h, w)
            # frames no later clip needs go before this clip is handed on, and so does its stacked copy: a
            # 250-frame window's resized frames (350 MiB at 256x455) are not held while the model scores it,
            # and the clips that end on one frame (one per job of a study) are made and handed on one at a time
            for k in plan.clips[j][c]:
                uses[int(k)] -= 1
                if uses[int(k)] == 0:
                    del kept[int(k)]
            views = clips_from_resized(clip, tasks[j].card, tasks[j].spec.crops)
            del clip
            yield j, c, views


def short_note(num_frames: int, fps: float, spec: sampling.ClipSpec) -> str:
    return (
        f"{num_frames} frame(s) at {fps:g} fps, fewer than one clip's span of {spec.span}: "
        "indices clamped to the last frame"
    )


def job_status(
    status: str, reason: str, num_frames: int, fps: float, spec: sampling.ClipSpec
) -> tuple[str, str]:
    """Pure: a decoding outcome (``ok`` or ``partial``) as one job's status, ``short`` when a clip is clamped."""
    if not sampling.is_short(num_frames, spec):
        return status, reason
    note = short_note(num_frames, fps, spec)
    return ("short", note) if status == "ok" else (status, f"{reason}; {note}")


class _Stopwatch:
    """Seconds spent inside iterators, not while their consumer holds a yielded item."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def timed(self, items: Iterator) -> Iterator:
        tick = time.perf_counter()
        for item in items:
            self.seconds += time.perf_counter() - tick
            yield item
            tick = time.perf_counter()
        self.seconds += time.perf_counter() - tick


def _decoding_outcome(result: DecodeResult, info: VideoInfo, plan: VideoPlan) -> tuple[str, str, bool]:
    """Pure: a decoding pass's status and reason, and whether the stream ended cleanly but short of the frames its
    index lists (a truncated file): its last clips, or a whole-video window, never completed, so the caller plans
    again over what it held, as after a break."""
    status, reason = result.status, result.reason
    needed = int(plan.src_of_out.max()) + 1 if plan.num_frames else 0
    ended_early = status == "ok" and result.frames_decoded < needed
    if status == "ok" and (info.time_jump or info.truncation or ended_early):
        status = "partial"
        reason = (
            info.time_jump
            or info.truncation
            or (f"the stream ended after {result.frames_decoded} of the {needed} frame(s) it lists")
        )
    return status, reason, ended_early


def _decode_group(i: int, row: ManifestRow, info: VideoInfo, group: dict[int, ClipTask]) -> Iterator[Event]:
    """Events of one (row, decode group): clips of attempt 0, and of attempt 1 when decoding broke off."""
    clock = _Stopwatch()
    fps = next(iter(group.values())).card.fps
    # only the frames before a timestamp jump: resampling is bounded by what the stream holds
    plan = plan_video(info.usable_times, fps, group)
    result = DecodeResult()
    attempt = 0
    limit = info.usable_frames if info.time_jump else None
    for j, c, views in clock.timed(assemble(str(row.path), info.rotation, plan, group, result, limit)):
        yield ClipViews(i, j, c, attempt, views)
    status, reason, ended_early = _decoding_outcome(result, info, plan)
    if result.status == "partial" or ended_early:
        # plan again over the frames before the break and decode them again; earlier clips are superseded
        attempt, good = 1, result.frames_decoded
        plan = plan_video(info.times[:good], fps, group)
        for j, c, views in clock.timed(
            assemble(str(row.path), info.rotation, plan, group, DecodeResult(), good)
        ):
            yield ClipViews(i, j, c, attempt, views)
        reason = f"{reason}; used the {good} frame(s) before the break ({plan.num_frames} at {fps:g} fps)"
    decode_s = clock.seconds
    for j, job in group.items():
        if status in ("ok", "partial"):
            st, why = job_status(status, reason, plan.num_frames, fps, job.spec)
            yield VideoEnd(i, j, attempt, st, why, plan.num_frames, decode_s)
        else:
            yield VideoEnd(i, j, attempt, status, reason, 0, decode_s)


def probe_file(path: str | Path) -> VideoInfo:
    """A file's metadata once it is known to hold a video; raises ``RowFailure`` for a file that cannot be
    opened (``missing``, ``decode_error``), one without video frames (``decode_error``) and a still image
    (``not_video``: an image renamed .mp4 is not a 1-frame "short" video)."""
    try:
        info = probe(path)
    except VideoOpenError as exc:
        raise RowFailure(exc.status, exc.reason) from None
    if info.num_frames == 0:
        raise RowFailure("decode_error", "no video frames in the file", num_frames=0)
    if info.still_image:
        raise RowFailure(statuses.NOT_VIDEO, info.still_image, num_frames=1)
    return info


def probe_row(row: ManifestRow) -> VideoInfo:
    """The checks every stage makes of a manifest row before decoding it (evaluate and explain share them):
    a derived row that synth did not make ends ``excluded`` with synth's reason (never a misleading "missing
    file"), then ``probe_file``. Returns the video's metadata; raises ``RowFailure``."""
    synth_status = row.extra.get("synth_status", "ok")
    if synth_status not in ("", "ok"):
        why = row.extra.get("excluded_reason") or f"synth status {synth_status}"
        raise RowFailure("excluded", f"synth {synth_status}: {why}")
    return probe_file(row.path)


def failed_row_events(i: int, wanted: list[int], failure: RowFailure, seconds: float) -> list[VideoEnd]:
    """How a row that fails before any clip ends: one ``VideoEnd`` per wanted task, with the failure's status."""
    return [VideoEnd(i, j, 0, failure.status, failure.reason, failure.num_frames, seconds) for j in wanted]


def row_events(i: int, row: ManifestRow, wanted: list[int], tasks: list[ClipTask]) -> Iterator[Event]:
    """Every event of one manifest row for the tasks ``wanted`` (indices into ``tasks``): a ``VideoEnd`` for each."""
    t0 = time.perf_counter()
    try:
        info = probe_row(row)
    except RowFailure as failure:
        yield from failed_row_events(i, wanted, failure, time.perf_counter() - t0)
        return
    for group in decode_groups(wanted, tasks):
        yield from _decode_group(i, row, info, group)


def manifest_events(
    rows: list[ManifestRow], todo: dict[int, list[int]], tasks: list[ClipTask]
) -> Iterator[Event]:
    """Every event of the rows in ``todo`` (row index -> job indices), row by row."""
    for i, row in enumerate(rows):
        if todo.get(i):
            yield from row_events(i, row, todo[i], tasks)

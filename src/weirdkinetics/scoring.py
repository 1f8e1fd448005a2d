"""The scorer: runs clips through the models in batches and turns each video's clips into its result.

It owns the batches (one per job) and a per-(row, job) accumulator, and consumes the events of
``clips.row_events`` in order. Clips of a superseded decoding attempt are dropped, never scored into a result.
With ``across_videos`` a batch fills up with clips of several videos (what a GPU wants); otherwise it is flushed
at the end of each video (fastest per clip on CPU, and the first results come soonest). Either way a video is
finished only when all its clips are scored, so per-video accounting stays exact, and memory is bounded by
``batch_size`` clips per job in flight.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from weirdkinetics import statuses
from weirdkinetics.clips import ClipViews, Event, Job, VideoEnd
from weirdkinetics.inference import Runner, Runtime
from weirdkinetics.statuses import COUNTED as OK_STATUSES


@dataclass(frozen=True)
class ScoredVideo:
    """One (row, job) result. ``clip_scores``: float32 (num_clips, K) softmax averaged over crops, or None."""

    row: int
    job: int
    status: str
    reason: str
    num_frames: int | None
    clip_scores: np.ndarray | None
    decode_s: float
    infer_s: float

    @property
    def scores(self) -> np.ndarray | None:
        """float32 (K,): the mean over clips (the video's prediction), or None."""
        return None if self.clip_scores is None else self.clip_scores.mean(axis=0)


def scored_status(status: str, reason: str, clip_scores: np.ndarray | None) -> tuple[str, str]:
    """Pure: the final status of a video whose decoding ended with ``status`` and whose clips scored
    ``clip_scores`` float32 (num_clips, K) (None: no clip). Non-finite scores are kept for inspection but
    never counted: the status says why."""
    if status not in OK_STATUSES:
        return status, reason
    if clip_scores is None or len(clip_scores) == 0:
        return "decode_error", (reason + "; " if reason else "") + "no clip could be formed"
    bad = int((~np.isfinite(clip_scores)).any(axis=1).sum())
    if bad:
        why = (
            f"the model's scores are NaN or infinite in {bad} of {len(clip_scores)} clip(s) "
            "(broken weights or an unstable model?); not counted"
        )
        return statuses.NONFINITE_SCORES, why + (f"; {reason}" if reason else "")
    return status, reason


@dataclass
class _Video:
    attempt: int = 0
    clips: dict[int, np.ndarray] = field(default_factory=dict)  # clip index -> float32 (K,)
    pending: int = 0  # clips of the current attempt waiting in a batch
    infer_s: float = 0.0
    end: VideoEnd | None = None


class Scorer:
    """Feed it events in stream order; it returns the videos that are finished after each one."""

    def __init__(
        self,
        jobs: list[Job],
        batch_size: int = 8,
        across_videos: bool = False,
        runtime: Runtime | None = None,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.jobs, self.batch_size, self.across_videos = jobs, batch_size, across_videos
        runtime = runtime or Runtime()
        self.runners = [Runner(job.model, runtime) for job in jobs]
        self._batches: dict[int, list[ClipViews]] = {}
        self._videos: dict[tuple[int, int], _Video] = {}

    def feed(self, event: Event) -> list[ScoredVideo]:
        key = (event.row, event.job)
        video = self._videos.setdefault(key, _Video(attempt=event.attempt))
        if event.attempt > video.attempt:  # a retry supersedes the clips of the earlier pass
            video.attempt, video.clips, video.pending, video.infer_s = event.attempt, {}, 0, 0.0
        if isinstance(event, ClipViews):
            if event.attempt == video.attempt:
                self._batches.setdefault(event.job, []).append(event)
                video.pending += 1
                if len(self._batches[event.job]) >= self.batch_size:
                    self._flush(event.job)
        else:
            video.end = event
            if not self.across_videos:
                self._flush(event.job)
        return self._finished()

    def close(self) -> list[ScoredVideo]:
        """Score whatever is still batched; return the videos that finishes."""
        for j in list(self._batches):
            self._flush(j)
        return self._finished()

    def _flush(self, j: int) -> None:
        import torch

        # clips of a superseded attempt may still sit in the batch: skip them
        items = [
            it for it in self._batches.pop(j, []) if self._videos[(it.row, it.job)].attempt == it.attempt
        ]
        if not items:
            return
        t0 = time.perf_counter()
        views = torch.cat([it.views for it in items])  # (sum of crops, C, T, H, W)
        probs = self.runners[j].probs(views)
        share = (time.perf_counter() - t0) / len(items)
        at = 0
        for it in items:
            n = it.views.shape[0]
            video = self._videos[(it.row, it.job)]
            video.clips[it.clip] = probs[at : at + n].mean(axis=0)
            video.pending -= 1
            video.infer_s += share
            at += n

    def _finished(self) -> list[ScoredVideo]:
        done = [key for key, v in self._videos.items() if v.end is not None and v.pending == 0]
        out = []
        for key in done:
            video = self._videos.pop(key)
            end = video.end
            clip_arr = None
            if end.status in OK_STATUSES and video.clips and end.attempt == video.attempt:
                clip_arr = np.stack([video.clips[c] for c in sorted(video.clips)]).astype(np.float32)
            status, reason = scored_status(end.status, end.reason, clip_arr)
            out.append(
                ScoredVideo(
                    end.row, end.job, status, reason, end.num_frames, clip_arr, end.decode_s, video.infer_s
                )
            )
        return out

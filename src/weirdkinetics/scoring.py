"""The scorer: runs clips through the models in batches and turns each video's clips into its result.

It owns the batches (one per job) and a per-(row, job) accumulator, and consumes the events of
``clips.row_events`` in order. Clips of a superseded decoding attempt are dropped, never scored into a result.
With ``across_videos`` a batch fills up with clips of several videos (what a GPU wants); otherwise it is flushed
at the end of each video (fastest per clip on CPU, and the first results come soonest). Either way a video is
finished only when all its clips are scored, so per-video accounting stays exact, and memory is bounded by
``batch_size`` clips per job in flight.

A run at bf16 or fp16 checks itself: the scorer also scores a sample of its clips in fp32 (the same views
through the same module): clips 0, 40, 60, 80, ... per model in the order they arrive (every
``PRECISION_CHECK_EVERY``-th, clip 0 standing in for clip 20), at most ``PRECISION_CHECK_CLIPS``: a run of n
clips checks max(1, (n - 1) // 20) of them, at most 5 % of its forwards once it has 20 clips, and the sample is
spread over the run rather than its first video. A checked clip longer than the card's own clip (a
whole-video window of ``--clips whole:N``) is checked on its first ``card.frames`` frames, scored in both
precisions: the same network and kernels at a quarter of a 250-frame window's cost, where the whole window again
in fp32 doubled a one-window run. It hands both back with their videos (``ScoredVideo.checked``); the store's
writer compares them (``compare_precision``) and records the agreement in the run's provenance. On Ray each
actor's scorer samples its own clips. fp32 runs check nothing.

Clips of one job may differ in length (``--clips whole:N``: each video's windows are as long as the video
allows): a batch runs one forward per clip shape, and counts a clip as ``ceil(T / card.frames)`` of the
``batch_size`` slots, so a batch of long windows holds about as many frames as a batch of the card's clips.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from weirdkinetics import statuses
from weirdkinetics.clips import ClipViews, Event, Job, VideoEnd, clip_slots
from weirdkinetics.inference import Runner, Runtime
from weirdkinetics.statuses import COUNTED as OK_STATUSES

PRECISION_CHECK_CLIPS = 16
"""Most clips per model that a bf16/fp16 scorer also scores in fp32: enough to see a model whose top-1 flips
under rounding."""

PRECISION_CHECK_EVERY = 20
"""A bf16/fp16 scorer checks clips 0, 40, 60, 80, ... of each model (in arrival order, up to
``PRECISION_CHECK_CLIPS``): at most one fp32 forward per 20 of the run's, and at least one (issue 18)."""

AGREEMENT_FLOOR = 0.99
"""Below this top-1 agreement with fp32 a low-precision run warns (issue 12: at least 99 %)."""


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
    checked: tuple[np.ndarray, np.ndarray] | None = None
    """The precision check's clips of this video: (probabilities at the run's precision, the same clips' fp32
    probabilities), each float32 (n, K); None when none of its clips was checked."""

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


@dataclass(frozen=True)
class PrecisionCheck:
    """A low-precision run against fp32 on the same clips: how many clips were compared, how many name the
    same top-1 class over all the model's classes (``agree``) and over the run's class subset
    (``agree_subset``: where the study's accuracy is decided), and the largest |p - p_fp32| of a probability.
    Checks of disjoint clips add up (counts sum, the largest difference is the larger one)."""

    clips: int = 0
    agree: int = 0
    agree_subset: int = 0
    max_abs_prob_diff: float = 0.0

    def __add__(self, other: PrecisionCheck) -> PrecisionCheck:
        return PrecisionCheck(
            self.clips + other.clips,
            self.agree + other.agree,
            self.agree_subset + other.agree_subset,
            max(self.max_abs_prob_diff, other.max_abs_prob_diff),
        )

    @property
    def top1_agreement(self) -> float:
        return self.agree / self.clips if self.clips else float("nan")

    @property
    def top1_agreement_subset(self) -> float:
        return self.agree_subset / self.clips if self.clips else float("nan")

    def to_dict(self) -> dict:
        """What a run's provenance records (``precision_check``)."""
        return {
            "against": "fp32",
            "clips": self.clips,
            "top1_agreement": round(self.top1_agreement, 6),
            "top1_agreement_classes": round(self.top1_agreement_subset, 6),
            "max_abs_prob_diff": float(f"{self.max_abs_prob_diff:.6g}"),
            "agree": self.agree,
            "agree_classes": self.agree_subset,
        }

    @classmethod
    def from_dict(cls, d: dict) -> PrecisionCheck:
        return cls(int(d["clips"]), int(d["agree"]), int(d["agree_classes"]), float(d["max_abs_prob_diff"]))


def compare_precision(low: np.ndarray, ref: np.ndarray, subset: list[int] | None = None) -> PrecisionCheck:
    """Pure: clips scored at low precision against the same clips in fp32.

    low, ref: float32 (n, K) probabilities; subset: the class indices of the run's class subset (None: all).
    A clip whose fp32 scores are not finite is left out (fp32 itself fails there, not the precision); one whose
    low-precision scores are not finite disagrees and is left out of the largest difference."""
    keep = np.isfinite(ref).all(axis=1)
    low, ref = low[keep], ref[keep]
    finite = np.isfinite(low).all(axis=1)
    same = finite & (low.argmax(axis=1) == ref.argmax(axis=1))
    if subset is None:
        same_subset = same
    else:
        same_subset = finite & (low[:, subset].argmax(axis=1) == ref[:, subset].argmax(axis=1))
    diff = float(np.abs(low[finite] - ref[finite]).max()) if finite.any() else 0.0
    return PrecisionCheck(len(ref), int(same.sum()), int(same_subset.sum()), diff)


@dataclass
class _Video:
    attempt: int = 0
    clips: dict[int, np.ndarray] = field(default_factory=dict)  # clip index -> float32 (K,)
    reference: dict[int, np.ndarray] = field(default_factory=dict)  # checked clip -> (2, K): low, fp32
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
        check_clips: int = PRECISION_CHECK_CLIPS,
        check_every: int = PRECISION_CHECK_EVERY,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.jobs, self.batch_size, self.across_videos = jobs, batch_size, across_videos
        runtime = runtime or Runtime()
        self.runners = [Runner(job.model, runtime) for job in jobs]
        # a bf16/fp16 run also scores its first clips in fp32: the same module, uncompiled, in its own runner
        reference = dataclasses.replace(runtime, precision="fp32", compile=False)
        checks = runtime.precision != "fp32" and check_clips > 0
        self._references = [Runner(job.model, reference) for job in jobs] if checks else []
        self._to_check = [check_clips if checks else 0 for _ in jobs]
        self._check_every = max(1, check_every)
        self._arrived = [0 for _ in jobs]  # clips scored per job so far: which ones to check
        self._batches: dict[int, list[ClipViews]] = {}
        self._filled: dict[int, int] = {}  # batch slots taken per job (a long clip takes several)
        self._videos: dict[tuple[int, int], _Video] = {}

    def feed(self, event: Event) -> list[ScoredVideo]:
        key = (event.row, event.job)
        video = self._videos.setdefault(key, _Video(attempt=event.attempt))
        if event.attempt > video.attempt:  # a retry supersedes the clips of the earlier pass
            video.attempt, video.clips, video.pending, video.infer_s = event.attempt, {}, 0, 0.0
            video.reference = {}
        if isinstance(event, ClipViews):
            if event.attempt == video.attempt:
                self._batches.setdefault(event.job, []).append(event)
                self._filled[event.job] = self._filled.get(event.job, 0) + self._slots(event)
                video.pending += 1
                if self._filled[event.job] >= self.batch_size:
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

    def _slots(self, event: ClipViews) -> int:
        """Batch slots a clip takes: ``ceil(T / card.frames)``, 1 for a clip of the card's length."""
        return clip_slots(int(event.views.shape[2]), self.jobs[event.job].model.card.frames)

    def _flush(self, j: int) -> None:
        # clips of a superseded attempt may still sit in the batch: skip them
        items = [
            it for it in self._batches.pop(j, []) if self._videos[(it.row, it.job)].attempt == it.attempt
        ]
        self._filled.pop(j, None)
        shapes: dict[tuple, list[ClipViews]] = {}
        for it in items:  # one forward per clip shape: whole-video windows differ in length between videos
            shapes.setdefault(tuple(it.views.shape[1:]), []).append(it)
        for group in shapes.values():
            self._score(j, group)

    def _score(self, j: int, items: list[ClipViews]) -> None:
        import torch

        t0 = time.perf_counter()
        views = torch.cat([it.views for it in items])  # (sum of crops, C, T, H, W)
        probs = self.runners[j].probs(views)
        share = (time.perf_counter() - t0) / len(items)
        checked = self._pick_checks(j, len(items))
        at, scored = 0, []
        for it in items:
            n = it.views.shape[0]
            scored.append(probs[at : at + n].mean(axis=0))
            at += n
        reference = self._reference(j, items, checked, scored)  # not timed: the check is not the run's speed
        for k, it in enumerate(items):
            video = self._videos[(it.row, it.job)]
            video.clips[it.clip] = scored[k]
            if k in reference:
                video.reference[it.clip] = reference[k]
            video.pending -= 1
            video.infer_s += share

    def _pick_checks(self, j: int, count: int) -> list[int]:
        """Positions among the next ``count`` clips of job j that the precision check scores again in fp32:
        every ``check_every``-th clip of the job, while its budget lasts."""
        first = self._arrived[j]
        self._arrived[j] += count
        if not self._references:
            return []
        every = self._check_every
        # clip 0 stands in for clip ``every``: a run of n clips checks max(1, (n - 1) // every) <= n / every
        picked = [k for k in range(count) if (first + k) % every == 0 and (first + k != every or every == 1)]
        picked = picked[: self._to_check[j]]
        self._to_check[j] -= len(picked)
        return picked

    def _reference(
        self, j: int, items: list[ClipViews], picked: list[int], scored: list[np.ndarray]
    ) -> dict[int, np.ndarray]:
        """Position in ``items`` (clips of one shape, as ``_flush`` groups them) -> float32 (2, K): the picked
        clip's probabilities at the run's precision and in fp32 (means over the clip's crops). Clips of the
        card's length compare the run's own scores (``scored``) with one fp32 forward; longer ones (whole-video
        windows) are checked on their first ``card.frames`` frames, scored at both precisions."""
        import torch

        if not picked:
            return {}
        frames = self.jobs[j].model.card.frames
        long = items[picked[0]].views.shape[2] > frames
        batch = torch.cat([items[k].views[:, :, :frames] for k in picked])  # the whole clip unless long
        fp32 = self._references[j].probs(batch)
        low = self.runners[j].probs(batch) if long else None
        out, at = {}, 0
        for k in picked:
            n = items[k].views.shape[0]
            mine = low[at : at + n].mean(axis=0) if long else scored[k]
            out[k] = np.stack([mine, fp32[at : at + n].mean(axis=0)]).astype(np.float32)
            at += n
        return out

    def _finished(self) -> list[ScoredVideo]:
        done = [key for key, v in self._videos.items() if v.end is not None and v.pending == 0]
        out = []
        for key in done:
            video = self._videos.pop(key)
            current = video.end.attempt == video.attempt  # clips of another pass never count
            out.append(
                finish_video(
                    video.end,
                    video.clips if current else {},
                    video.reference if current else {},
                    video.infer_s,
                )
            )
        return out

    def take_clips(self) -> list[ScoredClips]:
        """The scored clips of every video whose end was not fed, taken out of the scorer (call after ``close``).
        A distributed engine feeds a model actor clips only, in chunks, and finishes videos on the driver
        (``engines.chunks``)."""
        out = []
        for key in [key for key, v in self._videos.items() if v.end is None and v.pending == 0]:
            video = self._videos.pop(key)
            out.append(
                ScoredClips(key[0], key[1], video.attempt, video.clips, video.reference, video.infer_s)
            )
        return out


@dataclass(frozen=True)
class ScoredClips:
    """Some scored clips of one (row, job) and decoding attempt: clip index -> float32 (K,) (mean over crops);
    ``reference``: the precision check's (2, K) pairs (low precision, fp32) of those it checked; ``infer_s``:
    their share of the forward passes' seconds."""

    row: int
    job: int
    attempt: int
    clips: dict[int, np.ndarray]
    reference: dict[int, np.ndarray]
    infer_s: float


def finish_video(
    end: VideoEnd, clips: dict[int, np.ndarray], reference: dict[int, np.ndarray], infer_s: float
) -> ScoredVideo:
    """A (row, job) result from how its decoding ended and the scored clips of the pass ``end`` names
    (clip index -> float32 (K,)); ``reference``: the (2, K) low-precision and fp32 probabilities of its
    checked clips."""
    clip_arr = None
    if end.status in OK_STATUSES and clips:
        clip_arr = np.stack([clips[c] for c in sorted(clips)]).astype(np.float32)
    status, reason = scored_status(end.status, end.reason, clip_arr)
    return ScoredVideo(
        end.row,
        end.job,
        status,
        reason,
        end.num_frames,
        clip_arr,
        end.decode_s,
        infer_s,
        _checked(reference) if clip_arr is not None else None,
    )


def _checked(reference: dict[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray] | None:
    """(low precision, fp32) float32 (n, K) of a finished video's checked clips, or None (``reference``: clip
    index -> float32 (2, K), the two precisions of what was checked)."""
    if not reference:
        return None
    pairs = np.stack([reference[c] for c in sorted(reference)]).astype(np.float32)  # (n, 2, K)
    return pairs[:, 0], pairs[:, 1]

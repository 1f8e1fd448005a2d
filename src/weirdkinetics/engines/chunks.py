"""The Ray engine's record layout for evaluation: a video's clips travel in bounded chunks, and the driver puts
each video back together exactly.

A video used to travel as one record holding all its clips for all models (96 MiB for a 10 s clip with
``i3d_r50``, 1.85 GB with 25 cards, issue 20.3); long videos grew without bound. Now::

    decode task:  clips.row_events -> chunk_events -> records of at most ``chunk_bytes`` of clips each
                  (at least one clip); the row's last record also carries its ``RowEnd``
    model actor:  each record's clips through the run's ``scoring.Scorer`` -> ``ScoredClips`` (a few floats
                  per clip); the ``RowEnd`` passes through
    driver:       ``RowAssembler`` collects a row's scored clips and its end; once every clip the end's decoding
                  pass produced has come back, ``scoring.finish_video`` makes each (row, job) result, exactly as
                  the local scorer does

Exact accounting: a row is finished only when its ``RowEnd`` has arrived and, for every job whose decoding
counts (``ok``, ``partial``, ``short``), all ``clip_counts[(job, attempt)]`` clips of the pass the end names.
Clips are keyed by (job, attempt, clip index), so a chunk delivered twice (its decode task retried after a
worker died) changes nothing, and clips of a superseded pass or of a try that died are ignored. A row some of
whose chunks never arrive is never finished: ``lost`` names it, and the engine stores nothing of it (the next
run schedules it again). Pure Python over plain data: no Ray here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from weirdkinetics.clips import ClipTask, ClipViews, Event, VideoEnd
from weirdkinetics.statuses import COUNTED as OK_STATUSES

if TYPE_CHECKING:
    from weirdkinetics.scoring import ScoredClips, ScoredVideo

CHUNK_BYTES = 64 * 2**20
"""Most bytes of clip views per record (a record always holds at least one clip). 64 MiB holds about 10 clips
of a 16-frame 224-pixel card at 3 crops; a long video becomes more records, never a bigger one."""


def clip_bytes(task: ClipTask) -> int:
    """Bytes of one clip's views, float32 (crops, C, T, crop, crop), for a clip of the card's length (a
    ``--clips whole`` window may be longer)."""
    return task.spec.crops * 3 * task.spec.frames * task.card.crop * task.card.crop * 4


def chunk_limit(tasks: list[ClipTask], chunk_bytes: int | None = None) -> int:
    """A run's bound on a record's clip bytes: ``chunk_bytes`` (default ``CHUNK_BYTES``), or one clip of its
    biggest card if larger."""
    return max([chunk_bytes or CHUNK_BYTES] + [clip_bytes(task) for task in tasks])


@dataclass(frozen=True)
class RowEnd:
    """How one row ended: its ``VideoEnd``s (one per job) and how many clips each (job, decoding attempt)
    produced, so the driver knows when it has them all."""

    ends: list[VideoEnd]
    clip_counts: dict[tuple[int, int], int]


def chunk_events(events: Iterable[Event], max_bytes: int) -> Iterator[tuple[list[ClipViews], RowEnd | None]]:
    """Pure: one row's event stream (``clips.row_events``) as chunks of clips of at most ``max_bytes`` bytes
    (at least one clip each), in stream order; the last chunk (maybe without clips) carries the ``RowEnd``.

    Clips are handed on as soon as a chunk is full, so a decode task holds at most one chunk of clips."""
    chunk: list[ClipViews] = []
    held = 0
    ends: list[VideoEnd] = []
    counts: dict[tuple[int, int], int] = {}
    for event in events:
        if isinstance(event, VideoEnd):
            ends.append(event)
            continue
        size = event.views.element_size() * event.views.nelement()
        if chunk and held + size > max_bytes:
            yield chunk, None
            chunk, held = [], 0
        chunk.append(event)
        held += size
        counts[(event.job, event.attempt)] = counts.get((event.job, event.attempt), 0) + 1
    yield chunk, RowEnd(ends, counts)


@dataclass
class _Row:
    clips: dict[tuple[int, int], dict[int, np.ndarray]] = field(
        default_factory=dict
    )  # (job, attempt) -> clips
    reference: dict[tuple[int, int], dict[int, np.ndarray]] = field(default_factory=dict)
    infer_s: dict[tuple[int, int], float] = field(default_factory=dict)
    end: RowEnd | None = None


class RowAssembler:
    """The driver's side: scored chunks in any order (and any number of times) in, whole rows out."""

    def __init__(self, rows: Iterable[int]):
        self._open: dict[int, _Row] = {int(i): _Row() for i in rows}
        self.finished: set[int] = set()

    def add(self, row: int, scored: list[ScoredClips], end: RowEnd | None) -> list[ScoredVideo]:
        """One record's scored clips (and the row's end, with its last record); the row's results, one per job,
        once it is complete, else []. Records of a row already finished are ignored."""
        state = self._open.get(row)
        if state is None:  # finished already (a retried task sent it again), or not a row of this run
            return []
        for part in scored:
            _merge(state, part)
        if end is not None:
            state.end = end
        if not _complete(state):
            return []
        del self._open[row]
        self.finished.add(row)
        return _results(state)

    def fail(self, row: int, ends: list[VideoEnd]) -> list[ScoredVideo]:
        """End ``row`` at once with ``ends`` (one per job, a status that counts no clip, e.g. ``decode_error``
        when a record of it killed its model actor every time): its results, [] if it was finished already.
        Clips of it scored before or after are dropped: a video is stored whole or as the failure, never half."""
        state = self._open.pop(row, None)
        if state is None:
            return []
        self.finished.add(row)
        return _results(_Row(end=RowEnd(list(ends), {})))

    def lost(self) -> list[int]:
        """Rows still incomplete (call once the stream has ended): some record of theirs never came back."""
        return sorted(self._open)


def _merge(state: _Row, part: ScoredClips) -> None:
    """A scored chunk into its row: clips already there (a duplicate delivery) add neither clips nor time."""
    key = (part.job, part.attempt)
    clips = state.clips.setdefault(key, {})
    new = [c for c in part.clips if c not in clips]
    if part.clips:
        state.infer_s[key] = state.infer_s.get(key, 0.0) + part.infer_s * len(new) / len(part.clips)
    for c in new:
        clips[c] = part.clips[c]
        if c in part.reference:
            state.reference.setdefault(key, {})[c] = part.reference[c]


def _complete(state: _Row) -> bool:
    if state.end is None:
        return False
    for end in state.end.ends:
        if end.status not in OK_STATUSES:
            continue  # its clips are never used: nothing to wait for
        expected = state.end.clip_counts.get((end.job, end.attempt), 0)
        if len(state.clips.get((end.job, end.attempt), {})) < expected:
            return False
    return True


def _results(state: _Row) -> list[ScoredVideo]:
    from weirdkinetics.scoring import finish_video

    assert state.end is not None
    out = []
    for end in state.end.ends:
        key = (end.job, end.attempt)
        out.append(
            finish_video(
                end, state.clips.get(key, {}), state.reference.get(key, {}), state.infer_s.get(key, 0.0)
            )
        )
    return out

"""The Ray engine's record layout (``engines.chunks``), without Ray: a row's clips in bounded chunks, scored by
several "actors" in any order, some twice, put back together into exactly the local scorer's results; a row
with a chunk missing is never finished (issue 20.3)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from test_engine_seams import _run, jobs, moving_frames  # noqa: F401 -- the fixture is used by name

from weirdkinetics.clips import ClipViews, VideoEnd, row_events
from weirdkinetics.encode import write_video
from weirdkinetics.engines.chunks import RowAssembler, RowEnd, chunk_events, chunk_limit, clip_bytes
from weirdkinetics.manifest import read_manifest, write_manifest
from weirdkinetics.scoring import Scorer


@pytest.fixture
def awkward_rows(tmp_path, made_media):
    """A 95-frame lossless video, a file that breaks off mid-stream (its clips come in two attempts) and a
    missing file."""
    write_video(tmp_path / "long.mkv", moving_frames(95, 3), 30, lossless=True)
    paths = [tmp_path / "long.mkv", made_media["corrupt"], tmp_path / "gone.mp4"]
    m = write_manifest(tmp_path / "m.csv", [{"path": str(p), "label": "x", "split": "real"} for p in paths])
    return read_manifest(m).rows


def _clip_size(event: ClipViews) -> int:
    return event.views.element_size() * event.views.nelement()


def test_chunks_hold_at_most_the_bound_and_every_clip_once(awkward_rows, jobs):  # noqa: F811
    tasks = [job.task for job in jobs]
    events = list(row_events(0, awkward_rows[0], [0, 1], tasks))
    clips = [e for e in events if isinstance(e, ClipViews)]
    bound = 2 * max(_clip_size(c) for c in clips) + 1
    chunks = list(chunk_events(iter(events), bound))
    assert all(end is None for _, end in chunks[:-1]) and len(chunks) > 2
    sizes = [sum(_clip_size(c) for c in chunk) for chunk, _ in chunks]
    for k, (chunk, _) in enumerate(chunks[:-1]):
        assert sizes[k] <= bound  # never bigger than the bound...
        assert sizes[k] + _clip_size(chunks[k + 1][0][0]) > bound  # ...and handed on only once full
    assert [c for chunk, _ in chunks for c in chunk] == clips  # every clip once, in stream order
    end = chunks[-1][1]
    assert end.ends == [e for e in events if isinstance(e, VideoEnd)]
    assert end.clip_counts == {(0, 0): sum(c.job == 0 for c in clips), (1, 0): sum(c.job == 1 for c in clips)}
    # a bound below one clip still moves the clip, alone
    assert all(len(c) == 1 for c, _ in list(chunk_events(iter(events), 1))[:-1])


def test_a_runs_bound_is_never_below_one_clip_of_its_biggest_card(jobs):  # noqa: F811
    tasks = [job.task for job in jobs]
    assert clip_bytes(tasks[0]) == 3 * 8 * 64 * 64 * 4  # tiny_c3d: 8 frames of 64x64, one crop, float32
    assert chunk_limit(tasks, 1) == max(clip_bytes(t) for t in tasks)
    assert chunk_limit(tasks, 10**9) == 10**9


def _scored_chunks(rows, jobs, bound: int, actors: int = 2) -> list[tuple[int, list, RowEnd | None]]:  # noqa: F811
    """What the model actors hand the driver: each chunk's clips scored by one of ``actors`` scorers in turn."""
    tasks = [job.task for job in jobs]
    scorers = [Scorer(jobs, batch_size=3) for _ in range(actors)]
    out = []
    for i, row in enumerate(rows):
        for k, (clips, end) in enumerate(chunk_events(row_events(i, row, [0, 1], tasks), bound)):
            scorer = scorers[(i + k) % actors]
            for clip in clips:
                scorer.feed(clip)
            scorer.close()
            out.append((i, scorer.take_clips(), end))
    return out


def test_chunks_scored_anywhere_in_any_order_give_the_local_scorers_results(awkward_rows, jobs):  # noqa: F811
    tasks = [job.task for job in jobs]
    events = [e for i, r in enumerate(awkward_rows) for e in row_events(i, r, [0, 1], tasks)]
    local = _run(Scorer(jobs, batch_size=8), events)
    one = clip_bytes(tasks[0])
    records = _scored_chunks(awkward_rows, jobs, 2 * one)
    assert len(records) > 2 * len(awkward_rows)  # the videos really travelled in several chunks
    records = records + records[1:4]  # a retried decode task delivers some chunks again
    random.Random(7).shuffle(records)
    assembler = RowAssembler(range(len(awkward_rows)))
    got = {}
    for i, scored, end in records:
        for video in assembler.add(i, scored, end):
            assert (video.row, video.job) not in got  # each (row, job) finished once
            got[(video.row, video.job)] = video
    assert assembler.lost() == [] and assembler.finished == {0, 1, 2}
    assert set(got) == set(local)
    assert {v.status for v in local.values()} == {"ok", "partial", "missing"}
    for key, want in local.items():
        v = got[key]
        assert (v.status, v.reason, v.num_frames) == (want.status, want.reason, want.num_frames)
        if want.clip_scores is None:
            assert v.clip_scores is None
        else:
            np.testing.assert_allclose(v.clip_scores, want.clip_scores, atol=1e-6, rtol=0)


def test_a_row_with_a_chunk_lost_is_never_finished(awkward_rows, jobs):  # noqa: F811
    tasks = [job.task for job in jobs]
    records = _scored_chunks(awkward_rows[:1], jobs, clip_bytes(tasks[0]))
    assert len(records) >= 3
    assembler = RowAssembler([0])
    lost_one = records[:1] + records[2:]  # a chunk in the middle never comes back
    assert [v for i, scored, end in lost_one for v in assembler.add(i, scored, end)] == []
    assert assembler.lost() == [0] and assembler.finished == set()
    # the missing chunk completes it; anything later for the row is ignored
    assert len(assembler.add(*records[1])) == 2
    assert assembler.add(*records[1]) == [] and assembler.lost() == []


def test_a_row_given_up_on_finishes_without_waiting_for_the_clips_of_a_try_that_died(jobs):  # noqa: F811
    died = RowEnd(
        [VideoEnd(0, j, 0, "decode_error", "the decoding process died 3 times", 0, 0.0) for j in (0, 1)], {}
    )
    assembler = RowAssembler([0])
    videos = assembler.add(0, [], died)
    assert [(v.job, v.status, v.clip_scores) for v in videos] == [
        (0, "decode_error", None),
        (1, "decode_error", None),
    ]


def test_a_model_actor_fills_its_batches_across_the_records_of_a_call(awkward_rows, jobs):  # noqa: F811
    """``ScoreRows`` (the Ray model actor, called here without Ray) scores the records of one call together, so
    a GPU batch fills across them: scored record by record, each batch held one record's few clips. Its results,
    put together by the driver's assembler, are still exactly the local scorer's."""
    import pickle

    from weirdkinetics.engines.attempts import Attempts
    from weirdkinetics.engines.ray_engine import ScoreRows

    tasks = [job.task for job in jobs]
    events = [e for i, r in enumerate(awkward_rows) for e in row_events(i, r, [0, 1], tasks)]
    local = _run(Scorer(jobs, batch_size=8), events)
    records = [
        (i, clips, end)
        for i, row in enumerate(awkward_rows)
        for clips, end in chunk_events(row_events(i, row, [0, 1], tasks), 2 * clip_bytes(tasks[0]))
    ]
    forwards = []
    hook = jobs[0].model.module.register_forward_hook(lambda m, args, out: forwards.append(len(args[0])))
    actor = object.__new__(ScoreRows)  # what __init__ builds, without Ray
    actor.scorer, actor.attempts = Scorer(jobs, batch_size=64, across_videos=True), Attempts()
    assembler, got = RowAssembler(range(len(awkward_rows))), {}
    try:
        for start in range(0, len(records), 8):  # VIDEOS_PER_CALL["cuda"] records a call
            call = records[start : start + 8]
            out = actor(
                {
                    "row": np.array([i for i, _, _ in call]),
                    "key": np.array([str(k) for k in range(len(call))], dtype=object),
                    "clips": np.array([pickle.dumps(clips) for _, clips, _ in call], dtype=object),
                    "end": np.array([pickle.dumps(end) for _, _, end in call], dtype=object),
                }
            )
            assert list(out["died"]) == [""] * len(call)
            for row, scored, end in zip(out["row"], out["scored"], out["end"], strict=True):
                for video in assembler.add(int(row), pickle.loads(scored), pickle.loads(end)):
                    got[(video.row, video.job)] = video
    finally:
        hook.remove()
    views = [sum(len(clip.views) for clip in clips) for _, clips, _ in records]  # crops count in a forward
    assert len(records) > 8 and max(forwards) > max(views)  # a forward pass spans records
    # (a clip of a try superseded by the next in the same call is never scored)
    assert sum(forwards) <= sum(views) and len(forwards) < len(records)
    assert assembler.lost() == [] and set(got) == set(local)
    for key, want in local.items():
        assert (got[key].status, got[key].reason) == (want.status, want.reason)
        if want.clip_scores is not None:
            np.testing.assert_allclose(got[key].clip_scores, want.clip_scores, atol=1e-6, rtol=0)

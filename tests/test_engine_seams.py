"""The evaluation engine's seams, each on its own: planning, clips per video, the scorer, statuses, counting.

Every engine (local thread, worker processes, Ray) arranges these same pieces; these tests pin what each
one promises so another arrangement can rely on it.
"""

from __future__ import annotations

import numpy as np
import pytest

from weirdkinetics import sampling
from weirdkinetics.clips import ClipViews, VideoEnd, job_status, row_events
from weirdkinetics.encode import write_video
from weirdkinetics.manifest import ManifestRow, read_manifest, write_manifest
from weirdkinetics.models import get_card
from weirdkinetics.models.loading import load_model
from weirdkinetics.predict import build_jobs, count_statuses, plan_work
from weirdkinetics.scoring import Scorer, scored_status


def moving_frames(n: int, seed: int, h: int = 48, w: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    return np.stack([np.roll(base, 3 * i, axis=1) for i in range(n)])


@pytest.fixture(scope="module")
def jobs():
    model = load_model(get_card("tiny_c3d"), "random:1")
    return build_jobs([model], "dense", None) + build_jobs([model], "uniform:3", 3)


def tasks(jobs):
    return [job.task for job in jobs]


@pytest.fixture
def rows(tmp_path):
    specs = [(40, "real"), (95, "weird"), (70, "real")]
    for i, (n, _) in enumerate(specs):
        write_video(tmp_path / f"v{i}.mkv", moving_frames(n, i), 30, lossless=True)
    m = write_manifest(
        tmp_path / "m.csv",
        [{"path": f"v{i}.mkv", "label": "jogging", "split": split} for i, (_, split) in enumerate(specs)],
    )
    return read_manifest(m).rows


def test_plan_work_reuses_only_unchanged_files_with_the_same_path_and_id(rows):
    ids = [(100, 1), (200, 2), (300, 3)]
    done = [
        {
            (str(rows[0].path), rows[0].video_id): ("ok", (100, 1)),
            ("/elsewhere/v1.mkv", rows[1].video_id): ("ok", (200, 2)),  # same id, another file
            (str(rows[2].path), rows[2].video_id): ("decode_error", (300, 2)),  # the file changed since
        },
        {},
    ]
    plan = plan_work(rows, done, ids)
    assert plan.reused == 1
    assert plan.todo == {0: [1], 1: [0, 1], 2: [0, 1]}


def test_count_statuses_counts_unstored_rows_as_missing(rows):
    stored = {(str(rows[0].path), rows[0].video_id): "ok", (str(rows[1].path), rows[1].video_id): "partial"}
    counts, by_split = count_statuses(rows, stored)
    assert counts == {"ok": 1, "partial": 1, "missing": 1}
    assert by_split == {"real": {"ok": 1, "missing": 1}, "weird": {"partial": 1}}


def test_statuses_are_pure_decisions():
    spec = sampling.ClipSpec(fps=30, frames=8, stride=8, spacing=64)  # spans 57 frames
    assert job_status("ok", "", 100, 30, spec) == ("ok", "")
    st, why = job_status("ok", "", 20, 30, spec)
    assert st == "short" and "20 frame(s) at 30 fps" in why
    st, why = job_status("partial", "broke off", 20, 30, spec)
    assert st == "partial" and why.startswith("broke off; 20 frame(s)")
    good = np.full((3, 4), 0.25, np.float32)
    assert scored_status("ok", "", None) == ("decode_error", "no clip could be formed")
    assert scored_status("partial", "cut", None) == ("decode_error", "cut; no clip could be formed")
    assert scored_status("missing", "no such file", None) == ("missing", "no such file")
    assert scored_status("ok", "", good) == ("ok", "")
    bad = good.copy()
    bad[1, 2] = np.nan
    st, why = scored_status("short", "clamped", bad)
    assert st == "nonfinite_scores" and "1 of 3 clip(s)" in why and why.endswith("; clamped")


def test_row_events_yield_every_jobs_clips_then_one_end_each(rows, jobs):
    events = list(row_events(1, rows[1], [0, 1], tasks(jobs)))
    ends = [e for e in events if isinstance(e, VideoEnd)]
    assert sorted(e.job for e in ends) == [0, 1]
    for j in (0, 1):
        clips = [e for e in events if isinstance(e, ClipViews) and e.job == j]
        expected = sampling.clip_indices(95, jobs[j].spec)
        assert [c.clip for c in sorted(clips, key=lambda c: c.clip)] == list(range(len(expected)))
        assert {tuple(c.views.shape[:1]) for c in clips} == {(jobs[j].spec.crops,)}
        # a job's end comes after all its clips
        last_clip = max(events.index(c) for c in clips)
        assert events.index(next(e for e in ends if e.job == j)) > last_clip


def test_row_events_of_a_broken_decode_tag_the_retry_with_a_new_attempt(jobs, made_media):
    path = made_media["corrupt"]
    row = ManifestRow(row=2, path=path, path_text=str(path), label="x", split="real", video_id="c")
    events = list(row_events(0, row, [0], tasks(jobs)))
    (end,) = [e for e in events if isinstance(e, VideoEnd)]
    assert end.status == "partial" and end.attempt == 1 and end.num_frames == 84
    final = [e for e in events if isinstance(e, ClipViews) and e.attempt == end.attempt]
    assert len(final) == len(sampling.clip_indices(84, jobs[0].spec))


def _run(scorer: Scorer, events) -> dict:
    out = {}
    for e in events:
        for v in scorer.feed(e):
            out[(v.row, v.job)] = v
    for v in scorer.close():
        out[(v.row, v.job)] = v
    return out


def test_scorer_gives_the_same_results_whatever_the_batching(rows, jobs):
    events = [e for i, r in enumerate(rows) for e in row_events(i, r, [0, 1], tasks(jobs))]
    per_video = _run(Scorer(jobs, batch_size=8), events)
    across = _run(Scorer(jobs, batch_size=5, across_videos=True), events)
    single = _run(Scorer(jobs, batch_size=1), events)
    assert set(per_video) == set(across) == set(single) == {(i, j) for i in range(3) for j in range(2)}
    for key, v in per_video.items():
        assert v.status in ("ok", "short")
        assert v.clip_scores.shape[0] == len(sampling.clip_indices(v.num_frames, jobs[key[1]].spec))
        np.testing.assert_allclose(across[key].clip_scores, v.clip_scores, atol=1e-6)
        np.testing.assert_allclose(single[key].clip_scores, v.clip_scores, atol=1e-6)


def test_scorer_finishes_a_video_only_when_all_its_clips_are_scored(rows, jobs):
    events = list(row_events(1, rows[1], [1], tasks(jobs)))
    scorer = Scorer(jobs, batch_size=100, across_videos=True)
    finished = [v for e in events for v in scorer.feed(e)]
    assert finished == []  # the end arrived but its clips still wait in the batch
    (video,) = scorer.close()
    assert video.status == "ok" and video.clip_scores.shape[0] == 3


def test_scorer_drops_the_clips_of_a_superseded_attempt(rows, jobs):
    events = list(row_events(0, rows[0], [0], tasks(jobs)))
    clips = [e for e in events if isinstance(e, ClipViews)]
    end = next(e for e in events if isinstance(e, VideoEnd))
    stale = ClipViews(0, 0, 99, 0, clips[0].views * 0 + 5.0)  # garbage from a first pass that broke off
    retried = [ClipViews(c.row, c.job, c.clip, 1, c.views) for c in clips]
    from dataclasses import replace

    mixed = _run(Scorer(jobs, batch_size=8, across_videos=True), [stale, *retried, replace(end, attempt=1)])
    clean = _run(Scorer(jobs, batch_size=8), events)
    np.testing.assert_allclose(mixed[(0, 0)].clip_scores, clean[(0, 0)].clip_scores, atol=1e-6)


def test_scorer_refuses_an_empty_batch(jobs):
    with pytest.raises(ValueError, match="batch_size"):
        Scorer(jobs, batch_size=0)


def test_shared_leaves_have_one_home():
    """Statuses, did-you-mean and versions each live in one leaf module that the stages import."""
    from weirdkinetics import decode, results, statuses, store
    from weirdkinetics.errors import did_you_mean
    from weirdkinetics.provenance import versions
    from weirdkinetics.synth import generate

    assert results.OK_STATUSES is statuses.COUNTED
    assert store.RETRY_STATUSES is statuses.RETRIED
    assert set(decode.STATUSES) == set(statuses.MEANINGS)
    assert generate.SYNTH_STATUSES is statuses.SYNTH
    assert did_you_mean("x3d-M", ["x3d_s", "x3d_m", "i3d_r50"]) == " Did you mean: x3d_m, x3d_s?"
    assert did_you_mean("zzz", ["x3d_m"]) == ""
    v = versions("report", with_platform=False)
    assert {"weirdkinetics", "python", "numpy"} <= set(v) and "platform" not in v

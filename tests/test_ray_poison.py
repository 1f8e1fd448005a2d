"""A file that kills its worker on every try gets a status on Ray instead of being retried forever (issue 13):
the run's ``AttemptLedger`` counts each row's starts, and a row started ``MAX_ATTEMPTS`` times without
finishing ends ``decode_error`` with the reason, while every other row ends as the local engine ends it.

The stand-ins below die (``os._exit``, as a segfaulting FFmpeg would) on one row only, and report each death
at a ``Tally`` actor first. They stop dying after ``MAX_ATTEMPTS + 2`` deaths, so a broken guard fails these
tests instead of hanging them.
"""

from __future__ import annotations

import csv
import os
import pickle
import sys
import time
import uuid
from collections import Counter

import numpy as np
import pytest
from test_ray_engine import _frames, assert_same_store, stored
from test_ray_explain import KW, assert_same_rows, explain_rows, one_thread  # noqa: F401 -- fixtures
from test_ray_explain import stored as stored_attributions

from weirdkinetics import api
from weirdkinetics.engines import ray_engine
from weirdkinetics.engines.attempts import MAX_ATTEMPTS, attempt_ledger, died_reason
from weirdkinetics.manifest import read_manifest, write_manifest
from weirdkinetics.synth.generate import failed_row

TALLY = "weirdkinetics-test-tally"
DEATHS = 5  # then the stand-ins stop dying: a guard that does not hold (or allows more) fails, never hangs
POISONED_ROW = 1  # second in its decode task: the row before it is decoded again at every retry
CLIPS = ["clip_b", "vp9", "low_fps"]  # ``made_media`` roles


def _tally_class(ray):
    @ray.remote(num_cpus=0)
    class Tally:
        """The pids of the processes that died on the poisoned row."""

        def __init__(self):
            self.pids: list[int] = []

        def dying(self, pid: int) -> bool:
            """Record a death to come; False once the stand-in should stop dying."""
            if len(self.pids) >= DEATHS:
                return False
            self.pids.append(pid)
            return True

        def deaths(self) -> list[int]:
            return list(self.pids)

    return Tally


def _die() -> None:
    """In a Ray worker: report at the tally, then die as a segfaulting decoder would (no cleanup, no error)."""
    import ray

    if ray.get(ray.get_actor(TALLY).dying.remote(os.getpid())):
        os._exit(139)


def poisoned_decode_row(item, tasks, **kwargs):
    """``ray_engine.decode_row`` whose decoding of the poisoned row kills its process after its first clip."""
    from weirdkinetics import clips

    real = clips.row_events

    def dies_mid_decode(i, row, wanted, tasks):
        events = real(i, row, wanted, tasks)
        if i == POISONED_ROW:
            yield next(events)
            _die()
        yield from events

    clips.row_events = dies_mid_decode  # in this worker process only
    try:  # decode_row is a generator: the stand-in must stay in place while it runs
        yield from ray_engine.decode_row(item, tasks, **kwargs)
    finally:
        clips.row_events = real


class PoisonedSynthRows(ray_engine.SynthRows):
    """``SynthRows`` whose making of the poisoned source (``wave_0``) kills its actor."""

    def __init__(self, setup, **kwargs):
        super().__init__(setup, **kwargs)
        make_row = self.make_row

        def dies_on_wave(row, rel_path):
            if row.video_id == "wave_0":
                _die()
            return make_row(row, rel_path)

        self.make_row = dies_on_wave


class PoisonedScoreRows(ray_engine.ScoreRows):
    """``ScoreRows`` whose scoring of the poisoned row kills its actor (a model out of memory on that video)."""

    def _score(self, rows, blobs):
        if any(
            clip.row == POISONED_ROW for blob in blobs for clip in pickle.loads(blob)
        ):  # clips, not its end
            _die()
        return super()._score(rows, blobs)


@pytest.fixture
def tally(local_ray, monkeypatch):
    """A fresh tally under its own name, and this module's stand-ins shipped to Ray's workers by value."""
    from ray import cloudpickle

    this = sys.modules[__name__]
    monkeypatch.setattr(this, "TALLY", f"weirdkinetics-test-tally-{uuid.uuid4().hex[:8]}")
    cloudpickle.register_pickle_by_value(this)
    handle = _tally_class(local_ray).options(name=TALLY).remote()
    yield handle
    local_ray.kill(handle)
    cloudpickle.unregister_pickle_by_value(this)


def test_the_ledger_gives_up_on_a_key_started_max_attempts_times_without_finishing(local_ray):
    made, gave_up = (lambda: "made"), (lambda: "gave up")
    with attempt_ledger(local_ray) as attempts:
        for _ in range(MAX_ATTEMPTS):  # each start's process died before it finished
            assert attempts.first_attempts("poison")
        assert attempts.run("poison", made, gave_up) == "gave up"
        assert attempts.run("poison", made, gave_up) == "gave up"  # and stays given up
        # a finish clears the count: a row redone whenever another row's crash retries its task is never given up
        assert [attempts.run("fine", made, gave_up) for _ in range(MAX_ATTEMPTS + 2)] == ["made"] * (
            MAX_ATTEMPTS + 2
        )
        ledger = attempts.ledger
        assert local_ray.get(ledger.counts.remote()) == {"poison": MAX_ATTEMPTS + 2}
    # the run's end killed the ledger (ray.kill returns before the actor is gone: wait for it, within a minute)
    deadline = time.monotonic() + 60
    while True:
        try:
            local_ray.get(ledger.counts.remote(), timeout=60)
        except local_ray.exceptions.RayActorError:
            break
        assert time.monotonic() < deadline, "the ledger outlived its run"
    # a worker still holding it works as if there were no guard
    assert attempts.run("poison", made, gave_up) == "made"


@pytest.fixture
def four_rows(tmp_path, made_media):
    rows = [
        {
            "path": str(made_media[CLIPS[k % len(CLIPS)]]),
            "label": "arm wrestling",
            "split": "real",
            "video_id": f"v{k}",
        }
        for k in range(4)
    ]
    return write_manifest(tmp_path / "m.csv", rows)


def test_a_row_that_kills_its_decoder_every_time_ends_decode_error(
    local_ray, tally, four_rows, tmp_path, monkeypatch
):
    monkeypatch.setattr(ray_engine, "decode_row", poisoned_decode_row)
    run = api.evaluate(
        four_rows, ["tiny_c3d"], tmp_path / "ray", weights=["random:0"], progress=False, engine="ray"
    )
    local = api.evaluate(four_rows, ["tiny_c3d"], tmp_path / "local", weights=["random:0"], progress=False)

    deaths = local_ray.get(tally.deaths.remote())
    assert len(deaths) == MAX_ATTEMPTS == len(set(deaths))  # a new process each time, then no more tries
    on_ray, here = stored(run.store), stored(local.store)
    poisoned = next(key for key in on_ray if key[1] == f"v{POISONED_ROW}")
    video = on_ray.pop(poisoned)
    assert (video.status, video.num_frames, video.clip_scores) == ("decode_error", None, None)
    assert video.reason == died_reason("decoding", MAX_ATTEMPTS)
    assert here.pop(poisoned).status in ("ok", "short")  # the file itself is fine: only its decoder "crashed"
    assert_same_store(on_ray, here)  # every other row exactly as the local engine has it
    assert (run.summary.computed, run.summary.reused) == (4, 0)


@pytest.mark.slow  # four model actors die and restart: about 200 s on the loaded 2-core machine
def test_a_row_that_kills_its_model_actor_every_time_ends_decode_error(
    local_ray, tally, four_rows, tmp_path, monkeypatch
):
    monkeypatch.setattr(ray_engine, "ScoreRows", PoisonedScoreRows)
    run = api.evaluate(
        four_rows, ["tiny_c3d"], tmp_path / "ray", weights=["random:0"], progress=False, engine="ray"
    )
    local = api.evaluate(four_rows, ["tiny_c3d"], tmp_path / "local", weights=["random:0"], progress=False)

    deaths = local_ray.get(tally.deaths.remote())
    # its batch's tries, then one try of the row alone; then no more
    assert len(deaths) == MAX_ATTEMPTS + 1 == len(set(deaths)) < DEATHS
    on_ray, here = stored(run.store), stored(local.store)
    poisoned = next(key for key in on_ray if key[1] == f"v{POISONED_ROW}")
    video = on_ray.pop(poisoned)
    assert (video.status, video.clip_scores) == ("decode_error", None)
    assert video.reason == died_reason("model", MAX_ATTEMPTS, "out of memory, or the model crashed")
    assert here.pop(poisoned).status in ("ok", "short")
    assert_same_store(
        on_ray, here
    )  # the rows that shared its batch are scored as the local engine scores them
    assert (run.summary.computed, run.summary.reused) == (4, 0)


def _rows(manifest) -> list[dict[str, str]]:
    with open(manifest, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_a_row_that_kills_its_synth_actor_every_time_is_not_made(
    local_ray, tally, tmp_path, monkeypatch, made_media
):
    pytest.importorskip("cv2")
    from test_synth_generate import (
        toy as make_toy,
    )  # jump_0, wave_0 (both made locally), a corrupt, a missing

    manifest, _ = make_toy.__wrapped__(tmp_path, made_media)
    kw = {"segmenter": "true", "seed": 5, "progress": False}
    local = api.synthesize("person-only", manifest, tmp_path / "local", **kw)
    monkeypatch.setattr(ray_engine, "SynthRows", PoisonedSynthRows)
    on_ray = api.synthesize("person-only", manifest, tmp_path / "ray", engine="ray", **kw)

    deaths = local_ray.get(tally.deaths.remote())
    assert len(deaths) == MAX_ATTEMPTS == len(set(deaths))
    rows, expected = _rows(on_ray.manifest), _rows(local.manifest)
    wave = next(k for k, r in enumerate(expected) if r["source_video_id"] == "wave_0")
    assert expected[wave]["synth_status"] == "ok"
    reason = died_reason("synth", MAX_ATTEMPTS, "FFmpeg or the segmenter crashed")
    source = read_manifest(manifest).rows[wave]
    expected[wave] = failed_row(source, "person-only", expected[wave]["path"], "decode_error", reason)
    assert rows == expected  # the other rows exactly as made locally
    made = sorted(p.relative_to(tmp_path / "ray") for p in (tmp_path / "ray" / "videos").iterdir())
    assert [str(p) for p in made] == [r["path"] for r in rows if r["synth_status"] == "ok"]  # nothing else
    for rel in made:
        np.testing.assert_array_equal(_frames(tmp_path / "ray" / rel), _frames(tmp_path / "local" / rel))
    assert Counter(on_ray.counts) == Counter(local.counts) - Counter(ok=1) + Counter(decode_error=1)


class PoisonedExplainRows(ray_engine.ExplainRows):
    """``ExplainRows`` whose explaining of the poisoned video (``person``) kills its actor."""

    def __init__(self, setup, device, **kwargs):
        super().__init__(setup, device, **kwargs)
        explain = self.explain

        def dies_on_person(row, methods):
            if row.video_id == "person":
                _die()
            return explain(row, methods)

        self.explain = dies_on_person


def test_a_row_that_kills_its_explain_actor_every_time_ends_decode_error(
    local_ray,
    tally,
    tmp_path,
    monkeypatch,
    one_thread,  # noqa: F811 -- the imported fixture
    made_media,
):
    rows = explain_rows.__wrapped__(tmp_path, made_media)
    local = api.explain(rows, "tiny_c3d", tmp_path / "local", **KW)
    monkeypatch.setattr(ray_engine, "ExplainRows", PoisonedExplainRows)
    on_ray = api.explain(rows, "tiny_c3d", tmp_path / "ray", engine="ray", **KW)

    deaths = local_ray.get(tally.deaths.remote())
    assert len(deaths) == MAX_ATTEMPTS == len(set(deaths))
    a, b = stored_attributions(on_ray.store), stored_attributions(local.store)
    reason = died_reason("explain", MAX_ATTEMPTS, "FFmpeg or the segmenter crashed")
    for method in ("gradcam", "occlusion"):
        given_up, made = a.pop(("person", method)), b.pop(("person", method))
        assert (given_up.status, given_up.reason, given_up.saliency) == ("decode_error", reason, None)
        assert made.status == "ok"  # the file is fine: only its explain process "crashed"
    assert_same_rows(a, b)  # every other row exactly as the local engine has it

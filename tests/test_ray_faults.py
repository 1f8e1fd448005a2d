"""Ray's fault tolerance, for real: a decode worker or a model actor (or a synth actor) is SIGKILLed in the middle
of its task, once the driver has written its first row; the run still ends with every row exactly once and the
local engine's statuses, scores and files.

No sleeps and no timing: a ``Gate`` actor holds the victim's task (the one with the last row) until the driver
has killed the process that runs it, and counts who came through (the killed process, then the retry).
"""

from __future__ import annotations

import asyncio
import os
import pickle
import select
import signal
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from test_ray_engine import _frames, assert_same_store, stored

from weirdkinetics import api, predict
from weirdkinetics.engines import ray_engine
from weirdkinetics.manifest import write_manifest

GATE = "weirdkinetics-test-gate"
CLIPS = ["clip_b", "vp9", "low_fps"]  # ``made_media`` roles
ROWS = 12
GATED_ROW = ROWS - 1  # in the last decode task and the last model batch: the first write never waits for it
TIMEOUT_S = 300  # only so that a broken run fails instead of hanging; nothing waits on time


def _gate_class(ray):
    @ray.remote(num_cpus=0)
    class Gate:
        """Holds every task that arrives until ``release``; remembers the pid of each arrival."""

        def __init__(self):
            self.pids: list[int] = []
            self.arrived = asyncio.Event()
            self.released = asyncio.Event()

        async def arrive(self, pid: int) -> None:
            self.pids.append(pid)
            self.arrived.set()
            await self.released.wait()

        async def first(self) -> int:
            await self.arrived.wait()
            return self.pids[0]

        async def release(self) -> None:
            self.released.set()

        async def arrivals(self) -> list[int]:
            return list(self.pids)

    return Gate


def _wait_at_gate() -> None:
    """In a Ray worker: report this process at the gate and wait there until the driver lets it go."""
    import ray

    ray.get(ray.get_actor(GATE).arrive.remote(os.getpid()))


def gated_decode_row(item, tasks, **kwargs):
    """``ray_engine.decode_row``, held at the gate for the gated row's decode task."""
    if pickle.loads(item["work"])[0] == GATED_ROW:
        _wait_at_gate()
    return ray_engine.decode_row(item, tasks, **kwargs)


class GatedScoreRows(ray_engine.ScoreRows):
    """``ScoreRows``, held at the gate for the batch that holds the gated row."""

    def __call__(self, batch):
        if GATED_ROW in {int(i) for i in batch["row"]}:
            _wait_at_gate()
        return super().__call__(batch)


@pytest.fixture
def gate(local_ray, monkeypatch):
    """A fresh gate under its own name, and this module's gated stand-ins shipped to Ray's workers by value
    (they cannot import the tests; the name goes with them)."""
    from ray import cloudpickle

    this = sys.modules[__name__]
    monkeypatch.setattr(this, "GATE", f"weirdkinetics-test-gate-{uuid.uuid4().hex[:8]}")
    cloudpickle.register_pickle_by_value(this)
    handle = _gate_class(local_ray).options(name=GATE).remote()
    yield handle
    local_ray.kill(handle)
    cloudpickle.unregister_pickle_by_value(this)


def _kill_at_gate(ray, gate) -> int:
    """SIGKILL the process waiting at the gate, wait until it is gone, then open the gate for the retry."""
    pid = ray.get(gate.first.remote(), timeout=TIMEOUT_S)
    fd = os.pidfd_open(pid)
    try:
        os.kill(pid, signal.SIGKILL)
        ready, _, _ = select.select([fd], [], [], TIMEOUT_S)  # readable once the process has exited
        assert ready, f"process {pid} outlived SIGKILL"
    finally:
        os.close(fd)
    gate.release.remote()
    return pid


@pytest.fixture(scope="module")
def twelve_rows(tmp_path_factory, made_media):
    """12 rows: clips repeated under their own ids, a corrupt file (partial) and junk bytes (decode_error)."""
    root = tmp_path_factory.mktemp("faults")
    junk = root / "junk.mp4"
    junk.write_bytes(b"\x00garbage" * 500)
    paths = [made_media[CLIPS[k % len(CLIPS)]] for k in range(ROWS)]
    paths[2], paths[5] = made_media["corrupt"], junk
    rows = [
        {"path": str(p), "label": "arm wrestling", "split": "real" if k % 2 else "weird", "video_id": f"v{k}"}
        for k, p in enumerate(paths)
    ]
    return write_manifest(root / "m.csv", rows)


@pytest.fixture(scope="module")
def local_reference(twelve_rows, tmp_path_factory):
    return api.evaluate(
        twelve_rows, ["tiny_c3d"], tmp_path_factory.mktemp("local"), weights=["random:0"], progress=False
    )


@pytest.mark.parametrize("victim", ["decode worker", "model actor"])
def test_a_worker_killed_mid_task_loses_and_duplicates_no_row(
    victim, local_ray, gate, twelve_rows, local_reference, tmp_path, monkeypatch
):
    if victim == "decode worker":
        monkeypatch.setattr(ray_engine, "decode_row", gated_decode_row)
    else:
        monkeypatch.setattr(ray_engine, "ScoreRows", GatedScoreRows)
    write, written, killed = predict.Evaluation.write, [], []

    def write_then_kill(self, videos):
        write(self, videos)
        written.extend((video.row, video.job) for video in videos)
        if not killed:  # the driver's own progress: its first row is in the store
            killed.append(_kill_at_gate(local_ray, gate))

    monkeypatch.setattr(predict.Evaluation, "write", write_then_kill)
    run = api.evaluate(
        twelve_rows, ["tiny_c3d"], tmp_path, weights=["random:0"], progress=False, engine="ray"
    )

    arrivals = local_ray.get(gate.arrivals.remote())
    assert len(arrivals) == 2 and arrivals[0] == killed[0] != arrivals[1]  # killed mid-task, then retried
    assert sorted(written) == [(i, 0) for i in range(ROWS)]  # every row written once
    assert (run.summary.computed, run.summary.reused) == (ROWS, 0)
    assert run.summary.counts == local_reference.summary.counts
    assert set(run.summary.counts[run.run_ids[0]]) == {"ok", "short", "partial", "decode_error"}
    assert_same_store(stored(run.store), stored(local_reference.store))


class GatedSynthRows(ray_engine.SynthRows):
    """``SynthRows``, held at the gate once the gated row's video has begun: its temporary file holds the
    container's first packet when the actor dies."""

    def __call__(self, batch):
        if SYNTH_GATED_ROW not in {int(i) for i in batch["index"]}:
            return super().__call__(batch)
        from weirdkinetics import encode

        real_av = encode.av
        encode.av = SimpleNamespace(
            open=lambda *a, **kw: GatedContainer(real_av.open(*a, **kw)), VideoFrame=real_av.VideoFrame
        )
        try:
            return super().__call__(batch)
        finally:
            encode.av = real_av


class GatedContainer:
    """An output container that waits at the gate after its first packet is written."""

    def __init__(self, container):
        self.container, self.packets = container, 0

    def __enter__(self):
        self.container.__enter__()
        return self

    def __exit__(self, *exc):
        return self.container.__exit__(*exc)

    def __getattr__(self, name):
        return getattr(self.container, name)

    def mux(self, packet):
        self.container.mux(packet)
        self.packets += 1
        if self.packets == 1:
            _wait_at_gate()


SYNTH_GATED_ROW = 1  # wave_0 of the synth tests' toy set: a row that is made


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_a_synth_actor_killed_mid_video_leaves_the_local_engines_files(
    local_ray, gate, tmp_path, monkeypatch, made_media
):
    pytest.importorskip("cv2")
    from test_synth_generate import toy as make_toy

    manifest, _ = make_toy.__wrapped__(tmp_path, made_media)
    kw = {"segmenter": "true", "seed": 5, "progress": False}
    local = api.synthesize("swap", manifest, tmp_path / "local", **kw)
    monkeypatch.setattr(ray_engine, "SynthRows", GatedSynthRows)
    synth_rows_ray, killed, half_written = ray_engine.synth_rows_ray, [], []

    def kill_after_first_row(setup, work, address=None, actors=None, on_row=None):
        def row_done():
            if not killed:  # the driver's own progress: its first row is back
                pid = local_ray.get(gate.first.remote(), timeout=TIMEOUT_S)
                half_written.extend(_files(tmp_path / "ray") - _files(tmp_path / "local"))
                killed.append(pid)
                _kill_at_gate(local_ray, gate)
            if on_row is not None:
                on_row()

        return synth_rows_ray(setup, work, address, actors, on_row=row_done)

    monkeypatch.setattr(ray_engine, "synth_rows_ray", kill_after_first_row)
    on_ray = api.synthesize("swap", manifest, tmp_path / "ray", engine="ray", **kw)

    arrivals = local_ray.get(gate.arrivals.remote())
    assert len(arrivals) == 2 and arrivals[0] == killed[0] != arrivals[1]
    assert half_written and all(".partial" in name for name in half_written)  # the victim had begun its file
    assert on_ray.manifest.read_bytes() == local.manifest.read_bytes()
    assert _files(tmp_path / "ray") == _files(tmp_path / "local")  # no half-written file left behind
    made = sorted(name for name in _files(tmp_path / "local") if name.startswith("videos/"))
    assert len(made) == 2
    for rel in made:
        np.testing.assert_array_equal(_frames(tmp_path / "ray" / rel), _frames(tmp_path / "local" / rel))

"""Decode workers die with their parent (issue 22, item 10): ``evaluate --decode-workers 2`` killed with SIGKILL
or SIGTERM (no clean-up runs in the parent) leaves no worker behind.

Processes are found through /proc (Linux; psutil is not a dependency). No speed is asserted: the test polls up to
generous limits and fails only if a worker is still there at the end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from weirdkinetics.encode import write_video
from weirdkinetics.manifest import write_manifest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a live process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the name may hold spaces and parentheses
    return fields[0], int(fields[1])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None and st[1] == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X")  # a zombie holds no memory: it is gone for our purpose


def _poll(check, limit: float) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


@pytest.fixture
def many_rows(tmp_path) -> Path:
    """Enough rows (one small lossless video, listed 400 times) that the run is still decoding when killed."""
    frames = np.random.default_rng(0).integers(0, 255, (48, 32, 32, 3), dtype=np.uint8)
    write_video(tmp_path / "v.mkv", frames, 24, lossless=True)
    rows = [{"path": "v.mkv", "label": "jogging", "split": "real", "video_id": f"v{i}"} for i in range(400)]
    return write_manifest(tmp_path / "m.csv", rows)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killing_evaluate_ends_its_decode_workers(sig, many_rows, tmp_path):
    cmd = [
        sys.executable, "-m", "weirdkinetics", "evaluate", "--model", "tiny_c3d", "--weights", "random:0",
        "--manifest", str(many_rows), "--out", str(tmp_path / "out"), "--decode-workers", "2", "--no-progress",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": SRC}
    parent = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    workers: list[int] = []
    try:
        assert _poll(lambda: len(_children(parent.pid)) >= 2 or parent.poll() is not None, 300)
        workers = _children(parent.pid)
        assert len(workers) >= 2 and parent.poll() is None, "the run ended before its workers were seen"
        parent.send_signal(sig)
        parent.wait(timeout=120)
        assert _poll(lambda: not any(_alive(w) for w in workers), 120), "decode workers outlived their parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        for w in workers:  # never leave them behind, even when the test fails
            if _alive(w):
                os.kill(w, signal.SIGKILL)


def test_a_local_ray_we_start_leaves_no_session_folder(tmp_path):
    """Each local Ray run left a session folder under /tmp/ray (issue 22.10): ``ray_session`` removes the one it
    started, and only that one (another process's session folder, made here as a stand-in, stays)."""
    pytest.importorskip("ray")
    code = (
        "from weirdkinetics.engines.ray_engine import ray_session\n"
        "with ray_session() as ray:\n"
        "    print(ray._private.worker._global_node.get_session_dir_path(), flush=True)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | {"PYTHONPATH": SRC}
    before = {p.name for p in Path("/tmp/ray").glob("session_2*")} if Path("/tmp/ray").exists() else set()
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600, check=True
    )
    session = Path(done.stdout.strip().splitlines()[-1])
    assert session.name.startswith("session_") and session.name not in before
    assert not session.exists(), f"the local Ray's session folder {session} was left behind"
    after = {p.name for p in session.parent.glob("session_2*")}
    assert before <= after  # sessions this run did not start are untouched

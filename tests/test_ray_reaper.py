"""A local Ray dies with the driver that started it (issue 22, item 10): SIGKILL the driver and every process
of its Ray (GCS, raylet, the agents that Ray's own fate sharing leaves behind, workers) ends, and its session
folder under /tmp/ray is removed (``engines.reaper``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

DRIVER = """
import os, time
from weirdkinetics.engines.ray_engine import ray_session
with ray_session() as ray:
    worker = ray.get(ray.remote(lambda: os.getpid()).remote())
    print("READY", ray._private.worker._global_node.get_session_dir_path(), flush=True)
    time.sleep(600)
"""


def descendants(root: int) -> set[int]:
    """Pids of every process below ``root`` (Linux /proc)."""
    parent = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, ppid in parent.items() if ppid in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its parent's wait is missing


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the watchdog reads /proc")
def test_a_killed_driver_takes_its_local_ray_and_session_folder_with_it(tmp_path):
    pytest.importorskip("ray")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("RAY_ADDRESS", None)
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        line = driver.stdout.readline().split()
        assert line and line[0] == "READY", "the driver did not start its Ray"
        session = Path(line[1])
        ray_processes = descendants(driver.pid)
        assert session.is_dir() and len(ray_processes) >= 3  # GCS, raylet, agents, a worker, the watchdog
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    deadline = (
        time.monotonic() + 120
    )  # the watchdog's SIGTERM, SIGKILL after 3 s; generous on a loaded machine
    while time.monotonic() < deadline and (session.exists() or any(alive(p) for p in ray_processes)):
        time.sleep(0.5)
    left = sorted(p for p in ray_processes if alive(p))
    assert not left, f"processes outlived the driver: {left}"
    assert not session.exists()

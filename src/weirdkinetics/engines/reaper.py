"""Ray processes that die with the driver that started them (issue 22, item 10).

A local Ray that a command starts (``ray.init`` without an address) runs as separate processes: the GCS
server, the raylet, its agents and the workers. ``ray.shutdown`` ends them when the driver ends normally, but a
driver killed with SIGKILL (the OOM killer, ``kill -9``) or SIGTERM leaves them running, holding memory, and
leaves its session folder under /tmp/ray. Ray's own fate sharing does not cover them all.

So the driver starts this module as a small watchdog process in its own session (a Ctrl-C or a signal to the
driver's process group does not reach it)::

    python -m weirdkinetics.engines.reaper DRIVER_PID SESSION_DIR

It waits for the driver to exit (a pidfd on Linux, else polling), then ends every process whose command line
names the session (SIGTERM, then SIGKILL after ``GRACE_S``) and removes the session folder. A driver that ends
normally shuts Ray down itself and then stops the watchdog (``Reaper.close``). Written by hand: neither Ray nor
the standard library offers a parent-death hook for processes another library starts.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

GRACE_S = 3.0
"""Seconds between SIGTERM and SIGKILL for the session's leftover processes."""


def session_processes(session_dir: Path, exclude: set[int] | None = None) -> list[int]:
    """Pids of processes whose command line names the session (its folder or its ``session_...`` name):
    every process of that Ray instance (GCS, raylet, agents, workers) and no other. Linux (/proc) only."""
    name = session_dir.name.encode()
    exclude = (exclude or set()) | {os.getpid()}
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in exclude:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if name in cmdline and b"weirdkinetics.engines.reaper" not in cmdline:
            pids.append(int(entry.name))
    return pids


def end_session(session_dir: Path, grace_s: float = GRACE_S) -> list[int]:
    """End every process of the Ray session (SIGTERM, SIGKILL after ``grace_s``) and remove its folder and
    Ray's ``session_latest`` link to it. Returns the pids signalled."""
    pids = session_processes(session_dir)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and session_processes(session_dir):
        time.sleep(0.2)
    for pid in session_processes(session_dir):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(session_dir, ignore_errors=True)
    latest = session_dir.parent / "session_latest"
    with contextlib.suppress(OSError):
        if latest.is_symlink() and Path(os.readlink(latest)).name == session_dir.name:
            latest.unlink()
    return pids


def wait_for_exit(pid: int) -> None:
    """Return once process ``pid`` has exited (a pidfd where the kernel has them; polling otherwise)."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        while _alive(pid):
            time.sleep(0.5)
        return
    try:
        select.select([fd], [], [])
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Reaper:
    """The driver's handle on its watchdog process (see the module)."""

    def __init__(self, session_dir: str | Path):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", __name__, str(os.getpid()), str(session_dir)],
            start_new_session=True,  # out of the driver's process group: a signal to the group spares it
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def close(self) -> None:
        """The driver ended Ray itself: stop the watchdog (and reap it)."""
        with contextlib.suppress(OSError):
            self.proc.kill()
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=10)


def main(argv: list[str]) -> int:
    driver, session_dir = int(argv[0]), Path(argv[1])
    # a hang-up or Ctrl-C meant for the driver's terminal must not end the watchdog before its work
    for sig in (signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    wait_for_exit(driver)
    end_session(session_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

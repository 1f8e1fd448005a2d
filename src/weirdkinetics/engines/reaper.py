"""Ray processes that die with the driver that started them (issue 22, item 10).

A local Ray that a command starts (``ray.init`` without an address) runs as separate processes: the GCS
server, the raylet, its agents and the workers. ``ray.shutdown`` ends them when the driver ends normally, but a
driver killed with SIGKILL (the OOM killer, ``kill -9``) or SIGTERM leaves them running, holding memory, and
leaves its session folder under /tmp/ray. Ray's own fate sharing does not cover them all: on Ray 2.60 the
raylet's ``DashboardAgent`` and ``RuntimeEnvAgent`` outlive a SIGKILLed driver, re-parented to init, with
command lines (``ray::DashboardAgent``) that name neither the driver nor the session.

So the driver marks the Ray it starts: ``ray.init`` runs with ``OWNER_ENV`` set to a tag unique to this start
(``owner_tag``), which every Ray process inherits (the raylet passes its environment on to its agents and
workers). It then starts this module as a small watchdog process in its own session (a Ctrl-C or a signal to
the driver's process group does not reach it)::

    python -m weirdkinetics.engines.reaper DRIVER_PID TAG SESSION_DIR

It waits for the driver to exit (a pidfd on Linux, else polling), then ends every process whose environment
holds the tag (SIGTERM, then SIGKILL after ``GRACE_S``) and removes the session folder. A driver that ends
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
import uuid
from collections.abc import Iterator
from pathlib import Path

GRACE_S = 3.0
"""Seconds between SIGTERM and SIGKILL for the session's leftover processes."""


OWNER_ENV = "WEIRDKINETICS_RAY_OWNER"
"""The environment variable that marks the processes of a local Ray this toolkit started (see the module)."""


def owner_tag() -> str:
    """A tag unique to one local Ray start of this process."""
    return f"{os.getpid()}-{uuid.uuid4().hex}"


@contextlib.contextmanager
def owner_marked(tag: str) -> Iterator[None]:
    """``OWNER_ENV=tag`` in this process's environment while inside (the processes started meanwhile inherit
    it), as it was afterwards."""
    before = os.environ.get(OWNER_ENV)
    os.environ[OWNER_ENV] = tag
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(OWNER_ENV, None)
        else:
            os.environ[OWNER_ENV] = before


def owned_processes(tag: str) -> list[int]:
    """Pids of the processes whose environment holds ``OWNER_ENV=tag``, this one excluded. Linux (/proc)
    only; a process whose environment cannot be read (another user's) is not ours."""
    mark = f"{OWNER_ENV}={tag}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if mark in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def end_session(tag: str, session_dir: Path | None, grace_s: float = GRACE_S) -> list[int]:
    """End every process of the Ray start marked ``tag`` (SIGTERM, SIGKILL after ``grace_s``) and remove its
    session folder and Ray's ``session_latest`` link to it. Returns the pids signalled."""
    pids = owned_processes(tag)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and owned_processes(tag):
        time.sleep(0.2)
    for pid in owned_processes(tag):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    if session_dir is not None:
        remove_session(session_dir)
    return pids


def remove_session(session_dir: Path) -> None:
    """Remove the session folder (logs, sockets, spilled objects) of a local Ray this process started and has
    shut down, and Ray's ``session_latest`` link when it points there: each local run left one under /tmp/ray.
    Sessions of other processes, and any cluster's, are never touched."""
    shutil.rmtree(session_dir, ignore_errors=True)  # a log a dying Ray process still holds open may stay
    latest = session_dir.parent / "session_latest"
    with contextlib.suppress(OSError):
        if latest.is_symlink() and Path(os.readlink(latest)).name == session_dir.name:
            latest.unlink()


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

    def __init__(self, tag: str, session_dir: str | Path | None):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", __name__, str(os.getpid()), tag, str(session_dir or "")],
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
    driver, tag, session_dir = int(argv[0]), argv[1], (Path(argv[2]) if argv[2] else None)
    # a hang-up or Ctrl-C meant for the driver's terminal must not end the watchdog before its work
    for sig in (signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    wait_for_exit(driver)
    end_session(tag, session_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

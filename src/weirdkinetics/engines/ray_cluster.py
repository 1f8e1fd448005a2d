"""What the Ray engine checks of a cluster before and while it works (issues 20 and 22).

- ``check_reachable``: an address (``--address`` or ``RAY_ADDRESS``) where nothing answers is refused in
  ``CONNECT_TIMEOUT_S`` with one line; Ray's own ``ray.init`` would retry it for minutes.
- ``joined_line``: which cluster a run joined (address, nodes, CPUs, GPUs), printed when it was not started
  here (``--address auto`` attaches to whatever Ray runs on the machine).
- ``check_placement``: ``--actors`` the cluster cannot place is refused before anything starts (Ray Data waits
  for resources that never come, silently).
- ``StallWatch``: when no row finishes for ``STALL_S``, one line says what the run waits for and Ray Data's
  own warnings (silenced while all goes well) are let through.
- ``actors_failed``: actors that die before they start (a driver whose token does not match the cluster's,
  a node without weirdkinetics) get one line that says what to check.

Nothing here imports Ray at module level: ``ray`` is passed in by the engine.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Self, TextIO

from weirdkinetics.errors import UserError, option

if TYPE_CHECKING:
    from types import ModuleType

CONNECT_TIMEOUT_S = 10.0
"""How long the driver waits for a TCP answer at a cluster's address before it refuses to start."""

STALL_S = 60.0
"""Seconds without a finished row after which the run says what it is waiting for."""

TOKEN_PATH = Path("~/.ray/auth_token")
"""Where Ray (2.60) keeps the token of token authentication, written on a local start."""


def requested_address(address: str | None) -> tuple[str | None, str]:
    """The address a Ray connection will use and how the user gave it (for messages): ``--address`` first,
    then ``RAY_ADDRESS`` (which ``ray.init`` reads even without an address). (None, ""): a local start."""
    if address is not None and address != "auto":
        return address, option("address", address)
    env = os.environ.get("RAY_ADDRESS", "")
    if env:
        return env, f"RAY_ADDRESS={env}"
    if address == "auto":
        return "auto", option("address", "auto")
    return None, ""


def _host_port(address: str, given: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``ray://HOST:PORT``, ``[IPv6]:PORT``) split; a missing port is the client's or GCS's default."""
    rest = address.split("://", 1)[1] if "://" in address else address
    default = 10001 if address.lower().startswith("ray://") else 6379
    host, sep, port = rest.rpartition(":")
    if not sep or "]" in port:
        host, port = rest, str(default)
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"{given}: give HOST:PORT (e.g. head:6379), ray://HOST:10001 or auto")
    return host, int(port)


def check_reachable(address: str | None, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Refuse, in one line, an address (``--address`` or ``RAY_ADDRESS``) where nothing takes a TCP connection
    within ``timeout`` seconds. ``auto`` without ``RAY_ADDRESS`` is left to Ray, which finds this machine's
    cluster itself (and says so when there is none)."""
    target, given = requested_address(address)
    if target is None or target == "auto":
        return
    host, port = _host_port(target, given)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        why = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        undo = "unset RAY_ADDRESS" if given.startswith("RAY_ADDRESS") else "leave --address out"
        raise UserError(
            f"{given}: no Ray cluster answers at {host}:{port} ({why} within {timeout:g} s); start one there with "
            f"'ray start --head', check the host and port (the head's, 6379 by default; 10001 for ray://), "
            f"or {undo} for a local Ray"
        ) from None


def refused_connection(address: str | None, exc: Exception) -> str:
    """The one line for a ``ray.init`` that could not connect. Past ``check_reachable`` something took the TCP
    connection at a HOST:PORT, so the likely cause is not an absent cluster but one that refused this driver:
    Ray 2.60's token authentication with another token (Ray logs ``InvalidAuthToken`` and then gives up with
    a plain connection error), or another Ray version."""
    target, given = requested_address(address)
    mode = f"RAY_AUTH_MODE={os.environ.get('RAY_AUTH_MODE', 'unset')}, token file {'present' if TOKEN_PATH.expanduser().exists() else 'absent'}"
    if target is None or target == "auto":
        return (
            f"{given or option('address', address)}: no Ray cluster answers there ({exc}); start one with "
            "'ray start --head' (see docs/cluster.md) or leave --address out for a local Ray"
        )
    return (
        f"{given}: something answers there but Ray could not connect ({exc}); if it is a Ray cluster it most "
        f"likely uses token authentication: run with RAY_AUTH_MODE=token and the head's token in {TOKEN_PATH} "
        f"(here: {mode}), as docs/cluster.md shows; else it runs another Ray version (this driver "
        f"has {_ray_version()})"
    )


def _ray_version() -> str:
    import importlib.metadata

    try:
        return "ray " + importlib.metadata.version("ray")
    except importlib.metadata.PackageNotFoundError:
        return "no ray"


def joined_line(ray: ModuleType, address: str | None) -> str:
    """``joined the Ray cluster at 10.0.0.5:6379 (asked for auto): 2 nodes, 16 CPUs, 1 GPU``."""
    nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
    total = ray.cluster_resources()
    cpus, gpus = int(total.get("CPU", 0)), int(total.get("GPU", 0))
    try:
        at = ray.get_runtime_context().gcs_address
    except Exception:  # noqa: BLE001 -- a client (ray://) connection has no GCS address to show
        at = requested_address(address)[0]
    target, _ = requested_address(address)
    return (
        f"joined the Ray cluster at {at} (asked for {target}): {nodes} node{'s' * (nodes != 1)}, {cpus} CPU{'s' * (cpus != 1)}, "
        f"{gpus} GPU{'s' * (gpus != 1)}"
    )


def check_placement(ray: ModuleType, stage: str, device: str, actors: int, decodes: bool) -> None:
    """Refuse ``actors`` that the cluster cannot place, before any starts. Every actor takes 1 CPU (Ray Data's
    default) and, on ``cuda``, 1 GPU; ``decodes``: the stage also runs decode tasks of 1 CPU each beside its
    actors (evaluate), which need at least one CPU left over or nothing is ever decoded."""
    total = ray.cluster_resources()
    cpus, gpus = int(total.get("CPU", 0)), int(total.get("GPU", 0))
    need_cpus = actors + (1 if decodes else 0)
    what = f"{actors} actor{'s' * (actors != 1)}" + (" and at least one decode task" if decodes else "")
    if need_cpus > cpus:
        fewer = max(0, cpus - (1 if decodes else 0))
        raise UserError(
            f"{option('actors', actors)}: {stage} on this Ray cluster needs {need_cpus} CPUs ({what}, 1 CPU "
            f"each) but the cluster has {cpus}; give {option('actors', fewer)} or fewer"
            + (f", add CPUs, or use {option('engine', 'local')}" if fewer < 1 else " or add nodes")
        )
    if device.startswith("cuda") and actors > gpus:
        raise UserError(
            f"{option('actors', actors)}: each actor takes a GPU and the Ray cluster has {gpus}; give "
            f"{option('actors', gpus)} or fewer, or add GPU nodes"
        )


class StallWatch:
    """A daemon thread that speaks when a run stops progressing: after ``stall_s`` seconds without a
    ``progressed()`` call, one line on ``stream`` says what the run waits for (the cluster's free CPUs and
    GPUs), and from then on Ray Data's warnings (e.g. "Cluster resources are not enough to run any task")
    reach the terminal. Used as a context manager around the loop that reads the pipeline's output."""

    def __init__(self, ray: ModuleType, stage: str, stall_s: float = STALL_S, stream: TextIO | None = None):
        self.ray, self.stage, self.stall_s = ray, stage, stall_s
        self.stream = stream if stream is not None else sys.stderr
        self.last = time.monotonic()
        self.stop = threading.Event()
        self.spoke = 0  # stalls reported so far
        self.thread = threading.Thread(target=self._watch, name="ray-stall-watch", daemon=True)

    def progressed(self) -> None:
        self.last = time.monotonic()

    def __enter__(self) -> Self:
        self.last = time.monotonic()
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=5)

    def _watch(self) -> None:
        reported = None  # the progress time of the stall last reported: one line per stall
        while not self.stop.wait(min(self.stall_s, 5.0)):
            last = self.last
            if time.monotonic() - last >= self.stall_s and reported != last:
                reported = last
                with contextlib.suppress(Exception):  # a report must never break the run
                    self._report(time.monotonic() - last)

    def _report(self, idle: float) -> None:
        free, total = self.ray.available_resources(), self.ray.cluster_resources()

        def have(key: str) -> str:
            return f"{int(free.get(key, 0))} of {int(total.get(key, 0))} {key}s free"

        print(
            f"{self.stage} on Ray: no video finished for {idle:.0f} s; waiting for Ray to place work "
            f"({have('CPU')}, {have('GPU')}): other jobs may hold the cluster, or a task is slow; Ray's own "
            "warnings follow",
            file=self.stream,
            flush=True,
        )
        self.spoke += 1
        logging.getLogger("ray.data").setLevel(logging.WARNING)  # the engine quiets it while all goes well


def actors_failed(ray: ModuleType, exc: BaseException, address: str | None) -> UserError | None:
    """One line for actors that died before they started on a cluster (None: not that case, or a local Ray
    this process started, where token and version mismatches cannot happen). Ray Data retries actors that die
    mid-work without limit, so an actor death that reaches the driver is one at start: the usual causes are
    a driver whose token authentication does not match the cluster's (Ray 2.60 writes ``~/.ray/auth_token`` on
    a local start and then sends it) and nodes without weirdkinetics."""
    target, given = requested_address(address)
    if target is None or not isinstance(exc, ray.exceptions.RayActorError):
        return None
    if getattr(exc, "actor_init_failed", False):  # a Python error in the actor's constructor: a bug, keep it
        return None
    mode = os.environ.get("RAY_AUTH_MODE", "unset")
    token = "present" if TOKEN_PATH.expanduser().exists() else "absent"
    return UserError(
        f"{given}: Ray's actors died before they started on the cluster; check that this driver's token "
        f"authentication matches the cluster's (here RAY_AUTH_MODE={mode}, {TOKEN_PATH} {token}: copy the head's "
        "token to every node and this machine, or set RAY_AUTH_MODE as the cluster was started) and that "
        "every node has the same weirdkinetics and Ray (see docs/cluster.md)"
    )

"""A per-run guard against work that kills its process on every try (issue 13), for the Ray engine.

Ray Data retries a task whose worker died, and restarts an actor that died, without limit (its defaults, which
the Ray engine keeps: see ``ray_engine``). A file that crashes FFmpeg every time would then be retried forever.
The guard does not touch Ray's retry settings: the driver starts one small ``AttemptLedger`` actor per run
(``attempt_ledger``), and each piece of work asks it first, through the run's ``Attempts``::

    result = attempts.run(key, work=lambda: ..., gave_up=lambda: ...)

``run`` counts a start of ``key`` before ``work`` runs (so a crash mid-work counts) and clears the count once
``work`` returns; a key started ``max_attempts`` times without finishing is not tried again: ``gave_up()`` gives
its result instead (a row's failure status, whose reason ``died_reason`` words). A ledger that cannot be reached
never stops work: ``run`` then just runs it. ``Attempts`` is plain data (an actor handle) that travels in a Ray
task's ``fn_kwargs`` or an actor's constructor arguments.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from types import ModuleType

MAX_ATTEMPTS = 3
"""Starts of one work item without a finish (its process died each time) after which it gets a failure status
instead of another try."""

LEDGER_TIMEOUT_S = 60.0
"""How long a worker waits for the ledger's answer before it works without it (a ledger that is gone answers
at once with an error; this only bounds a ledger that hangs)."""

T = TypeVar("T")


class AttemptLedger:
    """Ray actor (``num_cpus=0``, one per run): how often each work item was started since it last finished."""

    def __init__(self) -> None:
        self.unfinished: dict[Hashable, int] = {}

    def start(self, key: Hashable) -> int:
        """Record a start of ``key``; return its starts without a finish, this one included."""
        self.unfinished[key] = self.unfinished.get(key, 0) + 1
        return self.unfinished[key]

    def finish(self, key: Hashable) -> None:
        self.unfinished.pop(key, None)

    def counts(self) -> dict[Hashable, int]:
        return dict(self.unfinished)


@dataclass(frozen=True)
class Attempts:
    """A worker's side of the run's ledger. ledger: the ``AttemptLedger`` actor's handle (None: no guard)."""

    ledger: Any = None
    max_attempts: int = MAX_ATTEMPTS

    def start(self, key: Hashable) -> int:
        """Record a start of ``key``; its starts without a finish, this one included (1 when the ledger
        cannot be reached: the guard must never be a new way to fail)."""
        if self.ledger is None:
            return 1
        import ray

        try:
            return ray.get(self.ledger.start.remote(key), timeout=LEDGER_TIMEOUT_S)
        except Exception:  # noqa: BLE001 -- work without the guard
            return 1

    def first_attempts(self, key: Hashable) -> bool:
        """Record a start of ``key``: False when it was already started ``max_attempts`` times without
        finishing (give up on it), True otherwise, and True when the ledger cannot be reached."""
        return self.start(key) <= self.max_attempts

    def finished(self, key: Hashable) -> None:
        """Clear ``key``'s count: a later start (its task retried for another item's crash) is a fresh try.
        Not waited for: the ledger runs one caller's calls in order, so it lands before this worker's next
        ``first_attempts``."""
        if self.ledger is None:
            return
        with contextlib.suppress(Exception):
            self.ledger.finish.remote(key)

    def run(self, key: Hashable, work: Callable[[], T], gave_up: Callable[[], T]) -> T:
        """``work()``, counted as a start of ``key``; ``gave_up()`` instead once ``key`` has been started
        ``max_attempts`` times without finishing. The count stays after giving up, so every later start (the
        same task retried for another item) gives up at once."""
        if not self.first_attempts(key):
            return gave_up()
        result = work()
        self.finished(key)
        return result


def died_reason(process: str, attempts: int, suspect: str = "FFmpeg crashed") -> str:
    """The reason of a row given up on: what happened and what to do (``statuses.worker_died_reason``).
    process: what died, e.g. ``decoding`` or ``model``."""
    from weirdkinetics.statuses import worker_died_reason

    return worker_died_reason(process, attempts, suspect)


@contextlib.contextmanager
def attempt_ledger(ray: ModuleType, max_attempts: int = MAX_ATTEMPTS) -> Iterator[Attempts]:
    """A run's ledger: started here (on the driver, which keeps its handle), killed when the run ends."""
    handle = ray.remote(num_cpus=0)(AttemptLedger).remote()
    try:
        yield Attempts(handle, max_attempts)
    finally:
        with contextlib.suppress(Exception):
            ray.kill(handle)

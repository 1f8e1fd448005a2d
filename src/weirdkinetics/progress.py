"""Progress for long work: tqdm's bar on a terminal, one plain line every few seconds anywhere else.

A shared leaf. tqdm redraws its bar with a carriage return many times a second; in a log file (CI, ``nohup``, a
cluster job) that becomes thousands of screen-wide lines. When the stream is not a terminal, ``progress_bar``
returns ``PlainProgress`` instead, which prints ``desc: done/total unit (pct), rate, ETA`` at most every
``interval`` seconds and once at the end. Both answer the few calls the stages make: ``update``,
``set_postfix``, ``close`` and use as a context manager.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any, Self

PLAIN_INTERVAL_S = 10.0
"""Seconds between two plain progress lines (the last line is always printed)."""


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class PlainProgress:
    """Progress as plain lines: at most one every ``interval`` seconds, plus one when closed.

    ``clock`` is injectable so tests can step time without sleeping."""

    def __init__(
        self,
        total: int | None,
        desc: str,
        unit: str = "it",
        stream: IO[str] | None = None,
        interval: float = PLAIN_INTERVAL_S,
        clock=time.monotonic,
    ):
        self.total, self.desc, self.unit = total, desc, unit
        self.stream = stream if stream is not None else sys.stderr
        self.interval, self.clock = interval, clock
        self.n = 0
        self.postfix = ""
        self.start = self.last = clock()
        self.closed = False

    def line(self) -> str:
        """The current line, e.g. ``evaluate: 12/40 videos (30%), 1.50 videos/s, about 19s left``."""
        elapsed = max(self.clock() - self.start, 1e-9)
        rate = self.n / elapsed
        done = f"{self.n}/{self.total}" if self.total else f"{self.n}"
        pct = f" ({100 * self.n // self.total}%)" if self.total else ""
        text = (
            f"{self.desc}: {done} {self.unit}s{pct}, {rate:.2f} {self.unit}s/s, {_duration(elapsed)} elapsed"
        )
        if self.total and self.n and self.n < self.total:
            text += f", about {_duration((self.total - self.n) / rate)} left"
        return text + (f" [{self.postfix}]" if self.postfix else "")

    def _print(self) -> None:
        print(self.line(), file=self.stream, flush=True)
        self.last = self.clock()

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.clock() - self.last >= self.interval:
            self._print()

    def set_postfix(self, **values: Any) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._print()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Silent:
    """Progress switched off: every call does nothing."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **values: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        pass


def progress_bar(total: int | None, desc: str, unit: str = "it", enabled: bool = True, stream=None):
    """A progress reporter for ``total`` units of work: tqdm's bar when ``stream`` (default stderr) is a
    terminal, ``PlainProgress`` lines when it is not, nothing when ``enabled`` is false."""
    if not enabled:
        return _Silent()
    stream = stream if stream is not None else sys.stderr
    if getattr(stream, "isatty", lambda: False)():
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, file=stream)
    return PlainProgress(total, desc, unit, stream=stream)


def track(items, desc: str, unit: str = "it", enabled: bool = True):
    """Yield ``items`` (a sized collection) with a ``progress_bar`` over them."""
    with progress_bar(len(items), desc, unit, enabled) as bar:
        for item in items:
            yield item
            bar.update(1)

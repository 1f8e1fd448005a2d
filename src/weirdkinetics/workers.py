"""Decoding in worker processes: the same clip stream as ``clips.manifest_events``, from several videos at once.

With a fast model (a GPU, or a tiny model on CPU) one decoding thread is the bottleneck. Each worker process
takes whole rows from a queue and runs ``clips.row_events`` on them, so a row's events stay in order (its clips
before its end) while rows interleave; the scorer accepts any interleaving of rows. Clips travel as numpy
arrays through a bounded queue, so memory stays bounded by the clips in flight. Results equal one worker's.

A worker that dies (e.g. FFmpeg crashing on a hostile file) stops the run with an error naming it; every video
already scored is in the store, and the next run resumes after it.

Workers die with their parent (``_die_with_parent``): a parent killed with SIGKILL or SIGTERM runs no clean-up,
and a worker holds a model's worth of memory (about 460 MB) while it waits on a queue nobody reads.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator

from weirdkinetics.clips import ClipTask, ClipViews, Event, VideoEnd, row_events
from weirdkinetics.manifest import ManifestRow

_DONE = "done"


def default_workers(device: str) -> int:
    """One decoding thread on CPU (the model needs the cores); on a GPU, all cores but one decode."""
    if device.startswith("cuda"):
        return max(1, min(8, (os.cpu_count() or 2) - 1))
    return 1


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _die_with_parent(parent: int, main_thread: bool) -> None:
    """End this worker as soon as ``parent`` (the pid that started it) is gone, however it ended.

    Linux: the kernel sends SIGKILL when the parent dies (``prctl(PR_SET_PDEATHSIG)``, called through ctypes as
    the standard library has no binding). That signal follows the *thread* that forked us, so it is asked for
    only when the main thread did. Everywhere (and as a back-up): a daemon thread that polls ``os.getppid()``,
    which changes when an orphan is re-parented, and exits the process. A parent that died before either was
    in place is caught by the first check.
    """
    if main_thread and sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)  # no clean-up to run: the parent that would read our events is gone

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _work(
    rows: multiprocessing.Queue,
    events: multiprocessing.Queue,
    tasks: list[ClipTask],
    parent: int,
    main_thread: bool,
) -> None:
    _die_with_parent(parent, main_thread)
    import torch

    torch.set_num_threads(1)  # the workers share the cores among themselves
    try:
        while (job := rows.get()) is not None:
            i, row, wanted = job
            for event in row_events(i, row, wanted, tasks):
                if isinstance(event, ClipViews):
                    events.put(("clip", event.row, event.job, event.clip, event.attempt, event.views.numpy()))
                else:
                    events.put(("end", event))
    except BaseException:  # noqa: BLE001 -- reported to the parent, which raises it
        events.put(("error", traceback.format_exc()))
        return
    events.put((_DONE,))


def parallel_events(
    rows: list[ManifestRow],
    todo: dict[int, list[int]],
    tasks: list[ClipTask],
    workers: int,
    maxsize: int = 16,
) -> Iterator[Event]:
    """Events of the rows in ``todo`` (row index -> task indices), decoded by ``workers`` processes."""
    procs, event_queue = _start(rows, todo, tasks, workers, maxsize)
    done = 0
    try:
        while done < workers:
            item = _next_item(event_queue, procs)
            if item is None:
                continue
            event = _event(item)
            if event is None:
                done += 1
            else:
                yield event
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=5)


def _start(
    rows: list[ManifestRow], todo: dict[int, list[int]], tasks: list[ClipTask], workers: int, maxsize: int
) -> tuple[list, multiprocessing.Queue]:
    """Queue the rows (then one stop per worker) and start the workers; their events come on the queue."""
    # fork where the platform has it (as torch's DataLoader does: torch resets its thread pool in the child),
    # which starts a worker in milliseconds; spawn elsewhere, which imports torch again in each worker
    ctx = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    )
    row_queue: multiprocessing.Queue = ctx.Queue()
    event_queue: multiprocessing.Queue = ctx.Queue(maxsize=maxsize)
    for i in sorted(todo):
        row_queue.put((i, rows[i], todo[i]))
    for _ in range(workers):
        row_queue.put(None)
    main_thread = threading.current_thread() is threading.main_thread()
    args = (row_queue, event_queue, tasks, os.getpid(), main_thread)
    procs = [ctx.Process(target=_work, args=args, daemon=True) for _ in range(workers)]
    for p in procs:
        p.start()
    return procs, event_queue


def _next_item(event_queue: multiprocessing.Queue, procs: list) -> tuple | None:
    """The next message of the workers, or None after a second without one; a worker that died raises."""
    try:
        return event_queue.get(timeout=1.0)
    except queue.Empty:
        dead = [p for p in procs if p.exitcode not in (None, 0)]
        if dead:
            raise RuntimeError(
                f"a decoding worker exited with code {dead[0].exitcode}; the videos scored so far are "
                "stored: run again to resume, with a single decode worker (decode_workers=1) to find the file "
                "that crashes it"
            ) from None
        return None


def _event(item: tuple) -> Event | None:
    """A worker's message as the event it carries; None when the worker is done; its failure raises."""
    import torch

    kind = item[0]
    if kind == "clip":
        _, row, job, clip, attempt, views = item
        return ClipViews(row, job, clip, attempt, torch.from_numpy(views))
    if kind == "end":
        end: VideoEnd = item[1]
        return end
    if kind == "error":
        raise RuntimeError(f"a decoding worker failed:\n{item[1]}")
    return None

"""Memory per record and peak memory of the Ray engine's processes, on one 10 s video with several cards.

    .venv/bin/python benchmarks/ray_memory.py                                   # 4 cards, 3 crops, 2 CPUs
    .venv/bin/python benchmarks/ray_memory.py --models i3d_r50 slow_r50 x3d_m --crops 3
    PYTHONPATH=/tmp/base/src .venv/bin/python benchmarks/ray_memory.py          # the same on older code

One evaluation of ``arm_wrestling__mmaction2_demo.mp4`` (10 s, 340x256) from ../shared/data with the cards'
random builds (``random:0``: the architecture without a download; memory does not depend on the weights) on a
local Ray started here. It reports the largest record a decode task emitted (bytes of its pickled fields, seen
by a wrapper around ``ray_engine.decode_row`` that writes each size to a file), how many records, and the peak
resident set (``VmHWM``) of each kind of Ray worker process (decode tasks, model actors) and of the driver,
polled every 0.2 s from /proc. It works on the code before issue 20.3 (one record per video) and after (records
of bounded chunks of clips), so the two can be compared. This is a benchmark, not a test: nothing here asserts.

    .venv/bin/python benchmarks/ray_memory.py --decode-only --models i3d_r50 slow_r50 x3d_m --crops 3

``--decode-only`` measures a decode task alone, without Ray or a model: this process runs
``ray_engine.decode_row`` on the video as a Ray task would and drops each record as soon as it has it (Ray ships
it out), then reports its own peak resident set (``ru_maxrss``, with the floor after imports beside it) and the
records' sizes. Run it once per code version, each in a fresh process.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

from weirdkinetics import api
from weirdkinetics.engines import ray_engine
from weirdkinetics.manifest import write_manifest

VIDEO = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "videos" / "arm_wrestling__mmaction2_demo.mp4"
)
ORIGINAL = ray_engine.decode_row
SIZES = Path(tempfile.gettempdir()) / f"ray_memory_sizes_{os.getpid()}.txt"


def _note(record: dict) -> dict:
    with SIZES.open("a") as f:  # appends of one short line: safe across processes on Linux
        f.write(f"{sum(len(v) for v in record.values() if isinstance(v, bytes))}\n")
    return record


def sized_row(item, tasks, **kwargs):
    """The older ``decode_row`` (one record per row), its record's size noted."""
    return _note(ORIGINAL(item, tasks, **kwargs))


def sized_chunks(item, tasks, **kwargs):
    """The chunked ``decode_row`` (a generator of records), each record's size noted."""
    for record in ORIGINAL(item, tasks, **kwargs):
        yield _note(record)


def _descendants(root: int) -> dict[int, str]:
    """pid -> command line of every process below ``root`` (Ray's raylet and its workers)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = {}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in found:
                try:
                    found[child] = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    continue
                frontier.append(child)
    return found


def _hwm_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Poller(threading.Thread):
    """Peak resident set per worker kind, sampled until ``stop``."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peaks: dict[str, int] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            for pid, cmd in _descendants(os.getpid()).items():
                kind = _kind(cmd)
                if kind:
                    self.peaks[kind] = max(self.peaks.get(kind, 0), _hwm_kib(pid))


def _kind(cmd: str) -> str | None:
    """Which Ray worker a command line names (Ray sets the process title to the task or actor it runs)."""
    if "decode_row" in cmd or "FlatMap" in cmd or "Map(" in cmd and "MapBatches" not in cmd:
        return "decode task"
    if "ScoreRows" in cmd or "MapWorker" in cmd:
        return "model actor"
    if cmd.startswith("ray::"):
        return "other ray worker"
    return None


def decode_only(models: list[str], crops: int) -> dict:
    """Peak RSS of one process running ``decode_row`` over the video (records dropped as they come)."""
    import pickle

    from weirdkinetics import sampling
    from weirdkinetics.clips import ClipTask
    from weirdkinetics.manifest import read_manifest
    from weirdkinetics.models import get_card

    tasks = [ClipTask(card, sampling.spec_for(card, None, crops)) for card in map(get_card, models)]
    # outside a Ray worker: one torch thread, as a decode task of 1 CPU gets
    ray_engine._use_assigned_cpus = lambda: __import__("torch").set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        m = write_manifest(
            Path(tmp) / "m.csv", [{"path": str(VIDEO), "label": "arm wrestling", "split": "real"}]
        )
        row = read_manifest(m).rows[0]
        floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        item = {"work": pickle.dumps((0, row, list(range(len(tasks)))))}
        out = ORIGINAL(item, tasks)
        sizes = [
            sum(len(v) for v in r.values() if isinstance(v, bytes))
            for r in ([out] if isinstance(out, dict) else out)
        ]
        del out
    mib = 2**20
    return {
        "layout": "chunks of clips" if inspect.isgeneratorfunction(ORIGINAL) else "one record per video",
        "models": models,
        "crops": crops,
        "records": len(sizes),
        "largest_record_mib": round(max(sizes) / mib, 1),
        "all_records_mib": round(sum(sizes) / mib, 1),
        "floor_after_imports_mib": round(floor / 1024),
        "decode_task_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["i3d_r50", "slow_r50", "x3d_m", "r2plus1d_r50"])
    p.add_argument("--crops", type=int, default=3)
    p.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray")
    p.add_argument("--decode-only", action="store_true", help="a decode task alone, without Ray (see above)")
    a = p.parse_args()
    if not VIDEO.exists():
        sys.exit(f"real media not found: {VIDEO} (the benchmark expects ../shared/data)")
    if a.decode_only:
        print(json.dumps(decode_only(a.models, a.crops), indent=2))
        return
    import ray

    chunked = inspect.isgeneratorfunction(ORIGINAL)
    ray_engine.decode_row = sized_chunks if chunked else sized_row
    SIZES.unlink(missing_ok=True)
    poller = Poller()
    with tempfile.TemporaryDirectory() as tmp:
        m = write_manifest(
            Path(tmp) / "m.csv", [{"path": str(VIDEO), "label": "arm wrestling", "split": "real"}]
        )
        ray.init(
            address="local",
            num_cpus=a.cpus,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
        poller.start()
        t0 = time.perf_counter()
        run = api.evaluate(
            m,
            a.models,
            Path(tmp) / "out",
            weights=["random:0"] * len(a.models),
            crops=a.crops,
            progress=False,
            engine="ray",
        )
        seconds = time.perf_counter() - t0
        poller.done.set()
        poller.join()
        ray.shutdown()
    sizes = [int(x) for x in SIZES.read_text().split()]
    SIZES.unlink()
    mib = 2**20
    print(
        json.dumps(
            {
                "layout": "chunks of clips" if chunked else "one record per video",
                "models": a.models,
                "crops": a.crops,
                "statuses": {k: dict(v) for k, v in run.summary.counts.items()},
                "records": len(sizes),
                "largest_record_mib": round(max(sizes) / mib, 1),
                "all_records_mib": round(sum(sizes) / mib, 1),
                "peak_rss_mib": {k: round(v / 1024) for k, v in sorted(poller.peaks.items())},
                "driver_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "seconds": round(seconds, 1),
                "load_average": [round(x, 2) for x in os.getloadavg()],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

"""How the cost of ``weirdkinetics report`` grows with the runs in a store: N runs -> seconds and bytes.

    PYTHONPATH=src .venv/bin/python benchmarks/report_scale.py                    # 10, 100 and 1000 runs
    PYTHONPATH=src .venv/bin/python benchmarks/report_scale.py --runs 12 --run-pages

Each store is written directly through the store API by the tests' helper (``tests/many_runs.py``: ``--videos``
rows per run, two splits linked by source_id, one decode_error per run; no model, no video), then reported by
``api.make_report`` in this process (imports already paid), timed with ``time.perf_counter``. Prints one JSON
line per N: wall seconds of the report, bytes of report.html, report.md, metrics.json and of the whole output
folder, and the number of files written. Beyond ``report.overview.SECTIONS_MAX`` runs the report is the overview
(``--run-pages`` adds one page per run). This is a benchmark, not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from many_runs import write_many_runs

from weirdkinetics import api


def _bytes(folder: Path) -> tuple[int, int]:
    """(total bytes, file count) under ``folder``."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def measure(runs: int, videos: int, run_pages: bool, work: Path) -> dict:
    """One store of ``runs`` runs, reported once."""
    store = work / f"s{runs}.sqlite"
    write_many_runs(store, runs, videos=videos)
    out = work / f"r{runs}"
    start = time.perf_counter()
    api.make_report(store, out, run_pages=run_pages)
    wall = time.perf_counter() - start
    total, count = _bytes(out)
    return {
        "runs": runs,
        "videos_per_run": videos,
        "run_pages": run_pages,
        "report_s": round(wall, 1),
        "html_bytes": (out / "report.html").stat().st_size,
        "md_bytes": (out / "report.md").stat().st_size,
        "metrics_json_bytes": (out / "metrics.json").stat().st_size,
        "folder_bytes": total,
        "files": count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--videos", type=int, default=40, help="rows per run (default 40)")
    parser.add_argument("--run-pages", action="store_true", help="also write one page per run")
    a = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n in a.runs:
            print(json.dumps(measure(n, a.videos, a.run_pages, Path(tmp))), flush=True)


if __name__ == "__main__":
    main()

"""Results as Parquet (``--store OUT/predictions.parquet``): a folder of plain files that a cluster's shared
file system holds well (SQLite's WAL does not work there), read by ``report`` exactly as the SQLite store is.

Chosen by the store path's suffix (``is_parquet``): a path ending in ``.parquet`` is such a folder, anything
else the SQLite file of ``store.py`` (still the default). Layout, partitioned by run (Hive style, so
``pyarrow.dataset.dataset(ROOT / "predictions", partitioning="hive")`` or pandas reads every run at once)::

    ROOT/weirdkinetics.json                       what this folder is (schema)
    ROOT/runs/run_id=<id>.json                    the run (model card, weights digest, sampling spec, classes)
    ROOT/evaluations/run_id=<id>/<digest>.json    one evaluation of a manifest (class subset, provenance)
    ROOT/predictions/run_id=<id>/part-*.parquet   the rows, one Parquet file per flush

Only one process writes (the driver, as for SQLite). Rows are buffered and flushed as one new file per run
every ``FLUSH_ROWS`` rows or ``FLUSH_SECONDS`` seconds and when the store closes; each file is written under a
temporary name and renamed, so a killed run leaves whole files and loses at most the rows not yet flushed
(recomputed on resume). A later row for the same (path, video_id) replaces an earlier one, as in SQLite.
Attribution rows (``explain``) are kept in SQLite stores only.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import numpy as np

from weirdkinetics import runid
from weirdkinetics._optional import require
from weirdkinetics.errors import UserError, option
from weirdkinetics.outputs import atomic_open, atomic_path
from weirdkinetics.statuses import worker_died
from weirdkinetics.store import RETRY_STATUSES, SCHEMA_VERSION, RunInfo, StoredAttribution, StoredPrediction

SUFFIX = ".parquet"
FORMAT = "weirdkinetics.parquet/1"
MARKER = "weirdkinetics.json"
FLUSH_ROWS = 64
"""Rows buffered before they are written as one Parquet file (per run)."""
FLUSH_SECONDS = 60.0
"""Longest time a finished row waits in memory before it is written."""

_COLUMNS = (
    "video_id",
    "path",
    "row_json",
    "status",
    "reason",
    "num_frames",
    "num_clips",
    "scores",
    "clip_scores",
    "decode_s",
    "infer_s",
    "created",
    "file_size",
    "file_mtime_ns",
)


def is_parquet(path: str | Path | None) -> bool:
    """True when a store path names a Parquet results folder (its name ends in ``.parquet``)."""
    return path is not None and Path(path).name.lower().endswith(SUFFIX)


def _pyarrow():
    require("pyarrow", "parquet", "a Parquet store (--store PATH.parquet)")
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pa, pq


def _part_name(run_id: str) -> str:
    """A folder name for a run id (ids are hex digests; quoted all the same, so no id can climb out)."""
    return "run_id=" + urllib.parse.quote(run_id, safe="")


def _schema():
    pa, _ = _pyarrow()
    return pa.schema(
        [
            ("video_id", pa.string()),
            ("path", pa.string()),
            ("row_json", pa.string()),
            ("status", pa.string()),
            ("reason", pa.string()),
            ("num_frames", pa.int64()),
            ("num_clips", pa.int64()),
            ("scores", pa.list_(pa.float32())),  # (K,) mean softmax over clips and crops, full label space
            ("clip_scores", pa.list_(pa.list_(pa.float32()))),  # (num_clips, K)
            ("decode_s", pa.float64()),
            ("infer_s", pa.float64()),
            ("created", pa.float64()),
            ("file_size", pa.int64()),
            ("file_mtime_ns", pa.int64()),
        ]
    )


def _record(pred: StoredPrediction) -> dict:
    """One prediction as a Parquet record (arrays as nested lists of float32)."""
    clip = None if pred.clip_scores is None else np.asarray(pred.clip_scores, np.float32)
    return {
        "video_id": pred.video_id,
        "path": pred.path,
        "row_json": runid.canonical_json(pred.row),
        "status": pred.status,
        "reason": pred.reason,
        "num_frames": pred.num_frames,
        "num_clips": pred.num_clips,
        "scores": None if pred.scores is None else np.asarray(pred.scores, np.float32).tolist(),
        "clip_scores": None if clip is None else clip.reshape(clip.shape[0], -1).tolist(),
        "decode_s": pred.decode_s,
        "infer_s": pred.infer_s,
        "created": time.time(),
        "file_size": pred.file_size,
        "file_mtime_ns": pred.file_mtime_ns,
    }


def _prediction(r: dict) -> StoredPrediction:
    scores = None if r["scores"] is None else np.asarray(r["scores"], np.float32)
    clips = None if r["clip_scores"] is None else np.asarray(r["clip_scores"], np.float32)
    if clips is not None and clips.ndim == 1:  # no clip at all: an empty (0, K) block reads back as (0,)
        clips = clips.reshape(0, len(scores) if scores is not None else 0)
    return StoredPrediction(
        r["video_id"],
        r["path"],
        json.loads(r["row_json"]),
        r["status"],
        r["reason"],
        r["num_frames"],
        r["num_clips"],
        scores,
        clips,
        r["decode_s"],
        r["infer_s"],
        r["file_size"],
        r["file_mtime_ns"],
    )


class ParquetStore:
    """The ``store.Store`` interface over a Parquet results folder (see the module's docstring).
    ``read_only=True`` (report, export) never writes."""

    schema = SCHEMA_VERSION

    def __init__(self, path: str | Path, read_only: bool = False, retry_errors: bool = False):
        _pyarrow()  # a missing pyarrow says which extra to install before anything else
        self.path = Path(path)
        self.read_only = read_only
        self.retry_errors = retry_errors  # as store.Store: rows whose worker died are computed again
        self._buffer: dict[str, list[dict]] = {}
        self._last_flush = time.monotonic()
        self._written = 0
        self._check_folder()

    def _check_folder(self) -> None:
        """Refuse a file, or a folder that is not ours (a user's data never gets our files mixed in)."""
        root = self.path
        if root.exists() and not root.is_dir():
            raise UserError(
                f"{root}: is a file, not a Parquet results folder; give a new path ending in {SUFFIX}"
            )
        marker = root / MARKER
        if root.is_dir() and not marker.is_file() and any(root.iterdir()):
            raise UserError(
                f"{root}: a folder that is not a weirdkinetics Parquet store (no {MARKER}); choose another "
                f"{option('store_path')}"
            )
        if marker.is_file():
            try:
                doc = json.loads(marker.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                doc = {}
            if doc.get("format") != FORMAT:
                raise UserError(
                    f"{root}: {MARKER} says format {doc.get('format')!r}, this weirdkinetics reads {FORMAT}; "
                    "upgrade weirdkinetics or choose another store"
                )
            return
        if self.read_only:
            raise UserError(f"{root}: no such store; run 'weirdkinetics evaluate' first")
        try:
            root.mkdir(parents=True, exist_ok=True)
            with atomic_open(marker, "w", encoding="utf-8") as fh:
                json.dump({"format": FORMAT, "store_schema": SCHEMA_VERSION}, fh)
        except OSError as exc:
            raise UserError(f"{root}: cannot create the Parquet store ({exc.strerror or exc})") from None

    # --- the Store interface ----------------------------------------------------------------------------
    def close(self) -> None:
        if not self.read_only:
            self.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """A damaged Parquet file becomes one line naming the store (as ``Store.reading`` does for SQLite)."""
        pa, _ = _pyarrow()
        try:
            yield
        except (pa.ArrowException, OSError) as exc:
            raise UserError(
                f"{self.path}: a results file cannot be read ({exc}); move it aside and resume"
            ) from None

    def _write_json(self, path: Path, doc: dict) -> None:
        self._writable()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_open(path, "w", encoding="utf-8") as fh:
                fh.write(runid.canonical_json(doc))
        except OSError as exc:
            raise UserError(f"{self.path}: cannot write the store ({exc.strerror or exc})") from None

    def _writable(self) -> None:
        if self.read_only:
            raise RuntimeError("a read-only store was asked to write")

    def ensure_run(self, info: RunInfo) -> None:
        path = self.path / "runs" / f"{_part_name(info.run_id)}.json"
        if path.is_file():
            return  # as INSERT OR IGNORE: a run's first record stays
        self._write_json(path, {**info.__dict__, "created": time.time()})

    def runs(self) -> list[RunInfo]:
        docs = [json.loads(p.read_text(encoding="utf-8")) for p in (self.path / "runs").glob("run_id=*.json")]
        docs.sort(key=lambda d: d["created"])
        fields = (
            "run_id",
            "model",
            "card",
            "weights_digest",
            "weights_desc",
            "spec_key",
            "spec",
            "class_names",
        )
        return [RunInfo(*(d[f] for f in fields)) for d in docs]

    def _evaluation_path(self, run_id: str, manifest_digest: str) -> Path:
        return self.path / "evaluations" / _part_name(run_id) / f"{manifest_digest}.json"

    def record_evaluation(
        self,
        run_id: str,
        manifest_path: str,
        manifest_digest: str,
        classes: list[str],
        video_ids: list[str],
        provenance: dict,
    ) -> None:
        doc = {
            "manifest_path": manifest_path,
            "manifest_digest": manifest_digest,
            "classes": classes,
            "video_ids": video_ids,
            "provenance": json.loads(runid.canonical_json(provenance)),
            "updated": time.time(),
        }
        self._write_json(self._evaluation_path(run_id, manifest_digest), doc)

    def update_provenance(self, run_id: str, manifest_digest: str, entries: dict) -> None:
        path = self._evaluation_path(run_id, manifest_digest)
        if not path.is_file():
            raise KeyError(f"run {run_id} has no evaluation of manifest {manifest_digest}")
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc["provenance"] = json.loads(runid.canonical_json(doc["provenance"] | entries))
        doc["updated"] = time.time()
        self._write_json(path, doc)

    def evaluations(self, run_id: str) -> list[dict]:
        folder = self.path / "evaluations" / _part_name(run_id)
        docs = sorted(
            (json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")),
            key=lambda d: d["updated"],
        )
        return [
            {k: d[k] for k in ("manifest_path", "manifest_digest", "classes", "video_ids", "provenance")}
            for d in docs
        ]

    # --- predictions ------------------------------------------------------------------------------------
    def put(self, run_id: str, pred: StoredPrediction) -> None:
        """Buffer one video's result; written with the next flush (see ``FLUSH_ROWS``, ``FLUSH_SECONDS``)."""
        self._writable()
        self._buffer.setdefault(run_id, []).append(_record(pred))
        pending = sum(len(rows) for rows in self._buffer.values())
        if pending >= FLUSH_ROWS or time.monotonic() - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write every buffered row: one new Parquet file per run, under a temporary name, then renamed."""
        pa, pq = _pyarrow()
        for run_id, rows in self._buffer.items():
            folder = self.path / "predictions" / _part_name(run_id)
            self._written += 1
            # the name sorts in write order: time first, then this store's own counter
            name = f"part-{time.time_ns():020d}-{os.getpid()}-{self._written:06d}.parquet"
            table = pa.Table.from_pylist(rows, schema=_schema())
            try:
                folder.mkdir(parents=True, exist_ok=True)
                with atomic_path(folder / name) as tmp:
                    pq.write_table(table, tmp)
            except OSError as exc:
                raise UserError(
                    f"{self.path}: cannot write the store ({exc.strerror or exc}); free some space or check the "
                    "folder, then run the same command again to resume"
                ) from None
        self._buffer.clear()
        self._last_flush = time.monotonic()

    def _rows(self, run_id: str, columns: list[str] | None = None) -> list[dict]:
        """A run's rows as written (files in write order, then rows buffered here), the last one of each
        (path, video_id) only, in the order of those last writes (as SQLite's INSERT OR REPLACE leaves them)."""
        _, pq = _pyarrow()
        folder = self.path / "predictions" / _part_name(run_id)
        wanted = None if columns is None else sorted({"path", "video_id", *columns})
        rows: list[dict] = []
        for part in sorted(folder.glob("part-*.parquet")):
            rows += pq.read_table(part, columns=wanted, schema=_schema()).to_pylist()
        rows += [{k: r[k] for k in (wanted or _COLUMNS)} for r in self._buffer.get(run_id, [])]
        latest: dict[tuple[str, str], dict] = {}
        for r in rows:
            key = (r["path"], r["video_id"])
            latest.pop(key, None)  # a replaced row moves to the end, as it does in SQLite
            latest[key] = r
        return list(latest.values())

    def reusable(self, run_id: str) -> dict[tuple[str, str], tuple[str, tuple[int, int] | None]]:
        """(path, video_id) -> (status, file identity when evaluated) of rows that need no recomputation."""
        return {
            (r["path"], r["video_id"]): (
                r["status"],
                None if r["file_size"] is None else (r["file_size"], r["file_mtime_ns"]),
            )
            for r in self._rows(run_id, ["status", "reason", "file_size", "file_mtime_ns"])
            if r["status"] not in RETRY_STATUSES
            and not (self.retry_errors and worker_died(r["status"], r["reason"]))
        }

    def statuses(self, run_id: str) -> dict[tuple[str, str], str]:
        return {(r["path"], r["video_id"]): r["status"] for r in self._rows(run_id, ["status"])}

    def predictions(self, run_id: str, num_classes: int) -> list[StoredPrediction]:
        return [_prediction(r) for r in self._rows(run_id)]

    # --- attributions: SQLite only ----------------------------------------------------------------------
    def attribution_reusable(self, run_id: str, method: str, settings_key: str) -> dict:
        return {}

    def attribution_statuses(self, run_id: str, method: str, settings_key: str) -> dict:
        return {}

    def attributions(self, run_id: str) -> list[StoredAttribution]:
        return []

    def put_attribution(self, run_id: str, rec: StoredAttribution) -> None:
        raise UserError(
            f"{self.path}: attribution rows ('explain') are kept in SQLite stores only; give "
            f"{option('store_path', meta='FILE.sqlite')}"
        )


def check_parquet_target(path: str | Path, inputs: dict[str, Path]) -> None:
    """Refuse a Parquet store path that is a file, a link or one of a command's ``inputs`` (name -> path),
    before any work: the folder itself is checked again when it is opened."""
    p = Path(path)
    if p.is_symlink():
        raise UserError(f"{option('store_path', p)}: is a symbolic link; give the real path of the folder")
    if p.exists() and not p.is_dir():
        raise UserError(
            f"{option('store_path', p)}: is a file, not a Parquet results folder; give a new path"
        )
    for name, other in inputs.items():
        if Path(other).resolve() == p.resolve():
            raise UserError(f"{option('store_path', p)} would overwrite {name}: give it another path")


def refuse_for_attributions(path: str | Path | None) -> None:
    """``explain`` keeps its attribution rows in SQLite: a Parquet store is refused before any work."""
    if is_parquet(path):
        raise UserError(
            f"{option('store_path', Path(path))}: attribution rows ('explain') are kept in SQLite stores only; "
            f"give {option('store_path', meta='FILE.sqlite')}"
        )


def open_store(path: str | Path, read_only: bool = False, retry_errors: bool = False):
    """The store at ``path``: a ``ParquetStore`` for a ``.parquet`` folder, else the SQLite ``store.Store``.
    retry_errors: rows whose worker died on them are not reused (``store.Store``)."""
    if is_parquet(path):
        return ParquetStore(path, read_only=read_only, retry_errors=retry_errors)
    from weirdkinetics.store import Store

    return Store(path, read_only=read_only, retry_errors=retry_errors)

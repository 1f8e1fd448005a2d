"""SQLite store of predictions: one row per (video file, video id, run), where a run is a model card + weights
digest + sampling spec. Each video's row is written in one transaction, so killing the process loses at most
the video in flight and never leaves a half-written row. Several models and manifests can share one store.

A prediction is keyed by its run, the video's resolved absolute path and its ``video_id``: two manifests in
different folders that both name ``clip.mp4`` never share or replace each other's rows. A row is reused only
while its file keeps the size and modification time (ns) it had when it was evaluated; a changed file is
evaluated again and its row replaced.

Reading (``report``, ``export``) opens the store read-only and writes nothing, not even to a file that turns
out not to be a store; a store on read-only media is read as it is.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import numpy as np

from weirdkinetics import runid, statuses, storage
from weirdkinetics.errors import UserError, option
from weirdkinetics.inputs import unreadable

SCHEMA_VERSION = 3
"""3: run ids from what changes the scores only (``runid.run_id``: no card prose); 2: predictions keyed by
(run_id, path, video_id) with the file's size and mtime; 1: keyed by (run_id, video_id). An older store is
upgraded in place, one transaction per step, the first time ``evaluate`` (or ``explain``, ``study``) opens it;
``report`` and ``export`` read any of them without changing it."""

READABLE_SCHEMAS = (1, 2, 3)

_SQLITE_MAGIC = b"SQLite format 3\x00"

_PREDICTIONS = """
CREATE TABLE IF NOT EXISTS {name} (
    run_id TEXT NOT NULL,
    video_id TEXT NOT NULL,
    path TEXT NOT NULL,
    row_json TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    num_frames INTEGER,
    num_clips INTEGER,
    scores BLOB,
    clip_scores BLOB,
    decode_s REAL,
    infer_s REAL,
    created REAL NOT NULL,
    file_size INTEGER,
    file_mtime_ns INTEGER,
    PRIMARY KEY (run_id, path, video_id)
);
"""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    card_json TEXT NOT NULL,
    weights_digest TEXT NOT NULL,
    weights_desc TEXT NOT NULL,
    spec_key TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    class_names_json TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS evaluations (
    run_id TEXT NOT NULL,
    manifest_path TEXT NOT NULL,
    manifest_digest TEXT NOT NULL,
    classes_json TEXT NOT NULL,
    video_ids_json TEXT NOT NULL,
    provenance_json TEXT NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (run_id, manifest_digest)
);
""" + _PREDICTIONS.format(name="predictions")

_V1_COLUMNS = (
    "run_id, video_id, path, row_json, status, reason, num_frames, num_clips, scores, clip_scores, decode_s, "
    "infer_s, created"
)

RETRY_STATUSES = statuses.RETRIED
"""Statuses recomputed on the next run (the file may have appeared); all others are final while the file
keeps its size and modification time."""


def file_identity(path: str | Path) -> tuple[int, int] | None:
    """(size in bytes, modification time in ns) of a file, or None when it cannot be read. For an object in
    storage (a URI), (size, a token of its ETag or else modification time): ``storage.object_identity``, which
    raises ``storage.StorageAccessError`` when the credentials are refused."""
    if storage.is_uri(path):
        return storage.object_identity(str(path))
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_size, st.st_mtime_ns


# Attribution results (``weirdkinetics explain``): one row per (run, file, video id, method, settings), keyed
# like predictions plus the method and its settings; a row is reused only while its file keeps its identity.
# Created when a store is opened for writing (additive: older stores gain it, nothing else changes).
_ATTRIBUTION_SCHEMA = """
CREATE TABLE IF NOT EXISTS attributions (
    run_id TEXT NOT NULL,
    video_id TEXT NOT NULL,
    method TEXT NOT NULL,
    settings_key TEXT NOT NULL,
    path TEXT NOT NULL,
    settings_json TEXT NOT NULL,
    row_json TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    numbers_json TEXT NOT NULL,
    saliency BLOB,
    saliency_shape TEXT,
    person BLOB,
    seconds REAL,
    created REAL NOT NULL,
    file_size INTEGER,
    file_mtime_ns INTEGER,
    PRIMARY KEY (run_id, path, video_id, method, settings_key)
);
"""


@dataclass
class RunInfo:
    run_id: str
    model: str
    card: dict
    weights_digest: str
    weights_desc: str
    spec_key: str
    spec: dict
    class_names: list[str]


@dataclass
class StoredPrediction:
    video_id: str
    path: str  # the video's resolved absolute path: with video_id and the run, the row's key
    row: dict
    status: str
    reason: str
    num_frames: int | None
    num_clips: int | None
    scores: np.ndarray | None  # float32 (K,) mean softmax over clips and crops, full label space
    clip_scores: np.ndarray | None  # float32 (num_clips, K)
    decode_s: float | None
    infer_s: float | None
    file_size: int | None = None  # the file's identity when it was evaluated (None: no file)
    file_mtime_ns: int | None = None


def map_as_float16(saliency: np.ndarray) -> np.ndarray:
    """A saliency map as the store keeps it: float16, scaled so that its largest magnitude is 1.

    A map's scale carries nothing (overlays are min-max normalised, the model-randomisation check ranks
    values, the statistics are computed before storage), but float16 does: Grad-CAM of a random-weights
    network has values far below float16's smallest subnormal (6e-8), which a plain cast stores as zeros, a
    flat map that no rank correlation can compare. saliency: float (T, h, w) -> float16 (T, h, w); an all-zero
    or non-finite-only map is stored as it is."""
    values = np.asarray(saliency, dtype=np.float64)
    finite = values[np.isfinite(values)]
    peak = float(np.abs(finite).max()) if finite.size else 0.0
    return (values / peak if peak > 0 else values).astype(np.float16)


@dataclass
class StoredAttribution:
    """One (video, run, method, settings) attribution result.

    numbers: the statistics (background share, reliance ratio, deletion curves, occlusion drops, target,
    clip frames) as plain JSON. saliency: float16 (T, h, w) low-resolution map of the first explained clip,
    scaled to a largest value of 1 (``map_as_float16``)
    (for the report's overlays), person: bool (T, h, w) its dilated person mask at the same size.
    """

    video_id: str
    path: str
    method: str
    settings_key: str
    settings: dict
    row: dict
    status: str
    reason: str
    numbers: dict
    saliency: np.ndarray | None = None
    person: np.ndarray | None = None
    seconds: float | None = None
    identity: tuple[int, int] | None = None  # the file's (size, mtime ns) when it was explained


def _blob(a: np.ndarray | None) -> bytes | None:
    return None if a is None else np.asarray(a, dtype=np.float32).tobytes()


def _unblob(b: bytes | None, width: int) -> np.ndarray | None:
    if b is None:
        return None
    a = np.frombuffer(b, dtype=np.float32)
    return a.reshape(-1, width) if width and a.size != width else a


def _db_error(path: Path, exc: sqlite3.Error) -> UserError:
    """One line naming the real cause of an SQLite failure on ``path``."""
    msg = str(exc)
    low = msg.lower()
    if "full" in low or "too large" in low:  # "database or disk is full", or a file-size limit
        return UserError(
            f"{path}: disk full ({msg}); free some space and run the same command again to resume"
        )
    if "disk i/o" in low:
        return UserError(
            f"{path}: the store could not be written or read ({msg}): the disk may be full or failing; free some "
            "space or check the disk, then run the same command again to resume"
        )
    if "malformed" in low or "corrupt" in low or ("not a database" in low and _is_sqlite(path)):
        return UserError(
            f"{path}: store is corrupted ({msg}); restore it from a backup, or move it aside and run "
            "'weirdkinetics evaluate' again (its predictions are recomputed)"
        )
    if "not a database" in low:
        return UserError(
            f"{path}: not a weirdkinetics store (not an SQLite file); choose another {option('out_dir')} or "
            f"{option('store_path')}"
        )
    if "locked" in low or "busy" in low:
        return UserError(
            f"{path}: store is locked by another process ({msg}); wait for the other 'evaluate' to finish"
        )
    if "readonly" in low or "read-only" in low or "unable to open" in low or "permission" in low:
        return UserError(
            f"{path}: cannot open the store for writing ({msg}): check the permissions of the file and its "
            f"folder, or choose another {option('out_dir')} or {option('store_path')}"
        )
    return UserError(f"{path}: cannot use the store ({msg})")


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == _SQLITE_MAGIC
    except OSError:
        return False


def _check_file(path: Path, must_exist: bool) -> bool:
    """Refuse a path that cannot be a store before SQLite touches it; return whether the file exists."""
    try:
        if path.is_dir():
            raise UserError(
                f"{path}: is a folder, not a store file; give the file, e.g. {path / 'predictions.sqlite'}"
            )
        exists = path.exists()
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot use this store path ({exc})") from None
    if not exists:
        if must_exist:
            raise UserError(f"{path}: no such store; run 'weirdkinetics evaluate' first")
        return False
    problem = unreadable(path)  # before opening: a FIFO would block open() and SQLite forever
    if problem is not None:
        raise UserError(f"{path}: {problem.reason}; give a store file (.sqlite)")
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except PermissionError:
        raise UserError(
            f"{path}: cannot read the store (permission denied); check the file's permissions"
        ) from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read the store ({exc.strerror or exc})") from None
    if head and head != _SQLITE_MAGIC:
        raise UserError(
            f"{path}: not a weirdkinetics store (not an SQLite file); choose another {option('out_dir')} or "
            f"{option('store_path')}"
        )
    if not head and must_exist:
        raise UserError(f"{path}: empty file, not a weirdkinetics store; run 'weirdkinetics evaluate' first")
    return True


def _schema_of(db: sqlite3.Connection, path: Path) -> int | None:
    """Our schema version, None for an SQLite file without tables; refuses any other database. Reads only."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables:
        return None
    row = (
        db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if "meta" in tables
        else None
    )
    if row is None or not {"runs", "predictions"} <= tables:
        raise UserError(
            f"{path}: not a weirdkinetics store (an SQLite database without its tables; it was not changed); "
            f"choose another {option('out_dir')} or {option('store_path')}"
        )
    try:
        version = int(row[0])
    except ValueError:
        raise UserError(f"{path}: not a weirdkinetics store (schema version {row[0]!r})") from None
    if version > SCHEMA_VERSION or version not in READABLE_SCHEMAS:
        raise UserError(
            f"{path}: store schema {version} was written by a newer weirdkinetics (this one reads "
            f"{', '.join(map(str, READABLE_SCHEMAS))}); upgrade weirdkinetics"
        )
    return version


def _uri(path: Path, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"file:{urllib.parse.quote(str(path.resolve()))}?{query}"


def _open_read_only(path: Path) -> tuple[sqlite3.Connection, int]:
    """A connection that cannot write, and the store's schema version.

    ``mode=ro`` first; on read-only media SQLite cannot create the WAL index (``-shm``) a WAL database needs,
    so the store is then opened ``immutable=1`` (safe only when no ``-wal`` file holds unsaved pages).
    """
    _check_file(path, must_exist=True)
    db = None
    try:
        db = sqlite3.connect(_uri(path, mode="ro"), uri=True, timeout=30)
        version = _schema_of(db, path)
    except sqlite3.OperationalError as exc:
        if db is not None:
            db.close()
        low = str(exc).lower()
        if not ("readonly" in low or "read-only" in low or "unable to open" in low):
            raise _db_error(path, exc) from None
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise UserError(
                f"{path}: cannot read the store here ({exc}), and {wal.name} beside it holds changes not yet "
                "in the store: copy both files to a writable folder and read the copy"
            ) from None
        try:
            db = sqlite3.connect(_uri(path, mode="ro", immutable="1"), uri=True)
            version = _schema_of(db, path)
        except sqlite3.Error as exc2:
            db.close()
            raise _db_error(path, exc2) from None
    except sqlite3.Error as exc:
        if db is not None:
            db.close()
        raise _db_error(path, exc) from None
    except UserError:
        if db is not None:
            db.close()
        raise
    if version is None:
        db.close()
        raise UserError(
            f"{path}: empty database, not a weirdkinetics store; run 'weirdkinetics evaluate' first"
        )
    return db, version


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One explicit transaction (DDL included) for a migration step: all of it, or nothing."""
    db.isolation_level = None
    try:
        db.execute("BEGIN IMMEDIATE")
        yield
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    finally:
        db.isolation_level = ""


def _migrate_v1(db: sqlite3.Connection) -> None:
    """Schema 1 -> 2 in one transaction: re-key predictions by (run, path, video_id) and record the identity of
    files that have not changed since their row was written (so they are reused; the others are recomputed)."""
    with _transaction(db):
        db.execute(_PREDICTIONS.format(name="predictions_v2"))
        db.execute(
            f"INSERT INTO predictions_v2 ({_V1_COLUMNS}) SELECT {_V1_COLUMNS} FROM predictions ORDER BY rowid"
        )
        db.execute("DROP TABLE predictions")
        db.execute("ALTER TABLE predictions_v2 RENAME TO predictions")
        updates = []
        for rowid, path, created in db.execute("SELECT rowid, path, created FROM predictions").fetchall():
            ident = file_identity(path)
            if ident is not None and ident[1] <= int(created * 1e9):
                updates.append((ident[0], ident[1], rowid))
        db.executemany("UPDATE predictions SET file_size=?, file_mtime_ns=? WHERE rowid=?", updates)
        db.execute("UPDATE meta SET value='2' WHERE key='schema_version'")


def _new_run_id(run_id: str, card: dict, weights: str, spec_key: str, classes: list[str]) -> str | None:
    """The schema-3 id of a run stored under ``run_id`` by the old formula, or None when no precision (and
    prompt set) reproduces ``run_id`` (a run this version cannot place: left as it is)."""
    for precision in runid.PRECISIONS:
        for prompts in (classes, []):
            if runid.legacy_run_id(card, weights, spec_key, precision, prompts) == run_id:
                return runid.run_id(card, weights, spec_key, precision, prompts)
    return None


_RUN_TABLES = ("runs", "evaluations", "predictions", "attributions")


def _migrate_v2(db: sqlite3.Connection) -> None:
    """Schema 2 -> 3 in one transaction: re-key every run by ``runid.run_id``, so runs whose card only differed
    in prose (a reworded description or note) keep their rows. Where two old runs become one, the rows of the
    first one stay and the other's duplicates are dropped (the same scores, by construction)."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    with _transaction(db):
        runs = db.execute(
            "SELECT run_id, card_json, weights_digest, spec_key, class_names_json FROM runs ORDER BY created"
        ).fetchall()
        for old, card_json, weights, spec_key, classes_json in runs:
            new = _new_run_id(old, json.loads(card_json), weights, spec_key, json.loads(classes_json))
            if new is None or new == old:
                continue
            for table in (t for t in _RUN_TABLES if t in tables):
                db.execute(f"UPDATE OR IGNORE {table} SET run_id=? WHERE run_id=?", (new, old))
                db.execute(f"DELETE FROM {table} WHERE run_id=?", (old,))
        db.execute("UPDATE meta SET value='3' WHERE key='schema_version'")


class Store:
    """Thin adapter over one SQLite file. ``read_only=True`` (report, export) never writes to the file."""

    def __init__(self, path: str | Path, read_only: bool = False, retry_errors: bool = False):
        """retry_errors: rows that ended ``decode_error`` because a worker process died on them
        (``statuses.WORKER_DIED_LIKE``) are not reusable, so a run computes them again (``--retry-errors``);
        genuine decode errors stay."""
        self.path = Path(path)
        self.read_only = read_only
        self.retry_errors = retry_errors
        if read_only:
            self.db, self.schema = _open_read_only(self.path)
            return
        existed = _check_file(self.path, must_exist=False)
        if not existed:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UserError(
                    f"{self.path.parent}: cannot create the store's folder ({exc.strerror or exc})"
                ) from None
        try:
            self.db = sqlite3.connect(str(self.path), timeout=30)
        except sqlite3.Error as exc:
            raise _db_error(self.path, exc) from None
        try:
            version = _schema_of(self.db, self.path)  # reads only: a foreign database is refused untouched
            if version == 1:
                _migrate_v1(self.db)
            if version in (1, 2):
                _migrate_v2(self.db)
            self.db.execute("PRAGMA journal_mode=WAL")
            if version is None:  # a new store: all tables and the version in one transaction, or nothing
                self.db.executescript(
                    f"BEGIN IMMEDIATE; {_SCHEMA} INSERT INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}'); COMMIT;"
                )
            self.db.executescript(_ATTRIBUTION_SCHEMA)
        except sqlite3.Error as exc:
            if self.db.in_transaction:
                self.db.rollback()
            self.db.close()
            raise _db_error(self.path, exc) from None
        except BaseException:
            self.db.close()
            raise
        self.schema = SCHEMA_VERSION

    def close(self) -> None:
        self.db.close()

    def _write(self, sql: str, params: tuple) -> None:
        """One statement in its own transaction; a full disk or a lost folder becomes one line (the rows
        written before stay, so the same command resumes)."""
        try:
            with self.db:
                self.db.execute(sql, params)
        except sqlite3.Error as exc:
            raise _db_error(self.path, exc) from None

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Reads inside this context turn an SQLite failure (a page that cannot be read: corruption mid-file)
        into one line naming the store, so callers above the store need not know SQLite."""
        try:
            yield
        except sqlite3.Error as exc:
            raise _db_error(self.path, exc) from None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- runs -----------------------------------------------------------------------------------------
    def ensure_run(self, info: RunInfo) -> None:
        self._write(
            "INSERT OR IGNORE INTO runs VALUES (?,?,?,?,?,?,?,?,?)",
            (
                info.run_id,
                info.model,
                runid.canonical_json(info.card),
                info.weights_digest,
                info.weights_desc,
                info.spec_key,
                runid.canonical_json(info.spec),
                json.dumps(info.class_names),
                time.time(),
            ),
        )

    def runs(self) -> list[RunInfo]:
        out = []
        for r in self.db.execute(
            "SELECT run_id, model, card_json, weights_digest, weights_desc, spec_key, spec_json, class_names_json "
            "FROM runs ORDER BY created"
        ):
            out.append(
                RunInfo(r[0], r[1], json.loads(r[2]), r[3], r[4], r[5], json.loads(r[6]), json.loads(r[7]))
            )
        return out

    def record_evaluation(
        self,
        run_id: str,
        manifest_path: str,
        manifest_digest: str,
        classes: list[str],
        video_ids: list[str],
        provenance: dict,
    ) -> None:
        self._write(
            "INSERT OR REPLACE INTO evaluations VALUES (?,?,?,?,?,?,?)",
            (
                run_id,
                manifest_path,
                manifest_digest,
                json.dumps(classes),
                json.dumps(video_ids),
                runid.canonical_json(provenance),
                time.time(),
            ),
        )

    def update_provenance(self, run_id: str, manifest_digest: str, entries: dict) -> None:
        """Add ``entries`` to the provenance of a run's evaluation of a manifest: what is known only when the
        evaluation ends (a low-precision run's check against fp32)."""
        row = self.db.execute(
            "SELECT provenance_json FROM evaluations WHERE run_id=? AND manifest_digest=?",
            (run_id, manifest_digest),
        ).fetchone()
        if row is None:
            raise KeyError(f"run {run_id} has no evaluation of manifest {manifest_digest}")
        self._write(
            "UPDATE evaluations SET provenance_json=? WHERE run_id=? AND manifest_digest=?",
            (runid.canonical_json(json.loads(row[0]) | entries), run_id, manifest_digest),
        )

    def evaluations(self, run_id: str) -> list[dict]:
        rows = self.db.execute(
            "SELECT manifest_path, manifest_digest, classes_json, video_ids_json, provenance_json, updated "
            "FROM evaluations WHERE run_id=? ORDER BY updated",
            (run_id,),
        ).fetchall()
        return [
            {
                "manifest_path": r[0],
                "manifest_digest": r[1],
                "classes": json.loads(r[2]),
                "video_ids": json.loads(r[3]),
                "provenance": json.loads(r[4]),
            }
            for r in rows
        ]

    # --- predictions ----------------------------------------------------------------------------------
    def reusable(self, run_id: str) -> dict[tuple[str, str], tuple[str, tuple[int, int] | None]]:
        """(path, video_id) -> (status, file identity when evaluated) of rows that need no recomputation
        while their file keeps that identity (``file_identity``)."""
        return self._reusable("predictions", "run_id=?", (run_id,))

    def _reusable(
        self, table: str, where: str, params: tuple
    ) -> dict[tuple[str, str], tuple[str, tuple[int, int] | None]]:
        """(path, video_id) -> (status, file identity) of ``table``'s final rows matching ``where``."""
        q = (
            f"SELECT path, video_id, status, file_size, file_mtime_ns FROM {table} "
            f"WHERE {where} AND status NOT IN ({','.join('?' * len(RETRY_STATUSES))})"
        )
        params = (*params, *RETRY_STATUSES)
        if self.retry_errors:
            q += " AND NOT (status='decode_error' AND reason LIKE ?)"
            params = (*params, statuses.WORKER_DIED_LIKE)
        return {
            (r[0], r[1]): (r[2], None if r[3] is None else (r[3], r[4])) for r in self.db.execute(q, params)
        }

    def statuses(self, run_id: str) -> dict[tuple[str, str], str]:
        """(path, video_id) -> status of every stored row of a run (no score blobs read)."""
        rows = self.db.execute("SELECT path, video_id, status FROM predictions WHERE run_id=?", (run_id,))
        return {(r[0], r[1]): r[2] for r in rows}

    def put(self, run_id: str, pred: StoredPrediction) -> None:
        """Write one video's result atomically (replacing an earlier row for the same file and id)."""
        self._write(
            "INSERT OR REPLACE INTO predictions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                run_id,
                pred.video_id,
                pred.path,
                runid.canonical_json(pred.row),
                pred.status,
                pred.reason,
                pred.num_frames,
                pred.num_clips,
                _blob(pred.scores),
                _blob(pred.clip_scores),
                pred.decode_s,
                pred.infer_s,
                time.time(),
                pred.file_size,
                pred.file_mtime_ns,
            ),
        )

    def predictions(self, run_id: str, num_classes: int) -> list[StoredPrediction]:
        """Every stored row of a run, in the order they were written."""
        identity = "file_size, file_mtime_ns" if self.schema >= 2 else "NULL, NULL"
        out = []
        for r in self.db.execute(
            "SELECT video_id, path, row_json, status, reason, num_frames, num_clips, scores, clip_scores, decode_s, "
            f"infer_s, {identity} FROM predictions WHERE run_id=? ORDER BY rowid",
            (run_id,),
        ):
            out.append(
                StoredPrediction(
                    r[0],
                    r[1],
                    json.loads(r[2]),
                    r[3],
                    r[4],
                    r[5],
                    r[6],
                    _unblob(r[7], 0),
                    _unblob(r[8], num_classes),
                    r[9],
                    r[10],
                    r[11],
                    r[12],
                )
            )
        return out

    # --- attributions ---------------------------------------------------------------------------------
    def attribution_reusable(
        self, run_id: str, method: str, settings_key: str
    ) -> dict[tuple[str, str], tuple[str, tuple[int, int] | None]]:
        """(path, video_id) -> (status, file identity when explained) of attribution rows that need no
        recomputation while their file keeps that identity."""
        if not self._has_table("attributions"):
            return {}
        return self._reusable(
            "attributions", "run_id=? AND method=? AND settings_key=?", (run_id, method, settings_key)
        )

    def attribution_statuses(self, run_id: str, method: str, settings_key: str) -> dict[tuple[str, str], str]:
        """(path, video_id) -> status of a run's attribution rows for one method and settings (no maps read)."""
        if not self._has_table("attributions"):
            return {}
        rows = self.db.execute(
            "SELECT path, video_id, status FROM attributions WHERE run_id=? AND method=? AND settings_key=?",
            (run_id, method, settings_key),
        )
        return {(r[0], r[1]): r[2] for r in rows}

    def _has_table(self, name: str) -> bool:
        """Stores written before a table existed (read-only ones cannot gain it) simply have no such rows."""
        row = self.db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone()
        return row is not None

    def put_attribution(self, run_id: str, rec: StoredAttribution) -> None:
        """Write one attribution row atomically (replacing an earlier one with the same key)."""
        shape = None if rec.saliency is None else json.dumps(list(rec.saliency.shape))
        self._write(
            "INSERT OR REPLACE INTO attributions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                run_id,
                rec.video_id,
                rec.method,
                rec.settings_key,
                rec.path,
                runid.canonical_json(rec.settings),
                runid.canonical_json(rec.row),
                rec.status,
                rec.reason,
                json.dumps(rec.numbers, allow_nan=True),
                None if rec.saliency is None else map_as_float16(rec.saliency).tobytes(),
                shape,
                None if rec.person is None else np.packbits(np.asarray(rec.person, bool)).tobytes(),
                rec.seconds,
                time.time(),
                *(rec.identity if rec.identity is not None else (None, None)),
            ),
        )

    def attributions(self, run_id: str) -> list[StoredAttribution]:
        """Every attribution row of a run, in the order they were first written."""
        out = []
        if not self._has_table("attributions"):
            return out
        for r in self.db.execute(
            "SELECT video_id, path, method, settings_key, settings_json, row_json, status, reason, numbers_json, "
            "saliency, saliency_shape, person, seconds FROM attributions WHERE run_id=? ORDER BY rowid",
            (run_id,),
        ):
            saliency = person = None
            if r[9] is not None and r[10]:
                shape = tuple(json.loads(r[10]))
                saliency = np.frombuffer(r[9], dtype=np.float16).reshape(shape).astype(np.float32)
                if r[11] is not None:
                    count = int(np.prod(shape))
                    person = np.unpackbits(np.frombuffer(r[11], np.uint8))[:count].reshape(shape).astype(bool)
            out.append(
                StoredAttribution(
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    json.loads(r[4]),
                    json.loads(r[5]),
                    r[6],
                    r[7],
                    json.loads(r[8]),
                    saliency,
                    person,
                    r[12],
                )
            )
        return out

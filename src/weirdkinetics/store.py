"""SQLite store of predictions: one row per (video, run), where a run is a model card + weights digest +
sampling spec. Each video's row is written in one transaction, so killing the process loses at most the
video in flight and never leaves a half-written row. Several models and manifests can share one store.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from weirdkinetics.errors import UserError
from weirdkinetics.results import OK_STATUSES, RunResults, VideoResult, dumps

SCHEMA_VERSION = 1

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
CREATE TABLE IF NOT EXISTS predictions (
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
    PRIMARY KEY (run_id, video_id)
);
"""

# Attribution results (``weirdkinetics explain``): one row per (run, video, method, settings), keyed like
# predictions plus the method and its settings; the video's path decides whether a stored row still applies.
# Created on open like the tables above (additive: older stores gain it, nothing else changes).
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
    PRIMARY KEY (run_id, video_id, method, settings_key)
);
"""

RETRY_STATUSES = ("missing",)
"""Statuses recomputed on the next run (the file may have appeared); all others are final."""


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
    path: str
    row: dict
    status: str
    reason: str
    num_frames: int | None
    num_clips: int | None
    scores: np.ndarray | None  # float32 (K,) mean softmax over clips and crops, full label space
    clip_scores: np.ndarray | None  # float32 (num_clips, K)
    decode_s: float | None
    infer_s: float | None


@dataclass
class StoredAttribution:
    """One (video, run, method, settings) attribution result.

    numbers: the statistics (background share, reliance ratio, deletion curves, occlusion drops, target,
    clip frames) as plain JSON. saliency: float16 (T, h, w) low-resolution map of the first explained clip
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


def _blob(a: np.ndarray | None) -> bytes | None:
    return None if a is None else np.asarray(a, dtype=np.float32).tobytes()


def _unblob(b: bytes | None, width: int) -> np.ndarray | None:
    if b is None:
        return None
    a = np.frombuffer(b, dtype=np.float32)
    return a.reshape(-1, width) if width and a.size != width else a


class Store:
    """Thin adapter over one SQLite file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(str(self.path), timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(_SCHEMA)
            self.db.executescript(_ATTRIBUTION_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise UserError(f"{self.path}: not a weirdkinetics store ({exc}); choose another --out or --store") from None
        row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            with self.db:
                self.db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) != SCHEMA_VERSION:
            raise UserError(f"{self.path}: store schema {row[0]}, this version reads {SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- runs -----------------------------------------------------------------------------------------
    def ensure_run(self, info: RunInfo) -> None:
        with self.db:
            self.db.execute(
                "INSERT OR IGNORE INTO runs VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    info.run_id,
                    info.model,
                    dumps(info.card),
                    info.weights_digest,
                    info.weights_desc,
                    info.spec_key,
                    dumps(info.spec),
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
        self, run_id: str, manifest_path: str, manifest_digest: str, classes: list[str], video_ids: list[str], provenance: dict
    ) -> None:
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO evaluations VALUES (?,?,?,?,?,?,?)",
                (run_id, manifest_path, manifest_digest, json.dumps(classes), json.dumps(video_ids), dumps(provenance), time.time()),
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
    def done_ids(self, run_id: str) -> dict[str, str]:
        """video_id -> path of rows that need no recomputation."""
        q = "SELECT video_id, path FROM predictions WHERE run_id=? AND status NOT IN (%s)" % ",".join(
            "?" * len(RETRY_STATUSES)
        )
        return dict(self.db.execute(q, (run_id, *RETRY_STATUSES)).fetchall())

    def statuses(self, run_id: str) -> dict[str, str]:
        """video_id -> status of every stored row of a run (no score blobs read)."""
        return dict(self.db.execute("SELECT video_id, status FROM predictions WHERE run_id=?", (run_id,)).fetchall())

    def put(self, run_id: str, pred: StoredPrediction) -> None:
        """Write one video's result atomically (replacing an earlier row for the same video)."""
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO predictions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    pred.video_id,
                    pred.path,
                    dumps(pred.row),
                    pred.status,
                    pred.reason,
                    pred.num_frames,
                    pred.num_clips,
                    _blob(pred.scores),
                    _blob(pred.clip_scores),
                    pred.decode_s,
                    pred.infer_s,
                    time.time(),
                ),
            )

    def predictions(self, run_id: str, num_classes: int) -> list[StoredPrediction]:
        out = []
        for r in self.db.execute(
            "SELECT video_id, path, row_json, status, reason, num_frames, num_clips, scores, clip_scores, decode_s, infer_s "
            "FROM predictions WHERE run_id=? ORDER BY rowid",
            (run_id,),
        ):
            out.append(
                StoredPrediction(
                    r[0], r[1], json.loads(r[2]), r[3], r[4], r[5], r[6],
                    _unblob(r[7], 0), _unblob(r[8], num_classes), r[9], r[10],
                )
            )
        return out

    # --- attributions ---------------------------------------------------------------------------------
    def attribution_done(self, run_id: str, method: str, settings_key: str) -> dict[str, str]:
        """video_id -> path of attribution rows that need no recomputation."""
        q = (
            "SELECT video_id, path FROM attributions WHERE run_id=? AND method=? AND settings_key=? "
            "AND status NOT IN (%s)" % ",".join("?" * len(RETRY_STATUSES))
        )
        return dict(self.db.execute(q, (run_id, method, settings_key, *RETRY_STATUSES)).fetchall())

    def put_attribution(self, run_id: str, rec: StoredAttribution) -> None:
        """Write one attribution row atomically (replacing an earlier one with the same key)."""
        shape = None if rec.saliency is None else json.dumps(list(rec.saliency.shape))
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO attributions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    rec.video_id,
                    rec.method,
                    rec.settings_key,
                    rec.path,
                    dumps(rec.settings),
                    dumps(rec.row),
                    rec.status,
                    rec.reason,
                    json.dumps(rec.numbers, allow_nan=True),
                    None if rec.saliency is None else np.asarray(rec.saliency, np.float16).tobytes(),
                    shape,
                    None if rec.person is None else np.packbits(np.asarray(rec.person, bool)).tobytes(),
                    rec.seconds,
                    time.time(),
                ),
            )

    def attributions(self, run_id: str) -> list[StoredAttribution]:
        """Every attribution row of a run, in the order they were first written."""
        out = []
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
                    r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5]), r[6], r[7], json.loads(r[8]),
                    saliency, person, r[12],
                )
            )
        return out


def load_attributions(store_path: str | Path, run_ids: list[str]) -> dict[str, list[StoredAttribution]]:
    """run_id -> its attribution rows (runs without any are left out)."""
    out: dict[str, list[StoredAttribution]] = {}
    with Store(store_path) as store:
        for run_id in run_ids:
            rows = store.attributions(run_id)
            if rows:
                out[run_id] = rows
    return out


def restrict(scores: np.ndarray, class_names: list[str], classes: list[str]) -> np.ndarray:
    """Scores over the class subset, renormalised to sum to 1 (argmax = the study's restricted prediction).

    scores: float (..., K) over ``class_names`` -> float (..., len(classes)).
    """
    index = [class_names.index(c) for c in classes]
    sub = np.asarray(scores, dtype=np.float64)[..., index]
    total = sub.sum(axis=-1, keepdims=True)
    return (sub / np.where(total > 0, total, 1.0)).astype(np.float32)


def to_video_result(p: StoredPrediction, class_names: list[str], classes: list[str]) -> VideoResult:
    """One stored prediction as a ``VideoResult``: restricted and unrestricted top-1, top-5 over all classes."""
    row = dict(p.row)
    v = VideoResult(
        video_id=p.video_id,
        path=p.path,
        label=row.pop("label", ""),
        split=row.pop("split", ""),
        status=p.status,
        reason=p.reason,
        background=row.pop("background", ""),
        source_id=row.pop("source_id", ""),
        num_frames=p.num_frames,
        num_clips=p.num_clips,
    )
    row.pop("path", None)
    row.pop("video_id", None)
    v.extra = {k: str(val) for k, val in row.items()}
    if p.scores is not None and p.status in OK_STATUSES:
        full = p.scores
        sub = restrict(full, class_names, classes)
        j = int(np.argmax(sub))
        v.pred, v.pred_score = classes[j], float(sub[j])
        k = int(np.argmax(full))
        v.pred_all, v.pred_all_score = class_names[k], float(full[k])
        order = np.argsort(-full, kind="stable")[:5]
        v.topk = [(class_names[i], float(full[i])) for i in order]
    return v


def load_runs(
    store_path: str | Path, run_ids: list[str] | None = None, video_ids: dict[str, list[str]] | None = None
) -> list[RunResults]:
    """Results of the runs in a store (all, or those whose id or model name is in ``run_ids``).

    The class subset and provenance are those of each run's latest evaluation; ``video_ids`` (run_id ->
    ids) limits a run to one manifest's rows, in manifest order.
    """
    store_path = Path(store_path)
    if not store_path.exists():
        raise UserError(f"{store_path}: no such store; run 'weirdkinetics evaluate' first")
    out = []
    with Store(store_path) as store:
        runs = store.runs()
        if run_ids:
            known = {r.run_id for r in runs} | {r.model for r in runs}
            unknown = [x for x in run_ids if x not in known and not any(r.run_id.startswith(x) for r in runs)]
            if unknown:
                raise UserError(
                    f"--run {', '.join(unknown)}: not in {store_path}; runs there: "
                    + ", ".join(f"{r.run_id} ({r.model})" for r in runs)
                )
            runs = [r for r in runs if r.run_id in run_ids or r.model in run_ids or any(r.run_id.startswith(x) for x in run_ids)]
        for info in runs:
            evals = store.evaluations(info.run_id)
            latest = evals[-1] if evals else {"classes": info.class_names, "provenance": {}, "video_ids": None}
            classes = latest["classes"] or info.class_names
            preds = store.predictions(info.run_id, len(info.class_names))
            wanted = (video_ids or {}).get(info.run_id)
            if wanted is not None:
                by_id = {p.video_id: p for p in preds}
                preds = [by_id[v] for v in wanted if v in by_id]
            videos = [to_video_result(p, info.class_names, classes) for p in preds]
            scores = np.full((len(preds), len(classes)), np.nan, dtype=np.float32)
            for i, p in enumerate(preds):
                if p.scores is not None and p.status in OK_STATUSES:
                    scores[i] = restrict(p.scores, info.class_names, classes)
            weights = "random" if info.weights_digest.startswith("random") else info.weights_digest[:12]
            provenance = dict(latest.get("provenance") or {})
            provenance.update(
                {
                    "run_id": info.run_id,
                    "model_card": info.card,
                    "weights_digest": info.weights_digest,
                    "weights": info.weights_desc,
                    "sampling": info.spec,
                    "sampling_key": info.spec_key,
                    "store": str(store_path),
                }
            )
            label = provenance.get("run_label") or ""
            out.append(
                RunResults(
                    run_id=info.run_id,
                    model=f"{info.model} {label} [{weights}]" if label else f"{info.model} [{weights}]",
                    videos=videos,
                    classes=classes,
                    scores=scores,
                    provenance=provenance,
                )
            )
    return out

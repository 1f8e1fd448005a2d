"""In-memory results of one run: what ``metrics`` and ``report`` consume.

Plain data, no torch and no decoder. Built from the SQLite store (``store.load_runs``) or from a predictions
CSV written by any other tool (``results_from_csv``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from weirdkinetics import statuses
from weirdkinetics.errors import ManifestError, UserError
from weirdkinetics.inputs import TextInput
from weirdkinetics.outputs import unneutralise_cell

OK_STATUSES = statuses.COUNTED
"""Statuses whose prediction counts in the accuracies (``short`` and ``partial`` are flagged, not dropped)."""

NONFINITE_SCORES = statuses.NONFINITE_SCORES
NOT_VIDEO = statuses.NOT_VIDEO
STATUSES = statuses.MEANINGS
"""Every status a row can end with, and its meaning (the README's table). Only ``OK_STATUSES`` count."""


@dataclass
class VideoResult:
    """One manifest row after evaluation.

    ``pred`` is the best class inside the run's class subset; ``pred_all`` the unrestricted top-1.
    ``topk`` holds ``(class, score)`` pairs over all classes, best first. Missing predictions are ``None``
    for rows whose status has no prediction (``decode_error``, ``missing``).
    """

    video_id: str
    path: str
    label: str
    split: str
    status: str
    reason: str = ""
    background: str = ""
    source_id: str = ""
    pred: str | None = None
    pred_score: float | None = None
    pred_all: str | None = None
    pred_all_score: float | None = None
    topk: list[tuple[str, float]] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)
    num_frames: int | None = None
    num_clips: int | None = None

    @property
    def has_prediction(self) -> bool:
        return self.status in OK_STATUSES and self.pred is not None

    @property
    def correct(self) -> bool:
        return self.has_prediction and self.pred == self.label


@dataclass
class RunResults:
    """All rows of one run (one model card + weights + sampling spec over one manifest).

    ``classes`` is the class subset predictions are restricted to (the whole label space when none).
    ``scores``: float32 (N, len(classes)) averaged softmax scores restricted to ``classes`` and
    renormalised, rows aligned with ``videos``; NaN rows where there is no prediction. May be ``None`` when
    the source had no scores (a predictions CSV with only ``pred``).
    """

    run_id: str
    model: str
    videos: list[VideoResult]
    classes: list[str]
    scores: np.ndarray | None = None
    provenance: dict = field(default_factory=dict)

    def subset(self, keep: list[bool]) -> "RunResults":
        idx = [i for i, k in enumerate(keep) if k]
        return RunResults(
            run_id=self.run_id,
            model=self.model,
            videos=[self.videos[i] for i in idx],
            classes=self.classes,
            scores=None if self.scores is None else self.scores[idx],
            provenance=self.provenance,
        )


def results_from_csv(path: str | Path, run_id: str | None = None) -> RunResults:
    """Read a predictions CSV made by any tool.

    Columns: ``video_id, label, pred`` (required); ``split, background, source_id, status, reason, path``
    (optional); scores as ``score:<class>`` columns (optional). Rows with an empty ``pred`` and no status
    get status ``missing``. A counted row (status ``ok``, ``short``, ``partial``) with a score cell that is
    empty, NaN or infinite gets status ``nonfinite_scores`` and is not counted. Every problem is reported at
    once, with its row number; a file with no row after its header is refused.
    """
    path = Path(path)
    with TextInput(path, "predictions CSV") as source:
        reader = source.dict_rows()
        # our own exports neutralise formula-like cells with an apostrophe: read them back as they were
        header = [unneutralise_cell(c.strip()) for c in reader.fieldnames]
        missing = [c for c in ("video_id", "label", "pred") if c not in header]
        if missing:
            raise ManifestError([f"header: missing column(s) {', '.join(missing)}"], str(path))
        score_cols = [c for c in header if c.startswith("score:")]
        classes = [c[len("score:") :] for c in score_cols]
        problems: list[str] = []
        videos: list[VideoResult] = []
        rows_scores: list[list[float]] = []
        seen: set[str] = set()
        for rownum, raw in enumerate(reader, start=2):
            if None in raw:  # more cells than the header names: the columns may be shifted
                problems.append(f"row {rownum}: {len(raw[None])} cell(s) more than the header's {len(header)} columns")
            row = {
                unneutralise_cell((k or "").strip()): unneutralise_cell(v or "") for k, v in raw.items() if k is not None
            }
            if not any(v.strip() for v in row.values()):
                continue  # blank line
            video, vals = _csv_row(row, rownum, score_cols, problems)
            if video.video_id and video.video_id in seen:
                problems.append(f"row {rownum}: duplicate video_id '{video.video_id}'")
            seen.add(video.video_id)
            videos.append(video)
            rows_scores.append(vals)
    if not videos and not problems:
        raise UserError(f"predictions CSV {path}: no rows after the header; nothing to report")
    if problems:
        raise ManifestError(problems, str(path))
    scores = None
    if classes:
        # float32 as stored everywhere: a score too large for float32 becomes inf and is caught below
        with np.errstate(over="ignore"):
            scores = np.asarray(rows_scores, dtype=np.float64).astype(np.float32).reshape(len(videos), len(classes))
        for v, s in zip(videos, scores):
            bad = [classes[k] for k in np.flatnonzero(~np.isfinite(s))]
            if bad and v.status in OK_STATUSES:
                # a prediction whose scores are NaN or infinite cannot be trusted: never counted
                shown = ", ".join(f"score:{c}" for c in bad[:3]) + (f" (+{len(bad) - 3} more)" if len(bad) > 3 else "")
                v.reason = "; ".join(x for x in (v.reason, f"scores not finite (empty, NaN or inf) in {shown}") if x)
                v.status = NONFINITE_SCORES
            # the CSV's scores may cover only a class subset: unrestricted top-1/top-5 stay unknown
            if not bad and v.pred in classes:
                v.pred_score = float(s[classes.index(v.pred)])
    else:
        classes = sorted({v.label for v in videos} | {v.pred for v in videos if v.pred})
    name = run_id or path.stem
    return RunResults(
        run_id=name,
        model=name,
        videos=videos,
        classes=classes,
        scores=scores,
        provenance={"source": "predictions-csv", "path": str(path)},
    )


_KNOWN_COLUMNS = {"video_id", "label", "pred", "split", "background", "source_id", "status", "reason", "path"}


def _csv_row(
    row: dict[str, str], rownum: int, score_cols: list[str], problems: list[str]
) -> tuple[VideoResult, list[float]]:
    """One predictions-CSV row as a ``VideoResult`` and its score cells (NaN where empty)."""
    vid = row.get("video_id", "").strip()
    label = row.get("label", "").strip()
    pred = row.get("pred", "").strip() or None
    if not vid:
        problems.append(f"row {rownum}: empty video_id")
    if not label:
        problems.append(f"row {rownum}: empty label")
    status = row.get("status", "").strip() or ("ok" if pred else "missing")
    vals: list[float] = []
    for c in score_cols:
        cell = row.get(c, "").strip()
        try:
            vals.append(float(cell) if cell else float("nan"))
        except ValueError:
            problems.append(f"row {rownum}: column '{c}' is not a number: {cell[:40]!r}")
            vals.append(float("nan"))
    video = VideoResult(
        video_id=vid,
        path=row.get("path", "").strip(),
        label=label,
        split=row.get("split", "").strip() or "all",
        status=status,
        reason=row.get("reason", "").strip(),
        background=row.get("background", "").strip(),
        source_id=row.get("source_id", "").strip(),
        pred=pred,
        extra={k: v for k, v in row.items() if k not in _KNOWN_COLUMNS and not k.startswith("score:")},
    )
    return video, vals


def dumps(obj) -> str:
    """Compact, deterministic JSON used for digests and the store."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)

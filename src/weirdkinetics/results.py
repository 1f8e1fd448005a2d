"""In-memory results of one run: what ``metrics`` and ``report`` consume.

Plain data, no torch and no decoder. Built from the SQLite store (``store.load_runs``) or from a predictions
CSV written by any other tool (``results_from_csv``).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from weirdkinetics.errors import ManifestError, UserError
from weirdkinetics.outputs import unneutralise_cell

OK_STATUSES = ("ok", "short", "partial")
"""Statuses whose prediction counts in the accuracies (``short`` and ``partial`` are flagged, not dropped)."""


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
    get status ``missing``. Every problem is reported at once, with its row number.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"{path}: no such predictions file") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text ({exc}); save the CSV as UTF-8") from None
    reader = csv.DictReader(text.splitlines())
    # our own exports neutralise formula-like cells with an apostrophe: read them back as they were
    reader.fieldnames = [unneutralise_cell(c) for c in reader.fieldnames or []]
    header = reader.fieldnames or []
    missing = [c for c in ("video_id", "label", "pred") if c not in header]
    if missing:
        raise ManifestError([f"header: missing column(s) {', '.join(missing)}"], str(path))
    score_cols = [c for c in header if c.startswith("score:")]
    classes = [c[len("score:") :] for c in score_cols]
    problems: list[str] = []
    videos: list[VideoResult] = []
    rows_scores: list[list[float]] = []
    known = {"video_id", "label", "pred", "split", "background", "source_id", "status", "reason", "path"}
    seen: set[str] = set()
    for rownum, row in enumerate(reader, start=2):
        row = {k: unneutralise_cell(v) if isinstance(v, str) else v for k, v in row.items()}
        vid = (row.get("video_id") or "").strip()
        label = (row.get("label") or "").strip()
        pred = (row.get("pred") or "").strip() or None
        if not vid:
            problems.append(f"row {rownum}: empty video_id")
        elif vid in seen:
            problems.append(f"row {rownum}: duplicate video_id '{vid}'")
        seen.add(vid)
        if not label:
            problems.append(f"row {rownum}: empty label")
        status = (row.get("status") or "").strip() or ("ok" if pred else "missing")
        vals: list[float] = []
        for c in score_cols:
            cell = (row.get(c) or "").strip()
            try:
                vals.append(float(cell) if cell else float("nan"))
            except ValueError:
                problems.append(f"row {rownum}: column '{c}' is not a number: {cell!r}")
                vals.append(float("nan"))
        rows_scores.append(vals)
        videos.append(
            VideoResult(
                video_id=vid,
                path=(row.get("path") or "").strip(),
                label=label,
                split=(row.get("split") or "").strip() or "all",
                status=status,
                reason=(row.get("reason") or "").strip(),
                background=(row.get("background") or "").strip(),
                source_id=(row.get("source_id") or "").strip(),
                pred=pred,
                extra={k: v for k, v in row.items() if k not in known and not k.startswith("score:")},
            )
        )
    if problems:
        raise ManifestError(problems, str(path))
    scores = None
    if classes:
        scores = np.asarray(rows_scores, dtype=np.float32).reshape(len(videos), len(classes))
        for v, s in zip(videos, scores):
            # the CSV's scores may cover only a class subset: unrestricted top-1/top-5 stay unknown
            if np.all(np.isfinite(s)) and v.pred in classes:
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


def dumps(obj) -> str:
    """Compact, deterministic JSON used for digests and the store."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)

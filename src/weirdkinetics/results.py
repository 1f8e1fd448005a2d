"""In-memory results of one run: what ``metrics`` and ``report`` consume.

Plain data, no torch and no decoder. Built from the store's rows (``load_runs`` reads them through
``store.Store`` and assembles them with the pure functions here: ``select_runs``, ``pick_evaluation``,
``run_results``) or from a predictions CSV written by any other tool (``results_from_csv``). The store returns
rows and knows nothing of this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from weirdkinetics import statuses
from weirdkinetics.errors import ManifestError, UserError, did_you_mean, option
from weirdkinetics.inputs import TextInput
from weirdkinetics.labels import resolve_label
from weirdkinetics.outputs import unneutralise_cell
from weirdkinetics.parquet_store import open_store
from weirdkinetics.runid import canonical_json
from weirdkinetics.store import RunInfo, StoredAttribution, StoredPrediction

if TYPE_CHECKING:
    from weirdkinetics.manifest import Manifest

OK_STATUSES = statuses.COUNTED
"""Statuses whose prediction counts in the accuracies (``short`` and ``partial`` are flagged, not dropped)."""

NONFINITE_SCORES = statuses.NONFINITE_SCORES
NOT_VIDEO = statuses.NOT_VIDEO
NOT_EVALUATED = statuses.NOT_EVALUATED
STATUSES = statuses.MEANINGS
"""Every status a row can end with, and its meaning (the table in docs/reliability.md). Only ``OK_STATUSES`` count."""


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
    plan: Plan | None = None

    def subset(self, keep: list[bool]) -> RunResults:
        idx = [i for i, k in enumerate(keep) if k]
        return RunResults(
            run_id=self.run_id,
            model=self.model,
            videos=[self.videos[i] for i in idx],
            classes=self.classes,
            scores=None if self.scores is None else self.scores[idx],
            provenance=self.provenance,
            plan=self.plan,
        )


@dataclass(frozen=True)
class Plan:
    """What a run's evaluations planned, known without the manifest: ``planned`` distinct row ids (every
    ``evaluate`` records its manifest's ids in the store before its first row), ``not_stored`` of them with no
    stored row yet. Set on runs read from a store without ``--manifest`` (with one, its unstored rows are
    listed as ``not_evaluated`` instead)."""

    planned: int
    not_stored: int


# --- runs from the store's rows: pure functions over plain data --------------------------------------------


def select_runs(
    runs: Sequence[RunInfo], wanted: Sequence[str] | None, where: str = "the store"
) -> list[RunInfo]:
    """The runs named in ``wanted`` (each a run id, a prefix of one, or a model name), in the order of ``runs``;
    all of them when ``wanted`` is empty or None. A name that matches no run is refused, naming the close
    spellings and every run in ``where`` (the store's path)."""
    if not wanted:
        return list(runs)

    def matches(info: RunInfo, name: str) -> bool:
        return info.model == name or info.run_id.startswith(name)  # an exact id is its own prefix

    unknown = [name for name in wanted if not any(matches(info, name) for info in runs)]
    if unknown:
        choices = [info.model for info in runs] + [info.run_id for info in runs]
        hints = "".join(did_you_mean(name, dict.fromkeys(choices)) for name in unknown)
        listing = ", ".join(f"{info.run_id} ({info.model})" for info in runs) or "none"
        raise UserError(
            f"{option('run_ids')} {', '.join(unknown)}: not in {where}.{hints} Runs there: {listing}"
        )
    return [info for info in runs if any(matches(info, name) for name in wanted)]


def pick_evaluation(info: RunInfo, evaluations: Sequence[dict], manifest_digest: str | None = None) -> dict:
    """The evaluation whose class subset and provenance a run is shown with: its latest evaluation of the
    manifest with ``manifest_digest``, else its latest, else one over the run's whole label space.

    evaluations: as ``Store.evaluations`` returns them (oldest first), dicts with ``manifest_digest``,
    ``classes``, ``provenance``.
    """
    if manifest_digest is not None:
        for evaluation in reversed(evaluations):
            if evaluation["manifest_digest"] == manifest_digest:
                return evaluation
    if evaluations:
        return evaluations[-1]
    return {"classes": info.class_names, "provenance": {}, "video_ids": None}


def class_indices(class_names: list[str], classes: list[str]) -> list[int]:
    """Pure: where each of ``classes`` stands in ``class_names`` (a model's score vector); ValueError for a
    class the model lacks."""
    return [class_names.index(c) for c in classes]


def restrict(scores: np.ndarray, class_names: list[str], classes: list[str]) -> np.ndarray:
    """Scores over the class subset, renormalised to sum to 1 (argmax = the study's restricted prediction).

    scores: float (..., K) over ``class_names`` -> float32 (..., len(classes)). A row whose subset sums to 0
    stays all zeros.
    """
    index = class_indices(class_names, classes)
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


def manifest_rows(
    preds: Sequence[StoredPrediction], manifest: Manifest, class_names: list[str], label_map: dict | None
) -> list[StoredPrediction]:
    """One row per row of ``manifest``, in its order: the stored row of its file, carrying that manifest's own
    row (label, split, background, extra columns), so a row shared with another manifest naming the same file
    and id shows this manifest's metadata; a row the run has not stored is status ``not_evaluated`` (planned,
    not evaluated yet: an unfinished run is never reported as if its stored rows were all). Labels are mapped
    (the evaluation's ``--label-map``) and spelled as in the run's classes, as ``evaluate`` does, so a
    manifest read as it is gives the same labels."""
    by_key = {(p.path, p.video_id): p for p in preds}
    out = []
    for row in manifest.rows:
        meta = row.to_dict()
        label = meta["label"]
        if label not in class_names:
            mapped = (label_map or {}).get(label, label)
            meta["label"] = resolve_label(mapped, class_names) or mapped
        p = by_key.get((str(row.path), row.video_id))
        if p is None:
            reason = statuses.NOT_EVALUATED_REASON
            p = StoredPrediction(
                row.video_id, str(row.path), meta, NOT_EVALUATED, reason, None, None, None, None, None, None
            )
        out.append(replace(p, row=meta))
    return out


def evaluated_rows(run: RunResults) -> int:
    """How many of the run's rows it has evaluated (all but the ``not_evaluated`` ones)."""
    return sum(v.status != NOT_EVALUATED for v in run.videos)


def not_evaluated_of_planned(run: RunResults) -> tuple[int, int]:
    """(rows planned but not evaluated yet, rows planned): from the manifest's ``not_evaluated`` rows, or
    without a manifest from the run's recorded ``plan``; (0, rows) when nothing says more is planned."""
    missing = len(run.videos) - evaluated_rows(run)
    if missing or run.plan is None:
        return missing, len(run.videos)
    return run.plan.not_stored, run.plan.planned


def unfinished(run: RunResults) -> str:
    """One line saying a run is unfinished ("" when it is not): how many of its planned rows are not
    evaluated yet, and what to do."""
    missing, planned = not_evaluated_of_planned(run)
    if not missing:
        return ""
    return (
        f"run {run.run_id} ({run.model}) is incomplete: {missing} of {planned} planned rows are not "
        f"evaluated yet; its numbers cover the {evaluated_rows(run)} evaluated rows only (run the same "
        "evaluate again to finish it)"
    )


def run_plan(evaluations: Sequence[dict], predictions: Sequence[StoredPrediction]) -> Plan | None:
    """The plan of a run from its evaluations (as ``Store.evaluations`` returns them, each with the
    ``video_ids`` its manifest planned, recorded before its first row) and its stored rows: the distinct ids
    planned by every evaluation that scores rows (``explain`` alone stores none), and how many have no stored
    row. None when no evaluation recorded a plan. Rows are matched by video_id (the plan holds ids, unique
    within a manifest; two manifests naming different files with one id count that id once)."""
    planned: set[str] = set()
    for evaluation in evaluations:
        if not (evaluation.get("provenance") or {}).get("explained_only"):
            planned.update(evaluation.get("video_ids") or [])
    if not planned:
        return None
    stored = {p.video_id for p in predictions}
    return Plan(len(planned), len(planned - stored))


def unique_ids(preds: Sequence[StoredPrediction]) -> list[StoredPrediction]:
    """Rows of several manifests in one run: an id given to different files is shown as ``id (path)``."""
    paths: dict[str, set[str]] = {}
    for p in preds:
        paths.setdefault(p.video_id, set()).add(p.path)
    return [
        replace(p, video_id=f"{p.video_id} ({p.path})") if len(paths[p.video_id]) > 1 else p for p in preds
    ]


def display_name(info: RunInfo, run_label: str = "") -> str:
    """How a run is named in tables and figures: ``model [weights]`` or ``model label [weights]``, where
    weights is ``random`` or the first 12 characters of the weights digest."""
    weights = "random" if info.weights_digest.startswith("random") else info.weights_digest[:12]
    return f"{info.model} {run_label} [{weights}]" if run_label else f"{info.model} [{weights}]"


def run_provenance(info: RunInfo, evaluation: dict, store: str | None = None) -> dict:
    """The evaluation's provenance, completed (and overridden) by what the run itself records."""
    provenance = dict(evaluation.get("provenance") or {})
    provenance.update(
        {
            "run_id": info.run_id,
            "model_card": info.card,
            "weights_digest": info.weights_digest,
            "weights": info.weights_desc,
            "sampling": info.spec,
            "sampling_key": info.spec_key,
        }
    )
    if store is not None:
        provenance["store"] = store
    return provenance


def run_results(
    info: RunInfo,
    evaluation: dict,
    predictions: Sequence[StoredPrediction],
    manifest: Manifest | None = None,
    store: str | None = None,
) -> RunResults:
    """One run's results from its stored rows.

    evaluation: the one ``pick_evaluation`` chose (its class subset, label map and provenance);
    predictions: every stored row of the run, as ``Store.predictions`` reads them. With ``manifest``, one row
    per manifest row, in its order, with its metadata (``not_evaluated`` where nothing is stored); without, every row, an id that names
    different files shown as ``id (path)``. ``store``: the store's path, recorded in the provenance.
    """
    classes = evaluation["classes"] or info.class_names
    if manifest is not None:
        label_map = (evaluation.get("provenance") or {}).get("label_map")
        preds = manifest_rows(predictions, manifest, info.class_names, label_map)
    else:
        preds = unique_ids(predictions)
    scores = np.full((len(preds), len(classes)), np.nan, dtype=np.float32)
    for i, p in enumerate(preds):
        if p.scores is not None and p.status in OK_STATUSES:
            scores[i] = restrict(p.scores, info.class_names, classes)
    provenance = run_provenance(info, evaluation, store)
    return RunResults(
        run_id=info.run_id,
        model=display_name(info, provenance.get("run_label") or ""),
        videos=[to_video_result(p, info.class_names, classes) for p in preds],
        classes=classes,
        scores=scores,
        provenance=provenance,
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
        header = _csv_header(reader.fieldnames, path)
        score_cols = [c for c in header if c.startswith("score:")]
        videos, rows_scores, problems = _csv_rows(reader, header, score_cols)
    if not videos and not problems:
        raise UserError(f"predictions CSV {path}: no rows after the header; nothing to report")
    if problems:
        raise ManifestError(problems, str(path))
    classes = [c[len("score:") :] for c in score_cols]
    scores = _csv_scores(videos, rows_scores, classes) if classes else None
    if not classes:
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


def _csv_header(fieldnames: list[str], path: Path) -> list[str]:
    """A predictions CSV's column names as written; refuses a header without the required columns."""
    # our own exports neutralise formula-like cells with an apostrophe: read them back as they were
    header = [unneutralise_cell(c.strip()) for c in fieldnames]
    missing = [c for c in ("video_id", "label", "pred") if c not in header]
    if missing:
        raise ManifestError([f"header: missing column(s) {', '.join(missing)}"], str(path))
    return header


def _csv_rows(
    reader, header: list[str], score_cols: list[str]
) -> tuple[list[VideoResult], list[list[float]], list[str]]:
    """Every non-blank row of a predictions CSV after its header: the videos, their score cells and every
    problem found (with row numbers)."""
    problems: list[str] = []
    videos: list[VideoResult] = []
    rows_scores: list[list[float]] = []
    seen: set[str] = set()
    for rownum, raw in enumerate(reader, start=2):
        if None in raw:  # more cells than the header names: the columns may be shifted
            problems.append(
                f"row {rownum}: {len(raw[None])} cell(s) more than the header's {len(header)} columns"
            )
        row = {
            unneutralise_cell((k or "").strip()): unneutralise_cell(v or "")
            for k, v in raw.items()
            if k is not None
        }
        if not any(v.strip() for v in row.values()):
            continue  # blank line
        video, vals = _csv_row(row, rownum, score_cols, problems)
        if video.video_id and video.video_id in seen:
            problems.append(f"row {rownum}: duplicate video_id '{video.video_id}'")
        seen.add(video.video_id)
        videos.append(video)
        rows_scores.append(vals)
    return videos, rows_scores, problems


def _csv_scores(videos: list[VideoResult], rows_scores: list[list[float]], classes: list[str]) -> np.ndarray:
    """float32 (len(videos), len(classes)) scores of a predictions CSV; each video is checked against its row."""
    # float32 as stored everywhere: a score too large for float32 becomes inf and is caught below
    with np.errstate(over="ignore"):
        scores = (
            np.asarray(rows_scores, dtype=np.float64).astype(np.float32).reshape(len(videos), len(classes))
        )
    for v, s in zip(videos, scores):
        _score_video(v, s, classes)
    return scores


def _score_video(v: VideoResult, scores: np.ndarray, classes: list[str]) -> None:
    """Check one CSV row's scores (float32 (len(classes),)) in place: a counted row with a score that is not
    finite becomes ``nonfinite_scores``; otherwise its prediction's score is read from them."""
    bad = [classes[k] for k in np.flatnonzero(~np.isfinite(scores))]
    if bad and v.status in OK_STATUSES:
        # a prediction whose scores are NaN or infinite cannot be trusted: never counted
        shown = ", ".join(f"score:{c}" for c in bad[:3]) + (
            f" (+{len(bad) - 3} more)" if len(bad) > 3 else ""
        )
        v.reason = "; ".join(x for x in (v.reason, f"scores not finite (empty, NaN or inf) in {shown}") if x)
        v.status = NONFINITE_SCORES
    # the CSV's scores may cover only a class subset: unrestricted top-1/top-5 stay unknown
    if not bad and v.pred in classes:
        v.pred_score = float(scores[classes.index(v.pred)])


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
    """Compact, deterministic JSON used for digests and the store (``runid.canonical_json``)."""
    return canonical_json(obj)


# --- reading a store ---------------------------------------------------------------------------------------


def load_attributions(store_path: str | Path, run_ids: list[str]) -> dict[str, list[StoredAttribution]]:
    """run_id -> its attribution rows (runs without any are left out)."""
    out: dict[str, list[StoredAttribution]] = {}
    with open_store(store_path, read_only=True) as store:
        for run_id in run_ids:
            rows = store.attributions(run_id)
            if rows:
                out[run_id] = rows
    return out


def load_runs(store_path: str | Path, run_ids: list[str] | None = None, manifest=None) -> list[RunResults]:
    """Results of the runs in a store (all, or those whose id, id prefix or model name is in ``run_ids``), read
    without writing to the store.

    With ``manifest`` (a ``manifest.Manifest``), each run holds the rows of that manifest's files (matched by
    resolved path and video_id), in manifest order, and runs with none are left out; its class subset and
    provenance are those of its evaluation of that manifest (else its latest). Without, every row of each run;
    an id that names different files (two manifests' ``clip.mp4``) is shown as ``id (path)``. The assembly is
    this module's pure functions; the store only reads the rows.
    """
    store_path = Path(store_path)
    digest = None if manifest is None else manifest.digest
    out = []
    with open_store(store_path, read_only=True) as store, store.reading():
        runs = select_runs(store.runs(), run_ids, str(store_path))
        for info in runs:
            evaluations = store.evaluations(info.run_id)
            evaluation = pick_evaluation(info, evaluations, digest)
            rows = store.predictions(info.run_id, len(info.class_names))
            run = run_results(info, evaluation, rows, manifest, store=str(store_path))
            if manifest is None:  # with one, its unstored rows are already listed as not_evaluated
                run.plan = run_plan(evaluations, rows)
            if manifest is None or evaluated_rows(run):  # a run without this manifest's files is left out
                out.append(run)
    if manifest is not None and runs and not out:
        raise UserError(
            f"{store_path}: no predictions for the files of {manifest.path} (rows are matched by each video's "
            "absolute path and video_id); run 'weirdkinetics evaluate' on it first"
        )
    return out

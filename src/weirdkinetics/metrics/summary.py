"""All metrics of one run: ``measure_run`` gives them as a ``RunMetrics`` (frozen types the report reads),
``run_metrics`` as the JSON-ready dict ``metrics.json`` holds (``measure_run(...).to_dict()``).

Pure: reads a ``RunResults`` in memory. Only videos whose status is in ``OK_STATUSES`` and that carry a
prediction count; every other video is listed with its status and reason, and every denominator is given.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from weirdkinetics.metrics.classification import confusion_counts, most_frequent_wrong, row_normalise
from weirdkinetics.metrics.estimates import GapEstimate, McNemar, Proportion, finite_or_none
from weirdkinetics.metrics.groups import SMALL_CELL, Grid, grid_counts
from weirdkinetics.metrics.intervals import bootstrap_gap, mcnemar_exact, wilson
from weirdkinetics.results import OK_STATUSES, RunResults, VideoResult

PREFERRED_SPLITS = ("real", "weird")
"""Splits listed first, in this order; the first split present is the reference of the gaps."""

NO_BACKGROUND = "(none)"
"""Grid column for videos without a background when others have one."""


# ------------------------------------------------------------------------------------------------- types


@dataclass(frozen=True)
class SplitAccuracy:
    """One split: ``accuracy`` over counted videos (restricted to the run's classes); ``top1_all`` and
    ``top5_all`` over the unrestricted prediction, and ``leak`` (a rate: unrestricted top-1 outside the
    subset), each None when no video stored the unrestricted prediction."""

    accuracy: Proportion
    top1_all: Proportion | None
    top5_all: Proportion | None
    leak: Proportion | None

    def to_dict(self) -> dict:
        return self.accuracy.to_dict() | {
            "top1_all": self.top1_all.to_dict() if self.top1_all else None,
            "top5_all": self.top5_all.to_dict() if self.top5_all else None,
            "leak": self.leak.to_dict() if self.leak else None,
        }


@dataclass(frozen=True)
class SplitGap:
    """accuracy(``a``) - accuracy(``b``); ``estimate`` is None when a split has no counted video (``note``
    says which)."""

    a: str
    b: str
    estimate: GapEstimate | None
    note: str = ""

    @property
    def value(self) -> float | None:
        return self.estimate.value if self.estimate else None

    @property
    def ci95(self) -> tuple[float | None, float | None]:
        return self.estimate.ci95 if self.estimate else (None, None)

    def to_dict(self) -> dict:
        if self.estimate is None:
            return {
                "a": self.a,
                "b": self.b,
                "value": None,
                "ci95": [None, None],
                "mcnemar": None,
                "note": self.note,
            }
        return {"a": self.a, "b": self.b} | self.estimate.to_dict()


@dataclass(frozen=True)
class Confusion:
    """counts: int64 (K, K), rows true class, columns predicted, in ``labels`` order; normalised: float64
    (K, K) row shares, NaN where the class has no video."""

    labels: tuple[str, ...]
    counts: np.ndarray
    normalised: np.ndarray

    def to_dict(self) -> dict:
        return {
            "labels": list(self.labels),
            "counts": self.counts.tolist(),
            "normalised": [[finite_or_none(x) for x in row] for row in self.normalised],
        }


@dataclass(frozen=True)
class ClassSplit:
    """One class in one split: its accuracy and its most frequent wrong prediction (class, count)."""

    accuracy: Proportion
    top_wrong: tuple[str, int] | None

    def to_dict(self) -> dict:
        wrong = self.top_wrong
        return self.accuracy.to_dict() | {
            "top_wrong": {"class": wrong[0], "count": wrong[1]} if wrong else None
        }


@dataclass(frozen=True)
class ClassAccuracy:
    """One class: per split where it has videos, and the gap between the first two splits (None unless the
    class has videos in both)."""

    splits: dict[str, ClassSplit]
    gap: float | None

    def to_dict(self) -> dict:
        return {"splits": {s: b.to_dict() for s, b in self.splits.items()}, "gap": self.gap}


@dataclass(frozen=True)
class ExcludedVideo:
    video_id: str
    split: str
    label: str
    status: str
    reason: str
    path: str

    def to_dict(self) -> dict:
        return {
            "video_id": self.video_id,
            "split": self.split,
            "label": self.label,
            "status": self.status,
            "reason": self.reason,
            "path": self.path,
        }


@dataclass(frozen=True)
class SplitDenominator:
    rows: int
    counted: int
    by_status: dict[str, int]

    @property
    def excluded(self) -> int:
        return self.rows - self.counted

    def to_dict(self) -> dict:
        return {
            "rows": self.rows,
            "counted": self.counted,
            "excluded": self.excluded,
            "by_status": dict(self.by_status),
        }


@dataclass(frozen=True)
class Denominators:
    """Every row's status: ``counts`` per status over all rows, ``flagged`` counted statuses other than ok
    (short, partial), per split, and each video not counted with its reason."""

    rows: int
    counted: int
    counts: dict[str, int]
    flagged: dict[str, int]
    counted_statuses: tuple[str, ...]
    by_split: dict[str, SplitDenominator]
    excluded: tuple[ExcludedVideo, ...]

    def to_dict(self) -> dict:
        return {
            "rows": self.rows,
            "counted": self.counted,
            "counts": dict(self.counts),
            "flagged": dict(self.flagged),
            "counted_statuses": list(self.counted_statuses),
            "by_split": {s: d.to_dict() for s, d in self.by_split.items()},
            "excluded": [e.to_dict() for e in self.excluded],
        }


_NO_GRID = {"grid": {}, "grid_totals": None, "grid_order": {"labels": [], "backgrounds": []}}


@dataclass(frozen=True)
class RunMetrics:
    """Every metric of one run. ``splits`` and ``gaps`` in report order (``gaps`` keyed
    ``"<reference>-<other>"``); ``grid`` None when no video has a background; ``confusion`` per split over
    the shared class order ``classes``; ``per_class`` for classes with a counted video."""

    run: str
    model: str
    classes: tuple[str, ...]
    reference_split: str | None
    splits: dict[str, SplitAccuracy]
    gaps: dict[str, SplitGap]
    small_cell: int
    grid: Grid | None
    confusion: dict[str, Confusion]
    per_class: dict[str, ClassAccuracy]
    status: Denominators

    def to_dict(self) -> dict:
        """The ``metrics.json`` entry of the run (without provenance), JSON-ready: no NaN, None instead."""
        return {
            "run": self.run,
            "model": self.model,
            "classes": list(self.classes),
            "reference_split": self.reference_split,
            "splits": {s: b.to_dict() for s, b in self.splits.items()},
            "gaps": {name: g.to_dict() for name, g in self.gaps.items()},
            "small_cell": self.small_cell,
            **(self.grid.to_dict() if self.grid is not None else _NO_GRID),
            "confusion": {s: c.to_dict() for s, c in self.confusion.items()},
            "per_class": {lab: e.to_dict() for lab, e in self.per_class.items()},
            "status": self.status.to_dict(),
        }


# ----------------------------------------------------------------------------------------------- compute


def _first_seen(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def split_order(videos: Sequence[VideoResult]) -> list[str]:
    """Splits present: ``real``, ``weird`` first (when present), then the others in manifest order."""
    seen = _first_seen(v.split for v in videos)
    return [s for s in PREFERRED_SPLITS if s in seen] + [s for s in seen if s not in PREFERRED_SPLITS]


def class_order(run: RunResults) -> list[str]:
    """One class order shared by every table of a run.

    The run's classes (its label space or subset, in model order) that occur as a true or predicted class
    of a counted video, then any other occurring name in manifest order (e.g. a label outside the subset).
    """
    counted = [v for v in run.videos if v.has_prediction]
    seen = {v.label for v in counted} | {v.pred for v in counted}
    ordered = [c for c in run.classes if c in seen]
    known = set(ordered)
    extras = _first_seen(n for v in counted for n in (v.label, v.pred) if n not in known)
    return ordered + extras


def proportion(correct: int, n: int) -> dict:
    """``{"n", "correct", "accuracy", "ci95": [lo, hi]}`` with a Wilson interval; None values when n == 0.

    The serialised form of ``intervals.wilson(correct, n)``."""
    return wilson(correct, n).to_dict()


def _in_top5(v: VideoResult) -> bool:
    return v.label in [c for c, _ in v.topk[:5]]


def _unrestricted(
    run: RunResults, counted: list[VideoResult]
) -> tuple[Proportion | None, Proportion | None, Proportion | None]:
    """Top-1 and top-5 over all classes and the leak rate (top-1 outside the run's classes), each only over
    the videos that stored the unrestricted prediction (None when none did)."""
    with_all = [v for v in counted if v.pred_all is not None]
    with_topk = [v for v in counted if v.topk]
    if not with_all:
        top1_all = leak = None
    else:
        subset = set(run.classes)
        top1_all = wilson(sum(v.pred_all == v.label for v in with_all), len(with_all))
        leak = wilson(sum(v.pred_all not in subset for v in with_all), len(with_all), "rate")
    top5_all = wilson(sum(_in_top5(v) for v in with_topk), len(with_topk)) if with_topk else None
    return top1_all, top5_all, leak


def _split_accuracy(run: RunResults, videos: list[VideoResult]) -> SplitAccuracy:
    counted = _counted(videos)
    top1_all, top5_all, leak = _unrestricted(run, counted)
    return SplitAccuracy(
        accuracy=wilson(sum(v.correct for v in counted), len(counted)),
        top1_all=top1_all,
        top5_all=top5_all,
        leak=leak,
    )


def _counted(videos: Iterable[VideoResult]) -> list[VideoResult]:
    """The videos that count: an OK status and a prediction."""
    return [v for v in videos if v.has_prediction]


def _source_ids(videos: Iterable[VideoResult]) -> set[str]:
    return {v.source_id for v in videos if v.source_id}


def _correct(videos: list[VideoResult]) -> np.ndarray:
    """bool (N,): right or wrong, per video."""
    return np.array([v.correct for v in videos], dtype=bool)


def _clusters(videos: list[VideoResult]) -> np.ndarray:
    """object (N,): each video's cluster id for the bootstrap.

    Videos without a source_id are their own cluster; the NUL prefix keeps them apart from real ids."""
    ids = [v.source_id if v.source_id else f"\x00video\x00{v.video_id}" for v in videos]
    return np.array(ids, dtype=object)


def _mcnemar(a: list[VideoResult], b: list[VideoResult]) -> McNemar | None:
    """Exact McNemar over sources with exactly one counted video in each split; None without any pair."""
    by_a: dict[str, list[VideoResult]] = {}
    by_b: dict[str, list[VideoResult]] = {}
    for v in a:
        if v.source_id:
            by_a.setdefault(v.source_id, []).append(v)
    for v in b:
        if v.source_id:
            by_b.setdefault(v.source_id, []).append(v)
    shared = sorted(set(by_a) & set(by_b))
    pairs = [(by_a[s][0], by_b[s][0]) for s in shared if len(by_a[s]) == 1 and len(by_b[s]) == 1]
    if not pairs:
        return None
    right_wrong = int(sum(x.correct and not y.correct for x, y in pairs))
    wrong_right = int(sum(y.correct and not x.correct for x, y in pairs))
    return McNemar(
        n_pairs=len(pairs),
        b=right_wrong,
        c=wrong_right,
        p_value=mcnemar_exact(right_wrong, wrong_right),
        # A source with several versions in one split (e.g. many synthetic backgrounds) has no single pair.
        sources_not_paired=len(shared) - len(pairs),
    )


def split_gap(
    a: list[VideoResult], b: list[VideoResult], name_a: str, name_b: str, seed: int, n_boot: int
) -> SplitGap:
    """Gap accuracy(a) - accuracy(b) over counted videos, with bootstrap interval and McNemar when paired.

    Versions linked by ``source_id`` across the two splits make the bootstrap resample whole recordings."""
    a, b = _counted(a), _counted(b)
    if not a or not b:
        return SplitGap(name_a, name_b, None, f"no counted video in '{name_a if not a else name_b}'")
    if not _source_ids(a) & _source_ids(b):
        # Nothing links the splits: each is resampled on its own, and there is no pair to test.
        est = bootstrap_gap(_correct(a), _correct(b), n_boot=n_boot, seed=seed)
        return SplitGap(name_a, name_b, est)
    est = bootstrap_gap(_correct(a), _correct(b), _clusters(a), _clusters(b), n_boot=n_boot, seed=seed)
    return SplitGap(name_a, name_b, dataclasses.replace(est, mcnemar=_mcnemar(a, b)))


def gap_metrics(
    a: list[VideoResult], b: list[VideoResult], name_a: str, name_b: str, seed: int, n_boot: int
) -> dict:
    """``split_gap(...)`` serialised: ``{a, b, value, ci95, n_boot, seed, resampled_by, ..., mcnemar}``."""
    return split_gap(a, b, name_a, name_b, seed, n_boot).to_dict()


def _grid(counted: list[VideoResult], labels: list[str]) -> Grid | None:
    if not any(v.background for v in counted):
        return None
    backgrounds = [v.background or NO_BACKGROUND for v in counted]
    row_labels = [c for c in labels if c in {v.label for v in counted}]
    return grid_counts(
        [v.label for v in counted],
        backgrounds,
        [v.correct for v in counted],
        row_labels,
        _first_seen(backgrounds),
    )


def _excluded(run: RunResults) -> tuple[ExcludedVideo, ...]:
    """Every video not counted, with its reason (an OK status without a prediction says so)."""
    return tuple(
        ExcludedVideo(
            v.video_id,
            v.split,
            v.label,
            v.status,
            v.reason or ("no prediction stored" if v.status in OK_STATUSES else ""),
            v.path,
        )
        for v in run.videos
        if not v.has_prediction
    )


def _split_denominator(videos: list[VideoResult]) -> SplitDenominator:
    return SplitDenominator(
        len(videos), sum(v.has_prediction for v in videos), dict(Counter(v.status for v in videos))
    )


def _denominators(run: RunResults, splits: list[str]) -> Denominators:
    counted = _counted(run.videos)
    return Denominators(
        rows=len(run.videos),
        counted=len(counted),
        counts=dict(Counter(v.status for v in run.videos)),
        # short / partial videos count, but readers should know how many there are.
        flagged={s: n for s, n in Counter(v.status for v in counted).items() if s != "ok"},
        counted_statuses=tuple(OK_STATUSES),
        by_split={s: _split_denominator([v for v in run.videos if v.split == s]) for s in splits},
        excluded=_excluded(run),
    )


def _per_class(
    labels: list[str], splits: list[str], counts: dict[str, np.ndarray], present: set[str]
) -> dict[str, ClassAccuracy]:
    top_wrong = {s: most_frequent_wrong(counts[s], labels) for s in splits}
    out = {}
    for i, lab in enumerate(labels):
        if lab not in present:
            continue
        per_split = {}
        for s in splits:
            row = counts[s][i]
            n, right = int(row.sum()), int(row[i])
            if n:
                per_split[s] = ClassSplit(wilson(right, n), top_wrong[s][i])
        # Per-class gap between the first two splits (real - weird), when the class has videos in both.
        accs = [per_split[s].accuracy.value if s in per_split else None for s in splits[:2]]
        gap = finite_or_none(accs[0] - accs[1]) if len(accs) == 2 and None not in accs else None
        out[lab] = ClassAccuracy(per_split, gap)
    return out


def _reference_gaps(by_split: dict[str, list[VideoResult]], seed: int, n_boot: int) -> dict[str, SplitGap]:
    """Every split against the reference (the first), keyed ``"<reference>-<other>"``."""
    splits = list(by_split)
    if not splits:
        return {}
    ref = splits[0]
    return {
        f"{ref}-{other}": split_gap(by_split[ref], by_split[other], ref, other, seed, n_boot)
        for other in splits[1:]
    }


def _confusion_counts(by_split: dict[str, list[VideoResult]], labels: list[str]) -> dict[str, np.ndarray]:
    """int64 (K, K) per split over the counted videos, in ``labels`` order."""
    counts = {}
    for s, videos in by_split.items():
        vids = _counted(videos)
        counts[s] = confusion_counts([v.label for v in vids], [v.pred for v in vids], labels)
    return counts


def measure_run(run: RunResults, seed: int = 0, n_boot: int = 2000) -> RunMetrics:
    """Every metric of one run as frozen types (``RunMetrics``; ``.to_dict()`` is its ``metrics.json`` entry).

    Accuracies with Wilson intervals; gaps of every split against the reference split (the first of
    ``split_order``) with a percentile bootstrap that uses ``seed`` and ``n_boot`` (the same inputs always
    give the same numbers) and McNemar's exact test where versions are linked by ``source_id``; the class x
    background grid; confusion matrices over the shared class order; per-class accuracies; every status.
    """
    splits = split_order(run.videos)
    labels = class_order(run)
    by_split = {s: [v for v in run.videos if v.split == s] for s in splits}
    counted = _counted(run.videos)
    counts = _confusion_counts(by_split, labels)
    return RunMetrics(
        run=run.run_id,
        model=run.model,
        classes=tuple(labels),
        reference_split=splits[0] if splits else None,
        splits={s: _split_accuracy(run, by_split[s]) for s in splits},
        gaps=_reference_gaps(by_split, seed, n_boot),
        small_cell=SMALL_CELL,
        grid=_grid(counted, labels),
        confusion={s: Confusion(tuple(labels), counts[s], row_normalise(counts[s])) for s in splits},
        per_class=_per_class(labels, splits, counts, {v.label for v in counted}),
        status=_denominators(run, splits),
    )


def run_metrics(run: RunResults, seed: int = 0, n_boot: int = 2000) -> dict:
    """Every metric of one run, JSON-serialisable (no NaN: missing numbers are None): ``measure_run(...)``
    serialised.

    Keys: ``run``, ``model``, ``classes`` (the shared class order), ``splits``
    (``{split: {n, correct, accuracy, ci95, top1_all, top5_all, leak}}``), ``gaps``
    (``{"real-weird": {value, ci95, ..., mcnemar}}`` and ``"<ref>-<other>"`` for other splits), ``grid``
    (``{label: {background: {correct, total, small}}}``, only cells with videos) with ``grid_totals`` and
    ``grid_order``, ``confusion`` (``{split: {labels, counts, normalised}}``), ``per_class`` and ``status``.
    The bootstrap uses ``seed`` and ``n_boot``: the same inputs always give the same dict.
    """
    return measure_run(run, seed=seed, n_boot=n_boot).to_dict()

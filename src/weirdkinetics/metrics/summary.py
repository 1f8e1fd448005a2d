"""All metrics of one run as one JSON-ready dict: what ``metrics.json`` holds and the report renders.

Pure: reads a ``RunResults`` in memory, returns plain Python (str, int, float, None, list, dict). Only
videos whose status is in ``OK_STATUSES`` and that carry a prediction count; every other video is listed
with its status and reason, and every denominator is given.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from weirdkinetics.metrics.classification import confusion_counts, most_frequent_wrong, row_normalise
from weirdkinetics.metrics.groups import SMALL_CELL, grid_counts
from weirdkinetics.metrics.intervals import bootstrap_gap, mcnemar_exact, wilson_interval
from weirdkinetics.results import OK_STATUSES, RunResults, VideoResult

PREFERRED_SPLITS = ("real", "weird")
"""Splits listed first, in this order; the first split present is the reference of the gaps."""

NO_BACKGROUND = "(none)"
"""Grid column for videos without a background when others have one."""


def _num(x: float | None) -> float | None:
    """A finite float, or None (JSON has no NaN)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


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
    seen = set(v.label for v in counted) | set(v.pred for v in counted)
    ordered = [c for c in run.classes if c in seen]
    known = set(ordered)
    extras = _first_seen(n for v in counted for n in (v.label, v.pred) if n not in known)
    return ordered + extras


def proportion(correct: int, n: int) -> dict:
    """``{"n", "correct", "accuracy", "ci95": [lo, hi]}`` with a Wilson interval; None values when n == 0."""
    lo, hi = wilson_interval(correct, n)
    return {
        "n": int(n),
        "correct": int(correct),
        "accuracy": _num(correct / n) if n else None,
        "ci95": [_num(lo), _num(hi)],
    }


def _split_block(run: RunResults, videos: list[VideoResult]) -> dict:
    counted = [v for v in videos if v.has_prediction]
    block = proportion(sum(v.correct for v in counted), len(counted))
    # Unrestricted top-1 / top-5 and leak: only over videos that stored the unrestricted prediction.
    with_all = [v for v in counted if v.pred_all is not None]
    block["top1_all"] = (
        proportion(sum(v.pred_all == v.label for v in with_all), len(with_all)) if with_all else None
    )
    with_topk = [v for v in counted if v.topk]
    block["top5_all"] = (
        proportion(sum(v.label in [c for c, _ in v.topk[:5]] for v in with_topk), len(with_topk))
        if with_topk
        else None
    )
    subset = set(run.classes)
    if with_all:
        leaks = sum(v.pred_all not in subset for v in with_all)
        leak = proportion(leaks, len(with_all))
        block["leak"] = {
            "n": leak["n"],
            "count": leak["correct"],
            "rate": leak["accuracy"],
            "ci95": leak["ci95"],
        }
    else:
        block["leak"] = None
    return block


def _clusters(videos: list[VideoResult]) -> list[str]:
    # Videos without a source_id are their own cluster; the NUL prefix keeps them apart from real ids.
    return [v.source_id if v.source_id else f"\x00video\x00{v.video_id}" for v in videos]


def _mcnemar(a: list[VideoResult], b: list[VideoResult]) -> dict | None:
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
    right_wrong = sum(x.correct and not y.correct for x, y in pairs)
    wrong_right = sum(y.correct and not x.correct for x, y in pairs)
    return {
        "n_pairs": len(pairs),
        "b": int(right_wrong),
        "c": int(wrong_right),
        "p_value": mcnemar_exact(right_wrong, wrong_right),
        # A source with several versions in one split (e.g. many synthetic backgrounds) has no single pair.
        "sources_not_paired": len(shared) - len(pairs),
    }


def gap_metrics(
    a: list[VideoResult], b: list[VideoResult], name_a: str, name_b: str, seed: int, n_boot: int
) -> dict:
    """Gap accuracy(a) - accuracy(b) over counted videos, with bootstrap interval and McNemar when paired."""
    a = [v for v in a if v.has_prediction]
    b = [v for v in b if v.has_prediction]
    out: dict = {"a": name_a, "b": name_b}
    if not a or not b:
        empty = name_a if not a else name_b
        return out | {
            "value": None,
            "ci95": [None, None],
            "mcnemar": None,
            "note": f"no counted video in '{empty}'",
        }
    paired = bool({v.source_id for v in a if v.source_id} & {v.source_id for v in b if v.source_id})
    est = bootstrap_gap(
        np.array([v.correct for v in a], dtype=bool),
        np.array([v.correct for v in b], dtype=bool),
        np.array(_clusters(a), dtype=object) if paired else None,
        np.array(_clusters(b), dtype=object) if paired else None,
        n_boot=n_boot,
        seed=seed,
    )
    return out | {
        "value": _num(est.value),
        "ci95": [_num(est.ci95[0]), _num(est.ci95[1])],
        "n_boot": est.n_boot,
        "seed": est.seed,
        "resampled_by": est.resampled_by,
        "n_clusters": est.n_clusters,
        "n_degenerate": est.n_degenerate,
        "mcnemar": _mcnemar(a, b) if paired else None,
    }


def _grid_block(counted: list[VideoResult], labels: list[str]) -> dict:
    if not any(v.background for v in counted):
        return {"grid": {}, "grid_totals": None, "grid_order": {"labels": [], "backgrounds": []}}
    backgrounds = [v.background or NO_BACKGROUND for v in counted]
    bg_order = _first_seen(backgrounds)
    row_labels = [c for c in labels if c in {v.label for v in counted}]
    g = grid_counts(
        [v.label for v in counted], backgrounds, [v.correct for v in counted], row_labels, bg_order
    )
    cells = {
        lab: {
            bg: {"correct": int(g.correct[i, j]), "total": int(g.total[i, j]), "small": bool(g.small[i, j])}
            for j, bg in enumerate(bg_order)
            if g.total[i, j] > 0  # blank where there is no video
        }
        for i, lab in enumerate(row_labels)
    }
    totals = {
        "labels": {
            lab: {"correct": int(g.correct[i].sum()), "total": int(g.total[i].sum())}
            for i, lab in enumerate(row_labels)
        },
        "backgrounds": {
            bg: {"correct": int(g.correct[:, j].sum()), "total": int(g.total[:, j].sum())}
            for j, bg in enumerate(bg_order)
        },
        "all": {"correct": int(g.correct.sum()), "total": int(g.total.sum())},
    }
    return {
        "grid": cells,
        "grid_totals": totals,
        "grid_order": {"labels": row_labels, "backgrounds": bg_order},
    }


def _status_block(run: RunResults, splits: list[str]) -> dict:
    excluded = [
        {
            "video_id": v.video_id,
            "split": v.split,
            "label": v.label,
            "status": v.status,
            "reason": v.reason or ("no prediction stored" if v.status in OK_STATUSES else ""),
            "path": v.path,
        }
        for v in run.videos
        if not v.has_prediction
    ]
    by_split = {}
    for s in splits:
        vids = [v for v in run.videos if v.split == s]
        counted = sum(v.has_prediction for v in vids)
        by_split[s] = {
            "rows": len(vids),
            "counted": counted,
            "excluded": len(vids) - counted,
            "by_status": dict(Counter(v.status for v in vids)),
        }
    counted = [v for v in run.videos if v.has_prediction]
    return {
        "rows": len(run.videos),
        "counted": len(counted),
        "counts": dict(Counter(v.status for v in run.videos)),
        # short / partial videos count, but readers should know how many there are.
        "flagged": {s: n for s, n in Counter(v.status for v in counted).items() if s != "ok"},
        "counted_statuses": list(OK_STATUSES),
        "by_split": by_split,
        "excluded": excluded,
    }


def run_metrics(run: RunResults, seed: int = 0, n_boot: int = 2000) -> dict:
    """Every metric of one run, JSON-serialisable (no NaN: missing numbers are None).

    Keys: ``run``, ``model``, ``classes`` (the shared class order), ``splits``
    (``{split: {n, correct, accuracy, ci95, top1_all, top5_all, leak}}``), ``gaps``
    (``{"real-weird": {value, ci95, ..., mcnemar}}`` and ``"<ref>-<other>"`` for other splits), ``grid``
    (``{label: {background: {correct, total, small}}}``, only cells with videos) with ``grid_totals`` and
    ``grid_order``, ``confusion`` (``{split: {labels, counts, normalised}}``), ``per_class`` and ``status``.
    The bootstrap uses ``seed`` and ``n_boot``: the same inputs always give the same dict.
    """
    splits = split_order(run.videos)
    labels = class_order(run)
    by_split = {s: [v for v in run.videos if v.split == s] for s in splits}
    counted = [v for v in run.videos if v.has_prediction]

    gaps: dict[str, dict] = {}
    if splits:
        ref = splits[0]
        for other in splits[1:]:
            gaps[f"{ref}-{other}"] = gap_metrics(by_split[ref], by_split[other], ref, other, seed, n_boot)

    confusion = {}
    per_split_counts = {}
    for s in splits:
        vids = [v for v in by_split[s] if v.has_prediction]
        counts = confusion_counts([v.label for v in vids], [v.pred for v in vids], labels)
        per_split_counts[s] = counts
        confusion[s] = {
            "labels": labels,
            "counts": counts.tolist(),
            "normalised": [[_num(x) for x in row] for row in row_normalise(counts)],
        }

    per_class = {}
    present = {v.label for v in counted}
    top_wrong = {s: most_frequent_wrong(per_split_counts[s], labels) for s in splits}
    for i, lab in enumerate(labels):
        if lab not in present:
            continue
        entry: dict = {"splits": {}}
        for s in splits:
            row = per_split_counts[s][i]
            n, right = int(row.sum()), int(row[i])
            if n == 0:
                continue
            wrong = top_wrong[s][i]
            entry["splits"][s] = proportion(right, n) | {
                "top_wrong": {"class": wrong[0], "count": wrong[1]} if wrong else None
            }
        # Per-class gap between the first two splits (real - weird), when the class has videos in both.
        accs = [entry["splits"].get(s, {}).get("accuracy") for s in splits[:2]]
        entry["gap"] = _num(accs[0] - accs[1]) if len(accs) == 2 and None not in accs else None
        per_class[lab] = entry

    out = {
        "run": run.run_id,
        "model": run.model,
        "classes": labels,
        "reference_split": splits[0] if splits else None,
        "splits": {s: _split_block(run, by_split[s]) for s in splits},
        "gaps": gaps,
        "small_cell": SMALL_CELL,
        **_grid_block(counted, labels),
        "confusion": confusion,
        "per_class": per_class,
        "status": _status_block(run, splits),
    }
    return out

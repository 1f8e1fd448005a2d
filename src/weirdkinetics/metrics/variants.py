"""Metrics of derived test sets (``synth``): per variant accuracy paired with the original videos, HAT's
person-versus-background label rates on swaps, SCUBA/SCUFO contrasted accuracy. Pure; no torch, no IO.

Rows of a derived set are recognised by their ``variant`` extra column (``synth`` writes it); each points
at its source through ``source_video_id`` (exact) or else ``source_id``. Only rows with
``synth_status == "ok"`` (or no such column) and a prediction are counted; every other row is counted by
status, with its reason, never silently dropped.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from weirdkinetics.metrics.intervals import bootstrap_gap, mcnemar_exact, wilson_interval
from weirdkinetics.metrics.summary import proportion
from weirdkinetics.results import RunResults, VideoResult

SCHEMA = "weirdkinetics.variant_metrics/1"
VARIANT_ORDER = ("swap", "person-only", "background-only", "static-background", "static-person")
MAX_LISTED = 50
"""At most this many excluded rows are listed by id (all are counted)."""


def _num(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def rate(count: int, n: int) -> dict:
    """``{"n", "count", "rate", "ci95": [lo, hi]}`` with a Wilson interval; ``rate``/``ci95`` None when n == 0.

    For label rates; accuracies use ``summary.proportion`` (``{"n", "correct", "accuracy", "ci95"}``)."""
    lo, hi = wilson_interval(count, n)
    return {
        "n": int(n),
        "count": int(count),
        "rate": _num(count / n) if n else None,
        "ci95": [_num(lo), _num(hi)],
    }


def variant_of(video: VideoResult) -> str:
    """The video's variant (``extra["variant"]``), or ``""`` for an original video."""
    return (video.extra.get("variant") or "").strip()


def synth_ok(video: VideoResult) -> bool:
    """True unless ``synth`` recorded a problem (``synth_status`` other than ``ok``)."""
    return (video.extra.get("synth_status") or "ok").strip() == "ok"


def counted(video: VideoResult) -> bool:
    """Counts in a variant's accuracy: synthesised without problem and predicted."""
    return synth_ok(video) and video.has_prediction


def pair_with_originals(
    variants: Sequence[VideoResult], originals: Sequence[VideoResult]
) -> list[tuple[VideoResult, VideoResult | None]]:
    """Each derived row with its source row: by ``source_video_id`` == original ``video_id``, else by
    ``source_id`` when exactly one original carries it (as ``source_id`` or ``video_id``). None when no
    original matches."""
    by_id = {o.video_id: o for o in originals}
    by_source: dict[str, list[VideoResult]] = {}
    for o in originals:
        for key in {o.source_id, o.video_id} - {""}:
            by_source.setdefault(key, []).append(o)
    pairs = []
    for v in variants:
        source_video = (v.extra.get("source_video_id") or "").strip()
        match = by_id.get(source_video) if source_video else None
        if match is None and v.source_id and len(by_source.get(v.source_id, [])) == 1:
            match = by_source[v.source_id][0]
        pairs.append((v, match))
    return pairs


def _cluster(o: VideoResult) -> str:
    # real and weird versions of one recording share a source_id: resample them together
    return o.source_id or f"\x00video\x00{o.video_id}"


def _status_block(rows: Sequence[VideoResult]) -> dict:
    synth = Counter((v.extra.get("synth_status") or "ok") for v in rows)
    not_predicted = Counter(v.status for v in rows if synth_ok(v) and not v.has_prediction)
    excluded = [
        {
            "video_id": v.video_id,
            "synth_status": v.extra.get("synth_status", ""),
            "reason": v.extra.get("excluded_reason", "") or v.reason,
        }
        for v in rows
        if not synth_ok(v)
    ]
    return {
        "rows": len(rows),
        "counted": sum(counted(v) for v in rows),
        "synth_status": dict(sorted(synth.items())),
        "not_predicted": dict(sorted(not_predicted.items())),
        "excluded": excluded[:MAX_LISTED],
        "excluded_listed": min(len(excluded), MAX_LISTED),
        "excluded_total": len(excluded),
    }


def _paired_block(pairs: list[tuple[VideoResult, VideoResult]], n_boot: int, seed: int) -> dict:
    if not pairs:
        return {
            "n_pairs": 0,
            "original": proportion(0, 0),
            "variant": proportion(0, 0),
            "gap": None,
            "mcnemar": None,
        }
    var_ok = np.array([v.correct for v, _ in pairs], dtype=bool)
    org_ok = np.array([o.correct for _, o in pairs], dtype=bool)
    clusters = np.array([_cluster(o) for _, o in pairs], dtype=object)
    est = bootstrap_gap(var_ok, org_ok, clusters, clusters, n_boot=n_boot, seed=seed)
    b = int((org_ok & ~var_ok).sum())  # right on the original, wrong on the variant
    c = int((~org_ok & var_ok).sum())
    return {
        "n_pairs": len(pairs),
        "original": proportion(int(org_ok.sum()), len(pairs)),
        "variant": proportion(int(var_ok.sum()), len(pairs)),
        "gap": {
            "value": _num(est.value),  # variant accuracy minus original accuracy, same sources
            "ci95": [_num(est.ci95[0]), _num(est.ci95[1])],
            "n_boot": est.n_boot,
            "seed": est.seed,
            "resampled_by": est.resampled_by,
            "n_clusters": est.n_clusters,
        },
        "mcnemar": {"b_original_only": b, "c_variant_only": c, "p_value": mcnemar_exact(b, c)},
    }


def background_label_rates(
    pairs: list[tuple[VideoResult, VideoResult | None]], classes: Sequence[str]
) -> dict:
    """HAT's reading of swaps: how often the model names the person's action vs. the background's class.

    Over counted rows whose ``bg_label`` is a class of the run and differs from the true label:
    ``person`` (pred == label), ``background`` (pred == bg_label), ``other``; ``original_background``: on
    the paired originals, how often the same ``bg_label`` was predicted before the swap (the baseline the
    swap moves predictions away from). Rows with no or a non-class ``bg_label`` are counted, not used.
    """
    class_set = set(classes)
    used, unknown, not_class, same = [], 0, 0, 0
    for v, o in pairs:
        if not counted(v):
            continue
        bg = (v.extra.get("bg_label") or "").strip()
        if not bg:
            unknown += 1
        elif bg not in class_set:
            not_class += 1
        elif bg == v.label:
            same += 1
        else:
            used.append((v, o, bg))
    n = len(used)
    person = sum(v.pred == v.label for v, _, _ in used)
    background = sum(v.pred == bg for v, _, bg in used)
    with_original = [(o, bg) for _, o, bg in used if o is not None and o.has_prediction]
    return {
        "n": n,
        "person": rate(person, n),
        "background": rate(background, n),
        "other": rate(n - person - background, n),
        "original_background": rate(sum(o.pred == bg for o, bg in with_original), len(with_original)),
        "n_bg_label_missing": unknown,
        "n_bg_label_not_a_class": not_class,
        "n_bg_label_is_true_label": same,
    }


def scuba_scufo(
    scuba: Sequence[VideoResult], scufo: Sequence[VideoResult], n_boot: int = 2000, seed: int = 0
) -> dict:
    """Contrasted accuracy (SCUBA/SCUFO): a static-background (SCUBA) video counts as right only when its
    static-person (SCUFO) twin (same source video and background) is wrong: the model used the motion, not
    the frozen appearance of person and scene.

    Pairs are formed on (``source_video_id``, ``bg_source``, ``background``); only pairs where both are
    counted are used. Also gives both accuracies on those pairs and their gap (SCUBA minus SCUFO).
    """

    def key(v: VideoResult) -> tuple[str, str, str]:
        return (v.extra.get("source_video_id") or v.source_id, v.extra.get("bg_source", ""), v.background)

    a = {key(v): v for v in scuba if counted(v)}
    b = {key(v): v for v in scufo if counted(v)}
    shared = sorted(set(a) & set(b))
    n = len(shared)
    right_a = np.array([a[k].correct for k in shared], dtype=bool)
    right_b = np.array([b[k].correct for k in shared], dtype=bool)
    gap = None
    if n:
        clusters = np.array([a[k].source_id or k[0] for k in shared], dtype=object)
        est = bootstrap_gap(right_a, right_b, clusters, clusters, n_boot=n_boot, seed=seed)
        gap = {
            "value": _num(est.value),
            "ci95": [_num(est.ci95[0]), _num(est.ci95[1])],
            "n_boot": n_boot,
            "seed": seed,
        }
    return {
        "n_pairs": n,
        "scuba": proportion(int(right_a.sum()), n),
        "scufo": proportion(int(right_b.sum()), n),
        "contrasted": proportion(int((right_a & ~right_b).sum()), n),
        "gap_scuba_minus_scufo": gap,
        "unpaired_scuba": len(a) - n,
        "unpaired_scufo": len(b) - n,
    }


def variant_metrics(
    run: RunResults, originals: RunResults | None = None, n_boot: int = 2000, seed: int = 0
) -> dict:
    """Every derived-set number of a run as one JSON-ready dict.

    run: results holding derived rows (``variant`` column), and the originals too unless ``originals`` is
    given (a separate run over the source manifest, same model). Per variant: status counts with reasons,
    accuracy over counted rows (Wilson), accuracy paired with the originals (gap with a seeded bootstrap
    resampling source recordings, exact McNemar), and where rows carry a ``bg_label`` (swaps) HAT's
    person/background label rates. ``scuba_scufo`` when both static variants are present.
    """
    derived = [v for v in run.videos if variant_of(v)]
    source_rows = (
        list(originals.videos) if originals is not None else [v for v in run.videos if not variant_of(v)]
    )
    classes = list(run.classes)
    names = [n for n in VARIANT_ORDER if any(variant_of(v) == n for v in derived)]
    names += sorted({variant_of(v) for v in derived} - set(names))
    out: dict = {
        "schema": SCHEMA,
        "model": run.model,
        "run_id": run.run_id,
        "n_originals": len(source_rows),
        "variants": {},
    }
    for name in names:
        rows = [v for v in derived if variant_of(v) == name]
        pairs = pair_with_originals(rows, source_rows)
        usable = [(v, o) for v, o in pairs if counted(v) and o is not None and o.has_prediction]
        n_counted = sum(counted(v) for v in rows)
        block = _status_block(rows)
        block["accuracy"] = proportion(sum(v.correct for v in rows if counted(v)), n_counted)
        block["paired"] = _paired_block(usable, n_boot, seed)
        block["paired"]["unpaired"] = n_counted - len(usable)
        if any((v.extra.get("bg_label") or "").strip() for v in rows):
            block["background_label"] = background_label_rates(pairs, classes)
        out["variants"][name] = block
    by_name = {n: [v for v in derived if variant_of(v) == n] for n in ("static-background", "static-person")}
    out["scuba_scufo"] = (
        scuba_scufo(by_name["static-background"], by_name["static-person"], n_boot, seed)
        if all(by_name.values())
        else None
    )
    return out

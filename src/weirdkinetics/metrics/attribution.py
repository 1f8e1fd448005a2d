"""Statistics of saliency maps against person masks: background share, reliance ratio, deletion curves,
occlusion shares, and their summaries with cluster-bootstrap intervals.

Pure numpy over arrays; no torch, no IO. Saliency: float (T, H, W), any non-negative scale (only positive
mass counts); person: bool (T, H, W), True on the person (already dilated by the caller).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np

from weirdkinetics.metrics.estimates import MeanEstimate, finite_or_none
from weirdkinetics.metrics.intervals import CONFIDENCE, bootstrap_mean
from weirdkinetics.statuses import COUNTED

DELETION_FRACTIONS: tuple[float, ...] = tuple(round(0.05 * k, 2) for k in range(1, 11))
"""Fractions of each frame's pixels removed for the deletion curves: 5 %, 10 %, ..., 50 %."""


def _check(saliency: np.ndarray, person: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    saliency = np.asarray(saliency, dtype=np.float64)
    person = np.asarray(person, dtype=bool)
    if saliency.ndim != 3 or saliency.shape != person.shape:
        raise ValueError(
            f"saliency and person mask must both be (T, H, W), got {saliency.shape} and {person.shape}"
        )
    return saliency, person


def background_share(saliency: np.ndarray, person: np.ndarray) -> float:
    """Positive saliency mass outside the person / all positive mass, per frame, averaged over frames.

    Frames with no positive mass carry no information and are skipped; NaN when no frame has any.
    1.0: all on the background; 0.0: all on the person.
    """
    saliency, person = _check(saliency, person)
    positive = np.clip(saliency, 0.0, None)
    total = positive.sum(axis=(1, 2))
    outside = (positive * ~person).sum(axis=(1, 2))
    keep = total > 0
    if not keep.any():
        return math.nan
    return float(np.mean(outside[keep] / total[keep]))


def background_area(person: np.ndarray) -> float:
    """Fraction of each frame's pixels outside the person, averaged over frames: the share a map that
    looks everywhere alike would give."""
    person = np.asarray(person, dtype=bool)
    if person.ndim != 3 or person.size == 0:
        raise ValueError(f"person mask must be a non-empty (T, H, W) array, got {person.shape}")
    return float(np.mean(1.0 - person.mean(axis=(1, 2))))


def reliance_ratio(share: float, area: float) -> float:
    """Background share / background area share: 1.0 looks everywhere alike, above 1 looks at the
    background more than its area. NaN when either is undefined or the area is zero."""
    if not (math.isfinite(share) and math.isfinite(area)) or area <= 0:
        return math.nan
    return float(share / area)


def occlusion_share(person_drop: float, background_drop: float) -> float:
    """Occlusion's background share: the background's part of the score drops (negative drops, i.e.
    removals that raise the score, count as zero). NaN when neither removal lowers the score."""
    p, b = max(float(person_drop), 0.0), max(float(background_drop), 0.0)
    return math.nan if p + b == 0 else b / (p + b)


def _ranked_masks(order: np.ndarray, fractions: tuple[float, ...], pixels: int) -> np.ndarray:
    """order: int (T, P) pixel indices, first removed first -> bool (F, T, P)."""
    t = order.shape[0]
    out = np.zeros((len(fractions), t, pixels), dtype=bool)
    rows = np.arange(t)[:, None]
    for f, frac in enumerate(fractions):
        count = round(frac * pixels)
        if count:
            out[f, rows, order[:, :count]] = True
    return out


def deletion_masks(
    saliency: np.ndarray,
    fractions: tuple[float, ...] = DELETION_FRACTIONS,
    seed: int = 0,
    block: tuple[int, int] = (1, 1),
) -> tuple[np.ndarray, np.ndarray]:
    """Pixels to remove for the deletion curves, per frame.

    saliency: float (T, H, W). Returns ``(salient, random)``, each bool (F, T, H, W): for fraction f, the
    ``round(f * H * W)`` most salient pixels of every frame, and the same number of pixels in a random
    order (seeded). Ties in saliency (flat regions of an upsampled map) are broken at random with the same seed,
    so neither curve depends on pixel order.

    block: (bh, bw) pixels that the random order keeps together (whole blocks first, in random order).
    Give the size of one cell of the map's native grid: the random baseline then removes regions as
    coarse as the map's own, so the comparison tests the map's ranking, not how much more scattered
    single pixels hurt a network than the same number of pixels in blobs.
    """
    saliency = np.asarray(saliency, dtype=np.float64)
    if saliency.ndim != 3:
        raise ValueError(f"saliency must be (T, H, W), got {saliency.shape}")
    t, h, w = saliency.shape
    bh, bw = max(1, int(block[0])), max(1, int(block[1]))
    pixels = h * w
    rng = np.random.default_rng(seed)
    flat = saliency.reshape(t, pixels)
    tiebreak = rng.random((t, pixels))
    salient_order = np.lexsort((tiebreak, -flat), axis=-1)  # by saliency, highest first; ties at random
    cells = rng.random((t, -(-h // bh), -(-w // bw)))
    block_rank = np.repeat(np.repeat(cells, bh, axis=1), bw, axis=2)[:, :h, :w].reshape(t, pixels)
    random_order = np.lexsort((rng.random((t, pixels)), block_rank), axis=-1)
    shape = (len(fractions), t, h, w)
    return (
        _ranked_masks(salient_order, fractions, pixels).reshape(shape),
        _ranked_masks(random_order, fractions, pixels).reshape(shape),
    )


@dataclass(frozen=True)
class DeletionResult:
    """Target-score drops after removing the most salient pixels vs random pixels (same fractions).

    ``advantage`` = mean over fractions of (salient drop - random drop); ``faithful`` when it is positive:
    removing what the map calls important hurts more than removing as much at random.
    """

    fractions: tuple[float, ...]
    salient_drop: tuple[float, ...]
    random_drop: tuple[float, ...]
    advantage: float
    faithful: bool

    def to_dict(self) -> dict:
        return asdict(self)


def deletion_result(
    fractions: tuple[float, ...], salient_drop: np.ndarray, random_drop: np.ndarray
) -> DeletionResult:
    """salient_drop, random_drop: float (F,) score drops (base score - score after removal)."""
    s = np.asarray(salient_drop, dtype=np.float64).ravel()
    r = np.asarray(random_drop, dtype=np.float64).ravel()
    if s.shape != r.shape or s.size != len(fractions) or s.size == 0:
        raise ValueError(f"need one drop per fraction ({len(fractions)}), got {s.size} and {r.size}")
    advantage = float(np.mean(s - r))
    return DeletionResult(
        tuple(float(f) for f in fractions),
        tuple(map(float, s)),
        tuple(map(float, r)),
        advantage,
        advantage > 0,
    )


# -- summaries -----------------------------------------------------------------------------------------


def summarise(
    values: np.ndarray, clusters: np.ndarray | None = None, n_boot: int = 2000, seed: int = 0
) -> MeanEstimate:
    """Mean of the finite ``values`` with a seeded bootstrap interval, resampling whole clusters
    (``source_id``: the real and weird versions of one recording) when given. Empty -> no value, n 0,
    resampled by ``"none"``."""
    values = np.asarray(values, dtype=np.float64).ravel()
    keep = np.isfinite(values)
    if clusters is not None:
        clusters = np.asarray(clusters, dtype=object).ravel()[keep]
        if any(c in ("", None) for c in clusters):
            clusters = None
    values = values[keep]
    if values.size == 0:
        return _no_mean(n_boot, seed)
    return bootstrap_mean(values, clusters, n_boot=n_boot, seed=seed)


def _no_mean(n_boot: int, seed: int) -> MeanEstimate:
    return MeanEstimate(None, (None, None), 0, n_boot, seed, "none", 0)


def paired_difference(
    a: dict[str, float], b: dict[str, float], n_boot: int = 2000, seed: int = 0
) -> MeanEstimate:
    """Mean of ``a[s] - b[s]`` over the keys (source ids) both hold with a finite value, with a bootstrap
    interval over those sources (each source is one pair: resampling sources is the cluster bootstrap)."""
    keys = sorted(k for k in a.keys() & b.keys() if math.isfinite(a[k]) and math.isfinite(b[k]))
    diffs = np.array([a[k] - b[k] for k in keys], dtype=np.float64)
    if diffs.size == 0:
        return _no_mean(n_boot, seed)
    return replace(bootstrap_mean(diffs, None, n_boot=n_boot, seed=seed), resampled_by="source_id")


def intervals_disjoint(a: MeanEstimate, b: MeanEstimate) -> bool:
    """True when the two intervals do not overlap (both finite)."""
    if None in (*a.ci95, *b.ci95):
        return False
    return a.ci95[1] < b.ci95[0] or b.ci95[1] < a.ci95[0]


# -- per run ------------------------------------------------------------------------------------------

OK_ATTRIBUTION = COUNTED
"""Statuses whose numbers are counted (as in evaluation: short and partial are flagged, not dropped)."""

_QUANTITIES = {
    "gradcam": ("background_share", "reliance_ratio", "deletion_advantage"),
    "occlusion": ("background_share", "reliance_ratio", "person_drop", "background_drop"),
}


def group_of(record: dict) -> str:
    """The split a record belongs to in the report: synth's variant for derived rows, else the split."""
    row = record.get("row") or {}
    variant = row.get("variant") or ""
    return f"{row.get('split', '')} ({variant})" if variant else str(row.get("split", ""))


def _label_of(record: dict) -> str:
    return str((record.get("row") or {}).get("label", ""))


def _background_of(record: dict) -> str:
    return str((record.get("row") or {}).get("background", "")) or "-"


_PARTS: tuple[tuple[str, Callable[[dict], str]], ...] = (
    ("by_split", group_of),
    ("by_class", _label_of),
    ("by_background", _background_of),
)
"""The summary's breakdowns: name -> the group a counted record falls in."""


def _value(record: dict, key: str) -> float:
    numbers = record.get("numbers") or {}
    if key == "deletion_advantage":
        value = (numbers.get("deletion") or {}).get("advantage")
    else:
        value = numbers.get(key)
    return math.nan if value is None else float(value)


def _means(records: list[dict], method: str, n_boot: int, seed: int) -> dict[str, MeanEstimate]:
    """Each of the method's quantities over ``records``, resampling ``source_id``."""
    clusters = np.array([(r.get("row") or {}).get("source_id", "") for r in records], dtype=object)
    return {
        key: summarise(np.array([_value(r, key) for r in records], dtype=np.float64), clusters, n_boot, seed)
        for key in _QUANTITIES.get(method, ("background_share",))
    }


def _block(records: list[dict], method: str, means: dict[str, MeanEstimate]) -> dict:
    """One row of a summary: how many records, each quantity's mean, and (Grad-CAM) the faithful maps."""
    out: dict = {"n": len(records)}
    out.update((key, est.to_dict()) for key, est in means.items())
    if method == "gradcam":
        out["faithful"] = sum(
            bool(((r.get("numbers") or {}).get("deletion") or {}).get("faithful")) for r in records
        )
    return out


def _status_counts(records: list[dict]) -> dict[str, int]:
    status: dict[str, int] = {}
    for r in records:
        status[r["status"]] = status.get(r["status"], 0) + 1
    return status


def _not_counted(records: list[dict]) -> list[dict]:
    """The rows left out of the numbers, with their reasons."""
    return [
        {
            "video_id": r["video_id"],
            "split": group_of(r),
            "label": (r.get("row") or {}).get("label", ""),
            "status": r["status"],
            "reason": r["reason"],
        }
        for r in records
        if r["status"] not in OK_ATTRIBUTION
    ]


def _breakdown(
    counted: list[dict], field_of: Callable[[dict], str], method: str, n_boot: int, seed: int
) -> dict:
    parts: dict[str, list[dict]] = {}
    for r in counted:
        parts.setdefault(field_of(r), []).append(r)
    return {g: _block(rs, method, _means(rs, method, n_boot, seed)) for g, rs in sorted(parts.items())}


def paired_shares(counted: list[dict], n_boot: int, seed: int) -> MeanEstimate:
    """Background share on weird minus real, per recording (``source_id``) with both versions counted."""
    shares: dict[str, dict[str, float]] = {s: {} for s in ("real", "weird")}
    for r in counted:
        row = r.get("row") or {}
        if group_of(r) in shares and row.get("source_id"):
            shares[group_of(r)][row["source_id"]] = _value(r, "background_share")
    return paired_difference(shares["weird"], shares["real"], n_boot, seed)


def summarise_group(
    method: str, settings_key: str, records: list[dict], n_boot: int = 2000, seed: int = 0
) -> dict:
    """The summary of one (method, settings) group of attribution records (see ``attribution_summary``)."""
    counted = [r for r in records if r["status"] in OK_ATTRIBUTION]
    overall = _means(counted, method, n_boot, seed)
    entry: dict = {
        "method": method,
        "settings_key": settings_key,
        "settings": records[0].get("settings") or {},
        "rows": len(records),
        "counted": len(counted),
        "status": _status_counts(records),
        "not_counted": _not_counted(records),
        "overall": _block(counted, method, overall),
    }
    entry.update((name, _breakdown(counted, field_of, method, n_boot, seed)) for name, field_of in _PARTS)
    entry["shares"] = {
        g: [finite_or_none(_value(r, "background_share")) for r in counted if group_of(r) == g]
        for g in entry["by_split"]
    }
    paired = paired_shares(counted, n_boot, seed)
    entry["paired_weird_minus_real"] = paired.to_dict() if paired.n else None
    if method == "gradcam":
        lo = overall["deletion_advantage"].ci95[0]
        entry["beats_random"] = bool(lo is not None and lo > 0)
    return entry


def attribution_summary(records: list[dict], n_boot: int = 2000, seed: int = 0) -> dict:
    """Summaries of one run's attribution rows, per (method, settings).

    records: dicts with ``video_id, method, settings_key, settings, status, reason, row`` (the manifest row,
    with split, label, background, source_id) and ``numbers`` (as ``explain`` stores them). Returns
    ``{"groups": [...]}``, one entry per (method, settings) with status counts, the rows not counted with
    their reasons, and means (``MeanEstimate.to_dict()``) with 95 % bootstrap intervals (resampling
    source_id) overall, per split, per class and per background; the paired real-minus-weird background
    share per source_id; for Grad-CAM, whether the maps beat random deletion (mean advantage's interval
    above zero).
    """
    by_key: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        by_key.setdefault((r["method"], r["settings_key"]), []).append(r)
    return {"groups": [summarise_group(m, k, recs, n_boot, seed) for (m, k), recs in by_key.items()]}


__all__ = [
    "CONFIDENCE",
    "DELETION_FRACTIONS",
    "DeletionResult",
    "MeanEstimate",
    "attribution_summary",
    "background_area",
    "background_share",
    "deletion_masks",
    "deletion_result",
    "group_of",
    "intervals_disjoint",
    "occlusion_share",
    "paired_difference",
    "paired_shares",
    "reliance_ratio",
    "summarise",
    "summarise_group",
]

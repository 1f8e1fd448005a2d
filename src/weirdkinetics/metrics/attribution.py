"""Statistics of saliency maps against person masks: background share and its area- and resolution-normalised
score, deletion curves with a noise floor,
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


def _linear_resample(volume: np.ndarray, axis: int, size: int) -> np.ndarray:
    """Linear interpolation of ``volume`` along ``axis`` to ``size`` samples, with PyTorch's
    ``align_corners=False`` convention (sample i sits at source coordinate (i + 0.5) * n / size - 0.5, clamped),
    so a coarse grid comes back exactly as ``F.interpolate(..., mode="trilinear")`` brings a Grad-CAM map up.
    Written here because ``metrics`` never imports torch, and scipy's zoom places samples differently."""
    n = volume.shape[axis]
    if n == size:
        return volume
    coord = np.clip((np.arange(size) + 0.5) * n / size - 0.5, 0.0, n - 1)
    low = np.floor(coord).astype(int)
    high = np.minimum(low + 1, n - 1)
    shape = [1] * volume.ndim
    shape[axis] = size
    weight = (coord - low).reshape(shape)
    return np.take(volume, low, axis=axis) * (1 - weight) + np.take(volume, high, axis=axis) * weight


def _area_average(volume: np.ndarray, axis: int, size: int) -> np.ndarray:
    """Mean of ``volume`` over the ``size`` cells of a coarser grid along ``axis``, cell i covering
    ``[floor(i * n / size), ceil((i + 1) * n / size))`` as adaptive average pooling does (cells overlap by a
    pixel where ``n`` is not a multiple of ``size``)."""
    n = volume.shape[axis]
    if n == size:
        return volume
    cells = np.arange(size)
    starts, ends = (cells * n) // size, -((-(cells + 1) * n) // size)
    pad = [(0, 0)] * volume.ndim
    pad[axis] = (1, 0)
    total = np.pad(np.cumsum(volume, axis=axis), pad)
    shape = [1] * volume.ndim
    shape[axis] = size
    sums = np.take(total, ends, axis=axis) - np.take(total, starts, axis=axis)
    return sums / (ends - starts).reshape(shape)


def person_floor(person: np.ndarray, grid: tuple[int, int, int] | None = None) -> float:
    """The background share of a map that puts all its mass on the person as far as the map's resolution
    allows: the person mask brought to the map's native ``grid`` (T', h, w) by area average, then back up
    to (T, H, W) linearly, as Grad-CAM's map is. 0.0 at full resolution (``grid`` None or the mask's own);
    a coarse grid spills part of the person onto the background, so even a perfect map scores above 0.

    person: bool (T, H, W). NaN when the mask is empty everywhere."""
    person = np.asarray(person, dtype=bool)
    if person.ndim != 3 or person.size == 0:
        raise ValueError(f"person mask must be a non-empty (T, H, W) array, got {person.shape}")
    if grid is None or tuple(grid) == person.shape:
        return 0.0 if person.any() else math.nan
    if len(grid) != 3 or min(grid) < 1:
        raise ValueError(f"grid must be three positive sizes (T', h, w), got {grid}")
    ideal = person.astype(np.float64)
    for axis, size in enumerate(grid):
        ideal = _area_average(ideal, axis, min(int(size), person.shape[axis]))
    for axis, size in enumerate(person.shape):
        ideal = _linear_resample(ideal, axis, size)
    return background_share(ideal, person)


def background_score(share: float, area: float, floor: float = 0.0) -> float:
    """The background share normalised for the background's area and the map's resolution:
    ``(share - floor) / (area - floor)``. 0.0: all mass on the person as far as the map's resolution allows
    (``floor``, see ``person_floor``); 1.0: as much on the background as its area (a uniform map, or a map
    that ignores where the person is); above 1: more on the background than its area.

    The raw share cannot tell a biased model from a random one: on a frame whose background is 86 % of the
    pixels a uniform map already scores 0.86. NaN when a number is undefined or when the map's resolution
    cannot tell the person from the background (``area - floor`` at most 1e-6)."""
    values = (share, area, floor)
    if not all(math.isfinite(v) for v in values) or area - floor <= 1e-6:
        return math.nan
    return float((share - floor) / (area - floor))


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


def random_field(
    shape: tuple[int, int, int], grid: tuple[int, int, int] | None, seed: int | np.random.SeedSequence
) -> np.ndarray:
    """A seeded random map as coarse as a saliency map: uniform values on ``grid`` (T', h, w), brought up to
    ``shape`` (T, H, W) linearly as Grad-CAM's map is (``_linear_resample``, PyTorch's trilinear
    ``align_corners=False``). The masks of RISE (Petsiuk et al. 2018) are drawn the same way: a coarse random
    grid, upsampled. float64 (T, H, W); ``grid`` None: one value per pixel (no smoothing)."""
    if grid is not None and len(grid) != 3:
        raise ValueError(f"grid must be three sizes (T', h, w), got {grid}")
    # a grid finer than the frames (never from a real layer) is the frames' own
    grid = tuple(shape) if grid is None else tuple(min(max(1, int(g)), n) for g, n in zip(grid, shape))
    field = np.random.default_rng(seed).random(grid)
    for axis, size in enumerate(shape):
        field = _linear_resample(field, axis, size)
    return field


def deletion_masks(
    saliency: np.ndarray,
    fractions: tuple[float, ...] = DELETION_FRACTIONS,
    seed: int = 0,
    grid: tuple[int, int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pixels to remove for the deletion curves, per frame.

    saliency: float (T, H, W). Returns ``(salient, random)``, each bool (F, T, H, W): for fraction f, the
    ``round(f * H * W)`` most salient pixels of every frame, and as many pixels of every frame ranked by a
    seeded random map (``random_field``). Ties (flat regions of an upsampled map) are broken by one seeded
    random pixel order shared by all frames, so neither curve depends on pixel order and a tie does not flicker.

    grid: the map's native (T', h, w) (Grad-CAM's target layer). The random map is drawn on that grid and
    brought up as the saliency map is, so the random deletions are as coarse as the map's own in space *and in
    time*: what is removed stays in place across the frames of one temporal cell and moves smoothly, as the
    salient deletions do. The comparison then tests the map's ranking, not how much more a video network is
    hurt by scattered pixels (many more edges) or by holes redrawn at random in every frame (a flicker, i.e.
    motion that is not in the video) than by the same number of pixels in one smooth blob. None: pixel-level
    random order.
    """
    saliency = np.asarray(saliency, dtype=np.float64)
    if saliency.ndim != 3:
        raise ValueError(f"saliency must be (T, H, W), got {saliency.shape}")
    t, h, w = saliency.shape
    pixels = h * w
    # two independent streams from one seed: drawn from the same stream, the tie order and the random map began
    # with the same numbers, so the salient curve's ties were removed in the random curve's order
    tie_stream, field_stream = np.random.SeedSequence(seed).spawn(2)
    # one random pixel order breaks ties in every frame, so a tie (a flat stretch of a map) does not flicker
    tiebreak = np.broadcast_to(np.random.default_rng(tie_stream).random(pixels), (t, pixels))
    salient_order = np.lexsort((tiebreak, -saliency.reshape(t, pixels)), axis=-1)  # highest first
    field = random_field((t, h, w), grid, field_stream).reshape(t, pixels)
    random_order = np.lexsort((tiebreak, -field), axis=-1)
    shape = (len(fractions), t, h, w)
    return (
        _ranked_masks(salient_order, fractions, pixels).reshape(shape),
        _ranked_masks(random_order, fractions, pixels).reshape(shape),
    )


FAITHFUL, NOT_FAITHFUL, NOT_ASSESSABLE = "faithful", "not faithful", "not assessable"
"""A deletion check's verdicts: only an assessable video can be called faithful (or not)."""

ABOVE_CHANCE = 2.0
"""A video is assessable only when its target score is at least this many times chance (1 / classes): a
model that gives the target no more than about chance has nothing a map could explain, and every drop is
then noise around a score near its floor (a random-weights model: every drop 0.0000 at a base of 1/400)."""

NOISE_SIGMAS = 2.0
"""The noise floor: this many standard deviations of the mean drop of one random deletion across seeds."""

MIN_EFFECT = 0.01
"""The noise floor is never below this share of the base score: a score that barely moves whatever is
removed (a model that ignores its input) has no effect to compare, however alike the random seeds are."""


def assessable(base_score: float, chance: float | None) -> tuple[bool, str]:
    """Pure: can a removal check say anything about this clip? ``(True, "")`` when the target score is at
    least ``ABOVE_CHANCE`` x chance, else ``(False, reason)``. chance None: not checked."""
    if not math.isfinite(base_score):
        return False, "no target score"
    if chance is not None and base_score < ABOVE_CHANCE * chance:
        return False, (
            f"target score {base_score:.4f} is below {ABOVE_CHANCE:g} x chance ({chance:.4f}): the model does "
            "not recognise the class here, so no removal can show what it relies on"
        )
    return True, ""


def noise_floor(random_drops: np.ndarray, base_score: float) -> float:
    """How far a random deletion's mean drop wanders: ``NOISE_SIGMAS`` standard deviations (across the
    seeds, ddof 1) of each seed's drop averaged over fractions, and at least ``MIN_EFFECT`` x the base
    score. random_drops: float (R, F), one row per seed (R >= 2 for a spread; with one seed only the
    minimum applies)."""
    drops = np.asarray(random_drops, dtype=np.float64).reshape(-1, np.shape(random_drops)[-1])
    per_seed = drops.mean(axis=1)
    spread = float(np.std(per_seed, ddof=1)) if per_seed.size > 1 else 0.0
    return max(NOISE_SIGMAS * spread, MIN_EFFECT * max(float(base_score), 0.0))


@dataclass(frozen=True)
class DeletionResult:
    """Target-score drops after removing the most salient pixels vs random pixels (same fractions).

    ``random_drop``: the mean over ``random_drops`` (one row per seed of the random order). ``advantage`` =
    mean over fractions of (salient drop - random drop). ``verdict``: ``faithful`` when the clip is
    assessable (``assessable``: target score above chance) and the advantage exceeds ``noise_floor``
    (removing what the map calls important hurts more than removing as much at random, by more than random
    removals differ among themselves); ``not faithful`` when it falls below minus the floor; else ``not
    assessable``, with the ``reason``.
    """

    fractions: tuple[float, ...]
    salient_drop: tuple[float, ...]
    random_drop: tuple[float, ...]
    advantage: float
    faithful: bool
    random_drops: tuple[tuple[float, ...], ...] = ()
    base_score: float | None = None
    chance: float | None = None
    noise_floor: float = 0.0
    verdict: str = NOT_ASSESSABLE
    reason: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _verdict(advantage: float, floor: float, base: float, chance: float | None) -> tuple[str, str]:
    ok, reason = assessable(base, chance)
    if not ok:
        return NOT_ASSESSABLE, reason
    if advantage > floor:
        return FAITHFUL, ""
    if advantage < -floor:
        return (
            NOT_FAITHFUL,
            f"deleting the salient pixels hurts less than random deletion by {-advantage:.4f}",
        )
    return NOT_ASSESSABLE, (
        f"the map's advantage over random deletion ({advantage:+.4f}) is within the noise floor "
        f"({floor:.4f}) of random deletions"
    )


def deletion_result(
    fractions: tuple[float, ...],
    salient_drop: np.ndarray,
    random_drops: np.ndarray,
    base_score: float = math.inf,
    chance: float | None = None,
) -> DeletionResult:
    """salient_drop: float (F,) score drops (base score - score after removal); random_drops: float (R, F),
    the drops of R seeded random deletions of the same sizes (or (F,) for one); base_score: the clip's target
    score; chance: 1 / the number of classes the score is restricted to (None: not checked)."""
    s = np.asarray(salient_drop, dtype=np.float64).ravel()
    r = np.asarray(random_drops, dtype=np.float64)
    r = r.reshape(-1, r.shape[-1]) if r.ndim else r.reshape(1, 1)
    if r.shape[1] != s.size or s.size != len(fractions) or s.size == 0:
        raise ValueError(f"need one drop per fraction ({len(fractions)}), got {s.size} and {r.shape}")
    mean_random = r.mean(axis=0)
    advantage = float(np.mean(s - mean_random))
    base = float(base_score)
    floor = noise_floor(r, base if math.isfinite(base) else 0.0)
    verdict, reason = _verdict(advantage, floor, base if math.isfinite(base) else 1.0, chance)
    return DeletionResult(
        tuple(float(f) for f in fractions),
        tuple(map(float, s)),
        tuple(map(float, mean_random)),
        advantage,
        verdict == FAITHFUL,
        tuple(tuple(map(float, row)) for row in r),
        base if math.isfinite(base) else None,
        chance,
        floor,
        verdict,
        reason,
    )


# -- model randomisation (Adebayo et al. 2018) ---------------------------------------------------------

RANDOMISATION_LIMIT = 0.5
"""A method whose maps keep a mean Spearman rank correlation of at least this between a model and the same
network with random weights does not explain the model: its maps come from the input (edges, the
architecture's receptive fields), not from what training taught."""


def map_rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation between two maps of one clip (same shape, e.g. float (T, h, w)), over all
    their values (``scipy.stats.spearmanr``). NaN when either map is constant (no ranking) or the shapes
    differ (maps of two different views cannot be compared)."""
    from scipy.stats import spearmanr

    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape or a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    return float(spearmanr(a, b).statistic)


def randomisation_verdict(mean_rho: float | None, limit: float = RANDOMISATION_LIMIT) -> str | None:
    """``"explains the model"`` when the maps change with the weights (mean rank correlation below
    ``limit``), ``"not explaining the model"`` otherwise, None without a number."""
    if mean_rho is None or not math.isfinite(mean_rho):
        return None
    return "explains the model" if mean_rho < limit else "not explaining the model"


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
    "gradcam": ("background_score", "background_share", "deletion_advantage", "randomisation_rho"),
    "occlusion": (
        "background_score",
        "background_share",
        "person_drop",
        "background_drop",
        "randomisation_rho",
    ),
}

_ASSESSED = {"deletion_advantage"}
"""Grad-CAM's quantities averaged over assessable videos only (the map itself is counted everywhere)."""


def verdict_of(record: dict) -> str | None:
    """A record's removal verdict: Grad-CAM's deletion verdict, occlusion's ``not assessable`` (a target
    score below chance) or None (assessable occlusion, or a record stored before verdicts existed)."""
    numbers = record.get("numbers") or {}
    if record.get("method") == "gradcam":
        deletion = numbers.get("deletion") or {}
        return deletion.get("verdict") or (FAITHFUL if deletion.get("faithful") else None)
    return NOT_ASSESSABLE if numbers.get("assessable") is False else None


def _assessable_reason(record: dict) -> str:
    numbers = record.get("numbers") or {}
    if record.get("method") == "gradcam":
        return str((numbers.get("deletion") or {}).get("reason", ""))
    return str(numbers.get("assessable_reason", ""))


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
    """One quantity of a record; NaN where it has none, and where the record's removal check is not
    assessable (every occlusion number; Grad-CAM's deletion advantage)."""
    numbers = record.get("numbers") or {}
    if verdict_of(record) == NOT_ASSESSABLE and (record.get("method") == "occlusion" or key in _ASSESSED):
        return math.nan
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
    verdicts = [verdict_of(r) for r in records]
    if method == "gradcam":
        out["faithful"] = verdicts.count(FAITHFUL)
        out["not_faithful"] = verdicts.count(NOT_FAITHFUL)
    out["not_assessable"] = verdicts.count(NOT_ASSESSABLE)
    return out


def _not_assessable(counted: list[dict]) -> list[dict]:
    """The counted rows whose removal check could not say anything, with the reason."""
    return [
        {
            "video_id": r["video_id"],
            "split": group_of(r),
            "label": (r.get("row") or {}).get("label", ""),
            "reason": _assessable_reason(r),
        }
        for r in counted
        if verdict_of(r) == NOT_ASSESSABLE
    ]


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


def randomisation_block(counted: list[dict], rho: MeanEstimate) -> dict | None:
    """The model-randomisation check of a group: each video's rank correlation with the random-weights
    twin's map, the twin's name, the verdict on the mean (``randomisation_verdict``); None without a twin."""
    if not rho.n:
        return None
    twins = [(r.get("numbers") or {}).get("randomisation_run") for r in counted]
    return {
        "rho": {r["video_id"]: finite_or_none(_value(r, "randomisation_rho")) for r in counted},
        "against": next((t for t in twins if t), None),
        "verdict": randomisation_verdict(rho.value),
        "limit": RANDOMISATION_LIMIT,
    }


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
        "not_assessable": _not_assessable(counted),
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
    entry["randomisation"] = randomisation_block(counted, overall["randomisation_rho"])
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
    "background_score",
    "background_share",
    "deletion_masks",
    "deletion_result",
    "group_of",
    "intervals_disjoint",
    "map_rank_correlation",
    "occlusion_share",
    "paired_difference",
    "paired_shares",
    "person_floor",
    "random_field",
    "randomisation_verdict",
    "summarise",
    "summarise_group",
]

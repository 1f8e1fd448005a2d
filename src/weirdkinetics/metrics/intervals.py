"""Uncertainty: Wilson intervals, a seeded (cluster) bootstrap of an accuracy gap and of a mean,
McNemar's exact test.

A bootstrap over fewer than ``MIN_CLUSTERS`` resampling units (recordings, or videos when unclustered) is not
an interval: one recording per split always redraws itself and gives [+100, +100]. Nor is one where a split's
videos all agree (all right or all wrong): every redraw of that split is the same, so 20 of 20 against 0 of 20
gives [+100, +100] too, as if 20 videos made the gap certain. In both cases a gap gets Newcombe's hybrid score
interval (conservative for the positively correlated real/weird pairs), and a mean over too few units gets no
interval at all.

Pure numpy/scipy over arrays; no torch, no IO.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

from weirdkinetics.metrics.estimates import GapEstimate, MeanEstimate, Proportion, ProportionKind

CONFIDENCE = 0.95

# Replicates drawn per block: bounds memory at about BLOCK_CELLS int64 indices whatever the data size.
_BLOCK_CELLS = 2_000_000


def wilson_interval(correct: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval (no continuity correction) for ``correct`` successes out of ``n``.

    Returns ``(lo, hi)`` as floats in [0, 1]; ``(nan, nan)`` when ``n == 0`` (no data, no interval).
    Unlike the normal (Wald) interval it stays inside [0, 1] and keeps its coverage for the small cells
    this project reports (1 to 30 videos).
    """
    correct, n = int(correct), int(n)
    if n < 0 or not 0 <= correct <= n:
        raise ValueError(f"need 0 <= correct <= n, got correct={correct}, n={n}")
    if n == 0:
        return (math.nan, math.nan)
    # scipy's binomtest(correct, n).proportion_ci(method="wilson") gives these very numbers, but building the
    # test first sums binomial pmfs for a p-value nobody reads: 80 % of a 200-run report's metrics time
    # (cProfile). This is its formula (Newcombe 1998), operation for operation, so the floats are identical
    # (checked against scipy in the tests); the bounds are exactly 0 and 1 at correct == 0 and n, as there.
    p = correct / n
    z = special.ndtri(0.5 + 0.5 * confidence)  # a numpy float, as in scipy: the same rounding
    denom = 2 * (n + z**2)
    center = (2 * n * p + z**2) / denom
    delta = z / denom * math.sqrt(4 * n * p * (1 - p) + z**2)
    lo = 0.0 if correct == 0 else center - delta
    hi = 1.0 if correct == n else center + delta
    return (float(lo), float(hi))


MIN_CLUSTERS = 5
"""Fewest resampling units (clusters, or videos per split when unclustered) a bootstrap interval is drawn over."""

NEWCOMBE = "newcombe"
"""``resampled_by`` of a gap whose interval is Newcombe's (too few clusters to bootstrap): nothing resampled."""


def newcombe_interval(
    correct_a: int, n_a: int, correct_b: int, n_b: int, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Newcombe's hybrid score interval (1998, method 10) for ``correct_a / n_a - correct_b / n_b``, built
    from the two Wilson intervals: ``(d - sqrt((p_a - l_a)^2 + (u_b - p_b)^2), d + sqrt((u_a - p_a)^2 +
    (p_b - l_b)^2))``. Keeps its coverage for the tiny samples where a bootstrap collapses (1 vs 1 video
    gives [-0.122, +1], not [+1, +1]). Written by hand: neither scipy nor numpy has it. n_a, n_b >= 1."""
    if n_a < 1 or n_b < 1:
        raise ValueError("both splits need at least one video for a difference of proportions")
    p_a, p_b = correct_a / n_a, correct_b / n_b
    l_a, u_a = wilson_interval(correct_a, n_a, confidence)
    l_b, u_b = wilson_interval(correct_b, n_b, confidence)
    d = p_a - p_b
    lo = d - math.sqrt((p_a - l_a) ** 2 + (u_b - p_b) ** 2)
    hi = d + math.sqrt((u_a - p_a) ** 2 + (p_b - l_b) ** 2)
    return (max(-1.0, lo), min(1.0, hi))


def wilson(count: int, n: int, kind: ProportionKind = "accuracy") -> Proportion:
    """``count`` out of ``n`` as a ``Proportion`` with its Wilson interval (value and bounds None when n == 0)."""
    lo, hi = wilson_interval(count, n)
    return Proportion(int(count), int(n), count / n if n else None, (lo, hi), "wilson", kind)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pair counts.

    ``b``: pairs right in the first split and wrong in the second; ``c``: the reverse. Under the null each
    discordant pair goes either way with probability 1/2, so ``b ~ Binomial(b + c, 1/2)``; the p-value is
    the exact binomial test (``1.0`` when there is no discordant pair).
    """
    b, c = int(b), int(c)
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got b={b}, c={c}")
    if b + c == 0:
        return 1.0
    return float(min(1.0, stats.binomtest(b, b + c, 0.5, alternative="two-sided").pvalue))


def bootstrap_gap(
    correct_a: np.ndarray,
    correct_b: np.ndarray,
    clusters_a: np.ndarray | None = None,
    clusters_b: np.ndarray | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> GapEstimate:
    """Seeded percentile bootstrap of ``mean(correct_a) - mean(correct_b)``.

    correct_a: bool (Na,), correct_b: bool (Nb,). clusters_a / clusters_b: (Na,) / (Nb,) cluster ids (any
    hashable, e.g. ``source_id`` strings) shared across the two splits, or ``None``.

    Without clusters each split is resampled on its own (two independent samples). With clusters, whole
    clusters are drawn with replacement so that the real and weird versions of one recording stay together
    and their correlation widens (or narrows) the interval as it should.

    Written by hand rather than with ``scipy.stats.bootstrap`` because each cluster carries a different
    number of videos in each split and replicates where one split is empty must be dropped and counted.
    The same ``seed`` always gives the same interval. Over fewer than ``MIN_CLUSTERS`` units (clusters, or
    the smaller split's videos), or where one split's videos are all right or all wrong, nothing is
    resampled: the interval is ``newcombe_interval`` over the counts, ``resampled_by`` is ``"newcombe"`` and
    ``n_boot`` 0.
    """
    correct_a = np.asarray(correct_a, dtype=bool).ravel()
    correct_b = np.asarray(correct_b, dtype=bool).ravel()
    if correct_a.size == 0 or correct_b.size == 0:
        raise ValueError("both splits need at least one video to estimate a gap")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if (clusters_a is None) != (clusters_b is None):
        raise ValueError("give clusters for both splits or for neither")
    value = float(correct_a.mean() - correct_b.mean())
    rng = np.random.default_rng(seed)
    tail = (1.0 - confidence) / 2.0
    units = _gap_units(clusters_a, clusters_b, correct_a.size, correct_b.size)
    if units < MIN_CLUSTERS or _unanimous(correct_a) or _unanimous(correct_b):
        # too few to resample, or a split whose every redraw is the same: Newcombe's score interval, nothing drawn
        ci = newcombe_interval(int(correct_a.sum()), correct_a.size, int(correct_b.sum()), correct_b.size)
        return GapEstimate(value, ci, 0, seed, NEWCOMBE, units, 0)

    if clusters_a is None:
        na, nb = correct_a.size, correct_b.size
        reps = np.empty(n_boot, dtype=np.float64)
        block = max(1, _BLOCK_CELLS // max(na, nb))
        for start in range(0, n_boot, block):
            m = min(block, n_boot - start)
            acc_a = correct_a[rng.integers(0, na, size=(m, na))].mean(axis=1)
            acc_b = correct_b[rng.integers(0, nb, size=(m, nb))].mean(axis=1)
            reps[start : start + m] = acc_a - acc_b
        lo, hi = np.quantile(reps, [tail, 1.0 - tail])
        return GapEstimate(value, (float(lo), float(hi)), n_boot, seed, "video", na + nb, 0)

    ids_a = np.asarray(clusters_a, dtype=object).ravel()
    ids_b = np.asarray(clusters_b, dtype=object).ravel()
    if ids_a.size != correct_a.size or ids_b.size != correct_b.size:
        raise ValueError("clusters must have one id per video")
    # Map ids to 0..K-1 in sorted order, so the draw does not depend on the order of the videos.
    uniq, inverse = np.unique(np.concatenate([ids_a, ids_b]).astype(str), return_inverse=True)
    k = uniq.size
    idx_a, idx_b = inverse[: ids_a.size], inverse[ids_a.size :]
    right_a = np.bincount(idx_a, weights=correct_a, minlength=k)  # float64 (K,)
    total_a = np.bincount(idx_a, minlength=k).astype(np.float64)
    right_b = np.bincount(idx_b, weights=correct_b, minlength=k)
    total_b = np.bincount(idx_b, minlength=k).astype(np.float64)

    reps = np.empty(n_boot, dtype=np.float64)
    block = max(1, _BLOCK_CELLS // k)
    for start in range(0, n_boot, block):
        m = min(block, n_boot - start)
        draw = rng.integers(0, k, size=(m, k))  # int64 (m, K): cluster drawn at each position
        with np.errstate(invalid="ignore", divide="ignore"):
            reps[start : start + m] = right_a[draw].sum(1) / total_a[draw].sum(1) - right_b[draw].sum(
                1
            ) / total_b[draw].sum(1)
    finite = np.isfinite(reps)
    n_degenerate = int((~finite).sum())
    if not finite.any():
        return GapEstimate(value, (math.nan, math.nan), n_boot, seed, "source_id", k, n_degenerate)
    lo, hi = np.quantile(reps[finite], [tail, 1.0 - tail])
    return GapEstimate(value, (float(lo), float(hi)), n_boot, seed, "source_id", k, n_degenerate)


def _unanimous(correct: np.ndarray) -> bool:
    """Every video of the split right, or every one wrong: a percentile bootstrap of it is a single point."""
    return bool(correct.all() or not correct.any())


def _gap_units(clusters_a, clusters_b, na: int, nb: int) -> int:
    """What a gap's bootstrap resamples: distinct clusters over both splits, else the smaller split's videos."""
    if clusters_a is None or clusters_b is None:
        return min(na, nb)
    ids = np.concatenate(
        [np.asarray(clusters_a, dtype=object).ravel(), np.asarray(clusters_b, dtype=object).ravel()]
    )
    return int(np.unique(ids.astype(str)).size)


def bootstrap_mean(
    values: np.ndarray,
    clusters: np.ndarray | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> MeanEstimate:
    """Seeded percentile bootstrap of ``mean(values)``.

    values: float (N,), finite, N >= 1. clusters: (N,) cluster ids (any hashable, e.g. ``source_id``
    strings) or ``None``. Without clusters the values are resampled one by one; with clusters whole clusters
    are drawn with replacement and each replicate is the mean over the videos drawn (a ratio of sums, as the
    cluster bootstrap of a gap), so correlated versions of one recording widen the interval as they should.
    The same ``seed`` always gives the same interval; cluster ids are sorted first, so the order of the
    values does not change the draw. Over fewer than ``MIN_CLUSTERS`` units there is no interval (NaN, read
    as None) and ``n_boot`` is 0.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError("need at least one value to estimate a mean")
    if not np.all(np.isfinite(values)):
        raise ValueError("values must be finite: drop or count missing values before the bootstrap")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    rng = np.random.default_rng(seed)
    tail = (1.0 - confidence) / 2.0
    value = float(values.mean())
    reps = np.empty(n_boot, dtype=np.float64)
    if clusters is not None and np.asarray(clusters, dtype=object).size != values.size:
        raise ValueError("clusters must have one id per value")
    ids = None if clusters is None else np.asarray(clusters, dtype=object).ravel().astype(str)
    units = values.size if ids is None else int(np.unique(ids).size)
    if units < MIN_CLUSTERS:  # no interval rather than a collapsed one (a mean has no small-n exact form)
        by = "value" if clusters is None else "source_id"
        return MeanEstimate(value, (math.nan, math.nan), values.size, 0, seed, by, units)
    if clusters is None:
        n = values.size
        block = max(1, _BLOCK_CELLS // n)
        for start in range(0, n_boot, block):
            m = min(block, n_boot - start)
            reps[start : start + m] = values[rng.integers(0, n, size=(m, n))].mean(axis=1)
        lo, hi = np.quantile(reps, [tail, 1.0 - tail])
        return MeanEstimate(value, (float(lo), float(hi)), n, n_boot, seed, "value", n)

    ids = np.asarray(clusters, dtype=object).ravel()
    if ids.size != values.size:
        raise ValueError("clusters must have one id per value")
    uniq, inverse = np.unique(ids.astype(str), return_inverse=True)
    k = uniq.size
    sums = np.bincount(inverse, weights=values, minlength=k)  # float64 (K,)
    counts = np.bincount(inverse, minlength=k).astype(np.float64)  # every cluster holds >= 1 value
    block = max(1, _BLOCK_CELLS // k)
    for start in range(0, n_boot, block):
        m = min(block, n_boot - start)
        draw = rng.integers(0, k, size=(m, k))  # int64 (m, K): cluster drawn at each position
        reps[start : start + m] = sums[draw].sum(1) / counts[draw].sum(1)
    lo, hi = np.quantile(reps, [tail, 1.0 - tail])
    return MeanEstimate(value, (float(lo), float(hi)), values.size, n_boot, seed, "source_id", k)

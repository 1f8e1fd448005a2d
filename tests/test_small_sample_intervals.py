"""Intervals on tiny samples (issue 22, item 4): a bootstrap over fewer than a handful of clusters is not an
interval. A gap there gets Newcombe's hybrid score interval, a mean none, and the leaderboard's findings
never claim a difference that one recording cannot carry. Newcombe's values are his paper's (Stat. Med. 1998,
17:873-890, table II, method 10), computed by hand from the two Wilson intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from weirdkinetics.metrics.estimates import GapEstimate, Proportion
from weirdkinetics.metrics.intervals import (
    MIN_CLUSTERS,
    NEWCOMBE,
    bootstrap_gap,
    bootstrap_mean,
    newcombe_interval,
)
from weirdkinetics.metrics.leaderboard import separated


@pytest.mark.parametrize(
    "counts, expected",
    [
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((5, 56, 0, 29), (-0.0381, 0.1926)),
        ((10, 10, 0, 20), (0.6791, 1.0)),
        ((0, 10, 0, 20), (-0.1611, 0.2775)),
        # 1 of 1 vs 0 of 1: Wilson(1/1) = [1/(1+z^2), 1] = [0.2066, 1]; d = 1, lower = 1 - sqrt(2) * 0.7934
        ((1, 1, 0, 1), (-0.1221, 1.0)),
    ],
)
def test_newcombe_matches_the_published_values(counts, expected):
    lo, hi = newcombe_interval(*counts)
    assert lo == pytest.approx(expected[0], abs=1e-4) and hi == pytest.approx(expected[1], abs=1e-4)


def test_one_recording_per_split_is_not_an_interval_of_one_point():
    """The issue's case: one video per split, right on one, wrong on the other."""
    est = bootstrap_gap(np.array([True]), np.array([False]), np.array(["r"]), np.array(["r"]), seed=0)
    assert est.value == 1.0 and est.resampled_by == NEWCOMBE and est.n_boot == 0 and est.n_clusters == 1
    lo, hi = est.ci95
    assert lo < 0 and hi == 1  # it cannot even say the sign
    unclustered = bootstrap_gap(np.array([True, True]), np.array([False]), seed=0)
    assert unclustered.resampled_by == NEWCOMBE and unclustered.ci95[0] < 0


def test_enough_clusters_still_bootstrap():
    rng = np.random.default_rng(1)
    a, b = rng.random(40) < 0.8, rng.random(40) < 0.3
    ids = np.array([f"r{i}" for i in range(40)])
    est = bootstrap_gap(a, b, ids, ids, n_boot=300, seed=3)
    assert est.resampled_by == "source_id" and est.n_boot == 300 and est.ci95[0] < est.value < est.ci95[1]


def test_a_mean_over_too_few_clusters_has_no_interval():
    est = bootstrap_mean(np.array([0.9, 0.95]), np.array(["a", "b"]), seed=0)
    assert est.value == pytest.approx(0.925) and est.ci95 == (None, None)
    many = bootstrap_mean(np.linspace(0, 1, MIN_CLUSTERS), seed=0)
    assert None not in many.ci95


def test_findings_never_fire_on_a_handful_of_recordings():
    """Two models' gaps of +100 and +0 over one recording each: even with (old, collapsed) point intervals,
    nothing rests on enough recordings to be called separated."""
    collapsed_a = GapEstimate(1.0, (1.0, 1.0), 2000, 0, "source_id", 1)
    collapsed_b = GapEstimate(0.0, (0.0, 0.0), 2000, 0, "source_id", 1)
    assert not separated(collapsed_a, collapsed_b)
    honest_a = bootstrap_gap(np.array([True]), np.array([False]), np.array(["r"]), np.array(["r"]))
    honest_b = bootstrap_gap(np.array([True]), np.array([True]), np.array(["r"]), np.array(["r"]))
    assert not separated(honest_a, honest_b)
    four = Proportion(4, 4, 1.0, (0.51, 1.0), "wilson", "accuracy")
    none = Proportion(0, 4, 0.0, (0.0, 0.49), "wilson", "accuracy")
    assert not separated(four, none)  # disjoint Wilson intervals, but over 4 videos
    wide = GapEstimate(0.9, (0.8, 1.0), 2000, 0, "source_id", 30)
    narrow = GapEstimate(0.1, (0.0, 0.2), 2000, 0, "source_id", 30)
    assert separated(wide, narrow) and not math.isnan(wide.ci95[0])


def test_a_split_whose_videos_all_agree_is_not_a_certain_gap():
    """20 of 20 against 0 of 20 over 20 recordings: every redraw of either split is the same, so the percentile
    bootstrap says [+100, +100]; Newcombe's interval says what 20 videos can carry (Wilson(20/20) and
    Wilson(0/20) are [0.839, 1] and [0, 0.161]: lower bound 1 - sqrt(2) * 0.161 = 0.772)."""
    ids = np.array([f"r{i}" for i in range(20)])
    est = bootstrap_gap(np.ones(20, bool), np.zeros(20, bool), ids, ids, n_boot=500, seed=0)
    assert est.resampled_by == NEWCOMBE and est.n_boot == 0 and est.n_clusters == 20
    assert est.ci95[0] == pytest.approx(0.7722, abs=1e-3) and est.ci95[1] == 1.0
    one_side = bootstrap_gap(np.ones(20, bool), np.arange(20) % 2 == 0, ids, ids, n_boot=500, seed=0)
    assert one_side.resampled_by == NEWCOMBE and one_side.ci95[0] < 0.5 < one_side.ci95[1]
    mixed = bootstrap_gap(np.arange(20) % 4 != 0, np.arange(20) % 2 == 0, ids, ids, n_boot=500, seed=0)
    assert mixed.resampled_by == "source_id" and mixed.n_boot == 500

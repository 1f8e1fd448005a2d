"""Attribution statistics on hand-made arrays whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from weirdkinetics.metrics import attribution as A
from weirdkinetics.metrics.estimates import MeanEstimate
from weirdkinetics.metrics.intervals import bootstrap_mean


def _person(t: int = 2, h: int = 4, w: int = 4) -> np.ndarray:
    person = np.zeros((t, h, w), bool)
    person[:, :, :1] = True  # the left column: a quarter of every frame
    return person


def test_background_share_counts_positive_mass_outside_the_person_per_frame():
    person = _person()
    sal = np.zeros((2, 4, 4))
    sal[0][person[0]] = 1.0  # frame 0: all on the person (4 units)
    sal[1][~person[1]] = 1.0  # frame 1: all on the background (12 units)
    assert A.background_share(sal, person) == pytest.approx(0.5)  # per frame, then averaged: not 12/16
    sal[1, 0, 0] = -50.0  # negative values are not mass
    assert A.background_share(sal, person) == pytest.approx(0.5)


def test_background_share_skips_empty_frames_and_is_nan_without_mass():
    person = _person()
    sal = np.zeros((2, 4, 4))
    sal[0, 0, 3] = 2.0
    assert A.background_share(sal, person) == 1.0
    assert math.isnan(A.background_share(np.zeros((2, 4, 4)), person))
    with pytest.raises(ValueError):
        A.background_share(np.zeros((2, 4, 4)), np.zeros((2, 4, 3), bool))


def test_uniform_saliency_has_reliance_ratio_one():
    person = _person()
    share = A.background_share(np.ones((2, 4, 4)), person)
    area = A.background_area(person)
    assert share == pytest.approx(0.75) and area == pytest.approx(0.75)
    assert A.reliance_ratio(share, area) == pytest.approx(1.0)
    assert A.reliance_ratio(1.0, 0.5) == 2.0
    assert math.isnan(A.reliance_ratio(math.nan, 0.5)) and math.isnan(A.reliance_ratio(0.5, 0.0))


def test_occlusion_share():
    assert A.occlusion_share(0.1, 0.3) == pytest.approx(0.75)
    assert A.occlusion_share(-0.2, 0.3) == 1.0  # removing the person raised the score: no person part
    assert math.isnan(A.occlusion_share(-0.1, 0.0))


def test_deletion_masks_remove_the_most_salient_pixels_and_as_many_random_ones():
    sal = np.arange(2 * 4 * 5, dtype=float).reshape(2, 4, 5)  # 20 pixels a frame, all distinct
    salient, random = A.deletion_masks(sal, (0.05, 0.25, 0.5), seed=3)
    assert salient.shape == random.shape == (3, 2, 4, 5)
    assert salient.sum(axis=(2, 3)).tolist() == [[1, 1], [5, 5], [10, 10]]
    assert random.sum(axis=(2, 3)).tolist() == [[1, 1], [5, 5], [10, 10]]
    for t in range(2):  # the top 5 of each frame are its 5 largest values
        assert set(np.flatnonzero(salient[1, t])) == set(range(15, 20))
    assert (salient[0] <= salient[1]).all() and (random[0] <= random[1]).all()  # nested
    again = A.deletion_masks(sal, (0.05, 0.25, 0.5), seed=3)[1]
    assert np.array_equal(random, again)


def test_deletion_ties_are_broken_at_random_not_by_pixel_order():
    flat = np.zeros((1, 10, 10))
    salient, _ = A.deletion_masks(flat, (0.1,), seed=0)
    assert salient.sum() == 10
    assert np.flatnonzero(salient[0, 0]).tolist() != list(range(10))


def test_deletion_result_flags_maps_that_beat_random():
    good = A.deletion_result((0.1, 0.2), [0.3, 0.5], [0.1, 0.2])
    assert good.faithful and good.advantage == pytest.approx(0.25)
    bad = A.deletion_result((0.1, 0.2), [0.1, 0.1], [0.1, 0.3])
    assert not bad.faithful
    with pytest.raises(ValueError):
        A.deletion_result((0.1,), [0.1, 0.2], [0.1, 0.2])


def test_bootstrap_mean_is_seeded_and_resamples_clusters():
    values = np.array([0.1, 0.2, 0.9, 1.0, 0.5, 0.6])
    a = bootstrap_mean(values, n_boot=500, seed=1)
    b = bootstrap_mean(values, n_boot=500, seed=1)
    assert a == b and a.value == pytest.approx(values.mean()) and a.resampled_by == "value"
    assert a.ci95[0] <= a.value <= a.ci95[1]
    clusters = np.array(["s1", "s1", "s2", "s2", "s3", "s3"])
    c = bootstrap_mean(values, clusters, n_boot=500, seed=1)
    assert c.resampled_by == "source_id" and c.n_clusters == 3
    # identical values: the interval collapses onto them
    flat = bootstrap_mean(np.full(5, 0.3), n_boot=50)
    assert flat.ci95 == pytest.approx((0.3, 0.3))


def test_summarise_drops_non_finite_values_and_paired_difference_pairs_by_source():
    s = A.summarise(np.array([0.2, np.nan, 0.4]), np.array(["a", "b", "c"]), n_boot=200)
    assert s.n == 2 and s.value == pytest.approx(0.3) and s.resampled_by == "source_id"
    # 2 recordings: too few to resample, no interval (issue 22)
    assert isinstance(s, MeanEstimate) and (s.n_boot, s.n_clusters) == (0, 2) and s.ci95 == (None, None)
    empty = A.summarise(np.array([np.nan]))
    assert empty.n == 0 and empty.value is None and empty.ci95 == (None, None)
    assert empty.resampled_by == "none"
    d = A.paired_difference({"x": 0.9, "y": 0.8, "z": 0.5}, {"x": 0.4, "y": 0.3}, n_boot=200)
    assert d.n == 2 and d.value == pytest.approx(0.5)
    # one value per recording: resampling the values is resampling source_id
    assert d.resampled_by == "source_id" and d.n_clusters == 2
    assert A.intervals_disjoint(_mean(0.8, (0.7, 0.9)), _mean(0.2, (0.1, 0.3)))
    assert not A.intervals_disjoint(_mean(0.8, (0.2, 0.9)), _mean(0.2, (0.1, 0.3)))
    assert not A.intervals_disjoint(_mean(0.8, (0.7, 0.9)), empty)


def _mean(value: float, ci95: tuple[float, float]) -> MeanEstimate:
    return MeanEstimate(value, ci95, 5, 100, 0, "value", 5)


def test_random_deletion_can_keep_blocks_as_coarse_as_the_map():
    sal = np.random.default_rng(0).random((2, 8, 8))
    _, random = A.deletion_masks(sal, (0.25, 0.5), seed=1, block=(4, 4))
    # 16 of 64 pixels = exactly one of the four 4x4 blocks of each frame
    for t in range(2):
        blocks = random[0, t].reshape(2, 4, 2, 4).sum(axis=(1, 3))
        assert sorted(blocks.ravel().tolist()) == [0, 0, 0, 16]
    assert random[1].sum(axis=(1, 2)).tolist() == [32, 32]


def _record(video, split, source, share, status="ok", variant=""):
    row = {"split": split, "label": "a" if source < "s3" else "b", "background": "beach", "source_id": source}
    if variant:
        row["variant"] = variant
    return {
        "video_id": video,
        "method": "gradcam",
        "settings_key": "k",
        "settings": {},
        "status": status,
        "reason": "" if status == "ok" else "why",
        "row": row,
        "numbers": {
            "background_share": share,
            "reliance_ratio": None if share is None else share / 0.8,
            "deletion": {"advantage": 0.1, "faithful": True},
        },
    }


def test_attribution_summary_groups_pairs_and_lists_what_was_not_counted():
    records = [
        _record("s1r", "real", "s1", 0.2),
        _record("s1w", "weird", "s1", 0.6),
        _record("s2r", "real", "s2", 0.4),
        _record("s2w", "weird", "s2", 0.6),
        _record("s3r", "real", "s3", None),
        _record("s3w", "weird", "s3", 0.9, status="excluded"),
        _record("s1x", "real", "s1", 0.5, variant="swap"),
    ]
    (g,) = A.attribution_summary(records, n_boot=200)["groups"]
    assert g["rows"] == 7 and g["counted"] == 6 and g["status"] == {"ok": 6, "excluded": 1}
    assert g["not_counted"] == [
        {"video_id": "s3w", "split": "weird", "label": "b", "status": "excluded", "reason": "why"}
    ]
    assert set(g["by_split"]) == {"real", "weird", "real (swap)"}
    assert g["by_split"]["real"]["background_share"]["value"] == pytest.approx(
        0.3
    )  # the None share is skipped
    assert g["by_split"]["real"]["n"] == 3 and g["by_split"]["real"]["background_share"]["n"] == 2
    assert set(g["by_class"]) == {"a", "b"} and set(g["by_background"]) == {"beach"}
    # weird - real per recording: s1 +0.4, s2 +0.2 (s3 has no weird counted and no real share)
    assert (
        g["paired_weird_minus_real"]["value"] == pytest.approx(0.3) and g["paired_weird_minus_real"]["n"] == 2
    )
    # 3 recordings carry no claim that the maps beat random ones (issue 22: no interval under 5 clusters)
    assert not g["beats_random"] and g["overall"]["faithful"] == 6

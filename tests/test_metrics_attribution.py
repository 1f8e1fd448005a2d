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


def _score(saliency: np.ndarray, person: np.ndarray, grid=None) -> float:
    share = A.background_share(saliency, person)
    return A.background_score(share, A.background_area(person), A.person_floor(person, grid))


def _coarse_person_map(person: np.ndarray, grid: tuple[int, int, int]) -> np.ndarray:
    """A map that puts all its mass on the person as a Grad-CAM map of native size ``grid`` can: the mask
    area-pooled to the grid, brought back up trilinearly (PyTorch, as gradcam does; an independent path)."""
    import torch
    import torch.nn.functional as F

    volume = torch.tensor(person, dtype=torch.float64)[None, None]
    coarse = F.adaptive_avg_pool3d(volume, grid)
    return F.interpolate(coarse, size=person.shape, mode="trilinear", align_corners=False)[0, 0].numpy()


def test_uniform_map_scores_one_and_person_only_map_scores_zero():
    person = _person()
    assert A.background_share(np.ones((2, 4, 4)), person) == pytest.approx(0.75)  # the raw share: its area
    assert _score(np.ones((2, 4, 4)), person) == pytest.approx(1.0)
    assert _score(person.astype(float), person) == pytest.approx(0.0)
    assert _score(np.where(person, 0.0, 1.0), person) == pytest.approx(1.0 / 0.75)  # all on the background
    assert A.background_score(1.0, 0.5) == 2.0 and A.background_score(0.3, 0.8, 0.3) == 0.0
    assert math.isnan(A.background_score(math.nan, 0.5)) and math.isnan(A.background_score(0.5, 0.0))
    assert math.isnan(A.background_score(0.5, 0.4, 0.4))  # the grid cannot tell person from background


@pytest.mark.parametrize("grid", [(2, 4, 4), (1, 2, 3), (4, 8, 8), (8, 16, 16)])
def test_coarse_maps_score_zero_on_the_person_and_one_when_uniform(grid):
    person = np.zeros((8, 16, 16), bool)
    person[:, 3:13, 6:9] = True  # a narrow upright person: a coarse grid spills much of it
    person[4:, 3:13, 9:11] = True  # who moves in the second half
    floor = A.person_floor(person, grid)
    full = A.person_floor(person, person.shape)
    assert full == 0.0 and (floor > 0.05 if grid[1] < 16 else floor == pytest.approx(0.0, abs=1e-12))
    assert _score(_coarse_person_map(person, grid), person, grid) == pytest.approx(0.0, abs=1e-9)
    assert _score(np.ones(person.shape), person, grid) == pytest.approx(1.0)
    # the raw share of the best coarse map is far from 0: exactly what the floor removes
    assert A.background_share(_coarse_person_map(person, grid), person) == pytest.approx(floor)


def test_person_floor_refuses_what_it_cannot_use():
    with pytest.raises(ValueError):
        A.person_floor(np.zeros((2, 4), bool))
    with pytest.raises(ValueError):
        A.person_floor(np.ones((2, 4, 4), bool), (0, 2, 2))
    assert math.isnan(A.person_floor(np.zeros((2, 4, 4), bool), (1, 2, 2)))


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
    assert good.faithful and good.advantage == pytest.approx(0.25) and good.verdict == A.FAITHFUL
    bad = A.deletion_result((0.1, 0.2), [0.1, 0.1], [0.1, 0.3])
    assert not bad.faithful and bad.verdict == A.NOT_FAITHFUL
    with pytest.raises(ValueError):
        A.deletion_result((0.1,), [0.1, 0.2], [0.1, 0.2])


def test_deletion_needs_a_base_score_above_chance():
    # a random-weights model: every drop 0.0000 at a base score of 1/400 is never "faithful"
    flat = A.deletion_result((0.1, 0.2), [1e-5, 2e-5], [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]], 1 / 400, 1 / 400)
    assert not flat.faithful and flat.verdict == A.NOT_ASSESSABLE and "chance" in flat.reason
    # the same curves at a base score well above chance are judged
    sure = A.deletion_result((0.1, 0.2), [0.3, 0.5], [[0.1, 0.2], [0.1, 0.2], [0.1, 0.2]], 0.9, 0.2)
    assert sure.faithful and sure.base_score == 0.9 and sure.chance == 0.2
    assert not A.deletion_result((0.1,), [0.3], [[0.1]], 0.39, 0.2).faithful  # under 2 x chance


def test_deletion_needs_an_effect_above_the_noise_floor_of_random_deletions():
    # random deletions that disagree by about 0.1 among themselves: an advantage of 0.05 is noise
    noisy = [[0.0, 0.1], [0.2, 0.3], [0.1, 0.2]]
    within = A.deletion_result((0.1, 0.2), [0.2, 0.25], noisy, 0.9, 0.2)
    assert within.noise_floor == pytest.approx(2 * 0.1) and within.advantage == pytest.approx(0.075)
    assert within.verdict == A.NOT_ASSESSABLE and not within.faithful and "noise floor" in within.reason
    assert A.deletion_result((0.1, 0.2), [0.6, 0.7], noisy, 0.9, 0.2).verdict == A.FAITHFUL
    assert A.deletion_result((0.1, 0.2), [-0.5, -0.4], noisy, 0.9, 0.2).verdict == A.NOT_FAITHFUL
    # seeds that agree exactly still leave a floor: 1 % of the base score
    same = A.deletion_result((0.1,), [0.005], [[0.0], [0.0]], 0.9, 0.2)
    assert same.noise_floor == pytest.approx(0.009) and same.verdict == A.NOT_ASSESSABLE
    assert same.to_dict()["random_drops"] == ((0.0,), (0.0,))


def test_occlusion_and_deletion_below_chance_are_listed_not_counted():
    def rec(vid, method, numbers):
        return {"video_id": vid, "method": method, "settings_key": "k", "status": "ok", "reason": "",
                "row": {"split": "real", "label": "a", "source_id": vid}, "numbers": numbers}  # fmt: skip

    occ = [
        rec("sure", "occlusion", {"background_share": 0.2, "person_drop": 0.6, "background_drop": 0.1,
                                  "assessable": True}),
        rec("zero", "occlusion", {"background_share": 1.0, "person_drop": 0.0, "background_drop": 0.001,
                                  "assessable": False, "assessable_reason": "target score 0.0001 is below"}),
    ]  # fmt: skip
    (g,) = A.attribution_summary(occ, n_boot=50)["groups"]
    assert (
        g["overall"]["person_drop"]["value"] == pytest.approx(0.6) and g["overall"]["person_drop"]["n"] == 1
    )
    assert g["overall"]["not_assessable"] == 1 and g["counted"] == 2
    assert g["not_assessable"] == [
        {"video_id": "zero", "split": "real", "label": "a", "reason": "target score 0.0001 is below"}
    ]
    flat = A.deletion_result((0.1,), [0.0], [[0.0], [0.0]], 0.0025, 0.0025).to_dict()
    cam = [rec("x", "gradcam", {"background_share": 0.8, "background_score": 1.0, "deletion": flat})]
    (g,) = A.attribution_summary(cam, n_boot=50)["groups"]
    assert g["overall"]["faithful"] == 0 and g["overall"]["not_assessable"] == 1 and not g["beats_random"]
    assert g["overall"]["background_score"]["value"] == 1.0  # the map itself still counts
    assert g["overall"]["deletion_advantage"]["n"] == 0


def test_model_randomisation_rank_correlation():
    rng = np.random.default_rng(0)
    a = rng.random((2, 4, 4))
    assert A.map_rank_correlation(a, 3 * a + 1) == pytest.approx(1.0)  # same ranking, other scale
    assert A.map_rank_correlation(a, -a) == pytest.approx(-1.0)
    assert abs(A.map_rank_correlation(a, rng.random((2, 4, 4)))) < 0.5
    assert math.isnan(A.map_rank_correlation(a, np.ones((2, 4, 4))))  # a constant map has no ranking
    assert math.isnan(A.map_rank_correlation(a, a[:1]))
    assert A.randomisation_verdict(0.9) == "not explaining the model"
    assert A.randomisation_verdict(0.1) == "explains the model" and A.randomisation_verdict(None) is None


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


def test_random_deletion_is_as_coarse_as_the_map_in_space():
    sal = np.random.default_rng(0).random((2, 8, 8))
    _, random = A.deletion_masks(sal, (0.25, 0.5), seed=1, grid=(2, 2, 2))
    assert random[0].sum(axis=(1, 2)).tolist() == [16, 16] and random[1].sum(axis=(1, 2)).tolist() == [32, 32]
    # a field linear between 2x2 cell centres: every removed region is one blob around a cell's centre, never
    # pixels scattered over the frame as a per-pixel random order would give
    for t in range(2):
        assert _regions(random[0, t]) == 1


def _regions(mask: np.ndarray) -> int:
    from scipy.ndimage import label

    return int(label(mask)[1])


def test_random_deletion_stays_in_place_over_a_temporal_cell_of_the_map():
    """A map on a (1, h, w) grid is the same in every frame, so its random twin must be too: holes redrawn in
    every frame flicker, and a video network reads that flicker as motion the salient deletion never adds
    (the random baseline drawn per frame made the trained I3D's maps look unfaithful)."""
    sal = np.random.default_rng(0).random((6, 16, 16))
    _, random = A.deletion_masks(sal, (0.1, 0.3), seed=4, grid=(1, 4, 4))
    for f in range(2):
        assert all(np.array_equal(random[f, 0], random[f, t]) for t in range(6))
    # on a grid two cells long in time, what is removed changes smoothly: neighbouring frames share most pixels
    sal = np.random.default_rng(0).random((16, 16, 16))
    _, moving = A.deletion_masks(sal, (0.3,), seed=4, grid=(2, 4, 4))
    shared = [(moving[0, t] & moving[0, t + 1]).sum() / moving[0, t].sum() for t in range(15)]
    assert min(shared) > 0.6  # redrawn independently in every frame, about 0.3 would be shared
    assert not np.array_equal(moving[0, 0], moving[0, 15])


def test_random_field_is_brought_up_like_the_map():
    field = A.random_field((4, 8, 8), (2, 2, 2), seed=0)
    cells = np.random.default_rng(0).random((2, 2, 2))
    assert field.shape == (4, 8, 8)
    # PyTorch's trilinear align_corners=False: the outermost samples clamp to the corner cells
    assert field[0, 0, 0] == pytest.approx(cells[0, 0, 0]) and field[-1, -1, -1] == pytest.approx(
        cells[1, 1, 1]
    )
    assert A.random_field((3, 5, 5), None, seed=2).shape == (3, 5, 5)


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
            "background_score": None if share is None else share / 0.8,
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


def test_tie_order_and_random_map_are_independent_draws():
    """One seed gives the tie order and the random map through two independent streams. Drawn from one stream, a
    flat map's salient order (its ties, lowest tie number first) was the random order reversed (highest random
    value first, the same numbers): the two curves removed disjoint pixels, never a random overlap."""
    flat = np.zeros((2, 40, 40))
    salient, random = A.deletion_masks(flat, (0.3,), seed=5)
    removed = salient[0, 0].sum()
    overlap = (salient[0, 0] & random[0, 0]).sum() / removed
    assert 0.2 < overlap < 0.4  # independent draws: about 0.3 of one removal lies in the other (was 0)
    ties = np.random.default_rng(5).random(1600)
    field = A.random_field((2, 40, 40), None, np.random.SeedSequence(5).spawn(2)[1])
    assert not np.allclose(field[0].ravel(), ties)

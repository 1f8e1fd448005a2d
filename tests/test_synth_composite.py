"""Compositing is pure: exact results on synthetic frames and masks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from weirdkinetics.synth import composite as C

cv2 = pytest.importorskip("cv2")


def _frames(t=3, h=8, w=10, value=200):
    return np.full((t, h, w, 3), value, np.uint8)


def _box_mask(t=3, h=8, w=10, box=(2, 6, 3, 7)):
    m = np.zeros((t, h, w), np.float32)
    y0, y1, x0, x1 = box
    m[:, y0:y1, x0:x1] = 1.0
    return m


# -- masks ---------------------------------------------------------------------------------------------


def test_coverage_counts_pixels_at_threshold():
    m = np.zeros((2, 4, 5), np.float32)
    m[0, :2] = 0.5  # 10 of 20 pixels, exactly at the threshold
    m[1, 0, 0] = 0.49
    np.testing.assert_array_equal(C.mask_coverage(m, 0.5), [0.5, 0.0])
    np.testing.assert_array_equal(C.mask_coverage(m > 0.4), [0.5, 0.05])
    assert C.mask_coverage(np.zeros((0, 4, 5))).shape == (0,)


def test_feather_sigma_zero_is_the_hard_mask():
    m = _box_mask()
    m[0, 0, 0] = 0.7
    m[0, 1, 1] = 0.3
    alpha = C.feather_alpha(m, sigma=0)
    assert alpha.dtype == np.float32
    np.testing.assert_array_equal(alpha, (m >= 0.5).astype(np.float32))


def test_feather_matches_scipy_gaussian_of_the_binarised_mask():
    rng = np.random.default_rng(0)
    m = rng.random((2, 20, 30)).astype(np.float32)
    alpha = C.feather_alpha(m, sigma=2.0)
    # same kernel radius (4 sigma), replicated borders = scipy's 'nearest'
    ref = np.stack(
        [ndimage.gaussian_filter((x >= 0.5).astype(np.float64), 2.0, mode="nearest", truncate=4.0) for x in m]
    )
    np.testing.assert_allclose(alpha, ref, atol=1e-5)
    assert alpha.min() >= 0 and alpha.max() <= 1


def test_feather_keeps_interior_and_far_background():
    m = _box_mask(1, 40, 40, (10, 30, 10, 30))
    alpha = C.feather_alpha(m, sigma=1.0)
    assert alpha[0, 20, 20] == pytest.approx(1.0, abs=1e-6)
    assert alpha[0, 0, 0] == pytest.approx(0.0, abs=1e-6)
    assert 0.3 < alpha[0, 10, 20] < 0.7  # the edge is soft


# -- backgrounds ---------------------------------------------------------------------------------------


def test_to_rgb_conversions():
    gray = np.arange(6, dtype=np.uint8).reshape(2, 3)
    out = C.to_rgb(gray)
    assert out.shape == (2, 3, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., 0], gray)
    np.testing.assert_array_equal(out[..., 2], gray)
    np.testing.assert_array_equal(C.to_rgb(gray[..., None]), out)
    rgba = np.dstack([out, np.full((2, 3), 9, np.uint8)])
    np.testing.assert_array_equal(C.to_rgb(rgba), out)
    np.testing.assert_array_equal(C.to_rgb(gray.astype(np.uint16) << 8), out)
    np.testing.assert_array_equal(C.to_rgb(np.ones((2, 3, 3), np.float32)), np.full((2, 3, 3), 255, np.uint8))
    with pytest.raises(ValueError, match="not an image"):
        C.to_rgb(np.zeros((2, 3, 2), np.uint8))


def test_fit_same_size_is_identity():
    img = np.random.default_rng(1).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    np.testing.assert_array_equal(C.fit_background(img, 6, 8), img)


def test_fit_wider_image_is_centre_cropped_without_resampling():
    img = np.random.default_rng(2).integers(0, 256, (6, 20, 3), dtype=np.uint8)
    np.testing.assert_array_equal(C.fit_background(img, 6, 8), img[:, 6:14])
    tall = np.random.default_rng(3).integers(0, 256, (21, 8, 3), dtype=np.uint8)
    np.testing.assert_array_equal(C.fit_background(tall, 6, 8), tall[7:13])


def test_fit_scales_to_cover_then_crops():
    # a 2x2 block image, half the size of the target: every block becomes 2x2 pixels exactly
    small = np.array([[[10, 20, 30], [40, 50, 60]], [[70, 80, 90], [100, 110, 120]]], np.uint8)
    big = np.repeat(np.repeat(small, 4, axis=0), 4, axis=1)  # (8, 8) made of 4x4 blocks
    # shrink by 2 with INTER_AREA: blocks stay flat
    np.testing.assert_array_equal(C.fit_background(big, 4, 4), np.repeat(np.repeat(small, 2, 0), 2, 1))
    # cover a wide target from a square: scale to width, crop rows in the centre
    out = C.fit_background(big, 2, 4)
    assert out.shape == (2, 4, 3)
    np.testing.assert_array_equal(out, np.repeat(np.repeat(small, 2, 0), 2, 1)[1:3])
    # enlarging: a flat image stays flat
    flat = np.full((3, 5, 3), 77, np.uint8)
    np.testing.assert_array_equal(C.fit_background(flat, 30, 40), np.full((30, 40, 3), 77, np.uint8))


def test_fit_grayscale_image_gives_three_equal_channels():
    gray = np.tile(np.arange(16, dtype=np.uint8) * 10, (16, 1))
    out = C.fit_background(gray, 8, 16)
    assert out.shape == (8, 16, 3)
    np.testing.assert_array_equal(out[..., 0], out[..., 1])
    np.testing.assert_array_equal(out[..., 0], gray[4:12])


def test_fit_background_video_loops_and_cuts():
    frames = np.stack([np.full((4, 4, 3), i, np.uint8) for i in range(3)])
    out = C.fit_background_video(frames, 7, 4, 4)
    np.testing.assert_array_equal(out[:, 0, 0, 0], [0, 1, 2, 0, 1, 2, 0])
    np.testing.assert_array_equal(C.fit_background_video(frames, 2, 4, 4)[:, 0, 0, 0], [0, 1])


# -- variants ------------------------------------------------------------------------------------------


def test_swap_exact_blend():
    frames = _frames(value=200)
    back = np.full((8, 10, 3), 100, np.uint8)
    alpha = np.zeros((3, 8, 10), np.float32)
    alpha[:, 0, 0] = 1.0
    alpha[:, 0, 1] = 0.25
    out = C.swap(frames, alpha, back)
    assert out.dtype == np.uint8 and out.shape == frames.shape
    assert (out[:, 0, 0] == 200).all()
    assert (out[:, 0, 1] == 125).all()  # 0.25 * 200 + 0.75 * 100
    assert (out[:, 1:] == 100).all()


def test_swap_with_video_background_uses_frame_t():
    frames = _frames(t=3, value=0)
    back = np.stack([np.full((8, 10, 3), 10 * (t + 1), np.uint8) for t in range(3)])
    out = C.swap(frames, np.zeros((3, 8, 10), np.float32), back)
    np.testing.assert_array_equal(out[:, 0, 0, 0], [10, 20, 30])


def test_swap_rejects_unfitted_background():
    with pytest.raises(ValueError, match="fit it first"):
        C.swap(_frames(), np.zeros((3, 8, 10), np.float32), np.zeros((9, 10, 3), np.uint8))
    with pytest.raises(ValueError, match="does not match"):
        C.swap(_frames(), np.zeros((3, 8, 9), np.float32), np.zeros((8, 10, 3), np.uint8))


def test_person_only_flat_colour_outside():
    frames = np.random.default_rng(4).integers(0, 256, (2, 8, 10, 3), dtype=np.uint8)
    m = _box_mask(2)
    out = C.person_only(frames, m, colour=(1, 2, 3))
    inside = m.astype(bool)
    np.testing.assert_array_equal(out[inside], frames[inside])
    np.testing.assert_array_equal(out[~inside], np.tile([1, 2, 3], ((~inside).sum(), 1)))


def test_hole_masks_grow_in_space_and_time_never_shrink():
    m = np.zeros((5, 11, 11), np.float32)
    m[2, 5, 5] = 1
    hole = C.hole_masks(m, dilate_px=2, hole_frames=1)
    assert hole.dtype == bool
    assert hole[2, 5, 3] and not hole[2, 5, 2] and hole[2, 3, 5]
    # grown one frame either side, not further
    assert hole[1, 5, 5] and hole[3, 5, 5] and not hole[0].any() and not hole[4].any()
    np.testing.assert_array_equal(C.hole_masks(m, dilate_px=0), m >= 0.5)
    # a one-frame dropout (the old temporal median erased exactly this) stays a hole
    flicker = np.ones((3, 4, 4), np.float32)
    flicker[1] = 0
    assert C.hole_masks(flicker, dilate_px=0, hole_frames=1).all()
    assert (C.hole_masks(flicker, dilate_px=0) == (flicker >= 0.5)).all()


def test_relative_dilation_follows_the_frame_size():
    assert C.relative_dilation(64, 64) == 1
    assert C.relative_dilation(256, 340) == 4
    assert C.relative_dilation(1080, 1920) == 16
    assert C.relative_dilation(8, 8) == 1


def _scene(count: int = 12, height: int = 32, width: int = 40, seed: int = 0) -> np.ndarray:
    """A textured still scene, the same in every frame: uint8 (count, H, W, 3)."""
    rng = np.random.default_rng(seed)
    texture = rng.integers(0, 256, (height // 4, width // 4, 3)).astype(np.uint8)
    image = np.kron(texture, np.ones((4, 4, 1), np.uint8))
    return np.repeat(image[None], count, axis=0)


def test_background_only_recovers_the_scene_a_walker_uncovers():
    """Still camera, a person crossing: every hidden pixel is shown by another frame, so the result is
    the scene itself, exactly, with no trace of the person's shape (the leak the old fill left)."""
    truth = _scene()
    frames, masks = truth.copy(), np.zeros(truth.shape[:3], np.float32)
    for t in range(len(frames)):
        x = 2 + 3 * t
        masks[t, 8:24, x : x + 5] = 1
        frames[t, 8:24, x : x + 5] = (255, 0, 0)
    made = C.background_only(frames, masks, dilate_px=1, hole_frames=0)
    assert made.camera == "still" and made.recovered == 1.0
    np.testing.assert_array_equal(made.frames, truth)


def test_background_only_aligns_a_moving_camera():
    """The camera pans 1 px a frame over a textured scene; a person stands still in the middle of the
    frame. The hidden part is shown by other frames once they are aligned, so the fill matches the scene
    that was there (up to interpolation), not a smear."""
    rng = np.random.default_rng(3)
    wide = np.kron(rng.integers(0, 256, (10, 20, 3)).astype(np.uint8), np.ones((4, 4, 1), np.uint8))
    truth = np.stack([wide[:, t : t + 48] for t in range(16)])  # (16, 40, 48, 3), panning right
    frames, masks = truth.copy(), np.zeros(truth.shape[:3], np.float32)
    masks[:, 12:30, 20:26] = 1
    frames[masks.astype(bool)] = (0, 255, 0)
    made = C.background_only(frames, masks, dilate_px=1, hole_frames=0)
    assert made.camera.startswith("moving") and made.recovered > 0.9
    hole = C.hole_masks(masks, dilate_px=1)
    error = np.abs(made.frames.astype(int) - truth.astype(int))[hole].mean()
    naive = np.abs(frames.astype(int) - truth.astype(int))[hole].mean()
    assert error < 0.1 * naive, (error, naive)
    np.testing.assert_array_equal(made.frames[~hole], frames[~hole])


def test_background_only_inpaints_only_what_no_frame_shows():
    truth = _scene(count=4)
    truth[...] = (30, 120, 200)
    frames, person = truth.copy(), _box_mask(4, 32, 40, (8, 16, 12, 20))
    frames[person.astype(bool)] = (250, 0, 0)
    made = C.background_only(frames, person, dilate_px=2)
    hole = C.hole_masks(person, dilate_px=2, hole_frames=0)
    np.testing.assert_array_equal(made.frames[~hole], frames[~hole])
    assert made.recovered == 0.0  # the person never moves: nothing to recover, all inpainted
    # Telea's fill of a flat scene is flat up to rounding, nowhere near red, and the same in every frame
    fill = made.frames[hole].astype(int)
    assert np.abs(fill - np.array([30, 120, 200])).max() <= 2
    np.testing.assert_array_equal(made.frames[0], made.frames[3])


def test_background_only_without_person_is_unchanged():
    frames = np.random.default_rng(5).integers(0, 256, (2, 8, 10, 3), dtype=np.uint8)
    made = C.background_only(frames, np.zeros((2, 8, 10), np.float32))
    np.testing.assert_array_equal(made.frames, frames)
    assert made.hole == 0.0


def test_silhouette_is_the_hole_alone():
    holes = np.zeros((2, 4, 5), bool)
    holes[1, 1:3, 2] = True
    out = C.silhouette(holes, colour=(128, 128, 128), ink=(10, 20, 30))
    np.testing.assert_array_equal(out[holes], np.tile([10, 20, 30], (2, 1)))
    assert (out[~holes] == 128).all() and out.dtype == np.uint8


def test_shift_person_moves_frames_and_alpha_by_whole_pixels():
    frames = np.zeros((1, 6, 6, 3), np.uint8)
    alpha = np.zeros((1, 6, 6), np.float32)
    frames[0, 1, 1], alpha[0, 1, 1] = 200, 1
    moved, a = C.shift_person(frames, alpha, 2, 3)
    assert a[0, 3, 4] == 1 and a.sum() == 1 and (moved[0, 3, 4] == 200).all()
    assert C.centre_of_mass(alpha) == (1.0, 1.0) and C.centre_of_mass(np.zeros((1, 2, 2))) is None
    _, out = C.shift_person(frames, alpha, -4, 0)  # off the frame: gone, nothing wraps round
    assert out.sum() == 0


def test_static_background_and_static_person():
    frames = np.stack([np.full((8, 10, 3), 50 + t, np.uint8) for t in range(4)])
    masks = np.zeros((4, 8, 10), np.float32)
    masks[1, :2] = 1
    masks[2, :1] = 1
    image = np.full((8, 10, 3), 9, np.uint8)
    scuba = C.static_background(frames, masks, image)
    np.testing.assert_array_equal(scuba, C.swap(frames, masks, image))
    scufo = C.static_person(frames, masks, image, frame_index=1)
    assert scufo.shape == frames.shape
    for t in range(4):
        np.testing.assert_array_equal(scufo[t], scuba[1])
    np.testing.assert_array_equal(C.static_person(frames, masks, image, frame_index=2)[3], scuba[2])
    with pytest.raises(ValueError, match="one image"):
        C.static_background(frames, masks, np.zeros((4, 8, 10, 3), np.uint8))
    with pytest.raises(ValueError, match="outside"):
        C.static_person(frames, masks, image, frame_index=4)


def test_static_frame_index_is_a_seeded_draw_among_frames_with_the_person():
    coverage = np.array([0.0, 0.2, 0.0, 0.05, 0.9, 0.1])
    draws = [C.static_frame_index(coverage, np.random.default_rng(s)) for s in range(200)]
    assert set(draws) == {1, 3, 4, 5}  # never an empty frame; not always the fullest (StillMix)
    assert max(draws.count(i) for i in (1, 3, 4, 5)) < 80
    again = [C.static_frame_index(coverage, np.random.default_rng(s)) for s in range(200)]
    assert draws == again
    assert C.static_frame_index(np.zeros(3), np.random.default_rng(0)) in (0, 1, 2)


# -- quality -------------------------------------------------------------------------------------------


def test_quality_rule():
    rule = C.QualityRule(min_frame_coverage=0.01, min_person_frames=0.5, max_mean_coverage=0.9)
    assert C.QualityRule().max_mean_coverage == 0.5  # a "person" over half the frame is not a person
    good = C.mask_quality(np.array([0.2, 0.0, 0.3, 0.02]), rule)
    assert good.ok and good.reason == "" and good.person_frames == 0.75
    assert good.mean_coverage == pytest.approx(0.13)
    sparse = C.mask_quality(np.array([0.2, 0.0, 0.005, 0.0]), rule)
    assert not sparse.ok and "25% of frames" in sparse.reason
    full = C.mask_quality(np.array([0.95, 0.99]), rule)
    assert not full.ok and "covers" in full.reason
    empty = C.mask_quality(np.zeros(0), rule)
    assert not empty.ok and empty.reason == "no frames"
    # exactly half the frames is enough
    assert C.mask_quality(np.array([0.01, 0.0]), rule).ok
    with pytest.raises(ValueError, match="fraction"):
        C.QualityRule(min_person_frames=1.5)

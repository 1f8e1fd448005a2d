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


def test_inpaint_mask_dilates():
    m = np.zeros((1, 11, 11), np.float32)
    m[0, 5, 5] = 1
    hole = C.inpaint_mask(m, dilate_px=2)
    assert hole.dtype == np.uint8 and set(np.unique(hole)) == {0, 255}
    assert hole[0, 5, 3] == 255 and hole[0, 5, 2] == 0 and hole[0, 3, 5] == 255
    np.testing.assert_array_equal(C.inpaint_mask(m, dilate_px=0)[0] > 0, m[0] > 0)


@pytest.mark.parametrize("work_side", [None, 8])
def test_background_only_fills_hole_from_surroundings_and_keeps_the_rest(work_side):
    # a uniform scene with a "person" of another colour: the fill must recover the scene's colour
    frames = np.zeros((2, 24, 32, 3), np.uint8)
    frames[...] = (30, 120, 200)
    noisy = frames.copy()
    noisy[:, :2, :2] = (1, 2, 3)  # a marker outside the hole, must survive
    person = _box_mask(2, 24, 32, (8, 16, 12, 20))
    noisy[person.astype(bool)] = (250, 0, 0)
    out = C.background_only(noisy, person, dilate_px=2, work_side=work_side)
    hole = C.inpaint_mask(person, dilate_px=2) > 0
    np.testing.assert_array_equal(out[~hole], noisy[~hole])
    # Telea's gradient-weighted fill of a flat scene is flat up to rounding (+-2 levels), nowhere near red
    fill = out[person.astype(bool)].astype(int)
    assert np.abs(fill - np.array([30, 120, 200])).max() <= 2


def test_background_only_without_person_is_unchanged():
    frames = np.random.default_rng(5).integers(0, 256, (2, 8, 10, 3), dtype=np.uint8)
    np.testing.assert_array_equal(C.background_only(frames, np.zeros((2, 8, 10), np.float32)), frames)
    with pytest.raises(ValueError, match="inpainting method"):
        C.background_only(frames, np.ones((2, 8, 10), np.float32), method="magic")


def test_static_background_and_static_person():
    frames = np.stack([np.full((8, 10, 3), 50 + t, np.uint8) for t in range(4)])
    masks = np.zeros((4, 8, 10), np.float32)
    masks[1, :2] = 1  # frame 1 has the most person
    masks[2, :1] = 1
    image = np.full((8, 10, 3), 9, np.uint8)
    scuba = C.static_background(frames, masks, image)
    np.testing.assert_array_equal(scuba, C.swap(frames, masks, image))
    assert C.static_frame_index(C.mask_coverage(masks)) == 1
    scufo = C.static_person(frames, masks, image)
    assert scufo.shape == frames.shape
    for t in range(4):
        np.testing.assert_array_equal(scufo[t], scuba[1])
    np.testing.assert_array_equal(C.static_person(frames, masks, image, frame_index=2)[3], scuba[2])
    with pytest.raises(ValueError, match="one image"):
        C.static_background(frames, masks, np.zeros((4, 8, 10, 3), np.uint8))
    with pytest.raises(ValueError, match="outside"):
        C.static_person(frames, masks, image, frame_index=4)


def test_static_frame_index_ties_go_to_the_first():
    assert C.static_frame_index(np.array([0.1, 0.3, 0.3])) == 1


# -- quality -------------------------------------------------------------------------------------------


def test_quality_rule():
    rule = C.QualityRule(min_frame_coverage=0.01, min_person_frames=0.5, max_mean_coverage=0.9)
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

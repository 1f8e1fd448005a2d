"""The demo's renderer: shapes, the true mask, determinism, and that only the motion tells the classes apart."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from weirdkinetics.demo.classes import DEMO_BACKGROUNDS, DEMO_CLASSES
from weirdkinetics.demo.render import (
    BACKGROUND_NAMES,
    render_actor,
    render_background,
    render_video,
    sample_background,
    sample_motion,
)

T, H, W, FPS = 24, 64, 64, 15.0


def _render(action: str, background: str, seed: int, frames: int = T):
    rng = np.random.default_rng(seed)
    motion = sample_motion(action, rng, H, W, frames / FPS)
    scene = sample_background(background, rng, frames / FPS)
    return motion, scene, render_video(motion, scene, frames, H, W, FPS)


@pytest.mark.parametrize("action", DEMO_CLASSES)
def test_video_shapes_and_mask_matches_the_pixels(action):
    motion, scene, (frames, mask) = _render(action, DEMO_BACKGROUNDS[action], seed=3)
    assert frames.dtype == np.uint8 and frames.shape == (T, H, W, 3)
    assert mask.dtype == bool and mask.shape == (T, H, W)
    background = render_background(scene, T, H, W, FPS)
    colours, actor_mask = render_actor(motion, T, H, W, FPS)
    np.testing.assert_array_equal(actor_mask, mask)
    # outside the mask: exactly the background; inside: exactly the actor's paint
    np.testing.assert_array_equal(frames[~mask], background[~mask])
    np.testing.assert_array_equal(frames[mask], colours[mask])
    paints = {tuple(np.array(c).astype(np.uint8)) for c in (motion.shirt, motion.pants, motion.skin)}
    assert {tuple(p) for p in np.unique(frames[mask], axis=0)} <= paints
    # the actor is visible in every frame, small enough to leave most of the frame to the background
    share = mask.reshape(T, -1).mean(1)
    assert (share > 0.02).all() and (share < 0.25).all()


@pytest.mark.parametrize("action", DEMO_CLASSES)
def test_actor_stays_inside_the_frame(action):
    for seed in range(8):
        _, _, (_, mask) = _render(action, "snow", seed, frames=48)
        # nothing cut off at the left, right or bottom edge (a high jump may touch the top)
        assert not mask[:, :, 0].any() and not mask[:, :, -1].any() and not mask[:, -1, :].any(), seed


def test_rendering_is_a_function_of_the_parameters():
    _, _, (a, mask_a) = _render("walking", "kitchen", seed=5)
    _, _, (b, mask_b) = _render("walking", "kitchen", seed=5)
    _, _, (c, mask_c) = _render("walking", "kitchen", seed=6)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(mask_a, mask_b)
    assert not np.array_equal(mask_a, mask_c) and not np.array_equal(a, c)


def test_actor_looks_the_same_in_every_class():
    # one rng state -> the same size, ground and colours whatever the motion: only the motion differs
    looks = set()
    for action in DEMO_CLASSES:
        m = sample_motion(action, np.random.default_rng(11), H, W)
        looks.add((m.height_px, m.ground_y, m.facing, m.shirt, m.pants, m.skin))
    assert len(looks) == 1


def test_motions_differ_between_classes():
    # the silhouettes of one recording's parameters under different motions are different videos
    masks = {}
    for action in DEMO_CLASSES:
        m = dataclasses.replace(
            sample_motion(action, np.random.default_rng(2), H, W), center_x=W / 2, walk_speed=0.0
        )
        masks[action] = render_actor(m, T, H, W, FPS)[1]
    for i, a in enumerate(DEMO_CLASSES):
        for b in DEMO_CLASSES[i + 1 :]:
            assert (masks[a] != masks[b]).mean() > 0.01, (a, b)
    # and each motion moves: the silhouette changes over time
    for action, mask in masks.items():
        assert (mask[1:] != mask[:-1]).any(axis=(1, 2)).mean() > 0.5, action


def test_backgrounds_are_distinct_in_colour():
    # the shortcut must be easy: a nearest-mean-colour rule separates the five scenes
    means = {name: [] for name in BACKGROUND_NAMES}
    for seed in range(6):
        for name in BACKGROUND_NAMES:
            frames = render_background(sample_background(name, np.random.default_rng(seed)), 4, H, W, FPS)
            means[name].append(frames.reshape(-1, 3).mean(0))
    centres = {name: np.mean(v[:3], 0) for name, v in means.items()}
    for name, values in means.items():
        for value in values[3:]:
            nearest = min(centres, key=lambda c: np.linalg.norm(centres[c] - value))
            assert nearest == name


def test_background_drifts_and_animates():
    frames = render_background(sample_background("snow", np.random.default_rng(0)), T, H, W, FPS)
    assert not np.array_equal(frames[0], frames[-1])


def test_unknown_names_are_refused_with_the_choices():
    with pytest.raises(ValueError, match="jumping"):
        sample_motion("dancing", np.random.default_rng(0))
    with pytest.raises(ValueError, match="beach"):
        sample_background("moon", np.random.default_rng(0))

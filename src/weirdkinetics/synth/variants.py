"""The five out-of-context variants: names, what each needs, and each one's composition (pure).

A variant is one row of ``TABLE``: its description, whether it needs a new background (and whether one
still image or a video), and a function that composes its frames from the source frames, the person masks
and that background, over ``composite``'s array functions. No IO: the pipeline (``generate``) decodes,
segments, picks the background and encodes around it.

Adding a variant is adding a row (and, for a new kind of picture, a function in ``composite``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from weirdkinetics.errors import UnknownNameError, did_you_mean
from weirdkinetics.synth import composite
from weirdkinetics.synth.options import SynthOptions


@dataclass(frozen=True)
class Scene:
    """What a composition needs beside frames, masks and background. anchor: (y, x) where the donor's
    removed person stood (swaps place the person there, HAT's centre-of-mass rule), None to leave the person
    where they are; rng: SCUFO's frame draw (seeded per source video); exact: the masks are exact (the
    demo's true masks), so background-only may recover a pixel from any one frame that shows it."""

    anchor: tuple[float, float] | None = None
    rng: np.random.Generator | None = None
    exact: bool = False


Composed = tuple[np.ndarray, dict[str, str]]
Composer = Callable[[np.ndarray, np.ndarray, "np.ndarray | None", SynthOptions, Scene], Composed]


def removal(
    frames: np.ndarray, masks: np.ndarray, options: SynthOptions, exact: bool = False
) -> composite.Removal:
    """The person removed (``composite.background_only`` with ``options``' hole): frames and how they were
    made. frames: uint8 (T, H, W, 3); masks: float32 (T, H, W); exact: true masks (a pixel shown by any
    one frame is recovered; a segmenter's needs ``options.plate_min_seen`` of the frames). Also the donor
    backgrounds' recipe."""
    o = options
    margin = o.dilation(*frames.shape[1:3])
    return composite.background_only(
        frames, masks, o.threshold, dilate_px=margin, hole_frames=o.hole_frames, radius=o.inpaint_radius,
        min_seen=0.0 if exact else o.plate_min_seen,
    )  # fmt: skip


def remove_person(
    frames: np.ndarray, masks: np.ndarray, options: SynthOptions, exact: bool = False
) -> np.ndarray:
    """``removal``'s frames only: uint8 (T, H, W, 3)."""
    return removal(frames, masks, options, exact).frames


def _alpha(masks: np.ndarray, o: SynthOptions) -> np.ndarray:
    return composite.feather_alpha(masks, min(o.feather_sigma, 0.5), o.threshold)


def _placed(frames, masks, alpha, o, scene):
    """The person moved so their centre of mass lands on ``scene.anchor`` (whole pixels); the shift is
    returned as a note."""
    here = composite.centre_of_mass(masks, o.threshold)
    if scene.anchor is None or here is None:
        return frames, alpha, {}
    dy, dx = round(scene.anchor[0] - here[0]), round(scene.anchor[1] - here[1])
    frames, alpha = composite.shift_person(frames, alpha, dy, dx)
    return frames, alpha, {"person_shift": f"{dy},{dx}"}


def _swap(frames, masks, background, o, scene):
    frames, alpha, notes = _placed(frames, masks, _alpha(masks, o), o, scene)
    return composite.swap(frames, alpha, background), notes


def _person_only(frames, masks, background, o, scene):
    hard = composite.feather_alpha(masks, 0.0, o.threshold)
    return composite.person_only(frames, hard, o.colour), {}


def _background_only(frames, masks, background, o, scene):
    made = removal(frames, masks, o, scene.exact)
    return made.frames, {
        "camera": made.camera,
        "recovered": f"{made.recovered:.4f}",
        "hole": f"{made.hole:.4f}",
    }


def _silhouette(frames, masks, background, o, scene):
    holes = composite.hole_masks(masks, o.threshold, o.dilation(*frames.shape[1:3]), o.hole_frames)
    return composite.silhouette(holes, o.colour), {"hole": f"{holes.mean():.4f}"}


def _static_background(frames, masks, background, o, scene):
    return composite.static_background(frames, _alpha(masks, o), background), {}


def _static_person(frames, masks, background, o, scene):
    alpha = _alpha(masks, o)
    rng = scene.rng if scene.rng is not None else np.random.default_rng(0)
    coverage = composite.mask_coverage(masks, o.threshold)
    frame = composite.static_frame_index(coverage, rng, o.quality.min_frame_coverage)
    return composite.static_person(frames, alpha, background, frame), {"frozen_frame": str(frame)}


@dataclass(frozen=True)
class Variant:
    """One derived dataset. needs_background: the pipeline picks a new background for it; still: that
    background is one image uint8 (H, W, 3) (else a video (T, H, W, 3) or an image standing for one)."""

    name: str
    description: str
    compose: Composer
    needs_background: bool = False
    still: bool = False


TABLE: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant(
            "swap",
            "the person on a new video background (a library video, or another class's background-only "
            "video with the person placed where its person stood)",
            _swap,
            needs_background=True,
        ),
        Variant(
            "person-only",
            "everything outside the hard person mask at the normalisation mean colour (HAT human-only)",
            _person_only,
        ),
        Variant(
            "background-only",
            "the person removed, the hole filled from the frames that show it (camera-aligned clean "
            "plate), inpainted only where none does (HAT background-only)",
            _background_only,
        ),
        Variant(
            "silhouette",
            "background-only's hole alone, dark on the mean colour: the leak test (the removed person's "
            "shape and motion without the scene)",
            _silhouette,
        ),
        Variant(
            "static-background",
            "the moving person on one still background image (SCUBA)",
            _static_background,
            needs_background=True,
            still=True,
        ),
        Variant(
            "static-person",
            "one seeded random frame of the static-background video repeated over time (SCUFO, StillMix)",
            _static_person,
            needs_background=True,
            still=True,
        ),
    )
}
VARIANTS: dict[str, str] = {name: v.description for name, v in TABLE.items()}
NEEDS_BACKGROUND: tuple[str, ...] = tuple(name for name, v in TABLE.items() if v.needs_background)


_DEFAULTS = SynthOptions()  # frozen: safe to share as the default


def check_variant(variant: str) -> None:
    """Raise ``UnknownNameError`` (with close names and the list) unless ``variant`` is in ``VARIANTS``."""
    if variant in VARIANTS:
        return
    hint = did_you_mean(variant, VARIANTS, n=2)
    raise UnknownNameError(f"Unknown variant '{variant}'.{hint} Variants: {', '.join(VARIANTS)}")


def compose_with_notes(
    variant: str,
    frames: np.ndarray,
    masks: np.ndarray,
    background: np.ndarray | None,
    options: SynthOptions = _DEFAULTS,
    scene: Scene = Scene(),
) -> Composed:
    """``compose`` plus what the composition found, as manifest columns (e.g. background-only's
    ``camera`` and ``recovered`` fraction, SCUFO's ``frozen_frame``, a swap's ``person_shift``)."""
    if variant not in TABLE:
        raise ValueError(f"unknown variant {variant!r}")
    spec = TABLE[variant]
    if spec.needs_background and background is None:
        raise ValueError(f"variant '{variant}' needs a background")
    return spec.compose(frames, masks, background, options, scene)


def compose(
    variant: str,
    frames: np.ndarray,
    masks: np.ndarray,
    background: np.ndarray | None,
    options: SynthOptions = _DEFAULTS,
    scene: Scene = Scene(),
) -> np.ndarray:
    """The variant's frames (pure). frames: uint8 (T, H, W, 3); masks: float32 (T, H, W);
    background: fitted uint8 (H, W, 3) or (T, H, W, 3) for the variants that need one, else None.
    Returns uint8 (T, H, W, 3)."""
    return compose_with_notes(variant, frames, masks, background, options, scene)[0]

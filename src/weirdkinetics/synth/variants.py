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

Composer = Callable[[np.ndarray, np.ndarray, "np.ndarray | None", SynthOptions], np.ndarray]


def remove_person(frames: np.ndarray, masks: np.ndarray, options: SynthOptions) -> np.ndarray:
    """The person inpainted away (``composite.background_only`` with ``options``' hole and inpainting).

    frames: uint8 (T, H, W, 3); masks: float32 (T, H, W) -> uint8 (T, H, W, 3). Also the donor backgrounds'
    recipe (``backgrounds.DonorBackgrounds``)."""
    o = options
    return composite.background_only(
        frames, masks, o.threshold, dilate_px=o.dilate_px, radius=o.inpaint_radius, work_side=o.inpaint_side
    )


def _alpha(masks: np.ndarray, o: SynthOptions) -> np.ndarray:
    return composite.feather_alpha(masks, o.feather_sigma, o.threshold)


def _swap(frames, masks, background, o):
    return composite.swap(frames, _alpha(masks, o), background)


def _person_only(frames, masks, background, o):
    return composite.person_only(frames, _alpha(masks, o), o.colour)


def _background_only(frames, masks, background, o):
    return remove_person(frames, masks, o)


def _static_background(frames, masks, background, o):
    return composite.static_background(frames, _alpha(masks, o), background)


def _static_person(frames, masks, background, o):
    alpha = _alpha(masks, o)
    frame = composite.static_frame_index(composite.mask_coverage(masks, o.threshold))
    return composite.static_person(frames, alpha, background, frame)


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
            "the person on a new background (library image/video, or another class's background-only video)",
            _swap,
            needs_background=True,
        ),
        Variant(
            "person-only",
            "everything outside the person replaced by a flat colour (HAT human-only)",
            _person_only,
        ),
        Variant(
            "background-only",
            "the person removed, the hole filled with OpenCV inpainting (HAT background-only)",
            _background_only,
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
            "one frame of the static-background video repeated over time (SCUFO)",
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


def compose(
    variant: str,
    frames: np.ndarray,
    masks: np.ndarray,
    background: np.ndarray | None,
    options: SynthOptions = _DEFAULTS,
) -> np.ndarray:
    """The variant's frames (pure). frames: uint8 (T, H, W, 3); masks: float32 (T, H, W) smoothed;
    background: fitted uint8 (H, W, 3) or (T, H, W, 3) for the variants that need one, else None.
    Returns uint8 (T, H, W, 3)."""
    if variant not in TABLE:
        raise ValueError(f"unknown variant {variant!r}")
    spec = TABLE[variant]
    if spec.needs_background and background is None:
        raise ValueError(f"variant '{variant}' needs a background")
    return spec.compose(frames, masks, background, options)

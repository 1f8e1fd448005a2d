"""Pure compositing over arrays: alpha mattes, background fitting, the five out-of-context variants.

No IO and no model: every function takes frames and masks and returns new arrays, so each one is tested
exactly on synthetic inputs. OpenCV (the ``synth`` extra) does the blurring, resizing and inpainting.

Shapes: frames uint8 (T, H, W, 3) RGB; masks float32 (T, H, W) person probability in [0, 1];
alpha float32 (T, H, W) in [0, 1] (1 = person).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from weirdkinetics._optional import require


def _cv2():
    return require("cv2", "synth", "compositing")


# -- masks ---------------------------------------------------------------------------------------------


def binarize(masks: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Person pixels: bool (T, H, W), ``masks >= threshold``. masks: float (T, H, W) or bool."""
    masks = np.asarray(masks)
    return masks.astype(bool) if masks.dtype == bool else masks >= threshold


def mask_coverage(masks: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Fraction of person pixels per frame: float64 (T,). masks: float (T, H, W) or bool."""
    person = binarize(masks, threshold)
    if person.shape[0] == 0:
        return np.zeros(0, dtype=np.float64)
    return person.reshape(person.shape[0], -1).mean(axis=1, dtype=np.float64)


def feather_alpha(masks: np.ndarray, sigma: float = 2.0, threshold: float = 0.5) -> np.ndarray:
    """Feathered alpha matte: the binarised mask blurred by a Gaussian of ``sigma`` pixels, per frame.

    masks: float (T, H, W) or bool -> float32 (T, H, W) in [0, 1]. ``sigma=0`` gives the hard 0/1 mask.
    Binarising first keeps the segmenter's soft, often washed-out probabilities from ghosting the old
    background in; the blur then softens only the edge. Borders replicate (no dark rim at the frame edge).
    """
    hard = binarize(masks, threshold).astype(np.float32)
    if sigma <= 0:
        return hard
    cv2 = _cv2()
    out = np.empty_like(hard)
    for t in range(hard.shape[0]):
        out[t] = cv2.GaussianBlur(
            hard[t], (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REPLICATE
        )
    return np.clip(out, 0.0, 1.0, out=out)


# -- backgrounds ---------------------------------------------------------------------------------------


def to_rgb(image: np.ndarray) -> np.ndarray:
    """Any still image as uint8 (H, W, 3) RGB.

    image: (H, W) or (H, W, 1) grayscale -> repeated to 3 channels; (H, W, 4) -> alpha dropped;
    uint16 -> top 8 bits; float in [0, 1] -> scaled to 0..255. Channel order is kept (give RGB).
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"not an image: shape {image.shape}; expected (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)"
        )
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif np.issubdtype(image.dtype, np.floating):
        image = np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    elif image.shape[-1] == 4:
        image = image[..., :3]
    return np.ascontiguousarray(image)


def fit_background(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Scale ``image`` to cover ``height`` x ``width`` (aspect kept), then crop the centre.

    image: any of ``to_rgb``'s inputs -> uint8 (height, width, 3). An image of exactly that size comes back
    unchanged; one that only differs in aspect is cropped without resampling. INTER_AREA when shrinking
    (no aliasing), INTER_LINEAR when enlarging.
    """
    image = to_rgb(image)
    h, w = image.shape[:2]
    scale = max(height / h, width / w)
    new_h, new_w = max(height, round(h * scale)), max(width, round(w * scale))
    if (new_h, new_w) != (h, w):
        cv2 = _cv2()
        shrink = new_h < h or new_w < w
        image = cv2.resize(
            image, (new_w, new_h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        )
    top, left = (new_h - height) // 2, (new_w - width) // 2
    return np.ascontiguousarray(image[top : top + height, left : left + width])


def fit_background_video(frames: np.ndarray, num_frames: int, height: int, width: int) -> np.ndarray:
    """A background video fitted to a source: uint8 (num_frames, height, width, 3).

    frames: uint8 (S, h, w, 3). Looped from the start when shorter than ``num_frames``, cut when longer;
    frames map one to one (the background's frame rate is not resampled). Each frame goes through
    ``fit_background``.
    """
    frames = np.asarray(frames)
    if frames.shape[0] == 0:
        raise ValueError("background video has no frames")
    index = np.arange(num_frames) % frames.shape[0]
    return (
        np.stack([fit_background(frames[i], height, width) for i in index])
        if num_frames
        else np.zeros((0, height, width, 3), np.uint8)
    )


# -- variants ------------------------------------------------------------------------------------------


def _check(frames: np.ndarray, alpha: np.ndarray) -> None:
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}")
    if alpha.shape != frames.shape[:3]:
        raise ValueError(f"mask/alpha shape {alpha.shape} does not match frames {frames.shape[:3]}")


def _blend(person: np.ndarray, alpha: np.ndarray, back: np.ndarray) -> np.ndarray:
    """One frame: uint8 (H, W, 3) = round(alpha * person + (1 - alpha) * back)."""
    a = alpha[..., None]
    out = a * person.astype(np.float32) + (1.0 - a) * back.astype(np.float32)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def swap(frames: np.ndarray, alpha: np.ndarray, background: np.ndarray) -> np.ndarray:
    """The person over a new background (HAT's background swap).

    frames: uint8 (T, H, W, 3); alpha: float32 (T, H, W) in [0, 1];
    background: uint8 (H, W, 3) still or (T, H, W, 3) video, already fitted (``fit_background``).
    Returns uint8 (T, H, W, 3) = round(alpha * frames + (1 - alpha) * background). Computed frame by frame
    so memory stays at one float frame.
    """
    frames, alpha, background = np.asarray(frames), np.asarray(alpha, np.float32), np.asarray(background)
    _check(frames, alpha)
    still = background.ndim == 3
    expected = frames.shape[1:] if still else frames.shape
    if background.shape != expected:
        raise ValueError(f"background shape {background.shape} does not match {expected}; fit it first")
    out = np.empty_like(frames)
    for t in range(frames.shape[0]):
        out[t] = _blend(frames[t], alpha[t], background if still else background[t])
    return out


def person_only(
    frames: np.ndarray, alpha: np.ndarray, colour: tuple[int, int, int] = (0, 0, 0)
) -> np.ndarray:
    """Everything outside the person replaced by one flat RGB ``colour`` (HAT's human-only).

    frames: uint8 (T, H, W, 3); alpha: float32 (T, H, W) -> uint8 (T, H, W, 3).
    """
    frames = np.asarray(frames)
    flat = np.empty(frames.shape[1:], np.uint8)
    flat[...] = np.asarray(colour, dtype=np.uint8)
    return swap(frames, alpha, flat)


def inpaint_mask(masks: np.ndarray, threshold: float = 0.5, dilate_px: int = 7) -> np.ndarray:
    """The hole to fill: person pixels grown by ``dilate_px`` (elliptical kernel). uint8 (T, H, W) 0/255.

    Segmenters miss the person's outline and motion blur by a few pixels; without the margin the fill
    copies that fringe inwards and a ghost of the person remains.
    """
    hole = binarize(masks, threshold).astype(np.uint8) * 255
    if dilate_px <= 0:
        return hole
    cv2 = _cv2()
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * dilate_px + 1, 2 * dilate_px + 1))
    return np.stack([cv2.dilate(h, kernel) for h in hole]) if len(hole) else hole


def background_only(
    frames: np.ndarray,
    masks: np.ndarray,
    threshold: float = 0.5,
    dilate_px: int = 7,
    radius: int = 3,
    method: str = "telea",
    work_side: int | None = 160,
) -> np.ndarray:
    """The person removed and the hole filled by inpainting (HAT's background-only).

    frames: uint8 (T, H, W, 3); masks: float (T, H, W) or bool -> uint8 (T, H, W, 3).

    HAT removes the person and inpaints the hole. Here the fill is OpenCV's single-image inpainting
    (``cv2.inpaint``, Telea's fast marching method by default, or ``"ns"`` for Navier-Stokes) applied
    frame by frame over the dilated mask (``inpaint_mask``): it has no temporal model, so large holes come
    out as smooth smears that flicker a little. Reports must say the fill is OpenCV's.

    work_side: inpaint a copy downscaled so its longer side is at most this many pixels (``radius`` is in
    those pixels), then upscale the fill into the hole. Telea's cost grows quickly with the hole (the
    arm-wrestling clip, 340x256 with two thirds of the frame in the hole, radius 3: 93 ms per frame at
    full size, 24 ms at 160 px) and the fill is a smooth smear anyway. ``None`` inpaints at full size.
    Pixels outside the dilated hole are always returned unchanged.
    """
    cv2 = _cv2()
    frames, masks = np.asarray(frames), np.asarray(masks)
    _check(frames, masks)
    flags = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}
    if method not in flags:
        raise ValueError(f"inpainting method {method!r} is not one of {', '.join(flags)}")
    holes = inpaint_mask(masks, threshold, dilate_px)
    height, width = frames.shape[1:3]
    scale = 1.0 if not work_side or max(height, width) <= work_side else work_side / max(height, width)
    small = (max(1, round(width * scale)), max(1, round(height * scale)))
    out = frames.copy()
    for t in range(frames.shape[0]):
        hole = holes[t]
        if not hole.any():
            continue
        if scale == 1.0:
            out[t] = cv2.inpaint(np.ascontiguousarray(frames[t]), hole, radius, flags[method])
            continue
        frame_small = cv2.resize(frames[t], small, interpolation=cv2.INTER_AREA)
        # any hole pixel in a cell makes the small cell a hole: no person colour leaks into the fill
        hole_small = (cv2.resize(hole, small, interpolation=cv2.INTER_AREA) > 0).astype(np.uint8) * 255
        fill = cv2.resize(
            cv2.inpaint(frame_small, hole_small, radius, flags[method]),
            (width, height),
            interpolation=cv2.INTER_LINEAR,
        )
        inside = hole > 0
        out[t][inside] = fill[inside]
    return out


def static_background(frames: np.ndarray, alpha: np.ndarray, image: np.ndarray) -> np.ndarray:
    """The moving person on one still image (SCUBA). image: uint8 (H, W, 3), fitted -> uint8 (T, H, W, 3)."""
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"a static background is one image (H, W, 3), got shape {image.shape}")
    return swap(frames, alpha, image)


def static_frame_index(coverage: np.ndarray) -> int:
    """The frame SCUFO freezes: the one where the person covers most pixels (first such frame on ties).

    coverage: float (T,) from ``mask_coverage``. Freezing the fullest frame keeps the person (and any
    held object) in view, so a model that reads the pose or the object still can.
    """
    coverage = np.asarray(coverage)
    if coverage.size == 0:
        raise ValueError("no frames")
    return int(np.argmax(coverage))


def static_person(
    frames: np.ndarray, alpha: np.ndarray, image: np.ndarray, frame_index: int | None = None
) -> np.ndarray:
    """One frame of ``static_background`` repeated over time (SCUFO): no motion left at all.

    frames: uint8 (T, H, W, 3); alpha: float32 (T, H, W); image: uint8 (H, W, 3) fitted.
    frame_index: the frame to freeze; ``None`` -> ``static_frame_index(mask_coverage(alpha))``.
    Returns uint8 (T, H, W, 3), every frame identical.
    """
    frames, alpha = np.asarray(frames), np.asarray(alpha, np.float32)
    _check(frames, alpha)
    if frame_index is None:
        frame_index = static_frame_index(mask_coverage(alpha))
    if not 0 <= frame_index < frames.shape[0]:
        raise ValueError(f"frame_index {frame_index} is outside 0..{frames.shape[0] - 1}")
    still = static_background(
        frames[frame_index : frame_index + 1], alpha[frame_index : frame_index + 1], image
    )
    return np.repeat(still, frames.shape[0], axis=0)


# -- quality -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QualityRule:
    """When a person mask is too poor for a derived video to mean anything.

    A frame "has a person" when its coverage is at least ``min_frame_coverage`` (fraction of pixels).
    A video is excluded when fewer than ``min_person_frames`` of its frames have a person, or when the mean
    coverage exceeds ``max_mean_coverage`` (the mask is the whole frame: nothing of the scene would change).
    """

    min_frame_coverage: float = 0.005
    min_person_frames: float = 0.5
    max_mean_coverage: float = 0.9

    def __post_init__(self) -> None:
        for name in ("min_frame_coverage", "min_person_frames", "max_mean_coverage"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a fraction in [0, 1], got {value}")


@dataclass(frozen=True)
class MaskQuality:
    """Coverage summary of one video's mask and the rule's verdict (``reason`` empty when ``ok``)."""

    mean_coverage: float
    person_frames: float  # fraction of frames with a person
    ok: bool
    reason: str


def mask_quality(coverage: np.ndarray, rule: QualityRule = QualityRule()) -> MaskQuality:
    """Apply ``rule`` to per-frame coverage: float (T,) in [0, 1] (from ``mask_coverage``)."""
    coverage = np.asarray(coverage, dtype=np.float64)
    if coverage.size == 0:
        return MaskQuality(0.0, 0.0, False, "no frames")
    mean = float(coverage.mean())
    frames = float((coverage >= rule.min_frame_coverage).mean())
    if frames < rule.min_person_frames:
        reason = (
            f"person found in {frames:.0%} of frames (needs {rule.min_person_frames:.0%} with at least "
            f"{rule.min_frame_coverage:.1%} of pixels); mean coverage {mean:.1%}"
        )
        return MaskQuality(mean, frames, False, reason)
    if mean > rule.max_mean_coverage:
        reason = f"mask covers {mean:.0%} of the frame on average (over {rule.max_mean_coverage:.0%})"
        return MaskQuality(mean, frames, False, reason)
    return MaskQuality(mean, frames, True, "")

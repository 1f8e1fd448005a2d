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
    """One frame: uint8 (H, W, 3) = round(alpha * person + (1 - alpha) * back).

    Where alpha is exactly 1 or 0 (all of a hard mask, all but a feathered edge) that is the person's or the
    background's pixel exactly, so it is copied; the float arithmetic runs only on the soft pixels (at 1080p
    the whole-frame float blend took most of a streamed synth row's time)."""
    out = np.where((alpha == 1.0)[..., None], person, back)
    soft = (alpha != 1.0) & (alpha != 0.0)
    if soft.any():
        a = alpha[soft][:, None]
        back_soft = back[soft] if back.ndim == 3 else np.broadcast_to(back, out.shape)[soft]
        mixed = a * person[soft].astype(np.float32) + (1.0 - a) * back_soft.astype(np.float32)
        out[soft] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    return out


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
    frames: np.ndarray, alpha: np.ndarray, colour: tuple[int, int, int] = (115, 115, 115)
) -> np.ndarray:
    """Everything outside the person replaced by one flat RGB ``colour`` (HAT's human-only): give the
    model's normalisation mean (default Kinetics' 0.45), so the outside is 0 after normalising, as HAT's
    is; black was -2 sigma, a strong signal of its own.

    frames: uint8 (T, H, W, 3); alpha: float32 (T, H, W) -> uint8 (T, H, W, 3).
    """
    frames = np.asarray(frames)
    flat = np.empty(frames.shape[1:], np.uint8)
    flat[...] = np.asarray(colour, dtype=np.uint8)
    return swap(frames, alpha, flat)


def relative_dilation(height: int, width: int, fraction: float = 0.015) -> int:
    """The hole's margin in pixels: ``fraction`` of the frame's shorter side, at least 1 pixel.

    Relative, so a 64 px demo frame gets 1 px and a 256 px clip 4 px: a fixed 7 px grew the demo's
    hole to four times the actor's area, and that oversized, person-shaped hole alone told the class."""
    return max(1, round(fraction * min(height, width)))


def hole_masks(
    masks: np.ndarray, threshold: float = 0.5, dilate_px: int = 1, hole_frames: int = 0
) -> np.ndarray:
    """The pixels to replace when removing the person: bool (T, H, W).

    The binarised mask grown by ``dilate_px`` (elliptical kernel: segmenters miss the outline and motion
    blur by a few pixels, and compression bleeds the person's colour past it) and then over time by
    ``hole_frames`` frames either side (a maximum, so a frame where the segmenter drops the person still
    removes them). Only ever grown, never eroded: a temporal median here dropped 5-13 % of the actor's
    pixels and left a swinging arm in full colour.
    """
    hole = binarize(masks, threshold)
    if dilate_px > 0 and len(hole):
        cv2 = _cv2()
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * dilate_px + 1, 2 * dilate_px + 1))
        hole = np.stack([cv2.dilate(h.astype(np.uint8), kernel) > 0 for h in hole])
    if hole_frames > 0 and len(hole) > 1:
        from scipy import ndimage

        hole = ndimage.maximum_filter1d(hole, 2 * hole_frames + 1, axis=0, mode="nearest")
    return hole


@dataclass(frozen=True)
class Removal:
    """background-only's frames, uint8 (T, H, W, 3), and how they were made: ``camera`` (``still`` or
    ``moving (N px)``, from ``plate.estimate_camera``), ``recovered`` (fraction of hole pixels shown by
    another frame, the rest inpainted) and ``hole`` (mean fraction of the frame replaced)."""

    frames: np.ndarray
    camera: str
    recovered: float
    hole: float


def background_only(
    frames: np.ndarray,
    masks: np.ndarray,
    threshold: float = 0.5,
    dilate_px: int | None = None,
    hole_frames: int = 0,
    radius: int = 3,
    min_seen: float = 0.2,
) -> Removal:
    """The person removed: each hidden pixel recovered from the frames that show it (a clean plate, the
    frames aligned first when the camera moves; ``plate``), inpainted only where no frame shows it.

    frames: uint8 (T, H, W, 3); masks: float (T, H, W) or bool. dilate_px: the hole's margin (None:
    ``relative_dilation`` of the frame); hole_frames: its growth over time (``hole_masks``); radius:
    OpenCV Telea's radius for what no frame shows, inpainted once on the plate at full resolution (a
    per-frame fill at 160 px left a blocky smear that moved with the person). min_seen: the fraction of
    sampled frames that must show a pixel for it to be recovered rather than inpainted (``plate.clean_plate``;
    0 takes any one frame, right for exact masks). Pixels outside the hole are returned unchanged.
    """
    from weirdkinetics.synth import plate as plates

    frames, masks = np.asarray(frames), np.asarray(masks)
    _check(frames, masks)
    height, width = frames.shape[1:3]
    margin = relative_dilation(height, width) if dilate_px is None else dilate_px
    holes = hole_masks(masks, threshold, margin, hole_frames)
    if not holes.any():
        return Removal(frames.copy(), "still", 1.0, 0.0)
    camera = plates.estimate_camera(frames, holes)
    plate = plates.clean_plate(frames, holes, camera, radius=radius, min_seen=min_seen)
    out, recovered = plates.fill_from_plate(frames, holes, camera, plate)
    return Removal(out, camera.label, recovered, float(holes.mean()))


def silhouette(
    holes: np.ndarray,
    colour: tuple[int, int, int] = (115, 115, 115),
    ink: tuple[int, int, int] = (40, 40, 40),
) -> np.ndarray:
    """The hole alone: ``holes`` bool (T, H, W) painted ``ink`` on a flat ``colour`` -> uint8 (T, H, W, 3).

    The leak test of background-only: a model that gets the class from this reads the removed person's
    shape and motion, not the scene."""
    holes = np.asarray(holes, bool)
    out = np.empty((*holes.shape, 3), np.uint8)
    out[...] = np.asarray(colour, np.uint8)
    out[holes] = np.asarray(ink, np.uint8)
    return out


def centre_of_mass(masks: np.ndarray, threshold: float = 0.5) -> tuple[float, float] | None:
    """Mean (y, x) of the person's pixels over every frame, or None when there are none."""
    person = binarize(masks, threshold)
    if not person.any():
        return None
    _, ys, xs = np.nonzero(person)
    return float(ys.mean()), float(xs.mean())


def shift_person(frames: np.ndarray, alpha: np.ndarray, dy: int, dx: int) -> tuple[np.ndarray, np.ndarray]:
    """The person moved by whole pixels (``dy`` down, ``dx`` right) in every frame, what leaves the frame
    cut off and what enters empty (alpha 0). frames uint8 (T, H, W, 3), alpha float32 (T, H, W) -> the
    same shapes. Whole pixels, so the person is not resampled."""
    height, width = frames.shape[1:3]
    out_f, out_a = np.zeros_like(frames), np.zeros_like(alpha)
    ys, yd = slice(max(0, -dy), min(height, height - dy)), slice(max(0, dy), min(height, height + dy))
    xs, xd = slice(max(0, -dx), min(width, width - dx)), slice(max(0, dx), min(width, width + dx))
    out_f[:, yd, xd], out_a[:, yd, xd] = frames[:, ys, xs], alpha[:, ys, xs]
    return out_f, out_a


def static_background(frames: np.ndarray, alpha: np.ndarray, image: np.ndarray) -> np.ndarray:
    """The moving person on one still image (SCUBA). image: uint8 (H, W, 3), fitted -> uint8 (T, H, W, 3)."""
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"a static background is one image (H, W, 3), got shape {image.shape}")
    return swap(frames, alpha, image)


def static_frame_index(coverage: np.ndarray, rng: np.random.Generator, min_coverage: float = 0.005) -> int:
    """The frame SCUFO freezes: a random one (StillMix's choice) among the frames where the person covers
    at least ``min_coverage`` of the pixels (every frame when none does), drawn from ``rng``.

    coverage: float (T,) from ``mask_coverage``. Freezing the fullest frame instead picked the most
    spread-out pose, an atypical frame, and pushed SCUFO's accuracy down (42 % vs 54-57 % on the demo).
    """
    coverage = np.asarray(coverage)
    if coverage.size == 0:
        raise ValueError("no frames")
    candidates = np.flatnonzero(coverage >= min_coverage)
    if candidates.size == 0:
        candidates = np.arange(coverage.size)
    return int(candidates[int(rng.integers(candidates.size))])


def static_person(
    frames: np.ndarray, alpha: np.ndarray, image: np.ndarray, frame_index: int | None = None
) -> np.ndarray:
    """One frame of ``static_background`` repeated over time (SCUFO): no motion left at all.

    frames: uint8 (T, H, W, 3); alpha: float32 (T, H, W); image: uint8 (H, W, 3) fitted.
    frame_index: the frame to freeze; ``None`` -> a seeded ``static_frame_index`` (seed 0).
    Returns uint8 (T, H, W, 3), every frame identical.
    """
    frames, alpha = np.asarray(frames), np.asarray(alpha, np.float32)
    _check(frames, alpha)
    if frame_index is None:
        frame_index = static_frame_index(mask_coverage(alpha), np.random.default_rng(0))
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
    coverage exceeds ``max_mean_coverage``: a "person" over half of the frame is not a person (on real
    footage it was a table with a kettle and a mug, 67 %), and removing it leaves no scene to measure.
    ``max_lost_frames``: the most frames (fraction) in which a segmenter's followed person may vanish
    (``segment.track_person``): there the person would stay in background-only.
    """

    min_frame_coverage: float = 0.005
    min_person_frames: float = 0.5
    max_mean_coverage: float = 0.5
    max_lost_frames: float = 0.1

    def __post_init__(self) -> None:
        for name in ("min_frame_coverage", "min_person_frames", "max_mean_coverage", "max_lost_frames"):
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
        reason = (
            f"mask covers {mean:.0%} of the frame on average (over {rule.max_mean_coverage:.0%}): most likely "
            "not only the person (a table, the scene); QualityRule(max_mean_coverage=...) moves the bar"
        )
        return MaskQuality(mean, frames, False, reason)
    return MaskQuality(mean, frames, True, "")

"""Background recovery for background-only: a clean plate from the frames where the person is elsewhere.

A person hides a different part of the scene in every frame, so most of what the hole hides is shown by
another frame. Recovering it, instead of painting over the hole frame by frame, is what keeps a removed
person from leaving a moving, person-shaped smear that a model can read as easily as the person (the
demo measured a nearest-centroid classifier getting the class from the hole's shape alone). HAT uses
video inpainting for the same reason; this is the classical clean-plate version of it, with OpenCV:

1. ``estimate_camera``: ECC alignment (``cv2.findTransformECC``, affine) of each frame to the previous one,
   the person's hole masked out, chained to the middle frame. When no frame corner moves more than
   ``still_px`` the camera is still and nothing is warped.
2. ``clean_plate``: every sampled frame warped into the middle frame's view (a canvas wide enough for
   all of them), and each canvas pixel the median of the samples where it is not hidden. What no frame
   shows is inpainted once, on the plate, at full resolution (Telea), so the fill is the same in every
   frame instead of a blob that moves with the person.
3. ``fill_from_plate``: the plate warped back into each frame, copied into that frame's hole only.

Shapes: frames uint8 (T, H, W, 3) RGB; holes bool (T, H, W) (True = hidden by the person).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from weirdkinetics._optional import require


def _cv2():
    return require("cv2", "synth", "background recovery")


@dataclass(frozen=True)
class CameraMotion:
    """How the camera moved. transforms: float64 (T, 3, 3), frame t's pixel coordinates (x, y, 1) -> the
    reference (middle) frame's; identity for every frame of a still camera. shift_px: the largest distance
    a frame corner travels from the reference over the clip (full-resolution pixels). failed: consecutive
    frame pairs ECC could not align (taken as not moving). moving: shift_px above the still threshold."""

    transforms: np.ndarray
    moving: bool
    shift_px: float
    failed: int

    @property
    def label(self) -> str:
        """``still`` or ``moving (N px)``, as the manifest's ``camera`` column records it."""
        return f"moving ({self.shift_px:.1f} px)" if self.moving else "still"


def _grey_small(frame: np.ndarray, scale: float) -> np.ndarray:
    cv2 = _cv2()
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    if scale == 1.0:
        return grey
    size = (max(8, round(frame.shape[1] * scale)), max(8, round(frame.shape[0] * scale)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)


def _pair_transform(a: np.ndarray, b: np.ndarray, valid: np.ndarray) -> np.ndarray | None:
    """ECC affine ``W`` (3, 3) with b(W x) ~ a(x) on the ``valid`` pixels of a and b, or None when ECC
    does not converge, finds an implausible warp (a zoom, shear or shift above 10 % between two frames)
    or one that matches the pair worse than no motion."""
    cv2 = _cv2()
    warp = np.eye(2, 3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-4)
    try:
        _, warp = cv2.findTransformECC(a, b, warp, cv2.MOTION_AFFINE, criteria, valid, 3)
    except cv2.error:
        return None
    if np.abs(warp[:, :2] - np.eye(2)).max() > 0.1 or np.abs(warp[:, 2]).max() > 0.1 * max(a.shape):
        return None
    # keep the warp only when it explains the pair better than no motion: on weak texture ECC can
    # converge to a drift that, chained over a clip, moves the plate by tens of pixels
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    moved = cv2.warpAffine(b, warp, (a.shape[1], a.shape[0]), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    inside = cv2.warpAffine(
        valid, warp, (a.shape[1], a.shape[0]), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP
    )
    both = (valid > 0) & (inside > 0)
    if not both.any() or np.abs(moved - a)[both].mean() >= np.abs(b - a)[valid > 0].mean():
        return None
    return np.vstack([warp.astype(np.float64), [0.0, 0.0, 1.0]])


def estimate_camera(
    frames: np.ndarray, holes: np.ndarray, still_px: float = 0.75, work_side: int = 256
) -> CameraMotion:
    """Camera motion of a clip from consecutive-frame ECC alignment, the person's pixels left out.

    frames: uint8 (T, H, W, 3); holes: bool (T, H, W). Aligned on grey copies whose longer side is at most
    ``work_side`` (ECC's cost grows with the pixels; translations are scaled back). A camera whose frame
    corners all stay within ``still_px`` pixels of the reference is still (a person filling part of the
    frame and compression noise move ECC by a few tenths of a pixel). ``camera_from_stream`` does the work.
    """
    count, height, width = frames.shape[:3]
    return camera_from_stream(zip(frames, holes), count, height, width, still_px, work_side)


def camera_from_stream(
    pairs: Iterable[tuple[np.ndarray, np.ndarray]],
    count: int,
    height: int,
    width: int,
    still_px: float = 0.75,
    work_side: int = 256,
) -> CameraMotion:
    """``estimate_camera`` over (frame uint8 (H, W, 3), hole bool (H, W)) pairs that arrive one at a time
    (``count`` of them, at least one): only the previous frame's small grey copy is kept."""
    cv2 = _cv2()
    scale = min(1.0, work_side / max(height, width))
    s_up = np.diag([1.0 / scale, 1.0 / scale, 1.0])
    s_down = np.diag([scale, scale, 1.0])
    to_first = [np.eye(3)]  # frame 0 coordinates -> frame t coordinates
    failed = 0
    pairs = iter(pairs)
    frame, hole = next(pairs)
    previous = _grey_small(frame, scale)
    small_size = (previous.shape[1], previous.shape[0])
    hide_prev = cv2.resize(hole.astype(np.uint8), small_size, interpolation=cv2.INTER_NEAREST)
    for frame, hole in pairs:
        current = _grey_small(frame, scale)
        hide = cv2.resize(hole.astype(np.uint8), small_size, interpolation=cv2.INTER_NEAREST)
        valid = ((hide_prev == 0) & (hide == 0)).astype(np.uint8)
        warp = _pair_transform(previous, current, valid) if valid.mean() > 0.2 else None
        if warp is None:
            failed += 1
            warp = np.eye(3)
        to_first.append(s_up @ warp @ s_down @ to_first[-1])
        previous, hide_prev = current, hide
    return _referenced(to_first, height, width, still_px, failed)


def _referenced(
    to_first: list[np.ndarray], height: int, width: int, still_px: float, failed: int
) -> CameraMotion:
    """The chained transforms re-referenced to the middle frame (frame t -> frame 0 -> middle)."""
    count = len(to_first)
    mid = to_first[count // 2]
    transforms = np.stack([mid @ np.linalg.inv(m) for m in to_first])
    corners = np.array(
        [[0, 0, 1], [width - 1, 0, 1], [0, height - 1, 1], [width - 1, height - 1, 1]], float
    ).T
    shift = float(max(np.abs((m @ corners)[:2] - corners[:2]).max() for m in transforms)) if count else 0.0
    if shift <= still_px:
        return CameraMotion(np.repeat(np.eye(3)[None], count, axis=0), False, shift, failed)
    return CameraMotion(transforms, True, shift, failed)


@dataclass(frozen=True)
class Plate:
    """The recovered background. image: uint8 (Hc, Wc, 3) in canvas coordinates (the reference frame's,
    moved by ``offset`` = (x, y) so every warped frame lands inside); seen: bool (Hc, Wc), pixels some
    sampled frame showed (the rest were inpainted)."""

    image: np.ndarray
    seen: np.ndarray
    offset: tuple[float, float]


def _canvas(
    camera: CameraMotion, height: int, width: int, limit: float = 1.5
) -> tuple[int, int, float, float]:
    """(canvas height, width, x offset, y offset) holding every frame warped into the reference; capped at
    ``limit`` times the frame size so a long pan keeps memory bounded (what falls outside is inpainted)."""
    if not camera.moving:
        return height, width, 0.0, 0.0
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], float).T
    pts = np.concatenate([(m @ corners)[:2] for m in camera.transforms], axis=1)
    x0, y0 = np.floor(pts.min(axis=1))
    x1, y1 = np.ceil(pts.max(axis=1))
    x0, x1 = max(x0, -(limit - 1) / 2 * width), min(x1, width * (1 + (limit - 1) / 2))
    y0, y1 = max(y0, -(limit - 1) / 2 * height), min(y1, height * (1 + (limit - 1) / 2))
    return int(y1 - y0), int(x1 - x0), float(-x0), float(-y0)


def _to_canvas(camera: CameraMotion, t: int, offset: tuple[float, float]) -> np.ndarray:
    """Affine (2, 3): frame t coordinates -> canvas coordinates."""
    shift = np.array([[1.0, 0.0, offset[0]], [0.0, 1.0, offset[1]], [0.0, 0.0, 1.0]])
    return (shift @ camera.transforms[t])[:2]


def _median_visible(
    values: np.ndarray, visible: np.ndarray, min_seen: int = 1, rows: int = 32
) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, the median of ``values`` (S, H, W, 3) uint8 over the samples where ``visible`` (S, H, W);
    -> (uint8 (H, W, 3), bool (H, W) seen in at least ``min_seen`` samples). Row bands keep the float copy
    small."""
    height = values.shape[1]
    out = np.zeros(values.shape[1:], np.uint8)
    for top in range(0, height, rows):
        band = values[:, top : top + rows].astype(np.float32)
        band[~visible[:, top : top + rows]] = np.nan
        seen = visible[:, top : top + rows].sum(axis=0) >= min_seen
        med = np.zeros(band.shape[1:], np.float32)
        if seen.any():
            med[seen] = np.nanmedian(band[:, seen], axis=0)
        out[top : top + rows] = np.clip(np.rint(med), 0, 255).astype(np.uint8)
    return out, visible.sum(axis=0) >= min_seen


def clean_plate(
    frames: np.ndarray,
    holes: np.ndarray,
    camera: CameraMotion,
    max_samples: int = 64,
    radius: int = 3,
    min_seen: float = 0.2,
) -> Plate:
    """The background behind the person: per canvas pixel, the median over up to ``max_samples`` evenly
    spaced frames of the samples where it is not hidden; what fewer than ``min_seen`` of the samples
    show is inpainted (``cv2.inpaint``, Telea, ``radius`` pixels) at full resolution, once.
    frames uint8 (T, H, W, 3); holes bool (T, H, W).

    ``min_seen``: a pixel hidden in nearly every frame is "shown" mostly where the segmenter missed part
    of the person, so its few samples are the person's colours; on a real clip (a cook standing at her
    stove) taking them left a see-through ghost of her striped shirt. Those pixels are inpainted instead.
    ``PlateSamples`` does the work, fed only the sampled frames."""
    samples = PlateSamples(camera, *frames.shape[:3], max_samples=max_samples)
    for t in samples.picks:
        samples.add(int(t), frames[t], holes[t])
    return samples.plate(radius, min_seen)


class PlateSamples:
    """``clean_plate``'s samples gathered from frames that arrive one at a time: ``add`` keeps frame t
    (warped into the canvas) when t is one of ``picks`` (up to ``max_samples`` evenly spaced frames of
    ``count``), so memory is bounded by ``max_samples`` canvases whatever the video's length; ``plate``
    makes the plate from them."""

    def __init__(self, camera: CameraMotion, count: int, height: int, width: int, max_samples: int = 64):
        self.camera = camera
        self.ch, self.cw, self.ox, self.oy = _canvas(camera, height, width)
        self.picks = np.unique(np.linspace(0, count - 1, min(count, max_samples)).round().astype(int))
        self._slot = {int(t): i for i, t in enumerate(self.picks)}
        self.values = np.zeros((len(self.picks), self.ch, self.cw, 3), np.uint8)
        self.visible = np.zeros((len(self.picks), self.ch, self.cw), bool)

    def add(self, t: int, frame: np.ndarray, hole: np.ndarray) -> None:
        """Frame t: uint8 (H, W, 3) and its hole bool (H, W); ignored unless t is a pick."""
        i = self._slot.get(t)
        if i is None:
            return
        if not self.camera.moving:
            self.values[i], self.visible[i] = frame, ~hole
            return
        cv2 = _cv2()
        m = _to_canvas(self.camera, t, (self.ox, self.oy))
        self.values[i] = cv2.warpAffine(frame, m, (self.cw, self.ch), flags=cv2.INTER_LINEAR)
        inside = cv2.warpAffine((~hole).astype(np.uint8), m, (self.cw, self.ch), flags=cv2.INTER_NEAREST)
        self.visible[i] = inside > 0

    def plate(self, radius: int = 3, min_seen: float = 0.2) -> Plate:
        cv2 = _cv2()
        image, seen = _median_visible(self.values, self.visible, max(1, round(min_seen * len(self.picks))))
        if not seen.all():
            image = cv2.inpaint(image, (~seen).astype(np.uint8) * 255, radius, cv2.INPAINT_TELEA)
        return Plate(image, seen, (self.ox, self.oy))


def fill_from_plate(
    frames: np.ndarray, holes: np.ndarray, camera: CameraMotion, plate: Plate
) -> tuple[np.ndarray, float]:
    """Each frame's hole filled with the plate seen from that frame; pixels outside the hole unchanged.

    Returns (uint8 (T, H, W, 3), the fraction of hole pixels that came from a frame that showed them
    rather than from the plate's inpainting). ``fill_frame`` does each frame."""
    out = np.empty_like(frames)
    hidden = recovered = 0
    for t in range(frames.shape[0]):
        out[t], h, r = fill_frame(frames[t], holes[t], t, camera, plate)
        hidden, recovered = hidden + h, recovered + r
    return out, (recovered / hidden if hidden else 1.0)


def fill_frame(
    frame: np.ndarray, hole: np.ndarray, t: int, camera: CameraMotion, plate: Plate
) -> tuple[np.ndarray, int, int]:
    """Frame t (uint8 (H, W, 3)) with its hole (bool (H, W)) filled from the plate: (a new uint8 (H, W, 3),
    hole pixels, of them those a frame showed)."""
    out = frame.copy()
    if not hole.any():
        return out, 0, 0
    height, width = frame.shape[:2]
    seen = plate.seen.astype(np.uint8)
    if camera.moving:
        cv2 = _cv2()
        m = _to_canvas(camera, t, plate.offset)
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        view = cv2.warpAffine(plate.image, m, (width, height), flags=flags, borderMode=cv2.BORDER_REPLICATE)
        shown = cv2.warpAffine(seen, m, (width, height), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP)
    else:
        view, shown = plate.image, seen
    out[hole] = view[hole]
    return out, int(hole.sum()), int((shown[hole] > 0).sum())

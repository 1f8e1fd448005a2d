"""One synth row streamed: the source is decoded again on each pass and every output frame is encoded as it
is made, so a row's memory is a few frames, the person's masks at one bit per pixel and, for background-only,
the clean plate's bounded samples; never the whole video (the whole-video path held about 27 bytes per
pixel per frame: 4.3 GB for 100 frames of 1080p).

The passes over a source (``decode.VideoPasses``):

0. ``count``: decode without converting to RGB, for the frame count and the decode status.
1. ``scan``: the person's masks (segmenter through the cache, or the true masks' file, a frame at a time),
   binarised at the threshold into ``bitmasks.PackedMasks`` (every variant reads a mask only through
   ``composite.binarize``, so nothing else of the probabilities is used); a segmenter's are cut to one
   person (``segment.follow_person``). The pose detector's 8 frames are kept on the way.
2. the variant's output, frame by frame into ``encode.write_frames``. background-only needs two more passes
   before it (``plate.camera_from_stream``, then the plate's samples, ``plate.PlateSamples``: at most 64
   frames); static-person decodes only up to the frame it freezes.

The frames written are the ones ``variants.compose`` makes from the whole video (the tests compare them),
because each step is the same array function applied to one frame, or a sum whose integer terms add up
exactly in any order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from weirdkinetics.decode import VideoOpenError, VideoPasses, video_passes
from weirdkinetics.errors import UserError
from weirdkinetics.manifest import ManifestRow
from weirdkinetics.statuses import RowFailure
from weirdkinetics.synth import composite
from weirdkinetics.synth import plate as plates
from weirdkinetics.synth.bitmasks import PackedMasks
from weirdkinetics.synth.options import SynthOptions
from weirdkinetics.synth.segment import DamagedEntry, MaskSource, Track, follow_person
from weirdkinetics.synth.variants import Scene

DETECT_SAMPLES = 8  # frames the pose detector looks at (segment.detect_people's default)


# -- the source ----------------------------------------------------------------------------------------


@dataclass
class Source:
    """A decoded-on-demand source video: ``count`` frames of ``height`` x ``width`` at ``fps``."""

    passes: VideoPasses
    count: int
    height: int
    width: int

    @property
    def fps(self) -> float:
        return self.passes.fps

    def frames(self, stop: int | None = None) -> Iterator[np.ndarray]:
        """One pass: uint8 (H, W, 3) each, ``count`` of them (``stop``: only the first ``stop``). Raises
        ``RowFailure("decode_error")`` when a pass decodes another number of frames than the count."""
        seen = 0
        for frame in self.passes.frames():
            if stop is not None and seen >= stop:
                return
            seen += 1
            yield frame
        if seen != (self.count if stop is None else min(stop, self.count)):
            raise RowFailure(
                "decode_error", f"the video decoded to {self.count} frames once and to {seen} on another pass"
            )


def open_source(path: str, max_side: int | None, out: dict[str, str]) -> Source:
    """Pass 0: the source's count and status (``out``'s ``source_status``, ``num_frames``, ``fps``) as
    ``decode.read_video`` reports them; raises ``RowFailure`` (``missing``, ``decode_error``) when there is
    no frame to make a video from."""
    try:
        passes = video_passes(path, max_side)
    except VideoOpenError as exc:
        out["source_status"] = exc.status
        raise RowFailure(exc.status, exc.reason) from None
    count = passes.count()
    out["source_status"] = passes.status
    if passes.status in ("missing", "decode_error") or count == 0:
        raise RowFailure(
            passes.status if passes.status != "ok" else "decode_error", passes.reason or "no frames"
        )
    first = next(passes.frames())
    out["num_frames"], out["fps"] = str(count), f"{passes.fps:.6g}"
    return Source(passes, count, first.shape[0], first.shape[1])


# -- pass 1: masks -------------------------------------------------------------------------------------


@dataclass
class Scan:
    """Pass 1: ``masks`` the person's pixels bool (T, H, W) packed (binarised at the threshold; one person
    followed for a segmenter's), ``track`` how (None for true masks), ``samples`` uint8 (k, H, W, 3) the
    frames the pose detector checks (None when pass 1 did not decode them)."""

    masks: PackedMasks
    track: Track | None
    samples: np.ndarray | None


def detect_indices(count: int) -> np.ndarray:
    """The frames ``segment.detect_people`` checks in a clip of ``count``."""
    return np.unique(np.linspace(0, count - 1, min(DETECT_SAMPLES, count)).round().astype(int))


def _recording(frames: Iterable[np.ndarray], wanted: np.ndarray, kept: dict[int, np.ndarray]):
    for t, frame in enumerate(frames):
        if t in wanted:
            kept[t] = frame
        yield frame


def _binarised(row, source: Source, masks_from: MaskSource, threshold: float, fresh: bool):
    """(bool masks packed, the detector's frames kept on the way) from one pass."""
    wanted, kept = set(detect_indices(source.count).tolist()), {}
    frames = _recording(source.frames(), wanted, kept)
    shape = (source.count, source.height, source.width)
    person = PackedMasks(source.height, source.width)
    for mask in masks_from.raw_stream(row, frames, shape, fresh=fresh):
        person.append(composite.binarize(mask[None], threshold)[0])
    if len(person) != source.count:
        raise RowFailure("mask_error", f"{len(person)} masks for {source.count} frames")
    samples = np.stack([kept[t] for t in sorted(kept)]) if len(kept) == len(wanted) else None
    return person, samples


def scan(row: ManifestRow, source: Source, masks_from: MaskSource, threshold: float) -> Scan:
    """Pass 1 (``MaskSource.raw_stream`` cut to one person, a frame at a time). Raises
    ``RowFailure("mask_error")`` when the masks cannot be made."""
    try:
        try:
            person, samples = _binarised(row, source, masks_from, threshold, fresh=False)
        except DamagedEntry:  # the cache's entry broke off part-way: make it again
            person, samples = _binarised(row, source, masks_from, threshold, fresh=True)
    except UserError as exc:
        raise RowFailure("mask_error", str(exc)) from None
    if masks_from.name == "true":
        return Scan(person, None, samples)
    keep, track = follow_person(person)
    if threshold <= 0:  # every pixel is person at a threshold of 0, the followed one's zeros included
        keep = _all_person(source)
    return Scan(keep, track, samples)


def _all_person(source: Source) -> PackedMasks:
    full = PackedMasks(source.height, source.width)
    for _ in range(source.count):
        full.append(np.ones((source.height, source.width), bool))
    return full


def detector_frames(source: Source, found: Scan) -> np.ndarray:
    """uint8 (k, H, W, 3): the frames the pose detector checks (decoded again when pass 1 read the masks
    without decoding, from a file or the cache)."""
    if found.samples is not None:
        return found.samples
    wanted = detect_indices(source.count)
    kept: dict[int, np.ndarray] = {}
    for _ in _recording(source.frames(stop=int(wanted[-1]) + 1), set(wanted.tolist()), kept):
        pass
    return np.stack([kept[t] for t in sorted(kept)])


# -- pass 2: the variants, frame by frame ---------------------------------------------------------------


def hole_stream(masks: PackedMasks, dilate_px: int, hole_frames: int) -> Iterator[np.ndarray]:
    """``composite.hole_masks`` a frame at a time: bool (H, W) each. The temporal maximum keeps only the
    ``2 * hole_frames + 1`` dilated frames it spans."""
    count = len(masks)
    reach = hole_frames if count > 1 else 0
    window: deque[np.ndarray] = deque()
    ahead = 0
    for t in range(count):
        while ahead < min(count, t + reach + 1):
            window.append(_dilated(masks[ahead], dilate_px))
            ahead += 1
        while len(window) > ahead - max(0, t - reach):
            window.popleft()
        yield np.logical_or.reduce(window) if len(window) > 1 else window[0]


def _dilated(mask: np.ndarray, dilate_px: int) -> np.ndarray:
    if dilate_px <= 0:
        return mask
    return composite.hole_masks(mask[None], 0.5, dilate_px, 0)[0]


def _blended(frames, alphas, background: np.ndarray) -> Iterator[np.ndarray]:
    """``composite.swap`` a frame at a time; background: still (H, W, 3) or video (T, H, W, 3), fitted."""
    still = background.ndim == 3
    for t, (frame, alpha) in enumerate(zip(frames, alphas)):
        yield composite._blend(frame, alpha, background if still else background[t])


def _hard(masks: PackedMasks) -> Iterator[np.ndarray]:
    return (mask.astype(np.float32) for mask in masks)


def _feathered(masks: PackedMasks, o: SynthOptions) -> Iterator[np.ndarray]:
    return (composite.feather_alpha(mask[None], min(o.feather_sigma, 0.5), o.threshold)[0] for mask in masks)


def centre_of_mass(masks: PackedMasks) -> tuple[float, float] | None:
    """``composite.centre_of_mass`` of packed masks: mean (y, x) of the True pixels, None when none
    (integer sums, so the same float64 means)."""
    total = int(masks.counts.sum())
    if total == 0:
        return None
    sum_y = sum_x = 0
    for mask in masks:
        ys, xs = np.nonzero(mask)
        sum_y, sum_x = sum_y + int(ys.sum()), sum_x + int(xs.sum())
    return sum_y / total, sum_x / total


def _person_only(source, masks, background, o, scene, notes):
    flat = np.empty((source.height, source.width, 3), np.uint8)
    flat[...] = np.asarray(o.colour, dtype=np.uint8)
    return _blended(source.frames(), _hard(masks), flat)


def _swap(source, masks, background, o, scene, notes):
    here = centre_of_mass(masks)
    _check_background(background, source)
    if scene.anchor is None or here is None:
        return _blended(source.frames(), _feathered(masks, o), background)
    dy, dx = round(scene.anchor[0] - here[0]), round(scene.anchor[1] - here[1])
    notes["person_shift"] = f"{dy},{dx}"
    return _shifted_blend(source.frames(), _feathered(masks, o), background, dy, dx)


def _shifted_blend(frames, alphas, background, dy: int, dx: int) -> Iterator[np.ndarray]:
    still = background.ndim == 3
    for t, (frame, alpha) in enumerate(zip(frames, alphas)):
        moved, moved_alpha = composite.shift_person(frame[None], alpha[None], dy, dx)
        yield composite._blend(moved[0], moved_alpha[0], background if still else background[t])


def _check_background(background: np.ndarray, source: Source) -> None:
    size = (source.height, source.width, 3)
    if background.shape not in (size, (source.count, *size)):
        raise ValueError(f"background shape {background.shape} does not match {size}; fit it first")


def _static_background(source, masks, background, o, scene, notes):
    if background.ndim != 3:
        raise ValueError(f"a static background is one image (H, W, 3), got shape {background.shape}")
    _check_background(background, source)
    return _blended(source.frames(), _feathered(masks, o), background)


def last(frames: Iterable[np.ndarray]) -> np.ndarray:
    """The last of ``frames``, holding one frame at a time (``*_, frame = ...`` would keep every frame before
    it in a list: up to the whole video)."""
    held = deque(frames, maxlen=1)
    if not held:
        raise ValueError("no frame to take")
    return held[0]


def _static_person(source, masks, background, o, scene, notes):
    if background.ndim != 3:
        raise ValueError(f"a static background is one image (H, W, 3), got shape {background.shape}")
    rng = scene.rng if scene.rng is not None else np.random.default_rng(0)
    index = composite.static_frame_index(masks.coverage(), rng, o.quality.min_frame_coverage)
    notes["frozen_frame"] = str(index)
    frame = last(source.frames(stop=index + 1))
    alpha = composite.feather_alpha(masks[index][None], min(o.feather_sigma, 0.5), o.threshold)[0]
    still = composite._blend(frame, alpha, background)
    return (still for _ in range(source.count))


def _silhouette(source, masks, background, o, scene, notes):
    holes = hole_stream(masks, o.dilation(source.height, source.width), o.hole_frames)
    return _counted(holes, notes, lambda hole: composite.silhouette(hole[None], o.colour)[0], source)


def _counted(holes, notes, paint, source) -> Iterator[np.ndarray]:
    hidden = 0
    for hole in holes:
        hidden += int(np.count_nonzero(hole))
        yield paint(hole)
    notes["hole"] = f"{hidden / (source.count * source.height * source.width):.4f}"


@dataclass
class Removal:
    """background-only of a source, ready to be made a frame at a time (``frames``): the hole's margin, the
    camera and the clean plate (None when the masks are empty: the frames come back unchanged)."""

    source: Source
    masks: PackedMasks
    margin: int
    hole_frames: int
    camera: plates.CameraMotion | None = None
    plate: plates.Plate | None = None

    def frames(self, notes: dict[str, str] | None = None, stop: int | None = None) -> Iterator[np.ndarray]:
        """The person removed, uint8 (H, W, 3) each (the first ``stop``); ``notes`` gets ``camera``,
        ``recovered`` and ``hole`` once every frame has been taken."""
        notes = notes if notes is not None else {}
        notes.update(camera="still", recovered=f"{1.0:.4f}", hole=f"{0.0:.4f}")
        if self.plate is None:
            return self.source.frames(stop)
        holes = hole_stream(self.masks, self.margin, self.hole_frames)
        return _filled(self.source, holes, self.camera, self.plate, notes, stop)


def removal(source: Source, masks: PackedMasks, o: SynthOptions, exact: bool) -> Removal:
    """``variants.removal``'s camera and plate in two passes (ECC frame to frame, then the plate's samples)."""
    made = Removal(source, masks, o.dilation(source.height, source.width), o.hole_frames)
    if not masks.any():
        return made
    size = (source.count, source.height, source.width)
    holes = hole_stream(masks, made.margin, made.hole_frames)
    made.camera = plates.camera_from_stream(zip(source.frames(), holes), *size)
    samples = plates.PlateSamples(made.camera, *size)
    holes = hole_stream(masks, made.margin, made.hole_frames)
    for t, (frame, hole) in enumerate(zip(source.frames(stop=int(samples.picks[-1]) + 1), holes)):
        samples.add(t, frame, hole)
    made.plate = samples.plate(o.inpaint_radius, 0.0 if exact else o.plate_min_seen)
    return made


def _background_only(source, masks, background, o, scene, notes):
    """``variants.removal`` in passes: camera, plate samples, then each frame filled."""
    return removal(source, masks, o, scene.exact).frames(notes)


def _filled(source, holes, camera, plate, notes, stop=None) -> Iterator[np.ndarray]:
    hidden = recovered = 0
    for t, (frame, hole) in enumerate(zip(source.frames(stop), holes)):
        out, h, r = plates.fill_frame(frame, hole, t, camera, plate)
        hidden, recovered = hidden + h, recovered + r
        yield out
    share = recovered / hidden if hidden else 1.0
    notes.update(camera=camera.label, recovered=f"{share:.4f}")
    notes["hole"] = f"{hidden / (source.count * source.height * source.width):.4f}"


STREAMS = {
    "swap": _swap,
    "person-only": _person_only,
    "background-only": _background_only,
    "silhouette": _silhouette,
    "static-background": _static_background,
    "static-person": _static_person,
}


def compose_stream(
    variant: str,
    source: Source,
    masks: PackedMasks,
    background: np.ndarray | None,
    options: SynthOptions,
    scene: Scene,
) -> tuple[Iterator[np.ndarray], dict[str, str]]:
    """``variants.compose_with_notes`` a frame at a time: (the output frames, uint8 (H, W, 3) each, made as
    they are taken; the notes, complete once every frame has been taken)."""
    notes: dict[str, str] = {}
    return STREAMS[variant](source, masks, background, options, scene, notes), notes

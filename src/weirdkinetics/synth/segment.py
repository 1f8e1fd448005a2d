"""Person masks: segmenter adapters, one person followed over time, a disk cache, and a manifest row's mask source.

A segmenter turns frames uint8 (T, H, W, 3) RGB into person probabilities float32 (T, H, W) in [0, 1].
Adapters are thin; following one person is a pure function; the cache is keyed by the video file's content and
the segmenter's name and settings, so changing either recomputes.

Built in (``SEGMENTERS``):

- ``mediapipe`` (default): MediaPipe selfie segmentation, general model (256x256 input). Runs on CPU
  from the model inside the ``mediapipe`` wheel. Finds every person, but also marks other large salient
  objects as "person" (a rotating Earth scores about 30 % coverage): check coverage, never trust it blindly.
- ``mediapipe-landscape``: the same with the faster 144x256 landscape model (less stable frame to frame).
- ``mediapipe-pose``: MediaPipe pose tracking with ``enable_segmentation=True`` (full model, the one the
  wheel ships). One person only, misses frames until its detector locks on, 6-10x slower; but empty when
  nobody is there.
- ``true``: the demo's true masks (``mask_path`` column -> npz with ``masks`` bool (T, H, W)).
- ``deeplabv3_resnet50``, ``deeplabv3_mobilenet_v3_large``: torchvision DeepLabV3, Pascal VOC person class
  (15), from a local checkpoint (``weights``): optional, for better masks where weights are available.

``MaskSource`` puts these together for a manifest row: true masks from its ``mask_path``, or a segmenter
through the cache, then (``person``) one person followed over time (``track_person``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from weirdkinetics import storage
from weirdkinetics._optional import require
from weirdkinetics.digest import sha256_file
from weirdkinetics.errors import UnknownNameError, UserError, did_you_mean, option
from weirdkinetics.inputs import unreadable
from weirdkinetics.manifest import mask_path
from weirdkinetics.synth.bitmasks import NpzFrames, NpzFrameWriter, PackedMasks

if TYPE_CHECKING:
    from weirdkinetics.manifest import ManifestRow


@runtime_checkable
class Segmenter(Protocol):
    """Anything that finds people in frames.

    ``name`` names the source of masks; ``settings`` (JSON-serialisable) holds everything else that
    changes its output (model variant, weights digest, input size): both key the cache.
    """

    name: str
    settings: dict[str, Any]

    def masks(self, frames: np.ndarray) -> np.ndarray:
        """frames: uint8 (T, H, W, 3) RGB -> float32 (T, H, W) person probability in [0, 1]."""
        ...


def _check_frames(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 (T, H, W, 3) RGB, got {frames.dtype} {frames.shape}")
    return frames


# -- MediaPipe -----------------------------------------------------------------------------------------


class MediaPipeSelfie:
    """MediaPipe selfie segmentation (``model``: ``general`` 256x256 or ``landscape`` 144x256).

    Stateless per frame; the graph is built once and reused across videos.
    """

    def __init__(self, model: str = "general"):
        if model not in ("general", "landscape"):
            raise UserError(f"MediaPipe selfie model {model!r} is not one of: general, landscape")
        self.name = "mediapipe" if model == "general" else "mediapipe-landscape"
        self.settings = {"model": model, "mediapipe": _mediapipe_version()}
        self._model = model
        self._graph = None

    def masks(self, frames: np.ndarray) -> np.ndarray:
        frames = _check_frames(frames)
        out = np.empty(frames.shape[:3], np.float32)
        for t, mask in enumerate(self.masks_stream(frames)):
            out[t] = mask
        return out

    def masks_stream(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """``masks`` one frame at a time: uint8 (H, W, 3) RGB each -> float32 (H, W) (stateless per frame)."""
        if self._graph is None:
            mp = require("mediapipe", "synth", "MediaPipe person segmentation")
            self._graph = mp.solutions.selfie_segmentation.SelfieSegmentation(
                model_selection=0 if self._model == "general" else 1
            )
        for frame in frames:
            mask = np.asarray(self._graph.process(np.ascontiguousarray(frame)).segmentation_mask, np.float32)
            yield np.clip(mask, 0.0, 1.0)

    def close(self) -> None:
        if self._graph is not None:
            self._graph.close()
            self._graph = None


class MediaPipePose:
    """MediaPipe pose tracking with its segmentation output (one person; empty frames before it locks on).

    Only ``model_complexity=1`` ships inside the ``mediapipe`` wheel (0 and 2 would be downloaded), so
    that is what runs. A fresh tracker per video: tracking must not carry over between videos.
    """

    name = "mediapipe-pose"

    def __init__(self) -> None:
        self.settings = {
            "model_complexity": 1,
            "smooth_segmentation": True,
            "mediapipe": _mediapipe_version(),
        }

    def masks(self, frames: np.ndarray) -> np.ndarray:
        frames = _check_frames(frames)
        out = np.zeros(frames.shape[:3], np.float32)
        for t, mask in enumerate(self.masks_stream(frames)):
            out[t] = mask
        return out

    def masks_stream(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """``masks`` one frame at a time, one tracker over the whole stream: float32 (H, W) each."""
        mp = require("mediapipe", "synth", "MediaPipe person segmentation")
        with mp.solutions.pose.Pose(
            static_image_mode=False, model_complexity=1, enable_segmentation=True, smooth_segmentation=True
        ) as tracker:
            for frame in frames:
                result = tracker.process(np.ascontiguousarray(frame))
                if result.segmentation_mask is None:  # no person tracked in this frame
                    yield np.zeros(frame.shape[:2], np.float32)
                else:
                    yield np.clip(np.asarray(result.segmentation_mask, np.float32), 0.0, 1.0)


def _mediapipe_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mediapipe")
    except PackageNotFoundError:
        return "unknown"


def detect_people(frames: np.ndarray, samples: int = 8) -> tuple[int, int]:
    """How many of ``samples`` evenly spaced frames MediaPipe's pose detector finds a person in.

    frames: uint8 (T, H, W, 3) RGB. Returns ``(found, looked)``. A cross-check on segmentation masks:
    selfie segmentation marks large salient objects as "person" (a rotating Earth gets 30 % coverage in
    every frame), while the pose detector finds nobody there. It misses people too (partly visible,
    close-up bodies: 2 of 8 frames of the arm-wrestling clip); ``SynthOptions.min_people_frames`` sets the
    fraction a video needs (default half). About 0.1-0.2 s per frame on one CPU core.
    """
    frames = _check_frames(frames)
    if len(frames) == 0:
        return 0, 0
    mp = require("mediapipe", "synth", "MediaPipe person detection")
    index = np.unique(np.linspace(0, len(frames) - 1, min(samples, len(frames))).round().astype(int))
    found = 0
    with mp.solutions.pose.Pose(
        static_image_mode=True, model_complexity=1, min_detection_confidence=0.5
    ) as pose:
        for i in index:
            found += pose.process(np.ascontiguousarray(frames[i])).pose_landmarks is not None
    return found, len(index)


# -- true masks ----------------------------------------------------------------------------------------


def _masks_array(path: Path) -> np.ndarray:
    """The masks a ``mask_path`` file holds: the array ``masks`` of an ``.npz``, or the one array of an
    ``.npy`` (``np.load`` answers an array there, not an archive). Pickled objects are never loaded."""
    data = np.load(path, allow_pickle=False)
    if isinstance(data, np.ndarray):
        return data
    with data:
        if "masks" not in data:
            raise UserError(f"{path}: no array named 'masks' (found: {', '.join(data.files) or 'none'})")
        return np.asarray(data["masks"])


class TrueMasks:
    """Masks from a file: npz with key ``masks``, bool or float (T, H, W) (the demo's ``<video>.mask.npz``).

    One instance per video. When the video was read downscaled (``max_side``), the masks are resized to the
    frames with nearest-neighbour; a different frame count is an error (the file belongs to another video).
    """

    name = "true"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.settings: dict[str, Any] = {}

    def masks(self, frames: np.ndarray) -> np.ndarray:
        frames = _check_frames(frames)
        return self.load(frames.shape[1:3], frames.shape[0])

    def load(self, frame_hw: tuple[int, int], count: int | None = None) -> np.ndarray:
        """The file's masks as float32 (T, H, W) in [0, 1] at ``frame_hw``; ``count``: the frame count the
        file must hold (None: any)."""
        problem = unreadable(self.path)  # before opening: np.load would block forever on a FIFO
        if problem is not None and not problem.missing:
            raise UserError(f"mask file {self.path}: {problem.reason}; fix mask_path or regenerate the demo")
        try:
            masks = _masks_array(self.path)
        except FileNotFoundError:
            raise UserError(
                f"mask file {self.path} does not exist; regenerate the demo or fix mask_path"
            ) from None
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise UserError(f"mask file {self.path} cannot be read ({exc})") from None
        if masks.ndim != 3 or (count is not None and masks.shape[0] != count):
            video = f"{count} frames" if count is not None else "frames"
            raise UserError(
                f"mask file {self.path} holds masks of shape {masks.shape}, but the video has "
                f"{video} of {frame_hw[0]}x{frame_hw[1]}"
            )
        masks = masks.astype(np.float32)
        if masks.shape[1:] != tuple(frame_hw):
            cv2 = require("cv2", "synth", "resizing masks")
            size = (frame_hw[1], frame_hw[0])
            masks = np.stack([cv2.resize(m, size, interpolation=cv2.INTER_NEAREST) for m in masks])
        return np.clip(masks, 0.0, 1.0)

    def stream(self, frame_hw: tuple[int, int], count: int) -> Iterator[np.ndarray]:
        """``load`` a frame at a time: float32 (H, W) in [0, 1] at ``frame_hw``, ``count`` of them (the file
        must hold that many), read from the file as they are wanted (``bitmasks.NpzFrames``; an ``.npy`` is
        memory-mapped). Raises ``UserError`` as ``load`` does."""
        frames = self._open_frames(frame_hw, count)
        try:
            for mask in frames:
                yield self._fit(np.asarray(mask), frame_hw)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise UserError(f"mask file {self.path} cannot be read ({exc})") from None
        finally:
            if isinstance(frames, NpzFrames):
                frames.close()

    def _open_frames(self, frame_hw: tuple[int, int], count: int) -> NpzFrames | np.ndarray:
        problem = unreadable(self.path)  # before opening: np.load would block forever on a FIFO
        if problem is not None and problem.missing:
            raise UserError(f"mask file {self.path} does not exist; regenerate the demo or fix mask_path")
        if problem is not None:
            raise UserError(f"mask file {self.path}: {problem.reason}; fix mask_path or regenerate the demo")
        try:
            frames = _lazy_masks(self.path)
        except KeyError:
            raise UserError(f"{self.path}: no array named 'masks' (found: {_npz_names(self.path)})") from None
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise UserError(f"mask file {self.path} cannot be read ({exc})") from None
        if len(frames.shape) != 3 or frames.shape[0] != count:
            if isinstance(frames, NpzFrames):
                frames.close()
            raise UserError(
                f"mask file {self.path} holds masks of shape {tuple(frames.shape)}, but the video has "
                f"{count} frames of {frame_hw[0]}x{frame_hw[1]}"
            )
        return frames

    @staticmethod
    def _fit(mask: np.ndarray, frame_hw: tuple[int, int]) -> np.ndarray:
        """One file mask (H', W') as ``load`` makes it: float32 (H, W), nearest-neighbour resized, clipped."""
        mask = mask.astype(np.float32)
        if mask.shape != tuple(frame_hw):
            cv2 = require("cv2", "synth", "resizing masks")
            mask = cv2.resize(mask, (frame_hw[1], frame_hw[0]), interpolation=cv2.INTER_NEAREST)
        return np.clip(mask, 0.0, 1.0)


def _lazy_masks(path: Path) -> NpzFrames | np.ndarray:
    """The masks of a ``mask_path`` file without reading them: an ``.npz``'s ``masks`` frame by frame, or an
    ``.npy`` memory-mapped (never a pickle)."""
    if zipfile.is_zipfile(path):
        return NpzFrames(path, "masks")
    data = np.load(path, mmap_mode="r", allow_pickle=False)
    if not isinstance(data, np.ndarray):
        raise ValueError("neither an .npz nor an .npy file")  # noqa: TRY004 (a bad file: "cannot be read")
    return data


def _npz_names(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        names = [n.removesuffix(".npy") for n in archive.namelist()]
    return ", ".join(names) or "none"


# -- torchvision ---------------------------------------------------------------------------------------

_VOC_PERSON = 15
_TV_ARCHS = ("deeplabv3_resnet50", "deeplabv3_mobilenet_v3_large")


class TorchvisionDeepLab:
    """torchvision DeepLabV3 (21 Pascal VOC classes); the person probability is the softmax of class 15.

    weights: a local checkpoint (torchvision's ``COCO_WITH_VOC_LABELS`` files, with or without the
    auxiliary head) loaded with ``torch.load(weights_only=True)``, or ``random[:SEED]`` (seeded random
    weights: plumbing tests only, the masks mean nothing). ``None`` looks for torchvision's published file
    in the torch.hub cache. Frames are resized so the short side is ``size`` (torchvision's own
    preprocessing uses 520) and normalised with ImageNet statistics; probabilities are resized back.
    """

    def __init__(
        self, arch: str, weights: str | None = None, size: int = 520, batch: int = 4, device: str = "cpu"
    ):
        torch = require("torch", "synth", "torchvision segmentation")
        from torchvision.models import segmentation

        from weirdkinetics.models.weights import (
            hub_checkpoint_path,
            load_checkpoint_file,
            load_state_into,
            sha256_file,
        )

        if arch not in _TV_ARCHS:
            raise UnknownNameError(f"torchvision segmenter {arch!r} is not one of: {', '.join(_TV_ARCHS)}")
        self.name, self.size, self.batch, self.device = arch, int(size), int(batch), device
        builder = getattr(segmentation, arch)
        if weights is None:
            enum = {
                "deeplabv3_resnet50": segmentation.DeepLabV3_ResNet50_Weights,
                "deeplabv3_mobilenet_v3_large": segmentation.DeepLabV3_MobileNet_V3_Large_Weights,
            }[arch].COCO_WITH_VOC_LABELS_V1
            cached = hub_checkpoint_path(enum.url)
            if not cached.exists():
                raise UserError(
                    f"segmenter '{arch}' needs weights: pass {option('weights', meta='PATH')} to a torchvision checkpoint "
                    f"(e.g. {os.path.basename(enum.url)} from {enum.url}), or put that file at {cached}; "
                    f"or use {option('segmenter', 'mediapipe')}, which needs no download"
                )
            weights = str(cached)
        if weights.startswith("random"):
            seed = int(weights.split(":", 1)[1]) if ":" in weights else 0
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                module = builder(weights=None, weights_backbone=None, num_classes=21, aux_loss=False)
            digest = f"random:{seed}"
        else:
            state = load_checkpoint_file(weights)
            aux = any(k.startswith("aux_classifier.") for k in state)
            module = builder(weights=None, weights_backbone=None, num_classes=21, aux_loss=aux)
            load_state_into(module, state, str(weights), arch)
            digest = sha256_file(weights)
        self._module = module.eval().to(device)
        self._torch = torch
        self.settings = {"weights": digest, "size": self.size}

    def masks(self, frames: np.ndarray) -> np.ndarray:
        frames = _check_frames(frames)
        torch = self._torch
        import torch.nn.functional as F

        t_frames, height, width = frames.shape[:3]
        scale = self.size / min(height, width)
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
        mean = torch.tensor([0.485, 0.456, 0.406], device=self.device).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225], device=self.device).view(1, 3, 1, 1)
        out = np.empty((t_frames, height, width), np.float32)
        with torch.inference_mode():
            for start in range(0, t_frames, self.batch):
                chunk = torch.from_numpy(frames[start : start + self.batch]).to(self.device)
                x = chunk.permute(0, 3, 1, 2).float().div_(255.0)
                x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
                logits = self._module((x - mean) / std)["out"]
                person = logits.softmax(dim=1)[:, _VOC_PERSON : _VOC_PERSON + 1]
                person = F.interpolate(person, size=(height, width), mode="bilinear", align_corners=False)
                out[start : start + len(chunk)] = person[:, 0].cpu().numpy()
        return np.clip(out, 0.0, 1.0, out=out)

    def masks_stream(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """``masks`` in its batches of ``batch`` frames, yielded one at a time: float32 (H, W) each."""
        batch: list[np.ndarray] = []
        for frame in frames:
            batch.append(frame)
            if len(batch) == self.batch:
                yield from self.masks(np.stack(batch))
                batch = []
        if batch:
            yield from self.masks(np.stack(batch))


def segment_stream(segmenter: Segmenter, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """A segmenter's masks one frame at a time: uint8 (H, W, 3) RGB each -> float32 (H, W). Uses its
    ``masks_stream`` (the built-in ones have one; a tracker keeps its state over the stream), else calls
    ``masks`` on one frame at a time (right for a segmenter that looks at each frame alone)."""
    stream = getattr(segmenter, "masks_stream", None)
    if stream is not None:
        yield from stream(frames)
        return
    for frame in frames:
        yield np.asarray(segmenter.masks(frame[None]), np.float32)[0]


# -- registry ------------------------------------------------------------------------------------------

SEGMENTERS: dict[str, str] = {
    "mediapipe": "MediaPipe selfie segmentation, general model (default; in the mediapipe wheel)",
    "mediapipe-landscape": "MediaPipe selfie segmentation, landscape model (faster, less stable)",
    "mediapipe-pose": "MediaPipe pose tracking with segmentation (one person; empty when nobody is there)",
    "true": "true masks from the manifest's mask_path column (the demo writes them)",
    "deeplabv3_resnet50": "torchvision DeepLabV3-ResNet50, VOC person class (needs weights)",
    "deeplabv3_mobilenet_v3_large": "torchvision DeepLabV3-MobileNetV3, VOC person class (needs weights)",
}


def check_segmenter_name(name: str) -> None:
    """Raise ``UnknownNameError`` with close names and the full list when ``name`` is not a segmenter."""
    if name in SEGMENTERS:
        return
    hint = did_you_mean(name, SEGMENTERS)
    listing = "; ".join(f"{k}: {v}" for k, v in SEGMENTERS.items())
    raise UnknownNameError(f"Unknown segmenter '{name}'.{hint} Known segmenters: {listing}")


def build_segmenter(name: str, weights: str | None = None) -> Segmenter:
    """The segmenter called ``name`` (see ``SEGMENTERS``). ``true`` is per video: use ``TrueMasks(path)``.

    weights: only for the torchvision segmenters (a checkpoint path or ``random[:SEED]``).
    """
    check_segmenter_name(name)
    if weights is not None and name not in _TV_ARCHS:
        raise UserError(
            f"{option('weights')} only applies to the torchvision segmenters ({', '.join(_TV_ARCHS)}), not '{name}'"
        )
    if name == "mediapipe":
        require("mediapipe", "synth", "MediaPipe person segmentation")
        return MediaPipeSelfie("general")
    if name == "mediapipe-landscape":
        require("mediapipe", "synth", "MediaPipe person segmentation")
        return MediaPipeSelfie("landscape")
    if name == "mediapipe-pose":
        require("mediapipe", "synth", "MediaPipe person segmentation")
        return MediaPipePose()
    if name == "true":
        raise ValueError("true masks are per video: build TrueMasks(mask_path) for each row")
    return TorchvisionDeepLab(name, weights)


# -- one person over time -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Track:
    """What ``track_person`` kept: ``frames`` in the clip, ``lost`` frames where the followed person had no
    region (the mask is empty there), ``dropped`` frames where other regions (another person, a dog, a
    salient object) were removed from the mask."""

    frames: int
    lost: int
    dropped: int

    def describe(self) -> str:
        """One line for the manifest's ``mask_track`` column."""
        return f"one person followed; lost in {self.lost}/{self.frames} frames; other regions dropped in {self.dropped}"


def _components(person: np.ndarray, min_area: int) -> list[np.ndarray]:
    """The connected regions (8-connected) of one frame's bool mask with at least ``min_area`` pixels."""
    cv2 = require("cv2", "synth", "following one person")
    count, labels, stats, _ = cv2.connectedComponentsWithStats(person.astype(np.uint8), connectivity=8)
    return [labels == i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= min_area]


def _centroid(region: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(region)
    return np.array([ys.mean(), xs.mean()])


def _follow(
    regions: list[np.ndarray], previous: np.ndarray, reach: int, max_jump: float
) -> np.ndarray | None:
    """The regions of one frame that continue ``previous`` (bool (H, W)): every region overlapping it grown
    by ``reach`` pixels (a person split in parts stays whole), else the nearest by centroid within
    ``max_jump`` pixels; None when nothing continues it."""
    from scipy import ndimage

    near = ndimage.binary_dilation(previous, iterations=reach) if reach > 0 else previous
    kept = [r for r in regions if (r & near).any()]
    if kept:
        return np.logical_or.reduce(kept)
    if not regions:
        return None
    here = _centroid(previous)
    distance = [float(np.linalg.norm(_centroid(r) - here)) for r in regions]
    best = int(np.argmin(distance))
    return regions[best] if distance[best] <= max_jump else None


def track_person(
    masks: np.ndarray,
    threshold: float = 0.5,
    min_area: float = 0.001,
    reach: float = 0.05,
    max_jump: float = 0.15,
) -> tuple[np.ndarray, Track]:
    """One identity over time: the segmenter's mask cut down to the regions of one person.

    masks: float (T, H, W) -> (float32 (T, H, W), ``Track``). Starts from the region of the clip with the
    most persistent mass (its pixels weighted by how often they are person over the clip) and follows it both ways frame to frame by overlap (regions
    touching the previous frame's person grown by ``reach`` x the shorter side), else by the nearest
    centroid within ``max_jump`` x the diagonal. Other regions (a second person, a dog, a table) are
    zeroed, so the variants never swap which object they remove. Regions under ``min_area`` of the frame
    are specks and are dropped. A frame where nothing continues the person keeps an empty mask and counts
    as lost; the next frames are compared with the last frame that had the person. The work is
    ``follow_person``'s, on the binarised masks.
    """
    masks = np.asarray(masks, np.float32)
    keep, track = follow_person(PackedMasks.from_array(masks >= threshold), min_area, reach, max_jump)
    return np.where(keep.to_array(), masks, 0.0).astype(np.float32), track


def _persistence(person: PackedMasks) -> np.ndarray:
    """float32 (H, W): the fraction of frames in which each pixel is person (as ``mean(axis=0)`` gives it)."""
    counts = np.zeros((person.height, person.width), np.int32)
    for mask in person:
        counts += mask
    return counts.astype(np.float32) / np.float32(len(person))


def _seed(person: PackedMasks, persistence: np.ndarray, area: int) -> tuple[int, np.ndarray | None]:
    """(the frame, its region) with the most persistent mass, the first such frame; region None when no
    frame has a region: a person present throughout beats a large object seen in a few frames."""
    best, start, seed = 0.0, 0, None
    for t, mask in enumerate(person):
        for region in _components(mask, area):
            score = float(persistence[region].sum())
            if score > best:
                best, start, seed = score, t, region
    return start, seed


def follow_person(
    person: PackedMasks, min_area: float = 0.001, reach: float = 0.05, max_jump: float = 0.15
) -> tuple[PackedMasks, Track]:
    """``track_person`` on binarised masks held one bit per pixel: person bool (T, H, W) -> the followed
    person's pixels, bool (T, H, W) packed, and the ``Track``. Frames are unpacked one at a time (regions
    are found again where needed rather than kept: a region list per frame is a full-size bool array per
    region), so memory stays at a few frames beside the packed masks."""
    count, height, width = person.shape
    keep = PackedMasks(height, width, count)
    if count == 0:
        return keep, Track(0, 0, 0)
    area = max(1, round(min_area * height * width))
    start, seed = _seed(person, _persistence(person), area)
    if seed is None:
        return keep, Track(count, count, 0)
    grow = max(1, round(reach * min(height, width)))
    jump = max_jump * float(np.hypot(height, width))
    keep[start] = _follow(_components(person[start], area), seed, grow, jump)  # and the parts near it
    lost = 0
    for order in (range(start + 1, count), range(start - 1, -1, -1)):
        previous = keep[start]
        for t in order:
            found = _follow(_components(person[t], area), previous, grow, jump)
            if found is None:
                lost += 1
                continue
            keep[t], previous = found, found
    dropped = sum(bool((person[t] & ~keep[t]).any()) for t in range(count))
    return keep, Track(count, lost, dropped)


# -- cache ---------------------------------------------------------------------------------------------


def file_digest(path: str | Path) -> str:
    """sha256 of the file's bytes (hex): the cache follows the content, not the name."""
    return sha256_file(path)


class MaskCache:
    """Raw (unsmoothed) masks on disk: ``<root>/<video sha256[:16]>/<segmenter key>.npz``.

    Keyed by the video file's sha256, the decoded frame shape (a ``max_side`` read differs) and the
    segmenter's name and settings. Stored as uint8 (probability x 255, compressed), so a read returns the
    masks quantised to 1/255. Unreadable entries are recomputed, never trusted.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._digests: dict[tuple[str, int, int], str] = {}

    def _video_digest(self, video: Path | str) -> str:
        if storage.is_uri(video):  # an object in storage: its identity (size, ETag or mtime) stands for stat
            identity = storage.object_identity(str(video)) or (-1, -1)
            memo = (str(video), *identity)
        else:
            stat = Path(video).stat()
            memo = (str(Path(video).resolve()), stat.st_size, stat.st_mtime_ns)
        if memo not in self._digests:  # hash each file once per run
            uri = storage.is_uri(video)
            self._digests[memo] = storage.sha256_object(str(video)) if uri else file_digest(video)
        return self._digests[memo]

    def entry(self, video: str | Path, segmenter: Segmenter, shape: tuple[int, ...]) -> Path:
        key = json.dumps(
            {"name": segmenter.name, "settings": segmenter.settings, "shape": list(shape)}, sort_keys=True
        )
        tag = hashlib.sha256(key.encode()).hexdigest()[:16]
        return self.root / self._video_digest(video)[:16] / f"{segmenter.name}-{tag}.npz"

    def masks(self, video: str | Path, frames: np.ndarray, segmenter: Segmenter) -> tuple[np.ndarray, bool]:
        """Masks of ``frames`` (decoded from ``video``): float32 (T, H, W), and whether they came from disk."""
        path = self.entry(video, segmenter, frames.shape[:3])
        if path.is_file():  # anything else there (a FIFO would block np.load) is replaced below
            try:
                with np.load(path) as data:
                    stored = data["masks"]
                if stored.shape == frames.shape[:3]:
                    return stored.astype(np.float32) / 255.0, True
            except (OSError, ValueError, KeyError, zipfile.BadZipFile):
                pass  # a damaged entry is recomputed below
        stored = np.rint(np.clip(segmenter.masks(frames), 0.0, 1.0) * 255.0).astype(np.uint8)
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, masks=stored)
        # a temporary name per writer: Ray workers (synth, explain) may segment the same video at once, and
        # the last rename wins with the same bytes
        tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.partial")
        try:
            tmp.write_bytes(buffer.getvalue())
            tmp.replace(path)  # atomic: a crash never leaves half an entry
        finally:
            tmp.unlink(missing_ok=True)  # a failed write (a full disk) leaves no stray temporary file
        # the same quantised values as a later read, so a run does not depend on the cache's state
        return stored.astype(np.float32) / 255.0, False

    def stream(
        self,
        video: str | Path,
        frames: Iterable[np.ndarray],
        shape: tuple[int, int, int],
        segmenter: Segmenter,
    ) -> Iterator[np.ndarray]:
        """``masks`` a frame at a time for a video of ``shape`` (T, H, W): float32 (H, W) each, read from the
        entry as wanted, else computed from ``frames`` and written to it as they come (renamed into place
        once all T are there). An entry that breaks off part-way raises ``DamagedEntry`` (``forget`` it and
        stream again: ``MaskSource.raw_stream(fresh=True)``)."""
        path = self.entry(video, segmenter, shape)
        stored = self._open(path, shape)
        if stored is None:
            yield from self._compute(path, frames, shape, segmenter)
            return
        try:
            for mask in stored:
                yield mask.astype(np.float32) / 255.0
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise DamagedEntry(str(exc)) from None
        finally:
            stored.close()

    def forget(self, video: str | Path, segmenter: Segmenter, shape: tuple[int, int, int]) -> None:
        """Remove the entry (a damaged one found part-way through a read)."""
        self.entry(video, segmenter, shape).unlink(missing_ok=True)

    @staticmethod
    def _open(path: Path, shape: tuple[int, int, int]) -> NpzFrames | None:
        if not path.is_file():  # anything else there (a FIFO would block) is replaced when computed
            return None
        try:
            stored = NpzFrames(path, "masks")
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error):
            return None  # a damaged entry is recomputed
        if stored.shape != tuple(shape) or stored.dtype != np.uint8:
            stored.close()
            return None
        return stored

    @staticmethod
    def _compute(
        path: Path, frames: Iterable[np.ndarray], shape: tuple[int, int, int], segmenter: Segmenter
    ) -> Iterator[np.ndarray]:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.partial")  # one per writer, as in masks
        writer = NpzFrameWriter(tmp, "masks", shape, np.uint8)
        finished = False
        try:
            for mask in segment_stream(segmenter, frames):
                stored = np.rint(np.clip(mask, 0.0, 1.0) * 255.0).astype(np.uint8)
                writer.write(stored)
                yield stored.astype(np.float32) / 255.0
            writer.close()
            finished = True
            tmp.replace(path)  # atomic: a crash never leaves half an entry
        finally:
            if not finished:  # stopped part-way (an error, or the reader gave up): no entry
                writer.abort()
            tmp.unlink(missing_ok=True)


class DamagedEntry(Exception):
    """A mask cache entry broke off part-way through a read."""


# -- per manifest row ----------------------------------------------------------------------------------


def true_mask_path(row: ManifestRow, manifest_dir: Path) -> Path:
    """The row's ``mask_path`` file (relative paths from the manifest's folder); a ``UserError`` when empty."""
    path = mask_path(row, manifest_dir)
    if path is None:
        raise UserError(
            f"row {row.row}: empty mask_path; {option('segmenter', 'true')} needs the demo's mask files"
        )
    return path


class MaskSource:
    """Person masks for a manifest row's decoded frames.

    name: ``true`` (the row's ``mask_path`` file, relative to ``manifest_dir``) or the segmenter's name;
    segmenter: the segmenter (None for true masks); cache: where raw masks are kept (None: no cache).
    No temporal median: it eroded masks (5-13 % of a jumping actor's pixels); the variants grow holes
    over time instead (``composite.hole_masks``).
    """

    def __init__(
        self,
        name: str,
        segmenter: Segmenter | None = None,
        cache: MaskCache | None = None,
        manifest_dir: Path = Path("."),
    ):
        self.name, self.segmenter, self.cache = name, segmenter, cache
        self.manifest_dir = manifest_dir

    @property
    def settings(self) -> dict[str, Any]:
        """The segmenter's settings (empty for true masks), as ``synth.json`` records them."""
        return {} if self.segmenter is None else dict(self.segmenter.settings)

    def masks(self, row: ManifestRow, frames: np.ndarray) -> np.ndarray:
        """frames: uint8 (T, H, W, 3) decoded from ``row`` -> float32 (T, H, W) in [0, 1], as the segmenter
        (or the file) gave them. Raises ``UserError`` when they cannot be made."""
        if self.name == "true":
            raw = TrueMasks(true_mask_path(row, self.manifest_dir)).masks(frames)
        elif self.cache is not None:
            raw, _ = self.cache.masks(row.path, frames, self.segmenter)
        else:
            raw = self.segmenter.masks(frames)
        return raw

    def raw_stream(
        self, row: ManifestRow, frames: Iterable[np.ndarray], shape: tuple[int, int, int], fresh: bool = False
    ) -> Iterator[np.ndarray]:
        """``masks`` a frame at a time for ``frames`` decoded from ``row`` (``shape`` (T, H, W)): float32
        (H, W) each. Raises ``UserError`` when they cannot be made, ``DamagedEntry`` when the cache's entry
        breaks off part-way (the caller starts again with ``fresh=True``, which recomputes it)."""
        if self.name == "true":
            yield from TrueMasks(true_mask_path(row, self.manifest_dir)).stream(shape[1:], shape[0])
        elif self.cache is not None:
            if fresh:
                self.cache.forget(row.path, self.segmenter, shape)
            yield from self.cache.stream(row.path, frames, shape, self.segmenter)
        else:
            yield from segment_stream(self.segmenter, frames)

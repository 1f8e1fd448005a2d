"""Explain a model over a manifest: saliency per clip, statistics against person masks, one store row per
(video, run, method, settings).

Per video: decode only the frames of the explained clips (the centre clip by default), get the person masks
of those frames (synth's sources: a segmenter through the mask cache, or the demo's true masks), check the
masks as synth does (a video without a usable mask is ``excluded`` with synth's reason), then per clip run
each method and the pure statistics of ``metrics.attribution``. One clip's gradients at a time.

Methods (``METHODS``): ``gradcam`` (cards that declare a target layer) and ``occlusion`` (every card).

Every number carries its check: the background share with its normalised score (area and the map's own
resolution, ``metrics.attribution.background_score``); the deletion curve against ``random_repeats`` seeded
random deletions, whose spread is its noise floor, and only where the target score is at least 2 x chance
(else "not assessable"); occlusion drops likewise only above 2 x chance.

What replaces removed pixels, and why:

- occlusion (a whole region: the person, or the background): 0 after normalisation, i.e. the card's
  normalisation mean, a flat neutral grey with no texture, shape or motion; a blur would keep the region's
  colours and coarse shape, so a "removed" person would still be a moving blob.
- deletion curves (many small holes): a Gaussian blur of the clip (sigma 1/8 of the crop side), which
  removes the detail the map points at while staying within the colours of the video. Scattered flat grey
  patches are a strong out-of-distribution signal of their own: on the demo's control model, grey patches
  at random moved the score more than deleting the person did, which says nothing about the map.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from weirdkinetics import sampling
from weirdkinetics.attribution.gradcam import gradcam
from weirdkinetics.clips import ClipTask, plan_video, probe_file, probe_row
from weirdkinetics.decode import VideoInfo, read_video
from weirdkinetics.errors import UserError, option, rename_options
from weirdkinetics.manifest import Manifest, ManifestRow
from weirdkinetics.metrics import attribution as stats
from weirdkinetics.models.card import ModelCard
from weirdkinetics.models.loading import LoadedModel
from weirdkinetics.predict import Identity, count_statuses
from weirdkinetics.progress import progress_bar
from weirdkinetics.results import class_indices, dumps
from weirdkinetics.statuses import RowFailure
from weirdkinetics.store import Store, StoredAttribution, file_identity
from weirdkinetics.transforms import crop_offsets, preprocess_clip, resized_hw

METHODS: dict[str, str] = {
    "gradcam": "Grad-CAM on the card's target layer, one map per frame (cards that declare cam_layers)",
    "occlusion": "target-score drop with the person removed vs the background removed (every card)",
}
CLIP_CHOICES = ("centre", "all")
TARGET_CHOICES = ("true", "pred")
OVERLAY_SIDE = 32  # stored maps and masks are at most this many pixels a side (overlays only)


def methods_for(card: ModelCard) -> list[str]:
    """The attribution methods that work for ``card``: gradcam where it declares a target layer, and
    occlusion always."""
    return (["gradcam"] if card.cam_layers else []) + ["occlusion"]


def check_methods(card: ModelCard, methods: list[str] | None) -> list[str]:
    """``methods`` (default: all that work for the card), refusing unknown ones and those the card lacks."""
    works = methods_for(card)
    if not methods:
        return works
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise UserError(
            f"{option('methods')} {', '.join(unknown)}: not a method; methods: {', '.join(METHODS)}"
        )
    lacking = [m for m in methods if m not in works]
    if lacking:
        raise UserError(
            f"{option('methods')} {', '.join(lacking)}: model '{card.name}' declares no Grad-CAM target layer "
            f"(cam_layers); methods that work for it: {', '.join(works)}"
        )
    return list(dict.fromkeys(methods))


@dataclass(frozen=True)
class ExplainSettings:
    """Everything besides the run that decides an attribution row: part of its store key."""

    clips: str = "centre"
    target: str = "true"
    segmenter: str = "mediapipe"
    segmenter_settings: dict = field(default_factory=dict)
    dilate_px: int | None = None  # None: 2 % of the crop side, at least 1 pixel
    fill: str = "mean"  # occlusion: the normalisation mean (0 after normalisation)
    deletion_fill: str = "blur:1/8"  # deletion curves: Gaussian blur, sigma 1/8 of the crop side
    fractions: tuple[float, ...] = stats.DELETION_FRACTIONS
    seed: int = 0
    random_repeats: int = 3  # seeded random deletions per fraction: their spread is the noise floor
    classes: tuple[str, ...] = ()
    confirm_person: bool = (
        True  # as synth: a segmenter's mask needs MediaPipe's pose detector to find someone
    )

    def __post_init__(self) -> None:
        if self.clips not in CLIP_CHOICES:
            raise UserError(f"{option('clips', self.clips)}: use one of {', '.join(CLIP_CHOICES)}")
        if self.target not in TARGET_CHOICES:
            raise UserError(f"{option('target', self.target)}: use one of {', '.join(TARGET_CHOICES)}")

    def clip_spec(self, card: ModelCard) -> sampling.ClipSpec:
        """The explained clips: the card's dense protocol, its centre clip only for ``clips="centre"``."""
        return sampling.ClipSpec(
            card.fps, card.frames, card.stride, card.clip_spacing, 1 if self.clips == "centre" else None
        )

    def dilation(self, card: ModelCard) -> int:
        return self.dilate_px if self.dilate_px is not None else max(1, round(0.02 * card.crop))

    def to_dict(self, method: str, card: ModelCard) -> dict:
        d = {
            "method": method,
            "clips": self.clips,
            "target": self.target,
            "segmenter": self.segmenter,
            "segmenter_settings": self.segmenter_settings,
            "dilate_px": self.dilation(card),
            "fill": self.fill,
            "confirm_person": self.confirm_person and self.segmenter != "true",
            "classes_digest": hashlib.sha256("\n".join(self.classes).encode()).hexdigest()[:16],
        }
        if method == "gradcam":
            d.update(
                fractions=list(self.fractions),
                seed=self.seed,
                random_repeats=self.random_repeats,
                layers=list(card.cam_layers),
                random="map-grid",  # was "map-cells": random blocks redrawn in every frame
                deletion_fill=self.deletion_fill,
            )
        return d

    def key(self, method: str, card: ModelCard) -> str:
        return hashlib.sha256(dumps(self.to_dict(method, card)).encode()).hexdigest()[:16]


# -- masks ---------------------------------------------------------------------------------------------


class _FramesSegmenter:
    """A segmenter under a name whose settings also name which frames were segmented, so the mask cache
    (keyed by video, segmenter settings and frame shape) never mixes two different frame selections."""

    def __init__(self, segmenter: Any, tag: str):
        self._segmenter, self.name = segmenter, segmenter.name
        self.settings = {**segmenter.settings, "frames": tag}

    def masks(self, frames: np.ndarray) -> np.ndarray:
        return self._segmenter.masks(frames)


class MaskSource:
    """Person probabilities float32 (T, H, W) for decoded frames: the manifest's true masks (``true``) or a
    segmenter through synth's mask cache."""

    def __init__(self, name: str, segmenter: Any = None, cache: Any = None, manifest_dir: Path | None = None):
        self.name, self.segmenter, self.cache = name, segmenter, cache
        self.manifest_dir = manifest_dir or Path(".")

    @property
    def settings(self) -> dict:
        return {} if self.segmenter is None else dict(self.segmenter.settings)

    def masks(self, row: ManifestRow, frames: np.ndarray, source_index: np.ndarray, tag: str) -> np.ndarray:
        """frames: uint8 (T, H, W, 3) decoded at source frames ``source_index`` int (T,). Raises
        ``UserError`` when no mask can be made (synth's ``mask_error``)."""
        from weirdkinetics.synth.segment import TrueMasks, true_mask_path

        if self.name == "true":
            path = true_mask_path(row, self.manifest_dir)
            # one read of the file (its own regular-file check first), then the decoded frames' masks
            whole = TrueMasks(path).load(frames.shape[1:3])
            if len(source_index) and int(source_index.max()) >= len(whole):
                raise UserError(
                    f"mask file {path} holds {len(whole)} frames, but the video has frame "
                    f"{int(source_index.max())}"
                )
            return whole[source_index]
        segmenter = _FramesSegmenter(self.segmenter, tag)
        if self.cache is not None:
            return self.cache.masks(row.path, frames, segmenter)[0]
        return segmenter.masks(frames)


def person_in_view(masks: np.ndarray, card: ModelCard, dilate_px: int) -> np.ndarray:
    """Person masks as the model sees the frames: resized and centre-cropped like them, then dilated.

    masks: float (T, H, W) probabilities -> bool (T, crop, crop), thresholded at 0.5 and grown by
    ``dilate_px`` pixels (a square neighbourhood), so the edge of the person counts as person.
    """
    from scipy import ndimage

    m = torch.from_numpy(np.ascontiguousarray(masks, dtype=np.float32))[:, None]
    h, w = resized_hw(m.shape[-2], m.shape[-1], card.resize)
    if (h, w) != tuple(m.shape[-2:]):
        m = F.interpolate(m, size=(h, w), mode="bilinear", align_corners=False)
    top, left = crop_offsets(h, w, card.crop, 1, card.crop_rounding)[0]
    view = (m[:, 0, top : top + card.crop, left : left + card.crop] >= 0.5).numpy()
    if dilate_px > 0:
        structure = np.zeros((1, 3, 3), bool)
        structure[0] = True
        view = ndimage.binary_dilation(view, structure=structure, iterations=dilate_px)
    return view


def downsample(volume: np.ndarray, side: int = OVERLAY_SIDE) -> np.ndarray:
    """float (T, H, W) -> float32 (T, h, w) with max(h, w) <= side (area average), for storage."""
    v = torch.from_numpy(np.ascontiguousarray(volume, dtype=np.float32))[:, None]
    h, w = v.shape[-2:]
    scale = min(1.0, side / max(h, w))
    if scale < 1.0:
        v = F.interpolate(v, size=(max(1, round(h * scale)), max(1, round(w * scale))), mode="area")
    return v[:, 0].numpy()


# -- scores --------------------------------------------------------------------------------------------


class Scorer:
    """Target scores as evaluation computes them: softmax over the card's logits restricted to the class
    subset (renormalised), for batches of clips without gradients. Always in exact fp32 (no TF32 on CUDA),
    as evaluation's fp32 runs: Grad-CAM's passes too, since PyTorch's switch is process-wide."""

    def __init__(self, model: LoadedModel, class_names: list[str], classes: list[str], batch_size: int = 8):
        from weirdkinetics.inference import exact_fp32

        self.model = model
        self.index = torch.tensor(class_indices(class_names, classes))
        self.classes = list(classes)
        self.batch_size = batch_size
        self.device = next(model.module.parameters()).device
        exact_fp32(self.device)

    @torch.no_grad()
    def restricted(self, clips: torch.Tensor) -> torch.Tensor:
        """clips: float32 (B, C, T, H, W) -> float32 (B, len(classes)) restricted probabilities."""
        out = []
        for start in range(0, clips.shape[0], self.batch_size):
            chunk = clips[start : start + self.batch_size].to(self.device)
            logits = self.model.adapter.forward(self.model.module, self.model.card, chunk).float()
            out.append(torch.softmax(logits[:, self.index.to(logits.device)], dim=-1).cpu())
        return torch.cat(out)


def _removed(clip: torch.Tensor, remove: np.ndarray, fill: torch.Tensor | None = None) -> torch.Tensor:
    """clip: float32 (C, T, H, W); remove: bool (..., T, H, W) -> (..., C, T, H, W) with removed pixels taken
    from ``fill`` (C, T, H, W), or 0 (the normalisation mean) when it is None."""
    gone = torch.from_numpy(np.asarray(remove, dtype=bool)).to(clip.dtype).unsqueeze(-4)
    kept = clip * (1.0 - gone)
    return kept if fill is None else kept + fill * gone


def blurred(clip: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of each frame (separable, edges replicated): float32 (C, T, H, W) -> same shape."""
    radius = max(1, int(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=clip.dtype)
    kernel = torch.exp(-(x**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    c, t, h, w = clip.shape
    v = clip.permute(1, 0, 2, 3).reshape(t * c, 1, h, w)
    v = F.conv2d(F.pad(v, (radius, radius, 0, 0), mode="replicate"), kernel.view(1, 1, 1, -1))
    v = F.conv2d(F.pad(v, (0, 0, radius, radius), mode="replicate"), kernel.view(1, 1, -1, 1))
    return v.reshape(t, c, h, w).permute(1, 0, 2, 3).contiguous()


def explain_clip(
    model: LoadedModel,
    scorer: Scorer,
    clip: torch.Tensor,
    person: np.ndarray,
    target_pos: int,
    methods: list[str],
    settings: ExplainSettings,
    base: float | None = None,
) -> dict[str, dict]:
    """All requested methods on one clip. clip: float32 (C, T, H, W); person: bool (T, H, W) in the same view.
    base: the clip's target score when the caller already has it (one forward pass per clip, not per method).

    Returns method -> {"numbers": {...}, "saliency": float32 (T, H, W)}.
    """
    target = int(scorer.index[target_pos])
    if base is None:
        base = float(scorer.restricted(clip[None])[0, target_pos])
    chance = 1.0 / len(scorer.classes)
    out: dict[str, dict] = {}
    if "gradcam" in methods:
        out["gradcam"] = _gradcam_numbers(model, scorer, clip, person, target, target_pos, settings, base)
    if "occlusion" in methods:
        out["occlusion"] = _occlusion_numbers(scorer, clip, person, target_pos, base, chance)
    return out


def _share_numbers(share: float, person: np.ndarray, floor: float) -> dict:
    """The raw background share, the background's area and the normalised score (``stats.background_score``)."""
    area = stats.background_area(person)
    return {
        "background_score": stats.background_score(share, area, floor),
        "background_share": share,
        "background_area": area,
        "person_floor": floor,
    }


def _gradcam_numbers(
    model: LoadedModel,
    scorer: Scorer,
    clip: torch.Tensor,
    person: np.ndarray,
    target: int,
    target_pos: int,
    settings: ExplainSettings,
    base: float,
) -> dict:
    """Grad-CAM's map, its shares and its deletion check against ``random_repeats`` seeded random deletions."""
    info: dict = {}
    saliency = gradcam(model, clip, target, info)
    share = stats.background_share(saliency, person)
    # the random baseline is a random map on the map's native (T', h, w) grid, brought up as the map is:
    # as coarse in space and time as the map (holes redrawn in every frame would add a flicker of their own)
    masks = [
        stats.deletion_masks(saliency, settings.fractions, settings.seed + k, info["grid"])
        for k in range(max(1, settings.random_repeats))
    ]
    fill = blurred(clip, clip.shape[-1] / 8)
    batch = _removed(clip, np.concatenate([masks[0][0], *(random for _, random in masks)]), fill)
    scores = scorer.restricted(batch)[:, target_pos].numpy().astype(np.float64)
    f = len(settings.fractions)
    drops = (base - scores).reshape(-1, f)
    deletion = stats.deletion_result(settings.fractions, drops[0], drops[1:], base, 1.0 / len(scorer.classes))
    numbers = _share_numbers(share, person, stats.person_floor(person, info["grid"]))
    numbers.update(base_score=base, deletion=deletion.to_dict())
    return {"numbers": numbers, "saliency": saliency}


def _occlusion_numbers(
    scorer: Scorer, clip: torch.Tensor, person: np.ndarray, target_pos: int, base: float, chance: float
) -> dict:
    """The score with the person removed and with the background removed; not assessable below chance."""
    both = _removed(clip, np.stack([person, ~person]))
    scores = scorer.restricted(both)[:, target_pos].numpy().astype(np.float64)
    person_drop, background_drop = base - scores[0], base - scores[1]
    share = stats.occlusion_share(person_drop, background_drop)
    # the occlusion "map": each region's score drop spread evenly over its pixels
    t = person.shape[0]
    inside = max(person.sum(), 1) / t
    outside = max((~person).sum(), 1) / t
    saliency = np.where(person, max(person_drop, 0.0) / inside, max(background_drop, 0.0) / outside)
    ok, reason = stats.assessable(base, chance)
    numbers = _share_numbers(share, person, 0.0)  # the regions are the mask itself: no resolution floor
    numbers.update(
        base_score=base,
        chance=chance,
        person_drop=person_drop,
        background_drop=background_drop,
        assessable=ok,
        assessable_reason=reason,
    )
    return {"numbers": numbers, "saliency": saliency.astype(np.float32)}


def _mean_numbers(per_clip: list[dict]) -> dict:
    """Average the clips' numbers (deletion curves point by point); the first clip's keys decide."""
    if len(per_clip) == 1:
        return per_clip[0]
    out: dict[str, Any] = {}
    for key, value in per_clip[0].items():
        if key == "deletion":
            out[key] = _mean_deletion([c["deletion"] for c in per_clip])
        elif isinstance(value, (int, float)):
            vals = np.array([c[key] for c in per_clip], dtype=np.float64)
            out[key] = float(np.nanmean(vals)) if np.isfinite(vals).any() else math.nan
        else:
            out[key] = value
    if "assessable" in out:  # occlusion: judged again at the video's mean target score, as deletion is
        out["assessable"], out["assessable_reason"] = stats.assessable(out["base_score"], out.get("chance"))
    return out


def _mean_deletion(per_clip: list[dict]) -> dict:
    """The clips' deletion curves averaged point by point (and seed by seed), judged again at the mean base
    score: a video is faithful on average, not clip by clip."""
    first = per_clip[0]
    salient = np.mean([c["salient_drop"] for c in per_clip], axis=0)
    random = np.mean([c.get("random_drops") or [c["random_drop"]] for c in per_clip], axis=0)
    bases = [c["base_score"] for c in per_clip if c.get("base_score") is not None]
    base = float(np.mean(bases)) if bases else math.inf
    return stats.deletion_result(
        tuple(first["fractions"]), salient, random, base, first.get("chance")
    ).to_dict()


# -- one row -------------------------------------------------------------------------------------------


def check_row(row: ManifestRow, classes: list[str], target: str) -> None:
    """Pure: raise ``RowFailure("excluded", ...)`` for a row that has no target whatever its video holds:
    (target ``true``) a label outside the class subset. The checks every stage shares (a synth row that was
    not made, a file that is not a video) are ``clips.probe_row``'s."""
    if row.label not in classes and target == "true":
        raise RowFailure("excluded", f"label '{row.label}' is not in the class subset: no target score")


@dataclass(frozen=True)
class ExplainedFrames:
    """The decoded frames that a row's explained clips use, and how decoding went."""

    frames: np.ndarray  # uint8 (K, H, W, 3): resampled frames ``wanted``, in order
    wanted: np.ndarray  # int64 (K,) sorted distinct resampled frame indices
    clips: np.ndarray  # int64 (num_clips, T) resampled frame indices of each explained clip
    source_index: (
        np.ndarray
    )  # int64 (K,) source frame of each of ``frames`` (true masks are per source frame)
    status: str  # ok, partial or short
    reason: str  # the decode notes ("" when ok)


def _read_clip_frames(
    path: Path, fps: float, spec: sampling.ClipSpec, clips: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int | None, str | None]:
    """Decode the frames ``clips`` use. Returns ``(frames, clips, num_frames, note)``: when decoding broke
    off before the last of them, the clips are taken again from the frames before the break (``num_frames``
    of them) and ``note`` says so; ``num_frames`` None: as planned. ``note`` is None when nothing broke off
    ("" for a partial decode without a reason). Raises ``RowFailure`` when no frame decodes."""
    wanted = np.unique(clips)
    video = read_video(path, fps=fps, indices=wanted)
    if video.status not in ("missing", "decode_error") and len(video.frames) >= len(wanted):
        return video.frames, clips, None, (video.reason if video.status == "partial" else None)
    if not (video.status == "partial" or (video.status == "ok" and len(video.frames))):
        raise RowFailure(
            video.status if video.status != "ok" else "decode_error", video.reason or "no frames"
        )
    # decode what precedes the break, and take the clips from those frames
    whole = read_video(path, fps=fps)
    if len(whole.frames) == 0:
        raise RowFailure("decode_error", whole.reason or "no frame could be decoded")
    n = len(whole.frames)
    clips = sampling.clip_indices(n, spec)
    note = f"{whole.reason or video.reason}; used the {n} frame(s) before the break"
    return whole.frames[np.unique(clips)], clips, n, note


def decode_clips(
    path: Path, card: ModelCard, spec: sampling.ClipSpec, info: VideoInfo | None = None
) -> ExplainedFrames:
    """The explained clips' frames of one video at the card's frame rate, with the row's decode status
    (``partial`` after a truncation or a break, ``short`` when a clip is clamped); raises ``RowFailure``
    when there is nothing to explain. info: the file's metadata when the caller has probed it
    (``clips.probe_row``); None probes it here (``clips.probe_file``).

    The clips are planned by the shared seam (``clips.plan_video``, as evaluation plans them), but decoded
    here with ``read_video`` rather than ``clips.assemble``: the person masks and the pose detector need the
    raw uint8 frames at the source's size, which ``assemble`` does not keep (it resizes while it decodes).
    """
    if info is None:
        info = probe_file(path)
    plan = plan_video(info.usable_times, card.fps, {0: ClipTask(card, spec)})  # as read_video resamples
    why = info.time_jump or info.truncation
    status, notes = ("partial", [why]) if why else ("ok", [])
    frames, clips, broke_at, note = _read_clip_frames(path, card.fps, spec, plan.clips[0])
    if note is not None:
        status = "partial"
        notes.append(note)
    n = plan.num_frames if broke_at is None else broke_at
    if sampling.is_short(n, spec):
        notes.append(f"{n} frame(s) at {card.fps:g} fps, fewer than one clip's span of {spec.span}")
        status = "short" if status == "ok" else status
    wanted = np.unique(clips)
    source_index = plan.src_of_out[np.minimum(wanted, len(plan.src_of_out) - 1)]
    return ExplainedFrames(frames, wanted, clips, source_index, status, "; ".join(x for x in notes if x))


def person_masks(
    row: ManifestRow,
    decoded: ExplainedFrames,
    fps: float,
    masks_from: MaskSource,
    confirm_person: bool,
    quality: dict,
) -> np.ndarray:
    """Person probabilities float32 (K, H, W) for ``decoded.frames``, checked as synth checks them (mask
    coverage, then, for a segmenter's masks with ``confirm_person``, MediaPipe's pose detector). Fills
    ``quality`` (stored with the row whatever happens) and raises ``RowFailure("excluded", ...)`` when no
    usable mask is found."""
    from weirdkinetics.synth import composite

    # the frame selection (and the rate it was resampled at) joins the mask cache's key
    selection = f"{fps:g}:{','.join(map(str, decoded.wanted.tolist()))}"
    tag = hashlib.sha256(selection.encode()).hexdigest()[:16]
    try:
        masks = masks_from.masks(row, decoded.frames, decoded.source_index, tag)
    except UserError as exc:
        raise RowFailure("excluded", f"no usable person mask: {exc}") from None
    q = composite.mask_quality(composite.mask_coverage(masks))
    quality.update(mask_coverage=q.mean_coverage, person_frames=q.person_frames)
    if not q.ok:
        raise RowFailure("excluded", f"no usable person mask: {q.reason}")
    if confirm_person and masks_from.name != "true":
        from weirdkinetics.synth.segment import detect_people

        found, looked = detect_people(decoded.frames)
        quality["people_detected"] = f"{found}/{looked}"
        if found == 0:
            raise RowFailure(
                "excluded",
                f"no usable person mask: MediaPipe's pose detector finds no person in any of {looked} "
                f"evenly spaced frames, so the mask ({q.mean_coverage:.0%} mean coverage) is likely not a person",
            )
    return masks


def check_in_view(masks: np.ndarray, card: ModelCard, quality: dict) -> None:
    """Raise ``RowFailure("excluded", ...)`` when the person is not in what the model sees.

    masks: float (K, H, W) person probabilities of the explained frames, already found usable over the whole
    frame (``person_masks``). The model sees only the card's resized centre crop: a person at the edge of a
    wide video is outside it, and every share measured inside the crop would then be "background" (1.000
    with nothing to compare it to). The frame rule of synth (``composite.QualityRule``: a person in at least
    half of the frames, each with at least 0.5 % of the pixels) is applied again to the undilated in-view
    masks; its upper bound on coverage is not (a close-up may fill most of a crop). Fills ``quality`` with
    the in-view coverage, stored with the row whatever happens.
    """
    from weirdkinetics.synth import composite

    view = person_in_view(masks, card, dilate_px=0)
    rule = composite.QualityRule(max_mean_coverage=1.0)
    q = composite.mask_quality(composite.mask_coverage(view), rule)
    quality.update(view_coverage=q.mean_coverage, view_person_frames=q.person_frames)
    if not q.ok:
        raise RowFailure(
            "excluded",
            f"person outside the model's view: inside the {card.crop}x{card.crop} centre crop the model sees, "
            f"{q.reason}",
        )


@dataclass
class RowResult:
    """How one row ended, for every method it was explained with."""

    status: str
    reason: str
    numbers: dict[str, dict] = field(default_factory=dict)  # method -> its numbers (rows that got that far)
    # method -> (saliency float32 (T, h, w), person bool (T, h, w)) of the first clip, downsampled
    maps: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    quality: dict = field(default_factory=dict)  # the masks' quality, stored as a failed row's numbers
    seconds: dict[str, float] = field(default_factory=dict)  # method -> seconds in its clips (explained rows)

    def numbers_of(self, method: str) -> dict:
        return self.numbers.get(method, self.quality)


@dataclass(frozen=True)
class RowExplainer:
    """Explains one manifest row with the methods it still needs: decode the clips' frames, person masks,
    then per clip the target and each method. Holds what every row shares, so an engine only hands it rows.

    classes: the class subset the scorer restricts scores to (targets are positions in it).
    """

    model: LoadedModel
    scorer: Scorer
    classes: list[str]
    settings: ExplainSettings
    masks_from: MaskSource

    @property
    def spec(self) -> sampling.ClipSpec:
        return self.settings.clip_spec(self.model.card)

    def __call__(self, row: ManifestRow, methods: list[str]) -> RowResult:
        quality: dict = {}
        decoded = None
        try:
            info = probe_row(row)  # the pre-decode checks evaluation makes, with its statuses
            check_row(row, self.classes, self.settings.target)
            decoded = decode_clips(row.path, self.model.card, self.spec, info)
            masks = person_masks(
                row, decoded, self.model.card.fps, self.masks_from, self.settings.confirm_person, quality
            )
            check_in_view(masks, self.model.card, quality)
        except RowFailure as failure:
            # a decode note found before the failure (partial, short) stays in the reason
            note = decoded.reason if decoded is not None else ""
            return RowResult(
                failure.status, "; ".join(x for x in (failure.reason, note) if x), quality=quality
            )
        result = RowResult(decoded.status, decoded.reason, quality=quality)
        self._explain_clips(row, decoded, masks, methods, result)
        return result

    def target(self, probs: torch.Tensor, label: str) -> tuple[int, str]:
        """The target's position in ``classes`` and its name: the label, or the clip's restricted
        prediction (target ``pred``). probs: float32 (len(classes),), the clip's restricted scores."""
        if self.settings.target == "pred":
            pos = int(torch.argmax(probs))
            return pos, self.classes[pos]
        return self.classes.index(label), label

    def _explain_clips(
        self,
        row: ManifestRow,
        decoded: ExplainedFrames,
        masks: np.ndarray,
        methods: list[str],
        out: RowResult,
    ) -> None:
        """Every method on every clip into ``out``: numbers averaged over clips, maps of the first clip."""
        card = self.model.card
        dilate = self.settings.dilation(card)
        position = {int(k): i for i, k in enumerate(decoded.wanted)}
        per_clip: dict[str, list[dict]] = {m: [] for m in methods}
        out.seconds = {m: 0.0 for m in methods}
        target_name = row.label
        for c, idx in enumerate(decoded.clips):
            pick = [position[int(k)] for k in idx]
            clip = preprocess_clip(decoded.frames[pick], card, crops=1)[0]
            person = person_in_view(masks[pick], card, dilate)
            probs = self.scorer.restricted(clip[None])[0]  # once per clip: the target and every method's base
            target_pos, target_name = self.target(probs, row.label)
            base = float(probs[target_pos])
            for m in methods:
                tm = time.perf_counter()
                result = explain_clip(
                    self.model, self.scorer, clip, person, target_pos, [m], self.settings, base=base
                )
                result = result[m]
                out.seconds[m] += time.perf_counter() - tm
                per_clip[m].append(result["numbers"])
                if c == 0:
                    out.maps[m] = (
                        downsample(result["saliency"]),
                        downsample(person.astype(np.float32)) >= 0.5,
                    )
        about = {
            "target": target_name,
            "num_clips": len(decoded.clips),
            "clip_frames": decoded.clips.tolist(),
            "fps": card.fps,
        }
        for m in methods:
            out.numbers[m] = _mean_numbers(per_clip[m]) | out.quality | about


def segmenter_for(name: str, weights: str | None = None) -> Any:
    """``explain``'s segmenter called ``name`` (None for the manifest's true masks); its errors name
    ``segmenter_weights``, as ``explain`` calls the segmenter's weights."""
    from weirdkinetics.synth.segment import build_segmenter

    if name == "true":
        return None
    try:
        return build_segmenter(name, weights)
    except UserError as exc:
        raise rename_options(exc, {"weights": "segmenter_weights"}) from None


@dataclass(frozen=True)
class ExplainSetup:
    """What explaining any row of one run needs, as plain data: the local engine builds its ``RowExplainer``
    from it (``build``), and each Ray actor builds the same one from the same data.

    model: loaded on the driver (``build`` moves it to its device); class_names: the names of its score
    vector; classes: the subset scores are restricted to (targets are positions in it); segmenter_weights:
    the torchvision segmenters' checkpoint; mask_cache: the mask cache's folder (None: no cache);
    manifest_dir: where the manifest's relative ``mask_path`` cells start; batch_size: clips per forward pass.
    """

    model: LoadedModel
    class_names: list[str]
    classes: list[str]
    settings: ExplainSettings
    segmenter_weights: str | None = None
    mask_cache: Path | None = None
    manifest_dir: Path = Path(".")
    batch_size: int = 8

    def build(self, device: str | None = None, segmenter: Any = None) -> RowExplainer:
        """The run's ``RowExplainer``: the model on ``device`` (None: where it was loaded), a scorer restricted
        to ``classes``, and the person masks from ``segmenter`` (None: one built from the settings' name,
        as the driver built its own) through the mask cache, or the manifest's true masks."""
        from weirdkinetics.synth.segment import MaskCache

        if device is not None:
            from weirdkinetics.devices import resolve_device

            self.model.module.to(resolve_device(device))
        name = self.settings.segmenter
        if segmenter is None:
            segmenter = segmenter_for(name, self.segmenter_weights)
        cache = None if segmenter is None or self.mask_cache is None else MaskCache(self.mask_cache)
        masks_from = MaskSource(name, segmenter, cache, self.manifest_dir)
        scorer = Scorer(self.model, self.class_names, self.classes, self.batch_size)
        return RowExplainer(self.model, scorer, list(self.classes), self.settings, masks_from)


# -- the manifest --------------------------------------------------------------------------------------


def _reusable(prev: tuple[str, Identity] | None, identity: Identity, row: ManifestRow) -> bool:
    """Pure: a stored (status, identity) still stands for this row's file: same file identity, and a synth
    row now marked as not made is never served by an older result computed from a video.

    Unlike evaluation (``predict.plan_work``), an ``excluded`` row of a made video stays reused: here
    ``excluded`` also means "no usable person mask", which the same file gives again."""
    not_made = row.extra.get("synth_status", "ok") not in ("", "ok")
    return prev is not None and prev[1] == identity and not (not_made and prev[0] != "excluded")


@dataclass(frozen=True)
class ExplainPlan:
    """What an explain run has to do: row index -> the methods still to compute for it."""

    todo: dict[int, list[str]]
    reused: int


def plan_explain(
    rows: list[ManifestRow],
    methods: list[str],
    done: dict[str, dict[tuple[str, str], tuple[str, Identity]]],
    identities: list[Identity],
) -> ExplainPlan:
    """Pure: which (row, method) pairs still need computing.

    ``done[method]`` maps (path, video_id) of that method's stored final rows (same run and settings) to
    (status, the file's identity when explained); ``identities[i]`` is row i's file identity now. A row is
    reused for a method when ``_reusable`` says its stored result still stands.
    """
    todo: dict[int, list[str]] = {}
    reused = 0
    for i, row in enumerate(rows):
        key = (str(row.path), row.video_id)
        left = [m for m in methods if not _reusable(done[m].get(key), identities[i], row)]
        reused += len(methods) - len(left)
        if left:
            todo[i] = left
    return ExplainPlan(todo, reused)


def _store_row(
    store: Store,
    run_id: str,
    row: ManifestRow,
    identity: Identity,
    methods: list[str],
    settings: ExplainSettings,
    card: ModelCard,
    result: RowResult,
    seconds: float,
) -> None:
    """One store row per method for a finished manifest row (the store's only writer here)."""
    for m in methods:
        saliency, person = result.maps.get(m, (None, None))
        store.put_attribution(
            run_id,
            StoredAttribution(
                row.video_id,
                str(row.path),
                m,
                settings.key(m, card),
                settings.to_dict(m, card),
                row.to_dict(),
                result.status,
                result.reason,
                _finite(result.numbers_of(m)),
                saliency,
                person,
                seconds,
                identity,
            ),
        )


@dataclass
class ExplainSummary:
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # method -> status -> count
    computed: int = 0
    reused: int = 0
    seconds: float = 0.0
    seconds_per_video: dict[str, float] = field(default_factory=dict)  # method -> mean seconds (computed)


@dataclass
class Explanation:
    """One explain run under way: its rows, their file identities, the plan, the summary, and the store's only
    writer.

    Every engine opens one with ``begin_explanation`` on the driver, feeds ``write`` each row's
    ``RowResult`` as it comes (in any order) and ends with ``finish``; only ``write`` puts rows into the store.
    """

    rows: list[ManifestRow]
    identities: list[Identity]
    plan: ExplainPlan
    store: Store
    run_id: str
    card: ModelCard
    methods: list[str]
    settings: ExplainSettings
    summary: ExplainSummary
    bar: Any
    started: float
    method_seconds: dict[str, list[float]] = field(default_factory=dict)  # method -> seconds per row

    def write(self, i: int, result: RowResult, seconds: float) -> None:
        """Store row ``i``'s result for the methods the plan gave it; seconds: the whole row's time."""
        todo = self.plan.todo[i]
        _store_row(
            self.store, self.run_id, self.rows[i], self.identities[i], todo, self.settings, self.card,
            result, seconds,
        )  # fmt: skip
        self.summary.computed += len(todo)
        for m, spent in result.seconds.items():
            self.method_seconds.setdefault(m, []).append(spent)
        self.bar.update(1)

    def finish(self) -> ExplainSummary:
        """Count every method's statuses over the manifest (stored rows, old and new) and stop the clock."""
        self.bar.close()
        for m in self.methods:
            stored = self.store.attribution_statuses(self.run_id, m, self.settings.key(m, self.card))
            self.summary.counts[m] = count_statuses(self.rows, stored)[0]
            if self.method_seconds.get(m):
                self.summary.seconds_per_video[m] = float(np.mean(self.method_seconds[m]))
        self.summary.seconds = time.perf_counter() - self.started
        return self.summary


def begin_explanation(
    manifest: Manifest,
    card: ModelCard,
    run_id: str,
    methods: list[str],
    settings: ExplainSettings,
    store: Store,
    progress: bool = True,
) -> Explanation:
    """Take each file's identity and plan what is left (``plan_explain`` against the store): rows already
    stored for the same run, method, settings and file are never scheduled, whatever the engine."""
    started = time.perf_counter()
    rows = manifest.rows
    # a stored row is reused only for the same file (path and id) while it keeps its size and mtime
    identities = [file_identity(row.path) for row in rows]
    done = {m: store.attribution_reusable(run_id, m, settings.key(m, card)) for m in methods}
    plan = plan_explain(rows, methods, done, identities)
    bar = progress_bar(len(plan.todo), f"explain {card.name}", "video", progress)
    return Explanation(
        rows, identities, plan, store, run_id, card, list(methods), settings,
        ExplainSummary(reused=plan.reused), bar, started,
    )  # fmt: skip


def explain_manifest(
    manifest: Manifest,
    explainer: RowExplainer,
    run_id: str,
    methods: list[str],
    store: Store,
    progress: bool = True,
) -> ExplainSummary:
    """The local engine: explain every row with every method into ``store``; rows already stored for the
    same run, method, settings and path are not recomputed (a killed run resumes where it stopped).

    A plan (``begin_explanation``), one ``explainer`` call per row still to do, and the store writer
    (``Explanation.write``); the statuses are then counted over the manifest's rows. The Ray engine
    (``engines.ray_engine.explain_manifest_ray``) arranges the same pieces."""
    ex = begin_explanation(
        manifest, explainer.model.card, run_id, methods, explainer.settings, store, progress
    )
    try:
        for i in sorted(ex.plan.todo):
            t0 = time.perf_counter()
            result = explainer(ex.rows[i], ex.plan.todo[i])
            ex.write(i, result, time.perf_counter() - t0)
    finally:
        ex.bar.close()
    return ex.finish()


def _finite(value: Any) -> Any:
    """NaN and infinities become None (numpy numbers become Python ones), so the stored JSON is standard."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value

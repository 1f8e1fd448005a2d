"""One manifest row explained (``RowExplainer``): the row's checks, the explained clips' frames decoded,
person masks checked as synth checks them, then per clip the target and each method. ``ExplainSetup`` is a
run's explainer as plain data, so that every engine builds the same one."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from weirdkinetics import sampling
from weirdkinetics.attribution.masks import MaskSource, downsample, person_in_view
from weirdkinetics.attribution.methods import Scorer, explain_clip, mean_numbers
from weirdkinetics.attribution.settings import ExplainSettings
from weirdkinetics.clips import ClipTask, plan_video, probe_file, probe_row
from weirdkinetics.decode import VideoInfo, read_video
from weirdkinetics.errors import UserError, rename_options
from weirdkinetics.manifest import ManifestRow
from weirdkinetics.models.card import ModelCard
from weirdkinetics.models.loading import LoadedModel
from weirdkinetics.statuses import RowFailure
from weirdkinetics.transforms import preprocess_clip


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
            out.numbers[m] = mean_numbers(per_clip[m]) | out.quality | about


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

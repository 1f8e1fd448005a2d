"""Turn a manifest into a derived, out-of-context test set: videos in ``out_dir`` and ``out_dir/manifest.csv``.

One function, ``synthesize``; the CLI's ``weirdkinetics synth VARIANT`` calls it. Per source row:
decode (``decode.read_video``) -> person masks (segmenter, disk cache, temporal median) -> the variant's
pure compositing (``composite``) -> encode (``encode.write_video``), same frame rate and frame count.

Every source row gets one output row, whatever happens to it (``synth_status``):

=================  ==============================================================  ==============
synth_status       meaning                                                          video written
=================  ==============================================================  ==============
ok                 derived video written and the person mask passed the quality rule  yes
excluded           the person mask is too small / missing in most frames, or the pose   no
                   detector finds a person in too few of the checked frames
missing            the source video file does not exist                               no
decode_error       FFmpeg could not decode any frame of the source                   no
mask_error         the masks could not be made (e.g. a bad ``mask_path`` file)       no
no_background      no background qualifies under the choice rule                     no
background_error   the chosen library file could not be read                          no
=================  ==============================================================  ==============

``excluded_reason`` says why for every status but ``ok``. Rows without a video keep the path their video
would have had, so evaluating the manifest lists them (as ``missing``) instead of dropping them; their
``synth_status`` and ``excluded_reason`` say what really happened. The column is ``synth_status``, not
``status``, because ``status`` is the prediction status in results files.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from weirdkinetics import statuses
from weirdkinetics._optional import require
from weirdkinetics.decode import DecodedVideo, VideoOpenError, probe, read_video
from weirdkinetics.encode import write_video
from weirdkinetics.errors import UnknownNameError, UserError, did_you_mean
from weirdkinetics.manifest import Manifest, ManifestRow, read_manifest, safe_name, write_manifest
from weirdkinetics.outputs import atomic_write_text, check_output_dir, check_outputs
from weirdkinetics.provenance import versions
from weirdkinetics.synth import composite
from weirdkinetics.synth.backgrounds import (
    RULES,
    BackgroundItem,
    Choice,
    choose_background,
    read_image,
    row_rng,
    scan_library,
)
from weirdkinetics.synth.composite import QualityRule
from weirdkinetics.synth.segment import (
    MaskCache,
    Segmenter,
    TrueMasks,
    build_segmenter,
    check_segmenter_name,
    detect_people,
    smooth_masks,
)

VARIANTS: dict[str, str] = {
    "swap": "the person on a new background (library image/video, or another class's background-only video)",
    "person-only": "everything outside the person replaced by a flat colour (HAT human-only)",
    "background-only": "the person removed, the hole filled with OpenCV inpainting (HAT background-only)",
    "static-background": "the moving person on one still background image (SCUBA)",
    "static-person": "one frame of the static-background video repeated over time (SCUFO)",
}
NEEDS_BACKGROUND = ("swap", "static-background", "static-person")
SYNTH_STATUSES = statuses.SYNTH
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class SynthOptions:
    """Every knob of a synth run besides the variant, inputs and segmenter (recorded in ``synth.json``).

    threshold: person probability that counts as person. feather_sigma: Gaussian sigma (pixels) of the
    alpha edge. smooth_window: frames of the centred temporal median over masks (1 = off).
    dilate_px / inpaint_radius / inpaint_side: hole growth, OpenCV radius and working size (longest side,
    None = full size) of background-only's inpainting (``composite.background_only``). colour: RGB of
    person-only's flat background. choice: ``other`` (any background category other than the source's
    background and class) or ``fixed`` (always ``category``). exclude_low_quality: apply ``quality``
    (excluded rows keep their row). confirm_person: also exclude a video when MediaPipe's pose detector
    (``segment.detect_people``, 8 evenly spaced frames; skipped for true masks) finds a person in fewer than
    ``min_people_frames`` of the frames it checked: a mask found where the detector sees nobody, or sees
    someone in only a frame or two, is most likely not the person (a small, distant one, or a salient
    object), and swapping the background around it leaves a ghost. Default 0.5 (at least 4 of 8 frames);
    any fraction above 0 and up to 1/8 asks for one detection; 0 asks for none.
    max_side: decode sources downscaled to this longest side (None keeps
    the source size). crf: H.264 quality of the outputs.
    """

    threshold: float = 0.5
    feather_sigma: float = 2.0
    smooth_window: int = 5
    dilate_px: int = 7
    inpaint_radius: int = 3
    inpaint_side: int | None = 160
    colour: tuple[int, int, int] = (0, 0, 0)
    choice: str = "other"
    category: str | None = None
    quality: QualityRule = field(default_factory=QualityRule)
    exclude_low_quality: bool = True
    confirm_person: bool = True
    min_people_frames: float = 0.5
    max_side: int | None = None
    crf: int = 18


def check_variant(variant: str) -> None:
    """Raise ``UnknownNameError`` (with close names and the list) unless ``variant`` is in ``VARIANTS``."""
    if variant in VARIANTS:
        return
    hint = did_you_mean(variant, VARIANTS, n=2)
    raise UnknownNameError(f"Unknown variant '{variant}'.{hint} Variants: {', '.join(VARIANTS)}")


# -- masks ---------------------------------------------------------------------------------------------


class _MaskSource:
    """Masks for a decoded row: segmenter (through the disk cache) or true masks, then the temporal median."""

    def __init__(
        self, name: str, segmenter: Segmenter | None, cache: MaskCache | None, manifest_dir: Path, window: int
    ):
        self.name, self.segmenter, self.cache = name, segmenter, cache
        self.manifest_dir, self.window = manifest_dir, window

    @property
    def settings(self) -> dict[str, Any]:
        return {} if self.segmenter is None else dict(self.segmenter.settings)

    def masks(self, row: ManifestRow, frames: np.ndarray) -> np.ndarray:
        """float32 (T, H, W) in [0, 1], smoothed. Raises ``UserError`` when they cannot be made."""
        if self.name == "true":
            text = row.extra.get("mask_path", "")
            if not text:
                raise UserError(
                    f"row {row.row}: empty mask_path; --segmenter true needs the demo's mask files"
                )
            path = Path(text) if Path(text).is_absolute() else self.manifest_dir / text
            raw = TrueMasks(path).masks(frames)
        elif self.cache is not None:
            raw, _ = self.cache.masks(row.path, frames, self.segmenter)
        else:
            raw = self.segmenter.masks(frames)
        return smooth_masks(raw, self.window) if self.window > 1 else raw


class _LRU(OrderedDict):
    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def get_or(self, key, make: Callable[[], Any]):
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = make()
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)
        return value


# -- backgrounds ---------------------------------------------------------------------------------------


class _RowFailure(Exception):
    """Ends one row with ``status`` and ``reason`` (not a crash)."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class _Picked:
    background: str  # the manifest's ``background`` column: category / donor's background name
    bg_label: str  # the class this background is associated with ("" when unknown)
    bg_source: str  # the file or donor video it came from


def _avoid(row: ManifestRow) -> set[str]:
    # the source's own background and class: "other" means none of these
    return {row.label, row.background, row.extra.get("bg_class", "")} - {""}


class _LibraryBackgrounds:
    """Backgrounds from a library folder (one sub-folder per category); a category is its own ``bg_label``."""

    def __init__(self, root: Path, options: SynthOptions, seed: int, max_side: int | None):
        self.pool = scan_library(root)
        self.options, self.seed, self.max_side = options, seed, max_side
        self._images = _LRU(32)
        self._videos = _LRU(4)
        if options.choice == "fixed" and options.category not in self.pool:
            raise UserError(
                f"background category '{options.category}' is not in the library {root}; "
                f"categories: {', '.join(sorted(self.pool))}"
            )

    def pick(self, row: ManifestRow) -> tuple[_Picked, BackgroundItem]:
        choice: Choice[BackgroundItem] | None = choose_background(
            self.pool,
            _avoid(row),
            row_rng(self.seed, row.video_id),
            self.options.choice,
            self.options.category,
        )
        if choice is None:
            raise _RowFailure(
                "no_background",
                f"no library category other than {sorted(_avoid(row))}; add categories or use --background-rule fixed",
            )
        return _Picked(choice.category, choice.category, str(choice.item.path)), choice.item

    def frames(
        self, item: BackgroundItem, num_frames: int, height: int, width: int, still: bool
    ) -> np.ndarray:
        """Fitted background: uint8 (H, W, 3) when ``still`` (a video gives its middle frame), else
        (T, H, W, 3) (an image is repeated implicitly by returning one frame)."""
        if item.kind == "image":
            try:
                image = self._images.get_or(item.path, lambda: read_image(item.path))
            except UserError as exc:
                raise _RowFailure("background_error", str(exc)) from None
            return composite.fit_background(image, height, width)
        # decode only what is used: the middle frame for a still, the first num_frames for a video
        key = (item.path, still, num_frames)
        video = self._videos.get_or(key, lambda: self._read(item.path, num_frames, still))
        if video.status not in ("ok", "partial") or len(video.frames) == 0:
            raise _RowFailure(
                "background_error", f"background video {item.path}: {video.status} ({video.reason})"
            )
        if still:
            return composite.fit_background(video.frames[0], height, width)
        return composite.fit_background_video(video.frames, num_frames, height, width)

    def _read(self, path: Path, num_frames: int, still: bool) -> DecodedVideo:
        try:
            count = probe(path).num_frames
        except VideoOpenError as exc:
            return DecodedVideo(np.zeros((0, 1, 1, 3), np.uint8), 0.0, exc.status, exc.reason)
        wanted = np.array([count // 2]) if still else np.arange(min(count, num_frames))
        return read_video(path, max_side=self.max_side, indices=wanted)


class _DonorBackgrounds:
    """HAT's recipe without a library: the background-only version (person inpainted away) of another row's
    video, from a class other than the source's. ``bg_label`` is the donor's ``bg_class`` (the demo's column
    naming the class that owns its background) or else its label."""

    def __init__(self, manifest: Manifest, masks: _MaskSource, options: SynthOptions, seed: int):
        self.rows = {r.video_id: r for r in manifest.rows}
        self.masks, self.options, self.seed = masks, options, seed
        self.bad: dict[str, str] = {}  # donor video_id -> why it cannot serve
        self._cache = _LRU(8)
        labels = {self._label(r) for r in manifest.rows}
        if options.choice == "fixed" and options.category not in labels:
            raise UserError(
                f"background category '{options.category}' names no row's class in {manifest.path}; "
                f"classes: {', '.join(sorted(labels))}"
            )
        if len(labels) < 2:
            raise UserError(
                f"{manifest.path}: every row has the same class, so no other class's background exists to swap in; "
                "pass --backgrounds LIBRARY (a folder with one sub-folder of images/videos per category)"
            )

    @staticmethod
    def _label(row: ManifestRow) -> str:
        return row.extra.get("bg_class") or row.label

    def pick(self, row: ManifestRow) -> tuple[_Picked, ManifestRow]:
        pool: dict[str, list[ManifestRow]] = {}
        for donor in self.rows.values():
            same = donor.video_id == row.video_id or (row.source_id and donor.source_id == row.source_id)
            if not same and donor.video_id not in self.bad:
                pool.setdefault(self._label(donor), []).append(donor)
        choice = choose_background(
            pool, _avoid(row), row_rng(self.seed, row.video_id), self.options.choice, self.options.category
        )
        if choice is None:
            raise _RowFailure(
                "no_background",
                f"no other row has a background from a class other than {sorted(_avoid(row))}",
            )
        donor = choice.item
        return _Picked(donor.background or choice.category, choice.category, donor.video_id), donor

    def _make(self, donor: ManifestRow, still: bool) -> np.ndarray:
        video = read_video(donor.path, max_side=self.options.max_side)
        if video.status not in ("ok", "partial") or len(video.frames) == 0:
            raise _RowFailure("background_error", f"{video.status}: {video.reason}")
        masks = self.masks.masks(donor, video.frames)
        o = self.options
        if still:  # only the middle frame is needed: inpaint just that one
            mid = len(video.frames) // 2
            return _background_only(video.frames[mid : mid + 1], masks[mid : mid + 1], o)[0]
        return _background_only(video.frames, masks, o)

    def frames(self, donor: ManifestRow, num_frames: int, height: int, width: int, still: bool) -> np.ndarray:
        try:
            back = self._cache.get_or((donor.video_id, still), lambda: self._make(donor, still))
        except (_RowFailure, UserError) as exc:
            self.bad[donor.video_id] = str(exc)
            raise _RowFailure("background_error", f"donor {donor.video_id}: {exc}") from None
        if still:
            return composite.fit_background(back, height, width)
        return composite.fit_background_video(back, num_frames, height, width)


# -- one row -------------------------------------------------------------------------------------------


def _background_only(frames: np.ndarray, masks: np.ndarray, o: SynthOptions) -> np.ndarray:
    return composite.background_only(
        frames, masks, o.threshold, dilate_px=o.dilate_px, radius=o.inpaint_radius, work_side=o.inpaint_side
    )


def compose(
    variant: str,
    frames: np.ndarray,
    masks: np.ndarray,
    background: np.ndarray | None,
    options: SynthOptions = SynthOptions(),
) -> np.ndarray:
    """The variant's frames (pure). frames: uint8 (T, H, W, 3); masks: float32 (T, H, W) smoothed;
    background: fitted uint8 (H, W, 3) or (T, H, W, 3) for the variants that need one, else None.
    Returns uint8 (T, H, W, 3)."""
    o = options
    if variant == "background-only":
        return _background_only(frames, masks, o)
    alpha = composite.feather_alpha(masks, o.feather_sigma, o.threshold)
    if variant == "person-only":
        return composite.person_only(frames, alpha, o.colour)
    if background is None:
        raise ValueError(f"variant '{variant}' needs a background")
    if variant == "swap":
        return composite.swap(frames, alpha, background)
    if variant == "static-background":
        return composite.static_background(frames, alpha, background)
    if variant == "static-person":
        frame = composite.static_frame_index(composite.mask_coverage(masks, o.threshold))
        return composite.static_person(frames, alpha, background, frame)
    raise ValueError(f"unknown variant {variant!r}")


def _base_row(row: ManifestRow, variant: str, rel_path: str) -> dict[str, str]:
    return {
        "path": rel_path,
        "label": row.label,
        "split": variant,
        "background": "",
        "video_id": f"{row.video_id}__{variant}",
        "source_id": row.source_id or row.video_id,
        "variant": variant,
        "source_video_id": row.video_id,
        "source_label": row.label,
        "source_split": row.split,
        "source_background": row.background,
        "bg_label": "",
        "bg_source": "",
        "mask_coverage": "",
        "mask_frames": "",
        "people_detected": "",
        "num_frames": "",
        "fps": "",
        "source_status": "",
        "synth_status": "",
        "excluded_reason": "",
    }


def _synth_row(
    row: ManifestRow,
    variant: str,
    out_dir: Path,
    rel_path: str,
    masks_from: _MaskSource,
    backgrounds: _LibraryBackgrounds | _DonorBackgrounds | None,
    options: SynthOptions,
) -> dict[str, str]:
    out = _base_row(row, variant, rel_path)
    if variant == "person-only":
        out["background"] = "flat"
    elif variant == "background-only":
        out["background"] = row.background
        out["bg_label"] = row.extra.get("bg_class", "")
    try:
        video: DecodedVideo = read_video(row.path, max_side=options.max_side)
        out["source_status"] = video.status
        if video.status in ("missing", "decode_error") or len(video.frames) == 0:
            raise _RowFailure(
                video.status if video.status != "ok" else "decode_error", video.reason or "no frames"
            )
        frames = video.frames
        t, h, w = frames.shape[:3]
        out["num_frames"], out["fps"] = str(t), f"{video.fps:.6g}"
        try:
            masks = masks_from.masks(row, frames)
        except UserError as exc:
            raise _RowFailure("mask_error", str(exc)) from None
        quality = composite.mask_quality(composite.mask_coverage(masks, options.threshold), options.quality)
        out["mask_coverage"], out["mask_frames"] = (
            f"{quality.mean_coverage:.4f}",
            f"{quality.person_frames:.4f}",
        )
        if options.exclude_low_quality and not quality.ok:
            raise _RowFailure("excluded", quality.reason)
        if options.exclude_low_quality and options.confirm_person and masks_from.name != "true":
            found, looked = detect_people(frames)
            out["people_detected"] = f"{found}/{looked}"
            if looked == 0 or found < options.min_people_frames * looked:
                raise _RowFailure(
                    "excluded",
                    f"MediaPipe's pose detector found a person in {found} of {looked} checked frames, fewer than "
                    f"{options.min_people_frames:.0%}, so the mask ({quality.mean_coverage:.0%} mean coverage) is "
                    "likely not the person (a small, distant one or another object): the result would be a "
                    "ghost; SynthOptions(min_people_frames=...) lowers the bar, confirm_person=False drops it",
                )
        background = None
        if variant in NEEDS_BACKGROUND:
            assert backgrounds is not None
            still = variant != "swap"
            while True:  # a donor that fails is marked bad and another is drawn; pick() ends the loop
                picked, item = backgrounds.pick(row)
                try:
                    background = backgrounds.frames(item, t, h, w, still)
                    break
                except _RowFailure:
                    if not isinstance(backgrounds, _DonorBackgrounds):
                        raise
            out["background"], out["bg_label"], out["bg_source"] = (
                picked.background,
                picked.bg_label,
                picked.bg_source,
            )
        result = compose(variant, frames, masks, background, options)
        write_video(out_dir / rel_path, result, video.fps if video.fps > 0 else 30.0, crf=options.crf)
        out["synth_status"] = "ok"
    except _RowFailure as failure:
        out["synth_status"], out["excluded_reason"] = failure.status, failure.reason
    return out


# -- the run -------------------------------------------------------------------------------------------


def _output_paths(rows: list[ManifestRow], variant: str) -> list[str]:
    """``videos/<safe video id>__<variant>.mp4``, made unique by the row number when ids collide once made safe."""
    seen: set[str] = set()
    paths = []
    for row in rows:
        stem = safe_name(f"{row.video_id}__{variant}")
        if stem in seen:
            stem = f"{stem}-row{row.row}"
        seen.add(stem)
        paths.append(f"videos/{stem}.mp4")
    return paths


@dataclass(frozen=True)
class SynthResult:
    """What a synth run wrote: the derived ``manifest`` and ``info``, the record also saved as
    ``synth.json`` beside it (settings, versions, status counts)."""

    manifest: Path
    info: dict

    @property
    def counts(self) -> dict[str, int]:
        """Rows per ``synth_status`` (only statuses that occurred)."""
        return dict(self.info["counts"])

    @property
    def rows(self) -> int:
        return int(self.info["rows"])


def _is_file(path: str) -> bool:
    """Like ``Path.is_file`` but False for names the OS refuses (too long, NUL): loading says why."""
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False


def _check_synth_outputs(
    manifest: Manifest, out_dir: Path, paths: list[str], backgrounds: str | Path | None, weights: str | None
) -> None:
    """Refuse outputs (the new manifest, synth.json, the videos) that would land on an input (the source
    manifest, its videos and masks, the weights), and a background library that holds the outputs."""
    inputs: dict[str, Path] = {"the source manifest (--manifest)": manifest.path}
    if weights and _is_file(weights):
        inputs["--weights"] = Path(weights)
    for row in manifest.rows:
        inputs[f"the video of manifest row {row.row}"] = row.path
        mask = row.extra.get("mask_path", "")
        if mask:
            inputs[f"the mask of manifest row {row.row}"] = (
                Path(mask) if Path(mask).is_absolute() else manifest.path.parent / mask
            )
    outputs = {"the new manifest": out_dir / "manifest.csv", "synth.json": out_dir / "synth.json"}
    outputs.update({f"the output video {rel}": out_dir / rel for rel in paths})
    check_outputs(outputs, inputs, hint="choose another --out")
    if backgrounds is not None:
        library, videos = Path(backgrounds).resolve(), (out_dir / "videos").resolve()
        if videos == library or library in videos.parents or videos in library.parents:
            raise UserError(
                f"--backgrounds {backgrounds} and the output videos {out_dir / 'videos'} overlap: the outputs "
                "would become backgrounds; choose another --out"
            )


def synthesize(
    variant: str,
    manifest_path: str | Path,
    out_dir: str | Path,
    backgrounds: str | Path | None = None,
    segmenter: str = "mediapipe",
    seed: int = 0,
    *,
    weights: str | None = None,
    options: SynthOptions | None = None,
    cache: bool = True,
    progress: bool = True,
) -> Path:
    """``run_synth`` returning only the derived manifest's path, ``out_dir/manifest.csv``."""
    return run_synth(
        variant, manifest_path, out_dir, backgrounds, segmenter, seed,
        weights=weights, options=options, cache=cache, progress=progress,
    ).manifest  # fmt: skip


def run_synth(
    variant: str,
    manifest_path: str | Path,
    out_dir: str | Path,
    backgrounds: str | Path | None = None,
    segmenter: str = "mediapipe",
    seed: int = 0,
    *,
    weights: str | None = None,
    options: SynthOptions | None = None,
    cache: bool = True,
    progress: bool = True,
) -> SynthResult:
    """Write ``variant`` of every row of ``manifest_path`` under ``out_dir``; return the manifest
    ``out_dir/manifest.csv`` with the record saved as ``out_dir/synth.json``.

    variant: one of ``VARIANTS``. backgrounds: a library folder (one sub-folder per category of images or
    videos) for ``swap``, ``static-background`` and ``static-person``; without one, those variants use the
    background-only version of another class's video from the same manifest (HAT). segmenter: one of
    ``segment.SEGMENTERS`` (``true`` reads the manifest's ``mask_path`` column); weights: checkpoint for the
    torchvision segmenters. seed: the background choice (per source video, stable across variants, so
    static-background and static-person of one source share their background). cache: keep raw masks under
    ``out_dir/.mask_cache`` (reused when the same video and segmenter come again).

    Output rows: the standard columns (``label`` = the source's, i.e. the person's action; ``split`` = the
    variant; ``source_id`` = the source's ``source_id`` or ``video_id``; ``background`` = the new
    background: library category, donor video's background, ``flat`` for person-only, the source's for
    background-only) plus ``variant, source_video_id, source_label, source_split, source_background,
    bg_label, bg_source, mask_coverage, mask_frames, people_detected, num_frames, fps, source_status, synth_status,
    excluded_reason`` (see the module docstring). ``out_dir/synth.json`` records the settings, versions
    and status counts.
    """
    check_variant(variant)
    check_segmenter_name(segmenter)
    options = options or SynthOptions()
    if options.choice not in RULES:
        raise UserError(f"background rule '{options.choice}' is not one of: {', '.join(RULES)}")
    if not 0.0 <= options.min_people_frames <= 1.0:
        raise UserError(
            f"min_people_frames {options.min_people_frames}: must be a fraction of the checked frames in [0, 1]"
        )
    if options.smooth_window < 1 or options.smooth_window % 2 == 0:
        raise UserError(f"smoothing window {options.smooth_window} must be an odd number of frames (1 = off)")
    manifest = read_manifest(manifest_path)
    out_dir = check_output_dir(out_dir, "--out")
    out_manifest = out_dir / "manifest.csv"
    paths = _output_paths(manifest.rows, variant)
    _check_synth_outputs(manifest, out_dir, paths, backgrounds if variant in NEEDS_BACKGROUND else None, weights)
    if segmenter == "true" and "mask_path" not in manifest.columns:
        raise UserError(
            f"{manifest.path}: --segmenter true needs a mask_path column (the demo writes one); "
            "use --segmenter mediapipe for other videos"
        )
    seg = None if segmenter == "true" else build_segmenter(segmenter, weights)
    if seg is not None and options.confirm_person and options.exclude_low_quality:
        require(
            "mediapipe",
            "synth",
            "checking that a person is there (or pass SynthOptions(confirm_person=False))",
        )
    mask_cache = MaskCache(out_dir / ".mask_cache") if cache and seg is not None else None
    masks_from = _MaskSource(segmenter, seg, mask_cache, manifest.path.parent, options.smooth_window)

    backs: _LibraryBackgrounds | _DonorBackgrounds | None = None
    if variant in NEEDS_BACKGROUND:
        if backgrounds is not None:
            backs = _LibraryBackgrounds(Path(backgrounds), options, seed, options.max_side)
        else:
            backs = _DonorBackgrounds(manifest, masks_from, options, seed)
    elif backgrounds is not None:
        raise UserError(f"variant '{variant}' uses no background; drop --backgrounds")

    out_dir.mkdir(parents=True, exist_ok=True)
    rows_out = []
    for row, rel in zip(
        tqdm(manifest.rows, desc=f"synth {variant}", unit="video", disable=not progress), paths
    ):
        rows_out.append(_synth_row(row, variant, out_dir, rel, masks_from, backs, options))
    write_manifest(out_manifest, rows_out)

    counts = Counter(r["synth_status"] for r in rows_out)
    info = {
        "schema_version": SCHEMA_VERSION,
        "generator": "weirdkinetics.synth",
        "variant": variant,
        "source_manifest": str(manifest.path.resolve()),
        "source_manifest_sha256": manifest.digest,
        "segmenter": {"name": segmenter, "settings": masks_from.settings},
        "backgrounds": str(Path(backgrounds).resolve())
        if backgrounds is not None
        else ("donor-background-only" if variant in NEEDS_BACKGROUND else None),
        "seed": seed,
        "options": asdict(options),
        "inpainting": (
            "OpenCV cv2.inpaint (Telea), frame by frame, over dilated masks"
            if variant == "background-only" or isinstance(backs, _DonorBackgrounds)
            else None
        ),
        "counts": {s: counts.get(s, 0) for s in SYNTH_STATUSES if counts.get(s)},
        "rows": len(rows_out),
        "versions": versions("synth", with_platform=False),
    }
    atomic_write_text(out_dir / "synth.json", json.dumps(info, indent=2, default=str) + "\n")
    if progress:
        summary = ", ".join(f"{n} {s}" for s, n in info["counts"].items())
        print(
            f"synth {variant}: {len(rows_out)} source rows -> {summary}; manifest {out_manifest}",
            file=sys.stderr,
        )
    return SynthResult(out_manifest, info)

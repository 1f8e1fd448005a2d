"""The synth pipeline: turn a manifest into a derived, out-of-context test set (videos in ``out_dir`` and
``out_dir/manifest.csv``, with the run's record in ``out_dir/synth.json``).

``run_synth`` (and ``synthesize``, which returns only the manifest's path) is the entry point; the CLI's
``weirdkinetics synth VARIANT`` calls it. Per source row (``synth_row``), streamed (``synth.stream``: the
source decoded again on each pass, never held whole): decode -> person masks (``segment.MaskSource``: segmenter through the disk cache, one person followed over time,
or true masks) -> the quality gate (mask coverage, then MediaPipe's pose detector) -> a new background where the variant
needs one (a ``backgrounds.BackgroundSource``) -> the variant's pure composition (``variants.compose``
over ``composite``, a frame at a time) -> encode (``encode.write_frames``), same frame rate and frame count.

Every source row gets one output row, whatever happens to it (``synth_status``):

=================  ==============================================================  ==============
synth_status       meaning                                                          video written
=================  ==============================================================  ==============
ok                 derived video written and the person mask passed the quality rule  yes
excluded           the person mask is too small / missing in most frames, covers over   no
                   half the frame, loses the followed person in over 10 % of frames,
                   or the pose detector finds nobody in the checked frames
missing            the source video file does not exist                               no
decode_error       FFmpeg could not decode any frame of the source (or, on Ray, the     no
                   process making the row died on every try)
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
import os
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from weirdkinetics import statuses
from weirdkinetics._optional import require
from weirdkinetics.encode import write_frames
from weirdkinetics.errors import UserError, option
from weirdkinetics.inputs import is_file
from weirdkinetics.manifest import Manifest, ManifestRow, read_manifest, safe_name, write_manifest
from weirdkinetics.outputs import atomic_write_text, check_output_dir, check_outputs, locks_folder
from weirdkinetics.progress import progress_bar
from weirdkinetics.provenance import versions
from weirdkinetics.statuses import RowFailure
from weirdkinetics.synth import composite
from weirdkinetics.synth.backgrounds import (
    RULES,
    Background,
    BackgroundSource,
    DonorBackgrounds,
    LibraryBackgrounds,
    NoBackground,
    row_rng,
)
from weirdkinetics.synth.options import SynthOptions
from weirdkinetics.synth.segment import (
    MaskCache,
    MaskSource,
    build_segmenter,
    check_segmenter_name,
    detect_people,
)
from weirdkinetics.synth.stream import Scan, Source, compose_stream, detector_frames, open_source, scan
from weirdkinetics.synth.variants import (
    NEEDS_BACKGROUND,
    TABLE,
    VARIANTS,
    Scene,
    check_variant,
    compose,
)

__all__ = [
    "NEEDS_BACKGROUND",
    "SYNTH_STATUSES",
    "VARIANTS",
    "RowFailure",
    "SynthOptions",
    "SynthResult",
    "SynthSetup",
    "check_variant",
    "compose",
    "failed_row",
    "run_synth",
    "synth_row",
    "synthesize",
]

SYNTH_STATUSES = statuses.SYNTH
SCHEMA_VERSION = 1


# -- one row -------------------------------------------------------------------------------------------


def _base_row(row: ManifestRow, variant: str, rel_path: str) -> dict[str, str]:
    background, bg_label = "", ""
    if variant in ("person-only", "silhouette"):
        background = "flat"
    elif variant == "background-only":
        background, bg_label = row.background, row.extra.get("bg_class", "")
    return {
        "path": rel_path,
        "label": row.label,
        "split": variant,
        "background": background,
        "video_id": f"{row.video_id}__{variant}",
        "source_id": row.source_id or row.video_id,
        "variant": variant,
        "source_video_id": row.video_id,
        "source_label": row.label,
        "source_split": row.split,
        "source_background": row.background,
        "bg_label": bg_label,
        "bg_source": "",
        "mask_coverage": "",
        "mask_frames": "",
        "people_detected": "",
        "mask_track": "",
        "synth_notes": "",
        "num_frames": "",
        "fps": "",
        "source_status": "",
        "synth_status": "",
        "excluded_reason": "",
    }


def _masks(
    row: ManifestRow, source: Source, masks_from: MaskSource, options: SynthOptions, out: dict[str, str]
) -> Scan:
    """The row's person masks, one person followed over time for a segmenter's (``mask_track`` says how);
    raises ``RowFailure("mask_error" | "excluded", ...)``."""
    found = scan(row, source, masks_from, options.threshold)
    track = found.track
    if track is None:
        return found
    out["mask_track"] = track.describe()
    if options.exclude_low_quality and track.lost > options.quality.max_lost_frames * track.frames:
        raise RowFailure(
            "excluded",
            f"the person was lost in {track.lost} of {track.frames} frames (over "
            f"{options.quality.max_lost_frames:.0%}): the segmenter misses them there, so background-only "
            "would show them and swaps would drop them; QualityRule(max_lost_frames=...) moves the bar",
        )
    return found


def _check_person(
    source: Source, found: Scan, ask_detector: bool, options: SynthOptions, out: dict[str, str]
) -> None:
    """The quality gate: the mask's coverage (``options.quality``), then MediaPipe's pose detector where
    ``ask_detector`` (a segmenter's masks, not true ones). Raises ``RowFailure("excluded", ...)``."""
    quality = composite.mask_quality(found.masks.coverage(), options.quality)
    out["mask_coverage"], out["mask_frames"] = f"{quality.mean_coverage:.4f}", f"{quality.person_frames:.4f}"
    if not options.exclude_low_quality:
        return
    if not quality.ok:
        raise RowFailure("excluded", quality.reason)
    if options.confirm_person and ask_detector:
        people, looked = detect_people(detector_frames(source, found))
        out["people_detected"] = f"{people}/{looked}"
        if looked == 0 or people < options.min_people_frames * looked:
            raise RowFailure(
                "excluded",
                f"MediaPipe's pose detector found a person in {people} of {looked} checked frames, fewer than "
                f"{options.min_people_frames:.0%}, so the mask ({quality.mean_coverage:.0%} mean coverage) is "
                "likely not the person (a small, distant one or another object): the result would be a "
                "ghost; SynthOptions(min_people_frames=...) lowers the bar, confirm_person=False drops it",
            )


def _background(
    row: ManifestRow,
    variant: str,
    source: Source,
    backgrounds: BackgroundSource | None,
    out: dict[str, str],
) -> Background | None:
    """The variant's new background fitted to the source's frames (None when it needs none); raises
    ``RowFailure``."""
    spec = TABLE[variant]
    if not spec.needs_background:
        return None
    if backgrounds is None:
        raise ValueError(f"variant '{variant}' needs a background source")
    picked = backgrounds.pick(row, source.count, source.height, source.width, spec.still)
    if isinstance(picked, NoBackground):
        raise RowFailure(picked.status, picked.reason)
    out["background"], out["bg_label"], out["bg_source"] = picked.name, picked.label, picked.source
    return picked


def synth_row(
    row: ManifestRow,
    variant: str,
    out_dir: Path,
    rel_path: str,
    masks_from: MaskSource,
    backgrounds: BackgroundSource | None,
    options: SynthOptions,
    seed: int = 0,
) -> dict[str, str]:
    """Make ``variant`` of one source row; write the video to ``out_dir / rel_path`` when it succeeds.

    Returns the derived manifest's row; ``synth_status`` and ``excluded_reason`` say how it ended, and
    every status but ``ok`` leaves no video. backgrounds: needed by the variants in ``NEEDS_BACKGROUND``.
    seed: SCUFO's frozen frame (drawn per source video, like the background). The source is streamed
    (``synth.stream``): decoded once per pass, each output frame encoded as it is made.
    """
    out = _base_row(row, variant, rel_path)
    try:
        source = open_source(row.path, options.max_side, out)
        found = _masks(row, source, masks_from, options, out)
        _check_person(source, found, masks_from.name != "true", options, out)
        picked = _background(row, variant, source, backgrounds, out)
        scene = Scene(
            anchor=picked.anchor if picked is not None else None,
            rng=row_rng(seed, f"{row.video_id}\x00frame"),
            exact=masks_from.name == "true",
        )
        background = picked.frames if picked is not None else None
        frames, notes = compose_stream(variant, source, found.masks, background, options, scene)
        write_frames(out_dir / rel_path, frames, source.fps if source.fps > 0 else 30.0, crf=options.crf)
        out["synth_notes"] = "; ".join(f"{k}={v}" for k, v in notes.items())  # complete once written
        out["synth_status"] = "ok"
    except RowFailure as failure:
        out["synth_status"], out["excluded_reason"] = failure.status, failure.reason
    return out


def failed_row(row: ManifestRow, variant: str, rel_path: str, status: str, reason: str) -> dict[str, str]:
    """The derived manifest's row of a source row that was not made (no video): ``status`` and ``reason``."""
    out = _base_row(row, variant, rel_path)
    out["synth_status"], out["excluded_reason"] = status, reason
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


def _check_synth_outputs(
    manifest: Manifest, out_dir: Path, paths: list[str], backgrounds: str | Path | None, weights: str | None
) -> None:
    """Refuse outputs (the new manifest, synth.json, the videos) that would land on an input (the source
    manifest, its videos and masks, the weights), and a background library that holds the outputs."""
    inputs = manifest.input_files()
    if weights and is_file(weights):
        inputs[option("weights")] = Path(weights)
    outputs = {"the new manifest": out_dir / "manifest.csv", "synth.json": out_dir / "synth.json"}
    outputs.update({f"the output video {rel}": out_dir / rel for rel in paths})
    check_outputs(outputs, inputs, hint=f"choose another {option('out_dir')}")
    if backgrounds is not None:
        library, videos = Path(backgrounds).resolve(), (out_dir / "videos").resolve()
        if videos == library or library in videos.parents or videos in library.parents:
            raise UserError(
                f"{option('backgrounds', backgrounds)} and the output videos {out_dir / 'videos'} overlap: the "
                f"outputs would become backgrounds; choose another {option('out_dir')}"
            )


def synthesize(
    variant: str,
    manifest_path: str | Path,
    out_dir: str | Path,
    backgrounds: str | Path | BackgroundSource | None = None,
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


def _check_options(options: SynthOptions) -> None:
    if options.choice not in RULES:
        raise UserError(f"background rule '{options.choice}' is not one of: {', '.join(RULES)}")
    if not 0.0 <= options.min_people_frames <= 1.0:
        raise UserError(
            f"min_people_frames {options.min_people_frames}: must be a fraction of the checked frames in [0, 1]"
        )
    if options.hole_frames < 0:
        raise UserError(f"hole_frames {options.hole_frames}: must be 0 or more frames")
    if not 0.0 <= options.feather_sigma <= 0.5:
        raise UserError(
            f"feather_sigma {options.feather_sigma}: must be in [0, 0.5] pixels (a wider feather leaves a halo "
            "of the old scene around the person)"
        )


def _mask_source(
    segmenter: str, weights: str | None, manifest: Manifest, options: SynthOptions, cache_dir: Path | None
) -> MaskSource:
    """The run's masks: true masks (the manifest's ``mask_path`` column) or the segmenter, cached under
    ``cache_dir`` (None: no cache)."""
    if segmenter == "true" and "mask_path" not in manifest.columns:
        raise UserError(
            f"{manifest.path}: {option('segmenter', 'true')} needs a mask_path column (the demo writes one); "
            f"use {option('segmenter', 'mediapipe')} for other videos"
        )
    seg = None if segmenter == "true" else build_segmenter(segmenter, weights)
    if seg is not None and options.confirm_person and options.exclude_low_quality:
        require(
            "mediapipe",
            "synth",
            "checking that a person is there (or pass SynthOptions(confirm_person=False))",
        )
    mask_cache = MaskCache(cache_dir) if cache_dir is not None and seg is not None else None
    return MaskSource(segmenter, seg, mask_cache, manifest.path.parent)


def _background_source(
    variant: str,
    backgrounds: str | Path | BackgroundSource | None,
    manifest: Manifest,
    masks_from: MaskSource,
    options: SynthOptions,
    seed: int,
) -> BackgroundSource | None:
    """A library folder's source, the donor source (no library given), a source passed in, or None for
    the variants that need no background."""
    if variant not in NEEDS_BACKGROUND:
        if backgrounds is not None:
            raise UserError(f"variant '{variant}' uses no background; drop {option('backgrounds')}")
        return None
    if isinstance(backgrounds, BackgroundSource):
        return backgrounds
    if backgrounds is not None:
        return LibraryBackgrounds(backgrounds, seed, options.choice, options.category, options.max_side)
    return DonorBackgrounds(manifest, masks_from, options, seed)


def _record(
    variant: str,
    manifest: Manifest,
    masks_from: MaskSource,
    source: BackgroundSource | None,
    seed: int,
    options: SynthOptions,
    rows_out: list[dict[str, str]],
) -> dict:
    """What ``synth.json`` holds: settings, versions and the rows per status."""
    counts = Counter(r["synth_status"] for r in rows_out)
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": "weirdkinetics.synth",
        "variant": variant,
        "source_manifest": str(manifest.path.resolve()),
        "source_manifest_sha256": manifest.digest,
        "segmenter": {"name": masks_from.name, "settings": masks_from.settings},
        "backgrounds": source.name if source is not None else None,
        "seed": seed,
        "options": asdict(options),
        "inpainting": (
            "clean plate: frames ECC-aligned when the camera moves, each hidden pixel the median of the "
            "frames showing it; OpenCV cv2.inpaint (Telea) at full resolution only where no frame does"
            if variant == "background-only" or (source is not None and source.inpaints)
            else None
        ),
        "fill_colour": list(options.colour),
        "counts": {s: counts.get(s, 0) for s in SYNTH_STATUSES if counts.get(s)},
        "rows": len(rows_out),
        "versions": versions("synth", with_platform=False),
    }


@dataclass(frozen=True)
class SynthSetup:
    """What making any row of one synth run needs, as plain data: a Ray actor receives it and builds the
    same mask and background sources (``build``) as the driver does."""

    variant: str
    manifest: Manifest
    out_dir: Path
    segmenter: str
    weights: str | None
    options: SynthOptions
    seed: int
    backgrounds: str | Path | BackgroundSource | None
    cache_dir: Path | None

    def build(self) -> SynthSources:
        masks_from = _mask_source(self.segmenter, self.weights, self.manifest, self.options, self.cache_dir)
        source = _background_source(
            self.variant, self.backgrounds, self.manifest, masks_from, self.options, self.seed
        )
        return SynthSources(self, masks_from, source)


@dataclass(frozen=True)
class SynthSources:
    """A run's mask and background sources, built once per process: ``make_row`` is ``synth_row`` for them."""

    setup: SynthSetup
    masks_from: MaskSource
    source: BackgroundSource | None

    def make_row(self, row: ManifestRow, rel_path: str) -> dict[str, str]:
        s = self.setup
        return synth_row(row, s.variant, s.out_dir, rel_path, self.masks_from, self.source, s.options, s.seed)


RowsRunner = Callable[["SynthSetup", "SynthSources", list, Callable[[], None]], list]
"""Makes every row of a synth run: ``(setup, sources built from it here, [(row, output path), ...], called once
per row made) -> output rows`` in the order of the work. ``local_rows`` makes them here; an engine (Ray's
``synth_rows_ray``) may build its own sources from ``setup`` in its workers."""


def local_rows(setup: SynthSetup, sources: SynthSources, work: list, on_row: Callable[[], None]) -> list:
    """The rows made one by one in this process (the local engine)."""
    rows_out = []
    for row, rel in work:
        rows_out.append(sources.make_row(row, rel))
        on_row()
    return rows_out


def _forget_record(out_dir: Path) -> None:
    """Remove an earlier run's ``synth.json`` and ``manifest.csv`` before any video is rewritten.

    A rerun into a folder redoes every row (no file is kept because it exists: a file made with other settings,
    seed or manifest would be a silent mix), so until this run ends the folder holds no record at all: a run
    killed half-way leaves a folder that says it is unfinished, never a record naming settings that only some
    of its videos were made with.
    """
    for name in ("synth.json", "manifest.csv"):
        try:
            (out_dir / name).unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise UserError(
                f"cannot remove the earlier record {out_dir / name} ({exc.strerror or exc}): "
                f"choose another {option('out_dir')}"
            ) from None


def _remove_unmade(out_dir: Path, rows_out: list[dict[str, str]], paths: list[str]) -> None:
    """Remove the video of every row this run did not make (excluded, failed): an earlier run with other
    settings may have made it, and the new manifest says there is none."""
    for row, rel in zip(rows_out, paths):
        if row["synth_status"] != "ok":
            try:
                (out_dir / rel).unlink()
            except FileNotFoundError:
                pass


@locks_folder("out_dir", option("out_dir"))
def run_synth(
    variant: str,
    manifest_path: str | Path,
    out_dir: str | Path,
    backgrounds: str | Path | BackgroundSource | None = None,
    segmenter: str = "mediapipe",
    seed: int = 0,
    *,
    weights: str | None = None,
    options: SynthOptions | None = None,
    cache: bool = True,
    progress: bool = True,
    rows_runner: RowsRunner | None = None,
) -> SynthResult:
    """Write ``variant`` of every row of ``manifest_path`` under ``out_dir``; return the manifest
    ``out_dir/manifest.csv`` with the record saved as ``out_dir/synth.json``.

    variant: one of ``VARIANTS``. backgrounds: a library folder (one sub-folder per category of images or
    videos) for ``swap``, ``static-background`` and ``static-person``; without one, those variants use the
    background-only version of another class's video from the same manifest (HAT). Any other
    ``backgrounds.BackgroundSource`` may be passed instead of a folder. segmenter: one of
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
    and status counts. rows_runner: who makes the rows (``RowsRunner``; default ``local_rows``, row by row in
    this process). The engine is chosen above this stage (``api.synthesize``: Ray's ``synth_rows_ray`` makes the
    same rows in actors); this function only plans, checks and writes, so the files are the same either way.
    """
    check_variant(variant)
    check_segmenter_name(segmenter)
    options = options or SynthOptions()
    _check_options(options)
    manifest = read_manifest(manifest_path)
    out_dir = check_output_dir(out_dir, option("out_dir"))
    out_manifest = out_dir / "manifest.csv"
    paths = _output_paths(manifest.rows, variant)
    library = (
        backgrounds if isinstance(backgrounds, (str, os.PathLike)) and variant in NEEDS_BACKGROUND else None
    )
    _check_synth_outputs(manifest, out_dir, paths, library, weights)
    setup = SynthSetup(
        variant, manifest, out_dir, segmenter, weights, options, seed, backgrounds,
        out_dir / ".mask_cache" if cache else None,
    )  # fmt: skip
    sources = setup.build()  # here too: what cannot be built fails before any work, and synth.json names it
    masks_from, source = sources.masks_from, sources.source

    out_dir.mkdir(parents=True, exist_ok=True)
    _forget_record(out_dir)
    work = list(zip(manifest.rows, paths))
    with progress_bar(len(work), f"synth {variant}", "video", progress) as bar:
        rows_out = (rows_runner or local_rows)(setup, sources, work, lambda: bar.update(1))
    _remove_unmade(out_dir, rows_out, paths)
    write_manifest(out_manifest, rows_out)  # the driver alone writes the manifest

    info = _record(variant, manifest, masks_from, source, seed, options, rows_out)
    atomic_write_text(out_dir / "synth.json", json.dumps(info, indent=2, default=str) + "\n")
    if progress:
        summary = ", ".join(f"{n} {s}" for s, n in info["counts"].items())
        print(
            f"synth {variant}: {len(rows_out)} source rows -> {summary}; manifest {out_manifest}",
            file=sys.stderr,
        )
    return SynthResult(out_manifest, info)

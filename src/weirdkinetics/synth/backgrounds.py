"""Where new backgrounds come from: a library folder, or other videos of the manifest; the seeded choice.

A library is a folder with one sub-folder per category, holding still images and/or videos::

    backgrounds/
      beach/   sand_01.jpg  waves.mp4
      kitchen/ k1.png ...

The choice is a pure function of (seed, source video id, the pool): the same source gets the same
background in every variant (so static-background and static-person stay a matched pair) and whatever
other rows the manifest holds.

The pipeline asks a ``BackgroundSource`` for one row's background, fitted to the row's frames, and gets a
``Background`` or a ``NoBackground`` (the row's status and reason). Two sources are built in:
``LibraryBackgrounds`` (a library folder) and ``DonorBackgrounds`` (HAT's recipe: the background-only
version of another class's video from the same manifest).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

import numpy as np

from weirdkinetics._optional import require
from weirdkinetics.decode import DecodedVideo, VideoOpenError, probe, read_video, video_passes
from weirdkinetics.errors import UserError, option
from weirdkinetics.manifest import Manifest, ManifestRow
from weirdkinetics.statuses import RowFailure
from weirdkinetics.synth import composite
from weirdkinetics.synth.options import SynthOptions
from weirdkinetics.synth.segment import MaskSource

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v")
RULES = ("other", "fixed")

T = TypeVar("T")


@dataclass(frozen=True)
class BackgroundItem:
    """One library file. ``kind`` is ``image`` or ``video``."""

    category: str
    path: Path
    kind: str


def scan_library(root: str | Path) -> dict[str, list[BackgroundItem]]:
    """Categories (sub-folder names) -> their images and videos, sorted by file name.

    Raises a ``UserError`` that shows the expected layout when the folder is missing or holds no usable
    file; empty categories are left out.
    """
    root = Path(root)
    layout = f"expected {root}/<category>/<image or video>, e.g. {root}/kitchen/k1.jpg"
    if not root.is_dir():
        raise UserError(f"background library {root} is not a folder; {layout}")
    library: dict[str, list[BackgroundItem]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        items = []
        for path in sorted(folder.iterdir()):
            suffix = path.suffix.lower()
            if path.is_file() and suffix in IMAGE_SUFFIXES + VIDEO_SUFFIXES:
                items.append(
                    BackgroundItem(folder.name, path, "image" if suffix in IMAGE_SUFFIXES else "video")
                )
        if items:
            library[folder.name] = items
    if not library:
        kinds = ", ".join(IMAGE_SUFFIXES + VIDEO_SUFFIXES)
        raise UserError(
            f"background library {root} holds no image or video in a category folder ({kinds}); {layout}"
        )
    return library


def row_rng(seed: int, key: str) -> np.random.Generator:
    """A generator that depends only on ``seed`` and ``key`` (e.g. the source video id), stable across runs
    and Python versions (sha256, not ``hash()``)."""
    digest = hashlib.sha256(f"{int(seed)}\x00{key}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


@dataclass(frozen=True)
class Choice(Generic[T]):
    category: str
    item: T


def choose_background(
    pool: dict[str, list[T]],
    avoid: set[str],
    rng: np.random.Generator,
    rule: str = "other",
    fixed: str | None = None,
) -> Choice[T] | None:
    """Pick a background: a category uniformly, then an item in it uniformly (categories stay balanced).

    pool: category -> items (non-empty lists). rule ``other``: any category whose lower-cased name is not
    in ``avoid`` (the source's own background and class); rule ``fixed``: always category ``fixed``.
    Returns ``None`` when no category qualifies.
    """
    if rule == "fixed":
        if fixed is None:
            raise UserError(f"background rule 'fixed' needs a category ({option('category', meta='NAME')})")
        if fixed not in pool:
            raise UserError(
                f"background category '{fixed}' is not in the library; categories: {', '.join(sorted(pool))}"
            )
        categories = [fixed]
    elif rule == "other":
        lowered = {a.lower() for a in avoid if a}
        categories = sorted(c for c in pool if c.lower() not in lowered and pool[c])
    else:
        raise UserError(f"background rule '{rule}' is not one of: {', '.join(RULES)}")
    if not categories:
        return None
    category = categories[int(rng.integers(len(categories)))]
    items = pool[category]
    return Choice(category, items[int(rng.integers(len(items)))])


def read_image(path: str | Path) -> np.ndarray:
    """A still image as stored: uint8/uint16 (H, W), (H, W, 3) RGB or (H, W, 4) RGBA (no conversion to 3
    channels here: ``composite.to_rgb`` does that, so a grayscale file stays visible as one)."""
    cv2 = require("cv2", "synth", "reading background images")
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise UserError(f"background image {path} cannot be read (not an image OpenCV can decode?)")
    if image.ndim == 3 and image.shape[-1] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    elif image.ndim == 3 and image.shape[-1] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return image


# -- sources -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Background:
    """One row's new background. frames: uint8 (H, W, 3) (a still, or an image standing for every frame)
    or (T, H, W, 3), fitted to the row's frames. name: the manifest's ``background`` column (category, or
    the donor's background); label: the class this background is associated with ("" when unknown);
    source: the file or donor video it came from. anchor: (y, x), where the donor's removed person
    stood on average (swaps put the new person there, as HAT does), None for a library background."""

    frames: np.ndarray
    name: str
    label: str
    source: str
    anchor: tuple[float, float] | None = None


@dataclass(frozen=True)
class NoBackground:
    """Why a row gets no background: ``status`` is ``no_background`` (nothing qualifies under the choice
    rule) or ``background_error`` (the chosen background cannot be read); ``reason`` says what to do."""

    status: str
    reason: str


@runtime_checkable
class BackgroundSource(Protocol):
    """Anything that gives a manifest row a new background.

    ``name`` is what ``synth.json`` records under ``backgrounds``; ``inpaints`` says whether its
    backgrounds are OpenCV-inpainted (recorded under ``inpainting``). A source owns its seed, so its choice
    is a pure function of (seed, row, what it holds).
    """

    name: str
    inpaints: bool

    def pick(
        self, row: ManifestRow, num_frames: int, height: int, width: int, still: bool
    ) -> Background | NoBackground:
        """The background for ``row``, fitted to ``num_frames`` frames of ``height`` x ``width``; one image
        uint8 (height, width, 3) when ``still``."""
        ...


class _Unusable(Exception):
    """A chosen background that cannot be read (the row's ``background_error``)."""


class _LRU(OrderedDict):
    """The ``size`` most recently used values by key (decoded backgrounds are reused across rows)."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def get_or(self, key: Hashable, make: Callable[[], Any]) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = make()
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)
        return value


def avoided(row: ManifestRow) -> set[str]:
    """The source's own background and class: the ``other`` rule picks none of these."""
    return {row.label, row.background, row.extra.get("bg_class", "")} - {""}


class LibraryBackgrounds:
    """Backgrounds from a library folder (one sub-folder per category); a category is its own label.

    rule / category: the choice rule (``RULES``) and the ``fixed`` rule's category. max_side: background
    videos are decoded downscaled to this longest side, like the sources."""

    inpaints = False

    def __init__(
        self,
        root: str | Path,
        seed: int,
        rule: str = "other",
        category: str | None = None,
        max_side: int | None = None,
    ):
        root = Path(root)
        self.pool = scan_library(root)
        self.name = str(root.resolve())
        self.seed, self.rule, self.category, self.max_side = seed, rule, category, max_side
        self._images = _LRU(32)
        self._videos = _LRU(4)
        if rule == "fixed" and category not in self.pool:
            raise UserError(
                f"background category '{category}' is not in the library {root}; "
                f"categories: {', '.join(sorted(self.pool))}"
            )

    def pick(
        self, row: ManifestRow, num_frames: int, height: int, width: int, still: bool
    ) -> Background | NoBackground:
        avoid = avoided(row)
        # a swap takes videos only: a person on a still image is static-background (SCUBA), byte for byte
        pool = self.pool if still else {c: [i for i in v if i.kind == "video"] for c, v in self.pool.items()}
        pool = {c: v for c, v in pool.items() if v}
        if not pool:
            return NoBackground(
                "no_background",
                "the library holds no video, and a swap onto a still image would be static-background; add "
                "background videos, or use the static-background variant for images",
            )
        if self.rule == "fixed" and self.category not in pool:
            return NoBackground(
                "no_background", f"background category '{self.category}' holds no video for a swap; add one"
            )
        choice = choose_background(pool, avoid, row_rng(self.seed, row.video_id), self.rule, self.category)
        if choice is None:
            return NoBackground(
                "no_background",
                f"no library category other than {sorted(avoid)}; add categories or use the background rule 'fixed'",
            )
        try:
            frames = self._fit(choice.item, num_frames, height, width, still)
        except _Unusable as exc:
            return NoBackground("background_error", str(exc))
        return Background(frames, choice.category, choice.category, str(choice.item.path))

    def _fit(self, item: BackgroundItem, num_frames: int, height: int, width: int, still: bool) -> np.ndarray:
        """uint8 (H, W, 3) when ``still`` (a video gives its middle frame) or for an image; else a video
        (T, H, W, 3)."""
        if item.kind == "image":
            try:
                image = self._images.get_or(item.path, lambda: read_image(item.path))
            except UserError as exc:
                raise _Unusable(str(exc)) from None
            return composite.fit_background(image, height, width)
        # decode only what is used: the middle frame for a still, the first num_frames for a video
        if still:
            video = self._videos.get_or((item.path, "middle"), lambda: self._middle(item.path))
            if video.status not in ("ok", "partial") or len(video.frames) == 0:
                raise _Unusable(f"background video {item.path}: {video.status} ({video.reason})")
            return composite.fit_background(video.frames[0], height, width)
        status, reason, available = self._videos.get_or(
            (item.path, num_frames), lambda: self._count(item.path, num_frames)
        )
        if status not in ("ok", "partial") or available == 0:
            raise _Unusable(f"background video {item.path}: {status} ({reason})")
        return FittedVideo(item.path, available, self.max_side, num_frames, height, width)

    def _middle(self, path: Path) -> DecodedVideo:
        """The video's middle frame, as ``read_video`` decodes it."""
        try:
            count = probe(path).num_frames
        except VideoOpenError as exc:
            return DecodedVideo(np.zeros((0, 1, 1, 3), np.uint8), 0.0, exc.status, exc.reason)
        return read_video(path, max_side=self.max_side, indices=np.array([count // 2]))

    def _count(self, path: Path, num_frames: int) -> tuple[str, str, int]:
        """Status, reason and count of the video's first ``num_frames`` frames, none kept (``FittedVideo``
        decodes them again a frame at a time)."""
        try:
            passes = video_passes(path, self.max_side)
        except VideoOpenError as exc:
            return exc.status, exc.reason, 0
        available = passes.count(stop=num_frames)
        return passes.status, passes.reason, available


class FittedVideo:
    """``composite.fit_background_video`` of a background video's first ``available`` frames, made a frame
    at a time as a swap asks for them: ``video[t]`` is uint8 (height, width, 3), the video's frame
    ``t % available`` fitted; ``shape`` (num_frames, height, width, 3). Frames asked for in order (as
    ``synth.stream`` does) are made once per loop through the video; asking for an earlier one starts a new
    pass. The frames come from a library file (``path``, decoded as ``read_video`` does) or from ``make``
    (a callable giving a new iterator over them: a donor's background-only frames)."""

    ndim = 4

    def __init__(
        self,
        path: Path | None,
        available: int,
        max_side: int | None,
        num_frames: int,
        height: int,
        width: int,
        make: Callable[[], Any] | None = None,
    ):
        self.path, self.available, self.max_side = path, available, max_side
        self.shape = (num_frames, height, width, 3)
        self._make = make or self._decode
        self._frames = None
        self._next = 0  # the source index the decoder yields next

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, t: int) -> np.ndarray:
        index = int(t) % self.available
        if self._frames is None or index < self._next:
            self._frames, self._next = self._make(), 0
        while True:
            frame = next(self._frames, None)
            # a later pass decoded fewer frames than the count (the file changed, a read broke)
            if frame is None:
                where = self.path if self.path is not None else "the donor's background"
                raise RowFailure(
                    "background_error",
                    f"{where}: ended at frame {self._next} of {self.available} on a later pass",
                )
            self._next += 1
            if self._next - 1 == index:
                return composite.fit_background(frame, self.shape[1], self.shape[2])

    def _decode(self):
        """read_video's frames 0..available-1 of the path (the same decode, downscale and stop), in order."""
        return video_passes(self.path, self.max_side).frames(stop=self.available)


def _check_donor(coverage: np.ndarray, track, options: SynthOptions) -> None:
    """Raise ``_Unusable`` when the donor's own person mask (``coverage`` per frame, float (T,)) fails the
    gates its own row would (coverage, the person lost over time): its background-only would still show its
    person behind the swapped one."""
    if not options.exclude_low_quality:
        return
    quality = composite.mask_quality(coverage, options.quality)
    if not quality.ok:
        raise _Unusable(f"its person mask fails the quality rule: {quality.reason}")
    if track is not None and track.lost > options.quality.max_lost_frames * track.frames:
        raise _Unusable(f"its person was lost in {track.lost} of {track.frames} frames")


def _fitted_anchor(
    anchor: tuple[float, float] | None, shape: tuple[int, int], height: int, width: int
) -> tuple[float, float] | None:
    """``anchor`` (y, x) in a donor frame of ``shape`` (h, w), moved as ``composite.fit_background`` moves
    its pixels into ``height`` x ``width`` (scale to cover, centre crop)."""
    if anchor is None:
        return None
    h, w = shape
    scale = max(height / h, width / w)
    new_h, new_w = max(height, round(h * scale)), max(width, round(w * scale))
    top, left = (new_h - height) // 2, (new_w - width) // 2
    return anchor[0] * new_h / h - top, anchor[1] * new_w / w - left


class DonorBackgrounds:
    """HAT's recipe without a library: the background-only version (person inpainted away,
    ``variants.remove_person``) of another row's video, from a class other than the source's. The label is
    the donor's ``bg_class`` (the demo's column naming the class that owns its background) or else its
    label. A donor that cannot serve (its video or masks fail, or its person mask fails the gates its own
    row would, so its person would stay in the background) is set aside for the rest of the run and
    another is drawn."""

    name = "donor-background-only"
    inpaints = True

    def __init__(self, manifest: Manifest, masks: MaskSource, options: SynthOptions, seed: int):
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
                f"pass {option('backgrounds', meta='LIBRARY')} (a folder with one sub-folder of images/videos per category)"
            )

    @staticmethod
    def _label(row: ManifestRow) -> str:
        return row.extra.get("bg_class") or row.label

    def pick(
        self, row: ManifestRow, num_frames: int, height: int, width: int, still: bool
    ) -> Background | NoBackground:
        while True:  # ends: each failed donor leaves the pool, and an empty pool is no_background
            choice = self._choose(row)
            if choice is None:
                return NoBackground(
                    "no_background",
                    f"no other row has a background from a class other than {sorted(avoided(row))}",
                )
            donor = choice.item
            try:
                back, anchor = self._cache.get_or(
                    (donor.video_id, still), lambda d=donor: self._make(d, still)
                )
            except (_Unusable, UserError) as exc:
                self.bad[donor.video_id] = str(exc)
                continue
            if still:
                frames, size = composite.fit_background(back, height, width), back.shape[:2]
            else:  # the donor's background-only frames, made a frame at a time as the swap takes them
                size = (back.source.height, back.source.width)
                frames = FittedVideo(None, back.source.count, None, num_frames, height, width, back.frames)
            anchor = _fitted_anchor(anchor, size, height, width)
            name = donor.background or choice.category
            return Background(frames, name, choice.category, donor.video_id, anchor if not still else None)

    def _choose(self, row: ManifestRow) -> Choice[ManifestRow] | None:
        pool: dict[str, list[ManifestRow]] = {}
        for donor in self.rows.values():
            same = donor.video_id == row.video_id or (row.source_id and donor.source_id == row.source_id)
            if not same and donor.video_id not in self.bad:
                pool.setdefault(self._label(donor), []).append(donor)
        # a fresh generator per draw: the choice depends on the seed, the row and the usable pool only
        rng = row_rng(self.seed, row.video_id)
        return choose_background(pool, avoided(row), rng, self.options.choice, self.options.category)

    def _make(self, donor: ManifestRow, still: bool) -> tuple[Any, tuple[float, float] | None]:
        """The donor's background-only (a ``stream.Removal``, made a frame at a time; its middle frame uint8
        (h, w, 3) when ``still``) and where its person stood on average, (y, x). Streamed as a source row is:
        what is kept is its masks at one bit per pixel and its clean plate."""
        from weirdkinetics.synth import stream  # here: stream imports segment and variants, as we do

        try:
            source = stream.open_source(str(donor.path), self.options.max_side, {})
            found = stream.scan(donor, source, self.masks, self.options.threshold)
        except RowFailure as failure:
            raise _Unusable(
                failure.reason if failure.status == "mask_error" else f"{failure.status}: {failure.reason}"
            ) from None
        _check_donor(found.masks.coverage(), found.track, self.options)
        made = stream.removal(source, found.masks, self.options, exact=self.masks.name == "true")
        anchor = stream.centre_of_mass(found.masks)
        if still:
            return stream.last(made.frames(stop=source.count // 2 + 1)), anchor
        return made, anchor

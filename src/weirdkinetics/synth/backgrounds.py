"""Where new backgrounds come from: a library folder, or other videos of the manifest; the seeded choice.

A library is a folder with one sub-folder per category, holding still images and/or videos::

    backgrounds/
      beach/   sand_01.jpg  waves.mp4
      kitchen/ k1.png ...

The choice is a pure function of (seed, source video id, the pool): the same source gets the same
background in every variant (so static-background and static-person stay a matched pair) and whatever
other rows the manifest holds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np

from weirdkinetics._optional import require
from weirdkinetics.errors import UserError

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
            raise UserError("background rule 'fixed' needs a category (--background-category NAME)")
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

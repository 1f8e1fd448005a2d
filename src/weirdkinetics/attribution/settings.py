"""Which methods work for a card, and the settings that decide an attribution row besides its run
(``ExplainSettings``: part of its store key)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from weirdkinetics import sampling
from weirdkinetics.errors import UserError, option
from weirdkinetics.metrics import attribution as stats
from weirdkinetics.models.card import ModelCard
from weirdkinetics.results import dumps

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
                # was "map-cells" (random blocks redrawn in every frame), then "map-grid" (tie order and random
                # map from one stream)
                random="map-grid/independent-ties",
                deletion_fill=self.deletion_fill,
            )
        return d

    def key(self, method: str, card: ModelCard) -> str:
        return hashlib.sha256(dumps(self.to_dict(method, card)).encode()).hexdigest()[:16]

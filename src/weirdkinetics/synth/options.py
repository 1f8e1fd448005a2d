"""``SynthOptions``: every knob of a synth run besides the variant, inputs and segmenter.

A leaf of ``synth``: the variants' composition, the background sources and the pipeline all read it, and
``synth.json`` records it whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from weirdkinetics.synth.composite import QualityRule, relative_dilation


@dataclass(frozen=True)
class SynthOptions:
    """Every knob of a synth run besides the variant, inputs and segmenter (recorded in ``synth.json``).

    threshold: person probability that counts as person. feather_sigma: Gaussian sigma (pixels) of the
    person's edge in swaps, SCUBA and SCUFO; at most 0.5 (sub-pixel: a 2 px feather left a halo of the old
    scene that kept the original's class). Person-only always uses the hard mask (HAT).
    hole_frames: background-only's hole grows by this many frames either side (a maximum over time: masks
    are grown, never eroded). dilate_fraction: the hole's margin as a fraction of the frame's shorter side
    (``composite.relative_dilation``; at least 1 px); dilate_px overrides it with pixels. plate_min_seen:
    with a segmenter's masks, background-only recovers a pixel only when this fraction of the sampled
    frames shows it, else inpaints it (true masks: any one frame; ``plate.clean_plate``). inpaint_radius:
    OpenCV Telea's radius for the background no frame shows (``plate.clean_plate``). colour: RGB of
    person-only's outside and silhouette's background: the model's normalisation mean (0 after
    normalising); default Kinetics' 0.45 x 255, the demo passes its card's. choice: ``other`` (any
    background category other than the source's background and class) or ``fixed`` (always
    ``category``). exclude_low_quality: apply ``quality`` (excluded rows keep their row) and
    ``segment.track_person``'s identity check. confirm_person: also exclude a video when MediaPipe's pose
    detector (``segment.detect_people``, 8 evenly spaced frames; skipped for true masks) finds a person
    in fewer than ``min_people_frames`` of the frames it checked. Default 1/8 (one detection): at half, it
    excluded 2 of 3 real clips with a plain person in them (close-ups, partial bodies); the coverage
    gate and the identity tracking catch the salient objects it was meant for. 0 asks for none.
    max_side: decode sources downscaled to this longest side (None keeps the source size). crf: H.264
    quality of the outputs.
    """

    threshold: float = 0.5
    feather_sigma: float = 0.0
    hole_frames: int = 1
    dilate_fraction: float = 0.015
    dilate_px: int | None = None
    inpaint_radius: int = 3
    plate_min_seen: float = 0.2
    colour: tuple[int, int, int] = (115, 115, 115)
    choice: str = "other"
    category: str | None = None
    quality: QualityRule = field(default_factory=QualityRule)
    exclude_low_quality: bool = True
    confirm_person: bool = True
    min_people_frames: float = 0.125
    max_side: int | None = None
    crf: int = 18

    def dilation(self, height: int, width: int) -> int:
        """The hole's margin in pixels for a ``height`` x ``width`` frame."""
        if self.dilate_px is not None:
            return self.dilate_px
        return relative_dilation(height, width, self.dilate_fraction)

"""``SynthOptions``: every knob of a synth run besides the variant, inputs and segmenter.

A leaf of ``synth``: the variants' composition, the background sources and the pipeline all read it, and
``synth.json`` records it whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from weirdkinetics.synth.composite import QualityRule


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

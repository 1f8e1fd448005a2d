"""Derived, out-of-context test sets: background swap, person-only, background-only, SCUBA, SCUFO.

``synthesize(variant, manifest, out_dir, ...)`` is the entry point (``weirdkinetics synth``).
Stages: ``segment`` (person masks) -> ``composite`` (pure array functions) -> ``encode``; ``backgrounds``
finds and chooses the new backgrounds.
"""

from weirdkinetics.synth.composite import MaskQuality, QualityRule
from weirdkinetics.synth.generate import SYNTH_STATUSES, VARIANTS, SynthOptions, compose, synthesize
from weirdkinetics.synth.segment import SEGMENTERS

__all__ = [
    "SEGMENTERS",
    "SYNTH_STATUSES",
    "VARIANTS",
    "MaskQuality",
    "QualityRule",
    "SynthOptions",
    "compose",
    "synthesize",
]

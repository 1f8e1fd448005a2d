"""Derived, out-of-context test sets: background swap, person-only, background-only, SCUBA, SCUFO.

``synthesize(variant, manifest, out_dir, ...)`` is the entry point (``weirdkinetics synth``).
Stages: ``segment`` (person masks) -> ``composite`` (pure array functions) -> ``encode``; ``variants``
holds the variant table and each variant's composition, ``backgrounds`` finds and chooses the new
backgrounds (``BackgroundSource``), ``generate`` is the pipeline that runs them row by row.
"""

from weirdkinetics.synth.backgrounds import Background, BackgroundSource, NoBackground
from weirdkinetics.synth.composite import MaskQuality, QualityRule
from weirdkinetics.synth.generate import SYNTH_STATUSES, SynthResult, run_synth, synthesize
from weirdkinetics.synth.options import SynthOptions
from weirdkinetics.synth.segment import SEGMENTERS
from weirdkinetics.synth.variants import VARIANTS, compose

__all__ = [
    "SEGMENTERS",
    "SYNTH_STATUSES",
    "VARIANTS",
    "Background",
    "BackgroundSource",
    "MaskQuality",
    "NoBackground",
    "QualityRule",
    "SynthOptions",
    "SynthResult",
    "compose",
    "run_synth",
    "synthesize",
]

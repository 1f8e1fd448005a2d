"""Attribution: where a video model looks, measured against person masks.

One small protocol per method family: ``gradcam(model, clip, target) -> saliency float32 (T, H, W)`` for
cards that declare a target layer, and occlusion (person removed vs background removed) for every card. The
statistics over saliency and masks are pure functions in ``weirdkinetics.metrics.attribution``.
"""

from weirdkinetics.attribution.explain import (
    METHODS,
    ExplainSettings,
    MaskSource,
    check_methods,
    explain_clip,
    explain_manifest,
    methods_for,
    person_in_view,
)
from weirdkinetics.attribution.gradcam import gradcam, resolve_layer

__all__ = [
    "METHODS",
    "ExplainSettings",
    "MaskSource",
    "check_methods",
    "explain_clip",
    "explain_manifest",
    "gradcam",
    "methods_for",
    "person_in_view",
    "resolve_layer",
]

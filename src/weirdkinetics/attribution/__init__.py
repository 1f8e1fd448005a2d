"""Attribution: where a video model looks, measured against person masks.

One small protocol per method family: ``gradcam(model, clip, target) -> saliency float32 (T, H, W)`` for
cards that declare a target layer, and occlusion (person removed vs background removed) for every card. The
statistics over saliency and masks are pure functions in ``weirdkinetics.metrics.attribution``.

``explain_manifest`` is a plan (``begin_explanation``, ``plan_explain``: which (row, method) pairs are still
to do), one ``RowExplainer`` call per row (check the row, decode the clips' frames, person masks, each method
per clip; every row ends with a status and reason, a ``RowFailure`` ending it early) and the store writer
(``Explanation.write``). ``ExplainSetup`` is a run's explainer as plain data, so that the Ray engine's actors
build the same ``RowExplainer`` (``engines.ray_engine.explain_manifest_ray``). One module per concern:
``settings``, ``masks``, ``methods`` (one clip), ``rows`` (one row), ``plan``, ``explain`` (the run and its
store writer).
"""

from weirdkinetics.attribution.explain import Explanation, begin_explanation, explain_manifest
from weirdkinetics.attribution.gradcam import gradcam, resolve_layer
from weirdkinetics.attribution.masks import MaskSource, person_in_view
from weirdkinetics.attribution.methods import explain_clip
from weirdkinetics.attribution.plan import ExplainPlan, plan_explain
from weirdkinetics.attribution.rows import ExplainSetup, RowExplainer, RowResult, check_row, decode_clips
from weirdkinetics.attribution.settings import METHODS, ExplainSettings, check_methods, methods_for
from weirdkinetics.statuses import RowFailure

__all__ = [
    "METHODS",
    "ExplainPlan",
    "ExplainSettings",
    "ExplainSetup",
    "Explanation",
    "MaskSource",
    "RowExplainer",
    "RowFailure",
    "RowResult",
    "begin_explanation",
    "check_methods",
    "check_row",
    "decode_clips",
    "explain_clip",
    "explain_manifest",
    "gradcam",
    "methods_for",
    "person_in_view",
    "plan_explain",
    "resolve_layer",
]

"""Explain a model over a manifest: saliency per clip, statistics against person masks, one store row per
(video, run, method, settings).

Per video: decode only the frames of the explained clips (the centre clip by default), get the person masks
of those frames (synth's sources: a segmenter through the mask cache, or the demo's true masks), check the
masks as synth does (a video without a usable mask is ``excluded`` with synth's reason), then per clip run
each method and the pure statistics of ``metrics.attribution``. One clip's gradients at a time.

Methods (``METHODS``): ``gradcam`` (cards that declare a target layer) and ``occlusion`` (every card).

Every number carries its check: the background share with its normalised score (area and the map's own
resolution, ``metrics.attribution.background_score``); the deletion curve against ``random_repeats`` seeded
random deletions, whose spread is its noise floor, and only where the target score is at least 2 x chance
(else "not assessable"); occlusion drops likewise only above 2 x chance.

The rooms, one concern each: ``settings`` (methods and the settings in a row's key), ``masks`` (person
masks as the model sees them), ``methods`` (scores and the methods on one clip; what replaces removed
pixels, and why), ``rows`` (one row: ``RowExplainer``, ``ExplainSetup``), ``plan`` (what is left to do) and
this module: the run over a manifest and the store's only writer (``Explanation``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from weirdkinetics.attribution.masks import MaskSource, downsample, person_in_view
from weirdkinetics.attribution.methods import Scorer, blurred, explain_clip
from weirdkinetics.attribution.plan import ExplainPlan, plan_explain
from weirdkinetics.attribution.rows import (
    ExplainedFrames,
    ExplainSetup,
    RowExplainer,
    RowResult,
    check_in_view,
    check_row,
    decode_clips,
    person_masks,
    segmenter_for,
)
from weirdkinetics.attribution.settings import (
    CLIP_CHOICES,
    METHODS,
    OVERLAY_SIDE,
    TARGET_CHOICES,
    ExplainSettings,
    check_methods,
    methods_for,
)
from weirdkinetics.manifest import Manifest, ManifestRow
from weirdkinetics.models.card import ModelCard
from weirdkinetics.predict import Identity, count_statuses
from weirdkinetics.progress import progress_bar
from weirdkinetics.statuses import RowFailure
from weirdkinetics.store import Store, StoredAttribution, file_identity

# the names this module held before it was split by concern stay importable from here
__all__ = [
    "CLIP_CHOICES",
    "METHODS",
    "OVERLAY_SIDE",
    "TARGET_CHOICES",
    "ExplainPlan",
    "ExplainSettings",
    "ExplainSetup",
    "ExplainSummary",
    "ExplainedFrames",
    "Explanation",
    "MaskSource",
    "RowExplainer",
    "RowFailure",
    "RowResult",
    "Scorer",
    "begin_explanation",
    "blurred",
    "check_in_view",
    "check_methods",
    "check_row",
    "decode_clips",
    "downsample",
    "explain_clip",
    "explain_manifest",
    "methods_for",
    "person_in_view",
    "person_masks",
    "plan_explain",
    "segmenter_for",
]


def _store_row(
    store: Store,
    run_id: str,
    row: ManifestRow,
    identity: Identity,
    methods: list[str],
    settings: ExplainSettings,
    card: ModelCard,
    result: RowResult,
    seconds: float,
) -> None:
    """One store row per method for a finished manifest row (the store's only writer here)."""
    for m in methods:
        saliency, person = result.maps.get(m, (None, None))
        store.put_attribution(
            run_id,
            StoredAttribution(
                row.video_id,
                str(row.path),
                m,
                settings.key(m, card),
                settings.to_dict(m, card),
                row.to_dict(),
                result.status,
                result.reason,
                _finite(result.numbers_of(m)),
                saliency,
                person,
                seconds,
                identity,
            ),
        )


@dataclass
class ExplainSummary:
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # method -> status -> count
    computed: int = 0
    reused: int = 0
    seconds: float = 0.0
    seconds_per_video: dict[str, float] = field(default_factory=dict)  # method -> mean seconds (computed)


@dataclass
class Explanation:
    """One explain run under way: its rows, their file identities, the plan, the summary, and the store's only
    writer.

    Every engine opens one with ``begin_explanation`` on the driver, feeds ``write`` each row's
    ``RowResult`` as it comes (in any order) and ends with ``finish``; only ``write`` puts rows into the store.
    """

    rows: list[ManifestRow]
    identities: list[Identity]
    plan: ExplainPlan
    store: Store
    run_id: str
    card: ModelCard
    methods: list[str]
    settings: ExplainSettings
    summary: ExplainSummary
    bar: Any
    started: float
    method_seconds: dict[str, list[float]] = field(default_factory=dict)  # method -> seconds per row

    def write(self, i: int, result: RowResult, seconds: float) -> None:
        """Store row ``i``'s result for the methods the plan gave it; seconds: the whole row's time."""
        todo = self.plan.todo[i]
        _store_row(
            self.store, self.run_id, self.rows[i], self.identities[i], todo, self.settings, self.card,
            result, seconds,
        )  # fmt: skip
        self.summary.computed += len(todo)
        for m, spent in result.seconds.items():
            self.method_seconds.setdefault(m, []).append(spent)
        self.bar.update(1)

    def finish(self) -> ExplainSummary:
        """Count every method's statuses over the manifest (stored rows, old and new) and stop the clock."""
        self.bar.close()
        for m in self.methods:
            stored = self.store.attribution_statuses(self.run_id, m, self.settings.key(m, self.card))
            self.summary.counts[m] = count_statuses(self.rows, stored)[0]
            if self.method_seconds.get(m):
                self.summary.seconds_per_video[m] = float(np.mean(self.method_seconds[m]))
        self.summary.seconds = time.perf_counter() - self.started
        return self.summary


def begin_explanation(
    manifest: Manifest,
    card: ModelCard,
    run_id: str,
    methods: list[str],
    settings: ExplainSettings,
    store: Store,
    progress: bool = True,
) -> Explanation:
    """Take each file's identity and plan what is left (``plan_explain`` against the store): rows already
    stored for the same run, method, settings and file are never scheduled, whatever the engine."""
    started = time.perf_counter()
    rows = manifest.rows
    # a stored row is reused only for the same file (path and id) while it keeps its size and mtime
    identities = [file_identity(row.path) for row in rows]
    done = {m: store.attribution_reusable(run_id, m, settings.key(m, card)) for m in methods}
    plan = plan_explain(rows, methods, done, identities)
    bar = progress_bar(len(plan.todo), f"explain {card.name}", "video", progress)
    return Explanation(
        rows, identities, plan, store, run_id, card, list(methods), settings,
        ExplainSummary(reused=plan.reused), bar, started,
    )  # fmt: skip


def explain_manifest(
    manifest: Manifest,
    explainer: RowExplainer,
    run_id: str,
    methods: list[str],
    store: Store,
    progress: bool = True,
) -> ExplainSummary:
    """The local engine: explain every row with every method into ``store``; rows already stored for the
    same run, method, settings and path are not recomputed (a killed run resumes where it stopped).

    A plan (``begin_explanation``), one ``explainer`` call per row still to do, and the store writer
    (``Explanation.write``); the statuses are then counted over the manifest's rows. The Ray engine
    (``engines.ray_engine.explain_manifest_ray``) arranges the same pieces."""
    ex = begin_explanation(
        manifest, explainer.model.card, run_id, methods, explainer.settings, store, progress
    )
    try:
        for i in sorted(ex.plan.todo):
            t0 = time.perf_counter()
            result = explainer(ex.rows[i], ex.plan.todo[i])
            ex.write(i, result, time.perf_counter() - t0)
    finally:
        ex.bar.close()
    return ex.finish()


def _finite(value: Any) -> Any:
    """NaN and infinities become None (numpy numbers become Python ones), so the stored JSON is standard."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value

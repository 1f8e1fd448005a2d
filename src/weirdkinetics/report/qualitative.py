"""Which videos the qualitative panel shows. Pure: the API decodes strips for exactly these videos."""

from __future__ import annotations

import math

import numpy as np

from weirdkinetics.results import RunResults, VideoResult


def _confidence(v: VideoResult) -> float:
    """Score of the (restricted) prediction; -inf when none was stored, so such mistakes come last."""
    if v.pred_score is not None and math.isfinite(v.pred_score):
        return float(v.pred_score)
    for name, score in v.topk:
        if name == v.pred:
            return float(score)
    return -math.inf


def qualitative_selection(
    run: RunResults, n_mistakes: int = 6, n_correct: int = 4, seed: int = 0
) -> list[VideoResult]:
    """The most confident mistakes, then a seeded sample of correct predictions.

    Only counted videos (status ok/short/partial with a prediction) are candidates. Mistakes are sorted by
    the score of their wrong prediction, highest first (ties keep manifest order); correct videos are drawn
    without replacement with ``numpy.random.default_rng(seed)`` and kept in manifest order. Deterministic.
    """
    counted = [v for v in run.videos if v.has_prediction]
    mistakes = sorted((v for v in counted if not v.correct), key=_confidence, reverse=True)[
        : max(0, n_mistakes)
    ]
    correct = [v for v in counted if v.correct]
    take = min(max(0, n_correct), len(correct))
    picked = (
        np.sort(np.random.default_rng(seed).choice(len(correct), size=take, replace=False)) if take else []
    )
    return mistakes + [correct[i] for i in picked]

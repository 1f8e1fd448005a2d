"""Running the attribution methods on one clip: the target scores as evaluation computes them (``Scorer``),
Grad-CAM with its deletion check and occlusion, each with its check (see ``attribution.explain``), and the
clips' numbers averaged per video.

What replaces removed pixels, and why:

- occlusion (a whole region: the person, or the background): 0 after normalisation, i.e. the card's
  normalisation mean, a flat neutral grey with no texture, shape or motion; a blur would keep the region's
  colours and coarse shape, so a "removed" person would still be a moving blob.
- deletion curves (many small holes): a Gaussian blur of the clip (sigma 1/8 of the crop side), which
  removes the detail the map points at while staying within the colours of the video. Scattered flat grey
  patches are a strong out-of-distribution signal of their own: on the demo's control model, grey patches
  at random moved the score more than deleting the person did, which says nothing about the map."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from weirdkinetics.attribution.gradcam import gradcam
from weirdkinetics.attribution.settings import ExplainSettings
from weirdkinetics.metrics import attribution as stats
from weirdkinetics.models.loading import LoadedModel
from weirdkinetics.results import class_indices


class Scorer:
    """Target scores as evaluation computes them: softmax over the card's logits restricted to the class
    subset (renormalised), for batches of clips without gradients. Always in exact fp32 (no TF32 on CUDA),
    as evaluation's fp32 runs: Grad-CAM's passes too, since PyTorch's switch is process-wide."""

    def __init__(self, model: LoadedModel, class_names: list[str], classes: list[str], batch_size: int = 8):
        from weirdkinetics.inference import exact_fp32

        self.model = model
        self.index = torch.tensor(class_indices(class_names, classes))
        self.classes = list(classes)
        self.batch_size = batch_size
        self.device = next(model.module.parameters()).device
        exact_fp32(self.device)

    @torch.no_grad()
    def restricted(self, clips: torch.Tensor) -> torch.Tensor:
        """clips: float32 (B, C, T, H, W) -> float32 (B, len(classes)) restricted probabilities."""
        out = []
        for start in range(0, clips.shape[0], self.batch_size):
            chunk = clips[start : start + self.batch_size].to(self.device)
            logits = self.model.adapter.forward(self.model.module, self.model.card, chunk).float()
            out.append(torch.softmax(logits[:, self.index.to(logits.device)], dim=-1).cpu())
        return torch.cat(out)


def _removed(clip: torch.Tensor, remove: np.ndarray, fill: torch.Tensor | None = None) -> torch.Tensor:
    """clip: float32 (C, T, H, W); remove: bool (..., T, H, W) -> (..., C, T, H, W) with removed pixels taken
    from ``fill`` (C, T, H, W), or 0 (the normalisation mean) when it is None."""
    gone = torch.from_numpy(np.asarray(remove, dtype=bool)).to(clip.dtype).unsqueeze(-4)
    kept = clip * (1.0 - gone)
    return kept if fill is None else kept + fill * gone


def blurred(clip: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of each frame (separable, edges replicated): float32 (C, T, H, W) -> same shape."""
    radius = max(1, int(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=clip.dtype)
    kernel = torch.exp(-(x**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    c, t, h, w = clip.shape
    v = clip.permute(1, 0, 2, 3).reshape(t * c, 1, h, w)
    v = F.conv2d(F.pad(v, (radius, radius, 0, 0), mode="replicate"), kernel.view(1, 1, 1, -1))
    v = F.conv2d(F.pad(v, (0, 0, radius, radius), mode="replicate"), kernel.view(1, 1, -1, 1))
    return v.reshape(t, c, h, w).permute(1, 0, 2, 3).contiguous()


def explain_clip(
    model: LoadedModel,
    scorer: Scorer,
    clip: torch.Tensor,
    person: np.ndarray,
    target_pos: int,
    methods: list[str],
    settings: ExplainSettings,
    base: float | None = None,
) -> dict[str, dict]:
    """All requested methods on one clip. clip: float32 (C, T, H, W); person: bool (T, H, W) in the same view.
    base: the clip's target score when the caller already has it (one forward pass per clip, not per method).

    Returns method -> {"numbers": {...}, "saliency": float32 (T, H, W)}.
    """
    target = int(scorer.index[target_pos])
    if base is None:
        base = float(scorer.restricted(clip[None])[0, target_pos])
    chance = 1.0 / len(scorer.classes)
    out: dict[str, dict] = {}
    if "gradcam" in methods:
        out["gradcam"] = _gradcam_numbers(model, scorer, clip, person, target, target_pos, settings, base)
    if "occlusion" in methods:
        out["occlusion"] = _occlusion_numbers(scorer, clip, person, target_pos, base, chance)
    return out


def _share_numbers(share: float, person: np.ndarray, floor: float) -> dict:
    """The raw background share, the background's area and the normalised score (``stats.background_score``)."""
    area = stats.background_area(person)
    return {
        "background_score": stats.background_score(share, area, floor),
        "background_share": share,
        "background_area": area,
        "person_floor": floor,
    }


def _gradcam_numbers(
    model: LoadedModel,
    scorer: Scorer,
    clip: torch.Tensor,
    person: np.ndarray,
    target: int,
    target_pos: int,
    settings: ExplainSettings,
    base: float,
) -> dict:
    """Grad-CAM's map, its shares and its deletion check against ``random_repeats`` seeded random deletions."""
    info: dict = {}
    saliency = gradcam(model, clip, target, info)
    share = stats.background_share(saliency, person)
    # the random baseline is a random map on the map's native (T', h, w) grid, brought up as the map is:
    # as coarse in space and time as the map (holes redrawn in every frame would add a flicker of their own)
    masks = [
        stats.deletion_masks(saliency, settings.fractions, settings.seed + k, info["grid"])
        for k in range(max(1, settings.random_repeats))
    ]
    fill = blurred(clip, clip.shape[-1] / 8)
    batch = _removed(clip, np.concatenate([masks[0][0], *(random for _, random in masks)]), fill)
    scores = scorer.restricted(batch)[:, target_pos].numpy().astype(np.float64)
    f = len(settings.fractions)
    drops = (base - scores).reshape(-1, f)
    deletion = stats.deletion_result(settings.fractions, drops[0], drops[1:], base, 1.0 / len(scorer.classes))
    numbers = _share_numbers(share, person, stats.person_floor(person, info["grid"]))
    numbers.update(base_score=base, deletion=deletion.to_dict())
    return {"numbers": numbers, "saliency": saliency}


def _occlusion_numbers(
    scorer: Scorer, clip: torch.Tensor, person: np.ndarray, target_pos: int, base: float, chance: float
) -> dict:
    """The score with the person removed and with the background removed; not assessable below chance."""
    both = _removed(clip, np.stack([person, ~person]))
    scores = scorer.restricted(both)[:, target_pos].numpy().astype(np.float64)
    person_drop, background_drop = base - scores[0], base - scores[1]
    share = stats.occlusion_share(person_drop, background_drop)
    # the occlusion "map": each region's score drop spread evenly over its pixels
    t = person.shape[0]
    inside = max(person.sum(), 1) / t
    outside = max((~person).sum(), 1) / t
    saliency = np.where(person, max(person_drop, 0.0) / inside, max(background_drop, 0.0) / outside)
    ok, reason = stats.assessable(base, chance)
    numbers = _share_numbers(share, person, 0.0)  # the regions are the mask itself: no resolution floor
    numbers.update(
        base_score=base,
        chance=chance,
        person_drop=person_drop,
        background_drop=background_drop,
        assessable=ok,
        assessable_reason=reason,
    )
    return {"numbers": numbers, "saliency": saliency.astype(np.float32)}


def mean_numbers(per_clip: list[dict]) -> dict:
    """Average the clips' numbers (deletion curves point by point); the first clip's keys decide."""
    if len(per_clip) == 1:
        return per_clip[0]
    out: dict[str, Any] = {}
    for key, value in per_clip[0].items():
        if key == "deletion":
            out[key] = _mean_deletion([c["deletion"] for c in per_clip])
        elif isinstance(value, (int, float)):
            vals = np.array([c[key] for c in per_clip], dtype=np.float64)
            out[key] = float(np.nanmean(vals)) if np.isfinite(vals).any() else math.nan
        else:
            out[key] = value
    if "assessable" in out:  # occlusion: judged again at the video's mean target score, as deletion is
        out["assessable"], out["assessable_reason"] = stats.assessable(out["base_score"], out.get("chance"))
    return out


def _mean_deletion(per_clip: list[dict]) -> dict:
    """The clips' deletion curves averaged point by point (and seed by seed), judged again at the mean base
    score: a video is faithful on average, not clip by clip."""
    first = per_clip[0]
    salient = np.mean([c["salient_drop"] for c in per_clip], axis=0)
    random = np.mean([c.get("random_drops") or [c["random_drop"]] for c in per_clip], axis=0)
    bases = [c["base_score"] for c in per_clip if c.get("base_score") is not None]
    base = float(np.mean(bases)) if bases else math.inf
    return stats.deletion_result(
        tuple(first["fractions"]), salient, random, base, first.get("chance")
    ).to_dict()

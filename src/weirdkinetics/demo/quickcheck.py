"""A quick in-memory check of a trained demo model on a demo test set (not the toolkit's evaluation path).

Used by the demo's own tests and while tuning the demo: dense clips per the card, logits averaged over the
clips of a video, accuracy per split and how often the prediction is the class owning the background.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from weirdkinetics import sampling
from weirdkinetics.demo.data import load_videos
from weirdkinetics.labels import label_space
from weirdkinetics.models.card import ModelCard


@torch.no_grad()
def predict_videos(model: nn.Module, card: ModelCard, videos: list[torch.Tensor]) -> np.ndarray:
    """Predicted class index per video. videos[i]: float32 (C, T, crop, crop) -> int (N,)."""
    model.eval()
    spec = sampling.spec_for(card)  # the card's dense clips, as evaluation samples them
    predictions = []
    for video in videos:
        clips = torch.stack([video[:, idx] for idx in sampling.clip_indices(video.shape[1], spec)])
        predictions.append(int(model(clips).mean(0).argmax()))
    return np.array(predictions)


def quick_check(
    model: nn.Module, card: ModelCard, manifest: str | Path, progress: bool = False
) -> dict[str, dict]:
    """Accuracy and background-owner rate per split.

    Returns ``{split: {"n", "accuracy", "bg_class_rate"}}``; ``bg_class_rate`` is the share of videos
    predicted as the class that owns their background (on ``real`` it equals the accuracy).
    """
    videos, rows = load_videos(manifest, card, progress, desc="decode test set")
    classes = label_space(card.label_space)
    predicted = [classes[i] for i in predict_videos(model, card, videos)]
    result: dict[str, dict] = {}
    for split in sorted({r.split for r in rows}):
        picked = [(p, r) for p, r in zip(predicted, rows) if r.split == split]
        result[split] = {
            "n": len(picked),
            "accuracy": float(np.mean([p == r.label for p, r in picked])),
            "bg_class_rate": float(np.mean([p == r.extra.get("bg_class") for p, r in picked])),
        }
    return result

"""torchvision video model adapter: networks from ``torchvision.models.video`` builders.

The network is torchvision's own builder with ``weights=None`` (same module tree, state-dict keys and
logits), so the published bare state dicts load unchanged. torchvision is a core dependency: no extra.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import video as tv_video

from weirdkinetics.labels import label_space
from weirdkinetics.models.card import ModelCard


class TorchvisionAdapter:
    extra = ""

    def build(self, card: ModelCard) -> nn.Module:
        """``torchvision.models.video.<card.builder>(weights=None)`` with fresh random weights, no download."""
        builder = getattr(tv_video, card.builder, None)
        if builder is None:
            raise ValueError(f"model '{card.name}': torchvision.models.video has no builder '{card.builder}'")
        return builder(weights=None, num_classes=len(label_space(card.label_space)), **card.arch)

    def forward(self, model: nn.Module, card: ModelCard, clips: torch.Tensor) -> torch.Tensor:
        """clips: float32 (B, C, T, H, W), normalised -> logits float32 (B, num_classes)."""
        return model(clips)

"""PyTorchVideo model zoo adapter: networks from ``pytorchvideo.models.hub`` builders.

The network is PyTorchVideo's own (same module tree, state-dict keys and logits), so published
``{"model_state": ...}`` checkpoints load unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

from weirdkinetics._optional import require
from weirdkinetics.models.card import ModelCard


def pack_pathways(clips: torch.Tensor, alpha: int) -> list[torch.Tensor]:
    """SlowFast input, as PyTorchVideo's ``PackPathway`` (torch.hub tutorial) makes it.

    clips: float32 (B, C, T, H, W) -> ``[slow (B, C, T // alpha, H, W), fast = clips]``; the slow pathway takes
    the frames at ``linspace(0, T - 1, T // alpha)`` truncated to integers.
    """
    t = clips.shape[2]
    slow_idx = torch.linspace(0, t - 1, t // alpha).long().to(clips.device)
    return [clips.index_select(2, slow_idx), clips]


class PyTorchVideoAdapter:
    extra = "pytorchvideo"

    def build(self, card: ModelCard) -> nn.Module:
        """``pytorchvideo.models.hub.<card.builder>(pretrained=False, **card.arch)``: fresh weights, no download."""
        hub = require("pytorchvideo.models.hub", "pytorchvideo", f"model '{card.name}'")
        builder = getattr(hub, card.builder, None)
        if builder is None:
            raise ValueError(f"model '{card.name}': pytorchvideo.models.hub has no builder '{card.builder}'")
        return builder(pretrained=False, **card.arch)

    def forward(self, model: nn.Module, card: ModelCard, clips: torch.Tensor) -> torch.Tensor:
        """clips: float32 (B, C, T, H, W) -> logits (B, num_classes). Two-pathway models get
        ``pack_pathways(clips, card.slowfast_alpha)``."""
        if card.slowfast_alpha:
            return model(pack_pathways(clips, card.slowfast_alpha))
        return model(clips)

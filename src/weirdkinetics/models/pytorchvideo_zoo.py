"""PyTorchVideo model zoo adapter: networks from ``pytorchvideo.models.hub`` builders.

The network is PyTorchVideo's own (same module tree, state-dict keys and logits), so published
``{"model_state": ...}`` checkpoints load unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

from weirdkinetics._optional import require
from weirdkinetics.models.card import ModelCard
from weirdkinetics.models.loading import register_adapter


class PyTorchVideoAdapter:
    extra = "pytorchvideo"

    def build(self, card: ModelCard) -> nn.Module:
        hub = require("pytorchvideo.models.hub", "pytorchvideo", f"model '{card.name}'")
        builder = getattr(hub, card.builder)
        return builder(pretrained=False, **card.arch)

    def forward(self, model: nn.Module, card: ModelCard, clips: torch.Tensor) -> torch.Tensor:
        """clips: float32 (B, C, T, H, W). Two-pathway models get ``[slow, fast]`` as PyTorchVideo's
        ``PackPathway`` makes them (slow = every ``alpha``-th frame of the fast pathway)."""
        if card.slowfast_alpha:
            t = clips.shape[2]
            slow_idx = torch.linspace(0, t - 1, t // card.slowfast_alpha).long()
            return model([clips.index_select(2, slow_idx), clips])
        return model(clips)


register_adapter("pytorchvideo", PyTorchVideoAdapter())

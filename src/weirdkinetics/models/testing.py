"""Tiny models that live in the real registry, so the whole pipeline runs on CPU in seconds, offline.

``TinyC3D`` is a small 3D CNN with batch normalisation; the demo trains it, the tests use it with seeded
random weights.
"""

from __future__ import annotations

import torch
from torch import nn

from weirdkinetics.labels import label_space
from weirdkinetics.models.card import ModelCard


class TinyC3D(nn.Module):
    """Three conv3d-BN-ReLU blocks, global average pooling, a linear head.

    Input float32 (B, 3, T, H, W) -> logits (B, num_classes). Fully convolutional, any T/H/W >= 4.
    """

    def __init__(self, num_classes: int, width: int = 16):
        super().__init__()

        def block(cin: int, cout: int, pool: tuple[int, int, int]) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv3d(cin, cout, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm3d(cout),
                nn.ReLU(inplace=True),
                nn.MaxPool3d(pool),
            )

        self.features = nn.Sequential(
            block(3, width, (1, 2, 2)),
            block(width, width * 2, (2, 2, 2)),
            block(width * 2, width * 4, (2, 2, 2)),
        )
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.head = nn.Linear(width * 4, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.features(x)).flatten(1))


class TestingAdapter:
    extra = ""

    def build(self, card: ModelCard) -> nn.Module:
        num_classes = len(label_space(card.label_space))
        if card.builder == "tiny_c3d":
            return TinyC3D(num_classes, **card.arch)
        raise ValueError(f"unknown testing builder '{card.builder}'")

    def forward(self, model: nn.Module, card: ModelCard, clips: torch.Tensor) -> torch.Tensor:
        return model(clips)

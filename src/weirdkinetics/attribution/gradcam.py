"""Grad-CAM for video models, with one map per input frame.

Written by hand rather than with the ``grad-cam`` package: that package depends on ``opencv-python``, which
would replace the ``opencv-contrib-python`` that mediapipe brings, and it averages the gradient weights over
time, so a whole clip shares one set of channel weights. Here each time step of the target layer gets its own
channel weights (the mean of the gradients over space at that step), as PySlowFast's Grad-CAM does, so a
person who moves through the clip is followed frame by frame.

The target layer is the card's (``card.cam_layers``); transformer layers output tokens, which the card's
``cam_tokens`` grid turns back into (C, T', h, w). Two-pathway models (SlowFast) name one layer per pathway:
like PySlowFast, each pathway's map is computed and min-max normalised on its own; here both are then
upsampled to the clip's (T, H, W) and averaged, so one map covers the clip.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from weirdkinetics.errors import UserError
from weirdkinetics.models.card import ModelCard
from weirdkinetics.models.loading import LoadedModel


def resolve_layer(module: nn.Module, path: str) -> nn.Module:
    """The sub-module at dotted ``path`` (``blocks.4.multipathway_blocks.0``); a clear error when absent."""
    current = module
    for i, part in enumerate(path.split(".")):
        children = dict(current.named_children())
        if part not in children:
            done = ".".join(path.split(".")[:i]) or "the model"
            raise ValueError(
                f"target layer '{path}': {done} has no child '{part}' (children: {', '.join(children) or 'none'})"
            )
        current = children[part]
    return current


def _first_tensor(output) -> torch.Tensor:
    """Layers of some zoos return tuples ((tokens, thw) in MViT, (hidden,) in transformers): the first tensor."""
    while isinstance(output, (tuple, list)):
        output = output[0]
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"target layer output is {type(output).__name__}, not a tensor")
    return output


def as_volume(activation: torch.Tensor, card: ModelCard, batch: int) -> torch.Tensor:
    """A target layer's output as float (B, C, T', h, w).

    CNN layers already are; token layers are reshaped with the card's grid, class tokens dropped.
    """
    if not card.cam_token_layout:
        if activation.ndim != 5:
            raise ValueError(
                f"model '{card.name}': target layer output has shape {tuple(activation.shape)}; a CNN layer must "
                "give (B, C, T, H, W), a transformer card must declare cam_tokens and cam_token_layout"
            )
        return activation
    t, h, w = card.cam_tokens or (0, 0, 0)
    layout = card.cam_token_layout
    if layout == "channels_last":  # (B, T', h, w, C)
        return activation.permute(0, 4, 1, 2, 3)
    if layout == "frames":  # (B * T', cls + h * w, C): a per-frame image model
        tokens = activation[:, card.cam_cls_tokens :]
        tokens = tokens.reshape(batch, t, h, w, tokens.shape[-1])
        return tokens.permute(0, 4, 1, 2, 3)
    if layout == "tokens":  # (B, cls + N, C)
        tokens = activation[:, card.cam_cls_tokens :]
        if tokens.shape[1] != t * h * w:
            raise ValueError(
                f"model '{card.name}': {tokens.shape[1]} tokens after dropping {card.cam_cls_tokens} class "
                f"token(s), but cam_tokens {card.cam_tokens} holds {t * h * w}"
            )
        if card.cam_token_order == "hwt":
            return tokens.reshape(batch, h, w, t, -1).permute(0, 4, 3, 1, 2)
        return tokens.reshape(batch, t, h, w, -1).permute(0, 4, 1, 2, 3)
    raise ValueError(f"model '{card.name}': unknown cam_token_layout {layout!r}")


def _cam(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """(1, C, T', h, w) activation and gradient -> ReLU(sum_c w[c, t] A[c, t]) (1, 1, T', h, w), with
    w[c, t] the spatial mean of the gradient at time step t (one set of weights per time step)."""
    weights = gradient.mean(dim=(3, 4), keepdim=True)
    return F.relu((weights * activation).sum(dim=1, keepdim=True))


def gradcam(model: LoadedModel, clip: torch.Tensor, target: int, info: dict | None = None) -> np.ndarray:
    """Grad-CAM of class ``target`` (index into the model's outputs) for one clip.

    clip: float32 (C, T, H, W), normalised as the card says. Returns float32 (T, H, W) >= 0: one map per
    input frame, trilinearly upsampled from the target layer's (T', h, w). The score is the target's logit
    (before any softmax; for open-vocabulary models, the similarity to that class's prompt). One clip's
    gradients at a time: memory stays that of one backward pass. ``info``, when given, receives
    ``"grid"``: the (T', h, w) of the (first) target layer, the map's native resolution.
    """
    card = model.card
    if not card.cam_layers:
        raise UserError(
            f"model '{card.name}' declares no Grad-CAM target layer; use the occlusion method (works for every model)"
        )
    layers = [resolve_layer(model.module, path) for path in card.cam_layers]
    captured: list[torch.Tensor | None] = [None] * len(layers)

    def hook_for(i: int):
        def hook(_module, _inputs, output):
            captured[i] = _first_tensor(output)

        return hook

    handles = [layer.register_forward_hook(hook_for(i)) for i, layer in enumerate(layers)]
    device = next(model.module.parameters()).device
    # an input that asks for gradients keeps the graph even where the weights are frozen
    x = clip.unsqueeze(0).to(device).requires_grad_(True)
    try:
        with torch.enable_grad():
            logits = model.adapter.forward(model.module, card, x)
            if any(a is None for a in captured):
                missing = [p for p, a in zip(card.cam_layers, captured) if a is None]
                raise ValueError(
                    f"model '{card.name}': target layer(s) {missing} did not run in the forward pass"
                )
            score = logits[0, int(target)]
            gradients = torch.autograd.grad(score, captured)
    finally:
        for h in handles:
            h.remove()
    size = tuple(clip.shape[1:])
    maps = []
    for activation, gradient in zip(captured, gradients):
        a = as_volume(activation.detach(), card, 1).float()
        g = as_volume(gradient, card, 1).float()
        cam = F.interpolate(_cam(a, g), size=size, mode="trilinear", align_corners=False)[0, 0]
        if len(layers) > 1:  # pathways are normalised on their own before they are combined (PySlowFast)
            lo, hi = cam.min(), cam.max()
            cam = (cam - lo) / (hi - lo + 1e-6)
        maps.append(cam)
        if info is not None and "grid" not in info:
            info["grid"] = tuple(int(x) for x in a.shape[2:])
    out = torch.stack(maps).mean(dim=0).clamp_(min=0)
    return out.cpu().numpy().astype(np.float32)

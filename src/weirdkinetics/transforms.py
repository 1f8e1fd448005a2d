"""Pure spatial transforms over frame tensors: resize, crop, scale, normalise.

Built on ``torchvision.transforms.v2.functional`` so resizing is the zoos' own code; crop offsets follow each
zoo's convention (PyTorchVideo's ``uniform_crop`` rounds up, torchvision's ``center_crop`` rounds half to
even, Hugging Face's processors round down), because a one-pixel shift breaks parity with the reference transforms.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from weirdkinetics.models.card import ModelCard

_INTERP = {
    "bilinear": InterpolationMode.BILINEAR,
    "bicubic": InterpolationMode.BICUBIC,
    "nearest": InterpolationMode.NEAREST,
}


def resized_hw(height: int, width: int, size: int | tuple[int, int]) -> tuple[int, int]:
    """Output (h, w): ``size`` int -> short side to ``size``, long side ``floor(long * size / short)``
    (torchvision ``Resize(int)`` and PyTorchVideo ``ShortSideScale`` agree); a pair is taken as is."""
    if not isinstance(size, int):
        return int(size[0]), int(size[1])
    if width < height:
        return int(math.floor(height * size / width)), size
    return size, int(math.floor(width * size / height))


def resize_frames(frames: torch.Tensor, card: ModelCard) -> torch.Tensor:
    """Resize per the card.

    frames: uint8 (T, H, W, C) -> float32 (T, C, h, w) scaled to [0, 1]. With ``card.resize_on_uint8`` the
    uint8 video is resized first (torchvision presets), otherwise it is scaled to float first (PyTorchVideo).
    """
    x = frames.permute(0, 3, 1, 2)
    h, w = resized_hw(x.shape[-2], x.shape[-1], card.resize)
    interp = _INTERP[card.interpolation]
    if card.resize_on_uint8:
        if card.antialias:  # Hugging Face video processors: torchvision's antialiased uint8 kernel
            x = TF.resize(x.contiguous(), [h, w], interpolation=interp, antialias=True)
        else:  # torchvision presets: float interpolation, rounded back to uint8
            x = TF.resize(x.float(), [h, w], interpolation=interp, antialias=False).round_().clamp_(0, 255)
        return x.float().div_(255.0)
    x = x.float().div_(255.0)
    if (h, w) == tuple(x.shape[-2:]):
        return x
    return TF.resize(x, [h, w], interpolation=interp, antialias=card.antialias)


def crop_offsets(
    height: int, width: int, size: int, crops: int, rounding: str = "ceil"
) -> list[tuple[int, int]]:
    """Top-left corners of ``crops`` (1 or 3) square crops of ``size``.

    One crop is centred; three go along the long side: start, centre, end (PyTorchVideo's spatial_idx 0,1,2).
    """
    if size > height or size > width:
        raise ValueError(f"crop {size} larger than frame {height}x{width}")

    if rounding not in ("ceil", "round", "floor"):
        raise ValueError(f"crop rounding must be ceil, round or floor, not {rounding!r}")

    def centre(extent: int) -> int:
        if rounding == "floor":  # Hugging Face image processors
            return (extent - size) // 2
        half = (extent - size) / 2
        return int(math.ceil(half)) if rounding == "ceil" else int(round(half))

    cy, cx = centre(height), centre(width)
    if crops == 1:
        return [(cy, cx)]
    if crops != 3:
        raise ValueError("crops must be 1 or 3")
    if height > width:
        return [(0, cx), (cy, cx), (height - size, cx)]
    return [(cy, 0), (cy, cx), (cy, width - size)]


def normalize(x: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """x: float (..., C, H, W) in [0, 1] -> (x - mean) / std per channel."""
    m = torch.tensor(mean, dtype=x.dtype).view(-1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype).view(-1, 1, 1)
    return (x - m) / s


def clips_from_resized(resized: torch.Tensor, card: ModelCard, crops: int = 1) -> torch.Tensor:
    """Crop and normalise one clip of resized frames.

    resized: float32 (T, C, h, w) in [0, 1] -> float32 (crops, C, T, crop, crop), the models' layout.
    """
    h, w = resized.shape[-2:]
    views = []
    for top, left in crop_offsets(h, w, card.crop, crops, card.crop_rounding):
        v = resized[..., top : top + card.crop, left : left + card.crop]
        views.append(normalize(v, card.mean, card.std).permute(1, 0, 2, 3))
    return torch.stack(views)


def preprocess_clip(frames: np.ndarray | torch.Tensor, card: ModelCard, crops: int = 1) -> torch.Tensor:
    """The card's whole spatial protocol for one clip.

    frames: uint8 (T, H, W, C) RGB -> float32 (crops, C, T, crop, crop).
    """
    t = torch.as_tensor(np.ascontiguousarray(frames)) if isinstance(frames, np.ndarray) else frames
    return clips_from_resized(resize_frames(t, card), card, crops)

"""Person masks for explained frames: the manifest's true masks or a segmenter through synth's mask
cache, as the model sees them (resized, centre-cropped, dilated), and downsampled for storage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from weirdkinetics.attribution.settings import OVERLAY_SIDE
from weirdkinetics.errors import UserError
from weirdkinetics.manifest import ManifestRow
from weirdkinetics.models.card import ModelCard
from weirdkinetics.transforms import crop_offsets, resized_hw


class _FramesSegmenter:
    """A segmenter under a name whose settings also name which frames were segmented, so the mask cache
    (keyed by video, segmenter settings and frame shape) never mixes two different frame selections."""

    def __init__(self, segmenter: Any, tag: str):
        self._segmenter, self.name = segmenter, segmenter.name
        self.settings = {**segmenter.settings, "frames": tag}

    def masks(self, frames: np.ndarray) -> np.ndarray:
        return self._segmenter.masks(frames)


class MaskSource:
    """Person probabilities float32 (T, H, W) for decoded frames: the manifest's true masks (``true``) or a
    segmenter through synth's mask cache."""

    def __init__(self, name: str, segmenter: Any = None, cache: Any = None, manifest_dir: Path | None = None):
        self.name, self.segmenter, self.cache = name, segmenter, cache
        self.manifest_dir = manifest_dir or Path(".")

    @property
    def settings(self) -> dict:
        return {} if self.segmenter is None else dict(self.segmenter.settings)

    def masks(self, row: ManifestRow, frames: np.ndarray, source_index: np.ndarray, tag: str) -> np.ndarray:
        """frames: uint8 (T, H, W, 3) decoded at source frames ``source_index`` int (T,). Raises
        ``UserError`` when no mask can be made (synth's ``mask_error``)."""
        from weirdkinetics.synth.segment import TrueMasks, true_mask_path

        if self.name == "true":
            path = true_mask_path(row, self.manifest_dir)
            # one read of the file (its own regular-file check first), then the decoded frames' masks
            whole = TrueMasks(path).load(frames.shape[1:3])
            if len(source_index) and int(source_index.max()) >= len(whole):
                raise UserError(
                    f"mask file {path} holds {len(whole)} frames, but the video has frame "
                    f"{int(source_index.max())}"
                )
            return whole[source_index]
        segmenter = _FramesSegmenter(self.segmenter, tag)
        if self.cache is not None:
            return self.cache.masks(row.path, frames, segmenter)[0]
        return segmenter.masks(frames)


def person_in_view(masks: np.ndarray, card: ModelCard, dilate_px: int) -> np.ndarray:
    """Person masks as the model sees the frames: resized and centre-cropped like them, then dilated.

    masks: float (T, H, W) probabilities -> bool (T, crop, crop), thresholded at 0.5 and grown by
    ``dilate_px`` pixels (a square neighbourhood), so the edge of the person counts as person.
    """
    from scipy import ndimage

    m = torch.from_numpy(np.ascontiguousarray(masks, dtype=np.float32))[:, None]
    h, w = resized_hw(m.shape[-2], m.shape[-1], card.resize)
    if (h, w) != tuple(m.shape[-2:]):
        m = F.interpolate(m, size=(h, w), mode="bilinear", align_corners=False)
    top, left = crop_offsets(h, w, card.crop, 1, card.crop_rounding)[0]
    view = (m[:, 0, top : top + card.crop, left : left + card.crop] >= 0.5).numpy()
    if dilate_px > 0:
        structure = np.zeros((1, 3, 3), bool)
        structure[0] = True
        view = ndimage.binary_dilation(view, structure=structure, iterations=dilate_px)
    return view


def downsample(volume: np.ndarray, side: int = OVERLAY_SIDE) -> np.ndarray:
    """float (T, H, W) -> float32 (T, h, w) with max(h, w) <= side (area average), for storage."""
    v = torch.from_numpy(np.ascontiguousarray(volume, dtype=np.float32))[:, None]
    h, w = v.shape[-2:]
    scale = min(1.0, side / max(h, w))
    if scale < 1.0:
        v = F.interpolate(v, size=(max(1, round(h * scale)), max(1, round(w * scale))), mode="area")
    return v[:, 0].numpy()

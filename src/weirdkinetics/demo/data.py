"""Read the demo's manifests and videos, decoded and preprocessed exactly as evaluation does.

Frames come from the toolkit's decoder (``decode.read_video``, resampled to the card's fps by presentation
time, as ``predict`` does) and go through the card's spatial protocol (``transforms``), so a training clip is
the same tensor evaluation would build from the same frames.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from weirdkinetics.decode import read_video
from weirdkinetics.errors import UserError
from weirdkinetics.labels import label_space
from weirdkinetics.manifest import ManifestRow, read_manifest
from weirdkinetics.models.card import ModelCard
from weirdkinetics.progress import track
from weirdkinetics.transforms import preprocess_clip


def read_frames(path: str | Path, fps: float | None = None) -> np.ndarray:
    """Decode a whole video (resampled to ``fps`` when given) -> uint8 (T, H, W, 3) RGB.

    Anything but a clean decode is an error here: the demo's own files should always decode.
    """
    video = read_video(path, fps=fps)
    if video.status != "ok" or len(video.frames) == 0:
        raise UserError(f"{path}: {video.status} ({video.reason or 'no frames'}); regenerate the demo data")
    return video.frames


def preprocess_video(frames: np.ndarray, card: ModelCard) -> torch.Tensor:
    """The card's spatial protocol over a whole video, one centre crop.

    frames: uint8 (T, H, W, 3) -> float32 (C, T, crop, crop). Resize, crop and normalisation act frame by
    frame, so ``out[:, indices]`` equals ``preprocess_clip(frames[indices], card)[0]`` exactly: any clip can
    be cut from it without redoing the work.
    """
    return preprocess_clip(frames, card, crops=1)[0]


def load_videos(
    manifest: str | Path, card: ModelCard, progress: bool = True, desc: str = "decode"
) -> tuple[list[torch.Tensor], list[ManifestRow]]:
    """Read a manifest (validated against the card's label space), then decode and preprocess its videos.

    Returns ``(videos, rows)``: videos[i] float32 (C, T_i, crop, crop) for rows[i], with T_i frames at the
    card's fps. Videos shorter than one clip (``card.span`` frames) are an error: the demo writes none.
    """
    rows = read_manifest(manifest, label_space=label_space(card.label_space)).rows
    videos = []
    for row in track(rows, desc, "video", progress):
        frames = read_frames(row.path, card.fps)
        if len(frames) < card.span:
            raise UserError(
                f"{row.path}: {len(frames)} frames, fewer than one {card.name} clip ({card.span}); "
                "regenerate the demo data with more frames"
            )
        videos.append(preprocess_video(frames, card))
    return videos, rows


def clip_at(start: int, card: ModelCard) -> np.ndarray:
    """Frame indices of the card's clip starting at frame ``start``: ``frames`` frames every ``stride``
    -> int64 (frames,)."""
    return start + card.stride * np.arange(card.frames, dtype=np.int64)

"""Read the demo's manifests and decoded videos, preprocessed exactly as evaluation preprocesses clips.

Decoding here is a small private PyAV read of whole (short) files; the demo only needs every frame of
its own 15 fps videos, which are written at the card's fps, so no frame-rate resampling is involved.
"""

from __future__ import annotations

import csv
from pathlib import Path

import av
import numpy as np
import torch
from tqdm.auto import tqdm

from weirdkinetics.errors import UserError
from weirdkinetics.models.card import ModelCard
from weirdkinetics.transforms import preprocess_clip


def read_frames(path: str | Path) -> np.ndarray:
    """Decode every frame of a video file -> uint8 (T, H, W, 3) RGB."""
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    if not frames:
        raise UserError(f"{path}: no video frames decoded; regenerate the demo data")
    return np.stack(frames)


def read_manifest(manifest: str | Path) -> list[dict[str, str]]:
    """Rows of a demo manifest, each with ``path`` made absolute (manifest paths are relative to its folder)."""
    manifest = Path(manifest)
    if not manifest.exists():
        raise UserError(f"{manifest}: no such manifest; generate the demo data first")
    with open(manifest, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["path"] = str(manifest.parent / row["path"])
    return rows


def preprocess_video(frames: np.ndarray, card: ModelCard) -> torch.Tensor:
    """The card's spatial protocol over a whole video, one centre crop.

    frames: uint8 (T, H, W, 3) -> float32 (C, T, crop, crop). Resize, crop and normalisation act frame by
    frame, so ``out[:, indices]`` equals ``preprocess_clip(frames[indices], card)[0]`` exactly: any clip can
    be cut from it without redoing the work.
    """
    return preprocess_clip(frames, card, crops=1)[0]


def load_videos(
    manifest: str | Path, card: ModelCard, progress: bool = True, desc: str = "decode"
) -> tuple[list[torch.Tensor], list[dict[str, str]]]:
    """Decode and preprocess every video of a manifest.

    Returns ``(videos, rows)``: videos[i] float32 (C, T_i, crop, crop) for rows[i]. Videos shorter than one
    clip (``card.span`` frames) are an error: the demo writes none.
    """
    rows = read_manifest(manifest)
    videos = []
    for row in tqdm(rows, desc=desc, unit="video", disable=not progress):
        frames = read_frames(row["path"])
        if len(frames) < card.span:
            raise UserError(
                f"{row['path']}: {len(frames)} frames, fewer than one {card.name} clip ({card.span}); "
                "regenerate the demo data with more frames"
            )
        videos.append(preprocess_video(frames, card))
    return videos, rows


def clip_indices(start: int, card: ModelCard) -> np.ndarray:
    """Frame indices of the clip starting at ``start``: ``frames`` frames every ``stride`` -> int (frames,)."""
    return start + card.stride * np.arange(card.frames)


def dense_clip_starts(num_frames: int, card: ModelCard) -> np.ndarray:
    """Starts of the card's dense clips: every ``clip_spacing`` frames while a whole clip fits -> int (K,)."""
    return np.arange(0, num_frames - card.span + 1, card.clip_spacing)

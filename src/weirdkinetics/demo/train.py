"""Train a card's network on a demo training set, on CPU, seeded and reproducible.

Clips are cut from the decoded H.264 files (so training sees the codec's artefacts, as evaluation will) and
preprocessed with the card's own protocol (``transforms.preprocess_clip``): ``frames`` frames every
``stride``-th frame at the card's fps, resized, centre-cropped and normalised.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from weirdkinetics import __version__
from weirdkinetics.demo.data import clip_at, load_videos
from weirdkinetics.labels import label_space
from weirdkinetics.models.card import ModelCard
from weirdkinetics.models.loading import load_model, sha256_file
from weirdkinetics.outputs import atomic_path, atomic_write_text
from weirdkinetics.progress import progress_bar


def epoch_order(
    num_videos: int, num_frames: list[int], span: int, clips_per_video: int, seed: int, epoch: int
):
    """One epoch's (video index, clip start) pairs in training order: ``clips_per_video`` random starts per
    video, shuffled. Deterministic in (seed, epoch). -> int (num_videos * clips_per_video, 2)."""
    rng = np.random.default_rng([seed, epoch])
    videos = np.repeat(np.arange(num_videos), clips_per_video)
    starts = np.array([rng.integers(0, num_frames[v] - span + 1) for v in videos])
    order = rng.permutation(len(videos))
    return np.stack([videos[order], starts[order]], 1)


def train_model(
    card: ModelCard,
    train_set: str | Path,
    seed: int,
    epochs: int,
    out_path: str | Path,
    clips_per_video: int = 2,
    batch_size: int = 32,
    lr: float = 3e-3,
    weight_decay: float = 1e-4,
    progress: bool = True,
    reuse: bool = False,
) -> Path:
    """Train ``card``'s network from seeded random weights on the videos of ``train_set`` (a manifest).

    Each epoch draws ``clips_per_video`` random clips per video (seeded), in a seeded order; AdamW with a
    one-cycle learning-rate schedule. Saves a bare state dict (``torch.save(model.state_dict())``, loadable
    with ``load_model(card, out_path)`` / ``--weights out_path``) and, beside it, ``<out_path>.json`` with
    the settings (card, seed, budget, the training manifest's digest) and the result (final loss, seconds).
    With ``reuse=True`` an existing checkpoint trained with the same settings is returned as it is.
    Returns ``out_path``.
    """
    out_path, train_set = Path(out_path), Path(train_set)
    sidecar = out_path.with_suffix(".json")
    settings = {
        "model": card.name,
        "card": card.to_dict(),
        "seed": seed,
        "epochs": epochs,
        "clips_per_video": clips_per_video,
        "batch_size": batch_size,
        "lr": lr,
        "weight_decay": weight_decay,
        "train_manifest_sha256": sha256_file(train_set),
        "weirdkinetics": __version__,
    }
    settings = json.loads(json.dumps(settings))  # as it reads back from the sidecar (tuples become lists)
    if reuse and out_path.is_file() and _settings_of(sidecar) == settings:
        return out_path

    began = time.perf_counter()
    videos, rows = load_videos(train_set, card, progress, desc=f"decode {train_set.parent.name}")
    classes = label_space(card.label_space)
    labels = torch.tensor([classes.index(row.label) for row in rows])
    num_frames = [v.shape[1] for v in videos]
    decode_seconds = time.perf_counter() - began

    # seeded build; the loop itself draws no torch random numbers (data order and clip starts are numpy's)
    model = load_model(card, f"random:{seed}").module
    # oneDNN's channels-last 3D convolutions train about 1.5-2x faster on CPU than the default layout
    model.to(memory_format=torch.channels_last_3d).train()
    steps_per_epoch = math.ceil(len(videos) * clips_per_video / batch_size)
    total = steps_per_epoch * epochs
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=total, pct_start=0.25)
    loss_fn = nn.CrossEntropyLoss()

    began = time.perf_counter()
    running = float("nan")
    bar = progress_bar(total, f"train {out_path.stem}", "step", progress)
    for epoch in range(epochs):
        order = epoch_order(len(videos), num_frames, card.span, clips_per_video, seed, epoch)
        for step in range(steps_per_epoch):
            batch = order[step * batch_size : (step + 1) * batch_size]
            clips = torch.stack([videos[v][:, clip_at(s, card)] for v, s in batch])
            clips = clips.contiguous(memory_format=torch.channels_last_3d)
            loss = loss_fn(model(clips), labels[batch[:, 0]])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            running = loss.item() if math.isnan(running) else 0.9 * running + 0.1 * loss.item()
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{running:.3f}")
    bar.close()
    train_seconds = time.perf_counter() - began

    model.to(memory_format=torch.contiguous_format).eval()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    sidecar.unlink(missing_ok=True)  # written last: a sidecar means the checkpoint beside it is complete
    with atomic_path(out_path) as tmp:
        torch.save(model.state_dict(), tmp)
    result = {
        "steps": total,
        "num_videos": len(videos),
        "final_loss": running,
        "decode_seconds": round(decode_seconds, 1),
        "train_seconds": round(train_seconds, 1),
        "train_manifest": str(train_set),
        "classes": list(label_space(card.label_space)),
        "torch": torch.__version__,
    }
    atomic_write_text(sidecar, json.dumps({"settings": settings, "result": result}, indent=2) + "\n")
    return out_path


def _settings_of(sidecar: Path) -> dict | None:
    try:
        return json.loads(sidecar.read_text(encoding="utf-8")).get("settings")
    except (OSError, ValueError, AttributeError):
        return None

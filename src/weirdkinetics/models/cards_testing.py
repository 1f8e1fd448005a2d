"""Cards of the tiny models for tests and the demo (no published weights)."""

from __future__ import annotations

from dataclasses import replace

from weirdkinetics.models.card import ModelCard
from weirdkinetics.models.cards import KINETICS_MEAN, KINETICS_STD

_TINY_C3D = ModelCard(
    name="tiny_c3d",
    zoo="testing",
    builder="tiny_c3d",
    label_space="kinetics400",
    fps=30,
    frames=8,
    stride=8,
    clip_spacing=16,
    resize=64,
    crop=64,
    mean=KINETICS_MEAN,
    std=KINETICS_STD,
    arch={"width": 8},
    cam_layers=("features.2.2",),  # the last block's ReLU, before its pooling: the finest last-stage map
    licence="Apache-2.0 (weirdkinetics)",
    family="3D CNN",
    description="Tiny 3D CNN over the Kinetics-400 label space; use with --weights random[:SEED] for tests.",
)


CARDS: tuple[ModelCard, ...] = (
    _TINY_C3D,
    replace(
        _TINY_C3D,
        name="tiny_c3d_demo",
        label_space="demo",
        description="tiny_c3d (same network and input protocol) with a head over the demo's 5 classes; with "
        "--weights random it is the demo study's chance-level reference row.",
    ),
    ModelCard(
        name="demo_c3d",
        zoo="testing",
        builder="tiny_c3d",
        label_space="demo",
        fps=15,
        frames=8,
        stride=2,
        clip_spacing=8,
        resize=32,
        crop=32,
        mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25),
        arch={"width": 16},
        cam_layers=("features.2.2",),  # the last block's ReLU, before its pooling: the finest last-stage map
        licence="Apache-2.0 (weirdkinetics)",
        family="3D CNN",
        description="Small 3D CNN trained by `weirdkinetics demo` on the generated shortcut dataset.",
    ),
)
"""The tiny models' cards (the registry reads this tuple)."""

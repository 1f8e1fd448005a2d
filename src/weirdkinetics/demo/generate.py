"""Write the demo's datasets to disk: H.264 videos, the actor's true masks, and a manifest.

Test set (``generate_dataset``): every recording (``source_id``) is rendered twice with the same actor
motion, once on its class's own background (split ``real``) and once on another class's background (split
``weird``), so real and weird results can be paired (McNemar, paired bootstrap).

Training sets (``generate_training_set``): split ``train``; flavour ``shortcut`` puts every class on its own
background, ``control`` spreads each class evenly over all backgrounds. Both flavours share the same actor
recordings, so the two models differ only in the backgrounds they saw.

Seeds: every recording draws from ``numpy.random.default_rng([seed, stream, class_index, index, part])``, so
a video does not change when the dataset grows, and test (stream 0) and training (stream 1) never share a
recording.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from weirdkinetics import __version__
from weirdkinetics.demo.classes import DEMO_BACKGROUNDS, DEMO_CLASSES
from weirdkinetics.demo.config import DemoConfig
from weirdkinetics.demo.render import render_video, sample_background, sample_motion
from weirdkinetics.encode import write_video
from weirdkinetics.errors import UserError
from weirdkinetics.manifest import read_manifest, write_manifest
from weirdkinetics.outputs import atomic_path, atomic_write_text
from weirdkinetics.progress import track

MANIFEST_COLUMNS: tuple[str, ...] = (
    "path",
    "label",
    "split",
    "background",
    "video_id",
    "source_id",
    "mask_path",
    "bg_class",
)
"""Columns of the demo manifests: the standard ones, then ``mask_path`` and ``bg_class`` (the class that
owns the background)."""

FLAVOURS: tuple[str, ...] = ("shortcut", "control")

_TEST_STREAM, _TRAIN_STREAM = 0, 1
_MOTION, _REAL_BG, _WEIRD_BG = 0, 1, 2


@dataclass(frozen=True)
class _Planned:
    """One video to render: which recording, on which background, written where."""

    label: str
    class_index: int
    index: int
    stream: int
    bg_class: str
    bg_part: int
    split: str
    video_id: str
    source_id: str


def weird_background_class(label: str, index: int, seed: int) -> str:
    """The class whose background recording ``index`` of ``label`` gets in the weird split.

    Cycles through the other classes from a seeded start, so each other background is used equally often
    (exactly so when the count per class is a multiple of the number of other classes).
    """
    others = [c for c in DEMO_CLASSES if c != label]
    start = int(np.random.default_rng([seed, _TEST_STREAM, DEMO_CLASSES.index(label)]).integers(len(others)))
    return others[(start + index) % len(others)]


def control_background_classes(label: str, count: int, seed: int) -> list[str]:
    """Background owners for ``count`` control recordings of ``label``: every class equally often
    (up to the remainder), in a seeded order."""
    rng = np.random.default_rng([seed, _TRAIN_STREAM, DEMO_CLASSES.index(label), 99])
    owners = np.resize(np.arange(len(DEMO_CLASSES)), count)
    return [DEMO_CLASSES[i] for i in rng.permutation(owners)]


def _render_planned(item: _Planned, seed: int, config: DemoConfig) -> tuple[np.ndarray, np.ndarray]:
    """Render one planned video -> (frames uint8 (T, H, W, 3), mask bool (T, H, W))."""
    key = [seed, item.stream, item.class_index, item.index]
    num_frames = config.train_num_frames if item.stream == _TRAIN_STREAM else config.num_frames
    duration = num_frames / config.fps
    motion = sample_motion(
        item.label, np.random.default_rng(key + [_MOTION]), config.height, config.width, duration
    )
    background = sample_background(
        DEMO_BACKGROUNDS[item.bg_class], np.random.default_rng(key + [item.bg_part]), duration
    )
    return render_video(motion, background, num_frames, config.height, config.width, config.fps)


def _test_item(label: str, index: int, split: str, seed: int) -> _Planned:
    source = f"{label}_{index:03d}"
    ci = DEMO_CLASSES.index(label)
    if split == "real":
        return _Planned(label, ci, index, _TEST_STREAM, label, _REAL_BG, split, f"{source}_real", source)
    if split == "weird":
        weird = weird_background_class(label, index, seed)
        return _Planned(label, ci, index, _TEST_STREAM, weird, _WEIRD_BG, split, f"{source}_weird", source)
    raise ValueError(f"split '{split}' is not one of real, weird")


def render_test_video(
    label: str, index: int, split: str, seed: int, config: DemoConfig | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The frames ``generate_dataset`` encodes for recording ``index`` of ``label`` in ``split``, before
    encoding -> (frames uint8 (T, H, W, 3), mask bool (T, H, W))."""
    return _render_planned(_test_item(label, index, split, seed), seed, config or DemoConfig())


def _write(
    out_dir: Path,
    items: list[_Planned],
    seed: int,
    config: DemoConfig,
    write_masks: bool,
    desc: str,
    progress: bool,
) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for item in track(items, desc, "video", progress):
        frames, mask = _render_planned(item, seed, config)
        rel = Path(item.split) / f"{item.video_id}.mp4"
        write_video(out_dir / rel, frames, config.fps, crf=config.crf)
        mask_rel = ""
        if write_masks:
            mask_rel = (Path(item.split) / f"{item.video_id}.mask.npz").as_posix()
            with atomic_path(out_dir / mask_rel) as tmp:  # tmp ends in .npz, so numpy adds no suffix
                np.savez_compressed(tmp, masks=mask)
        rows.append(
            {
                "path": rel.as_posix(),
                "label": item.label,
                "split": item.split,
                "background": DEMO_BACKGROUNDS[item.bg_class],
                "video_id": item.video_id,
                "source_id": item.source_id,
                "mask_path": mask_rel,
                "bg_class": item.bg_class,
            }
        )
    return write_manifest(out_dir / "manifest.csv", rows)


def _provenance(kind: str, seed: int, config: DemoConfig, num_frames: int, **extra) -> dict:
    info = {"generator": "weirdkinetics.demo", "version": __version__, "kind": kind, "seed": seed}
    info.update(extra)
    info["video"] = {k: getattr(config, k) for k in ("height", "width", "fps", "crf")}
    info["video"]["num_frames"] = num_frames
    return info


def _existing(out_dir: Path, info: dict) -> Path | None:
    """The manifest of a complete earlier generation of exactly this dataset under ``out_dir``, or None.

    ``dataset.json`` is written last, so its presence means the generation finished."""
    manifest, stamp = out_dir / "manifest.csv", out_dir / "dataset.json"
    try:
        if json.loads(stamp.read_text(encoding="utf-8")) != info:
            return None
        rows = read_manifest(manifest).rows
    except (OSError, ValueError, UserError):
        return None
    files = [r.path for r in rows] + [
        out_dir / r.extra["mask_path"] for r in rows if r.extra.get("mask_path")
    ]
    return manifest if all(f.is_file() for f in files) else None


def _generate(
    out_dir: Path,
    items: list[_Planned],
    seed: int,
    config: DemoConfig,
    write_masks: bool,
    desc: str,
    progress: bool,
    info: dict,
    reuse: bool,
) -> Path:
    if reuse and (manifest := _existing(out_dir, info)):
        return manifest
    (out_dir / "dataset.json").unlink(missing_ok=True)
    manifest = _write(out_dir, items, seed, config, write_masks, desc, progress)
    atomic_write_text(out_dir / "dataset.json", json.dumps(info, indent=2) + "\n")
    return manifest


def generate_dataset(
    out_dir: str | Path,
    n_per_class_split: int,
    seed: int,
    config: DemoConfig | None = None,
    progress: bool = True,
    reuse: bool = False,
) -> Path:
    """Write the real/weird test set under ``out_dir`` and return its ``manifest.csv``.

    ``n_per_class_split`` recordings per class, each written twice: ``real/<class>_<i>_real.mp4`` on its
    own background and ``weird/<class>_<i>_weird.mp4`` on another class's background (the same
    ``source_id``), each with its true actor mask ``<video>.mask.npz`` (key ``masks``: bool (T, H, W)).
    Video size, length, fps and quality come from ``config`` (default ``DemoConfig()``). ``dataset.json``
    records how the set was made; with ``reuse=True`` a complete earlier generation of the same set is
    returned as it is.
    """
    config = config or DemoConfig()
    if n_per_class_split < 1:
        raise ValueError(f"n_per_class_split must be at least 1, got {n_per_class_split}")
    items = [
        _test_item(label, i, split, seed)
        for label in DEMO_CLASSES
        for i in range(n_per_class_split)
        for split in ("real", "weird")
    ]
    info = _provenance("test", seed, config, config.num_frames, n_per_class_split=n_per_class_split)
    return _generate(Path(out_dir), items, seed, config, True, "generate test videos", progress, info, reuse)


def generate_training_set(
    out_dir: str | Path,
    n_per_class: int,
    seed: int,
    flavour: str,
    config: DemoConfig | None = None,
    write_masks: bool = False,
    progress: bool = True,
    reuse: bool = False,
) -> Path:
    """Write a training set (split ``train``) under ``out_dir`` and return its ``manifest.csv``.

    flavour ``shortcut``: each class always on its own background (the background predicts the label);
    ``control``: each class spread evenly over all five backgrounds (the background says nothing). The two
    flavours render the same actor recordings for the same ``seed``. Videos are
    ``train/train_<class>_<i>.mp4``, ``config.train_num_frames`` long; with ``write_masks`` each gets its
    ``.mask.npz`` as in the test set. ``reuse`` as in ``generate_dataset``.
    """
    if flavour not in FLAVOURS:
        raise ValueError(f"training-set flavour '{flavour}' is not one of {', '.join(FLAVOURS)}")
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be at least 1, got {n_per_class}")
    config = config or DemoConfig()
    items = []
    for ci, label in enumerate(DEMO_CLASSES):
        owners = (
            [label] * n_per_class
            if flavour == "shortcut"
            else control_background_classes(label, n_per_class, seed)
        )
        for i, owner in enumerate(owners):
            source = f"train_{label}_{i:03d}"  # never equal to a test set's ids
            # scene parameters (texture seed, drift, jitter) depend only on the recording, not the flavour
            items.append(_Planned(label, ci, i, _TRAIN_STREAM, owner, _REAL_BG, "train", source, source))
    info = _provenance(
        f"train-{flavour}", seed, config, config.train_num_frames, n_per_class=n_per_class, masks=write_masks
    )
    desc = f"generate {flavour} training videos"
    return _generate(Path(out_dir), items, seed, config, write_masks, desc, progress, info, reuse)


_LIBRARY_STREAM = 2


def generate_backgrounds(
    out_dir: str | Path,
    n_per_class: int,
    seed: int,
    config: DemoConfig | None = None,
    reuse: bool = False,
) -> Path:
    """Write the demo's own background scenes, without the actor, as a synth background library under
    ``out_dir``: ``<class>/<scene>_<i>.mp4``, one folder per class named after the class that owns the scene
    (so a swap's ``bg_label`` is that class, HAT's reading), ``n_per_class`` videos each,
    ``config.num_frames`` long. Scenes are drawn from their own seed stream (never a test or training
    video's). ``library.json`` records how; with ``reuse`` a complete earlier library is kept. Returns
    ``out_dir``."""
    from weirdkinetics.demo.render import render_background

    config = config or DemoConfig()
    out_dir = Path(out_dir)
    info = _provenance("backgrounds", seed, config, config.num_frames, n_per_class=n_per_class)
    files = [
        out_dir / label / f"{DEMO_BACKGROUNDS[label]}_{i:02d}.mp4"
        for label in DEMO_CLASSES
        for i in range(n_per_class)
    ]
    stamp = out_dir / "library.json"
    try:
        if (
            reuse
            and json.loads(stamp.read_text(encoding="utf-8")) == info
            and all(f.is_file() for f in files)
        ):
            return out_dir
    except (OSError, ValueError):
        pass
    stamp.unlink(missing_ok=True)
    duration = config.num_frames / config.fps
    for path in files:
        label, index = path.parent.name, int(path.stem.rsplit("_", 1)[1])
        rng = np.random.default_rng([seed, _LIBRARY_STREAM, DEMO_CLASSES.index(label), index])
        params = sample_background(DEMO_BACKGROUNDS[label], rng, duration)
        frames = render_background(params, config.num_frames, config.height, config.width, config.fps)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_video(path, frames, config.fps, crf=config.crf)
    atomic_write_text(stamp, json.dumps(info, indent=2) + "\n")
    return out_dir


TRUTH_VARIANT = "background-only-truth"
"""The variant name of the demo's actor-free renders: background-only as it should be, the check of
synth's background-only (the report shows both, so the leak is measured on every run)."""


def render_actor_free(label: str, index: int, seed: int, config: DemoConfig | None = None) -> np.ndarray:
    """The ``real`` test video of recording ``index`` of ``label`` without its actor: the same scene,
    camera drift and animation, before encoding -> uint8 (T, H, W, 3). Outside the actor's mask it is
    ``render_test_video``'s frames exactly."""
    from weirdkinetics.demo.render import render_background

    config = config or DemoConfig()
    item = _test_item(label, index, "real", seed)
    key = [seed, item.stream, item.class_index, item.index, item.bg_part]
    params = sample_background(
        DEMO_BACKGROUNDS[item.bg_class], np.random.default_rng(key), config.num_frames / config.fps
    )
    return render_background(params, config.num_frames, config.height, config.width, config.fps)


def generate_actor_free(
    out_dir: str | Path,
    n_per_class_split: int,
    seed: int,
    config: DemoConfig | None = None,
    reuse: bool = False,
) -> Path:
    """Write the exact actor-free render of every ``real`` test recording (the same scene, camera drift
    and animation, without the actor) as a derived manifest, ``out_dir/manifest.csv``.

    Rows look like synth's: ``variant`` and ``split`` = ``TRUTH_VARIANT``, ``source_video_id`` = the real
    video's id, ``synth_status`` ok, so the study evaluates and reports them beside synth's
    background-only. Same seeds as ``generate_dataset``; ``reuse`` keeps a complete earlier render.
    """
    config = config or DemoConfig()
    out_dir = Path(out_dir)
    info = _provenance("actor-free", seed, config, config.num_frames, n_per_class_split=n_per_class_split)
    items = [_test_item(label, i, "real", seed) for label in DEMO_CLASSES for i in range(n_per_class_split)]
    if reuse and (manifest := _existing(out_dir, info)):
        return manifest
    (out_dir / "dataset.json").unlink(missing_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for item in items:
        frames = render_actor_free(item.label, item.index, seed, config)
        video_id = f"{item.video_id}__{TRUTH_VARIANT}"
        rel = Path("videos") / f"{video_id}.mp4"
        write_video(out_dir / rel, frames, config.fps, crf=config.crf)
        rows.append(
            {
                "path": rel.as_posix(), "label": item.label, "split": TRUTH_VARIANT,
                "background": DEMO_BACKGROUNDS[item.bg_class], "video_id": video_id,
                "source_id": item.source_id, "variant": TRUTH_VARIANT, "source_video_id": item.video_id,
                "bg_label": item.bg_class, "synth_status": "ok", "excluded_reason": "",
            }
        )  # fmt: skip
    manifest = write_manifest(out_dir / "manifest.csv", rows)
    atomic_write_text(out_dir / "dataset.json", json.dumps(info, indent=2) + "\n")
    return manifest

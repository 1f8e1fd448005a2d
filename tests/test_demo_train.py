"""Demo training: the evaluation protocol's clips, seeded reproducibility, checkpoints that load as --weights,
and (on a small configuration) the experiment's known answer."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from weirdkinetics.demo.classes import DEMO_CLASSES
from weirdkinetics.demo.config import DemoConfig
from weirdkinetics.demo.data import clip_at, load_videos, preprocess_video, read_frames
from weirdkinetics.demo.generate import generate_dataset, generate_training_set
from weirdkinetics.demo.quickcheck import quick_check
from weirdkinetics.demo.train import epoch_order, train_model
from weirdkinetics.errors import ManifestError
from weirdkinetics.models.loading import load_model, sha256_file
from weirdkinetics.models.registry import get_card
from weirdkinetics.transforms import preprocess_clip

CARD = get_card("demo_c3d")
TINY = DemoConfig(train_num_frames=16)


@pytest.fixture(scope="module")
def tiny_train_set(tmp_path_factory):
    return generate_training_set(tmp_path_factory.mktemp("train"), 2, 0, "shortcut", TINY, progress=False)


def test_whole_video_preprocessing_equals_the_per_clip_protocol(tiny_train_set):
    frames = read_frames(tiny_train_set.parent / "train" / "train_jumping_000.mp4", CARD.fps)
    video = preprocess_video(frames, CARD)
    assert video.dtype == torch.float32 and video.shape == (3, TINY.train_num_frames, CARD.crop, CARD.crop)
    indices = clip_at(1, CARD)
    torch.testing.assert_close(video[:, indices], preprocess_clip(frames[indices], CARD)[0], rtol=0, atol=0)


def test_training_clips_follow_the_card():
    np.testing.assert_array_equal(clip_at(3, CARD), 3 + CARD.stride * np.arange(CARD.frames))
    assert clip_at(0, CARD)[-1] == CARD.span - 1


def test_epoch_order_is_seeded_and_covers_every_video():
    a = epoch_order(6, [20] * 6, CARD.span, 3, seed=1, epoch=0)
    b = epoch_order(6, [20] * 6, CARD.span, 3, seed=1, epoch=0)
    c = epoch_order(6, [20] * 6, CARD.span, 3, seed=1, epoch=1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert sorted(np.bincount(a[:, 0])) == [3] * 6
    assert a[:, 1].min() >= 0 and a[:, 1].max() <= 20 - CARD.span


def test_training_is_reproducible_and_loads_as_weights(tiny_train_set, tmp_path):
    kwargs = dict(epochs=1, clips_per_video=1, batch_size=5, progress=False)
    first = train_model(CARD, tiny_train_set, 0, out_path=tmp_path / "a.pt", **kwargs)
    again = train_model(CARD, tiny_train_set, 0, out_path=tmp_path / "b.pt", **kwargs)
    other = train_model(CARD, tiny_train_set, 1, out_path=tmp_path / "c.pt", **kwargs)
    states = [torch.load(p, weights_only=True) for p in (first, again, other)]
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    assert not all(torch.equal(states[0][k], states[2][k]) for k in states[0])
    # the checkpoint is what `--weights` loads: a bare state dict of the card's architecture
    loaded = load_model(CARD, str(first))
    assert loaded.weights_digest == sha256_file(first)
    random = load_model(CARD, "random:0").module.state_dict()
    assert not all(torch.equal(random[k], states[0][k]) for k in random)
    info = json.loads(first.with_suffix(".json").read_text())
    assert info["settings"]["model"] == "demo_c3d" and info["settings"]["seed"] == 0
    assert info["settings"]["train_manifest_sha256"] == sha256_file(tiny_train_set)
    assert info["result"]["num_videos"] == 2 * len(DEMO_CLASSES)


def test_reuse_returns_a_checkpoint_only_for_the_same_settings(tiny_train_set, tmp_path):
    kwargs = dict(epochs=1, clips_per_video=1, batch_size=5, progress=False, reuse=True)
    path = train_model(CARD, tiny_train_set, 0, out_path=tmp_path / "a.pt", **kwargs)
    stamp = path.stat().st_mtime_ns
    assert train_model(CARD, tiny_train_set, 0, out_path=path, **kwargs) == path
    assert path.stat().st_mtime_ns == stamp
    before = torch.load(path, weights_only=True)
    train_model(CARD, tiny_train_set, 5, out_path=path, **kwargs)  # another seed: trained again
    after = torch.load(path, weights_only=True)
    assert not all(torch.equal(before[k], after[k]) for k in before)


def test_labels_outside_the_label_space_are_refused(tiny_train_set, tmp_path):
    bad = tmp_path / "manifest.csv"
    bad.write_text(tiny_train_set.read_text().replace(",jumping,", ",dancing,"))
    for row in bad.read_text().splitlines()[1:]:
        src = tiny_train_set.parent / row.split(",")[0]
        dst = tmp_path / row.split(",")[0]
        dst.parent.mkdir(exist_ok=True)
        dst.write_bytes(src.read_bytes())
    with pytest.raises(ManifestError, match="row 2: label 'dancing' is not in the model's label space"):
        train_model(CARD, bad, 0, 1, tmp_path / "x.pt", progress=False)


def test_videos_shorter_than_a_clip_are_refused(tmp_path):
    short = generate_training_set(
        tmp_path, 1, 0, "shortcut", DemoConfig(train_num_frames=CARD.span - 1), progress=False
    )
    with pytest.raises(Exception, match="fewer than one demo_c3d clip"):
        load_videos(short, CARD, progress=False)


@pytest.mark.slow
def test_shortcut_model_takes_the_shortcut_and_control_does_not(tmp_path):
    """The demo's known answer on the small configuration: both models learn the real split, the shortcut
    model collapses on weird backgrounds to the class that owns them, the control model holds."""
    config = DemoConfig.small()
    test = generate_dataset(
        tmp_path / "test", config.test_per_class_split, config.data_seed, config, progress=False
    )
    results = {}
    for flavour in ("shortcut", "control"):
        train = generate_training_set(
            tmp_path / flavour, config.train_per_class, config.data_seed, flavour, config, progress=False
        )
        checkpoint = train_model(
            CARD,
            train,
            config.train_seed,
            config.epochs,
            tmp_path / f"{flavour}.pt",
            config.clips_per_video,
            config.batch_size,
            config.lr,
            config.weight_decay,
            progress=False,
        )
        results[flavour] = quick_check(load_model(CARD, str(checkpoint)).module, CARD, test)
    shortcut, control = results["shortcut"], results["control"]
    assert shortcut["real"]["accuracy"] >= 0.8 and control["real"]["accuracy"] >= 0.8, results
    assert shortcut["weird"]["accuracy"] <= shortcut["real"]["accuracy"] - 0.5, results
    assert shortcut["weird"]["bg_class_rate"] >= 0.6, results
    assert control["weird"]["accuracy"] >= 0.8, results

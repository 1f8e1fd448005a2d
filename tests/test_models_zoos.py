"""Our networks are the zoos' own: every card builds offline with seeded random weights, runs a clip of a video
(made here) end to end on CPU, and gives the zoo's logits for the same weights and input.

Fast by default: the i3d_r50 parity (issue 2), one real card per zoo, and Hugging Face models with a shrunk
configuration (``dataclasses.replace`` on the card). ``-m slow`` builds and checks every real card.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import math
import shutil
import sys
import tempfile
from pathlib import Path

import awkward
import numpy as np
import pytest
import torch

from weirdkinetics.decode import read_video
from weirdkinetics.errors import MissingExtraError, UserError, WeightsError
from weirdkinetics.models import all_cards, get_card
from weirdkinetics.models.card import ModelCard
from weirdkinetics.models.loading import load_model, sha256_file
from weirdkinetics.transforms import preprocess_clip


@functools.cache
def _video() -> Path:
    """A 10 s, 340x256, 30 fps H.264 video made once per session (the size of the MMAction2 demo clip; long
    enough for every card's first clip, s3d's spans 8.5 s). Parity with a zoo needs the same input on both
    sides, not real footage, so these tests run from a clone alone."""
    folder = Path(tempfile.mkdtemp(prefix="wk-zoo-video-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return awkward.h264(folder / "video.mp4", n=300, fps=30, h=256, w=340)


def clip_frames(card: ModelCard) -> np.ndarray:
    """The card's first clip of the test video: uint8 (frames, H, W, 3) at the card's fps and stride."""
    decoded = read_video(_video(), fps=card.fps, indices=np.arange(card.frames) * card.stride)
    assert decoded.status == "ok" and len(decoded.frames) == card.frames, decoded.reason
    return decoded.frames


def real_clip(card: ModelCard) -> torch.Tensor:
    """float32 (1, C, T, crop, crop): the card's first clip, preprocessed by the card's protocol."""
    return preprocess_clip(clip_frames(card), card)


# --- PyTorchVideo: the i3d_r50 parity of issue 2 -----------------------------------------------------------
@pytest.fixture(scope="module")
def i3d():
    hub = pytest.importorskip("pytorchvideo.models.hub")
    card = get_card("i3d_r50")
    ours = load_model(card, "random:3")
    torch.manual_seed(12345)  # a different init, so the parity below really comes from the loaded weights
    zoo = hub.i3d_r50(pretrained=False).eval()
    clip = real_clip(card)
    return card, ours, zoo, clip, ours.logits(clip)


def test_i3d_has_pytorchvideos_state_dict_keys_and_shapes(i3d):
    _, ours, zoo, _, _ = i3d
    shapes = {k: tuple(v.shape) for k, v in ours.module.state_dict().items()}
    assert shapes == {k: tuple(v.shape) for k, v in zoo.state_dict().items()}


def test_i3d_gives_pytorchvideos_logits_for_the_same_weights(i3d):
    _, ours, zoo, clip, logits = i3d
    own = zoo.state_dict()
    assert any(
        not torch.equal(own[k], v) for k, v in ours.module.state_dict().items() if v.is_floating_point()
    )
    with torch.no_grad():
        zoo.load_state_dict(ours.module.state_dict())
        after = zoo(clip)
    assert logits.shape == (1, 400) and torch.isfinite(logits).all()
    assert torch.equal(after, logits)


def test_i3d_checkpoint_in_pytorchvideo_format_loads_back_identically(i3d, tmp_path):
    card, ours, _, clip, logits = i3d
    path = tmp_path / "I3D_8x8_R50.pyth"
    torch.save({"model_state": ours.module.state_dict(), "epoch": 196}, path)  # PyTorchVideo's layout
    loaded = load_model(card, str(path))
    assert torch.equal(loaded.logits(clip), logits)
    assert loaded.weights_digest == sha256_file(path) and not loaded.is_random


# --- one real card per zoo, fast ------------------------------------------------------------------------
def test_x3d_xs_runs_a_real_clip_and_random_weights_are_seeded():
    pytest.importorskip("pytorchvideo")
    card = get_card("x3d_xs")
    clip = real_clip(card)
    assert clip.shape == (1, 3, 4, 182, 182)
    a, b, c = (load_model(card, w).logits(clip) for w in ("random:0", "random:0", "random:1"))
    assert a.shape == (1, 400) and torch.isfinite(a).all()
    assert torch.equal(a, b) and not torch.allclose(a, c)


def test_slowfast_packs_pytorchvideos_two_pathways():
    from weirdkinetics.models.pytorchvideo_zoo import pack_pathways

    clips = torch.arange(32, dtype=torch.float32).view(1, 1, 32, 1, 1).expand(2, 3, 32, 4, 4)
    slow, fast = pack_pathways(clips, 4)
    # PackPathway: index_select(linspace(0, T - 1, T // alpha).long())
    assert slow[0, 0, :, 0, 0].tolist() == [0, 4, 8, 13, 17, 22, 26, 31]
    assert fast is clips


def _torchvision_reference(card: ModelCard, state: dict) -> torch.nn.Module:
    from torchvision.models import get_model

    torch.manual_seed(12345)
    zoo = get_model(card.builder, weights=None).eval()
    zoo.load_state_dict(state)
    return zoo


def test_mc3_18_gives_torchvisions_logits_on_a_real_clip():
    card = get_card("mc3_18")
    ours = load_model(card, "random:0")
    clip = real_clip(card)
    assert clip.shape == (1, 3, 16, 112, 112)
    zoo = _torchvision_reference(card, ours.module.state_dict())
    with torch.no_grad():
        assert torch.equal(ours.logits(clip), zoo(clip))


# --- Hugging Face, shrunk configurations -----------------------------------------------------------------
def shrunk(card: ModelCard) -> ModelCard:
    """The card with a one-layer, narrow transformer: same code paths, built in a blink."""
    config = dict(card.arch["config"])
    narrow = {"num_hidden_layers": 1, "hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2}
    if card.arch["model_type"] == "xclip":
        config["text_config"] = {**config["text_config"], **narrow}
        config["vision_config"] = {
            **config["vision_config"],
            **narrow,
            "mit_hidden_size": 16,
            "mit_intermediate_size": 32,
            "mit_num_attention_heads": 2,
        }
        config.update(projection_dim=16, prompt_num_attention_heads=2)
    else:
        config.update(narrow)
    return dataclasses.replace(card, arch={**card.arch, "config": config})


def hf_processor(card: ModelCard):
    """The Hugging Face video processor configured as the card's published preprocessor_config.json."""
    transformers = pytest.importorskip("transformers")
    common = {
        "size": {"shortest_edge": card.resize},
        "crop_size": {"height": card.crop, "width": card.crop},
        "resample": 2,
    }
    if card.arch["model_type"] == "vivit":
        # the card follows ViViT's training recipe, values in [-1, 1]: x / 127.5 - 1, no further normalisation
        return transformers.VivitVideoProcessor(
            **common, image_mean=[0.0] * 3, image_std=[1.0] * 3, rescale_factor=1 / 127.5
        )
    return transformers.VideoMAEVideoProcessor(**common, image_mean=list(card.mean), image_std=list(card.std))


HF_CLASSIFIERS = ["videomae_b_k400", "timesformer_b_k400", "vivit_b_16x2_k400"]


@pytest.mark.parametrize("name", HF_CLASSIFIERS)
def test_hf_classifier_equals_the_transformers_pipeline_on_a_real_clip(name):
    transformers = pytest.importorskip("transformers")
    from weirdkinetics.models.hf_zoo import hf_config

    card = shrunk(get_card(name))
    ours = load_model(card, "random:0")
    frames = clip_frames(card)
    logits = ours.logits(preprocess_clip(frames, card))
    assert logits.shape == (1, 400) and torch.isfinite(logits).all()
    # transformers' own model class, its own init, then our weights; fed by its own processor
    torch.manual_seed(12345)
    zoo = transformers.AutoModelForVideoClassification.from_config(hf_config(card)).eval()
    zoo.load_state_dict(ours.module.net.state_dict())
    pixel_values = hf_processor(card)(frames, return_tensors="pt")["pixel_values"]  # (1, T, C, H, W)
    with torch.no_grad():
        reference = zoo(pixel_values=pixel_values).logits
    torch.testing.assert_close(logits, reference, atol=1e-4, rtol=1e-4)


def _snapshot(card: ModelCard, folder, seed: int = 1, **config_changes) -> torch.nn.Module:
    """Save a random model of ``card`` as a Hugging Face snapshot folder (config.json + weights)."""
    module = load_model(card, f"random:{seed}").module.net  # the transformers network inside our wrapper
    for key, value in config_changes.items():
        setattr(module.config, key, value)
    module.save_pretrained(folder)
    return module


def test_hf_snapshot_folder_loads_and_its_label_order_is_mapped(tmp_path):
    pytest.importorskip("transformers")
    from weirdkinetics.labels import label_space
    from weirdkinetics.models.hf_zoo import snapshot_digest

    card = shrunk(get_card("videomae_b_k400"))
    # a zoo that lists the classes in reverse order, spelled as folder names
    names = [c.replace(" ", "_") for c in reversed(label_space("kinetics400"))]
    original = _snapshot(
        card, tmp_path, id2label=dict(enumerate(names)), label2id={n: i for i, n in enumerate(names)}
    )
    loaded = load_model(card, str(tmp_path))
    clip = real_clip(card)
    with torch.no_grad():
        zoo_order = original(pixel_values=clip.permute(0, 2, 1, 3, 4)).logits
    torch.testing.assert_close(loaded.logits(clip), zoo_order.flip(1), atol=1e-6, rtol=1e-5)
    assert loaded.weights_digest == snapshot_digest(tmp_path) and str(tmp_path) in loaded.weights_desc


def test_hf_snapshot_of_another_architecture_is_refused_by_name(tmp_path):
    pytest.importorskip("transformers")
    card = shrunk(get_card("videomae_b_k400"))
    _snapshot(
        dataclasses.replace(card, arch={**card.arch, "config": {**card.arch["config"], "num_frames": 8}}),
        tmp_path,
    )
    with pytest.raises(WeightsError, match=r"num_frames 8 \(card: 16\)"):
        load_model(card, str(tmp_path))


def test_hf_snapshot_with_other_classes_is_refused(tmp_path):
    pytest.importorskip("transformers")
    card = shrunk(get_card("timesformer_b_k400"))
    _snapshot(card, tmp_path, id2label={i: f"class {i}" for i in range(400)})
    with pytest.raises(WeightsError, match="id2label.*'class 0'"):
        load_model(card, str(tmp_path))


def _generic_vivit_snapshot(folder, num_labels: int) -> tuple[ModelCard, torch.nn.Module]:
    """A tiny seeded random ViViT saved as google/vivit-b-16x2-kinetics400 publishes its config: outputs named
    LABEL_0..LABEL_{n-1} (transformers' default id2label), weights by save_pretrained."""
    transformers = pytest.importorskip("transformers")
    card = shrunk(get_card("vivit_b_16x2_k400"))
    config = transformers.VivitConfig(**card.arch["config"], num_labels=num_labels)
    assert (
        config.id2label[num_labels - 1] == f"LABEL_{num_labels - 1}"
    )  # what the published config.json holds
    torch.manual_seed(7)
    model = transformers.VivitForVideoClassification(config).eval()
    model.save_pretrained(folder)
    return card, model


def test_hf_snapshot_with_generic_labels_loads_in_the_label_spaces_order(tmp_path):
    card, original = _generic_vivit_snapshot(tmp_path, 400)
    loaded = load_model(card, str(tmp_path))  # the real path: from_pretrained, architecture and label checks
    clip = real_clip(card)
    with torch.no_grad():
        expected = original(pixel_values=clip.permute(0, 2, 1, 3, 4)).logits
    # LABEL_i is Kinetics-400 class i: the outputs keep their order
    torch.testing.assert_close(loaded.logits(clip), expected, atol=1e-6, rtol=1e-5)
    assert loaded.class_names is None  # scores are named by the card's label space, in its order


def test_hf_snapshot_with_generic_labels_of_another_count_is_refused(tmp_path):
    card, _ = _generic_vivit_snapshot(tmp_path, 600)
    with pytest.raises(
        WeightsError, match=r"LABEL_0..LABEL_599 give 600 outputs, but label space 'kinetics400' has 400"
    ):
        load_model(card, str(tmp_path))


def test_hf_offline_without_a_cached_snapshot_says_what_to_pass(monkeypatch):
    pytest.importorskip("transformers")
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # no network attempt
    card = dataclasses.replace(get_card("videomae_b_k400"), builder="weirdkinetics-tests/no-such-model")
    with pytest.raises(WeightsError, match=r"weights=DIR .*weights=random"):
        load_model(card)


def test_hf_card_without_transformers_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)  # import fails as if not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'weirdkinetics\[hf\]'"):
        load_model(shrunk(get_card("vivit_b_16x2_k400")), "random:0")


# --- X-CLIP: open vocabulary -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def xclip():
    pytest.importorskip("transformers")
    card = shrunk(get_card("xclip_b32"))
    frames = clip_frames(card)
    return card, load_model(card, "random:0"), frames, preprocess_clip(frames, card)


def test_xclip_scores_any_class_set_as_transformers_does(xclip):
    from weirdkinetics.models.hf_zoo import use_classes

    card, model, frames, clip = xclip
    classes = ["arm wrestling", "cleaning pool", "a dog surfing on a wave"]
    use_classes(model, classes)
    assert model.class_names == classes
    logits = model.logits(clip)
    assert logits.shape == (1, 3) and torch.isfinite(logits).all()
    ids, mask = model.module.text_inputs
    pixel_values = hf_processor(card)(frames, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        reference = model.module.net(
            input_ids=ids, attention_mask=mask, pixel_values=pixel_values
        ).logits_per_video
    torch.testing.assert_close(logits, reference, atol=1e-4, rtol=1e-4)
    # the scores follow the class names, not their position
    use_classes(model, list(reversed(classes)))
    torch.testing.assert_close(model.logits(clip), logits.flip(1), atol=1e-5, rtol=1e-5)


def test_xclip_defaults_to_its_label_space_and_prompts_by_template(xclip):
    card, _, _, clip = xclip
    fresh = load_model(card, "random:0")
    assert fresh.logits(clip).shape == (1, 400)
    assert fresh.module.class_names[0] == "abseiling"
    prompted = load_model(dataclasses.replace(card, prompt_template="a video of a person {}"), "random:0")
    prompted.adapter.set_classes(prompted.module, prompted.card, ["abseiling"])
    assert not torch.equal(prompted.module.text_inputs[0], fresh.module.text_inputs[0][:1])


def test_fixed_classifiers_refuse_class_names():
    pytest.importorskip("transformers")
    from weirdkinetics.models.hf_zoo import use_classes

    model = load_model(shrunk(get_card("vivit_b_16x2_k400")), "random:0")
    with pytest.raises(UserError, match="fixed classifier"):
        use_classes(model, ["arm wrestling"])


# --- every real card, full size (slow) -------------------------------------------------------------------
ZOO_CARDS = [c.name for c in all_cards() if c.zoo != "testing"]


def _zoo_reference_logits(card: ModelCard, loaded, frames: np.ndarray, clip: torch.Tensor) -> torch.Tensor:
    """The zoo's own network with our weights, fed as the zoo feeds it."""
    if card.zoo == "pytorchvideo":
        from pytorchvideo.models import hub

        torch.manual_seed(12345)
        zoo = getattr(hub, card.builder)(pretrained=False).eval()
        zoo.load_state_dict(loaded.module.state_dict())
        if card.slowfast_alpha:  # PyTorchVideo's PackPathway, as its torch.hub tutorial writes it
            fast = clip
            slow = torch.index_select(
                fast, 2, torch.linspace(0, fast.shape[2] - 1, fast.shape[2] // card.slowfast_alpha).long()
            )
            return zoo([slow, fast])
        return zoo(clip)
    if card.zoo == "torchvision":
        return _torchvision_reference(card, loaded.module.state_dict())(clip)
    pixel_values = hf_processor(card)(frames, return_tensors="pt")["pixel_values"]
    if card.open_vocabulary:
        ids, mask = loaded.module.text_inputs
        return loaded.module.net(
            input_ids=ids, attention_mask=mask, pixel_values=pixel_values
        ).logits_per_video
    return loaded.module.net(pixel_values=pixel_values).logits


@pytest.mark.slow
@pytest.mark.parametrize("name", ZOO_CARDS)
def test_every_card_builds_offline_runs_a_real_clip_and_matches_its_zoo(name):
    card = get_card(name)
    if card.extra:
        pytest.importorskip({"hf": "transformers"}.get(card.extra, card.extra))
    loaded = load_model(card, "random:0")
    assert loaded.is_random
    if card.open_vocabulary:
        loaded.adapter.set_classes(
            loaded.module, card, ["arm wrestling", "cleaning pool", "dribbling basketball"]
        )
    frames = clip_frames(card)
    clip = preprocess_clip(frames, card)
    logits = loaded.logits(clip)
    assert logits.shape == (1, 3 if card.open_vocabulary else 400) and torch.isfinite(logits).all()
    if card.zoo == "deepmind":  # its zoo is Flax: parity is the golden of tests/test_models_deepmind.py
        return
    with torch.no_grad():
        reference = _zoo_reference_logits(card, loaded, frames, clip)
    # HF references go through the HF processor (<= 2.4e-7 apart from ours): logits agree to float noise
    tolerance = 0 if card.zoo != "hf" else 1e-4
    if card.revision:  # PyTorchVideo's head ends in a softmax (taken out of ours): compare probabilities
        logits, tolerance = torch.softmax(logits, dim=-1), 1e-6
    torch.testing.assert_close(logits, reference, atol=tolerance, rtol=tolerance)


# --- heads that end in a softmax: every adapter returns logits -----------------------------------------------
# PyTorchVideo's X3D and R(2+1)D builders end their head in a softmax that runs in eval mode; the adapter takes
# it out, so the runner's softmax is the only one. The cards it concerns are at revision 1 (new run ids).
SOFTMAX_HEAD_CARDS = [c.name for c in all_cards() if c.zoo == "pytorchvideo" and c.revision >= 1]
PTV_CARDS = [c.name for c in all_cards() if c.zoo == "pytorchvideo"]


def _fast_only(names: list[str], fast: str) -> list:
    return [pytest.param(n, marks=() if n == fast else pytest.mark.slow) for n in names]


def _upstream(card: ModelCard, state: dict | None = None) -> tuple[torch.nn.Module, list[torch.Tensor]]:
    """PyTorchVideo's own build of the card (eval), with ``state`` loaded, and the list its head's activation
    appends its input to: the head's pre-activation logits float32 (B, K, T', h, w)."""
    hub = pytest.importorskip("pytorchvideo.models.hub")
    from weirdkinetics.models.pytorchvideo_zoo import classifier_head

    torch.manual_seed(12345)
    zoo = getattr(hub, card.builder)(pretrained=False).eval()
    if state is not None:
        zoo.load_state_dict(state)
    pre_activation: list[torch.Tensor] = []
    classifier_head(zoo).activation.register_forward_hook(
        lambda _m, inputs, _out: pre_activation.append(inputs[0])
    )
    return zoo, pre_activation


def test_the_softmax_head_cards_are_the_x3d_and_r2plus1d_cards():
    assert SOFTMAX_HEAD_CARDS == ["r2plus1d_r50", "x3d_l", "x3d_m", "x3d_s", "x3d_xs"]
    for name in SOFTMAX_HEAD_CARDS:  # a revised card enters its revision into the run id; the others do not
        assert get_card(name).to_dict()["revision"] == 1 and "twice" in get_card(name).note
    assert all("revision" not in c.to_dict() for c in all_cards() if c.name not in SOFTMAX_HEAD_CARDS)


@pytest.mark.parametrize("name", _fast_only(PTV_CARDS, "x3d_xs"))
def test_a_card_is_revised_exactly_when_pytorchvideos_head_ends_in_an_activation(name):
    from weirdkinetics.models.pytorchvideo_zoo import classifier_head, logits_head

    card = get_card(name)
    hub = pytest.importorskip("pytorchvideo.models.hub")
    zoo = getattr(hub, card.builder)(pretrained=False)
    assert logits_head(zoo, card) == (card.revision >= 1)
    assert getattr(classifier_head(zoo), "activation", None) is None


@pytest.mark.parametrize("name", _fast_only(SOFTMAX_HEAD_CARDS, "x3d_xs"))
def test_softmax_head_card_probs_are_pytorchvideos_softmax_of_its_head_logits(name, tmp_path):
    from weirdkinetics.inference import Runner, Runtime

    card = get_card(name)
    clip = real_clip(card)
    # a head whose logits are far from flat: the last linear layer (weight and bias) scaled up
    state = load_model(card, "random:0").module.state_dict()
    last = [k for k, v in state.items() if k.endswith("weight") and v.ndim == 2][-1]
    spread = float(np.ptp(load_model(card, "random:0").logits(clip).numpy()))
    for key in (last, last.removesuffix("weight") + "bias"):
        state[key] = state[key] * (20 / spread)
    path = tmp_path / "scaled.pyth"
    torch.save({"model_state": state}, path)
    loaded = load_model(card, str(path))  # the checkpoint loads unchanged: the head has no new parameters
    probs = torch.from_numpy(Runner(loaded, Runtime()).probs(clip))
    zoo, pre_activation = _upstream(card, state)
    with torch.no_grad():
        upstream = zoo(clip)  # PyTorchVideo's eval output: probabilities
    (logits,) = pre_activation  # (1, 400, T', h, w): the card's crop leaves the head's pool several positions
    assert float(logits.amax(1).min() - logits.amin(1).max()) > 5  # not flat anywhere
    expected = torch.softmax(logits, dim=1).mean(dim=(2, 3, 4))  # the head's softmax, then its global average
    torch.testing.assert_close(probs, expected, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(probs, upstream, atol=1e-6, rtol=1e-5)
    # softmax of probabilities never exceeds e / (e + 399) < 0.007: these scores were softmaxed once
    assert probs.max() > 0.05 and probs.argmax() == upstream.argmax()


def test_x3d_at_one_head_position_returns_pytorchvideos_pre_activation_logits_exactly():
    card = dataclasses.replace(get_card("x3d_xs"), resize=160, crop=160)  # X3D-XS's training size
    ours = load_model(card, "random:0")
    zoo, pre_activation = _upstream(card, ours.module.state_dict())
    clip = torch.randn(2, 3, card.frames, 160, 160, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        zoo(clip)
    assert pre_activation[0].shape == (2, 400, 1, 1, 1)
    assert torch.equal(ours.logits(clip), pre_activation[0].flatten(1))


def test_mean_softmax_logits_keeps_tiny_probabilities_finite():
    from weirdkinetics.models.pytorchvideo_zoo import MeanSoftmaxLogits

    # (B, K, T', h, w) = (1, 2, 1, 1, 2): class 0 has probability e^-300 at one position, e^-200 at the other
    logits = torch.tensor([[0.0, -100.0], [300.0, 100.0]]).view(1, 2, 1, 1, 2)
    out = MeanSoftmaxLogits()(logits).flatten(1)
    # log(mean softmax): a log of the probabilities would give -inf for class 0 in float32
    expected = torch.tensor([[-200 - math.log(2), 0.0]])
    torch.testing.assert_close(out, expected, atol=1e-4, rtol=0)

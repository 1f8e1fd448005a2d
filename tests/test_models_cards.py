"""The registry's cards: every field sane, and each zoo card equal to what its zoo publishes."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from conftest import PTV, TV

from weirdkinetics.errors import UnknownNameError
from weirdkinetics.labels import label_space
from weirdkinetics.models import all_cards, get_card
from weirdkinetics.models.cards import describe_cards
from weirdkinetics.models.loading import get_adapter
from weirdkinetics.runid import legacy_run_id
from weirdkinetics.sampling import spec_for

HF = ["videomae_b_k400", "timesformer_b_k400", "vivit_b_16x2_k400", "xclip_b32"]
ZOO_CARDS = [c for c in all_cards() if c.zoo != "testing"]
EXTRAS = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"][
    "optional-dependencies"
]


def test_the_issue_5_cards_exist_in_their_zoos():
    zoo_of = {c.name: c.zoo for c in all_cards()}
    assert {n: zoo_of.get(n) for n in PTV} == dict.fromkeys(PTV, "pytorchvideo")
    assert {n: zoo_of.get(n) for n in TV} == dict.fromkeys(TV, "torchvision")
    assert {n: zoo_of.get(n) for n in HF} == dict.fromkeys(HF, "hf")


@pytest.mark.parametrize("card", all_cards(), ids=lambda c: c.name)
def test_every_card_is_complete_and_consistent(card):
    assert card.fps > 0 and card.frames > 0 and card.stride > 0 and card.clip_spacing > 0
    short = card.resize if isinstance(card.resize, int) else min(card.resize)
    assert 0 < card.crop <= short
    assert len(card.mean) == len(card.std) == 3 and all(s > 0 for s in card.std)
    assert len(label_space(card.label_space)) > 0
    assert card.crop_rounding in ("ceil", "round", "floor")
    assert card.interpolation in ("bilinear", "bicubic", "nearest")
    assert card.licence and card.family and card.description
    assert card.extra == "" or card.extra in EXTRAS
    get_adapter(card.zoo)  # the zoo has an adapter (importing it needs no optional package)
    if card.slowfast_alpha:
        assert card.frames % card.slowfast_alpha == 0
    if card.open_vocabulary:
        assert "{}" in card.prompt_template
    if card.zoo != "testing":
        assert card.reported_top1 is not None and 0 < card.reported_top1 < 100
        assert card.reported_top5 is None or card.reported_top1 < card.reported_top5 < 100
        assert card.reported_protocol and card.weights_url


def test_describe_cards_gives_one_row_per_card_for_the_models_command():
    rows = {r["name"]: r for r in describe_cards()}
    assert set(rows) == {c.name for c in all_cards()}
    assert (rows["i3d_r50"]["frames"], rows["i3d_r50"]["stride"], rows["i3d_r50"]["crop"]) == (8, 8, 256)
    assert (rows["slowfast_r50"]["frames"], rows["slowfast_r50"]["stride"]) == (32, 2)
    assert (rows["r3d_18"]["frames"], rows["r3d_18"]["fps"], rows["r3d_18"]["crop"]) == (16, 15, 112)
    assert rows["r3d_18"]["protocol"] == get_card("r3d_18").protocol
    assert rows["x3d_xs"]["top1"] == 69.12 and rows["xclip_b32"]["extra"] == "hf"
    assert rows["xclip_b32"]["open_vocabulary"] and not rows["i3d_r50"]["open_vocabulary"]


def test_models_json_lists_every_card_as_data(capsys):
    import json

    from weirdkinetics.cli import main

    assert main(["models", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed == json.loads(json.dumps(describe_cards()))
    assert {c["name"] for c in listed} == {c.name for c in all_cards()}


def test_unknown_model_suggests_a_close_name():
    with pytest.raises(UnknownNameError, match="Did you mean: x3d_m"):
        get_card("x3d_mm")


# --- PyTorchVideo ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", PTV)
def test_pytorchvideo_cards_point_at_the_hub_builders_checkpoints(name):
    import importlib

    from pytorchvideo.models import hub

    card = get_card(name)
    builder = getattr(hub, card.builder)
    module = importlib.import_module(builder.__module__)
    assert card.weights_url == module.checkpoint_paths[card.builder]
    assert card.mean == (0.45, 0.45, 0.45) and card.std == (0.225, 0.225, 0.225) and card.fps == 30
    assert card.crop_rounding == "ceil" and not card.resize_on_uint8 and not card.antialias


def test_pytorchvideo_protocols_as_the_zoo_documents_them():
    got = {n: (get_card(n).frames, get_card(n).stride, get_card(n).crop) for n in PTV}
    assert got == {
        "c2d_r50": (8, 8, 256),
        "i3d_r50": (8, 8, 256),
        "slow_r50": (8, 8, 256),
        "slowfast_r50": (32, 2, 256),
        "slowfast_r101": (32, 2, 256),  # fast pathway of 8x8, alpha 4
        "x3d_xs": (4, 12, 182),
        "x3d_s": (13, 6, 182),
        "x3d_m": (16, 5, 256),
        "x3d_l": (16, 5, 356),
        "csn_r101": (32, 2, 256),
        "r2plus1d_r50": (16, 4, 256),
        "mvit_base_16x4": (16, 4, 224),
    }
    assert get_card("i3d_r50").clip_spacing == 16  # the study's protocol
    # every 3-crop recipe scales the short side to the crop; MViT's single-crop test scales it to 256 first
    assert {n: get_card(n).resize for n in PTV if get_card(n).resize != get_card(n).crop} == {
        "mvit_base_16x4": 256
    }


def test_mvit_card_follows_the_recipe_of_its_reported_accuracy_as_torchvisions_port_does():
    from torchvision.models.video import MViT_V1_B_Weights

    ptv, tv = get_card("mvit_base_16x4"), get_card("mvit_v1_b")
    preset = MViT_V1_B_Weights.KINETICS400_V1.transforms()
    assert (
        (ptv.resize, ptv.crop)
        == (tv.resize, tv.crop)
        == (preset.resize_size[0], preset.crop_size[0])
        == (256, 224)
    )
    assert ptv.reported_top1 == 78.85 and "1 crop x 5 clips" in ptv.reported_protocol


# --- torchvision ----------------------------------------------------------------------------------------
def _tv_weights(card):
    from torchvision.models import get_model_weights

    return get_model_weights(card.builder).KINETICS400_V1


@pytest.mark.parametrize("name", TV)
def test_torchvision_cards_equal_the_weights_metadata(name):
    card = get_card(name)
    weights = _tv_weights(card)
    meta, preset = weights.meta, weights.transforms()
    assert card.weights_url == weights.url
    assert re.search(rf"-{card.weights_sha256}\.pth$", weights.url)  # torch.hub's hash-prefix convention
    assert (card.reported_top1, card.reported_top5) == (
        meta["_metrics"]["Kinetics-400"]["acc@1"],
        meta["_metrics"]["Kinetics-400"]["acc@5"],
    )
    assert [card.crop, card.crop] == preset.crop_size
    resize = [card.resize] if isinstance(card.resize, int) else list(card.resize)
    assert resize == preset.resize_size
    assert list(card.mean) == preset.mean and list(card.std) == preset.std
    assert card.interpolation == preset.interpolation.value
    docs = meta["_docs"]
    assert card.fps == float(re.search(r"frame_rate=([\d.]+)", docs).group(1))
    assert card.frames == int(re.search(r"clip_len=(\d+)", docs).group(1)) and card.stride == 1
    assert card.resize_on_uint8 and not card.antialias and card.crop_rounding == "round"


# --- Hugging Face ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", HF)
def test_hugging_face_cards_carry_a_buildable_config(name):
    pytest.importorskip("transformers")
    from weirdkinetics.models.hf_zoo import hf_config

    card = get_card(name)
    config = hf_config(card)  # no download
    assert card.weights_url == f"https://huggingface.co/{card.builder}"
    if card.open_vocabulary:
        assert config.vision_config.num_frames == card.frames
        assert config.vision_config.image_size == card.crop
    else:
        assert config.num_frames == card.frames and config.image_size == card.crop
        assert config.num_labels == 400 and config.id2label[399] == "zumba"
    assert (card.resize_on_uint8, card.antialias, card.crop_rounding) == (True, True, "floor")


def test_xclip_card_is_the_published_base_patch32_configuration():
    transformers = pytest.importorskip("transformers")
    from weirdkinetics.models.hf_zoo import hf_config

    # microsoft/xclip-base-patch32's config.json only sets what XCLIPConfig's defaults already are
    ours, default = hf_config(get_card("xclip_b32")), transformers.XCLIPConfig()
    for side in ("text_config", "vision_config"):
        for key, value in get_card("xclip_b32").arch["config"][side].items():
            assert getattr(getattr(ours, side), key) == getattr(getattr(default, side), key) == value, key


def test_hugging_face_cards_report_the_released_checkpoints_numbers_and_protocols():
    timesformer, vivit, xclip = (
        get_card(n) for n in ("timesformer_b_k400", "vivit_b_16x2_k400", "xclip_b32")
    )
    # TimeSformer's released 8x224 base model (80.7 / 94.7 is TimeSformer-L)
    assert (timesformer.reported_top1, timesformer.reported_top5) == (77.9, 93.2)
    assert "1 temporal clip" in timesformer.reported_protocol and timesformer.default_clips == "dense"
    # ViViT-B/16x2 as Scenic trained and tested it: short side 256, crop 224, values in [-1, 1], 4 x 3 views
    assert (vivit.reported_top1, vivit.resize, vivit.crop) == (79.9, 256, 224)
    assert vivit.mean == vivit.std == (0.5, 0.5, 0.5)  # (x - 0.5) / 0.5 maps [0, 1] onto [-1, 1]
    assert "4 clips x 3 crops" in vivit.reported_protocol
    assert "[-1, 1]" in vivit.note and "[-3, 1]" in vivit.note
    # X-CLIP samples TSN-style: 8 segments over the whole video
    assert xclip.default_clips == "segments:8" and xclip.protocol.startswith("8 segments @30fps")
    assert [get_card(n).default_clips for n in HF if n != "xclip_b32"] == ["dense"] * 3


def test_models_command_prints_each_cards_note(capsys):
    from weirdkinetics.cli import main

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "vivit_b_16x2_k400: preprocessing follows the training recipe" in out
    assert "8 segments @30fps" in out


def _random_run_id(card) -> str:
    """The run id of ``card`` with ``random:0`` weights and its default sampling (no network is built)."""
    from weirdkinetics.models.loading import LoadedModel
    from weirdkinetics.predict import run_id_for
    from weirdkinetics.sampling import spec_for

    model = LoadedModel(card=card, module=None, adapter=None, weights_digest="random:0", weights_desc="")
    return run_id_for(model, spec_for(card))


def test_a_revised_card_gets_new_run_ids_and_unrevised_cards_keep_theirs():
    from dataclasses import replace

    # the revision alone moves a card's runs to new ids (x3d_xs before revision 1 had no note either)
    x3d = get_card("x3d_xs")
    assert x3d.revision == 1
    assert _random_run_id(replace(x3d, note="")) != _random_run_id(replace(x3d, revision=0, note=""))
    # unrevised cards keep their ids (a new card field whose default entered the run id would recompute every
    # store: keep defaults out of ``ModelCard.to_dict``, as revision 0 is). Schema 3 took the cards' prose out
    # of the id once; the ids of schema 2 are what ``legacy_run_id`` gives, and stores are re-keyed from them.
    assert _random_run_id(get_card("tiny_c3d")) == "14cc63fd35891196"
    assert _random_run_id(get_card("i3d_r50")) == "02b7bbb32db482e0"
    for name, schema2 in (("tiny_c3d", "4d7488406dddfdfc"), ("i3d_r50", "7457d960b4b9f53a")):
        card = get_card(name)
        assert legacy_run_id(card.to_dict(), "random:0", spec_for(card).key()) == schema2


def test_rewording_a_card_keeps_its_run_id_and_changing_its_protocol_does_not():
    from dataclasses import replace

    card = get_card("i3d_r50")
    reworded = replace(
        card, description="new words", note="a new note", licence="MIT", reported_top1=1.0, family="other"
    )
    assert _random_run_id(reworded) == _random_run_id(card)
    for change in (dict(crop=224), dict(fps=25.0), dict(mean=(0.5, 0.5, 0.5)), dict(revision=2)):
        assert _random_run_id(replace(card, **change)) != _random_run_id(card), change

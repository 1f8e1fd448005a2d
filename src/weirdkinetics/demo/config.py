"""The demo's sizes, seeds and training budget in one frozen dataclass."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class DemoConfig:
    """Everything that decides the demo's data and models; the same config gives the same files and weights.

    Videos are ``height`` x ``width`` at ``fps``, H.264 at quality ``crf``. Test videos are ``num_frames`` long
    (48 frames at 15 fps = 3.2 s: five dense demo_c3d clips of 8 frames x stride 2, spaced 8 frames);
    training videos ``train_num_frames`` (training cuts random clips, so one clip span plus room to jitter
    is enough, and shorter videos render, encode and decode faster). The test set has
    ``test_per_class_split`` recordings per class, each rendered on its real and on a weird background;
    each training set has ``train_per_class`` recordings per class (a multiple of 5 balances the control
    set exactly). Training runs ``epochs`` passes of ``clips_per_video`` random clips per video,
    ``batch_size`` clips a step, AdamW with a one-cycle schedule peaking at ``lr``. Attribution (``explain``,
    Grad-CAM and occlusion on the centre clip, true masks) covers the first ``explain_per_class`` recordings
    of each class, both versions, to keep the demo quick (``explain_methods``). The study derives
    ``variants`` of every test video with the true masks, swapping in the demo's own background scenes
    (``backgrounds_per_class`` actor-free videos per class, a synth library), and evaluates the exact
    actor-free render of every ``real`` recording beside them (background-only's truth).
    """

    height: int = 64
    width: int = 64
    num_frames: int = 48
    train_num_frames: int = 32
    fps: float = 15.0
    crf: int = 18
    test_per_class_split: int = 20
    train_per_class: int = 50
    data_seed: int = 0
    train_seed: int = 0
    epochs: int = 10
    clips_per_video: int = 2
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    explain_per_class: int = 4
    explain_methods: tuple[str, ...] = ("gradcam", "occlusion")
    variants: tuple[str, ...] = (
        "swap",
        "person-only",
        "background-only",
        "silhouette",
        "static-background",
        "static-person",
    )
    backgrounds_per_class: int = 2

    @classmethod
    def small(cls) -> DemoConfig:
        """A configuration for tests: fewer, shorter videos and a shorter training run."""
        return cls(num_frames=32, test_per_class_split=3, train_per_class=25, epochs=16, lr=6e-3)

    def with_(self, **changes) -> DemoConfig:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)

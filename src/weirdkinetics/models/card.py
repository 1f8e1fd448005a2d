"""A model card: plain data carrying a model's whole input protocol.

torchvision and PyTorchVideo leave the temporal protocol in prose; here it is data, so sampling, transforms
and the store key all derive from the card.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

ATTRIBUTION_FIELDS = ("cam_layers", "cam_tokens", "cam_cls_tokens", "cam_token_layout", "cam_token_order")
"""Card fields that only attribution reads; left out of ``to_dict`` (a run's identity) since scores do not
depend on them."""


@dataclass(frozen=True, kw_only=True)
class ModelCard:
    """Everything needed to build a model and feed it exactly as its authors did. Keyword arguments only, so
    a reader sees which number is the frame rate.

    Temporal protocol (at ``fps`` after resampling): a clip is ``frames`` frames taken every ``stride``-th
    frame; dense clips start every ``clip_spacing`` frames. Spatial protocol: resize (short side to
    ``resize`` when it is an int, to ``(h, w)`` when it is a pair), crop ``crop`` x ``crop``, scale to
    [0, 1], normalise with ``mean``/``std`` (RGB).
    """

    name: str
    zoo: str  # adapter key: "pytorchvideo", "torchvision", "hf", "testing"
    builder: str  # the zoo's own builder / architecture name
    label_space: str
    fps: float
    frames: int
    stride: int
    clip_spacing: int
    resize: int | tuple[int, int]
    crop: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    weights_url: str | None = None
    weights_sha256: str | None = None  # hex prefix as published (torch.hub check_hash convention) or full
    reported_top1: float | None = None  # percent, as the authors report it
    reported_top5: float | None = None
    reported_protocol: str = ""  # how the reported number was measured (views, dataset)
    licence: str = ""
    extra: str = ""  # pip extra needed by the zoo adapter ("" when none)
    family: str = ""  # 3D CNN, two-pathway, efficient, transformer, vision-language
    description: str = ""
    interpolation: str = "bilinear"
    antialias: bool = False
    resize_on_uint8: bool = False  # torchvision's presets resize the uint8 video (rounding) before scaling
    # centre-crop offset of (extent - crop) / 2: "ceil" (PyTorchVideo uniform_crop), "round" (torchvision
    # center_crop: half to even) or "floor" (Hugging Face image processors: int())
    crop_rounding: str = "ceil"
    arch: dict = field(
        default_factory=dict
    )  # builder kwargs / architecture config (random builds need no download)
    slowfast_alpha: int | None = None  # two-pathway models: slow pathway takes every alpha-th frame
    default_crops: int = 1
    # fewest frames the network accepts in one pass; ``--clips whole:N`` windows of a shorter video repeat its
    # last frame up to this many (the video ends ``short``). 1 (every other card) stays out of ``to_dict``.
    min_frames: int = 1
    # temporal views when ``--clips`` is not given: "dense" (clips every ``clip_spacing``), "uniform:N",
    # "segments:N" (TSN-style: N equal segments, one frame each; ``sampling.segment_indices``) or "whole:N" (the
    # whole video in passes of at most N frames; ``sampling.whole_starts``)
    default_clips: str = "dense"
    # where the card departs from the zoo's published preprocessing, or anything else a user must know
    # before trusting a number from it; ``weirdkinetics models`` prints it
    note: str = ""
    # Vision-language models score text prompts instead of a fixed head: ``label_space`` is then only the default
    # vocabulary, any class names can be set (the zoo adapter's ``set_classes``), and ``prompt_template`` turns
    # a class name into text (``"{}"`` = the bare name).
    open_vocabulary: bool = False
    prompt_template: str = ""
    # Attribution (``weirdkinetics explain``), as the card names its crop: ``cam_layers`` are the dotted module
    # paths whose outputs Grad-CAM weighs (the last spatio-temporal stage; one per pathway for two-pathway
    # models). Transformers' layers output tokens: ``cam_tokens`` is their grid (T', h, w) at the card's input
    # size, ``cam_cls_tokens`` how many leading class tokens to drop, ``cam_token_layout`` how the tensor holds
    # them ("tokens": (B, cls + N, C); "channels_last": (B, T', h, w, C); "frames": (B * T', cls + h * w, C))
    # and ``cam_token_order`` the order of the N tokens ("thw" or "hwt"). A card without ``cam_layers`` is
    # explained by occlusion only. These fields do not change a model's scores, so they stay out of a run's
    # identity (``to_dict``).
    cam_layers: tuple[str, ...] = ()
    cam_tokens: tuple[int, int, int] | None = None
    cam_cls_tokens: int = 0
    cam_token_layout: str = ""
    cam_token_order: str = "thw"
    # Bumped when a fix changes what the card's network outputs for the same weights and input (1: the
    # PyTorchVideo heads whose eval softmax was applied twice now return logits). A revised card's runs get new
    # ids, so rows a store holds from before the fix are recomputed, never reused as if they were right; 0
    # stays out of a run's identity (``to_dict``), so cards never revised keep their run ids.
    revision: int = 0

    @property
    def span(self) -> int:
        """Frames one clip spans at ``fps``: ``(frames - 1) * stride + 1``."""
        return (self.frames - 1) * self.stride + 1

    @property
    def protocol(self) -> str:
        """Short human summary, e.g. ``8x8 @30fps, clips every 16, short side 256, crop 256``, or for a card
        whose default is segment sampling ``8 segments @30fps, short side 224, crop 224``."""
        size = (
            f"short side {self.resize}"
            if isinstance(self.resize, int)
            else f"resize {self.resize[0]}x{self.resize[1]}"
        )
        if self.default_clips.startswith("segments:"):
            views = self.default_clips.split(":", 1)[1].split("x")
            temporal = f"{views[0]} segments" + (f" x {views[1]} views" if len(views) > 1 else "")
            return f"{temporal} @{self.fps:g}fps, {size}, crop {self.crop}"
        if self.default_clips.startswith("whole:"):
            cap = self.default_clips.split(":", 1)[1]
            return f"whole video @{self.fps:g}fps in passes of at most {cap} frames, {size}, crop {self.crop}"
        clips = f"clips every {self.clip_spacing}" if self.default_clips == "dense" else self.default_clips
        return f"{self.frames}x{self.stride} @{self.fps:g}fps, {clips}, {size}, crop {self.crop}"

    def to_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k not in ATTRIBUTION_FIELDS}
        if not self.revision:
            del d["revision"]
        if self.min_frames == 1:  # added with whole-video sampling: other cards keep their run ids
            del d["min_frames"]
        d["resize"] = list(self.resize) if isinstance(self.resize, tuple) else self.resize
        return d

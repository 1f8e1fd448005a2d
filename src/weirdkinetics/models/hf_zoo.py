"""Hugging Face transformers adapter: VideoMAE, TimeSformer and ViViT classifiers, and X-CLIP (open vocabulary).

The network is transformers' own model class built from the card's ``arch["config"]`` (the architecture fields
of the published config.json), so a random build needs no download, and a published snapshot loads with
``from_pretrained``: from the Hugging Face cache (``weights=None``) or from a local snapshot folder
(``--weights DIR``). transformers is imported only when a Hugging Face card is used (extra ``hf``).

The loaded module is an ``HFVideoModel``: the transformers network (``.net``) with what scoring needs, owned
by the module instead of attributes stuck onto a transformers object: a classifier's map from its output order
to the label space's order, and for open-vocabulary models (X-CLIP) the tokenizer and the class prompts,
encoded once by ``set_classes`` (``card.prompt_template``); every forward then scores the clips against those
texts. Until classes are set, the card's label space is the vocabulary.
"""

from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from weirdkinetics._optional import require
from weirdkinetics.digest import sha256_file
from weirdkinetics.errors import UserError, WeightsError, first_line, option
from weirdkinetics.labels import label_order, label_space
from weirdkinetics.models.card import ModelCard
from weirdkinetics.models.loading import LoadedModel

# model_type -> (config class, model class) in transformers
HF_MODELS: dict[str, tuple[str, str]] = {
    "videomae": ("VideoMAEConfig", "VideoMAEForVideoClassification"),
    "timesformer": ("TimesformerConfig", "TimesformerForVideoClassification"),
    "vivit": ("VivitConfig", "VivitForVideoClassification"),
    "xclip": ("XCLIPConfig", "XCLIPModel"),
}

_WEIGHT_FILES = ("*.safetensors", "pytorch_model*.bin")


def _transformers(card: ModelCard) -> Any:
    return require("transformers", "hf", f"model '{card.name}'")


def _classes(card: ModelCard) -> tuple[type, type]:
    tf = _transformers(card)
    model_type = card.arch.get("model_type")
    if model_type not in HF_MODELS:
        raise ValueError(
            f"model '{card.name}': arch['model_type'] {model_type!r} is not one of {', '.join(sorted(HF_MODELS))}"
        )
    config_name, model_name = HF_MODELS[model_type]
    return getattr(tf, config_name), getattr(tf, model_name)


def hf_config(card: ModelCard) -> Any:
    """The transformers config of ``card`` (no download). Classifiers get the label space's 400 names as
    ``id2label``, in output order."""
    config_cls, _ = _classes(card)
    kwargs = copy.deepcopy(card.arch.get("config", {}))
    if not card.open_vocabulary:
        names = label_space(card.label_space)
        kwargs["id2label"] = dict(enumerate(names))
        kwargs["label2id"] = {n: i for i, n in enumerate(names)}
    return config_cls(**kwargs)


class HashTokenizer:
    """Stand-in for CLIP's tokenizer in random-weight builds, whose vocabulary files are not available offline.

    Each lower-cased word or punctuation mark becomes a fixed id from its MD5 digest; ``[bos] ... [eos]`` with
    ``eos = vocab_size - 1`` (X-CLIP pools the text at the highest id, as CLIP's tokenizer arranges).
    Deterministic; meaningless with real weights (``load`` uses the snapshot's own tokenizer then).
    """

    def __init__(self, vocab_size: int, max_length: int = 77):
        self.vocab_size = vocab_size
        self.max_length = max_length
        self.bos, self.eos = vocab_size - 2, vocab_size - 1

    def _ids(self, text: str) -> list[int]:
        words = re.findall(r"\w+|[^\w\s]", text.lower())
        ids = [1 + int(hashlib.md5(w.encode()).hexdigest(), 16) % (self.vocab_size - 3) for w in words]
        return [self.bos, *ids[: self.max_length - 2], self.eos]

    def __call__(self, texts: list[str], **_: Any) -> dict[str, torch.Tensor]:
        """texts -> {"input_ids": int64 (N, L), "attention_mask": int64 (N, L)}, padded with 0."""
        rows = [self._ids(t) for t in texts]
        width = max(len(r) for r in rows)
        ids = torch.zeros(len(rows), width, dtype=torch.long)
        mask = torch.zeros(len(rows), width, dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r)
            mask[i, : len(r)] = 1
        return {"input_ids": ids, "attention_mask": mask}


def snapshot_digest(folder: str | Path) -> str:
    """sha256 over the weight files of a snapshot folder (name and sha256 of each, sorted by name)."""
    folder = Path(folder)
    files = sorted({p for pattern in _WEIGHT_FILES for p in folder.glob(pattern)})
    if not files:
        raise WeightsError(
            f"{folder}: no weight files ({', '.join(_WEIGHT_FILES)}); a Hugging Face snapshot folder holds "
            "config.json and model.safetensors (or pytorch_model.bin)"
        )
    listing = "\n".join(f"{p.name} {sha256_file(p)}" for p in files)
    return hashlib.sha256(listing.encode()).hexdigest()


def _cached_snapshot(repo_id: str) -> Path | None:
    """The Hugging Face cache's snapshot folder of ``repo_id``, if there is one."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    path = try_to_load_from_cache(repo_id, "config.json")
    return Path(path).parent if isinstance(path, str) else None


def _architecture_mismatches(expected: dict, actual: Any, prefix: str = "") -> list[str]:
    """Fields of the card's config that the loaded config contradicts, as ``'name value (card: value)'``.

    A field the loaded config does not carry is skipped: the installed transformers does not use it (e.g.
    transformers 5 reads VideoMAE's published ``qkv_bias`` as ``qv_bias``).
    """
    problems = []
    for key, want in expected.items():
        got = getattr(actual, key, None)
        if got is None:
            continue
        if isinstance(want, dict):
            problems += _architecture_mismatches(want, got, f"{prefix}{key}.")
            continue
        if isinstance(got, (list, tuple)):
            got = list(got)
        if got != want:
            problems.append(f"{prefix}{key} {got!r} (card: {want!r})")
    return problems


def state_digest(module: nn.Module) -> str:
    """sha256 over a module's state dict (names, shapes, dtypes and bytes), for weights with no file to hash."""
    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name} {tuple(t.shape)} {t.dtype}\n".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


class HFVideoModel(nn.Module):
    """A transformers video network and what scoring it needs; ``forward(clips)`` gives logits.

    net: the transformers model. label_order: int64 (K,) output index of each label-space class, for a
    classifier whose outputs are in another order (None: same order). tokenizer: the text tokenizer of an
    open-vocabulary model. ``set_classes`` encodes the class prompts once (``text_embeds`` (K, D),
    ``text_inputs`` (ids, mask), ``class_names``).
    """

    def __init__(
        self, net: nn.Module, card: ModelCard, tokenizer: Any = None, label_order: list[int] | None = None
    ):
        super().__init__()
        self.net, self.card, self.tokenizer = net, card, tokenizer
        order = None if label_order is None else torch.tensor(label_order, dtype=torch.long)
        self.register_buffer("label_order", order, persistent=False)
        self.register_buffer("text_embeds", None, persistent=False)
        self.text_inputs: tuple[torch.Tensor, torch.Tensor] | None = None
        self.class_names: tuple[str, ...] | None = None

    def set_classes(self, class_names: list[str]) -> None:
        """Open-vocabulary models: score ``class_names`` from now on (one text prompt each, encoded once)."""
        card = self.card
        if not card.open_vocabulary:
            raise UserError(
                f"model '{card.name}' has a fixed classifier over label space '{card.label_space}'; "
                "only open-vocabulary models take arbitrary class names"
            )
        if not class_names:
            raise UserError(f"model '{card.name}': no class names to score")
        prompts = [card.prompt_template.format(name) for name in class_names]
        encoded = self.tokenizer(prompts, padding=True, truncation=True, return_tensors="pt")
        device = next(self.net.parameters()).device
        ids, mask = encoded["input_ids"].to(device), encoded["attention_mask"].to(device)
        with torch.no_grad():
            pooled = self.net.text_model(input_ids=ids, attention_mask=mask)[1]
            self.text_embeds = self.net.text_projection(pooled)  # (K, projection_dim)
        self.text_inputs = (ids, mask)
        self.class_names = tuple(class_names)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """clips: float32 (B, C, T, H, W), normalised -> logits float32 (B, num_classes).

        transformers' video models take (B, T, C, H, W). Classifier outputs are put into the label space's
        order; X-CLIP returns one score per class set by ``set_classes``.
        """
        pixel_values = clips.permute(0, 2, 1, 3, 4).contiguous()
        if self.card.open_vocabulary:
            return self._open_vocabulary_logits(pixel_values)
        logits = self.net(pixel_values=pixel_values).logits
        return logits if self.label_order is None else logits.index_select(1, self.label_order)

    def _open_vocabulary_logits(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """XCLIPModel.forward with the text side computed once (``set_classes``) instead of per batch.

        pixel_values: float32 (B, T, C, H, W) -> logits_per_video (B, K). Same steps as transformers'
        XCLIPModel.forward; a test compares the two.
        """
        if self.text_embeds is None:
            self.set_classes(list(label_space(self.card.label_space)))
        model = self.net
        b, t, c, h, w = pixel_values.shape
        vision = model.vision_model(pixel_values=pixel_values.reshape(-1, c, h, w))
        cls_features = model.visual_projection(vision[1]).view(b, t, -1)
        video_embeds = model.mit(cls_features)[1]
        img_features = model.prompts_visual_layernorm(vision[0][:, 1:, :]) @ model.prompts_visual_projection
        img_features = img_features.view(b, t, -1, video_embeds.shape[-1]).mean(dim=1)
        text = self.text_embeds.to(pixel_values.device).unsqueeze(0).expand(b, -1, -1)
        text = text + model.prompts_generator(text, img_features)
        video_embeds = video_embeds / video_embeds.norm(p=2, dim=-1, keepdim=True)
        text = text / text.norm(p=2, dim=-1, keepdim=True)
        return torch.einsum("bd,bkd->bk", video_embeds, model.logit_scale.exp() * text)


class HuggingFaceAdapter:
    extra = "hf"

    def build(self, card: ModelCard) -> nn.Module:
        """The card's architecture with fresh (random) weights, from ``arch["config"]``: no download."""
        _, model_cls = _classes(card)
        tokenizer = None
        if card.open_vocabulary:
            text = card.arch["config"].get("text_config", {})
            tokenizer = HashTokenizer(text.get("vocab_size", 49408), text.get("max_position_embeddings", 77))
        return HFVideoModel(model_cls(hf_config(card)), card, tokenizer)

    def convert_state(self, card: ModelCard, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """A transformers state dict saved from the bare network (``net`` inside ``HFVideoModel``)."""
        if state and not all(k.startswith("net.") for k in state):
            return {f"net.{k}": v for k, v in state.items()}
        return state

    def load(self, card: ModelCard, weights: str | None) -> tuple[nn.Module, str, str]:
        """Published weights: from the Hugging Face cache/hub (``weights=None``) or a local snapshot folder.

        Returns (module, digest of the weight files, description). The snapshot's config must agree with the
        card's architecture, and a classifier's ``id2label`` must name the card's label space (its order is
        mapped onto the label space's order).
        """
        tf = _transformers(card)
        _, model_cls = _classes(card)
        local = weights is not None
        source = str(weights) if local else card.builder
        try:
            model = model_cls.from_pretrained(source, local_files_only=local)
            tokenizer = (
                tf.AutoTokenizer.from_pretrained(source, local_files_only=local)
                if card.open_vocabulary
                else None
            )
        except (OSError, ValueError) as exc:
            if local:
                raise WeightsError(
                    f"{option('weights', str(weights))}: not a loadable Hugging Face snapshot of {card.builder} "
                    f"({first_line(exc)}). A snapshot folder holds config.json and model.safetensors "
                    "(or pytorch_model.bin)"
                    + (" and the tokenizer files" if card.open_vocabulary else "")
                    + "."
                ) from None
            raise WeightsError(
                f"could not load the weights of '{card.name}' ({card.builder}) from the Hugging Face cache or hub "
                f"({first_line(exc)}). Offline? Pass {option('weights', meta='DIR')} with a local snapshot of {card.builder} "
                f"(e.g. made elsewhere with `huggingface-cli download {card.builder} --local-dir DIR`), "
                f"or {option('weights', meta='random[:SEED]')}."
            ) from None
        mismatched = _architecture_mismatches(card.arch.get("config", {}), model.config)
        if mismatched:
            raise WeightsError(
                f"{source} is not the architecture of model '{card.name}': " + "; ".join(mismatched[:8])
            )
        order = None
        if not card.open_vocabulary:
            config = model.config
            names = [config.id2label[i] for i in range(config.num_labels)]
            try:
                order = label_order(names, card.label_space)
            except UserError as exc:
                raise WeightsError(f"{source}: config.id2label: {exc}") from None
        wrapped = HFVideoModel(model, card, tokenizer, order)
        folder = Path(weights) if local else _cached_snapshot(card.builder)
        # the digest is always of the weights themselves: the snapshot's files, else the loaded tensors
        digest = snapshot_digest(folder) if folder is not None else state_digest(model)
        return wrapped, digest, (str(folder) if local else f"{card.builder} (Hugging Face cache)")

    def set_classes(self, model: HFVideoModel, card: ModelCard, class_names: list[str]) -> None:
        """Open-vocabulary models: score ``class_names`` from now on (``HFVideoModel.set_classes``)."""
        model.set_classes(class_names)

    def class_names(self, model: HFVideoModel, card: ModelCard) -> tuple[str, ...]:
        """The classes the model's outputs are scored over, in output order."""
        return model.class_names or label_space(card.label_space)

    def forward(self, model: HFVideoModel, card: ModelCard, clips: torch.Tensor) -> torch.Tensor:
        """clips: float32 (B, C, T, H, W), normalised -> logits float32 (B, num_classes)."""
        return model(clips)


def use_classes(loaded: LoadedModel, class_names: list[str]) -> None:
    """Point an open-vocabulary model at ``class_names`` (e.g. the manifest's labels).

    Sets the adapter's text prompts and ``loaded.class_names`` (what ``predict.build_jobs`` names the scores
    by). Raises a ``UserError`` for a fixed-classifier model.
    """
    loaded.set_classes(list(class_names))

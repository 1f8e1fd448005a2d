"""Weights I/O: the torch.hub cache, published checksums, and checkpoint files.

Checkpoints load with ``torch.load(weights_only=True)``: no code runs from a pickle. A file that does not load
says why in words (a refused pickle, a truncated or corrupt file, not a checkpoint at all), and a state dict
that does not fit the architecture names its missing, unexpected and mis-shaped keys.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch
from torch import nn

from weirdkinetics.digest import sha256_file
from weirdkinetics.errors import WeightsError, option
from weirdkinetics.inputs import unreadable
from weirdkinetics.models.card import ModelCard


def hub_checkpoint_path(url: str) -> Path:
    """Where torch.hub caches ``url`` (``$TORCH_HOME/hub/checkpoints/<file name>``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url.split("?")[0])


def fetch_hub_checkpoint(card: ModelCard) -> Path:
    """The card's checkpoint from the torch.hub cache, downloading it there first if needed.

    A published hash prefix (``card.weights_sha256``) is checked, as ``torch.hub`` does with ``check_hash``.
    """
    if not card.weights_url:
        raise WeightsError(
            f"model '{card.name}' has no published weights; pass {option('weights', meta='PATH')} or "
            f"{option('weights', meta='random[:SEED]')}"
        )
    dest = hub_checkpoint_path(card.weights_url)
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            torch.hub.download_url_to_file(card.weights_url, str(dest), progress=True)
        except Exception as exc:  # noqa: BLE001 -- urllib, ssl, http and OS errors all mean "could not download"
            raise WeightsError(
                f"could not download weights for '{card.name}' from {card.weights_url} ({exc}). "
                f"Offline? Put the file at {dest}, or pass {option('weights', meta='PATH')}, or "
                f"{option('weights', meta='random[:SEED]')}."
            ) from None
    digest = sha256_file(dest)
    if card.weights_sha256 and not digest.startswith(card.weights_sha256):
        raise WeightsError(
            f"{dest}: sha256 {digest[:16]}... does not match the published {card.weights_sha256}; "
            "delete the file and download it again"
        )
    return dest


def unwrap_state_dict(obj: Any, source: str) -> dict[str, torch.Tensor]:
    """The state dict inside a checkpoint: PyTorchVideo's ``{"model_state": ...}``, Lightning's
    ``{"state_dict": ...}``, ``{"model": ...}``, or a bare state dict."""
    if isinstance(obj, dict):
        for key in ("model_state", "state_dict", "model"):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{source}: not a state dict (expected tensors by parameter name)")
    return obj


def _describe_load_failure(path: Path, exc: BaseException) -> str:
    """What a failed ``torch.load(weights_only=True)`` means, in words: a refused pickle, a truncated or
    corrupt file, or a file that is not a PyTorch checkpoint at all."""
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    detail = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    if isinstance(exc, pickle.UnpicklingError) and "weights only load failed" in str(exc).lower():
        return (
            f"{path}: cannot be loaded safely: it holds Python objects other than tensors, and loading them "
            "could run code from its pickle. Only tensor checkpoints are accepted; re-save the state dict "
            "(torch.save(model.state_dict(), ...))"
        )
    text = str(exc).lower()
    with open(path, "rb") as fh:  # a regular file (checked before loading)
        head = fh.read(4)
    zipped = head == b"PK\x03\x04"  # torch.save's format since 1.6: a zip archive that did not load
    if (
        zipped
        or not head
        or isinstance(exc, EOFError)
        or any(
            s in text
            for s in (
                "failed reading zip archive",
                "central directory",
                "unexpected eof",
                "corrupt",
                "truncated",
            )
        )
    ):
        return (
            f"{path}: truncated or corrupt checkpoint ({detail}); download or save it again "
            f"({path.stat().st_size:,} bytes on disk)"
        )
    return f"{path}: not a PyTorch checkpoint ({detail}); pass a file written by torch.save"


def load_checkpoint_file(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    problem = unreadable(path)  # before opening: torch.load would block forever on a FIFO
    if problem is not None:
        raise WeightsError(f"{option('weights', str(path))}: {problem.reason}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 -- torch.load fails in many types; each is a problem with the file
        raise WeightsError(_describe_load_failure(path, exc)) from None
    return unwrap_state_dict(obj, str(path))


def load_state_into(module: nn.Module, state: dict[str, torch.Tensor], source: str, name: str) -> None:
    """Load strictly; on a mismatch, name the missing, unexpected and mis-shaped keys."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shaped = [
        f"{k} {tuple(state[k].shape)} != {tuple(own[k].shape)}"
        for k in own
        if k in state and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or shaped:

        def few(items: list[str]) -> str:
            return ", ".join(items[:5]) + (f" (+{len(items) - 5} more)" if len(items) > 5 else "")

        parts = []
        if missing:
            parts.append(f"missing keys: {few(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {few(unexpected)}")
        if shaped:
            parts.append(f"shape mismatches: {few(shaped)}")
        raise WeightsError(f"{source} does not fit model '{name}': " + "; ".join(parts))
    module.load_state_dict(state, strict=True)

"""How a model runs: device, precision, memory format and compilation (not *what* it computes).

A ``Runtime`` is chosen per evaluation; a ``Runner`` is one loaded model prepared for it and turns a batch of
views into class probabilities. Only precision changes results beyond float rounding, so only precision is
part of a run's identity (``Runtime.identity``): a bf16 run never overwrites an fp32 one, while the device and
memory format are recorded as provenance.

What PyTorch offers is used as it is: ``inference_mode``, ``autocast`` (bf16 on CPU, bf16/fp16 on CUDA),
``channels_last_3d`` for convolutional networks (the fast layout of oneDNN and cuDNN 3D convolutions; logits are
equal within float rounding), pinned host memory with non-blocking copies on CUDA, and ``torch.compile``
on request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from weirdkinetics.devices import resolve_device
from weirdkinetics.errors import UserError, option

if TYPE_CHECKING:
    import torch

    from weirdkinetics.models.loading import LoadedModel

PRECISIONS = ("fp32", "bf16", "fp16")
CONV_FAMILIES = ("3D CNN", "two-pathway", "efficient")
"""Card families whose networks are convolutional: ``channels_last_3d`` pays for them."""


DEFAULT_BATCH_SIZE = {"cpu": 1, "cuda": 32}
"""Clips per forward pass by device type, measured with ``benchmarks/speed.py`` (on CPU a batch of 8 is slower per
clip than one clip at a time)."""


def default_batch_size(device: str) -> int:
    return DEFAULT_BATCH_SIZE.get(device.split(":")[0], 1)


@dataclass(frozen=True)
class Runtime:
    """device: ``cpu``, ``cuda`` or ``cuda:N``; precision: ``fp32`` (exact), ``bf16`` or ``fp16`` (CUDA only,
    autocast); channels_last: ``None`` = on for convolutional families; compile: ``torch.compile`` the model."""

    device: str = "cpu"
    precision: str = "fp32"
    channels_last: bool | None = None
    compile: bool = False

    def describe(self) -> dict:
        return {
            "device": self.device,
            "precision": self.precision,
            "channels_last": self.channels_last,
            "compile": self.compile,
        }


def check_precision(precision: str, device_type: str | None = None) -> None:
    """One clear error for an unknown precision, or (``device_type`` given) fp16 on a device other than CUDA."""
    if precision not in PRECISIONS:
        raise UserError(f"{option('precision', precision)}: not one of {', '.join(PRECISIONS)}")
    if precision == "fp16" and device_type is not None and device_type != "cuda":
        raise UserError(f"{option('precision', 'fp16')} needs a CUDA device; on CPU use bf16 (or fp32)")


def check_runtime(rt: Runtime) -> torch.device:
    """Validate a runtime before any model is built (one clear error each)."""
    check_precision(rt.precision)  # before the device: an unknown precision is the first thing to say
    device = resolve_device(rt.device)
    check_precision(rt.precision, device.type)
    return device


def exact_fp32(device: torch.device) -> None:
    """fp32 means fp32: on CUDA, no TF32 matmuls or convolutions behind the user's back (PyTorch's switches
    are process-wide; every fp32 computation here, evaluation and attribution alike, goes through this)."""
    import torch

    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False


class Runner:
    """One loaded model prepared for a runtime: ``probs(views)`` -> float32 (N, K) softmax probabilities."""

    def __init__(self, model: LoadedModel, rt: Runtime):
        import torch

        self.model, self.rt = model, rt
        self.device = check_runtime(rt)
        channels_last = rt.channels_last
        if channels_last is None:
            channels_last = model.card.family in CONV_FAMILIES
        self.channels_last = channels_last
        module = model.module.to(self.device).eval()
        if channels_last:
            module = module.to(memory_format=torch.channels_last_3d)
        if rt.precision == "fp32":
            exact_fp32(self.device)
        self._module = torch.compile(module) if rt.compile else module

    def _autocast(self):
        import contextlib

        import torch

        if self.rt.precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.rt.precision == "bf16" else torch.float16
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def logits(self, views: torch.Tensor) -> torch.Tensor:
        """views: float32 (N, C, T, H, W) on the host -> logits float32 (N, K) on the host."""
        import torch

        if self.device.type == "cuda":
            views = views.pin_memory().to(self.device, non_blocking=True)
        if self.channels_last:
            views = views.contiguous(memory_format=torch.channels_last_3d)
        with torch.inference_mode(), self._autocast():
            out = self.model.adapter.forward(self._module, self.model.card, views)
        return out.float().cpu()

    def probs(self, views: torch.Tensor) -> np.ndarray:
        import torch

        return torch.softmax(self.logits(views), dim=-1).numpy()

"""Which torch device a run uses (a shared leaf): ``resolve_device`` checks a name against this machine.

Both ``models.loading`` (where a model is placed) and ``inference`` (where it runs) need it; living here, neither
imports the other for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from weirdkinetics.errors import UserError, option

if TYPE_CHECKING:
    import torch

DEVICE_TYPES = ("cpu", "cuda", "mps")


def resolve_device(name: str) -> torch.device:
    """A torch device for ``name`` that exists here, or a one-line ``UserError`` saying what to use instead:
    ``cpu``, ``cuda``, ``cuda:N`` with a visible GPU N, or ``mps`` where Metal is available."""
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, TypeError, ValueError):
        device = None
    if device is None or device.type not in DEVICE_TYPES:
        raise UserError(
            f"{option('device', name)}: not a device this toolkit runs on; use cpu, cuda, cuda:N or mps"
        )
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            built = f"built with CUDA {torch.version.cuda}" if torch.version.cuda else "built without CUDA"
            raise UserError(
                f"{option('device', name)}: no CUDA GPU is visible here (torch {torch.__version__}, {built}); "
                f"use {option('device', 'cpu')}"
            )
        if device.index is not None and device.index >= count:
            raise UserError(
                f"{option('device', name)}: only {count} CUDA GPU(s) here (cuda:0..cuda:{count - 1})"
            )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise UserError(
            f"{option('device', name)}: Apple's Metal (MPS) is not available here; use {option('device', 'cpu')}"
        )
    return device

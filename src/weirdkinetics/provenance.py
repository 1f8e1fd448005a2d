"""Versions for provenance, in one place (a shared leaf): every results file names what made it.

Versions come from package metadata, so nothing is imported (torch in particular) just to name a version.
"""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

from weirdkinetics import __version__

STACKS: dict[str, tuple[str, ...]] = {
    "evaluate": ("torch", "torchvision", "av", "numpy", "pytorchvideo", "transformers", "mediapipe"),
    "synth": ("numpy", "av", "mediapipe", "opencv-contrib-python", "opencv-python", "torch", "torchvision"),
    "report": ("numpy", "scipy", "matplotlib"),
}
"""The libraries whose versions each stage records."""


def versions(stage: str = "evaluate", with_platform: bool = True) -> dict[str, str]:
    """This package's version, Python's (and the platform's), and the installed version of each library
    that ``stage`` uses (libraries that are not installed are left out)."""
    out = {"weirdkinetics": __version__, "python": platform.python_version()}
    if with_platform:
        out["platform"] = platform.platform()
    for name in STACKS[stage]:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out

"""Optional imports that fail with a message naming the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from weirdkinetics.errors import MissingExtraError


def require(module: str, extra: str, purpose: str = "") -> ModuleType:
    """Import ``module`` or raise a ``MissingExtraError`` that says ``pip install 'weirdkinetics[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        why = f" (needed for {purpose})" if purpose else ""
        raise MissingExtraError(
            f"Python package '{module.split('.')[0]}' is not installed{why}. "
            f"Install it with: pip install 'weirdkinetics[{extra}]'  ({exc})"
        ) from exc

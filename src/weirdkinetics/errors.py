"""Typed errors. A ``UserError`` is the user's to fix: the CLI prints its message on one line and exits 1.

Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable


def _loose(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


def did_you_mean(
    name: str, choices: Iterable[str], n: int = 3, key: Callable[[str], str] | None = None
) -> str:
    """``' Did you mean: a, b?'`` or ``''``: the close spellings of ``name`` among ``choices``.

    Exact close matches first; failing those, matches of ``key(name)`` among ``key(choice)`` (by default case,
    spaces, dashes and underscores are ignored), so ``x3d-M`` finds ``x3d_m``.
    """
    choices = list(choices)
    key = key or _loose
    same = [c for c in choices if key(c) == key(name)]  # a different spelling of one choice comes first
    close = same + [c for c in difflib.get_close_matches(name, choices, n=n, cutoff=0.6) if c not in same]
    if not close:
        keyed = {key(c): c for c in choices}
        close = [keyed[k] for k in difflib.get_close_matches(key(name), list(keyed), n=n, cutoff=0.6)]
    close = close[:n]
    return f" Did you mean: {', '.join(close)}?" if close else ""


class UserError(Exception):
    """An input problem the user can fix; the message says how."""


class ManifestError(UserError):
    """The manifest is invalid. ``problems`` lists every problem found, each with its row number (one
    problem reads as one line)."""

    def __init__(self, problems: list[str], path: str = ""):
        self.problems = list(problems)
        head = f"{path}: " if path else ""
        if len(problems) == 1:  # one line, as every other user error
            super().__init__(head + problems[0])
        else:
            super().__init__(head + f"{len(problems)} problem(s):\n  " + "\n  ".join(problems))


class UnknownNameError(UserError, KeyError):
    """A registry lookup failed; the message suggests close names and lists what exists."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class WeightsError(UserError):
    """Weights cannot be found, downloaded or loaded into the architecture."""


class MissingExtraError(UserError):
    """An optional dependency is missing; the message names the extra to install."""


class DecodeError(Exception):
    """FFmpeg could not decode a video; becomes the ``decode_error`` status of its row, never a crash."""

"""Typed errors. A ``UserError`` is the user's to fix: the CLI prints its message on one line and exits 1.

Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


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

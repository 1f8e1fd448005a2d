"""Typed errors. A ``UserError`` is the user's to fix: the CLI prints its message on one line and exits 1.

Anything else is a bug and keeps its traceback.

Messages name the caller's options through ``option(...)``: a Python caller reads the parameter
(``clips='uniform:0'``), a command-line user the flag (``--clips uniform:0``), from one message. ``str(exc)``
is the API's reading; the CLI renders with ``exc.render(flag)``, where ``flag`` maps a parameter name to its
flag.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
from collections.abc import Callable, Iterable

# an option inside a message: US name [RS api-value RS cli-value] US; control characters no message contains
_US, _RS = "\x1f", "\x1e"
_OPTION = re.compile(f"{_US}([A-Za-z_][A-Za-z0-9_.]*)(?:{_RS}([^{_US}]*){_RS}([^{_US}]*))?{_US}")
_UNSET = object()


def _clean(text: str) -> str:
    return text.replace(_US, "\\x1f").replace(_RS, "\\x1e")


def option(name: str, value: object = _UNSET, *, meta: str | None = None) -> str:
    """How a message names one of the caller's options (``name``: the API's parameter name).

    ``option("clips", "uniform:0")`` reads ``clips='uniform:0'`` from the API and ``--clips uniform:0`` on the
    command line (the value as Python writes it, or as a shell takes it); ``option("weights", meta="PATH")``
    reads ``weights=PATH`` / ``--weights PATH`` (a placeholder, shown as is); ``option("out_dir")`` reads
    ``out_dir`` / ``--out``. Build messages with it; render them with ``render_options``.
    """
    if meta is not None:
        shown = (meta, meta)
    elif value is _UNSET:
        return f"{_US}{name}{_US}"
    else:
        value = os.fspath(value) if isinstance(value, os.PathLike) else value
        text = str(value)
        shown = (repr(value), (shlex.quote(text) if isinstance(value, str) else text).replace("\x00", "\\0"))
    return f"{_US}{name}{_RS}{_clean(shown[0])}{_RS}{_clean(shown[1])}{_US}"


def render_options(text: str, flag: Callable[[str], str] | None = None) -> str:
    """``text`` with its ``option(...)`` names rendered: as API parameters (``clips='x'``) when ``flag`` is
    None, else as command-line flags (``flag("clips") + " x"``)."""

    def one(match: re.Match) -> str:
        name, api_value, cli_value = match.groups()
        if flag is None:
            return name if api_value is None else f"{name}={api_value}"
        return flag(name) if cli_value is None else f"{flag(name)} {cli_value}"

    return _OPTION.sub(one, text)


def rename_options(exc: UserError, names: dict[str, str]) -> UserError:
    """``exc`` (changed in place) naming options as ``names`` maps them: a helper's parameter as its caller
    calls it (``{"weights": "segmenter_weights"}``). Re-raise what it returns."""
    if len(exc.args) == 1 and isinstance(exc.args[0], str):

        def one(match: re.Match) -> str:
            name = match.group(1)
            return _US + names.get(name, name) + match.group(0)[1 + len(name) :]

        exc.args = (_OPTION.sub(one, exc.args[0]),)
        if isinstance(exc, ManifestError):
            exc.problems = [_OPTION.sub(one, p) for p in exc.problems]
    return exc


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


def first_line(exc: BaseException, limit: int = 300) -> str:
    """``Type: first line of the message`` for a cause quoted inside a status reason or a user error (library
    messages can run to pages: FFmpeg's, or a hub's HTML)."""
    text = str(exc).strip().splitlines()
    return (f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__)[:limit]


class UserError(Exception):
    """An input problem the user can fix; the message says how (naming options with ``option``)."""

    def __str__(self) -> str:
        return self.render()

    def render(self, flag: Callable[[str], str] | None = None) -> str:
        """The message, options named as API parameters (``flag`` None) or as ``flag(name)``."""
        raw = str(self.args[0]) if len(self.args) == 1 else Exception.__str__(self)
        return render_options(raw, flag)


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

    def problem_lines(self, flag: Callable[[str], str] | None = None) -> list[str]:
        """``problems`` with their options rendered (see ``UserError.render``)."""
        return [render_options(p, flag) for p in self.problems]


class UnknownNameError(UserError, KeyError):
    """A registry lookup failed; the message suggests close names and lists what exists."""

    __str__ = UserError.__str__  # KeyError's would quote the message


class WeightsError(UserError):
    """Weights cannot be found, downloaded or loaded into the architecture."""


class MissingExtraError(UserError):
    """An optional dependency is missing; the message names the extra to install."""


class DecodeError(Exception):
    """FFmpeg could not decode a video; becomes the ``decode_error`` status of its row, never a crash."""

"""The public Python API's parameter checks: the same ranges the command line enforces, one table.

A command-line user cannot pass ``seed=1.5`` or ``models='tiny_c3d'`` read one letter at a time: argparse
types every flag. A Python caller can, so every public function of ``api`` (and ``study.run_study``'s
settings) checks its parameters here first, with a one-line ``UserError`` naming the parameter as the API
spells it (``errors.option``). The ranges are the CLI's own (``cli`` reads ``MAX_SEED`` and the others from
here), so they are written once.

A single string where a list of names belongs (``models='tiny_c3d'``) is taken as a one-element list: it can
only mean that one name, and refusing it would only make the caller type brackets.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from typing import Any, TypeVar

from weirdkinetics.errors import UserError, option

MAX_SEED = 2**32 - 1  # numpy's and random's seeds are 32-bit; a larger one would be recorded but not used
MAX_SIDE = (32, 16384)  # synth's --max-side
MAX_BATCH_SIZE = 1024  # clips per forward pass
MAX_DECODE_WORKERS = 64
MAX_COUNT = 1_000_000  # counts with no natural bound (n_boot, explain_per_class, actors)

Check = Callable[[str, Any], Any]  # (parameter name, value) -> the value to use, or raise UserError
F = TypeVar("F", bound=Callable[..., Any])


def _refuse(name: str, value: Any, want: str) -> UserError:
    return UserError(f"{option(name, _shown(value))}: {want}")


def _shown(value: Any) -> Any:
    """What a message shows of a wrong value: itself when short, else its type (a 10,000-item list is not
    worth a line)."""
    text = repr(value)
    return value if len(text) <= 80 else f"<{type(value).__name__}>"


def whole(low: int, high: int, optional: bool = False) -> Check:
    """A whole number (not a bool, not 1.0) in [low, high]; None too when ``optional``."""

    def check(name: str, value: Any) -> Any:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _refuse(name, value, f"must be a whole number from {low} to {high}")
        return int(value)

    return check


def one_of(*values: int, optional: bool = False) -> Check:
    """One of the whole numbers ``values`` (not a bool); None too when ``optional``."""

    def check(name: str, value: Any) -> Any:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value not in values:
            raise _refuse(name, value, f"must be {' or '.join(map(str, values))}")
        return int(value)

    return check


def text(optional: bool = False, choices: tuple[str, ...] = ()) -> Check:
    """A string (one of ``choices`` when given); None too when ``optional``."""

    def check(name: str, value: Any) -> Any:
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise _refuse(name, value, "must be a string" + (" or None" if optional else ""))
        if choices and value not in choices:
            raise _refuse(name, value, f"use one of {', '.join(choices)}")
        return value

    return check


def path(optional: bool = False, as_text: bool = False) -> Check:
    """A path: a string or an ``os.PathLike`` (not bytes); None too when ``optional``; with
    ``as_text`` read as a string (for parameters that take a word or a file: ``classes='all'`` or a path).
    An empty one is left to the checks where it is used, which say whether a file or a folder name is
    missing."""

    def check(name: str, value: Any) -> Any:
        if value is None and optional:
            return None
        if not isinstance(value, (str, os.PathLike)) or isinstance(os.fspath(value), bytes):
            raise _refuse(
                name, value, "must be a path (str or pathlib.Path)" + (" or None" if optional else "")
            )
        return os.fspath(value) if as_text else value

    return check


def names(optional: bool = False, paths: bool = False, gaps: bool = False) -> Check:
    """A list of strings (a tuple too; with ``paths``, ``os.PathLike`` items too, read as strings); a single
    one is read as a one-element list; None too when ``optional``; None items too with ``gaps`` (weights
    per model, None for a card's default)."""
    kinds = (str, os.PathLike) if paths else (str,)

    def item(v: Any) -> bool:
        return isinstance(v, kinds) or (gaps and v is None)

    def check(name: str, value: Any) -> Any:
        if value is None and optional:
            return None
        if isinstance(value, kinds):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(map(item, value)):
            raise _refuse(name, value, "must be a list of strings (or one string)")
        return [None if v is None else os.fspath(v) for v in value]

    return check


def flag(name: str, value: Any) -> bool:
    """True or False (not 0, 1 or "no", which Python would read as its truth value)."""
    if not isinstance(value, bool):
        raise _refuse(name, value, "must be True or False")
    return value


def instance(kind: type | tuple[type, ...], what: str, optional: bool = False, many: bool = False) -> Check:
    """An object of ``kind`` (``many``: a list of them), described to the caller as ``what``."""

    def one(value: Any) -> bool:
        return isinstance(value, kind)

    def check(name: str, value: Any) -> Any:
        if value is None and optional:
            return None
        ok = isinstance(value, (list, tuple)) and all(map(one, value)) if many else one(value)
        if not ok:
            raise _refuse(name, value, f"must be {what}" + (" or None" if optional else ""))
        return value

    return check


def function(optional: bool = True) -> Check:
    """Something callable; None too when ``optional``."""

    def check(name: str, value: Any) -> Any:
        if (value is None and optional) or callable(value):
            return value
        raise _refuse(name, value, "must be a function" + (" or None" if optional else ""))

    return check


def synth_options(name: str, value: Any) -> Any:
    """A ``SynthOptions`` or None (imported only when given: synth's modules are heavy)."""
    if value is None:
        return None
    from weirdkinetics.synth.options import SynthOptions

    return instance(SynthOptions, "a SynthOptions or None")(name, value)


# parameters that mean the same in every API function: the default table
COMMON: dict[str, Check] = {
    "manifest_path": path(),
    "out_dir": path(),
    "store_path": path(optional=True),
    "label_map": path(optional=True),
    "export": path(optional=True),
    "backgrounds": path(optional=True),
    "mask_cache": path(optional=True),
    "source": path(),
    "seed": whole(0, MAX_SEED),
    "batch_size": whole(1, MAX_BATCH_SIZE, optional=True),
    "crops": one_of(1, 3, optional=True),  # the CLI's choices
    "decode_workers": whole(1, MAX_DECODE_WORKERS, optional=True),
    "actors": whole(1, MAX_COUNT, optional=True),
    "n_boot": whole(1, MAX_COUNT),
    "device": text(),
    "engine": text(),
    "address": text(optional=True),
    "classes": path(as_text=True),  # all, manifest or a class file
    "clips": text(optional=True),
    "precision": text(),
    "segmenter": text(),
    "progress": flag,
    "report": flag,
    "run_pages": flag,
    "compile": flag,
    "retry_errors": flag,
    "run_ids": names(optional=True),
    "run_labels": names(optional=True),
    "methods": names(optional=True),
}


def check_params(func: Callable, arguments: dict[str, Any], own: dict[str, Check]) -> dict[str, Any]:
    """``arguments`` (parameter -> value, as bound to ``func``) checked by ``own`` and then ``COMMON``;
    returns them with each checker's reading (a string read as a one-name list)."""
    out = dict(arguments)
    for name, value in arguments.items():
        check = own.get(name) or COMMON.get(name)
        if check is None:  # a programming error: every public parameter has a check
            raise TypeError(f"{func.__qualname__}: no check for parameter {name!r}")
        out[name] = check(name, value)
    return out


def checked(**own: Check) -> Callable[[F], F]:
    """Decorate a public API function: each call's arguments are checked (``own`` first, then ``COMMON``)
    before its body runs. Every parameter must have a check, which is verified when the module loads."""

    def wrap(func: F) -> F:
        signature = inspect.signature(func)
        missing = [p for p in signature.parameters if p not in own and p not in COMMON]
        if missing:
            raise TypeError(f"{func.__qualname__}: no check for parameter(s) {', '.join(missing)}")

        @functools.wraps(func)
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as exc:  # a missing or unknown argument: Python's message names it
                raise UserError(f"{func.__name__}(): {exc}") from None
            bound.apply_defaults()
            values = check_params(func, dict(bound.arguments), own)
            return func(**values)

        call.checks = {p: own.get(p) or COMMON[p] for p in signature.parameters}  # type: ignore[attr-defined]
        return call  # type: ignore[return-value]

    return wrap


def check_fields(obj: Any, checks: dict[str, Check], rename: dict[str, str] | None = None) -> dict[str, Any]:
    """A dataclass's fields checked by ``checks`` (then ``COMMON``): field -> checked value. ``rename``: how
    messages name a field (``{"out": "out_dir"}``) where the caller knows it by another name."""
    import dataclasses

    rename = rename or {}
    out = {}
    for f in dataclasses.fields(obj):
        check = checks.get(f.name) or COMMON.get(f.name)
        if check is None:
            raise TypeError(f"{type(obj).__name__}: no check for field {f.name!r}")
        out[f.name] = check(rename.get(f.name, f.name), getattr(obj, f.name))
    return out

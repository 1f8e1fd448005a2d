"""Label spaces (class names in model output order), spelling normalisation, class subsets and label maps."""

from __future__ import annotations

import csv
import difflib
import re
from functools import lru_cache
from pathlib import Path
from typing import Callable

from weirdkinetics.errors import UnknownNameError, UserError

_LABEL_SPACES: dict[str, Callable[[], list[str]]] = {}


def register_label_space(name: str, loader: Callable[[], list[str]]) -> None:
    """Register a label space by name; ``loader`` returns class names in the model's output order."""
    if name in _LABEL_SPACES:
        raise ValueError(f"label space '{name}' is already registered")
    _LABEL_SPACES[name] = loader


@lru_cache(maxsize=None)
def label_space(name: str) -> tuple[str, ...]:
    """Class names of a registered label space, in output order."""
    if name not in _LABEL_SPACES:
        raise UnknownNameError(f"Unknown label space '{name}'. Known: {', '.join(sorted(_LABEL_SPACES))}")
    return tuple(_LABEL_SPACES[name]())


def _kinetics400() -> list[str]:
    # torchvision ships the Kinetics-400 class names, in index order, with its video weights' metadata.
    from torchvision.models.video import R3D_18_Weights

    return list(R3D_18_Weights.KINETICS400_V1.meta["categories"])


register_label_space("kinetics400", _kinetics400)


def normalize_name(name: str) -> str:
    """Spelling-insensitive key for a class name: ``'"Playing_Tennis"'`` -> ``'playing tennis'``."""
    key = name.strip().strip('"').strip("'").lower().replace("_", " ")
    return re.sub(r"\s+", " ", key)


def resolve_label(name: str, classes: tuple[str, ...] | list[str]) -> str | None:
    """The class of ``classes`` that ``name`` spells, or ``None``. Exact match first, then normalised."""
    if name in classes:
        return name
    by_key = {normalize_name(c): c for c in classes}
    return by_key.get(normalize_name(name))


def suggest(name: str, choices: list[str] | tuple[str, ...], n: int = 3) -> str:
    """' Did you mean: a, b?' or ''."""
    close = difflib.get_close_matches(name, list(choices), n=n, cutoff=0.6)
    if not close:
        keyed = {normalize_name(c): c for c in choices}
        close = [keyed[k] for k in difflib.get_close_matches(normalize_name(name), list(keyed), n=n, cutoff=0.6)]
    return f" Did you mean: {', '.join(close)}?" if close else ""


def read_label_map(path: str | Path) -> dict[str, str]:
    """Read a label map CSV with header ``from,to``: manifest label -> model label."""
    path = Path(path)
    try:
        rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
    except FileNotFoundError:
        raise UserError(f"{path}: no such label-map file") from None
    if rows and not {"from", "to"} <= set(rows[0]):
        raise UserError(f"{path}: a label map needs the header 'from,to' (got {', '.join(rows[0])})")
    mapping: dict[str, str] = {}
    problems = []
    for i, row in enumerate(rows, start=2):
        src, dst = (row.get("from") or "").strip(), (row.get("to") or "").strip()
        if not src or not dst:
            problems.append(f"row {i}: empty 'from' or 'to'")
        elif src in mapping and mapping[src] != dst:
            problems.append(f"row {i}: '{src}' is mapped twice ('{mapping[src]}' and '{dst}')")
        mapping[src] = dst
    if problems:
        raise UserError(f"{path}: " + "; ".join(problems))
    return mapping


def read_class_file(path: str | Path) -> list[str]:
    """One class name per line; blank lines and ``#`` comments ignored."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise UserError(f"{path}: no such classes file (use --classes all, manifest, or a file)") from None
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def resolve_classes(
    spec: str, space: tuple[str, ...], manifest_labels: list[str] | None = None
) -> list[str]:
    """Class subset from ``--classes all|manifest|FILE``, as names of ``space`` in label-space order.

    Raises a ``UserError`` naming every class that is not in the label space.
    """
    if spec == "all":
        return list(space)
    names = sorted(set(manifest_labels or [])) if spec == "manifest" else read_class_file(spec)
    resolved, unknown = [], []
    for n in names:
        r = resolve_label(n, space)
        (resolved.append(r) if r else unknown.append(n + suggest(n, space)))
    if unknown:
        raise UserError(f"--classes {spec}: not in the model's label space: " + "; ".join(unknown))
    wanted = set(resolved)
    return [c for c in space if c in wanted]

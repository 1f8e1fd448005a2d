"""Label spaces (class names in model output order), spelling normalisation, class subsets and label maps."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path

from weirdkinetics.errors import UnknownNameError, UserError, did_you_mean, option
from weirdkinetics.inputs import TextInput, unreadable

_LABEL_SPACES: dict[str, Callable[[], list[str]]] = {}


def register_label_space(name: str, loader: Callable[[], list[str]]) -> None:
    """Register a label space by name; ``loader`` returns class names in the model's output order."""
    if name in _LABEL_SPACES:
        raise ValueError(f"label space '{name}' is already registered")
    _LABEL_SPACES[name] = loader


@cache
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

DEMO_CLASSES: tuple[str, ...] = ("jumping", "waving", "spinning", "walking", "squatting")
"""The ``demo`` label space: motions of the demo's rendered actor (the motion alone defines the class)."""
register_label_space("demo", lambda: list(DEMO_CLASSES))


# Spellings that normalisation cannot reconcile: normalised alias -> canonical name. Kinetics-600/700 and
# several class lists corrected the Kinetics-400 spelling "dying hair".
_ALIASES: dict[str, str] = {"dyeing hair": "dying hair"}

_QUOTES = "\"'`\u2018\u2019\u201c\u201d"


def normalize_name(name: str) -> str:
    """Spelling-insensitive key for a class name, e.g. ``'"passing_American_football_(not_in_game)"'`` ->
    ``'passing american football not in game'``.

    The rules, each one seen in a zoo's Kinetics-400 list, applied in order:

    1. surrounding whitespace and quotes go (PyTorchVideo's ``kinetics_classnames.json`` wraps every multi-word
       name in double quotes: ``'"bench pressing"'``);
    2. lower case (some lists write ``american``);
    3. an apostrophe inside a word goes (``person's`` == ``persons``: folder names drop it);
    4. underscores, hyphens, parentheses and any other punctuation become spaces (folder names
       ``passing_American_football_(not_in_game)``; the Kinetics tarballs' ``hurling_-sport-``);
    5. runs of spaces collapse to one and the ends are trimmed (``football( not in game )``).
    """
    key = name.strip().strip(_QUOTES).lower()
    key = re.sub(r"(?<=\w)['\u2019](?=\w)", "", key)
    key = re.sub(r"[^0-9a-z]+", " ", key)
    return key.strip()


def resolve_label(name: str, classes: tuple[str, ...] | list[str]) -> str | None:
    """The class of ``classes`` that ``name`` spells, or ``None``.

    Exact match first, then the normalised key (``normalize_name``), then a known alias (``dyeing hair`` ->
    ``dying hair``) when its target is one of ``classes``.
    """
    if name in classes:
        return name
    by_key = _keyed(tuple(classes))
    key = normalize_name(name)
    if key in by_key:
        return by_key[key]
    alias = _ALIASES.get(key)
    return by_key.get(normalize_name(alias)) if alias else None


@lru_cache(maxsize=32)
def _keyed(classes: tuple[str, ...]) -> dict[str, str]:
    """normalised key -> class name (cached: label spaces are looked up once per name)."""
    return {normalize_name(c): c for c in classes}


def map_zoo_labels(names: list[str] | tuple[str, ...], space: str = "kinetics400") -> list[str]:
    """Map a zoo's class names (in its output order) to the canonical names of label space ``space``.

    names: e.g. a Hugging Face config's ``id2label`` values by index, or PyTorchVideo's
    ``kinetics_classnames.json`` keys ordered by value. Returns the canonical name of each, in the same order.
    Raises a ``UserError`` listing every name that maps to no class and every class two names map to.
    """
    classes = label_space(space)
    mapped = [resolve_label(n, classes) for n in names]
    unknown = [repr(n) + suggest(n, classes) for n, r in zip(names, mapped) if r is None]
    first: dict[str, str] = {}
    twice = []
    for n, r in zip(names, mapped):
        if r is not None and r in first:
            twice.append(f"{first[r]!r} and {n!r} both map to {r!r}")
        elif r is not None:
            first[r] = n
    if unknown or twice:
        problems = ([f"not in '{space}': " + "; ".join(unknown)] if unknown else []) + twice
        raise UserError(f"class names do not map onto label space '{space}': " + " | ".join(problems))
    return [r for r in mapped if r is not None]


_GENERIC_LABEL = re.compile(r"LABEL_(\d+)")


def is_generic_labels(names: list[str] | tuple[str, ...]) -> bool:
    """True when ``names`` are transformers' placeholder names ``LABEL_0, LABEL_1, ...`` in index order
    (what a config gets when its author never set ``id2label``)."""
    return bool(names) and all(
        (m := _GENERIC_LABEL.fullmatch(n)) is not None and int(m.group(1)) == i for i, n in enumerate(names)
    )


def label_order(names: list[str] | tuple[str, ...], space: str = "kinetics400") -> list[int] | None:
    """Where each class of ``space`` sits in a zoo's output, or ``None`` when the orders already agree.

    ``logits[:, order]`` puts the zoo's outputs into the label space's order. Raises like ``map_zoo_labels``,
    and also when the zoo's list does not cover every class of the space.

    Generic names (``is_generic_labels``: ``LABEL_0 .. LABEL_{n-1}``, e.g. the published config of
    ``google/vivit-b-16x2-kinetics400``) carry no names to match, so one rule decides: output ``i`` is class
    ``i`` of ``space`` in the space's own order (Kinetics-400: torchvision's alphabetical list, the order the
    Kinetics release and its checkpoints use; transformers' ViViT example prints ``LABEL_116`` for "eating
    spaghetti", class 116 of that list). The rule applies only when there are exactly as many outputs as
    the space has classes; any other count raises.
    """
    classes = label_space(space)
    if is_generic_labels(names):
        if len(names) != len(classes):
            raise UserError(
                f"generic class names LABEL_0..LABEL_{len(names) - 1} give {len(names)} outputs, but label space "
                f"'{space}' has {len(classes)} classes: use a model card whose label space has {len(names)} "
                "classes, or a snapshot whose config.json names its classes (id2label)"
            )
        return None
    mapped = map_zoo_labels(names, space)
    if len(mapped) != len(classes):
        missing = sorted(set(classes) - set(mapped))
        listed = (
            f"; missing: {', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}" if missing else ""
        )
        raise UserError(
            f"{len(mapped)} class names for label space '{space}' of {len(classes)} classes{listed}"
        )
    if mapped == list(classes):
        return None
    position = {name: i for i, name in enumerate(mapped)}
    return [position[c] for c in classes]


def suggest(name: str, choices: list[str] | tuple[str, ...], n: int = 3) -> str:
    """' Did you mean: a, b?' or '': close class names, compared also as ``normalize_name`` spells them."""
    return did_you_mean(name, choices, n=n, key=normalize_name)


def read_label_map(path: str | Path) -> dict[str, str]:
    """Read a label map CSV with header ``from,to``: manifest label -> model label."""
    path = Path(path)
    with TextInput(path, "label map") as source:
        rows = list(source.dict_rows())
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
    problem = unreadable(path)
    if problem is not None and problem.missing:
        raise UserError(
            f"{path}: no such classes file (give {option('classes')} as all, manifest, or a file)"
        )
    with TextInput(path, "classes file") as source:
        lines = [ln.strip() for ln in source.lines()]
    return [ln for ln in lines if ln and not ln.startswith("#")]


def resolve_classes(spec: str, space: tuple[str, ...], manifest_labels: list[str] | None = None) -> list[str]:
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
        raise UserError(f"{option('classes', spec)}: not in the model's label space: " + "; ".join(unknown))
    wanted = set(resolved)
    return [c for c in space if c in wanted]

"""``validate``: every problem of a manifest at once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from weirdkinetics.errors import ManifestError
from weirdkinetics.labels import label_space, read_label_map
from weirdkinetics.manifest import read_manifest
from weirdkinetics.params import checked, function, text

if TYPE_CHECKING:
    from collections.abc import Callable


@checked(model=text(optional=True), flag=function())
def validate(
    manifest_path: str | Path,
    model: str | None = None,
    label_map: str | Path | None = None,
    *,
    flag: Callable[[str], str] | None = None,
) -> list[str]:
    """Every problem of a manifest at once (each with its row number); empty when valid.

    Checks the CSV's encoding and header, empty required cells, duplicate ids, missing or unreadable files,
    and, with ``model``, labels unknown to the model's label space. Problems name options as this API's
    parameters, or as ``flag(name)`` (the CLI's flags; see ``errors.option``).
    """
    space = None
    if model:
        from weirdkinetics.models import get_card

        space = label_space(get_card(model).label_space)
    mapping = read_label_map(label_map) if label_map else None
    try:
        read_manifest(manifest_path, space, mapping, check_files=True)
    except ManifestError as exc:
        return exc.problem_lines(flag)
    return []

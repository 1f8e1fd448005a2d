"""Planning an explain run: which (row, method) pairs are still to compute against the store's rows."""

from __future__ import annotations

from dataclasses import dataclass

from weirdkinetics.manifest import ManifestRow
from weirdkinetics.predict import Identity


def _reusable(prev: tuple[str, Identity] | None, identity: Identity, row: ManifestRow) -> bool:
    """Pure: a stored (status, identity) still stands for this row's file: same file identity, and a synth
    row now marked as not made is never served by an older result computed from a video.

    Unlike evaluation (``predict.plan_work``), an ``excluded`` row of a made video stays reused: here
    ``excluded`` also means "no usable person mask", which the same file gives again."""
    not_made = row.extra.get("synth_status", "ok") not in ("", "ok")
    return prev is not None and prev[1] == identity and not (not_made and prev[0] != "excluded")


@dataclass(frozen=True)
class ExplainPlan:
    """What an explain run has to do: row index -> the methods still to compute for it."""

    todo: dict[int, list[str]]
    reused: int


def plan_explain(
    rows: list[ManifestRow],
    methods: list[str],
    done: dict[str, dict[tuple[str, str], tuple[str, Identity]]],
    identities: list[Identity],
) -> ExplainPlan:
    """Pure: which (row, method) pairs still need computing.

    ``done[method]`` maps (path, video_id) of that method's stored final rows (same run and settings) to
    (status, the file's identity when explained); ``identities[i]`` is row i's file identity now. A row is
    reused for a method when ``_reusable`` says its stored result still stands.
    """
    todo: dict[int, list[str]] = {}
    reused = 0
    for i, row in enumerate(rows):
        key = (str(row.path), row.video_id)
        left = [m for m in methods if not _reusable(done[m].get(key), identities[i], row)]
        reused += len(methods) - len(left)
        if left:
            todo[i] = left
    return ExplainPlan(todo, reused)

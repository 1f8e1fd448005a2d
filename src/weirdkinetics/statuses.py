"""Every status a video can end with, in one place (a shared leaf: no imports from the pipeline).

Every manifest row ends with exactly one of these and a reason; the report lists every row that is not
counted, with its reason, and prints the denominators.
"""

from __future__ import annotations

import fnmatch

MEANINGS: dict[str, str] = {
    "ok": "decoded and evaluated with the card's protocol",
    "short": "fewer resampled frames than one clip spans: indices clamped to the last frame",
    "partial": "decoding broke off (or the container claims more frames than it holds, or its timestamps jump "
    "more than 10 s): the frames before the break are used",
    "decode_error": "FFmpeg could not decode it (its message is the reason), or the path is not a regular file "
    "(FIFO, folder, device, socket, symlink loop)",
    "missing": "no such file (retried on the next run)",
    "excluded": "a row of a synth manifest whose video was not made; the reason is synth's",
    "not_video": "a still image (one frame, no duration), not a video",
    "nonfinite_scores": "the model's scores are NaN or infinite (broken weights?): no prediction",
    "not_evaluated": "a row of the report's manifest the run has not evaluated yet (an unfinished or interrupted "
    "run): never stored, only reported; run the same evaluate again to finish it",
}
"""Statuses of an evaluated video and what each means (the table in docs/reliability.md)."""

NOT_VIDEO = "not_video"
NONFINITE_SCORES = "nonfinite_scores"
NOT_EVALUATED = "not_evaluated"
NOT_EVALUATED_REASON = (
    "planned in the manifest, not evaluated yet: run the same evaluate again to finish the run"
)

COUNTED = ("ok", "short", "partial")
"""Statuses whose videos count in accuracies; every other status is listed and left out of the denominators."""

RETRIED = ("missing",)
"""Statuses recomputed on the next run (the file may have appeared); all others are final."""

DECODE = ("ok", "partial", "decode_error")
"""How one decoding pass can end."""

WORKER_DIED_LIKE = "the % process died % times on this file%"
"""SQL ``LIKE`` pattern of every ``worker_died_reason``: how ``--retry-errors`` tells a row whose worker died
(the file may be fine) from a genuine decode error (FFmpeg's own message), which stays."""


def worker_died(status: str, reason: str | None) -> bool:
    """Did a stored row end because its worker process died (``worker_died_reason``), not on the file's own
    error? The same rule as ``WORKER_DIED_LIKE`` for stores that filter in Python (``parquet_store``)."""
    return status == "decode_error" and fnmatch.fnmatchcase(reason or "", _WORKER_DIED_GLOB)


# SQL LIKE's % is fnmatch's * (the text holds no [ ] ?)
_WORKER_DIED_GLOB = WORKER_DIED_LIKE.replace("%", "*")


def worker_died_reason(process: str, attempts: int, suspect: str = "FFmpeg crashed") -> str:
    """The reason of a row an engine gave up on because its worker process died ``attempts`` times on it
    (status ``decode_error``): what happened and what to do. Matches ``WORKER_DIED_LIKE``."""
    return (
        f"the {process} process died {attempts} times on this file ({suspect}?); rerun with --engine local "
        "--retry-errors to recompute it and see the error"
    )


class RowFailure(Exception):
    """Ends one row of a stage (evaluate, synth, explain) with ``status`` and ``reason``: a result, not a
    crash. ``num_frames``: the frames found before it ended (None: not known, e.g. the file did not open)."""

    def __init__(self, status: str, reason: str, num_frames: int | None = None):
        super().__init__(reason)
        self.status, self.reason, self.num_frames = status, reason, num_frames


SYNTH = ("ok", "excluded", "missing", "decode_error", "mask_error", "no_background", "background_error")
"""Statuses of a row of a derived (synth) manifest."""

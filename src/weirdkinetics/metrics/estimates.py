"""Small frozen result types for the numbers a report shows, each with one JSON serialiser.

A ``Proportion`` (count out of n with a Wilson interval), a ``GapEstimate`` (a difference of two accuracies
with a bootstrap interval, how it was resampled and, where versions are paired, McNemar's test) and a
``MeanEstimate`` (a mean with a bootstrap interval). Plain data: the functions that compute them live in
``intervals``; tables and figures read their fields, and ``to_dict()`` writes the keys ``metrics.json``
has always had.

Numbers are ``float | None``, never NaN: ``None`` where there is no number (no video, or every bootstrap
replicate degenerate), so a reader never has to ask ``math.isfinite``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

ProportionKind = Literal["accuracy", "rate"]

# JSON names of (count, value) per kind: accuracies have always been {correct, accuracy}, label and leak
# rates {count, rate}. One serialiser chooses between them; readers use the fields.
_KEYS: dict[str, tuple[str, str]] = {"accuracy": ("correct", "accuracy"), "rate": ("count", "rate")}


def finite_or_none(x: float | None) -> float | None:
    """A finite float, or None (JSON has no NaN)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _interval(ci: tuple[float | None, float | None] | list) -> tuple[float | None, float | None]:
    lo, hi = ci
    return (finite_or_none(lo), finite_or_none(hi))


@dataclass(frozen=True)
class Proportion:
    """``count`` successes out of ``n`` with ``value = count / n`` and its interval (``method``).

    ``kind`` names the quantity: ``"accuracy"`` (serialised as ``{n, correct, accuracy, ci95}``) or
    ``"rate"`` (``{n, count, rate, ci95}``). ``value`` and both bounds are None when ``n == 0``.
    """

    count: int
    n: int
    value: float | None
    interval: tuple[float | None, float | None]
    method: str = "wilson"
    kind: ProportionKind = "accuracy"

    def __post_init__(self) -> None:
        if self.kind not in _KEYS:
            raise ValueError(f"kind must be one of {', '.join(_KEYS)}, got {self.kind!r}")
        object.__setattr__(self, "count", int(self.count))
        object.__setattr__(self, "n", int(self.n))
        object.__setattr__(self, "value", finite_or_none(self.value))
        object.__setattr__(self, "interval", _interval(self.interval))

    @property
    def empty(self) -> bool:
        """No video: nothing to show (a dash, not 0%)."""
        return self.n == 0

    def to_dict(self) -> dict:
        count_key, value_key = _KEYS[self.kind]
        return {"n": self.n, count_key: self.count, value_key: self.value, "ci95": list(self.interval)}


@dataclass(frozen=True)
class McNemar:
    """Exact McNemar test over ``n_pairs`` linked pairs: ``b`` right in the first only, ``c`` right in the
    second only, two-sided ``p_value``. ``sources_not_paired``: sources seen in both splits but with
    several versions in one, so without a single pair."""

    n_pairs: int
    b: int
    c: int
    p_value: float
    sources_not_paired: int = 0

    def to_dict(self) -> dict:
        return {
            "n_pairs": self.n_pairs,
            "b": self.b,
            "c": self.c,
            "p_value": self.p_value,
            "sources_not_paired": self.sources_not_paired,
        }


@dataclass(frozen=True)
class GapEstimate:
    """``value`` = accuracy(a) - accuracy(b) with a percentile bootstrap interval ``ci95``.

    How it was resampled: ``resampled_by`` is ``"source_id"`` (whole recordings drawn with replacement, the
    cluster bootstrap) or ``"video"`` (each split resampled on its own); ``n_boot`` draws seeded by ``seed``
    over ``n_clusters`` clusters (videos when unclustered); ``n_degenerate`` replicates dropped because one
    split drew no video. ``mcnemar``: the exact test on linked pairs, where there are any.
    """

    value: float | None
    ci95: tuple[float | None, float | None]
    n_boot: int
    seed: int
    resampled_by: str
    n_clusters: int
    n_degenerate: int = 0
    mcnemar: McNemar | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", finite_or_none(self.value))
        object.__setattr__(self, "ci95", _interval(self.ci95))

    @property
    def interval(self) -> tuple[float | None, float | None]:
        return self.ci95

    def to_dict(self) -> dict:
        return {
            "value": self.value,
            "ci95": list(self.ci95),
            "n_boot": self.n_boot,
            "seed": self.seed,
            "resampled_by": self.resampled_by,
            "n_clusters": self.n_clusters,
            "n_degenerate": self.n_degenerate,
            "mcnemar": self.mcnemar.to_dict() if self.mcnemar else None,
        }


@dataclass(frozen=True)
class MeanEstimate:
    """The mean of ``n`` values with a percentile bootstrap interval ``ci95``; resampled as a
    ``GapEstimate`` is (``resampled_by`` ``"source_id"`` or ``"value"``, ``n_boot`` draws, ``seed``,
    ``n_clusters``). For per-video statistics such as a saliency map's background share."""

    value: float | None
    ci95: tuple[float | None, float | None]
    n: int
    n_boot: int
    seed: int
    resampled_by: str
    n_clusters: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", finite_or_none(self.value))
        object.__setattr__(self, "ci95", _interval(self.ci95))

    @property
    def interval(self) -> tuple[float | None, float | None]:
        return self.ci95

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "value": self.value,
            "ci95": list(self.ci95),
            "n_boot": self.n_boot,
            "seed": self.seed,
            "resampled_by": self.resampled_by,
            "n_clusters": self.n_clusters,
        }

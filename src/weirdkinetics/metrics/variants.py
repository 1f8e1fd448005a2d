"""Metrics of derived test sets (``synth``): per variant accuracy paired with the original videos, HAT's
person-versus-background label rates on swaps, SCUBA/SCUFO contrasted accuracy. Pure; no torch, no IO.

Rows of a derived set are recognised by their ``variant`` extra column (``synth`` writes it); each points
at its source through ``source_video_id`` (exact) or else ``source_id``. Only rows with
``synth_status == "ok"`` (or no such column) and a prediction are counted; every other row is counted by
status, with its reason, never silently dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from weirdkinetics.metrics.estimates import GapEstimate, McNemar, Proportion
from weirdkinetics.metrics.intervals import bootstrap_gap, mcnemar_exact, wilson
from weirdkinetics.results import RunResults, VideoResult

SCHEMA = "weirdkinetics.variant_metrics/1"
VARIANT_ORDER = (
    "swap",
    "person-only",
    "background-only",
    "background-only-truth",
    "silhouette",
    "static-background",
    "static-person",
)
MAX_LISTED = 50
"""At most this many excluded rows are listed by id (all are counted)."""


# Keys of the gap blocks of schema variant_metrics/1, a subset of ``GapEstimate.to_dict()``: the paired gap
# never listed n_degenerate (always 0 there: both splits share every cluster) nor McNemar (a sibling block,
# named from the original's side); SCUBA/SCUFO listed only the draws and the seed. Listing the full estimate
# would change the schema; until then these blocks pick from the one serialiser.
_PAIRED_GAP_KEYS = ("value", "ci95", "n_boot", "seed", "resampled_by", "n_clusters")
_SCUBA_GAP_KEYS = ("value", "ci95", "n_boot", "seed")


def _gap_dict(gap: GapEstimate | None, keys: tuple[str, ...]) -> dict | None:
    if gap is None:
        return None
    full = gap.to_dict()
    return {k: full[k] for k in keys}


@dataclass(frozen=True)
class NotMade:
    """A derived row synth did not make (``synth_status`` other than ok), with synth's reason."""

    video_id: str
    synth_status: str
    reason: str

    def to_dict(self) -> dict:
        return {"video_id": self.video_id, "synth_status": self.synth_status, "reason": self.reason}


@dataclass(frozen=True)
class PairedComparison:
    """Counted derived rows whose original was predicted: both accuracies on those ``n_pairs`` sources,
    ``gap`` = variant minus original (cluster bootstrap over source recordings; None without a pair) and
    McNemar's test with ``b`` = right on the original only, ``c`` = right on the variant only.
    ``unpaired``: counted rows without a predicted original."""

    n_pairs: int
    original: Proportion
    variant: Proportion
    gap: GapEstimate | None
    mcnemar: McNemar | None
    unpaired: int

    def to_dict(self) -> dict:
        mc = self.mcnemar
        return {
            "n_pairs": self.n_pairs,
            "original": self.original.to_dict(),
            "variant": self.variant.to_dict(),
            "gap": _gap_dict(self.gap, _PAIRED_GAP_KEYS),
            "mcnemar": (
                {"b_original_only": mc.b, "c_variant_only": mc.c, "p_value": mc.p_value} if mc else None
            ),
            "unpaired": self.unpaired,
        }


@dataclass(frozen=True)
class LabelRates:
    """HAT's reading of swaps over ``n`` usable rows: rates (``Proportion`` of kind ``"rate"``) of predicting
    the person's label, the background's label or another, and the background label's rate on the paired
    originals; rows not used, counted by why."""

    n: int
    person: Proportion
    background: Proportion
    other: Proportion
    original_background: Proportion
    n_bg_label_missing: int
    n_bg_label_not_a_class: int
    n_bg_label_is_true_label: int

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "person": self.person.to_dict(),
            "background": self.background.to_dict(),
            "other": self.other.to_dict(),
            "original_background": self.original_background.to_dict(),
            "n_bg_label_missing": self.n_bg_label_missing,
            "n_bg_label_not_a_class": self.n_bg_label_not_a_class,
            "n_bg_label_is_true_label": self.n_bg_label_is_true_label,
        }


@dataclass(frozen=True)
class ScubaScufo:
    """SCUBA/SCUFO twins over ``n_pairs``: both accuracies, the contrasted accuracy and their gap (SCUBA
    minus SCUFO; None without a pair); twins without a partner are counted, not used."""

    n_pairs: int
    scuba: Proportion
    scufo: Proportion
    contrasted: Proportion
    gap: GapEstimate | None
    unpaired_scuba: int
    unpaired_scufo: int

    def to_dict(self) -> dict:
        return {
            "n_pairs": self.n_pairs,
            "scuba": self.scuba.to_dict(),
            "scufo": self.scufo.to_dict(),
            "contrasted": self.contrasted.to_dict(),
            "gap_scuba_minus_scufo": _gap_dict(self.gap, _SCUBA_GAP_KEYS),
            "unpaired_scuba": self.unpaired_scuba,
            "unpaired_scufo": self.unpaired_scufo,
        }


@dataclass(frozen=True)
class VariantBlock:
    """One derived variant: row and status counts (``synth_status`` over all rows, ``not_predicted`` by
    evaluation status among rows synth made), up to ``MAX_LISTED`` rows not made, accuracy over counted rows,
    the comparison with the originals and, for swaps, HAT's label rates."""

    rows: int
    counted: int
    synth_status: dict[str, int]
    not_predicted: dict[str, int]
    excluded: tuple[NotMade, ...]
    excluded_total: int
    accuracy: Proportion
    paired: PairedComparison
    background_label: LabelRates | None

    @property
    def excluded_listed(self) -> int:
        return len(self.excluded)

    def to_dict(self) -> dict:
        out = {
            "rows": self.rows,
            "counted": self.counted,
            "synth_status": dict(self.synth_status),
            "not_predicted": dict(self.not_predicted),
            "excluded": [e.to_dict() for e in self.excluded],
            "excluded_listed": self.excluded_listed,
            "excluded_total": self.excluded_total,
            "accuracy": self.accuracy.to_dict(),
            "paired": self.paired.to_dict(),
        }
        if self.background_label is not None:
            out["background_label"] = self.background_label.to_dict()
        return out


@dataclass(frozen=True)
class VariantMetrics:
    """Every derived-set number of a run: per variant in ``VARIANT_ORDER`` (then others by name) and
    SCUBA/SCUFO when both static variants are present."""

    model: str
    run_id: str
    n_originals: int
    variants: dict[str, VariantBlock]
    scuba_scufo: ScubaScufo | None

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "model": self.model,
            "run_id": self.run_id,
            "n_originals": self.n_originals,
            "variants": {name: b.to_dict() for name, b in self.variants.items()},
            "scuba_scufo": self.scuba_scufo.to_dict() if self.scuba_scufo else None,
        }


def variant_of(video: VideoResult) -> str:
    """The video's variant (``extra["variant"]``), or ``""`` for an original video."""
    return (video.extra.get("variant") or "").strip()


def synth_ok(video: VideoResult) -> bool:
    """True unless ``synth`` recorded a problem (``synth_status`` other than ``ok``)."""
    return (video.extra.get("synth_status") or "ok").strip() == "ok"


def counted(video: VideoResult) -> bool:
    """Counts in a variant's accuracy: synthesised without problem and predicted."""
    return synth_ok(video) and video.has_prediction


def pair_with_originals(
    variants: Sequence[VideoResult], originals: Sequence[VideoResult]
) -> list[tuple[VideoResult, VideoResult | None]]:
    """Each derived row with its source row: by ``source_video_id`` == original ``video_id``, else by
    ``source_id`` when exactly one original carries it (as ``source_id`` or ``video_id``). None when no
    original matches."""
    by_id = {o.video_id: o for o in originals}
    by_source: dict[str, list[VideoResult]] = {}
    for o in originals:
        for key in {o.source_id, o.video_id} - {""}:
            by_source.setdefault(key, []).append(o)
    pairs = []
    for v in variants:
        source_video = (v.extra.get("source_video_id") or "").strip()
        match = by_id.get(source_video) if source_video else None
        if match is None and v.source_id and len(by_source.get(v.source_id, [])) == 1:
            match = by_source[v.source_id][0]
        pairs.append((v, match))
    return pairs


def _cluster(o: VideoResult) -> str:
    # real and weird versions of one recording share a source_id: resample them together
    return o.source_id or f"\x00video\x00{o.video_id}"


def _not_made(rows: Sequence[VideoResult]) -> list[NotMade]:
    """Rows synth did not make, with synth's reason (else the evaluation's)."""
    return [
        NotMade(v.video_id, v.extra.get("synth_status", ""), v.extra.get("excluded_reason", "") or v.reason)
        for v in rows
        if not synth_ok(v)
    ]


def _has_bg_label(rows: Sequence[VideoResult]) -> bool:
    """Some row names its background's class (swaps): HAT's label rates apply."""
    return any((v.extra.get("bg_label") or "").strip() for v in rows)


def _variant_block(
    rows: Sequence[VideoResult],
    source_rows: Sequence[VideoResult],
    classes: Sequence[str],
    n_boot: int,
    seed: int,
) -> VariantBlock:
    synth = Counter((v.extra.get("synth_status") or "ok") for v in rows)
    not_predicted = Counter(v.status for v in rows if synth_ok(v) and not v.has_prediction)
    not_made = _not_made(rows)
    pairs = pair_with_originals(rows, source_rows)
    usable = [(v, o) for v, o in pairs if counted(v) and o is not None and o.has_prediction]
    rows_counted = [v for v in rows if counted(v)]
    return VariantBlock(
        rows=len(rows),
        counted=len(rows_counted),
        synth_status=dict(sorted(synth.items())),
        not_predicted=dict(sorted(not_predicted.items())),
        excluded=tuple(not_made[:MAX_LISTED]),
        excluded_total=len(not_made),
        accuracy=wilson(sum(v.correct for v in rows_counted), len(rows_counted)),
        paired=_paired(usable, len(rows_counted) - len(usable), n_boot, seed),
        background_label=background_label_rates(pairs, classes) if _has_bg_label(rows) else None,
    )


def _paired(
    pairs: list[tuple[VideoResult, VideoResult]], unpaired: int, n_boot: int, seed: int
) -> PairedComparison:
    if not pairs:
        return PairedComparison(0, wilson(0, 0), wilson(0, 0), None, None, unpaired)
    var_ok = np.array([v.correct for v, _ in pairs], dtype=bool)
    org_ok = np.array([o.correct for _, o in pairs], dtype=bool)
    clusters = np.array([_cluster(o) for _, o in pairs], dtype=object)
    # variant accuracy minus original accuracy, same sources
    est = bootstrap_gap(var_ok, org_ok, clusters, clusters, n_boot=n_boot, seed=seed)
    b = int((org_ok & ~var_ok).sum())  # right on the original, wrong on the variant
    c = int((~org_ok & var_ok).sum())
    return PairedComparison(
        n_pairs=len(pairs),
        original=wilson(int(org_ok.sum()), len(pairs)),
        variant=wilson(int(var_ok.sum()), len(pairs)),
        gap=est,
        mcnemar=McNemar(len(pairs), b, c, mcnemar_exact(b, c)),
        unpaired=unpaired,
    )


def background_label_rates(
    pairs: list[tuple[VideoResult, VideoResult | None]], classes: Sequence[str]
) -> LabelRates:
    """HAT's reading of swaps: how often the model names the person's action vs. the background's class.

    Over counted rows whose ``bg_label`` is a class of the run and differs from the true label:
    ``person`` (pred == label), ``background`` (pred == bg_label), ``other``; ``original_background``: on
    the paired originals, how often the same ``bg_label`` was predicted before the swap (the baseline the
    swap moves predictions away from). Rows with no or a non-class ``bg_label`` are counted, not used.
    """
    class_set = set(classes)
    used, unknown, not_class, same = [], 0, 0, 0
    for v, o in pairs:
        if not counted(v):
            continue
        bg = (v.extra.get("bg_label") or "").strip()
        if not bg:
            unknown += 1
        elif bg not in class_set:
            not_class += 1
        elif bg == v.label:
            same += 1
        else:
            used.append((v, o, bg))
    n = len(used)
    person = sum(v.pred == v.label for v, _, _ in used)
    background = sum(v.pred == bg for v, _, bg in used)
    with_original = [(o, bg) for _, o, bg in used if o is not None and o.has_prediction]
    return LabelRates(
        n=n,
        person=wilson(person, n, "rate"),
        background=wilson(background, n, "rate"),
        other=wilson(n - person - background, n, "rate"),
        original_background=wilson(sum(o.pred == bg for o, bg in with_original), len(with_original), "rate"),
        n_bg_label_missing=unknown,
        n_bg_label_not_a_class=not_class,
        n_bg_label_is_true_label=same,
    )


def scuba_scufo(
    scuba: Sequence[VideoResult], scufo: Sequence[VideoResult], n_boot: int = 2000, seed: int = 0
) -> ScubaScufo:
    """Contrasted accuracy (SCUBA/SCUFO): a static-background (SCUBA) video counts as right only when its
    static-person (SCUFO) twin (same source video and background) is wrong: the model used the motion, not
    the frozen appearance of person and scene.

    Pairs are formed on (``source_video_id``, ``bg_source``, ``background``); only pairs where both are
    counted are used. Also gives both accuracies on those pairs and their gap (SCUBA minus SCUFO).
    """

    def key(v: VideoResult) -> tuple[str, str, str]:
        return (v.extra.get("source_video_id") or v.source_id, v.extra.get("bg_source", ""), v.background)

    a = {key(v): v for v in scuba if counted(v)}
    b = {key(v): v for v in scufo if counted(v)}
    shared = sorted(set(a) & set(b))
    n = len(shared)
    right_a = np.array([a[k].correct for k in shared], dtype=bool)
    right_b = np.array([b[k].correct for k in shared], dtype=bool)
    gap = None
    if n:
        clusters = np.array([a[k].source_id or k[0] for k in shared], dtype=object)
        gap = bootstrap_gap(right_a, right_b, clusters, clusters, n_boot=n_boot, seed=seed)
    return ScubaScufo(
        n_pairs=n,
        scuba=wilson(int(right_a.sum()), n),
        scufo=wilson(int(right_b.sum()), n),
        contrasted=wilson(int((right_a & ~right_b).sum()), n),
        gap=gap,
        unpaired_scuba=len(a) - n,
        unpaired_scufo=len(b) - n,
    )


def _variant_names(derived: Sequence[VideoResult]) -> list[str]:
    """Variants present: those of ``VARIANT_ORDER`` in its order, then any other by name."""
    present = {variant_of(v) for v in derived}
    names = [n for n in VARIANT_ORDER if n in present]
    return names + sorted(present - set(names))


def _twins(by_name: dict[str, list[VideoResult]], n_boot: int, seed: int) -> ScubaScufo | None:
    """SCUBA/SCUFO when both static variants have rows."""
    scuba, scufo = by_name.get("static-background"), by_name.get("static-person")
    if not scuba or not scufo:
        return None
    return scuba_scufo(scuba, scufo, n_boot, seed)


def measure_variants(
    run: RunResults, originals: RunResults | None = None, n_boot: int = 2000, seed: int = 0
) -> VariantMetrics:
    """Every derived-set number of a run as frozen types (``.to_dict()`` is its ``metrics.json`` block).

    run: results holding derived rows (``variant`` column), and the originals too unless ``originals`` is
    given (a separate run over the source manifest, same model). Per variant: status counts with reasons,
    accuracy over counted rows (Wilson), accuracy paired with the originals (gap with a seeded bootstrap
    resampling source recordings, exact McNemar), and where rows carry a ``bg_label`` (swaps) HAT's
    person/background label rates. ``scuba_scufo`` when both static variants are present.
    """
    derived = [v for v in run.videos if variant_of(v)]
    if originals is not None:
        source_rows = list(originals.videos)
    else:
        source_rows = [v for v in run.videos if not variant_of(v)]
    by_name = {name: [v for v in derived if variant_of(v) == name] for name in _variant_names(derived)}
    blocks = {
        name: _variant_block(rows, source_rows, run.classes, n_boot, seed) for name, rows in by_name.items()
    }
    return VariantMetrics(run.model, run.run_id, len(source_rows), blocks, _twins(by_name, n_boot, seed))


def variant_metrics(
    run: RunResults, originals: RunResults | None = None, n_boot: int = 2000, seed: int = 0
) -> dict:
    """``measure_variants(...)`` as one JSON-ready dict (schema ``SCHEMA``)."""
    return measure_variants(run, originals, n_boot=n_boot, seed=seed).to_dict()

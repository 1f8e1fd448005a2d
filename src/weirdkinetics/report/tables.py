"""Report tables built from ``RunMetrics`` and ``VariantMetrics`` (``metrics.measure_run``,
``metrics.variants.measure_variants``): they read the types' fields, never guess dict keys. Pure: no IO, no
metric computed here.

A ``Table`` holds two views of the same numbers: raw values for its CSV file and formatted strings (with
per-cell CSS flags) for Markdown and HTML.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from weirdkinetics.metrics.estimates import Proportion, finite_or_none
from weirdkinetics.metrics.summary import ClassAccuracy, RunMetrics
from weirdkinetics.metrics.variants import ScubaScufo, VariantBlock, VariantMetrics
from weirdkinetics.results import RunResults, VideoResult

SMALL_MARK = "†"
"""Appended to displayed grid cells holding fewer than ``small_cell`` videos."""

DASH = "—"


@dataclass
class Table:
    """``columns``/``rows``: display strings (rows x columns); ``flags``: CSS classes per display cell
    (``"small"``, ``"total"``, ``""``); ``csv_columns``/``csv_rows``: raw values for the CSV file (None is
    written as an empty cell). ``row_header``: the first display column names the row."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    csv_columns: list[str]
    csv_rows: list[list[object]]
    flags: list[list[str]] = field(default_factory=list)
    note: str = ""
    row_header: bool = False

    def flag(self, i: int, j: int) -> str:
        return self.flags[i][j] if self.flags else ""


def pct(x: float | None, digits: int = 1) -> str:
    return DASH if x is None else f"{100 * x:.{digits}f}%"


def pct_ci(ci: list | tuple | None) -> str:
    if not ci or ci[0] is None or ci[1] is None:
        return DASH
    return f"{100 * ci[0]:.1f} to {100 * ci[1]:.1f}%"


def signed_pct(x: float | None) -> str:
    return DASH if x is None else f"{100 * x:+.1f} pts"


def signed_ci(ci: list | tuple | None) -> str:
    if not ci or ci[0] is None or ci[1] is None:
        return DASH
    return f"{100 * ci[0]:+.1f} to {100 * ci[1]:+.1f} pts"


def p_value(p: float | None) -> str:
    if p is None:
        return DASH
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _prop(p: Proportion | None) -> str:
    """'84.0% (21/25)' for a proportion (an accuracy or a rate), dash when absent or empty."""
    if p is None or p.empty:
        return DASH
    return f"{pct(p.value)} ({p.count}/{p.n})"


def _prop_raw(p: Proportion | None) -> list[object]:
    """n, count, value (None where absent)."""
    return [p.n, p.count, p.value] if p is not None else [None, None, None]


def accuracy_table(m: RunMetrics) -> Table:
    """The study's Table 1, with n, Wilson interval, unrestricted top-1/top-5 and the leak rate."""
    columns = [
        "split", "n", "correct", "accuracy", "95% CI (Wilson)",
        "top-1, all classes", "top-5, all classes", "leak rate",
    ]  # fmt: skip
    csv_columns = [
        "split", "n", "correct", "accuracy", "ci95_lo", "ci95_hi",
        "top1_all_n", "top1_all_correct", "top1_all_accuracy",
        "top5_all_n", "top5_all_correct", "top5_all_accuracy",
        "leak_n", "leak_count", "leak_rate",
    ]  # fmt: skip
    rows, raw = [], []
    for split, b in m.splits.items():
        acc = b.accuracy
        rows.append(
            [
                split, str(acc.n), str(acc.count), pct(acc.value), pct_ci(acc.interval),
                _prop(b.top1_all), _prop(b.top5_all), _prop(b.leak),
            ]
        )  # fmt: skip
        raw.append(
            [split, acc.n, acc.count, acc.value, *acc.interval]
            + _prop_raw(b.top1_all)
            + _prop_raw(b.top5_all)
            + _prop_raw(b.leak)
        )
    note = (
        "Accuracy is restricted to the run's class subset; top-1/top-5 'all classes' use the unrestricted "
        "prediction; the leak rate is the share of videos whose unrestricted top-1 falls outside the subset. "
        f"Counted statuses: {', '.join(m.status.counted_statuses)}."
    )
    return Table("accuracy", "Accuracy per split", columns, rows, csv_columns, raw, note=note)


def gaps_table(m: RunMetrics) -> Table:
    columns = [
        "gap",
        "value",
        "95% CI (bootstrap)",
        "resampled by",
        "McNemar pairs",
        "b / c",
        "McNemar exact p",
    ]
    csv_columns = [
        "gap", "split_a", "split_b", "value", "ci95_lo", "ci95_hi", "n_boot", "seed", "resampled_by",
        "n_clusters", "mcnemar_pairs", "mcnemar_b", "mcnemar_c", "mcnemar_p",
    ]  # fmt: skip
    rows, raw = [], []
    for name, g in m.gaps.items():
        est = g.estimate
        mc = est.mcnemar if est else None
        resampled = (
            f"{est.resampled_by} ({est.n_clusters} clusters, {est.n_boot} draws, seed {est.seed})"
            if est
            else g.note or DASH
        )
        rows.append(
            [
                f"{g.a} − {g.b}",
                signed_pct(g.value),
                signed_ci(g.ci95),
                resampled,
                str(mc.n_pairs) if mc else DASH,
                f"{mc.b} / {mc.c}" if mc else DASH,
                p_value(mc.p_value) if mc else DASH,
            ]
        )
        raw.append(
            [
                name, g.a, g.b, g.value, *g.ci95,
                *([est.n_boot, est.seed, est.resampled_by, est.n_clusters] if est else [None] * 4),
                *([mc.n_pairs, mc.b, mc.c, mc.p_value] if mc else [None] * 4),
            ]
        )  # fmt: skip
    note = (
        "Gap = accuracy of the first split minus the second, in percentage points. "
        "b: pairs right in the first split and wrong in the second; c: the reverse. "
        "McNemar's test needs versions of one recording linked by source_id."
    )
    return Table("gaps", "Accuracy gaps", columns, rows, csv_columns, raw, note=note)


def grid_table(m: RunMetrics) -> Table:
    """The study's Figure 3: correct/total per class and background, blank where no video, with totals."""
    grid = m.grid
    labels = list(grid.labels) if grid is not None else []
    bgs = list(grid.backgrounds) if grid is not None else []
    columns = ["class", *bgs, "total"]
    rows, raw, flags = [], [], []
    for i, lab in enumerate(labels):
        row, rrow, frow = [lab], [lab], ["rowhead"]
        for j in range(len(bgs)):
            total = int(grid.total[i, j])
            if total == 0:
                row.append("")
                rrow.append("")
                frow.append("empty")
                continue
            text = f"{int(grid.correct[i, j])}/{total}"
            small = bool(grid.small[i, j])
            row.append(f"{text} {SMALL_MARK}" if small else text)
            rrow.append(text)
            frow.append("small" if small else "")
        right, total = grid.label_totals
        row.append(f"{right[i]}/{total[i]}")
        rrow.append(f"{right[i]}/{total[i]}")
        frow.append("total")
        rows.append(row)
        raw.append(rrow)
        flags.append(frow)
    if labels:
        right, total = grid.background_totals
        col_tot = [f"{right[j]}/{total[j]}" for j in range(len(bgs))]
        everything = f"{grid.correct.sum()}/{grid.total.sum()}"
        rows.append(["total", *col_tot, everything])
        raw.append(["total", *col_tot, everything])
        flags.append(["rowhead"] + ["total"] * (len(bgs) + 1))
    note = (
        f"Correct predictions / videos per cell; blank: no video. {SMALL_MARK} fewer than {m.small_cell} "
        "videos: too few to read as an accuracy."
    )
    return Table("grid", "Class × background", columns, rows, columns, raw, flags, note, row_header=True)


def confusion_table(m: RunMetrics, split: str) -> Table:
    """Row-normalised percentages with counts; rows true class, columns predicted class."""
    conf = m.confusion[split]
    labels = list(conf.labels)
    counts = conf.counts.tolist()
    norm = [[finite_or_none(x) for x in row] for row in conf.normalised]
    columns = ["true \\ predicted", *labels, "n"]
    rows, raw, flags = [], [], []
    for i, lab in enumerate(labels):
        n = sum(counts[i])
        rows.append(
            [lab] + [f"{pct(norm[i][j], 0)} ({c})" if c else "" for j, c in enumerate(counts[i])] + [str(n)]
        )
        raw.append([lab, *counts[i], n])
        flags.append(["rowhead"] + ["diag" if j == i else "" for j in range(len(labels))] + ["total"])
    return Table(
        f"confusion_{split}",
        f"Confusion matrix, split '{split}'",
        columns,
        rows,
        ["true_class", *labels, "n"],
        raw,
        flags,
        "Rows: true class; columns: predicted class (restricted to the class subset). Cells: share of the "
        "row's videos (count).",
        row_header=True,
    )


def _per_class_columns(splits: list[str]) -> tuple[list[str], list[str]]:
    """Display columns and CSV columns of the per-class table."""
    first_two = splits[:2]
    gap_title = f"gap ({first_two[0]} − {first_two[1]})" if len(first_two) == 2 else "gap"
    columns = [
        "class",
        *[f"{s} accuracy" for s in splits],
        gap_title,
        *[f"{s}: most frequent wrong" for s in splits],
    ]
    csv_columns = ["class"]
    for s in splits:
        csv_columns += [f"{s}_n", f"{s}_correct", f"{s}_accuracy", f"{s}_ci95_lo", f"{s}_ci95_hi"]
    csv_columns.append("gap")
    for s in splits:
        csv_columns += [f"{s}_top_wrong", f"{s}_top_wrong_count"]
    return columns, csv_columns


def _per_class_row(lab: str, entry: ClassAccuracy, splits: list[str]) -> tuple[list[str], list[object]]:
    """One class: its display cells and its raw CSV values (None where the class has no video)."""
    blocks = [entry.splits.get(s) for s in splits]
    wrongs = [b.top_wrong if b else None for b in blocks]
    row = (
        [lab]
        + [_prop(b.accuracy if b else None) for b in blocks]
        + [signed_pct(entry.gap)]
        + [f"{w[0]} ({w[1]})" if w else DASH for w in wrongs]
    )
    raw: list[object] = [lab]
    for b in blocks:
        raw += [*_prop_raw(b.accuracy), *b.accuracy.interval] if b else [None] * 5
    raw.append(entry.gap)
    for w in wrongs:
        raw += list(w) if w else [None, None]
    return row, raw


def per_class_table(m: RunMetrics) -> Table:
    splits = list(m.splits)
    columns, csv_columns = _per_class_columns(splits)
    rows, raw = [], []
    for lab, entry in m.per_class.items():
        row, values = _per_class_row(lab, entry, splits)
        rows.append(row)
        raw.append(values)
    return Table("per_class", "Per class", columns, rows, csv_columns, raw, row_header=True)


def denominators_table(m: RunMetrics) -> Table:
    st = m.status
    statuses = list(st.counts)
    columns = ["split", "rows", "counted", "excluded", *statuses]
    rows, raw = [], []
    for split, d in st.by_split.items():
        cells = [split, d.rows, d.counted, d.excluded, *[d.by_status.get(s, 0) for s in statuses]]
        rows.append([str(c) for c in cells])
        raw.append(cells)
    total = ["all", st.rows, st.counted, st.rows - st.counted, *[st.counts[s] for s in statuses]]
    rows.append([str(c) for c in total])
    raw.append(total)
    note = (
        f"Counted: status in {', '.join(st.counted_statuses)} with a prediction; these are the denominators "
        "of every accuracy in this report."
    )
    return Table("denominators", "Denominators", columns, rows, columns, raw, note=note, row_header=True)


def excluded_table(m: RunMetrics) -> Table:
    columns = ["video_id", "split", "label", "status", "reason", "path"]
    raw = [[e.video_id, e.split, e.label, e.status, e.reason, e.path] for e in m.status.excluded]
    return Table("not_ok", "Videos not counted", columns, [[str(c) for c in r] for r in raw], columns, raw)


def top3_subset(run: RunResults, video: VideoResult) -> list[tuple[str, float]]:
    """Best three (class, score) pairs inside the run's class subset, from ``run.scores`` when stored,
    else just the prediction and its score."""
    if run.scores is not None:
        # Identity, not equality: two rows may hold equal fields.
        i = next(k for k, v in enumerate(run.videos) if v is video)
        row = run.scores[i]
        if np.all(np.isfinite(row)):
            best = np.argsort(-row, kind="stable")[:3]
            return [(run.classes[j], float(row[j])) for j in best]
    if not video.pred:
        return []
    return [(video.pred, video.pred_score if video.pred_score is not None else float("nan"))]


def top3_all(video: VideoResult) -> list[tuple[str, float]]:
    """Best three (class, score) pairs over all classes (unrestricted ``topk``); empty when not stored."""
    return [(c, float(s)) for c, s in video.topk[:3]]


def scores_text(pairs: list[tuple[str, float]], sep: str = "; ") -> str:
    """'jogging 0.61; push up 0.2' (3 significant digits: tiny scores of a 400-way softmax stay visible)."""
    return sep.join(f"{c} {s:.3g}" for c, s in pairs) or DASH


def qualitative_table(run: RunResults, selected: list[VideoResult]) -> Table:
    columns = [
        "",
        "video_id",
        "split",
        "background",
        "true label",
        "top-3 in the class subset",
        "top-3, all classes",
    ]
    csv_columns = [
        "kind",
        "video_id",
        "split",
        "background",
        "label",
        "pred",
        "pred_score",
        "top3_subset",
        "top3_all",
    ]
    rows, raw = [], []
    for v in selected:
        kind = "correct" if v.correct else "mistake"
        subset, everything = scores_text(top3_subset(run, v)), scores_text(top3_all(v))
        rows.append([kind, v.video_id, v.split, v.background or DASH, v.label, subset, everything])
        raw.append(
            [kind, v.video_id, v.split, v.background, v.label, v.pred, v.pred_score, subset, everything]
        )
    note = "Most confident mistakes first, then a seeded sample of correct predictions."
    return Table("qualitative", "Qualitative examples", columns, rows, csv_columns, raw, note=note)


def _run_accuracy_cells(m: RunMetrics, splits: list[str]) -> tuple[list[str], list[list[object]]]:
    """A run's accuracy per split: display cells (dash where the split is absent or empty) and CSV lines."""
    cells, raw = [], []
    for s in splits:
        b = m.splits.get(s)
        acc = b.accuracy if b else None
        cells.append(f"{_prop(acc)} [{pct_ci(acc.interval)}]" if acc and acc.n else DASH)
        if acc:
            raw.append([m.run, m.model, f"accuracy:{s}", acc.n, acc.value, *acc.interval])
    return cells, raw


def _run_gap_cells(m: RunMetrics, gaps: list[str]) -> tuple[list[str], list[list[object]]]:
    """A run's gaps: display cells (dash where the gap is absent or has no estimate) and CSV lines."""
    cells, raw = [], []
    for g in gaps:
        e = m.gaps.get(g)
        cells.append(f"{signed_pct(e.value)} [{signed_ci(e.ci95)}]" if e and e.value is not None else DASH)
        if e:
            raw.append([m.run, m.model, f"gap:{g}", None, e.value, *e.ci95])
    return cells, raw


def runs_table(metrics: list[RunMetrics]) -> Table:
    """Several runs side by side: accuracy per split and the gaps, with intervals."""
    splits = list(dict.fromkeys(s for m in metrics for s in m.splits))
    gaps = list(dict.fromkeys(g for m in metrics for g in m.gaps))
    columns = ["run", "model", *splits, *[f"gap {g}" for g in gaps]]
    rows = []
    raw = []
    for m in metrics:
        acc_cells, acc_raw = _run_accuracy_cells(m, splits)
        gap_cells, gap_raw = _run_gap_cells(m, gaps)
        rows.append([m.run, m.model, *acc_cells, *gap_cells])
        raw += acc_raw + gap_raw
    csv_columns = ["run", "model", "quantity", "n", "value", "ci95_lo", "ci95_hi"]
    note = "Accuracy (correct/n) [95% Wilson interval]; gap in percentage points [95% bootstrap interval]."
    return Table("runs", "Runs side by side", columns, rows, csv_columns, raw, note=note, row_header=True)


# ------------------------------------------------------------------------------ derived sets (synth)


def _rate_ci(p: Proportion | None) -> str:
    """'50.0% (2/4) [15.0 to 85.0%]' for an accuracy or a rate, dash when absent or empty."""
    if p is None or p.empty:
        return DASH
    return f"{_prop(p)} [{pct_ci(p.interval)}]"


def _rate_raw(p: Proportion | None) -> list[object]:
    """n, count, value, ci95_lo, ci95_hi (None where absent)."""
    return [p.n, p.count, p.value, *p.interval] if p is not None else [None] * 5


def _not_counted_text(b: VariantBlock) -> str:
    parts = [f"synth {s}: {n}" for s, n in b.synth_status.items() if s != "ok"]
    parts += [f"evaluation {s}: {n}" for s, n in b.not_predicted.items()]
    return "; ".join(parts) or DASH


def _variant_row(name: str, b: VariantBlock) -> list[str]:
    """One variant's display cells (dash where a number is absent)."""
    acc, paired = b.accuracy, b.paired
    gap, mc = paired.gap, paired.mcnemar
    hat = b.background_label
    pairs_text = str(paired.n_pairs)
    if paired.unpaired:
        pairs_text += f" ({paired.unpaired} counted without one)"
    return [
        name,
        f"{b.counted} / {b.rows}",
        _not_counted_text(b),
        _prop(acc),
        pct_ci(acc.interval),
        pairs_text,
        _rate_ci(paired.original),
        _rate_ci(paired.variant),
        signed_pct(gap.value) if gap else DASH,
        signed_ci(gap.ci95) if gap else DASH,
        f"{mc.b} / {mc.c}" if mc else DASH,  # b: right on the original only; c: on the variant only
        p_value(mc.p_value) if mc else DASH,
        _rate_ci(hat.person) if hat else DASH,
        _rate_ci(hat.background) if hat else DASH,
    ]


def _variant_raw(name: str, b: VariantBlock) -> list[object]:
    """One variant's raw CSV values, in ``variants_table``'s CSV columns (None where absent)."""
    acc, paired = b.accuracy, b.paired
    gap, mc = paired.gap, paired.mcnemar
    hat = b.background_label
    original, variant = paired.original, paired.variant
    return [
        name, b.rows, b.counted, acc.count, acc.value, *acc.interval,
        paired.n_pairs, paired.unpaired,
        original.count, original.value, *original.interval,
        variant.count, variant.value, *variant.interval,
        *([gap.value, *gap.ci95, gap.n_boot, gap.seed, gap.resampled_by, gap.n_clusters]
          if gap else [None] * 7),
        *([mc.b, mc.c, mc.p_value] if mc else [None] * 3),
        hat.n if hat else None,
        *(_rate_raw(hat.person)[1:] if hat else [None] * 4),
        *(_rate_raw(hat.background)[1:] if hat else [None] * 4),
        *(_rate_raw(hat.other)[1:3] if hat else [None] * 2),
        *(_rate_raw(hat.original_background)[:3] if hat else [None] * 3),
    ]  # fmt: skip


def variants_table(vm: VariantMetrics) -> Table:
    """One row per derived variant (``VariantMetrics``): counted rows, accuracy (Wilson), the
    originals' accuracy on the same sources, the paired gap (bootstrap) with McNemar's test, and for swaps
    HAT's rates of naming the person's vs. the background's label."""
    columns = [
        "variant", "counted / rows", "not counted", "accuracy", "95% CI (Wilson)", "paired with an original",
        "originals, same sources", "variant, same sources", "gap (variant − original)", "95% CI (bootstrap)",
        "McNemar b / c", "McNemar exact p", "person's label (HAT)", "background's label (HAT)",
    ]  # fmt: skip
    csv_columns = [
        "variant", "rows", "counted", "correct", "accuracy", "ci95_lo", "ci95_hi", "n_pairs", "unpaired",
        "original_correct", "original_accuracy", "original_ci95_lo", "original_ci95_hi",
        "paired_variant_correct", "paired_variant_accuracy",
        "paired_variant_ci95_lo", "paired_variant_ci95_hi",
        "gap", "gap_ci95_lo", "gap_ci95_hi", "n_boot", "seed", "resampled_by", "n_clusters",
        "mcnemar_b", "mcnemar_c", "mcnemar_p",
        "hat_n", "person_count", "person_rate", "person_ci95_lo", "person_ci95_hi",
        "background_count", "background_rate", "background_ci95_lo", "background_ci95_hi",
        "other_count", "other_rate",
        "original_background_n", "original_background_count", "original_background_rate",
    ]  # fmt: skip
    rows = [_variant_row(name, b) for name, b in vm.variants.items()]
    raw = [_variant_raw(name, b) for name, b in vm.variants.items()]
    note = (
        "Counted: made by synth without problem and predicted. Accuracy over counted rows; 'same sources': "
        "counted rows whose original video was predicted, with the originals' accuracy on those sources; "
        "gap = variant minus original on those pairs, in percentage points, bootstrap resampling source "
        "recordings. b: pairs right on the original only; c: right on the variant only. HAT (swaps): among "
        "counted swaps whose background's class (bg_label) is a class of the run and not the person's, the "
        "share predicted as the person's action vs. as the background's class. Variants: swap, the person "
        "(hard mask) on a new video background; person-only, everything else at the normalisation mean "
        "colour; background-only, the person removed (each hidden pixel from the frames that show it, "
        "inpainted only where none does); silhouette, background-only's hole alone on a flat colour (the "
        "leak test: what a model gets from the removed person's shape and motion, so read background-only "
        "beside it); background-only-truth, where present, the exact actor-free render (the demo), "
        "background-only as it should be; static-background (SCUBA), the moving person on one still "
        "image; static-person (SCUFO), one seeded random frame of that video repeated."
    )
    return Table(
        "variants", "Out-of-context variants", columns, rows, csv_columns, raw, note=note, row_header=True
    )


def background_label_text(vm: VariantMetrics) -> list[str]:
    """One sentence per variant with HAT label rates: rows used, why others were not, the other-label
    share and the background label's rate on the originals before the swap."""
    out = []
    for name, b in vm.variants.items():
        hat = b.background_label
        if not hat:
            continue
        skipped = []
        for count, why in (
            (hat.n_bg_label_missing, "no bg_label"),
            (hat.n_bg_label_not_a_class, "a bg_label that is not a class of the run"),
            (hat.n_bg_label_is_true_label, "a bg_label equal to the person's label"),
        ):
            if count:
                skipped.append(f"{count} with {why}")
        text = (
            f"{name}: person's vs. background's label over {hat.n} counted rows"
            + (f" (not used: {', '.join(skipped)})" if skipped else "")
            + f"; another label: {_rate_ci(hat.other)}"
        )
        before = hat.original_background
        if before.n:
            text += f"; the same background's label on the originals, before the swap: {_rate_ci(before)}"
        out.append(text + ".")
    return out


def scuba_scufo_text(ss: ScubaScufo) -> str:
    """The SCUBA/SCUFO line: contrasted accuracy with both accuracies on the same pairs and their gap."""
    gap = ss.gap
    text = (
        f"SCUBA/SCUFO over {ss.n_pairs} pairs (same source video and background): contrasted "
        f"accuracy (static-background right and static-person wrong) {_rate_ci(ss.contrasted)}; "
        f"static-background (SCUBA) {_rate_ci(ss.scuba)}; static-person (SCUFO) "
        f"{_rate_ci(ss.scufo)}; gap SCUBA − SCUFO "
        + (f"{signed_pct(gap.value)} [{signed_ci(gap.ci95)}]" if gap else DASH)
    )
    if ss.unpaired_scuba or ss.unpaired_scufo:
        text += (
            f"; without a twin (not used): {ss.unpaired_scuba} static-background, "
            f"{ss.unpaired_scufo} static-person"
        )
    return text + "."


def variant_excluded_table(vm: VariantMetrics) -> Table:
    """Derived rows synth did not make (``synth_status`` other than ok), with synth's reason."""
    columns = ["video_id", "variant", "synth_status", "reason"]
    raw = []
    for name, b in vm.variants.items():
        raw += [[e.video_id, name, e.synth_status, e.reason] for e in b.excluded]
    listed = sum(b.excluded_listed for b in vm.variants.values())
    total = sum(b.excluded_total for b in vm.variants.values())
    note = "Rows of the derived manifest whose video synth did not make; they are counted above, never used."
    if listed < total:
        per = ", ".join(
            f"{name} {b.excluded_listed} of {b.excluded_total}"
            for name, b in vm.variants.items()
            if b.excluded_listed < b.excluded_total
        )
        note += (
            f" {listed} of {total} listed ({per}); the derived manifest's synth_status and excluded_reason "
            "columns hold them all."
        )
    return Table(
        "variants_not_made",
        "Derived rows not made",
        columns,
        [[str(c) for c in r] for r in raw],
        columns,
        raw,
        note=note,
    )

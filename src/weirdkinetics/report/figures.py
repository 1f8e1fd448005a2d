"""Figures drawn from ``RunMetrics`` / ``VariantMetrics`` (and, for the qualitative panel, given frame strips).

Figures read results; they never compute them. Built on ``matplotlib.figure.Figure`` directly (no pyplot),
so drawing needs no display, touches no global backend state and always uses Agg for PNG.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from weirdkinetics.metrics.estimates import Proportion
from weirdkinetics.metrics.summary import RunMetrics
from weirdkinetics.metrics.variants import VariantMetrics
from weirdkinetics.outputs import atomic_path, atomic_write_bytes
from weirdkinetics.report.tables import SMALL_MARK, scores_text, top3_all, top3_subset
from weirdkinetics.results import RunResults, VideoResult

# Fixed SVG ids and text drawn as paths: the same results give byte-identical SVG files.
_RC = {"svg.hashsalt": "weirdkinetics", "svg.fonttype": "path", "font.size": 9}
_ANNOTATE_MAX_CLASSES = 16  # beyond this, numbers in confusion cells become unreadable


def _text(s: object) -> str:
    """Matplotlib would read text between two '$' as math (and may fail to parse it): escape them."""
    return str(s).replace("$", r"\$")


def save_figure(fig: Figure, out_dir: Path, name: str) -> tuple[bytes, Path, Path]:
    """Write ``name.png`` and ``name.svg`` into ``out_dir`` (atomically); return the PNG bytes and both paths."""
    png_path, svg_path = out_dir / f"{name}.png", out_dir / f"{name}.svg"
    with matplotlib.rc_context(_RC):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
        png = buf.getvalue()
        atomic_write_bytes(png_path, png)
        with atomic_path(svg_path) as tmp:
            fig.savefig(tmp, format="svg", metadata={"Date": None})
    return png, png_path, svg_path


def _new_figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(_RC):
        return Figure(figsize=(width, height), layout="constrained")


def _err(values: list, cis: list) -> np.ndarray:
    """Asymmetric error bars, float (2, N), from values and [lo, hi] intervals (NaN where absent)."""
    lo = [v - c[0] if v is not None and c[0] is not None else np.nan for v, c in zip(values, cis)]
    hi = [c[1] - v if v is not None and c[1] is not None else np.nan for v, c in zip(values, cis)]
    return np.array([lo, hi], dtype=float)


def accuracy_figure(m: RunMetrics) -> Figure:
    """Accuracy per split with 95% Wilson intervals and n under each bar."""
    splits = list(m.splits)
    blocks = [m.splits[s].accuracy for s in splits]
    values = [b.value for b in blocks]
    with matplotlib.rc_context(_RC):
        fig = _new_figure(max(3.5, 1.1 * len(splits) + 1.5), 3.2)
        ax = fig.add_subplot()
        x = np.arange(len(splits))
        heights = [v if v is not None else 0.0 for v in values]
        ax.bar(x, heights, color="#4c72b0", width=0.6)
        ax.errorbar(
            x, heights, yerr=_err(values, [b.interval for b in blocks]), fmt="none", ecolor="black", capsize=4
        )
        for xi, v, b in zip(x, values, blocks):
            label = f"{100 * v:.1f}%" if v is not None else "no video"
            ax.text(xi, 0.02, f"{label}\nn={b.n}", ha="center", va="bottom", color="white" if v else "black")
        ax.set_xticks(x, [_text(s) for s in splits])
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("accuracy (95% Wilson interval)")
        gap = m.gaps.get("real-weird")
        title = _text(m.run)
        if gap and gap.value is not None:
            title += f"\nreal − weird: {100 * gap.value:+.1f} pts"
            if gap.ci95[0] is not None:
                title += f" [{100 * gap.ci95[0]:+.1f}, {100 * gap.ci95[1]:+.1f}]"
        ax.set_title(title)
    return fig


def confusion_figure(m: RunMetrics) -> Figure:
    """One row-normalised confusion matrix per split (the study's Figure 2), counts written in."""
    splits = list(m.confusion)
    labels = list(m.classes)
    k = len(labels)
    side = max(3.0, 0.45 * k + 2.0)
    annotate = k <= _ANNOTATE_MAX_CLASSES
    with matplotlib.rc_context(_RC):
        # Rotated class names hang below the axes: leave room for the longest one.
        label_room = min(3.0, 0.06 * max((len(c) for c in labels), default=0))
        fig = _new_figure(side * max(1, len(splits)) + 1.0, side + label_room - 0.2)
        axes = fig.subplots(1, max(1, len(splits)), squeeze=False)[0]
        image = None
        for ax, split in zip(axes, splits):
            counts = np.asarray(m.confusion[split].counts, dtype=np.int64).reshape(k, k)
            norm = np.asarray(m.confusion[split].normalised, dtype=float).reshape(k, k)  # NaN: no video
            image = ax.imshow(np.ma.masked_invalid(norm), cmap="Blues", vmin=0, vmax=1)
            if annotate:
                for i in range(k):
                    for j in range(k):
                        if counts[i, j]:
                            dark = norm[i, j] > 0.6
                            ax.text(
                                j,
                                i,
                                f"{100 * norm[i, j]:.0f}%\n({counts[i, j]})",
                                ha="center",
                                va="center",
                                fontsize=7,
                                color="white" if dark else "black",
                            )
            names = [_text(c) for c in labels]
            ax.set_xticks(range(k), names, rotation=60, ha="right", fontsize=7)
            ax.set_yticks(range(k), names if ax is axes[0] else [""] * k, fontsize=7)
            ax.set_xlabel("predicted")
            n = int(counts.sum())
            ax.set_title(f"{_text(split)} (n={n})")
        axes[0].set_ylabel("true")
        if image is not None:
            fig.colorbar(image, ax=list(axes), shrink=0.6, label="share of the true class")
        fig.suptitle(_text(m.run))
    return fig


def grid_figure(m: RunMetrics) -> Figure:
    """Class x background heatmap (the study's Figure 3): accuracy colour, correct/total written in,
    blank where no video, small cells hatched. Needs ``m.grid`` (videos with a background)."""
    grid = m.grid
    if grid is None:
        raise ValueError("no video of this run has a background: there is no grid to draw")
    labels, bgs = list(grid.labels), list(grid.backgrounds)
    acc = np.full((len(labels), len(bgs)), np.nan)
    with matplotlib.rc_context(_RC):
        fig = _new_figure(max(4.0, 1.1 * len(bgs) + 3.0), max(3.0, 0.42 * len(labels) + 1.6))
        ax = fig.add_subplot()
        filled = grid.total > 0  # blank where there is no video
        acc[filled] = grid.correct[filled] / grid.total[filled]
        image = ax.imshow(np.ma.masked_invalid(acc), cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
        for i in range(len(labels)):
            for j in range(len(bgs)):
                if not filled[i, j]:
                    continue
                small = bool(grid.small[i, j])
                if small:
                    # Faded and hatched: the colour of a cell this small is not to be read as an accuracy.
                    ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="white", alpha=0.6, lw=0))
                    ax.add_patch(
                        Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", edgecolor="0.6", lw=0)
                    )
                ax.text(
                    j,
                    i,
                    f"{grid.correct[i, j]}/{grid.total[i, j]}" + (f" {SMALL_MARK}" if small else ""),
                    ha="center",
                    va="center",
                    fontsize=8,
                    style="italic" if small else "normal",
                )
        (lab_right, lab_total), (bg_right, bg_total) = grid.label_totals, grid.background_totals
        ax.set_xticks(
            range(len(bgs)), [f"{_text(bg)}\n{bg_right[j]}/{bg_total[j]}" for j, bg in enumerate(bgs)]
        )
        ax.set_yticks(
            range(len(labels)),
            [f"{_text(lab)}  {lab_right[i]}/{lab_total[i]}" for i, lab in enumerate(labels)],
        )
        ax.set_xlabel("background (total correct/videos)")
        ax.set_title(
            f"{_text(m.run)}: correct/total; hatched {SMALL_MARK}: < {m.small_cell} videos, too few to read",
            fontsize=9,
        )
        fig.colorbar(image, ax=ax, shrink=0.8, label="accuracy")
    return fig


def _runs_accuracy_axes(ax, metrics: list[RunMetrics], splits: list[str], x: np.ndarray) -> None:
    """Accuracy bars per run, one colour per split, with Wilson error bars; no bar where a run lacks the
    split."""
    width = 0.8 / max(1, len(splits))
    for si, split in enumerate(splits):
        blocks = [m.splits[split].accuracy if split in m.splits else None for m in metrics]
        values = [b.value if b else None for b in blocks]
        cis = [b.interval if b else (None, None) for b in blocks]
        pos = x - 0.4 + width * (si + 0.5)
        ax.bar(pos, [v if v is not None else 0 for v in values], width, label=_text(split))
        ax.errorbar(
            pos,
            [v if v is not None else np.nan for v in values],
            yerr=_err(values, cis),
            fmt="none",
            ecolor="black",
            capsize=3,
        )


def _runs_gap_axes(ax, metrics: list[RunMetrics], gaps: list[str], x: np.ndarray) -> None:
    """Each gap per run as a point with its bootstrap interval; no point where a run has no estimate."""
    for gi, gap in enumerate(gaps):
        entries = [m.gaps.get(gap) for m in metrics]
        values = [e.value if e else None for e in entries]
        cis = [e.ci95 if e else (None, None) for e in entries]
        y = x + 0.8 * (gi + 0.5) / max(1, len(gaps)) - 0.4
        ax.errorbar(
            [v if v is not None else np.nan for v in values],
            y,
            xerr=_err(values, cis),
            fmt="o",
            capsize=3,
            label=_text(gap),
        )


def runs_figure(metrics: list[RunMetrics]) -> Figure:
    """Several runs side by side: accuracy per split (Wilson) and each gap (bootstrap), with intervals."""
    splits = list(dict.fromkeys(s for m in metrics for s in m.splits))
    gaps = list(dict.fromkeys(g for m in metrics for g in m.gaps))
    runs = [_text(m.run) for m in metrics]
    with matplotlib.rc_context(_RC):
        fig = _new_figure(max(7.0, 1.2 * len(metrics) * max(1, len(splits)) * 0.6 + 4), 3.6)
        ax_acc, ax_gap = fig.subplots(1, 2, width_ratios=[2, 1])
        x = np.arange(len(metrics))
        _runs_accuracy_axes(ax_acc, metrics, splits, x)
        ax_acc.set_xticks(x, runs, rotation=20, ha="right")
        ax_acc.set_ylim(0, 1.05)
        ax_acc.set_ylabel("accuracy (95% Wilson)")
        ax_acc.legend(fontsize=7)
        _runs_gap_axes(ax_gap, metrics, gaps, x)
        ax_gap.axvline(0, color="gray", lw=0.8)
        ax_gap.set_yticks(x, runs)
        ax_gap.invert_yaxis()
        ax_gap.set_xlabel("gap (95% bootstrap)")
        if gaps:
            ax_gap.legend(fontsize=7)
    return fig


def strip_image(frames: np.ndarray, max_frames: int = 6) -> np.ndarray:
    """Frames side by side: uint8 (T, H, W, 3) -> uint8 (H, min(T, max_frames) * W, 3), evenly picked."""
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] == 0:
        raise ValueError(f"a strip must be uint8 (T, H, W, 3) with T >= 1, got {frames.dtype} {frames.shape}")
    pick = np.linspace(0, frames.shape[0] - 1, min(max_frames, frames.shape[0])).round().astype(int)
    return np.concatenate(list(frames[pick]), axis=1)


def qualitative_figure(run: RunResults, selected: list[VideoResult], strips: dict) -> Figure | None:
    """The study's Figure 1: one row per selected video with frames, true label, split, background and the
    top-3 predictions (in the class subset and over all classes).

    strips: {(run_id, video_id): uint8 (T, H, W, 3)}. Returns None when no selected video has a strip.
    """
    rows = [(v, strips[(run.run_id, v.video_id)]) for v in selected if (run.run_id, v.video_id) in strips]
    if not rows:
        return None
    images = [strip_image(frames) for _, frames in rows]
    width = 9.0
    # Row heights follow each strip's aspect ratio (plus three lines of title) so rows do not float in white.
    heights = [width * im.shape[0] / im.shape[1] + 0.6 for im in images]
    with matplotlib.rc_context(_RC):
        fig = _new_figure(width, sum(heights) + 0.2)
        axes = fig.subplots(len(rows), 1, squeeze=False, height_ratios=heights)[:, 0]
        for ax, (v, _), image in zip(axes, rows, images):
            ax.imshow(image)
            ax.set_axis_off()
            kind = "correct" if v.correct else "MISTAKE"
            line = f"{kind}: true '{_text(v.label)}' | {_text(v.split)}, {_text(v.background or '-')}"
            line += f"\ntop-3 in subset: {_text(scores_text(top3_subset(run, v), ', '))}"
            if v.topk:
                line += f"\ntop-3, all classes: {_text(scores_text(top3_all(v), ', '))}"
            ax.set_title(
                line,
                fontsize=8,
                loc="left",
                color="firebrick" if not v.correct else "darkgreen",
            )
    return fig


def variants_figure(vm: VariantMetrics) -> Figure:
    """Derived sets (``VariantMetrics``): per variant, accuracy over counted rows beside the
    originals' accuracy on the same sources (95% Wilson); for variants with HAT label rates (swaps), the
    shares predicted as the person's label and as the background's label, with the background label's
    share on the originals before the swap."""
    names = list(vm.variants)
    blocks = [vm.variants[n] for n in names]
    hat_names = [n for n, b in zip(names, blocks) if b.background_label]
    with matplotlib.rc_context(_RC):
        width = max(4.5, 1.3 * len(names) + 2.0) + (max(3.5, 1.3 * len(hat_names) + 2.0) if hat_names else 0)
        fig = _new_figure(width, 3.6)
        if hat_names:
            ax_acc, ax_hat = fig.subplots(1, 2, width_ratios=[max(2, len(names)), max(2, len(hat_names))])
        else:
            ax_acc, ax_hat = fig.add_subplot(), None
        x = np.arange(len(names))
        series = [
            ("variant", [b.accuracy for b in blocks], "#4c72b0"),
            ("originals, same sources", [b.paired.original for b in blocks], "#a0a0a0"),
        ]
        _grouped_bars(ax_acc, x, series)
        ax_acc.set_xticks(x, [_text(n) for n in names])
        ax_acc.set_ylabel("accuracy (95% Wilson interval)")
        ax_acc.set_title(f"{_text(vm.run_id)}: accuracy per variant", fontsize=9)
        if ax_hat is not None:
            _hat_axes(ax_hat, vm, hat_names)
    return fig


def _hat_axes(ax, vm: VariantMetrics, hat_names: list[str]) -> None:
    """HAT's label rates of the variants that have them: person's label, background's label, and the
    background's label on the originals before the swap."""
    hats = [vm.variants[n].background_label for n in hat_names]
    xh = np.arange(len(hat_names))
    series = [
        ("person's label", [h.person for h in hats], "#55a868"),
        ("background's label", [h.background for h in hats], "#c44e52"),
        ("background's label on the originals", [h.original_background for h in hats], "#bbbbbb"),
    ]
    _grouped_bars(ax, xh, series)
    ax.set_xticks(xh, [_text(n) for n in hat_names])
    ax.set_ylabel("share of rows (95% Wilson interval)")
    ax.set_title("HAT: whose label is predicted", fontsize=9)


def _grouped_bars(ax, x: np.ndarray, series: list[tuple[str, list[Proportion], str]]) -> None:
    """Side-by-side bars of proportions (accuracies or rates) with Wilson error bars and n written under
    each bar; an empty proportion (n == 0) draws no bar and says so."""
    width = 0.8 / len(series)
    for k, (label, props, colour) in enumerate(series):
        values = [p.value if p.n else None for p in props]
        pos = x - 0.4 + width * (k + 0.5)
        heights = [v if v is not None else 0.0 for v in values]
        ax.bar(pos, heights, width, color=colour, label=_text(label))
        ax.errorbar(
            pos,
            [v if v is not None else np.nan for v in values],
            yerr=_err(values, [p.interval for p in props]),
            fmt="none",
            ecolor="black",
            capsize=3,
        )
        for xi, v, p in zip(pos, values, props):
            ax.text(xi, 0.01, f"n={p.n}" if v is not None else "none", ha="center", va="bottom", fontsize=7)
    ax.set_ylim(0, 1.05)
    # Below the axes: inside, it would hide bars near 100%.
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, frameon=False)

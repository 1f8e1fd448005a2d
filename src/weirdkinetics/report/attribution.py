"""The report's attribution section ("Where does the model look?"): tables, figures and lines drawn from
``metrics.attribution.attribution_summary`` dicts and, for the overlays, strips the API made upstream.

Pure layout: no metric is computed and nothing is decoded here.
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from weirdkinetics.report.figures import _RC, _new_figure, _text, strip_image
from weirdkinetics.report.tables import DASH, Table
from weirdkinetics.statuses import COUNTED

METHOD_NAMES = {"gradcam": "Grad-CAM", "occlusion": "Occlusion"}

_COLUMNS = {
    "background_score": "on background (0 person, 1 uniform)",
    "background_share": "raw background share",
    "randomisation_rho": "rank corr. with random weights",
    "deletion_advantage": "deletion: salient - random drop",
    "person_drop": "drop, person removed",
    "background_drop": "drop, background removed",
}


def _fmt(block: dict | None, digits: int = 3) -> str:
    if not block or block.get("value") is None:
        return DASH
    lo, hi = block.get("ci95") or [None, None]
    ci = f" [{lo:.{digits}f}, {hi:.{digits}f}]" if lo is not None and hi is not None else ""
    return f"{block['value']:.{digits}f}{ci}"


RANDOM_BASELINES = {
    "map-grid/independent-ties": "a random map on the saliency map's own grid, brought up as the map is",
    "map-grid": "a random map on the saliency map's own grid (its first numbers were also the tie order)",
    "map-cells": "blocks of one map cell redrawn in every frame (before the fix: flickers)",
}


def settings_text(group: dict) -> str:
    s = group.get("settings") or {}
    parts = [
        f"clips: {s.get('clips', '?')}",
        f"target: {s.get('target', '?')}",
        f"masks: {s.get('segmenter', '?')}",
        f"person mask dilated by {s.get('dilate_px', '?')} px",
        "removed pixels set to the normalisation mean",
    ]
    if s.get("layers"):
        parts.append(f"target layer(s): {', '.join(s['layers'])}")
    # which random deletion the maps were checked against (map-grid/independent-ties since the last fix)
    if s.get("random"):
        parts.append(f"random deletions: {RANDOM_BASELINES.get(s['random'], s['random'])}")
    if s.get("explained_in_run"):
        parts.append(
            f"explained in run {s['explained_in_run']} on these clips (the card's evaluation samples the "
            "video differently: same model, weights and preprocessing)"
        )
    return "; ".join(parts)


def _verdict_cells(group: dict, block: dict) -> tuple[str, list]:
    """The removal check's counts of one summary row: display text and CSV cells."""
    if group["method"] == "gradcam":
        counts = [block.get(k, 0) for k in ("faithful", "not_faithful", "not_assessable")]
        return " / ".join(map(str, counts)) + f" of {block['n']}", counts
    return f"{block.get('not_assessable', 0)} of {block['n']}", [block.get("not_assessable", 0)]


def _number_cells(block: dict, keys: list[str]) -> tuple[list[str], list]:
    """Each quantity of one summary row: display text and its (value, low, high) CSV cells."""
    shown, raw = [], []
    for k in keys:
        b = block.get(k) or {}
        ci = b.get("ci95") or [None, None]
        shown.append(_fmt(b or None))
        raw += [b.get("value"), ci[0], ci[1]]
    return shown, raw


def summary_table(group: dict, part: str, name: str, title: str) -> Table:
    """One row per split / class / background (``part`` = by_split, by_class, by_background)."""
    keys = [k for k in _COLUMNS if k in group["overall"]]
    if not group.get("randomisation"):  # no random-weights twin was explained: nothing to show
        keys = [k for k in keys if k != "randomisation_rho"]
    columns = ["group", "n", *[_COLUMNS[k] for k in keys]]
    csv_columns = ["group", "n"]
    for k in keys:
        csv_columns += [k, f"{k}_lo", f"{k}_hi"]
    if group["method"] == "gradcam":
        columns.append("faithful / not faithful / not assessable")
        csv_columns += ["faithful_videos", "not_faithful_videos", "not_assessable_videos"]
    else:
        columns.append("not assessable")
        csv_columns.append("not_assessable_videos")
    rows, csv_rows = [], []
    items = list(group[part].items()) + [("all", group["overall"])]
    for label, block in items:
        shown, raw = _number_cells(block, keys)
        verdict, counts = _verdict_cells(group, block)
        rows.append([str(label), str(block["n"]), *shown, verdict])
        csv_rows.append([label, block["n"], *raw, *counts])
    flags = [["total" if label == "all" else "" for _ in columns] for label, _ in items]
    return Table(name, title, columns, rows, csv_columns, csv_rows, flags=flags, row_header=True)


def not_counted_table(group: dict, name: str) -> Table:
    rows = [[r["video_id"], r["split"], r["label"], r["status"], r["reason"]] for r in group["not_counted"]]
    columns = ["video_id", "split", "label", "status", "reason"]
    return Table(
        name,
        "Videos not explained, and why",
        columns,
        rows,
        columns,
        [list(r) for r in rows],
        row_header=True,
    )


def faithfulness_line(group: dict, model: str) -> str:
    """One line: did the maps beat random deletion for this model, on the videos where that can be told?"""
    overall = group["overall"]
    adv = overall.get("deletion_advantage") or {}
    faithful, n = overall.get("faithful", 0), overall["n"]
    unassessed = overall.get("not_assessable", 0)
    counts = (
        f"{faithful} of {n} videos faithful, {overall.get('not_faithful', 0)} not faithful, {unassessed} not "
        "assessable (target score under 2 x chance, or an effect within the noise floor of repeated random "
        "deletions: listed below)"
    )
    if adv.get("value") is None:
        return f"{model}: no video where the maps can be checked against random deletion ({counts})."
    numbers = (
        f"removing the most salient 5-50 % of pixels lowers the target score by {adv['value']:+.3f} more than "
        f"removing as many at random ({_interval_text(adv)}, over the {adv.get('n', 0)} assessable videos; "
        f"{counts})"
    )
    if group.get("beats_random"):
        return f"{model}: the Grad-CAM maps beat random deletion: {numbers}."
    if _interval_text(adv).startswith("no interval"):  # neither claim: too few recordings for either
        return (
            f"{model}: too few recordings to tell whether the Grad-CAM maps beat random deletion ({numbers})."
        )
    return (
        f"{model}: the Grad-CAM maps do NOT beat random deletion ({numbers}): the maps are not shown to be "
        "faithful for this model, so their background shares should not be trusted."
    )


def occlusion_line(group: dict, model: str) -> str | None:
    """How many videos the occlusion drops leave out (a target score under 2 x chance), or None."""
    overall = group["overall"]
    gone = overall.get("not_assessable", 0)
    if not gone:
        return None
    return (
        f"{model}: {gone} of {overall['n']} videos are not assessable by occlusion (the target score is under "
        "2 x chance before anything is removed, so no removal can lower it): their drops and shares are left "
        "out of the means and listed below."
    )


def randomisation_line(group: dict, model: str) -> str | None:
    """The model-randomisation check (Adebayo et al. 2018) in one line, or None without a random twin."""
    check = group.get("randomisation")
    rho = group["overall"].get("randomisation_rho") or {}
    if not check or rho.get("value") is None:
        return None
    name = METHOD_NAMES.get(group["method"], group["method"])
    numbers = (
        f"mean Spearman rank correlation between {model}'s maps and those of the same network with random "
        f"weights ({check.get('against') or 'its random-weights copy'}) = {rho['value']:.2f} "
        f"({_interval_text(rho)}, {rho.get('n', 0)} videos; per video below)"
    )
    if check.get("verdict") == "explains the model":
        return f"Model-randomisation check: {name}'s maps change with the weights: {numbers}."
    return (
        f"Model-randomisation check: {name} is NOT explaining the model: its maps barely change when the "
        f"weights are random ({numbers}, at or above {check.get('limit', 0.5):.2f})."
    )


def randomisation_table(group: dict, name: str) -> Table:
    """Per video: the rank correlation between the model's map and its random-weights copy's."""
    rho = (group.get("randomisation") or {}).get("rho") or {}
    rows = [[vid, DASH if v is None else f"{v:.3f}"] for vid, v in rho.items()]
    return Table(
        name,
        "Model-randomisation check per video (Spearman rank correlation with the random-weights copy's map)",
        ["video_id", "rank correlation"],
        rows,
        ["video_id", "spearman_rho"],
        [[vid, v] for vid, v in rho.items()],
        row_header=True,
    )


def not_assessable_table(group: dict, name: str) -> Table:
    """The explained videos whose removal check could not say anything, with the reason."""
    rows = [[r["video_id"], r["split"], r["label"], r["reason"]] for r in group.get("not_assessable") or []]
    columns = ["video_id", "split", "label", "reason"]
    return Table(
        name, "Videos not assessable by the removal check, and why", columns, rows, columns,
        [list(r) for r in rows], row_header=True,
    )  # fmt: skip


def paired_line(group: dict) -> str | None:
    paired = group.get("paired_weird_minus_real")
    if not paired:
        return None
    return (
        f"Paired by source_id ({paired['n']} recordings with a real and a weird version): background share on "
        f"weird minus real = {paired['value']:+.3f} ({_interval_text(paired, 'bootstrap ')})."
    )


def _interval_text(block: dict, kind: str = "") -> str:
    """'95 % interval -0.1 to +0.2', or why there is none (a mean over fewer than 5 recordings has none)."""
    lo, hi = block.get("ci95") or [None, None]
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return "no interval: too few recordings to resample"
    return f"95 % {kind}interval {lo:+.3f} to {hi:+.3f}"


def distribution_figure(groups: list[dict]) -> Figure:
    """Background share per video, per split, one panel per method (box plot with the points)."""
    with matplotlib.rc_context(_RC):
        fig = _new_figure(max(4.0, 3.2 * len(groups)), 3.2)
        axes = fig.subplots(1, len(groups), squeeze=False)[0]
        for ax, group in zip(axes, groups):
            _distribution_panel(ax, group)
            title = METHOD_NAMES.get(group["method"], group["method"])
            if sum(g["method"] == group["method"] for g in groups) > 1:  # several settings: name which
                title += f" (settings {group['settings_key'][:8]})"
            ax.set_title(_text(title))
    return fig


def _distribution_panel(ax, group: dict) -> None:
    """One method's panel: a box and the points per split that has a finite share, the overall mean."""
    names = list(group["shares"])
    data = [[v for v in group["shares"][n] if v is not None and math.isfinite(v)] for n in names]
    keep = [i for i, d in enumerate(data) if d]
    if keep:
        ax.boxplot([data[i] for i in keep], showfliers=False)
        for pos, i in enumerate(keep, start=1):
            x = pos + np.linspace(-0.12, 0.12, len(data[i])) if len(data[i]) > 1 else [pos]
            ax.plot(x, data[i], "o", ms=3, alpha=0.6, color="tab:blue")
        ax.set_xticks(range(1, len(keep) + 1), [_text(f"{names[i]}\nn={len(data[i])}") for i in keep])
    ax.axhline(group["overall"].get("background_share", {}).get("value") or 0, lw=0.5, color="grey")
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("background share")


def overlay_figure(selected: list[tuple[str, str, str]], overlays: dict) -> Figure | None:
    """Rows of saliency overlays: selected = [(video_id, caption, key)], overlays[key] uint8 (T, H, W, 3)."""
    rows = [(caption, overlays[key]) for _, caption, key in selected if key in overlays]
    if not rows:
        return None
    images = [strip_image(frames, max_frames=8) for _, frames in rows]
    width = 9.0
    heights = [width * im.shape[0] / im.shape[1] + 0.35 for im in images]
    with matplotlib.rc_context(_RC):
        fig = _new_figure(width, sum(heights) + 0.2)
        axes = fig.subplots(len(rows), 1, squeeze=False, height_ratios=heights)[:, 0]
        for ax, (caption, _), image in zip(axes, rows, images):
            ax.imshow(image, interpolation="nearest")
            ax.set_axis_off()
            ax.set_title(_text(caption), fontsize=8, loc="left")
    return fig


def overlay_selection(records: list[dict], count: int = 6, prefer: list[str] | None = None) -> list[dict]:
    """Which explained videos get an overlay: those of the qualitative panel first (``prefer``: its video ids,
    in its order), then recordings with both a real and a weird version (both shown, one after the other),
    then others, in manifest order. Pure and deterministic."""
    counted = [r for r in records if r["status"] in COUNTED and r.get("has_map")]
    by_id = {r["video_id"]: r for r in counted}
    picked: list[dict] = [by_id[v] for v in dict.fromkeys(prefer or []) if v in by_id][:count]
    for pair in real_weird_pairs(counted):
        if len(picked) + 2 <= count and not any(p in picked for p in pair):
            picked += pair
    return _top_up(picked, counted, count)


def _top_up(picked: list[dict], records: list[dict], count: int) -> list[dict]:
    """``picked`` followed by the first ``records`` not in it, ``count`` in all."""
    for r in records:
        if len(picked) >= count:
            break
        if r not in picked:
            picked.append(r)
    return picked[:count]


def real_weird_pairs(records: list[dict]) -> list[list[dict]]:
    """``[real, weird]`` records of each recording (``source_id``) that has both, in first-seen order (the
    last record of a split wins)."""
    by_source: dict[str, dict[str, dict]] = {}
    for r in records:
        row = r.get("row") or {}
        if row.get("source_id"):
            by_source.setdefault(row["source_id"], {})[str(row.get("split", ""))] = r
    pairs = [[versions.get("real"), versions.get("weird")] for versions in by_source.values()]
    return [pair for pair in pairs if all(pair)]


def overlay_caption(record: dict) -> str:
    """The caption over one overlay strip: video, true label, target, split, background, background share."""
    row, numbers = record.get("row") or {}, record.get("numbers") or {}
    share = numbers.get("background_share")
    return (
        f"{record['video_id']}: true '{row.get('label', '')}', target '{numbers.get('target', '')}', "
        f"{row.get('split', '')}, {row.get('background', '') or '-'}; background share "
        + (f"{share:.2f}" if share is not None else "-")
    )

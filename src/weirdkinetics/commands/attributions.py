"""The attribution rows of runs as the report reads them, their overlays and the model-randomisation
check: drawn here, upstream of the report (which only reads them)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from weirdkinetics.params import checked, flag, instance
from weirdkinetics.results import RunResults

if TYPE_CHECKING:
    from weirdkinetics.store import StoredAttribution

# parameter checks beyond ``params.COMMON``, ``_RUNS`` and ``_ALIASES`` shared with ``commands.report``
_RUNS = instance(RunResults, "a list of RunResults (from load_results)", many=True)
_ALIASES = instance(dict, "a dict of run ids", optional=True)
_QUALITATIVE = instance(list, "one list of video ids per run", optional=True, many=True)


@checked(runs=_RUNS, qualitative=_QUALITATIVE, overlays=flag, explained_by=_ALIASES)
def attribution_records(
    store_path: str | Path,
    runs: list[RunResults],
    qualitative: list[list[str]] | None = None,
    overlays: bool = True,
    explained_by: dict[str, str] | None = None,
) -> tuple[dict[str, list[dict]], dict[tuple[str, str, str], object]]:
    """Attribution rows of ``runs`` as the report reads them (``{run_id: [record]}``, limited to each run's
    videos), and their saliency overlays ``{(run_id, video_id, settings_key): uint8 (T, H, W, 3)}`` for the
    videos the report shows. Overlays are drawn here, upstream of the report: the clip's frames are decoded
    again through the same decoder and cropped like the model's view, the stored map is blended over them
    and the person mask's outline drawn. qualitative: each run's qualitative panel (video ids), whose videos
    get overlays first; ``overlays=False``: none drawn (a report overview shows none). explained_by:
    ``{evaluated run id: explain run id}`` where a card's explain clips differ from its evaluation's (e.g.
    ``i3d_inception`` scores whole videos and explains 64-frame clips, so ``explain`` stores its rows under a
    run of its own): that run's rows stand for the evaluated run's, and their settings say where they came
    from (``explained_in_run``)."""
    from weirdkinetics.results import load_attributions

    source = {r.run_id: (explained_by or {}).get(r.run_id, r.run_id) for r in runs}
    loaded = load_attributions(store_path, list(dict.fromkeys(source.values())))
    stored = {rid: loaded.get(src, []) for rid, src in source.items()}
    records: dict[str, list[dict]] = {}
    drawn: dict[tuple[str, str, str], object] = {}
    for i, run in enumerate(runs):
        keep = {v.video_id for v in run.videos}  # a run only explained (never evaluated) keeps all its rows
        rows = [a for a in stored.get(run.run_id, []) if not keep or a.video_id in keep]
        if not rows:
            continue
        elsewhere = source[run.run_id] if source[run.run_id] != run.run_id else None
        records[run.run_id] = [_attribution_record(a, elsewhere) for a in rows]
        prefer = list(qualitative[i]) if qualitative else []
        if overlays:
            drawn.update(_run_overlays(run, rows, records[run.run_id], prefer))
    _add_randomisation(runs, stored, records)
    return records, drawn


def _is_random(run: RunResults) -> bool:
    return str((run.provenance or {}).get("weights_digest", "")).startswith("random")


@checked(run=instance(RunResults, "a RunResults"), runs=_RUNS)
def random_twin(run: RunResults, runs: list[RunResults]) -> RunResults | None:
    """The run of the same card with random weights among ``runs`` (the study's reference row), when
    ``run`` itself has trained weights; None otherwise."""
    name = ((run.provenance or {}).get("model_card") or {}).get("name")
    if not name or _is_random(run):
        return None
    same = [o for o in runs if ((o.provenance or {}).get("model_card") or {}).get("name") == name]
    return next((o for o in same if _is_random(o)), None)


def _add_randomisation(runs: list[RunResults], stored: dict, records: dict[str, list[dict]]) -> None:
    """The model-randomisation check (Adebayo et al. 2018): each record of a run whose random-weights twin
    was explained on the same video with the same settings gets ``randomisation_rho``, the Spearman rank
    correlation between the two stored maps (``metrics.attribution.map_rank_correlation``)."""
    from weirdkinetics.metrics.attribution import map_rank_correlation

    for run in runs:
        twin = random_twin(run, runs)
        if twin is None or run.run_id not in records:
            continue
        theirs = {(a.video_id, a.settings_key): a for a in stored.get(twin.run_id, [])}
        mine = {(a.video_id, a.settings_key): a for a in stored.get(run.run_id, [])}
        for rec in records[run.run_id]:
            key = (rec["video_id"], rec["settings_key"])
            other, own = theirs.get(key), mine.get(key)
            if other is None or own is None or other.saliency is None or own.saliency is None:
                continue
            rho = map_rank_correlation(own.saliency, other.saliency)
            rec["numbers"] = {**rec["numbers"], "randomisation_rho": rho, "randomisation_run": twin.model}


def _attribution_record(a: StoredAttribution, explained_in_run: str | None = None) -> dict:
    """One stored attribution row (``store.StoredAttribution``) as the report reads it; ``explained_in_run``:
    the run it was stored under, when that is not the run it stands for (its settings then say so)."""
    settings = (
        a.settings
        if explained_in_run is None
        else {**(a.settings or {}), "explained_in_run": explained_in_run}
    )
    return {
        "video_id": a.video_id,
        "path": a.path,
        "method": a.method,
        "settings_key": a.settings_key,
        "settings": settings,
        "status": a.status,
        "reason": a.reason,
        "row": a.row,
        "numbers": a.numbers,
        "has_map": a.saliency is not None,
    }


def _run_overlays(
    run: RunResults, rows: list[StoredAttribution], recs: list[dict], prefer: list[str]
) -> dict[tuple[str, str, str], object]:
    """Overlays of the videos the report shows for one run, per settings: ``{(run_id, video_id,
    settings_key): uint8 (T, H, W, 3)}`` (videos whose frames cannot be read again have none)."""
    from weirdkinetics.report.attribution import overlay_selection

    card = (run.provenance or {}).get("model_card") or {}
    by_key = {(a.video_id, a.settings_key): a for a in rows}
    out = {}
    for key in dict.fromkeys(r["settings_key"] for r in recs):
        for rec in overlay_selection([r for r in recs if r["settings_key"] == key], prefer=prefer):
            a = by_key[(rec["video_id"], key)]
            image = _overlay(a, card)
            if image is not None:
                out[(run.run_id, a.video_id, key)] = image
    return out


def _overlay(a, card: dict, side: int = 96):
    """One stored attribution as an overlay strip: uint8 (T, side, side, 3), or None when its frames cannot
    be read again. The map is min-max scaled over the clip, blended with matplotlib's 'inferno', and the
    person mask's outline drawn in cyan."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from matplotlib import colormaps

    from weirdkinetics.decode import read_video
    from weirdkinetics.models.card import ModelCard
    from weirdkinetics.transforms import crop_offsets, resize_frames

    frames_idx = (a.numbers.get("clip_frames") or [[]])[0]
    if a.saliency is None or not frames_idx or not card:
        return None
    fields = {k: (tuple(v) if isinstance(v, list) else v) for k, v in card.items()}
    try:
        model_card = ModelCard(**{k: v for k, v in fields.items() if k in ModelCard.__dataclass_fields__})
        video = read_video(a.path, fps=model_card.fps, indices=np.asarray(frames_idx))
    except (OSError, TypeError, ValueError):  # an old card's fields, or a file gone since: no overlay
        return None
    if len(video.frames) != len(frames_idx):
        return None
    view = resize_frames(torch.from_numpy(video.frames), model_card)  # float (T, C, h, w) in [0, 1]
    top, left = crop_offsets(view.shape[-2], view.shape[-1], model_card.crop, 1, model_card.crop_rounding)[0]
    view = view[..., top : top + model_card.crop, left : left + model_card.crop]
    view = F.interpolate(view, size=(side, side), mode="bilinear", align_corners=False).clamp(0, 1)
    sal = torch.from_numpy(a.saliency.astype(np.float32))[:, None]
    sal = F.interpolate(sal, size=(side, side), mode="bilinear", align_corners=False)[:, 0].numpy()
    sal = (sal - sal.min()) / (sal.max() - sal.min() + 1e-9)
    heat = colormaps["inferno"](sal)[..., :3]
    rgb = view.permute(0, 2, 3, 1).numpy()
    out = 0.5 * rgb + 0.5 * heat
    if a.person is not None:
        person = torch.from_numpy(a.person.astype(np.float32))[:, None]
        person = F.interpolate(person, size=(side, side), mode="nearest")[:, 0].numpy() > 0.5
        from scipy import ndimage

        inner = ndimage.binary_erosion(person, structure=np.ones((1, 3, 3), bool))
        out[person & ~inner] = (0.0, 1.0, 1.0)
    return (out * 255).round().clip(0, 255).astype(np.uint8)

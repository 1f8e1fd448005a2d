"""Run models over a manifest and write every video's result to the store.

One decoding pass per video serves every model that shares a frame rate and resize (a "decode group").
A producer thread decodes and assembles clips while the main thread runs the models on batches, so decoding
the next clips overlaps inference. Memory is bounded by the clips in flight: frames are resized as they are
decoded and released as soon as no pending clip needs them.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch
from tqdm import tqdm

from weirdkinetics import sampling
from weirdkinetics.decode import DecodeResult, VideoOpenError, iter_source_frames, probe
from weirdkinetics.labels import label_space
from weirdkinetics.manifest import Manifest, ManifestRow
from weirdkinetics.models.loading import LoadedModel
from weirdkinetics.results import dumps
from weirdkinetics.store import RunInfo, Store, StoredPrediction
from weirdkinetics.transforms import clips_from_resized, resize_frames


def run_id_for(model: LoadedModel, spec: sampling.ClipSpec) -> str:
    """A run's identity: the card (whole protocol), the weights digest and the sampling spec."""
    ident = {"card": model.card.to_dict(), "weights": model.weights_digest, "spec": spec.key()}
    if model.card.open_vocabulary:  # scores depend on the prompt set
        ident["classes"] = list(model.class_names or [])
    key = dumps(ident)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass
class Job:
    model: LoadedModel
    spec: sampling.ClipSpec
    run_id: str
    class_names: list[str]


def _decode_key(model: LoadedModel) -> tuple:
    c = model.card
    return (c.fps, c.resize, c.resize_on_uint8, c.interpolation, c.antialias)


@dataclass
class _VideoPlan:
    """Which resampled frames each job needs for one video."""

    num_frames: int  # resampled to the group's fps
    src_of_out: np.ndarray  # int64 (num_frames,) source frame of each resampled frame
    clips: dict[int, np.ndarray]  # job index -> int64 (num_clips, T) resampled indices


def _plan(times: np.ndarray, fps: float, jobs: dict[int, Job]) -> _VideoPlan:
    src_of_out = sampling.resample_indices(times, fps)
    n = len(src_of_out)
    return _VideoPlan(n, src_of_out, {j: sampling.clip_indices(n, job.spec) for j, job in jobs.items()})


def _assemble(
    path: str, rotation: int, plan: _VideoPlan, jobs: dict[int, Job], result: DecodeResult, limit: int | None
) -> Iterator[tuple[int, int, torch.Tensor]]:
    """Decode once; yield ``(job index, clip index, clip float32 (crops, C, T, crop, crop))`` as clips complete.

    Resampled frame k is kept (resized) only while an incomplete clip still needs it.
    """
    any_job = next(iter(jobs.values()))
    card = any_job.model.card

    def convert(rgb: np.ndarray) -> torch.Tensor:
        return resize_frames(torch.from_numpy(rgb)[None], card)[0]  # float32 (C, h, w)

    # clips in order of their last frame; each frame's last use decides when it is released
    pending = sorted(
        ((int(idx[-1]), j, c) for j, arr in plan.clips.items() for c, idx in enumerate(arr)), key=lambda t: t[0]
    )
    last_use: dict[int, int] = {}
    for _, j, c in pending:
        for k in plan.clips[j][c]:
            last_use[int(k)] = max(last_use.get(int(k), -1), int(plan.clips[j][c][-1]))
    needed_out = sorted(last_use)
    outs_of_src: dict[int, list[int]] = {}
    for k in needed_out:
        outs_of_src.setdefault(int(plan.src_of_out[k]), []).append(k)
    kept: dict[int, torch.Tensor] = {}
    cursor = 0
    for src, frame in iter_source_frames(path, set(outs_of_src), rotation, convert, result, limit):
        for k in outs_of_src[src]:
            kept[k] = frame
        newest = max(outs_of_src[src])
        while cursor < len(pending) and pending[cursor][0] <= newest:
            _, j, c = pending[cursor]
            idx = plan.clips[j][c]
            clip = torch.stack([kept[int(k)] for k in idx])  # (T, C, h, w)
            yield j, c, clips_from_resized(clip, jobs[j].model.card, jobs[j].spec.crops)
            cursor += 1
        # every clip whose last frame is <= newest has been emitted: frames no later clip needs can go
        for k in [k for k in kept if last_use[k] <= newest]:
            del kept[k]


@dataclass
class _End:
    row_index: int
    jobs: list[int]
    status: str
    reason: str
    num_frames: int | None
    decode_s: float


@dataclass
class _Reset:
    row_index: int
    jobs: list[int]


@dataclass
class _Clip:
    row_index: int
    job: int
    clip: int
    tensor: torch.Tensor


def _produce(rows: list[ManifestRow], todo: dict[int, list[int]], jobs: list[Job], out: queue.Queue, stop: threading.Event) -> None:
    """Producer thread: decode each video once per decode group and queue its clips, then its end."""
    try:
        for i, row in enumerate(rows):
            if stop.is_set():
                return
            wanted = todo.get(i)
            if not wanted:
                continue
            t0 = time.perf_counter()
            synth_status = row.extra.get("synth_status", "ok")
            if synth_status not in ("", "ok"):
                # a derived row that synth did not produce (no person found, no background, ...): its reason
                # comes from the synth manifest, never a misleading "missing file"
                why = row.extra.get("excluded_reason") or f"synth status {synth_status}"
                out.put(_End(i, wanted, "excluded", f"synth {synth_status}: {why}", None, 0.0))
                continue
            try:
                info = probe(row.path)
            except VideoOpenError as exc:
                out.put(_End(i, wanted, exc.status, exc.reason, None, time.perf_counter() - t0))
                continue
            if info.num_frames == 0:
                out.put(_End(i, wanted, "decode_error", "no video frames in the file", 0, time.perf_counter() - t0))
                continue
            groups: dict[tuple, dict[int, Job]] = {}
            for j in wanted:
                groups.setdefault(_decode_key(jobs[j].model), {})[j] = jobs[j]
            for group in groups.values():
                t0 = time.perf_counter()
                fps = next(iter(group.values())).model.card.fps
                plan = _plan(info.times, fps, group)
                result = DecodeResult()
                decode_s = 0.0
                tick = time.perf_counter()
                for j, c, tensor in _assemble(str(row.path), info.rotation, plan, group, result, None):
                    decode_s += time.perf_counter() - tick
                    out.put(_Clip(i, j, c, tensor))
                    tick = time.perf_counter()
                decode_s += time.perf_counter() - tick
                status, reason = result.status, result.reason
                if status == "ok" and info.truncation:
                    status, reason = "partial", info.truncation
                num_frames = plan.num_frames
                if status == "partial" and result.status == "partial":
                    # recompute the plan over the frames before the break and decode them again
                    out.put(_Reset(i, list(group)))
                    good = result.frames_decoded
                    plan = _plan(info.times[:good], fps, group)
                    num_frames = plan.num_frames
                    again = DecodeResult()
                    for j, c, tensor in _assemble(str(row.path), info.rotation, plan, group, again, good):
                        out.put(_Clip(i, j, c, tensor))
                    reason = f"{reason}; used the {good} frame(s) before the break ({num_frames} at {fps:g} fps)"
                if status in ("ok", "partial"):
                    shorts = [j for j in group if sampling.is_short(num_frames, jobs[j].spec)]
                    for j in group:
                        st, why = status, reason
                        if j in shorts:
                            span = jobs[j].spec.span
                            note = (
                                f"{num_frames} frame(s) at {fps:g} fps, fewer than one clip's span of {span}: "
                                "indices clamped to the last frame"
                            )
                            st, why = ("short", note) if status == "ok" else (status, f"{reason}; {note}")
                        out.put(_End(i, [j], st, why, num_frames, time.perf_counter() - t0))
                else:
                    out.put(_End(i, list(group), status, reason, 0, time.perf_counter() - t0))
    except BaseException as exc:  # hand bugs to the main thread, which re-raises them with their traceback
        out.put(exc)
    finally:
        out.put(None)


@dataclass
class EvalSummary:
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # run_id -> status -> count
    by_split: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # run_id -> split -> status -> n
    computed: int = 0
    reused: int = 0
    seconds: float = 0.0


def build_jobs(models: list[LoadedModel], clips: str | None, crops: int | None) -> list[Job]:
    jobs = []
    for m in models:
        spec = sampling.spec_for(m.card, clips, crops)
        names = list(m.class_names) if m.class_names else list(label_space(m.card.label_space))
        jobs.append(Job(m, spec, run_id_for(m, spec), names))
    return jobs


def evaluate_manifest(
    manifest: Manifest,
    jobs: list[Job],
    store: Store,
    classes: dict[str, list[str]],
    provenance: dict,
    batch_size: int = 8,
    progress: bool = True,
    run_labels: dict[str, str] | None = None,
) -> EvalSummary:
    """Evaluate every row for every job; write each finished (video, run) to ``store`` at once.

    classes: run_id -> class subset (recorded with the evaluation; scores are stored over all classes).
    Rows already in the store for a run (same video_id and path, final status) are not recomputed.
    """
    t_start = time.perf_counter()
    summary = EvalSummary()
    rows = manifest.rows
    todo: dict[int, list[int]] = {}
    for j, job in enumerate(jobs):
        store.ensure_run(
            RunInfo(
                job.run_id, job.model.card.name, job.model.card.to_dict(), job.model.weights_digest,
                job.model.weights_desc, job.spec.key(), job.spec.to_dict(), job.class_names,
            )
        )
        store.record_evaluation(
            job.run_id, str(manifest.path), manifest.digest, classes[job.run_id], [r.video_id for r in rows],
            {
                **provenance, "manifest_digest": manifest.digest, "manifest": str(manifest.path),
                "run_label": (run_labels or {}).get(job.run_id, ""),
            },
        )
        done = store.done_ids(job.run_id)
        for i, row in enumerate(rows):
            if done.get(row.video_id) == str(row.path):
                summary.reused += 1
            else:
                todo.setdefault(i, []).append(j)
    remaining = {i: len(js) for i, js in todo.items()}
    q: queue.Queue = queue.Queue(maxsize=max(4, 2 * batch_size))
    stop = threading.Event()
    producer = threading.Thread(target=_produce, args=(rows, todo, jobs, q, stop), daemon=True)
    producer.start()
    clip_scores: dict[tuple[int, int], dict[int, np.ndarray]] = {}
    batch: dict[int, list[_Clip]] = {}
    infer_s: dict[tuple[int, int], float] = {}
    bar = tqdm(total=len(todo), desc="evaluate", unit="video", disable=not progress, dynamic_ncols=True)

    def flush(j: int) -> None:
        items = batch.pop(j, [])
        if not items:
            return
        t0 = time.perf_counter()
        views = torch.cat([it.tensor for it in items])  # (sum crops, C, T, H, W)
        probs = torch.softmax(jobs[j].model.logits(views.to(next(iter(jobs[j].model.module.parameters())).device)).float(), dim=-1).cpu().numpy()
        dt = time.perf_counter() - t0
        at = 0
        for it in items:
            n = it.tensor.shape[0]
            clip_scores.setdefault((it.row_index, j), {})[it.clip] = probs[at : at + n].mean(axis=0)
            at += n
            infer_s[(it.row_index, j)] = infer_s.get((it.row_index, j), 0.0) + dt / len(items)

    try:
        while True:
            item = q.get()
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, _Clip):
                batch.setdefault(item.job, []).append(item)
                if len(batch[item.job]) >= batch_size:
                    flush(item.job)
            elif isinstance(item, _Reset):
                for j in item.jobs:
                    batch[j] = [it for it in batch.get(j, []) if it.row_index != item.row_index]
                    clip_scores.pop((item.row_index, j), None)
                    infer_s.pop((item.row_index, j), None)
            elif isinstance(item, _End):
                row = rows[item.row_index]
                for j in item.jobs:
                    flush(j)
                    per_clip = clip_scores.pop((item.row_index, j), {})
                    status, reason = item.status, item.reason
                    scores = clip_arr = None
                    if status in ("ok", "short", "partial"):
                        if per_clip:
                            clip_arr = np.stack([per_clip[c] for c in sorted(per_clip)]).astype(np.float32)
                            scores = clip_arr.mean(axis=0)
                        else:
                            status, reason = "decode_error", (reason + "; " if reason else "") + "no clip could be formed"
                    store.put(
                        jobs[j].run_id,
                        StoredPrediction(
                            row.video_id, str(row.path), row.to_dict(), status, reason, item.num_frames,
                            None if clip_arr is None else len(clip_arr), scores, clip_arr, item.decode_s,
                            infer_s.pop((item.row_index, j), 0.0),
                        ),
                    )
                    summary.computed += 1
                    remaining[item.row_index] -= 1
                if remaining[item.row_index] == 0:
                    bar.update(1)
    finally:
        stop.set()
        bar.close()
        # drain so the producer can finish if it is blocked on a full queue
        while producer.is_alive():
            try:
                q.get(timeout=0.1)
            except queue.Empty:
                pass
    for job in jobs:
        stored = store.statuses(job.run_id)
        counts: dict[str, int] = {}
        by_split: dict[str, dict[str, int]] = {}
        for row in rows:
            st = stored.get(row.video_id, "missing")
            counts[st] = counts.get(st, 0) + 1
            by_split.setdefault(row.split, {})
            by_split[row.split][st] = by_split[row.split].get(st, 0) + 1
        summary.counts[job.run_id] = counts
        summary.by_split[job.run_id] = by_split
    summary.seconds = time.perf_counter() - t_start
    return summary

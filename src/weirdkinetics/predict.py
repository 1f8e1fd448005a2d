"""The local evaluation engine: run models over a manifest and write every video's result to the store.

Evaluation is a plan (which rows still need which runs: ``plan_work``), clips per video (``clips.row_events``,
decoded once per decode group, in a producer thread here), a scorer that owns the batches
(``scoring.Scorer``) and the store writer (this module, the only writer). Another engine arranges the same
pieces differently and copies none of them.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from weirdkinetics import runid, sampling
from weirdkinetics.clips import Job, manifest_events, queue_depth
from weirdkinetics.inference import Runtime, default_batch_size
from weirdkinetics.labels import label_space
from weirdkinetics.manifest import Manifest, ManifestRow
from weirdkinetics.models.loading import LoadedModel
from weirdkinetics.progress import progress_bar
from weirdkinetics.results import class_indices
from weirdkinetics.scoring import AGREEMENT_FLOOR, PrecisionCheck, ScoredVideo, Scorer, compare_precision
from weirdkinetics.store import RunInfo, Store, StoredPrediction, file_identity
from weirdkinetics.workers import default_workers, parallel_events

__all__ = [
    "Evaluation",
    "Job",
    "begin_evaluation",
    "build_jobs",
    "count_statuses",
    "evaluate_manifest",
    "plan_work",
    "run_id_for",
]


def run_id_for(model: LoadedModel, spec: sampling.ClipSpec, runtime: Runtime | None = None) -> str:
    """A run's identity (``runid.run_id``): the card's architecture and protocol (not its prose), the weights
    digest, the sampling spec and a non-default precision (a bf16 run never replaces an fp32 one; device and
    memory layout are provenance only)."""
    precision = (runtime or Runtime()).precision
    return runid.run_id(model.card.to_dict(), model.weights_digest, spec.key(), precision, model.class_names)


@dataclass
class EvalSummary:
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # run_id -> status -> count
    by_split: dict[str, dict[str, dict[str, int]]] = field(
        default_factory=dict
    )  # run_id -> split -> status -> n
    computed: int = 0
    reused: int = 0
    seconds: float = 0.0


def build_jobs(
    models: list[LoadedModel], clips: str | None, crops: int | None, runtime: Runtime | None = None
) -> list[Job]:
    jobs = []
    for m in models:
        spec = sampling.spec_for(m.card, clips, crops)
        names = list(m.class_names) if m.class_names else list(label_space(m.card.label_space))
        jobs.append(Job(m, spec, run_id_for(m, spec, runtime), names))
    return jobs


@dataclass(frozen=True)
class WorkPlan:
    """What an evaluation has to do: row index -> indices of the jobs still to compute for it."""

    todo: dict[int, list[int]]
    reused: int


Identity = tuple[int, int] | None
"""A file's (size, modification time ns), or None when it cannot be read (``store.file_identity``)."""


def plan_work(
    rows: list[ManifestRow],
    done: list[dict[tuple[str, str], tuple[str, Identity]]],
    identities: list[Identity],
) -> WorkPlan:
    """Pure: which (row, job) pairs still need computing.

    ``done[j]`` maps (path, video_id) of job j's final rows to (status, the file's identity when it was
    evaluated); ``identities[i]`` is row i's file identity now. A row is reused only when its path and id
    match, its file kept its identity, and it is still (or still not) a synth row that was not made.
    """
    todo: dict[int, list[int]] = {}
    reused = 0
    for j, finished in enumerate(done):
        for i, row in enumerate(rows):
            prev = finished.get((str(row.path), row.video_id))
            not_made = row.extra.get("synth_status", "ok") not in ("", "ok")
            if prev is not None and prev[1] == identities[i] and (prev[0] == "excluded") == not_made:
                reused += 1
            else:
                todo.setdefault(i, []).append(j)
    return WorkPlan(todo, reused)


def count_statuses(
    rows: list[ManifestRow], stored: dict[tuple[str, str], str]
) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """Pure: status -> count over the manifest's rows, and split -> status -> count. ``stored`` maps
    (path, video_id) to a stored status; a row with none counts as ``missing``."""
    counts: dict[str, int] = {}
    by_split: dict[str, dict[str, int]] = {}
    for row in rows:
        st = stored.get((str(row.path), row.video_id), "missing")
        counts[st] = counts.get(st, 0) + 1
        split = by_split.setdefault(row.split, {})
        split[st] = split.get(st, 0) + 1
    return counts, by_split


def _register(
    store: Store,
    manifest: Manifest,
    job: Job,
    classes: list[str],
    provenance: dict,
    label: str,
    check: dict | None = None,
) -> None:
    store.ensure_run(
        RunInfo(
            job.run_id,
            job.model.card.name,
            job.model.card.to_dict(),
            job.model.weights_digest,
            job.model.weights_desc,
            job.spec.key(),
            job.spec.to_dict(),
            job.class_names,
        )
    )
    store.record_evaluation(
        job.run_id,
        str(manifest.path),
        manifest.digest,
        classes,
        [r.video_id for r in manifest.rows],
        {
            **provenance,
            "manifest_digest": manifest.digest,
            "manifest": str(manifest.path),
            "run_label": label,
            # the check so far stays recorded while this evaluation runs (it is updated when it ends)
            **({PRECISION_CHECK: check} if check else {}),
        },
    )


PRECISION_CHECK = "precision_check"
"""The provenance key of a low-precision run's check against fp32 (``scoring.PrecisionCheck.to_dict`` and the
device it ran on)."""


def _stored_check(store: Store, run_id: str, manifest_digest: str) -> dict | None:
    """The precision check a run's evaluations recorded so far: its evaluation of this manifest first, else the
    latest other one (rows stored for the run are never scored again, so its check carries over)."""
    evaluations = store.evaluations(run_id)  # oldest first
    ordered = [e for e in evaluations if e["manifest_digest"] != manifest_digest] + [
        e for e in evaluations if e["manifest_digest"] == manifest_digest
    ]
    for e in reversed(ordered):
        if isinstance(e["provenance"].get(PRECISION_CHECK), dict):
            return e["provenance"][PRECISION_CHECK]
    return None


def combined_check(earlier: dict | None, check: PrecisionCheck, device: str | None) -> dict:
    """Pure: the check to record after a run that checked ``check`` on ``device``. A resumed run scores only
    rows its earlier runs did not, so its clips are new ones: counts add up when the earlier check ran on the
    same device; a check from another device (other kernels) is replaced, as the recorded runtime is."""
    if earlier and earlier.get("device") == device:
        try:
            check = PrecisionCheck.from_dict(earlier) + check
        except (KeyError, TypeError, ValueError):  # not a check this version wrote: replaced
            pass
    return check.to_dict() | {"device": device}


def precision_warning(model: str, precision: str, record: dict) -> str | None:
    """Pure: one line for stderr when a check's top-1 agreement with fp32 (over all classes or over the run's
    class subset) is below ``AGREEMENT_FLOOR``; None otherwise."""
    worst = min(record["top1_agreement"], record["top1_agreement_classes"])
    if worst >= AGREEMENT_FLOOR:
        return None
    within = ""
    if record["top1_agreement_classes"] != record["top1_agreement"]:
        within = f" ({record['top1_agreement_classes']:.1%} within the run's classes)"
    return (
        f"warning: {model} at {precision} names fp32's top-1 class for {record['top1_agreement']:.1%} of "
        f"{record['clips']} checked clips{within}, below {AGREEMENT_FLOOR:.0%}: its results are not fp32's; "
        "evaluate it in fp32 (--precision fp32)"
    )


def _stored(row: ManifestRow, video: ScoredVideo, identity: Identity) -> StoredPrediction:
    clip_arr = video.clip_scores
    return StoredPrediction(
        row.video_id,
        str(row.path),
        row.to_dict(),
        video.status,
        video.reason,
        video.num_frames,
        None if clip_arr is None else len(clip_arr),
        video.scores,
        clip_arr,
        video.decode_s,
        video.infer_s,
        *(identity if identity is not None else (None, None)),
    )


_DONE = object()


def in_background(events: Iterator, maxsize: int) -> Iterator:
    """Run an event generator in a producer thread and yield its events through a bounded queue, so
    decoding the next clips overlaps inference. A producer's exception is re-raised here with its traceback;
    closing the iterator stops the producer."""
    q: queue.Queue = queue.Queue(maxsize=maxsize)
    stop = threading.Event()

    def produce() -> None:
        try:
            for event in events:
                if stop.is_set():
                    return
                q.put(event)
        except BaseException as exc:  # noqa: BLE001 -- handed to the consumer, which re-raises it
            q.put(exc)
        finally:
            q.put(_DONE)

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    try:
        while (item := q.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while producer.is_alive():  # drain so a producer blocked on a full queue can finish
            try:
                q.get(timeout=0.1)
            except queue.Empty:
                pass


@dataclass
class Evaluation:
    """One evaluation under way: its rows, jobs, plan and summary, and the store's only writer.

    Every engine opens one with ``begin_evaluation`` on the driver, feeds ``write`` the videos its scorer
    finishes (in any order) and ends with ``finish``; only ``write`` puts rows into the store.
    """

    rows: list[ManifestRow]
    jobs: list[Job]
    store: Store
    identities: list[Identity]
    plan: WorkPlan
    summary: EvalSummary
    bar: Any
    started: float
    remaining: dict[int, int] = field(default_factory=dict)  # row -> jobs still to write
    manifest_digest: str = ""
    runtime: dict = field(default_factory=dict)  # Runtime.describe() of this evaluation (its provenance)
    subsets: list[list[int] | None] = field(default_factory=list)  # job -> class indices of its class subset
    earlier_checks: dict[int, dict] = field(default_factory=dict)  # job -> precision check stored before
    checks: dict[int, PrecisionCheck] = field(default_factory=dict)  # job -> this evaluation's check

    def write(self, finished: list[ScoredVideo]) -> None:
        """Put each finished (row, job) into the store at once; a row's progress tick comes with its last job."""
        for video in finished:
            if video.checked is not None:  # a low-precision run's clips also scored in fp32
                check = compare_precision(*video.checked, self.subsets[video.job])
                self.checks[video.job] = self.checks.get(video.job, PrecisionCheck()) + check
            self.store.put(
                self.jobs[video.job].run_id,
                _stored(self.rows[video.row], video, self.identities[video.row]),
            )
            self.summary.computed += 1
            self.remaining[video.row] -= 1
            if self.remaining[video.row] == 0:
                self.bar.update(1)

    def finish(self) -> EvalSummary:
        """Count every run's statuses over the manifest (stored rows, old and new) and stop the clock."""
        self.bar.close()
        for job in self.jobs:
            self.summary.counts[job.run_id], self.summary.by_split[job.run_id] = count_statuses(
                self.rows, self.store.statuses(job.run_id)
            )
        self._record_checks()
        self.summary.seconds = time.perf_counter() - self.started
        return self.summary

    def _record_checks(self) -> None:
        """Each low-precision run's agreement with fp32 into its provenance; one warning line below the floor."""
        device = self.runtime.get("device")
        for j, check in sorted(self.checks.items()):
            job = self.jobs[j]
            record = combined_check(self.earlier_checks.get(j), check, device)
            self.store.update_provenance(job.run_id, self.manifest_digest, {PRECISION_CHECK: record})
            line = precision_warning(job.model.card.name, self.runtime.get("precision", "?"), record)
            if line:
                print(line, file=sys.stderr, flush=True)


def begin_evaluation(
    manifest: Manifest,
    jobs: list[Job],
    store: Store,
    classes: dict[str, list[str]],
    provenance: dict,
    progress: bool = True,
    run_labels: dict[str, str] | None = None,
) -> Evaluation:
    """Register the runs, take each file's identity and plan what is left (``plan_work`` against the store):
    rows already stored are skipped before anything is scheduled, whatever the engine."""
    started = time.perf_counter()
    rows = manifest.rows
    earlier = {}
    for j, job in enumerate(jobs):
        check = _stored_check(store, job.run_id, manifest.digest)
        if check is not None:
            earlier[j] = check
        label = (run_labels or {}).get(job.run_id, "")
        _register(store, manifest, job, classes[job.run_id], provenance, label, check)
    # each file's identity, taken before it is decoded: a row is reused only while its file keeps it
    identities = [file_identity(row.path) for row in rows]
    plan = plan_work(rows, [store.reusable(job.run_id) for job in jobs], identities)
    bar = progress_bar(len(plan.todo), "evaluate", "video", progress)
    return Evaluation(
        rows,
        jobs,
        store,
        identities,
        plan,
        EvalSummary(reused=plan.reused),
        bar,
        started,
        {i: len(js) for i, js in plan.todo.items()},
        manifest_digest=manifest.digest,
        runtime=dict(provenance.get("runtime") or {}),
        subsets=[_subset(job, classes[job.run_id]) for job in jobs],
        earlier_checks=earlier,
    )


def _subset(job: Job, classes: list[str]) -> list[int] | None:
    """The indices of a run's class subset in its score vector; None when it is every class."""
    index = class_indices(job.class_names, classes)
    return None if index == list(range(len(job.class_names))) else index


def evaluate_manifest(
    manifest: Manifest,
    jobs: list[Job],
    store: Store,
    classes: dict[str, list[str]],
    provenance: dict,
    batch_size: int | None = None,
    progress: bool = True,
    run_labels: dict[str, str] | None = None,
    runtime: Runtime | None = None,
    decode_workers: int | None = None,
) -> EvalSummary:
    """The local engine: evaluate every row for every job; write each finished (video, run) to ``store`` at once.

    classes: run_id -> class subset (recorded with the evaluation; scores are stored over all classes).
    Rows already in the store for a run (same path and video_id, final status, and a file that kept its size
    and modification time) are not recomputed; a changed file is evaluated again and its row replaced.
    batch_size: clips per forward pass (None: the device's default, ``inference.default_batch_size``); on a
    GPU batches fill up across videos. decode_workers: processes that decode (None: ``default_workers``;
    1 decodes in a thread of this process).
    """
    runtime = runtime or Runtime()
    batch_size = batch_size or default_batch_size(runtime.device)
    decode_workers = decode_workers or default_workers(runtime.device)
    ev = begin_evaluation(manifest, jobs, store, classes, provenance, progress, run_labels)
    rows, todo = ev.rows, ev.plan.todo
    scorer = Scorer(jobs, batch_size, across_videos=runtime.device.startswith("cuda"), runtime=runtime)
    tasks = [job.task for job in jobs]
    if decode_workers > 1 and len(todo) > 1:
        depth = queue_depth(tasks, max(8, 2 * batch_size))
        events = parallel_events(rows, todo, tasks, decode_workers, maxsize=depth)
    else:
        events = in_background(
            manifest_events(rows, todo, tasks), maxsize=queue_depth(tasks, max(4, 2 * batch_size))
        )
    try:
        for event in events:
            ev.write(scorer.feed(event))
        ev.write(scorer.close())
    finally:
        events.close()
        ev.bar.close()
    return ev.finish()

"""The Ray engine: the local engine's pieces, arranged as a Ray Data pipeline over a cluster (or a local Ray).

Evaluation (``evaluate_manifest_ray``)::

    driver: begin_evaluation (plan_work against the store: stored rows are never scheduled)
      -> Ray Data: one item per row still to do
      -> CPU tasks (flat_map): clips.row_events (decode once per decode group, sample, transform), streamed as
         records of at most ``chunks.CHUNK_BYTES`` of clips each; a row's last record carries its ends
      -> model actors (map_batches, a callable class): scoring.Scorer over every job, per clip
      -> driver: chunks.RowAssembler (a video is finished once all its clips are back, then
         scoring.finish_video as locally), Evaluation.write (the only store writer) and one progress bar

A video's clips travel in bounded chunks (``engines.chunks``), so memory per record no longer grows with the
video's length or the number of models (issue 20.3); Ray reserves memory per decode task from that bound. Every
model of a run lives in each actor, so models whose decode keys match share the decode, as locally. Scores
equal the local engine's within float rounding (batches differ).

Failures: a video that fails to decode gets its status from ``row_events`` as locally. A decode task whose
worker dies is run again on another worker, and a model actor whose process dies is restarted (its constructor
runs again with the same jobs, which the driver keeps alive for the whole run) and its batch run again: Ray
Data's defaults (checked on Ray 2.60: ``max_retries=-1`` for its tasks, ``max_restarts=-1`` and
``max_task_retries=-1`` for its actors) retry without limit. They are left so because Ray 2.60 deprecates
setting them through ``map``'s ``**ray_remote_args`` (a warning on every run, gone in 2.64). Instead a file that
kills its decoder on every try is bounded by the run's ``attempts.AttemptLedger``, a small actor the driver
starts per run: ``decode_row`` counts each start of a row there first, and a row started ``MAX_ATTEMPTS`` times
without finishing is not decoded again but ends ``decode_error``, saying so (a ledger that cannot be reached
only turns the guard off). A retried decode task may hand some of a row's records on again: the driver's
``chunks.RowAssembler`` keys clips by (job, attempt, clip) and ignores rows it has finished, and only the driver
writes, one ``INSERT OR REPLACE`` per (run, path, video): a row is never duplicated or lost, and it is in the
store only once all its clips are scored (a row missing records at the end is not stored, and the run says so).
Ctrl-C stops the driver between writes: the next run, with either engine, resumes after the rows it wrote.
``tests/test_ray_faults.py`` SIGKILLs decode workers and model actors mid-task to check all this.

Ray prints one line per run that is not ours to silence: ``core_worker.cc: Actor with class name:
'MapWorker(MapBatches(ScoreRows))' ... has constructor arguments in the object store and max_restarts > 0``.
Ray Core logs it for every restartable actor created with an object-store argument, and Ray Data creates all
its pool actors so (its data context and map function go by reference, whatever the constructor's own
arguments); only ``max_restarts=0`` (no restarts) or Ray's C++ log level (which hides Ray's real errors too)
would quiet it. Those references live as long as the run does, so restarts within a run work.

Synthesis (``synth_rows_ray``): each source row is one ``synth.generate.synth_row`` call in an actor that
builds the run's mask and background sources once (``SynthSetup.build``) and writes the row's video under
OUT as the local engine does; the driver alone writes the manifest and ``synth.json``. A synth actor that dies
is restarted and its row made again, as for evaluation: the video goes to a temporary name first
(``encode.write_video``), and the row made again writes the same temporary name and renames it, so no
half-written video stays under OUT. A row that kills its actor ``MAX_ATTEMPTS`` times is not made:
``synth_status`` ``decode_error`` with the reason, as the same ledger decides.

Attribution (``explain_manifest_ray``): the driver plans as locally (``begin_explanation``); each row still to
do is one ``RowExplainer`` call in an actor that builds the run's explainer once (``ExplainSetup.build``: model,
restricted scorer, mask source with its segmenter and mask cache); the ``RowResult``s come back to the driver,
which alone writes the store (``Explanation.write``), as for evaluation. A row that killed its explain actor
``MAX_ATTEMPTS`` times ends ``decode_error`` for every method, with the reason, as the same ledger decides.

On a cluster every node needs weirdkinetics (same version) and must see the manifest's videos, and for
synthesis OUT (for explain, its mask cache), at the same paths (a shared file system); only the driver needs the
store.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import logging
import pickle
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from weirdkinetics._optional import require
from weirdkinetics.engines.attempts import Attempts, attempt_ledger, died_reason
from weirdkinetics.engines.chunks import CHUNK_BYTES, RowAssembler, RowEnd, chunk_events, chunk_limit
from weirdkinetics.engines.ray_cluster import (
    TOKEN_PATH,
    StallWatch,
    actors_failed,
    check_placement,
    check_reachable,
    joined_line,
    refused_connection,
    requested_address,
)
from weirdkinetics.engines.reaper import Reaper, owner_marked, owner_tag, remove_session
from weirdkinetics.errors import UserError, option

if TYPE_CHECKING:
    from types import ModuleType

    from weirdkinetics.attribution.explain import ExplainSetup, ExplainSummary
    from weirdkinetics.clips import ClipTask, Job, VideoEnd
    from weirdkinetics.inference import Runtime
    from weirdkinetics.manifest import Manifest, ManifestRow
    from weirdkinetics.predict import EvalSummary
    from weirdkinetics.store import Store
    from weirdkinetics.synth.generate import SynthSetup

VIDEOS_PER_CALL = {"cpu": 4, "cuda": 8}
"""Records (chunks of clips, ``chunks.chunk_limit`` bytes at most) per model-actor call by device type (fewer
calls, less of Ray's per-call cost); a GPU actor fills its batches across them."""

ROWS_PER_DECODE_TASK = 4
"""Manifest rows one decode task takes in turn: Ray's cost per task (about 0.1 s on a loaded 2-core machine) is
then paid once per 4 videos. Smaller manifests still get one task per CPU."""

DECODER_MEMORY = 384 * 2**20
"""Bytes a decode task's process holds besides its clips (Python, torch, PyAV, the decoded frames a pending clip
still needs)."""

COPIES_PER_CHUNK = 3
"""Copies of one chunk a decode task may hold at once: the clips being gathered, their pickle, and Ray Data's
output block (one record each: the block size is set to the chunk bound)."""


def decode_memory(chunk_bytes: int) -> int:
    """Bytes Ray reserves per decode task: what its records really hold (``COPIES_PER_CHUNK`` chunks of at most
    ``chunk_bytes``) and the decoder. It also keeps decoding out of the model actors: Ray Data fuses a task stage
    into the next actor stage only when their resource requests match."""
    return COPIES_PER_CHUNK * chunk_bytes + DECODER_MEMORY


def require_ray() -> ModuleType:
    """The ``ray`` module, or a ``MissingExtraError`` that says ``pip install 'weirdkinetics[ray]'``."""
    ray = require("ray", "ray", "--engine ray")
    require("ray.data", "ray", "--engine ray")
    return ray


def check_address(address: str | None) -> None:
    """``--address``: ``auto``, ``HOST:PORT`` or ``ray://HOST:PORT`` (None: start a local Ray)."""
    if address is None:
        return
    if not address or any(c.isspace() for c in address):
        raise UserError(
            f"{option('address', address)}: give auto, HOST:PORT or ray://HOST:10001 (or leave it out for a local "
            "Ray)"
        )
    scheme = address.split("://", 1)[0].lower() if "://" in address else None
    if scheme is not None and scheme != "ray":  # Ray's own ValueError would end in a traceback
        raise UserError(
            f"{option('address', address)}: not a Ray address ({scheme}:// is a web address, e.g. the dashboard's); "
            "give the cluster's HOST:PORT (e.g. head:6379), ray://HOST:10001, or auto"
        )
    if scheme == "ray" and importlib.util.find_spec("grpc") is None:  # Ray's own test of its client extra
        raise UserError(
            f"{option('address', address)}: a ray:// address needs Ray's client package, which is not installed: "
            "pip install 'ray[client]' (or give HOST:PORT from a machine of the cluster)"
        )


@contextlib.contextmanager
def ray_session(address: str | None = None) -> Iterator[ModuleType]:
    """Ray, connected: an instance already started in this process is used as it is; otherwise connect to
    ``address`` (``auto``, ``HOST:PORT`` or ``ray://HOST:10001``; else ``RAY_ADDRESS``, as Ray does) or, without
    one, start a local Ray on this machine's cores, which is shut down afterwards and whose processes a
    watchdog ends should this driver be killed (``reaper``). A joined cluster is named on stderr (address,
    nodes, CPUs, GPUs). Ray Data's own progress bars and plan logs are turned off: the driver shows one bar."""
    ray = require_ray()
    check_address(address)
    target, _ = requested_address(address)
    started, session_dir, reaper = False, None, None
    if not ray.is_initialized():
        check_reachable(address)  # Ray itself retries an address where nothing answers for minutes
        try:
            if target is None:
                tag = owner_tag()  # marks every process of this Ray, for the watchdog
                with _quiet_logger(TOKEN_NOTICE_LOGGER), owner_marked(tag):
                    # "local": a new Ray of our own. Without it ray.init attaches to a Ray that another driver
                    # on this machine started (it finds /tmp/ray/ray_current_cluster), and ends with it
                    context = ray.init(
                        address="local", include_dashboard=False, log_to_driver=False, configure_logging=False
                    )
                session_dir = context.address_info.get("session_dir")  # ours alone: we started this Ray
                reaper = Reaper(tag, session_dir)
            else:
                ray.init(address=address, log_to_driver=False, configure_logging=False)
        except ConnectionError as exc:
            raise UserError(refused_connection(address, exc)) from None
        except ray.exceptions.AuthenticationError as exc:  # token authentication: first line of Ray's advice
            raise UserError(
                f"{option('address', address)}: the cluster refused this driver's token ({str(exc).splitlines()[0]}); "
                f"copy the head's {TOKEN_PATH} here or set RAY_AUTH_MODE as the cluster was started"
            ) from None
        started = True
    if target is not None:
        print(joined_line(ray, address), file=sys.stderr, flush=True)  # auto may find another job's Ray
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    context.enable_auto_log_stats = False
    try:
        with _quiet_logger("ray.data"):
            yield ray
    finally:
        if started:
            ray.shutdown()
        if session_dir:
            remove_session(Path(session_dir))
        if reaper is not None:
            reaper.close()


TOKEN_NOTICE_LOGGER = "ray._private.authentication"
"""Where Ray (2.60) logs, at each local start, that it turned token authentication on and how to opt out: a
warning, though nothing is wrong. It is hidden only while this engine starts a local Ray (authentication stays
on); connecting to a cluster keeps every message. ``RAY_AUTH_MODE=token`` set before Ray is imported quiets it
too (Ray reads the variable at import)."""


@contextlib.contextmanager
def _quiet_logger(name: str) -> Iterator[None]:
    """Only errors from the Python logger ``name`` (and its children) while inside."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _user_error(exc: BaseException | None) -> UserError | None:
    """The ``UserError`` a remote task raised, unwrapped from Ray's wrappers (None: a bug or a crash). Ray's
    ``RayTaskError`` poses as its cause's class but prints a traceback: the original is its ``cause``."""
    ray = require_ray()
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, UserError) and not isinstance(exc, ray.exceptions.RayError):
            return exc
        exc = getattr(exc, "cause", None) or exc.__cause__
    return None


@contextlib.contextmanager
def _remote_errors(what: str, address: str | None = None) -> Iterator[None]:
    """A ``UserError`` raised on a worker reaches the CLI as one line, and so do actors that could not start
    on a cluster (``ray_cluster.actors_failed``); a crash says what is kept."""
    ray = require_ray()
    try:
        yield
    except ray.exceptions.RayError as exc:
        user = _user_error(exc) or actors_failed(ray, exc, address)
        if user is not None:
            raise user from None
        raise RuntimeError(
            f"{what} failed on the Ray cluster: the work finished so far is kept; run the same command again "
            "to resume, or with --engine local to see which file breaks it"
        ) from exc


# -- evaluation ------------------------------------------------------------------------------------------


def check_ray_runtime(runtime: Runtime) -> None:
    """What the driver can check of a runtime whose device lives on the workers: the precision, and that
    fp16 comes with CUDA. (The actors check their device when they start.)"""
    from weirdkinetics.devices import DEVICE_TYPES
    from weirdkinetics.inference import check_precision

    check_precision(runtime.precision)
    kind = runtime.device.split(":")[0]
    if kind not in DEVICE_TYPES:
        raise UserError(
            f"{option('device', runtime.device)}: not a device this toolkit runs on; use cpu or cuda"
        )
    if kind == "mps":
        raise UserError(
            f"{option('device', 'mps')}: {option('engine', 'ray')} runs on cpu or cuda workers; use "
            f"{option('engine', 'local')} on a Mac"
        )
    check_precision(runtime.precision, kind)


def _use_assigned_cpus() -> None:
    """torch threads = the CPUs Ray assigned to this task or actor: more threads than cores slow a loaded
    machine down several times (and Ray's workers share the cores among themselves)."""
    import ray
    import torch

    cpus = max(1, int(ray.get_runtime_context().get_assigned_resources().get("CPU", 1)))
    if torch.get_num_threads() != cpus:
        torch.set_num_threads(cpus)


def decode_row(
    item: dict[str, Any],
    tasks: list[ClipTask],
    attempts: Attempts | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[dict[str, Any]]:
    """Ray task (flat_map): one manifest row's events (``clips.row_events``) as they are decoded, in records of
    at most ``chunk_bytes`` of clips (``chunks.chunk_events``); the last carries the row's ``RowEnd``. A row
    whose decoding killed its process ``attempts.max_attempts`` times ends as ``decode_error`` instead (see
    ``attempts``): one record, with no clips.

    item: ``{"work": pickle of (row index, ManifestRow, wanted task indices)}``. Each record: ``{"row",
    "clips": pickle of list[ClipViews], "end": pickle of RowEnd or None}``."""
    from weirdkinetics.clips import row_events

    _use_assigned_cpus()
    i, row, wanted = pickle.loads(item["work"])
    attempts = attempts or Attempts()
    if not attempts.first_attempts(i):  # counted before decoding: a crash mid-row counts
        yield _record(
            i, [], RowEnd(_died_events(i, wanted, died_reason("decoding", attempts.max_attempts)), {})
        )
        return
    for clips, end in chunk_events(row_events(i, row, wanted, tasks), chunk_bytes):
        yield _record(i, clips, end)
    attempts.finished(i)


def _record(i: int, clips: list, end: RowEnd | None) -> dict[str, Any]:
    # "key" names the record across retries (the attempt ledger's key), so a model actor needs no unpickling
    # of the clips to count its starts
    return {"row": i, "key": _record_key(clips), "clips": pickle.dumps(clips), "end": pickle.dumps(end)}


def _died_events(i: int, wanted: list[int], reason: str) -> list[VideoEnd]:
    """A row given up on (``reason``: ``died_reason``'s) ends as ``row_events`` ends a row that fails to open:
    one ``decode_error`` ``VideoEnd`` per job."""
    from weirdkinetics.clips import failed_row_events
    from weirdkinetics.statuses import RowFailure

    return failed_row_events(i, wanted, RowFailure("decode_error", reason), 0.0)


class ScoreRows:
    """Ray Data callable class: one ``scoring.Scorer`` over every job, built once per actor.

    A call takes chunks of clips (``decode_row``'s records), scores all their clips together, and returns per
    record a pickled list of ``scoring.ScoredClips`` (a row's scores all with its first record in the call, []
    with its others) and the record's ``RowEnd`` as it came; the driver finishes the videos
    (``chunks.RowAssembler``). Each record's starts are counted (``attempts``): a batch holding a
    record started ``MAX_ATTEMPTS`` times without finishing (a model out of memory on one video kills the actor
    every time) is scored record by record, and a record that kills the actor alone too comes back with
    ``died`` set instead of scores: the driver ends its row ``decode_error``, saying so, and the other records
    are scored."""

    def __init__(self, jobs: list, batch_size: int, runtime: Runtime, attempts: Attempts | None = None):
        import ray

        from weirdkinetics.scoring import Scorer

        _use_assigned_cpus()
        # the jobs (with the models' weights) come through the object store once, as a reference in a list
        jobs = ray.get(jobs[0])
        across = runtime.device.startswith("cuda")
        self.scorer = Scorer(jobs, batch_size, across_videos=across, runtime=runtime)
        self.attempts = attempts or Attempts()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows = [int(i) for i in batch["row"]]
        keys = [("score", row, str(key)) for row, key in zip(rows, batch["key"], strict=True)]
        # each record's starts are counted (Ray Data may batch a retry differently): once one of them was
        # started MAX_ATTEMPTS times without finishing, this batch is scored record by record
        starts = [self.attempts.start(key) for key in keys]
        if max(starts) <= self.attempts.max_attempts:
            results = [(scored, "") for scored in self._score(rows, list(batch["clips"]))]
        else:
            pairs = zip(keys, rows, batch["clips"], strict=True)
            results = [self._alone(key, row, blob) for key, row, blob in pairs]
        for key in keys:
            self.attempts.finished(key)
        scored = np.empty(len(rows), dtype=object)
        scored[:] = [pickle.dumps(r[0]) for r in results]
        died = np.array([r[1] for r in results], dtype=object)
        return {"row": batch["row"], "scored": scored, "end": batch["end"], "died": died}

    def _score(self, rows: list[int], blobs: list[bytes]) -> list[list]:
        """The records' clips (pickled lists of ``ClipViews``) scored together, so a GPU batch fills across the
        records of a call (scored record by record, a batch never held more than one record's few clips); per
        record, the ``ScoredClips`` it carries back. A row's scores all go back with its first record here: the
        driver merges a row's records whichever carries them (``chunks.RowAssembler``). Each record is unpickled
        as it is fed, so no more clips are held than the batches hold."""
        for blob in blobs:
            for clip in pickle.loads(blob):
                self.scorer.feed(clip)
        self.scorer.close()  # no end is fed: nothing finishes here, every clip is scored
        by_row: dict[int, list] = {}
        for part in self.scorer.take_clips():
            by_row.setdefault(part.row, []).append(part)
        return [by_row.pop(row, []) for row in rows]

    def _alone(self, key: tuple, row: int, blob: bytes) -> tuple[list, str]:
        """One record alone; a record that already killed the actor alone is given up on (its batch's deaths
        and one alone are evidence enough): no scores, and the reason its row ends ``decode_error``."""
        alone = dataclasses.replace(self.attempts, max_attempts=1)
        reason = died_reason("model", self.attempts.max_attempts, "out of memory, or the model crashed")
        return alone.run(
            ("alone", *key), work=lambda: (self._score([row], [blob])[0], ""), gave_up=lambda: ([], reason)
        )


def _record_key(clips: list) -> str:
    """What names a record of a row across retries: its first clip's job, attempt and clip, or "end" for a
    record that carries only its row's end (Ray Data may regroup records into other batches when it retries)."""
    return f"{clips[0].job}/{clips[0].attempt}/{clips[0].clip}" if clips else "end"


def _decode_tasks(ray: ModuleType, rows: int) -> int:
    cpus = int(ray.cluster_resources().get("CPU", 1))
    return max(min(rows, cpus), -(-rows // ROWS_PER_DECODE_TASK))


def _actors(ray: ModuleType, device: str, actors: int | None) -> int:
    if device.startswith("cuda"):
        gpus = int(ray.cluster_resources().get("GPU", 0))
        if gpus < 1:
            raise UserError(
                f"{option('device', device)}: the Ray cluster has no GPU; add GPU nodes or use "
                f"{option('device', 'cpu')}"
            )
        return actors or gpus
    if actors:
        return actors
    # on CPU half the cores score and half decode (tiny models are decode-bound, big ones model-bound)
    return max(1, int(ray.cluster_resources().get("CPU", 2)) // 2)


def evaluate_manifest_ray(
    manifest: Manifest,
    jobs: list[Job],
    store: Store,
    classes: dict[str, list[str]],
    provenance: dict,
    batch_size: int | None = None,
    progress: bool = True,
    run_labels: dict[str, str] | None = None,
    runtime: Runtime | None = None,
    address: str | None = None,
    actors: int | None = None,
) -> EvalSummary:
    """``predict.evaluate_manifest`` on Ray: the same plan, clips, scorer and store writer (see the module).

    address: a running cluster (``auto``, ``HOST:PORT``, ``ray://HOST:10001``); None starts a local Ray unless
    one is already started in this process. actors: model actors (default: one per GPU with ``cuda``, half the
    cluster's CPUs otherwise); each holds every job's model. batch_size: clips per forward pass, as locally.
    """
    from weirdkinetics.inference import Runtime, default_batch_size
    from weirdkinetics.predict import begin_evaluation

    runtime = runtime or Runtime()
    check_ray_runtime(runtime)
    batch_size = batch_size or default_batch_size(runtime.device)
    ev = begin_evaluation(manifest, jobs, store, classes, provenance, progress, run_labels)
    try:
        if ev.plan.todo:  # nothing left: no cluster needed
            assembler = RowAssembler(ev.plan.todo)
            with (
                ray_session(address) as ray,
                _remote_errors("evaluation", address),
                attempt_ledger(ray) as attempts,
            ):
                rows = _scored_rows(ray, ev.rows, ev.plan.todo, jobs, batch_size, runtime, actors, attempts)
                with StallWatch(ray, "evaluate") as watch:
                    for record in rows:
                        ev.write(_assembled(assembler, ev.plan.todo, record))
                        watch.progressed()
            _check_nothing_lost(assembler)
    finally:
        ev.bar.close()
    return ev.finish()


def _assembled(assembler: RowAssembler, todo: dict[int, list[int]], record: dict) -> list:
    """One scored record into its row: the row's results once it is complete (or at once, ``decode_error``,
    when a record of it killed its model actor every time: ``ScoreRows._alone``), else []."""
    row = int(record["row"])
    if record["died"]:
        return assembler.fail(row, _died_events(row, todo.get(row, []), str(record["died"])))
    return assembler.add(row, pickle.loads(record["scored"]), pickle.loads(record["end"]))


def _check_nothing_lost(assembler: RowAssembler) -> None:
    """Ray Data hands every record back exactly once; a row with records missing is a bug or a lost node whose
    output Ray could not rebuild. None of it is stored (never half a video): the next run schedules it again."""
    lost = assembler.lost()
    if lost:
        raise RuntimeError(
            f"evaluation on Ray lost part of {len(lost)} row(s) (e.g. manifest row index {lost[0]}): nothing of "
            "them was stored; run the same command again to compute them"
        )


def _scored_rows(
    ray: ModuleType,
    rows: list[ManifestRow],
    todo: dict[int, list[int]],
    jobs: list[Job],
    batch_size: int,
    runtime: Runtime,
    actors: int | None,
    attempts: Attempts | None = None,
) -> Iterator[dict[str, Any]]:
    """The pipeline's output as it streams in: ``{"row", "scored", "end"}`` per chunk of a row's clips, in no
    particular order (``chunks.RowAssembler`` puts rows back together)."""
    device = runtime.device.split(":")[0]
    concurrency = _actors(ray, runtime.device, actors)
    check_placement(ray, "evaluate", device, concurrency, decodes=True)
    gpu = {"num_gpus": 1} if device == "cuda" else {}
    if (
        device == "cuda"
    ):  # each actor sees only the GPU Ray gave it: its "cuda" is that one, whatever N was asked
        runtime = dataclasses.replace(runtime, device="cuda")
    items = [{"work": pickle.dumps((i, rows[i], todo[i]))} for i in sorted(todo)]
    jobs_ref = ray.put(jobs)
    tasks = [job.task for job in jobs]
    chunk_bytes = chunk_limit(tasks)
    ds = (
        ray.data.from_items(items, override_num_blocks=_decode_tasks(ray, len(items)))
        .flat_map(
            decode_row,
            fn_kwargs={"tasks": tasks, "attempts": attempts, "chunk_bytes": chunk_bytes},
            num_cpus=1,
            memory=decode_memory(chunk_bytes),
        )
        .map_batches(
            ScoreRows,
            fn_constructor_kwargs={
                "jobs": [jobs_ref],
                "batch_size": batch_size,
                "runtime": runtime,
                "attempts": attempts,
            },
            batch_size=VIDEOS_PER_CALL.get(device, 1),
            compute=ray.data.ActorPoolStrategy(size=concurrency),
            batch_format="numpy",
            **gpu,
        )
    )
    # a decode task hands each chunk on as it is made: Ray Data's default gathers 128 MiB of records per block
    ds.context.target_max_block_size = chunk_bytes
    yield from ds.iter_rows()


# -- synthesis -------------------------------------------------------------------------------------------


class SynthRows:
    """Ray Data callable class: the run's mask and background sources built once per actor
    (``SynthSetup.build``); a call makes each row's derived video and returns its manifest row (pickled).
    A row that killed its actor ``attempts.max_attempts`` times is not made: ``decode_error`` with the reason."""

    def __init__(self, setup: SynthSetup, attempts: Attempts | None = None):
        self.make_row = setup.build().make_row
        self.variant = setup.variant
        self.attempts = attempts or Attempts()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = np.empty(len(batch["work"]), dtype=object)
        out[:] = [
            pickle.dumps(self._row(int(k), *pickle.loads(blob)))
            for k, blob in zip(batch["index"], batch["work"], strict=True)
        ]
        return {"index": batch["index"], "row": out}

    def _row(self, index: int, row: ManifestRow, rel_path: str) -> dict[str, str]:
        from weirdkinetics.synth.generate import failed_row

        reason = died_reason("synth", self.attempts.max_attempts, "FFmpeg or the segmenter crashed")
        return self.attempts.run(
            index,
            work=lambda: self.make_row(row, rel_path),
            gave_up=lambda: failed_row(row, self.variant, rel_path, "decode_error", reason),
        )


def synth_rows_ray(
    setup: SynthSetup,
    work: list[tuple[ManifestRow, str]],
    address: str | None = None,
    actors: int | None = None,
    on_row: Callable[[], None] | None = None,
) -> list[dict[str, str]]:
    """Every (source row, output path) of ``work`` through ``synth_row`` in Ray actors; the derived manifest's
    rows in ``work``'s order. on_row: called on the driver as each row comes back (progress)."""
    if not work:
        return []
    with ray_session(address) as ray, _remote_errors("synthesis", address), attempt_ledger(ray) as attempts:
        concurrency = min(actors or max(1, int(ray.cluster_resources().get("CPU", 1))), len(work))
        check_placement(ray, "synth", "cpu", concurrency, decodes=False)
        items = [{"index": k, "work": pickle.dumps(w)} for k, w in enumerate(work)]
        ds = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
            SynthRows,
            fn_constructor_kwargs={"setup": setup, "attempts": attempts},
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=concurrency),
            batch_format="numpy",
        )
        rows: list[dict[str, str] | None] = [None] * len(work)
        with StallWatch(ray, "synth") as watch:
            for record in ds.iter_rows():
                rows[int(record["index"])] = pickle.loads(record["row"])
                watch.progressed()
                if on_row is not None:
                    on_row()
    missing = [k for k, r in enumerate(rows) if r is None]
    if missing:  # Ray Data hands every row back exactly once; anything else is a bug
        raise RuntimeError(f"synth on Ray lost {len(missing)} row(s), e.g. row index {missing[0]}")
    return rows  # type: ignore[return-value]


# -- attribution -----------------------------------------------------------------------------------------


class ExplainRows:
    """Ray Data callable class: the run's ``RowExplainer`` built once per actor (``ExplainSetup.build``: the
    model on the actor's device, the restricted scorer, the mask source with its segmenter and the mask
    cache); a call explains each row with the methods it still needs and returns, pickled, its
    ``RowResult`` and the row's seconds, or the ``UserError`` that stopped it.

    A ``UserError`` travels back as a value for the driver to raise: raised here, Ray Data would wrap it (and
    drop its cause when the actor fails while starting), and its one line would not reach the CLI."""

    def __init__(self, setup: list, device: str, attempts: Attempts | None = None):
        import ray

        _use_assigned_cpus()
        self.attempts = attempts or Attempts()
        self.refused: UserError | None = None
        try:
            # the setup (with the model's weights) comes through the object store once, as a reference in a list
            self.explain = ray.get(setup[0]).build(device=device)
        except UserError as exc:  # a device or a checkpoint this node lacks: every call answers it
            self.refused = _portable(exc)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = np.empty(len(batch["work"]), dtype=object)
        out[:] = [pickle.dumps(self._guarded(int(i), blob)) for i, blob in zip(batch["index"], batch["work"])]
        return {"index": batch["index"], "result": out}

    def _guarded(self, i: int, blob: bytes) -> tuple[Any, float] | UserError:
        """A row that killed this actor's process ``attempts.max_attempts`` times ends ``decode_error``, with
        the reason, instead of being retried forever (see ``attempts``)."""
        from weirdkinetics.attribution.explain import RowResult

        reason = died_reason("explain", self.attempts.max_attempts, "FFmpeg or the segmenter crashed")
        return self.attempts.run(
            ("explain", i),
            work=lambda: self._row(blob),
            gave_up=lambda: (RowResult("decode_error", reason), 0.0),
        )

    def _row(self, blob: bytes) -> tuple[Any, float] | UserError:
        import time

        if self.refused is not None:
            return self.refused
        row, methods = pickle.loads(blob)
        began = time.perf_counter()
        try:
            result = self.explain(row, methods)
        except UserError as exc:  # as the local engine, the run stops with it
            return _portable(exc)
        return result, time.perf_counter() - began


def _portable(exc: UserError) -> UserError:
    """``exc`` if it survives pickling, else a plain ``UserError`` with its line."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 -- a subclass whose constructor takes other arguments
        return UserError(str(exc))
    return exc


def explain_manifest_ray(
    manifest: Manifest,
    setup: ExplainSetup,
    run_id: str,
    methods: list[str],
    store: Store,
    progress: bool = True,
    device: str = "cpu",
    address: str | None = None,
    actors: int | None = None,
) -> ExplainSummary:
    """``attribution.explain_manifest`` on Ray: the same plan, per-row explainer and store writer.

    The driver plans against the store (``begin_explanation``: stored rows are never scheduled); Ray Data
    actors each build the run's ``RowExplainer`` once and explain one row per call; the driver alone writes
    each ``RowResult`` (``Explanation.write``) as it comes back and shows one progress bar. Several actors
    may segment into the same mask cache: its entries are written under a temporary name and renamed.

    device: the actors' (``cuda``: one GPU per actor, one actor per GPU by default); actors: default one per
    CPU on ``cpu`` (an actor decodes, segments and runs the model for its row)."""
    from weirdkinetics.attribution.explain import begin_explanation
    from weirdkinetics.inference import Runtime

    check_ray_runtime(Runtime(device=device))
    ex = begin_explanation(manifest, setup.model.card, run_id, methods, setup.settings, store, progress)
    try:
        if ex.plan.todo:  # nothing left: no cluster needed
            with (
                ray_session(address) as ray,
                _remote_errors("explain", address),
                attempt_ledger(ray) as attempts,
            ):
                work = {i: (ex.rows[i], ex.plan.todo[i]) for i in sorted(ex.plan.todo)}
                with StallWatch(ray, "explain") as watch:
                    for record in _explained_rows(ray, setup, work, device, actors, attempts):
                        got = pickle.loads(record["result"])
                        if isinstance(got, UserError):
                            raise got
                        ex.write(int(record["index"]), *got)
                        watch.progressed()
    finally:
        ex.bar.close()
    return ex.finish()


def _explained_rows(
    ray: ModuleType,
    setup: ExplainSetup,
    work: dict[int, tuple[ManifestRow, list[str]]],
    device: str,
    actors: int | None,
    attempts: Attempts | None = None,
) -> Iterator[dict[str, Any]]:
    """The pipeline's output as it streams in: ``{"index", "result"}`` per row, in no particular order."""
    kind = device.split(":")[0]
    if kind == "cuda":
        concurrency = _actors(ray, device, actors)
        device = "cuda"  # each actor sees only the GPU Ray gave it: its "cuda" is that one
    else:
        concurrency = actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
    concurrency = min(concurrency, len(work))
    check_placement(ray, "explain", kind, concurrency, decodes=False)
    items = [{"index": i, "work": pickle.dumps(w)} for i, w in work.items()]
    ds = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
        ExplainRows,
        fn_constructor_kwargs={"setup": [ray.put(setup)], "device": device, "attempts": attempts},
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=concurrency),
        batch_format="numpy",
        **({"num_gpus": 1} if kind == "cuda" else {}),
    )
    yield from ds.iter_rows()

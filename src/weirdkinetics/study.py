"""``weirdkinetics study``: the whole background-reliance study across many models, as one resumable plan.

An orchestration over the stages that exist, copying none of them:

1. ``synth`` each variant of the manifest once (``api.synthesize`` into ``OUT/synth/<variant>/``);
2. one manifest of the originals and every derived row (``OUT/study.csv``);
3. ``evaluate`` every model on it in one pass (``api.evaluate``: models sharing a decode key share decoding;
   rows already in the store are reused);
4. ``explain`` each model where asked (``api.explain``, on the originals);
5. one report (``api.report_runs``) with the leaderboard (``metrics.leaderboard``) on top and each model's
   detailed section below.

Resumable and idempotent: every finished step is recorded in ``OUT/study.json`` with what it was made
from; a step is skipped only while its record matches its inputs and its outputs are still there (the
store still holds every row of a model's run). Killed at any point, the same command redoes only the step
it was in, and that step's own stage resumes from its stored rows. A second run with one more model
evaluates (and explains) only that model.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from weirdkinetics import params, storage
from weirdkinetics.errors import UserError, option
from weirdkinetics.manifest import Manifest, read_manifest, write_manifest
from weirdkinetics.outputs import atomic_write_text, check_output_dir, check_outputs, locks_folder

SCHEMA = "weirdkinetics.study/1"
VARIANTS = ("swap", "person-only", "background-only", "silhouette", "static-background", "static-person")
ENGINES = ("local", "ray")
"""Engines the study can use (``--engine``): synthesis, evaluation and explanations all run there."""


@dataclass(frozen=True)
class StudyModel:
    """One leaderboard row: a registered card, its weights (``None``: the card's published ones; a path;
    ``random[:SEED]``), how the report names it, and whether it is a reference row (e.g. random weights at
    chance: shown, not compared in the summary). ``explain``: False leaves the model out of the study's
    attribution step (its background share stays empty)."""

    name: str
    weights: str | None = None
    label: str = ""
    reference: bool = False
    explain: bool = True

    @property
    def key(self) -> str:
        """Identifies the model in ``study.json``: card, weights and label."""
        return f"{self.name}|{self.weights or 'published'}|{self.label}"


@dataclass(frozen=True)
class StudySettings:
    """Everything a study is made from. ``variants``: synth's variants to derive (each once);
    ``synth_split``: derive them from the rows of this split only (None: every row), e.g. the demo's
    ``real`` videos, whose ``weird`` twins are already out of context; ``backgrounds``: a library folder for the variants that need a new background (else HAT's donor
    backgrounds); ``segmenter``/``seed``/``synth_options``: synth's. ``explain``: attribution methods
    (empty: none); ``explain_per_class``: explain only the first N recordings (``source_id``) of each
    class, all their versions (None: every original). ``classes``, ``label_map``, ``device``,
    ``batch_size``, ``precision``, ``decode_workers``: evaluate's. ``engine``, ``address``, ``actors``: where
    synth, evaluate and explain run (``ENGINES``). ``retry_errors``: evaluate and explain again the rows whose
    worker died on them (``--retry-errors``), even in steps already done. ``derived``: manifests of derived rows made elsewhere
    (synth's columns: ``variant``, ``source_video_id``, ``synth_status``), evaluated and reported with the
    variants, e.g. the demo's exact actor-free renders (``background-only-truth``). ``random_reference``: with
    ``explain``, each explained card also gets a random-weights copy (``random:SEED``), evaluated and explained
    as its reference row (``with_random_references``): the attribution numbers' own baseline and the
    model-randomisation check's other half."""

    manifest: Path
    models: tuple[StudyModel, ...]
    out: Path
    variants: tuple[str, ...] = VARIANTS
    synth_split: str | None = None
    backgrounds: Path | None = None
    segmenter: str = "mediapipe"
    seed: int = 0
    synth_options: object | None = None
    explain: tuple[str, ...] = ()
    explain_per_class: int | None = None
    classes: str = "all"
    label_map: Path | None = None
    device: str = "cpu"
    batch_size: int | None = None
    precision: str = "fp32"
    decode_workers: int | None = None
    engine: str = "local"
    address: str | None = None
    actors: int | None = None
    retry_errors: bool = False
    n_boot: int = 2000
    derived: tuple[Path, ...] = ()
    random_reference: bool = True
    store: Path | None = (
        None  # the predictions store (None: OUT/predictions.sqlite; a .parquet folder: Parquet)
    )


@dataclass
class StudyOutcome:
    """What a study wrote: the report's files, the board, each model's run id, and per step whether it ran
    (``computed``) or was found done (``reused``)."""

    out: Path
    store: Path
    manifest: Path
    report: dict[str, Path]
    leaderboard: object
    run_ids: dict[str, str]
    computed: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    contents: object = None
    settings_keys: dict[str, dict[str, str]] = field(default_factory=dict)  # model key -> method -> its key


# ---------------------------------------------------------------------------------------- checks (pure)


def parse_variants(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """``swap,person-only`` (or a list) as a tuple of known variants, in the given order, without repeats;
    ``none`` or empty: no variant."""
    from weirdkinetics.synth.variants import check_variant

    if text is None:
        return VARIANTS
    names = text.split(",") if isinstance(text, str) else list(text)
    names = [n.strip() for n in names if n.strip()]
    if names == ["none"]:
        return ()
    for name in names:
        check_variant(name)
    return tuple(dict.fromkeys(names))


def _paths(name: str, value: object) -> tuple[Path, ...]:
    """A list of paths (one path: a one-element list), read as ``Path``s."""
    return tuple(Path(p) for p in params.names(paths=True)(name, value))


def _models(name: str, value: object) -> tuple[StudyModel, ...]:
    """A list of ``StudyModel``, each field checked (a message names ``models.weights`` and so on)."""
    models = params.instance(StudyModel, "a list of StudyModel", many=True)(name, value)
    checks = {
        "name": params.text(),
        "weights": params.path(optional=True),
        "label": params.text(),
        "reference": params.flag,
        "explain": params.flag,
    }
    for m in models:
        params.check_fields(m, checks, {f: f"{name}.{f}" for f in checks})
    return tuple(models)


def _study_checks() -> dict[str, params.Check]:
    """Checks of ``StudySettings``' fields beyond ``params.COMMON`` (the API's checks of the same names)."""
    return {
        "manifest": params.path(),
        "out": params.path(),
        "models": _models,
        "variants": params.names(),
        "synth_split": params.text(optional=True),
        "synth_options": params.synth_options,
        "explain": params.names(),
        "explain_per_class": params.whole(1, params.MAX_COUNT, optional=True),
        "derived": _paths,
        "random_reference": params.flag,
        "store": params.path(optional=True),
    }


def study_store(settings: StudySettings) -> Path:
    """Where a study's predictions go: ``settings.store``, else ``OUT/predictions.sqlite``."""
    from weirdkinetics import api

    return Path(settings.store) if settings.store else settings.out / api.DEFAULT_STORE


def checked_settings(settings: StudySettings) -> StudySettings:
    """``settings`` with every field checked as the API checks its parameters (a one-line ``UserError``
    naming the field), lists read as tuples (one name: a one-element tuple)."""
    values = params.check_fields(settings, _study_checks())
    return replace(settings, **{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def check_settings(settings: StudySettings) -> None:
    """Refuse what would fail later, before any work: no model, a model twice, an unknown engine, a label
    map with synth or explain of a model whose labels it maps."""
    if not settings.models:
        raise UserError(f"no {option('models')} given; list them with 'weirdkinetics models'")
    keys = [m.key for m in settings.models]
    twice = sorted({k.split("|")[0] for k in keys if keys.count(k) > 1})
    if twice:
        raise UserError(
            f"{option('models', ', '.join(twice))} given twice with the same weights: give each once"
        )
    if settings.engine not in ENGINES:
        raise UserError(f"{option('engine', settings.engine)}: not one of {', '.join(ENGINES)}")
    if settings.explain and settings.label_map:
        raise UserError(
            f"{option('explain')} reads the manifest's labels as they are, without {option('label_map')}: explain separately "
            "('weirdkinetics explain') or relabel the manifest"
        )


def is_random(weights: str | None) -> bool:
    """True for ``random`` / ``random:SEED`` weights."""
    return bool(weights) and (weights == "random" or weights.startswith("random:"))


def with_random_references(
    models: Sequence[StudyModel], seed: int = 0, explain: bool = True
) -> tuple[StudyModel, ...]:
    """``models`` followed by one explained random-weights copy (``random:SEED``) of each card explained with
    trained weights, unless the study already explains a random copy of it. A map's background score means
    something only beside the same network's score without training (a uniform map and an untrained one
    both sit near 1), and the model-randomisation check (Adebayo et al. 2018) compares their maps."""
    if not explain:
        return tuple(models)
    covered = {m.name for m in models if m.explain and is_random(m.weights)}
    out = list(models)
    for m in models:
        if not m.explain or is_random(m.weights) or m.name in covered:
            continue
        covered.add(m.name)
        # the same random copy already in the study (e.g. a --reference row not explained) is explained
        # instead of added twice: both would be one run in the store
        twin = next(
            (i for i, o in enumerate(out) if o.name == m.name and o.weights == f"random:{seed}"), None
        )
        if twin is not None:
            out[twin] = replace(out[twin], explain=True)
        else:
            out.append(StudyModel(m.name, f"random:{seed}", f"random weights {seed}", reference=True))
    return tuple(out)


def explain_subset_rows(rows: Sequence, per_class: int | None) -> list:
    """The rows of the first ``per_class`` recordings (``source_id``, else ``video_id``) of each class, all
    their versions, in manifest order; every row when ``per_class`` is None."""
    if per_class is None:
        return list(rows)
    sources: dict[str, list[str]] = {}
    for r in rows:
        source = r.source_id or r.video_id
        if source not in sources.setdefault(r.label, []):
            sources[r.label].append(source)
    keep = {s for ids in sources.values() for s in ids[:per_class]}
    return [r for r in rows if (r.source_id or r.video_id) in keep]


def _rebased(text: str, base: Path, out: Path) -> str:
    """A path written relative to ``base``, rewritten relative to ``out`` (absolute paths and URIs stay)."""
    if not text or os.path.isabs(text) or storage.is_uri(text):
        return text
    return os.path.relpath((base / text).resolve(), out.resolve())


def combined_rows(originals: Manifest, derived: Sequence[Manifest], out: Path) -> list[dict[str, str]]:
    """The originals then every derived row, paths (and ``mask_path``) rewritten relative to ``out``, so
    one manifest in ``out`` names the same files: the store keys rows by resolved path and id."""
    rows = []
    for manifest in (originals, *derived):
        base = manifest.path.resolve().parent
        for row in manifest.rows:
            d = row.to_dict()
            d["path"] = _rebased(d["path"], base, out)
            if d.get("mask_path"):
                d["mask_path"] = _rebased(d["mask_path"], base, out)
            rows.append(d)
    return rows


# ------------------------------------------------------------------------------------------- the plan


class _Record:
    """``OUT/study.json``: what each finished step was made from, written atomically after each step."""

    def __init__(self, path: Path):
        self.path = path
        self.steps: dict[str, dict] = {}
        if path.exists():
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):  # a damaged record: every step checks its outputs again
                doc = {}
            if isinstance(doc, dict) and doc.get("schema") == SCHEMA and isinstance(doc.get("steps"), dict):
                self.steps = doc["steps"]

    def done(self, key: str, made_from: dict) -> dict | None:
        entry = self.steps.get(key)
        return entry if entry is not None and entry.get("made_from") == made_from else None

    def finish(self, key: str, made_from: dict, **result) -> None:
        self.steps[key] = {"made_from": made_from, **result}
        doc = {"schema": SCHEMA, "steps": self.steps}
        atomic_write_text(self.path, json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n")


UNIT_COST = {"synth": 1.0, "evaluate": 1.0, "explain": 10.0}
"""Rough relative cost of one unit of work per kind (a source row synthesised, a row evaluated by one model,
a row explained by one method), so the ETA weighs an explanation's many passes against one evaluation."""


class _Progress:
    """Progress across the whole plan: work done and left (``UNIT_COST``-weighted units: source rows for
    synth, rows x models for evaluation, rows x methods for explain), elapsed time and an ETA from the
    pace so far."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.done, self.enabled = max(total, 1), 0, enabled
        self.start = time.perf_counter()
        self.step = 0

    def begin(self, what: str, units: float) -> None:
        self.step += 1
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        eta = ""
        if self.done and elapsed > 1:
            left = elapsed / self.done * (self.total - self.done)
            eta = f", about {_duration(left)} left"
        print(
            f"[study {int(self.done * 100 // self.total):3d}%] {what} ({_duration(elapsed)} elapsed{eta})",
            flush=True,
        )

    def end(self, units: float) -> None:
        self.done += units


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _synth_made_from(settings: StudySettings, variant: str, source: Manifest) -> dict:
    from weirdkinetics.synth.variants import NEEDS_BACKGROUND

    library = settings.backgrounds if variant in NEEDS_BACKGROUND else None
    return {
        "variant": variant,
        "source_manifest_sha256": source.digest,
        "segmenter": settings.segmenter,
        "backgrounds": str(Path(library).resolve()) if library else None,
        "seed": settings.seed,
        "options": json.loads(json.dumps(asdict(settings.synth_options), default=str))
        if settings.synth_options is not None
        else None,
    }


def _synth_rows(settings: StudySettings, source: Manifest) -> list:
    """The source rows of ``synth_split`` (every row when None); refuses a split no row has."""
    if settings.synth_split is None:
        return list(source.rows)
    rows = [r for r in source.rows if r.split == settings.synth_split]
    if not rows:
        splits = ", ".join(sorted({r.split for r in source.rows}))
        raise UserError(
            f"{option('synth_split', settings.synth_split)}: no row of {source.path} has it; splits: {splits}"
        )
    return rows


def _synth_source(settings: StudySettings, source: Manifest) -> Manifest:
    """The rows synth derives from: all, or those of ``synth_split`` written as ``OUT/synth/source.csv``."""
    if settings.synth_split is None:
        return source
    rows = _synth_rows(settings, source)
    path = settings.out / "synth" / "source.csv"
    dicts = combined_rows(replace(source, rows=rows), (), path.parent)
    return _manifest_of(path, dicts, inputs={"the manifest": source.path})


def _synth_step(settings, record, progress, source, variant, outcome) -> Manifest:
    from weirdkinetics import api
    from weirdkinetics.synth.variants import NEEDS_BACKGROUND

    folder = settings.out / "synth" / variant
    made_from = _synth_made_from(settings, variant, source)
    key = f"synth:{variant}"
    entry = record.done(key, made_from)
    if entry is not None and (folder / "manifest.csv").exists():
        derived = read_manifest(folder / "manifest.csv")
        if derived.digest == entry.get("manifest_sha256") and all(
            r.path.exists() for r in derived.rows if r.extra.get("synth_status") == "ok"
        ):
            outcome.reused.append(key)
            return derived
    units = len(source.rows) * UNIT_COST["synth"]
    progress.begin(f"synth {variant}: {len(source.rows)} source video(s)", units)
    result = api.synthesize(
        variant,
        source.path,
        folder,
        backgrounds=settings.backgrounds if variant in NEEDS_BACKGROUND else None,
        segmenter=settings.segmenter,
        seed=settings.seed,
        options=settings.synth_options,
        progress=progress.enabled,
        engine=settings.engine,
        address=settings.address,
        actors=settings.actors,
    )
    derived = read_manifest(result.manifest)
    record.finish(key, made_from, manifest_sha256=derived.digest, counts=result.counts)
    progress.end(units)
    outcome.computed.append(key)
    return derived


def _evaluated(store_path: Path, run_id: str, manifest: Manifest) -> bool:
    """True when the store holds a final row for every row of ``manifest`` in run ``run_id``."""
    from weirdkinetics.parquet_store import open_store

    if not store_path.exists():
        return False
    with open_store(store_path, read_only=True) as store:
        stored = store.statuses(run_id)
    return all((str(r.path), r.video_id) in stored for r in manifest.rows)


def _evaluate_step(settings, record, progress, manifest, outcome) -> None:
    """Evaluate, in one pass, every model whose run does not yet hold every row of the study manifest."""
    from weirdkinetics import api

    store = study_store(settings)
    made_from = {
        "manifest_sha256": manifest.digest,
        "classes": settings.classes,
        "label_map": str(settings.label_map) if settings.label_map else None,
        "precision": settings.precision,
    }
    pending = []
    for model in settings.models:
        key = f"evaluate:{model.key}"
        entry = record.done(key, made_from)
        if entry is not None and _evaluated(store, entry["run_id"], manifest) and not settings.retry_errors:
            outcome.run_ids[model.key] = entry["run_id"]
            outcome.reused.append(key)
        else:
            pending.append(model)
    if not pending:
        return
    units = len(manifest.rows) * len(pending) * UNIT_COST["evaluate"]
    names = ", ".join(m.label or m.name for m in pending)
    progress.begin(f"evaluate {len(pending)} model(s) ({names}) on {len(manifest.rows)} video(s)", units)
    result = api.evaluate(
        manifest.path,
        [m.name for m in pending],
        settings.out,
        weights=[m.weights for m in pending] if any(m.weights for m in pending) else None,
        store_path=store,
        classes=settings.classes,
        label_map=settings.label_map,
        batch_size=settings.batch_size,
        device=settings.device,
        progress=progress.enabled,
        run_labels=[m.label for m in pending],
        precision=settings.precision,
        decode_workers=settings.decode_workers,
        engine=settings.engine,
        address=settings.address,
        actors=settings.actors,
        retry_errors=settings.retry_errors,
    )
    for model, run_id in zip(pending, result.run_ids):
        record.finish(f"evaluate:{model.key}", made_from, run_id=run_id)
        outcome.run_ids[model.key] = run_id
        outcome.computed.append(f"evaluate:{model.key}")
    progress.end(units)


def _explain_manifest(settings: StudySettings, source: Manifest) -> Manifest:
    """The originals to explain: all, or ``explain_per_class`` recordings per class as ``OUT/explain.csv``."""
    rows = explain_subset_rows(source.rows, settings.explain_per_class)
    if len(rows) == len(source.rows):
        return source
    path = settings.out / "explain.csv"
    dicts = combined_rows(replace(source, rows=rows), (), settings.out)
    return _manifest_of(path, dicts)


def _method_settings(settings: StudySettings, model: StudyModel) -> dict[str, str]:
    """Each explain method's settings key as this code makes it (``ExplainSettings.key``), for the study's
    own defaults (the segmenter's own settings and the class subset are in ``made_from`` already)."""
    from weirdkinetics.attribution import ExplainSettings
    from weirdkinetics.models import get_card

    card = get_card(model.name)
    defaults = ExplainSettings(segmenter=settings.segmenter)
    return {method: defaults.key(method, card) for method in settings.explain}


def _explain_step(settings, record, progress, manifest, model, outcome) -> None:
    from weirdkinetics import api

    made_from = {
        "manifest_sha256": manifest.digest,
        "methods": list(settings.explain),
        "segmenter": settings.segmenter,
        "classes": settings.classes,
        "evaluated_run": outcome.run_ids.get(model.key),
        # what the code measures (e.g. the deletion check's random baseline): a newer weirdkinetics whose
        # instruments changed explains again instead of reusing the step; explain itself then reuses every
        # stored row whose settings did not change
        "method_settings": _method_settings(settings, model),
        # the rows live in the store: a study run again into another --store explains into that one
        "store": str(study_store(settings)),
    }
    key = f"explain:{model.key}"
    done = record.done(key, made_from)
    if done is not None and not settings.retry_errors:
        outcome.settings_keys[model.key] = done.get("settings_keys") or {}
        outcome.reused.append(key)
        return
    units = len(manifest.rows) * len(settings.explain) * UNIT_COST["explain"]
    progress.begin(
        f"explain {model.label or model.name} ({', '.join(settings.explain)}) on {len(manifest.rows)} video(s)",
        units,
    )
    result = api.explain(
        manifest.path,
        model.name,
        settings.out,
        weights=model.weights,
        methods=list(settings.explain),
        segmenter=settings.segmenter,
        classes=settings.classes,
        store_path=study_store(settings),
        device=settings.device,
        progress=progress.enabled,
        run_label=model.label,
        engine=settings.engine,
        address=settings.address,
        actors=settings.actors,
        retry_errors=settings.retry_errors,
    )
    record.finish(key, made_from, run_id=result.run_id, settings_keys=result.settings_keys)
    outcome.settings_keys[model.key] = result.settings_keys or {}
    outcome.computed.append(key)
    progress.end(units)


def leaderboard_of(
    models: Sequence[StudyModel],
    run_ids: dict[str, str],
    method: str | None,
    n_boot: int,
    seed: int,
    settings_keys: dict[str, dict[str, str]] | None = None,
):
    """The function ``api.report_runs`` calls to make the board from the report's own numbers: one row per
    model in the study's order (its run's section is the detailed one), the background share from
    ``method``'s attribution records (the normalised background score). settings_keys: per model, the
    settings key this study's explain step stored ``method``'s rows under; a store that also holds rows of
    other settings (an earlier version's instruments, another segmenter) gives those to the report's
    details only, never to the board, where each video would count twice."""
    from weirdkinetics.metrics import leaderboard as lb

    def board(contents, records: dict[str, list[dict]]):
        by_run = {section.run.run_id: section for section in contents.runs}
        rows = []
        for model in models:
            section = by_run.get(run_ids.get(model.key, ""))
            if section is None:
                continue
            score = None
            mine = _own_records(
                records.get(section.run.run_id, []), (settings_keys or {}).get(model.key), method
            )
            if method and model.explain and mine:
                score = lb.background_score(mine, method, n_boot=n_boot, seed=seed)
            rows.append(
                lb.model_row(
                    section.run.model,
                    section.run.run_id,
                    section.metrics,
                    section.variants,
                    lb.originals_accuracy(section.run),
                    score,
                    reference=model.reference,
                )
            )
        return lb.leaderboard(rows)

    return board


def _own_records(records: list[dict], keys: dict[str, str] | None, method: str | None) -> list[dict]:
    """The records of ``method`` made with the study's own settings (all of them when the step recorded no
    key: a study.json written before keys were recorded)."""
    wanted = (keys or {}).get(method or "")
    return [r for r in records if wanted is None or r.get("settings_key") == wanted]


def _check_before_work(settings: StudySettings) -> tuple[Path, Manifest]:
    """Every check that needs no output: settings, model names, methods, segmenter, the manifest and the
    synth split. Returns the output folder and the source manifest."""
    from weirdkinetics import api
    from weirdkinetics.attribution import check_methods
    from weirdkinetics.models import get_card
    from weirdkinetics.synth.segment import check_segmenter_name

    check_settings(settings)
    out = check_output_dir(settings.out, option("out"))
    # the study's own files: none may be a device, a FIFO or a link (outputs.check_target), before any work
    fixed = ["study.json", "study.csv", "explain.csv", api.DEFAULT_STORE, "synth/source.csv"]
    fixed += [f"synth/{v}/{name}" for v in settings.variants for name in ("manifest.csv", "synth.json")]
    check_outputs({f"the study's {name}": out / name for name in fixed} | api.report_outputs(out / "report"))
    if settings.explain:  # attributions stay in SQLite: a Parquet store is refused before any work
        from weirdkinetics.parquet_store import refuse_for_attributions

        refuse_for_attributions(settings.store)
    for model in settings.models:  # unknown names and bad methods fail before any work
        card = get_card(model.name)
        if settings.explain and model.explain:
            check_methods(card, list(settings.explain))
    check_segmenter_name(settings.segmenter)
    source = read_manifest(settings.manifest)
    _synth_rows(settings, source)  # a split no row has fails before any work
    return out, source


def _plan_size(settings: StudySettings, source: Manifest, synth_source: Manifest) -> float:
    """The whole plan's work in ``UNIT_COST``-weighted units, for the progress line's ETA."""
    n_synth = len(synth_source.rows) * len(settings.variants)
    explained = sum(m.explain for m in settings.models) if settings.explain else 0
    n_explain = len(explain_subset_rows(source.rows, settings.explain_per_class)) * len(settings.explain)
    return (
        n_synth * UNIT_COST["synth"]
        + (len(source.rows) + n_synth) * len(settings.models) * UNIT_COST["evaluate"]
        + n_explain * explained * UNIT_COST["explain"]
    )


def _study_manifest(source: Manifest, derived: list[Manifest], out: Path) -> Manifest:
    """``OUT/study.csv``: the originals and every derived row, rewritten only when its rows change."""
    rows = combined_rows(source, derived, out)
    path = out / "study.csv"
    return _manifest_of(path, rows, inputs={"the manifest": source.path})


def _manifest_of(path: Path, rows: list[dict], inputs: dict | None = None) -> Manifest:
    """The manifest at ``path`` holding ``rows``: read once and kept when it already holds them (so a rerun
    rewrites nothing), else written (atomically, never onto ``inputs``) and read back."""
    if path.exists():
        current = read_manifest(path)
        if [r.to_dict() for r in current.rows] == rows:
            return current
    path.parent.mkdir(parents=True, exist_ok=True)
    return read_manifest(write_manifest(path, rows, inputs=inputs))


def _report(
    settings: StudySettings, manifest: Manifest, outcome: StudyOutcome, explained_by: dict[str, str]
) -> None:
    """One report of every model's run, in the study's order, with the leaderboard on top. explained_by:
    ``{evaluated run id: explain run id}`` for the cards whose explain clips differ from their evaluation's."""
    from weirdkinetics import api

    run_ids = [outcome.run_ids[m.key] for m in settings.models]
    order = {rid: i for i, rid in enumerate(run_ids)}
    runs = api.load_results(outcome.store, run_ids, manifest)
    runs = sorted((r for r in runs if r.run_id in order), key=lambda r: order[r.run_id])
    method = settings.explain[0] if settings.explain else None
    board = leaderboard_of(
        settings.models, outcome.run_ids, method, settings.n_boot, settings.seed, outcome.settings_keys
    )
    report = api.report_runs(
        runs, outcome.out / "report", seed=settings.seed, n_boot=settings.n_boot, store=outcome.store,
        board=board, explained_by=explained_by,
    )  # fmt: skip
    outcome.report, outcome.leaderboard, outcome.contents = report.files, report.leaderboard, report.contents


def _explain_steps(settings, record, bar, source, outcome) -> dict[str, str]:
    """Explain every model that is explained; return ``{evaluated run id: explain run id}`` for those whose
    explain run is not their evaluated one (a card whose default sampling is not dense, e.g. ``i3d_inception``
    scoring whole videos: explain takes the card's fixed-length clips and stores its rows under a run of its
    own, which then stands for the evaluated run in the report and the leaderboard)."""
    explained = [m for m in settings.models if m.explain] if settings.explain else []
    if not explained:
        return {}
    to_explain = _explain_manifest(settings, source)
    aliases = {}
    for model in explained:
        _explain_step(settings, record, bar, to_explain, model, outcome)
        explain_run = record.steps[f"explain:{model.key}"]["run_id"]
        if explain_run != outcome.run_ids[model.key]:
            aliases[outcome.run_ids[model.key]] = explain_run
            print(
                f"note: {model.label or model.name}: explained on the card's explain clips (run {explain_run}), "
                "not on its evaluation's sampling; the report and the leaderboard say so",
                file=sys.stderr,
            )
    return aliases


@locks_folder("settings", option("out"), attr="out")
def run_study(settings: StudySettings, progress: bool = True) -> StudyOutcome:
    """Run (or continue) the study described by ``settings``; return what it wrote (see the module doc)."""

    settings = checked_settings(settings)
    out, source = _check_before_work(settings)
    settings = replace(settings, out=out)
    if settings.random_reference:
        models = with_random_references(settings.models, settings.seed, bool(settings.explain))
        settings = replace(settings, models=models)
    out.mkdir(parents=True, exist_ok=True)
    record = _Record(out / "study.json")
    outcome = StudyOutcome(out, study_store(settings), out / "study.csv", {}, None, {})
    synth_source = _synth_source(settings, source)
    bar = _Progress(_plan_size(settings, source, synth_source), progress)

    derived = [_synth_step(settings, record, bar, synth_source, v, outcome) for v in settings.variants]
    derived += [read_manifest(path) for path in settings.derived]
    manifest = _study_manifest(source, derived, out)
    _evaluate_step(settings, record, bar, manifest, outcome)
    explained_by = _explain_steps(settings, record, bar, source, outcome)
    if progress:
        print(f"[study] report of {len(settings.models)} model(s)", flush=True)
    _report(settings, manifest, outcome, explained_by)
    return outcome


def print_top(outcome: StudyOutcome, rows: int = 5) -> None:
    """The top of the leaderboard (each model's numbers with their intervals, one line per column), the
    first summary sentences, and where the report is."""
    from weirdkinetics.metrics.leaderboard import format_estimate

    board = outcome.leaderboard
    if board is not None and board.rows:
        print(
            "\nleaderboard (95% intervals; ↑ higher / ↓ lower is better; the report sorts by every column):"
        )
        for r in board.rows[:rows]:
            print(f"  {r.model}{' (reference)' if r.reference else ''}")
            for c in board.columns:
                arrow = "↑" if c.better == "higher" else "↓"
                print(f"    {c.title + ' ' + arrow:<32} {format_estimate(r.cell(c.key), c)}")
        if board.findings:
            print("summary (only where intervals separate):")
        for f in board.findings[:3]:
            print(f"  - {f.sentence}")
    print(f"\nreport: {outcome.report.get('html')}")

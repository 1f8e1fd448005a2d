"""Command line: a thin shim over ``weirdkinetics.api``. User errors exit 1 with one clear message."""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

from weirdkinetics import __version__
from weirdkinetics.errors import UserError, option, render_options
from weirdkinetics.outputs import check_output_file
from weirdkinetics.params import MAX_SEED, MAX_SIDE  # the API checks the same ranges


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    pass


class _Parser(argparse.ArgumentParser):
    """Usage mistakes end in one line (exit 2) that names the option and where to read more."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


def _int_option(low: int, high: int):
    """argparse type: a whole number in [low, high], else a one-line usage error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range: use {low} to {high}")
        return value

    return parse


def _fraction_option(text: str) -> float:
    """argparse type: a number from 0 to 1, else a one-line usage error."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"{text} is out of range: use 0 to 1")
    return value


def _clips_option(text: str) -> str:
    from weirdkinetics.sampling import parse_clips

    try:
        parse_clips(text)
    except UserError as exc:  # argparse names the flag and the value itself
        head = render_options(option("clips", text), flag) + ": "
        raise argparse.ArgumentTypeError(exc.render(flag).removeprefix(head)) from None
    return text


# API parameter -> the flag that sets it, where the two names differ beyond "_" for "-"
_FLAGS = {
    "models": "--model",
    "methods": "--method",
    "run_ids": "--run",
    "out_dir": "--out",
    "store_path": "--store",
    "manifest_path": "--manifest",
    "source": "--store or --predictions",
    "category": "--background-category",  # SynthOptions' fields
    "choice": "--background-rule",
}


def flag(name: str) -> str:
    """The command-line flag of the API parameter ``name`` (``store_path`` -> ``--store``): how the CLI
    renders the options a ``UserError`` names (``errors.option``)."""
    return _FLAGS.get(name, "--" + name.replace("_", "-"))


def _path_option(text: str) -> str:
    """argparse type for paths: a NUL byte can never be part of a path."""
    if "\x00" in text:
        raise argparse.ArgumentTypeError(
            f"{text.replace(chr(0), '<NUL>')!r} contains a NUL byte; no path can"
        )
    return text


def _sub(subparsers, name: str, help: str, example: str) -> argparse.ArgumentParser:
    return subparsers.add_parser(
        name, help=help, description=help, epilog=f"example:\n  {example}", formatter_class=_Formatter
    )


def _print_summary(outcome) -> None:
    s = outcome.summary
    print(
        f"\n{s.computed} prediction(s) computed, {s.reused} reused from {outcome.store} in {s.seconds:.1f} s"
    )
    for run_id, model in zip(outcome.run_ids, outcome.models):
        counts = s.counts[run_id]
        total = sum(counts.values())
        print(
            f"\n{model} (run {run_id}): {total} video(s): "
            + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        )
        for split, by in sorted(s.by_split[run_id].items()):
            n = sum(by.values())
            print(f"  {split}: {n} video(s): " + ", ".join(f"{k} {v}" for k, v in sorted(by.items())))
    print(f"\nstore: {outcome.store}")
    if outcome.export:
        print(f"export: {outcome.export}")
    if outcome.report:
        print(f"report: {outcome.report.get('html', outcome.out_dir)}")


def _engine_options(parser: argparse.ArgumentParser) -> None:
    """--engine, --address and --actors: where the work runs (this machine, or Ray)."""
    parser.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this machine; ray: a Ray cluster (--address) or a local Ray (pip install 'weirdkinetics[ray]')",
    )
    parser.add_argument(
        "--address",
        help="with --engine ray: the cluster, auto (this node's) or ray://HOST:10001 (default: start a local Ray)",
    )
    parser.add_argument(
        "--actors",
        type=_int_option(1, 4096),
        help="with --engine ray: Ray actors doing the work (evaluate: each holds the models, default one per GPU "
        "with cuda, else half the CPUs; explain: each holds the model and segmenter, default one per GPU with "
        "cuda, else one per CPU; synth: default one per CPU)",
    )


def _retry_option(parser: argparse.ArgumentParser) -> None:
    """--retry-errors: for the commands that store rows (evaluate, explain, study)."""
    parser.add_argument(
        "--retry-errors",
        action="store_true",
        help="compute again the stored rows that ended decode_error because a worker process died on them "
        "(their reason says so); genuine decode errors stay. With --engine local it shows FFmpeg's own error",
    )


def _engine_args(a) -> dict:
    """The engine options as keyword arguments; none for the local engine, so its calls stay as they were."""
    if a.engine == "local" and a.address is None and a.actors is None:
        return {}
    return {"engine": a.engine, "address": a.address, "actors": a.actors}


def cmd_evaluate(a) -> int:
    from weirdkinetics import api

    outcome = api.evaluate(
        a.manifest,
        a.model,
        a.out,
        weights=a.weights,
        store_path=a.store,
        classes=a.classes,
        label_map=a.label_map,
        clips=a.clips,
        crops=a.crops,
        batch_size=a.batch_size,
        device=a.device,
        export=a.export,
        report=a.report,
        progress=not a.no_progress,
        precision=a.precision,
        compile=a.compile,
        decode_workers=a.decode_workers,
        retry_errors=a.retry_errors,
        **_engine_args(a),
    )
    _print_summary(outcome)
    return 0


def cmd_explain(a) -> int:
    from weirdkinetics import api

    outcome = api.explain(
        a.manifest,
        a.model,
        a.out,
        weights=a.weights,
        methods=a.method,
        segmenter=a.segmenter,
        segmenter_weights=a.segmenter_weights,
        clips=a.clips,
        target=a.target,
        classes=a.classes,
        store_path=a.store,
        mask_cache=a.mask_cache,
        device=a.device,
        batch_size=a.batch_size,
        report=a.report,
        progress=not a.no_progress,
        retry_errors=a.retry_errors,
        **_engine_args(a),
    )
    s = outcome.summary
    print(
        f"\n{s.computed} attribution row(s) computed, {s.reused} reused from {outcome.store} in {s.seconds:.1f} s"
    )
    for method in outcome.methods:
        counts = s.counts.get(method, {})
        took = s.seconds_per_video.get(method)
        per = f" ({took:.2f} s per video)" if took is not None else ""
        print(
            f"{outcome.model} (run {outcome.run_id}) {method}: "
            + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            + per
        )
    if outcome.report:
        print(f"report: {outcome.report.get('html', outcome.out_dir)}")
    return 0


def cmd_validate(a) -> int:
    from weirdkinetics import api

    problems = api.validate(a.manifest, a.model, a.label_map, flag=flag)
    if problems:
        print(f"{a.manifest}: {len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print(f"{a.manifest}: valid")
    return 0


def cmd_manifest_from_folder(a) -> int:
    from weirdkinetics.manifest import from_folder, write_manifest

    out = check_output_file(a.output, "-o")
    rows = from_folder(a.root, relative_to=out.resolve().parent)
    write_manifest(out, rows)
    print(f"{out}: {len(rows)} row(s)")
    return 0


def cmd_manifest_from_kinetics(a) -> int:
    from weirdkinetics.labels import read_class_file
    from weirdkinetics.manifest import from_kinetics, write_manifest

    out = check_output_file(a.output, "-o")
    classes = read_class_file(a.classes) if a.classes else None
    rows = from_kinetics(a.annotations, a.videos, classes, relative_to=out.resolve().parent)
    inputs = {"the annotations": Path(a.annotations)} | ({"--classes": Path(a.classes)} if a.classes else {})
    write_manifest(out, rows, inputs=inputs)
    base = out.resolve().parent
    missing = sum(1 for r in rows if not (base / r["path"]).exists())
    print(f"{out}: {len(rows)} row(s), {missing} with no file (evaluated as status 'missing')")
    return 0


def cmd_models(a) -> int:
    from weirdkinetics.models.cards import describe_cards

    cards = describe_cards()
    if a.json:
        print(json.dumps(cards, indent=2))
        return 0
    rows = [("name", "zoo", "family", "protocol", "top-1", "extra")]
    for c in cards:
        top1 = f"{c['top1']:.2f}" if c["top1"] is not None else "-"
        rows.append((c["name"], c["zoo"], c["family"] or "-", c["protocol"], top1, c["extra"] or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
    notes = [(c["name"], c["note"]) for c in cards if c["note"]]
    if notes:
        print("\nnotes:")
        for name, note in notes:
            print(f"  {name}: {note}")
    return 0


def cmd_report(a) -> int:
    from weirdkinetics import api

    source = a.predictions or a.store
    if not source:
        raise UserError("give --store OUT/predictions.sqlite or --predictions FILE.csv")
    manifest = None
    if a.manifest:
        from weirdkinetics.manifest import read_manifest

        manifest = read_manifest(a.manifest)
    paths = api.make_report(source, a.out, run_ids=a.run, manifest=manifest, seed=a.seed)
    print(f"report: {paths.get('html')}")
    return 0


def fill_colour(text: str) -> tuple[int, int, int]:
    """``R,G,B`` (0-255) or a registered model's name (its normalisation mean x 255)."""
    parts = text.split(",")
    if len(parts) == 3 and all(p.strip().isdigit() and int(p) <= 255 for p in parts):
        return tuple(int(p) for p in parts)
    from weirdkinetics.models import get_card

    return tuple(int(round(255 * m)) for m in get_card(text).mean)


def cmd_synth(a) -> int:
    from weirdkinetics import api
    from weirdkinetics.synth.generate import SynthOptions

    options = SynthOptions(
        choice=a.background_rule,
        category=a.background_category,
        max_side=a.max_side,
        confirm_person=not a.no_people_check,
        exclude_low_quality=not a.keep_low_quality,
        min_people_frames=a.min_people_frames,
    )
    if a.fill_colour:
        options = replace(options, colour=fill_colour(a.fill_colour))
    result = api.synthesize(
        a.variant,
        a.manifest,
        a.out,
        backgrounds=a.backgrounds,
        segmenter=a.segmenter,
        seed=a.seed,
        weights=a.weights,
        options=options,
        progress=not a.no_progress,
        **_engine_args(a),
    )
    if result.counts and a.no_progress:  # with progress, synthesize prints them itself
        print("rows: " + ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items())))
    print(f"manifest: {result.manifest}")
    return 0


def _study_model_lists(a) -> tuple[list[str], list[str]]:
    """``--weights`` and ``--label`` (one per ``--model`` or none), after checking that every ``--reference``
    names a ``--model`` (else it would be ignored silently and the row compared as any other)."""
    weights = list(a.weights or [])
    if weights and len(weights) != len(a.model):
        raise UserError(f"{len(weights)} --weights for {len(a.model)} --model: give one per model, in order")
    unknown = [r for r in (a.reference or []) if r not in a.model]
    if unknown:
        raise UserError(
            f"--reference {', '.join(unknown)}: not a --model of this study ({', '.join(a.model)}); "
            "give the name of one of them, or add it with --model"
        )
    labels = list(a.label or [])
    if labels and len(labels) != len(a.model):
        raise UserError(f"{len(labels)} --label for {len(a.model)} --model: give one per model, in order")
    return weights, labels


def cmd_study(a) -> int:
    from weirdkinetics.study import StudyModel, StudySettings, parse_variants, print_top, run_study

    weights, labels = _study_model_lists(a)
    models = tuple(
        StudyModel(
            name,
            (weights[i] or None) if weights else None,
            labels[i] if labels else "",
            reference=name in (a.reference or []),
        )
        for i, name in enumerate(a.model)
    )
    settings = StudySettings(
        manifest=Path(a.manifest),
        models=models,
        out=Path(a.out),
        variants=parse_variants(a.variants),
        synth_split=a.synth_split,
        backgrounds=Path(a.backgrounds) if a.backgrounds else None,
        segmenter=a.segmenter,
        seed=a.seed,
        explain=tuple(dict.fromkeys(a.explain or [])),
        explain_per_class=a.explain_per_class,
        random_reference=not a.no_random_reference,
        classes=a.classes,
        label_map=Path(a.label_map) if a.label_map else None,
        device=a.device,
        batch_size=a.batch_size,
        engine=a.engine,
        address=a.address,
        actors=a.actors,
        retry_errors=a.retry_errors,
    )
    outcome = run_study(settings, progress=not a.no_progress)
    print_top(outcome)
    return 0


def cmd_demo(a) -> int:
    from weirdkinetics.demo.run import run_demo

    run_demo(a.out, model=a.model, weights=a.weights, small=a.small, seed=a.seed)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="weirdkinetics",
        description="Measure how much video action-recognition models look at the background instead of the person.",
        epilog="example:\n  weirdkinetics demo\n  weirdkinetics evaluate --model i3d_r50 --manifest videos.csv --out results --report",
        formatter_class=_Formatter,
    )
    p.add_argument("--version", action="version", version=f"weirdkinetics {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    e = _sub(
        sub,
        "evaluate",
        "Evaluate models on a manifest of videos (resumable).",
        "weirdkinetics evaluate --model i3d_r50 --manifest videos.csv --out results --classes manifest --report",
    )
    e.add_argument("--model", action="append", required=True, help="model card name (repeat for several)")
    e.add_argument(
        "--manifest",
        required=True,
        type=_path_option,
        help="manifest CSV (path,label,split[,background,video_id,source_id])",
    )
    e.add_argument("--out", required=True, type=_path_option, help="output folder")
    e.add_argument(
        "--weights",
        action="append",
        type=_path_option,
        help="checkpoint PATH, snapshot DIR, or random[:SEED]; one per --model (default: the card's published weights via the torch hub cache)",
    )
    e.add_argument("--store", type=_path_option, help="SQLite store (default OUT/predictions.sqlite)")
    e.add_argument(
        "--classes",
        default="all",
        type=_path_option,
        help="class subset: all, manifest (the manifest's labels), or FILE (one per line)",
    )
    e.add_argument(
        "--label-map", type=_path_option, help="CSV 'from,to' mapping manifest labels to model labels"
    )
    e.add_argument(
        "--clips",
        default=None,
        type=_clips_option,
        help="dense (clips every card's spacing, as many as the video holds), uniform:N, segments:N[xV] "
        "(TSN: N equal segments, one frame each), or whole:N (every frame, in passes of at most N "
        "consecutive frames); at most 1000 views (clips x crops) per video for uniform and segments; "
        "default: the card's (see `weirdkinetics models`)",
    )
    e.add_argument(
        "--crops",
        type=int,
        choices=(1, 3),
        default=None,
        help="1 centre crop or 3 along the long side (default: the card's)",
    )
    e.add_argument(
        "--batch-size",
        type=_int_option(1, 1024),
        default=None,
        help="clips per forward pass, 1 to 1024 (default: 1 on CPU, 32 on CUDA, filled across videos)",
    )
    e.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:N or mps")
    e.add_argument(
        "--precision",
        choices=("fp32", "bf16", "fp16"),
        default="fp32",
        help="fp32 is exact; bf16 (CPU/CUDA) and fp16 (CUDA) autocast, several times faster, recorded as a separate run",
    )
    e.add_argument("--compile", action="store_true", help="torch.compile each model (pays off on long runs)")
    e.add_argument(
        "--decode-workers",
        type=_int_option(1, 64),
        default=None,
        help="processes that decode videos, 1 to 64 (default: 1 on CPU, cores-1 on CUDA)",
    )
    _engine_options(e)
    _retry_option(e)
    e.add_argument("--export", type=_path_option, help="write one CSV row per manifest row to this file")
    e.add_argument("--report", action="store_true", help="also write the report into OUT")
    e.add_argument("--no-progress", action="store_true", help="no progress bar")
    e.set_defaults(func=cmd_evaluate)

    x = _sub(
        sub,
        "explain",
        "Where does a model look? Saliency against person masks: background share, deletion check, occlusion (resumable).",
        "weirdkinetics explain --model i3d_r50 --manifest videos.csv --out results --method gradcam --segmenter mediapipe\n"
        "  weirdkinetics explain --engine ray --address auto --device cuda --model i3d_r50 --manifest videos.csv --out results",
    )
    x.add_argument("--model", required=True, help="model card name")
    x.add_argument("--manifest", required=True, help="manifest CSV")
    x.add_argument("--out", required=True, help="output folder (store, mask cache)")
    x.add_argument(
        "--weights",
        help="checkpoint PATH, snapshot DIR, or random[:SEED] (default: the card's published weights)",
    )
    x.add_argument(
        "--method",
        action="append",
        choices=["gradcam", "occlusion"],
        help="repeat for several (default: every method the card supports)",
    )
    x.add_argument(
        "--segmenter",
        default="mediapipe",
        help="person masks: mediapipe, mediapipe-landscape, mediapipe-pose, true (the manifest's mask_path), deeplabv3_resnet50, deeplabv3_mobilenet_v3_large",
    )
    x.add_argument("--segmenter-weights", help="checkpoint for the torchvision segmenters")
    x.add_argument(
        "--clips",
        default="centre",
        choices=["centre", "all"],
        help="one centre clip per video, or all the card's dense clips",
    )
    x.add_argument(
        "--target", default="true", choices=["true", "pred"], help="explain the true label or the prediction"
    )
    x.add_argument(
        "--classes",
        default="all",
        help="class subset: all, manifest, or FILE (scores restricted as in evaluate)",
    )
    x.add_argument("--store", help="SQLite store (default OUT/predictions.sqlite)")
    x.add_argument("--mask-cache", help="mask cache folder (default OUT/mask-cache)")
    x.add_argument(
        "--batch-size",
        type=_int_option(1, 1024),
        default=8,
        help="clips per forward pass (deletion curves), 1 to 1024",
    )
    x.add_argument(
        "--device",
        default="cpu",
        help="torch device, e.g. cpu or cuda (with --engine ray: the actors', one GPU each)",
    )
    _engine_options(x)
    _retry_option(x)
    x.add_argument("--report", action="store_true", help="also write the report into OUT")
    x.add_argument("--no-progress", action="store_true", help="no progress bar")
    x.set_defaults(func=cmd_explain)

    v = _sub(
        sub,
        "validate",
        "Report every problem of a manifest at once (exit 1 if any).",
        "weirdkinetics validate videos.csv --model i3d_r50",
    )
    v.add_argument("manifest", type=_path_option)
    v.add_argument("--model", help="also check labels against this model's label space")
    v.add_argument(
        "--label-map", type=_path_option, help="CSV 'from,to' mapping manifest labels to model labels"
    )
    v.set_defaults(func=cmd_validate)

    m = _sub(
        sub, "manifest", "Build manifests.", "weirdkinetics manifest from-folder videos/ -o manifest.csv"
    )
    msub = m.add_subparsers(dest="manifest_command", required=True, metavar="SOURCE")
    f = _sub(
        msub,
        "from-folder",
        "Manifest from ROOT/<split>/<label>/<video>.",
        "weirdkinetics manifest from-folder data/ -o manifest.csv",
    )
    f.add_argument("root", type=_path_option)
    f.add_argument("-o", "--output", required=True, type=_path_option)
    f.set_defaults(func=cmd_manifest_from_folder)
    k = _sub(
        msub,
        "from-kinetics",
        "Manifest (split 'kinetics') from the official Kinetics annotation CSV.",
        "weirdkinetics manifest from-kinetics validate.csv --videos kinetics/val --classes classes.txt -o kinetics.csv",
    )
    k.add_argument("annotations", type=_path_option)
    k.add_argument(
        "--videos",
        required=True,
        type=_path_option,
        help="folder of <youtube_id>_<start:06d>_<end:06d>.mp4 files",
    )
    k.add_argument("--classes", type=_path_option, help="keep only these classes (one per line)")
    k.add_argument("-o", "--output", required=True, type=_path_option)
    k.set_defaults(func=cmd_manifest_from_kinetics)

    ms = _sub(
        sub,
        "models",
        "List model cards with their input protocol and reported accuracy.",
        "weirdkinetics models --json",
    )
    ms.add_argument("--json", action="store_true", help="every card's protocol and numbers as JSON")
    ms.set_defaults(func=cmd_models)

    r = _sub(
        sub,
        "report",
        "Write the report from a store or a predictions CSV.",
        "weirdkinetics report --store results/predictions.sqlite --out results",
    )
    r.add_argument("--store", type=_path_option, help="SQLite store written by evaluate")
    r.add_argument(
        "--predictions",
        type=_path_option,
        help="CSV from any tool: video_id,label,pred[,split,background,source_id,score:<class>...]",
    )
    r.add_argument("--run", action="append", help="run id (or model name) to include; repeat (default: all)")
    r.add_argument("--manifest", type=_path_option, help="only the rows of this manifest")
    r.add_argument("--out", required=True, type=_path_option)
    r.add_argument("--seed", type=_int_option(0, MAX_SEED), default=0, help="seed of the bootstrap intervals")
    r.set_defaults(func=cmd_report)

    s = _sub(
        sub,
        "synth",
        "Make out-of-context videos from a manifest: swap, person-only, background-only, static-background, static-person.",
        "weirdkinetics synth swap --manifest videos.csv --out swapped --backgrounds backgrounds/",
    )
    s.add_argument(
        "variant", choices=["swap", "person-only", "background-only", "static-background", "static-person"]
    )
    s.add_argument("--manifest", required=True, type=_path_option)
    s.add_argument("--out", required=True, type=_path_option)
    s.add_argument(
        "--backgrounds",
        type=_path_option,
        help="library folder: one sub-folder of images or videos per category",
    )
    s.add_argument(
        "--segmenter",
        default="mediapipe",
        help="person segmenter: mediapipe, mediapipe-landscape, mediapipe-pose, true (the manifest's mask_path), deeplabv3_resnet50, deeplabv3_mobilenet_v3_large (these two need --weights)",
    )
    s.add_argument("--weights", type=_path_option, help="checkpoint for the torchvision segmenters")
    s.add_argument(
        "--background-rule",
        choices=["other", "fixed"],
        default="other",
        help="other: any category but the source's background and class; fixed: always --background-category",
    )
    s.add_argument("--background-category", help="the category used by --background-rule fixed")
    s.add_argument(
        "--max-side",
        type=_int_option(*MAX_SIDE),
        help=f"downscale sources to this longest side first ({MAX_SIDE[0]} to {MAX_SIDE[1]})",
    )
    s.add_argument(
        "--no-people-check",
        action="store_true",
        help="do not exclude videos where the pose detector finds too few people",
    )
    s.add_argument(
        "--min-people-frames",
        type=_fraction_option,
        default=0.125,
        help="exclude a video when the pose detector finds a person in fewer than this fraction of its 8 checked frames (0 to 1; default 0.125: one detection)",
    )
    s.add_argument(
        "--fill-colour",
        metavar="R,G,B|MODEL",
        help="person-only's and silhouette's flat colour: R,G,B (0-255) or a model whose normalisation mean to "
        "use, so the fill is 0 after normalising (default 115,115,115: Kinetics' 0.45)",
    )
    s.add_argument(
        "--keep-low-quality",
        action="store_true",
        help="keep videos whose person mask is too small or missing",
    )
    s.add_argument("--seed", type=_int_option(0, MAX_SEED), default=0, help="seed of the background choice")
    _engine_options(s)
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_synth)

    st = _sub(
        sub,
        "study",
        "The whole study across many models in one resumable command: synth variants, evaluate every model "
        "on the originals and every variant, explain, one report with a background-reliance leaderboard.",
        "weirdkinetics study --manifest videos.csv --model i3d_r50 --model x3d_m --out study "
        "--variants swap,person-only,background-only --explain gradcam",
    )
    st.add_argument(
        "--manifest", required=True, type=_path_option, help="manifest CSV of the original videos"
    )
    st.add_argument("--model", action="append", required=True, help="model card name (repeat for several)")
    st.add_argument(
        "--out", required=True, type=_path_option, help="output folder (derived sets, store, report)"
    )
    st.add_argument(
        "--weights",
        action="append",
        type=_path_option,
        help="checkpoint PATH, snapshot DIR or random[:SEED]; one per --model, in order (default: published)",
    )
    st.add_argument("--label", action="append", help="how the report names each --model, in order")
    st.add_argument(
        "--reference",
        action="append",
        help="a --model shown as a reference row (e.g. random weights), not compared in the summary",
    )
    st.add_argument(
        "--variants",
        default="swap,person-only,background-only,static-background,static-person",
        help="comma-separated synth variants to derive (each once, reused across models and reruns), or none",
    )
    st.add_argument(
        "--synth-split", help="derive the variants from the rows of this split only (default: every row)"
    )
    st.add_argument(
        "--backgrounds",
        type=_path_option,
        help="background library (one sub-folder per category) for swap and the static variants "
        "(default: another class's background-only video, HAT's recipe)",
    )
    st.add_argument(
        "--segmenter",
        default="mediapipe",
        help="person masks for synth and explain: mediapipe, mediapipe-landscape, mediapipe-pose, true "
        "(the manifest's mask_path)",
    )
    st.add_argument(
        "--explain",
        action="append",
        choices=["gradcam", "occlusion"],
        help="attribution method (repeat for several; default: none); the first gives the leaderboard's "
        "attribution on background (0 = on the person, 1 = uniform); each explained card also gets a "
        "random-weights copy as its reference row (see --no-random-reference)",
    )
    st.add_argument(
        "--no-random-reference",
        action="store_true",
        help="with --explain, do not add the random-weights copy (random:SEED) of each explained card as its "
        "reference row (the attribution's baseline and the model-randomisation check)",
    )
    st.add_argument(
        "--explain-per-class",
        type=_int_option(1, 1_000_000),
        default=None,
        help="explain only the first N recordings of each class (default: every original video)",
    )
    st.add_argument(
        "--classes",
        default="all",
        type=_path_option,
        help="class subset: all, manifest (the manifest's labels), or FILE (one per line)",
    )
    st.add_argument(
        "--label-map", type=_path_option, help="CSV 'from,to' mapping manifest labels to model labels"
    )
    st.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:N or mps")
    st.add_argument(
        "--batch-size", type=_int_option(1, 1024), default=None, help="clips per forward pass, 1 to 1024"
    )
    _engine_options(st)
    _retry_option(st)
    st.add_argument(
        "--seed", type=_int_option(0, MAX_SEED), default=0, help="seed of backgrounds and bootstrap intervals"
    )
    st.add_argument("--no-progress", action="store_true", help="no progress bars")
    st.set_defaults(func=cmd_study)

    d = _sub(
        sub,
        "demo",
        "Run the offline shortcut experiment as a study: generate videos, train two models, derive "
        "out-of-context variants, evaluate them with a random reference, explain, report a leaderboard.",
        "weirdkinetics demo --out weirdkinetics-demo",
    )
    d.add_argument("--out", default="weirdkinetics-demo", type=_path_option)
    d.add_argument("--model", help="evaluate this registered model on the generated set instead of training")
    d.add_argument("--weights", type=_path_option, help="weights for --model (PATH or random[:SEED])")
    d.add_argument("--small", action="store_true", help="a smaller, faster configuration")
    d.add_argument(
        "--seed", type=_int_option(0, MAX_SEED), default=0, help="added to the demo's data and training seeds"
    )
    d.set_defaults(func=cmd_demo)
    return p


_ERRNO_HINTS = {
    errno.ENOSPC: "no space left on the device; free some space (or choose another --out) and run the same "
    "command again: finished videos are kept",
    errno.EDQUOT: "disk quota exceeded; free some space (or choose another --out) and run the same command again",
    errno.EROFS: "read-only file system; choose a writable --out (or --store / --export)",
    errno.EACCES: "permission denied; fix the permissions or choose another path",
    errno.EPERM: "operation not permitted; fix the permissions or choose another path",
    errno.ELOOP: "a symlink loop (too many levels of symbolic links); fix the link or give the real path",
    errno.ENAMETOOLONG: "name too long (at most 255 bytes per name and 4096 per path); use a shorter path",
    errno.EISDIR: "is a folder; give a file name",
    errno.ENOTDIR: "a part of the path is a file, not a folder; fix the path",
    errno.EEXIST: "already exists and is not a folder; choose another path",
}
"""OSErrors that are the user's or the machine's to fix, not bugs: ``main`` prints them as one line."""

# SQLite reports the same causes in its own words (the store's file name is not in them)
_SQLITE_HINTS = {
    "database or disk is full": "the disk holding the store is full; free some space and run the same command again",
    "attempt to write a readonly database": "the store is read-only; choose a writable --out or --store",
    "unable to open database file": "the store cannot be opened; check that its folder exists and is writable",
    "disk i/o error": "the disk failed while reading or writing the store; check the disk, then run again",
    "database is locked": "another process is writing the store; wait for it or use another --store",
    "file is not a database": "the store is not a SQLite file; give the store that 'evaluate' wrote",
    "database disk image is malformed": "the store is damaged; evaluate into a new --store",
}


def _shown(name) -> str:
    text = str(name)
    return text if len(text) <= 120 else f"{text[:60]}...{text[-40:]} ({len(text)} characters)"


def _os_error_line(exc: OSError) -> str | None:
    code = exc.errno
    if code == errno.EEXIST and exc.filename:  # mkdir on a symlink loop says "exists": name the loop
        try:
            os.stat(exc.filename)
        except OSError as inner:
            code = inner.errno if inner.errno == errno.ELOOP else code
    hint = _ERRNO_HINTS.get(code)
    if hint is None:
        return None
    names = [_shown(n) for n in (exc.filename, exc.filename2) if n not in (None, "")]
    where = " -> ".join(names) + ": " if names else ""
    return f"error: {where}{hint}"


def _sqlite_error_line(exc: Exception) -> str | None:
    text = str(exc).strip().lower()
    for key, hint in _SQLITE_HINTS.items():
        if key in text:
            return f"error: SQLite: {exc}: {hint}"
    return None


def main(argv: list[str] | None = None) -> int:
    import sqlite3

    args = build_parser().parse_args(argv)
    try:
        rc = args.func(args)
        sys.stdout.flush()  # here, so that a reader gone away is caught below, not at interpreter exit
        return rc
    except UserError as exc:  # ManifestError included
        print(f"error: {exc.render(flag)}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (`weirdkinetics models | head`): not an error of ours
        # Python would complain once more when it flushes stdout at exit: point stdout at nothing first
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # what a shell reports for SIGPIPE
    except OSError as exc:  # known causes are one line; any other keeps its traceback (a bug)
        line = _os_error_line(exc)
        if line is None:
            raise
        print(line, file=sys.stderr)
        return 1
    except sqlite3.DatabaseError as exc:
        line = _sqlite_error_line(exc)
        if line is None:
            raise
        print(line, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "\ninterrupted: finished videos are saved; run the same command again to resume", file=sys.stderr
        )
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

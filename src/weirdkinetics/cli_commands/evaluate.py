"""``weirdkinetics evaluate``: its arguments and its handler (``api.evaluate``)."""

from __future__ import annotations

from weirdkinetics.cli_commands.options import (
    add_command,
    clips_option,
    engine_args,
    engine_options,
    int_option,
    path_option,
    retry_option,
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
        **engine_args(a),
    )
    _print_summary(outcome)
    return 0


def add_parser(sub) -> None:
    """``evaluate``'s arguments."""

    e = add_command(
        sub,
        "evaluate",
        "Evaluate models on a manifest of videos (resumable).",
        "weirdkinetics evaluate --model i3d_r50 --manifest videos.csv --out results --classes manifest --report",
    )
    e.add_argument("--model", action="append", required=True, help="model card name (repeat for several)")
    e.add_argument(
        "--manifest",
        required=True,
        type=path_option,
        help="manifest CSV (path,label,split[,background,video_id,source_id])",
    )
    e.add_argument("--out", required=True, type=path_option, help="output folder")
    e.add_argument(
        "--weights",
        action="append",
        type=path_option,
        help="checkpoint PATH, snapshot DIR, or random[:SEED]; one per --model (default: the card's published weights via the torch hub cache)",
    )
    e.add_argument(
        "--store",
        type=path_option,
        help="store (default OUT/predictions.sqlite; a PATH.parquet folder writes Parquet, partitioned by run)",
    )
    e.add_argument(
        "--classes",
        default="all",
        type=path_option,
        help="class subset: all, manifest (the manifest's labels), or FILE (one per line)",
    )
    e.add_argument(
        "--label-map", type=path_option, help="CSV 'from,to' mapping manifest labels to model labels"
    )
    e.add_argument(
        "--clips",
        default=None,
        type=clips_option,
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
        type=int_option(1, 1024),
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
        type=int_option(1, 64),
        default=None,
        help="processes that decode videos, 1 to 64 (default: 1 on CPU, cores-1 on CUDA)",
    )
    engine_options(e)
    retry_option(e)
    e.add_argument("--export", type=path_option, help="write one CSV row per manifest row to this file")
    e.add_argument("--report", action="store_true", help="also write the report into OUT")
    e.add_argument("--no-progress", action="store_true", help="no progress bar")
    e.set_defaults(func=cmd_evaluate)

"""``weirdkinetics explain``: its arguments and its handler (``api.explain``)."""

from __future__ import annotations

from weirdkinetics.cli_commands.options import (
    add_command,
    engine_args,
    engine_options,
    int_option,
    retry_option,
)


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
        **engine_args(a),
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


def add_parser(sub) -> None:
    """``explain``'s arguments."""

    x = add_command(
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
        type=int_option(1, 1024),
        default=8,
        help="clips per forward pass (deletion curves), 1 to 1024",
    )
    x.add_argument(
        "--device",
        default="cpu",
        help="torch device, e.g. cpu or cuda (with --engine ray: the actors', one GPU each)",
    )
    engine_options(x)
    retry_option(x)
    x.add_argument("--report", action="store_true", help="also write the report into OUT")
    x.add_argument("--no-progress", action="store_true", help="no progress bar")
    x.set_defaults(func=cmd_explain)

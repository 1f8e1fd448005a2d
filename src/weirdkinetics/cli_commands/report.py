"""``weirdkinetics report``: its arguments and its handler (``api.make_report``)."""

from __future__ import annotations

from weirdkinetics.cli_commands.options import add_command, int_option, path_option
from weirdkinetics.errors import UserError
from weirdkinetics.params import MAX_SEED  # the API checks the same ranges


def cmd_report(a) -> int:
    from weirdkinetics import api

    source = a.predictions or a.store
    if not source:
        raise UserError("give --store OUT/predictions.sqlite or --predictions FILE.csv")
    manifest = None
    if a.manifest:
        from weirdkinetics.manifest import read_manifest

        manifest = read_manifest(a.manifest)
    paths = api.make_report(
        source, a.out, run_ids=a.run, manifest=manifest, seed=a.seed, run_pages=a.run_pages
    )
    print(f"report: {paths.get('html')}")
    return 0


def add_parser(sub) -> None:
    """``report``'s arguments."""

    r = add_command(
        sub,
        "report",
        "Write the report from a store or a predictions CSV.",
        "weirdkinetics report --store results/predictions.sqlite --out results",
    )
    r.add_argument(
        "--store", type=path_option, help="store written by evaluate (SQLite, or a .parquet folder)"
    )
    r.add_argument(
        "--predictions",
        type=path_option,
        help="CSV from any tool: video_id,label,pred[,split,background,source_id,score:<class>...]",
    )
    r.add_argument("--run", action="append", help="run id (or model name) to include; repeat (default: all)")
    r.add_argument("--manifest", type=path_option, help="only the rows of this manifest")
    r.add_argument("--out", required=True, type=path_option)
    r.add_argument("--seed", type=int_option(0, MAX_SEED), default=0, help="seed of the bootstrap intervals")
    r.add_argument(
        "--run-pages",
        action="store_true",
        help="beyond 10 runs report.html is an overview (one row per run); also write each run's full "
        "section as a page of its own in OUT/runs/, linked from it (costs time per run)",
    )
    r.set_defaults(func=cmd_report)

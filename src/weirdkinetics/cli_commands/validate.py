"""``weirdkinetics validate``: its arguments and its handler (``api.validate``)."""

from __future__ import annotations

import sys

from weirdkinetics.cli_commands.options import add_command, flag, path_option


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


def add_parser(sub) -> None:
    """``validate``'s arguments."""

    v = add_command(
        sub,
        "validate",
        "Report every problem of a manifest at once (exit 1 if any).",
        "weirdkinetics validate videos.csv --model i3d_r50",
    )
    v.add_argument("manifest", type=path_option)
    v.add_argument("--model", help="also check labels against this model's label space")
    v.add_argument(
        "--label-map", type=path_option, help="CSV 'from,to' mapping manifest labels to model labels"
    )
    v.set_defaults(func=cmd_validate)

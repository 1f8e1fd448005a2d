"""``weirdkinetics demo``: its arguments and its handler (``demo.run.run_demo``)."""

from __future__ import annotations

from weirdkinetics.cli_commands.options import add_command, int_option, path_option
from weirdkinetics.params import MAX_SEED  # the API checks the same ranges


def cmd_demo(a) -> int:
    from weirdkinetics.demo.run import run_demo

    run_demo(a.out, model=a.model, weights=a.weights, small=a.small, seed=a.seed)
    return 0


def add_parser(sub) -> None:
    """``demo``'s arguments."""

    d = add_command(
        sub,
        "demo",
        "Run the offline shortcut experiment as a study: generate videos, train two models, derive "
        "out-of-context variants, evaluate them with a random reference, explain, report a leaderboard.",
        "weirdkinetics demo --out weirdkinetics-demo",
    )
    d.add_argument("--out", default="weirdkinetics-demo", type=path_option)
    d.add_argument("--model", help="evaluate this registered model on the generated set instead of training")
    d.add_argument("--weights", type=path_option, help="weights for --model (PATH or random[:SEED])")
    d.add_argument("--small", action="store_true", help="a smaller, faster configuration")
    d.add_argument(
        "--seed", type=int_option(0, MAX_SEED), default=0, help="added to the demo's data and training seeds"
    )
    d.set_defaults(func=cmd_demo)

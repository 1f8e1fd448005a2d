"""What every command's arguments share: the help formatter, one-line usage errors, argument types
that refuse a bad value in one line, the flag of each API parameter, and the engine options."""

from __future__ import annotations

import argparse

from weirdkinetics.errors import UserError, option, render_options


class Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    pass


class Parser(argparse.ArgumentParser):
    """Usage mistakes end in one line (exit 2) that names the option and where to read more."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


def int_option(low: int, high: int):
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


def fraction_option(text: str) -> float:
    """argparse type: a number from 0 to 1, else a one-line usage error."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"{text} is out of range: use 0 to 1")
    return value


def clips_option(text: str) -> str:
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


def path_option(text: str) -> str:
    """argparse type for paths: a NUL byte can never be part of a path."""
    if "\x00" in text:
        raise argparse.ArgumentTypeError(
            f"{text.replace(chr(0), '<NUL>')!r} contains a NUL byte; no path can"
        )
    return text


def add_command(subparsers, name: str, help: str, example: str) -> argparse.ArgumentParser:
    return subparsers.add_parser(
        name, help=help, description=help, epilog=f"example:\n  {example}", formatter_class=Formatter
    )


def engine_options(parser: argparse.ArgumentParser) -> None:
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
        type=int_option(1, 4096),
        help="with --engine ray: Ray actors doing the work (evaluate: each holds the models, default one per GPU "
        "with cuda, else half the CPUs; explain: each holds the model and segmenter, default one per GPU with "
        "cuda, else one per CPU; synth: default one per CPU)",
    )


def retry_option(parser: argparse.ArgumentParser) -> None:
    """--retry-errors: for the commands that store rows (evaluate, explain, study)."""
    parser.add_argument(
        "--retry-errors",
        action="store_true",
        help="compute again the stored rows that ended decode_error because a worker process died on them "
        "(their reason says so); genuine decode errors stay. With --engine local it shows FFmpeg's own error",
    )


def engine_args(a) -> dict:
    """The engine options as keyword arguments; none for the local engine, so its calls stay as they were."""
    if a.engine == "local" and a.address is None and a.actors is None:
        return {}
    return {"engine": a.engine, "address": a.address, "actors": a.actors}

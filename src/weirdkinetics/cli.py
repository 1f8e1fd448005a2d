"""Command line: a thin shim over ``weirdkinetics.api``. User errors exit 1 with one clear message.

Each command's arguments and handler live together in ``weirdkinetics.cli_commands.<command>``; this module
builds the parser from them, in the order ``--help`` lists them, and turns known errors into one line.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys

from weirdkinetics import __version__
from weirdkinetics.cli_commands import (
    demo,
    evaluate,
    explain,
    manifest,
    models,
    report,
    study,
    synth,
    validate,
)
from weirdkinetics.cli_commands.options import Formatter, Parser, flag
from weirdkinetics.cli_commands.synth import fill_colour
from weirdkinetics.errors import UserError
from weirdkinetics.params import MAX_SEED, MAX_SIDE  # the API checks the same ranges

# the order of ``weirdkinetics --help``
COMMANDS = (evaluate, explain, validate, manifest, models, report, synth, study, demo)

__all__ = ["MAX_SEED", "MAX_SIDE", "build_parser", "fill_colour", "flag", "main"]


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="weirdkinetics",
        description="Measure how much video action-recognition models look at the background instead of the person.",
        epilog="example:\n  weirdkinetics demo\n  weirdkinetics evaluate --model i3d_r50 --manifest videos.csv --out results --report",
        formatter_class=Formatter,
    )
    p.add_argument("--version", action="version", version=f"weirdkinetics {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
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

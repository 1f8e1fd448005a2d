"""``weirdkinetics manifest from-folder|from-kinetics``: their arguments and handlers."""

from __future__ import annotations

from pathlib import Path

from weirdkinetics.cli_commands.options import add_command, path_option
from weirdkinetics.outputs import check_output_file


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


def add_parser(sub) -> None:
    """``manifest``'s sub-commands and their arguments."""

    m = add_command(
        sub, "manifest", "Build manifests.", "weirdkinetics manifest from-folder videos/ -o manifest.csv"
    )
    msub = m.add_subparsers(dest="manifest_command", required=True, metavar="SOURCE")
    f = add_command(
        msub,
        "from-folder",
        "Manifest from ROOT/<split>/<label>/<video>.",
        "weirdkinetics manifest from-folder data/ -o manifest.csv",
    )
    f.add_argument("root", type=path_option)
    f.add_argument("-o", "--output", required=True, type=path_option)
    f.set_defaults(func=cmd_manifest_from_folder)
    k = add_command(
        msub,
        "from-kinetics",
        "Manifest (split 'kinetics') from the official Kinetics annotation CSV.",
        "weirdkinetics manifest from-kinetics validate.csv --videos kinetics/val --classes classes.txt -o kinetics.csv",
    )
    k.add_argument("annotations", type=path_option)
    k.add_argument(
        "--videos",
        required=True,
        type=path_option,
        help="folder of <youtube_id>_<start:06d>_<end:06d>.mp4 files",
    )
    k.add_argument("--classes", type=path_option, help="keep only these classes (one per line)")
    k.add_argument("-o", "--output", required=True, type=path_option)
    k.set_defaults(func=cmd_manifest_from_kinetics)

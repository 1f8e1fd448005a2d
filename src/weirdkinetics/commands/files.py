"""The files a command reads and the report's fixed outputs: what no output may land on."""

from __future__ import annotations

from pathlib import Path

from weirdkinetics.errors import UserError, option
from weirdkinetics.inputs import is_file
from weirdkinetics.manifest import Manifest
from weirdkinetics.params import checked

DEFAULT_STORE = "predictions.sqlite"


def input_files(
    manifest: Manifest, label_map=None, classes: str | None = None, weights: list[str] | None = None
) -> dict[str, Path]:
    """The files a command reads, by the name an error message gives them: the manifest, its videos and
    masks, the label map, a class file and checkpoint files."""
    inputs = manifest.input_files()
    if label_map:
        inputs[option("label_map")] = Path(label_map)
    if classes and classes not in ("all", "manifest"):
        inputs[option("classes")] = Path(classes)
    for w in weights or []:
        if w and is_file(w):
            inputs[option("weights", w)] = Path(w)
    return inputs


REPORT_FILES = ("report.html", "report.md", "metrics.json", "leaderboard.json")
REPORT_FOLDERS = ("tables", "figures")


@checked()
def report_outputs(out_dir: str | Path) -> dict[str, Path]:
    """The report's fixed output files in ``out_dir`` (tables and figures go to its sub-folders)."""
    return {f"the report's {name}": Path(out_dir) / name for name in REPORT_FILES}


def check_report_folders(out_dir: Path, inputs: dict[str, str | Path]) -> None:
    """Refuse an input inside the folders whose files the report rewrites."""
    folders = {str((Path(out_dir) / sub).resolve()): sub for sub in REPORT_FOLDERS}
    for name, path in inputs.items():
        try:
            parent = str(Path(path).resolve().parent)
        except (OSError, RuntimeError, ValueError):
            continue
        if parent in folders:
            raise UserError(
                f"{name} {path} is inside the report's {folders[parent]}/ folder, whose files the report "
                f"rewrites; move it or choose another {option('out_dir')}"
            )

"""Manifests: CSV rows naming videos, their true label, split and background. Validation reports every
problem at once, each with its CSV row number (the header is row 1)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from weirdkinetics import storage
from weirdkinetics.errors import ManifestError, UserError, option
from weirdkinetics.inputs import TextEncodingError, TextInput, unreadable
from weirdkinetics.labels import resolve_label, suggest
from weirdkinetics.outputs import (
    check_output_file,
    check_outputs,
    safe_filename,
    unneutralise_cell,
    write_csv,
)

REQUIRED = ("path", "label", "split")
STANDARD = ("path", "label", "split", "background", "video_id", "source_id")
RESERVED = ("variant", "synth_status", "excluded_reason", "source_video_id", "bg_label", "bg_source")
"""Columns that ``synth`` writes and that evaluation and the report read to decide what a row is and whether it
counts (``synth_status`` other than ok excludes a row without decoding it, ``variant`` moves it to the
derived-variants section, the others pair it with its original). A manifest may carry them only when its
folder holds the record of the command that wrote it (``synth.json`` of ``weirdkinetics synth``, or
``study.json`` of a study, ``dataset.json`` of the demo's generator, see ``written_by_us``); in any other manifest such a column is refused, with the
name to rename it to (``user_<name>``)."""

RECORDS = {
    "synth.json": ("generator", "weirdkinetics.synth"),
    "study.json": ("schema", "weirdkinetics.study/"),
    # the demo's datasets (its exact actor-free renders carry synth's columns: the study reports them as a variant)
    "dataset.json": ("generator", "weirdkinetics.demo"),
}
"""The records our commands write beside the manifests they make: file name -> (key, how its value starts)."""
VIDEO_EXTENSIONS = {
    ".mp4",
    ".mkv",
    ".avi",
    ".mov",
    ".webm",
    ".m4v",
    ".mpg",
    ".mpeg",
    ".gif",
    ".ogv",
    ".flv",
    ".wmv",
    ".3gp",
    ".ts",
    ".mts",
}


@dataclass
class ManifestRow:
    row: int  # CSV row number (header = 1)
    path: Path | str  # absolute and resolved; a URI (str) for an object in storage (``row_location``)
    path_text: str  # as written in the manifest
    label: str
    split: str
    background: str = ""
    video_id: str = ""
    source_id: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, str]:
        d = {
            "path": self.path_text,
            "label": self.label,
            "split": self.split,
            "background": self.background,
            "video_id": self.video_id,
            "source_id": self.source_id,
        }
        d.update(self.extra)
        return d


@dataclass
class Manifest:
    path: Path
    rows: list[ManifestRow]
    columns: list[str]
    digest: str  # sha256 of the file's bytes

    @property
    def labels(self) -> list[str]:
        return [r.label for r in self.rows]

    def input_files(self) -> dict[str, Path]:
        """The files this manifest makes a command read, by the name an error message gives them: the manifest
        itself, each row's video and each row's mask (``mask_path``). What no output may overwrite."""
        files: dict[str, Path] = {f"the manifest ({option('manifest_path')})": self.path}
        for row in self.rows:
            if not storage.is_uri(
                row.path
            ):  # an object in storage is no local file an output could overwrite
                files[f"the video of manifest row {row.row}"] = row.path
            mask = mask_path(row, self.path.parent)
            if mask is not None:
                files[f"the mask of manifest row {row.row}"] = mask
        return files


def mask_path(row: ManifestRow, manifest_dir: Path) -> Path | None:
    """Pure: the row's ``mask_path`` file (a relative path is taken from the manifest's folder), or None."""
    text = row.extra.get("mask_path", "")
    if not text:
        return None
    return Path(text) if Path(text).is_absolute() else manifest_dir / text


def _manifest_input(path: Path) -> TextInput:
    try:
        is_dir = path.is_dir()
    except OSError:  # a name too long: TextInput says so
        is_dir = False
    if is_dir:
        raise UserError(f"{path}: is a folder; build a manifest with 'weirdkinetics manifest from-folder'")
    return TextInput(path, "manifest")


def _absolute(full: Path) -> Path:
    """``full`` resolved; a path that cannot be resolved (a symlink loop) stays as given, made absolute,
    so that its row gets a status instead of crashing the read."""
    try:
        return full.resolve()
    except (OSError, RuntimeError):  # Python < 3.13 raises RuntimeError on a symlink loop
        return Path(os.path.abspath(full))


def read_manifest(
    path: str | Path,
    label_space: tuple[str, ...] | list[str] | None = None,
    label_map: dict[str, str] | None = None,
    check_files: bool = False,
) -> Manifest:
    """Read and validate a manifest; raise ``ManifestError`` listing every problem with its row number.

    label_space: when given, labels (after ``label_map``) must name one of its classes; spelling variants
    (case, underscores, quotes) are resolved to the space's own name. check_files: also report missing or
    unreadable video files as problems (``validate`` does; ``evaluate`` records them as status ``missing``).
    """
    path = Path(path)
    try:
        with _manifest_input(path) as source:
            return _parse_manifest(source, path, label_space, label_map, check_files)
    except TextEncodingError as exc:
        raise ManifestError([f"row {exc.line}: {exc.detail}; save the CSV as UTF-8"], str(path)) from None


def _parse_manifest(
    source: TextInput,
    path: Path,
    label_space: tuple[str, ...] | list[str] | None,
    label_map: dict[str, str] | None,
    check_files: bool,
) -> Manifest:
    reader = source.dict_rows()
    columns = [_cell(c) for c in (reader.fieldnames or [])]
    problems = _header_problems(columns, path) + _reserved_problems(columns, path)
    rows: list[ManifestRow] = []
    seen_ids: dict[str, int] = {}  # video_id -> its first row
    for rownum, raw in enumerate(reader, start=2):
        row, found = _read_row(rownum, raw, len(columns), path.parent, label_space, label_map, seen_ids)
        if check_files and row is not None and (problem := _file_problem(row, path.parent)):
            found.append(problem)
        problems += [f"row {rownum}: {p}" for p in found]
        rows += [row] if row is not None else []
    if not rows and not problems:
        problems.append("no rows after the header")
    if problems:
        raise ManifestError(problems, str(path))
    for _ in source.lines():  # the digest covers the whole file (nothing is left after the csv reader)
        pass
    return Manifest(path=path, rows=rows, columns=columns, digest=source.digest)


def row_location(path_text: str, base: Path) -> Path | str:
    """Where a row's video is: a URI of object storage as written (``storage.is_uri``: never a local path, which
    would turn ``s3://b/x`` into ``s3:/b/x``), a ``file://`` URI's local path, else the path made absolute
    (relative to the manifest's folder ``base``) and resolved."""
    if storage.is_uri(path_text):
        local = storage.local_path(path_text)
        return path_text if local is None else _absolute(local)
    full = Path(path_text) if os.path.isabs(path_text) else base / path_text
    return _absolute(full) if path_text else full


def _read_row(
    rownum: int,
    raw: dict,
    num_columns: int,
    base: Path,
    label_space: tuple[str, ...] | list[str] | None,
    label_map: dict[str, str] | None,
    seen_ids: dict[str, int],
) -> tuple[ManifestRow | None, list[str]]:
    """One CSV row (``raw`` from ``csv.DictReader``; None for a blank line) and its problems without the row
    number; ``seen_ids`` (video_id -> first row) is updated."""
    problems = []
    if None in raw:  # more cells than header columns
        problems.append(f"{len(raw[None])} cell(s) more than the header's {num_columns} columns")
    cells = {_cell(k): _cell(v) for k, v in raw.items() if k is not None}
    if not any(cells.values()):
        return None, problems  # blank line
    label, found = row_problems(cells, label_space, label_map)
    path_text = cells.get("path", "")
    video_id = cells.get("video_id") or path_text
    first = seen_ids.setdefault(video_id, rownum)
    if first != rownum:
        found.append(f"duplicate video_id '{video_id}' (first on row {first})")
    row = ManifestRow(
        row=rownum,
        path=row_location(path_text, base),
        path_text=path_text,
        label=label,
        split=cells.get("split", ""),
        background=cells.get("background", ""),
        video_id=video_id,
        source_id=cells.get("source_id", ""),
        extra={k: v for k, v in cells.items() if k not in STANDARD},
    )
    return row, problems + found


def _header_problems(columns: list[str], path: Path) -> list[str]:
    """The header's problems that still let rows be read (duplicate columns); raises ``ManifestError`` for
    those that do not (no header, a required column missing)."""
    if not columns:
        raise ManifestError(["row 1: empty file; the header must name at least path,label,split"], str(path))
    missing_cols = [c for c in REQUIRED if c not in columns]
    if missing_cols:
        raise ManifestError(
            [f"row 1: missing required column(s) {', '.join(missing_cols)} (header: {', '.join(columns)})"],
            str(path),
        )
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    return [f"row 1: duplicate column(s) {', '.join(dupes)}"] if dupes else []


def written_by_us(path: Path) -> bool:
    """True when the manifest's folder holds the record of our command that wrote it (``RECORDS``)."""
    import json

    for name, (key, value) in RECORDS.items():
        record = path.parent / name
        try:
            doc = json.loads(record.read_text(encoding="utf-8")) if record.is_file() else None
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and str(doc.get(key, "")).startswith(value):
            return True
    return False


def _reserved_problems(columns: list[str], path: Path) -> list[str]:
    """One problem per ``RESERVED`` column of a manifest that our commands did not write: such a column
    would change which rows are counted and where."""
    taken = [c for c in columns if c in RESERVED]
    if not taken or written_by_us(path):
        return []
    return [
        f"row 1: column '{c}' is reserved (synth writes it; it decides which rows count and where): rename it, "
        f"e.g. to 'user_{c}' (a manifest written by 'weirdkinetics synth' keeps its synth.json beside it)"
        for c in taken
    ]


def row_problems(
    cells: dict[str, str],
    label_space: tuple[str, ...] | list[str] | None = None,
    label_map: dict[str, str] | None = None,
) -> tuple[str, list[str]]:
    """One row's label and the problems of its cells (without the row number; files are not looked at).

    cells: column -> stripped text. The label is mapped by ``label_map``, then resolved to the spelling of
    ``label_space`` when it names one of its classes (spelling variants allowed).
    """
    problems = [f"empty '{col}'" for col in REQUIRED if not cells.get(col)]
    label = cells.get("label", "")
    if label and label_map:
        label = label_map.get(label, label)
    if not label or label_space is None:
        return label, problems
    resolved = resolve_label(label, label_space)
    if resolved is not None:
        return resolved, problems
    hint = suggest(label, label_space)
    problems.append(
        f"label '{label}' is not in the model's label space.{hint}"
        + ("" if hint else f" Use {option('label_map', meta='FILE')} to map your labels.")
    )
    return label, problems


def _file_problem(row: ManifestRow, base: Path) -> str | None:
    """Why the row's video cannot be read (missing, a FIFO, a folder, a symlink loop, a long name, ...), or
    None. Derived rows that synth kept with a reason (no video made) have nothing to read."""
    if not row.path_text or row.extra.get("synth_status", "ok") not in ("", "ok"):
        return None
    if storage.is_uri(row.path):
        return None if storage.object_identity(row.path) is not None else f"missing object {row.path}"
    # as the user wrote it (a symlink loop stays visible), or a file:// URI's local path
    local = storage.local_path(row.path_text) if storage.is_uri(row.path_text) else None
    full = local or (Path(row.path_text) if os.path.isabs(row.path_text) else base / row.path_text)
    problem = unreadable(full)
    if problem is None:
        return None
    return f"missing file {full}" if problem.missing else f"{full}: {problem.reason}"


def _cell(value: str | None) -> str:
    """A cell as read: stripped, and without the apostrophe ``write_manifest`` puts before text a spreadsheet
    would run as a formula (``outputs.unneutralise_cell``), so the manifests we write read back the same."""
    return unneutralise_cell((value or "").strip()).strip()


def write_manifest(
    path: str | Path, rows: list[dict[str, str]], inputs: dict[str, Path] | None = None
) -> Path:
    """Write rows (dicts) as a manifest: standard columns first, then extras in first-seen order.

    Written atomically, cells neutralised against formula injection (``outputs.neutralise_cell``; read back
    unchanged by ``read_manifest``). Refuses a ``path`` that is a folder, one of ``inputs`` (name -> path)
    or one of the rows' videos.
    """
    path = check_output_file(path, option("path"))
    base = path.resolve().parent
    videos = {
        f"the video of row {i}": (Path(r["path"]) if os.path.isabs(r["path"]) else base / r["path"])
        for i, r in enumerate(rows, start=2)
        if r.get("path") and not storage.is_uri(r["path"])  # an object in storage is no local file to guard
    }
    check_outputs({"the manifest": path}, {**(inputs or {}), **videos})
    extras: list[str] = []
    for r in rows:
        extras += [k for k in r if k not in STANDARD and k not in extras]
    columns = list(STANDARD) + extras
    return write_csv(path, columns, ([r.get(c, "") for c in columns] for r in rows))


def from_folder(root: str | Path, relative_to: str | Path | None = None) -> list[dict[str, str]]:
    """Rows for videos laid out as ``ROOT/<split>/<label>/<video>`` (paths relative to ``relative_to``).

    Files with unknown extensions are left out only if they are not videos by extension; every other
    file under a label folder becomes a row.
    """
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root}: not a folder (expected ROOT/<split>/<label>/<video>)")
    base = Path(relative_to) if relative_to else root
    rows = []
    for split_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for label_dir in sorted(p for p in split_dir.iterdir() if p.is_dir()):
            for video in sorted(p for p in label_dir.rglob("*") if p.is_file()):
                if video.suffix.lower() not in VIDEO_EXTENSIONS or video.name.startswith("."):
                    continue
                rel = os.path.relpath(video, base)
                rows.append(
                    {
                        "path": rel,
                        "label": label_dir.name,
                        "split": split_dir.name,
                        "video_id": f"{split_dir.name}/{label_dir.name}/{video.relative_to(label_dir)}",
                    }
                )
    if not rows:
        raise UserError(f"{root}: no videos found under ROOT/<split>/<label>/")
    return rows


_KINETICS_NAME = "{youtube_id}_{start:06d}_{end:06d}"


def from_kinetics(
    annotations: str | Path,
    videos: str | Path,
    classes: list[str] | None = None,
    relative_to: str | Path | None = None,
) -> list[dict[str, str]]:
    """Rows (split ``kinetics``) from the official Kinetics annotation CSV
    (``label,youtube_id,time_start,time_end,split``) and files named ``<id>_<start:06d>_<end:06d>.<ext>``.

    Annotated clips with no file keep their row (with the expected ``.mp4`` path), so evaluation lists them
    as ``missing`` instead of dropping them. ``classes`` keeps only those labels.
    """
    annotations, videos = Path(annotations), Path(videos)
    with TextInput(annotations, "Kinetics annotations") as source:
        return _kinetics_rows(source.dict_rows(), annotations, videos, classes, relative_to)


def _kinetics_rows(reader, annotations: Path, videos: Path, classes, relative_to) -> list[dict[str, str]]:
    need = {"label", "youtube_id", "time_start", "time_end"}
    if not need <= set(reader.fieldnames):
        raise UserError(
            f"{annotations}: expected columns {', '.join(sorted(need))} (the official Kinetics CSV)"
        )
    on_disk = _videos_by_stem(videos)
    wanted = {c.strip().lower() for c in classes} if classes else None
    base = Path(relative_to) if relative_to else videos
    rows, problems = [], []
    for rownum, r in enumerate(reader, start=2):
        label = (r.get("label") or "").strip().strip('"')
        if wanted is not None and label.lower() not in wanted:
            continue
        try:
            stem = _kinetics_stem(r)
        except ValueError as exc:
            problems.append(f"row {rownum}: {exc}")
            continue
        path = on_disk.get(stem, videos / f"{stem}.mp4")
        rows.append(
            {
                "path": os.path.relpath(path, base),
                "label": label,
                "split": "kinetics",
                "video_id": stem,
                "kinetics_split": (r.get("split") or "").strip(),
            }
        )
    if problems:
        raise ManifestError(problems, str(annotations))
    return rows


def _kinetics_stem(annotation: dict[str, str | None]) -> str:
    """The file stem ``<youtube_id>_<start:06d>_<end:06d>`` of one annotation row; a ``ValueError`` says
    what is wrong with its times."""
    try:
        start = int(float(annotation.get("time_start") or ""))
        end = int(float(annotation.get("time_end") or ""))
    except (TypeError, ValueError, OverflowError):  # empty cells, text, nan, inf
        raise ValueError("time_start/time_end are not finite numbers") from None
    if start < 0 or end < start:
        raise ValueError(f"time_start {start} and time_end {end} are not an interval of seconds")
    youtube_id = (annotation.get("youtube_id") or "").strip()
    return _KINETICS_NAME.format(youtube_id=youtube_id, start=start, end=end)


def _videos_by_stem(videos: Path) -> dict[str, Path]:
    """The video files under ``videos`` by file stem (the first found of each)."""
    if not videos.is_dir():
        raise UserError(f"{option('videos', str(videos))}: not a folder")
    on_disk: dict[str, Path] = {}
    for p in videos.rglob("*"):
        if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS:
            on_disk.setdefault(p.stem, p)
    return on_disk


def digest_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def safe_name(text: str) -> str:
    """A file-name-safe version of an id (``outputs.safe_filename``: a slug, plus a short hash when the id
    had to change, at most 100 characters)."""
    return safe_filename(text, max_len=100)

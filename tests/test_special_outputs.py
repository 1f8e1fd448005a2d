"""Outputs onto special files (issue 22, item 1): a character device, a FIFO, a socket or a symbolic link where
an output file would go is refused with one line before any work, and is left exactly as it was.

Symbolic links are refused whatever they point to (docs/reliability.md, "Outputs"): the atomic rename would replace the
link itself. The tests never name the machine's own /dev/null as an output (they run as root on CI): a
character device is made in the test's folder with ``mknod`` where that is allowed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from weirdkinetics.cli import main
from weirdkinetics.encode import write_video
from weirdkinetics.errors import UserError
from weirdkinetics.manifest import write_manifest
from weirdkinetics.outputs import OutputError, atomic_write_text, check_output_file, check_target


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _link_to_file(path: Path) -> Path:
    target = path.with_name(path.name + ".target")
    target.write_text("the link's target, kept\n")
    path.symlink_to(target)
    return path


def _link_to_null(path: Path) -> Path:
    path.symlink_to("/dev/null")
    return path


def _dangling_link(path: Path) -> Path:
    path.symlink_to(path.with_name("nowhere"))
    return path


def _chardev(path: Path) -> Path:
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a private twin of /dev/null
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot make a character device here: {exc}")
    return path


SPECIAL = {
    "fifo": (_fifo, "FIFO"),
    "link to a file": (_link_to_file, "symbolic link"),
    "link to /dev/null": (_link_to_null, "symbolic link"),
    "dangling link": (_dangling_link, "symbolic link"),
    "character device": (_chardev, "character device"),
}


def _kind(path: Path) -> tuple[int, str | None]:
    st = path.lstat()
    return stat.S_IFMT(st.st_mode), os.readlink(path) if stat.S_ISLNK(st.st_mode) else None


@pytest.fixture
def manifest(tmp_path):
    frames = np.random.default_rng(0).integers(0, 255, (40, 32, 32, 3), dtype=np.uint8)
    write_video(tmp_path / "v.mkv", frames, 30, lossless=True)
    return write_manifest(tmp_path / "m.csv", [{"path": "v.mkv", "label": "jogging", "split": "real"}])


EVALUATE = ["evaluate", "--model", "tiny_c3d", "--weights", "random:0", "--no-progress", "--manifest", "{m}"]
COMMANDS = {
    "evaluate --export": (EVALUATE + ["--out", "{t}/o", "--export", "{s}"], "e.csv"),
    "evaluate --report": (EVALUATE + ["--out", "{t}/o", "--report"], "o/report.md"),
    "evaluate --store": (EVALUATE + ["--out", "{t}/o", "--store", "{s}"], "s.sqlite"),
    "manifest from-folder -o": (["manifest", "from-folder", "{t}/data", "-o", "{s}"], "m2.csv"),
    "report files": (["report", "--predictions", "{t}/p.csv", "--out", "{t}/r"], "r/metrics.json"),
    "synth manifest": (["synth", "person-only", "--manifest", "{m}", "--out", "{t}/y"], "y/manifest.csv"),
    "study record": (
        ["study", "--manifest", "{m}", "--model", "tiny_c3d", "--weights", "random:0", "--variants", "person-only",
         "--out", "{t}/st", "--no-progress"],
        "st/study.json",
    ),
}  # fmt: skip


@pytest.mark.parametrize("special", sorted(SPECIAL))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_output_onto_a_special_file_is_refused_before_any_work(command, special, manifest, capsys):
    tmp = manifest.parent
    (tmp / "data" / "real" / "jogging").mkdir(parents=True)
    (tmp / "p.csv").write_text("video_id,label,split,status,pred\nv,jogging,real,ok,jogging\n")
    args, where = COMMANDS[command]
    make, word = SPECIAL[special]
    target = tmp / where
    target.parent.mkdir(parents=True, exist_ok=True)
    make(target)
    kind = _kind(target)
    before = {p: p.read_bytes() for p in tmp.rglob("*") if p.is_file() and not p.is_symlink()}
    assert main([a.format(t=tmp, m=manifest, s=target) for a in args]) == 1
    err = capsys.readouterr().err
    assert word in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert _kind(target) == kind  # the special file is still there, as it was
    after = {p: p.read_bytes() for p in tmp.rglob("*") if p.is_file() and not p.is_symlink()}
    assert after == before  # no work: nothing written (no store, no video), nothing lost


def test_the_write_itself_refuses_a_special_file_that_appears_late(tmp_path):
    """``atomic_write_text`` is the last line: a target that became a FIFO or a link after the checks."""
    fifo = _fifo(tmp_path / "late.json")
    with pytest.raises(OutputError, match="FIFO"):
        atomic_write_text(fifo, "{}")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    link = _link_to_file(tmp_path / "late.md")
    with pytest.raises(OutputError, match="symbolic link"):
        atomic_write_text(link, "x")
    assert link.is_symlink() and link.resolve().read_text() == "the link's target, kept\n"
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]


def test_the_machines_dev_null_is_refused_without_writing(tmp_path):
    """Only the checks run here (nothing is written): as root the old code replaced /dev/null."""
    with pytest.raises(UserError, match="character device"):
        check_output_file("/dev/null", "--export")
    with pytest.raises(UserError, match="character device"):
        check_target("/dev/null")
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


def test_regular_and_new_outputs_and_linked_folders_still_work(manifest, tmp_path, capsys):
    """A folder reached through a link is followed (only output *files* must not be links)."""
    real = tmp_path / "real-out"
    real.mkdir()
    (tmp_path / "linked-out").symlink_to(real)
    (real / "e.csv").write_text("old\n")
    args = [a.format(m=manifest) for a in EVALUATE] + ["--out", str(tmp_path / "linked-out")]
    assert main(args + ["--export", str(tmp_path / "linked-out" / "e.csv")]) == 0
    assert (real / "predictions.sqlite").is_file() and (real / "e.csv").read_text().startswith("video_id")

"""One writer per output folder (issue 22, item 6): a second run into a folder another run is writing into is
refused at once with one line (``outputs.folder_lock``); the lock dies with the process that held it."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from weirdkinetics.cli import main
from weirdkinetics.encode import write_video
from weirdkinetics.manifest import write_manifest
from weirdkinetics.outputs import FolderBusyError, folder_lock

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture
def manifest(tmp_path):
    frames = np.random.default_rng(0).integers(0, 255, (40, 32, 32, 3), dtype=np.uint8)
    write_video(tmp_path / "v.mkv", frames, 30, lossless=True)
    return write_manifest(tmp_path / "m.csv", [{"path": "v.mkv", "label": "jogging", "split": "real"}])


def _held_elsewhere(folder: Path) -> int:
    """A descriptor of ``folder`` holding its lock, as another run's would (a new open file: flock conflicts
    with it even from this process)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


MODEL = ["--model", "tiny_c3d", "--weights", "random:0", "--no-progress", "--manifest", "{m}"]
COMMANDS = {
    "synth": ["synth", "person-only", "--segmenter", "true", "--manifest", "{m}", "--out", "{o}"],
    "evaluate": ["evaluate", *MODEL, "--out", "{o}", "--report"],
    "explain": ["explain", *MODEL, "--out", "{o}"],
    "study": ["study", *MODEL, "--variants", "person-only", "--out", "{o}"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_second_writer_into_a_busy_folder_is_refused_at_once(command, manifest, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "earlier.txt").write_text("kept\n")
    fd = _held_elsewhere(out)
    try:
        assert main([a.format(m=manifest, o=out) for a in COMMANDS[command]]) == 1
    finally:
        os.close(fd)
    err = capsys.readouterr().err
    assert "in use by another weirdkinetics run" in err and str(out) in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == ["earlier.txt"]  # nothing written, nothing lost


def test_the_lock_nests_in_one_process_and_leaves_no_file(tmp_path):
    out = tmp_path / "new" / "out"
    with folder_lock(out):
        with folder_lock(out):  # evaluate --report, study -> synth: the same run goes on
            pass
        with pytest.raises(BlockingIOError):  # still held by the outer block
            os.close(_held_elsewhere(out))
    os.close(_held_elsewhere(out))  # released
    assert list(out.iterdir()) == []


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    out = tmp_path / "out"
    code = (
        "import sys, time\n"
        "from weirdkinetics.outputs import folder_lock\n"
        f"with folder_lock({str(out)!r}):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(600)\n"
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(FolderBusyError, match="wait for that run to end"), folder_lock(out):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=60)
    with folder_lock(out):  # the OS dropped the dead process's lock
        pass


def test_a_refused_run_removes_the_folder_the_lock_made(tmp_path, capsys):
    out = tmp_path / "fresh"
    assert main(["synth", "person-only", "--manifest", str(tmp_path / "none.csv"), "--out", str(out)]) == 1
    assert not out.exists()
    assert "Traceback" not in capsys.readouterr().err

"""Inputs that are not regular files, or not bounded, never hang and never grow without limit.

Every test that hands a FIFO to the code runs it so that a regression fails instead of hanging: in a
subprocess with a timeout, or in a thread that the test unblocks by opening the FIFO's other end.
"""

import errno
import hashlib
import os
import socket
import subprocess
import sys
import threading

import numpy as np
import pytest

from weirdkinetics import api, inputs
from weirdkinetics.encode import write_video
from weirdkinetics.errors import ManifestError, UserError
from weirdkinetics.manifest import from_kinetics, read_manifest, write_manifest

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")

LIMIT_S = 60


def cli(*args: str) -> subprocess.CompletedProcess:
    """The CLI in a fresh process, bounded: a hang is a ``TimeoutExpired`` failure, not a stuck suite."""
    return subprocess.run(
        [sys.executable, "-m", "weirdkinetics", *args],
        capture_output=True,
        text=True,
        timeout=LIMIT_S,
        check=False,
    )


def bounded(fn, fifos):
    """Run ``fn()`` in a thread; if it is still running after LIMIT_S, open the FIFOs' write ends (which
    releases a reader blocked in open) and fail. Returns fn's result or re-raises its exception."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(LIMIT_S)
    if thread.is_alive():
        for fifo in fifos:
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        thread.join(10)
        pytest.fail(f"blocked on a FIFO for {LIMIT_S} s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_a_fifo_as_the_manifest_is_one_line_not_a_hang(tmp_path):
    fifo = tmp_path / "manifest.csv"
    os.mkfifo(fifo)
    line = one_line_error(cli("validate", str(fifo)))
    assert str(fifo) in line and "not a regular file (a FIFO)" in line
    line = one_line_error(
        cli(
            "evaluate",
            "--model",
            "tiny_c3d",
            "--weights",
            "random:0",
            "--manifest",
            str(fifo),
            "--out",
            str(tmp_path / "o"),
        )
    )
    assert "not a regular file (a FIFO)" in line
    with pytest.raises(UserError, match="FIFO"):
        bounded(lambda: read_manifest(fifo), [fifo])


def test_a_fifo_as_the_predictions_csv_and_other_text_inputs(tmp_path):
    fifo = tmp_path / "p.csv"
    os.mkfifo(fifo)
    assert "a FIFO" in one_line_error(cli("report", "--predictions", str(fifo), "--out", str(tmp_path / "r")))
    from weirdkinetics.labels import read_class_file, read_label_map

    for reader in (read_label_map, read_class_file):
        with pytest.raises(UserError, match="not a regular file"):
            bounded(lambda reader=reader: reader(fifo), [fifo])


def test_dev_zero_is_refused_at_once(tmp_path):
    """``validate /dev/zero`` used to read without end; a device is refused before it is opened."""
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    assert "a character device" in one_line_error(cli("validate", "/dev/zero"))
    assert "a character device" in one_line_error(
        cli("report", "--predictions", "/dev/zero", "--out", str(tmp_path))
    )


def _special_files(tmp_path):
    """A FIFO, a folder, a character device, a UNIX socket and a symlink loop, each named .mp4."""
    os.mkfifo(tmp_path / "fifo.mp4")
    (tmp_path / "folder.mp4").mkdir()
    os.symlink("/dev/null", tmp_path / "device.mp4")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "socket.mp4"))
    os.symlink(tmp_path / "loop_b.mp4", tmp_path / "loop_a.mp4")
    os.symlink(tmp_path / "loop_a.mp4", tmp_path / "loop_b.mp4")
    expected = {
        "fifo.mp4": "not a regular file (a FIFO)",
        "folder.mp4": "not a regular file (a folder)",
        "device.mp4": "not a regular file (a character device)",
        "socket.mp4": "not a regular file (a socket)",
        "loop_a.mp4": "symlink loop",
        "x" * 300 + ".mp4": "name too long",
    }
    return sock, expected


def test_validate_reports_every_row_that_is_not_a_regular_file(tmp_path):
    sock, expected = _special_files(tmp_path)
    try:
        m = write_manifest(
            tmp_path / "m.csv", [{"path": name, "label": "jogging", "split": "real"} for name in expected]
        )
        problems = bounded(lambda: api.validate(m), [tmp_path / "fifo.mp4"])
    finally:
        sock.close()
    assert len(problems) == len(expected)
    for (name, reason), problem in zip(expected.items(), problems):
        assert name in problem and reason in problem, problem


def test_evaluate_gives_each_special_file_a_status_with_its_reason(tmp_path):
    frames = np.zeros((90, 24, 32, 3), np.uint8)
    write_video(tmp_path / "good.mkv", frames, 30, lossless=True)
    sock, expected = _special_files(tmp_path)
    try:
        rows = [{"path": name, "label": "jogging", "split": "real"} for name in [*expected, "good.mkv"]]
        m = write_manifest(tmp_path / "m.csv", rows)
        out = bounded(
            lambda: api.evaluate(m, ["tiny_c3d"], tmp_path / "o", weights=["random:0"], progress=False),
            [tmp_path / "fifo.mp4"],
        )
    finally:
        sock.close()
    from weirdkinetics.results import load_runs

    (run,) = load_runs(out.store)
    got = {v.video_id: v for v in run.videos}
    assert got["good.mkv"].status == "ok"
    for name, reason in expected.items():
        assert got[name].status == "decode_error" and reason in got[name].reason, (name, got[name].reason)


def test_a_fifo_as_a_true_mask_file_is_an_error_not_a_hang(tmp_path):
    from weirdkinetics.synth.segment import TrueMasks

    fifo = tmp_path / "v.mask.npz"
    os.mkfifo(fifo)
    with pytest.raises(UserError, match=r"mask file .*not a regular file \(a FIFO\)"):
        bounded(lambda: TrueMasks(fifo).masks(np.zeros((4, 8, 8, 3), np.uint8)), [fifo])


def test_a_fifo_as_weights_is_an_error_not_a_hang(tmp_path):
    from weirdkinetics.errors import WeightsError
    from weirdkinetics.models import get_card
    from weirdkinetics.models.loading import load_model

    fifo = tmp_path / "w.pt"
    os.mkfifo(fifo)
    with pytest.raises(WeightsError, match="FIFO"):
        bounded(lambda: load_model(get_card("tiny_c3d"), str(fifo)), [fifo])


def test_binary_garbage_is_one_line_naming_the_file(tmp_path):
    junk = tmp_path / "m.csv"
    junk.write_bytes(b"path,label,split\n" + b"\x00\x01\x02" * 1000)
    line = one_line_error(cli("validate", str(junk)))
    assert str(junk) in line and "line 2" in line and "NUL" in line
    junk = tmp_path / "p.csv"
    junk.write_bytes(b"video_id,label,pred\n" + b"\x00\x01\x02" * 1000)
    line = one_line_error(cli("report", "--predictions", str(junk), "--out", str(tmp_path / "r")))
    assert str(junk) in line and "NUL" in line


def test_size_line_and_cell_limits(tmp_path, monkeypatch):
    m = tmp_path / "m.csv"
    m.write_text("path,label,split\n" + "a.mp4,jogging,real\n" * 50, encoding="utf-8")
    monkeypatch.setattr(inputs, "MAX_TEXT_BYTES", 100)
    with pytest.raises(UserError, match=r"more than the limit of 100; split it"):
        read_manifest(m)
    monkeypatch.setattr(inputs, "MAX_TEXT_BYTES", 10_000)
    monkeypatch.setattr(inputs, "MAX_TEXT_LINES", 20)
    with pytest.raises(UserError, match=r"line 21: more than 20 lines"):
        read_manifest(m)
    monkeypatch.setattr(inputs, "MAX_TEXT_LINES", 1000)
    monkeypatch.setattr(inputs, "MAX_LINE_BYTES", 30)
    m.write_text("path,label,split\n" + "a.mp4,jogging,real," + "x" * 40 + "\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"line 2: longer than 30 bytes"):
        read_manifest(m)
    monkeypatch.setattr(inputs, "MAX_LINE_BYTES", 1 << 20)
    monkeypatch.setattr(inputs, "MAX_TEXT_BYTES", 1 << 20)
    m.write_text('path,label,split\n"' + "y" * 200_000 + "\n", encoding="utf-8")  # an unclosed quote
    with pytest.raises(UserError, match=r"a cell longer than 131,072 characters"):
        read_manifest(m)


def test_streamed_manifest_keeps_its_digest_and_line_ends(tmp_path):
    """The digest is still the sha256 of the file's bytes; \\r\\n, \\r and a BOM read as before."""
    data = '\ufeffpath,label,split\r\na.mp4,jogging,real\rb.mp4,"push\nup",weird\n'.encode()
    m = tmp_path / "m.csv"
    m.write_bytes(data)
    man = read_manifest(m)
    assert man.digest == hashlib.sha256(data).hexdigest()
    assert [(r.path_text, r.label) for r in man.rows] == [("a.mp4", "jogging"), ("b.mp4", "push\nup")]


def test_bad_bytes_keep_their_row_number(tmp_path):
    m = tmp_path / "m.csv"
    m.write_bytes(b"path,label,split\na.mp4,jogging,real\n\xe0.mp4,x,real\n")
    with pytest.raises(ManifestError, match=r"row 3: bytes that are not UTF-8"):
        read_manifest(m)


def test_kinetics_annotations_with_infinite_times_are_problems_not_a_crash(tmp_path):
    ann = tmp_path / "a.csv"
    ann.write_text(
        "label,youtube_id,time_start,time_end,split\njogging,abc,inf,10,val\njogging,def,nan,1,val\n"
    )
    (tmp_path / "v").mkdir()
    with pytest.raises(ManifestError) as exc:
        from_kinetics(ann, tmp_path / "v")
    assert [p.split(":")[0] for p in exc.value.problems] == ["row 2", "row 3"]


def test_unreadable_reasons_never_open_the_file(tmp_path):
    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    assert inputs.unreadable(fifo).reason == "not a regular file (a FIFO)"  # stat only: this would block
    assert inputs.unreadable(tmp_path / "nope").missing
    assert "NUL" in inputs.unreadable("a\x00b").reason
    assert inputs.unreadable(tmp_path / ("n" * 300)).reason.startswith("name too long")
    assert errno.ENAMETOOLONG in inputs._ERRNO_REASONS

"""Progress in logs: a bar on a terminal, a plain line every few seconds anywhere else (issue 21.6)."""

import io
import subprocess
import sys

import numpy as np

from weirdkinetics.encode import write_video
from weirdkinetics.manifest import write_manifest
from weirdkinetics.progress import PlainProgress, progress_bar, track


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_plain_progress_prints_one_line_per_interval_and_one_at_the_end():
    clock, out = Clock(), io.StringIO()
    bar = PlainProgress(100, "evaluate", "video", stream=out, interval=10, clock=clock)
    for _ in range(50):  # 50 updates in 5 s: no line yet
        clock.now += 0.1
        bar.update(1)
    assert out.getvalue() == ""
    clock.now = 10.0
    bar.update(1)
    bar.close()
    bar.close()  # a second close prints nothing more
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in out.getvalue()
    assert lines[0] == "evaluate: 51/100 videos (51%), 5.10 videos/s, 10s elapsed, about 10s left"
    assert lines[1].startswith("evaluate: 51/100 videos (51%)")


def test_plain_progress_without_a_total_and_with_a_postfix():
    clock, out = Clock(), io.StringIO()
    bar = PlainProgress(None, "train", "step", stream=out, interval=5, clock=clock)
    clock.now = 4000.0
    bar.set_postfix(epoch=2, loss="0.125")
    bar.update(8)
    assert out.getvalue().strip() == "train: 8 steps, 0.00 steps/s, 1h06m elapsed [epoch=2, loss=0.125]"


def test_progress_bar_picks_by_stream():
    assert isinstance(progress_bar(3, "x", stream=io.StringIO()), PlainProgress)
    terminal = FakeTerminal()
    bar = progress_bar(3, "x", stream=terminal)
    assert not isinstance(bar, PlainProgress)  # tqdm's bar
    bar.update(3)
    bar.close()
    assert "\r" in terminal.getvalue()
    silent = io.StringIO()
    with progress_bar(3, "x", enabled=False, stream=silent) as off:
        off.update(3)
    assert silent.getvalue() == ""


def test_track_yields_every_item():
    assert list(track([1, 2, 3], "x", enabled=False)) == [1, 2, 3]


def test_evaluate_into_a_log_has_plain_lines_not_carriage_returns(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(2):
        write_video(
            tmp_path / f"v{i}.mkv", rng.integers(0, 255, (40, 32, 40, 3), np.uint8), 30, lossless=True
        )
    manifest = write_manifest(
        tmp_path / "m.csv", [{"path": f"v{i}.mkv", "label": "jogging", "split": "real"} for i in range(2)]
    )
    cmd = [sys.executable, "-m", "weirdkinetics", "evaluate", "--model", "tiny_c3d", "--weights", "random:0"]
    cmd += ["--manifest", str(manifest), "--out", str(tmp_path / "out")]
    proc = subprocess.run(cmd, capture_output=True, text=True)  # stderr is a pipe, not a terminal
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stderr
    assert "evaluate: 2/2 videos (100%)" in proc.stderr

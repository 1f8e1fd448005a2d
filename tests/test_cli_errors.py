"""One line, never a traceback: every user error ends with one line that says what to do, exit != 0."""

import errno
import os
import sqlite3

import numpy as np
import pytest
import torch

from weirdkinetics import api
from weirdkinetics.cli import main
from weirdkinetics.encode import write_video
from weirdkinetics.manifest import write_manifest
from weirdkinetics.models import get_card
from weirdkinetics.models.loading import load_model


def one_line(capsys, argv) -> str:
    """Run the CLI in-process; it must fail with exactly one line on stderr and no traceback."""
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        rc = exc.code
    err = capsys.readouterr().err
    assert rc not in (0, None), err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def manifest(tmp_path):
    write_video(tmp_path / "a.mkv", np.zeros((70, 24, 32, 3), np.uint8), 30, lossless=True)
    return write_manifest(tmp_path / "m.csv", [{"path": "a.mkv", "label": "jogging", "split": "real"}])


def evaluate_args(manifest, out, *extra):
    return [
        "evaluate",
        "--model",
        "tiny_c3d",
        "--weights",
        "random:0",
        "--manifest",
        str(manifest),
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--batch-size", "0"], "argument --batch-size: 0 is out of range: use 1 to 1024"),
        (["--batch-size", "-3"], "argument --batch-size: -3 is out of range"),
        (["--batch-size", "many"], "argument --batch-size: 'many' is not a whole number"),
        (
            ["--clips", "uniform:100000"],
            "argument --clips: use 'dense' (the card's protocol), 'uniform:N' with N from 1 to 1000",
        ),
        (["--clips", "uniform:0"], "with N from 1 to 1000"),
        (
            ["--clips", "uniform:400", "--crops", "3"],
            "1200 views per video, more than the limit of 1000; use at most uniform:333",
        ),
        (["--crops", "2"], "argument --crops: invalid choice: 2"),
        (
            ["--device", "foo"],
            "--device foo: not a device this toolkit runs on; use cpu, cuda, cuda:N or mps",
        ),
        (["--device", "cuda:99"], "--device cuda:99:"),
    ],
)
def test_evaluate_numbers_and_devices_are_checked_first(manifest, tmp_path, capsys, extra, expected):
    line = one_line(capsys, evaluate_args(manifest, tmp_path / "o", *extra))
    assert expected in line
    assert not (tmp_path / "o" / "predictions.sqlite").exists()  # refused before any work


def test_cuda_without_a_gpu_says_so(manifest, tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: --device cuda is valid here")
    line = one_line(capsys, evaluate_args(manifest, tmp_path / "o", "--device", "cuda"))
    assert "--device cuda: no CUDA GPU is visible here" in line and "use --device cpu" in line


@pytest.mark.parametrize(
    "argv, expected",
    [
        (
            ["report", "--store", "s.sqlite", "--out", "r", "--seed", "-1"],
            "argument --seed: -1 is out of range",
        ),
        (
            ["synth", "swap", "--manifest", "m.csv", "--out", "o", "--max-side", "0"],
            "argument --max-side: 0 is out of range",
        ),
        (["synth", "swap", "--manifest", "m.csv", "--out", "o", "--seed", "2"], None),
        (["demo", "--seed", "-5"], "argument --seed: -5 is out of range"),
        (["validate", "m\x00.csv"], "argument manifest: 'm<NUL>.csv' contains a NUL byte"),
        (["evaluate", "--model", "tiny_c3d", "--manifest", "m.csv", "--out", "o\x00"], "argument --out"),
    ],
)
def test_other_commands_check_their_numbers_and_paths_at_parse_time(
    tmp_path, capsys, argv, expected, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    if expected is None:  # a valid number passes the parser (the command then fails for another reason)
        assert "--seed" not in one_line(capsys, argv)
        return
    assert expected in one_line(capsys, argv)


def _loop(tmp_path):
    os.symlink(tmp_path / "loop2", tmp_path / "loop1")
    os.symlink(tmp_path / "loop1", tmp_path / "loop2")
    return tmp_path / "loop1"


def test_bad_manifest_paths_name_the_cause(manifest, tmp_path, capsys):
    loop = _loop(tmp_path)
    assert "symlink loop" in one_line(capsys, evaluate_args(loop, tmp_path / "o"))
    assert "symlink loop" in one_line(capsys, ["validate", str(loop)])
    long = tmp_path / ("m" * 300 + ".csv")
    assert "name too long" in one_line(capsys, evaluate_args(long, tmp_path / "o"))
    assert "name too long" in one_line(capsys, ["validate", str(long)])


def test_bad_out_paths_name_the_cause(manifest, tmp_path, capsys):
    loop = _loop(tmp_path)
    line = one_line(capsys, evaluate_args(manifest, loop / "out"))
    assert str(loop) in line and "symlink loop" in line
    line = one_line(capsys, evaluate_args(manifest, loop))  # mkdir says "exists"; the cause is the loop
    assert str(loop) in line and "symlink loop" in line
    long = tmp_path / ("o" * 300)
    line = one_line(capsys, evaluate_args(manifest, long))
    assert "name too long" in line


def test_bad_weights_paths_name_the_cause(manifest, tmp_path, capsys):
    loop = _loop(tmp_path)
    for weights, expected in [
        (str(loop), "symlink loop"),
        (str(tmp_path / ("w" * 300)), "name too long"),
        (str(tmp_path), "a folder"),
    ]:
        argv = evaluate_args(manifest, tmp_path / "o")
        argv[argv.index("random:0")] = weights
        line = one_line(capsys, argv)
        assert "--weights" in line and expected in line, line


def test_a_symlink_loop_and_a_long_name_in_the_manifest_are_row_statuses(tmp_path):
    loop = _loop(tmp_path)
    m = write_manifest(
        tmp_path / "m.csv",
        [
            {"path": str(loop), "label": "jogging", "split": "real"},
            {"path": "n" * 300 + ".mp4", "label": "jogging", "split": "real"},
        ],
    )
    problems = api.validate(m)
    assert "symlink loop" in problems[0] and "name too long" in problems[1]


def test_checkpoint_messages_name_the_real_cause(tmp_path):
    from weirdkinetics.errors import WeightsError

    card = get_card("tiny_c3d")
    good = tmp_path / "good.pt"
    torch.save(load_model(card, "random:1").module.state_dict(), good)
    data = good.read_bytes()
    cases = {
        "truncated.pt": (data[: len(data) // 2], "truncated or corrupt checkpoint"),
        "empty.pt": (b"", "truncated or corrupt checkpoint"),
        "text.pt": (b"these are not weights\n", "not a PyTorch checkpoint"),
    }
    for name, (content, expected) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(WeightsError, match=expected) as exc:
            load_model(card, str(tmp_path / name))
        assert "safely" not in str(exc.value)
    torch.save({"model_state": {"w": torch.zeros(1)}, "obj": object()}, tmp_path / "evil.pt")
    with pytest.raises(WeightsError, match="cannot be loaded safely"):
        load_model(card, str(tmp_path / "evil.pt"))


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", str(args[-1]) if args else None)


def test_disk_full_during_evaluate_export_and_report_is_one_line(manifest, tmp_path, capsys, monkeypatch):
    import weirdkinetics.report
    from weirdkinetics import store
    from weirdkinetics.commands import evaluate as evaluate_command

    def full_store(self, run_id, pred):  # what SQLite raises when the disk fills under the store
        raise sqlite3.OperationalError("database or disk is full")

    with monkeypatch.context() as mp:
        mp.setattr(store.Store, "put", full_store)
        line = one_line(capsys, evaluate_args(manifest, tmp_path / "o"))
        assert "database or disk is full" in line and "free some space" in line
    assert main(evaluate_args(manifest, tmp_path / "o")) == 0  # space is back: the same command finishes
    capsys.readouterr()
    with monkeypatch.context() as mp:
        # evaluate calls the export where its command module finds it (weirdkinetics.commands.evaluate)
        mp.setattr(evaluate_command, "export_csv", lambda store, man, run, out: _enospc(out))
        line = one_line(capsys, evaluate_args(manifest, tmp_path / "o", "--export", str(tmp_path / "e.csv")))
        assert str(tmp_path / "e.csv") in line and "no space left on the device" in line
    with monkeypatch.context() as mp:
        mp.setattr(weirdkinetics.report, "write_report", lambda runs, out, **kw: _enospc(out / "report.html"))
        line = one_line(
            capsys,
            ["report", "--store", str(tmp_path / "o" / "predictions.sqlite"), "--out", str(tmp_path / "r")],
        )
        assert "report.html" in line and "no space left on the device" in line


def test_unknown_os_errors_and_sqlite_bugs_keep_their_traceback(manifest, tmp_path, monkeypatch):
    """Only known causes become one line: anything else is a bug and must stay visible."""
    from weirdkinetics import store

    def bug(self, run_id, pred):
        raise sqlite3.OperationalError("no such column: oops")

    monkeypatch.setattr(store.Store, "put", bug)
    with pytest.raises(sqlite3.OperationalError, match="no such column"):
        main(evaluate_args(manifest, tmp_path / "o"))
    monkeypatch.setattr(
        store.Store, "put", lambda *a: (_ for _ in ()).throw(OSError(errno.EBADF, "Bad file"))
    )
    with pytest.raises(OSError, match="Bad file"):
        main(evaluate_args(manifest, tmp_path / "o"))


def test_explain_checks_its_batch_size(tmp_path):
    from weirdkinetics import api
    from weirdkinetics.errors import UserError

    m = tmp_path / "m.csv"
    m.write_text("path,label,split\nv.mkv,jogging,real\n")
    with pytest.raises(UserError, match="batch_size"):
        api.explain(m, "tiny_c3d", tmp_path / "o", weights="random:0", batch_size=0, segmenter="true")


def test_a_reader_that_goes_away_ends_the_command_quietly():
    """`weirdkinetics models | head -1`: no traceback, the shell's SIGPIPE status."""
    import subprocess
    import sys

    code = "from weirdkinetics.cli import main; raise SystemExit(main(['models', '--json']))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    proc.stdout.close()  # before the child writes anything: every write meets a closed pipe
    err = proc.stderr.read()
    assert proc.wait() == 141, err
    assert "Traceback" not in err and "BrokenPipeError" not in err, err

import subprocess
import sys

import pytest

from weirdkinetics.cli import build_parser, main

COMMANDS = [
    ["evaluate"], ["validate"], ["manifest", "from-folder"], ["manifest", "from-kinetics"], ["models"],
    ["report"], ["synth"], ["demo"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(command + ["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "example:" in out and "weirdkinetics " + command[0] in out


def test_unknown_model_is_one_clear_line(tmp_path, capsys):
    m = tmp_path / "m.csv"
    m.write_text("path,label,split\na.mp4,jogging,real\n")
    rc = main(["evaluate", "--model", "x3d_mm", "--manifest", str(m), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 1
    assert "Unknown model 'x3d_mm'. Did you mean: x3d_m" in err and "Traceback" not in err


def test_validate_exit_status(tmp_path, capsys):
    m = tmp_path / "m.csv"
    m.write_text("path,label,split\nnope.mp4,jogging,wierd\n,,\n")
    assert main(["validate", str(m)]) == 1
    assert "row 2: missing file" in capsys.readouterr().err


def test_models_lists_protocols(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "i3d_r50" in out and "8x8 @30fps" in out and "73.27" in out


def test_python_dash_m_entry_point():
    proc = subprocess.run([sys.executable, "-m", "weirdkinetics", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and "weirdkinetics" in proc.stdout

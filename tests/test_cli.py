import subprocess
import sys
from pathlib import Path

import pytest

from weirdkinetics.cli import build_parser, main

COMMANDS = [
    ["evaluate"],
    ["validate"],
    ["manifest", "from-folder"],
    ["manifest", "from-kinetics"],
    ["models"],
    ["report"],
    ["synth"],
    ["demo"],
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
    proc = subprocess.run(
        [sys.executable, "-m", "weirdkinetics", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and "weirdkinetics" in proc.stdout


def test_synth_prints_what_the_api_returns(tmp_path, monkeypatch, capsys):
    """The CLI prints the API's answer; it does not read synth.json back (there is none here)."""
    from weirdkinetics import api
    from weirdkinetics.synth.generate import SynthResult

    seen = {}

    def fake_synthesize(variant, manifest, out, **kw):
        seen.update(variant=variant, manifest=manifest, out=out, **kw)
        return SynthResult(Path(out) / "manifest.csv", {"counts": {"ok": 3, "missing": 1}, "rows": 4})

    monkeypatch.setattr(api, "synthesize", fake_synthesize)
    out = tmp_path / "out"
    args = ["synth", "person-only", "--manifest", "m.csv", "--out", str(out), "--segmenter", "true"]
    assert main([*args, "--no-progress"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "rows: missing 1, ok 3",
        f"manifest: {out / 'manifest.csv'}",
    ]
    assert seen["variant"] == "person-only" and seen["segmenter"] == "true" and seen["progress"] is False
    assert not out.exists()


def test_fill_colour_takes_rgb_or_a_models_normalisation_mean():
    from weirdkinetics.cli import fill_colour
    from weirdkinetics.errors import UnknownNameError

    assert fill_colour("1,2,3") == (1, 2, 3)
    assert fill_colour("demo_c3d") == (128, 128, 128)  # its card's mean 0.5: 0 after normalising
    with pytest.raises(UnknownNameError):
        fill_colour("300,0,0")  # not a colour, so a model name, and no such model

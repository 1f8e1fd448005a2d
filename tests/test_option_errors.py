"""One message, two readers: the API's errors name its parameters, the CLI's the flags that set them."""

import argparse
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from weirdkinetics import api
from weirdkinetics.cli import build_parser, flag, main
from weirdkinetics.encode import write_video
from weirdkinetics.errors import ManifestError, UserError, option, rename_options, render_options
from weirdkinetics.manifest import write_manifest

SRC = Path(__file__).resolve().parents[1] / "src" / "weirdkinetics"


def test_option_reads_as_a_parameter_or_as_a_flag():
    text = (
        f"{option('clips', 'uniform:0')}: no; try {option('store_path')} or {option('weights', meta='PATH')}"
    )
    assert render_options(text) == "clips='uniform:0': no; try store_path or weights=PATH"
    assert render_options(text, flag) == "--clips uniform:0: no; try --store or --weights PATH"
    assert str(UserError(text)) == render_options(text)
    assert UserError(text).render(flag) == render_options(text, flag)


def test_values_read_as_python_writes_them_and_as_a_shell_takes_them():
    text = option("out_dir", Path("my results")) + " " + option("batch_size", 0) + " " + option("device", "")
    assert render_options(text) == "out_dir='my results' batch_size=0 device=''"
    assert render_options(text, flag) == "--out 'my results' --batch-size 0 --device ''"
    # control characters in a value cannot break the message apart
    odd = option("weights", "a\x1fb\x00c") + " tail"
    assert render_options(odd) == "weights='a\\x1fb\\x00c' tail"
    assert render_options(odd, flag).endswith(" tail") and "\x00" not in render_options(odd, flag)


def test_errors_keep_their_options_through_pickling_and_renaming():
    exc = pickle.loads(pickle.dumps(UserError(f"{option('weights', meta='PATH')} please")))  # decode workers
    assert exc.render(flag) == "--weights PATH please"
    renamed = rename_options(exc, {"weights": "segmenter_weights"})
    assert renamed is exc and str(exc) == "segmenter_weights=PATH please"
    assert exc.render(flag) == "--segmenter-weights PATH please"
    problems = ManifestError([f"row 2: use {option('label_map', meta='FILE')}"], "m.csv")
    assert problems.problem_lines() == ["row 2: use label_map=FILE"]
    assert problems.problem_lines(flag) == ["row 2: use --label-map FILE"]
    assert str(problems) == "m.csv: row 2: use label_map=FILE"


def test_every_option_a_message_names_is_a_real_flag():
    """The CLI renders each option the sources name (``option("x")``) as a flag its parser knows."""
    names = set()
    for path in SRC.rglob("*.py"):
        names |= set(re.findall(r"""option\(\s*["']([A-Za-z_.]+)["']""", path.read_text("utf-8")))
    names.discard("path")  # write_manifest's path: the CLI checks its -o itself first
    assert {"clips", "weights", "store_path", "out_dir"} <= names
    flags = set()
    parsers = [build_parser()]
    while parsers:
        parser = parsers.pop()
        for action in parser._actions:
            flags |= set(action.option_strings)
            if isinstance(action, argparse._SubParsersAction):
                parsers += list(action.choices.values())
    missing = {name: flag(name) for name in names if not set(flag(name).split(" or ")) <= flags}
    assert not missing, f"options the CLI cannot render as one of its flags: {missing}"


@pytest.fixture
def manifest(tmp_path):
    write_video(tmp_path / "a.mkv", np.zeros((40, 24, 32, 3), np.uint8), 30, lossless=True)
    return write_manifest(tmp_path / "m.csv", [{"path": "a.mkv", "label": "jogging", "split": "real"}])


def _api_message(call) -> str:
    with pytest.raises(UserError) as err:
        call()
    return str(err.value)


def _cli_message(capsys, argv) -> str:
    assert main(argv) == 1
    return capsys.readouterr().err.strip()


def test_api_errors_name_parameters_and_the_cli_names_flags(manifest, tmp_path, capsys):
    out = tmp_path / "o"
    a_file = tmp_path / "taken.txt"
    a_file.write_text("x")

    def evaluate(**kwargs):
        base = {"weights": ["random:0"], "progress": False}
        models = kwargs.pop("models", ["tiny_c3d"])
        return lambda: api.evaluate(manifest, models, kwargs.pop("out_dir", out), **(base | kwargs))

    def cli(*extra, out_dir=out):
        base = ["evaluate", "--model", "tiny_c3d", "--manifest", str(manifest), "--out", str(out_dir)]
        return base + ["--weights", "random:0", "--no-progress", *extra]

    cases = [  # (API call, what it says, CLI argv, what the CLI says)
        (
            evaluate(device="foo"),
            "device='foo': not a device",
            cli("--device", "foo"),
            "--device foo: not a device",
        ),
        (
            evaluate(clips="uniform:400", crops=3),
            "clips='uniform:400' with 3 crops",
            cli("--clips", "uniform:400", "--crops", "3"),
            "--clips uniform:400 with 3 crops",
        ),
        (
            evaluate(models=["tiny_c3d", "tiny_c3d"], weights=["a.pt", "b.pt", "c.pt"]),
            "3 weights for 2 models",
            cli("--model", "tiny_c3d", "--weights", "b.pt", "--weights", "c.pt"),
            "3 --weights for 2 --model",
        ),
        (
            evaluate(out_dir=a_file),
            f"out_dir {a_file} is an existing file",
            cli(out_dir=a_file),
            f"--out {a_file} is an existing file",
        ),
        (
            evaluate(store_path=manifest),
            f"the store (store_path) {manifest} would overwrite the manifest (manifest_path)",
            cli("--store", str(manifest)),
            f"the store (--store) {manifest} would overwrite the manifest (--manifest)",
        ),
        (
            lambda: api.make_report(tmp_path / "s.sqlite", out, seed=-1),
            "seed=-1: must be a whole number",
            None,  # the CLI's --seed is range-checked by argparse
            None,
        ),
        (
            lambda: api.explain(manifest, "tiny_c3d", out, segmenter="mediapipe", segmenter_weights="x.pth"),
            "segmenter_weights only applies",
            [
                "explain",
                "--model",
                "tiny_c3d",
                "--manifest",
                str(manifest),
                "--out",
                str(out),
                "--segmenter-weights",
                "x.pth",
            ],
            "--segmenter-weights only applies",
        ),
    ]
    for call, api_says, argv, cli_says in cases:
        message = _api_message(call)
        assert api_says in message and "--" not in message, message
        if argv is not None:
            line = _cli_message(capsys, argv)
            assert cli_says in line and "\x1f" not in line, line


def test_validate_names_the_label_map_as_each_reader_calls_it(tmp_path, capsys):
    m = write_manifest(tmp_path / "m.csv", [{"path": "a.mkv", "label": "zzzz qqqq", "split": "real"}])
    problems = api.validate(m, "tiny_c3d")
    assert any("label_map=FILE" in p for p in problems) and not any("--" in p for p in problems)
    assert main(["validate", str(m), "--model", "tiny_c3d"]) == 1
    assert "Use --label-map FILE to map your labels." in capsys.readouterr().err

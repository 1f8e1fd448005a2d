"""The weak spots at the end of issue 22: a UTF-16 manifest is told to be saved as UTF-8, a display rotation
that is not a multiple of 90 degrees is not applied as 270, and ``--reference`` must name a ``--model``."""

from __future__ import annotations

import pytest

from weirdkinetics.cli import main
from weirdkinetics.decode import display_rotation


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf16_manifest_is_told_to_be_saved_as_utf8(encoding, tmp_path, capsys):
    m = tmp_path / "m.csv"
    m.write_bytes("path,label,split\nv.mp4,jogging,real\n".encode(encoding))
    assert main(["validate", str(m)]) == 1
    err = capsys.readouterr().err
    assert "save it as UTF-8" in err and "binary data" not in err and "Traceback" not in err


def test_binary_data_is_still_binary_data(tmp_path, capsys):
    m = tmp_path / "m.csv"
    m.write_bytes(b"path,label,split\nv\x00.mp4,jogging,real\n")
    assert main(["validate", str(m)]) == 1
    assert "binary data" in capsys.readouterr().err


@pytest.mark.parametrize(
    "degrees, applied",
    [
        (0, 0),
        (90, 90),
        (-90, -90),
        (180, 180),
        (-180, -180),
        (270, 270),
        (89.6, 90),
        (-45, 0),
        (45, 0),
        (100, 0),
    ],
)
def test_only_multiples_of_90_degrees_are_applied(degrees, applied):
    assert display_rotation(degrees) == applied


def test_a_reference_that_is_not_a_model_is_refused(tmp_path, capsys):
    argv = [
        "study",
        "--manifest",
        str(tmp_path / "m.csv"),
        "--model",
        "tiny_c3d",
        "--out",
        str(tmp_path / "o"),
    ]
    assert main(argv + ["--reference", "tiny_c3d_demo"]) == 1
    err = capsys.readouterr().err
    assert "--reference tiny_c3d_demo: not a --model" in err and len(err.strip().splitlines()) == 1


def test_a_class_file_that_excludes_every_label_warns(tmp_path, capsys):
    import numpy as np

    from weirdkinetics import api
    from weirdkinetics.encode import write_video
    from weirdkinetics.manifest import write_manifest

    frames = np.random.default_rng(0).integers(0, 255, (20, 32, 32, 3), dtype=np.uint8)
    write_video(tmp_path / "v.mkv", frames, 30, lossless=True)
    m = write_manifest(tmp_path / "m.csv", [{"path": "v.mkv", "label": "jogging", "split": "real"}])
    (tmp_path / "classes.txt").write_text("abseiling\narchery\n")
    api.evaluate(m, ["tiny_c3d"], tmp_path / "o", weights=["random:0"], clips="uniform:1", progress=False,
                 classes=str(tmp_path / "classes.txt"))  # fmt: skip
    assert "holds none of the manifest's 1 label(s)" in capsys.readouterr().err
    (tmp_path / "classes.txt").write_text("jogging\narchery\n")
    api.evaluate(m, ["tiny_c3d"], tmp_path / "o2", weights=["random:0"], clips="uniform:1", progress=False,
                 classes=str(tmp_path / "classes.txt"))  # fmt: skip
    assert "holds none" not in capsys.readouterr().err

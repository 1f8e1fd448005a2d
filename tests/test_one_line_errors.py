"""Tracebacks that should have been one line (issue 22, item 12): a ``mask_path`` to a ``.npy`` file, a
``ray://`` address without Ray's client package, and an ``http://`` address."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from weirdkinetics.cli import main
from weirdkinetics.errors import UserError
from weirdkinetics.synth.segment import TrueMasks

pytest.importorskip("ray")


def test_a_npy_mask_file_is_read_as_the_masks(tmp_path):
    masks = np.zeros((3, 4, 6), np.float32)
    masks[:, 1:3, 2:4] = 1.0
    np.save(tmp_path / "m.npy", masks)
    got = TrueMasks(tmp_path / "m.npy").load((4, 6), 3)
    assert got.dtype == np.float32 and (got == masks).all()


def test_a_npy_file_of_objects_is_one_line_not_a_traceback(tmp_path):
    np.save(tmp_path / "o.npy", np.array([{"masks": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(UserError, match="cannot be read"):
        TrueMasks(tmp_path / "o.npy").load((4, 6))
    np.savez(tmp_path / "n.npz", other=np.zeros(2))
    with pytest.raises(UserError, match="no array named 'masks'"):
        TrueMasks(tmp_path / "n.npz").load((4, 6))


def _one_line(capsys, argv) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


@pytest.fixture
def manifest(tmp_path):
    m = tmp_path / "m.csv"
    m.write_text("path,label,split\nv.mkv,jogging,real\n")
    return m


def test_an_http_address_is_one_line(manifest, tmp_path, capsys):
    argv = ["evaluate", "--model", "tiny_c3d", "--weights", "random:0", "--manifest", str(manifest)]
    err = _one_line(capsys, argv + ["--out", str(tmp_path / "o"), "--engine", "ray", "--address", "http://x"])
    assert "not a Ray address" in err and "HOST:PORT" in err


@pytest.mark.skipif(importlib.util.find_spec("grpc") is not None, reason="Ray's client package is installed")
def test_a_ray_client_address_without_the_client_package_is_one_line(manifest, tmp_path, capsys):
    argv = ["evaluate", "--model", "tiny_c3d", "--weights", "random:0", "--manifest", str(manifest)]
    err = _one_line(
        capsys, argv + ["--out", str(tmp_path / "o"), "--engine", "ray", "--address", "ray://127.0.0.1:10001"]
    )
    assert "pip install 'ray[client]'" in err

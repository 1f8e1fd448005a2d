"""Reserved manifest columns (issue 22, item 5): a user column named like one synth writes and evaluation
reads (``synth_status``, ``variant``, ...) is refused by ``validate`` and at load, one line per column naming
it and what to rename it to; our own synth and study manifests, which come with their record, still load."""

from __future__ import annotations

import json

import numpy as np
import pytest

from weirdkinetics import api
from weirdkinetics.cli import main
from weirdkinetics.encode import write_video
from weirdkinetics.errors import ManifestError
from weirdkinetics.manifest import RESERVED, read_manifest, write_manifest


@pytest.fixture
def video(tmp_path):
    frames = np.random.default_rng(0).integers(0, 255, (20, 32, 32, 3), dtype=np.uint8)
    return write_video(tmp_path / "v.mkv", frames, 30, lossless=True)


def _manifest(tmp_path, column: str, value: str):
    return write_manifest(
        tmp_path / "m.csv", [{"path": "v.mkv", "label": "jogging", "split": "real", column: value}]
    )


@pytest.mark.parametrize("column", RESERVED)
def test_validate_refuses_a_user_column_named_like_ours(column, video, tmp_path, capsys):
    m = _manifest(tmp_path, column, "excluded" if column == "synth_status" else "x")
    assert main(["validate", str(m)]) == 1
    err = capsys.readouterr().err
    assert f"column '{column}' is reserved" in err and f"'user_{column}'" in err and "Traceback" not in err


@pytest.mark.parametrize("column", ["synth_status", "variant"])
def test_evaluate_and_report_refuse_it_at_load_before_counting_anything(column, video, tmp_path, capsys):
    m = _manifest(tmp_path, column, "excluded" if column == "synth_status" else "swap")
    argv = ["evaluate", "--model", "tiny_c3d", "--weights", "random:0", "--no-progress", "--manifest", str(m)]
    assert main(argv + ["--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert f"column '{column}' is reserved" in err and "Traceback" not in err, err
    assert not (tmp_path / "o").exists()
    with pytest.raises(ManifestError, match=f"'user_{column}'"):
        read_manifest(m)


def test_renamed_the_column_is_the_users_own_and_counts_nothing(video, tmp_path):
    m = _manifest(tmp_path, "user_synth_status", "excluded")
    assert api.validate(m) == []
    out = api.evaluate(
        m, ["tiny_c3d"], tmp_path / "o", weights=["random:0"], clips="uniform:1", progress=False
    )
    (counts,) = out.summary.counts.values()
    assert "excluded" not in counts and sum(counts.values()) == 1, counts


def test_manifests_our_commands_wrote_keep_their_columns(video, tmp_path):
    """Beside a synth.json (or a study.json) the columns are ours: read as written."""
    m = _manifest(tmp_path, "synth_status", "ok")
    (tmp_path / "synth.json").write_text(json.dumps({"generator": "weirdkinetics.synth", "rows": 1}))
    assert read_manifest(m).rows[0].extra["synth_status"] == "ok"
    (tmp_path / "synth.json").unlink()
    (tmp_path / "study.json").write_text(json.dumps({"schema": "weirdkinetics.study/1", "steps": {}}))
    assert read_manifest(m).rows[0].extra["synth_status"] == "ok"
    (tmp_path / "study.json").write_text(json.dumps({"schema": "something else"}))
    with pytest.raises(ManifestError, match="reserved"):
        read_manifest(m)

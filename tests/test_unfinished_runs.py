"""A report on an unfinished run (issue 22, item 2): the manifest's rows the run has not stored are listed as
``not_evaluated``, the report and the terminal say the run is incomplete, and the denominators read "n of N
planned". Rows that ended with a status on purpose (a missing file) are results, not "not evaluated"."""

from __future__ import annotations

import json

import numpy as np
import pytest

from weirdkinetics import api
from weirdkinetics.cli import main
from weirdkinetics.encode import write_video
from weirdkinetics.manifest import write_manifest
from weirdkinetics.store import Store

_PUT = Store.put


class Killed(BaseException):
    """Stands for the process being killed mid-run."""


@pytest.fixture
def manifest(tmp_path):
    rows = []
    for i in range(5):
        if i != 1:  # row 1's file does not exist: it ends with status 'missing', a result
            frames = np.random.default_rng(i).integers(0, 255, (20, 32, 32, 3), dtype=np.uint8)
            write_video(tmp_path / f"v{i}.mkv", frames, 30, lossless=True)
        rows.append({"path": f"v{i}.mkv", "label": "jogging", "split": "real", "video_id": f"v{i}"})
    return write_manifest(tmp_path / "m.csv", rows)


def _evaluate_killed_after(manifest, out, stored: int, monkeypatch) -> None:
    written: list[str] = []

    def put(store, run_id, pred):
        if len(written) == stored:
            raise Killed
        _PUT(store, run_id, pred)
        written.append(pred.video_id)

    monkeypatch.setattr(Store, "put", put)
    with pytest.raises(Killed):
        api.evaluate(manifest, ["tiny_c3d"], out, weights=["random:0"], clips="uniform:1", progress=False)
    monkeypatch.setattr(Store, "put", _PUT)


def test_a_report_on_an_unfinished_run_says_so_and_lists_the_missing_rows(manifest, tmp_path, capsys,
                                                                          monkeypatch):  # fmt: skip
    out = tmp_path / "o"
    _evaluate_killed_after(manifest, out, 3, monkeypatch)
    with Store(out / "predictions.sqlite", read_only=True) as store:
        (run,) = store.runs()
        stored = {p.video_id: p.status for p in store.predictions(run.run_id, len(run.class_names))}
    assert len(stored) == 3 and stored.get("v1") == "missing"
    capsys.readouterr()
    argv = ["report", "--store", str(out / "predictions.sqlite"), "--manifest", str(manifest)]
    assert main(argv + ["--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert "incomplete: 2 of 5 planned rows are not evaluated yet" in err, err

    md = (tmp_path / "r" / "report.md").read_text()
    assert "Incomplete run" in md and "of 5 planned videos counted" in md
    assert "not evaluated yet" in md
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    (m,) = metrics.get("runs", [metrics])
    status = m["status"]
    assert status["rows"] == 5 and status["counts"]["not_evaluated"] == 2 and status["counts"]["missing"] == 1
    listed = {e["video_id"]: e["status"] for e in status["excluded"]}
    assert listed["v1"] == "missing"  # a result, not "not evaluated"
    assert sorted(v for v, s in listed.items() if s == "not_evaluated") == sorted(
        {"v0", "v1", "v2", "v3", "v4"} - set(stored)
    )


def test_a_finished_run_is_not_called_incomplete(manifest, tmp_path, capsys):
    out = tmp_path / "o"
    api.evaluate(manifest, ["tiny_c3d"], out, weights=["random:0"], clips="uniform:1", progress=False)
    capsys.readouterr()
    argv = ["report", "--store", str(out / "predictions.sqlite"), "--manifest", str(manifest)]
    assert main(argv + ["--out", str(tmp_path / "r")]) == 0
    assert "incomplete" not in capsys.readouterr().err
    md = (tmp_path / "r" / "report.md").read_text()
    assert "Incomplete run" not in md and "4 of 5 videos counted" in md


def test_the_export_of_an_unfinished_run_says_not_evaluated(manifest, tmp_path, monkeypatch):
    out = tmp_path / "o"
    _evaluate_killed_after(manifest, out, 2, monkeypatch)
    from weirdkinetics.manifest import read_manifest

    path = api.export_csv(out / "predictions.sqlite", read_manifest(manifest), None, tmp_path / "e.csv")
    text = path.read_text()
    assert text.count("not_evaluated") == 3 and text.count(",missing,") == 1, text


def test_without_a_manifest_the_recorded_plan_says_the_run_is_incomplete(manifest, tmp_path, capsys,
                                                                         monkeypatch):  # fmt: skip
    """evaluate records its manifest's row ids before its first row: a report of the store alone knows how
    many rows were planned, and says so on the terminal, in the report and in metrics.json."""
    out = tmp_path / "o"
    _evaluate_killed_after(manifest, out, 3, monkeypatch)
    capsys.readouterr()
    argv = ["report", "--store", str(out / "predictions.sqlite"), "--out", str(tmp_path / "r")]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "incomplete: 2 of 5 planned rows are not evaluated yet" in err, err
    md = (tmp_path / "r" / "report.md").read_text()
    assert "Incomplete run" in md and "incomplete: 2 of 5 planned rows" in md
    assert "2 of 3 videos counted" in md  # the stored rows (one of them missing its file), not "of 3 planned"
    (m,) = json.loads((tmp_path / "r" / "metrics.json").read_text())["runs"]
    assert m["incomplete"] == {"planned": 5, "not_evaluated": 2} and m["status"]["rows"] == 3

    api.evaluate(manifest, ["tiny_c3d"], out, weights=["random:0"], clips="uniform:1", progress=False)
    capsys.readouterr()
    assert main(argv) == 0  # finished by the same evaluate: complete
    assert "incomplete" not in capsys.readouterr().err
    md = (tmp_path / "r" / "report.md").read_text()
    assert "Incomplete run" not in md and "4 of 5 videos counted" in md

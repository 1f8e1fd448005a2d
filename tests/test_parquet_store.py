"""Results as Parquet (issue 20.6): ``--store PATH.parquet`` writes a folder partitioned by run that ``report``
reads as it reads the SQLite store (the same report from either), and a run resumes from it."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from weirdkinetics import api, parquet_store
from weirdkinetics.cli import main
from weirdkinetics.errors import UserError
from weirdkinetics.manifest import write_manifest
from weirdkinetics.parquet_store import ParquetStore, open_store
from weirdkinetics.store import Store, StoredPrediction

pytest.importorskip("pyarrow")


@pytest.fixture
def manifests(tmp_path, lossless_video):
    """(manifest of three videos, manifest of its first two): lossless videos long enough for tiny_c3d."""
    rows = []
    for i, (n, label) in enumerate([(80, "jogging"), (95, "push up"), (85, "playing tennis")]):
        path, _ = lossless_video(n, name=f"v{i}.mkv", h=24 + 8 * i)
        rows.append(
            {"path": path.name, "label": label, "split": "real" if i else "weird", "video_id": f"v{i}"}
        )
    return write_manifest(tmp_path / "all.csv", rows), write_manifest(tmp_path / "two.csv", rows[:2])


KW = dict(weights=["random:0"], progress=False, classes="manifest")


def test_the_same_report_from_parquet_and_from_sqlite(manifests, tmp_path):
    full, _ = manifests
    sqlite = api.evaluate(full, ["tiny_c3d"], tmp_path / "s", **KW)
    parquet = api.evaluate(
        full, ["tiny_c3d"], tmp_path / "p", store_path=tmp_path / "p" / "results.parquet", **KW
    )
    assert (tmp_path / "p" / "results.parquet").is_dir() and not (
        tmp_path / "p" / "predictions.sqlite"
    ).exists()
    a = api.make_report(sqlite.store, tmp_path / "rs")
    b = api.make_report(parquet.store, tmp_path / "rp")

    def text(path, store):  # the report names its store: the only difference allowed
        content = path.read_text(encoding="utf-8")
        return content.replace(str(store), "STORE").replace(str(store).replace("_", "\\_"), "STORE")

    assert text(a["markdown"], sqlite.store) == text(b["markdown"], parquet.store)
    ma, mb = (json.loads(text(r["metrics"], s)) for r, s in ((a, sqlite.store), (b, parquet.store)))
    assert ma == mb
    with Store(sqlite.store, read_only=True) as s, open_store(parquet.store, read_only=True) as p:
        (run,) = s.runs()
        assert [r.run_id for r in p.runs()] == [run.run_id]
        assert p.evaluations(run.run_id) == s.evaluations(run.run_id)
        for x, y in zip(s.predictions(run.run_id, 400), p.predictions(run.run_id, 400)):
            assert (x.video_id, x.path, x.status, x.row, x.file_size) == (
                y.video_id,
                y.path,
                y.status,
                y.row,
                y.file_size,
            )
            np.testing.assert_array_equal(x.scores, y.scores)
            np.testing.assert_array_equal(x.clip_scores, y.clip_scores)


def test_resume_from_parquet_computes_only_new_rows(manifests, tmp_path):
    full, two = manifests
    store = tmp_path / "out" / "predictions.parquet"
    first = api.evaluate(two, ["tiny_c3d"], tmp_path / "out", store_path=store, **KW)
    assert (first.summary.computed, first.summary.reused) == (2, 0)
    second = api.evaluate(full, ["tiny_c3d"], tmp_path / "out", store_path=store, **KW)
    assert (second.summary.computed, second.summary.reused) == (1, 2)
    third = api.evaluate(full, ["tiny_c3d"], tmp_path / "out", store_path=store, **KW)
    assert (third.summary.computed, third.summary.reused) == (0, 3)
    # partitioned by run, readable by any Parquet reader
    import pyarrow.dataset as ds

    table = ds.dataset(store / "predictions", format="parquet", partitioning="hive").to_table()
    assert table.num_rows == 3 and set(table.column("run_id").to_pylist()) == set(third.run_ids)


def _prediction(video_id: str, status: str, value: float) -> StoredPrediction:
    scores = np.full(4, value, np.float32)
    return StoredPrediction(
        video_id,
        f"/v/{video_id}",
        {"video_id": video_id},
        status,
        "",
        10,
        2,
        scores,
        np.stack([scores, scores]),
        0.1,
        0.2,
        100,
        7,
    )


def test_a_later_row_replaces_an_earlier_one_across_flushes_as_in_sqlite(tmp_path):
    with ParquetStore(tmp_path / "r.parquet") as store:
        store.put("run", _prediction("a", "ok", 0.1))
        store.put("run", _prediction("b", "missing", 0.2))
        store.flush()
        store.put("run", _prediction("a", "ok", 0.3))  # rewritten (its file changed): moves to the end
        assert store.reusable("run") == {("/v/a", "a"): ("ok", (100, 7))}  # missing rows are looked at again
    with ParquetStore(tmp_path / "r.parquet", read_only=True) as store:
        rows = store.predictions("run", 4)
    assert [(r.video_id, float(r.scores[0])) for r in rows] == [
        ("b", pytest.approx(0.2)),
        ("a", pytest.approx(0.3)),
    ]
    assert rows[1].clip_scores.shape == (2, 4)
    assert len(list((tmp_path / "r.parquet" / "predictions" / "run_id=run").glob("part-*.parquet"))) == 2


def test_rows_are_flushed_in_batches_so_a_kill_loses_at_most_one_batch(tmp_path, monkeypatch):
    monkeypatch.setattr(parquet_store, "FLUSH_ROWS", 2)
    store = ParquetStore(tmp_path / "r.parquet")
    for i in range(5):
        store.put("run", _prediction(f"v{i}", "ok", i))
    # "killed" here: no close; the rows of the files already written survive
    assert len(ParquetStore(tmp_path / "r.parquet", read_only=True).statuses("run")) == 4


def test_foreign_folders_and_explain_are_refused_in_one_line(tmp_path, manifests):
    (tmp_path / "mine.parquet").mkdir()
    (tmp_path / "mine.parquet" / "data.csv").write_text("x\n")
    with pytest.raises(UserError, match="not a weirdkinetics Parquet store"):
        ParquetStore(tmp_path / "mine.parquet")
    with pytest.raises(UserError, match="no such store"):
        ParquetStore(tmp_path / "none.parquet", read_only=True)
    with pytest.raises(UserError, match="SQLite stores only"):
        api.explain(
            manifests[0], "tiny_c3d", tmp_path / "x", weights="random:0", store_path=tmp_path / "x.parquet"
        )


def test_cli_evaluate_and_report_take_a_parquet_store(manifests, tmp_path, capsys):
    full, _ = manifests
    store = tmp_path / "res.parquet"
    base = ["--manifest", str(full), "--model", "tiny_c3d", "--weights", "random:0", "--no-progress"]
    assert main(["evaluate", *base, "--out", str(tmp_path / "o"), "--store", str(store)]) == 0
    assert main(["report", "--store", str(store), "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "report.html").is_file()


def test_a_study_writes_its_predictions_where_store_says(tmp_path):
    """``study --store PATH.parquet``: its evaluations land in the Parquet folder (none in OUT), and a second
    run finds them done there."""
    from weirdkinetics.demo.config import DemoConfig
    from weirdkinetics.demo.generate import generate_dataset
    from weirdkinetics.study import StudyModel, StudySettings, run_study

    videos = generate_dataset(
        tmp_path / "videos", 1, 0, DemoConfig(height=32, width=32, num_frames=16, fps=15.0), progress=False
    )
    store = tmp_path / "shared" / "study.parquet"
    settings = StudySettings(
        manifest=videos,
        models=(StudyModel("tiny_c3d_demo", "random:0", "a"),),
        out=tmp_path / "study",
        variants=(),
        segmenter="true",
        n_boot=50,
        random_reference=False,
        store=store,
    )
    first = run_study(settings, progress=False)
    assert (
        first.store == store and store.is_dir() and not (tmp_path / "study" / "predictions.sqlite").exists()
    )
    assert first.leaderboard.rows
    again = run_study(settings, progress=False)
    assert again.computed == [] and any(step.startswith("evaluate:") for step in again.reused)
    with pytest.raises(UserError, match="SQLite stores only"):
        run_study(replace(settings, explain=("gradcam",)), progress=False)

"""The store never mixes up, keeps stale, or writes what it only reads (issue 9: data loss)."""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import shutil
import sqlite3
import stat
import tempfile
from pathlib import Path

import numpy as np
import pytest

from weirdkinetics import api, runid
from weirdkinetics.cli import main
from weirdkinetics.encode import write_video
from weirdkinetics.errors import UserError
from weirdkinetics.manifest import read_manifest, write_manifest
from weirdkinetics.results import load_runs
from weirdkinetics.runid import legacy_run_id
from weirdkinetics.store import SCHEMA_VERSION, Store


def noise_video(path: Path, seed: int, n: int = 80) -> Path:
    frames = np.random.default_rng(seed).integers(0, 255, (n, 32, 32, 3), dtype=np.uint8)
    return write_video(path, frames, 30, lossless=True)


def evaluate(manifest, out, store=None, **kw):
    return api.evaluate(
        manifest, ["tiny_c3d"], out, weights=["random:0"], store_path=store, progress=False, **kw
    )


def stored_rows(store_path) -> list:
    with Store(store_path, read_only=True) as s:
        (run,) = s.runs()
        return s.predictions(run.run_id, len(run.class_names))


@pytest.fixture
def one_store(tmp_path):
    """A manifest of three lossless videos evaluated into ``tmp_path/out/predictions.sqlite``."""
    rows = []
    for i in range(3):
        noise_video(tmp_path / f"v{i}.mkv", i)
        rows.append({"path": f"v{i}.mkv", "label": "jogging", "split": "real"})
    manifest = write_manifest(tmp_path / "m.csv", rows)
    return manifest, evaluate(manifest, tmp_path / "out").store


# ------------------------------------------------------------------------------------------------ keying


def test_two_manifests_sharing_a_store_keep_their_own_clip(tmp_path):
    """Both folders hold clip.mkv with the default id (its relative path): neither replaces the other."""
    shared = tmp_path / "shared.sqlite"
    manifests = {}
    for name, label, seed in (("a", "jogging", 1), ("b", "push up", 2)):
        (tmp_path / name).mkdir()
        noise_video(tmp_path / name / "clip.mkv", seed)
        manifests[name] = write_manifest(
            tmp_path / name / "m.csv", [{"path": "clip.mkv", "label": label, "split": "real"}]
        )
        evaluate(manifests[name], tmp_path / f"out_{name}", store=shared)
    alone = evaluate(manifests["a"], tmp_path / "alone")  # a's clip in a store of its own

    (run_a,) = api.load_results(shared, manifest=read_manifest(manifests["a"]))
    (v,) = run_a.videos
    assert (v.video_id, v.label, v.path) == (
        "clip.mkv",
        "jogging",
        str((tmp_path / "a" / "clip.mkv").resolve()),
    )
    (ref,) = api.load_results(alone.store)
    np.testing.assert_array_equal(run_a.scores, ref.scores)
    again = evaluate(manifests["a"], tmp_path / "out_a", store=shared)
    assert (again.summary.computed, again.summary.reused) == (0, 1)  # its row was not replaced by b's
    api.export_csv(shared, read_manifest(manifests["b"]), None, tmp_path / "b.csv")
    (row,) = csv.DictReader(open(tmp_path / "b.csv", encoding="utf-8"))
    assert row["label"] == "push up" and row["pred"]
    # without a manifest the report shows both, each id with its path
    (both,) = api.load_results(shared)
    assert sorted(x.label for x in both.videos) == ["jogging", "push up"]
    assert len({x.video_id for x in both.videos}) == 2


def test_a_row_shared_by_two_manifests_shows_each_manifests_metadata(tmp_path):
    noise_video(tmp_path / "v.mkv", 3)
    m1 = write_manifest(
        tmp_path / "m1.csv", [{"path": "v.mkv", "label": "jogging", "split": "real", "note": "one"}]
    )
    m2 = write_manifest(
        tmp_path / "m2.csv", [{"path": "v.mkv", "label": "jogging", "split": "weird", "note": "two"}]
    )
    evaluate(m1, tmp_path / "o")
    second = evaluate(m2, tmp_path / "o")
    assert second.summary.reused == 1  # same file, same id, same run: the prediction is shared
    (r2,) = api.load_results(second.store, manifest=read_manifest(m2))
    assert (r2.videos[0].split, r2.videos[0].extra["note"]) == ("weird", "two")


# ------------------------------------------------------------------------------------------------ identity


def test_a_fixed_video_is_evaluated_again_and_an_unchanged_one_is_reused(tmp_path):
    video = tmp_path / "v.mkv"
    video.write_bytes(b"\x00not a video" * 100)
    m = write_manifest(tmp_path / "m.csv", [{"path": "v.mkv", "label": "jogging", "split": "real"}])
    first = evaluate(m, tmp_path / "o")
    assert [p.status for p in stored_rows(first.store)] == ["decode_error"]
    noise_video(video, 4)  # the user fixes the file
    fixed = evaluate(m, tmp_path / "o")
    assert (fixed.summary.computed, fixed.summary.reused) == (1, 0)
    (row,) = stored_rows(fixed.store)
    assert row.status == "ok" and row.scores is not None
    assert (row.file_size, row.file_mtime_ns) == (video.stat().st_size, video.stat().st_mtime_ns)
    assert evaluate(m, tmp_path / "o").summary.reused == 1
    # same size, another modification time: evaluated again
    st = video.stat()
    os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert evaluate(m, tmp_path / "o").summary.computed == 1


# ------------------------------------------------------------------------------------------------ schema 1

SCHEMA_1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, model TEXT NOT NULL, card_json TEXT NOT NULL, weights_digest TEXT NOT NULL,
    weights_desc TEXT NOT NULL, spec_key TEXT NOT NULL, spec_json TEXT NOT NULL, class_names_json TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS evaluations (
    run_id TEXT NOT NULL, manifest_path TEXT NOT NULL, manifest_digest TEXT NOT NULL, classes_json TEXT NOT NULL,
    video_ids_json TEXT NOT NULL, provenance_json TEXT NOT NULL, updated REAL NOT NULL,
    PRIMARY KEY (run_id, manifest_digest)
);
CREATE TABLE IF NOT EXISTS predictions (
    run_id TEXT NOT NULL, video_id TEXT NOT NULL, path TEXT NOT NULL, row_json TEXT NOT NULL, status TEXT NOT NULL,
    reason TEXT NOT NULL, num_frames INTEGER, num_clips INTEGER, scores BLOB, clip_scores BLOB, decode_s REAL,
    infer_s REAL, created REAL NOT NULL,
    PRIMARY KEY (run_id, video_id)
);
"""


def schema_1_copy(store: Path, dest: Path, stale: str | None = None) -> Path:
    """``store``'s contents in a store built by the schema-1 SQL; the row of video ``stale`` is dated before
    its file was last written (as if the file changed after it was evaluated)."""
    old = sqlite3.connect(dest)
    old.execute("PRAGMA journal_mode=WAL")
    old.executescript(SCHEMA_1)
    old.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    old.execute("ATTACH DATABASE ? AS new", (str(store),))
    old.execute("INSERT INTO runs SELECT * FROM new.runs")
    old.execute("INSERT INTO evaluations SELECT * FROM new.evaluations")
    cols = "run_id, video_id, path, row_json, status, reason, num_frames, num_clips, scores, clip_scores, decode_s, infer_s, created"
    old.execute(f"INSERT INTO predictions SELECT {cols} FROM new.predictions ORDER BY rowid")
    if stale:
        old.execute("UPDATE predictions SET created = 0 WHERE video_id = ?", (stale,))
    old.commit()
    old.execute("DETACH DATABASE new")
    old.close()
    return dest


def test_a_schema_1_store_is_read_as_it_is_and_migrated_by_evaluate(one_store, tmp_path):
    manifest, store = one_store
    v1 = schema_1_copy(store, tmp_path / "v1.sqlite", stale="v1.mkv")
    before = v1.read_bytes()
    (run,) = api.load_results(v1, manifest=read_manifest(manifest))  # report/export read it untouched
    assert [v.video_id for v in run.videos] == ["v0.mkv", "v1.mkv", "v2.mkv"]
    assert v1.read_bytes() == before

    again = evaluate(manifest, tmp_path / "o", store=v1)  # migrates in place, then resumes
    assert (again.summary.computed, again.summary.reused) == (1, 2)  # only the file newer than its row
    with Store(v1) as s:
        assert s.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(
            SCHEMA_VERSION
        )
        pk = [r[1] for r in s.db.execute("PRAGMA table_info(predictions)") if r[5]]
        assert sorted(pk) == ["path", "run_id", "video_id"]
    old_rows = {p.video_id: p for p in stored_rows(store)}
    for p in stored_rows(v1):
        np.testing.assert_array_equal(p.scores, old_rows[p.video_id].scores)
        assert p.file_size == Path(p.path).stat().st_size


def schema_2_copy(store: Path, dest: Path, precision: str = "fp32") -> Path:
    """``store`` as schema 2 wrote it: each run under the id of the old formula (the whole card, prose
    included), as if evaluated with ``precision``."""
    shutil.copy(store, dest)
    with sqlite3.connect(dest) as db:
        runs = db.execute("SELECT run_id, card_json, weights_digest, spec_key FROM runs").fetchall()
        for run_id, card_json, weights, spec_key in runs:
            old = legacy_run_id(json.loads(card_json), weights, spec_key, precision)
            for table in ("runs", "evaluations", "predictions", "attributions"):
                db.execute(f"UPDATE {table} SET run_id=? WHERE run_id=?", (old, run_id))
        db.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
    return dest


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_schema_2_store_keeps_its_rows_under_the_new_run_ids(one_store, tmp_path, precision):
    """Schema 3 took card prose out of run ids: a schema-2 store is re-keyed, so nothing is recomputed."""
    manifest, store = one_store
    with Store(store, read_only=True) as s:
        (run,) = s.runs()
    v2 = schema_2_copy(store, tmp_path / "v2.sqlite", precision)
    with Store(v2, read_only=True) as s:
        (old,) = s.runs()
    assert old.run_id != run.run_id
    (read,) = api.load_results(v2, manifest=read_manifest(manifest))  # read as it is, untouched
    assert read.run_id == old.run_id and len(read.videos) == 3

    with Store(v2) as s:  # opened to write: migrated in one transaction
        assert s.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "3"
        (new,) = s.runs()
        assert new.run_id == runid.run_id(new.card, new.weights_digest, new.spec_key, precision)
        assert (
            s.db.execute("SELECT COUNT(*) FROM predictions WHERE run_id=?", (new.run_id,)).fetchone()[0] == 3
        )
        assert (
            s.db.execute("SELECT COUNT(*) FROM evaluations WHERE run_id=?", (old.run_id,)).fetchone()[0] == 0
        )
    if precision == "fp32":
        again = evaluate(manifest, tmp_path / "o", store=v2)
        assert (again.summary.computed, again.summary.reused) == (0, 3)


def test_a_run_whose_old_id_cannot_be_reproduced_is_left_as_it_is(one_store, tmp_path):
    _, store = one_store
    v2 = schema_2_copy(store, tmp_path / "v2.sqlite")
    with sqlite3.connect(v2) as db:
        for table in ("runs", "evaluations", "predictions"):
            db.execute(f"UPDATE {table} SET run_id='0123456789abcdef'")
    with Store(v2) as s:
        assert [r.run_id for r in s.runs()] == ["0123456789abcdef"]
        assert s.db.execute("SELECT COUNT(*) FROM predictions").fetchone()[0] == 3


def test_a_store_from_a_newer_version_is_refused(one_store):
    _, store = one_store
    with sqlite3.connect(store) as db:
        db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(UserError, match="newer weirdkinetics"):
        load_runs(store)


# ------------------------------------------------------------------------------------------------ reading


def test_report_on_a_foreign_sqlite_file_changes_nothing(tmp_path, capsys):
    foreign = tmp_path / "app.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE users (name TEXT)")
        db.execute("INSERT INTO users VALUES ('ada')")
    before = foreign.read_bytes()
    assert main(["report", "--store", str(foreign), "--out", str(tmp_path / "r")]) == 1
    assert "not a weirdkinetics store" in capsys.readouterr().err
    m = write_manifest(tmp_path / "m.csv", [{"path": "x.mkv", "label": "jogging", "split": "real"}])
    with pytest.raises(UserError, match="not a weirdkinetics store"):
        evaluate(m, tmp_path / "o", store=foreign)
    assert foreign.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("app")) == ["app.sqlite"]
    with sqlite3.connect(foreign) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_a_file_that_is_not_sqlite_is_not_a_store(tmp_path, capsys):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"hello, not a database" * 50)
    assert main(["report", "--store", str(junk), "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "not a weirdkinetics store" in err and "Traceback" not in err


def test_a_store_corrupted_mid_file_says_so(one_store, tmp_path, capsys):
    _, store = one_store
    data = bytearray(store.read_bytes())
    assert len(data) > 3 * 4096
    data[4096:-1] = b"\x55" * (len(data) - 4097)  # every page but the header page overwritten
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(bytes(data))
    assert main(["report", "--store", str(broken), "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "store is corrupted" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def _read_as_nobody(store: str, manifest, out: str, queue) -> None:
    """Child process: drop root (tests run as root, which ignores permissions), then read the store the way
    report and export do, and try to open it for writing."""
    try:
        if os.geteuid() == 0:
            os.setgid(65534)
            os.setuid(65534)
        result = {"writable": os.access(store, os.W_OK) or os.access(os.path.dirname(store), os.W_OK)}
        (run,) = api.load_results(store, manifest=manifest)
        result["videos"] = [v.status for v in run.videos]
        api.export_csv(store, manifest, None, out)
        result["exported"] = os.path.getsize(out) > 0
        try:
            Store(store)
        except UserError as exc:
            result["write_error"] = str(exc)
    except BaseException as exc:  # noqa: BLE001 - report everything to the parent
        result = {"error": f"{type(exc).__name__}: {exc}"}
    queue.put(result)


def test_a_store_on_read_only_media_is_readable_for_report_and_export(one_store):
    manifest, store = one_store
    media = Path(tempfile.mkdtemp(prefix="wk-ro-"))  # outside pytest's 0700 tmp root, so nobody can reach it
    writable = Path(tempfile.mkdtemp(prefix="wk-out-"))
    try:
        copy = media / "predictions.sqlite"
        shutil.copy(store, copy)
        assert not (media / "predictions.sqlite-wal").exists()
        os.chmod(copy, 0o444)
        os.chmod(media, 0o555)
        os.chmod(writable, 0o777)
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        child = ctx.Process(
            target=_read_as_nobody, args=(str(copy), read_manifest(manifest), str(writable / "e.csv"), queue)
        )
        child.start()
        result = queue.get(timeout=120)
        child.join()
        assert "error" not in result, result["error"]
        assert result["writable"] is False  # the emulation is real: this process cannot write there
        assert result["videos"] == ["ok", "ok", "ok"] and result["exported"]
        assert "not a weirdkinetics store" not in result["write_error"]
        assert "permissions" in result["write_error"]
        assert sorted(p.name for p in media.iterdir()) == ["predictions.sqlite"]
    finally:
        os.chmod(media, stat.S_IRWXU)
        shutil.rmtree(media, ignore_errors=True)
        shutil.rmtree(writable, ignore_errors=True)


def test_report_with_a_manifest_read_as_it_is_spells_labels_as_evaluate_did(tmp_path):
    noise_video(tmp_path / "a.mkv", 5)
    noise_video(tmp_path / "b.mkv", 6)
    m = write_manifest(
        tmp_path / "m.csv",
        [
            {"path": "a.mkv", "label": "Push Up", "split": "real"},
            {"path": "b.mkv", "label": "jog", "split": "real"},
        ],
    )
    label_map = tmp_path / "map.csv"
    label_map.write_text("from,to\njog,jogging\n")
    out = evaluate(m, tmp_path / "o", label_map=label_map)
    (run,) = api.load_results(out.store, manifest=read_manifest(m))  # as `report --manifest` reads it
    assert [v.label for v in run.videos] == ["push up", "jogging"]
    assert (
        main(["report", "--store", str(out.store), "--manifest", str(m), "--out", str(tmp_path / "r")]) == 0
    )


def test_every_store_open_refuses_a_fifo_instead_of_blocking(tmp_path):
    import os
    import threading

    fifo = tmp_path / "store.sqlite"
    os.mkfifo(fifo)
    caught: list[BaseException] = []

    def open_it() -> None:
        try:
            Store(fifo)
        except BaseException as exc:  # noqa: BLE001 -- handed to the test thread
            caught.append(exc)

    opener = threading.Thread(target=open_it, daemon=True)
    opener.start()
    opener.join(timeout=60)
    if opener.is_alive():  # a regression blocks in open(): unblock it, then fail instead of hanging
        with open(fifo, "wb"):
            pass
        pytest.fail("opening a FIFO as a store blocked")
    assert len(caught) == 1 and isinstance(caught[0], UserError) and "not a regular file" in str(caught[0])


def test_a_map_too_faint_for_float16_keeps_its_ranking(tmp_path):
    """Grad-CAM of a random-weights I3D lies far below float16's smallest subnormal: cast as it was, the stored
    map was all zeros, and the model-randomisation check had no ranking to compare (rho NaN on every video)."""
    from weirdkinetics.metrics.attribution import map_rank_correlation
    from weirdkinetics.store import StoredAttribution

    faint = (np.arange(24, dtype=np.float32).reshape(2, 3, 4) + 1.0) * 1e-10
    loud = faint * 1e15  # past float16's largest value (65504)
    with Store(tmp_path / "s.sqlite") as store:
        for name, sal in (("faint", faint), ("loud", loud), ("zero", np.zeros_like(faint))):
            store.put_attribution(
                "run", StoredAttribution(name, "p", "gradcam", "k", {}, {}, "ok", "", {}, sal)
            )
        back = {a.video_id: a.saliency for a in store.attributions("run")}
    for name in ("faint", "loud"):
        assert back[name].max() == 1.0
        assert map_rank_correlation(faint, back[name]) == pytest.approx(1.0)
    assert not back["zero"].any()

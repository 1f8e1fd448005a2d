"""``--retry-errors`` (issue 20, item 4): a row that ended ``decode_error`` because its worker process died
(the reason says so: ``statuses.worker_died_reason``) is computed again, while a genuine decode error (FFmpeg's
own message) stays; without the option both are final, as before."""

from __future__ import annotations

import sqlite3

import pytest

from weirdkinetics import api
from weirdkinetics.cli import main
from weirdkinetics.manifest import write_manifest
from weirdkinetics.statuses import worker_died_reason
from weirdkinetics.store import Store

DIED = worker_died_reason("decoding", 3)
GENUINE = "FFmpeg: Invalid data found when processing input"


@pytest.fixture
def evaluated(tmp_path, made_media):
    """Three good clips evaluated locally; then row v0 stored as if a worker had died on it, and row v1 as a
    genuine decode error."""
    rows = [
        {"path": str(made_media[k]), "label": "arm wrestling", "split": "real", "video_id": f"v{n}"}
        for n, k in enumerate(["clip", "clip_b", "vp9"])
    ]
    manifest = write_manifest(tmp_path / "m.csv", rows)
    out = tmp_path / "out"
    first = api.evaluate(manifest, ["tiny_c3d"], out, weights=["random:0"], progress=False)
    with sqlite3.connect(first.store) as db:
        for video_id, reason in (("v0", DIED), ("v1", GENUINE)):
            db.execute(
                "UPDATE predictions SET status='decode_error', reason=?, scores=NULL, clip_scores=NULL "
                "WHERE video_id=?",
                (reason, video_id),
            )
    return manifest, out, first.store


def statuses(store_path) -> dict[str, tuple[str, str]]:
    with Store(store_path) as store:
        (run,) = store.runs()
        return {p.video_id: (p.status, p.reason) for p in store.predictions(run.run_id, len(run.class_names))}


def test_retry_errors_recomputes_only_the_rows_a_dead_worker_ended(evaluated):
    manifest, out, store = evaluated
    again = api.evaluate(manifest, ["tiny_c3d"], out, weights=["random:0"], progress=False)
    assert (again.summary.computed, again.summary.reused) == (0, 3)  # without the option: final, as before
    retried = api.evaluate(
        manifest, ["tiny_c3d"], out, weights=["random:0"], progress=False, retry_errors=True
    )
    assert (retried.summary.computed, retried.summary.reused) == (1, 2)
    now = statuses(store)
    assert now["v0"][0] == "ok"  # the file was fine: only its worker had died
    assert now["v1"] == ("decode_error", GENUINE)  # FFmpeg's own verdict stays
    assert now["v2"][0] == "ok"


def test_the_cli_takes_retry_errors(evaluated, capsys):
    manifest, out, store = evaluated
    argv = ["evaluate", "--model", "tiny_c3d", "--weights", "random:0", "--manifest", str(manifest)]
    assert main(argv + ["--out", str(out), "--no-progress", "--retry-errors"]) == 0
    assert "1 prediction(s) computed, 2 reused" in capsys.readouterr().out
    assert statuses(store)["v0"][0] == "ok"


def test_a_dead_workers_reason_says_how_to_see_the_error():
    assert DIED.startswith("the decoding process died 3 times on this file (FFmpeg crashed?)")
    assert "--engine local --retry-errors" in DIED

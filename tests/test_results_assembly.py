"""Results assembled from the store's rows: the pure functions of ``results``, on hand-made rows (no SQLite)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from weirdkinetics.errors import UserError
from weirdkinetics.manifest import Manifest, ManifestRow
from weirdkinetics.results import (
    display_name,
    manifest_rows,
    pick_evaluation,
    restrict,
    run_results,
    select_runs,
    to_video_result,
    unique_ids,
)
from weirdkinetics.store import RunInfo, StoredPrediction

CLASS_NAMES = ["archery", "bowling", "cooking", "dancing"]


def run_info(run_id: str, model: str, weights_digest: str = "0123456789abcdef0123") -> RunInfo:
    return RunInfo(
        run_id=run_id,
        model=model,
        card={"name": model},
        weights_digest=weights_digest,
        weights_desc="hand-made",
        spec_key="uniform-8",
        spec={"frames": 8},
        class_names=CLASS_NAMES,
    )


def prediction(video_id: str, path: str, scores, status: str = "ok", **row) -> StoredPrediction:
    meta = {"label": "bowling", "split": "real", "background": "", "source_id": "", **row}
    return StoredPrediction(
        video_id=video_id,
        path=path,
        row=meta,
        status=status,
        reason="",
        num_frames=16,
        num_clips=1,
        scores=None if scores is None else np.asarray(scores, dtype=np.float32),
        clip_scores=None,
        decode_s=None,
        infer_s=None,
    )


RUNS = [
    run_info("a1b2c3d4e5", "x3d_m"),
    run_info("a1ffffffff", "x3d_s"),
    run_info("9f00000000", "i3d_r50"),
]


# --- run selection ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("wanted", [None, []])
def test_select_runs_without_names_keeps_every_run_in_store_order(wanted):
    assert select_runs(RUNS, wanted) == RUNS


def test_select_runs_by_id_prefix_model_name_and_full_id():
    assert [r.model for r in select_runs(RUNS, ["a1b2"])] == ["x3d_m"]
    assert [r.model for r in select_runs(RUNS, ["a1"])] == ["x3d_m", "x3d_s"]  # a prefix may name several
    assert [r.model for r in select_runs(RUNS, ["i3d_r50"])] == ["i3d_r50"]
    assert [r.model for r in select_runs(RUNS, ["9f00000000"])] == ["i3d_r50"]
    # the store's order, not the order asked for; a run named twice is listed once
    assert [r.model for r in select_runs(RUNS, ["i3d_r50", "x3d_m", "a1b2"])] == ["x3d_m", "i3d_r50"]


def test_select_runs_refuses_an_unknown_name_with_close_spellings_and_what_exists():
    with pytest.raises(UserError) as err:
        select_runs(RUNS, ["x3d_m", "x3d-mm"], where="out/predictions.sqlite")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("run_ids x3d-mm: not in out/predictions.sqlite.")
    assert "Did you mean: x3d_m" in message
    assert "a1b2c3d4e5 (x3d_m), a1ffffffff (x3d_s), 9f00000000 (i3d_r50)" in message


def test_select_runs_names_every_unknown_and_an_empty_store():
    with pytest.raises(
        UserError, match=r"run_ids zz, b7: not in the store\. Runs there: a1b2c3d4e5 \(x3d_m\)"
    ):
        select_runs(RUNS[:1], ["zz", "b7"])
    with pytest.raises(UserError, match="Runs there: none"):
        select_runs([], ["x3d_m"])


# --- evaluation, restriction, one row ---------------------------------------------------------------------


def test_pick_evaluation_prefers_the_manifests_latest_then_the_latest_then_the_whole_label_space():
    info = RUNS[0]
    evals = [
        {"manifest_digest": "m1", "classes": ["archery"], "provenance": {"n": 1}},
        {"manifest_digest": "m2", "classes": ["bowling"], "provenance": {"n": 2}},
        {"manifest_digest": "m1", "classes": ["cooking"], "provenance": {"n": 3}},
        {"manifest_digest": "m3", "classes": ["dancing"], "provenance": {"n": 4}},
    ]
    assert pick_evaluation(info, evals, "m1")["provenance"] == {"n": 3}
    assert pick_evaluation(info, evals, "m2")["provenance"] == {"n": 2}
    assert pick_evaluation(info, evals, "other")["provenance"] == {"n": 4}
    assert pick_evaluation(info, evals)["provenance"] == {"n": 4}
    assert pick_evaluation(info, []) == {"classes": CLASS_NAMES, "provenance": {}, "video_ids": None}


def test_restrict_keeps_the_subset_in_its_order_and_renormalises():
    scores = np.array([[0.1, 0.2, 0.3, 0.4], [0.5, 0.0, 0.0, 0.5], [0.0, 0.0, 0.5, 0.5]], dtype=np.float32)
    sub = restrict(scores, CLASS_NAMES, ["dancing", "archery", "bowling"])
    assert sub.dtype == np.float32 and sub.shape == (3, 3)
    np.testing.assert_allclose(sub[0], [0.4 / 0.7, 0.1 / 0.7, 0.2 / 0.7], rtol=1e-6)
    np.testing.assert_allclose(sub[1], [0.5, 0.5, 0.0])
    np.testing.assert_array_equal(sub[2], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(sub.sum(axis=-1), 1.0, rtol=1e-6)
    # a subset with no mass stays zeros rather than dividing by zero
    np.testing.assert_array_equal(restrict(scores[2], CLASS_NAMES, ["archery", "bowling"]), [0.0, 0.0])


def test_to_video_result_restricted_and_unrestricted_top1_and_top5():
    p = prediction("v1", "/data/v1.mp4", [0.1, 0.2, 0.3, 0.4], label="bowling", extra_col=7)
    v = to_video_result(p, CLASS_NAMES, ["archery", "bowling"])
    assert (v.video_id, v.path, v.label, v.split) == ("v1", "/data/v1.mp4", "bowling", "real")
    assert v.pred == "bowling" and v.pred_score == pytest.approx(0.2 / 0.3)
    assert v.pred_all == "dancing" and v.pred_all_score == pytest.approx(0.4)
    assert [c for c, _ in v.topk] == ["dancing", "cooking", "bowling", "archery"]
    assert v.extra == {"extra_col": "7"} and v.correct
    failed = to_video_result(
        prediction("v2", "/data/v2.mp4", None, status="decode_error"), CLASS_NAMES, CLASS_NAMES
    )
    assert failed.pred is None and failed.topk == [] and not failed.has_prediction


# --- display names and whole runs -------------------------------------------------------------------------


def test_display_name_shows_the_label_and_a_short_weights_digest():
    assert display_name(RUNS[0]) == "x3d_m [0123456789ab]"
    assert display_name(RUNS[0], "finetuned") == "x3d_m finetuned [0123456789ab]"
    assert display_name(run_info("r", "tiny", weights_digest="random:seed=0")) == "tiny [random]"


def test_unique_ids_shows_an_id_that_names_two_files_with_its_path():
    preds = [
        prediction("clip", "/a/clip.mp4", [1, 0, 0, 0]),
        prediction("other", "/a/other.mp4", [1, 0, 0, 0]),
        prediction("clip", "/b/clip.mp4", [1, 0, 0, 0]),
    ]
    assert [p.video_id for p in unique_ids(preds)] == ["clip (/a/clip.mp4)", "other", "clip (/b/clip.mp4)"]
    assert [p.video_id for p in preds] == ["clip", "other", "clip"]  # the input rows are not changed


def hand_manifest(rows: list[tuple[str, str, str]]) -> Manifest:
    return Manifest(
        path=Path("/a/manifest.csv"),
        rows=[
            ManifestRow(
                row=i + 2,
                path=Path(path),
                path_text=Path(path).name,
                label=label,
                split="weird",
                video_id=vid,
            )
            for i, (vid, path, label) in enumerate(rows)
        ],
        columns=["path", "label", "split", "video_id"],
        digest="m1",
    )


def test_manifest_rows_follow_the_manifest_with_its_metadata_and_mapped_labels():
    preds = [
        prediction("clip", "/a/clip.mp4", [1, 0, 0, 0], label="archery"),
        prediction("clip", "/b/clip.mp4", [0, 1, 0, 0]),
        prediction("two", "/a/two.mp4", [0, 0, 1, 0]),
    ]
    manifest = hand_manifest(
        [("two", "/a/two.mp4", "Cooking"), ("clip", "/a/clip.mp4", "bow"), ("gone", "/a/x.mp4", "x")]
    )
    rows = manifest_rows(preds, manifest, CLASS_NAMES, {"bow": "bowling"})
    assert [(p.path, p.row["label"], p.row["split"], p.status) for p in rows] == [
        ("/a/two.mp4", "cooking", "weird", "ok"),  # spelled as in the run's classes
        ("/a/clip.mp4", "bowling", "weird", "ok"),  # mapped by the evaluation's label map
        ("/a/x.mp4", "x", "weird", "not_evaluated"),  # planned, never stored: listed, not dropped (issue 22)
    ]


def test_run_results_with_and_without_a_manifest():
    info = RUNS[0]
    evaluation = {
        "manifest_digest": "m1",
        "classes": ["archery", "bowling"],
        "provenance": {"run_label": "ft", "label_map": {}, "run_id": "overridden"},
    }
    preds = [
        prediction("clip", "/a/clip.mp4", [0.1, 0.2, 0.3, 0.4]),
        prediction("clip", "/b/clip.mp4", None, status="decode_error"),
    ]
    run = run_results(info, evaluation, preds, store="s.sqlite")
    assert run.run_id == info.run_id and run.model == "x3d_m ft [0123456789ab]"
    assert [v.video_id for v in run.videos] == ["clip (/a/clip.mp4)", "clip (/b/clip.mp4)"]
    assert run.classes == ["archery", "bowling"] and run.scores.shape == (2, 2)
    np.testing.assert_allclose(run.scores[0], [1 / 3, 2 / 3], rtol=1e-6)
    assert np.isnan(run.scores[1]).all()
    assert run.provenance["run_id"] == info.run_id and run.provenance["store"] == "s.sqlite"
    assert run.provenance["model_card"] == {"name": "x3d_m"} and run.provenance["run_label"] == "ft"
    assert "store" not in run_results(info, evaluation, preds).provenance

    only_b = run_results(
        info, evaluation, preds, manifest=hand_manifest([("clip", "/b/clip.mp4", "bowling")])
    )
    assert [(v.video_id, v.status) for v in only_b.videos] == [("clip", "decode_error")]
    none = run_results(info, evaluation, preds, manifest=hand_manifest([("x", "/c/x.mp4", "bowling")]))
    # none of the manifest's files stored: planned, not evaluated (load_runs leaves such a run out)
    assert [(v.video_id, v.status) for v in none.videos] == [("x", "not_evaluated")]
    assert none.scores.shape == (1, 2) and np.isnan(none.scores).all()
    whole = run_results(info, {"classes": [], "provenance": None}, preds[:1])
    assert whole.classes == CLASS_NAMES and whole.model == "x3d_m [0123456789ab]"


def test_load_runs_reads_rows_and_selects_runs_in_a_hand_written_store(tmp_path):
    from weirdkinetics.results import load_runs
    from weirdkinetics.store import Store

    path = tmp_path / "predictions.sqlite"
    with Store(path) as store:
        for info in RUNS:
            store.ensure_run(info)
            store.put(info.run_id, prediction("clip", "/a/clip.mp4", [0.1, 0.2, 0.3, 0.4]))
        store.record_evaluation(RUNS[1].run_id, "/a/m.csv", "m1", ["archery", "bowling"], ["clip"], {"n": 1})
    runs = load_runs(path, ["a1"])
    assert [r.model for r in runs] == ["x3d_m [0123456789ab]", "x3d_s [0123456789ab]"]
    assert runs[0].classes == CLASS_NAMES and runs[1].classes == ["archery", "bowling"]
    assert runs[1].provenance["n"] == 1 and runs[1].provenance["store"] == str(path)
    with pytest.raises(UserError, match="Did you mean: i3d_r50"):
        load_runs(path, ["i3d_r5O"])
    manifest = hand_manifest([("clip", "/b/clip.mp4", "bowling")])
    with pytest.raises(UserError, match="no predictions for the files of"):
        load_runs(path, manifest=manifest)

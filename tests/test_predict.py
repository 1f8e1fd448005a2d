import csv
import json
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from conftest import REAL_FOOTAGE_SKIP, VIDEOS

from weirdkinetics import api
from weirdkinetics.decode import read_video
from weirdkinetics.encode import write_video
from weirdkinetics.manifest import write_manifest
from weirdkinetics.models import get_card
from weirdkinetics.models.loading import load_model
from weirdkinetics.sampling import clip_indices, spec_for
from weirdkinetics.store import Store
from weirdkinetics.transforms import preprocess_clip


def moving_frames(n: int, seed: int, h: int = 48, w: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    return np.stack([np.roll(base, 2 * i, axis=1) for i in range(n)])


@pytest.fixture
def small_manifest(tmp_path):
    rows = []
    for i, (label, split) in enumerate(
        [("playing tennis", "real"), ("jogging", "weird"), ("push up", "real")]
    ):
        write_video(tmp_path / f"v{i}.mkv", moving_frames(75 + 10 * i, i), 30, lossless=True)
        rows.append(
            {"path": f"v{i}.mkv", "label": label, "split": split, "background": "home", "camera": f"c{i}"}
        )
    return write_manifest(tmp_path / "manifest.csv", rows)


def reference_scores(path, card, weights) -> np.ndarray:
    """Independent path: decode whole video at the card's fps, sample, preprocess, model, mean of softmax."""
    model = load_model(card, weights)
    frames = read_video(path, fps=card.fps).frames
    probs = []
    for idx in clip_indices(len(frames), spec_for(card)):
        x = preprocess_clip(frames[idx], card)
        probs.append(torch.softmax(model.logits(x), -1).mean(0).numpy())
    return np.mean(probs, axis=0)


def stored(store_path):
    with Store(store_path) as s:
        (run,) = s.runs()
        return {p.video_id: p for p in s.predictions(run.run_id, len(run.class_names))}


def test_scores_match_an_independent_reference_path(small_manifest, tmp_path):
    out = api.evaluate(
        small_manifest, ["tiny_c3d"], tmp_path / "out", weights=["random:3"], progress=False, batch_size=3
    )
    preds = stored(out.store)
    card = get_card("tiny_c3d")
    for vid in ["v0.mkv", "v2.mkv"]:
        ref = reference_scores(tmp_path / vid, card, "random:3")
        assert preds[vid].status == "ok"
        np.testing.assert_allclose(preds[vid].scores, ref, rtol=1e-5, atol=1e-7)
    assert preds["v0.mkv"].num_clips == len(clip_indices(75, spec_for(card)))


def test_rerun_computes_nothing_and_export_has_every_row(small_manifest, tmp_path):
    first = api.evaluate(
        small_manifest,
        ["tiny_c3d"],
        tmp_path / "out",
        weights=["random:0"],
        progress=False,
        classes="manifest",
    )
    assert first.summary.computed == 3
    again = api.evaluate(
        small_manifest,
        ["tiny_c3d"],
        tmp_path / "out",
        weights=["random:0"],
        progress=False,
        classes="manifest",
        export=tmp_path / "e.csv",
    )
    assert again.summary.computed == 0 and again.summary.reused == 3
    rows = list(csv.DictReader(open(tmp_path / "e.csv", encoding="utf-8")))
    assert list(rows[0])[:12] == api.EXPORT_COLUMNS and rows[0]["camera"] == "c0"
    for r in rows:
        assert r["pred"] in {"playing tennis", "jogging", "push up"}  # restricted to the manifest's classes
        top5 = json.loads(r["top5"])
        assert len(top5) == 5 and top5[0][0] == r["pred_all"]


def test_checkpoint_round_trip_gives_identical_scores(small_manifest, tmp_path):
    card = get_card("tiny_c3d")
    module = load_model(card, "random:7").module
    torch.save({"model_state": module.state_dict()}, tmp_path / "ckpt.pyth")
    a = api.evaluate(small_manifest, ["tiny_c3d"], tmp_path / "a", weights=["random:7"], progress=False)
    b = api.evaluate(
        small_manifest, ["tiny_c3d"], tmp_path / "b", weights=[str(tmp_path / "ckpt.pyth")], progress=False
    )
    pa, pb = stored(a.store), stored(b.store)
    for vid in pa:
        assert np.array_equal(pa[vid].scores, pb[vid].scores)


def test_mismatched_checkpoint_names_the_keys(tmp_path):
    from weirdkinetics.errors import WeightsError

    torch.save({"features.0.0.weight": torch.zeros(1)}, tmp_path / "bad.pt")
    with pytest.raises(WeightsError, match="missing keys: .*shape mismatches: features.0.0.weight"):
        load_model(get_card("tiny_c3d"), str(tmp_path / "bad.pt"))


def test_pickled_code_is_refused(tmp_path):
    from weirdkinetics.errors import WeightsError

    torch.save({"model_state": {"w": torch.zeros(1)}, "obj": object()}, tmp_path / "evil.pt")
    with pytest.raises(WeightsError, match="cannot be loaded safely"):
        load_model(get_card("tiny_c3d"), str(tmp_path / "evil.pt"))


def test_every_kind_of_awkward_file_made_here_gets_the_right_status(made_media, tmp_path):
    """The real-media test below, on files made here: it runs from a clone without ../shared."""
    expected = {
        "clip": "ok",
        "clip_b": "ok",
        "corrupt": "partial",
        "truncated": "partial",
        "rotated": "short",
        "low_fps": "short",
        "vp9": "ok",
    }
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00garbage" * 500)
    paths = {**{k: made_media[k] for k in expected}, "gone": tmp_path / "gone.mp4", "junk": junk}
    expected |= {"gone": "missing", "junk": "decode_error"}
    rows = [
        {"path": str(p), "label": "arm wrestling", "split": "real", "video_id": k} for k, p in paths.items()
    ]
    out = api.evaluate(
        write_manifest(tmp_path / "m.csv", rows), ["tiny_c3d"], tmp_path / "out", weights=["random:0"],
        progress=False,
    )  # fmt: skip
    preds = stored(out.store)
    assert {k: p.status for k, p in preds.items()} == expected
    assert preds["corrupt"].num_frames == 84  # 28 frames at 10 fps -> 84 at 30 fps
    assert all(p.reason for p in preds.values() if p.status != "ok")
    assert out.summary.counts[out.run_ids[0]] == {
        "ok": 3,
        "short": 2,
        "partial": 2,
        "missing": 1,
        "decode_error": 1,
    }


def test_mixed_real_media_every_row_gets_the_right_status(tmp_path):
    if not VIDEOS.exists():
        pytest.skip(REAL_FOOTAGE_SKIP)
    expected = {
        "apply_eye_makeup__mmaction2_test.avi": "ok",
        "arm_wrestling__mmaction2_demo.mp4": "ok",
        "awk_0.1s_rot90__decord.mov": "short",
        "awk_5fps_1s_pedestrians_walking__mmpose_demo.mp4": "short",
        "awk_corrupted_nal__decord.mp4": "partial",
        "awk_vp9_opus__gradio.webm": "ok",
        "basketball__mmaction2_structuralize.mp4": "ok",
        "cleaning_pool__mmaction2_test.mp4": "ok",
        "derived_truncated35pct_juggling__sam2.mp4": "partial",
        "flipping_pancake__decord.mkv": "ok",
        "not_there.mp4": "missing",
    }
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00garbage" * 500)
    rows = [
        {"path": str(VIDEOS / n), "label": "arm wrestling", "split": "real", "video_id": n} for n in expected
    ]
    rows.append({"path": str(junk), "label": "arm wrestling", "split": "weird", "video_id": "junk.mp4"})
    expected["junk.mp4"] = "decode_error"
    m = write_manifest(tmp_path / "m.csv", rows)
    out = api.evaluate(m, ["tiny_c3d"], tmp_path / "out", weights=["random:0"], progress=False)
    preds = stored(out.store)
    assert {k: p.status for k, p in preds.items()} == expected
    assert preds["awk_corrupted_nal__decord.mp4"].num_frames == 84  # 28 frames at 10 fps -> 84 at 30 fps
    assert "truncated" in preds["derived_truncated35pct_juggling__sam2.mp4"].reason
    assert all(p.reason for p in preds.values() if p.status != "ok")
    assert out.summary.counts[out.run_ids[0]] == {
        "ok": 6,
        "short": 2,
        "partial": 2,
        "missing": 1,
        "decode_error": 1,
    }


def test_several_models_share_one_pass_and_one_store(small_manifest, tmp_path):
    out = api.evaluate(
        small_manifest, ["tiny_c3d", "i3d_r50"], tmp_path / "out", weights=["random:0"], progress=False
    )
    with Store(out.store) as s:
        runs = s.runs()
        assert {r.model for r in runs} == {"tiny_c3d", "i3d_r50"}
        for r in runs:
            assert all(p.status == "ok" for p in s.predictions(r.run_id, len(r.class_names)))


def test_interrupted_run_resumes_to_the_same_result(tmp_path):
    """Kill the CLI mid-run (SIGKILL), run again, compare with an uninterrupted run."""
    rows = []
    for i in range(6):
        write_video(tmp_path / f"v{i}.mkv", moving_frames(60, 10 + i), 30, lossless=True)
        rows.append({"path": f"v{i}.mkv", "label": "jogging", "split": "real"})
    m = write_manifest(tmp_path / "m.csv", rows)
    cmd = [
        sys.executable,
        "-m",
        "weirdkinetics",
        "evaluate",
        "--model",
        "i3d_r50",
        "--weights",
        "random:1",
        "--manifest",
        str(m),
        "--batch-size",
        "1",
        "--no-progress",
    ]
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        cmd + ["--out", str(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    db = killed / "predictions.sqlite"
    n_before_kill = 0
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            n_before_kill = sqlite3.connect(db).execute("SELECT COUNT(*) FROM predictions").fetchone()[0]
        except sqlite3.Error:
            n_before_kill = 0
        if n_before_kill >= 1:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait()
    assert 1 <= n_before_kill < 6, "the run should have been killed part-way"
    rows_after_kill = stored(db)
    assert all(p.scores is not None for p in rows_after_kill.values())  # no half-written row
    resumed = subprocess.run(cmd + ["--out", str(killed)], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert (
        f"{6 - len(rows_after_kill)} prediction(s) computed, {len(rows_after_kill)} reused" in resumed.stdout
    )
    full = api.evaluate(m, ["i3d_r50"], tmp_path / "full", weights=["random:1"], progress=False, batch_size=1)
    a, b = stored(db), stored(full.store)
    assert set(a) == set(b)
    for vid in a:
        np.testing.assert_allclose(a[vid].scores, b[vid].scores, rtol=1e-5, atol=1e-7)


def test_open_vocabulary_model_scores_the_manifest_labels(tmp_path):
    """X-CLIP (seeded random build) scores any label set: the manifest's own labels become its classes, and
    the run's identity includes them."""
    pytest.importorskip("transformers")
    write_video(tmp_path / "a.mkv", moving_frames(40, 1, 64, 80), 30, lossless=True)
    m = write_manifest(
        tmp_path / "m.csv",
        [
            {"path": "a.mkv", "label": "two people arm wrestling", "split": "real", "video_id": "a"},
            {"path": "a.mkv", "label": "someone cleaning a pool", "split": "weird", "video_id": "b"},
        ],
    )
    out = api.evaluate(
        m,
        ["xclip_b32"],
        tmp_path / "o",
        weights=["random:0"],
        classes="manifest",
        progress=False,
        export=tmp_path / "e.csv",
    )
    rows = list(csv.DictReader(open(tmp_path / "e.csv", encoding="utf-8")))
    assert {r["pred"] for r in rows} <= {"two people arm wrestling", "someone cleaning a pool"}
    with Store(out.store) as s:
        (run,) = s.runs()
        assert run.class_names == ["someone cleaning a pool", "two people arm wrestling"]
        # X-CLIP's own sampling by default: 8 segments over the whole 40-frame video, one view (8 frames every
        # 32nd would need 225 frames: the video would be 'short')
        assert run.spec_key == "8segments@30fps/views1/crops1"
    preds = stored(out.store)
    assert {(p.status, p.num_clips) for p in preds.values()} == {("ok", 1)}


def test_synth_rows_that_were_not_made_are_excluded_with_synths_reason(tmp_path):
    write_video(tmp_path / "a.mkv", moving_frames(60, 2), 30, lossless=True)
    (tmp_path / "synth.json").write_text(
        '{"generator": "weirdkinetics.synth"}'
    )  # synth's columns: synth's record
    m = write_manifest(
        tmp_path / "m.csv",
        [
            {
                "path": "a.mkv",
                "label": "jogging",
                "split": "swap",
                "synth_status": "ok",
                "excluded_reason": "",
            },
            {
                "path": "never_made.mp4",
                "label": "jogging",
                "split": "swap",
                "synth_status": "excluded",
                "excluded_reason": "person mask too small in 90% of frames",
            },
        ],
    )
    assert api.validate(m) == []  # the unmade video is not a missing-file problem
    out = api.evaluate(m, ["tiny_c3d"], tmp_path / "o", weights=["random:0"], progress=False)
    preds = stored(out.store)
    assert preds["a.mkv"].status == "ok"
    assert preds["never_made.mp4"].status == "excluded"
    assert "person mask too small" in preds["never_made.mp4"].reason

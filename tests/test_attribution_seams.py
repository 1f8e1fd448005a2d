"""explain's seams used on their own: the plan of what is still to do, a row's checks, decoding the explained
clips' frames (exact frame indices on lossless videos), one row through ``RowExplainer``, and the report's
pure choices of overlays."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import frame_ids

from weirdkinetics import sampling
from weirdkinetics.attribution.explain import (
    ExplainSettings,
    MaskSource,
    RowExplainer,
    RowFailure,
    Scorer,
    check_row,
    decode_clips,
    plan_explain,
)
from weirdkinetics.clips import probe_row
from weirdkinetics.decode import probe
from weirdkinetics.labels import label_space
from weirdkinetics.manifest import read_manifest, write_manifest
from weirdkinetics.models.loading import load_model
from weirdkinetics.models.registry import get_card
from weirdkinetics.report.attribution import overlay_caption, overlay_selection, real_weird_pairs

TINY = get_card("tiny_c3d")


def _rows(tmp_path, specs: list[dict]):
    rows = [{"path": f"{s['video_id']}.mkv", "label": "abseiling", "split": "real", **s} for s in specs]
    (tmp_path / "synth.json").write_text(
        '{"generator": "weirdkinetics.synth"}'
    )  # synth's columns: synth's record
    return read_manifest(write_manifest(tmp_path / "m.csv", rows)).rows


# -- the plan -------------------------------------------------------------------------------------------


def test_plan_explain_reuses_rows_whose_file_kept_its_identity_per_method(tmp_path):
    rows = _rows(
        tmp_path,
        [
            {"video_id": "kept"},
            {"video_id": "changed"},
            {"video_id": "masked"},  # excluded for its mask: the same file gives the same answer
            {"video_id": "unmade", "synth_status": "no_person", "excluded_reason": "nobody"},
            {"video_id": "new"},
        ],
    )
    same, other = (10, 1), (11, 2)

    def done(vid: str, status: str, identity):
        return (str(next(r.path for r in rows if r.video_id == vid)), vid), (status, identity)

    stored = dict(
        [
            done("kept", "ok", same),
            done("changed", "ok", same),
            done("masked", "excluded", same),
            done("unmade", "ok", same),  # computed from a video that synth now says it did not make
        ]
    )
    plan = plan_explain(
        rows, ["gradcam", "occlusion"], {"gradcam": stored, "occlusion": {}}, [same, other, same, same, same]
    )
    assert plan.reused == 2
    assert plan.todo == {
        0: ["occlusion"],
        1: ["gradcam", "occlusion"],
        2: ["occlusion"],
        3: ["gradcam", "occlusion"],
        4: ["gradcam", "occlusion"],
    }


def test_the_row_checks_exclude_unmade_synth_rows_and_labels_without_a_target(tmp_path):
    unmade, outside = _rows(
        tmp_path,
        [
            {"video_id": "u", "synth_status": "no_person", "excluded_reason": "nobody there"},
            {"video_id": "o", "label": "zumba"},
        ],
    )
    with pytest.raises(RowFailure) as info:
        probe_row(unmade)  # evaluation's pre-decode check, which explain shares
    assert (info.value.status, info.value.reason) == ("excluded", "synth no_person: nobody there")
    with pytest.raises(RowFailure, match="not in the class subset"):
        check_row(outside, ["abseiling"], "true")
    check_row(outside, ["abseiling"], "pred")  # the prediction is the target: any label will do


# -- decoding the explained clips ------------------------------------------------------------------------


@pytest.mark.parametrize("clips", ["centre", "all"])
def test_decode_clips_reads_exactly_the_frames_the_clips_use(lossless_video, clips):
    path, _ = lossless_video(90, fps=30)
    spec = ExplainSettings(clips=clips).clip_spec(TINY)
    got = decode_clips(path, TINY, spec)
    expected = sampling.clip_indices(90, spec)
    assert (got.status, got.reason) == ("ok", "")
    np.testing.assert_array_equal(got.clips, expected)
    np.testing.assert_array_equal(got.wanted, np.unique(expected))
    # the card's 30 fps is the video's: resampled frame k is source frame k
    assert frame_ids(got.frames).tolist() == got.wanted.tolist() == got.source_index.tolist()


def test_decode_clips_resamples_to_the_cards_rate_and_flags_short_videos(lossless_video):
    path, _ = lossless_video(20, fps=15)  # 40 frames at the card's 30 fps: shorter than one clip's span
    spec = ExplainSettings().clip_spec(TINY)
    got = decode_clips(path, TINY, spec)
    src_of_out = sampling.resample_indices(probe(path).times, 30)
    n = len(src_of_out)
    assert got.status == "short" and got.reason == f"{n} frame(s) at 30 fps, fewer than one clip's span of 57"
    assert got.clips.max() == n - 1  # clamped to the last resampled frame
    # each resampled frame shows the source frame whose mask it needs
    assert frame_ids(got.frames).tolist() == got.source_index.tolist() == src_of_out[got.wanted].tolist()


def test_decode_clips_ends_a_missing_file_with_its_status(tmp_path):
    with pytest.raises(RowFailure) as info:
        decode_clips(tmp_path / "gone.mkv", TINY, ExplainSettings().clip_spec(TINY))
    assert info.value.status == "missing"


# -- one row --------------------------------------------------------------------------------------------


def test_row_explainer_ends_every_row_with_a_status_and_keeps_the_mask_quality(lossless_video, tmp_path):
    _, frames = lossless_video(72, fps=30, name="a.mkv")
    lossless_video(72, fps=30, name="b.mkv")
    person = np.zeros(frames.shape[:3], bool)
    person[:, 4:20, 8:24] = True
    np.savez_compressed(tmp_path / "a.mask.npz", masks=person)
    np.savez_compressed(tmp_path / "b.mask.npz", masks=np.zeros_like(person))
    good, empty = _rows(
        tmp_path,
        [{"video_id": v, "path": f"{v}.mkv", "mask_path": f"{v}.mask.npz"} for v in ("a", "b")],
    )
    model = load_model(TINY, "random:0", "cpu")
    classes = ["abseiling", "archery"]
    explainer = RowExplainer(
        model,
        Scorer(model, list(label_space(TINY.label_space)), classes),
        classes,
        ExplainSettings(segmenter="true"),
        MaskSource("true", manifest_dir=tmp_path),
    )

    done = explainer(good, ["occlusion"])
    assert (done.status, done.reason) == ("ok", "") and set(done.numbers) == set(done.maps) == {"occlusion"}
    numbers = done.numbers["occlusion"]
    assert numbers["target"] == "abseiling" and numbers["num_clips"] == 1 and numbers["mask_coverage"] > 0
    saliency, mask = done.maps["occlusion"]
    assert saliency.shape == mask.shape and mask.any() and done.seconds["occlusion"] >= 0

    left = explainer(empty, ["gradcam", "occlusion"])
    assert left.status == "excluded" and left.reason.startswith("no usable person mask")
    assert not left.numbers and not left.maps
    # a failed row still stores what was learnt about its masks
    assert left.numbers_of("gradcam") == {"mask_coverage": 0.0, "person_frames": 0.0}


# -- the report's choices -------------------------------------------------------------------------------


def _record(video: str, split: str, source: str, status: str = "ok", has_map: bool = True) -> dict:
    return {
        "video_id": video,
        "status": status,
        "has_map": has_map,
        "row": {"split": split, "source_id": source, "label": "abseiling"},
        "numbers": {"target": "abseiling", "background_share": 0.25},
    }


def test_overlays_show_the_panels_videos_then_real_and_weird_pairs_then_others():
    records = [
        _record("x", "real", ""),
        _record("s1r", "real", "s1"),
        _record("s2w", "weird", "s2"),
        _record("s1w", "weird", "s1"),
        _record("s2r", "real", "s2"),
        _record("gone", "real", "s3", status="missing"),
        _record("nomap", "real", "s4", has_map=False),
    ]
    assert [[r["video_id"] for r in p] for p in real_weird_pairs(records)] == [["s1r", "s1w"], ["s2r", "s2w"]]
    pick = lambda **kw: [r["video_id"] for r in overlay_selection(records, **kw)]
    assert pick() == ["s1r", "s1w", "s2r", "s2w", "x"]
    assert pick(prefer=["s2w", "gone", "x"]) == ["s2w", "x", "s1r", "s1w", "s2r"]
    assert pick(count=3) == ["s1r", "s1w", "x"]
    assert overlay_caption(records[0]) == (
        "x: true 'abseiling', target 'abseiling', real, -; background share 0.25"
    )

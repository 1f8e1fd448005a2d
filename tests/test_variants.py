"""Variant metrics (pure): counts, pairing with originals, HAT label rates, SCUBA/SCUFO contrasted accuracy."""

from __future__ import annotations

import json

import pytest
from scipy import stats

from weirdkinetics.metrics import variants as V
from weirdkinetics.results import RunResults, VideoResult

CLASSES = ["jump", "wave", "spin"]


def _orig(vid, label, pred, source=None, status="ok"):
    return VideoResult(
        video_id=vid, path="", label=label, split="real", status=status, source_id=source or vid, pred=pred
    )


def _var(
    variant,
    src,
    label,
    pred,
    bg_label="",
    synth_status="ok",
    reason="",
    background="",
    bg_source="",
    status="ok",
):
    return VideoResult(
        video_id=f"{src}__{variant}",
        path="",
        label=label,
        split=variant,
        status=status,
        source_id=src.split("_")[0] + "_rec",
        background=background,
        pred=pred,
        extra={
            "variant": variant,
            "source_video_id": src,
            "bg_label": bg_label,
            "bg_source": bg_source,
            "synth_status": synth_status,
            "excluded_reason": reason,
        },
    )


def _run(videos):
    return RunResults(run_id="r", model="m", videos=videos, classes=CLASSES)


def _wilson(k, n):
    ci = stats.binomtest(k, n).proportion_ci(method="wilson")
    return [pytest.approx(ci.low), pytest.approx(ci.high)]


def test_swap_accuracy_pairing_and_background_label_rates():
    originals = [
        _orig("a_real", "jump", "jump", "a_rec"),
        _orig("b_real", "jump", "jump", "b_rec"),
        _orig("c_real", "wave", "wave", "c_rec"),
        _orig("d_real", "wave", "spin", "d_rec"),  # wrong before the swap
        _orig("e_real", "spin", "spin", "e_rec"),
    ]
    swaps = [
        _var("swap", "a_real", "jump", "wave", bg_label="wave"),  # follows the background
        _var("swap", "b_real", "jump", "jump", bg_label="spin"),  # keeps the person's label
        _var("swap", "c_real", "wave", "jump", bg_label="jump"),  # follows the background
        _var("swap", "d_real", "wave", "wave", bg_label="jump"),  # right only after the swap
        _var("swap", "e_real", "spin", None, synth_status="excluded", reason="person found in 10% of frames"),
    ]
    out = V.variant_metrics(_run(originals + swaps), n_boot=200, seed=1)
    json.dumps(out, allow_nan=False)  # strict JSON
    swap = out["variants"]["swap"]
    assert swap["rows"] == 5 and swap["counted"] == 4
    assert swap["synth_status"] == {"excluded": 1, "ok": 4}
    assert swap["excluded"] == [
        {"video_id": "e_real__swap", "synth_status": "excluded", "reason": "person found in 10% of frames"}
    ]
    assert swap["accuracy"]["correct"] == 2 and swap["accuracy"]["n"] == 4
    assert swap["accuracy"]["ci95"] == _wilson(2, 4)

    paired = swap["paired"]
    assert paired["n_pairs"] == 4 and paired["unpaired"] == 0
    assert paired["original"]["correct"] == 3 and paired["variant"]["correct"] == 2
    assert paired["gap"]["value"] == pytest.approx(2 / 4 - 3 / 4)
    lo, hi = paired["gap"]["ci95"]
    # 4 recordings: too few to resample, Newcombe's interval instead (issue 22)
    assert lo <= paired["gap"]["value"] <= hi and paired["gap"]["resampled_by"] == "newcombe"
    assert paired["mcnemar"]["b_original_only"] == 2 and paired["mcnemar"]["c_variant_only"] == 1

    hat = swap["background_label"]
    assert hat["n"] == 4
    assert (hat["person"]["count"], hat["background"]["count"], hat["other"]["count"]) == (2, 2, 0)
    assert hat["background"]["rate"] == 0.5 and hat["background"]["ci95"] == _wilson(2, 4)
    assert hat["original_background"]["count"] == 0 and hat["original_background"]["n"] == 4
    # the same call again gives the same intervals (seeded)
    assert V.variant_metrics(_run(originals + swaps), n_boot=200, seed=1) == out


def test_bg_labels_outside_the_classes_are_counted_not_used():
    originals = [_orig("a", "jump", "jump"), _orig("b", "wave", "wave"), _orig("c", "spin", "spin")]
    swaps = [
        _var("swap", "a", "jump", "jump", bg_label="kitchen"),  # a library category, not a class
        _var("swap", "b", "wave", "jump", bg_label=""),
        _var("swap", "c", "spin", "spin", bg_label="spin"),
    ]
    hat = V.variant_metrics(_run(originals + swaps), n_boot=50)["variants"]["swap"]["background_label"]
    assert hat["n"] == 0 and hat["background"]["rate"] is None and hat["background"]["ci95"] == [None, None]
    assert (hat["n_bg_label_not_a_class"], hat["n_bg_label_missing"], hat["n_bg_label_is_true_label"]) == (
        1,
        1,
        1,
    )


def test_originals_from_a_separate_run_and_pairing_by_source_id():
    originals = _run([_orig("a", "jump", "jump", "rec_a"), _orig("b", "wave", "jump", "rec_b")])
    rows = [
        _var("person-only", "a", "jump", "jump"),
        # no source_video_id: paired through its source_id
        VideoResult(
            "x__person-only",
            "",
            "wave",
            "person-only",
            "ok",
            source_id="rec_b",
            pred="wave",
            extra={"variant": "person-only"},
        ),
        _var("person-only", "zzz", "wave", "wave"),  # its source is not in the originals
        _var("person-only", "a", "jump", None, status="decode_error"),
    ]
    out = V.variant_metrics(_run(rows), originals=originals, n_boot=50)
    block = out["variants"]["person-only"]
    assert out["n_originals"] == 2
    assert block["counted"] == 3 and block["not_predicted"] == {"decode_error": 1}
    assert block["paired"]["n_pairs"] == 2 and block["paired"]["unpaired"] == 1
    assert block["paired"]["original"]["correct"] == 1 and block["paired"]["variant"]["correct"] == 2
    assert "background_label" not in block
    assert out["scuba_scufo"] is None


def test_scuba_scufo_contrasted_accuracy():
    def pair(src, scuba_pred, scufo_pred, bg="grass/1.png"):
        return [
            _var("static-background", src, "jump", scuba_pred, background="grass", bg_source=bg),
            _var("static-person", src, "jump", scufo_pred, background="grass", bg_source=bg),
        ]

    rows = (
        pair("a", "jump", "wave")  # right with motion, wrong frozen: counts
        + pair("b", "jump", "jump")  # right on both: the appearance alone suffices, does not count
        + pair("c", "wave", "wave")
        + pair("d", "wave", "jump")
        + [_var("static-background", "e", "jump", "jump", background="grass", bg_source="other.png")]
    )
    out = V.variant_metrics(_run(rows), n_boot=100)
    s = out["scuba_scufo"]
    assert s["n_pairs"] == 4 and s["unpaired_scuba"] == 1 and s["unpaired_scufo"] == 0
    assert (s["scuba"]["correct"], s["scufo"]["correct"], s["contrasted"]["correct"]) == (2, 2, 1)
    assert s["contrasted"]["accuracy"] == 0.25 and s["contrasted"]["ci95"] == _wilson(1, 4)
    assert s["gap_scuba_minus_scufo"]["value"] == 0.0
    assert list(out["variants"]) == ["static-background", "static-person"]


def test_nothing_derived_gives_empty_variants():
    out = V.variant_metrics(_run([_orig("a", "jump", "jump")]))
    assert out["variants"] == {} and out["scuba_scufo"] is None and out["n_originals"] == 1

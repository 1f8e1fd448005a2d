"""Ground truth for attribution: the demo's shortcut model looks at the background, its control model at the
actor. Measured through the real path (the demo's explain step, the store, the report) on the small demo."""

from __future__ import annotations

import json

from weirdkinetics.api import attribution_records, load_results
from weirdkinetics.metrics.attribution import attribution_summary, intervals_disjoint
from weirdkinetics.metrics.estimates import MeanEstimate


def _groups(out):
    store = out / "predictions.sqlite"
    runs = load_results(store)
    records, overlays = attribution_records(store, runs)
    by_label = {}
    for run in runs:
        if run.run_id not in records:  # the random reference row is not explained
            continue
        label = "shortcut" if " shortcut " in run.model else "control"
        summary = attribution_summary(records[run.run_id], n_boot=2000, seed=0)
        by_label[label] = {g["method"]: g for g in summary["groups"]}
    return by_label, overlays


def _mean(block: dict) -> MeanEstimate:
    return MeanEstimate(**block)


def test_attribution_finds_the_known_shortcut(small_demo):
    out, _ = small_demo
    groups, overlays = _groups(out)
    shortcut, control = groups["shortcut"], groups["control"]
    for g in (shortcut, control):
        assert g["gradcam"]["counted"] == g["gradcam"]["rows"] == 30, g["gradcam"]["status"]
        assert (
            g["gradcam"]["settings"]["segmenter"] == "true" and g["gradcam"]["settings"]["clips"] == "centre"
        )

    # Grad-CAM: the shortcut model's maps sit more on the background, beyond the intervals' overlap
    s_share = _mean(shortcut["gradcam"]["overall"]["background_share"])
    c_share = _mean(control["gradcam"]["overall"]["background_share"])
    assert s_share.value > c_share.value and intervals_disjoint(s_share, c_share), (s_share, c_share)

    # occlusion: removing the background hurts the shortcut model more than removing the actor; the control
    # shows the reverse
    s_occ, c_occ = shortcut["occlusion"]["overall"], control["occlusion"]["overall"]
    assert s_occ["background_drop"]["value"] > s_occ["person_drop"]["value"], s_occ
    assert c_occ["person_drop"]["value"] > c_occ["background_drop"]["value"], c_occ

    # the maps are faithful: deleting what they call important beats deleting at random, on both models
    assert shortcut["gradcam"]["beats_random"], shortcut["gradcam"]["overall"]["deletion_advantage"]
    assert control["gradcam"]["beats_random"], control["gradcam"]["overall"]["deletion_advantage"]

    # the report carries the section, its overlays and the faithfulness lines
    assert overlays and all(o.dtype.name == "uint8" and o.ndim == 4 for o in overlays.values())
    html = (out / "report" / "report.html").read_text()
    assert "Where does the model look?" in html and "beat random deletion" in html
    metrics = json.loads((out / "report" / "metrics.json").read_text())
    assert ["attribution" in run for run in metrics["runs"]] == [True, True, False]

"""The leaderboard's numbers and its summary's never-over-claiming rule, on hand-made results whose answer is
known; and the report that shows it (no script, pre-sorted tables, links to each model's section)."""

from __future__ import annotations

import json
from html import escape

import pytest

from weirdkinetics.metrics.estimates import GapEstimate, MeanEstimate
from weirdkinetics.metrics.intervals import wilson
from weirdkinetics.metrics.leaderboard import (
    COLUMN_BY_KEY,
    ModelRow,
    background_score,
    background_share,
    format_estimate,
    leaderboard,
    model_row,
    originals_accuracy,
    separated,
    summary_findings,
)
from weirdkinetics.metrics.summary import measure_run
from weirdkinetics.metrics.variants import measure_variants
from weirdkinetics.results import RunResults, VideoResult

CLASSES = ["jump", "wave", "spin", "walk"]


def _video(vid, label, split, pred, source, extra=None, status="ok") -> VideoResult:
    return VideoResult(
        vid, f"/nowhere/{vid}.mp4", label, split, status, source_id=source, pred=pred, pred_score=0.9,
        extra=extra or {},
    )  # fmt: skip


def _run(right: dict[str, int], n: int = 20, name: str = "m") -> RunResults:
    """``n`` recordings (label cycles through CLASSES, background owned by the next class); on each split
    or variant the first ``right[split]`` are predicted right, the others as the background's class. Swaps
    carry ``bg_label`` (the class owning the new background)."""
    videos = []
    for i in range(n):
        label, owner = CLASSES[i % 4], CLASSES[(i + 1) % 4]
        src = f"rec{i}"
        for split in ("real", "weird"):
            bg = label if split == "real" else owner
            pred = label if i < right[split] else owner
            videos.append(_video(f"{src}_{split}", label, split, pred, src, {"bg_class": bg}))
        for variant in ("person-only", "background-only", "swap"):
            pred = label if i < right[variant] else owner
            extra = {
                "variant": variant,
                "source_video_id": f"{src}_real",
                "synth_status": "ok",
                "bg_label": owner if variant != "person-only" else "",
            }
            if variant == "background-only":
                extra["bg_label"] = label  # the source's own background: its own class
            videos.append(_video(f"{src}__{variant}", label, variant, pred, src, extra))
    return RunResults(f"run-{name}", name, videos, CLASSES)


def _row(run: RunResults, share=None, reference=False) -> ModelRow:
    return model_row(
        run.model, run.run_id, measure_run(run, n_boot=200), measure_variants(run, n_boot=200),
        originals_accuracy(run), share, reference=reference,
    )  # fmt: skip


def test_row_holds_the_known_numbers():
    run = _run({"real": 18, "weird": 6, "person-only": 4, "background-only": 15, "swap": 5})
    row = _row(run)
    assert (row.cell("originals").count, row.cell("originals").n) == (24, 40)  # real and weird, no variant
    assert (row.cell("real").count, row.cell("weird").count) == (18, 6)
    assert row.cell("gap").value == pytest.approx((18 - 6) / 20)
    assert (row.cell("person_only").count, row.cell("person_only").n) == (4, 20)
    assert (row.cell("background_only").count, row.cell("background_only").n) == (15, 20)
    # swaps: 5 named the person's action, the other 15 the background's class (bg_label)
    assert (row.cell("swap_person").count, row.cell("swap_background").count) == (5, 15)
    assert row.cell("swap_person").n == 20
    assert row.cell("contrasted") is None and row.cell("background_score") is None  # no static twins, no maps
    assert isinstance(row.cell("gap"), GapEstimate) and row.cell("gap").resampled_by == "source_id"
    # a missing prediction leaves the denominator, never counts as wrong
    run.videos[0] = _video("rec0_real", "jump", "real", None, "rec0", status="decode_error")
    assert originals_accuracy(run).n == 39


def test_background_share_counts_original_videos_of_the_method_only():
    records = [
        {"method": "gradcam", "status": "ok", "video_id": "a", "row": {"source_id": "r1"}, "numbers": {"background_share": 0.2}},
        {"method": "gradcam", "status": "ok", "video_id": "b", "row": {"source_id": "r1"}, "numbers": {"background_share": 0.4}},
        {"method": "gradcam", "status": "ok", "video_id": "c", "row": {"source_id": "r2"}, "numbers": {"background_share": 0.9}},
        {"method": "occlusion", "status": "ok", "video_id": "a", "row": {"source_id": "r1"}, "numbers": {"background_share": 0.0}},
        {"method": "gradcam", "status": "decode_error", "video_id": "d", "row": {}, "numbers": {}},
        {"method": "gradcam", "status": "ok", "video_id": "e", "row": {"variant": "swap"}, "numbers": {"background_share": 1.0}},
    ]  # fmt: skip
    share = background_share(records, "gradcam", n_boot=200)
    assert isinstance(share, MeanEstimate) and share.n == 3 and share.value == pytest.approx(0.5)
    assert share.resampled_by == "source_id" and share.n_clusters == 2
    assert background_share(records, "rise") is None


def test_attribution_column_is_the_normalised_score_not_the_raw_share():
    # a uniform-looking map on a frame whose background is 86 %: raw share 0.86, score 1.0
    records = [
        {
            "method": "gradcam",
            "status": "ok",
            "video_id": v,
            "row": {"source_id": v},
            "numbers": {"background_share": 0.86, "background_score": s},
        }
        for v, s in (("a", 1.0), ("b", 0.9), ("c", 1.1), ("d", 0.95), ("e", 1.05))
    ]  # fmt: skip  (5 recordings: the fewest a mean gets an interval over)
    run = _run({"real": 18, "weird": 6, "person-only": 4, "background-only": 15, "swap": 5})
    row = _row(run, background_score(records, n_boot=200))
    assert row.cell("background_score").value == pytest.approx(1.0)
    assert background_share(records, n_boot=200).value == pytest.approx(
        0.86
    )  # the details keep the raw share
    col = COLUMN_BY_KEY["background_score"]
    assert col.kind == "score" and col.better == "lower" and col.reliance
    assert format_estimate(row.cell("background_score"), col).startswith("1.00 [")


def _fixed(name: str, **cells) -> ModelRow:
    return ModelRow(name, name, {k: wilson(*v) for k, v in cells.items()})


def test_summary_speaks_only_where_intervals_separate():
    # 18/20 vs 2/20: disjoint Wilson intervals; 11/20 vs 9/20: overlapping
    a = _fixed("a", background_only=(18, 20), person_only=(11, 20))
    b = _fixed("b", background_only=(2, 20), person_only=(9, 20))
    findings = summary_findings([a, b])
    assert [(f.column, f.a, f.b) for f in findings] == [("background_only", "a", "b")]
    assert findings[0].sentence.startswith(
        "a relies on the background more than b: background-only accuracy 90 %"
    )
    # order of the rows does not change who is said to be higher
    assert [(f.a, f.b) for f in summary_findings([b, a])] == [("a", "b")]
    # overlapping intervals, however different the values: no sentence
    close = _fixed("c", background_only=(3, 5))
    far = _fixed("d", background_only=(1, 5))
    assert not separated(close.cell("background_only"), far.cell("background_only"))
    assert summary_findings([close, far]) == ()
    # a reference row (random weights) is shown but never compared
    ref = ModelRow("r", "r", {"background_only": wilson(0, 20)}, reference=True)
    assert all("r" not in (f.a, f.b) for f in summary_findings([a, ref]))
    # no interval (an estimate whose bounds are unknown) is never a claim
    open_ended = ModelRow("e", "e", {"gap": GapEstimate(0.9, (None, None), 10, 0, "video", 3)})
    tight = ModelRow("f", "f", {"gap": GapEstimate(0.0, (-0.01, 0.01), 10, 0, "video", 3)})
    assert summary_findings([open_ended, tight]) == ()


def test_board_orders_each_column_by_its_better_direction():
    a = _fixed("a", background_only=(18, 20), originals=(10, 20))
    b = _fixed("b", background_only=(2, 20), originals=(19, 20))
    c = ModelRow("c", "c", {"originals": wilson(15, 20)})
    board = leaderboard([a, b, c])
    assert [col.key for col in board.columns] == ["originals", "background_only"]
    # lower is better; a model without the number comes last
    assert [r.model for r in board.ordered("background_only")] == ["b", "a", "c"]
    assert [r.model for r in board.ordered("originals")] == ["b", "c", "a"]
    doc = board.to_dict()
    assert doc["orderings"]["background_only"] == ["b", "a", "c"]
    assert doc["columns"][1] == {
        "key": "background_only", "title": "accuracy, background-only", "better": "lower",
        "kind": "accuracy", "reliance": True, "more_reliant": "higher",
    }  # fmt: skip
    assert doc["rows"][2]["cells"]["background_only"] is None
    assert doc["rows"][0]["cells"]["originals"]["type"] == "Proportion"
    assert json.loads(json.dumps(doc, allow_nan=False)) == doc
    assert format_estimate(None, COLUMN_BY_KEY["gap"]) == "—"


def test_report_shows_the_board_on_top_without_script(tmp_path):
    from weirdkinetics.report import prepare_report, write_report

    runs = [
        _run({"real": 19, "weird": 5, "person-only": 3, "background-only": 17, "swap": 3}, name="shortcut"),
        _run({"real": 19, "weird": 18, "person-only": 18, "background-only": 2, "swap": 17}, name="control"),
    ]
    contents = prepare_report(runs, n_boot=200)
    rows = [
        model_row(s.run.model, s.run.run_id, s.metrics, s.variants, originals_accuracy(s.run))
        for s in contents.runs
    ]
    board = leaderboard(rows)
    files = write_report(runs, tmp_path, n_boot=200, contents=contents, leaderboard=board)
    html = files["html"].read_text()
    assert "<script" not in html.lower()
    assert html.index("Leaderboard") < html.index("Runs side by side")
    assert "shortcut relies on the background more than control: background-only accuracy 85 %" in html
    for col in board.columns:  # one pre-sorted table per column
        assert escape(f"Sorted by {col.title}") in html
    assert 'href="#run-run-shortcut"' in html and 'id="run-run-shortcut"' in html
    csv = (tmp_path / "tables" / "study__leaderboard.csv").read_text().splitlines()
    assert csv[0].startswith("model,reference,originals,originals_ci95_lo")
    assert (tmp_path / "figures" / "study__leaderboard.png").exists()
    metrics = json.loads(files["metrics"].read_text())
    assert metrics["leaderboard"]["orderings"]["background_only"] == ["control", "shortcut"]
    assert any("relies on the background" in s["sentence"] for s in metrics["leaderboard"]["summary"])

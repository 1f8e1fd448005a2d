"""Metrics against independent references: scikit-learn, textbook values, brute-force enumeration."""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import accuracy_score, confusion_matrix, recall_score

from weirdkinetics.metrics import (
    SMALL_CELL,
    bootstrap_gap,
    class_order,
    confusion_counts,
    grid_counts,
    mcnemar_exact,
    most_frequent_wrong,
    row_normalise,
    run_metrics,
    split_order,
    wilson_interval,
)
from weirdkinetics.results import OK_STATUSES, RunResults, VideoResult

CLASSES = ["brushing teeth", "playing tennis", "push up", "jogging", "eating cake"]
OTHER_CLASSES = ["dancing ballet", "golf driving"]  # outside the subset: unrestricted predictions leak here
BACKGROUNDS = ["outdoor", "bathroom", "home", "indoor", "cafe"]


def random_run(seed: int, n: int = 120, with_sources: bool = True, bad_rows: int = 6) -> RunResults:
    """A run with random labels, predictions, backgrounds, statuses and paired sources."""
    rng = np.random.default_rng(seed)
    videos = []
    for i in range(n):
        split = ("real", "weird")[i % 2]
        label = CLASSES[rng.integers(len(CLASSES))] if split == "real" else videos[-1].label
        correct = rng.random() < (0.8 if split == "real" else 0.5)
        pred = label if correct else CLASSES[rng.integers(len(CLASSES))]
        pred_all = pred if rng.random() < 0.85 else OTHER_CLASSES[rng.integers(len(OTHER_CLASSES))]
        others = [c for c in CLASSES + OTHER_CLASSES if c != pred_all]
        rng.shuffle(others)
        topk = [(pred_all, 0.6)] + [(c, 0.1 / (j + 1)) for j, c in enumerate(others[:4])]
        videos.append(
            VideoResult(
                video_id=f"v{i:03d}",
                path=f"/data/v{i:03d}.mp4",
                label=label,
                split=split,
                status=str(rng.choice(["ok", "ok", "ok", "short", "partial"])),
                background=BACKGROUNDS[rng.integers(len(BACKGROUNDS))],
                source_id=f"s{i // 2:03d}" if with_sources else "",
                pred=pred,
                pred_score=float(rng.random()),
                pred_all=pred_all,
                pred_all_score=0.6,
                topk=topk,
            )
        )
    for i in rng.choice(n, size=bad_rows, replace=False):
        v = videos[i]
        v.status, v.reason = str(rng.choice(["decode_error", "missing"])), "could not open the file"
        v.pred = v.pred_all = None
        v.topk = []
    return RunResults(run_id=f"run{seed}", model="toy", videos=videos, classes=list(CLASSES))


# ---------------------------------------------------------------------------------------------- Wilson


@pytest.mark.parametrize(
    "k, n, lo, hi",
    [
        # Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score, no c.c.).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_textbook_values(k, n, lo, hi):
    got = wilson_interval(k, n)
    assert got == pytest.approx((lo, hi), abs=5e-5)


def test_wilson_matches_the_closed_form():
    z = stats.norm.ppf(0.975)
    for n in (1, 5, 12, 29, 300):
        for k in range(n + 1):
            p = k / n
            centre = (p + z * z / (2 * n)) / (1 + z * z / n)
            half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
            assert wilson_interval(k, n) == pytest.approx((centre - half, centre + half), abs=1e-9)


def test_wilson_is_scipys_to_the_last_bit():
    """wilson_interval skips binomtest's p-value (the cost of a many-run report); its numbers must not move."""
    for confidence in (0.95, 0.9, 0.99):
        for n in range(1, 81):
            for k in range(n + 1):
                ci = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
                assert wilson_interval(k, n, confidence) == (float(ci.low), float(ci.high)), (
                    k,
                    n,
                    confidence,
                )


def test_wilson_empty_and_invalid():
    lo, hi = wilson_interval(0, 0)
    assert math.isnan(lo) and math.isnan(hi)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


@pytest.mark.parametrize("n", [5, 15, 30])
def test_wilson_coverage_by_simulation(n):
    """Simulated coverage over a grid of true p: close to 95% on average, never far below."""
    rng = np.random.default_rng(12345 + n)
    intervals = np.array([wilson_interval(k, n) for k in range(n + 1)])  # (n+1, 2)
    coverages = []
    for p in np.linspace(0.05, 0.95, 19):
        draws = rng.binomial(n, p, size=4000)
        lo, hi = intervals[draws, 0], intervals[draws, 1]
        coverages.append(np.mean((lo <= p) & (p <= hi)))
    coverages = np.array(coverages)
    # Wilson's mean coverage is ~0.955 for these n; a Wald interval would average ~0.8 at n=5 and fail.
    assert 0.935 <= coverages.mean() <= 0.975, coverages
    assert coverages.min() >= 0.88, coverages


# -------------------------------------------------------------------------------------------- McNemar


def brute_force_mcnemar(b: int, c: int) -> float:
    """Enumerate every way the b + c discordant pairs could have gone (each 1/2) and count the outcomes
    at least as far from an even split as the observed one."""
    n = b + c
    if n == 0:
        return 1.0
    extreme = 0
    for outcome in itertools.product((0, 1), repeat=n):
        k = sum(outcome)
        if abs(k - n / 2) >= abs(b - n / 2) - 1e-12:
            extreme += 1
    return extreme / 2**n


@pytest.mark.parametrize("b, c", [(b, c) for b in range(9) for c in range(9) if b + c <= 12])
def test_mcnemar_exact_by_enumeration(b, c):
    assert mcnemar_exact(b, c) == pytest.approx(brute_force_mcnemar(b, c), rel=1e-12, abs=1e-15)


def test_mcnemar_known_value():
    # All 6 discordant pairs one way: 2 * (1/2)^6.
    assert mcnemar_exact(6, 0) == pytest.approx(2 / 64)
    assert mcnemar_exact(0, 0) == 1.0


# ------------------------------------------------------------------------------------------ Bootstrap


def test_bootstrap_is_deterministic_with_a_seed():
    rng = np.random.default_rng(0)
    a, b = rng.random(90) < 0.8, rng.random(90) < 0.5
    ids = np.array([f"s{i}" for i in range(90)], dtype=object)
    for clusters in ((None, None), (ids, ids)):
        first = bootstrap_gap(a, b, *clusters, n_boot=500, seed=7)
        assert bootstrap_gap(a, b, *clusters, n_boot=500, seed=7) == first
        assert bootstrap_gap(a, b, *clusters, n_boot=500, seed=8).ci95 != first.ci95
        assert first.ci95[0] <= first.value <= first.ci95[1]
    # Cluster ids given in another video order give the same draw (ids are sorted before drawing).
    order = rng.permutation(90)
    shuffled = bootstrap_gap(a[order], b[order], ids[order], ids[order], n_boot=500, seed=7)
    assert shuffled == bootstrap_gap(a, b, ids, ids, n_boot=500, seed=7)


def test_bootstrap_unpaired_matches_normal_approximation():
    """Large samples: the percentile interval approaches value +- 1.96 * SE of two independent proportions."""
    rng = np.random.default_rng(1)
    a, b = rng.random(3000) < 0.8, rng.random(2500) < 0.55
    est = bootstrap_gap(a, b, n_boot=2000, seed=0)
    se = math.sqrt(a.mean() * (1 - a.mean()) / a.size + b.mean() * (1 - b.mean()) / b.size)
    assert est.value == pytest.approx(a.mean() - b.mean())
    assert est.ci95[0] == pytest.approx(est.value - 1.96 * se, abs=0.15 * 1.96 * se)
    assert est.ci95[1] == pytest.approx(est.value + 1.96 * se, abs=0.15 * 1.96 * se)
    assert est.resampled_by == "video"


def test_bootstrap_paired_matches_paired_standard_error():
    """Pairs resampled together: the interval follows the SE of a difference of paired proportions."""
    rng = np.random.default_rng(2)
    n = 3000
    a = rng.random(n) < 0.8
    b = np.where(rng.random(n) < 0.7, a, rng.random(n) < 0.5)  # strongly correlated with a
    ids = np.array([f"s{i}" for i in range(n)], dtype=object)
    est = bootstrap_gap(a, b, ids, ids, n_boot=2000, seed=0)
    p_b, p_c = np.mean(a & ~b), np.mean(~a & b)
    se = math.sqrt((p_b + p_c - (p_b - p_c) ** 2) / n)
    assert est.ci95[0] == pytest.approx(est.value - 1.96 * se, abs=0.15 * 1.96 * se)
    assert est.ci95[1] == pytest.approx(est.value + 1.96 * se, abs=0.15 * 1.96 * se)
    unpaired = bootstrap_gap(a, b, n_boot=2000, seed=0)
    assert est.ci95[1] - est.ci95[0] < 0.8 * (unpaired.ci95[1] - unpaired.ci95[0])
    assert est.resampled_by == "source_id" and est.n_clusters == n


def test_bootstrap_keeps_clusters_together():
    """Each source right or wrong in both splits alike: every replicate's gap is exactly 0."""
    rng = np.random.default_rng(3)
    right = rng.random(40) < 0.6
    ids = np.array([f"s{i}" for i in range(40)], dtype=object)
    est = bootstrap_gap(right, right.copy(), ids, ids, n_boot=300, seed=0)
    assert est.ci95 == (0.0, 0.0)
    assert bootstrap_gap(right, right.copy(), n_boot=300, seed=0).ci95[1] > 0.05  # unpaired: wide


def test_bootstrap_counts_degenerate_replicates():
    # Five clusters (the fewest a bootstrap is drawn over): one holds the only two "a" videos (one right, one
    # wrong: a split all right or all wrong is not bootstrapped), so about (4/5)^5 = a third of the
    # replicates miss it.
    ids = np.array(["x", "y", "z", "u", "v"])
    a_ids = np.array(["x", "x"])
    est = bootstrap_gap(
        np.array([True, False]), np.array([False, True, True, False, True]), a_ids, ids, 400, 0
    )
    assert 0 < est.n_degenerate < 400 and est.n_clusters == 5


# --------------------------------------------------------------------------------- counts vs sklearn


def test_confusion_and_accuracy_match_sklearn():
    rng = np.random.default_rng(4)
    labels = CLASSES + OTHER_CLASSES
    for _ in range(20):
        n = int(rng.integers(1, 200))
        y_true = [labels[i] for i in rng.integers(0, len(labels), n)]
        y_pred = [labels[i] for i in rng.integers(0, len(labels), n)]
        assert np.array_equal(
            confusion_counts(y_true, y_pred, labels), confusion_matrix(y_true, y_pred, labels=labels)
        )
        sub = labels[:4]  # pairs outside the order are not counted, as in sklearn
        assert np.array_equal(
            confusion_counts(y_true, y_pred, sub), confusion_matrix(y_true, y_pred, labels=sub)
        )
        normalised = row_normalise(confusion_counts(y_true, y_pred, labels))
        reference = confusion_matrix(y_true, y_pred, labels=labels, normalize="true")
        seen = np.isin(labels, y_true)
        assert np.allclose(normalised[seen], reference[seen])
        assert np.isnan(normalised[~seen]).all()  # no video: unknown, not 0 %


def test_most_frequent_wrong_ties_go_to_class_order():
    counts = np.array([[5, 2, 2], [0, 3, 0], [1, 4, 0]])
    assert most_frequent_wrong(counts, ["a", "b", "c"]) == [("b", 2), None, ("b", 4)]


def test_grid_counts_match_brute_force():
    rng = np.random.default_rng(5)
    labels = [CLASSES[i] for i in rng.integers(0, 5, 300)]
    bgs = [BACKGROUNDS[i] for i in rng.integers(0, 5, 300)]
    right = rng.random(300) < 0.6
    g = grid_counts(labels, bgs, right, CLASSES, BACKGROUNDS)
    total, correct = Counter(zip(labels, bgs)), Counter(k for k, r in zip(zip(labels, bgs), right) if r)
    for i, lab in enumerate(CLASSES):
        for j, bg in enumerate(BACKGROUNDS):
            assert g.total[i, j] == total[(lab, bg)] and g.correct[i, j] == correct[(lab, bg)]
    assert np.array_equal(g.small, (g.total > 0) & (g.total < SMALL_CELL))
    with pytest.raises(ValueError, match="beach"):
        grid_counts(["jogging"], ["beach"], [True], CLASSES, BACKGROUNDS)


# ------------------------------------------------------------------------------------------ run_metrics


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_run_metrics_against_sklearn_and_brute_force(seed):
    run = random_run(seed)
    m = run_metrics(run, seed=0, n_boot=200)
    json.dumps(m, allow_nan=False)  # JSON-serialisable, no NaN
    assert m["run"] == run.run_id and m["model"] == "toy"
    assert list(m["splits"]) == ["real", "weird"]
    order = m["classes"]
    assert order == class_order(run)

    for split, block in m["splits"].items():
        counted = [
            v for v in run.videos if v.split == split and v.status in OK_STATUSES and v.pred is not None
        ]
        y_true, y_pred = [v.label for v in counted], [v.pred for v in counted]
        assert block["n"] == len(counted)
        assert block["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
        assert block["correct"] == round(accuracy_score(y_true, y_pred, normalize=False))
        assert block["ci95"] == pytest.approx(list(wilson_interval(block["correct"], block["n"])))
        conf = np.array(m["confusion"][split]["counts"])
        assert m["confusion"][split]["labels"] == order
        assert np.array_equal(conf, confusion_matrix(y_true, y_pred, labels=order))
        # Per-class accuracy is recall; the top wrong class is the most common wrong prediction.
        recalls = recall_score(y_true, y_pred, labels=order, average=None, zero_division=np.nan)
        for lab, rec in zip(order, recalls):
            per = m["per_class"].get(lab, {}).get("splits", {}).get(split)
            if lab not in y_true:
                assert per is None
                continue
            assert per["accuracy"] == pytest.approx(rec)
            wrong = Counter(p for t, p in zip(y_true, y_pred) if t == lab and p != lab)
            if not wrong:
                assert per["top_wrong"] is None
            else:
                top = max(wrong.values())
                assert per["top_wrong"]["count"] == top
                assert wrong[per["top_wrong"]["class"]] == top
        # Unrestricted top-1, top-5 and leak over the same counted videos.
        assert block["top1_all"]["correct"] == sum(v.pred_all == v.label for v in counted)
        assert block["top5_all"]["correct"] == sum(v.label in [c for c, _ in v.topk[:5]] for v in counted)
        assert block["leak"]["count"] == sum(v.pred_all in OTHER_CLASSES for v in counted)

    gap = m["gaps"]["real-weird"]
    assert gap["value"] == pytest.approx(m["splits"]["real"]["accuracy"] - m["splits"]["weird"]["accuracy"])
    assert gap["resampled_by"] == "source_id"
    assert gap["ci95"][0] <= gap["value"] <= gap["ci95"][1]
    assert run_metrics(run, seed=0, n_boot=200) == m  # deterministic

    # McNemar by brute force over sources with one counted video in each split.
    real = {v.source_id: v for v in run.videos if v.split == "real" and v.has_prediction}
    weird = {v.source_id: v for v in run.videos if v.split == "weird" and v.has_prediction}
    pairs = [(real[s], weird[s]) for s in real if s in weird]
    b = sum(x.correct and not y.correct for x, y in pairs)
    c = sum(y.correct and not x.correct for x, y in pairs)
    assert gap["mcnemar"]["n_pairs"] == len(pairs)
    assert (gap["mcnemar"]["b"], gap["mcnemar"]["c"]) == (b, c)
    assert gap["mcnemar"]["p_value"] == pytest.approx(stats.binomtest(b, b + c, 0.5).pvalue)

    # Grid over every counted video, totals add up.
    counted = [v for v in run.videos if v.has_prediction]
    cells = Counter((v.label, v.background) for v in counted)
    for (lab, bg), n in cells.items():
        assert m["grid"][lab][bg]["total"] == n
        assert m["grid"][lab][bg]["correct"] == sum(
            v.correct for v in counted if (v.label, v.background) == (lab, bg)
        )
        assert m["grid"][lab][bg]["small"] == (n < SMALL_CELL)
    assert sum(len(row) for row in m["grid"].values()) == len(cells)  # blank cells are absent
    assert m["grid_totals"]["all"] == {"correct": sum(v.correct for v in counted), "total": len(counted)}
    for lab, tot in m["grid_totals"]["labels"].items():
        assert tot["total"] == sum(c["total"] for c in m["grid"][lab].values())

    # Every video is accounted for: counted + excluded = rows, per split and overall.
    st = m["status"]
    assert st["rows"] == len(run.videos) == st["counted"] + len(st["excluded"])
    assert st["counts"] == dict(Counter(v.status for v in run.videos))
    for split, d in st["by_split"].items():
        assert d["counted"] == m["splits"][split]["n"]
        assert d["rows"] == d["counted"] + d["excluded"]
    assert {e["status"] for e in st["excluded"]} <= {"decode_error", "missing"}
    assert all(e["reason"] for e in st["excluded"])


def test_run_metrics_without_sources_resamples_videos_and_skips_mcnemar():
    m = run_metrics(random_run(0, with_sources=False), n_boot=100)
    assert m["gaps"]["real-weird"]["resampled_by"] == "video"
    assert m["gaps"]["real-weird"]["mcnemar"] is None


def test_run_metrics_exact_small_case():
    """A hand-checked run: 3 real (2 right), 2 weird (0 right), one decode error, one leak."""

    def v(i, split, label, pred, pred_all=None, status="ok", bg="home", topk=()):
        return VideoResult(
            f"v{i}",
            f"p{i}",
            label,
            split,
            status,
            background=bg,
            source_id=f"s{i % 3}",
            pred=pred,
            pred_all=pred_all or pred,
            topk=list(topk),
        )

    run = RunResults(
        "r",
        "m",
        [
            v(0, "real", "a", "a"),
            v(1, "real", "b", "b", bg="cafe"),
            v(2, "real", "a", "b", pred_all="zz", topk=[("zz", 0.5), ("b", 0.3), ("a", 0.2)]),
            v(3, "weird", "a", "b", status="short"),
            v(4, "weird", "b", "a", bg="cafe"),
            VideoResult("v5", "p5", "a", "weird", "decode_error", reason="Invalid NAL unit size"),
            v(6, "kinetics", "a", "a"),
        ],
        ["a", "b"],
    )
    m = run_metrics(run, n_boot=50)
    assert list(m["splits"]) == ["real", "weird", "kinetics"]
    assert m["splits"]["real"] | {"ci95": None} == {
        "n": 3,
        "correct": 2,
        "accuracy": pytest.approx(2 / 3),
        "ci95": None,
        "top1_all": {
            "n": 3,
            "correct": 2,
            "accuracy": pytest.approx(2 / 3),
            "ci95": pytest.approx(list(wilson_interval(2, 3))),
        },
        "top5_all": {
            "n": 1,
            "correct": 1,
            "accuracy": 1.0,
            "ci95": pytest.approx(list(wilson_interval(1, 1))),
        },
        "leak": {
            "n": 3,
            "count": 1,
            "rate": pytest.approx(1 / 3),
            "ci95": pytest.approx(list(wilson_interval(1, 3))),
        },
    }
    assert m["splits"]["weird"]["n"] == 2 and m["splits"]["weird"]["correct"] == 0
    assert set(m["gaps"]) == {"real-weird", "real-kinetics"}
    assert m["gaps"]["real-weird"]["value"] == pytest.approx(2 / 3)
    assert m["gaps"]["real-kinetics"]["value"] == pytest.approx(2 / 3 - 1)
    assert m["confusion"]["weird"] == {
        "labels": ["a", "b"],
        "counts": [[0, 1], [1, 0]],
        "normalised": [[0.0, 1.0], [1.0, 0.0]],
    }
    assert m["grid"] == {
        "a": {"home": {"correct": 2, "total": 4, "small": True}},
        "b": {"cafe": {"correct": 1, "total": 2, "small": True}},
    }
    assert m["per_class"]["a"]["splits"]["real"]["top_wrong"] == {"class": "b", "count": 1}
    assert m["per_class"]["a"]["gap"] == pytest.approx(0.5 - 0.0)
    assert m["status"]["excluded"] == [
        {
            "video_id": "v5",
            "split": "weird",
            "label": "a",
            "status": "decode_error",
            "reason": "Invalid NAL unit size",
            "path": "p5",
        }
    ]
    assert m["status"]["flagged"] == {"short": 1}
    assert m["status"]["by_split"]["weird"] == {
        "rows": 3,
        "counted": 2,
        "excluded": 1,
        "by_status": {"short": 1, "ok": 1, "decode_error": 1},
    }


def test_split_order_puts_real_and_weird_first():
    vids = [VideoResult(str(i), "", "a", s, "ok") for i, s in enumerate(["x", "weird", "y", "real"])]
    assert split_order(vids) == ["real", "weird", "x", "y"]


def test_run_metrics_split_without_counted_videos():
    run = RunResults(
        "r",
        "m",
        [
            VideoResult("1", "", "a", "real", "ok", pred="a"),
            VideoResult("2", "", "a", "weird", "missing", reason="gone"),
        ],
        ["a"],
    )
    m = run_metrics(run, n_boot=10)
    json.dumps(m, allow_nan=False)
    assert m["splits"]["weird"]["n"] == 0 and m["splits"]["weird"]["accuracy"] is None
    assert m["gaps"]["real-weird"]["value"] is None and "weird" in m["gaps"]["real-weird"]["note"]
    assert m["grid"] == {}  # no background column at all


def test_sources_with_several_versions_are_clustered_but_not_paired():
    """Synthetic variants: one real and two weird versions of s0 stay one cluster; McNemar skips s0."""

    def v(i, split, source, right):
        return VideoResult(f"v{i}", "", "a", split, "ok", source_id=source, pred="a" if right else "b")

    videos = [
        v(0, "real", "s0", True), v(1, "weird", "s0", False), v(2, "weird", "s0", False),
        v(3, "real", "s1", True), v(4, "weird", "s1", False),
        v(5, "real", "s2", False), v(6, "weird", "s2", True),
    ]  # fmt: skip
    gap = run_metrics(RunResults("r", "m", videos, ["a", "b"]), n_boot=100)["gaps"]["real-weird"]
    # 3 recordings: too few to resample, Newcombe's interval instead (issue 22)
    assert gap["resampled_by"] == "newcombe" and gap["n_clusters"] == 3
    assert gap["mcnemar"] == {"n_pairs": 2, "b": 1, "c": 1, "p_value": 1.0, "sources_not_paired": 1}


# ------------------------------------------------------------------------------ result types, serialisers


def test_proportion_serialises_to_the_two_historic_shapes():
    from weirdkinetics.metrics import Proportion, wilson

    acc = wilson(3, 4)
    lo, hi = wilson_interval(3, 4)
    assert (acc.count, acc.n, acc.value, acc.interval, acc.method) == (3, 4, 0.75, (lo, hi), "wilson")
    assert acc.to_dict() == {"n": 4, "correct": 3, "accuracy": 0.75, "ci95": [lo, hi]}
    assert wilson(1, 4, "rate").to_dict() == {
        "n": 4, "count": 1, "rate": 0.25, "ci95": list(wilson_interval(1, 4)),
    }  # fmt: skip
    # no video: no number, and JSON-ready (None, never NaN)
    empty = wilson(0, 0)
    assert empty.empty and empty.to_dict() == {"n": 0, "correct": 0, "accuracy": None, "ci95": [None, None]}
    assert Proportion(0, 0, math.nan, (math.nan, math.nan)).interval == (None, None)
    with pytest.raises(ValueError, match="kind"):
        Proportion(1, 2, 0.5, (0.1, 0.9), kind="share")


def test_gap_estimate_serialises_with_its_resampling_and_mcnemar():
    from weirdkinetics.metrics import GapEstimate, McNemar

    est = GapEstimate(0.25, (0.1, 0.4), 500, 7, "source_id", 12, 3, McNemar(10, 4, 1, 0.375, 2))
    assert est.interval == (0.1, 0.4)
    assert est.to_dict() == {
        "value": 0.25, "ci95": [0.1, 0.4], "n_boot": 500, "seed": 7, "resampled_by": "source_id",
        "n_clusters": 12, "n_degenerate": 3,
        "mcnemar": {"n_pairs": 10, "b": 4, "c": 1, "p_value": 0.375, "sources_not_paired": 2},
    }  # fmt: skip
    # every replicate degenerate: no interval, and strict JSON still
    drawn = GapEstimate(0.5, (math.nan, math.nan), 10, 0, "source_id", 2, 10)
    assert drawn.ci95 == (None, None) and drawn.to_dict()["mcnemar"] is None
    json.dumps(drawn.to_dict(), allow_nan=False)


def test_run_metrics_is_the_serialised_measure_run():
    from weirdkinetics.metrics import measure_run

    run = random_run(5)
    measured = measure_run(run, seed=2, n_boot=50)
    assert measured.to_dict() == run_metrics(run, seed=2, n_boot=50)
    gap = measured.gaps["real-weird"]
    assert gap.estimate.mcnemar is not None and gap.to_dict()["mcnemar"] == gap.estimate.mcnemar.to_dict()
    assert measured.splits["real"].accuracy.kind == "accuracy" and measured.splits["real"].leak.kind == "rate"


def test_bootstrap_mean_without_clusters_matches_normal_approximation():
    from weirdkinetics.metrics import bootstrap_mean

    values = np.random.default_rng(6).random(4000)
    est = bootstrap_mean(values, n_boot=2000, seed=0)
    se = values.std(ddof=1) / math.sqrt(values.size)
    assert est.value == pytest.approx(values.mean())
    assert est.ci95[0] == pytest.approx(est.value - 1.96 * se, abs=0.15 * 1.96 * se)
    assert est.ci95[1] == pytest.approx(est.value + 1.96 * se, abs=0.15 * 1.96 * se)
    assert (est.n, est.resampled_by, est.n_clusters) == (4000, "value", 4000)
    assert bootstrap_mean(values, n_boot=2000, seed=0) == est
    assert est.to_dict() == {
        "n": 4000, "value": est.value, "ci95": list(est.ci95), "n_boot": 2000, "seed": 0,
        "resampled_by": "value", "n_clusters": 4000,
    }  # fmt: skip


def test_bootstrap_mean_keeps_clusters_together():
    from weirdkinetics.metrics import bootstrap_mean

    rng = np.random.default_rng(7)
    per_cluster = rng.random(50)
    # each recording's value repeated in 4 versions: clustered, the interval is the 50-cluster one
    values = np.repeat(per_cluster, 4)
    ids = np.repeat([f"s{i}" for i in range(50)], 4).astype(object)
    clustered = bootstrap_mean(values, ids, n_boot=2000, seed=0)
    naive = bootstrap_mean(values, n_boot=2000, seed=0)
    alone = bootstrap_mean(
        per_cluster, np.array([f"s{i}" for i in range(50)], dtype=object), n_boot=2000, seed=0
    )
    assert clustered.ci95 == pytest.approx(alone.ci95)  # same draws over the same 50 clusters
    assert naive.ci95[1] - naive.ci95[0] < 0.7 * (clustered.ci95[1] - clustered.ci95[0])
    assert (clustered.n, clustered.n_clusters, clustered.resampled_by) == (200, 50, "source_id")
    order = rng.permutation(200)
    assert bootstrap_mean(values[order], ids[order], n_boot=2000, seed=0) == clustered
    constant = bootstrap_mean(np.full(10, 0.3), n_boot=100, seed=0)
    assert constant.ci95 == pytest.approx((0.3, 0.3))


def test_bootstrap_mean_refuses_what_it_cannot_estimate():
    from weirdkinetics.metrics import bootstrap_mean

    with pytest.raises(ValueError, match="at least one"):
        bootstrap_mean(np.array([]))
    with pytest.raises(ValueError, match="finite"):
        bootstrap_mean(np.array([0.1, np.nan]))
    with pytest.raises(ValueError, match="one id per value"):
        bootstrap_mean(np.array([0.1, 0.2]), np.array(["a"], dtype=object))

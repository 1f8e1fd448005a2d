"""The demo end to end on its small configuration, through the real path (registry, --weights checkpoints,
store, report): the known answer of the controlled experiment must come out of the measurements."""

import json

import numpy as np

from weirdkinetics.demo.run import report_with_headline, run_demo
from weirdkinetics.results import RunResults, VideoResult


def _paired_run(seed: int, model: str) -> RunResults:
    """Real and weird versions of 30 recordings (linked by source_id); weird backgrounds owned by a class."""
    rng = np.random.default_rng(seed)
    classes = ["jump", "wave", "spin"]
    videos = []
    for i in range(30):
        label = classes[i % 3]
        owner = classes[(i + 1) % 3]
        for split, p_right in (("real", 0.9), ("weird", 0.4)):
            pred = label if rng.random() < p_right else owner
            videos.append(
                VideoResult(
                    f"{split}{i}", f"/nowhere/{split}{i}.mp4", label, split, "ok", source_id=f"rec{i}",
                    pred=pred, pred_score=0.7, extra={"bg_class": owner} if split == "weird" else {},
                )
            )  # fmt: skip
    return RunResults(f"run-{model}", model, videos, classes)


def test_headline_and_report_share_their_numbers(tmp_path, capsys):
    """headline.json's accuracies and gap, intervals included, are metrics.json's for the same run."""
    numbers = report_with_headline([_paired_run(0, "shortcut"), _paired_run(1, "control")], tmp_path)
    saved = json.loads((tmp_path / "headline.json").read_text())
    metrics = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert saved == numbers and len(metrics["runs"]) == 2
    for entry in metrics["runs"]:
        row = saved[entry["model"]]
        assert row["real"] == entry["splits"]["real"] and row["weird"] == entry["splits"]["weird"]
        assert row["gap"] == entry["gaps"]["real-weird"]
        assert row["gap"]["n_boot"] == metrics["n_boot"] and row["gap"]["resampled_by"] == "source_id"
        took, n = row["background_capture"]
        assert n == 30 and took == entry["splits"]["weird"]["n"] - entry["splits"]["weird"]["correct"]
    assert "gap" in capsys.readouterr().out


# the small demo runs once per session (``small_demo``, shared with the attribution ground truth): about 30 s
# on a quiet 2-core machine, so this science check stays in the default suite
def test_demo_measures_the_known_shortcut(small_demo):
    out, headline = small_demo
    shortcut = next(v for k, v in headline.items() if " shortcut " in k)
    control = next(v for k, v in headline.items() if " control " in k)
    # both models learn the motions on their own backgrounds: a control at chance would prove nothing
    assert shortcut["real"]["accuracy"] >= 0.8 and control["real"]["accuracy"] >= 0.8, headline
    # the shortcut model collapses on weird backgrounds, mostly onto the class that owns the background
    assert shortcut["weird"]["accuracy"] <= shortcut["real"]["accuracy"] - 0.5, headline
    took, n = shortcut["background_capture"]
    assert took >= 0.6 * n, headline
    # the control model holds
    assert control["weird"]["accuracy"] >= 0.8, headline
    assert control["gap"]["ci95"][0] < shortcut["gap"]["ci95"][0]

    metrics = json.loads((out / "report" / "metrics.json").read_text())
    assert len(metrics["runs"]) == 3  # shortcut, control and the random reference
    digests = [r["provenance"]["weights_digest"] for r in metrics["runs"]]
    assert all(d and not d.startswith("random") for d in digests[:2]) and digests[2] == "random:0"
    assert (out / "report" / "report.html").stat().st_size > 10_000
    assert (out / "predictions.csv").exists()
    # a rerun reuses data, checkpoints and predictions
    again = run_demo(out, small=True, progress=False)
    assert again == headline


def _value(cell: dict) -> float:
    """The number of a serialised cell (``Proportion``: accuracy or rate; gap and mean: value)."""
    return next(cell[k] for k in ("accuracy", "rate", "value") if k in cell)


def test_demo_study_orders_the_models_on_every_reliance_column(small_demo):
    """The expected answer of the controlled experiment, read from the leaderboard the demo wrote: the
    shortcut model is the more background-reliant on every reliance column, the control the less, and the
    random reference sits at chance on the demo's 5 classes."""
    out, _ = small_demo
    board = json.loads((out / "report" / "leaderboard.json").read_text())
    by_name = {}
    for row in board["rows"]:
        name = next((k for k in ("shortcut", "control") if f" {k} " in row["model"]), "random")
        by_name[name] = row
    assert by_name["random"]["reference"] and not by_name["shortcut"]["reference"]
    columns = {c["key"]: c for c in board["columns"]}
    reliance = {k for k, c in columns.items() if c["reliance"]}
    assert reliance == {
        "gap", "person_only", "background_only", "swap_person", "swap_background", "contrasted",
        "background_score",
    }  # fmt: skip
    for key in sorted(reliance):
        shortcut = _value(by_name["shortcut"]["cells"][key])
        control = _value(by_name["control"]["cells"][key])
        more = columns[key]["more_reliant"]
        assert (shortcut > control) if more == "higher" else (shortcut < control), (key, shortcut, control)
    for key in ("originals", "real", "weird", "person_only", "background_only", "swap_person"):
        lo, hi = by_name["random"]["cells"][key]["ci95"]
        assert lo <= 1 / 5 <= hi, (key, by_name["random"]["cells"][key])
    # the summary names the shortcut as the more background-reliant, and never the reverse
    sentences = [s for s in board["summary"] if s["column"] in reliance]
    assert sentences and all(
        (" shortcut " in s["higher"]) == (columns[s["column"]]["more_reliant"] == "higher") for s in sentences
    )
    html = (out / "report" / "report.html").read_text()
    assert html.index("Leaderboard") < html.index("Runs side by side")


def _cells(out) -> tuple[dict, dict, dict]:
    """(shortcut row, control row, columns by key) of the leaderboard the demo wrote."""
    board = json.loads((out / "report" / "leaderboard.json").read_text())
    rows = {
        next((k for k in ("shortcut", "control") if f" {k} " in r["model"]), "random"): r
        for r in board["rows"]
    }
    return rows["shortcut"]["cells"], rows["control"]["cells"], {c["key"]: c for c in board["columns"]}


def test_demo_variants_agree_with_the_truth(small_demo):
    """The generator knows the truth: on the control model (which does not rely on the background),
    synth's background-only is within 10 points of the exact actor-free render (the removal leaks no
    class), person-only is recognised (>= 85 %) and swaps keep the person's class (>= 90 %)."""
    out, _ = small_demo
    _, control, _ = _cells(out)
    truth, synthetic = _value(control["background_only_truth"]), _value(control["background_only"])
    assert abs(synthetic - truth) <= 0.10, (synthetic, truth)
    assert _value(control["person_only"]) >= 0.85, control["person_only"]
    assert _value(control["swap_person"]) >= 0.90, control["swap_person"]
    # the leak test is reported beside background-only, for every model
    assert "silhouette" in control and control["silhouette"]["n"] == control["background_only"]["n"]


def test_demo_shortcut_and_control_separate_on_every_reliance_column(small_demo):
    """Disjoint 95 % intervals, the shortcut on the background-reliant side, on every reliance column."""
    out, _ = small_demo
    shortcut, control, columns = _cells(out)
    for key, column in columns.items():
        if not column["reliance"]:
            continue
        a, b = shortcut[key]["ci95"], control[key]["ci95"]
        if column["more_reliant"] == "higher":
            assert a[0] > b[1], (key, a, b)
        else:
            assert a[1] < b[0], (key, a, b)

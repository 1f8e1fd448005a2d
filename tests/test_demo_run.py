"""The demo end to end on its small configuration, through the real path (registry, --weights checkpoints,
store, report): the known answer of the controlled experiment must come out of the measurements."""

import json

from weirdkinetics.demo.run import run_demo


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
    assert len(metrics["runs"]) == 2
    assert all(r["provenance"]["weights_digest"] and not r["provenance"]["weights_digest"].startswith("random") for r in metrics["runs"])
    assert (out / "report" / "report.html").stat().st_size > 10_000
    assert (out / "predictions.csv").exists()
    # a rerun reuses data, checkpoints and predictions
    again = run_demo(out, small=True, progress=False)
    assert again == headline

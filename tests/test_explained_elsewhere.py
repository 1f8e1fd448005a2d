"""A card whose evaluation samples the video differently from its explain clips (``i3d_inception`` scores the
whole video, explains 64-frame clips) stores its attribution under an explain run of its own. A study reports
that run's rows for the evaluated run (and its leaderboard's attribution column with them), saying where
they came from, and pairs the trained and random-weights runs for the model-randomisation check."""

from __future__ import annotations

import numpy as np

from weirdkinetics.commands.attributions import attribution_records
from weirdkinetics.report.attribution import settings_text
from weirdkinetics.results import RunResults, VideoResult
from weirdkinetics.store import Store, StoredAttribution


def _run(run_id: str, weights: str) -> RunResults:
    videos = [VideoResult(f"v{i}", f"/v{i}.mp4", "a", "real", "ok") for i in range(2)]
    provenance = {"weights_digest": weights, "model_card": {"name": "card"}}
    return RunResults(run_id, "card", videos, ["a", "b"], provenance=provenance)


def _store(path, run_id: str, saliency: np.ndarray) -> None:
    with Store(path) as store:
        for i in range(2):
            rec = StoredAttribution(
                f"v{i}",
                f"/v{i}.mp4",
                "gradcam",
                "k",
                {"clips": "centre"},
                {},
                "ok",
                "",
                {"background_share": 0.5},
                saliency * (i + 1),
            )
            store.put_attribution(run_id, rec)


def test_an_explain_run_stands_for_the_evaluated_run(tmp_path):
    store = tmp_path / "s.sqlite"
    ramp = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4) + 1
    _store(store, "explained-trained", ramp)
    _store(store, "explained-random", ramp[::-1].copy())
    runs = [_run("eval-trained", "abc"), _run("eval-random", "random:0")]

    plain, _ = attribution_records(store, runs, overlays=False)
    assert plain == {}  # without the link the evaluated runs hold no attribution rows

    aliases = {"eval-trained": "explained-trained", "eval-random": "explained-random"}
    records, _ = attribution_records(store, runs, overlays=False, explained_by=aliases)
    assert sorted(records) == ["eval-random", "eval-trained"]
    trained = records["eval-trained"]
    assert [r["video_id"] for r in trained] == ["v0", "v1"]
    assert all(r["settings"]["explained_in_run"] == "explained-trained" for r in trained)
    assert "explained in run explained-trained" in settings_text({"settings": trained[0]["settings"]})
    # the random-weights twin is found through its own explain run: the randomisation check has its pairs
    assert all("randomisation_rho" in r["numbers"] for r in trained)
    assert trained[0]["numbers"]["randomisation_rho"] < 0


def test_a_study_explains_again_when_the_instruments_change(tmp_path, monkeypatch):
    """A study's explain step is identified by what the code measures too: a newer weirdkinetics whose
    deletion check changed (e.g. its random baseline) must not reuse the step made with the old one."""
    from weirdkinetics.attribution import ExplainSettings
    from weirdkinetics.study import StudyModel, StudySettings, _method_settings

    settings = StudySettings(
        manifest=tmp_path / "m.csv",
        models=(StudyModel("tiny_c3d"),),
        out=tmp_path / "o",
        explain=("gradcam",),
    )
    before = _method_settings(settings, settings.models[0])
    assert set(before) == {"gradcam"}
    old = ExplainSettings.to_dict
    monkeypatch.setattr(ExplainSettings, "to_dict", lambda self, m, c: {**old(self, m, c), "random": "other"})
    assert _method_settings(settings, settings.models[0]) != before


def test_the_board_counts_only_the_rows_of_the_studys_own_settings():
    """A store holding rows of two settings (an older version's deletion check, another segmenter) gives the
    leaderboard one row per video, the study's own; without a recorded key (nothing to choose by) all."""
    from weirdkinetics.study import _own_records

    records = [
        {"video_id": v, "settings_key": k, "method": "gradcam"} for v in ("a", "b") for k in ("old", "new")
    ]
    mine = _own_records(records, {"gradcam": "new"}, "gradcam")
    assert [(r["video_id"], r["settings_key"]) for r in mine] == [("a", "new"), ("b", "new")]
    assert _own_records(records, None, "gradcam") == records
    assert _own_records(records, {"occlusion": "x"}, "gradcam") == records

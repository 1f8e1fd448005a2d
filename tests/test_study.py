"""The study as one resumable plan: killed mid-way it continues where it stopped, a second run with one more
model computes only that model, and the CLI refuses what it cannot do with one line."""

from __future__ import annotations

import json
from dataclasses import replace
from types import SimpleNamespace

import pytest

from weirdkinetics.cli import main
from weirdkinetics.demo.config import DemoConfig
from weirdkinetics.demo.generate import generate_dataset
from weirdkinetics.errors import UserError
from weirdkinetics.manifest import read_manifest
from weirdkinetics.store import Store
from weirdkinetics.study import StudyModel, StudySettings, explain_subset_rows, parse_variants, run_study

TINY = DemoConfig(height=32, width=32, num_frames=16, fps=15.0)
A = StudyModel("tiny_c3d_demo", "random:0", "a")
B = StudyModel("tiny_c3d_demo", "random:1", "b")


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """One recording per class on its real and a weird background (10 videos), true masks."""
    return generate_dataset(tmp_path_factory.mktemp("study-videos"), 1, 0, TINY, progress=False)


def _settings(videos, out, models=(A,), **kw) -> StudySettings:
    base = dict(variants=("person-only", "background-only"), segmenter="true", n_boot=50)
    return StudySettings(manifest=videos, models=tuple(models), out=out, **(base | kw))


_PUT = Store.put


class Killed(BaseException):
    """Stands for the process being killed (like KeyboardInterrupt, not an Exception)."""


class _Counting:
    """Counts the store's writes per run; raises ``Killed`` at write number ``stop`` (a kill)."""

    def __init__(self, monkeypatch, stop: int | None = None):
        self.runs: list[str] = []
        self.stop = stop

        def counted(store, run_id, pred):
            if self.stop is not None and len(self.runs) + 1 == self.stop:
                raise Killed
            _PUT(store, run_id, pred)
            self.runs.append(run_id)

        monkeypatch.setattr(Store, "put", counted)


def test_killed_mid_evaluation_the_same_command_continues(videos, tmp_path, monkeypatch):
    out = tmp_path / "study"
    killed = _Counting(monkeypatch, stop=6)
    with pytest.raises(Killed):
        run_study(_settings(videos, out), progress=False)
    assert len(killed.runs) == 5  # five predictions stored before the kill
    record = json.loads((out / "study.json").read_text())["steps"]
    assert set(record) == {"synth:person-only", "synth:background-only"}  # evaluation never finished

    again = _Counting(monkeypatch)
    outcome = run_study(_settings(videos, out), progress=False)
    rows = len(read_manifest(out / "study.csv").rows)
    assert rows == 30  # 10 originals and 10 of each variant
    assert len(again.runs) == rows - 5  # only what the kill left undone
    assert outcome.reused == ["synth:person-only", "synth:background-only"]
    assert outcome.computed == [f"evaluate:{A.key}"]
    assert outcome.report["html"].exists() and outcome.leaderboard.rows[0].cell("person_only").n == 10

    # idempotent: a third run computes nothing and writes the same board
    third = _Counting(monkeypatch)
    before = outcome.leaderboard.to_dict()
    outcome = run_study(_settings(videos, out), progress=False)
    assert third.runs == [] and outcome.computed == [] and outcome.leaderboard.to_dict() == before


@pytest.mark.slow
def test_killed_mid_synth_redoes_only_that_variant(videos, tmp_path, monkeypatch):
    from weirdkinetics import api

    out = tmp_path / "study"
    synthesize = api.synthesize
    made = []

    def kill_second(variant, *args, **kwargs):
        if made:
            raise Killed
        made.append(variant)
        return synthesize(variant, *args, **kwargs)

    monkeypatch.setattr(api, "synthesize", kill_second)
    with pytest.raises(Killed):
        run_study(_settings(videos, out), progress=False)
    monkeypatch.setattr(api, "synthesize", synthesize)
    outcome = run_study(_settings(videos, out), progress=False)
    assert outcome.reused == ["synth:person-only"]
    assert outcome.computed[0] == "synth:background-only"


def test_one_more_model_computes_only_that_model(videos, tmp_path, monkeypatch):
    out = tmp_path / "study"
    first = run_study(_settings(videos, out), progress=False)
    counting = _Counting(monkeypatch)
    second = run_study(_settings(videos, out, models=(A, B)), progress=False)
    rows = len(read_manifest(out / "study.csv").rows)
    b_run = second.run_ids[B.key]
    assert counting.runs == [b_run] * rows  # every prediction written is B's; none of A's again
    assert second.run_ids[A.key] == first.run_ids[A.key]
    assert second.computed == [f"evaluate:{B.key}"]
    assert f"evaluate:{A.key}" in second.reused
    assert [r.model for r in second.leaderboard.rows] == [
        "tiny_c3d_demo a [random]",
        "tiny_c3d_demo b [random]",
    ]
    metrics = json.loads(second.report["metrics"].read_text())
    assert metrics["leaderboard"]["rows"][1]["anchor"] == b_run
    assert (out / "report" / "leaderboard.json").exists()


@pytest.mark.slow
def test_explain_adds_the_background_share_for_explained_models_only(videos, tmp_path):
    ref = StudyModel("tiny_c3d_demo", "random:2", "ref", reference=True, explain=False)
    settings = _settings(
        videos, tmp_path / "study", models=(A, ref), explain=("gradcam",), explain_per_class=1
    )
    outcome = run_study(settings, progress=False)
    a, r = outcome.leaderboard.rows
    assert a.cell("background_score").n == 10 and r.cell("background_score") is None
    assert r.reference and outcome.computed[-1] == f"explain:{A.key}"


def test_each_explained_trained_card_gets_an_explained_random_copy_as_reference():
    from weirdkinetics.study import with_random_references

    trained = StudyModel("demo_c3d", "ckpt/shortcut.pt", "shortcut")
    control = StudyModel("demo_c3d", "ckpt/control.pt", "control")
    chance = StudyModel("tiny_c3d_demo", "random:0", "chance", reference=True, explain=False)
    models = with_random_references((trained, control, chance), seed=3)
    assert models[:3] == (trained, control, chance)
    (ref,) = models[3:]  # one per card, explained, a reference row
    assert (ref.name, ref.weights, ref.reference, ref.explain) == ("demo_c3d", "random:3", True, True)
    # a study that already explains a random copy of the card, or explains nothing, gets none
    assert with_random_references((trained, ref), seed=3) == (trained, ref)
    assert with_random_references((trained,), explain=False) == (trained,)
    assert with_random_references((A,)) == (A,)  # random weights already: nothing to compare against
    # the same random copy given unexplained (a --reference row) is explained, not added a second time
    unexplained = StudyModel("demo_c3d", "random:3", "ref", reference=True, explain=False)
    assert with_random_references((trained, unexplained), seed=3) == (
        trained,
        replace(unexplained, explain=True),
    )


def test_explain_subset_keeps_whole_recordings():
    rows = [
        SimpleNamespace(label=label, source_id=f"{label}{i}", video_id=f"{label}{i}_{split}")
        for label in ("jump", "wave")
        for i in range(3)
        for split in ("real", "weird")
    ]
    kept = explain_subset_rows(rows, 2)
    assert [r.video_id for r in kept] == [
        "jump0_real", "jump0_weird", "jump1_real", "jump1_weird",
        "wave0_real", "wave0_weird", "wave1_real", "wave1_weird",
    ]  # fmt: skip
    assert explain_subset_rows(rows, None) == rows


def test_checks_before_any_work(videos, tmp_path):
    with pytest.raises(UserError, match="given twice"):
        run_study(_settings(videos, tmp_path / "s", models=(A, A)), progress=False)
    with pytest.raises(UserError, match="engine='spark'"):
        run_study(_settings(videos, tmp_path / "s", engine="spark"), progress=False)
    with pytest.raises(UserError, match="synth_split='train'"):
        run_study(_settings(videos, tmp_path / "s", synth_split="train"), progress=False)
    with pytest.raises(UserError, match="Did you mean"):
        parse_variants("swap,persn-only")
    assert parse_variants("none") == () and parse_variants("swap, swap") == ("swap",)
    assert not (tmp_path / "s").exists()


def test_cli_study_runs_and_refuses_in_one_line(videos, tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["study", "--manifest", str(videos), "--model", "tiny_c3d_demo", "--weights", "random:0"]
    args += ["--out", str(out), "--variants", "background-only", "--segmenter", "true", "--no-progress"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "leaderboard" in printed and f"report: {out / 'report' / 'report.html'}" in printed
    assert main([*args[:-1], "--weights", "random:1"]) == 1
    assert "2 --weights for 1 --model" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([*args, "--engine", "spark"])
    assert exc.value.code == 2


def test_the_study_runs_explain_on_its_engine_too(videos, tmp_path, monkeypatch):
    """``--engine ray`` reaches every step, explain included (each step run locally here, as recorded)."""
    from weirdkinetics import api

    engines: dict[str, set] = {}

    def recording(name, real):
        def step(*args, engine="local", address=None, actors=None, **kwargs):
            engines.setdefault(name, set()).add((engine, address, actors))
            return real(*args, **kwargs)

        return step

    for name in ("synthesize", "evaluate", "explain"):
        monkeypatch.setattr(api, name, recording(name, getattr(api, name)))
    settings = _settings(
        videos, tmp_path / "s", variants=("person-only",), explain=("occlusion",), explain_per_class=1,
        engine="ray", address="auto", actors=2,
    )  # fmt: skip
    run_study(settings, progress=False)
    assert engines == {name: {("ray", "auto", 2)} for name in ("synthesize", "evaluate", "explain")}

"""The Ray engine gives what the local engine gives: the same statuses and scores, the same resumable store,
the same synthesised files. Ray runs locally here on 2 CPUs (``conftest.local_ray``, started once per session)."""

from __future__ import annotations

import csv
import logging
import sys

import av
import numpy as np
import pytest

from weirdkinetics import api
from weirdkinetics.cli import main
from weirdkinetics.errors import MissingExtraError, UserError
from weirdkinetics.manifest import write_manifest
from weirdkinetics.store import Store

# ``made_media`` roles: the kinds of file ../shared/data holds, made here
KINDS = ["clip", "clip_b", "rotated", "low_fps", "corrupt", "vp9", "truncated"]


@pytest.fixture
def awkward_manifest(tmp_path, made_media):
    """Clips and every kind of awkward file ../shared/data holds (made here), a missing file and junk bytes."""
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00garbage" * 500)
    paths = [made_media[k] for k in KINDS] + [tmp_path / "not_there.mp4", junk]
    rows = [
        {"path": str(p), "label": "arm wrestling", "split": "real" if k % 2 else "weird", "video_id": p.name}
        for k, p in enumerate(paths)
    ]
    return write_manifest(tmp_path / "m.csv", rows)


def stored(store_path) -> dict[tuple[str, str], object]:
    """(model, video_id) -> stored prediction, for every run in the store."""
    with Store(store_path) as s:
        return {
            (run.model + run.weights_digest, p.video_id): p
            for run in s.runs()
            for p in s.predictions(run.run_id, len(run.class_names))
        }


def assert_same_store(a, b) -> None:
    assert set(a) == set(b)
    for key in a:
        assert (a[key].status, a[key].reason, a[key].num_frames) == (
            b[key].status,
            b[key].reason,
            b[key].num_frames,
        )
        if b[key].clip_scores is None:
            assert a[key].clip_scores is None
        else:
            np.testing.assert_allclose(a[key].clip_scores, b[key].clip_scores, atol=1e-6, rtol=0)


TWO_MODELS = {"models": ["tiny_c3d", "tiny_c3d"], "weights": ["random:0", "random:1"]}


def test_ray_engine_gives_the_local_engines_statuses_and_scores(local_ray, awkward_manifest, tmp_path):
    ray_run = api.evaluate(
        awkward_manifest, out_dir=tmp_path / "ray", progress=False, engine="ray", **TWO_MODELS
    )
    local = api.evaluate(awkward_manifest, out_dir=tmp_path / "local", progress=False, **TWO_MODELS)
    assert ray_run.run_ids == local.run_ids
    a, b = stored(ray_run.store), stored(local.store)
    assert_same_store(a, b)
    statuses = {vid: p.status for (_, vid), p in b.items()}
    assert {"ok", "short", "partial", "missing", "decode_error"} <= set(statuses.values())
    assert ray_run.summary.counts == local.summary.counts and ray_run.summary.computed == 2 * 9
    # a second run schedules only what the local engine would retry (the missing file, for both models)
    again = api.evaluate(
        awkward_manifest, out_dir=tmp_path / "ray", progress=False, engine="ray", **TWO_MODELS
    )
    local_again = api.evaluate(awkward_manifest, out_dir=tmp_path / "local", progress=False, **TWO_MODELS)
    assert (again.summary.computed, again.summary.reused) == (2, 2 * 9 - 2)
    assert (local_again.summary.computed, local_again.summary.reused) == (2, 2 * 9 - 2)


def test_an_interrupted_ray_run_resumes_to_the_local_engines_store(
    local_ray, tmp_path, monkeypatch, made_media
):
    """Ctrl-C on the driver after two videos are written; the next run (Ray again) computes only the rest."""
    kinds = KINDS[:2] + KINDS[3:6]
    rows = [{"path": str(made_media[k]), "label": "arm wrestling", "split": "real"} for k in kinds]
    manifest = write_manifest(tmp_path / "m.csv", rows)
    put, writes = Store.put, []

    def interrupted(self, run_id, pred):
        if len(writes) == 2:
            raise KeyboardInterrupt
        writes.append(pred.video_id)
        put(self, run_id, pred)

    monkeypatch.setattr(Store, "put", interrupted)
    with pytest.raises(KeyboardInterrupt):
        api.evaluate(
            manifest, ["tiny_c3d"], tmp_path / "ray", weights=["random:3"], progress=False, engine="ray"
        )
    monkeypatch.setattr(Store, "put", put)
    assert len(stored(tmp_path / "ray" / "predictions.sqlite")) == 2
    resumed = api.evaluate(
        manifest, ["tiny_c3d"], tmp_path / "ray", weights=["random:3"], progress=False, engine="ray"
    )
    assert (resumed.summary.computed, resumed.summary.reused) == (3, 2)
    full = api.evaluate(manifest, ["tiny_c3d"], tmp_path / "local", weights=["random:3"], progress=False)
    assert_same_store(stored(resumed.store), stored(full.store))


def _frames(path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def test_synth_on_ray_writes_the_same_manifest_and_frames(local_ray, tmp_path, made_media):
    pytest.importorskip("cv2")
    from test_synth_generate import toy as make_toy  # the synth tests' two-class set with true masks

    manifest, _ = make_toy.__wrapped__(tmp_path, made_media)
    kw = {"segmenter": "true", "seed": 5, "progress": False}
    local = api.synthesize("swap", manifest, tmp_path / "local", **kw)
    on_ray = api.synthesize("swap", manifest, tmp_path / "ray", engine="ray", **kw)
    local_bytes = local.manifest.read_bytes()
    assert on_ray.manifest.read_bytes() == local_bytes
    with open(local.manifest, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    made = [r["path"] for r in rows if r["synth_status"] == "ok"]
    assert len(made) == 2 and {r["synth_status"] for r in rows} > {"ok"}
    for rel in made:
        np.testing.assert_array_equal(_frames(tmp_path / "ray" / rel), _frames(tmp_path / "local" / rel))
    assert on_ray.counts == local.counts


def test_engine_options_are_checked_before_any_work(tmp_path, capsys):
    m = write_manifest(tmp_path / "m.csv", [{"path": "v.mkv", "label": "jogging", "split": "real"}])
    with pytest.raises(UserError, match="not one of local, ray"):
        api.evaluate(m, ["tiny_c3d"], tmp_path / "o", weights=["random:0"], engine="spark")
    code = main(
        [
            "evaluate",
            "--model",
            "tiny_c3d",
            "--manifest",
            str(m),
            "--out",
            str(tmp_path / "o"),
            "--address",
            "auto",
        ]
    )
    assert code == 1 and "--address and --actors are for --engine ray" in capsys.readouterr().err
    with pytest.raises(UserError, match="decode_workers is for engine='local'"):
        api.evaluate(m, ["tiny_c3d"], tmp_path / "o", weights=["random:0"], engine="ray", decode_workers=2)


def test_a_user_error_on_a_worker_reaches_the_cli_as_its_own_line(local_ray):
    from weirdkinetics.engines.ray_engine import _remote_errors

    @local_ray.remote
    def refuse():
        raise UserError("--device cuda:3: only 1 CUDA GPU(s) here (cuda:0..cuda:0)")

    with pytest.raises(UserError) as caught, _remote_errors("evaluation"):
        local_ray.get(refuse.remote())
    assert str(caught.value) == "--device cuda:3: only 1 CUDA GPU(s) here (cuda:0..cuda:0)"

    @local_ray.remote
    def crash():
        raise ValueError("a bug")

    with (
        pytest.raises(RuntimeError, match="run the same command again to resume"),
        _remote_errors("evaluation"),
    ):
        local_ray.get(crash.remote())


def test_a_missing_ray_gives_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without ray answers to an import
    m = write_manifest(tmp_path / "m.csv", [{"path": "v.mkv", "label": "jogging", "split": "real"}])
    with pytest.raises(MissingExtraError, match=r"pip install 'weirdkinetics\[ray\]'"):
        api.evaluate(m, ["tiny_c3d"], tmp_path / "o", weights=["random:0"], progress=False, engine="ray")
    assert not (tmp_path / "o").exists()  # refused before any work
    with pytest.raises(MissingExtraError, match=r"pip install 'weirdkinetics\[ray\]'"):
        api.synthesize("person-only", m, tmp_path / "s", segmenter="true", progress=False, engine="ray")


def test_a_local_start_hides_only_rays_token_notice(local_ray, caplog):
    """Ray announces at each local start that it turned token authentication on; the engine hides that notice
    (and nothing else of Ray's) while it starts a local Ray. Fails if Ray moves the notice to another logger."""
    from ray._private.authentication import authentication_token_setup as setup

    from weirdkinetics.engines.ray_engine import TOKEN_NOTICE_LOGGER, _quiet_logger

    caplog.set_level(logging.WARNING)
    with _quiet_logger(TOKEN_NOTICE_LOGGER):
        setup._warn_token_auth_enabled()
        logging.getLogger("ray").warning("another of Ray's warnings")
    assert [r.getMessage() for r in caplog.records] == ["another of Ray's warnings"]
    setup._warn_token_auth_enabled()  # outside: as Ray has it
    assert "Token authentication is enabled" in caplog.records[-1].getMessage()


def test_ray_datas_retry_defaults_are_the_ones_the_engine_relies_on(local_ray):
    """The module docstring's claim, on this Ray: tasks retried and actors restarted without limit. The engine
    leaves these to Ray Data (setting them through ``**ray_remote_args`` is deprecated)."""
    from ray.data._internal.execution.operators.actor_pool_map_operator import ActorPoolMapOperator
    from ray.data._internal.remote_fn import cached_remote_fn

    actor = ActorPoolMapOperator._apply_default_remote_args({}, local_ray.data.DataContext.get_current())
    assert (actor["max_restarts"], actor["max_task_retries"]) == (-1, -1)
    task = cached_remote_fn(_frames)
    assert task._default_options["max_retries"] == -1

"""What the Ray engine checks of a cluster (issues 20 and 22): an address where nothing answers is refused in
seconds with one line, ``--actors`` the cluster cannot place is refused before anything starts, a joined
cluster is named, a stalled run says what it waits for, and actors that die before they start on a cluster
get the token advice instead of "run with --engine local"."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from weirdkinetics import api
from weirdkinetics.engines import ray_cluster
from weirdkinetics.engines.ray_cluster import StallWatch, check_placement, joined_line
from weirdkinetics.errors import UserError
from weirdkinetics.manifest import write_manifest

ROOT = Path(__file__).resolve().parents[1]


class FakeRay:
    """The part of the ``ray`` module the checks read: a cluster's total and free resources."""

    def __init__(self, total: dict[str, float], free: dict[str, float] | None = None):
        self.total, self.free = total, free if free is not None else total

    def cluster_resources(self) -> dict[str, float]:
        return dict(self.total)

    def available_resources(self) -> dict[str, float]:
        return dict(self.free)


@pytest.fixture
def one_row(tmp_path, made_media):
    rows = [{"path": str(made_media["clip"]), "label": "arm wrestling", "split": "real", "video_id": "v0"}]
    return write_manifest(tmp_path / "m.csv", rows)


@pytest.mark.parametrize("how", ["--address", "RAY_ADDRESS"])
def test_an_address_where_nothing_answers_is_refused_in_one_line(how, one_row, tmp_path):
    # port 1 on this machine: nothing listens there, and Ray's own ray.init retried it for minutes
    argv = [sys.executable, "-m", "weirdkinetics", "evaluate", "--model", "tiny_c3d", "--weights", "random:0"]
    argv += ["--manifest", str(one_row), "--out", str(tmp_path / "out"), "--engine", "ray", "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    if how == "--address":
        argv += ["--address", "127.0.0.1:1"]
    else:
        env["RAY_ADDRESS"] = "127.0.0.1:1"
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    err = done.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert "no Ray cluster answers at 127.0.0.1:1" in err
    assert err.startswith(
        "error: --address 127.0.0.1:1" if how == "--address" else "error: RAY_ADDRESS=127.0.0.1:1"
    )
    assert ("unset RAY_ADDRESS" in err) == (how == "RAY_ADDRESS")


def test_an_address_without_a_port_number_is_refused():
    with pytest.raises(UserError, match="give HOST:PORT"):
        ray_cluster.check_reachable("head:http")


def test_actors_the_cluster_cannot_place_are_refused_before_anything_starts():
    two_cpus = FakeRay({"CPU": 2.0})
    check_placement(two_cpus, "evaluate", "cpu", 1, decodes=True)  # one scores, one decodes
    check_placement(two_cpus, "synth", "cpu", 2, decodes=False)
    with pytest.raises(UserError) as refused:  # no CPU left for decoding: Ray Data would wait forever
        check_placement(two_cpus, "evaluate", "cpu", 2, decodes=True)
    line = str(refused.value)
    assert line.startswith("actors=2: evaluate") and "has 2" in line and "actors=1 or fewer" in line
    with pytest.raises(UserError, match="actors=3: explain .* needs 3 CPUs"):
        check_placement(two_cpus, "explain", "cpu", 3, decodes=False)
    with pytest.raises(UserError, match="use engine='local'"):
        check_placement(FakeRay({"CPU": 1.0}), "evaluate", "cpu", 1, decodes=True)
    with pytest.raises(UserError, match="each actor takes a GPU and the Ray cluster has 1"):
        check_placement(FakeRay({"CPU": 16.0, "GPU": 1.0}), "evaluate", "cuda", 2, decodes=True)


def test_evaluate_with_more_actors_than_the_cluster_places_is_refused(local_ray, one_row, tmp_path):
    # the local Ray has 2 CPUs: two model actors leave none for decoding (this hung at 0/N before)
    with pytest.raises(UserError, match="actors=2: evaluate on this Ray cluster needs 3 CPUs"):
        api.evaluate(
            one_row,
            ["tiny_c3d"],
            tmp_path / "o",
            weights=["random:0"],
            progress=False,
            engine="ray",
            actors=2,
        )


def test_a_stalled_run_says_what_it_waits_for_once_per_stall():
    ray = FakeRay({"CPU": 2.0, "GPU": 0.0}, free={"CPU": 0.0})
    stream = io.StringIO()
    logger = logging.getLogger("ray.data")
    level = logger.level
    logger.setLevel(logging.ERROR)  # as the engine sets it while all goes well
    try:
        with StallWatch(ray, "evaluate", stall_s=0.05, stream=stream) as watch:
            deadline = time.monotonic() + 60
            while not stream.getvalue() and time.monotonic() < deadline:
                time.sleep(0.05)
            first = stream.getvalue()
            time.sleep(0.3)  # the same stall is not reported again
            assert stream.getvalue() == first
            watch.progressed()  # a new stall after progress is
            while stream.getvalue() == first and time.monotonic() < deadline:
                time.sleep(0.05)
        lines = stream.getvalue().splitlines()
        assert len(lines) == 2
        assert lines[0].startswith("evaluate on Ray: no video finished for")
        assert "0 of 2 CPUs free" in lines[0] and "Ray's own warnings follow" in lines[0]
        assert logger.level == logging.WARNING  # Ray Data's warnings now reach the terminal
    finally:
        logger.setLevel(level)


def test_a_joined_cluster_is_named_with_its_nodes_cpus_and_gpus(local_ray, capsys):
    from weirdkinetics.engines.ray_engine import ray_session

    line = joined_line(local_ray, "auto")
    assert line.startswith("joined the Ray cluster at ") and line.endswith(
        "(asked for auto): 1 node, 2 CPUs, 0 GPUs"
    )
    with ray_session("auto"):
        pass
    assert capsys.readouterr().err.strip() == line
    with ray_session(None):  # a Ray this process started (or a local one) is not announced
        pass
    assert capsys.readouterr().err == ""


def test_actors_that_die_before_they_start_on_a_cluster_get_the_token_advice(monkeypatch):
    ray = pytest.importorskip("ray")
    from weirdkinetics.engines.ray_engine import _remote_errors

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    with pytest.raises(UserError) as refused, _remote_errors("evaluation", "head:6379"):
        raise ray.exceptions.ActorDiedError()  # a system-level death: the worker never came up
    line = str(refused.value)
    assert line.startswith("address='head:6379': Ray's actors died before they started")
    assert "RAY_AUTH_MODE=token" in line and ".ray/auth_token" in line and "--engine local" not in line
    # a local Ray this process started cannot disagree on its token: a crash there stays a crash
    with pytest.raises(RuntimeError, match="--engine local"), _remote_errors("evaluation", None):
        raise ray.exceptions.ActorDiedError()


def test_a_cluster_that_refuses_the_driver_is_not_called_absent(monkeypatch):
    """Measured with a head started by ``ray start --head`` (token authentication on): a driver without
    RAY_AUTH_MODE=token gets Ray's plain ConnectionError after its InvalidAuthToken retries. Something took the
    TCP connection, so the line names the token (and how to pass it), not a missing cluster."""
    from weirdkinetics.engines.ray_cluster import refused_connection

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    line = refused_connection(
        "10.0.0.5:6379", ConnectionError("Failed to connect to Ray cluster at 10.0.0.5:6379")
    )
    assert "10.0.0.5:6379" in line and "something answers there" in line and "\n" not in line
    assert "RAY_AUTH_MODE=token" in line and "RAY_AUTH_MODE=unset" in line and "another Ray version" in line
    auto = refused_connection("auto", ConnectionError("Could not find any running Ray instance"))
    assert "no Ray cluster answers there" in auto and "token" not in auto

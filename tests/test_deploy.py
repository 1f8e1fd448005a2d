"""The cluster recipes in deploy/ parse, hold what Ray's launcher and KubeRay require, install weirdkinetics with
its ray extra, and run commands this CLI accepts (issue 20.7). No cloud is reached: ``ray up`` and KubeRay
themselves are not run here."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml  # the test extra (pyyaml): the recipes are checked whether or not Ray is installed

from weirdkinetics.cli import build_parser

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _load(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((DEPLOY / name).read_text()) if doc is not None]


def _extras(text: str) -> set[str]:
    """Extras named in ``weirdkinetics-*.whl[a,b]`` installs."""
    return {
        e.strip()
        for found in re.findall(r"weirdkinetics-\*\.whl[^\[]*\[([^\]]+)\]", text)
        for e in found.split(",")
    }


def _known_extras() -> set[str]:
    return set(tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"])


def test_ray_up_config_passes_rays_own_schema_and_installs_weirdkinetics_with_ray():
    (config,) = _load("ray-cluster.yaml")
    for key in ("cluster_name", "provider", "available_node_types", "head_node_type", "setup_commands"):
        assert key in config, key
    types = config["available_node_types"]
    assert config["head_node_type"] in types
    assert types[config["head_node_type"]]["resources"] == {"CPU": 0}  # the driver's node takes no work
    workers = {name: t for name, t in types.items() if name != config["head_node_type"]}
    assert any("gpu" in name for name in workers) and any("cpu" in name for name in workers)
    for node in workers.values():
        assert {"min_workers", "max_workers", "node_config"} <= set(node)
    setup = "\n".join(config["setup_commands"])
    extras = _extras(setup)
    assert "ray" in extras and extras <= _known_extras()
    assert "./dist" in config["file_mounts"].values()  # the wheel every node installs
    assert any("ray start --head" in c for c in config["head_start_ray_commands"])
    assert any("$RAY_HEAD_IP" in c for c in config["worker_start_ray_commands"])
    util = pytest.importorskip("ray.autoscaler._private.util")
    util.validate_config(util.prepare_config(config))  # Ray's own JSON schema for cluster configs


def _pod_spec(group: dict) -> dict:
    spec = group["template"]["spec"]
    assert spec["containers"] and all(c["image"] for c in spec["containers"])
    return spec


def _check_cluster_spec(spec: dict) -> None:
    """What KubeRay's RayCluster spec needs, and this project's layout: a head that takes no work (it runs the
    driver, which writes the store), a GPU group and the same image everywhere."""
    assert spec["rayVersion"]
    head = spec["headGroupSpec"]
    assert head["rayStartParams"]["num-cpus"] == "0"  # rayStartParams values are strings for KubeRay
    images = {c["image"] for c in _pod_spec(head)["containers"]}
    gpu_groups = 0
    for group in spec["workerGroupSpecs"]:
        assert {"groupName", "replicas", "minReplicas", "maxReplicas", "rayStartParams", "template"} <= set(
            group
        )
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
        assert all(isinstance(v, str) for v in group["rayStartParams"].values())
        containers = _pod_spec(group)["containers"]
        images |= {c["image"] for c in containers}
        gpu_groups += any("nvidia.com/gpu" in c["resources"]["limits"] for c in containers)
    assert gpu_groups >= 1 and len(images) == 1


def test_kuberay_raycluster_has_a_head_without_work_and_gpu_workers():
    docs = _load("kuberay-raycluster.yaml")
    (cluster,) = [d for d in docs if d["kind"] == "RayCluster"]
    assert cluster["apiVersion"] == "ray.io/v1"
    _check_cluster_spec(cluster["spec"])
    assert {"cpu", "gpu"} <= {g["groupName"] for g in cluster["spec"]["workerGroupSpecs"]}
    claims = {d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"}
    head_volumes = _pod_spec(cluster["spec"]["headGroupSpec"])["volumes"]
    assert {
        v["persistentVolumeClaim"]["claimName"] for v in head_volumes if "persistentVolumeClaim" in v
    } <= claims


def test_kuberay_rayjob_runs_an_evaluate_this_cli_accepts():
    (job,) = _load("kuberay-rayjob.yaml")
    assert (job["apiVersion"], job["kind"]) == ("ray.io/v1", "RayJob")
    assert job["spec"]["shutdownAfterJobFinishes"] is True
    _check_cluster_spec(job["spec"]["rayClusterSpec"])
    command = job["spec"]["entrypoint"].split("&&")[-1]
    argv = shlex.split(command)
    assert argv[0] == "weirdkinetics"
    args = build_parser().parse_args(argv[1:])  # exits (fails the test) on an option the CLI lacks
    assert args.command == "evaluate"
    assert (args.engine, args.address, args.device) == ("ray", "auto", "cuda")
    out = args.out
    head = _pod_spec(job["spec"]["rayClusterSpec"]["headGroupSpec"])
    mounts = [m["mountPath"] for c in head["containers"] for m in c.get("volumeMounts", [])]
    assert any(str(out).startswith(m) for m in mounts)  # the store lands on the head's persistent volume


def test_the_image_installs_the_wheel_with_the_ray_extra():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM rayproject/ray:[\w.-]+-gpu$", dockerfile, re.MULTILINE)
    extras = _extras(dockerfile)
    assert "ray" in extras and extras <= _known_extras()
    # one Ray version everywhere: the image's, the RayCluster's and the RayJob's
    version = re.search(r"rayproject/ray:([\d.]+)", dockerfile).group(1)
    assert _load("kuberay-rayjob.yaml")[0]["spec"]["rayClusterSpec"]["rayVersion"] == version
    assert _load("kuberay-raycluster.yaml")[0]["spec"]["rayVersion"] == version

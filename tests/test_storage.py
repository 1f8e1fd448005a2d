"""Videos in object storage (issue 20.1): manifest rows that are URIs are decoded through fsspec, keep an
identity for reuse, end ``missing`` with the URI when the object is not there, and stop the run with one line
when storage refuses the credentials. S3 is a moto server started here on 127.0.0.1 (no real cloud)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import frame_ids

from weirdkinetics import api, storage
from weirdkinetics.decode import probe, read_video
from weirdkinetics.errors import UserError
from weirdkinetics.manifest import read_manifest, write_manifest
from weirdkinetics.parquet_store import open_store
from weirdkinetics.store import Store, file_identity

BUCKET = "k400-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3():
    """A moto S3 server on 127.0.0.1 (a free port) with one bucket; the environment names it and its fake
    credentials as a user's would (``AWS_ENDPOINT_URL``), for this process and the ones it starts."""
    moto_server = pytest.importorskip("moto.server")
    s3fs = pytest.importorskip("s3fs")
    boto3 = pytest.importorskip("boto3")
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    s3fs.S3FileSystem.clear_instance_cache()  # no filesystem built for another endpoint is reused
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    yield client, env
    server.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    s3fs.S3FileSystem.clear_instance_cache()


def _upload(client, path: Path, key: str) -> str:
    client.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
    return f"s3://{BUCKET}/{key}"


def test_uris_are_told_from_paths():
    assert storage.is_uri("s3://bucket/k400/val/abc.mp4") and storage.is_uri("https://host/a.mp4")
    assert not storage.is_uri("C:/videos/a.mp4") and not storage.is_uri("videos/a.mp4")
    assert not storage.is_uri(Path("/videos/a.mp4"))
    assert storage.local_path("file:///data/my%20clip.mp4") == Path("/data/my clip.mp4")
    assert storage.local_path("s3://b/x.mp4") is None


def test_manifest_keeps_uris_and_makes_file_uris_local(tmp_path, lossless_video):
    local, _ = lossless_video(10)
    m = tmp_path / "m.csv"
    m.write_text(
        f"path,label,split\ns3://bucket/k400/val/abc.mp4,jogging,real\nfile://{local},jogging,real\n",
        encoding="utf-8",
    )
    rows = read_manifest(m).rows
    assert rows[0].path == "s3://bucket/k400/val/abc.mp4"  # not the local path .../s3:/bucket/...
    assert rows[1].path == local.resolve()
    assert list(read_manifest(m).input_files().values()) == [m, local.resolve()]


def test_decoding_from_s3_gives_the_local_frames(s3, lossless_video):
    client, _ = s3
    path, frames = lossless_video(40, name="clip.mkv")
    uri = _upload(client, path, "val/clip.mkv")
    info = probe(uri)
    assert info.num_frames == 40 and info.path == uri
    video = read_video(uri, indices=np.array([0, 7, 39]))
    assert video.status == "ok"
    np.testing.assert_array_equal(frame_ids(video.frames), [0, 7, 39])
    np.testing.assert_array_equal(video.frames, frames[[0, 7, 39]])
    size, token = file_identity(uri)
    assert size == path.stat().st_size and token > 0


def test_memory_uris_decode_too(lossless_video):
    import fsspec

    path, frames = lossless_video(12, name="m.mkv")
    fs = fsspec.filesystem("memory")
    fs.pipe("/wk-test/m.mkv", path.read_bytes())
    try:
        video = read_video("memory://wk-test/m.mkv")
        np.testing.assert_array_equal(video.frames, frames)
        assert read_video("memory://wk-test/absent.mkv").status == "missing"
    finally:
        fs.rm("/wk-test", recursive=True)


def _two_videos(tmp_path, lossless_video):
    a, _ = lossless_video(80, name="a.mkv")
    b, _ = lossless_video(95, name="b.mkv", h=32, w=24)
    return a, b


def test_evaluate_on_s3_matches_local_files_and_resumes(s3, tmp_path, lossless_video):
    client, _ = s3
    a, b = _two_videos(tmp_path, lossless_video)
    uris = [_upload(client, a, "val/a.mkv"), _upload(client, b, "val/b.mkv")]
    absent = f"s3://{BUCKET}/val/absent.mkv"
    rows = [
        {"path": p, "label": "jogging", "split": "real", "video_id": Path(p).name} for p in (*uris, absent)
    ]
    remote = write_manifest(tmp_path / "remote.csv", rows)
    local = write_manifest(
        tmp_path / "local.csv",
        [{"path": str(p), "label": "jogging", "split": "real", "video_id": p.name} for p in (a, b)],
    )
    kw = dict(weights=["random:0"], progress=False)
    out = api.evaluate(remote, ["tiny_c3d"], tmp_path / "r", **kw)
    ref = api.evaluate(local, ["tiny_c3d"], tmp_path / "l", **kw)
    got, want = _stored(out.store), _stored(ref.store)
    assert got["absent.mkv"].status == "missing" and absent in got["absent.mkv"].reason
    for name in ("a.mkv", "b.mkv"):
        assert got[name].status == "ok" and got[name].path.startswith("s3://")
        np.testing.assert_array_equal(got[name].scores, want[name].scores)
    again = api.evaluate(remote, ["tiny_c3d"], tmp_path / "r", **kw)
    assert (again.summary.computed, again.summary.reused) == (
        1,
        2,
    )  # only the missing object is looked at again
    client.put_object(Bucket=BUCKET, Key="val/a.mkv", Body=b.read_bytes())  # a new object under the same key
    changed = api.evaluate(remote, ["tiny_c3d"], tmp_path / "r", **kw)
    assert changed.summary.reused == 1
    np.testing.assert_array_equal(_stored(changed.store)["a.mkv"].scores, want["b.mkv"].scores)


def _stored(store_path):
    with open_store(store_path, read_only=True) as s:
        (run,) = s.runs()
        return {p.video_id: p for p in s.predictions(run.run_id, len(run.class_names))}


def _denied_filesystem():
    """A filesystem standing for a bucket whose credentials are refused (s3fs and gcsfs raise
    PermissionError), registered as ``wkdenied://``."""
    import fsspec
    from fsspec.spec import AbstractFileSystem

    class Denied(AbstractFileSystem):
        protocol = "wkdenied"

        def info(self, path, **kwargs):
            raise PermissionError("InvalidAccessKeyId: The AWS Access Key Id you provided does not exist")

        def _open(self, path, mode="rb", **kwargs):
            return self.info(path)

    class Unreachable(AbstractFileSystem):
        protocol = "wkunreachable"

        def info(self, path, **kwargs):
            raise ConnectionError("Could not connect to the endpoint URL: http://127.0.0.1:9/")

    fsspec.register_implementation("wkdenied", Denied, clobber=True)
    fsspec.register_implementation("wkunreachable", Unreachable, clobber=True)


def test_refused_credentials_stop_the_run_with_one_line(tmp_path):
    _denied_filesystem()
    with pytest.raises(storage.StorageAccessError, match="access denied") as err:
        storage.object_identity("wkdenied://bucket/a.mp4")
    with pytest.raises(storage.StorageAccessError):
        storage.open_object("wkdenied://bucket/a.mp4")
    with pytest.raises(storage.StorageAccessError, match="cannot reach the storage .*AWS_ENDPOINT_URL"):
        storage.object_identity("wkunreachable://bucket/a.mp4")  # stops the run: no row stored as failed
    assert "\n" not in str(err.value) and "credentials" in str(err.value)
    s3_line = str(storage.access_error("s3://b/a.mp4", PermissionError("denied")))
    assert "AWS_ACCESS_KEY_ID" in s3_line and "AWS_ENDPOINT_URL" in s3_line
    m = write_manifest(
        tmp_path / "m.csv", [{"path": "wkdenied://bucket/a.mp4", "label": "jogging", "split": "r"}]
    )
    with pytest.raises(UserError, match="access denied"):
        api.evaluate(m, ["tiny_c3d"], tmp_path / "o", weights=["random:0"], progress=False)
    assert not (tmp_path / "o" / "predictions.sqlite").exists() or _stored_count(tmp_path / "o") == 0


def _stored_count(out: Path) -> int:
    with Store(out / "predictions.sqlite", read_only=True) as s:
        return sum(len(s.statuses(r.run_id)) for r in s.runs())


def test_an_unknown_protocol_is_one_line():
    with pytest.raises(UserError, match="no 'nosuchproto://' filesystem|fsspec knows no"):
        storage.object_identity("nosuchproto://bucket/a.mp4")


@pytest.mark.slow  # starts its own Ray: about 4 minutes on a loaded 2-core machine
def test_ray_engine_decodes_uris_with_its_own_environment(s3, tmp_path, lossless_video):
    """The Ray engine's decode tasks open the URIs themselves, with credentials from the environment (a fresh
    local Ray in a child process, so its workers start with this environment, as a cluster's nodes would)."""
    pytest.importorskip("ray.data")
    client, env = s3
    a, _ = _two_videos(tmp_path, lossless_video)
    uri = _upload(client, a, "ray/a.mkv")
    m = write_manifest(
        tmp_path / "m.csv", [{"path": uri, "label": "jogging", "split": "real", "video_id": "a"}]
    )
    local = write_manifest(
        tmp_path / "l.csv", [{"path": str(a), "label": "jogging", "split": "real", "video_id": "a"}]
    )
    ref = api.evaluate(local, ["tiny_c3d"], tmp_path / "l", weights=["random:0"], progress=False)
    cmd = [sys.executable, "-m", "weirdkinetics", "evaluate", "--manifest", str(m), "--model", "tiny_c3d"]
    cmd += ["--weights", "random:0", "--out", str(tmp_path / "ray"), "--engine", "ray", "--no-progress"]
    cmd += ["--store", str(tmp_path / "ray" / "results.parquet")]  # the cluster's results as Parquet too
    done = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    got = _stored(tmp_path / "ray" / "results.parquet")["a"]
    assert got.status == "ok" and got.path == uri
    # another process (other thread counts): the same numbers up to float32 summation order
    np.testing.assert_allclose(got.scores, _stored(ref.store)["a"].scores, rtol=1e-5, atol=1e-9)


def test_the_mask_cache_keys_an_object_by_its_bytes(tmp_path):
    """synth and explain cache person masks by the video's sha256: an object's bytes are streamed for it, so
    the same video as a local file and as an object shares one entry."""
    import fsspec

    from weirdkinetics.synth.segment import MaskCache

    class Half:
        name, settings = "half", {}

        def __init__(self):
            self.calls = 0

        def masks(self, frames):
            self.calls += 1
            return np.full(frames.shape[:3], 0.5, np.float32)

    local = tmp_path / "a.mp4"
    local.write_bytes(b"pretend video bytes")
    fs = fsspec.filesystem("memory")
    fs.pipe("/wk-cache/a.mp4", local.read_bytes())
    try:
        frames, seg = np.zeros((2, 4, 6, 3), np.uint8), Half()
        cache = MaskCache(tmp_path / "cache")
        assert not cache.masks("memory://wk-cache/a.mp4", frames, seg)[1]
        assert cache.masks(local, frames, seg)[1] and seg.calls == 1
    finally:
        fs.rm("/wk-cache", recursive=True)

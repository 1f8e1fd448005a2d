"""``explain --engine ray`` gives what ``--engine local`` gives: the same store rows (statuses, reasons, numbers,
maps), the same resume after an interruption, and a worker's ``UserError`` as the CLI's one line. Ray runs
locally on 2 CPUs, started once for this module (the Ray engine tests' fixture)."""

from __future__ import annotations

import numpy as np
import pytest

from weirdkinetics import api
from weirdkinetics.attribution import Explanation
from weirdkinetics.decode import probe
from weirdkinetics.encode import write_video
from weirdkinetics.errors import UserError
from weirdkinetics.manifest import write_manifest
from weirdkinetics.store import Store


@pytest.fixture
def explain_rows(tmp_path, made_media):
    """Two lossless videos with true masks (a person box; an empty mask: excluded), an awkward clip (a corrupt
    packet: decodes, with a note) with a box mask, a missing file, junk bytes and a still image."""
    from PIL import Image

    rng = np.random.default_rng(0)
    rows = []

    def add(name: str, path, masks: np.ndarray | None) -> None:
        if masks is not None:
            np.savez_compressed(tmp_path / f"{name}.mask.npz", masks=masks)
        rows.append(
            {"path": str(path), "label": "abseiling", "split": "real", "video_id": name}
            | ({"mask_path": f"{name}.mask.npz"} if masks is not None else {})
        )

    for name in ("person", "empty"):
        write_video(
            tmp_path / f"{name}.mkv", rng.integers(0, 255, (72, 48, 64, 3), np.uint8), 30, lossless=True
        )
        masks = np.zeros((72, 48, 64), bool)
        if name == "person":
            masks[:, 10:40, 20:40] = True
        add(name, tmp_path / f"{name}.mkv", masks)
    real = made_media["corrupt"]
    info = probe(real)
    box = np.zeros((info.num_frames, info.height, info.width), bool)
    box[:, info.height // 4 : 3 * info.height // 4, info.width // 3 : 2 * info.width // 3] = True
    add("real", real, box)
    add("gone", tmp_path / "gone.mkv", np.zeros((4, 8, 8), bool))
    (tmp_path / "junk.mp4").write_bytes(b"\x00garbage" * 500)
    add("junk", tmp_path / "junk.mp4", None)
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), np.uint8)).save(tmp_path / "photo.png")
    add("photo", tmp_path / "photo.png", None)
    return write_manifest(tmp_path / "m.csv", rows)


KW = {"weights": "random:0", "segmenter": "true", "progress": False}


@pytest.fixture
def one_thread():
    """torch on one thread here, as in each 1-CPU actor: the thread count changes float rounding, and random
    weights move scores so little (drops of about 1e-5) that an occlusion share, a ratio of two drops, shows
    that rounding above 1e-6. With the same threads both engines compute the same numbers."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def stored(store_path) -> dict[tuple[str, str], object]:
    """(video_id, method) -> stored attribution row, for every run in the store."""
    with Store(store_path) as s:
        return {(a.video_id, a.method): a for run in s.runs() for a in s.attributions(run.run_id)}


def assert_close(a, b, path: str = "") -> None:
    """Equal JSON numbers (floats within 1e-6), recursively."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), path
        for k in a:
            assert_close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for k, (x, y) in enumerate(zip(a, b)):
            assert_close(x, y, f"{path}[{k}]")
    elif isinstance(a, float) and not isinstance(b, str):
        assert b == pytest.approx(a, abs=1e-6, rel=0), path
    else:
        assert a == b, path


def assert_same_rows(a: dict, b: dict) -> None:
    assert set(a) == set(b)
    for key, x in a.items():
        y = b[key]
        assert (x.status, x.reason, x.settings_key, x.identity) == (
            y.status,
            y.reason,
            y.settings_key,
            y.identity,
        )
        assert_close(x.numbers, y.numbers, str(key))
        assert (x.saliency is None, x.person is None) == (y.saliency is None, y.person is None), key
        if y.saliency is not None:
            # maps are stored as float16: equal up to its rounding (one step is 2**-11 of the value)
            np.testing.assert_allclose(x.saliency, y.saliency, rtol=2**-10, atol=1e-6)
            np.testing.assert_array_equal(x.person, y.person)


def test_explain_on_ray_stores_the_local_engines_rows(local_ray, explain_rows, tmp_path, one_thread):
    on_ray = api.explain(explain_rows, "tiny_c3d", tmp_path / "ray", engine="ray", **KW)
    local = api.explain(explain_rows, "tiny_c3d", tmp_path / "local", **KW)
    assert on_ray.run_id == local.run_id
    a, b = stored(on_ray.store), stored(local.store)
    assert_same_rows(a, b)
    statuses = {vid: row.status for (vid, _), row in b.items()}
    assert statuses == {
        "person": "ok",
        "empty": "excluded",
        "real": "partial",
        "gone": "missing",
        "junk": "decode_error",
        "photo": "not_video",
    }
    assert b[("real", "gradcam")].saliency is not None and b[("person", "occlusion")].person.any()
    assert on_ray.summary.counts == local.summary.counts and on_ray.summary.computed == 2 * 6
    # a second run schedules only what the local engine would retry (the missing file, for both methods)
    again = api.explain(explain_rows, "tiny_c3d", tmp_path / "ray", engine="ray", **KW)
    assert (again.summary.computed, again.summary.reused) == (2, 2 * 6 - 2)


def test_an_interrupted_explain_on_ray_resumes_to_the_local_engines_store(
    local_ray,
    explain_rows,
    tmp_path,
    monkeypatch,
    one_thread,
):
    """Ctrl-C on the driver after one row is written; the next run (Ray again) computes only the rest."""
    write, written = Explanation.write, []

    def interrupted(self, i, result, seconds):
        if written:
            raise KeyboardInterrupt
        written.append(i)
        write(self, i, result, seconds)

    monkeypatch.setattr(Explanation, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        api.explain(explain_rows, "tiny_c3d", tmp_path / "ray", methods=["occlusion"], engine="ray", **KW)
    monkeypatch.setattr(Explanation, "write", write)
    assert len(stored(tmp_path / "ray" / "predictions.sqlite")) == 1
    resumed = api.explain(
        explain_rows, "tiny_c3d", tmp_path / "ray", methods=["occlusion"], engine="ray", **KW
    )
    assert (resumed.summary.computed, resumed.summary.reused) == (5, 1)
    full = api.explain(explain_rows, "tiny_c3d", tmp_path / "local", methods=["occlusion"], **KW)
    assert_same_rows(stored(resumed.store), stored(full.store))


def test_an_explain_user_error_on_a_worker_reaches_the_cli_as_one_line(
    local_ray,
    explain_rows,
    tmp_path,
    capsys,
    monkeypatch,
):
    """A checkpoint the driver has but a worker lacks: the actor's own error is the CLI's one line."""
    from weirdkinetics import attribution
    from weirdkinetics.cli import main

    line = (
        "--segmenter-weights /data/deeplab.pth: no such file on this node; put it on the shared file system"
    )

    class LackingSetup(attribution.ExplainSetup):  # defined here: Ray ships it to the actors by value
        def build(self, device=None, segmenter=None):
            raise UserError(line)

    monkeypatch.setattr(attribution, "ExplainSetup", LackingSetup)
    argv = ["explain", "--model", "tiny_c3d", "--weights", "random:0", "--manifest", str(explain_rows)]
    argv += ["--out", str(tmp_path / "o"), "--segmenter", "true", "--engine", "ray", "--no-progress"]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    # on a busy machine the stall watcher may say first that Ray has not placed the work yet (its own line)
    stalls = [x for x in err[:-1] if x.startswith("explain on Ray: no video finished for")]
    assert err[-1:] == [f"error: {line}"] and len(stalls) == len(err) - 1
    assert stored(tmp_path / "o" / "predictions.sqlite") == {}  # nothing written, the run is resumable


def test_explain_refuses_ray_options_without_ray_before_any_work(explain_rows, tmp_path, capsys):
    from weirdkinetics.cli import main

    argv = ["explain", "--model", "tiny_c3d", "--weights", "random:0", "--manifest", str(explain_rows)]
    argv += ["--out", str(tmp_path / "o"), "--segmenter", "true", "--actors", "2"]
    assert main(argv) == 1
    assert "--address and --actors are for --engine ray" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()

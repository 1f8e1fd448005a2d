"""How models run: precision as run identity, exact fp32 across layouts and batches, bf16 agreement,
decoding in worker processes, and clear errors for devices that are not there."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from weirdkinetics import api
from weirdkinetics.devices import resolve_device
from weirdkinetics.encode import write_video
from weirdkinetics.errors import UserError
from weirdkinetics.inference import Runner, Runtime, check_runtime
from weirdkinetics.manifest import write_manifest
from weirdkinetics.models import get_card
from weirdkinetics.models.loading import load_model
from weirdkinetics.predict import run_id_for
from weirdkinetics.sampling import spec_for
from weirdkinetics.store import Store


def moving_frames(n: int, seed: int, h: int = 48, w: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    return np.stack([np.roll(base, 2 * i, axis=1) for i in range(n)])


@pytest.fixture
def manifest(tmp_path):
    rows = []
    for i in range(5):
        write_video(tmp_path / f"v{i}.mkv", moving_frames(70 + 9 * i, i), 30, lossless=True)
        rows.append({"path": f"v{i}.mkv", "label": "jogging", "split": "real"})
    return write_manifest(tmp_path / "m.csv", rows)


def scores(store_path) -> dict:
    with Store(store_path) as s:
        out = {}
        for run in s.runs():
            for p in s.predictions(run.run_id, len(run.class_names)):
                out[(run.run_id, p.video_id)] = (p.status, p.scores)
        return out


def test_precision_is_part_of_the_run_identity_and_fp32_ids_are_unchanged():
    model = load_model(get_card("tiny_c3d"), "random:0")
    spec = spec_for(model.card)
    assert run_id_for(model, spec) == run_id_for(model, spec, Runtime(precision="fp32", channels_last=True))
    assert run_id_for(model, spec, Runtime(precision="bf16")) != run_id_for(model, spec)


@pytest.mark.parametrize("name", ["tiny_c3d", "i3d_r50"])
def test_channels_last_and_batching_do_not_change_fp32_logits(name):
    card = get_card(name)
    model = load_model(card, "random:0")
    torch.manual_seed(0)
    x = torch.randn(2, 3, card.frames, card.crop, card.crop)
    plain = Runner(model, Runtime(channels_last=False)).logits(x)
    fast = Runner(model, Runtime(channels_last=True)).logits(x)
    one_by_one = torch.cat([Runner(model, Runtime()).logits(x[i : i + 1]) for i in range(len(x))])
    torch.testing.assert_close(fast, plain, rtol=0, atol=1e-4)
    torch.testing.assert_close(one_by_one, plain, rtol=0, atol=1e-4)


def test_bf16_is_a_separate_run_that_agrees_with_fp32(manifest, tmp_path):
    out = tmp_path / "out"
    fp32 = api.evaluate(manifest, ["tiny_c3d"], out, weights=["random:2"], progress=False)
    bf16 = api.evaluate(manifest, ["tiny_c3d"], out, weights=["random:2"], progress=False, precision="bf16")
    assert fp32.run_ids != bf16.run_ids
    got = scores(fp32.store)
    assert len(got) == 10  # both runs kept, neither overwrote the other
    for (run, vid), (status, s) in got.items():
        if run == bf16.run_ids[0]:
            ref = got[(fp32.run_ids[0], vid)][1]
            assert status == "ok"
            np.testing.assert_allclose(s, ref, atol=2e-2)
    with Store(bf16.store) as s:
        (ev,) = s.evaluations(bf16.run_ids[0])
        assert ev["provenance"]["runtime"]["precision"] == "bf16"


def test_decode_workers_give_the_results_of_one_worker(manifest, tmp_path):
    one = api.evaluate(
        manifest, ["tiny_c3d"], tmp_path / "a", weights=["random:1"], progress=False, batch_size=1
    )
    two = api.evaluate(
        manifest,
        ["tiny_c3d"],
        tmp_path / "b",
        weights=["random:1"],
        progress=False,
        batch_size=1,
        decode_workers=2,
    )
    a, b = scores(one.store), scores(two.store)
    assert a.keys() == b.keys() and len(a) == 5
    for key in a:
        assert a[key][0] == b[key][0] == "ok"
        # same clips, same model; only float rounding of the kernels may differ (memory alignment, threads)
        np.testing.assert_allclose(a[key][1], b[key][1], rtol=1e-5, atol=1e-8)
        assert np.argmax(a[key][1]) == np.argmax(b[key][1])


@pytest.mark.parametrize(
    ("device", "precision", "message"),
    [
        ("foo", "fp32", "not a device this toolkit runs on"),
        ("cuda", "fp32", "no CUDA GPU is visible" if not torch.cuda.is_available() else None),
        ("cpu", "fp16", "precision='fp16' needs a CUDA device"),
        ("cpu", "int3", "not one of fp32, bf16, fp16"),
    ],
)
def test_devices_and_precisions_that_cannot_run_say_so(device, precision, message):
    if message is None:
        pytest.skip("a GPU is present")
    with pytest.raises(UserError, match=message):
        check_runtime(Runtime(device=device, precision=precision))


def test_cpu_resolves():
    assert resolve_device("cpu").type == "cpu"


def test_worker_messages_become_events_and_a_worker_failure_raises():
    from weirdkinetics.clips import ClipViews, VideoEnd
    from weirdkinetics.workers import _event

    views = np.zeros((2, 3, 4, 8, 8), np.float32)
    clip = _event(("clip", 3, 0, 1, 0, views))
    assert isinstance(clip, ClipViews) and (clip.row, clip.job, clip.clip, clip.attempt) == (3, 0, 1, 0)
    assert torch.equal(clip.views, torch.from_numpy(views))
    end = VideoEnd.__new__(VideoEnd)
    assert _event(("end", end)) is end
    assert _event(("done",)) is None
    with pytest.raises(RuntimeError, match="a decoding worker failed:\nTraceback"):
        _event(("error", "Traceback (most recent call last): ..."))

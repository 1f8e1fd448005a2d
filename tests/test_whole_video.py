"""Whole-video sampling through the pipeline: clips of one run differ in length between videos (``--clips
whole:N``), so batches, the store and the engines must take variable-length clips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from weirdkinetics import api
from weirdkinetics.clips import ClipTask, ClipViews, Job, VideoEnd, queue_depth
from weirdkinetics.manifest import write_manifest
from weirdkinetics.models import get_card
from weirdkinetics.models.loading import load_model
from weirdkinetics.sampling import spec_for
from weirdkinetics.scoring import Scorer
from weirdkinetics.store import Store


def _scored(scorer: Scorer, videos: dict[int, list[torch.Tensor]]) -> dict[int, np.ndarray]:
    done = []
    for row, clips in videos.items():
        for c, views in enumerate(clips):
            done += scorer.feed(ClipViews(row, 0, c, 0, views))
        done += scorer.feed(VideoEnd(row, 0, 0, "ok", "", 10, 0.0))
    return {v.row: v.clip_scores for v in done + scorer.close()}


def test_a_batch_across_videos_scores_windows_of_different_lengths_as_each_alone():
    model = load_model(get_card("tiny_c3d"), "random:0")
    job = Job(model, spec_for(model.card, "whole:40"), "run", [])
    gen = torch.Generator().manual_seed(0)
    videos = {
        0: [torch.randn(1, 3, 12, 32, 32, generator=gen)],
        1: [torch.randn(1, 3, 40, 32, 32, generator=gen), torch.randn(1, 3, 40, 32, 32, generator=gen)],
        2: [torch.randn(1, 3, 12, 32, 32, generator=gen)],
    }
    batched = _scored(Scorer([job], batch_size=64, across_videos=True), videos)
    alone = _scored(Scorer([job], batch_size=1), videos)
    assert {r: s.shape for r, s in batched.items()} == {0: (1, 400), 1: (2, 400), 2: (1, 400)}
    for row in videos:
        np.testing.assert_allclose(batched[row], alone[row], rtol=1e-5, atol=1e-7)


def test_a_long_window_takes_several_batch_slots():
    model = load_model(get_card("tiny_c3d"), "random:0")  # 8 frames per clip
    scorer = Scorer([Job(model, spec_for(model.card, "whole:40"), "run", [])], batch_size=10)
    scorer.feed(ClipViews(0, 0, 0, 0, torch.zeros(1, 3, 40, 16, 16)))  # 5 slots
    assert scorer._filled[0] == 5
    scorer.feed(ClipViews(0, 0, 1, 0, torch.zeros(1, 3, 40, 16, 16)))  # 10: flushed
    assert 0 not in scorer._batches and not scorer._filled


def test_whole_video_windows_queue_by_their_frames_not_their_count():
    """Decoded clips wait for the models in a queue of ``clips`` card-length clips: 250-frame windows of a
    64-frame card take 4 places each, so a long video's windows no longer pile up 4 to 8 deep (150 MiB each)."""
    card = get_card("i3d_inception")
    whole, dense = ClipTask(card, spec_for(card, "whole:250")), ClipTask(card, spec_for(card, "dense"))
    assert whole.slots == 4 and dense.slots == 1
    assert queue_depth([dense], 4) == 4
    assert queue_depth([whole], 4) == 1 and queue_depth([whole], 64) == 16
    assert queue_depth([dense, whole], 8) == 2  # the longest clip decides
    assert queue_depth([whole], 1) == 1  # never 0 (an unbounded queue)


def test_evaluate_bounds_its_decoding_queue_by_the_windows_frames(monkeypatch, tmp_path, lossless_video):
    from weirdkinetics import predict

    depths = []
    real = predict.in_background

    def spy(events, maxsize):
        depths.append(maxsize)
        return real(events, maxsize)

    monkeypatch.setattr(predict, "in_background", spy)
    video, _ = lossless_video(12, 25, "a.mkv", 48, 64)
    manifest = write_manifest(tmp_path / "m.csv", [{"path": video.name, "label": "jogging", "split": "real"}])
    api.evaluate(
        manifest, ["tiny_c3d"], tmp_path / "out", weights=["random:0"], progress=False, clips="whole:40"
    )
    assert depths == [1]  # 40-frame windows of an 8-frame card: 5 slots each, so 1 of the 4 places


@pytest.fixture
def whole_manifest(tmp_path, lossless_video):
    (a, _), (b, _) = lossless_video(30, 25, "a.mkv", 48, 64), lossless_video(14, 25, "b.mkv", 48, 64)
    (c, _) = lossless_video(6, 25, "c.mkv", 48, 64)
    rows = [{"path": p.name, "label": "arm wrestling", "split": "real"} for p in (a, b, c)]
    return write_manifest(tmp_path / "m.csv", rows)


def _stored(result) -> dict[str, tuple[str, int | None]]:
    with Store(result.store) as s:
        run = next(r for r in s.runs() if r.run_id == result.run_ids[0])
        return {p.path.split("/")[-1]: (p.status, p.num_clips) for p in s.predictions(run.run_id, 400)}


def test_evaluate_takes_each_video_whole_with_i3d_inception(whole_manifest, tmp_path):
    res = api.evaluate(
        whole_manifest, ["i3d_inception"], tmp_path / "out", weights=["random:0"], progress=False,
        clips="whole:20",
    )  # fmt: skip
    # 30 frames: windows 0-19 and 10-29; 14 frames: one pass; 6 frames: under the network's 9, repeated
    assert _stored(res) == {"a.mkv": ("ok", 2), "b.mkv": ("ok", 1), "c.mkv": ("short", 1)}
    with Store(res.store) as s:
        (run,) = s.runs()
        assert run.spec_key == "whole20min9@25fps/crops1"


@pytest.mark.slow
def test_the_ray_engine_stores_what_the_local_engine_stores(local_ray, whole_manifest, tmp_path):
    kwargs = {"weights": ["random:0"], "progress": False, "clips": "whole:20"}
    local = api.evaluate(whole_manifest, ["i3d_inception"], tmp_path / "local", **kwargs)
    ray = api.evaluate(whole_manifest, ["i3d_inception"], tmp_path / "ray", engine="ray", actors=1, **kwargs)
    assert local.run_ids == ray.run_ids and _stored(local) == _stored(ray)


def test_one_pass_scores_i3d_inception_beside_a_card_of_another_protocol(whole_manifest, tmp_path):
    # each card's own default: 25 fps whole windows beside tiny_c3d's 30 fps 8x8 clips, one store
    res = api.evaluate(
        whole_manifest, ["tiny_c3d", "i3d_inception"], tmp_path / "out", weights=["random:0", "random:0"],
        progress=False,
    )  # fmt: skip
    with Store(res.store) as s:
        keys = {r.model: r.spec_key for r in s.runs()}
    assert keys == {"tiny_c3d": "8x8@30fps/dense16/crops1", "i3d_inception": "whole250min9@25fps/crops1"}
    assert res.summary.computed == 6


def test_a_truncated_file_is_partial_in_whole_video_mode_not_a_decode_error(made_media, tmp_path):
    """The header lists more frames than the stream holds and the stream ends cleanly: the one whole-video window
    never completed, so the video is planned again over what it held (it used to end decode_error with "no clip
    could be formed", as DeepMind's I3D did on ../shared's truncated juggling clip)."""
    from weirdkinetics import api
    from weirdkinetics.manifest import write_manifest
    from weirdkinetics.results import load_runs

    row = {"path": str(made_media["truncated"]), "label": "juggling soccer ball", "split": "real"}
    manifest = write_manifest(tmp_path / "m.csv", [row])
    out = api.evaluate(
        manifest, ["tiny_c3d"], tmp_path / "o", weights=["random:0"], clips="whole:250", progress=False
    )
    ((video,),) = [run.videos for run in load_runs(out.store)]
    assert video.status == "partial" and video.has_prediction and video.num_clips == 1
    assert "truncated" in video.reason and "before the break" in video.reason

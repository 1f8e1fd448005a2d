"""Timestamps that claim far more than the stream holds (issue 22, item 7): a 3-frame file whose last frame is
10 hours away is resampled over the frames before the jump only, never to 1.6 M copies of one frame, and the
row is ``partial`` with the reason. The fixture is a lossless encode whose timestamps are set by hand."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from conftest import frame_ids, indexed_frames

from weirdkinetics import api
from weirdkinetics.clips import ClipTask, manifest_events
from weirdkinetics.decode import probe, read_video
from weirdkinetics.manifest import read_manifest, write_manifest
from weirdkinetics.models import get_card
from weirdkinetics.sampling import MAX_FRAME_GAP_S, frames_before_jump, spec_for

TEN_HOURS_MS = 10 * 3600 * 1000


def _video_with_pts(path, pts_ms: list[int]):
    """A lossless MKV (``libx264rgb``, crf 0) of ``indexed_frames`` with these presentation times (ms)."""
    frames = indexed_frames(len(pts_ms))
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264rgb", rate=30)
        s.width, s.height, s.pix_fmt = frames.shape[2], frames.shape[1], "rgb24"
        s.options = {"crf": "0", "bf": "0"}
        s.codec_context.time_base = Fraction(1, 1000)
        for img, pts in zip(frames, pts_ms):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


@pytest.fixture
def far_video(tmp_path):
    return _video_with_pts(tmp_path / "far.mkv", [0, 33, TEN_HOURS_MS])


def test_frames_before_the_first_jump():
    assert frames_before_jump(np.array([0.0, 0.033, 36000.0])) == 2
    assert frames_before_jump(np.array([0.0, 36000.0, 36000.1])) == 1
    assert frames_before_jump(np.arange(300) / 30) == 300
    steady = np.arange(5) * MAX_FRAME_GAP_S  # a gap of exactly the limit is still a frame held, not a jump
    assert frames_before_jump(steady) == 5
    assert frames_before_jump(np.zeros(0)) == 0


def test_the_probe_sees_the_jump_and_says_why(far_video):
    info = probe(far_video)
    assert info.num_frames == 3 and info.usable_frames == 2
    assert "timestamps jump by 36000.0 s after frame 2 of 3" in info.time_jump


def test_resampling_uses_only_the_frames_before_the_jump(far_video):
    video = read_video(far_video, fps=30)
    assert video.status == "partial" and "timestamps jump" in video.reason
    assert len(video.frames) <= 3  # not 1,080,000 frames of one picture
    assert set(frame_ids(video.frames)) <= {0, 1}


def test_clips_are_planned_over_the_frames_before_the_jump(far_video):
    card = get_card("tiny_c3d")
    spec = spec_for(card, "uniform:4", 1)
    rows = read_manifest(
        write_manifest(
            far_video.parent / "m.csv", [{"path": far_video.name, "label": "jogging", "split": "real"}]
        )
    ).rows
    ends = [e for e in manifest_events(rows, {0: [0]}, [ClipTask(card, spec)]) if not hasattr(e, "views")]
    assert len(ends) == 1 and ends[0].status == "partial" and "timestamps jump" in ends[0].reason
    assert ends[0].num_frames < 10


def test_evaluate_records_the_row_as_partial_with_the_reason(far_video, tmp_path):
    m = write_manifest(tmp_path / "m.csv", [{"path": far_video.name, "label": "jogging", "split": "real"}])
    out = api.evaluate(m, ["tiny_c3d"], tmp_path / "o", weights=["random:0"], clips="uniform:4",
                       progress=False, export=tmp_path / "e.csv")  # fmt: skip
    text = out.export.read_text()
    assert "partial" in text and "timestamps jump by 36000.0 s" in text, text


def test_ordinary_streams_are_untouched(lossless_video):
    path, _ = lossless_video(n=45, fps=15)
    info = probe(path)
    assert info.time_jump == "" and info.usable_frames == 45
    video = read_video(path, fps=15)
    assert video.status == "ok" and (frame_ids(video.frames) == np.arange(45)).all()

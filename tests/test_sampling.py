import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weirdkinetics.errors import UserError
from weirdkinetics.models import get_card
from weirdkinetics.sampling import (
    ClipSpec, clip_indices, clip_starts, is_short, resample_indices, resampled_count, spec_for,
)

STUDY = ClipSpec(fps=30, frames=8, stride=8, spacing=16)


def test_study_protocol_on_a_ten_second_video():
    idx = clip_indices(300, STUDY)
    # clips start at 0, 16, 32, ... while a whole 57-frame clip fits: the last start is 240 (240 + 56 = 296)
    assert idx[:, 0].tolist() == list(range(0, 241, 16))
    assert idx[0].tolist() == [0, 8, 16, 24, 32, 40, 48, 56]
    assert STUDY.span == 57


def test_i3d_card_carries_the_study_protocol():
    spec = spec_for(get_card("i3d_r50"))
    assert (spec.fps, spec.frames, spec.stride, spec.spacing, spec.crops) == (30, 8, 8, 16, 1)


def test_short_video_clamps_to_last_frame():
    idx = clip_indices(20, STUDY)
    assert idx.tolist() == [[0, 8, 16, 19, 19, 19, 19, 19]]
    assert is_short(20, STUDY) and not is_short(57, STUDY)


def test_uniform_clips_span_the_video():
    spec = ClipSpec(30, 8, 8, 16, num_clips=5)
    starts = clip_starts(300, spec)
    assert starts.tolist() == [0, 61, 122, 182, 243]
    assert clip_indices(300, spec)[-1, -1] == 299


def test_clip_option_errors_say_what_to_do():
    with pytest.raises(UserError, match="uniform:N"):
        spec_for(get_card("i3d_r50"), "uniform:x")


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(0, 2000),
    frames=st.integers(1, 32),
    stride=st.integers(1, 12),
    spacing=st.integers(1, 64),
    uniform=st.one_of(st.none(), st.integers(1, 12)),
)
def test_clip_indices_properties(n, frames, stride, spacing, uniform):
    spec = ClipSpec(30, frames, stride, spacing, num_clips=uniform)
    idx = clip_indices(n, spec)
    if n == 0:
        assert idx.shape[0] == 0
        return
    assert idx.shape[1] == frames and idx.shape[0] >= 1
    assert idx.min() >= 0 and idx.max() <= n - 1
    assert np.all(np.diff(idx, axis=1) >= 0)
    if n >= spec.span:  # whole clips: exact stride, never clamped
        assert np.all(np.diff(idx, axis=1) == stride)
        if uniform is None:
            assert np.all(np.diff(idx[:, 0]) == spacing)
            assert idx[-1, 0] + spacing + spec.span > n  # no further clip would fit
        else:
            assert idx.shape[0] == uniform
    assert np.array_equal(idx, clip_indices(n, spec))  # deterministic


def test_resample_identity_and_halving():
    t = np.arange(300) / 30
    assert np.array_equal(resample_indices(t, 30), np.arange(300))
    t60 = np.arange(600) / 60
    assert np.array_equal(resample_indices(t60, 30), np.arange(0, 600, 2))


def test_resample_25_to_30_duplicates_nearest_frames():
    t = np.arange(25) / 25  # one second
    idx = resample_indices(t, 30)
    assert len(idx) == 30
    # output k at k/30 s takes the source frame nearest in time
    expected = [int(np.argmin(np.abs(t - k / 30))) for k in range(30)]
    assert idx.tolist() == expected


def test_resample_follows_timestamps_not_frame_count():
    # variable frame rate: 10 frames in the first second, 30 in the next
    t = np.concatenate([np.arange(10) / 10, 1 + np.arange(30) / 30])
    idx = resample_indices(t, 30)
    assert resampled_count(t, 30) == 60
    assert idx[:3].tolist() == [0, 0, 1] and idx[-1] == 39
    assert idx[30:].tolist() == list(range(10, 40))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.001, 0.2), min_size=1, max_size=200), st.sampled_from([5, 15, 24, 30, 60]))
def test_resample_properties(gaps, fps):
    t = np.concatenate([[0.0], np.cumsum(gaps)])
    idx = resample_indices(t, fps)
    assert len(idx) == resampled_count(t, fps) >= 1
    assert np.all(np.diff(idx) >= 0) and idx.min() >= 0 and idx.max() < len(t)
    targets = t[0] + np.arange(len(idx)) / fps
    best = np.min(np.abs(t[None, :] - targets[:, None]), axis=1)
    assert np.allclose(np.abs(t[idx] - targets), best)

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weirdkinetics.errors import UserError
from weirdkinetics.models import get_card
from weirdkinetics.sampling import (
    ClipSpec,
    clip_indices,
    clip_starts,
    is_short,
    resample_indices,
    resampled_count,
    segment_indices,
    spec_for,
    whole_indices,
    whole_starts,
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
    with pytest.raises(UserError, match="takes 8 frames, one per segment: use 'segments:8'"):
        spec_for(get_card("xclip_b32"), "segments:16")
    with pytest.raises(UserError, match="segments:8xV"):
        spec_for(get_card("i3d_r50"), "segments:8x0")


def _mmaction_test_offsets(num_frames: int, num_clips: int) -> list[int]:
    """mmaction2's SampleFrames(clip_len=1, frame_interval=1, num_clips, test_mode=True)._get_test_clips."""
    avg_interval = (num_frames - 1 + 1) / float(num_clips)
    if num_frames > 0:
        base_offsets = np.arange(num_clips) * avg_interval
        return (base_offsets + avg_interval / 2.0).astype(np.int32).tolist()
    return [0] * num_clips


def test_segments_take_the_centre_frame_of_each_of_n_equal_segments():
    # 300 frames in 8 segments of 37.5: centres 18.75, 56.25, ... rounded down
    assert segment_indices(300, 8).tolist() == [[18, 56, 93, 131, 168, 206, 243, 281]]
    assert segment_indices(300, 8).tolist() == [_mmaction_test_offsets(300, 8)]
    # four views spread evenly inside each segment (1/8, 3/8, 5/8, 7/8 of the way through)
    assert segment_indices(16, 2, views=4).tolist() == [[1, 9], [3, 11], [5, 13], [7, 15]]
    assert segment_indices(5, 8).tolist() == [[0, 0, 1, 2, 2, 3, 4, 4]]  # fewer frames than segments repeat
    assert segment_indices(0, 8).shape == (0, 8)


def test_xclip_card_defaults_to_segments_and_options_override_it():
    card = get_card("xclip_b32")
    spec = spec_for(card)
    assert (
        spec.segments
        and spec.frames == 8
        and spec.num_clips == 1
        and spec.key() == "8segments@30fps/views1/crops1"
    )
    assert clip_indices(300, spec).tolist() == segment_indices(300, 8).tolist()
    assert clip_indices(300, spec_for(card, "segments:8x4")).shape == (4, 8)
    assert not spec_for(card, "dense").segments and spec_for(card, "uniform:2").num_clips == 2
    # the card's default leaves every other card's protocol (and run identity) as it was
    assert (
        spec_for(get_card("i3d_r50")).key()
        == spec_for(get_card("i3d_r50"), "dense").key()
        == "8x8@30fps/dense16/crops1"
    )
    # short means fewer frames than segments, whatever the stride
    assert not is_short(8, spec) and is_short(7, spec)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 3000), segments=st.integers(1, 32), views=st.integers(1, 6))
def test_segment_indices_properties(n, segments, views):
    idx = segment_indices(n, segments, views)
    if n == 0:
        assert idx.shape == (0, segments)
        return
    assert idx.shape == (views, segments) and idx.dtype == np.int64
    assert idx.min() >= 0 and idx.max() <= n - 1
    assert np.all(np.diff(idx, axis=1) >= 0) and np.all(np.diff(idx, axis=0) >= 0)
    length = n / segments
    lower = np.floor(np.arange(segments) * length)
    # every frame lies in its own segment [i * L, (i + 1) * L)
    assert np.all(idx >= lower) and np.all(idx < np.arange(1, segments + 1) * length)
    if n >= segments:  # one distinct frame per segment
        assert np.all(np.diff(idx, axis=1) >= 1)
    if views == 1:
        assert idx[0].tolist() == _mmaction_test_offsets(n, segments)
    assert np.array_equal(idx, segment_indices(n, segments, views))  # deterministic


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


# --- whole-video windows (DeepMind's I3D: the whole video in one pass, capped) ---------------------------


def test_i3d_inception_defaults_to_the_whole_video_in_passes_of_250():
    spec = spec_for(get_card("i3d_inception"))
    assert spec.whole and (spec.fps, spec.frames, spec.min_frames, spec.crops) == (25, 250, 9, 1)
    assert spec.key() == "whole250min9@25fps/crops1"
    assert clip_indices(79, spec).tolist() == [list(range(79))]  # DeepMind's cricket sample: one pass
    assert clip_indices(250, spec).shape == (1, 250)
    # 10 min at 25 fps: 60 windows, the last 250 frames ending with the video
    idx = clip_indices(15000, spec)
    assert idx.shape == (60, 250) and idx[-1, -1] == 14999
    # 600 frames: windows at 0 and 250, the third ends at the video's end (overlapping the second)
    assert whole_starts(600, 250).tolist() == [0, 250, 350]
    assert not spec_for(get_card("i3d_inception"), "dense").whole
    assert spec_for(get_card("i3d_r50"), "whole:64").min_frames == 1


def test_whole_windows_of_a_video_under_the_networks_minimum_repeat_its_last_frame():
    spec = spec_for(get_card("i3d_inception"))
    assert clip_indices(5, spec).tolist() == [[0, 1, 2, 3, 4, 4, 4, 4, 4]]
    assert is_short(8, spec) and not is_short(9, spec)
    assert clip_indices(0, spec).shape == (0, 9)


@pytest.mark.parametrize("bad", ["whole:0", "whole:", "whole:100001", "whole:12x2"])
def test_whole_option_errors_say_what_to_use(bad):
    with pytest.raises(UserError, match="whole:N"):
        spec_for(get_card("i3d_inception"), bad)


@given(n=st.integers(0, 5000), window=st.integers(1, 400), least=st.integers(1, 16))
def test_whole_indices_properties(n, window, least):
    spec = ClipSpec(fps=25, frames=window, stride=1, spacing=window, whole=True, min_frames=least)
    idx = whole_indices(n, spec)
    assert np.array_equal(idx, clip_indices(n, spec)) and idx.dtype == np.int64
    if n == 0:
        assert idx.shape[0] == 0
        return
    length = max(min(n, window), least)
    assert idx.shape == (-(-n // window), length)
    assert set(idx.ravel().tolist()) == set(range(n))  # every frame, none past the end
    assert (np.diff(idx, axis=1) >= 0).all() and (np.diff(idx, axis=1) <= 1).all()  # consecutive
    assert idx[0, 0] == 0 and idx[-1, -1] == n - 1
    if n >= window:
        assert (np.diff(idx[:, 0]) > 0).all()  # windows move forward, never repeat

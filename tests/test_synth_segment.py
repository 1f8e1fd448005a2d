"""Person masks: one person over time, the disk cache, true masks, the registry, torchvision plumbing, and
MediaPipe on real clips from ../shared/data/videos."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared_video

from weirdkinetics.errors import UnknownNameError, UserError, WeightsError
from weirdkinetics.synth import segment as S

# -- one person over time -----------------------------------------------------------------------------


def _blob(masks: np.ndarray, t: int, top: int, left: int, h: int, w: int) -> None:
    masks[t, top : top + h, left : left + w] = 0.9


def test_track_person_keeps_one_identity_and_drops_the_dog():
    """A child walks right; a dog (smaller) runs left, crossing nowhere near; a speck flickers. The
    tracked mask holds the child only, in every frame."""
    masks = np.zeros((8, 40, 60), np.float32)
    for t in range(8):
        _blob(masks, t, 5, 5 + 3 * t, 20, 8)  # the child
        _blob(masks, t, 30, 50 - 4 * t, 6, 8)  # the dog
    masks[3, 0, 59] = 1  # a one-pixel speck
    tracked, track = S.track_person(masks)
    child = np.zeros_like(masks)
    for t in range(8):
        _blob(child, t, 5, 5 + 3 * t, 20, 8)
    np.testing.assert_array_equal(tracked, child)
    assert track.lost == 0 and track.dropped == 8 and track.frames == 8
    assert "lost in 0/8" in track.describe()


def test_track_person_does_not_jump_to_another_object_when_the_person_vanishes():
    """The segmenter loses the child for two frames and marks only the dog there: those frames are lost
    (empty), never the dog; the child is picked up again after."""
    masks = np.zeros((6, 40, 60), np.float32)
    for t in range(6):
        if t not in (2, 3):
            _blob(masks, t, 5, 10, 20, 10)  # the child, standing
        _blob(masks, t, 28, 45, 8, 10)  # the dog, far away
    tracked, track = S.track_person(masks)
    assert track.lost == 2
    assert tracked[2].sum() == 0 and tracked[3].sum() == 0
    assert tracked[4, 10, 12] > 0 and tracked[:, 30, 48].sum() == 0


def test_track_person_keeps_a_person_split_in_parts():
    masks = np.zeros((2, 30, 30), np.float32)
    for t in range(2):
        _blob(masks, t, 5, 10, 10, 6)  # torso
        _blob(masks, t, 16, 10, 8, 2)  # a leg, not touching the torso
    tracked, track = S.track_person(masks)
    assert track.dropped == 0 and (tracked[1] > 0).sum() == 60 + 16
    empty, none = S.track_person(np.zeros((3, 5, 5), np.float32))
    assert none.lost == 3 and empty.sum() == 0


# -- cache ---------------------------------------------------------------------------------------------


class CountingSegmenter:
    name = "counting"

    def __init__(self, level: float = 0.5):
        self.settings = {"level": level}
        self.calls = 0

    def masks(self, frames):
        self.calls += 1
        out = np.zeros(frames.shape[:3], np.float32)
        out[:, : frames.shape[1] // 2] = self.settings["level"]
        return out


def test_mask_cache_reuses_by_content_and_settings(tmp_path):
    video = tmp_path / "a.mp4"
    video.write_bytes(b"pretend video bytes")
    frames = np.zeros((3, 4, 6, 3), np.uint8)
    seg = CountingSegmenter(0.5)
    cache = S.MaskCache(tmp_path / "cache")
    first, hit = cache.masks(video, frames, seg)
    assert not hit and seg.calls == 1 and first.dtype == np.float32
    second, hit = S.MaskCache(tmp_path / "cache").masks(video, frames, seg)  # a new run
    assert hit and seg.calls == 1
    np.testing.assert_array_equal(first, second)
    assert abs(first.max() - 0.5) <= 1 / 255  # stored as uint8

    # the same bytes under another name hit the same entry
    copy = tmp_path / "b.mp4"
    copy.write_bytes(video.read_bytes())
    assert cache.masks(copy, frames, seg)[1]
    # other settings, another frame size, other content: recomputed
    other = CountingSegmenter(0.9)
    assert not cache.masks(video, frames, other)[1]
    assert not cache.masks(video, np.zeros((3, 2, 6, 3), np.uint8), seg)[1]
    changed = tmp_path / "c.mp4"
    changed.write_bytes(b"other bytes")
    assert not cache.masks(changed, frames, seg)[1]


def test_mask_cache_recomputes_a_damaged_entry(tmp_path):
    video = tmp_path / "a.mp4"
    video.write_bytes(b"x")
    frames = np.zeros((2, 4, 4, 3), np.uint8)
    seg = CountingSegmenter()
    cache = S.MaskCache(tmp_path / "cache")
    cache.masks(video, frames, seg)
    cache.entry(video, seg, frames.shape[:3]).write_bytes(b"not an npz")
    masks, hit = cache.masks(video, frames, seg)
    assert not hit and seg.calls == 2 and masks.shape == (2, 4, 4)


def test_two_writers_of_one_mask_cache_entry_leave_one_whole_entry(tmp_path):
    """Two workers (explain or synth on Ray) segment the same video at once: both miss the cache, both write
    under their own temporary name, the last rename wins; readers see a whole entry, and nothing is left over."""
    import threading

    video = tmp_path / "a.mp4"
    video.write_bytes(b"pretend video bytes")
    frames = np.zeros((3, 4, 6, 3), np.uint8)
    both_inside = threading.Barrier(2, timeout=60)

    class TogetherSegmenter(CountingSegmenter):
        def masks(self, frames):
            both_inside.wait()  # neither writes before both have missed the cache
            return super().masks(frames)

    seg = TogetherSegmenter(0.5)
    got: list = [None, None]

    def work(k: int) -> None:
        got[k] = S.MaskCache(tmp_path / "cache").masks(video, frames, seg)  # one cache object per worker

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seg.calls == 2 and [hit for _, hit in got] == [False, False]
    np.testing.assert_array_equal(got[0][0], got[1][0])
    files = sorted(p.name for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert len(files) == 1 and files[0].endswith(".npz")
    again, hit = S.MaskCache(tmp_path / "cache").masks(video, frames, CountingSegmenter(0.5))
    assert hit
    np.testing.assert_array_equal(again, got[0][0])


def test_a_failed_mask_cache_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    from pathlib import Path

    video = tmp_path / "a.mp4"
    video.write_bytes(b"x")

    def full_disk(self, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", full_disk)
    with pytest.raises(OSError, match="No space left"):
        S.MaskCache(tmp_path / "cache").masks(video, np.zeros((2, 4, 4, 3), np.uint8), CountingSegmenter())
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


# -- true masks ----------------------------------------------------------------------------------------


def test_true_masks_read_resize_and_explain_problems(tmp_path):
    truth = np.zeros((2, 4, 6), bool)
    truth[:, :2, :3] = True
    path = tmp_path / "v.mask.npz"
    np.savez_compressed(path, masks=truth)
    frames = np.zeros((2, 4, 6, 3), np.uint8)
    out = S.TrueMasks(path).masks(frames)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, truth.astype(np.float32))
    half = S.TrueMasks(path).masks(np.zeros((2, 2, 3, 3), np.uint8))  # a video read at half size
    np.testing.assert_array_equal(half, truth[:, ::2, ::2].astype(np.float32))
    with pytest.raises(UserError, match="3 frames"):
        S.TrueMasks(path).masks(np.zeros((3, 4, 6, 3), np.uint8))
    with pytest.raises(UserError, match="does not exist"):
        S.TrueMasks(tmp_path / "nope.npz").masks(frames)
    np.savez(tmp_path / "wrong.npz", other=truth)
    with pytest.raises(UserError, match="no array named 'masks'"):
        S.TrueMasks(tmp_path / "wrong.npz").masks(frames)


# -- registry and torchvision --------------------------------------------------------------------------


def test_unknown_segmenter_suggests_names():
    with pytest.raises(UnknownNameError, match="Did you mean: mediapipe"):
        S.check_segmenter_name("mediapipes")
    with pytest.raises(UserError, match="^weights only applies"):
        S.build_segmenter("mediapipe", weights="x.pth")


def test_torchvision_deeplab_plumbing_random_and_checkpoint(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))
    with pytest.raises(UserError, match="weights=PATH"):
        S.build_segmenter("deeplabv3_mobilenet_v3_large")
    seg = S.TorchvisionDeepLab("deeplabv3_mobilenet_v3_large", "random:3", size=64, batch=2)
    assert isinstance(seg, S.Segmenter) and seg.settings["weights"] == "random:3"
    frames = np.random.default_rng(0).integers(0, 256, (3, 40, 56, 3), dtype=np.uint8)
    masks = seg.masks(frames)
    assert masks.shape == (3, 40, 56) and masks.dtype == np.float32
    assert 0 <= masks.min() and masks.max() <= 1
    # the same weights through a checkpoint file give the same masks
    ckpt = tmp_path / "deeplab.pth"
    torch.save({"model": seg._module.state_dict()}, ckpt)
    loaded = S.build_segmenter("deeplabv3_mobilenet_v3_large", weights=str(ckpt))
    loaded.size = 64
    np.testing.assert_allclose(loaded.masks(frames), masks, atol=1e-5)
    assert len(loaded.settings["weights"]) == 64  # sha256 of the file keys the cache
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(WeightsError, match="does not fit"):
        S.build_segmenter("deeplabv3_mobilenet_v3_large", weights=str(tmp_path / "bad.pth"))


# -- MediaPipe on real footage -------------------------------------------------------------------------


def _frames(name: str, n: int = 6) -> np.ndarray:
    from weirdkinetics.decode import read_video

    path = shared_video(name)
    video = read_video(path, indices=None)
    assert video.status == "ok"
    pick = np.linspace(0, len(video.frames) - 1, n).round().astype(int)
    return video.frames[pick]


@pytest.mark.parametrize(
    "name, low, high",
    [
        ("arm_wrestling__mmaction2_demo.mp4", 0.02, 0.8),
        ("flipping_pancake__decord.mkv", 0.02, 0.8),
        # a gym seen from afar: the players cover 0.5-7 % of the frame
        ("basketball__mmaction2_structuralize.mp4", 0.003, 0.2),
    ],
)
def test_mediapipe_finds_the_person_in_real_clips(name, low, high):
    pytest.importorskip("mediapipe")
    from weirdkinetics.synth.composite import mask_coverage

    frames = _frames(name)
    seg = S.build_segmenter("mediapipe")
    masks = seg.masks(frames)
    assert masks.shape == frames.shape[:3] and masks.dtype == np.float32
    coverage = mask_coverage(masks)
    inside = (coverage >= low) & (coverage <= high)
    assert inside.sum() >= 4, f"coverage per frame {np.round(coverage, 3)} outside [{low}, {high}]"


def test_mediapipe_pose_and_people_check_on_real_clips():
    pytest.importorskip("mediapipe")
    from weirdkinetics.synth.composite import mask_coverage

    pancake = _frames("flipping_pancake__decord.mkv", 6)
    cov = mask_coverage(S.build_segmenter("mediapipe-pose").masks(pancake))
    assert (cov > 0.05).sum() >= 3, np.round(cov, 3)
    found, looked = S.detect_people(pancake, samples=4)
    assert looked == 4 and found >= 1
    # a rotating Earth: no one there (selfie segmentation alone would call a third of it "person")
    earth = _frames("awk_vp9_opus__gradio.webm", 4)
    assert S.detect_people(earth, samples=4) == (0, 4)

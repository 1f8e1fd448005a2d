"""synth streams (issue 22 item 9): the streamed variants make the frames the whole-video composition makes,
the file formats read and written a frame at a time match NumPy's, and a row's memory does not grow with
the video's length."""

from __future__ import annotations

import csv
import hashlib
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from weirdkinetics.decode import video_passes
from weirdkinetics.encode import write_frames, write_video
from weirdkinetics.synth import composite
from weirdkinetics.synth.bitmasks import NpzFrames, PackedMasks, write_npz_frames
from weirdkinetics.synth.generate import SynthOptions, synthesize
from weirdkinetics.synth.segment import MaskCache, TrueMasks
from weirdkinetics.synth.stream import Source, centre_of_mass, compose_stream, hole_stream
from weirdkinetics.synth.variants import Scene, compose_with_notes

pytest.importorskip("cv2")


def _textured(count: int, height: int, width: int, pan: int, seed: int = 0) -> np.ndarray:
    """uint8 (count, height, width, 3): a smooth random texture, moved ``pan`` pixels right per frame."""
    import cv2

    rng = np.random.default_rng(seed)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (height, width + pan * count, 3), np.uint8), (0, 0), 2)
    return np.stack([texture[:, pan * t : pan * t + width] for t in range(count)])


def _person(count: int, height: int, width: int, gap: int | None = None) -> np.ndarray:
    """bool (count, height, width): a box walking right, missing in frame ``gap``."""
    masks = np.zeros((count, height, width), bool)
    for t in range(count):
        masks[t, height // 4 : 3 * height // 4, 4 + t // 2 : 14 + t // 2] = True
    if gap is not None:
        masks[gap] = False
    return masks


def _source(tmp_path: Path, frames: np.ndarray, name: str = "src.mkv") -> Source:
    path = write_video(tmp_path / name, frames, 25, lossless=True)
    passes = video_passes(path)
    count = passes.count()
    return Source(passes, count, frames.shape[1], frames.shape[2])


CASES = [
    # variant, camera pan (px/frame), options, background kind, anchor
    ("person-only", 0, {}, None, None),
    ("silhouette", 0, {"hole_frames": 2}, None, None),
    ("silhouette", 0, {"hole_frames": 0, "dilate_px": 0}, None, None),
    ("background-only", 0, {"hole_frames": 1}, None, None),
    ("background-only", 2, {"hole_frames": 1}, None, None),  # a panning camera: ECC and a wider canvas
    ("swap", 0, {"feather_sigma": 0.5}, "video", (20.0, 30.0)),
    ("swap", 0, {}, "still", None),
    ("static-background", 0, {"feather_sigma": 0.5}, "still", None),
    ("static-person", 0, {}, "still", None),
]


@pytest.mark.parametrize(("variant", "pan", "knobs", "kind", "anchor"), CASES)
def test_streamed_variants_make_the_frames_and_notes_of_the_whole_video_composition(
    tmp_path, variant, pan, knobs, kind, anchor
):
    count, height, width = 24, 37, 51  # odd sizes on purpose
    frames = _textured(count, height, width, pan)
    masks = _person(count, height, width, gap=5)
    frames[masks] = (230, 20, 20)
    options = SynthOptions(**knobs)
    rng = np.random.default_rng(1)
    background = None
    if kind == "still":
        background = rng.integers(0, 255, (height, width, 3), np.uint8)
    elif kind == "video":
        background = rng.integers(0, 255, (count, height, width, 3), np.uint8)
    scene = Scene(anchor=anchor, rng=np.random.default_rng(7), exact=True)
    want, want_notes = compose_with_notes(
        variant, frames, masks.astype(np.float32), background, options, scene
    )

    scene = Scene(anchor=anchor, rng=np.random.default_rng(7), exact=True)
    streamed, notes = compose_stream(
        variant, _source(tmp_path, frames), PackedMasks.from_array(masks), background, options, scene
    )
    got = np.stack(list(streamed))
    assert got.shape == want.shape
    assert np.array_equal(got, want)
    assert notes == want_notes
    if variant == "background-only":
        assert notes["camera"].startswith("moving" if pan else "still")


@pytest.mark.parametrize(("count", "hole_frames", "dilate_px"), [(1, 2, 1), (9, 0, 0), (9, 1, 2), (9, 3, 1)])
def test_hole_stream_is_hole_masks_a_frame_at_a_time(count, hole_frames, dilate_px):
    masks = np.random.default_rng(count + hole_frames).random((count, 13, 17)) > 0.93
    want = composite.hole_masks(masks, 0.5, dilate_px, hole_frames)
    got = np.stack(list(hole_stream(PackedMasks.from_array(masks), dilate_px, hole_frames)))
    assert np.array_equal(got, want)


def test_packed_masks_round_trip_coverage_and_centre():
    masks = np.random.default_rng(0).random((6, 9, 11)) > 0.7
    packed = PackedMasks.from_array(masks)
    assert np.array_equal(packed.to_array(), masks)
    assert np.array_equal(packed.coverage(), composite.mask_coverage(masks))
    assert centre_of_mass(packed) == composite.centre_of_mass(masks)
    big = np.ones((3, 90, 110), bool)
    assert (
        PackedMasks.from_array(big).nbytes == 3 * (90 * 110 // 8 + 1) + 3 * 8
    )  # a bit a pixel, a count a frame
    assert centre_of_mass(PackedMasks(4, 4, 3)) is None


def test_npz_frames_read_and_write_what_numpy_does(tmp_path):
    data = np.random.default_rng(0).integers(0, 255, (5, 7, 9), np.uint8)
    write_npz_frames(tmp_path / "a.npz", "masks", iter(data), data.shape)
    with np.load(tmp_path / "a.npz") as stored:
        assert np.array_equal(stored["masks"], data)
    np.savez_compressed(tmp_path / "b.npz", masks=data > 100)
    with NpzFrames(tmp_path / "b.npz", "masks") as frames:
        assert frames.shape == data.shape and frames.dtype == bool
        assert np.array_equal(np.stack(list(frames)), data > 100)
    with pytest.raises(ValueError, match="4 frames written"):
        write_npz_frames(tmp_path / "c.npz", "masks", iter(data[:4]), data.shape)
    with pytest.raises(KeyError):
        NpzFrames(tmp_path / "b.npz", "other")


def test_true_masks_stream_as_they_load(tmp_path):
    masks = np.random.default_rng(0).random((4, 8, 10)) > 0.5
    np.savez_compressed(tmp_path / "m.npz", masks=masks)
    np.save(tmp_path / "m.npy", masks)
    for name in ("m.npz", "m.npy"):
        source = TrueMasks(tmp_path / name)
        for hw in ((8, 10), (16, 20)):  # the second resized, as a max_side read would need
            got = np.stack(list(source.stream(hw, 4)))
            assert np.array_equal(got, source.load(hw, 4))
    from weirdkinetics.errors import UserError

    with pytest.raises(UserError, match="holds masks of shape"):
        list(TrueMasks(tmp_path / "m.npz").stream((8, 10), 5))


class _Counting:
    """A segmenter that looks at each frame alone, counting calls."""

    name, settings = "fake", {"v": 1}

    def __init__(self):
        self.calls = 0

    def masks(self, frames):
        self.calls += 1
        return frames[..., 0].astype(np.float32) / 255.0


def test_mask_cache_stream_writes_and_reads_the_entry_masks_would(tmp_path):
    frames = np.random.default_rng(0).integers(0, 255, (5, 6, 7, 3), np.uint8)
    video = tmp_path / "v.bin"
    video.write_bytes(b"video")
    seg = _Counting()
    cache = MaskCache(tmp_path / "cache")
    streamed = np.stack(list(cache.stream(video, iter(frames), frames.shape[:3], seg)))
    assert seg.calls == 5  # one frame at a time
    whole, hit = MaskCache(tmp_path / "cache").masks(video, frames, seg)  # reads the streamed entry
    assert hit and np.array_equal(whole, streamed)
    again = np.stack(list(MaskCache(tmp_path / "cache").stream(video, iter(()), frames.shape[:3], seg)))
    assert np.array_equal(again, streamed) and seg.calls == 5  # read back, not recomputed
    # a run stopped part-way leaves no entry and no temporary file
    other = MaskCache(tmp_path / "other")
    partial = other.stream(video, iter(frames), frames.shape[:3], seg)
    next(partial)
    partial.close()
    assert not list((tmp_path / "other").rglob("*.npz*"))


def test_write_frames_gives_write_video_bytes_and_leaves_nothing_on_failure(tmp_path):
    frames = np.random.default_rng(0).integers(0, 255, (6, 15, 21, 3), np.uint8)  # odd: padded
    a = write_video(tmp_path / "a.mp4", frames, 25)
    b = write_frames(tmp_path / "b.mp4", iter(frames), 25)
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()

    def broken():
        yield frames[0]
        raise RuntimeError("source broke")

    with pytest.raises(RuntimeError):
        write_frames(tmp_path / "c.mp4", broken(), 25)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "b.mp4"]


# -- memory does not grow with the video's length ------------------------------------------------------


def _clip(root: Path, count: int) -> Path:
    """A lossless clip of ``count`` frames with true masks and a one-row manifest."""
    height, width = 96, 128
    frames = _textured(count, height, width, 0, seed=count)
    masks = _person(count, height, width)
    frames[masks] = (230, 20, 20)
    write_video(root / "clip.mkv", frames, 25, lossless=True)
    np.savez_compressed(root / "clip.mask.npz", masks=masks)
    manifest = root / "manifest.csv"
    manifest.write_text(
        "path,label,split,background,video_id,mask_path\nclip.mkv,jump,real,beach,clip,clip.mask.npz\n",
        encoding="utf-8",
    )
    return manifest


def _peak_bytes(manifest: Path, out: Path, variant: str) -> int:
    """Peak of the memory Python and NumPy allocate (tracemalloc) while synth makes one row."""
    tracemalloc.start()
    try:
        synthesize(variant, manifest, out, segmenter="true", progress=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    with open(out / "manifest.csv", newline="", encoding="utf-8") as fh:
        assert [r["synth_status"] for r in csv.DictReader(fh)] == ["ok"]
    return peak


@pytest.mark.parametrize(
    ("variant", "short", "long"), [("person-only", 20, 80), ("background-only", 70, 210)]
)
def test_peak_memory_of_a_row_does_not_grow_with_the_video(tmp_path, variant, short, long):
    """A 4x (3x) longer video may take more memory only for its masks at one bit per pixel (and a few
    numbers a frame): the whole-video path took ~27 bytes per pixel per frame, here 331 KB a frame, so 60
    more frames alone added about 20 MB. background-only's lengths both exceed the plate's 64 samples,
    which bound its memory instead."""
    peaks = {}
    for count in (short, long):
        root = tmp_path / str(count)
        root.mkdir()
        peaks[count] = _peak_bytes(_clip(root, count), root / "out", variant)
    pixels = 96 * 128
    masks_and_numbers = (long - short) * (pixels // 8 + 512)
    assert peaks[long] - peaks[short] < 2 * 3 * pixels + masks_and_numbers, peaks


def test_a_library_background_video_is_fitted_a_frame_at_a_time_as_it_was_whole(tmp_path):
    from weirdkinetics.decode import read_video
    from weirdkinetics.manifest import ManifestRow
    from weirdkinetics.synth.backgrounds import FittedVideo, LibraryBackgrounds

    (tmp_path / "lib" / "city").mkdir(parents=True)
    clip = np.random.default_rng(0).integers(0, 255, (5, 20, 30, 3), np.uint8)
    write_video(tmp_path / "lib" / "city" / "street.mkv", clip, 25, lossless=True)
    row = ManifestRow(2, tmp_path / "x.mp4", "x.mp4", "jump", "real", background="beach", video_id="x")
    picked = LibraryBackgrounds(tmp_path / "lib", seed=0).pick(row, 12, 37, 51, still=False)
    assert isinstance(picked.frames, FittedVideo) and picked.frames.shape == (12, 37, 51, 3)
    whole = composite.fit_background_video(read_video(picked.source).frames, 12, 37, 51)  # looped 5 -> 12
    assert np.array_equal(np.stack([picked.frames[t] for t in range(12)]), whole)
    assert np.array_equal(picked.frames[3], whole[3])  # an earlier frame: decoded again


def test_blend_copies_exact_alphas_and_mixes_the_rest_as_the_formula_does():
    rng = np.random.default_rng(0)
    person, back = (rng.integers(0, 256, (17, 23, 3), np.uint8) for _ in range(2))
    for alpha in (
        (rng.random((17, 23)) > 0.5).astype(np.float32),  # a hard mask: all copied
        rng.choice([0.0, 1.0, 0.5, 0.25, 0.999, 1e-3], size=(17, 23)).astype(np.float32),
        rng.random((17, 23)).astype(np.float32),
    ):
        a = alpha[..., None]
        formula = np.clip(
            np.rint(a * person.astype(np.float32) + (1.0 - a) * back.astype(np.float32)), 0, 255
        )
        assert np.array_equal(composite._blend(person, alpha, back), formula.astype(np.uint8))


def test_a_donor_background_is_made_a_frame_at_a_time_as_it_was_whole(tmp_path):
    from weirdkinetics.decode import read_video
    from weirdkinetics.manifest import read_manifest
    from weirdkinetics.synth.backgrounds import DonorBackgrounds, FittedVideo
    from weirdkinetics.synth.segment import MaskSource
    from weirdkinetics.synth.variants import remove_person

    count, height, width = 14, 37, 51
    lines = []
    for i, label in enumerate(("jump", "wave")):
        frames = _textured(count, height, width, pan=i, seed=i)
        masks = _person(count, height, width)
        frames[masks] = (230, 20, 20)
        write_video(tmp_path / f"{label}.mkv", frames, 25, lossless=True)
        np.savez_compressed(tmp_path / f"{label}.mask.npz", masks=masks)
        lines.append(f"{label}.mkv,{label},real,bg{i},{label},{label}.mask.npz")
    manifest_path = tmp_path / "m.csv"
    manifest_path.write_text("path,label,split,background,video_id,mask_path\n" + "\n".join(lines) + "\n")
    manifest = read_manifest(manifest_path)
    options = SynthOptions()
    donors = DonorBackgrounds(manifest, MaskSource("true", manifest_dir=tmp_path), options, seed=0)
    picked = donors.pick(manifest.rows[0], 20, 30, 40, still=False)  # longer than the donor: looped
    assert isinstance(picked.frames, FittedVideo) and picked.source == "wave"
    donor = read_video(tmp_path / "wave.mkv").frames
    with np.load(tmp_path / "wave.mask.npz") as stored:
        masks = stored["masks"].astype(np.float32)
    removed = remove_person(donor, masks, options, exact=True)
    whole = composite.fit_background_video(removed, 20, 30, 40)
    assert np.array_equal(np.stack([picked.frames[t] for t in range(20)]), whole)
    still = donors.pick(manifest.rows[0], 20, 30, 40, still=True)
    assert np.array_equal(still.frames, composite.fit_background(removed[count // 2], 30, 40))


def test_the_last_frame_is_taken_holding_one_frame_at_a_time():
    """static-person's frozen frame and a donor's still are the last of a stream: taking it must not keep the
    frames before it (``*_, frame = ...`` keeps them all in a list)."""
    import tracemalloc

    from weirdkinetics.synth.stream import last

    def frames(n):
        for i in range(n):
            yield np.full((100, 100, 3), i, np.uint8)  # 30 KB each

    tracemalloc.start()
    try:
        got = last(frames(200))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got[0, 0, 0] == 199 and peak < 10 * 30_000
    with pytest.raises(ValueError):
        last(iter(()))


def test_a_background_video_that_ends_early_on_a_later_pass_is_a_background_error():
    from weirdkinetics.statuses import RowFailure
    from weirdkinetics.synth.backgrounds import FittedVideo

    three = lambda: iter([np.zeros((8, 8, 3), np.uint8)] * 3)
    video = FittedVideo(None, 5, None, 5, 8, 8, make=three)
    assert video[2].shape == (8, 8, 3)
    with pytest.raises(RowFailure) as caught:
        video[4]
    assert caught.value.status == "background_error"

"""synth's seams used on their own: a custom background source plugged into the pipeline, the variant
table, the library and donor sources, and a row's mask source, on hand-made arrays and lossless videos."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from weirdkinetics.encode import write_video
from weirdkinetics.errors import UserError
from weirdkinetics.manifest import ManifestRow, read_manifest
from weirdkinetics.synth import (
    VARIANTS,
    Background,
    BackgroundSource,
    NoBackground,
    SynthOptions,
    compose,
    run_synth,
)
from weirdkinetics.synth.backgrounds import DonorBackgrounds, LibraryBackgrounds
from weirdkinetics.synth.segment import MaskCache, MaskSource
from weirdkinetics.synth.variants import NEEDS_BACKGROUND, TABLE

pytest.importorskip("cv2")

T, H, W, FPS = 6, 16, 24, 10.0
BOX = (4, 12, 6, 14)  # rows 4..11, columns 6..13: the "person" in every frame


def _frames(person: tuple[int, int, int], back: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    frames = np.empty((T, H, W, 3), np.uint8)
    frames[...] = back
    masks = np.zeros((T, H, W), bool)
    y0, y1, x0, x1 = BOX
    masks[:, y0:y1, x0:x1] = True
    frames[masks] = person
    return frames, masks


@pytest.fixture
def toy(tmp_path) -> Path:
    """Three rows of two classes with true masks (lossless, so pixels are exact), and one missing video."""
    root = tmp_path / "src"
    specs = {
        "jump_0": ("jump", "beach", (220, 30, 30), (20, 40, 200)),
        "wave_0": ("wave", "forest", (240, 220, 20), (30, 190, 40)),
        "wave_1": ("wave", "forest", (10, 200, 200), (120, 60, 10)),
    }
    lines = []
    for vid, (label, background, person, back) in specs.items():
        frames, masks = _frames(person, back)
        write_video(root / f"{vid}.mkv", frames, FPS, lossless=True)
        np.savez_compressed(root / f"{vid}.mask.npz", masks=masks)
        lines.append(f"{vid}.mkv,{label},real,{background},{vid},{vid},{vid}.mask.npz")
    lines.append("nowhere.mkv,jump,real,beach,gone,gone,gone.mask.npz")
    manifest = root / "manifest.csv"
    manifest.write_text(
        "path,label,split,background,video_id,source_id,mask_path\n" + "\n".join(lines) + "\n",
        encoding="utf-8",
    )
    return manifest


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["source_video_id"]: r for r in csv.DictReader(fh)}


class _Painted:
    """A background source of one flat colour per class; ``wave`` rows get none. Records what it was asked."""

    name = "painted"
    inpaints = False

    def __init__(self) -> None:
        self.asked: list[tuple[str, int, int, int, bool]] = []

    def pick(self, row, num_frames, height, width, still):
        self.asked.append((row.video_id, num_frames, height, width, still))
        if row.label == "wave":
            return NoBackground("no_background", f"nothing painted for {row.video_id}")
        shape = (height, width, 3) if still else (num_frames, height, width, 3)
        return Background(np.full(shape, 99, np.uint8), "paint", "studio", f"pot:{row.video_id}")


@pytest.mark.parametrize("variant", ["swap", "static-background"])
def test_a_custom_background_source_plugs_into_the_pipeline(toy, tmp_path, variant):
    source = _Painted()
    assert isinstance(source, BackgroundSource)
    options = SynthOptions(feather_sigma=0, crf=0)
    result = run_synth(
        variant, toy, tmp_path / "out", backgrounds=source, segmenter="true", progress=False, options=options
    )
    # asked once per row that reached the background stage, with the row's frame size; a still for SCUBA
    still = variant != "swap"
    assert source.asked == [(v, T, H, W, still) for v in ("jump_0", "wave_0", "wave_1")]
    rows = _rows(result.manifest)
    jump = rows["jump_0"]
    assert (jump["synth_status"], jump["background"], jump["bg_label"], jump["bg_source"]) == (
        "ok",
        "paint",
        "studio",
        "pot:jump_0",
    )
    for vid in ("wave_0", "wave_1"):  # the source's failure ends the row with its status and reason
        assert rows[vid]["synth_status"] == "no_background"
        assert rows[vid]["excluded_reason"] == f"nothing painted for {vid}"
        assert not (result.manifest.parent / rows[vid]["path"]).exists()
    assert rows["gone"]["synth_status"] == "missing"
    info = json.loads((result.manifest.parent / "synth.json").read_text())
    assert info["backgrounds"] == "painted" and info["inpainting"] is None
    assert info["counts"] == {"ok": 1, "missing": 1, "no_background": 2}
    # outside the person, the painted colour (crf=0 keeps x264's 4:2:0 error small on flat areas)
    from weirdkinetics.decode import read_video

    video = read_video(result.manifest.parent / jump["path"])
    assert video.frames.shape == (T, H, W, 3)
    assert np.abs(video.frames[:, :2].astype(int) - 99).max() <= 2
    assert {r.video_id for r in read_manifest(result.manifest).rows} == {f"{v}__{variant}" for v in rows}


def test_a_background_source_for_a_variant_without_background_is_refused(toy, tmp_path):
    with pytest.raises(UserError, match="uses no background"):
        run_synth(
            "person-only", toy, tmp_path / "out", backgrounds=_Painted(), segmenter="true", progress=False
        )


def test_the_variant_table_is_the_one_source_of_names_and_needs():
    assert (
        list(VARIANTS)
        == list(TABLE)
        == ["swap", "person-only", "background-only", "silhouette", "static-background", "static-person"]
    )
    assert NEEDS_BACKGROUND == ("swap", "static-background", "static-person")
    assert [name for name, v in TABLE.items() if v.still] == ["static-background", "static-person"]
    for name, variant in TABLE.items():
        assert variant.name == name and VARIANTS[name] == variant.description


def test_a_variants_composition_on_hand_made_arrays():
    """static-background: the person pixels kept, every other pixel the still image (hard mask)."""
    frames, masks = _frames((200, 0, 0), (0, 0, 200))
    image = np.full((H, W, 3), 77, np.uint8)
    out = compose("static-background", frames, masks.astype(np.float32), image, SynthOptions(feather_sigma=0))
    assert out.shape == frames.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[masks], frames[masks])
    assert (out[~masks] == 77).all()
    with pytest.raises(ValueError, match="unknown variant"):
        compose("swapp", frames, masks, image)


def _row(tmp_path: Path, video_id: str, label: str, background: str, **extra: str) -> ManifestRow:
    return ManifestRow(
        1,
        tmp_path / f"{video_id}.mkv",
        f"{video_id}.mkv",
        label,
        "real",
        background,
        video_id,
        video_id,
        extra,
    )


def test_the_library_source_alone_fits_reports_and_fails_per_row(tmp_path):
    import cv2

    library = tmp_path / "lib"
    (library / "kitchen").mkdir(parents=True)
    (library / "park").mkdir()
    cv2.imwrite(str(library / "kitchen" / "k.png"), np.full((8, 12, 3), (10, 20, 30), np.uint8))  # BGR
    (library / "park" / "broken.jpg").write_bytes(b"not an image")
    source = LibraryBackgrounds(library, seed=0)
    assert isinstance(source, BackgroundSource) and source.name == str(library.resolve())
    # a park row may only get the kitchen: fitted to the frames, RGB, still or not
    picked = source.pick(_row(tmp_path, "a", "jump", "park"), T, H, W, still=True)
    assert isinstance(picked, Background)
    assert (picked.name, picked.label, picked.source) == (
        "kitchen",
        "kitchen",
        str(library / "kitchen" / "k.png"),
    )
    assert picked.frames.shape == (H, W, 3) and (picked.frames == (30, 20, 10)).all()
    # a kitchen row may only get the park, whose one file is unreadable
    failed = source.pick(_row(tmp_path, "b", "jump", "kitchen"), T, H, W, still=True)
    assert isinstance(failed, NoBackground) and failed.status == "background_error"
    assert "broken.jpg cannot be read" in failed.reason
    # a swap (not still) takes videos only: on an image it would be static-background, byte for byte
    swap = source.pick(_row(tmp_path, "a", "jump", "park"), T, H, W, still=False)
    assert isinstance(swap, NoBackground) and swap.status == "no_background"
    assert "static-background" in swap.reason
    none = source.pick(_row(tmp_path, "c", "park", "kitchen"), T, H, W, still=True)
    assert isinstance(none, NoBackground) and none.status == "no_background"
    with pytest.raises(UserError, match="category 'beach' is not in the library"):
        LibraryBackgrounds(library, seed=0, rule="fixed", category="beach")


def test_the_donor_source_sets_a_failing_donor_aside_and_draws_another(toy):
    manifest = read_manifest(toy)
    masks = MaskSource("true", None, None, toy.parent)
    source = DonorBackgrounds(manifest, masks, SynthOptions(), seed=0)
    assert source.inpaints and source.name == "donor-background-only"
    jump = next(r for r in manifest.rows if r.video_id == "jump_0")
    wave = next(r for r in manifest.rows if r.video_id == "wave_0")
    picked = source.pick(wave, T, H, W, still=True)
    # the only other class is jump: jump_0 (the missing "gone" row, if drawn first, is set aside)
    assert isinstance(picked, Background) and picked.source == "jump_0" and picked.label == "jump"
    assert picked.frames.shape == (H, W, 3)
    assert set(source.bad) <= {"gone"}
    # a jump row draws from wave_0 and wave_1; with both set aside nothing is left
    source.bad.update({"wave_0": "test", "wave_1": "test"})
    none = source.pick(jump, T, H, W, still=False)
    assert isinstance(none, NoBackground) and none.status == "no_background"


def test_the_donor_source_skips_a_donor_whose_video_is_missing(toy):
    manifest = read_manifest(toy)
    source = DonorBackgrounds(manifest, MaskSource("true", None, None, toy.parent), SynthOptions(), seed=0)
    wave = next(r for r in manifest.rows if r.video_id == "wave_0")
    source.bad["jump_0"] = "test"  # only the missing jump row is left to draw
    none = source.pick(wave, T, H, W, still=True)
    assert isinstance(none, NoBackground) and none.status == "no_background"
    assert source.bad["gone"].startswith("missing")


class _Boxes:
    name, settings = "boxes", {"v": 1}

    def __init__(self) -> None:
        self.calls = 0

    def masks(self, frames: np.ndarray) -> np.ndarray:
        self.calls += 1
        out = np.zeros(frames.shape[:3], np.float32)
        out[:, 2:5, 2:5] = 1.0
        out[3] = 0.0  # a one-frame dropout
        return out


def test_a_rows_mask_source_alone_true_masks_and_cached_segmenter(toy, tmp_path):
    manifest = read_manifest(toy)
    row = manifest.rows[0]
    frames, truth = _frames((220, 30, 30), (20, 40, 200))
    true = MaskSource("true", None, None, toy.parent)
    np.testing.assert_array_equal(true.masks(row, frames), truth.astype(np.float32))
    assert true.settings == {}
    blank = ManifestRow(9, row.path, row.path_text, row.label, row.split, extra={"mask_path": ""})
    with pytest.raises(UserError, match="row 9: empty mask_path"):
        true.masks(blank, frames)
    segmenter = _Boxes()
    cached = MaskSource("boxes", segmenter, MaskCache(tmp_path / "cache"), toy.parent)
    first = cached.masks(row, frames)
    # as the segmenter gave them: no temporal median (it erodes masks); holes grow over time instead
    assert first[3].sum() == 0 and first.sum() == (T - 1) * 9
    np.testing.assert_array_equal(cached.masks(row, frames), first)
    assert segmenter.calls == 1 and cached.settings == {"v": 1}  # the second came from the disk cache

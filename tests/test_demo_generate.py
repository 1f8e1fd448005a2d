"""The demo's generated datasets on disk: manifest, pairing by source_id, masks, codec round trip, seeds."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from weirdkinetics.demo.classes import DEMO_BACKGROUNDS, DEMO_CLASSES
from weirdkinetics.demo.config import DemoConfig
from weirdkinetics.demo.data import read_frames
from weirdkinetics.demo.generate import (
    MANIFEST_COLUMNS,
    control_background_classes,
    generate_dataset,
    generate_training_set,
    render_test_video,
    weird_background_class,
)
from weirdkinetics.manifest import read_manifest

CONFIG = DemoConfig(num_frames=20, train_num_frames=16)
OWNER = {bg: cls for cls, bg in DEMO_BACKGROUNDS.items()}


def _rows(manifest: Path) -> list[dict[str, str]]:
    with open(manifest, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def test_set(tmp_path_factory) -> Path:
    return generate_dataset(
        tmp_path_factory.mktemp("demo") / "test", 2, seed=7, config=CONFIG, progress=False
    )


def test_manifest_columns_and_splits(test_set):
    with open(test_set, newline="") as fh:
        assert tuple(next(csv.reader(fh))) == MANIFEST_COLUMNS
    rows = _rows(test_set)
    assert len(rows) == 2 * 2 * len(DEMO_CLASSES)
    assert Counter((r["label"], r["split"]) for r in rows) == {
        (c, s): 2 for c in DEMO_CLASSES for s in ("real", "weird")
    }
    assert len({r["video_id"] for r in rows}) == len(rows)
    for r in rows:
        assert OWNER[r["background"]] == r["bg_class"]
        if r["split"] == "real":
            assert r["background"] == DEMO_BACKGROUNDS[r["label"]]
        else:
            assert r["bg_class"] != r["label"]
        assert (test_set.parent / r["path"]).is_file() and (test_set.parent / r["mask_path"]).is_file()


def test_real_and_weird_share_the_recording(test_set):
    rows = _rows(test_set)
    by_source: dict[str, dict[str, dict]] = {}
    for r in rows:
        by_source.setdefault(r["source_id"], {})[r["split"]] = r
    assert len(by_source) == 2 * len(DEMO_CLASSES)
    for pair in by_source.values():
        assert set(pair) == {"real", "weird"} and pair["real"]["label"] == pair["weird"]["label"]
        masks = [np.load(test_set.parent / pair[s]["mask_path"])["masks"] for s in ("real", "weird")]
        # the same actor motion, only the background differs
        np.testing.assert_array_equal(masks[0], masks[1])


def test_mask_and_video_agree(test_set):
    row = _rows(test_set)[3]
    mask = np.load(test_set.parent / row["mask_path"])["masks"]
    frames = read_frames(test_set.parent / row["path"], CONFIG.fps)  # resampling to 15 fps keeps every frame
    assert mask.dtype == bool and mask.shape == (CONFIG.num_frames, CONFIG.height, CONFIG.width)
    assert frames.shape == (CONFIG.num_frames, CONFIG.height, CONFIG.width, 3)
    # the file decodes to the rendered frames up to H.264 (crf 18) artefacts
    index = int(row["source_id"].rsplit("_", 1)[1])
    rendered, rendered_mask = render_test_video(row["label"], index, row["split"], seed=7, config=CONFIG)
    np.testing.assert_array_equal(rendered_mask, mask)
    assert np.abs(frames.astype(int) - rendered.astype(int)).mean() < 6


def test_same_seed_same_data_other_seed_other_data(tmp_path, test_set):
    again = generate_dataset(tmp_path / "again", 2, seed=7, config=CONFIG, progress=False)
    other = generate_dataset(tmp_path / "other", 2, seed=8, config=CONFIG, progress=False)
    assert _rows(again) == _rows(test_set)
    row = _rows(test_set)[0]
    same = [np.load(m.parent / row["mask_path"])["masks"] for m in (test_set, again, other)]
    np.testing.assert_array_equal(same[0], same[1])
    assert not np.array_equal(same[0], same[2])
    np.testing.assert_array_equal(
        read_frames(test_set.parent / row["path"]), read_frames(again.parent / row["path"])
    )
    # not only the pixels: every video is the same bytes (x264 single-threaded and without mbtree; before
    # that, about one encode in ten differed near its end). Masks compare as arrays: an
    # .npz is a zip whose entries carry their write time.
    for r in _rows(test_set):
        assert (test_set.parent / r["path"]).read_bytes() == (again.parent / r["path"]).read_bytes(), r[
            "path"
        ]
        masks = [np.load(m.parent / r["mask_path"])["masks"] for m in (test_set, again)]
        np.testing.assert_array_equal(*masks)


def test_weird_backgrounds_cycle_through_the_other_classes():
    for label in DEMO_CLASSES:
        owners = [weird_background_class(label, i, seed=3) for i in range(8)]
        assert label not in owners
        assert Counter(owners) == {c: 2 for c in DEMO_CLASSES if c != label}


def test_control_backgrounds_are_balanced_and_shortcut_ones_are_not(tmp_path):
    for label in DEMO_CLASSES:
        assert Counter(control_background_classes(label, 10, seed=1)) == {c: 2 for c in DEMO_CLASSES}
    shortcut = _rows(
        generate_training_set(tmp_path / "s", 5, 1, "shortcut", CONFIG, write_masks=True, progress=False)
    )
    control = _rows(
        generate_training_set(tmp_path / "c", 5, 1, "control", CONFIG, write_masks=True, progress=False)
    )
    assert {r["split"] for r in shortcut + control} == {"train"}
    assert all(r["bg_class"] == r["label"] for r in shortcut)
    assert Counter(r["bg_class"] for r in control if r["label"] == "waving") == {c: 1 for c in DEMO_CLASSES}
    # both flavours render the same recordings: identical actor masks, row by row
    for s, c in zip(shortcut, control):
        assert s["video_id"] == c["video_id"]
        mask = np.load(tmp_path / "s" / s["mask_path"])["masks"]
        assert mask.shape == (CONFIG.train_num_frames, CONFIG.height, CONFIG.width)
        np.testing.assert_array_equal(mask, np.load(tmp_path / "c" / c["mask_path"])["masks"])


def test_bad_arguments_say_what_is_allowed(tmp_path):
    with pytest.raises(ValueError, match="shortcut, control"):
        generate_training_set(tmp_path, 2, 0, "shuffled", progress=False)
    with pytest.raises(ValueError, match="at least 1"):
        generate_dataset(tmp_path, 0, 0, progress=False)


def test_reuse_keeps_a_complete_identical_dataset_and_regenerates_otherwise(tmp_path):
    small = CONFIG.with_(num_frames=16)
    manifest = generate_dataset(tmp_path, 1, seed=2, config=small, progress=False, reuse=True)
    video = tmp_path / _rows(manifest)[0]["path"]
    stamp = video.stat().st_mtime_ns
    assert generate_dataset(tmp_path, 1, seed=2, config=small, progress=False, reuse=True) == manifest
    assert video.stat().st_mtime_ns == stamp
    # another seed, or a missing file, is generated again
    generate_dataset(tmp_path, 1, seed=3, config=small, progress=False, reuse=True)
    assert video.stat().st_mtime_ns != stamp
    video.unlink()
    generate_dataset(tmp_path, 1, seed=3, config=small, progress=False, reuse=True)
    assert video.is_file()


def test_the_actor_free_render_is_the_real_video_without_its_actor(tmp_path):
    """The truth background-only is checked against: outside the actor's mask, exactly the real video's
    frames; inside, the scene (never the actor's colours). Its manifest reads like synth's."""
    from weirdkinetics.demo.generate import (
        TRUTH_VARIANT,
        generate_actor_free,
        render_actor_free,
        render_test_video,
    )

    config = DemoConfig.small()
    frames, mask = render_test_video("waving", 1, "real", 0, config)
    truth = render_actor_free("waving", 1, 0, config)
    np.testing.assert_array_equal(truth[~mask], frames[~mask])
    assert (truth[mask] != frames[mask]).any(axis=-1).mean() > 0.5
    manifest = generate_actor_free(tmp_path / "truth", 1, 0, config)
    rows = read_manifest(manifest).rows
    assert len(rows) == len(DEMO_CLASSES)
    row = next(r for r in rows if r.label == "waving")
    assert (row.split, row.extra["variant"], row.extra["source_video_id"]) == (
        TRUTH_VARIANT,
        TRUTH_VARIANT,
        "waving_000_real",
    )
    assert row.extra["synth_status"] == "ok" and row.path.is_file()

"""Attribution measures the person only where the model sees them: a person outside the card's resized
centre crop makes every in-crop share "background", so such a video is ``excluded`` with that reason."""

from __future__ import annotations

import numpy as np
import pytest

from weirdkinetics import api
from weirdkinetics.store import Store


def _wide_set(tmp_path, columns: dict[str, tuple[int, int]]):
    """Lossless 48 x 192 videos with true masks: a person box in rows 8..40 at the given columns.

    tiny_c3d resizes to 64 x 256 and crops the centre 64 x 64: source columns 72..120 are what it sees.
    """
    from weirdkinetics.encode import write_video
    from weirdkinetics.manifest import write_manifest

    rng = np.random.default_rng(3)
    rows = []
    for name, (left, right) in columns.items():
        frames = rng.integers(0, 255, (72, 48, 192, 3), dtype=np.uint8)
        masks = np.zeros((72, 48, 192), bool)
        masks[:, 8:40, left:right] = True
        write_video(tmp_path / f"{name}.mkv", frames, 30, lossless=True)
        np.savez_compressed(tmp_path / f"{name}.mask.npz", masks=masks)
        rows.append(
            {"path": f"{name}.mkv", "label": "abseiling", "split": "real", "video_id": name,
             "source_id": name, "mask_path": f"{name}.mask.npz"}
        )  # fmt: skip
    return write_manifest(tmp_path / "manifest.csv", rows)


@pytest.mark.parametrize(
    "columns, inside",
    [
        ((4, 40), False),  # the left edge: the whole person is cropped away
        ((150, 188), False),  # the right edge
        ((0, 72), False),  # up to the crop's edge, not over it
        ((80, 110), True),  # the centre
    ],
)
def test_a_person_outside_the_models_crop_is_excluded_with_that_reason(tmp_path, columns, inside):
    manifest = _wide_set(tmp_path, {"v": columns})
    got = api.explain(
        manifest, "tiny_c3d", tmp_path / "o", weights="random:0", segmenter="true", progress=False
    )
    with Store(got.store) as store:
        rows = {a.method: a for a in store.attributions(got.run_id)}
    assert set(rows) == {"gradcam", "occlusion"}
    for row in rows.values():
        if inside:
            assert row.status == "ok", row.reason
            assert row.numbers["view_coverage"] > 0.1 and row.numbers["background_share"] < 1.0
        else:
            assert row.status == "excluded"
            assert "person outside the model's view" in row.reason and "64x64 centre crop" in row.reason
            assert row.numbers["view_coverage"] < 0.005 and row.numbers["mask_coverage"] > 0.005

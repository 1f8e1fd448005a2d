"""Results that cannot be trusted say so: NaN/inf scores, still images named .mp4, empty predictions CSVs."""

import json

import cv2
import numpy as np
import pytest
import torch
from conftest import REAL_FOOTAGE_SKIP, VIDEOS

from weirdkinetics import api
from weirdkinetics.cli import main
from weirdkinetics.encode import write_video
from weirdkinetics.errors import UserError
from weirdkinetics.manifest import write_manifest
from weirdkinetics.metrics.summary import run_metrics
from weirdkinetics.models import get_card
from weirdkinetics.models.loading import load_model
from weirdkinetics.results import (
    NONFINITE_SCORES,
    NOT_VIDEO,
    OK_STATUSES,
    STATUSES,
    load_runs,
    results_from_csv,
)


def moving(n: int, seed: int) -> np.ndarray:
    base = np.random.default_rng(seed).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    return np.stack([np.roll(base, 2 * i, axis=1) for i in range(n)])


def test_new_statuses_are_documented_and_not_counted():
    # the status table moved from the README into the docs site's reliability page
    page = __import__("pathlib").Path(__file__).parents[1] / "docs" / "reliability.md"
    table = page.read_text(encoding="utf-8")
    for status in STATUSES:
        assert f"| `{status}` |" in table, status
    assert NONFINITE_SCORES not in OK_STATUSES and NOT_VIDEO not in OK_STATUSES


def test_weights_that_give_nan_scores_are_not_counted_and_the_report_lists_them(tmp_path):
    write_video(tmp_path / "a.mkv", moving(90, 1), 30, lossless=True)
    write_video(tmp_path / "b.mkv", moving(90, 2), 30, lossless=True)
    m = write_manifest(
        tmp_path / "m.csv",
        [
            {"path": "a.mkv", "label": "jogging", "split": "real"},
            {"path": "b.mkv", "label": "push up", "split": "weird"},
        ],
    )
    module = load_model(get_card("tiny_c3d"), "random:0").module
    state = {k: v.clone() for k, v in module.state_dict().items()}
    first = next(k for k, v in state.items() if v.is_floating_point())
    state[first].fill_(float("nan"))
    torch.save(state, tmp_path / "nan.pt")
    out = api.evaluate(
        m, ["tiny_c3d"], tmp_path / "o", weights=[str(tmp_path / "nan.pt")], progress=False, report=True
    )
    (run,) = load_runs(out.store)
    assert {v.status for v in run.videos} == {NONFINITE_SCORES}
    assert all("NaN or infinite" in v.reason and not v.has_prediction for v in run.videos)
    assert out.summary.counts[out.run_ids[0]] == {NONFINITE_SCORES: 2}
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text(encoding="utf-8"))
    (block,) = [r["status"] for r in metrics["runs"]]
    assert block["counted"] == 0
    assert [e["status"] for e in block["excluded"]] == [NONFINITE_SCORES] * 2
    html = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    assert "Videos not counted" in html and NONFINITE_SCORES in html and "NaN or infinite" in html


def test_nan_and_inf_in_a_predictions_csv_are_not_counted(tmp_path):
    p = tmp_path / "p.csv"
    p.write_text(
        "video_id,label,pred,score:jogging,score:push up\n"
        "a,jogging,jogging,0.9,0.1\n"
        "b,jogging,jogging,nan,0.1\n"
        "c,push up,push up,0.2,inf\n"
        "d,push up,push up,0.2,\n"
        "e,push up,,,\n",
        encoding="utf-8",
    )
    run = results_from_csv(p)
    got = {v.video_id: v for v in run.videos}
    assert got["a"].status == "ok" and got["a"].has_prediction
    for vid in "bcd":
        assert got[vid].status == NONFINITE_SCORES and not got[vid].has_prediction
        assert "not finite" in got[vid].reason
    assert got["e"].status == "missing"
    status = run_metrics(run, n_boot=20)["status"]
    assert status["counted"] == 1 and status["counts"][NONFINITE_SCORES] == 3


def _one_line(capsys, argv) -> str:
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc != 0 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_a_header_only_predictions_csv_is_refused(tmp_path, capsys):
    p = tmp_path / "p.csv"
    p.write_text("video_id,label,pred,score:jogging\n", encoding="utf-8")
    line = _one_line(capsys, ["report", "--predictions", str(p), "--out", str(tmp_path / "r")])
    assert "no rows after the header" in line
    assert not (tmp_path / "r" / "report.html").exists()


def test_a_predictions_row_with_more_cells_than_its_header_is_one_line(tmp_path, capsys):
    p = tmp_path / "p.csv"
    p.write_text("video_id,label,pred\na,jogging,jogging\nb,jogging,jogging,surplus\n", encoding="utf-8")
    line = _one_line(capsys, ["report", "--predictions", str(p), "--out", str(tmp_path / "r")])
    assert "row 3: 1 cell(s) more than the header's 3 columns" in line


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_an_image_renamed_mp4_is_not_a_video(tmp_path, ext):
    image = moving(1, 3)[0]
    assert cv2.imwrite(str(tmp_path / f"still{ext}"), image)
    (tmp_path / f"still{ext}").rename(tmp_path / "still.mp4")
    write_video(tmp_path / "one_frame.mkv", moving(1, 4), 30, lossless=True)  # a real 1-frame video
    m = write_manifest(
        tmp_path / "m.csv",
        [
            {"path": "still.mp4", "label": "jogging", "split": "real"},
            {"path": "one_frame.mkv", "label": "jogging", "split": "real"},
        ],
    )
    out = api.evaluate(m, ["tiny_c3d"], tmp_path / "o", weights=["random:0"], progress=False)
    (run,) = load_runs(out.store)
    got = {v.video_id: v for v in run.videos}
    assert got["still.mp4"].status == NOT_VIDEO and "still image" in got["still.mp4"].reason
    assert not got["still.mp4"].has_prediction
    assert got["one_frame.mkv"].status == "short"  # a video, however short, stays a video


def test_sub_second_and_low_rate_videos_are_still_short_not_still_images(made_media):
    from weirdkinetics.decode import probe

    for role in ("rotated", "low_fps"):  # 3 frames in 0.1 s; 5 frames at 5 fps
        assert probe(made_media[role]).still_image == ""


def test_real_sub_second_videos_are_still_short_not_still_images():
    from weirdkinetics.decode import probe

    for name in ("awk_0.1s_rot90__decord.mov", "awk_5fps_1s_pedestrians_walking__mmpose_demo.mp4"):
        path = VIDEOS / name
        if not path.exists():
            pytest.skip(REAL_FOOTAGE_SKIP)
        assert probe(path).still_image == ""


def test_api_refuses_bad_numbers_before_any_work(tmp_path):
    m = write_manifest(tmp_path / "m.csv", [{"path": "a.mkv", "label": "jogging", "split": "real"}])
    for kwargs, match in [
        ({"batch_size": 0}, "batch_size=0"),
        ({"clips": "uniform:100000"}, "uniform:N"),
        ({"clips": "uniform:400", "crops": 3}, "1200 views per video"),
        ({"device": "foo"}, "device='foo'"),
    ]:
        with pytest.raises(UserError, match=match):
            api.evaluate(m, ["tiny_c3d"], tmp_path / "o", weights=["random:0"], progress=False, **kwargs)
    assert not (tmp_path / "o").exists()

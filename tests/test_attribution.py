"""Attribution: Grad-CAM on models whose answer is known, every card's target layer, occlusion, and
``explain`` end to end through the store (statuses, resume, excluded masks) and the report."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from weirdkinetics import api
from weirdkinetics.attribution import (
    check_methods,
    explain_clip,
    gradcam,
    methods_for,
    person_in_view,
    resolve_layer,
)
from weirdkinetics.attribution.explain import ExplainSettings, Scorer
from weirdkinetics.attribution.gradcam import as_volume
from weirdkinetics.commands.attributions import _attribution_record
from weirdkinetics.errors import UserError
from weirdkinetics.models.loading import LoadedModel, get_adapter, load_model
from weirdkinetics.models.registry import all_cards, get_card
from weirdkinetics.store import Store

TINY = get_card("tiny_c3d")


class _LeftHalf(nn.Module):
    """Logits from the left half of the frames only (and, with ``frame`` set, from that frame only)."""

    def __init__(self, num_classes: int, frame: int | None = None):
        super().__init__()
        self.features = nn.Conv3d(3, 4, kernel_size=1)
        self.head = nn.Linear(4, num_classes)
        self.frame = frame

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = torch.relu(self.features(x))
        w = f.shape[-1]
        f = f[..., : w // 2]
        if self.frame is not None:
            f = f[:, :, self.frame : self.frame + 1]
        return self.head(f.mean(dim=(2, 3, 4)))


def _known_model(frame: int | None = None) -> LoadedModel:
    card = dataclasses.replace(TINY, name="left_half", cam_layers=("features",))
    torch.manual_seed(0)
    module = _LeftHalf(400, frame).eval()
    with torch.no_grad():  # positive weights and bias: every channel helps class 0 everywhere it is seen
        module.features.weight.abs_()
        module.features.bias.fill_(0.1)
        module.head.weight[0] = 1.0
    return LoadedModel(card, module, get_adapter("testing"), "random:0", "test")


class _RedDetector(nn.Module):
    """Channel 0 sees red, channel 1 green; only channel 0 reaches the logits."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.features = nn.Conv3d(3, 2, kernel_size=1, bias=False)
        self.head = nn.Linear(2, num_classes)
        with torch.no_grad():
            self.features.weight.zero_()
            self.features.weight[0, 0] = 1.0
            self.features.weight[1, 1] = 1.0
            self.head.weight.zero_()
            self.head.weight[0, 0] = 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.features(x)).mean(dim=(2, 3, 4)))


def test_gradcam_looks_where_the_evidence_it_uses_is():
    card = dataclasses.replace(TINY, name="red", cam_layers=("features",))
    model = LoadedModel(card, _RedDetector(400).eval(), get_adapter("testing"), "random:0", "test")
    clip = torch.zeros(3, 4, 8, 8)
    clip[0, :, :, :4] = 1.0  # red on the left: what class 0 uses
    clip[1, :, :, 4:] = 1.0  # green on the right: seen by the network, unused by class 0
    sal = gradcam(model, clip, 0)
    assert sal.dtype == np.float32 and sal.shape == (4, 8, 8)
    assert (sal >= 0).all() and sal[:, :, :3].min() > 0
    person = np.zeros((4, 8, 8), bool)
    person[:, :, :4] = True
    from weirdkinetics.metrics.attribution import background_share

    assert background_share(sal, person) == pytest.approx(0.0, abs=1e-6)


def test_gradcam_keeps_one_map_per_time_step():
    clip = torch.rand(3, 4, 8, 8)
    sal = gradcam(_known_model(frame=0), clip, 0)
    per_frame = sal.sum(axis=(1, 2))
    # only frame 0 feeds the logits; with weights averaged over time every frame would light up alike
    assert per_frame[0] > 0 and per_frame[3] == pytest.approx(0.0, abs=1e-6)


def test_token_grids_are_reshaped_in_the_cards_order():
    t, h, w, c = 2, 3, 4, 5
    grid = np.arange(t * h * w, dtype=np.float32).reshape(t, h, w)  # value = token index in (t, h, w) order
    card = dataclasses.replace(TINY, cam_tokens=(t, h, w), cam_cls_tokens=1, cam_token_layout="tokens")
    thw = torch.cat(
        [torch.full((1, 1, c), -1.0), torch.from_numpy(grid).reshape(1, -1, 1).expand(1, -1, c)], 1
    )
    vol = as_volume(thw, card, 1)
    assert vol.shape == (1, c, t, h, w) and torch.equal(vol[0, 0], torch.from_numpy(grid))
    hwt_card = dataclasses.replace(card, cam_token_order="hwt")
    hwt = torch.from_numpy(grid).permute(1, 2, 0).reshape(1, -1, 1).expand(1, -1, c)
    vol = as_volume(torch.cat([torch.zeros(1, 1, c), hwt], 1), hwt_card, 1)
    assert torch.equal(vol[0, 0], torch.from_numpy(grid))
    last = dataclasses.replace(card, cam_cls_tokens=0, cam_token_layout="channels_last")
    assert torch.equal(
        as_volume(torch.from_numpy(grid)[None, ..., None], last, 1)[0, 0], torch.from_numpy(grid)
    )
    frames = dataclasses.replace(card, cam_token_layout="frames")
    per_frame = torch.cat([torch.zeros(t, 1, 1), torch.from_numpy(grid).reshape(t, h * w, 1)], 1)
    assert torch.equal(as_volume(per_frame, frames, 1)[0, 0], torch.from_numpy(grid))


def test_every_card_declares_a_target_layer_or_is_occlusion_only():
    for card in all_cards():
        methods = methods_for(card)
        assert "occlusion" in methods, card.name
        if card.cam_layers:
            assert all(isinstance(p, str) and p for p in card.cam_layers), card.name
            if card.slowfast_alpha:
                assert len(card.cam_layers) == 2, f"{card.name}: one layer per pathway"
            if card.family in ("transformer", "vision-language"):
                assert card.cam_tokens and card.cam_token_layout, (
                    f"{card.name}: transformers need a token grid"
                )


def test_a_card_without_a_target_layer_names_the_methods_that_work():
    bare = dataclasses.replace(TINY, cam_layers=())
    assert check_methods(bare, None) == ["occlusion"]
    with pytest.raises(UserError, match="methods that work for it: occlusion"):
        check_methods(bare, ["gradcam"])
    with pytest.raises(UserError, match="not a method"):
        check_methods(TINY, ["lime"])
    assert check_methods(TINY, None) == ["gradcam", "occlusion"]


def _gradcam_on(card_name: str, frames: int, side: int) -> np.ndarray:
    card = get_card(card_name)
    model = load_model(card, "random:0")
    assert resolve_layer(model.module, card.cam_layers[0]) is not None
    clip = torch.randn(3, frames, side, side)
    sal = gradcam(model, clip, 3)
    assert sal.shape == (frames, side, side) and np.isfinite(sal).all() and (sal >= 0).all()
    return sal


@pytest.mark.parametrize("name", ["tiny_c3d", "demo_c3d", "r3d_18", "mc3_18", "r2plus1d_18"])
def test_gradcam_runs_on_the_small_cards(name):
    _gradcam_on(name, 8, 32)


# Full-size builds: the dotted path must resolve on the built module and Grad-CAM must run on the card's input.
_BIG = [
    c.name
    for c in all_cards()
    if c.cam_layers and c.name not in ("tiny_c3d", "demo_c3d", "r3d_18", "mc3_18", "r2plus1d_18")
]


@pytest.mark.slow
@pytest.mark.parametrize("name", _BIG)
def test_gradcam_runs_on_every_full_size_card(name):
    card = get_card(name)
    if card.zoo == "hf":
        pytest.importorskip("transformers")
    # the card's own input: transformers fix it, and PyTorchVideo's heads pool with a fixed kernel
    _gradcam_on(name, card.frames, card.crop)


def test_person_masks_follow_the_models_view():
    card = dataclasses.replace(TINY, resize=8, crop=8)
    masks = np.zeros((2, 16, 32), np.float32)  # resized to 8 x 16, centre-cropped to 8 x 8 (columns 4..11)
    masks[:, :, 12:16] = 1.0  # resized columns 6..7: inside the crop, at its columns 2..3
    view = person_in_view(masks, card, dilate_px=0)
    assert view.shape == (2, 8, 8) and view[:, :, 2:4].all() and view.sum() == 2 * 8 * 2
    grown = person_in_view(masks, card, dilate_px=1)
    assert grown[:, :, 1:5].all() and grown.sum() == 2 * 8 * 4


def test_occlusion_drops_follow_where_the_evidence_is():
    model = _known_model()
    scorer = Scorer(model, [str(i) for i in range(400)], ["0", "1", "2"])
    clip = torch.rand(3, 4, 8, 8) + 0.5
    person = np.zeros((4, 8, 8), bool)
    person[:, :, :4] = True  # the person is where the model looks
    out = explain_clip(model, scorer, clip, person, 0, ["occlusion"], ExplainSettings(segmenter="true"))
    n = out["occlusion"]["numbers"]
    assert n["person_drop"] > 0 and n["background_drop"] == pytest.approx(0.0, abs=1e-6)
    assert n["background_share"] == pytest.approx(0.0) and n["background_area"] == pytest.approx(0.5)
    assert n["background_score"] == pytest.approx(0.0) and n["chance"] == pytest.approx(1 / 3)


def test_explain_scores_in_exact_fp32_through_the_runners_switch(monkeypatch):
    """fp32 means fp32 for attribution too: the scorer (and so Grad-CAM's passes, the switch being
    process-wide) turns TF32 off on CUDA through the one function the evaluation runner uses."""
    from weirdkinetics import inference

    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    before = (matmul.allow_tf32, cudnn.allow_tf32)
    try:
        matmul.allow_tf32 = cudnn.allow_tf32 = True
        inference.exact_fp32(torch.device("cpu"))
        assert matmul.allow_tf32 and cudnn.allow_tf32
        inference.exact_fp32(torch.device("cuda", 0))  # no GPU needed: only the switches change
        assert not matmul.allow_tf32 and not cudnn.allow_tf32
    finally:
        matmul.allow_tf32, cudnn.allow_tf32 = before

    seen = []
    monkeypatch.setattr(inference, "exact_fp32", seen.append)
    model = load_model(TINY, "random:0", "cpu")
    Scorer(model, [str(i) for i in range(400)], ["0", "1"])
    assert seen == [torch.device("cpu")]


# -- explain end to end ----------------------------------------------------------------------------------


@pytest.fixture
def explain_set(tmp_path):
    """Three lossless videos with true masks: a person square, an empty mask (excluded), a missing file."""
    from weirdkinetics.encode import write_video
    from weirdkinetics.manifest import write_manifest

    rng = np.random.default_rng(0)
    rows = []
    for i, name in enumerate(["a", "b", "gone"]):
        frames = rng.integers(0, 255, (72, 48, 64, 3), dtype=np.uint8)
        masks = np.zeros((72, 48, 64), bool)
        if name == "a":
            masks[:, 10:40, 20:40] = True
        if name != "gone":
            write_video(tmp_path / f"{name}.mkv", frames, 30, lossless=True)
        np.savez_compressed(tmp_path / f"{name}.mask.npz", masks=masks)
        rows.append(
            {
                "path": f"{name}.mkv",
                "label": "abseiling",
                "split": "real",
                "video_id": name,
                "source_id": name,
                "mask_path": f"{name}.mask.npz",
            }
        )
    return write_manifest(tmp_path / "manifest.csv", rows)


def test_explain_stores_one_row_per_video_and_method_and_resumes(explain_set, tmp_path):
    out = tmp_path / "out"
    first = api.explain(explain_set, "tiny_c3d", out, weights="random:0", segmenter="true", progress=False)
    assert first.summary.computed == 6 and first.summary.reused == 0
    with Store(first.store) as store:
        rows = {(a.video_id, a.method): a for a in store.attributions(first.run_id)}
    assert set(rows) == {(v, m) for v in ("a", "b", "gone") for m in ("gradcam", "occlusion")}
    ok = rows[("a", "gradcam")]
    assert ok.status == "ok", ok.reason
    assert 0.0 <= ok.numbers["background_share"] <= 1.0 and ok.numbers["target"] == "abseiling"
    assert len(ok.numbers["deletion"]["salient_drop"]) == 10 and ok.numbers["num_clips"] == 1
    assert ok.saliency is not None and ok.saliency.shape == ok.person.shape and ok.person.any()
    assert rows[("a", "occlusion")].numbers["person_drop"] is not None
    assert (
        rows[("b", "gradcam")].status == "excluded"
        and "no usable person mask" in rows[("b", "gradcam")].reason
    )
    assert rows[("gone", "occlusion")].status == "missing"
    # a second run recomputes only what may have changed (missing files), nothing else
    again = api.explain(explain_set, "tiny_c3d", out, weights="random:0", segmenter="true", progress=False)
    assert again.summary.reused == 4 and again.summary.computed == 2
    # other settings are other rows
    more = api.explain(
        explain_set,
        "tiny_c3d",
        out,
        weights="random:0",
        segmenter="true",
        methods=["occlusion"],
        target="pred",
        progress=False,
    )
    assert more.summary.computed == 3

    report = api.make_report(first.store, tmp_path / "report")
    html = report["html"].read_text()
    assert "Where does the model look?" in html and "no usable person mask" in html
    metrics = json.loads(report["metrics"].read_text())
    groups = metrics["runs"][0]["attribution"]["groups"]
    assert {g["method"] for g in groups} == {"gradcam", "occlusion"}


def test_a_still_image_is_not_a_video_for_explain_as_for_evaluate(tmp_path):
    """A PNG, and a JPEG renamed .mp4, end ``not_video`` with evaluation's reason (one shared pre-decode
    check), not as a 1-frame "short" video whose masks are then looked for."""
    from PIL import Image

    from weirdkinetics.manifest import write_manifest

    pixels = np.random.default_rng(1).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "photo.png")
    Image.fromarray(pixels).save(tmp_path / "photo.mp4", format="JPEG")
    rows = [
        {"path": name, "label": "abseiling", "split": "real", "video_id": name, "mask_path": "m.npz"}
        for name in ("photo.png", "photo.mp4")
    ]
    manifest = write_manifest(tmp_path / "m.csv", rows)
    kw = {"weights": "random:0", "progress": False}
    explained = api.explain(manifest, "tiny_c3d", tmp_path / "x", segmenter="true", **kw)
    evaluated = api.evaluate(manifest, ["tiny_c3d"], tmp_path / "e", **{**kw, "weights": ["random:0"]})
    with Store(explained.store) as store:
        got = {(a.video_id, a.method): (a.status, a.reason) for a in store.attributions(explained.run_id)}
    with Store(evaluated.store) as store:
        run = store.runs()[0]
        want = {p.video_id: (p.status, p.reason) for p in store.predictions(run.run_id, len(run.class_names))}
    assert {v[0] for v in want.values()} == {"not_video"}
    assert got == {(vid, m): want[vid] for vid in want for m in ("gradcam", "occlusion")}
    assert explained.summary.counts["occlusion"] == {"not_video": 2}


def test_explain_refuses_gradcam_for_a_card_without_a_layer(explain_set, tmp_path, monkeypatch):
    from weirdkinetics.models import registry

    bare = dataclasses.replace(TINY, cam_layers=())
    monkeypatch.setitem(registry._registry(), "tiny_c3d", bare)
    with pytest.raises(UserError, match="occlusion"):
        api.explain(
            explain_set, "tiny_c3d", tmp_path / "o", weights="random:0", methods=["gradcam"], segmenter="true"
        )


def test_hostile_labels_stay_escaped_in_the_attribution_section(tmp_path):
    from weirdkinetics.report import write_report
    from weirdkinetics.results import RunResults, VideoResult

    bad = "<script>alert(1)</script>"
    run = RunResults("r1", "m", [VideoResult("v1", "", bad, "real", "ok", pred=bad, pred_score=1.0)], [bad])
    record = {
        "video_id": "v1",
        "method": "occlusion",
        "settings_key": "k",
        "settings": {"segmenter": bad},
        "status": "ok",
        "reason": "",
        "row": {"label": bad, "split": "real", "background": bad, "source_id": "s"},
        "numbers": {
            "background_share": 0.5,
            "background_score": 1.0,
            "person_drop": 0.1,
            "background_drop": 0.1,
        },
        "has_map": False,
    }
    files = write_report([run], tmp_path, attributions={"r1": [record]}, n_boot=50)
    html = files["html"].read_text()
    assert "Where does the model look?" in html and bad not in html and "&lt;script&gt;" in html


def test_cli_explain_runs_and_refuses_with_one_line(explain_set, tmp_path, capsys, monkeypatch):
    from weirdkinetics.cli import main
    from weirdkinetics.models import registry

    rc = main(
        [
            "explain",
            "--model",
            "tiny_c3d",
            "--weights",
            "random:0",
            "--manifest",
            str(explain_set),
            "--out",
            str(tmp_path / "o"),
            "--segmenter",
            "true",
            "--method",
            "occlusion",
            "--no-progress",
        ]
    )
    assert rc == 0 and "occlusion: excluded 1, missing 1, ok 1" in capsys.readouterr().out
    monkeypatch.setitem(registry._registry(), "tiny_c3d", dataclasses.replace(TINY, cam_layers=()))
    rc = main(
        [
            "explain",
            "--model",
            "tiny_c3d",
            "--weights",
            "random:0",
            "--manifest",
            str(explain_set),
            "--out",
            str(tmp_path / "o"),
            "--method",
            "gradcam",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1 and "occlusion" in err


def test_explain_real_footage_with_mediapipe_masks_and_the_cache(tmp_path):
    """Real clips through MediaPipe (cached): a person video is explained, the rotating Earth and a close-up whose
    mask covers most of the frame are excluded with synth's reasons, the corrupt file gets evaluate's status; a
    rerun reuses the cached masks and the rows."""
    pytest.importorskip("mediapipe")
    from conftest import shared_video

    from weirdkinetics.manifest import write_manifest

    rows = [
        {
            "path": str(shared_video("flipping_pancake__decord.mkv")),
            "label": "flipping pancake",
            "split": "real",
        },
        {"path": str(shared_video("awk_vp9_opus__gradio.webm")), "label": "abseiling", "split": "real"},
        {"path": str(shared_video("awk_corrupted_nal__decord.mp4")), "label": "abseiling", "split": "real"},
        # two arm wrestlers close up: MediaPipe's "person" covers about 63 % of the frame
        {
            "path": str(shared_video("arm_wrestling__mmaction2_demo.mp4")),
            "label": "arm wrestling",
            "split": "real",
        },
    ]
    manifest = write_manifest(tmp_path / "m.csv", rows)
    out = tmp_path / "out"
    first = api.explain(manifest, "tiny_c3d", out, weights="random:0", methods=["occlusion"], progress=False)
    with Store(first.store) as store:
        got = {a.video_id: a for a in store.attributions(first.run_id)}
    order = [
        str(Path(r["path"]).resolve()) for r in rows
    ]  # stored paths are resolved (../shared may be a link)
    person, earth, corrupt, close_up = (
        got[k] for k in sorted(got, key=lambda k: order.index(str(Path(got[k].path).resolve())))
    )
    assert person.status == "ok", person.reason
    assert person.numbers["mask_coverage"] > 0.01 and person.numbers["person_drop"] is not None
    assert earth.status == "excluded" and "no usable person mask" in earth.reason
    # a synthetic test pattern with a corrupt packet: no person in it, and the decode note is kept
    assert corrupt.status == "excluded" and "no usable person mask" in corrupt.reason
    # a "person" over half of the frame is not only the person: excluded with that reason
    assert close_up.status == "excluded" and "over 50%" in close_up.reason
    assert any((out / "mask-cache").rglob("*.npz"))
    again = api.explain(manifest, "tiny_c3d", out, weights="random:0", methods=["occlusion"], progress=False)
    assert again.summary.computed == 0 and again.summary.reused == 4


def test_cli_explain_report_needs_no_earlier_evaluate(explain_set, tmp_path, capsys):
    from weirdkinetics.cli import main

    out = tmp_path / "fresh"  # nothing evaluated here: the run is only explained
    args = ["explain", "--model", "tiny_c3d", "--weights", "random:0", "--manifest", str(explain_set)]
    args += ["--out", str(out), "--segmenter", "true", "--method", "occlusion", "--report", "--no-progress"]
    rc = main(args)
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    html = (out / "report.html").read_text()
    assert "Where does the model look?" in html and "no usable person mask" in html
    groups = json.loads((out / "metrics.json").read_text())["runs"][0]["attribution"]["groups"]
    assert [g["method"] for g in groups] == ["occlusion"] and groups[0]["counted"] == 1


def _demo_class_set(tmp_path):
    """Two lossless videos labelled with demo classes, each with a person square."""
    from weirdkinetics.encode import write_video
    from weirdkinetics.labels import DEMO_CLASSES
    from weirdkinetics.manifest import write_manifest

    rng = np.random.default_rng(1)
    rows = []
    for i, label in enumerate(DEMO_CLASSES[:2]):
        frames = rng.integers(0, 255, (40, 48, 64, 3), dtype=np.uint8)
        masks = np.zeros((40, 48, 64), bool)
        masks[:, 8:40, 24:40] = True
        write_video(tmp_path / f"d{i}.mkv", frames, 15, lossless=True)
        np.savez_compressed(tmp_path / f"d{i}.mask.npz", masks=masks)
        rows.append(
            {"path": f"d{i}.mkv", "label": label, "split": "real", "video_id": f"d{i}",
             "source_id": f"d{i}", "mask_path": f"d{i}.mask.npz"}
        )  # fmt: skip
    return write_manifest(tmp_path / "demo.csv", rows)


@pytest.mark.parametrize(
    "model, weights, set_of",
    [
        ("tiny_c3d", "random:0", "k400"),
        ("tiny_c3d", "random:7", "k400"),
        ("tiny_c3d_demo", "random:0", "demo"),
        ("demo_c3d", "random:0", "demo"),
        ("demo_c3d", "random:5", "demo"),
    ],
)
def test_random_weights_maps_are_never_called_faithful(model, weights, set_of, explain_set, tmp_path):
    from weirdkinetics.metrics.attribution import FAITHFUL, attribution_summary

    manifest = explain_set if set_of == "k400" else _demo_class_set(tmp_path)
    out = api.explain(manifest, model, tmp_path / "o", weights=weights, segmenter="true", progress=False)
    with Store(out.store) as store:
        rows = [a for a in store.attributions(out.run_id) if a.status == "ok"]
    assert rows
    for a in rows:
        if a.method == "gradcam":
            deletion = a.numbers["deletion"]
            assert deletion["verdict"] != FAITHFUL and not deletion["faithful"], deletion
            assert deletion["base_score"] < 2 * deletion["chance"] or deletion["reason"]
        else:
            assert a.numbers["assessable"] is False or a.numbers["base_score"] >= 2 * a.numbers["chance"]
    records = [{**_attribution_record(a)} for a in rows]
    for group in attribution_summary(records, n_boot=50)["groups"]:
        if group["method"] == "gradcam":
            assert group["overall"]["faithful"] == 0 and not group["beats_random"]
            assert len(group["not_assessable"]) + group["overall"]["not_faithful"] == group["counted"]


def test_report_pairs_a_model_with_its_random_weights_twin_for_the_randomisation_check(explain_set, tmp_path):
    """Model randomisation (Adebayo et al. 2018) with a known answer: a "trained" checkpoint that holds exactly
    the random copy's weights gives the same maps (rank correlation 1), so the report must say the method is
    not explaining the model."""
    same = tmp_path / "same-as-random.pt"
    torch.save(load_model(TINY, "random:0").module.state_dict(), same)
    out = tmp_path / "o"
    for weights in (str(same), "random:0"):
        api.explain(
            explain_set,
            "tiny_c3d",
            out,
            weights=weights,
            segmenter="true",
            methods=["gradcam"],
            progress=False,
        )
    report = api.make_report(out / "predictions.sqlite", tmp_path / "report")
    runs = json.loads(report["metrics"].read_text())["runs"]
    checked = [r for r in runs if not r["provenance"]["weights_digest"].startswith("random")]
    (group,) = checked[0]["attribution"]["groups"]
    check = group["randomisation"]
    assert check["rho"] == {"a": pytest.approx(1.0)} and check["verdict"] == "not explaining the model"
    assert all(r["attribution"]["groups"][0]["randomisation"] is None for r in runs if r not in checked)
    html = report["html"].read_text()
    assert "Grad-CAM is NOT explaining the model" in html


def test_clips_are_averaged_then_judged_at_the_videos_mean_score():
    from weirdkinetics.attribution.methods import mean_numbers
    from weirdkinetics.metrics.attribution import deletion_result

    def clip(base, salient):
        deletion = deletion_result((0.1, 0.2), salient, [[0.0, 0.0], [0.01, 0.01]], base, 0.2).to_dict()
        occlusion = {"base_score": base, "chance": 0.2, "person_drop": base / 2, "assessable": base >= 0.4}
        return deletion, occlusion

    (d1, o1), (d2, o2) = clip(0.9, [0.5, 0.6]), clip(0.1, [0.0, 0.0])
    assert d1["verdict"] == "faithful" and d2["verdict"] == "not assessable"
    occ = mean_numbers([o1 | {"assessable_reason": ""}, o2 | {"assessable_reason": "below"}])
    assert (
        occ["base_score"] == pytest.approx(0.5)
        and occ["assessable"] is True
        and occ["assessable_reason"] == ""
    )
    cam = mean_numbers([{"base_score": 0.9, "deletion": d1}, {"base_score": 0.1, "deletion": d2}])["deletion"]
    assert cam["base_score"] == pytest.approx(0.5) and cam["salient_drop"] == pytest.approx([0.25, 0.3])
    assert np.allclose(cam["random_drops"], [[0.0, 0.0], [0.01, 0.01]])
    assert cam["verdict"] == "faithful"

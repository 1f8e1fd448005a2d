"""A store holding many runs, written directly through the store API (no model, no video): what a study of
many models and samplings leaves behind, for the report's scaling tests and ``benchmarks/report_scale.py``.

Each run is one (card, weights, sampling) over the same hand-made manifest of ``videos`` rows: two splits
(real, weird) linked by ``source_id``, backgrounds, a few classes, and seeded scores whose accuracy differs per
run, plus one row per run that ended ``decode_error`` (a denominator to print).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from weirdkinetics.store import RunInfo, Store, StoredPrediction

CLASSES = ["archery", "bowling", "cooking", "dancing", "juggling", "skiing"]
BACKGROUNDS = ["beach", "forest", "gym"]


def _row(i: int) -> dict:
    """Manifest metadata of row ``i``: pairs of (real, weird) versions of one recording."""
    return {
        "label": CLASSES[(i // 2) % len(CLASSES)],
        "split": "real" if i % 2 == 0 else "weird",
        "background": BACKGROUNDS[(i // 2) % len(BACKGROUNDS)],
        "source_id": f"rec{i // 2}",
    }


def _prediction(i: int, rng: np.random.Generator, skill: float) -> StoredPrediction:
    """Row ``i`` of a run whose top-1 is right with probability about ``skill``; the last row failed to
    decode."""
    row = _row(i)
    path = f"/videos/clip{i:05d}.mp4"
    if i == 0:
        return StoredPrediction(
            f"clip{i:05d}", path, row, "decode_error", "hand-made failure", None, None, None, None, None, None
        )
    scores = rng.dirichlet(np.ones(len(CLASSES))).astype(np.float32)
    if rng.random() < skill:
        scores[CLASSES.index(row["label"])] += 1.0
    scores /= scores.sum()
    return StoredPrediction(f"clip{i:05d}", path, row, "ok", "", 32, 1, scores, None, 0.01, 0.01)


def write_many_runs(store_path: str | Path, runs: int, videos: int = 40, seed: int = 0) -> list[str]:
    """Write ``runs`` runs of ``videos`` rows each into a new store at ``store_path``; return their run ids
    in the order written. Every run records its evaluation (the plan: every row's id) like ``evaluate``."""
    rng = np.random.default_rng(seed)
    ids = [f"clip{i:05d}" for i in range(videos)]
    run_ids = []
    with Store(store_path) as store:
        # Hand-made rows need no durability; without this each row's commit waits for the disk (minutes for
        # a thousand runs).
        store.db.execute("PRAGMA synchronous=OFF")
        for r in range(runs):
            run_id = f"{r:04d}{'ab' * 8}"
            model = f"model{r:04d}"
            store.ensure_run(
                RunInfo(
                    run_id,
                    model,
                    {"name": model},
                    f"{r:040x}",
                    "hand-made",
                    "uniform-8",
                    {"frames": 8},
                    CLASSES,
                )
            )
            store.record_evaluation(run_id, "/videos/m.csv", "m0", CLASSES, ids, {"run_label": ""})
            skill = 0.3 + 0.6 * (r % 7) / 6
            for i in range(videos):
                store.put(run_id, _prediction(i, rng, skill))
            run_ids.append(run_id)
    return run_ids

"""``weirdkinetics demo``: the controlled background-shortcut experiment, end to end, offline.

generate the real/weird test set -> train a shortcut model and a control model -> evaluate both through the
registered ``demo_c3d`` card and ``--weights`` checkpoints, exactly as any model -> one report comparing them.
Every phase is skipped when its output already exists for the same configuration (the generators' and
``train_model``'s ``reuse``), so a rerun is quick.
"""

from __future__ import annotations

import json
from pathlib import Path

from weirdkinetics.demo.config import DemoConfig
from weirdkinetics.outputs import atomic_write_text, check_output_dir
from weirdkinetics.results import RunResults

CARD = "demo_c3d"


def background_capture(run: RunResults, split: str = "weird") -> tuple[int, int]:
    """(videos of ``split`` predicted as the class that owns their background, videos with a prediction)."""
    rows = [v for v in run.videos if v.split == split and v.has_prediction and v.extra.get("bg_class")]
    return sum(v.pred == v.extra["bg_class"] for v in rows), len(rows)


def run_demo(
    out: str | Path = "weirdkinetics-demo",
    model: str | None = None,
    weights: str | None = None,
    small: bool = False,
    seed: int = 0,
    progress: bool = True,
    config: DemoConfig | None = None,
) -> dict:
    """Run the demo into ``out``; return the headline numbers (also printed).

    model: evaluate this registered model on the generated set instead of training the two demo models.
    """
    from weirdkinetics import api
    from weirdkinetics.demo.generate import generate_dataset, generate_training_set
    from weirdkinetics.demo.train import train_model
    from weirdkinetics.models import get_card

    out = check_output_dir(out, "--out")
    config = config or (DemoConfig.small() if small else DemoConfig())
    config = config.with_(data_seed=config.data_seed + seed, train_seed=config.train_seed + seed)
    print(f"[1/4] test set: {config.test_per_class_split} recordings per class, each on its real and a weird background")
    test_manifest = generate_dataset(
        out / "data" / "test", config.test_per_class_split, config.data_seed, config, progress, reuse=True
    )
    if model:
        card = get_card(model)
        print(f"[2/4] skipping training: evaluating registered model '{model}' ({card.description or card.zoo})")
        models, ckpts, labels = [model], [weights], [f"{model} (user-chosen)"]
    else:
        card = get_card(CARD)
        models, ckpts, labels = [CARD, CARD], [], ["shortcut", "control"]
        print(f"[2/4] training two {CARD} models ({config.epochs} epochs each, seed {config.train_seed})")
        for flavour in ("shortcut", "control"):
            manifest = generate_training_set(
                out / "data" / f"train_{flavour}", config.train_per_class, config.data_seed, flavour, config,
                progress=progress, reuse=True,
            )
            ckpt = train_model(
                card, manifest, config.train_seed, config.epochs, out / "checkpoints" / f"{flavour}.pt",
                config.clips_per_video, config.batch_size, config.lr, config.weight_decay, progress, reuse=True,
            )
            ckpts.append(str(ckpt))
    print("[3/4] evaluating through the registry, --weights and the store, like any model")
    outcome = api.evaluate(
        test_manifest, models, out, weights=ckpts, classes="all", progress=progress, run_labels=labels,
        export=out / "predictions.csv",
    )
    print("[4/4] report")
    report = api.make_report(outcome.store, out / "report", run_ids=outcome.run_ids, manifest=outcome.manifest)
    runs = api.load_results(outcome.store, outcome.run_ids, outcome.manifest)
    from weirdkinetics.metrics import run_metrics

    headline = {}
    print("\nheadline (accuracy with 95% Wilson interval, n videos):")
    for run in runs:
        m = run_metrics(run, n_boot=1000)
        row = {}
        for split in ("real", "weird"):
            s = m["splits"].get(split)
            if s:
                row[split] = s
                lo, hi = s["ci95"]
                print(f"  {run.model:<40} {split:<6} {100 * s['accuracy']:5.1f}%  [{100 * lo:.1f}, {100 * hi:.1f}]  n={s['n']}")
        gap = m.get("gaps", {}).get("real-weird")
        if gap:
            lo, hi = gap["ci95"]
            print(f"  {'':<40} gap    {100 * gap['value']:+5.1f} pts [{100 * lo:+.1f}, {100 * hi:+.1f}]")
            row["gap"] = gap
        took, n = background_capture(run)
        if n:
            print(f"  {'':<40} weird videos predicted as the background's class: {took}/{n}")
            row["background_capture"] = [took, n]
        headline[run.model] = row
    print(f"\nreport: {report.get('html')}")
    atomic_write_text(out / "headline.json", json.dumps(headline, indent=2) + "\n")
    return headline

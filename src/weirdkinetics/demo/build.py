"""Everything the demo needs before evaluation: the test set and the two trained checkpoints.

Evaluation and the report are not here: the demo evaluates its checkpoints through the toolkit's own path
(registered card, ``--weights``, the store, the report), exactly like any other model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from weirdkinetics.demo.config import DemoConfig
from weirdkinetics.demo.generate import FLAVOURS, generate_dataset, generate_training_set
from weirdkinetics.demo.train import train_model
from weirdkinetics.models.registry import get_card

DEMO_MODEL = "demo_c3d"


@dataclass(frozen=True)
class DemoBuild:
    """Paths of a built demo. ``checkpoints`` and ``train_manifests`` are keyed by flavour
    (``shortcut``, ``control``)."""

    test_manifest: Path
    train_manifests: dict[str, Path]
    checkpoints: dict[str, Path]


def build_demo(
    out_dir: str | Path,
    config: DemoConfig | None = None,
    model: str = DEMO_MODEL,
    progress: bool = True,
    reuse: bool = True,
) -> DemoBuild:
    """Generate the demo's test and training sets under ``out_dir`` and train the two models.

    Layout: ``data/test/manifest.csv`` (real/weird pairs with masks), ``data/train-shortcut/`` and
    ``data/train-control/`` (training videos), ``models/shortcut.pt`` and ``models/control.pt`` (bare
    state dicts for ``--weights``, each with a ``.json`` of its settings). With ``reuse`` (default) files
    from an earlier run with the same settings are kept, so a second ``weirdkinetics demo`` starts at
    evaluation.
    """
    config = config or DemoConfig()
    card = get_card(model)
    out_dir = Path(out_dir)
    test = generate_dataset(
        out_dir / "data" / "test", config.test_per_class_split, config.data_seed, config, progress, reuse
    )
    train_manifests, checkpoints = {}, {}
    for flavour in FLAVOURS:
        train_manifests[flavour] = generate_training_set(
            out_dir / "data" / f"train-{flavour}",
            config.train_per_class,
            config.data_seed,
            flavour,
            config,
            progress=progress,
            reuse=reuse,
        )
        checkpoints[flavour] = train_model(
            card,
            train_manifests[flavour],
            config.train_seed,
            config.epochs,
            out_dir / "models" / f"{flavour}.pt",
            clips_per_video=config.clips_per_video,
            batch_size=config.batch_size,
            lr=config.lr,
            weight_decay=config.weight_decay,
            progress=progress,
            reuse=reuse,
        )
    return DemoBuild(test_manifest=test, train_manifests=train_manifests, checkpoints=checkpoints)

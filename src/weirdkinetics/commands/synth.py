"""``synth``: out-of-context variants of a manifest, with the engine chosen here, above the stage."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from weirdkinetics.params import checked, synth_options, text
from weirdkinetics.params import path as a_path

if TYPE_CHECKING:
    from weirdkinetics.synth.generate import SynthResult


@checked(variant=text(), weights=a_path(optional=True), options=synth_options)
def synthesize(
    variant: str,
    manifest_path: str | Path,
    out_dir: str | Path,
    backgrounds: str | Path | None = None,
    segmenter: str = "mediapipe",
    seed: int = 0,
    *,
    weights: str | None = None,
    options: object | None = None,
    progress: bool = True,
    engine: str = "local",
    address: str | None = None,
    actors: int | None = None,
) -> SynthResult:
    """Make ``variant`` of every row of a manifest (see ``synth.generate.run_synth``); return the derived
    manifest's path with the run's record (``counts`` per synth status, settings, versions), as also
    written to ``synth.json``. engine: ``local`` or ``ray`` (rows made by Ray actors at ``address``; the
    same files). The engine is chosen here, above the stage: synth plans, checks and writes; the engine makes
    the rows."""
    from weirdkinetics.engines import check_engine
    from weirdkinetics.synth.generate import run_synth

    check_engine(engine, address, actors)
    rows_runner = None  # synth's own: row by row here
    if engine == "ray":
        from weirdkinetics.engines.ray_engine import synth_rows_ray

        def rows_runner(setup, sources, work, on_row):
            return synth_rows_ray(setup, work, address, actors, on_row=on_row)

    return run_synth(
        variant, manifest_path, out_dir, backgrounds=backgrounds, segmenter=segmenter, seed=seed,
        weights=weights, options=options, progress=progress, rows_runner=rows_runner,
    )  # fmt: skip

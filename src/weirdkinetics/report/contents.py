"""What a report shows, computed once: per run its metrics, its derived-set metrics and the videos of its
qualitative panel. Pure (no IO): the API decodes frame strips for exactly ``qualitative``, the writer lays
these out as files, and callers such as the demo read the same numbers instead of recomputing them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from weirdkinetics.metrics.summary import RunMetrics, measure_run
from weirdkinetics.metrics.variants import VariantMetrics, measure_variants, variant_of
from weirdkinetics.report.qualitative import qualitative_selection
from weirdkinetics.results import RunResults, VideoResult


@dataclass(frozen=True)
class RunReport:
    """One run's section: ``variants`` only for runs holding derived rows (synth's ``variant`` column);
    ``qualitative``: the most confident mistakes, then a seeded sample of correct predictions."""

    run: RunResults
    metrics: RunMetrics
    variants: VariantMetrics | None
    qualitative: tuple[VideoResult, ...]


@dataclass(frozen=True)
class ReportContents:
    """Every run's section, in order, and the bootstrap settings that produced their intervals."""

    runs: tuple[RunReport, ...]
    seed: int
    n_boot: int

    def matches(self, runs: Sequence[RunResults], seed: int, n_boot: int) -> bool:
        """True when prepared from exactly these run objects with these settings."""
        return (
            len(self.runs) == len(runs)
            and all(r.run is run for r, run in zip(self.runs, runs))
            and (self.seed, self.n_boot) == (seed, n_boot)
        )


def prepare_report(runs: Sequence[RunResults], seed: int = 0, n_boot: int = 2000) -> ReportContents:
    """Metrics (bootstrap with ``seed`` and ``n_boot``), derived-set metrics and the qualitative selection
    (sampled with ``seed``) of every run, once."""
    return ReportContents(
        tuple(
            RunReport(
                run,
                measure_run(run, seed=seed, n_boot=n_boot),
                measure_variants(run, seed=seed, n_boot=n_boot)
                if any(variant_of(v) for v in run.videos)
                else None,
                tuple(qualitative_selection(run, seed=seed)),
            )
            for run in runs
        ),
        seed,
        n_boot,
    )

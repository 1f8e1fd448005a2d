"""``export_csv``: one CSV row per manifest row from the store."""

from __future__ import annotations

import json
from pathlib import Path

from weirdkinetics.commands.files import input_files
from weirdkinetics.errors import option
from weirdkinetics.manifest import Manifest
from weirdkinetics.outputs import check_output_file, check_outputs, write_csv
from weirdkinetics.params import checked, instance, text
from weirdkinetics.params import path as a_path

EXPORT_COLUMNS = [
    "video_id",
    "path",
    "label",
    "split",
    "background",
    "status",
    "reason",
    "pred",
    "pred_score",
    "pred_all",
    "pred_all_score",
    "top5",
]


@checked(manifest=instance(Manifest, "a Manifest"), run_id=text(optional=True), out=a_path())
def export_csv(store_path: str | Path, manifest: Manifest, run_id: str | None, out: str | Path) -> Path:
    """One row per manifest row (per run when ``run_id`` is None and the store holds several):
    ``video_id, path, label, split, background, status, reason, pred, pred_score, pred_all,
    pred_all_score, top5`` (JSON ``[class, score]`` pairs) plus the manifest's extra columns.

    Written atomically; cells a spreadsheet would run as formulas are neutralised (``outputs.neutralise_cell``).
    Refuses an ``out`` that is the store, the manifest or one of its videos."""
    from weirdkinetics.results import load_runs

    out = check_output_file(out, option("out"))
    check_outputs({option("out"): out}, {**input_files(manifest), "the store": Path(store_path)})
    runs = load_runs(store_path, [run_id] if run_id else None, manifest=manifest)
    extras: list[str] = []
    for r in manifest.rows:
        extras += [k for k in r.extra if k not in extras]
    columns = (
        (["run", "model"] if len(runs) > 1 else [])
        + EXPORT_COLUMNS
        + [e for e in extras if e not in EXPORT_COLUMNS]
    )

    def records():
        for run in runs:
            by_id = {v.video_id: v for v in run.videos}
            for row in manifest.rows:
                v = by_id.get(row.video_id)
                rec = {
                    "run": run.run_id,
                    "model": run.model,
                    "video_id": row.video_id,
                    "path": row.path_text,
                    "label": row.label,
                    "split": row.split,
                    "background": row.background,
                    "status": v.status if v else "missing",
                    "reason": v.reason if v else "not evaluated",
                }
                if v and v.has_prediction:
                    rec.update(
                        pred=v.pred,
                        pred_score=f"{v.pred_score:.6f}",
                        pred_all=v.pred_all,
                        pred_all_score=f"{v.pred_all_score:.6f}",
                        top5=json.dumps([[c, round(s, 6)] for c, s in v.topk]),
                    )
                rec.update({k: val for k, val in row.extra.items() if k in columns})
                yield [rec.get(c, "") for c in columns]

    return write_csv(out, columns, records())

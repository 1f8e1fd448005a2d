"""A report of many runs costs in proportion to the runs (issue 22, item 11): beyond ``SECTIONS_MAX`` runs the
page is an overview (one table row per run: headline numbers, denominators, completeness) that embeds no run's
figures and grows linearly; each run's full section is a page of its own on request (``--run-pages``). A
standalone report holds its output folder's lock. Sizes are compared, never times."""

from __future__ import annotations

import json
import os
import re

from many_runs import write_many_runs

from weirdkinetics import api
from weirdkinetics.cli import main
from weirdkinetics.report import write_report
from weirdkinetics.report.overview import SECTIONS_MAX
from weirdkinetics.report.writer import shows_sections
from weirdkinetics.results import load_runs, run_plan
from weirdkinetics.store import Store

VIDEOS = 8  # rows per run: enough for two splits, a gap and a decode_error


def _report(tmp_path, runs: int) -> tuple[dict, object]:
    store = tmp_path / f"s{runs}.sqlite"
    ids = write_many_runs(store, runs, videos=VIDEOS)
    out = tmp_path / f"r{runs}"
    return api.make_report(store, out), ids


def test_a_many_run_report_is_an_overview_that_embeds_no_figure_and_grows_linearly(tmp_path):
    sizes = {}
    for runs in (SECTIONS_MAX + 2, 2 * (SECTIONS_MAX + 2), 4 * (SECTIONS_MAX + 2)):
        files, ids = _report(tmp_path, runs)
        html = files["html"].read_text(encoding="utf-8")
        out = files["html"].parent
        assert "data:image" not in html and "<figure" not in html  # no run's figures, no side-by-side plot
        assert not list((out / "figures").iterdir())
        assert sorted(p.name for p in (out / "tables").iterdir()) == ["all__overview.csv"]
        assert all(run_id in html for run_id in ids)  # every run has its row
        assert "--run-pages" in html and not (out / "runs").exists()
        metrics = json.loads(files["metrics"].read_text(encoding="utf-8"))
        assert [m["run"] for m in metrics["runs"]] == ids  # every run's numbers stay in metrics.json
        sizes[runs] = {k: files[k].stat().st_size for k in ("html", "markdown", "metrics")}
    small, medium, large = (sizes[n] for n in sorted(sizes))
    for key in small:
        # doubling the runs adds about as many bytes as the previous doubling's half did: linear, not more
        # (a per-run figure, or one figure as wide as all the runs, would grow faster)
        assert large[key] - medium[key] <= 2.2 * (medium[key] - small[key]), (key, sizes)


def test_the_overview_table_has_each_runs_denominators_completeness_and_intervals(tmp_path):
    store = tmp_path / "s.sqlite"
    ids = write_many_runs(store, SECTIONS_MAX + 1, videos=VIDEOS)
    with Store(store) as s:  # a second manifest planned for the first run, never evaluated: it is unfinished
        s.record_evaluation(ids[0], "/videos/more.csv", "m1", [], ["later1", "later2"], {})
    files = api.make_report(store, tmp_path / "r")
    csv_text = (tmp_path / "r" / "tables" / "all__overview.csv").read_text(encoding="utf-8")
    header, first, second, *_ = csv_text.splitlines()
    assert header.startswith("run,model,rows,counted,not_counted,planned,not_evaluated,real:n,real:accuracy")
    assert first.split(",")[:7] == [ids[0], "model0000 [000000000000]", "8", "7", "1", "10", "2"]
    assert second.split(",")[:7] == [ids[1], "model0001 [000000000000]", "8", "7", "1", "8", "0"]
    md = files["markdown"].read_text(encoding="utf-8")
    assert "incomplete: 2 of 10 planned rows not evaluated yet" in md and "1 of 11 runs are incomplete" in md
    # "complete" in the header, then in the rows of the 10 complete runs
    assert md.count("| complete |") == SECTIONS_MAX + 1 and "decode\\_error 1" in md
    assert "gap real-weird" in md and " pts \\[" in md  # the gap with its interval
    metrics = json.loads(files["metrics"].read_text(encoding="utf-8"))
    assert metrics["runs"][0]["incomplete"] == {"planned": 10, "not_evaluated": 2}
    assert "incomplete" not in metrics["runs"][1]


def test_run_pages_hold_each_runs_full_section_linked_and_escaped(tmp_path):
    store = tmp_path / "s.sqlite"
    write_many_runs(store, 3, videos=VIDEOS)
    runs = load_runs(store)
    runs[1].model = "<script>alert(1)</script> & co"
    files = write_report(runs, tmp_path / "r", n_boot=20, run_pages=True, sections_max=2)
    out = tmp_path / "r"
    overview_html = files["html"].read_text(encoding="utf-8")
    assert "data:image" not in overview_html
    pages = sorted(p.name for p in (out / "runs").iterdir())
    assert len(pages) == 6 and all(f"runs/{p}" in files for p in pages)
    for run in runs:
        html_page = next(p for p in pages if p.startswith(run.run_id[:8]) and p.endswith(".html"))
        assert f'href="runs/{html_page}"' in overview_html
        text = (out / "runs" / html_page).read_text(encoding="utf-8")
        assert "data:image/png" in text and "Confusion matrices" in text and run.run_id in text
        assert "<script>" not in text
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in overview_html and "<script>" not in overview_html
    )
    md = files["markdown"].read_text(encoding="utf-8")
    assert "](runs/" in md and ".md)" in md
    figures = list((out / "figures").iterdir())
    assert len(figures) == 3 * 3 * 2  # accuracy, confusion, grid per run; PNG and SVG
    # a run page's Markdown links the report's figures from its own folder (runs/)
    for page in (out / "runs").glob("*.md"):
        images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text(encoding="utf-8"))
        assert images and all((page.parent / image).is_file() for image in images), (page.name, images)


def test_only_reports_that_lay_out_sections_decode_frames():
    assert shows_sections(SECTIONS_MAX) and not shows_sections(SECTIONS_MAX + 1)
    assert shows_sections(SECTIONS_MAX + 1, run_pages=True)


def test_run_pages_from_the_command_line(tmp_path, capsys):
    store = tmp_path / "s.sqlite"
    ids = write_many_runs(store, 2, videos=VIDEOS)
    argv = ["report", "--store", str(store), "--out", str(tmp_path / "r"), "--run-pages"]
    assert main(argv) == 0  # two runs: one page with both sections, --run-pages changes nothing
    assert not (tmp_path / "r" / "runs").exists()
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "Runs side by side" in html and all(f"Run {i}" in html for i in ids)
    assert html.count("data:image/png") >= 1 + 2 * 3  # side by side, then three figures per run


def test_run_plan_counts_planned_ids_without_a_stored_row():
    from weirdkinetics.store import StoredPrediction

    def stored(video_id):
        return StoredPrediction(video_id, f"/v/{video_id}.mp4", {}, "ok", "", 1, 1, None, None, None, None)

    evaluations = [
        {"video_ids": ["a", "b", "c"], "provenance": {}},
        {"video_ids": ["c", "d"], "provenance": {}},
        {"video_ids": ["x", "y"], "provenance": {"explained_only": True}},  # explain stores no prediction
    ]
    plan = run_plan(evaluations, [stored("a"), stored("c")])
    assert (plan.planned, plan.not_stored) == (4, 2)
    assert run_plan(evaluations[2:], [stored("a")]) is None
    assert run_plan([], []) is None


def test_a_report_into_a_busy_folder_is_refused_at_once(tmp_path, capsys):
    import fcntl

    store = tmp_path / "s.sqlite"
    write_many_runs(store, 1, videos=VIDEOS)
    out = tmp_path / "out"
    out.mkdir()
    (out / "earlier.txt").write_text("kept\n")
    fd = os.open(out, os.O_RDONLY)  # another run's lock on the folder
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        assert main(["report", "--store", str(store), "--out", str(out)]) == 1
    finally:
        os.close(fd)
    err = capsys.readouterr().err
    assert "in use by another weirdkinetics run" in err and len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in out.iterdir()) == ["earlier.txt"]
    assert main(["report", "--store", str(store), "--out", str(out)]) == 0  # free again

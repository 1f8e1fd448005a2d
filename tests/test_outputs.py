"""Outputs: atomic, never onto an input, safe file names, no CSV cell a spreadsheet would run (issue 9)."""

from __future__ import annotations

import csv
import os
import re
import resource
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import weirdkinetics
from weirdkinetics import api
from weirdkinetics.cli import main
from weirdkinetics.encode import write_video
from weirdkinetics.errors import UserError
from weirdkinetics.manifest import from_folder, read_manifest, write_manifest
from weirdkinetics.outputs import (
    FORMULA_START,
    atomic_open,
    atomic_write_text,
    neutralise_cell,
    safe_filename,
    unneutralise_cell,
)
from weirdkinetics.report import write_report
from weirdkinetics.results import RunResults, VideoResult, results_from_csv
from weirdkinetics.synth.generate import _output_paths

SRC = str(Path(weirdkinetics.__file__).resolve().parents[1])
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
HOSTILE = ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "=1+1"]


def formula_cells(path: Path) -> list[str]:
    """Cells of a CSV file that a spreadsheet would run as a formula."""
    with open(path, newline="", encoding="utf-8") as fh:
        return [
            c
            for row in csv.reader(fh)
            for c in row
            if c.startswith(FORMULA_START) and NUMBER.fullmatch(c) is None
        ]


def video(path: Path, seed: int = 0, n: int = 80) -> Path:
    frames = np.random.default_rng(seed).integers(0, 255, (n, 32, 32, 3), dtype=np.uint8)
    return write_video(path, frames, 30, lossless=True)


def raw_csv(path: Path, rows: list[list[str]]) -> Path:
    """A CSV exactly as a hostile user wrote it (not through our neutralising writer)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def run_limited(args: list[str], max_file_bytes: int, cwd: Path) -> subprocess.CompletedProcess:
    """Run a Python command where no file may grow past ``max_file_bytes``: writes fail with EFBIG, as on a
    full disk."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    env = {**os.environ, "PYTHONPATH": SRC, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        preexec_fn=limit,
        capture_output=True,
        text=True,
        timeout=300,
    )


def nasty_run(splits: list[str]) -> RunResults:
    videos = []
    for i in range(24):
        label = ("jogging", HOSTILE[0], "push up")[i % 3]
        pred = label if i % 4 else "jogging"
        videos.append(
            VideoResult(
                video_id=HOSTILE[i % len(HOSTILE)] + str(i), path=f"/v/{i}.mp4", label=label,
                split=splits[i % len(splits)], status="ok", background=HOSTILE[(i + 1) % len(HOSTILE)],
                source_id=f"s{i // 2}", pred=pred, pred_score=0.7, extra={"note": HOSTILE[(i + 2) % len(HOSTILE)]},
            )
        )  # fmt: skip
    videos.append(VideoResult("=bad", "/v/bad.mp4", "jogging", splits[0], "decode_error", reason="-x"))
    return RunResults("=run", "@model", videos, ["jogging", HOSTILE[0], "push up"])


# ------------------------------------------------------------------------------------------------ cells


@given(st.text())
def test_neutralised_cells_read_back_the_same_and_never_start_a_formula(text):
    cell = neutralise_cell(text)
    assert unneutralise_cell(cell) == text
    assert not cell.startswith(FORMULA_START) or NUMBER.fullmatch(cell)


def test_numbers_stay_numbers_and_formulas_get_an_apostrophe():
    for number in ("-0.5", "+3", "1e-05", "-2.5E+3", "0.123456", "-7"):
        assert neutralise_cell(number) == number
    for text in ("=1+1", "-2+3", "+A1", "@SUM(A1)", "\tx", "\rx", "-", "-inf"):
        assert neutralise_cell(text) == "'" + text
    assert neutralise_cell("'=x") == "''=x" and unneutralise_cell("''=x") == "'=x"
    assert neutralise_cell("it's") == "it's" and unneutralise_cell("'plain") == "'plain"


def test_hostile_values_through_evaluate_export_and_report_never_start_a_csv_cell(tmp_path):
    video(tmp_path / "=x.mkv", 1)
    video(tmp_path / "v.mkv", 2)
    manifest = raw_csv(
        tmp_path / "m.csv",
        [
            ["path", "label", "split", "background", "video_id", "=col", "note"],
            ["=x.mkv", "jogging", "-weird", "@bg", "=1+1", "+a", HOSTILE[1]],
            ["v.mkv", "push up", "real", HOSTILE[0], "-2+3", "@b", "-0.5"],
        ],
    )
    out = tmp_path / "out"
    rc = main(["evaluate", "--model", "tiny_c3d", "--weights", "random:0", "--manifest", str(manifest),
               "--out", str(out), "--export", str(tmp_path / "e.csv"), "--report", "--no-progress"])  # fmt: skip
    assert rc == 0
    written = [tmp_path / "e.csv", *sorted((out / "tables").glob("*.csv"))]
    assert len(written) > 5
    for path in written:
        assert formula_cells(path) == [], path
    export = list(csv.DictReader(open(tmp_path / "e.csv", encoding="utf-8")))
    assert [r["video_id"] for r in export] == ["'=1+1", "'-2+3"] and export[1]["note"] == "-0.5"
    back = results_from_csv(tmp_path / "e.csv")  # our own export reads back as it was
    assert [v.video_id for v in back.videos] == ["=1+1", "-2+3"]
    assert back.videos[0].extra["=col"] == "+a" and back.videos[0].split == "-weird"
    # a predictions CSV from elsewhere with hostile labels: every table neutralised too
    preds = raw_csv(tmp_path / "p.csv", [["video_id", "label", "pred", "split", "background"]] + [
        [f"{h}{i}", h, HOSTILE[(i + 1) % 5], ("real", "-w")[i % 2], h] for i, h in enumerate(HOSTILE * 2)
    ])  # fmt: skip
    assert main(["report", "--predictions", str(preds), "--out", str(tmp_path / "r")]) == 0
    for path in sorted((tmp_path / "r" / "tables").glob("*.csv")):
        assert formula_cells(path) == [], path


def test_manifests_we_write_are_neutralised_and_read_back_the_same(tmp_path):
    root = tmp_path / "data"
    for label in ("=cmd", "-lunge", "jogging"):
        video(root / "@split" / label / "v.mkv")
    rows = from_folder(root, relative_to=tmp_path)
    out = write_manifest(tmp_path / "m.csv", rows)
    assert formula_cells(out) == []
    back = read_manifest(out)
    assert sorted(r.label for r in back.rows) == ["-lunge", "=cmd", "jogging"]
    assert {r.split for r in back.rows} == {"@split"}
    assert all(r.path.is_file() for r in back.rows)
    assert [r.video_id for r in back.rows] == [r["video_id"] for r in rows]


# ------------------------------------------------------------------------------------------------ atomic


def test_a_failure_mid_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "e.csv"
    target.write_text("old, complete\n")
    with pytest.raises(RuntimeError), atomic_open(target) as fh:
        fh.write("new, half")
        raise RuntimeError("disk gone")
    assert target.read_text() == "old, complete\n"
    assert [p.name for p in tmp_path.iterdir()] == ["e.csv"]
    atomic_write_text(target, "new\n")
    assert target.read_text() == "new\n" and [p.name for p in tmp_path.iterdir()] == ["e.csv"]


def test_a_full_disk_during_report_leaves_the_previous_report_whole(tmp_path):
    preds = raw_csv(tmp_path / "p.csv", [["video_id", "label", "pred", "split", "source_id"]] + [
        [f"v{i}", ("jogging", "push up", "yoga")[i % 3], ("jogging", "push up", "yoga")[(i * 7) % 3],
         ("real", "weird")[i % 2], f"s{i // 2}"] for i in range(60)
    ])  # fmt: skip
    args = ["-m", "weirdkinetics", "report", "--predictions", str(preds), "--out", str(tmp_path / "r")]
    assert run_limited(args, 1 << 30, tmp_path).returncode == 0
    before = {p: p.read_bytes() for p in (tmp_path / "r").rglob("*") if p.is_file()}
    largest_table = max(len(b) for p, b in before.items() if p.suffix == ".csv")
    smallest_png = min(len(b) for p, b in before.items() if p.suffix == ".png")
    assert largest_table < smallest_png
    proc = run_limited([*args, "--seed", "1"], (largest_table + smallest_png) // 2, tmp_path)
    assert proc.returncode == 1
    assert "cannot write" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    after = {p: p.read_bytes() for p in (tmp_path / "r").rglob("*") if p.is_file()}
    assert set(after) == set(before)  # no temporary file left
    for name in ("report.html", "report.md", "metrics.json"):
        assert after[tmp_path / "r" / name] == before[tmp_path / "r" / name]
    for path, data in after.items():
        if path.suffix == ".png":
            assert data.endswith(b"IEND\xaeB`\x82"), path  # whole, never truncated


def test_a_full_disk_during_export_leaves_the_previous_export_whole(tmp_path):
    video(tmp_path / "v.mkv")
    manifest = write_manifest(
        tmp_path / "m.csv", [{"path": "v.mkv", "label": "jogging", "split": "real", "note": "n" * 60_000}]
    )
    outcome = api.evaluate(manifest, ["tiny_c3d"], tmp_path / "o", weights=["random:0"], progress=False,
                           export=tmp_path / "e.csv")  # fmt: skip
    before = (tmp_path / "e.csv").read_bytes()
    assert len(before) > 60_000
    script = (
        "import sys\nfrom weirdkinetics import api\nfrom weirdkinetics.errors import UserError\n"
        "from weirdkinetics.manifest import read_manifest\n"
        "try:\n    api.export_csv(sys.argv[1], read_manifest(sys.argv[2]), None, sys.argv[3])\n"
        "except UserError as exc:\n    print(exc, file=sys.stderr)\n    sys.exit(1)\n"
    )
    proc = run_limited(
        ["-c", script, str(outcome.store), str(manifest), str(tmp_path / "e.csv")], 40_000, tmp_path
    )
    assert proc.returncode == 1 and "cannot write" in proc.stderr, proc.stderr
    assert (tmp_path / "e.csv").read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]


# ------------------------------------------------------------------------------------------------ paths


@pytest.fixture
def evaluated(tmp_path):
    video(tmp_path / "v.mkv")
    manifest = write_manifest(tmp_path / "m.csv", [{"path": "v.mkv", "label": "jogging", "split": "real"}])
    (tmp_path / "folder").mkdir()
    (tmp_path / "file.txt").write_text("keep me\n")
    return tmp_path, manifest


EVALUATE = ["evaluate", "--model", "tiny_c3d", "--weights", "random:0", "--no-progress"]
REFUSED = {
    "export is the store": (EVALUATE + ["--manifest", "{m}", "--out", "{t}/o", "--export", "{t}/o/predictions.sqlite"], "would overwrite the store"),
    "export is the manifest": (EVALUATE + ["--manifest", "{m}", "--out", "{t}/o", "--export", "{m}"], "would overwrite the manifest"),
    "export is a video": (EVALUATE + ["--manifest", "{m}", "--out", "{t}/o", "--export", "{t}/v.mkv"], "would overwrite the video of manifest row 2"),
    "export is a report file": (EVALUATE + ["--manifest", "{m}", "--out", "{t}/o", "--report", "--export", "{t}/o/report.html"], "would overwrite the report's report.html"),
    "store is the manifest": (EVALUATE + ["--manifest", "{m}", "--out", "{t}/o", "--store", "{m}"], "would overwrite the manifest"),
    "store is a report file": (EVALUATE + ["--manifest", "{m}", "--out", "{t}/o", "--report", "--store", "{t}/o/metrics.json"], "would overwrite the store"),
    "export is a folder": (EVALUATE + ["--manifest", "{m}", "--out", "{t}/o", "--export", "{t}/folder"], "is a folder"),
    "out is a file": (EVALUATE + ["--manifest", "{m}", "--out", "{t}/file.txt"], "is an existing file"),
    "out is empty": (EVALUATE + ["--manifest", "{m}", "--out", ""], "--out is empty"),
    "report out is a file": (["report", "--store", "{t}/x.sqlite", "--out", "{t}/file.txt"], "is an existing file"),
    "report over its store": (["report", "--store", "{t}/file.txt", "--out", "{t}/file.txt/.."], "x"),
    "report input in tables/": (["report", "--predictions", "{t}/r/tables/p.csv", "--out", "{t}/r"], "inside the report's tables/"),
    "manifest over a video": (["manifest", "from-folder", "{t}/data", "-o", "{t}/data/real/jogging/v.mkv"], "would overwrite the video of row 2"),
    "manifest over its annotations": (["manifest", "from-kinetics", "{t}/file.txt", "--videos", "{t}/folder", "-o", "{t}/file.txt"], "would overwrite the annotations"),
}  # fmt: skip
REFUSED.pop("report over its store")  # covered below: --store OUT/metrics.json


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_an_output_that_is_an_input_or_another_output_is_refused(case, evaluated, capsys):
    tmp, manifest = evaluated
    video(tmp / "data" / "real" / "jogging" / "v.mkv")
    (tmp / "file.txt").write_text("label,youtube_id,time_start,time_end\n")
    args, message = REFUSED[case]
    args = [a.format(t=tmp, m=manifest) for a in args]
    before = {p: p.read_bytes() for p in tmp.rglob("*") if p.is_file()}
    assert main(args) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert {
        p: p.read_bytes() for p in tmp.rglob("*") if p.is_file()
    } == before  # nothing written, nothing lost


def test_report_refuses_to_write_over_its_own_store(evaluated, capsys):
    tmp, manifest = evaluated
    outcome = api.evaluate(manifest, ["tiny_c3d"], tmp / "o", weights=["random:0"], progress=False,
                           store_path=tmp / "o" / "metrics.json")  # fmt: skip
    before = outcome.store.read_bytes()
    assert main(["report", "--store", str(outcome.store), "--out", str(tmp / "o")]) == 1
    assert "would overwrite the results" in capsys.readouterr().err
    assert outcome.store.read_bytes() == before


def test_synth_refuses_outputs_over_its_inputs(tmp_path):
    from weirdkinetics.synth.generate import synthesize

    video(tmp_path / "videos" / "x__person-only.mp4")
    m = write_manifest(
        tmp_path / "m.csv",
        [{"path": "videos/x__person-only.mp4", "label": "jogging", "split": "real", "video_id": "x"}],
    )
    with pytest.raises(UserError, match="would overwrite the video of manifest row 2"):
        synthesize("person-only", m, tmp_path, progress=False)
    lib = tmp_path / "lib"
    (lib / "beach").mkdir(parents=True)
    with pytest.raises(UserError, match="overlap"):
        synthesize("swap", m, lib / "beach" / "..", backgrounds=lib / "videos" / "..", progress=False)


def test_no_command_writes_over_a_rows_mask(tmp_path):
    """A row's mask_path file is an input too (synth and explain read it): an export onto it is refused and
    the mask is left as it was."""
    video(tmp_path / "a.mp4")
    mask = tmp_path / "a_mask.npz"
    mask.write_bytes(b"the only copy of hand-made masks")
    m = write_manifest(
        tmp_path / "m.csv",
        [{"path": "a.mp4", "label": "jogging", "split": "real", "video_id": "a", "mask_path": "a_mask.npz"}],
    )
    files = read_manifest(m).input_files()
    assert files["the mask of manifest row 2"] == mask
    with pytest.raises(UserError, match="would overwrite the mask of manifest row 2"):
        api.evaluate(m, ["tiny_c3d"], tmp_path / "o", weights=["random:0"], progress=False, export=mask)
    assert mask.read_bytes() == b"the only copy of hand-made masks"


# ------------------------------------------------------------------------------------------------ names

NASTY_SPLITS = ["a/b", "..", "x" * 300, "a\x00b", "real", "a_b", "../../escape"]


def test_safe_file_names_are_safe_short_and_distinct():
    names = [safe_filename(s) for s in NASTY_SPLITS + ["", ".hidden", "-rf", "ok-name"]]
    assert len(set(names)) == len(names)
    for n in names:
        assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", n) and not n.startswith((".", "-"))
    assert safe_filename("real") == "real" and safe_filename("ok-name") == "ok-name"


@pytest.mark.filterwarnings("ignore:Glyph")  # the NUL in a split name has no glyph
def test_the_report_survives_hostile_split_names(tmp_path):
    out = tmp_path / "r"
    files = write_report([nasty_run(NASTY_SPLITS)], out, n_boot=50)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written and all(out in p.parents for p in written)
    confusion = [p for p in (out / "tables").iterdir() if "confusion" in p.name]
    assert len(confusion) == len(NASTY_SPLITS)
    assert all(len(p.name) <= 255 for p in written)
    for path in (out / "tables").glob("*.csv"):
        assert formula_cells(path) == [], path
    assert files["html"].is_file()


def test_evaluate_with_a_slash_in_a_split_writes_its_report(tmp_path, capsys):
    video(tmp_path / "v.mkv")
    m = write_manifest(tmp_path / "m.csv", [{"path": "v.mkv", "label": "jogging", "split": "../a/b"}])
    rc = main(EVALUATE + ["--manifest", str(m), "--out", str(tmp_path / "o"), "--report"])
    assert rc == 0, capsys.readouterr().err
    assert (tmp_path / "o" / "report.html").is_file()
    assert all((tmp_path / "o") in p.parents for p in (tmp_path / "o").rglob("*"))


def test_synth_output_names_stay_in_their_folder():
    from weirdkinetics.manifest import ManifestRow

    ids = ["../../etc/passwd", "x" * 300, "a/b", "a_b", "a\x00b", "clip.mp4"]
    rows = [
        ManifestRow(i + 2, Path("/v.mp4"), "v.mp4", "jogging", "real", video_id=v) for i, v in enumerate(ids)
    ]
    paths = _output_paths(rows, "swap")
    assert len(set(paths)) == len(paths)
    for p in paths:
        folder, name = p.split("/")
        assert folder == "videos" and len(name) <= 255 and not name.startswith(".")
        assert re.fullmatch(r"[A-Za-z0-9._-]+", name)


def test_a_full_disk_during_evaluate_is_one_line_and_the_run_resumes(tmp_path):
    rows = []
    for i in range(4):
        video(tmp_path / f"v{i}.mkv", i)
        rows.append({"path": f"v{i}.mkv", "label": "jogging", "split": "real"})
    m = write_manifest(tmp_path / "m.csv", rows)
    args = ["-m", "weirdkinetics", *EVALUATE, "--manifest", str(m), "--out", str(tmp_path / "o")]
    proc = run_limited(
        args, 100_000, tmp_path
    )  # the store's write-ahead log outgrows this after a video or so
    assert proc.returncode == 1, proc.stderr
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in proc.stderr and "run the same command again" in err[0], err
    with sqlite3.connect(f"file:{tmp_path / 'o' / 'predictions.sqlite'}?mode=ro", uri=True) as db:
        kept = db.execute("SELECT COUNT(*) FROM predictions").fetchone()[0]
    assert kept < 4
    resumed = run_limited(args, 1 << 30, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{4 - kept} prediction(s) computed, {kept} reused" in resumed.stdout
    assert "4 video(s): ok 4" in resumed.stdout

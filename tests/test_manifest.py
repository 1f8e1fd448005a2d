import csv

import pytest

from weirdkinetics import api
from weirdkinetics.errors import ManifestError, UserError
from weirdkinetics.labels import label_space
from weirdkinetics.manifest import from_folder, from_kinetics, read_manifest, row_problems, write_manifest


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_validate_reports_every_problem_with_row_numbers(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"x")
    m = write_csv(
        tmp_path / "m.csv",
        ["path", "label", "split", "video_id"],
        [
            ["a.mp4", "playing tennis", "real", "v1"],
            ["gone.mp4", "playing tennis", "weird", "v2"],
            ["a.mp4", "", "real", "v3"],
            ["a.mp4", "playing tenis", "real", "v1"],
        ],
    )
    problems = api.validate(m, model="i3d_r50")
    text = "\n".join(problems)
    assert "row 3: missing file" in text
    assert "row 4: empty 'label'" in text
    assert (
        "row 5: label 'playing tenis' is not in the model's label space. Did you mean: playing tennis" in text
    )
    assert "row 5: duplicate video_id 'v1' (first on row 2)" in text
    assert len(problems) == 4


def test_labels_resolve_spelling_and_label_map(tmp_path):
    m = write_csv(
        tmp_path / "m.csv",
        ["path", "label", "split"],
        [["a.mp4", "Playing_Tennis", "real"], ["b.mp4", "tennis", "weird"]],
    )
    lm = write_csv(tmp_path / "map.csv", ["from", "to"], [["tennis", "playing tennis"]])
    from weirdkinetics.labels import read_label_map

    man = read_manifest(m, label_space("kinetics400"), read_label_map(lm))
    assert [r.label for r in man.rows] == ["playing tennis", "playing tennis"]
    assert man.rows[0].video_id == "a.mp4" and man.rows[0].path == (tmp_path / "a.mp4").resolve()


def test_bad_encoding_and_header_are_clear(tmp_path):
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("path,label,split\nà.mp4,x,real\n".encode("latin-1"))
    with pytest.raises(ManifestError, match="not UTF-8"):
        read_manifest(bad)
    nohead = write_csv(tmp_path / "h.csv", ["file", "label"], [["a", "b"]])
    with pytest.raises(ManifestError, match="missing required column"):
        read_manifest(nohead)


def test_extra_columns_are_kept_and_written_back(tmp_path):
    m = write_csv(
        tmp_path / "m.csv", ["path", "label", "split", "camera"], [["a.mp4", "x", "real", "note 9"]]
    )
    man = read_manifest(m)
    assert man.rows[0].extra == {"camera": "note 9"}
    out = write_manifest(tmp_path / "o.csv", [r.to_dict() for r in man.rows])
    assert read_manifest(out).rows[0].extra == {"camera": "note 9"}


def test_from_folder(tmp_path):
    for split, label, name in [
        ("real", "playing tennis", "a.mp4"),
        ("weird", "playing tennis", "b.mkv"),
        ("weird", "jogging", "c.webm"),
    ]:
        d = tmp_path / "data" / split / label
        d.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(b"x")
    (tmp_path / "data" / "real" / "playing tennis" / "notes.txt").write_text("not a video")
    rows = from_folder(tmp_path / "data", relative_to=tmp_path)
    assert [(r["split"], r["label"], r["path"]) for r in rows] == [
        ("real", "playing tennis", "data/real/playing tennis/a.mp4"),
        ("weird", "jogging", "data/weird/jogging/c.webm"),
        ("weird", "playing tennis", "data/weird/playing tennis/b.mkv"),
    ]


def test_from_kinetics_lists_missing_clips(tmp_path):
    ann = write_csv(
        tmp_path / "validate.csv",
        ["label", "youtube_id", "time_start", "time_end", "split"],
        [
            ["playing tennis", "abc", "10", "20", "val"],
            ["jogging", "def", "0", "10", "val"],
            ["abseiling", "ghi", "5", "15", "val"],
        ],
    )
    vids = tmp_path / "val"
    vids.mkdir()
    (vids / "abc_000010_000020.mp4").write_bytes(b"x")
    rows = from_kinetics(ann, vids, classes=["playing tennis", "jogging"], relative_to=tmp_path)
    assert [r["video_id"] for r in rows] == ["abc_000010_000020", "def_000000_000010"]
    assert rows[1]["path"] == "val/def_000000_000010.mp4" and not (tmp_path / rows[1]["path"]).exists()
    assert all(r["split"] == "kinetics" for r in rows)


def test_row_problems_is_a_pure_check_of_one_row():
    space = label_space("kinetics400")
    assert row_problems({"path": "a.mp4", "label": "Playing_Tennis", "split": "real"}, space) == (
        "playing tennis",
        [],
    )
    assert row_problems({"path": "a.mp4", "label": "jog", "split": ""}, space, {"jog": "jogging"}) == (
        "jogging",
        ["empty 'split'"],
    )
    label, problems = row_problems({"path": "", "label": "zzzz qqqq", "split": "real"}, space)
    assert label == "zzzz qqqq" and problems[0] == "empty 'path'"
    assert problems[1].startswith("label 'zzzz qqqq' is not in the model's label space.")
    assert row_problems({"path": "a.mp4", "label": "anything", "split": "x"}) == ("anything", [])


def test_from_kinetics_names_every_row_with_bad_times(tmp_path):
    ann = write_csv(
        tmp_path / "a.csv",
        ["label", "youtube_id", "time_start", "time_end"],
        [["jogging", "a", "nan", "3"], ["jogging", "b", "5", "2"], ["jogging", "c", "0", "10"]],
    )
    (tmp_path / "v").mkdir()
    with pytest.raises(ManifestError) as err:
        from_kinetics(ann, tmp_path / "v")
    assert err.value.problems == [
        "row 2: time_start/time_end are not finite numbers",
        "row 3: time_start 5 and time_end 2 are not an interval of seconds",
    ]
    with pytest.raises(UserError, match="^videos='.*': not a folder$"):
        from_kinetics(ann, tmp_path / "nope")


def test_validate_reads_file_uris_as_the_local_files_they_name(tmp_path):
    """A ``file://`` row is the local file it names (evaluate reads it so): validate must not look for a file
    named ``file:/...`` beside the manifest."""
    from weirdkinetics import api

    video = tmp_path / "v.mp4"
    video.write_bytes(b"x" * 10)
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        f"path,label,split\nfile://{video},a,real\nfile://{tmp_path}/none.mp4,a,real\n", encoding="utf-8"
    )
    assert api.validate(manifest) == [f"row 3: missing file {tmp_path}/none.mp4"]

"""verify(frame, diagnose=True) and `camgeom verify --diagnose [--fix OUT]`."""

from __future__ import annotations

import json

import pytest

import camgeom
from camgeom.demo import make_demo_dataset
from camgeom.testing import inject
from camgeom.verification import verify


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return make_demo_dataset(tmp_path_factory.mktemp("demo") / "demo")


def test_failing_frame_gets_its_diagnosis(demo, tmp_path):
    frame = camgeom.load(demo.datagen)[1]
    inject(frame, "pose_transposed", tmp_path / "bad")
    r = verify(camgeom.load(tmp_path / "bad")[0], diagnose=True)
    assert r.diagnosis[0].kind == "pose_transposed"
    assert json.loads(r.to_json())["diagnosis"][0]["kind"] == "pose_transposed"


def test_passing_frame_runs_no_hypothesis(demo, monkeypatch):
    import camgeom.testing._edits as edits

    def boom(*args, **kwargs):
        raise AssertionError("a hypothesis ran on a passing frame")

    monkeypatch.setattr(edits, "copy_frame", boom)
    r = verify(camgeom.load(demo.datagen)[0], diagnose=True)
    assert r.passed
    assert r.diagnosis == ()
    assert json.loads(r.to_json())["diagnosis"] == []


def test_without_diagnose_no_diagnosis(fixtures):
    frame = camgeom.load(fixtures / "datagen/hic_in_cabin")[0]
    r = verify(frame)
    assert not r.passed
    assert r.diagnosis == ()
    assert r.diagnosis_check == ""


def test_cli_diagnose_and_fix(demo, tmp_path, capsys):
    from camgeom.cli import main

    frame = camgeom.load(demo.datagen)[1]
    inject(frame, "pixel_row_col", tmp_path / "bad")
    code = main(["verify", str(tmp_path / "bad"), "--diagnose", "--fix", str(tmp_path / "ok")])
    out = capsys.readouterr().out
    assert code == 1
    assert f"{frame.frame_id}: pixel_row_col: landmarks.reprojection." in out
    assert "fixed (pixel_row_col undone)" in out
    assert main(["verify", str(tmp_path / "ok"), "--workers", "1"]) == 0


def test_cli_fix_needs_diagnose(demo, tmp_path, capsys):
    from camgeom.cli import main

    assert main(["verify", str(demo.datagen), "--fix", str(tmp_path / "ok")]) == 2
    assert "--fix needs --diagnose" in capsys.readouterr().err


def test_cli_diagnose_comes_from_the_job_without_reading_frames_again(
    demo, tmp_path, capsys, monkeypatch
):
    from camgeom.cli import main
    from camgeom.datasets import Dataset
    from camgeom.jobs.verify import report_from_dict

    frame = camgeom.load(demo.datagen)[1]
    inject(frame, "pose_transposed", tmp_path / "bad")
    expected = verify(camgeom.load(tmp_path / "bad")[0], diagnose=True)
    assert report_from_dict(json.loads(expected.to_json())) == expected  # diagnosis kept

    def no_second_read(self, index):
        raise AssertionError("a frame was parsed again in the main process")

    monkeypatch.setattr(Dataset, "__getitem__", no_second_read)
    code = main(["verify", str(tmp_path / "bad"), "--diagnose", "--workers", "1"])
    out = capsys.readouterr().out
    assert code == 1
    assert f"{frame.frame_id}: pose_transposed: {expected.diagnosis_check}" in out


def _files(folder):
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_cli_fix_keeps_what_is_in_the_fix_folder(demo, tmp_path, capsys):
    """A user's file in the copy's folder survives; an edited copy is replaced only on request."""
    from camgeom.cli import main
    from camgeom.verification.repair import FIX_LOG

    frame = camgeom.load(demo.synthesisai)[0]
    inject(frame, "pose_transposed", tmp_path / "bad")
    fix = tmp_path / "fixed"
    args = ["verify", str(tmp_path / "bad"), "--diagnose", "--fix", str(fix), "-q"]
    assert main(args) == 1
    fid = camgeom.load(tmp_path / "bad")[0].frame_id
    copy = fix / fid
    info = next(copy.glob("*.info.json"))
    good = info.read_bytes()
    (copy / "precious.txt").write_text("mine")
    info.write_text('{"edited": "by hand"}')
    capsys.readouterr()

    # a second run into the same folder is refused up front (exit 2): the log exists
    assert main(args) == 2
    err = capsys.readouterr().err
    assert FIX_LOG in err and "--overwrite" in err
    assert info.read_text() == '{"edited": "by hand"}'

    # the log gone but the hand-edited copy there: the frame is left alone, with the reason
    (fix / FIX_LOG).unlink()
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "not fixed" in out and "pass --overwrite" in out
    assert info.read_text() == '{"edited": "by hand"}'
    assert (copy / "precious.txt").read_text() == "mine"
    assert not [p for p in fix.iterdir() if p.name.startswith(".camgeom-fix-")]

    # --overwrite replaces the copy's own files and keeps the others
    assert main([*args, "--overwrite"]) == 1
    assert info.read_bytes() == good
    assert (copy / "precious.txt").read_text() == "mine"
    assert json.loads((fix / FIX_LOG).read_text())[0]["kind"] == "pose_transposed"


def test_cli_fix_rerun_of_identical_copies_needs_no_overwrite(demo, tmp_path):
    """Copies that already hold the same bytes are not a clash (Datagen datapoint files)."""
    from camgeom.cli import main
    from camgeom.verification.repair import FIX_LOG

    frame = camgeom.load(demo.datagen)[1]
    inject(frame, "pixel_row_col", tmp_path / "bad")
    fix = tmp_path / "fixed"
    args = ["verify", str(tmp_path / "bad"), "--diagnose", "--fix", str(fix), "-q"]
    assert main(args) == 1
    first = _files(fix)
    (fix / FIX_LOG).unlink()
    assert main(args) == 1
    assert _files(fix) == first


@pytest.mark.parametrize("where", ["inside", "same", "parent"])
def test_cli_fix_folder_in_the_dataset_is_refused_before_any_frame(
    demo, tmp_path, capsys, monkeypatch, where
):
    import shutil

    from camgeom.cli import main
    from camgeom.jobs import verify as verify_job

    data = tmp_path / "data" / "sai"
    shutil.copytree(demo.synthesisai, data)
    fix = {"inside": data / "fixed", "same": data, "parent": tmp_path / "data"}[where]

    def boom(*args, **kwargs):
        raise AssertionError("frames were verified before --fix was refused")

    monkeypatch.setattr(verify_job, "run_verify", boom)
    before = _files(tmp_path / "data")
    assert main(["verify", str(data), "--diagnose", "--fix", str(fix), "-q"]) == 2
    assert "outside the dataset" in capsys.readouterr().err
    assert _files(tmp_path / "data") == before


@pytest.mark.parametrize("option", ["--fix", "--json", "--out"])
def test_cli_empty_output_paths_are_refused(demo, tmp_path, capsys, monkeypatch, option):
    from camgeom.cli import main

    monkeypatch.chdir(tmp_path)
    extra = ["--diagnose"] if option == "--fix" else []
    assert main(["verify", str(demo.datagen), option, "", *extra, "-q"]) == 2
    assert "is empty" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_diagnose_on_a_passing_dataset_says_there_is_nothing_to_diagnose(demo, capsys):
    from camgeom.cli import main

    assert main(["verify", str(demo.datagen), "--diagnose", "--workers", "1", "-q"]) == 0
    out = capsys.readouterr().out
    assert "nothing to diagnose" in out and "best first" not in out


def test_cli_fix_places_a_copy_whole_or_not_at_all(demo, tmp_path, capsys):
    """A folder where a copied file must go: the frame is left alone, nothing is moved in."""
    from camgeom.cli import main

    frame = camgeom.load(demo.synthesisai)[0]
    inject(frame, "pose_transposed", tmp_path / "bad")
    fid = camgeom.load(tmp_path / "bad")[0].frame_id
    copy = tmp_path / "fixed" / fid
    names = sorted(p.name for p in (tmp_path / "bad").iterdir() if p.is_file())
    (copy / names[-1]).mkdir(parents=True)  # the last file moved is blocked by a folder
    args = ["verify", str(tmp_path / "bad"), "--diagnose", "--fix", str(tmp_path / "fixed")]
    assert main([*args, "-q", "--overwrite"]) == 1
    assert "is a folder, not a file" in capsys.readouterr().out
    assert sorted(p.name for p in copy.iterdir()) == [names[-1]]

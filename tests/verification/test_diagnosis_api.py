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

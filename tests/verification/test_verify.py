"""Verification of camera metadata on the real vendor fixtures and the demo."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import camgeom.datasets as ds
from camgeom.errors import InvalidValueError
from camgeom.verification import Check, DatasetReport, Report, verify, verify_dataset


def frames(fixtures, sub):
    return list(ds.load(fixtures / sub))


@pytest.mark.parametrize(
    "sub", ["datagen/faces_nn", "datagen/faces_multicam", "datagen/hic_home_security"]
)
def test_clean_datagen_v110_passes(fixtures, sub):
    fs = frames(fixtures, sub)
    assert fs
    for f in fs:
        r = verify(f)
        assert r.passed, str(r)
        assert r["landmarks.reprojection.ibug68"].status == "pass"
        assert r["extrinsics.translation_vs_location"].status == "pass"
        assert r["depth.kind"].status == "pass"


def test_clean_synthesis_v12_passes_and_names_quirks(fixtures):
    fs = frames(fixtures, "synthesisai/v1_2_faces")
    assert len(fs) == 5
    for f in fs:
        r = verify(f)
        assert r.passed, str(r)
        assert r["pose.quaternion"].status == "pass"
        # the xyzw-under-a-wxyz-name quirk is information, not a failure
        q = r["pose.quaternion_order"]
        assert q.status == "info" and "quaternion_wxyz" in q.message and "(x, y, z, w)" in q.message
        assert r["landmarks.camera_space.ibug68"].value < 1e-6
        assert r["depth.kind"].status == "pass" and "range" in r["depth.kind"].message


def test_in_cabin_stored_K_fy_fails(fixtures):
    for f in frames(fixtures, "datagen/hic_in_cabin"):
        r = verify(f)
        assert not r.passed
        sq = r["intrinsics.square_pixels"]
        assert sq.failed and "fy = fx*W/H" in sq.hint
        K = f.metadata.stored_K
        assert K[1, 1] == pytest.approx(K[0, 0] * 506 / 283, rel=1e-6)
        assert r["intrinsics.stored_K_vs_camera"].failed


def test_legacy_translation_sign_fails(fixtures):
    fs = frames(fixtures, "datagen/legacy_2022")
    assert len(fs) == 2
    for f in fs:
        r = verify(f)
        c = r["extrinsics.translation_vs_location"]
        assert c.failed and "-R^T @ location" in c.hint
        assert r["extrinsics.rotation_vs_orientation"].status == "pass"
        # the rebuilt camera reproduces the integer labels
        assert r["landmarks.reprojection.ibug68"].status == "pass"


def test_room_focal_length_against_fov_fails(fixtures):
    for f in frames(fixtures, "synthesisai/room"):
        r = verify(f)
        c = r["intrinsics.focal_length_vs_fov"]
        assert c.failed and c.value > 0.1
        # non-square pixels are expected in this format: info, not failure
        assert r["intrinsics.square_pixels"].status in ("pass", "info")
        assert any("transposed" in n.message for n in r.checks if n.name == "format.quirk")


def test_v15_ibug68_eyebrows_fail_by_name(fixtures):
    for f in frames(fixtures, "synthesisai/v1_5_docs"):
        r = verify(f)
        c = r["landmarks.reprojection.ibug68"]
        assert c.failed and c.value > 3
        lm = f.landmarks["ibug68"]
        for i in range(17, 27):
            assert f"{lm.names[i]} (" in c.hint
        assert "10 of" in c.hint
        # every other group reproduces its labels and no by-definition duplicate is flagged
        for other in r.checks:
            if other.name.startswith("landmarks.reprojection.") and other.name != c.name:
                assert other.status == "pass", other
        assert "landmarks.duplicates.coco_whole_body" not in r


@pytest.mark.parametrize("sub", ["synthesisai/v1_faces", "synthesisai/v1_1_docs"])
def test_duplicated_pupils_fail(fixtures, sub):
    for f in frames(fixtures, sub):
        r = verify(f)
        c = r["landmarks.duplicates.pupils"]
        assert c.failed and "==" in c.message


def test_datagen_row_col_swap_is_information(fixtures):
    f = frames(fixtures, "datagen/faces_nn")[0]
    r = verify(f)
    quirks = [c for c in r.checks if c.name == "format.quirk"]
    assert all(c.status == "info" for c in quirks)
    assert any("row" in c.message for c in quirks)


def test_occlusion_warning_strict_and_threshold(fixtures):
    f = frames(fixtures, "datagen/faces_nn")[0]
    r = verify(f)
    occ = r["occlusion.visible_behind_depth"]
    assert occ.status == "warn" and 0 < occ.value < 0.5 and r.passed
    assert not verify(f, strict=True).passed
    assert verify(f, occlusion_threshold=0.9)["occlusion.visible_behind_depth"].status == "pass"
    assert verify(f, occlusion_threshold=0.0)["occlusion.visible_behind_depth"].failed
    with pytest.raises(InvalidValueError, match="occlusion_threshold"):
        verify(f, occlusion_threshold=2.0)


def test_depth_kind_contradiction_is_flagged(fixtures):
    f = frames(fixtures, "datagen/faces_multicam")[0]
    wrong = dataclasses.replace(f, depth_kind="range")
    c = verify(wrong)["depth.kind"]
    assert c.failed and "'z' better" in c.hint
    s = frames(fixtures, "synthesisai/v1_2_faces")[0]
    assert verify(dataclasses.replace(s, depth_kind="z"))["depth.kind"].failed


def test_report_table_json_and_dataset_aggregate(fixtures):
    d = ds.load(fixtures / "synthesisai" / "v1_faces")
    rep = verify_dataset(d)
    assert isinstance(rep, DatasetReport) and not rep.passed
    summary = {s["check"]: s for s in rep.summary()}
    assert summary["landmarks.duplicates.pupils"]["fail"] == 2
    data = json.loads(rep.to_json())
    assert data["frames"] == 2 and data["failed_frames"] == 2
    text = str(rep)
    assert "landmarks.duplicates.pupils" in text and "FAIL" in text
    one = rep.reports[0]
    assert isinstance(one, Report) and "landmarks.duplicates.pupils" in str(one)
    assert json.loads(one.to_json())["passed"] is False
    assert isinstance(one.checks[0], Check)


def test_demo_verifies_clean(tmp_path):
    from camgeom.demo import make_demo_dataset

    out = make_demo_dataset(tmp_path / "demo")
    for root in (out.synthesisai, out.datagen):
        rep = verify_dataset(ds.load(root))
        assert rep.passed, str(rep)
        assert len(rep.reports) >= 2
        kinds = {r["depth.kind"].status for r in rep.reports}
        assert kinds == {"pass"}


def test_unreadable_frame_is_reported_and_the_rest_go_on(tmp_path, fixtures):
    import shutil

    src = fixtures / "synthesisai" / "v1_2_faces"
    for n in ("0", "1"):
        for p in src.glob(f"{n}.*"):
            shutil.copy(p, tmp_path / p.name)
    shutil.copy(src / "metadata.jsonl", tmp_path / "metadata.jsonl")
    (tmp_path / "1.info.json").write_text('{"version": "1.2", "camera": ')
    rep = verify_dataset(ds.load(tmp_path))
    assert len(rep.reports) == 1 and rep.reports[0].passed
    assert len(rep.unreadable) == 1 and "1.info.json" in rep.unreadable[0][1]
    assert not rep.passed
    assert np.isfinite(rep.reports[0]["landmarks.reprojection.ibug68"].value)


def test_occlusion_detects_hidden_points_of_the_analytic_demo(tmp_path):
    """The demo's hand hides part of the mouth: flag everything visible and it must show."""
    from camgeom.demo import make_demo_dataset

    out = make_demo_dataset(tmp_path / "demo")
    shares = []
    for f in ds.load(out.datagen):
        honest = verify(f)["occlusion.visible_behind_depth"]
        assert honest.status == "pass" and honest.value == 0.0
        lms = {
            g: dataclasses.replace(f.landmarks[g], visible=np.ones(len(f.landmarks[g]), bool))
            for g in f.landmarks
        }
        forced = verify(dataclasses.replace(f, landmarks=lms))["occlusion.visible_behind_depth"]
        shares.append(forced.value)
        assert forced.status in ("warn", "pass")
    assert max(shares) > 0.05


def test_reprojection_fails_when_every_labelled_point_is_behind_the_camera() -> None:
    import numpy as np

    from camgeom.datasets import Landmarks
    from camgeom.verification.landmarks import _reprojection_check

    lm = Landmarks(
        names=("a", "b"),
        world=np.zeros((2, 3)),
        pixels=np.array([[10.5, 20.5], [30.5, 40.5]]),
        visible=None,
    )
    behind = np.full((2, 2), np.nan)
    check = _reprojection_check("g", lm, lm.pixels, behind)
    assert check.status == "fail" and check.value == float("inf")
    assert "behind the camera" in check.hint
    # one point in front is enough to measure; the other is left out as before
    partly = np.array([[10.5, 20.5], [np.nan, np.nan]])
    assert _reprojection_check("g", lm, lm.pixels, partly).status == "pass"

"""diagnosed(frame): the kind of mistake named, best first."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

import camgeom
from camgeom.demo import make_demo_dataset
from camgeom.errors import CamgeomError
from camgeom.testing import KINDS, NotExpressibleError, inject
from camgeom.verification import verify
from camgeom.verification.depth import DepthMaps
from camgeom.verification.diagnosis import diagnose
from camgeom.verification.report import Diagnosis
from camgeom.verification.runner import Options, run_checks


def diagnosed(frame):
    """``verify(frame, diagnose=True)`` through the diagnosis module itself."""
    report = verify(frame)
    if report.passed:
        return report
    maps = DepthMaps(frame)
    run = run_checks(frame, frame.camera, Options(), maps)
    found, check = diagnose(frame, report, Options(), maps, run.groups)
    return replace(report, diagnosis=found, diagnosis_check=check)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return make_demo_dataset(tmp_path_factory.mktemp("demo") / "demo")


@pytest.fixture(scope="module")
def injected(fixtures, demo, tmp_path_factory):
    """(kind, report with diagnosis) for every detected injected copy of a fixed subset."""
    tmp = tmp_path_factory.mktemp("injected")
    frames = [
        camgeom.load(fixtures / "datagen/faces_nn")[0],
        camgeom.load(fixtures / "synthesisai/v1_2_faces")[0],
        camgeom.load(demo.datagen)[1],
        camgeom.load(demo.synthesisai)[0],
    ]
    out = []
    for i, frame in enumerate(frames):
        for kind in KINDS:
            try:
                inject(frame, kind, tmp / f"{i}_{kind}")
            except NotExpressibleError:
                continue
            try:
                copy = camgeom.load(tmp / f"{i}_{kind}")[0]
            except CamgeomError:
                continue  # the reader refuses the copy (detected; nothing to diagnose)
            report = diagnosed(copy)
            if not report.passed:
                out.append((kind, report))
    return out


def test_injected_kind_ranks_first(injected):
    assert len(injected) >= 34
    first = [kind for kind, r in injected if r.diagnosis and r.diagnosis[0].kind == kind]
    missed = [(kind, r.frame_id, r.diagnosis[:2]) for kind, r in injected if kind not in first]
    assert len(first) >= 0.95 * len(injected), missed


def test_injected_kind_residual_falls_within_tolerance(injected):
    for kind, r in injected:
        top = r.diagnosis[0]
        assert isinstance(top, Diagnosis)
        assert top.residual_after < top.residual_before, (kind, r.frame_id, top)
        check = r[r.diagnosis_check] if r.diagnosis_check in r else None
        if check is not None and check.tolerance is not None and check.value is not None:
            assert top.residual_after <= check.tolerance, (kind, r.frame_id, top)


def test_report_text_and_json_carry_the_diagnosis(injected):
    r = next(r for k, r in injected if k == "pose_transposed")
    text = str(r)
    assert f"diagnosis (best first):\n  pose_transposed: {r.diagnosis_check} " in text
    d = json.loads(r.to_json())["diagnosis"][0]
    assert d["kind"] == "pose_transposed"
    assert d["check"] == r.diagnosis_check
    assert d["residual_before"] == pytest.approx(r.diagnosis[0].residual_before)


# ---------------------------------------------------------------- vendor defects


def test_in_cabin_K_is_aspect_stretched(fixtures):
    for frame in camgeom.load(fixtures / "datagen/hic_in_cabin"):
        r = diagnosed(frame)
        assert [d.kind for d in r.diagnosis] == ["aspect_stretched"]
        assert r.diagnosis_check == "intrinsics.stored_K_vs_camera"
        assert r.diagnosis[0].residual_before == pytest.approx(383.0, abs=0.1)
        assert r.diagnosis[0].residual_after < 1e-9


@pytest.mark.parametrize(
    ("folder", "check"),
    [
        # t = -R^T C: no kind of the vocabulary writes that translation
        ("datagen/legacy_2022", "extrinsics.translation_vs_location"),
        # K from the FOV, focal_length_mm from elsewhere: no kind of the vocabulary
        ("synthesisai/room", "intrinsics.focal_length_vs_fov"),
        # eyebrow labels follow the contour: not a camera mistake
        ("synthesisai/v1_5_docs", "landmarks.reprojection.ibug68"),
        # duplicated pupil positions: not a camera mistake
        ("synthesisai/v1_1_docs", "landmarks.duplicates.pupils"),
        ("synthesisai/v1_faces", "landmarks.duplicates.pupils"),
    ],
)
def test_defects_without_a_kind_get_no_diagnosis(fixtures, folder, check):
    for frame in camgeom.load(fixtures / folder):
        r = diagnosed(frame)
        assert not r.passed
        assert r.diagnosis_check == check
        assert r.diagnosis == ()


# ---------------------------------------------------------------- repair


def _json_close(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _json_close(a[k], b[k])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _json_close(x, y)
    elif isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12)
    else:
        assert a == b


def _digest(folder):
    import hashlib

    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize(
    "kind",
    [
        "pose_inverted",
        "pose_transposed",
        "axes_opengl_as_opencv",
        "aspect_stretched",
        "principal_point_half_pixel",
        "translation_centimetres",
        "pixel_row_col",
    ],
)
@pytest.mark.parametrize("which", ["datagen", "synthesisai"])
def test_inject_diagnose_fix_round_trip(demo, tmp_path, kind, which):
    from camgeom.testing._edits import metadata_files
    from camgeom.verification.repair import FIX_LOG, diagnose_frames

    frames = camgeom.load(getattr(demo, which))
    frame = frames[1] if which == "datagen" else frames[0]  # both 160x120
    inject(frame, kind, tmp_path / "bad")
    bad = camgeom.load(tmp_path / "bad")[0]
    before = _digest(tmp_path / "bad")
    report = diagnosed(bad)
    assert report.diagnosis[0].kind == kind
    lines = list(diagnose_frames([(bad, report)], fix=tmp_path / "fixed"))
    assert any(f"fixed ({kind} undone)" in line for line in lines), lines
    assert _digest(tmp_path / "bad") == before  # the input is never written
    log = json.loads((tmp_path / "fixed" / FIX_LOG).read_text())
    assert [e["kind"] for e in log] == [kind]
    assert log[0]["files"]
    folder = Path(log[0]["folder"])
    fixed = camgeom.load(folder)
    fixed_frame = fixed[0] if which == "synthesisai" else fixed[frame.frame_id]
    assert verify(fixed_frame).passed
    src = Path(frame.source)
    src_dir = src.parent if which == "synthesisai" else src
    fixed_dir = folder if which == "synthesisai" else folder / frame.frame_id
    for path in metadata_files(fixed_frame, fixed_dir):
        original = src_dir / path.relative_to(fixed_dir)
        if path.suffix == ".jsonl":
            continue  # untouched by these kinds
        _json_close(json.loads(path.read_text()), json.loads(original.read_text()))


def test_ambiguous_or_partial_diagnosis_is_not_fixed(fixtures, tmp_path):
    from camgeom.verification.repair import FIX_LOG, diagnose_frames

    frame = camgeom.load(fixtures / "datagen/hic_in_cabin")[0]
    lines = list(diagnose_frames([(frame, diagnosed(frame))], fix=tmp_path / "fx"))
    assert any("not fixed" in line for line in lines)
    log = json.loads((tmp_path / "fx" / FIX_LOG).read_text())
    assert log[0]["kind"] is None
    assert "still fails" in log[0]["reason"]
    assert not (tmp_path / "fx" / "scene_00001").exists()


@pytest.mark.parametrize(
    ("which", "kind"),
    [
        ("synthesisai", "resolution_mismatch"),  # rewrites metadata.jsonl
        ("synthesisai", "depth_millimetres"),  # rewrites depth.tif
        ("datagen", "depth_millimetres"),  # rewrites depth.exr
        ("datagen", "pixel_row_col"),  # rewrites every key point file
    ],
)
def test_diagnosis_never_writes_the_frame_it_reads(demo, tmp_path, which, kind):
    frame = camgeom.load(getattr(demo, which))[0]
    inject(frame, kind, tmp_path / "bad")
    before = _digest(tmp_path / "bad")
    bad = camgeom.load(tmp_path / "bad")[0]
    report = diagnosed(bad)
    assert not report.passed
    assert report.diagnosis[0].kind == kind
    assert _digest(tmp_path / "bad") == before

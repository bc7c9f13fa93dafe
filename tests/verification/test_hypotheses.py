"""Hypotheses in memory: undoing a kind on the parsed frame equals undoing it in the files."""

from __future__ import annotations

import numpy as np
import pytest

import camgeom
import camgeom.io
from camgeom.demo import make_demo_dataset
from camgeom.errors import CamgeomError
from camgeom.testing import KINDS, NotExpressibleError, inject
from camgeom.testing._edits import edit_copy
from camgeom.verification import verify
from camgeom.verification.depth import DepthMaps
from camgeom.verification.hypotheses import undo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return make_demo_dataset(tmp_path_factory.mktemp("demo") / "demo")


def _frames(fixtures, demo):
    return [
        camgeom.load(fixtures / "datagen/faces_nn")[0],
        camgeom.load(fixtures / "synthesisai/v1_2_faces")[0],
        camgeom.load(demo.datagen)[1],
        camgeom.load(demo.synthesisai)[0],
    ]


def _close(a, b, what, atol=1e-9):
    if a is None or b is None:
        assert a is None and b is None, what
    else:
        np.testing.assert_allclose(
            np.asarray(a, float), np.asarray(b, float), atol=atol, err_msg=what
        )


@pytest.mark.parametrize("kind", KINDS)
def test_undo_in_memory_equals_undo_in_the_files(fixtures, demo, tmp_path, kind):
    tried = 0
    for i, frame in enumerate(_frames(fixtures, demo)):
        out = tmp_path / f"{i}"
        try:
            inject(frame, kind, out)
            bad = camgeom.load(out)[0]
        except (NotExpressibleError, CamgeomError):
            continue  # not expressible, or the reader refuses the copy
        failing = {c.name for c in verify(bad).failures}
        try:
            hyp = undo(bad, kind, DepthMaps(bad), failing=failing)
        except NotExpressibleError:
            continue  # nothing in the parsed copy for this kind (e.g. a metadata-sized image)
        frame_dir = out if frame.vendor == "synthesisai" else out / frame.frame_id
        edit_copy(bad, frame_dir, kind, undo=True)
        want = camgeom.load(out)[0]
        got = hyp.frame
        tried += 1
        what = f"{kind} on {frame.vendor} {frame.frame_id}"
        assert (got.camera.width, got.camera.height) == (want.camera.width, want.camera.height)
        _close(got.camera.K, want.camera.K, what + ": K")
        _close(got.camera.cam_from_world, want.camera.cam_from_world, what + ": pose")
        gm, wm = got.metadata, want.metadata
        for field in ("stored_K", "stored_cam_from_world", "stored_world_from_cam", "location"):
            _close(getattr(gm, field), getattr(wm, field), f"{what}: {field}")
        if wm.quaternion is not None:  # the same rotation, either sign
            q, p = np.asarray(gm.quaternion), np.asarray(wm.quaternion)
            assert min(np.abs(q - p).max(), np.abs(q + p).max()) < 1e-9, what
        if wm.euler is not None:
            _close(gm.euler, wm.euler, f"{what}: euler", atol=1e-7)
        for name, lm in want.landmarks.items():
            if lm.world is None:
                continue  # 2D labels alone: no check sees them, the hypothesis leaves them
            _close(got.landmarks[name].pixels, lm.pixels, f"{what}: {name} labels", atol=1e-6)
        if kind in ("depth_kind_swapped", "depth_millimetres"):
            # the file copy went through the stored precision (float16 for Synthesis AI)
            np.testing.assert_allclose(
                hyp.maps.depth(), want.read_depth(), rtol=2e-3, equal_nan=True, err_msg=what
            )
    if kind not in ("fx_fy_swapped", "quaternion_order"):
        assert tried >= 2, kind


def test_diagnosis_reads_no_file_and_writes_none(fixtures, demo, tmp_path, monkeypatch):
    """The hypotheses are tested on the parsed frame: no copy, no second read of the depth map."""
    import camgeom.testing._edits as edits

    copies = []
    for i, frame in enumerate(_frames(fixtures, demo)):
        for kind in ("pose_transposed", "principal_point_half_pixel", "depth_millimetres"):
            inject(frame, kind, tmp_path / f"{i}_{kind}")
            copies.append((kind, camgeom.load(tmp_path / f"{i}_{kind}")[0]))

    def no_copy(*args, **kwargs):
        raise AssertionError("the diagnosis copied the frame's files")

    reads = []
    real = camgeom.io.read_depth
    monkeypatch.setattr(edits, "copy_frame", no_copy)
    monkeypatch.setattr(camgeom.io, "read_depth", lambda *a, **k: reads.append(a) or real(*a, **k))
    for kind, bad in copies:
        reads.clear()
        verify(bad)
        plain = len(reads)
        reads.clear()
        report = verify(bad, diagnose=True)
        assert report.diagnosis and report.diagnosis[0].kind == kind, (kind, bad.frame_id)
        assert len(reads) == plain, (kind, bad.frame_id)  # the depth map is read once


def test_passing_frame_is_not_diagnosed(fixtures, monkeypatch):
    import camgeom.verification.diagnosis as diagnosis

    def boom(*args, **kwargs):
        raise AssertionError("diagnosis ran on a passing frame")

    monkeypatch.setattr(diagnosis, "diagnose", boom)
    frame = camgeom.load(fixtures / "datagen/faces_nn")[0]
    assert verify(frame, diagnose=True).passed

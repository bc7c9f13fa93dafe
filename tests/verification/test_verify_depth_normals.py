"""depth.kind_normals: z against range from the normal map, where the landmarks cannot tell."""

from __future__ import annotations

import math

import numpy as np
import pytest

import camgeom
from camgeom.testing import inject
from camgeom.verification import verify
from camgeom.verification.depth import DepthMaps, depth_checks, normals_kind_check
from camgeom.verification.landmarks import projected_groups
from camgeom.verification.tolerances import DEPTH_KIND_RATIO


def _tilted_plane(kind: str, *, width: int = 96, height: int = 80, f: float = 300.0):
    """Depth (as ``kind``) and exact normals of the plane n . p = d seen by a pinhole camera."""
    K = np.array([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]])
    n = np.array([0.3, -0.2, -1.0])
    n /= np.linalg.norm(n)  # facing the camera (n . p < 0 in front)
    u, v = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    rays = np.stack([u, v, np.ones_like(u)], axis=-1) @ np.linalg.inv(K).T  # z = 1
    t = -2.0 / (rays @ n)  # n . (t ray) = -2: the plane at 2 m
    depth = t if kind == "z" else t * np.linalg.norm(rays, axis=-1)
    normals = np.broadcast_to(n, (height, width, 3)).astype(np.float32)
    return K, depth.astype(np.float32), normals


@pytest.mark.parametrize("stored", ["z", "range"])
def test_a_plane_fits_its_own_kind(stored):
    K, depth, normals = _tilted_plane(stored)
    right = normals_kind_check(stored, K, depth, normals)
    assert right.status == "pass" and right.value < 0.05, right
    wrong = normals_kind_check("range" if stored == "z" else "z", K, depth, normals)
    assert wrong.failed and wrong.value > DEPTH_KIND_RATIO, wrong
    assert f"'{stored}' better" in wrong.hint


def test_normals_too_far_from_the_depth_surface_say_why():
    K, depth, normals = _tilted_plane("z")
    tilted = normals.copy()
    tilted[..., 0] += 0.2  # 11 degrees off everywhere: the normal map does not follow the depth
    check = normals_kind_check("z", K, depth, tilted)
    assert check.skipped and "cannot be resolved" in check.message


def test_narrow_fov_swap_is_caught_by_the_normal_map(fixtures, tmp_path):
    # Datagen faces: 8 degree field of view, where the landmarks alone passed half of
    # these copies (z and range differ by about 1 mm at the face)
    caught = 0
    for i, frame in enumerate(camgeom.load(fixtures / "datagen/faces_nn")):
        clean = verify(frame)
        assert clean.passed
        assert clean["depth.kind_normals"].status in ("pass", "skip")
        inject(frame, "depth_kind_swapped", tmp_path / str(i))
        copy = verify(camgeom.load(tmp_path / str(i))[0])
        assert not copy.passed, frame.frame_id
        if copy["depth.kind"].status == "pass":  # the landmarks could not tell
            assert copy["depth.kind_normals"].failed
            caught += 1
    assert caught >= 4  # frames 17, 19, 21, 22, 24, 25 passed before the normal map was read


def test_demo_swap_is_caught(tmp_path):
    from camgeom.demo import make_demo_dataset

    demo = make_demo_dataset(tmp_path / "demo")
    for frame in camgeom.load(demo.synthesisai):
        inject(frame, "depth_kind_swapped", tmp_path / f"s{frame.frame_id}")
        report = verify(camgeom.load(tmp_path / f"s{frame.frame_id}")[0])
        assert not report.passed
        assert report["depth.kind"].failed or report["depth.kind_normals"].failed


def test_half_float_depth_does_not_try(fixtures):
    frame = camgeom.load(fixtures / "synthesisai/v1_2_faces")[0]
    camera = frame.camera
    groups, _ = projected_groups(frame, camera)
    checks = depth_checks(
        frame,
        camera,
        groups,
        strict=False,
        occlusion_threshold=None,
        use_depth=True,
        maps=DepthMaps(frame),
        normals="always",
    )
    check = next(c for c in checks if c.name == "depth.kind_normals")
    assert check.skipped and "half floats" in check.message
    # the quoted step is the float16 spacing at the quoted (median) depth
    depth = DepthMaps(frame).depth()
    typical = float(np.median(depth[::8, ::8][np.isfinite(depth[::8, ::8])]))
    step = float(np.spacing(np.float16(typical))) * 1000
    assert f"steps of {step:.2g} mm at {typical:.3g} m" in check.message


def test_normals_checks_run_only_where_the_landmarks_cannot_tell(fixtures):
    frame = camgeom.load(fixtures / "synthesisai/v1_2_faces")[0]
    report = verify(frame)
    assert report["depth.kind"].value <= 1 / DEPTH_KIND_RATIO
    assert report["depth.kind_normals"].skipped
    assert "the landmarks decide" in report["depth.kind_normals"].message


def test_ray_angle_in_the_half_float_reason_is_the_corner_ray(fixtures):
    frame = camgeom.load(fixtures / "synthesisai/v1_2_faces")[0]
    reason = DepthMaps(frame).half_float(frame.camera.K)
    K = frame.camera.K
    corner = math.degrees(math.atan(math.hypot(K[0, 2] / K[0, 0], K[1, 2] / K[1, 1])))
    assert f"{corner:.2g} deg" in reason


@pytest.mark.parametrize(
    ("folder", "index", "why"),
    [
        ("datagen/faces_multicam", 3, "no normal map"),  # datapoint_00011/camera_2
        ("synthesisai/v1_2_faces", 4, "half floats"),
    ],
)
def test_what_the_frames_cannot_show(fixtures, tmp_path, folder, index, why):
    """The two copies docs/verification.md lists as not detectable, and why."""
    frame = camgeom.load(fixtures / folder)[index]
    clean = verify(frame)["depth.kind"]
    assert clean.status == "pass"
    # the landmarks separate the kinds by less than 2.2x on the untouched frame
    assert 1 / clean.value < 1.1 * DEPTH_KIND_RATIO
    inject(frame, "depth_kind_swapped", tmp_path / "bad")
    report = verify(camgeom.load(tmp_path / "bad")[0])
    assert report.passed
    assert report["depth.kind_normals"].skipped and why in report["depth.kind_normals"].message

"""The Camera dataclass."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from camgeom.camera import Camera
from camgeom.conventions import convert_pose
from camgeom.errors import ConventionError, InvalidValueError, NonRigidPoseError, ShapeError
from camgeom.poses import cam_from_world_look_at, invert_pose

K = np.array([[300.0, 0.0, 160.0], [0.0, 300.0, 120.0], [0.0, 0.0, 1.0]])
POSE = cam_from_world_look_at([0.5, -2.0, 1.0], target=[0.0, 0.0, 0.8], up=[0, 0, 1])


def test_frozen_and_read_only():
    cam = Camera(K, POSE, 320, 240)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cam.width = 10  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        cam.K[0, 0] = 1.0
    assert cam == Camera(K.tolist(), POSE, 320, 240)
    assert cam != Camera(K, POSE, 321, 240)
    assert "320x240" in repr(cam)


def test_from_pose_every_convention_and_kind():
    ref = Camera(K, POSE, 320, 240)
    pts = np.array([[0.0, 0.0, 0.8], [0.1, 0.2, 1.0]])
    for conv in ("opencv", "opengl", "blender", "pytorch3d", "colmap", "RDF"):
        c2w = convert_pose(POSE, "opencv", conv)
        for kind, pose in (("cam_from_world", c2w), ("world_from_cam", invert_pose(c2w))):
            cam = Camera.from_pose(K, pose, 320, 240, convention=conv, kind=kind)
            np.testing.assert_allclose(cam.cam_from_world, POSE, atol=1e-12)
            np.testing.assert_allclose(cam.project(pts)[0], ref.project(pts)[0], atol=1e-9)
            np.testing.assert_allclose(cam.to(conv, kind=kind), pose, atol=1e-12)
    with pytest.raises(ConventionError, match="kind"):
        Camera.from_pose(K, POSE, 320, 240, kind="extrinsics")
    with pytest.raises(ConventionError, match="opencv"):
        Camera.from_pose(K, POSE, 320, 240, convention="unity")


def test_properties():
    cam = Camera(K, POSE, 320, 240)
    np.testing.assert_allclose(cam.center, [0.5, -2.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(cam.world_from_cam @ cam.cam_from_world, np.eye(4), atol=1e-12)
    fx, fy = cam.fov
    assert fx == pytest.approx(2 * np.arctan(160 / 300)) and fy == pytest.approx(
        2 * np.arctan(120 / 300)
    )
    assert cam.in_image([[0.0, 0.0], [320.0, 0.0]]).tolist() == [True, False]


def test_scaled_and_cropped_project_consistently():
    cam = Camera(K, POSE, 320, 240)
    pts = np.array([[0.0, 0.0, 0.8], [0.1, 0.2, 1.0]])
    uv = cam.project(pts)[0]
    half = cam.scaled(0.5)
    assert (half.width, half.height) == (160, 120)
    np.testing.assert_allclose(half.project(pts)[0], uv / 2)
    odd = cam.scaled(width=100, height=60)
    np.testing.assert_allclose(odd.project(pts)[0], uv * [100 / 320, 60 / 240])
    crop = cam.cropped(10, 20, 100, 100)
    np.testing.assert_allclose(crop.project(pts)[0], uv - [10, 20])
    with pytest.raises(InvalidValueError, match="not both"):
        cam.scaled(0.5, width=10)
    with pytest.raises(InvalidValueError, match="scale"):
        cam.scaled(-1.0)


def test_validation():
    with pytest.raises(ShapeError, match="one camera"):
        Camera(np.stack([K, K]), np.stack([POSE, POSE]), 320, 240)
    with pytest.raises(NonRigidPoseError):
        Camera(K, POSE * 2, 320, 240)
    with pytest.raises(InvalidValueError, match="width"):
        Camera(K, POSE, 0, 240)
    with pytest.raises(InvalidValueError, match="frame"):
        Camera(K, POSE, 320, 240).unproject([1.0, 1.0], 1.0, frame="image")

"""GeoGen reader (assumed metadata.json layout), on files written here."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from camgeom.datasets import load
from camgeom.datasets.geogen import read_frame
from camgeom.errors import FormatError, MissingKeyError
from camgeom.poses import cam_from_world_look_at

GL = np.diag([1.0, -1.0, -1.0, 1.0])


def _views(n: int = 7, radius: float = 1.2) -> list[np.ndarray]:
    """OpenCV cam_from_world poses on a circle around the origin, z up."""
    poses = []
    for k in range(n):
        a = 2 * math.pi * k / n
        eye = [radius * math.sin(a), -radius * math.cos(a), 0.1]
        poses.append(cam_from_world_look_at(eye, target=[0.0, 0.0, 0.0], up=[0, 0, 1]))
    return poses


def _write(
    folder: Path, *, convention: str = "opencv", kind: str = "cam_from_world", **extra
) -> Path:
    cams = []
    for pose in _views():
        if convention == "opengl":
            stored = pose if kind == "cam_from_world" else np.linalg.inv(pose)
            stored = GL @ stored if kind == "cam_from_world" else stored @ GL
        else:
            stored = pose if kind == "cam_from_world" else np.linalg.inv(pose)
        cams.append(
            {
                "resolution": [512, 512],
                "focal_length_mm": 50.0,
                "sensor_width_mm": 36.0,
                kind: stored.tolist(),
            }
        )
    doc = {"name": "subj_000042", "convention": convention, "cameras": cams, **extra}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "metadata.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize(
    ("convention", "kind"),
    [
        ("opencv", "cam_from_world"),
        ("opengl", "cam_from_world"),
        ("opengl", "world_from_cam"),
        ("opencv", "world_from_cam"),
    ],
)
def test_views_project_like_opencv(tmp_path: Path, convention: str, kind: str) -> None:
    path = _write(tmp_path / "subj", convention=convention, kind=kind)
    ds = load(path)
    assert len(ds) == 7 and ds.vendors == ("geogen",)
    assert ds.frame_ids == tuple(str(i) for i in range(7))
    points = np.array([[0.0, 0.0, 0.0], [0.05, -0.02, 0.1], [-0.08, 0.03, -0.04]])
    fx = 50.0 / 36.0 * 512
    K = np.array([[fx, 0, 256], [0, fx, 256], [0, 0, 1.0]])
    for frame, pose in zip(ds, _views(), strict=True):
        np.testing.assert_allclose(frame.camera.cam_from_world, pose, atol=1e-12)
        np.testing.assert_allclose(frame.camera.K, K)
        rvec, _ = cv2.Rodrigues(pose[:3, :3])
        expected, _ = cv2.projectPoints(points, rvec, pose[:3, 3], K, None)
        uv, _ = frame.camera.project(points)
        np.testing.assert_allclose(uv, expected[:, 0], atol=1e-6)
        assert frame.vendor == "geogen" and frame.scene_id == "subject:subj_000042"
        assert frame.landmarks == {} and frame.depth_path is None
        assert frame.metadata.focal_length_mm == 50.0 and frame.metadata.sensor_width_mm == 36.0
        assert any("assumed key layout" in n for n in frame.notes)


def test_scenes_and_images(tmp_path: Path) -> None:
    path = _write(tmp_path / "meta")
    (tmp_path / "meta" / "subj_000042").mkdir()
    Image.new("RGB", (512, 512), (10, 20, 30)).save(tmp_path / "meta" / "subj_000042" / "3.png")
    ds = load(tmp_path)
    assert list(ds.scenes()) == ["subject:subj_000042"]
    frame = ds[3]
    assert frame.image_path == tmp_path / "meta" / "subj_000042" / "3.png"
    assert frame.read_image()[0, 0].tolist() == [10, 20, 30]
    assert ds[0].image_path is None
    assert read_frame(path, view="3").camera_name == "3"


def test_named_cameras_and_explicit_intrinsics(tmp_path: Path) -> None:
    pose = _views()[0]
    K = [[600.0, 0.0, 250.0], [0.0, 610.0, 260.0], [0.0, 0.0, 1.0]]
    doc = {
        "cameras": {
            "front": {
                "resolution": [500, 520],
                "intrinsics": K,
                "cam_from_world": pose[:3].tolist(),
            }
        }
    }
    (tmp_path / "metadata.json").write_text(json.dumps(doc))
    frame = read_frame(tmp_path / "metadata.json", view="front")
    np.testing.assert_array_equal(frame.camera.K, K)
    np.testing.assert_allclose(frame.camera.cam_from_world, pose)
    assert frame.scene_id == f"subject:{tmp_path.name}"
    assert (frame.width, frame.height) == (500, 520)


@pytest.mark.parametrize(
    ("edit", "error", "match"),
    [
        (
            lambda d: d["cameras"][2].pop("resolution"),
            MissingKeyError,
            r"missing key cameras\[2\]\.resolution",
        ),
        (
            lambda d: d["cameras"][0].pop("focal_length_mm"),
            MissingKeyError,
            r"missing key cameras\[0\]\.focal_length_mm",
        ),
        (
            lambda d: d["cameras"][1].pop("cam_from_world"),
            MissingKeyError,
            r"missing key cameras\[1\]\.cam_from_world \(or cameras\[1\]\.world_from_cam\)",
        ),
        (
            lambda d: d["cameras"][0].__setitem__("fov", 40),
            FormatError,
            r"unknown key cameras\[0\]\.fov",
        ),
        (
            lambda d: d.__setitem__("extrinsics", []),
            FormatError,
            r"unknown key 'extrinsics' at the top level",
        ),
        (
            lambda d: d["cameras"][0].__setitem__("world_from_cam", np.eye(4).tolist()),
            FormatError,
            r"has both cam_from_world and world_from_cam",
        ),
        (
            lambda d: d.__setitem__("convention", "unreal"),
            FormatError,
            r"Unknown camera convention 'unreal'",
        ),
        (
            lambda d: d["cameras"][0].__setitem__("resolution", [512]),
            FormatError,
            r"resolution to have shape \(2,\)",
        ),
        (
            lambda d: d["cameras"][0]["cam_from_world"][0].__setitem__(0, 3.0),
            FormatError,
            r"cameras\[0\]\.cam_from_world",
        ),
        (
            lambda d: d["cameras"][0].__setitem__("sensor_width_mm", None),
            FormatError,
            r"expected a number",
        ),
    ],
)
def test_layout_errors_name_file_and_key(tmp_path: Path, edit, error, match) -> None:
    path = _write(tmp_path)
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(error, match=match) as info:
        list(load(path))
    assert str(path) in str(info.value)


def test_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "metadata.json"
    path.write_text(json.dumps({"cameras": []}))
    with pytest.raises(FormatError, match=r"expected 'cameras' to be a non-empty list or object"):
        load(path)


@pytest.mark.parametrize("kind", ["cam_from_world", "world_from_cam"])
def test_structured_fields_and_stored_pose_as_stored(tmp_path: Path, kind: str) -> None:
    """The stored pose reaches CameraMetadata relabelled to OpenCV axes but otherwise
    as stored, so a verifier measures the stored matrix, not the camera's checked copy.

    The rotation is scaled by 1 + 4e-7: within the camera's rigidity tolerance, so
    the frame reads, but visibly not orthonormal.
    """
    path = _write(tmp_path, convention="opengl", kind=kind)
    doc = json.loads(path.read_text())
    stored = np.array(doc["cameras"][2][kind])
    stored[:3, :3] *= 1.0 + 4e-7
    doc["cameras"][2][kind] = stored.tolist()
    path.write_text(json.dumps(doc))
    frame = read_frame(path, view=2)
    meta = frame.metadata
    assert meta.axis_convention == "opengl" and meta.pose_kind == kind
    assert meta.matrix_layout == "row_major" and meta.square_pixels is True
    assert meta.pixel_convention is None and meta.euler_rule is None
    np.testing.assert_array_equal(meta.extras["stored_pose"], stored)
    flip = np.diag([1.0, -1.0, -1.0, 1.0])
    if kind == "cam_from_world":
        assert meta.stored_world_from_cam is None
        np.testing.assert_array_equal(meta.stored_cam_from_world, flip @ stored)
        held = meta.stored_cam_from_world
    else:
        assert meta.stored_cam_from_world is None
        np.testing.assert_array_equal(meta.stored_world_from_cam, stored @ flip)
        # the camera's world_from_cam is the rigid inverse of its inverse: not the stored one
        assert np.abs(frame.camera.world_from_cam - meta.stored_world_from_cam).max() > 1e-8
        held = meta.stored_world_from_cam
    R = held[:3, :3]
    np.testing.assert_allclose(np.abs(R.T @ R - np.eye(3)).max(), 8e-7, rtol=1e-3)


def test_non_rigid_pose_names_the_key(tmp_path: Path) -> None:
    path = _write(tmp_path, kind="world_from_cam")
    doc = json.loads(path.read_text())
    doc["cameras"][4]["world_from_cam"][1][1] *= 1.01
    path.write_text(json.dumps(doc))
    with pytest.raises(
        FormatError,
        match=r"cameras\[4\]\.world_from_cam with convention 'opencv' is not valid: Expected",
    ):
        read_frame(path, view=4)

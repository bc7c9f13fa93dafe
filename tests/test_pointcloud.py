"""Tests of camgeom.pointcloud: the PointCloud type, fusing clouds, trimesh and PLY."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from scipy.spatial.transform import Rotation

from camgeom.depth import points_from_depth
from camgeom.errors import InvalidValueError, NonRigidPoseError, OutputExistsError, ShapeError
from camgeom.pointcloud import PointCloud, concatenate_point_clouds

H, W = 64, 97
K_OFF = np.array([[80.0, 0.0, 41.3], [0.0, 90.0, 29.6], [0.0, 0.0, 1.0]])


def test_transformed_matches_manual_math():
    rng = np.random.default_rng(5)
    points = rng.normal(size=(50, 3)).astype(np.float32)
    normals = rng.normal(size=(50, 3)).astype(np.float32)
    cloud = PointCloud(points, rng.integers(0, 9, (50, 2)), normals=normals)
    R = Rotation.from_euler("zyx", [30, -20, 75], degrees=True).as_matrix()
    t = np.array([0.3, -1.2, 2.0])
    pose = np.eye(4)
    pose[:3, :3], pose[:3, 3] = R, t
    moved = cloud.transformed(pose)
    np.testing.assert_allclose(moved.points, points.astype(np.float64) @ R.T + t, atol=1e-6)
    np.testing.assert_allclose(moved.normals, normals.astype(np.float64) @ R.T, atol=1e-6)
    np.testing.assert_array_equal(moved.pixel_indices, cloud.pixel_indices)
    np.testing.assert_array_equal(cloud.points, points)  # original untouched
    back = moved.transformed(np.linalg.inv(pose))
    np.testing.assert_allclose(back.points, points, atol=1e-6)
    scaled = pose.copy()
    scaled[:3, :3] *= 2.0
    with pytest.raises(NonRigidPoseError):
        cloud.transformed(scaled)
    with pytest.raises(ShapeError, match=r"\(4, 4\)"):
        cloud.transformed(np.stack([pose, pose]))


def test_point_cloud_validation_and_repr():
    with pytest.raises(ShapeError, match=r"`pixel_indices` to have shape \(2, 2\)"):
        PointCloud(np.zeros((2, 3)), np.zeros((3, 2), int))
    with pytest.raises(ShapeError, match=r"`points` to have shape \(N, 3\)"):
        PointCloud(np.zeros((2, 4)), np.zeros((2, 2), int))
    with pytest.raises(InvalidValueError, match="integer"):
        PointCloud(np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(InvalidValueError, match="uint8"):
        PointCloud(np.zeros((2, 3)), np.zeros((2, 2), int), colors=np.zeros((2, 3)))
    with pytest.raises(InvalidValueError, match="non-negative"):
        PointCloud.empty(-1)
    cloud = PointCloud(np.zeros((2, 3)), np.zeros((2, 2), int), normals=np.zeros((2, 3)))
    assert repr(cloud) == "PointCloud(n=2, colors=False, normals=True)"
    assert cloud.normals is not None and cloud.normals.dtype == np.float32


def test_concatenate_point_clouds():
    a = PointCloud(np.zeros((2, 3)), [[0, 0], [1, 0]], colors=np.zeros((2, 3), np.uint8))
    b = PointCloud(np.ones((1, 3)), [[5, 5]], colors=np.full((1, 3), 9, np.uint8))
    both = concatenate_point_clouds([a, b])
    assert len(both) == 3
    np.testing.assert_array_equal(both.points[:, 0], [0, 0, 1])
    np.testing.assert_array_equal(both.pixel_indices, [[0, 0], [1, 0], [5, 5]])
    assert both.colors is not None and both.colors[2, 0] == 9 and both.normals is None
    np.testing.assert_array_equal(PointCloud.concatenate(iter([b, a])).points[0], [1, 1, 1])
    assert len(concatenate_point_clouds([])) == 0
    plain = PointCloud(np.zeros((1, 3)), [[0, 0]])
    with pytest.raises(InvalidValueError, match=r"colors missing in clouds \[1\]"):
        concatenate_point_clouds([a, plain])
    no_indices = PointCloud(np.zeros((1, 3)), colors=np.zeros((1, 3), np.uint8))
    with pytest.raises(InvalidValueError, match=r"pixel_indices missing in clouds \[0\]"):
        concatenate_point_clouds([no_indices, a])
    points_only = concatenate_point_clouds(
        [PointCloud(np.zeros((2, 3))), PointCloud(np.ones((1, 3)))]
    )
    assert len(points_only) == 3 and points_only.pixel_indices is None
    with pytest.raises(InvalidValueError, match="PointCloud"):
        concatenate_point_clouds([a, np.zeros((1, 3))])


def test_to_trimesh_and_ply_round_trip(tmp_path):
    rng = np.random.default_rng(9)
    depth = rng.uniform(0.5, 2.0, (H, W)).astype(np.float32)
    depth[rng.random((H, W)) < 0.3] = np.nan
    colors = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    cloud = points_from_depth(depth, K_OFF, colors=colors, pixel_indices=True)
    assert cloud.colors is not None
    mesh = cloud.to_trimesh()
    np.testing.assert_array_equal(mesh.vertices, cloud.points.astype(np.float64))
    np.testing.assert_array_equal(mesh.colors[:, :3], cloud.colors)
    np.testing.assert_array_equal(mesh.metadata["pixel_indices"], cloud.pixel_indices)
    assert "pixel_indices" not in PointCloud(cloud.points).to_trimesh().metadata

    path = cloud.write_ply(tmp_path / "cloud.ply")
    loaded = trimesh.load(path)
    assert isinstance(loaded, trimesh.PointCloud)
    np.testing.assert_array_equal(loaded.vertices, cloud.points.astype(np.float64))
    np.testing.assert_array_equal(loaded.colors[:, :3], cloud.colors)
    with pytest.raises(OutputExistsError):
        cloud.write_ply(path)
    assert cloud.write_ply(path, overwrite=True) == path


def test_pixel_indices_are_optional_and_never_called_pixels():
    cloud = PointCloud(np.zeros((2, 3)))
    assert cloud.pixel_indices is None and cloud.colors is None and cloud.normals is None
    assert not hasattr(cloud, "pixels")  # `pixels` means continuous (u, v) elsewhere
    buf = PointCloud.empty(4)
    assert buf.pixel_indices is None
    assert PointCloud.empty(4, pixel_indices=True).pixel_indices.shape == (4, 2)
    moved = PointCloud(np.zeros((1, 3))).transformed(np.eye(4))
    assert moved.pixel_indices is None


def test_write_ply_keeps_normals(tmp_path):
    points = np.array([[0.0, 0.0, 1.0], [0.5, -0.5, 2.0]], np.float32)
    normals = np.array([[0.0, 0.0, -1.0], [0.6, 0.0, -0.8]], np.float32)
    path = PointCloud(points, normals=normals).write_ply(tmp_path / "n.ply")
    header, body = path.read_bytes().split(b"end_header\n")
    assert b"property float nx" in header and b"property uchar red" not in header
    rows = np.frombuffer(body, dtype="<f4").reshape(2, 6)
    np.testing.assert_array_equal(rows[:, :3], points)
    np.testing.assert_array_equal(rows[:, 3:], normals)

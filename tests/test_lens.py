"""Lens models: projection and unprojection against OpenCV, ranges, conversions, Camera."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

import camgeom
from camgeom.camera import Camera
from camgeom.errors import CamgeomError, InvalidValueError
from camgeom.lens import (
    FisheyeDistortion,
    OpenCVDistortion,
    colmap_from_distortion,
    distort_normalized,
    distortion_from_colmap,
    distortion_from_nerfstudio,
    nerfstudio_from_distortion,
    undistort_normalized,
)
from camgeom.projection import project_points, reproject_points, unproject_points

SAI_K = (0.17149, -0.27191, 0.25787, -0.08054)


def _np_distort(xy: np.ndarray, d: OpenCVDistortion | FisheyeDistortion) -> np.ndarray:
    """Plain-numpy reference of the kernels' forward model (no range check)."""
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    if isinstance(d, FisheyeDistortion):
        r = np.sqrt(r2)
        th = np.arctan(r)
        thd = th * (1 + d.k1 * th**2 + d.k2 * th**4 + d.k3 * th**6 + d.k4 * th**8)
        s = np.where(r > 0, thd / np.where(r > 0, r, 1), 1.0)
        return np.stack([x * s, y * s], -1)
    rad = (1 + d.k1 * r2 + d.k2 * r2**2 + d.k3 * r2**3) / (
        1 + d.k4 * r2 + d.k5 * r2**2 + d.k6 * r2**3
    )
    xd = x * rad + 2 * d.p1 * x * y + d.p2 * (r2 + 2 * x * x)
    yd = y * rad + d.p1 * (r2 + 2 * y * y) + 2 * d.p2 * x * y
    return np.stack([xd, yd], -1)


def _camera(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    f = rng.uniform(150.0, 2000.0)
    K = np.array(
        [
            [f, 0.0, rng.uniform(100, 1000)],
            [0.0, f * rng.uniform(0.8, 1.2), rng.uniform(100, 1000)],
            [0, 0, 1],
        ]
    )
    pose = np.eye(4)
    pose[:3, :3] = Rotation.random(random_state=seed).as_matrix()
    pose[:3, 3] = rng.uniform(-2, 2, 3)
    return K, pose


def _world_points(pose: np.ndarray, rays: np.ndarray, depth: np.ndarray) -> np.ndarray:
    cam = np.c_[rays, np.ones(len(rays))] * depth[:, None]
    R, t = pose[:3, :3], pose[:3, 3]
    return (cam - t) @ R


opencv_models = st.builds(
    OpenCVDistortion,
    st.floats(-0.4, 0.4),
    st.floats(-0.1, 0.1),
    st.floats(-0.01, 0.01),
    st.floats(-0.01, 0.01),
    st.floats(-0.05, 0.05),
    st.floats(0.0, 0.3),
    st.floats(0.0, 0.05),
    st.floats(0.0, 0.01),
)
fisheye_models = st.builds(
    FisheyeDistortion,
    st.floats(-0.2, 0.2),
    st.floats(-0.1, 0.1),
    st.floats(-0.05, 0.05),
    st.floats(-0.02, 0.02),
)


def _rays(seed: int, max_radius: float, n: int = 200) -> np.ndarray:
    rng = np.random.default_rng(seed)
    theta = rng.uniform(0.0, min(math.atan(max_radius), math.radians(80.0)) * 0.999, n)
    phi = rng.uniform(0, 2 * np.pi, n)
    r = np.tan(theta)
    return np.c_[r * np.cos(phi), r * np.sin(phi)]


@given(opencv_models, st.integers(0, 10_000))
def test_opencv_projection_matches_cv2_project_points(d: OpenCVDistortion, seed: int) -> None:
    K, pose = _camera(seed)
    rays = _rays(seed, min(d.max_radius, 1.5))  # up to ~56 degrees off-axis (112 degree field)
    world = _world_points(pose, rays, np.random.default_rng(seed).uniform(0.5, 10, len(rays)))
    uv, z = project_points(world, K, pose, distortion=d)
    rvec, _ = cv2.Rodrigues(pose[:3, :3])
    ref, _ = cv2.projectPoints(world, rvec, pose[:3, 3].copy(), K, d.coefficients)
    scale = max(1.0, float(np.abs(ref).max()) / 1e4)  # 1e-6 px at image scale
    np.testing.assert_allclose(uv, ref[:, 0], rtol=0, atol=1e-6 * scale)
    assert np.all(z > 0)


@given(fisheye_models, st.integers(0, 10_000))
def test_fisheye_projection_matches_cv2_fisheye(d: FisheyeDistortion, seed: int) -> None:
    K, pose = _camera(seed)
    rays = _rays(seed, d.max_radius)  # up to 80 degrees off-axis (160 degree field)
    world = _world_points(pose, rays, np.random.default_rng(seed).uniform(0.5, 10, len(rays)))
    uv, _ = project_points(world, K, pose, distortion=d)
    rvec, _ = cv2.Rodrigues(pose[:3, :3])
    ref, _ = cv2.fisheye.projectPoints(world[None], rvec, pose[:3, 3].copy(), K, d.coefficients)
    np.testing.assert_allclose(uv, ref[0], rtol=0, atol=1e-6)


@pytest.mark.parametrize("fisheye", [False, True])
def test_kernels_match_the_numpy_reference(fisheye: bool) -> None:
    d = (
        FisheyeDistortion(*SAI_K)
        if fisheye
        else OpenCVDistortion(-0.3, 0.08, 0.002, -0.001, 0.01, 0.1)
    )
    xy = _rays(3, 2.0, 20_000)  # enough for the parallel kernels too
    np.testing.assert_allclose(distort_normalized(xy, d), _np_distort(xy, d), rtol=0, atol=1e-14)
    np.testing.assert_allclose(
        distort_normalized(xy[:5], d), _np_distort(xy[:5], d), rtol=0, atol=1e-14
    )


@pytest.mark.parametrize(
    "d",
    [OpenCVDistortion(-0.28, 0.07, 0.001, -0.0015, 0.0), FisheyeDistortion(*SAI_K)],
    ids=["opencv", "fisheye"],
)
def test_unprojection_beats_cv2_undistort_points(d: OpenCVDistortion | FisheyeDistortion) -> None:
    K = np.array([[800.0, 0, 640], [0, 800, 480], [0, 0, 1]])
    xy = _rays(7, d.max_radius, 2000)  # up to 80 degrees or the end of the range
    uv = (np.c_[_np_distort(xy, d), np.ones(len(xy))] @ K.T)[:, :2]
    ours = unproject_points(uv, np.ones(len(uv)), K, distortion=d)[:, :2]
    if isinstance(d, FisheyeDistortion):
        ref = cv2.fisheye.undistortPoints(uv[None], K, d.coefficients)[0]
    else:
        ref = cv2.undistortPoints(uv[None], K, d.coefficients)[:, 0]
    err_ours = float(np.abs(ours - xy).max())
    err_cv2 = float(np.abs(ref - xy).max())
    print(f"{type(d).__name__}: camgeom {err_ours:.2e}, cv2 default iterations {err_cv2:.2e}")
    assert err_ours < 1e-9
    assert err_cv2 > 10 * err_ours


@pytest.mark.parametrize("fisheye", [False, True])
def test_project_then_unproject_round_trip(fisheye: bool) -> None:
    d = FisheyeDistortion(*SAI_K) if fisheye else OpenCVDistortion(-0.2, 0.05, 0.001, 0.002)
    K, pose = _camera(11)
    rays = _rays(11, d.max_radius, 500)
    depth = np.random.default_rng(1).uniform(1, 5, len(rays))
    world = _world_points(pose, rays, depth)
    cam = Camera(K, pose, 2000, 2000, distortion=d)
    uv, z = cam.project(world)
    back = cam.unproject(uv, z, frame="world")
    np.testing.assert_allclose(back, world, rtol=0, atol=1e-9)
    rng_ = np.linalg.norm(np.c_[rays, np.ones(len(rays))] * depth[:, None], axis=-1)
    back_r = cam.unproject(uv, rng_, depth_kind="range", frame="world")
    np.testing.assert_allclose(back_r, world, rtol=0, atol=1e-9)


def test_beyond_the_monotonic_range_is_nan() -> None:
    d = FisheyeDistortion(*SAI_K)
    assert 78.0 < math.degrees(math.atan(d.max_radius)) < 80.0
    K = np.array([[100.0, 0, 50], [0, 100, 50], [0, 0, 1]])
    inside = math.tan(math.atan(d.max_radius) - 0.01)
    outside = math.tan(math.atan(d.max_radius) + 0.01)
    uv, _ = project_points(
        [[inside, 0, 1], [outside, 0, 1], [0, 0, -1]], K, np.eye(4), distortion=d
    )
    assert np.isfinite(uv[0]).all() and np.isnan(uv[1:]).all()
    # distorted radii beyond theta_d(max) have no preimage: NaN, not a wrapped ray
    far = 50 + 100 * (d.max_theta_d + 0.01)
    pts = unproject_points([[far, 50.0], [50.0, 50.0]], 1.0, K, distortion=d)
    assert np.isnan(pts[0]).all() and np.allclose(pts[1], [0, 0, 1])
    # an OpenCV model that folds over (k1 < 0, no higher terms) at r = 1/sqrt(3 |k1|)
    o = OpenCVDistortion(-0.5, 0.0, 0.0, 0.0)
    assert o.max_radius == pytest.approx(1 / math.sqrt(1.5), rel=1e-9)
    assert np.isnan(distort_normalized([o.max_radius * 1.01, 0.0], o)).all()
    assert np.isfinite(distort_normalized([o.max_radius * 0.99, 0.0], o)).all()
    assert np.isnan(undistort_normalized([1.0, 0.0], o)).all()  # beyond h(r_max) = 0.544


def test_no_distortion_takes_the_pinhole_path() -> None:
    K, pose = _camera(5)
    world = _world_points(pose, _rays(5, 1.0), np.full(200, 3.0))
    a = project_points(world, K, pose)
    b = project_points(world, K, pose, distortion=OpenCVDistortion(0, 0, 0, 0))
    np.testing.assert_allclose(a[0], b[0], rtol=1e-13, atol=1e-9)
    np.testing.assert_array_equal(a[0], project_points(world, K, pose, distortion=None)[0])


def test_batched_projection_with_a_lens() -> None:
    d = OpenCVDistortion(-0.1, 0.01, 0.0, 0.0)
    K, pose = _camera(9)
    poses = np.stack([pose, pose @ np.diag([1.0, 1, 1, 1])])
    world = _world_points(pose, _rays(9, 1.0, 30), np.full(30, 2.0))
    uv, _ = project_points(np.stack([world, world]), K[None, None], poses[:, None], distortion=d)
    np.testing.assert_allclose(uv[0], project_points(world, K, pose, distortion=d)[0])
    np.testing.assert_allclose(uv[0], uv[1])


def test_reproject_through_two_lenses() -> None:
    K = np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]])
    da, db = OpenCVDistortion(-0.2, 0.03, 0, 0), FisheyeDistortion(*SAI_K)
    b_pose = np.eye(4)
    b_pose[0, 3] = -0.3
    world = np.array([[0.2, -0.1, 3.0]])
    uv_a, z_a = project_points(world, K, np.eye(4), distortion=da)
    uv_b, _ = reproject_points(uv_a, z_a, K, np.eye(4), K, b_pose, distortion_a=da, distortion_b=db)
    ref, _ = cv2.fisheye.projectPoints(
        world[None], np.zeros(3), b_pose[:3, 3].copy(), K, db.coefficients
    )
    np.testing.assert_allclose(uv_b, ref[0], atol=1e-9)
    a = Camera(K, np.eye(4), 640, 480, distortion=da)
    b = Camera(K, b_pose, 640, 480, distortion=db)
    np.testing.assert_allclose(a.reproject(uv_a, z_a, b)[0], ref[0], atol=1e-9)


def test_camera_carries_its_lens() -> None:
    K = np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]])
    d = FisheyeDistortion(*SAI_K)
    cam = Camera(K, np.eye(4), 640, 480, distortion=d)
    assert cam != Camera(K, np.eye(4), 640, 480)
    assert cam == Camera(K.copy(), np.eye(4), 640, 480, distortion=FisheyeDistortion(*SAI_K))
    assert "FisheyeDistortion" in repr(cam)
    assert cam.scaled(0.5).distortion is d and cam.cropped(1, 2, 10, 10).distortion is d
    assert Camera.from_pose(K, np.eye(4), 640, 480, distortion=d).distortion is d
    with pytest.raises(TypeError):
        Camera(K, np.eye(4), 640, 480, d)  # type: ignore[misc]  # keyword-only
    with pytest.raises(InvalidValueError, match="distortion"):
        Camera(K, np.eye(4), 640, 480, distortion=(0.1, 0.0, 0.0, 0.0))  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        d.k1 = 0.0  # type: ignore[misc]
    with pytest.raises(CamgeomError, match="finite"):
        OpenCVDistortion(np.nan, 0, 0, 0)
    assert (
        camgeom.OpenCVDistortion is OpenCVDistortion
        and camgeom.FisheyeDistortion is FisheyeDistortion
    )


@pytest.mark.parametrize(
    ("model", "params"),
    [
        ("SIMPLE_PINHOLE", [500.0, 320, 240]),
        ("PINHOLE", [500.0, 510, 320, 240]),
        ("SIMPLE_RADIAL", [500.0, 320, 240, -0.1]),
        ("RADIAL", [500.0, 320, 240, -0.1, 0.02]),
        ("OPENCV", [500.0, 510, 320, 240, -0.1, 0.02, 0.001, -0.002]),
        ("FULL_OPENCV", [500.0, 510, 320, 240, -0.1, 0.02, 0.001, -0.002, 0.003, 0.1, 0.01, 0.001]),
        ("OPENCV_FISHEYE", [500.0, 510, 320, 240, 0.1, -0.02, 0.003, -0.001]),
    ],
)
def test_colmap_round_trip(model: str, params: list[float]) -> None:
    K, d = distortion_from_colmap(model, params)
    assert colmap_from_distortion(K, d) == (model, params)


def test_colmap_semantics_and_errors() -> None:
    K, d = distortion_from_colmap("RADIAL", [500.0, 320, 240, -0.1, 0.02])
    assert d == OpenCVDistortion(-0.1, 0.02, 0.0, 0.0)
    np.testing.assert_array_equal(K, [[500, 0, 320], [0, 500, 240], [0, 0, 1]])
    with pytest.raises(InvalidValueError, match="COLMAP model"):
        distortion_from_colmap("THIN_PRISM_FISHEYE", [1.0])
    with pytest.raises(InvalidValueError, match="Expected 4 params"):
        distortion_from_colmap("SIMPLE_RADIAL", [500.0, 320, 240])
    with pytest.raises(InvalidValueError, match="skew"):
        colmap_from_distortion([[500.0, 1, 320], [0, 500, 240], [0, 0, 1]], None)


def test_nerfstudio_round_trip_and_errors() -> None:
    for d in (
        OpenCVDistortion(-0.1, 0.02, 0.001, -0.002, 0.003),
        FisheyeDistortion(0.1, -0.02, 0.003, -0.001),
    ):
        fields = nerfstudio_from_distortion(d)
        assert set(fields) == {"camera_model", "k1", "k2", "k3", "k4", "p1", "p2"}
        assert distortion_from_nerfstudio(fields) == d
    assert distortion_from_nerfstudio(nerfstudio_from_distortion(None)) is None
    with pytest.raises(InvalidValueError, match="rational"):
        nerfstudio_from_distortion(OpenCVDistortion(0, 0, 0, 0, 0, 0.1))
    with pytest.raises(InvalidValueError, match="r\\^8"):
        distortion_from_nerfstudio({"camera_model": "OPENCV", "k4": 0.1})


@pytest.mark.parametrize("k4", [0.0, 0.01], ids=["polynomial", "rational"])
def test_opencv_projection_beyond_the_range_is_nan(k4: float) -> None:
    d = OpenCVDistortion(-0.5, 0.0, 0.0, 0.0, 0.0, k4)
    K = np.array([[100.0, 0, 50], [0, 100, 50], [0, 0, 1]])
    r = d.max_radius
    pts = np.array([[0.99 * r, 0, 1], [1.01 * r, 0, 1], [0, 1.01 * r, 1]])
    for n in (3, 20_000):  # serial and parallel kernels
        uv, _ = project_points(np.resize(pts, (n, 3)), K, np.eye(4), distortion=d)
        assert np.isfinite(uv[0::3]).all() and np.isnan(uv[1::3]).all() and np.isnan(uv[2::3]).all()


@pytest.mark.parametrize("kind", ["z", "range"])
@pytest.mark.parametrize("fisheye", [False, True])
def test_points_from_depth_through_a_lens(kind: str, fisheye: bool) -> None:
    d = FisheyeDistortion(*SAI_K) if fisheye else OpenCVDistortion(-0.2, 0.05, 0.001, 0.002)
    K = np.array([[40.0, 0, 32], [0, 40, 24], [0, 0, 1]])
    cam = Camera(K, np.eye(4), 64, 48, distortion=d)
    depth = np.full((48, 64), 2.0, np.float32)
    cloud = camgeom.points_from_depth(depth, K, depth_kind=kind, distortion=d, pixel_indices=True)
    assert len(cloud) == depth.size
    idx = cloud.pixel_indices
    assert idx is not None
    ref = cam.unproject(idx + 0.5, np.full(len(idx), 2.0), depth_kind=kind)
    np.testing.assert_allclose(cloud.points, ref, rtol=1e-6, atol=1e-6)
    uv, _ = cam.project(cloud.points.astype(np.float64))
    np.testing.assert_allclose(uv, idx + 0.5, atol=1e-4)
    with pytest.raises(InvalidValueError, match="out"):
        camgeom.points_from_depth(depth, K, distortion=d, out=np.empty((depth.size, 3), np.float32))


def test_points_from_depth_drops_pixels_beyond_the_lens_range() -> None:
    d = FisheyeDistortion(*SAI_K)
    K = np.array([[10.0, 0, 32], [0, 10, 24], [0, 0, 1]])  # corners past theta_d max
    depth = np.full((48, 64), 2.0, np.float32)
    cloud = camgeom.points_from_depth(depth, K, distortion=d)
    assert 0 < len(cloud) < depth.size and np.isfinite(cloud.points).all()


@pytest.mark.parametrize(
    "d",
    [OpenCVDistortion(-0.4, 0.1, 0.0, 0.0, -0.01), OpenCVDistortion(-0.3, 0.0, 0.0, 0.0)],
)
def test_undistortion_near_the_fold_converges_like_cv2(d: OpenCVDistortion) -> None:
    """Purely radial lenses (one inverse) up to 0.999 of the largest distorted radius:
    a full Newton step overshoots the fold there; the backtracking step must not give NaN."""
    rmax = d.max_radius
    rd_max = float(np.hypot(*distort_normalized(np.array([[rmax * (1 - 1e-9), 0.0]]), d)[0]))
    rng = np.random.default_rng(7)
    ang = rng.uniform(0, 2 * np.pi, 20000)
    rad = rd_max * np.sqrt(rng.uniform(0.75, 0.999**2, 20000))
    nd = np.stack([rad * np.cos(ang), rad * np.sin(ang)], axis=1)
    lost = np.array([[-0.73779997, 0.07174035]])  # a point the plain iteration lost
    if np.hypot(*lost[0]) < 0.999 * rd_max:  # inside this lens's range
        nd = np.concatenate([nd, lost])
    und = undistort_normalized(nd, d)
    assert np.isfinite(und).all()
    np.testing.assert_allclose(distort_normalized(und, d), nd, atol=1e-13)
    K = np.eye(3)
    ref = cv2.undistortPoints(
        nd.reshape(-1, 1, 2), K, d.coefficients, criteria=(3, 200, 1e-15)
    ).reshape(-1, 2)
    close = np.abs(distort_normalized(ref, d) - nd).max(axis=1) < 1e-9  # where cv2 converged
    assert close.mean() > 0.9
    np.testing.assert_allclose(und[close], ref[close], atol=1e-9)

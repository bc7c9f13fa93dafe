"""Projection, unprojection and reprojection."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from camgeom._kernels.projection import project_parallel, project_serial
from camgeom.camera import Camera
from camgeom.errors import InvalidValueError, NonRigidPoseError, ShapeError
from camgeom.poses import pose_from_rotation_translation
from camgeom.projection import (
    _project_pinhole_numpy,
    in_image,
    project_points,
    reproject_points,
    unproject_points,
)


def reference_projection(points, K, pose):
    """Plain-numpy reference: p_cam = R p + t; uv = (K p_cam)[:2] / z, NaN where z <= 0."""
    p = np.einsum("...ij,...j->...i", pose[..., :3, :3], points) + pose[..., :3, 3]
    z = p[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        uvw = np.einsum("...ij,...j->...i", K, p)
        uv = uvw[..., :2] / z[..., None]
    uv[~(z > 0)] = np.nan
    return uv, z


def random_cameras(rng, n):
    R = Rotation.random(n, random_state=rng).as_matrix()
    poses = pose_from_rotation_translation(R, rng.normal(size=(n, 3)))
    K = np.zeros((n, 3, 3))
    K[:, 0, 0] = rng.uniform(50, 3000, n)
    K[:, 1, 1] = K[:, 0, 0] * rng.uniform(0.8, 1.25, n)
    K[:, 0, 1] = rng.uniform(-2, 2, n)
    K[:, 0, 2] = rng.uniform(0, 1000, n)
    K[:, 1, 2] = rng.uniform(0, 1000, n)
    K[:, 2, 2] = 1
    return K, poses


def test_hand_derived_projection():
    K = np.array([[500.0, 0.0, 320.0], [0.0, 400.0, 240.0], [0.0, 0.0, 1.0]])
    pose = pose_from_rotation_translation(np.eye(3), [0.0, 0.0, 1.0])  # world origin 1 m ahead
    uv, z = project_points([[0.2, -0.1, 1.0], [0.0, 0.0, -1.0], [0.0, 0.0, -2.0]], K, pose)
    np.testing.assert_allclose(uv[0], [320 + 500 * 0.1, 240 - 400 * 0.05])
    np.testing.assert_allclose(z, [2.0, 0.0, -1.0])
    assert np.isnan(uv[1:]).all()  # on and behind the camera plane: NaN, never a pixel


@pytest.mark.kernels
def test_kernel_matches_numpy_reference_batched():
    rng = np.random.default_rng(0)
    F, N = 7, 13
    K, poses = random_cameras(rng, F)
    pts = rng.normal(size=(F, N, 3)) * 2
    uv, z = project_points(pts, K[:, None], poses[:, None])
    ref_uv, ref_z = reference_projection(pts, K[:, None], poses[:, None])
    np.testing.assert_allclose(uv, ref_uv, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(z, ref_z, rtol=1e-12, atol=1e-12)
    assert np.isnan(uv).any() and not np.isnan(uv).all()  # some behind, some in front
    # the serial and parallel kernels agree exactly, across chunk boundaries
    flat = pts.reshape(-1, 3)
    out = [(np.empty((F * N, 2)), np.empty(F * N)) for _ in range(2)]
    project_serial(flat, K, poses, N, *out[0])
    project_parallel(flat, K, poses, N, *out[1])
    np.testing.assert_array_equal(out[0][0], out[1][0])


def test_numpy_pinhole_projection_matches_the_kernel():
    """The numpy path that readers' checks use (without loading numba) agrees with the kernel."""
    rng = np.random.default_rng(3)
    K, poses = random_cameras(rng, 5)
    for k, pose in zip(K, poses, strict=True):
        pts = rng.normal(size=(200, 3)) * 2
        uv, z = _project_pinhole_numpy(pts, k, pose)
        ref_uv, ref_z = project_points(pts, k, pose)
        np.testing.assert_allclose(uv, ref_uv, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(z, ref_z, rtol=1e-12, atol=1e-12)
        assert np.isnan(uv).any() and not np.isnan(uv).all()  # some behind, some in front
        np.testing.assert_array_equal(np.isnan(uv), np.isnan(ref_uv))


@pytest.mark.kernels
@pytest.mark.parametrize(
    ("pshape", "kshape", "oshape"),
    [
        ((5, 3), (), ()),
        ((4, 5, 3), (4, 1), (4, 1)),
        ((4, 5, 3), (), (4, 1)),
        ((4, 5, 3), (4, 1), ()),
        ((5, 3), (4, 1), (4, 1)),  # one point set seen by 4 cameras
        ((2, 3, 5, 3), (2, 3, 1), (3, 1)),
        ((4, 5, 3), (4, 5), ()),  # one K per point
        ((3,), (), ()),
        ((0, 3), (), ()),
    ],
)
def test_broadcasting(pshape, kshape, oshape):
    rng = np.random.default_rng(1)
    nk, no = int(np.prod(kshape)), int(np.prod(oshape))
    K, _ = random_cameras(rng, max(nk, 1))
    _, poses = random_cameras(rng, max(no, 1))
    K = K.reshape(*kshape, 3, 3) if kshape else K[0]
    poses = poses.reshape(*oshape, 4, 4) if oshape else poses[0]
    pts = rng.normal(size=pshape) + [0, 0, 4]
    uv, z = project_points(pts, K, poses)
    ref_uv, ref_z = reference_projection(pts, K, poses)
    assert uv.shape == ref_uv.shape and z.shape == ref_z.shape
    np.testing.assert_allclose(uv, ref_uv, rtol=1e-12, atol=1e-9)


@pytest.mark.kernels
def test_large_batch_uses_parallel_kernel_and_matches():
    rng = np.random.default_rng(2)
    F, N = 80, 468  # above the parallel threshold
    K, poses = random_cameras(rng, F)
    pts = rng.normal(size=(F, N, 3)) * 0.1 + [0, 0, 3]
    uv, _ = project_points(pts, K[:, None], poses[:, None])
    # points near the camera plane land ~1e7 px away: compare relatively there
    np.testing.assert_allclose(
        uv, reference_projection(pts, K[:, None], poses[:, None])[0], rtol=1e-10, atol=1e-9
    )


@pytest.mark.kernels
def test_kernel_variant_is_chosen_by_size(monkeypatch):
    # One 468-point frame never wakes the thread pool; a large batch uses it.
    from camgeom import projection as proj
    from camgeom._kernels import projection as kernels

    used = []
    for name in ("project_serial", "project_parallel"):
        real = getattr(kernels, name)
        monkeypatch.setattr(
            kernels, name, lambda *a, _real=real, _name=name: (used.append(_name), _real(*a))
        )
    rng = np.random.default_rng(3)
    K, poses = random_cameras(rng, 1)
    for n, expected in ((468, "project_serial"), (proj._PARALLEL_MIN, "project_parallel")):
        project_points(rng.normal(size=(n, 3)), K[0], poses[0])
        assert used[-1] == expected
    project_points(rng.normal(size=(proj._PARALLEL_MIN - 1, 3)), K[0], poses[0])
    assert used[-1] == "project_serial"


@given(st.integers(0, 10_000))
def test_agrees_with_opencv_project_points(seed):
    rng = np.random.default_rng(seed)
    K, poses = random_cameras(rng, 1)
    K, pose = K[0].copy(), poses[0]
    K[0, 1] = 0.0  # cv2.projectPoints has no skew term
    # points in front of the camera
    p_cam = rng.uniform([-1, -1, 0.5], [1, 1, 10], (20, 3))
    pts = (p_cam - pose[:3, 3]) @ pose[:3, :3]
    uv, z = project_points(pts, K, pose)
    rvec, _ = cv2.Rodrigues(pose[:3, :3])
    ref, _ = cv2.projectPoints(pts, rvec, pose[:3, 3], K, None)
    # 1e-9 px, or 1e-12 relative far from the image (seed 474: 1.2e-9 px at v = -1172,
    # the fused multiply-adds of the kernel rounding differently from OpenCV)
    np.testing.assert_allclose(uv, ref[:, 0], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(z, p_cam[:, 2], atol=1e-12)


@given(st.integers(0, 10_000), st.sampled_from(["z", "range"]))
def test_project_then_unproject_is_identity(seed, kind):
    rng = np.random.default_rng(seed)
    K, poses = random_cameras(rng, 1)
    cam = Camera(K[0], poses[0], 1000, 1000)
    p_cam = rng.uniform([-1, -1, 0.2], [1, 1, 20], (30, 3))
    world = cam.unproject(np.zeros((30, 2)), np.ones(30), frame="world")  # any world points
    world = (p_cam - cam.cam_from_world[:3, 3]) @ cam.cam_from_world[:3, :3]
    uv, z = cam.project(world)
    depth = z if kind == "z" else np.linalg.norm(p_cam, axis=-1)
    np.testing.assert_allclose(
        cam.unproject(uv, depth, depth_kind=kind), p_cam, rtol=1e-9, atol=1e-9
    )
    np.testing.assert_allclose(
        cam.unproject(uv, depth, depth_kind=kind, frame="world"), world, atol=1e-8
    )


def test_range_and_z_differ_off_axis_by_the_ray_cosine():
    K = np.array([[100.0, 0, 50], [0, 100, 50], [0, 0, 1]])
    p_z = unproject_points([150.0, 50.0], 2.0, K, depth_kind="z")  # 45 degrees to the right
    p_r = unproject_points([150.0, 50.0], 2.0, K, depth_kind="range")
    np.testing.assert_allclose(p_z, [2.0, 0.0, 2.0])
    np.testing.assert_allclose(p_r, [np.sqrt(2), 0.0, np.sqrt(2)])


def _opencv_pixels(world, K, pose):
    """Reference pixels from cv2.projectPoints (no skew term: K[0, 1] must be 0)."""
    rvec, _ = cv2.Rodrigues(pose[:3, :3])
    ref, _ = cv2.projectPoints(world, rvec, pose[:3, 3].copy(), K, None)
    return ref[:, 0]


def test_reproject_between_two_cameras():
    # Reference independent of camgeom: world points built by hand in front of both
    # cameras, pixels and depth in `a` by hand, pixels in `b` by cv2.projectPoints.
    rng = np.random.default_rng(5)
    K, poses = random_cameras(rng, 1)
    K_a = K[0].copy()
    K_a[0, 1] = 0.0
    K_b = np.array([[900.0, 0.0, 410.0], [0.0, 950.0, 380.0], [0.0, 0.0, 1.0]])
    pose_a = poses[0]
    turn = Rotation.from_rotvec([0.05, -0.2, 0.1]).as_matrix()  # b: a turned and moved aside
    pose_b = pose_from_rotation_translation(
        turn @ pose_a[:3, :3], turn @ pose_a[:3, 3] + [0.3, -0.1, 0.2]
    )
    p_cam_a = rng.uniform([-1, -1, 2], [1, 1, 6], (10, 3))
    world = (p_cam_a - pose_a[:3, 3]) @ pose_a[:3, :3]  # R^T (p - t), row vectors
    uv_a = p_cam_a[:, :2] / p_cam_a[:, 2:] * [K_a[0, 0], K_a[1, 1]] + K_a[:2, 2]
    ref_uv = _opencv_pixels(world, K_b, pose_b)
    ref_z = world @ pose_b[2, :3] + pose_b[2, 3]
    assert (ref_z > 0.5).all()
    a, b = Camera(K_a, pose_a, 800, 800), Camera(K_b, pose_b, 800, 800)
    for kind, depth in (("z", p_cam_a[:, 2]), ("range", np.linalg.norm(p_cam_a, axis=-1))):
        for uv_b, z_b in (
            reproject_points(uv_a, depth, K_a, pose_a, K_b, pose_b, depth_kind=kind),
            a.reproject(uv_a, depth, b, depth_kind=kind),
        ):
            np.testing.assert_allclose(uv_b, ref_uv, atol=1e-7)
            np.testing.assert_allclose(z_b, ref_z, atol=1e-9)


def test_reproject_batched_and_behind():
    # F camera pairs at once equal F single calls; a point behind `b` gives NaN pixels.
    rng = np.random.default_rng(6)
    K, poses = random_cameras(rng, 6)
    uv = rng.uniform(0, 800, (3, 5, 2))
    depth = rng.uniform(1, 5, (3, 5))
    uv_b, z_b = reproject_points(
        uv, depth, K[:3, None], poses[:3, None], K[3:, None], poses[3:, None]
    )
    assert uv_b.shape == (3, 5, 2) and z_b.shape == (3, 5)
    for f in range(3):
        one_uv, one_z = reproject_points(uv[f], depth[f], K[f], poses[f], K[3 + f], poses[3 + f])
        np.testing.assert_array_equal(uv_b[f], one_uv)
        np.testing.assert_array_equal(z_b[f], one_z)
    behind = np.diag([-1.0, 1.0, -1.0, 1.0])  # looks along -z from the origin
    uv_n, z_n = reproject_points([400.0, 400.0], 2.0, K[0], np.eye(4), K[0], behind)
    assert np.isnan(uv_n).all() and z_n == pytest.approx(-2.0)


def test_reproject_bad_input():
    K = np.eye(3)
    with pytest.raises(ShapeError, match="`K_b` to have shape"):
        reproject_points([1.0, 1.0], 1.0, K, np.eye(4), np.eye(4), np.eye(4))
    with pytest.raises(NonRigidPoseError, match="`cam_from_world_a`"):
        reproject_points([1.0, 1.0], 1.0, K, 2 * np.eye(4), K, np.eye(4))
    with pytest.raises(ShapeError, match=r"`K_a` \(4,\)"):
        reproject_points(
            np.zeros((3, 2)), np.ones(3), np.tile(K, (4, 1, 1)), np.eye(4), K, np.eye(4)
        )
    cam = Camera(K, np.eye(4), 10, 10)
    with pytest.raises(InvalidValueError, match="Expected `other` to be a Camera"):
        cam.reproject([1.0, 1.0], 1.0, np.eye(4))  # type: ignore[arg-type]


def test_in_image():
    uv = np.array([[0.0, 0.0], [63.999, 47.999], [64.0, 10.0], [-0.001, 3], [np.nan, 3]])
    assert in_image(uv, 64, 48).tolist() == [True, True, False, False, False]


def test_non_finite_points_give_nan():
    uv, _ = project_points([[np.nan, 0.0, 1.0], [0.0, 0.0, np.inf]], np.eye(3), np.eye(4))
    assert np.isnan(uv).all()


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (
            ([1.0, 2.0], np.eye(3), np.eye(4)),
            ShapeError,
            r"`points_world` to have shape \(\.\.\., 3\), got \(2,\)",
        ),
        (
            ([1.0, 2.0, 3.0], np.eye(4), np.eye(4)),
            ShapeError,
            r"`K` to have shape \(\.\.\., 3, 3\), got \(4, 4\)",
        ),
        (([1.0, 2.0, 3.0], np.eye(3), np.eye(3)), ShapeError, r"`cam_from_world` to have shape"),
        (([1.0, 2.0, 3.0], np.diag([0.0, 1, 1]), np.eye(4)), InvalidValueError, "positive focal"),
        (([1.0, 2.0, 3.0], np.diag([-5.0, 5, 1]), np.eye(4)), InvalidValueError, "fx=-5"),
        (
            ([1.0, 2.0, 3.0], np.full((3, 3), np.nan), np.eye(4)),
            InvalidValueError,
            "`K` to be finite",
        ),
        (([1.0, 2.0, 3.0], np.eye(3), np.diag([1.0, 1, 2, 1])), NonRigidPoseError, "orthonormal"),
        (([1.0, 2.0, 3.0], np.eye(3), np.diag([1.0, 1, -1, 1])), NonRigidPoseError, "reflection"),
        (
            (np.zeros((4, 5, 3)), np.tile(np.eye(3), (4, 1, 1)), np.eye(4)),
            ShapeError,
            r"K\[:, None\]",
        ),
        (("abc", np.eye(3), np.eye(4)), InvalidValueError, "numeric"),
    ],
)
def test_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        project_points(*args)


def test_unproject_bad_input():
    K = np.eye(3)
    with pytest.raises(InvalidValueError, match=r"depth_kind"):
        unproject_points([1.0, 1.0], 1.0, K, depth_kind="ray")
    with pytest.raises(InvalidValueError, match="`depth` to be finite"):
        unproject_points([1.0, 1.0], np.nan, K)
    with pytest.raises(InvalidValueError, match=">= 0"):
        unproject_points([1.0, 1.0], -1.0, K, depth_kind="range")
    with pytest.raises(ShapeError, match="broadcast"):
        unproject_points(np.zeros((3, 2)), np.zeros(4), K)


def test_inputs_are_not_modified():
    rng = np.random.default_rng(9)
    K, poses = random_cameras(rng, 1)
    pts = rng.normal(size=(10, 3))
    copies = [a.copy() for a in (pts, K[0], poses[0])]
    project_points(pts, K[0], poses[0])
    for a, b in zip((pts, K[0], poses[0]), copies, strict=True):
        np.testing.assert_array_equal(a, b)


def test_out_buffers_are_filled_and_returned():
    rng = np.random.default_rng(11)
    K, poses = random_cameras(rng, 3)
    pts = rng.normal(size=(3, 4, 3)) + [0, 0, 5]
    uv_ref, z_ref = project_points(pts, K[:, None], poses[:, None])
    buf = (np.full((3, 4, 2), -1.0), np.full((3, 4), -1.0))
    uv, z = project_points(pts, K[:, None], poses[:, None], out=buf)
    assert uv is buf[0] and z is buf[1]
    np.testing.assert_array_equal(uv, uv_ref)
    np.testing.assert_array_equal(z, z_ref)
    with pytest.raises(ShapeError, match=r"out\[0\]"):
        project_points(pts, K[:, None], poses[:, None], out=(np.empty((12, 2)), np.empty((3, 4))))
    with pytest.raises(InvalidValueError, match="float64"):
        project_points(
            pts, K[:, None], poses[:, None], out=(np.empty((3, 4, 2), np.float32), np.empty((3, 4)))
        )


@pytest.mark.kernels
@pytest.mark.parametrize("which", [0, 1])
def test_read_only_out_is_refused_before_the_kernel_runs(which):
    # The same error with and without the JIT (numba alone raises a TypingError here,
    # plain numpy a ValueError), and the other buffer is left untouched.
    pts = np.ones((2, 3))
    buf = (np.full((2, 2), -1.0), np.full(2, -1.0))
    buf[which].setflags(write=False)
    with pytest.raises(InvalidValueError, match=rf"`out\[{which}\]` to be writeable"):
        project_points(pts, np.eye(3), np.eye(4), out=buf)
    assert (buf[0] == -1).all() and (buf[1] == -1).all()


# One process of the cache test: call the projection kernels in the order given on
# the command line, then print how many calls were served from the on-disk cache.
_CACHE_SCRIPT = """
import sys
import numpy as np
from camgeom._kernels.projection import project_parallel, project_serial
kernels = {"serial": project_serial, "parallel": project_parallel}
pts, K, pose = np.ones((8, 3)), np.eye(3)[None].copy(), np.eye(4)[None].copy()
for name in sys.argv[1:]:
    kernels[name](pts, K, pose, 8, np.empty((8, 2)), np.empty(8))
print(sum(sum(kernels[n].stats.cache_hits.values()) for n in sys.argv[1:]))
"""


def _run_kernels(cache_dir: Path, *order: str) -> tuple[dict[str, bytes], int]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    env.pop("NUMBA_DISABLE_JIT", None)
    done = subprocess.run(
        [sys.executable, "-c", _CACHE_SCRIPT, *order],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    files = {f.name: f.read_bytes() for f in cache_dir.rglob("projection.*") if f.is_file()}
    return files, int(done.stdout.split()[-1])


@pytest.mark.skipif(
    os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"), reason="needs compiled kernels"
)
def test_serial_and_parallel_kernels_have_their_own_cache_entries(tmp_path):
    # Two fresh caches filled in opposite orders hold the same files: one index and one
    # data file per variant, parallel code (a parfor gufunc) only in the parallel one.
    # When both variants shared one entry, the first to compile served both.
    first, hits = _run_kernels(tmp_path / "a", "serial", "parallel")
    assert hits == 0
    second, hits = _run_kernels(tmp_path / "b", "parallel", "serial")
    assert hits == 0
    assert sorted(first) == sorted(second)
    for variant, is_parallel in (("serial", False), ("parallel", True)):
        mine = sorted(name for name in first if f"._project_{variant}-" in name)
        assert [name.split(".")[-1] for name in mine] == ["nbc", "nbi"], sorted(first)
        for files in (first, second):
            data = next(files[n] for n in mine if n.endswith(".nbc"))
            assert (b"gufunc" in data) is is_parallel, (variant, sorted(files))
    assert len(first) == 4
    # A process with a warm cache loads both variants, in either order, without compiling.
    _, hits = _run_kernels(tmp_path / "a", "parallel", "serial")
    assert hits == 2

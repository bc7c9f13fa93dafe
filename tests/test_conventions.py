"""Camera-axis and pixel conventions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from camgeom import CamgeomError
from camgeom.conventions import (
    AXIS_CONVENTIONS,
    axes_matrix,
    convert_pixels,
    convert_points,
    convert_pose,
    gl_intrinsics_from_intrinsics,
    gl_projection_from_intrinsics,
    intrinsics_from_gl_intrinsics,
    intrinsics_from_gl_projection,
    resolve_convention,
)
from camgeom.errors import ConventionError, InvalidValueError, NonRigidPoseError, ShapeError
from camgeom.poses import pose_from_euler
from camgeom.projection import project_points

finite = st.floats(-1e3, 1e3, allow_nan=False)
points3 = arrays(np.float64, st.tuples(st.integers(1, 5), st.just(3)), elements=finite)
names = st.sampled_from([*AXIS_CONVENTIONS, "RDF", "LUF", "RUB", "DRB", "FLU", "BRD"])


def test_named_conventions_hand_derived():
    # a point 2 m in front of the camera, 1 m to its right and 0.5 m above it
    p_cv = np.array([1.0, -0.5, 2.0])
    assert np.array_equal(convert_points(p_cv, "opencv", "opengl"), [1.0, 0.5, -2.0])
    assert np.array_equal(convert_points(p_cv, "opencv", "pytorch3d"), [-1.0, 0.5, 2.0])
    assert np.array_equal(convert_points(p_cv, "colmap", "blender"), [1.0, 0.5, -2.0])
    assert np.array_equal(convert_points(p_cv, "opencv", "nerfstudio"), [1.0, 0.5, -2.0])
    # FLU (x forward, y left, z up: robotics camera body frame)
    assert np.array_equal(convert_points(p_cv, "opencv", "FLU"), [2.0, -1.0, 0.5])


def test_resolve_is_case_insensitive_and_lists_names_on_error():
    assert resolve_convention("OpenGL") == "RUB"
    assert resolve_convention("rdf") == "RDF"
    for bad in ("opengl2", "RRF", "RD", "XYZ", 3):
        with pytest.raises(ConventionError, match="opencv") as info:
            resolve_convention(bad)  # type: ignore[arg-type]
        assert isinstance(info.value, ValueError) and isinstance(info.value, CamgeomError)


@given(points3, names, names)
def test_point_round_trip(points, a, b):
    back = convert_points(convert_points(points, a, b), b, a)
    np.testing.assert_allclose(back, points, rtol=0, atol=1e-12)


@given(names, names, names)
def test_axes_matrices_compose(a, b, c):
    np.testing.assert_array_equal(axes_matrix(b, c) @ axes_matrix(a, b), axes_matrix(a, c))


@given(
    arrays(np.float64, (3,), elements=st.floats(-np.pi, np.pi)),
    arrays(np.float64, (3,), elements=finite),
    points3,
    st.sampled_from(["opencv", "opengl", "pytorch3d", "RDF", "LDB", "DLF"]),
)
def test_pose_conversion_keeps_the_world_geometry(angles, t, pts, dst):
    cam_from_world = pose_from_euler("xyz", angles, t)
    world_from_cam = np.linalg.inv(cam_from_world)
    p_cv = (cam_from_world[:3, :3] @ pts.T).T + cam_from_world[:3, 3]
    conv = convert_pose(cam_from_world, "opencv", dst)
    np.testing.assert_allclose(
        (conv[:3, :3] @ pts.T).T + conv[:3, 3], convert_points(p_cv, "opencv", dst), atol=1e-9
    )
    conv_w = convert_pose(world_from_cam, "opencv", dst, kind="world_from_cam")
    np.testing.assert_allclose(conv_w @ conv, np.eye(4), atol=1e-9)
    back = convert_pose(conv, dst, "opencv")
    np.testing.assert_allclose(back, cam_from_world, atol=1e-12)


def test_pose_conversion_errors():
    with pytest.raises(ConventionError, match="kind"):
        convert_pose(np.eye(4), "opencv", "opengl", kind="c2w")
    with pytest.raises(ConventionError, match="handedness"):
        convert_pose(np.eye(4), "opencv", "RUF")
    with pytest.raises(NonRigidPoseError, match="orthonormal"):
        convert_pose(np.diag([2.0, 1, 1, 1]), "opencv", "opengl")
    with pytest.raises(ShapeError, match=r"\(\.\.\., 4, 4\), got \(3, 4\)"):
        convert_pose(np.eye(4)[:3], "opencv", "opengl")
    # left-handed triples are fine for points
    assert np.array_equal(convert_points([1.0, 2.0, 3.0], "RDF", "RUF"), [1.0, -2.0, 3.0])


# ---------------------------------------------------------------- OpenGL matrices

K = np.array([[520.0, 1.5, 300.25], [0.0, 515.0, 170.75], [0.0, 0.0, 1.0]])
W, H = 640, 360


def test_gl_intrinsics_project_gl_points_like_opencv():
    rng = np.random.default_rng(0)
    p_cv = rng.uniform([-1, -1, 1], [1, 1, 5], (20, 3))
    p_gl = convert_points(p_cv, "opencv", "opengl")
    uvw = p_gl @ gl_intrinsics_from_intrinsics(K).T
    uv_cv = project_points(p_cv, K, np.eye(4))[0]
    np.testing.assert_allclose(uvw[:, :2] / uvw[:, 2:], uv_cv, atol=1e-9)
    np.testing.assert_allclose(intrinsics_from_gl_intrinsics(gl_intrinsics_from_intrinsics(K)), K)
    # the vendor-printed form diag(1,-1,-1) @ K mirrors the image: pin that it is wrong
    naive = p_gl @ (np.diag([1.0, -1.0, -1.0]) @ K).T
    assert np.abs(naive[:, :2] / naive[:, 2:] - uv_cv).max() > 10


def test_gl_projection_matrix_matches_K_and_round_trips():
    rng = np.random.default_rng(1)
    P = gl_projection_from_intrinsics(K, W, H, near=0.1, far=50.0)
    p_cv = rng.uniform([-1, -1, 0.5], [1, 1, 20], (50, 3))
    clip = np.c_[convert_points(p_cv, "opencv", "opengl"), np.ones(50)] @ P.T
    ndc = clip[:, :3] / clip[:, 3:]
    uv = np.c_[(ndc[:, 0] + 1) / 2 * W, (1 - ndc[:, 1]) / 2 * H]
    np.testing.assert_allclose(uv, project_points(p_cv, K, np.eye(4))[0], atol=1e-9)
    # near plane maps to -1, far to +1
    z = np.array([[0, 0, -0.1, 1], [0, 0, -50.0, 1]]) @ P.T
    np.testing.assert_allclose(z[:, 2] / z[:, 3], [-1.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(intrinsics_from_gl_projection(P, W, H), K, atol=1e-12)
    near, far = P[2, 3] / (P[2, 2] - 1), P[2, 3] / (P[2, 2] + 1)
    assert np.isclose(near, 0.1) and np.isclose(far, 50.0)
    with pytest.raises(InvalidValueError, match="near"):
        gl_projection_from_intrinsics(K, W, H, near=1.0, far=0.5)
    with pytest.raises(InvalidValueError, match="last row"):
        intrinsics_from_gl_projection(np.eye(4), W, H)


# ---------------------------------------------------------------- pixels


def test_pixel_conventions_hand_derived():
    uv = np.array([[0.5, 0.5], [100.25, 20.0]])
    np.testing.assert_allclose(
        convert_pixels(uv, "camgeom", "integer_centre"), [[0, 0], [99.75, 19.5]]
    )
    np.testing.assert_allclose(convert_pixels(uv, "camgeom", "colmap"), uv)
    np.testing.assert_allclose(
        convert_pixels(uv, "camgeom", "screen_space", width=200, height=40),
        [[0.0025, 0.0125], [0.50125, 0.5]],
    )
    np.testing.assert_allclose(
        convert_pixels(uv, "camgeom", "normalized_bottom_left", width=200, height=40),
        [[0.0025, 0.9875], [0.50125, 0.5]],
    )
    np.testing.assert_allclose(
        convert_pixels(uv, "camgeom", "row_col"), [[0.5, 0.5], [20.0, 100.25]]
    )
    np.testing.assert_allclose(
        convert_pixels([[3.0, 7.0]], "opencv_remap", "row_col"), [[7.5, 3.5]]
    )


@given(
    arrays(np.float64, st.tuples(st.integers(1, 4), st.just(2)), elements=st.floats(-50, 500)),
    st.sampled_from(
        ["camgeom", "colmap", "integer_centre", "screen_space", "normalized_bottom_left", "row_col"]
    ),
    st.sampled_from(
        [
            "camgeom",
            "opencv_remap",
            "integer_centre",
            "screen_space",
            "normalized_bottom_left",
            "row_col",
        ]
    ),
)
def test_pixel_round_trip(uv, a, b):
    there = convert_pixels(uv, a, b, width=320, height=200)
    np.testing.assert_allclose(convert_pixels(there, b, a, width=320, height=200), uv, atol=1e-12)


def test_pixel_errors():
    with pytest.raises(ConventionError, match="screen_space"):
        convert_pixels([1.0, 2.0], "camgeom", "ndc")
    with pytest.raises(InvalidValueError, match="width"):
        convert_pixels([1.0, 2.0], "camgeom", "screen_space")
    with pytest.raises(ShapeError, match=r"\(\.\.\., 2\), got \(3,\)"):
        convert_pixels([1.0, 2.0, 3.0], "camgeom", "row_col")


def test_axes_matrix_is_a_copy_so_the_cached_one_cannot_be_changed():
    from camgeom.conventions import axes_matrix, convert_points

    a = axes_matrix("opengl", "opencv")
    a[:] = 0.0  # a caller's copy: convert_points still uses the right matrix
    np.testing.assert_array_equal(
        convert_points([1.0, 2.0, 3.0], "opengl", "opencv"), [1.0, -2.0, -3.0]
    )
    np.testing.assert_array_equal(axes_matrix("opengl", "opencv"), np.diag([1.0, -1.0, -1.0]))

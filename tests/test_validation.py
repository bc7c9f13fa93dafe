"""The pose and intrinsics checks: numpy and compiled measurements agree; numba loads late."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from camgeom import _validation
from camgeom._kernels import validation as kernels
from camgeom.errors import InvalidValueError, NonRigidPoseError
from camgeom.poses import pose_from_rotation_translation


def _poses(rng, n):
    poses = pose_from_rotation_translation(
        Rotation.random(n, random_state=rng).as_matrix(), rng.normal(size=(n, 3))
    )
    poses[1, :3, :3] *= 1.001  # scaled
    poses[2, :3, 0] *= -1  # reflection
    poses[3, 3, :3] = 0.2  # transposed-looking last row
    return poses


def _intrinsics(rng, n):
    K = np.zeros((n, 3, 3))
    K[:, 0, 0] = rng.uniform(-10, 3000, n)
    K[:, 1, 1] = rng.uniform(-10, 3000, n)
    K[:, :2, 2] = rng.uniform(0, 1000, (n, 2))
    K[:, 2, 2] = 1.0
    K[1, 2, 1] = 0.5
    K[2, 1, 0] = -0.25
    return K


def _by_numpy(fn, stack):
    saved = _validation._kernels
    _validation._kernels = None
    try:
        return fn(stack)
    finally:
        _validation._kernels = saved


@pytest.mark.kernels
@pytest.mark.parametrize("n", [1, 4, 50])
def test_numpy_and_kernel_measure_the_same(n):
    rng = np.random.default_rng(n)
    for stack, numpy_fn, kernel in (
        (_poses(rng, max(n, 4))[:n], _validation.pose_errors, kernels.pose_errors),
        (_intrinsics(rng, max(n, 3))[:n], _validation.intrinsics_errors, kernels.intrinsics_errors),
    ):
        stack = np.ascontiguousarray(stack)
        by_numpy, by_kernel = _by_numpy(numpy_fn, stack), kernel(stack)
        np.testing.assert_allclose(by_numpy[:3], by_kernel[:3], rtol=1e-12, atol=1e-15)
        assert by_numpy[3] is True and bool(by_kernel[3]) is True
        stack[-1, 0, 1] = np.nan
        assert _by_numpy(numpy_fn, stack)[3] is False and not kernel(stack)[3]


def test_one_matrix_path_measures_like_the_array_path():
    """A single pose or K is measured in Python floats; a stack of two goes through numpy."""
    rng = np.random.default_rng(7)
    for stack, fn in (
        (_poses(rng, 6), _validation.pose_errors),
        (_intrinsics(rng, 6), _validation.intrinsics_errors),
    ):
        stack[5, 1, 1] = np.inf
        for one in stack:
            single = _by_numpy(fn, np.ascontiguousarray(one[None]))
            double = _by_numpy(fn, np.ascontiguousarray(np.stack([one, one])))
            assert single[3] is double[3]
            if single[3]:
                np.testing.assert_allclose(single[:3], double[:3], rtol=1e-12, atol=1e-15)
            assert all(type(v) is float for v in single[:3])


@pytest.mark.parametrize("use_kernels", [False, True])
def test_checks_raise_the_same_with_numpy_or_kernels(use_kernels, monkeypatch):
    if use_kernels:
        monkeypatch.setattr(_validation, "_kernels", kernels)
    else:
        monkeypatch.setattr(_validation, "_kernels", None)
    with pytest.raises(NonRigidPoseError, match="orthonormal"):
        _validation.check_pose(np.diag([1.0, 1, 2, 1]))
    with pytest.raises(NonRigidPoseError, match="reflection"):
        _validation.check_pose(np.diag([1.0, 1, -1, 1]))
    with pytest.raises(NonRigidPoseError, match=r"pass pose\.T"):
        _validation.check_pose(pose_from_rotation_translation(np.eye(3), [1.0, 2, 3]).T)
    with pytest.raises(InvalidValueError, match="fx=-5"):
        _validation.check_intrinsics(np.diag([-5.0, 5, 1]))
    with pytest.raises(InvalidValueError, match="upper-triangular"):
        _validation.check_intrinsics([[1.0, 0, 0], [0, 1, 0], [0, 1, 1]])
    with pytest.raises(InvalidValueError, match="finite"):
        _validation.check_intrinsics(np.full((2, 3, 3), np.inf))
    assert _validation.check_pose(np.empty((0, 4, 4))).shape == (0, 4, 4)
    assert _validation.check_intrinsics(np.tile(np.eye(3), (5, 1, 1))).shape == (5, 3, 3)


def test_import_and_cameras_do_not_load_numba():
    # numba (and scipy, which numba imports) load with the first kernel, not before.
    code = (
        "import sys, numpy as np, camgeom\n"
        "from camgeom.intrinsics import intrinsics_from_fov\n"
        "cam = camgeom.Camera(intrinsics_from_fov(1.0, 64, 48), np.eye(4), 64, 48)\n"
        "cam.unproject([[1.0, 2.0]], [3.0], frame='world')\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'numba', 'scipy', 'llvmlite'})\n"
        "assert not loaded, loaded\n"
        "cam.project([0.0, 0.0, 1.0])\n"
        "assert 'numba' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# ---------------------------------------------------------------- hostile arguments
K_OK = np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]])


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (np.array([[1 + 1j, 0, 1]]), "complex numbers"),
        (np.array([["1", "0", "1"]]), "strings"),
        ([["1.5", "0", "1"]], "strings"),
        (np.array([[1, 0, 1]], dtype="datetime64[s]"), "dates"),
        (np.array([[1, 0, 1]], dtype="timedelta64[s]"), "time spans"),
        (np.array([[True, False, True]]), "booleans"),
        ([[1, 2, 1 + 2j]], "complex numbers"),
    ],
)
def test_check_points_rejects_values_that_are_not_real_numbers(value, kind):
    with pytest.raises(InvalidValueError, match=f"`points` to be numeric .*got {kind}"):
        _validation.check_points(value)


@pytest.mark.parametrize("dtype", [np.complex128, np.bool_, "U3", "datetime64[s]"])
def test_check_intrinsics_and_pose_reject_non_real_dtypes(dtype):
    K = K_OK.astype(dtype) if dtype != "datetime64[s]" else K_OK.astype(np.int64).astype(dtype)
    with pytest.raises(InvalidValueError, match="`K` to be numeric"):
        _validation.check_intrinsics(K)
    pose = np.eye(4).astype(dtype) if dtype != "datetime64[s]" else np.eye(4, dtype=dtype)
    with pytest.raises(InvalidValueError, match="`pose` to be numeric"):
        _validation.check_pose(pose)


def test_object_arrays_with_strings_or_bools_are_rejected():
    with pytest.raises(InvalidValueError, match=r"numeric .*'1'"):
        _validation.check_points(np.array([10**400, "1", 2.0], dtype=object))
    with pytest.raises(InvalidValueError, match=r"numeric .*True"):
        _validation.check_points([10**400, True, 2.0])


def test_integers_too_large_for_float64_are_an_invalid_value():
    with pytest.raises(InvalidValueError, match="fit a float64"):
        _validation.check_points([[10**400, 0, 1]])
    with pytest.raises(InvalidValueError, match="fit a float64"):
        _validation.check_pose([[10**400, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    # An integer beyond int64 that fits a float64 is still a number.
    assert _validation.check_points([[2**70, 0, 1]])[0, 0] == 2.0**70


def test_real_numbers_of_every_width_still_pass():
    for dtype in (np.float16, np.float32, np.int8, np.uint16, np.int64):
        out = _validation.check_points(np.ones((2, 3), dtype=dtype))
        assert out.dtype == np.float64 and out.shape == (2, 3)


@pytest.mark.parametrize(
    "value", [np.inf, float("nan"), 10**400, "640", True, 1e12, 2**31, None, 1.5]
)
def test_check_positive_int_rejects_with_a_clear_error(value):
    with pytest.raises(InvalidValueError, match="`width` to be a positive integer"):
        _validation.check_positive_int(value, "width")


@pytest.mark.parametrize("value", ["2", b"2", True, 1 + 0j, 10**400, np.inf, [2.0], None])
def test_check_real_rejects_with_a_clear_error(value):
    with pytest.raises(InvalidValueError, match="`scale` to be a positive finite number"):
        _validation.check_real(value, "scale", positive=True)


def test_check_real_accepts_numpy_and_python_numbers():
    assert _validation.check_real(np.float32(0.5), "s", positive=True) == 0.5
    assert _validation.check_real(np.array(-2), "s") == -2.0
    assert _validation.check_real(3, "s") == 3.0


def test_camera_and_math_api_reproducers_raise_camgeom_errors():
    from camgeom.camera import Camera
    from camgeom.depth import points_from_depth
    from camgeom.errors import CamgeomError
    from camgeom.intrinsics import intrinsics_from_focal_length
    from camgeom.projection import in_image, project_points, reproject_points

    cam = Camera(K_OK, np.eye(4), 640, 480)
    depth = np.ones((4, 4), np.float32)
    K4 = np.array([[5.0, 0, 2], [0, 5, 2], [0, 0, 1]])
    cases = [
        (lambda: Camera(K_OK, np.eye(4), np.inf, 480), "`width` to be a positive integer"),
        (lambda: in_image([[1.0, 1.0]], np.inf, 480), "`width`"),
        (lambda: in_image([[1.0, 1.0]], 10**400, 480), "`width`"),
        (lambda: project_points([[10**400, 0, 1]], K_OK, np.eye(4)), "float64"),
        (lambda: intrinsics_from_focal_length(50, 36, 640, 480, shift_x=None), "`shift_x`"),
        (lambda: intrinsics_from_focal_length("50", 36, 640, 480), "`focal_length_mm`"),
        (lambda: intrinsics_from_focal_length(10**400, 36, 640, 480), "`focal_length_mm`"),
        (lambda: intrinsics_from_focal_length(1e300, 1e-300, 640, 480), "overflows"),
        (lambda: cam.scaled("2"), "`scale` to be a positive finite number"),
        (lambda: cam.scaled(np.inf), "`scale`"),
        (lambda: cam.reproject([1.0, 1.0], 1.0, None), "`other` to be a Camera"),
        (lambda: reproject_points([1.0, 1.0], 1.0, K_OK, np.eye(4), K_OK, None), "shape"),
        (lambda: points_from_depth(depth, K4, stride=10**30), "`stride`"),
        (lambda: points_from_depth(depth, K4, stride=2.5), "`stride`"),
        (lambda: points_from_depth(depth, K4, mask={1, "a"}), "`mask`"),
        (
            lambda: points_from_depth(
                depth, K4, segmentation=np.zeros((4, 4), int), segment_ids={1, "a"}
            ),
            "`segment_ids`",
        ),
    ]
    for call, match in cases:
        with pytest.raises(CamgeomError, match=match):
            call()


def test_a_stride_larger_than_the_map_keeps_the_first_pixel():
    from camgeom.depth import points_from_depth

    K4 = np.array([[5.0, 0, 2], [0, 5, 2], [0, 0, 1]])
    cloud = points_from_depth(np.ones((4, 4), np.float32), K4, stride=1000)
    assert len(cloud.points) == 1

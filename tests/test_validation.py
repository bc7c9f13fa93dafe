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

"""Input checks that validate *and* return the converted array.

Each ``check_*`` function takes the user's value and the argument name, and
returns a new float64 (or bool/int) array, or raises a :class:`~camgeom.errors`
error naming the argument, the expected and the actual value. Inputs are never
modified.

The pose and intrinsics checks measure a whole stack in one pass. Until a
kernel module has been loaded they do it with numpy (about 20 us for one
matrix), so that building cameras and reading metadata never imports numba;
:func:`use_kernels`, called by the projection on its first use, switches them
to the compiled one-pass kernels (about 1 us). Both give the same numbers.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import numpy as np

from camgeom.errors import InvalidValueError, NonRigidPoseError, ShapeError

__all__ = [
    "check_array",
    "check_depth_kind",
    "check_finite",
    "check_intrinsics",
    "check_pixels",
    "check_points",
    "check_pose",
    "check_positive_int",
    "check_real",
    "check_rotation",
    "shape_str",
    "use_kernels",
]

RIGID_ATOL = 1e-6
"""Default tolerance of the rigidity check (orthonormality and last row)."""


_kernels: ModuleType | None = None


def use_kernels() -> None:
    """Check poses and intrinsics with the compiled kernels from now on (imports numba)."""
    global _kernels
    if _kernels is None:
        from camgeom._kernels import validation

        _kernels = validation


def pose_errors(poses: np.ndarray) -> tuple[float, float, float, bool]:
    """For C-contiguous poses (M, 4, 4): max |R^T R - I|, min det R, max |last row - [0, 0, 0, 1]|, all finite.

    Values other than the last are meaningless when the poses are not all finite.
    """
    if poses.shape[0] == 1:
        return _one_pose_errors(poses[0].ravel().tolist())
    if _kernels is not None:
        return _kernels.pose_errors(poses)
    finite = bool(np.isfinite(poses).all())
    if not finite or not poses.shape[0]:
        return 0.0, np.inf, 0.0, finite
    R = poses[:, :3, :3]
    ortho = np.abs(np.swapaxes(R, -1, -2) @ R - np.eye(3)).max()
    det = (
        R[:, 0, 0] * (R[:, 1, 1] * R[:, 2, 2] - R[:, 1, 2] * R[:, 2, 1])
        - R[:, 0, 1] * (R[:, 1, 0] * R[:, 2, 2] - R[:, 1, 2] * R[:, 2, 0])
        + R[:, 0, 2] * (R[:, 1, 0] * R[:, 2, 1] - R[:, 1, 1] * R[:, 2, 0])
    )
    last = np.abs(poses[:, 3] - [0.0, 0.0, 0.0, 1.0]).max()
    return float(ortho), float(det.min()), float(last), True


def intrinsics_errors(Ks: np.ndarray) -> tuple[float, float, float, bool]:
    """For C-contiguous K (M, 3, 3): min fx, min fy, max |lower part and last row - [0, 0, 1]|, all finite.

    Values other than the last are meaningless when the matrices are not all finite.
    """
    if Ks.shape[0] == 1:
        return _one_intrinsics_errors(Ks[0].ravel().tolist())
    if _kernels is not None:
        return _kernels.intrinsics_errors(Ks)
    finite = bool(np.isfinite(Ks).all())
    if not finite or not Ks.shape[0]:
        return np.inf, np.inf, 0.0, finite
    lower = np.abs(Ks[:, [1, 2, 2, 2], [0, 0, 1, 2]] - [0.0, 0.0, 0.0, 1.0]).max()
    return float(Ks[:, 0, 0].min()), float(Ks[:, 1, 1].min()), float(lower), True


def _one_pose_errors(p: list[float]) -> tuple[float, float, float, bool]:
    """:func:`pose_errors` of one pose given as its 16 row-major floats (no numpy calls).

    One pose is checked far faster in Python floats than through a dozen small
    numpy calls; the sums are the array path's up to rounding.
    """
    if not all(math.isfinite(v) for v in p):
        return 0.0, math.inf, 0.0, False
    r = (p[0:3], p[4:7], p[8:11])
    ortho = 0.0
    for i in range(3):
        for j in range(3):
            # (R^T R)[i, j] = sum_k R[k, i] R[k, j], as numpy's matmul sums it
            dot = r[0][i] * r[0][j] + r[1][i] * r[1][j] + r[2][i] * r[2][j]
            ortho = max(ortho, abs(dot - (1.0 if i == j else 0.0)))
    det = (
        r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1])
        - r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0])
        + r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0])
    )
    last = max(abs(p[12]), abs(p[13]), abs(p[14]), abs(p[15] - 1.0))
    return ortho, det, last, True


def _one_intrinsics_errors(k: list[float]) -> tuple[float, float, float, bool]:
    """:func:`intrinsics_errors` of one K given as its 9 row-major floats (no numpy calls)."""
    if not all(math.isfinite(v) for v in k):
        return math.inf, math.inf, 0.0, False
    lower = max(abs(k[3]), abs(k[6]), abs(k[7]), abs(k[8] - 1.0))
    return k[0], k[4], lower, True


def shape_str(shape: tuple[int | str, ...]) -> str:
    """Format a shape like numpy does, with ``...`` for leading dimensions."""
    parts = [str(s) for s in shape]
    if len(parts) == 1:
        return f"({parts[0]},)"
    return "(" + ", ".join(parts) + ")"


def check_array(
    value: Any,
    name: str,
    trailing: tuple[int, ...],
    *,
    dtype: Any = np.float64,
    finite: bool = True,
    min_ndim: int | None = None,
) -> np.ndarray:
    """Return ``value`` as an array whose last dimensions are ``trailing``.

    Raises
    ------
    ShapeError
        ``Expected `name` to have shape (..., 3), got (4,).``
    InvalidValueError
        If ``finite`` and the array holds NaN or inf.
    """
    arr = _as_real_array(value, name, dtype)
    nd = len(trailing)
    if (
        arr.ndim < (nd if min_ndim is None else min_ndim)
        or tuple(arr.shape[arr.ndim - nd :]) != trailing
    ):
        want = shape_str(("...", *trailing)) if nd else "(...)"
        raise ShapeError(f"Expected `{name}` to have shape {want}, got {shape_str(arr.shape)}.")
    if finite:
        check_finite(arr, name)
    return arr


_REAL_KINDS = "fiu"
"""numpy dtype kinds accepted as numbers: floating, signed and unsigned integers."""


def _as_real_array(value: Any, name: str, dtype: Any) -> np.ndarray:
    """``value`` as an array of ``dtype``, refusing values that are not real numbers.

    Complex numbers (the imaginary part would be dropped), strings (even
    numeric ones), booleans, dates and time spans are rejected, as are
    integers too large for float64.
    """
    if np.dtype(dtype).kind not in _REAL_KINDS:
        return _convert(value, name, dtype)
    raw = value if isinstance(value, np.ndarray) else _convert(value, name, None)
    if raw.dtype.kind == "O":
        # Python ints beyond int64, Fractions, Decimals ... but no str, bool or complex.
        bad = next(
            (v for v in raw.ravel() if isinstance(v, (str, bytes, bool, complex, np.bool_))),
            None,
        )
        if bad is not None:
            raise InvalidValueError(f"Expected `{name}` to be numeric (real numbers), got {bad!r}.")
        return _convert(raw, name, dtype)
    if raw.dtype.kind not in _REAL_KINDS:
        raise InvalidValueError(
            f"Expected `{name}` to be numeric (real numbers), got {_describe(raw)}."
        )
    return _convert(raw, name, dtype)


def _convert(value: Any, name: str, dtype: Any) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=dtype)
    except OverflowError:
        raise InvalidValueError(
            f"Expected `{name}` to hold numbers that fit a float64 (|x| < 1.8e308), got a "
            "larger integer."
        ) from None
    except (TypeError, ValueError) as exc:
        raise InvalidValueError(
            f"Expected `{name}` to be numeric, got {type(value).__name__}: {exc}"
        ) from None
    return arr


def _describe(arr: np.ndarray) -> str:
    kind = {
        "c": "complex numbers",
        "b": "booleans",
        "U": "strings",
        "S": "bytes",
        "M": "dates",
        "m": "time spans",
        "V": "structured records",
    }.get(arr.dtype.kind, "values")
    return f"{kind} ({arr.dtype}, shape {shape_str(arr.shape)})"


def check_real(value: Any, name: str, *, positive: bool = False) -> float:
    """Return a finite real scalar as ``float`` (positive if asked).

    Strings, booleans, complex numbers and values beyond float64 are rejected.

    Raises
    ------
    InvalidValueError
        ``Expected `scale` to be a positive finite number, got '2'.``
    """
    want = "a positive finite number" if positive else "a finite number"
    scalar = np.isscalar(value) or (isinstance(value, np.ndarray) and value.ndim == 0)
    if not scalar or isinstance(value, (str, bytes, bool, np.bool_)):
        raise InvalidValueError(f"Expected `{name}` to be {want}, got {value!r}.")
    arr = np.asarray(value)
    if arr.dtype.kind not in _REAL_KINDS and arr.dtype.kind != "O":
        raise InvalidValueError(f"Expected `{name}` to be {want}, got {value!r}.")
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidValueError(f"Expected `{name}` to be {want}, got {value!r}.") from None
    if not np.isfinite(v) or (positive and v <= 0):
        raise InvalidValueError(f"Expected `{name}` to be {want}, got {value!r}.")
    return v


def check_finite(arr: np.ndarray, name: str) -> np.ndarray:
    """Raise :class:`InvalidValueError` if ``arr`` holds NaN or inf."""
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise InvalidValueError(
            f"Expected `{name}` to be finite, got {bad} NaN/inf value(s) of {np.size(arr)}."
        )
    return arr


def check_points(points: Any, name: str = "points", *, finite: bool = True) -> np.ndarray:
    """Return points as a float64 array of shape (..., 3)."""
    return check_array(points, name, (3,), finite=finite)


def check_pixels(uv: Any, name: str = "uv", *, finite: bool = True) -> np.ndarray:
    """Return pixel coordinates as a float64 array of shape (..., 2)."""
    return check_array(uv, name, (2,), finite=finite)


def check_intrinsics(K: Any, name: str = "K") -> np.ndarray:
    """Return an OpenCV intrinsic matrix (..., 3, 3) after checking it.

    The matrix must be finite, have positive focal lengths ``K[0,0]`` and
    ``K[1,1]``, zeros below the diagonal and a last row of ``[0, 0, 1]``.
    """
    arr = check_array(K, name, (3, 3), finite=False)
    min_fx, min_fy, shape_err, finite = intrinsics_errors(
        np.ascontiguousarray(arr).reshape(-1, 3, 3)
    )
    if not finite:
        check_finite(arr, name)
    if not (min_fx > 0 and min_fy > 0):
        raise InvalidValueError(
            f"Expected `{name}` to have positive focal lengths K[0,0] and K[1,1], "
            f"got fx={min_fx:.6g}, fy={min_fy:.6g}."
        )
    if shape_err > 1e-9:
        last = arr[..., 2, :]
        lower = arr[..., 1, 0]
        raise InvalidValueError(
            f"Expected `{name}` to be an upper-triangular intrinsic matrix with last row [0, 0, 1], "
            f"got last row {_first_row(last)} and K[1,0]={_first(lower)}. "
            "If this is an OpenGL projection matrix, convert it with "
            "camgeom.conventions.intrinsics_from_gl_projection."
        )
    return arr


def check_rotation(R: Any, name: str = "R", *, atol: float = RIGID_ATOL) -> np.ndarray:
    """Return a rotation matrix (..., 3, 3) after checking R^T R = I and det R = +1."""
    arr = check_array(R, name, (3, 3))
    err = np.abs(np.swapaxes(arr, -1, -2) @ arr - np.eye(3)).max(initial=0.0)
    if err > atol:
        raise NonRigidPoseError(
            f"Expected `{name}` to be orthonormal (|R^T R - I| <= {atol:g}), got error {err:.3g}."
            " Scale or shear in the matrix? Orthonormalise it with camgeom.poses.nearest_rotation."
        )
    det = np.linalg.det(arr)
    if np.any(det < 0):
        raise NonRigidPoseError(
            f"Expected `{name}` to have determinant +1, got {_first(det[det < 0])}: it is a "
            "reflection. A mirrored axis usually means a convention mix-up (OpenGL vs OpenCV); "
            "see camgeom.conventions.convert_pose."
        )
    return arr


def check_pose(pose: Any, name: str = "pose", *, atol: float = RIGID_ATOL) -> np.ndarray:
    """Return a rigid 4x4 pose (..., 4, 4) after checking it.

    The upper-left 3x3 block must be a rotation (orthonormal, det +1) and the
    last row ``[0, 0, 0, 1]``, both to ``atol``.
    """
    arr = check_array(pose, name, (4, 4), finite=False)
    ortho, min_det, last_err, finite = pose_errors(np.ascontiguousarray(arr).reshape(-1, 4, 4))
    if not finite:
        check_finite(arr, name)
    if last_err > atol:
        last = arr[..., 3, :]
        hint = ""
        if np.allclose(arr[..., :3, 3], 0.0, atol=atol) and np.allclose(arr[..., 3, 3], 1.0):
            hint = " It looks transposed (translation in the last row): pass pose.T."
        raise NonRigidPoseError(
            f"Expected `{name}` to have last row [0, 0, 0, 1], got {_first_row(last)}.{hint}"
        )
    if ortho > atol or min_det < 0:
        check_rotation(arr[..., :3, :3], f"{name}[..., :3, :3]", atol=atol)
    return arr


MAX_INT = 2**31 - 1
"""Largest size, count or stride :func:`check_positive_int` accepts."""


def check_positive_int(value: Any, name: str) -> int:
    """Return ``value`` as a positive ``int`` up to :data:`MAX_INT` (image sizes, strides)."""
    if isinstance(value, (str, bytes, bool, np.bool_)):
        raise InvalidValueError(f"Expected `{name}` to be a positive integer, got {value!r}.")
    try:
        as_int = int(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidValueError(
            f"Expected `{name}` to be a positive integer, got {value!r}."
        ) from None
    if as_int != value or as_int <= 0:
        raise InvalidValueError(f"Expected `{name}` to be a positive integer, got {value!r}.")
    if as_int > MAX_INT:
        raise InvalidValueError(
            f"Expected `{name}` to be a positive integer up to {MAX_INT}, got {value!r}."
        )
    return as_int


DEPTH_KINDS = ("z", "range")


def check_depth_kind(depth_kind: str, name: str = "depth_kind") -> str:
    """Return ``depth_kind`` if it is ``"z"`` (planar) or ``"range"`` (distance along the ray)."""
    if depth_kind not in DEPTH_KINDS:
        from camgeom.errors import ConventionError

        raise ConventionError(
            f"Expected `{name}` to be one of {DEPTH_KINDS!r}, got {depth_kind!r}. "
            "Use 'z' for planar depth (Datagen, Blender Z pass) and 'range' for distance "
            "along the pixel ray (Synthesis AI depth.tif)."
        )
    return depth_kind


def _first(a: Any) -> str:
    flat = np.asarray(a).ravel()
    return f"{flat[0]:.6g}" if flat.size else "[]"


def _first_row(a: Any) -> str:
    arr = np.asarray(a)
    row = arr.reshape(-1, arr.shape[-1])[0] if arr.ndim > 1 else arr
    return np.array2string(row, precision=6, separator=", ")

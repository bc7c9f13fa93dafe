"""Project world points to pixels and back.

camgeom's frames: world -> camera by a rigid ``cam_from_world`` pose in the
OpenCV convention (x right, y down, z forward), camera -> image by an OpenCV
K in camgeom's pixel convention (pixel (col, row) covers [col, col+1) x
[row, row+1); centres at +0.5). Depth is either planar ``"z"`` (camera z) or
``"range"`` (distance from the camera centre along the pixel ray). An
optional lens model (:mod:`camgeom.lens`) distorts normalised coordinates
between the two; without one the pinhole kernel runs unchanged. See
``docs/conventions.md``.
"""

from __future__ import annotations

from math import prod
from types import ModuleType
from typing import Any

import numpy as np

from camgeom._validation import (
    check_array,
    check_depth_kind,
    check_intrinsics,
    check_pixels,
    check_points,
    check_pose,
    check_positive_int,
    shape_str,
    use_kernels,
)
from camgeom.errors import InvalidValueError, ShapeError
from camgeom.lens import Distortion, check_distortion, undistort_normalized
from camgeom.poses import invert_pose

__all__ = ["in_image", "project_points", "reproject_points", "unproject_points"]

_PARALLEL_MIN = 16384
"""Points from which the parallel kernel runs (4 chunks; measured crossover ~6,000 quiet,
~10,000 with every core busy). One 468-point frame always runs serially: waking the
threads costs more than it saves, and far more when another process loads the cores."""

_kernels: ModuleType | None = None
_lens_kernels: ModuleType | None = None


def _load_kernels() -> ModuleType:
    """The compiled projection kernels, loaded (with numba) on the first projection."""
    global _kernels
    from camgeom._kernels import projection

    use_kernels()
    _kernels = projection
    return projection


def _load_lens_kernels() -> ModuleType:
    """The compiled lens kernels, loaded on the first projection through a lens model."""
    global _lens_kernels
    from camgeom._kernels import lens

    use_kernels()
    _lens_kernels = lens
    return lens


def _broadcast(name_shapes: list[tuple[str, tuple[int, ...]]]) -> tuple[int, ...]:
    try:
        return np.broadcast_shapes(*(s for _, s in name_shapes))
    except ValueError:
        desc = ", ".join(f"`{n}` {shape_str(s)}" for n, s in name_shapes)
        raise ShapeError(
            f"Leading dimensions do not broadcast: {desc}. To project F frames x N points with "
            "per-frame K and pose, pass points (F, N, 3), K (F, 1, 3, 3) and poses (F, 1, 4, 4) "
            "(e.g. K[:, None])."
        ) from None


def project_points(
    points_world: Any,
    K: Any,
    cam_from_world: Any,
    *,
    distortion: Distortion | None = None,
    out: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Project world points to pixels.

    Parameters
    ----------
    points_world : array_like, shape (..., 3)
        World points. Non-finite points give NaN pixels and depth.
    K : array_like, shape (..., 3, 3)
        OpenCV intrinsics (checked: finite, positive focal lengths, last row 0 0 1).
    cam_from_world : array_like, shape (..., 4, 4)
        Rigid world-to-camera poses in the OpenCV convention (checked).
        Leading dimensions broadcast with numpy's rules: F frames x N landmarks
        with per-frame cameras are points (F, N, 3), K (F, 1, 3, 3) and poses
        (F, 1, 4, 4).
    distortion : OpenCVDistortion or FisheyeDistortion, optional
        Lens model applied to the normalised coordinates before K, shared by
        every camera of the batch (:mod:`camgeom.lens`). Points beyond the
        model's monotonic range give NaN pixels.
    out : (ndarray, ndarray), optional
        Caller-owned C-contiguous float64 buffers of shapes (..., 2) and (...)
        to write ``uv`` and ``depth`` into (saves the allocation when the same
        batch size is projected repeatedly). They are returned.

    Returns
    -------
    uv : ndarray, shape (..., 2), float64
        Pixel coordinates (u, v) = (column, row). NaN for points on or behind
        the camera plane (z <= 0), never a plausible pixel.
    depth : ndarray, shape (...), float64
        Camera z of each point (negative behind the camera).

    Examples
    --------
    >>> K = [[100.0, 0, 64], [0, 100, 48], [0, 0, 1]]
    >>> uv, z = project_points([[0.1, 0.0, 2.0], [0.0, 0.0, -1.0]], K, np.eye(4))
    >>> uv
    array([[69., 48.],
           [nan, nan]])
    >>> z
    array([ 2., -1.])
    """
    kernels = _kernels or _load_kernels()
    lens = check_distortion(distortion)
    pts = check_points(points_world, "points_world", finite=False)
    k = check_intrinsics(K)
    pose = check_pose(cam_from_world, "cam_from_world")
    pshape, kshape, oshape = pts.shape[:-1], k.shape[:-2], pose.shape[:-2]
    if not kshape and not oshape:
        lead: tuple[int, ...] = ()
        out_shape = pshape
        k_c, pose_c = k[None], pose[None]  # copied below
    else:
        out_shape = _broadcast(
            [("points_world", pshape), ("K", kshape), ("cam_from_world", oshape)]
        )
        nd = len(out_shape)
        kp = (1,) * (nd - len(kshape)) + kshape
        op = (1,) * (nd - len(oshape)) + oshape
        inner = 0
        while inner < nd and kp[nd - 1 - inner] == 1 and op[nd - 1 - inner] == 1:
            inner += 1
        lead = out_shape[: nd - inner]
        ones = (1,) * inner
        k_c = np.ascontiguousarray(
            np.broadcast_to(k.reshape(kp + (3, 3)), lead + ones + (3, 3))
        ).reshape(-1, 3, 3)
        pose_c = np.ascontiguousarray(
            np.broadcast_to(pose.reshape(op + (4, 4)), lead + ones + (4, 4))
        ).reshape(-1, 4, 4)
    k_c = _for_kernel(k_c)
    pose_c = _for_kernel(pose_c)
    n_groups = max(prod(lead), 1)
    total = prod(out_shape)
    if pts.shape[:-1] != out_shape:
        pts = np.broadcast_to(pts, out_shape + (3,))
    flat = np.ascontiguousarray(pts).reshape(-1, 3)
    if out is None:
        uv = np.empty((total, 2))
        depth = np.empty(total)
    else:
        uv, depth = _check_out(out, out_shape)
    if total and lens is not None:
        lk = _lens_kernels or _load_lens_kernels()
        kernel = lk.project_lens_parallel if total >= _PARALLEL_MIN else lk.project_lens_serial
        kernel(flat, k_c, pose_c, total // n_groups, lens.model, lens.kernel_params(), uv, depth)
    elif total:
        kernel = kernels.project_parallel if total >= _PARALLEL_MIN else kernels.project_serial
        kernel(flat, k_c, pose_c, total // n_groups, uv, depth)
    if out is not None:
        return out
    return uv.reshape(out_shape + (2,)), depth.reshape(out_shape)


def _project_pinhole_numpy(
    points_world: np.ndarray, K: np.ndarray, cam_from_world: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`project_points` in plain numpy, for one pinhole camera, without numba.

    For checks that run while reading metadata (a reader must not load numba,
    which costs about 0.35 s per process). No validation: ``points_world``
    (N, 3) float64, a checked ``K`` (3, 3) and a rigid ``cam_from_world`` (4, 4).
    Same formula and NaN rule as the kernel, without its fused multiply-adds (the
    two agree to a few units in the last place).

    Returns
    -------
    uv : ndarray, shape (N, 2), float64
    depth : ndarray, shape (N,), float64
    """
    cam = points_world @ cam_from_world[:3, :3].T + cam_from_world[:3, 3]
    z = cam[:, 2]
    img = cam @ K[:2].T  # (u z, v z) with K's last row taken as [0, 0, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = img / np.where(z > 0.0, z, np.nan)[:, None]
    return uv, z


def _for_kernel(a: np.ndarray) -> np.ndarray:
    """``a`` if C-contiguous and writeable, else a copy that is (K and poses are small).

    numba compiles another specialisation, with slower code, for read-only
    arrays (broadcast views, Camera's frozen matrices); ``np.require`` does the
    same check at several times the cost, which matters for one frame.
    """
    flags = a.flags
    return a if flags.c_contiguous and flags.writeable else np.array(a, order="C")


def _check_out(out: Any, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    try:
        uv, depth = out
    except (TypeError, ValueError):
        raise InvalidValueError("Expected `out` to be a pair of arrays (uv, depth).") from None
    for arr, want, name in ((uv, shape + (2,), "out[0]"), (depth, shape, "out[1]")):
        if not isinstance(arr, np.ndarray) or arr.dtype != np.float64 or not arr.flags.c_contiguous:
            raise InvalidValueError(f"Expected `{name}` to be a C-contiguous float64 ndarray.")
        if not arr.flags.writeable:
            raise InvalidValueError(
                f"Expected `{name}` to be writeable, got a read-only array; pass a buffer "
                "the results can be written into (e.g. np.empty), or omit `out`."
            )
        if arr.shape != want:
            raise ShapeError(
                f"Expected `{name}` to have shape {shape_str(want)}, got {shape_str(arr.shape)}."
            )
    return uv.reshape(-1, 2), depth.reshape(-1)


def in_image(uv: Any, width: int, height: int) -> np.ndarray:
    """Return True where a pixel coordinate lies inside the image.

    Inside means ``0 <= u < width`` and ``0 <= v < height`` (camgeom pixel
    convention); NaN coordinates are outside.

    Examples
    --------
    >>> in_image([[0.0, 0.0], [64.0, 1.0], [np.nan, 1.0]], 64, 48)
    array([ True, False, False])
    """
    p = check_pixels(uv, "uv", finite=False)
    w = check_positive_int(width, "width")
    h = check_positive_int(height, "height")
    u, v = p[..., 0], p[..., 1]
    return (u >= 0) & (u < w) & (v >= 0) & (v < h)


def unproject_points(
    uv: Any,
    depth: Any,
    K: Any,
    *,
    depth_kind: str = "z",
    distortion: Distortion | None = None,
) -> np.ndarray:
    """Lift pixels with depth to camera-frame points (OpenCV convention).

    Parameters
    ----------
    uv : array_like, shape (..., 2)
        Pixel coordinates (u, v) in camgeom's convention (centre of pixel
        (col, row) at (col + 0.5, row + 0.5)).
    depth : array_like, shape (...)
        Planar z (``depth_kind="z"``) or distance along the ray
        (``depth_kind="range"``, must be >= 0). Must be finite.
    K : array_like, shape (..., 3, 3)
        OpenCV intrinsics.
    depth_kind : {"z", "range"}
    distortion : OpenCVDistortion or FisheyeDistortion, optional
        Lens model to invert (Newton iteration to a step below
        :data:`camgeom.lens.UNDISTORT_TOL`). Pixels beyond the image of the
        model's monotonic range give NaN points.

    Returns
    -------
    ndarray, shape (..., 3), float64

    Examples
    --------
    >>> K = [[100.0, 0, 64], [0, 100, 48], [0, 0, 1]]
    >>> unproject_points([69.0, 48.0], 2.0, K)
    array([0.1, 0. , 2. ])
    >>> unproject_points([64.0, 148.0], np.sqrt(2.0), K, depth_kind="range").round(12)
    array([0., 1., 1.])
    """
    kind = check_depth_kind(depth_kind)
    lens = check_distortion(distortion)
    p = check_pixels(uv, "uv")
    d = check_array(depth, "depth", ())
    k = check_intrinsics(K)
    if kind == "range" and np.any(d < 0):
        raise InvalidValueError("Expected `depth` (range) to be >= 0, got negative values.")
    fx, s, cx = k[..., 0, 0], k[..., 0, 1], k[..., 0, 2]
    fy, cy = k[..., 1, 1], k[..., 1, 2]
    yn = (p[..., 1] - cy) / fy
    xn = (p[..., 0] - cx - s * yn) / fx
    if lens is not None:
        xy = undistort_normalized(np.stack(np.broadcast_arrays(xn, yn), axis=-1), lens)
        xn, yn = xy[..., 0], xy[..., 1]
    one = np.ones_like(xn) if lens is None else np.where(np.isnan(xn), np.nan, 1.0)
    try:
        ray = np.stack(np.broadcast_arrays(xn, yn, one), axis=-1)
        if kind == "range":
            ray = ray / np.linalg.norm(ray, axis=-1, keepdims=True)
        return ray * d[..., None]
    except ValueError:
        raise ShapeError(
            f"Leading dimensions do not broadcast: `uv` {shape_str(p.shape)}, `depth` "
            f"{shape_str(d.shape)}, `K` {shape_str(k.shape)}."
        ) from None


def reproject_points(
    uv: Any,
    depth: Any,
    K_a: Any,
    cam_from_world_a: Any,
    K_b: Any,
    cam_from_world_b: Any,
    *,
    depth_kind: str = "z",
    distortion_a: Distortion | None = None,
    distortion_b: Distortion | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Map pixels with depth in camera ``a`` to pixels of camera ``b``.

    The pixels are lifted to camera ``a``'s frame (:func:`unproject_points`)
    and projected by ``b_from_a = cam_from_world_b @ inv(cam_from_world_a)``
    (:func:`project_points`). For :class:`~camgeom.camera.Camera` objects use
    ``cam_a.reproject(uv, depth, cam_b)``.

    Parameters
    ----------
    uv : array_like, shape (..., 2)
        Pixels of camera ``a``.
    depth : array_like, shape (...)
        Depth of those pixels in camera ``a`` (kind given by ``depth_kind``).
    K_a, K_b : array_like, shape (..., 3, 3)
        OpenCV intrinsics of the two cameras.
    cam_from_world_a, cam_from_world_b : array_like, shape (..., 4, 4)
        Rigid world-to-camera poses (OpenCV convention) of the two cameras.
    depth_kind : {"z", "range"}, keyword-only
    distortion_a, distortion_b : OpenCVDistortion or FisheyeDistortion, optional
        Lens models of the two cameras (keyword-only). Leading dimensions
        broadcast as in :func:`project_points`.

    Returns
    -------
    uv_b : ndarray, shape (..., 2)
        Pixels in camera ``b`` (NaN on or behind its camera plane).
    depth_b : ndarray, shape (...)
        Camera z in camera ``b``.

    Examples
    --------
    >>> K = np.array([[100.0, 0, 64], [0, 100, 48], [0, 0, 1]])
    >>> b = np.eye(4)
    >>> b[0, 3] = -0.5  # camera b half a metre to the right of camera a
    >>> uv_b, z_b = reproject_points([64.0, 48.0], 2.0, K, np.eye(4), K, b)
    >>> uv_b, z_b
    (array([39., 48.]), array(2.))
    """
    kind = check_depth_kind(depth_kind)
    k_a = check_intrinsics(K_a, "K_a")
    k_b = check_intrinsics(K_b, "K_b")
    pose_a = check_pose(cam_from_world_a, "cam_from_world_a")
    pose_b = check_pose(cam_from_world_b, "cam_from_world_b")
    p = check_pixels(uv, "uv")
    d = check_array(depth, "depth", ())
    _broadcast(
        [
            ("uv", p.shape[:-1]),
            ("depth", d.shape),
            ("K_a", k_a.shape[:-2]),
            ("cam_from_world_a", pose_a.shape[:-2]),
            ("K_b", k_b.shape[:-2]),
            ("cam_from_world_b", pose_b.shape[:-2]),
        ]
    )
    points_a = unproject_points(p, d, k_a, depth_kind=kind, distortion=distortion_a)
    b_from_a = pose_b @ invert_pose(pose_a)
    return project_points(points_a, k_b, b_from_a, distortion=distortion_b)

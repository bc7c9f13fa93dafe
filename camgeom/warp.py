"""Image warps between cameras at one centre: distort, undistort, re-lens.

:func:`warp_image` renders the image of one :class:`~camgeom.camera.Camera`
as another camera at the same centre sees it (any K, lens model, size and
rotation): for every output pixel centre the kernel lifts the pixel through the
output camera (Newton inversion of its lens), rotates the ray into the source
camera, projects it with the source lens and K, and samples there, one row at a
time (no map is stored). :func:`warp_plan` stores the sampling of two cameras
as a :class:`WarpPlan` (as ``cv2.initUndistortRectifyMap`` does for
``cv2.remap``) for warping many images. :func:`distort_image` and
:func:`undistort_image` are the common cases, :func:`undistorted_intrinsics`
chooses the pinhole K that keeps every pixel or shows no border, and
:func:`synthesisai_fisheye_camera` is the camera of Synthesis AI's fisheye
post-process (``*.dist.png``).

Sampling: ``"nearest"`` takes the pixel that contains the point (masks, ids),
``"linear"`` interpolates bilinearly between pixel centres (colour; edge pixels
repeat for the outer half pixel). Integer images are sampled as ``cv2.remap``
samples them with its fixed-point maps: at the nearest 1/32 pixel, weights
summing to 1024 exactly, rounded back to their dtype (8-bit images bit for bit
as cv2 does). Float images are sampled at full float64 precision, except through
a plan, which stores 1/32-pixel positions for every dtype. Output pixels whose
ray misses the source image get ``fill``. With a pinhole output camera the
source positions of integer images are computed in float32 (the source lens
is applied forwards, no iteration): within 3e-4 pixel at 2048 pixels, 1e-3 at
8192, against the 1/64-pixel rounding. Large outputs use every core.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from camgeom import lens as _lens_module
from camgeom._validation import check_intrinsics, check_positive_int
from camgeom.camera import Camera
from camgeom.errors import InvalidValueError, ShapeError
from camgeom.lens import (
    UNDISTORT_TOL,
    Distortion,
    FisheyeDistortion,
    undistort_normalized,
)

__all__ = [
    "SYNTHESISAI_FISHEYE_K",
    "WarpPlan",
    "distort_image",
    "synthesisai_fisheye_camera",
    "undistort_image",
    "undistort_plan",
    "undistorted_intrinsics",
    "warp_image",
    "warp_plan",
]

SYNTHESISAI_FISHEYE_K = (0.17149, -0.27191, 0.25787, -0.08054)
"""Default coefficients of Synthesis AI's ``fisheye-distortion`` tool (its config)."""

_PARALLEL_MIN = 65536
"""Output pixels from which the kernels run on every core."""
_INTERPOLATIONS = ("linear", "nearest")

_remap: ModuleType | None = None


def _remap_kernels() -> ModuleType:
    """The fixed-point remap kernels (loaded, with the lens kernels, on first use)."""
    global _remap
    _lens_module._kernels or _lens_module._load_kernels()
    from camgeom._kernels import remap

    _remap = remap
    return remap


def _params(d: Distortion | None) -> tuple[int, np.ndarray]:
    return (-1, np.zeros(10)) if d is None else (d.model, d.kernel_params())


def _check_cameras(src_camera: Any, dst_camera: Any) -> None:
    for name, cam in (("src_camera", src_camera), ("dst_camera", dst_camera)):
        if not isinstance(cam, Camera):
            raise InvalidValueError(f"Expected `{name}` to be a Camera, got {type(cam).__name__}.")
    gap = float(np.abs(src_camera.center - dst_camera.center).max())
    if not gap <= 1e-6:
        raise InvalidValueError(
            f"Expected cameras at the same centre (a warp without depth), got centres {gap:.3g} apart."
        )


def _check_interpolation(interpolation: Any) -> str:
    if interpolation not in _INTERPOLATIONS:
        raise InvalidValueError(
            f"Expected `interpolation` to be 'linear' or 'nearest', got {interpolation!r}."
        )
    return str(interpolation)


def _geometry(src_camera: Camera, dst_camera: Camera) -> tuple[Any, ...]:
    """The kernels' camera arguments: K_dst, model, params, rotation, K_src, model, params."""
    rot = np.ascontiguousarray(
        src_camera.cam_from_world[:3, :3] @ dst_camera.cam_from_world[:3, :3].T
    )
    md, pd = _params(dst_camera.distortion)
    ms, ps = _params(src_camera.distortion)
    return np.array(dst_camera.K), md, pd, rot, np.array(src_camera.K), ms, ps


@dataclass(frozen=True, eq=False)
class WarpPlan:
    """The precomputed sampling of :func:`warp_image` from one camera to another.

    Built by :func:`warp_plan` or :func:`undistort_plan`, passed as ``plan=``
    with the same cameras to warp many images (any dtype and channel count)
    without recomputing where each output pixel samples: 6 bytes a pixel, as
    OpenCV's ``CV_16SC2`` map with its ``CV_16UC1`` fractions.

    Attributes
    ----------
    src_camera, dst_camera : Camera
        The cameras it was built for.
    interpolation : {"linear", "nearest"}
    offset : ndarray, shape (dst_camera.height * dst_camera.width,), int32
        Flat source pixel index (``row * src_camera.width + col``) of the
        top-left neighbour (``"linear"``) or of the pixel (``"nearest"``).
    code : ndarray, shape (dst_camera.height * dst_camera.width,), uint16
        ``a | b << 5`` with the column and row fractions ``a, b`` in 1/32
        pixel (0 for ``"nearest"``), or 1024 where the output pixel's ray
        misses the source image.
    """

    src_camera: Camera
    dst_camera: Camera
    interpolation: str
    offset: np.ndarray
    code: np.ndarray

    @property
    def nbytes(self) -> int:
        """Bytes held by the plan's arrays."""
        return int(self.offset.nbytes + self.code.nbytes)


def warp_plan(src_camera: Camera, dst_camera: Camera, *, interpolation: str = "linear") -> WarpPlan:
    """Precompute where each pixel of ``dst_camera`` samples the image of ``src_camera``.

    Parameters
    ----------
    src_camera, dst_camera : Camera
        Cameras with the same centre, as for :func:`warp_image`.
    interpolation : {"linear", "nearest"}, keyword-only
        A ``"linear"`` plan stores the 1/32-pixel bilinear fractions (its
        float-image results differ from :func:`warp_image` without a plan by
        that rounding); a ``"nearest"`` plan stores the pixel that contains each
        point and gives the same result as without a plan.

    Returns
    -------
    WarpPlan

    Examples
    --------
    >>> K = np.array([[4.0, 0, 2], [0, 4, 2], [0, 0, 1]])
    >>> cam = Camera(K, np.eye(4), 4, 4)
    >>> plan = warp_plan(cam, cam)
    >>> img = np.arange(16, dtype=np.uint8).reshape(4, 4)
    >>> (warp_image(img, cam, cam, plan=plan) == img).all(), plan.nbytes
    (np.True_, 96)
    """
    interp = _check_interpolation(interpolation)
    _check_cameras(src_camera, dst_camera)
    ws, hs = src_camera.width, src_camera.height
    if ws * hs >= 2**31:
        raise InvalidValueError(f"A plan indexes at most 2**31 source pixels, got {ws}x{hs}.")
    kernels = _remap or _remap_kernels()
    h, w = dst_camera.height, dst_camera.width
    offset = np.empty(h * w, np.int32)
    code = np.empty(h * w, np.uint16)
    fn = kernels.plan_parallel if h * w >= _PARALLEL_MIN else kernels.plan_serial
    fn(
        ws,
        hs,
        h,
        w,
        *_geometry(src_camera, dst_camera),
        UNDISTORT_TOL,
        interp == "nearest",
        offset,
        code,
    )
    offset.flags.writeable = False
    code.flags.writeable = False
    return WarpPlan(src_camera, dst_camera, interp, offset, code)


def _check_plan(plan: Any, src_camera: Camera, dst_camera: Camera, interpolation: str) -> WarpPlan:
    if not isinstance(plan, WarpPlan):
        raise InvalidValueError(
            f"Expected `plan` to be a camgeom.warp.WarpPlan, got {type(plan).__name__}."
        )
    if plan.interpolation != interpolation:
        raise InvalidValueError(
            f"The plan was built for interpolation={plan.interpolation!r}, not {interpolation!r}."
        )
    if not (plan.src_camera == src_camera and plan.dst_camera == dst_camera):
        raise InvalidValueError(
            "The plan was built for other cameras: build it with warp_plan(src_camera, dst_camera)."
        )
    return plan


def warp_image(
    image: Any,
    src_camera: Camera,
    dst_camera: Camera,
    *,
    interpolation: str = "linear",
    fill: float = 0,
    plan: WarpPlan | None = None,
) -> np.ndarray:
    """Render ``image`` of ``src_camera`` as ``dst_camera`` sees it.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        Image of ``src_camera`` (``H, W`` its height and width); any real dtype.
    src_camera, dst_camera : Camera
        Cameras with the same centre (checked to 1e-6 scene units); their
        orientations, K, lens models and sizes may differ.
    interpolation : {"linear", "nearest"}, keyword-only
        Bilinear for colour, nearest for masks and segment ids.
    fill : float, keyword-only
        Value of output pixels whose ray misses ``image`` (or falls outside a
        lens model's range).
    plan : WarpPlan, optional, keyword-only
        The sampling precomputed by :func:`warp_plan` for these two cameras
        and this interpolation (checked), reused instead of recomputed.

    Returns
    -------
    ndarray, shape (dst_camera.height, dst_camera.width[, C]), image's dtype

    Examples
    --------
    >>> K = np.array([[4.0, 0, 2], [0, 4, 2], [0, 0, 1]])
    >>> img = np.arange(16, dtype=np.uint8).reshape(4, 4)
    >>> cam = Camera(K, np.eye(4), 4, 4)
    >>> (warp_image(img, cam, cam, interpolation="nearest") == img).all()
    np.True_
    """
    interpolation = _check_interpolation(interpolation)
    _check_cameras(src_camera, dst_camera)
    img = np.asarray(image)
    if img.ndim not in (2, 3) or img.dtype.kind not in "biuf":
        raise ShapeError(
            f"Expected `image` to be a real (H, W) or (H, W, C) array, got {img.dtype} {img.shape}."
        )
    if img.shape[:2] != (src_camera.height, src_camera.width):
        raise ShapeError(
            f"Expected `image` of {src_camera.height}x{src_camera.width} pixels (src_camera's "
            f"height x width), got {img.shape[0]}x{img.shape[1]}."
        )
    if plan is not None:
        plan = _check_plan(plan, src_camera, dst_camera, interpolation)
    img3 = np.ascontiguousarray(img.reshape(img.shape[0], img.shape[1], -1))
    if img3.dtype == np.bool_:
        img3 = img3.view(np.uint8)
    is_int = img3.dtype.kind in "biu"
    fill_v = float(fill)
    if is_int:
        info = np.iinfo(img3.dtype)
        if not info.min <= fill_v <= info.max:
            raise InvalidValueError(f"Expected `fill` to fit {img3.dtype}, got {fill!r}.")
    wide = is_int and img3.dtype.itemsize > 4 and interpolation == "linear"
    if wide:  # 64-bit integers: fixed-point sums would overflow; sampled in float64
        img3 = img3.astype(np.float64)
    out = np.empty((dst_camera.height, dst_camera.width, img3.shape[2]), dtype=img3.dtype)
    big = out.shape[0] * out.shape[1] >= _PARALLEL_MIN
    _sample(img3, out, src_camera, dst_camera, interpolation, fill_v, plan, big, is_int)
    if wide:
        out = np.floor(out + 0.5).astype(img.dtype)
    elif img.dtype == np.bool_:
        out = out.view(np.bool_)
    return out.reshape(out.shape[:2] + img.shape[2:])


def _sample(
    img3: np.ndarray,
    out: np.ndarray,
    src_camera: Camera,
    dst_camera: Camera,
    interpolation: str,
    fill: float,
    plan: WarpPlan | None,
    big: bool,
    fixed_point: bool,
) -> None:
    """Fill ``out`` (h, w, C) from ``img3`` (H, W, C) through the fitting kernel
    (``fixed_point``: at 1/32 pixel, for integer images, also when widened to float)."""
    remap = _remap or _remap_kernels()
    nc = img3.shape[2]
    is_int = out.dtype.kind in "biu"
    src, dst = img3.reshape(-1), out.reshape(-1)
    # RGB8: byte offsets in uint32, and 8-byte loads (at least 3 pixels)
    rgb8 = out.dtype == np.uint8 and nc == 3 and 8 <= src.size < 2**32 - 8
    kind = remap.RGB8 if rgb8 else remap.INT if is_int else remap.FLOAT
    if plan is not None and interpolation == "nearest":
        kind = remap.NEAREST
    pairs = remap.pair_view(src) if kind == remap.RGB8 else remap.NO_PAIRS
    h, w = out.shape[0], out.shape[1]
    if plan is not None:
        fn = remap.apply_parallel if big else remap.apply_serial
        with remap.grabbing(remap.GRAB):
            fn(src, pairs, src_camera.width, nc, kind, plan.offset, plan.code, h, w, dst, fill)
        return
    geometry = _geometry(src_camera, dst_camera)
    if interpolation == "linear" and fixed_point:
        ws, hs = src_camera.width, src_camera.height
        fn = remap.warp_linear_parallel if big else remap.warp_linear_serial
        with remap.grabbing(remap.GRAB):
            fn(src, pairs, dst, ws, hs, nc, kind, h, w, *geometry, UNDISTORT_TOL, fill)
        return
    kernels = _lens_module._kernels or _lens_module._load_kernels()
    if interpolation == "nearest":
        fn = kernels.warp_nearest_parallel if big else kernels.warp_nearest_serial
    else:
        fn = kernels.warp_linear_parallel if big else kernels.warp_linear_serial
    fn(img3, out, *geometry, fill, UNDISTORT_TOL)


def _pinhole(camera: Camera, K: Any, width: int | None, height: int | None) -> Camera:
    k = camera.K if K is None else check_intrinsics(K)
    w = camera.width if width is None else check_positive_int(width, "width")
    h = camera.height if height is None else check_positive_int(height, "height")
    return Camera(k, camera.cam_from_world, w, h)


def undistort_image(
    image: Any,
    camera: Camera,
    *,
    K: Any = None,
    width: int | None = None,
    height: int | None = None,
    interpolation: str = "linear",
    fill: float = 0,
    plan: WarpPlan | None = None,
) -> np.ndarray:
    """The pinhole image of the distorted ``image`` taken by ``camera``.

    Parameters
    ----------
    image : array_like, shape (camera.height, camera.width[, C])
    camera : Camera
        The camera with the lens model.
    K : array_like, shape (3, 3), optional
        K of the output (default ``camera.K``; see :func:`undistorted_intrinsics`
        for the "keep all pixels" and "no border" choices).
    width, height : int, optional
        Output size (default ``camera``'s).
    interpolation : {"linear", "nearest"}
    fill : float
    plan : WarpPlan, optional
        From :func:`undistort_plan` with the same ``camera``, ``K`` and size:
        reused for every image of that camera.

    Examples
    --------
    >>> from camgeom.lens import OpenCVDistortion
    >>> cam = Camera(np.diag([50.0, 50, 1]) + [[0, 0, 32], [0, 0, 32], [0, 0, 0]], np.eye(4), 64, 64,
    ...              distortion=OpenCVDistortion(-0.2, 0.0, 0.0, 0.0))
    >>> undistort_image(np.ones((64, 64), np.uint8), cam)[32, 32]
    np.uint8(1)
    """
    return warp_image(
        image,
        camera,
        _pinhole(camera, K, width, height),
        interpolation=interpolation,
        fill=fill,
        plan=plan,
    )


def undistort_plan(
    camera: Camera,
    *,
    K: Any = None,
    width: int | None = None,
    height: int | None = None,
    interpolation: str = "linear",
) -> WarpPlan:
    """The :class:`WarpPlan` of :func:`undistort_image` with these arguments.

    Parameters
    ----------
    camera : Camera
        The camera with the lens model.
    K, width, height, interpolation
        As for :func:`undistort_image`.

    Returns
    -------
    WarpPlan

    Examples
    --------
    >>> from camgeom.lens import OpenCVDistortion
    >>> cam = Camera(np.diag([50.0, 50, 1]) + [[0, 0, 32], [0, 0, 32], [0, 0, 0]], np.eye(4), 64, 64,
    ...              distortion=OpenCVDistortion(-0.2, 0.0, 0.0, 0.0))
    >>> plan = undistort_plan(cam)
    >>> img = np.ones((64, 64, 3), np.uint8)
    >>> (undistort_image(img, cam, plan=plan) == undistort_image(img, cam)).all()
    np.True_
    """
    return warp_plan(camera, _pinhole(camera, K, width, height), interpolation=interpolation)


def distort_image(
    image: Any,
    camera: Camera,
    *,
    K: Any = None,
    interpolation: str = "linear",
    fill: float = 0,
    plan: WarpPlan | None = None,
) -> np.ndarray:
    """The image ``camera`` (with its lens) sees of the pinhole ``image``.

    Parameters
    ----------
    image : array_like, shape (H, W[, C])
        Pinhole image with intrinsics ``K`` (default ``camera.K``), same pose.
    camera : Camera
        The camera with the lens model; gives the output size.
    K : array_like, shape (3, 3), optional
    interpolation : {"linear", "nearest"}
    fill : float
    plan : WarpPlan, optional
        From :func:`warp_plan` from the pinhole camera (``K``, the image's
        size, ``camera``'s pose) to ``camera``.
    """
    img = np.asarray(image)
    if img.ndim < 2:
        raise ShapeError(f"Expected `image` (H, W) or (H, W, C), got shape {img.shape}.")
    src = _pinhole(camera, K, img.shape[1], img.shape[0])
    return warp_image(img, src, camera, interpolation=interpolation, fill=fill, plan=plan)


def undistorted_intrinsics(
    camera: Camera,
    *,
    keep: str = "all",
    width: int | None = None,
    height: int | None = None,
    samples: int = 256,
) -> np.ndarray:
    """Pinhole K (3, 3) for :func:`undistort_image` that keeps all pixels or shows no border.

    The border of ``camera``'s image is undistorted at ``samples`` points per
    side. ``keep="all"`` fits their bounding box into the output (every input
    pixel is kept, with a black border where there is no data); ``keep="valid"``
    fits the rectangle inside them (no border, corners cropped). Pixels are
    square only if the two fits agree: fx and fy are chosen independently.

    Parameters
    ----------
    camera : Camera
    keep : {"all", "valid"}, keyword-only
    width, height : int, optional
        Output size (default ``camera``'s).
    samples : int, optional
    """
    if keep not in ("all", "valid"):
        raise InvalidValueError(f"Expected `keep` to be 'all' or 'valid', got {keep!r}.")
    w = camera.width if width is None else check_positive_int(width, "width")
    h = camera.height if height is None else check_positive_int(height, "height")
    n = check_positive_int(samples, "samples")
    W, H = camera.width, camera.height
    t = np.linspace(0.0, 1.0, n + 1)
    sides = {
        "left": np.c_[np.zeros_like(t), t * H],
        "right": np.c_[np.full_like(t, W), t * H],
        "top": np.c_[t * W, np.zeros_like(t)],
        "bottom": np.c_[t * W, np.full_like(t, H)],
    }
    k = camera.K
    norm = {}
    for side, uv in sides.items():
        yn = (uv[:, 1] - k[1, 2]) / k[1, 1]
        xn = (uv[:, 0] - k[0, 2] - k[0, 1] * yn) / k[0, 0]
        xy = np.c_[xn, yn]
        if camera.distortion is not None:
            xy = undistort_normalized(xy, camera.distortion)
        if not np.isfinite(xy).all():
            raise InvalidValueError(
                f"The {side} border of the image lies beyond the lens model's range: no pinhole "
                "image holds it; crop the input first or choose a smaller field of view."
            )
        norm[side] = xy
    if keep == "all":
        allxy = np.concatenate(list(norm.values()))
        x0, y0 = allxy.min(axis=0)
        x1, y1 = allxy.max(axis=0)
    else:
        x0, x1 = norm["left"][:, 0].max(), norm["right"][:, 0].min()
        y0, y1 = norm["top"][:, 1].max(), norm["bottom"][:, 1].min()
        if not (x1 > x0 and y1 > y0):
            raise InvalidValueError("The undistorted image holds no border-free rectangle.")
    fx, fy = w / (x1 - x0), h / (y1 - y0)
    return np.array([[fx, 0.0, -x0 * fx], [0.0, fy, -y0 * fy], [0.0, 0.0, 1.0]])


def synthesisai_fisheye_camera(
    camera: Camera, k: Sequence[float] = SYNTHESISAI_FISHEYE_K
) -> Camera:
    """The camera of Synthesis AI's fisheye post-process of ``camera``'s image.

    The ``fisheye-distortion`` tool renders a full-size image through the
    OpenCV fisheye model with the frame's K (as float32), crops it to the
    distorted positions of pixel indices (0, 0) and (W-1, H-1) (rows
    ``ceil(tl_y):floor(br_y)``, columns ``ceil(tl_x):floor(br_x)``) and
    resizes the crop back to W x H. The crop offset and the resize scale fold
    into K; the tool's pixel indices used as coordinates (half a pixel from
    camgeom's centres when sampling the pinhole image) and the resize's
    half-pixel alignment cancel, so::

        K' = [[sx fx, sx s, sx (cx - c0)], [0, sy fy, sy (cy - r0)], [0, 0, 1]]

    with ``c0 = ceil(tl_x)``, ``r0 = ceil(tl_y)``, ``sx = W / (floor(br_x) - c0)``
    and ``sy = H / (floor(br_y) - r0)``. Room-format K (fx != fy) is used as is,
    as the tool does.

    Parameters
    ----------
    camera : Camera
        The frame's pinhole camera.
    k : sequence of 4 floats
        The tool's fisheye coefficients (default :data:`SYNTHESISAI_FISHEYE_K`).

    Returns
    -------
    Camera
        Same pose and size, :class:`~camgeom.lens.FisheyeDistortion` ``k`` and K'.

    Examples
    --------
    >>> K = np.array([[500.0, 0, 256], [0, 500, 256], [0, 0, 1]])
    >>> fish = synthesisai_fisheye_camera(Camera(K, np.eye(4), 512, 512))
    >>> fish.distortion.k1, fish.K[0, 0] > 500
    (0.17149, np.True_)
    """
    if not isinstance(camera, Camera):
        raise InvalidValueError(f"Expected `camera` to be a Camera, got {type(camera).__name__}.")
    if camera.distortion is not None:
        raise InvalidValueError("Expected the frame's pinhole camera, got one with a lens model.")
    coef = tuple(k)
    if len(coef) != 4:
        raise InvalidValueError(f"Expected 4 fisheye coefficients, got {len(coef)}.")
    d = FisheyeDistortion(*coef)
    Kt = camera.K.astype(np.float32).astype(np.float64)
    W, H = camera.width, camera.height
    corners = np.array([[0.0, 0.0], [W - 1.0, H - 1.0]])
    yn = (corners[:, 1] - Kt[1, 2]) / Kt[1, 1]
    xn = (corners[:, 0] - Kt[0, 2] - Kt[0, 1] * yn) / Kt[0, 0]

    # plain numpy for two points: building the camera (in a reader) does not load numba
    r = np.hypot(xn, yn)
    th = np.arctan(r)
    t2 = th * th
    thd = th * (1 + t2 * (d.k1 + t2 * (d.k2 + t2 * (d.k3 + t2 * d.k4))))
    ok = r <= d.max_radius
    scale = np.where(ok, thd / np.where(r > 0, r, 1.0), np.nan)
    xd = np.c_[xn * scale, yn * scale]
    tl_x = Kt[0, 0] * xd[0, 0] + Kt[0, 1] * xd[0, 1] + Kt[0, 2]
    tl_y = Kt[1, 1] * xd[0, 1] + Kt[1, 2]
    br_x = Kt[0, 0] * xd[1, 0] + Kt[0, 1] * xd[1, 1] + Kt[0, 2]
    br_y = Kt[1, 1] * xd[1, 1] + Kt[1, 2]
    if not np.isfinite([tl_x, tl_y, br_x, br_y]).all():
        raise InvalidValueError("The image corners lie beyond the fisheye model's range.")
    c0, r0 = math.ceil(tl_x), math.ceil(tl_y)
    wc, hc = math.floor(br_x) - c0, math.floor(br_y) - r0
    if wc <= 0 or hc <= 0:
        raise InvalidValueError(f"The fisheye crop is empty ({wc} x {hc} pixels).")
    sx, sy = W / wc, H / hc
    K = camera.K
    K_new = np.array(
        [
            [sx * K[0, 0], sx * K[0, 1], sx * (K[0, 2] - c0)],
            [0.0, sy * K[1, 1], sy * (K[1, 2] - r0)],
            [0.0, 0.0, 1.0],
        ]
    )
    return Camera(K_new, camera.cam_from_world, W, H, distortion=d)

"""Depth maps to points, and planar z-depth <-> range conversions.

Conventions
-----------
* Pixels: pixel ``(col, row)`` covers ``[col, col + 1) x [row, row + 1)``; its
  centre ``(u, v) = (col + 0.5, row + 0.5)`` is where the depth is sampled.
  ``K`` is an OpenCV intrinsic matrix in this continuous convention
  (``cx = W / 2`` for a centred principal point), as both Synthesis AI and
  Datagen store it.
* Points are in the OpenCV camera frame (x right, y down, z forward), float32.
  The normalised ray of a pixel solves ``K @ (x, y, 1) = (u, v, 1)`` (the skew
  ``K[0, 1]`` is honoured).
* ``depth_kind="z"``: the value is the planar depth, the point is
  ``z * (x, y, 1)`` (Datagen ``depth.exr``, Blender/Cycles Z pass).
  ``depth_kind="range"``: the value is the distance from the camera centre
  along the ray, the point is ``range * (x, y, 1) / |(x, y, 1)|``
  (Synthesis AI ``depth.tif``). Mixing them up costs millimetres near the image
  centre and centimetres at the edges.

Skipped pixels
--------------
A pixel gives no point when its depth is not in the open interval
``(0, max_depth)`` (NaN, +inf, -inf, zero and negative values, and values
``>= max_depth``), when it equals one of the vendors' background values
(:data:`camgeom._sentinels.BACKGROUND_DEPTH_VALUES`: ``0.0025`` as stored in
float32 or float16, ``1e10``, ``65504``; compared exactly, in the dtype of the
depth map), when ``mask`` is false there, or when its segment is not among
``segment_ids``. So a depth map read with its background kept
(``read_depth(path, background="keep")``) gives the same points as one whose
background was turned into NaN.

Intrinsics for another resolution
---------------------------------
A ``K`` made for another image size is a common mistake that gives a plausible
but wrong cloud. The functions here reject ``K`` when its principal point lies
more than one image size outside the image, i.e. unless
``-W <= cx <= 2 W`` and ``-H <= cy <= 2 H`` for a ``(H, W)`` depth map; the error
suggests :func:`camgeom.intrinsics.scale_intrinsics`. A ``K`` for an image twice
as large (``cx = W``) passes this rule: it cannot be told from a crop.

Pixel indices and reusing buffers
---------------------------------
The integer ``(column, row)`` index of each point's pixel is written only with
``pixel_indices=True`` (at 4096 x 4096 it is 40% more output than the points).
``points_from_depth(..., out=buf)`` writes into ``buf``: a float32 C-contiguous
``(M, 3)`` array, or a :class:`~camgeom.pointcloud.PointCloud` from
:meth:`~camgeom.pointcloud.PointCloud.empty` (points and, when present and asked
for, pixel indices, colours and normals), with ``M`` at least
:func:`count_valid_depth`; the result's arrays are views of ``buf``'s first rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from camgeom._colors import colors_to_uint8
from camgeom._sentinels import BACKGROUND_DEPTH_VALUES
from camgeom._validation import check_depth_kind, check_intrinsics, check_positive_int, shape_str
from camgeom.errors import InvalidValueError, ShapeError
from camgeom.lens import Distortion, check_distortion, undistort_normalized
from camgeom.pointcloud import PointCloud

__all__ = ["count_valid_depth", "points_from_depth", "range_from_z", "z_from_range"]

SegmentIds = int | Iterable[int] | npt.NDArray[np.integer]


# --------------------------------------------------------------------------- depth -> points


def count_valid_depth(
    depth: npt.ArrayLike,
    *,
    mask: npt.ArrayLike | None = None,
    segmentation: npt.ArrayLike | None = None,
    segment_ids: SegmentIds | None = None,
    max_depth: float = np.inf,
    stride: int = 1,
) -> int:
    """Number of points :func:`points_from_depth` returns for the same arguments.

    Use it to size a reusable ``out`` buffer. Arguments as in
    :func:`points_from_depth`.

    Examples
    --------
    >>> import numpy as np
    >>> depth = np.array([[1.0, np.nan], [1e10, 2.0]], dtype=np.float32)
    >>> count_valid_depth(depth)  # NaN and the background value 1e10 are skipped
    2
    >>> count_valid_depth(depth, max_depth=1.5)
    1
    """
    grid = _prepare(depth, mask, segmentation, segment_ids, max_depth, stride)
    count_valid_rows, _ = _kernels(grid.depth.size)
    return int(count_valid_rows(grid.depth, grid.mask, grid.use_mask, grid.limit, grid.skip).sum())


def points_from_depth(
    depth: npt.ArrayLike,
    K: npt.ArrayLike,
    *,
    depth_kind: str = "z",
    mask: npt.ArrayLike | None = None,
    segmentation: npt.ArrayLike | None = None,
    segment_ids: SegmentIds | None = None,
    max_depth: float = np.inf,
    stride: int = 1,
    pixel_indices: bool = False,
    colors: npt.ArrayLike | None = None,
    normals: npt.ArrayLike | None = None,
    out: np.ndarray | PointCloud | None = None,
    distortion: Distortion | None = None,
) -> PointCloud:
    """Back-project a depth map into a point cloud in the OpenCV camera frame.

    Each valid pixel ``(col, row)`` is back-projected through its centre
    ``(col + 0.5, row + 0.5)``. Points come in row-major pixel order.

    Parameters
    ----------
    depth : (H, W) array_like of float16, float32 or float64
        Depth in scene units (metres for the vendors). float16 is read as float32.
    K : (3, 3) array_like
        OpenCV intrinsics for this ``(H, W)`` image, camgeom pixel convention;
        the principal point must satisfy ``-W <= cx <= 2 W``, ``-H <= cy <= 2 H``.
    depth_kind : {"z", "range"}, optional
        Planar depth along the optical axis (default) or distance along the ray.
    mask : (H, W) bool array_like, optional
        Pixels to keep.
    segmentation : (H, W) array_like of int, optional
        Segment id per pixel (a label image); needs ``segment_ids``.
    segment_ids : int or iterable of int, optional
        The segment ids of ``segmentation`` to keep. Combined with ``mask`` (if
        given), a pixel is kept when both keep it.
    max_depth : float, optional
        Depths ``>= max_depth`` are skipped (default ``inf``: only +inf is).
        Must be ``>= 0``.
    stride : int, optional
        Keep only pixels whose row and column are multiples of ``stride``.
    pixel_indices : bool, optional
        Also return the integer ``(column, row)`` index of each point's pixel
        (default False: points only, which is the fastest call).
    colors : (H, W, 3) or (H, W, 4) array_like, optional
        uint8, or float in [0, 1] (rounded to uint8); alpha is dropped.
    normals : (H, W, 3) array_like of float, optional
        Normals in the OpenCV camera frame (convert vendor frames first), copied
        as float32 for the kept pixels.
    out : (M, 3) float32 ndarray or PointCloud, optional
        Buffer to write into (see the module notes); ``M`` must be at least
        :func:`count_valid_depth` of the same arguments.
    distortion : OpenCVDistortion or FisheyeDistortion, optional
        Lens model of the camera (:mod:`camgeom.lens`): each pixel's ray is
        undistorted by Newton iteration, and pixels beyond the model's range
        give no point. Not combinable with ``out``.

    Returns
    -------
    PointCloud
        ``points`` (N, 3) float32; ``pixel_indices`` (N, 2) int32
        ``(column, row)`` with ``pixel_indices=True`` (else None); ``colors``
        (N, 3) uint8 / ``normals`` (N, 3) float32 when given.

    Raises
    ------
    ShapeError
        ``depth`` not 2-D; ``mask``, ``segmentation``, ``colors`` or ``normals`` not
        matching it; ``out`` too small (the message gives the size needed).
    InvalidValueError
        ``K`` invalid or for another resolution; ``stride < 1``; ``max_depth``
        negative or NaN; integer ``depth``; a ``mask`` that is not boolean;
        ``segmentation`` without ``segment_ids`` or the reverse; colours out of
        range.
    ConventionError
        Unknown ``depth_kind``.

    Notes
    -----
    Skipped pixels: depth NaN, +-inf, ``<= 0``, ``>= max_depth`` or a vendor
    background value (``0.0025``, ``1e10``, ``65504``; see the module notes),
    and pixels outside ``mask`` or the selected segments. The arithmetic runs in
    the precision of the depth map (float32 for float16 and float32 depth),
    points are stored as float32; ``max_depth`` is compared exactly. Two passes
    (count, then write) split over image rows on numba's threads cost one read
    of ``depth`` each and one write per point.

    Examples
    --------
    >>> import numpy as np
    >>> K = np.array([[100.0, 0.0, 2.0], [0.0, 100.0, 1.5], [0.0, 0.0, 1.0]])
    >>> depth = np.full((3, 4), 2.0, dtype=np.float32)
    >>> depth[0, 0] = np.nan
    >>> cloud = points_from_depth(depth, K, pixel_indices=True)
    >>> len(cloud)
    11
    >>> cloud.pixel_indices[0]  # first valid pixel: column 1, row 0
    array([1, 0], dtype=int32)
    >>> cloud.points[0]  # ((1.5 - 2) / 100 * 2, (0.5 - 1.5) / 100 * 2, 2)
    array([-0.01, -0.02,  2.  ], dtype=float32)
    """
    kind = check_depth_kind(depth_kind)
    lens = check_distortion(distortion)
    if lens is not None and out is not None:
        raise InvalidValueError("`out` cannot be combined with `distortion`; omit one of them.")
    grid = _prepare(depth, mask, segmentation, segment_ids, max_depth, stride)
    count_valid_rows, write_points = _kernels(grid.depth.size)
    h, w = grid.shape
    xc, xr, yr = _ray_terms(K, h, w)
    colors_arr = None if colors is None else _check_colors(colors, (h, w))
    normals_arr = None if normals is None else _check_normals(normals, (h, w))
    buffers = _check_out(out)

    # Ray terms of the pixels on the stride grid, in the arithmetic's dtype.
    step = grid.stride
    dtype = grid.depth.dtype
    yq = (yr[::step] * yr[::step] + 1.0).astype(dtype)
    xc, xr, yr = (np.ascontiguousarray(a[::step], dtype=dtype) for a in (xc, xr, yr))

    counts = count_valid_rows(grid.depth, grid.mask, grid.use_mask, grid.limit, grid.skip)
    offsets = np.zeros(counts.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    n = int(offsets[-1])

    # Indices are written when asked for, or when colours / normals are gathered by them.
    need_indices = (
        pixel_indices or colors_arr is not None or normals_arr is not None or lens is not None
    )
    index_buf = None if buffers is None else buffers.pixel_indices
    if buffers is None:
        points = np.empty((n, 3), np.float32)
    else:
        capacity = buffers.points.shape[0]
        if capacity < n:
            raise ShapeError(
                f"Expected `out` to hold at least {n} points, got room for {capacity}. Allocate "
                f"np.empty(({n}, 3), np.float32) or PointCloud.empty({n}); "
                "count_valid_depth(...) gives the size for the same arguments."
            )
        points = buffers.points[:n]
    if not need_indices:
        indices = np.empty((0, 2), np.int32)
    elif index_buf is not None and pixel_indices:
        indices = index_buf[:n]
    else:
        indices = np.empty((n, 2), np.int32)
    write_points(
        grid.depth,
        grid.mask,
        grid.use_mask,
        grid.limit,
        grid.skip,
        kind == "range",
        xc,
        xr,
        yr,
        yq,
        step,
        offsets,
        points.reshape(-1),
        indices.reshape(-1),
        need_indices,
    )

    if lens is not None:
        points, indices = _through_lens(points, indices, K, lens, kind)
    cloud_colors = cloud_normals = None
    if need_indices and (colors_arr is not None or normals_arr is not None):
        rows = indices[:, 1]
        cols = indices[:, 0]
        if colors_arr is not None:
            gathered = colors_to_uint8(colors_arr[rows, cols, :3])
            cloud_colors = _into(gathered, None if buffers is None else buffers.colors)
        if normals_arr is not None:
            gathered = normals_arr[rows, cols].astype(np.float32, copy=False)
            cloud_normals = _into(gathered, None if buffers is None else buffers.normals)
    return PointCloud(
        points,
        indices if pixel_indices else None,
        colors=cloud_colors,
        normals=cloud_normals,
    )


def _through_lens(
    points: np.ndarray, indices: np.ndarray, K: npt.ArrayLike, lens: Distortion, kind: str
) -> tuple[np.ndarray, np.ndarray]:
    """Pinhole points moved onto the lens model's rays (same z or range); none beyond its range."""
    k = check_intrinsics(K)
    yn = (indices[:, 1] + 0.5 - k[1, 2]) / k[1, 1]
    xn = (indices[:, 0] + 0.5 - k[0, 2] - k[0, 1] * yn) / k[0, 0]
    ray = np.ones((len(points), 3))
    ray[:, :2] = undistort_normalized(np.stack([xn, yn], axis=-1), lens)
    p = points.astype(np.float64)
    if kind == "z":
        new = ray * p[:, 2:3]
    else:
        new = ray * (np.linalg.norm(p, axis=1) / np.linalg.norm(ray, axis=1))[:, None]
    keep = np.isfinite(new).all(axis=1)
    if keep.all():
        points[:] = new
        return points, indices
    return new[keep].astype(np.float32), indices[keep]


# --------------------------------------------------------------------------- z <-> range


def range_from_z(depth: npt.ArrayLike, K: npt.ArrayLike) -> np.ndarray:
    """Convert planar z-depth to distance along each pixel's ray.

    ``range = z * sqrt(x^2 + y^2 + 1)`` with ``(x, y, 1)`` the normalised ray
    through the pixel centre (see the module notes for conventions).

    Parameters
    ----------
    depth : (H, W) array_like of float
        Planar depth. NaN, +-inf and 0 stay as they are; every other value,
        including large finite background sentinels, is scaled.
    K : (3, 3) array_like
        Intrinsics for this image (same resolution rule as :func:`points_from_depth`).

    Returns
    -------
    (H, W) float32 ndarray

    Examples
    --------
    >>> import numpy as np
    >>> K = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
    >>> range_from_z(np.full((1, 2), 2.0), K)  # rays (-0.5, 0, 1) and (0.5, 0, 1)
    array([[2.236068, 2.236068]], dtype=float32)
    """
    return _scale_by_ray_norm(depth, K, inverse=False)


def z_from_range(depth: npt.ArrayLike, K: npt.ArrayLike) -> np.ndarray:
    """Convert distance along each pixel's ray to planar z-depth.

    Inverse of :func:`range_from_z`: ``z = range / sqrt(x^2 + y^2 + 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> K = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
    >>> z_from_range(np.full((1, 2), np.sqrt(5.0)), K)
    array([[2., 2.]], dtype=float32)
    """
    return _scale_by_ray_norm(depth, K, inverse=True)


def _scale_by_ray_norm(depth: npt.ArrayLike, K: npt.ArrayLike, *, inverse: bool) -> np.ndarray:
    arr = _check_depth(depth)
    h, w = arr.shape
    xc, xr, yr = _ray_terms(K, h, w)
    result = np.empty((h, w), np.float32)
    block = max(1, (1 << 20) // w)
    for r0 in range(0, h, block):
        r1 = min(h, r0 + block)
        x = xc[None, :] + xr[r0:r1, None]
        norm = np.sqrt(x * x + (yr[r0:r1, None] * yr[r0:r1, None] + 1.0))
        vals = arr[r0:r1].astype(np.float64)
        result[r0:r1] = vals / norm if inverse else vals * norm
    return result


# --------------------------------------------------------------------------- kernels

_PARALLEL_MIN_PIXELS = 1 << 16
"""Maps with fewer pixels (on the stride grid) run in one thread: starting the
threads would cost more than it saves, and far more on a busy machine."""


def _kernels(n_pixels: int) -> tuple[Any, Any]:
    """(count, write) kernels for a map of ``n_pixels``; numba loads on the first call."""
    from camgeom._kernels import depth as kernels

    if n_pixels >= _PARALLEL_MIN_PIXELS:
        return kernels.count_valid_rows_parallel, kernels.write_points_parallel
    return kernels.count_valid_rows_serial, kernels.write_points_serial


# --------------------------------------------------------------------------- validation


class _Grid(NamedTuple):
    """Validated inputs of both kernel passes, on the stride grid."""

    depth: np.ndarray  # (ceil(H/s), ceil(W/s)) C-contiguous float32/float64
    mask: np.ndarray  # same shape bool, or a (1, 1) placeholder
    use_mask: bool
    limit: np.floating  # max_depth in the depth dtype
    skip: np.ndarray  # (4,) background values in the depth dtype, NaN-padded
    stride: int
    shape: tuple[int, int]  # (H, W) of the full map


def _prepare(
    depth: npt.ArrayLike,
    mask: npt.ArrayLike | None,
    segmentation: npt.ArrayLike | None,
    segment_ids: SegmentIds | None,
    max_depth: float,
    stride: int,
) -> _Grid:
    """Validate the arguments shared by the counting and the writing pass."""
    arr = _check_depth(depth)
    # A stride beyond the map keeps only pixel (0, 0): clamp it before it reaches the kernels.
    step = min(check_positive_int(stride, "stride"), max(arr.shape[0], arr.shape[1], 1))
    try:
        max_d = float(max_depth)
    except (TypeError, ValueError):
        raise InvalidValueError(
            f"Expected `max_depth` to be a number >= 0, got {max_depth!r}."
        ) from None
    if not max_d >= 0.0:  # also catches NaN
        raise InvalidValueError(
            f"Expected `max_depth` to be >= 0 (use inf for no limit), got {max_depth!r}."
        )
    limit = _limit_in_dtype(max_d, arr.dtype)
    shape = (int(arr.shape[0]), int(arr.shape[1]))
    mask_arr = _check_mask(mask, shape)
    seg_arr = _segment_mask(segmentation, segment_ids, shape)
    if mask_arr is not None and seg_arr is not None:
        mask_arr = mask_arr & seg_arr
    elif seg_arr is not None:
        mask_arr = seg_arr
    if step > 1:
        arr = np.ascontiguousarray(arr[::step, ::step])
        if mask_arr is not None:
            mask_arr = np.ascontiguousarray(mask_arr[::step, ::step])
    skip = _SKIP[arr.dtype.type]
    if mask_arr is None:
        return _Grid(arr, np.ones((1, 1), dtype=np.bool_), False, limit, skip, step, shape)
    return _Grid(arr, mask_arr, True, limit, skip, step, shape)


def _skip_values(dtype: type[np.floating]) -> np.ndarray:
    """The positive finite background values in ``dtype``, NaN-padded to the kernels' four.

    Zero and +inf are already outside ``(0, max_depth)``; NaN equals nothing.
    """
    values = sorted({dtype(v) for v in BACKGROUND_DEPTH_VALUES if 0.0 < v < np.inf})
    return np.array(values + [np.nan] * (4 - len(values)), dtype=dtype)


_SKIP = {np.float32: _skip_values(np.float32), np.float64: _skip_values(np.float64)}


def _limit_in_dtype(limit: float, dtype: np.dtype) -> np.floating:
    """Smallest value of ``dtype`` >= ``limit``: ``d < result`` iff ``d < limit`` for d in dtype."""
    with np.errstate(over="ignore"):
        rounded = dtype.type(limit)
    if float(rounded) < limit:  # compare in float64 (a float32 scalar would round `limit`)
        rounded = np.nextafter(rounded, dtype.type(np.inf))
    return rounded


def _check_depth(depth: npt.ArrayLike) -> np.ndarray:
    arr = np.asarray(depth)
    if arr.dtype.kind != "f":
        hint = ""
        if arr.dtype.kind in "iu":
            hint = (
                " Integer depth is usually in millimetres: pass depth.astype(np.float32) / 1000"
                " for metres."
            )
        raise InvalidValueError(
            f"Expected `depth` to be a floating-point array, got dtype {arr.dtype}.{hint}"
        )
    if arr.ndim != 2:
        hint = ""
        if arr.ndim == 3 and arr.shape[-1] in (1, 3, 4):
            hint = " Pass a single channel, e.g. depth[..., 0] (Datagen R, G, B are identical)."
        raise ShapeError(
            f"Expected `depth` to have shape (H, W), got {shape_str(arr.shape)}.{hint}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ShapeError(f"Expected `depth` to be a non-empty (H, W) map, got {arr.shape}.")
    if arr.dtype not in (np.float32, np.float64) or not arr.dtype.isnative:
        arr = arr.astype(np.float64 if arr.dtype.itemsize > 4 else np.float32)
    return np.ascontiguousarray(arr)


def _ray_terms(K: npt.ArrayLike, h: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-column and per-row terms of the normalised rays: x = xc[col] + xr[row], y = yr[row]."""
    k = check_intrinsics(K)
    if k.shape != (3, 3):
        raise ShapeError(f"Expected `K` to have shape (3, 3), got {shape_str(k.shape)}.")
    fx, skew, cx = k[0]
    fy, cy = k[1, 1], k[1, 2]
    if not (-w <= cx <= 2 * w and -h <= cy <= 2 * h):
        raise InvalidValueError(
            f"Expected `K` to fit the {w}x{h} (W x H) depth map: its principal point "
            f"(cx, cy) = ({cx:.6g}, {cy:.6g}) lies far outside the image (required: "
            f"-W <= cx <= 2W and -H <= cy <= 2H). K is probably for a "
            f"{2 * abs(cx):.0f}x{2 * abs(cy):.0f} image; rescale it with "
            f"camgeom.intrinsics.scale_intrinsics(K, {w / (2 * abs(cx)) if cx else 1.0:.6g}, "
            f"{h / (2 * abs(cy)) if cy else 1.0:.6g})."
        )
    u = np.arange(w, dtype=np.float64) + 0.5
    v = np.arange(h, dtype=np.float64) + 0.5
    yr = (v - cy) / fy
    xc = (u - cx) / fx
    xr = (-skew / fx) * yr if skew != 0.0 else np.zeros(h, dtype=np.float64)
    return xc, np.ascontiguousarray(xr), yr


def _check_mask(mask: npt.ArrayLike | None, shape: tuple[int, int]) -> np.ndarray | None:
    """The boolean (H, W) ``mask``, C-contiguous, or None."""
    if mask is None:
        return None
    arr = np.asarray(mask)
    if arr.dtype != np.bool_:
        raise InvalidValueError(
            f"Expected `mask` to be a boolean {shape_str(shape)} array, got dtype {arr.dtype} "
            f"with shape {shape_str(arr.shape)}. To keep segments of a label image pass "
            "segmentation=<label image>, segment_ids=<ids to keep>."
        )
    if arr.shape != shape:
        raise ShapeError(
            f"Expected `mask` to have shape {shape_str(shape)} like `depth`, "
            f"got {shape_str(arr.shape)}."
        )
    return np.ascontiguousarray(arr)


def _segment_mask(
    segmentation: npt.ArrayLike | None,
    segment_ids: SegmentIds | None,
    shape: tuple[int, int],
) -> np.ndarray | None:
    """Boolean (H, W) mask of the pixels whose segment is in ``segment_ids``, or None."""
    if segmentation is None and segment_ids is None:
        return None
    if segmentation is None:
        raise InvalidValueError(
            "Expected `segmentation=` (an integer (H, W) label image) with `segment_ids`, "
            "got no segmentation."
        )
    if segment_ids is None:
        raise InvalidValueError(
            "Expected `segment_ids=` (the segment ids to keep) with `segmentation=`, "
            "got segment_ids=None."
        )
    seg = np.asarray(segmentation)
    if seg.dtype.kind not in "iu":
        raise InvalidValueError(
            f"Expected `segmentation` to be an integer (H, W) label image, got dtype {seg.dtype}. "
            "Colour-coded segmentation must be mapped to ids first."
        )
    if seg.shape != shape:
        raise ShapeError(
            f"Expected `segmentation` to have shape {shape_str(shape)} like `depth`, "
            f"got {shape_str(seg.shape)}."
        )
    if isinstance(segment_ids, (set, frozenset)):
        segment_ids = list(segment_ids)
    ids = np.asarray(segment_ids)
    if ids.ndim > 1 or (ids.size and ids.dtype.kind not in "iu"):
        raise InvalidValueError(
            "Expected `segment_ids` to be an integer or a flat collection of integers, got "
            f"{np.ravel(ids).tolist()[:10]} (dtype {ids.dtype}, shape {shape_str(ids.shape)})."
        )
    return np.ascontiguousarray(np.isin(seg, ids.reshape(-1).astype(np.int64)))


def _check_colors(colors: npt.ArrayLike, shape: tuple[int, int]) -> np.ndarray:
    """The (H, W, 3|4) colour image; uint8 or float (converted after gathering)."""
    arr = np.asarray(colors)
    if arr.ndim != 3 or arr.shape[:2] != shape or arr.shape[2] not in (3, 4):
        raise ShapeError(
            f"Expected `colors` to have shape {shape_str((*shape, 3))} or "
            f"{shape_str((*shape, 4))} like `depth`, got {shape_str(arr.shape)}."
        )
    if arr.dtype != np.uint8 and arr.dtype.kind != "f":
        raise InvalidValueError(
            f"Expected `colors` to be uint8 or float in [0, 1], got dtype {arr.dtype}. "
            "For 16-bit images pass (colors >> 8).astype(np.uint8)."
        )
    return arr


def _check_normals(normals: npt.ArrayLike, shape: tuple[int, int]) -> np.ndarray:
    arr = np.asarray(normals)
    if arr.shape != (*shape, 3):
        raise ShapeError(
            f"Expected `normals` to have shape {shape_str((*shape, 3))} like `depth`, "
            f"got {shape_str(arr.shape)}."
        )
    if arr.dtype.kind != "f":
        raise InvalidValueError(
            f"Expected `normals` to be floating point, got dtype {arr.dtype}. Datagen "
            "normal_maps.exr holds 2*n-1 encoded values: decode and convert to OpenCV first."
        )
    return arr


def _check_out(out: np.ndarray | PointCloud | None) -> PointCloud | None:
    """The caller's output buffers as a cloud (None: allocate fresh arrays)."""
    if out is None:
        return None
    if isinstance(out, PointCloud):
        points = out.points
    elif isinstance(out, np.ndarray):
        points = out
    else:
        raise InvalidValueError(
            "Expected `out` to be a float32 (M, 3) array or a PointCloud, "
            f"got {type(out).__name__}."
        )
    if points.dtype != np.float32 or points.ndim != 2 or points.shape[1] != 3:
        raise ShapeError(
            f"Expected `out` to be a float32 array of shape (M, 3), got {points.dtype} "
            f"{shape_str(points.shape)}."
        )
    if not isinstance(out, PointCloud):
        _check_writeable(points, "out")
        return PointCloud(points)
    for name in ("points", "pixel_indices", "colors", "normals"):
        buf = getattr(out, name)
        if buf is not None:
            _check_writeable(buf, f"out.{name}")
    return out


def _check_writeable(buf: np.ndarray, name: str) -> None:
    if not (buf.flags.c_contiguous and buf.flags.writeable):
        raise InvalidValueError(
            f"Expected `{name}` to be C-contiguous and writeable; allocate the buffer with "
            "np.empty((M, 3), np.float32) or PointCloud.empty(M, ...)."
        )


def _into(values: np.ndarray, buf: np.ndarray | None) -> np.ndarray:
    """Copy ``values`` into the first rows of ``buf`` when given, else return them."""
    if buf is None or len(buf) < len(values):
        return values
    view = buf[: len(values)]
    view[...] = values
    return view

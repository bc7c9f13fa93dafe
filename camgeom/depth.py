"""Depth maps to point clouds, and planar z-depth <-> range conversions.

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
``(0, max_depth)``: NaN, +inf, -inf, zero and negative values, and values
``>= max_depth``, are all skipped, as are pixels outside ``mask``. The zero and
+inf backgrounds (Synthesis AI) therefore vanish by default. Large *finite*
background sentinels are not guessed: Datagen stores ``1e10`` (float32) or
``65504`` (float16); pass e.g. ``max_depth=1000.0`` or map them to NaN first
(the Datagen reader does).

Intrinsics for another resolution
---------------------------------
A ``K`` made for another image size is a common mistake that gives a plausible
but wrong cloud. The functions here reject ``K`` when its principal point lies
more than one image size outside the image, i.e. unless
``-W <= cx <= 2 W`` and ``-H <= cy <= 2 H`` for a ``(H, W)`` depth map; the error
suggests :func:`camgeom.intrinsics.scale_intrinsics`. A ``K`` for an image twice
as large (``cx = W``) passes this rule: it cannot be told from a crop.

Reusing buffers
---------------
``points_from_depth(..., out=buf)`` writes into ``buf`` instead of allocating:
``buf`` is either a float32 C-contiguous ``(M, 3)`` array (points only) or a
:class:`PointCloud` from :meth:`PointCloud.empty` (points, pixels and, when
present, colors and normals). ``M`` must be at least the number of valid pixels,
which :func:`count_valid_depth` returns; the result's arrays are views of the
first rows of ``buf``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt

from camgeom._kernels.depth import count_valid_rows, write_points
from camgeom._validation import (
    check_depth_kind,
    check_intrinsics,
    check_pose,
    check_positive_int,
    shape_str,
)
from camgeom.errors import InvalidValueError, ShapeError

if TYPE_CHECKING:
    import trimesh

__all__ = [
    "PointCloud",
    "concatenate_point_clouds",
    "count_valid_depth",
    "points_from_depth",
    "range_from_z",
    "z_from_range",
]

_BLOCK_ROWS = 1 << 20
"""Rows per block when transforming clouds (bounds float64 temporaries)."""


# --------------------------------------------------------------------------- PointCloud


@dataclass(frozen=True, eq=False, repr=False)
class PointCloud:
    """Points back-projected from a depth map, with the pixels they came from.

    Parameters
    ----------
    points : (N, 3) float32
        Points; in the OpenCV camera frame when made by :func:`points_from_depth`.
    pixels : (N, 2) int32
        ``(column, row)`` of the depth pixel each point comes from.
    colors : (N, 3) uint8, optional
        RGB colour per point.
    normals : (N, 3) float32, optional
        Normal per point, in the same frame as ``points``.

    Arrays are converted to these dtypes when needed (without a copy when they
    already match, so a cloud can be a view of a caller's buffer).

    Examples
    --------
    >>> import numpy as np
    >>> cloud = PointCloud(np.zeros((2, 3)), np.array([[0, 0], [1, 0]]))
    >>> len(cloud), cloud.points.dtype, cloud.pixels.dtype
    (2, dtype('float32'), dtype('int32'))
    """

    points: np.ndarray
    pixels: np.ndarray
    colors: np.ndarray | None = None
    normals: np.ndarray | None = None

    def __post_init__(self) -> None:
        points = _as_rows(self.points, "points", 3, np.float32)
        n = points.shape[0]
        pixels = _as_rows(self.pixels, "pixels", 2, np.int32, n=n)
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "pixels", pixels)
        if self.colors is not None:
            colors = np.asarray(self.colors)
            if colors.dtype != np.uint8:
                raise InvalidValueError(
                    f"Expected `colors` to be uint8, got {colors.dtype}. Convert float colours "
                    "in [0, 1] with np.rint(colors * 255).astype(np.uint8)."
                )
            object.__setattr__(self, "colors", _as_rows(colors, "colors", 3, np.uint8, n=n))
        if self.normals is not None:
            object.__setattr__(
                self, "normals", _as_rows(self.normals, "normals", 3, np.float32, n=n)
            )

    def __len__(self) -> int:
        return int(self.points.shape[0])

    def __repr__(self) -> str:
        return (
            f"PointCloud(n={len(self)}, colors={self.colors is not None}, "
            f"normals={self.normals is not None})"
        )

    @classmethod
    def empty(cls, n: int, *, colors: bool = False, normals: bool = False) -> PointCloud:
        """Allocate an uninitialised cloud of ``n`` points, for ``points_from_depth(out=...)``.

        Parameters
        ----------
        n : int
            Capacity (number of points); see :func:`count_valid_depth`.
        colors, normals : bool, optional
            Also allocate a (n, 3) uint8 colour / float32 normal buffer.

        Examples
        --------
        >>> buf = PointCloud.empty(10, colors=True)
        >>> buf.points.shape, buf.colors.shape
        ((10, 3), (10, 3))
        """
        if not (isinstance(n, (int, np.integer)) and n >= 0):
            raise InvalidValueError(f"Expected `n` to be a non-negative integer, got {n!r}.")
        return cls(
            np.empty((n, 3), np.float32),
            np.empty((n, 2), np.int32),
            colors=np.empty((n, 3), np.uint8) if colors else None,
            normals=np.empty((n, 3), np.float32) if normals else None,
        )

    def transformed(self, world_from_cam: npt.ArrayLike) -> PointCloud:
        """Apply a rigid transform to the points (and rotate the normals).

        Parameters
        ----------
        world_from_cam : (4, 4) array_like
            Rigid pose mapping the cloud's frame to the target frame, e.g. the
            camera's ``world_from_cam`` (OpenCV camera axes). Computed in float64.

        Returns
        -------
        PointCloud
            New cloud; ``pixels`` and ``colors`` are shared with this one.

        Examples
        --------
        >>> import numpy as np
        >>> cloud = PointCloud(np.array([[0.0, 0.0, 2.0]]), np.array([[0, 0]]))
        >>> pose = np.eye(4)
        >>> pose[:3, 3] = [1.0, 0.0, 0.0]
        >>> cloud.transformed(pose).points
        array([[1., 0., 2.]], dtype=float32)
        """
        pose = check_pose(world_from_cam, "world_from_cam")
        if pose.shape != (4, 4):
            raise ShapeError(
                f"Expected `world_from_cam` to have shape (4, 4), got {shape_str(pose.shape)}."
            )
        rot_t = pose[:3, :3].T
        shift = pose[:3, 3]
        points = np.empty_like(self.points)
        normals = None if self.normals is None else np.empty_like(self.normals)
        for start in range(0, len(self), _BLOCK_ROWS):
            block = slice(start, start + _BLOCK_ROWS)
            points[block] = self.points[block].astype(np.float64) @ rot_t + shift
            if normals is not None and self.normals is not None:
                normals[block] = self.normals[block].astype(np.float64) @ rot_t
        return PointCloud(points, self.pixels, colors=self.colors, normals=normals)

    def to_trimesh(self) -> trimesh.PointCloud:
        """Return a :class:`trimesh.PointCloud` with the points and colours.

        trimesh point clouds have no normals attribute: the normals (if any) and
        the pixels are put in ``metadata["normals"]`` and ``metadata["pixels"]``.

        Examples
        --------
        >>> import numpy as np
        >>> white = np.full((1, 3), 255, np.uint8)
        >>> cloud = PointCloud(np.ones((1, 3)), np.zeros((1, 2), int), colors=white)
        >>> cloud.to_trimesh().colors.tolist()
        [[255, 255, 255, 255]]
        """
        import trimesh

        metadata: dict[str, Any] = {"pixels": self.pixels}
        if self.normals is not None:
            metadata["normals"] = self.normals
        return trimesh.PointCloud(
            vertices=self.points.astype(np.float64), colors=self.colors, metadata=metadata
        )

    def write_ply(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the cloud (points, colours, normals) as binary little-endian PLY.

        Uses :func:`camgeom.io.write_ply`: the file appears atomically, and an
        existing file raises :class:`~camgeom.errors.OutputExistsError` unless
        ``overwrite=True``. Returns the path written.
        """
        from camgeom.io import write_ply

        return write_ply(
            path, self.points, colors=self.colors, normals=self.normals, overwrite=overwrite
        )

    @staticmethod
    def concatenate(clouds: Iterable[PointCloud]) -> PointCloud:
        """Same as :func:`concatenate_point_clouds`."""
        return concatenate_point_clouds(clouds)


def concatenate_point_clouds(clouds: Iterable[PointCloud]) -> PointCloud:
    """Fuse clouds (e.g. several views transformed to world) into one.

    Parameters
    ----------
    clouds : iterable of PointCloud
        Either all or none of them must carry colours, and likewise normals.
        ``pixels`` are kept as they are: they refer to each cloud's own image.

    Returns
    -------
    PointCloud
        Points in input order; an empty cloud for an empty input.

    Examples
    --------
    >>> import numpy as np
    >>> a = PointCloud(np.zeros((2, 3)), np.zeros((2, 2), int))
    >>> b = PointCloud(np.ones((1, 3)), np.zeros((1, 2), int))
    >>> len(concatenate_point_clouds([a, b]))
    3
    """
    items = list(clouds)
    for i, cloud in enumerate(items):
        if not isinstance(cloud, PointCloud):
            raise InvalidValueError(
                f"Expected `clouds` to hold PointCloud objects, got {type(cloud).__name__} "
                f"at index {i}."
            )
    if not items:
        return PointCloud(np.empty((0, 3), np.float32), np.empty((0, 2), np.int32))
    extras: dict[str, np.ndarray | None] = {}
    for attr in ("colors", "normals"):
        have = [getattr(c, attr) is not None for c in items]
        if all(have):
            extras[attr] = np.concatenate([getattr(c, attr) for c in items])
        elif not any(have):
            extras[attr] = None
        else:
            missing = [i for i, h in enumerate(have) if not h]
            raise InvalidValueError(
                f"Expected all or none of `clouds` to have {attr}, got {attr} missing in "
                f"clouds {missing[:10]} of {len(items)}. Drop them from every cloud with "
                f"dataclasses.replace(cloud, {attr}=None), or add them to every cloud."
            )
    return PointCloud(
        np.concatenate([c.points for c in items]),
        np.concatenate([c.pixels for c in items]),
        colors=extras["colors"],
        normals=extras["normals"],
    )


# --------------------------------------------------------------------------- depth -> points


def count_valid_depth(
    depth: npt.ArrayLike,
    *,
    mask: Any = None,
    max_depth: float = np.inf,
    stride: int = 1,
    segmentation: npt.ArrayLike | None = None,
) -> int:
    """Number of points :func:`points_from_depth` returns for the same arguments.

    Use it to size a reusable ``out`` buffer. Arguments as in
    :func:`points_from_depth`.

    Examples
    --------
    >>> import numpy as np
    >>> depth = np.array([[1.0, np.nan], [0.0, 2.0]], dtype=np.float32)
    >>> count_valid_depth(depth)
    2
    >>> count_valid_depth(depth, max_depth=1.5)
    1
    """
    grid = _prepare(depth, mask, segmentation, max_depth, stride)
    return int(count_valid_rows(grid.depth, grid.mask, grid.use_mask, grid.limit).sum())


def points_from_depth(
    depth: npt.ArrayLike,
    K: npt.ArrayLike,
    *,
    depth_kind: str = "z",
    mask: Any = None,
    max_depth: float = np.inf,
    stride: int = 1,
    colors: npt.ArrayLike | None = None,
    normals: npt.ArrayLike | None = None,
    out: np.ndarray | PointCloud | None = None,
    segmentation: npt.ArrayLike | None = None,
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
    mask : (H, W) bool array_like, or int / collection of ints, optional
        Boolean mask of pixels to keep; or, together with ``segmentation``, the
        segment id(s) to keep.
    max_depth : float, optional
        Depths ``>= max_depth`` are skipped (default ``inf``: only +inf is).
        Must be ``>= 0``.
    stride : int, optional
        Keep only pixels whose row and column are multiples of ``stride``.
    colors : (H, W, 3) or (H, W, 4) array_like, optional
        uint8, or float in [0, 1] (rounded to uint8); alpha is dropped.
    normals : (H, W, 3) array_like of float, optional
        Normals in the OpenCV camera frame (convert vendor frames first), copied
        as float32 for the kept pixels.
    out : (M, 3) float32 ndarray or PointCloud, optional
        Buffer to write into (see the module notes); ``M`` must be at least
        :func:`count_valid_depth` of the same arguments.
    segmentation : (H, W) array_like of int, optional
        Segment id per pixel, used with ``mask`` ids.

    Returns
    -------
    PointCloud
        ``points`` (N, 3) float32, ``pixels`` (N, 2) int32 ``(column, row)``, and
        ``colors`` (N, 3) uint8 / ``normals`` (N, 3) float32 when given.

    Raises
    ------
    ShapeError
        ``depth`` not 2-D; ``mask``, ``segmentation``, ``colors`` or ``normals`` not
        matching it; ``out`` too small (the message gives the size needed).
    InvalidValueError
        ``K`` invalid or for another resolution; ``stride < 1``; ``max_depth``
        negative or NaN; integer ``depth``; colours out of range.
    ConventionError
        Unknown ``depth_kind``.

    Notes
    -----
    Skipped pixels: depth NaN, +-inf, ``<= 0`` or ``>= max_depth``, and pixels
    outside ``mask``. Large finite background sentinels (Datagen ``1e10`` /
    ``65504``) need ``max_depth``.

    The arithmetic runs in the precision of the depth map (float32 for float16
    and float32 depth, float64 for float64 depth; a few float32 ulps either way)
    and the points are stored as float32. ``max_depth`` is compared exactly.
    Work is split over image rows on numba's threads (two passes: count, then
    write), so the cost is one read of ``depth`` per pass and one write per point.

    Examples
    --------
    >>> import numpy as np
    >>> K = np.array([[100.0, 0.0, 2.0], [0.0, 100.0, 1.5], [0.0, 0.0, 1.0]])
    >>> depth = np.full((3, 4), 2.0, dtype=np.float32)
    >>> depth[0, 0] = np.nan
    >>> cloud = points_from_depth(depth, K)
    >>> len(cloud)
    11
    >>> cloud.pixels[0]  # first valid pixel: column 1, row 0
    array([1, 0], dtype=int32)
    >>> cloud.points[0]  # ((1.5 - 2) / 100 * 2, (0.5 - 1.5) / 100 * 2, 2)
    array([-0.01, -0.02,  2.  ], dtype=float32)
    """
    kind = check_depth_kind(depth_kind)
    grid = _prepare(depth, mask, segmentation, max_depth, stride)
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

    counts = count_valid_rows(grid.depth, grid.mask, grid.use_mask, grid.limit)
    offsets = np.zeros(counts.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    n = int(offsets[-1])

    if buffers is None:
        points = np.empty((n, 3), np.float32)
        pixels = np.empty((n, 2), np.int32)
    else:
        capacity = buffers.points.shape[0]
        if capacity < n:
            raise ShapeError(
                f"Expected `out` to hold at least {n} points, got room for {capacity} "
                f"(points shape {shape_str(buffers.points.shape)}). Allocate "
                f"np.empty(({n}, 3), np.float32) or PointCloud.empty({n}); "
                "count_valid_depth(...) gives the size for the same arguments."
            )
        points = buffers.points[:n]
        pixels = np.empty((n, 2), np.int32) if buffers.pixels is None else buffers.pixels[:n]
    write_points(
        grid.depth,
        grid.mask,
        grid.use_mask,
        grid.limit,
        kind == "range",
        xc,
        xr,
        yr,
        yq,
        step,
        offsets,
        points.reshape(-1),
        pixels.reshape(-1),
    )

    cloud_colors = cloud_normals = None
    if colors_arr is not None or normals_arr is not None:
        rows = pixels[:, 1]
        cols = pixels[:, 0]
        if colors_arr is not None:
            gathered = colors_arr[rows, cols, :3]
            if gathered.dtype != np.uint8:
                gathered = np.rint(gathered * 255.0).astype(np.uint8)
            cloud_colors = _into(gathered, None if buffers is None else buffers.colors)
        if normals_arr is not None:
            gathered = normals_arr[rows, cols].astype(np.float32, copy=False)
            cloud_normals = _into(gathered, None if buffers is None else buffers.normals)
    return PointCloud(points, pixels, colors=cloud_colors, normals=cloud_normals)


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


# --------------------------------------------------------------------------- validation


class _Grid(NamedTuple):
    """Validated inputs of both kernel passes, on the stride grid."""

    depth: np.ndarray  # (ceil(H/s), ceil(W/s)) C-contiguous float32/float64
    mask: np.ndarray  # same shape bool, or a (1, 1) placeholder
    use_mask: bool
    limit: np.floating  # max_depth in the depth dtype
    stride: int
    shape: tuple[int, int]  # (H, W) of the full map


def _prepare(
    depth: npt.ArrayLike,
    mask: Any,
    segmentation: npt.ArrayLike | None,
    max_depth: float,
    stride: int,
) -> _Grid:
    """Validate the arguments shared by the counting and the writing pass."""
    arr = _check_depth(depth)
    step = check_positive_int(stride, "stride")
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
    mask_arr = _resolve_mask(mask, segmentation, arr.shape)
    shape = (int(arr.shape[0]), int(arr.shape[1]))
    if step > 1:
        arr = np.ascontiguousarray(arr[::step, ::step])
        if mask_arr is not None:
            mask_arr = np.ascontiguousarray(mask_arr[::step, ::step])
    if mask_arr is None:
        return _Grid(arr, np.ones((1, 1), dtype=np.bool_), False, limit, step, shape)
    return _Grid(arr, mask_arr, True, limit, step, shape)


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


def _resolve_mask(
    mask: Any, segmentation: npt.ArrayLike | None, shape: tuple[int, ...]
) -> np.ndarray | None:
    """Boolean (H, W) mask from a boolean mask or from segment ids + segmentation."""
    ids: np.ndarray | None = None
    if isinstance(mask, (set, frozenset)):
        ids = np.array(sorted(mask))
    elif mask is not None:
        arr = np.asarray(mask)
        if arr.dtype == np.bool_ and arr.ndim == 2:
            if segmentation is not None:
                raise InvalidValueError(
                    "Expected `mask` to be segment ids when `segmentation` is given, got a "
                    "boolean array. Pass either a boolean mask, or ids with segmentation=."
                )
            if arr.shape != shape:
                raise ShapeError(
                    f"Expected `mask` to have shape {shape_str(shape)} like `depth`, "
                    f"got {shape_str(arr.shape)}."
                )
            return np.ascontiguousarray(arr)
        if arr.ndim <= 1 and (arr.dtype.kind in "iu" or arr.size == 0):
            ids = arr.reshape(-1)
        else:
            raise InvalidValueError(
                f"Expected `mask` to be a boolean {shape_str(shape)} array or segment id(s), got "
                f"dtype {arr.dtype} with shape {shape_str(arr.shape)}. For an integer label "
                "image pass mask=<ids to keep>, segmentation=<label image>."
            )
    if segmentation is None:
        if ids is not None:
            raise InvalidValueError(
                "Expected `segmentation=` (an integer (H, W) label image) with segment ids in "
                f"`mask`, got ids {ids.tolist()[:10]} and no segmentation."
            )
        return None
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
    if ids is None:
        raise InvalidValueError(
            "Expected `mask` to give the segment id(s) to keep when `segmentation` is given, "
            "got mask=None."
        )
    if ids.size and ids.dtype.kind not in "iu":
        raise InvalidValueError(f"Expected segment ids to be integers, got {ids.tolist()[:10]}.")
    return np.ascontiguousarray(np.isin(seg, ids.astype(np.int64)))


def _check_colors(colors: npt.ArrayLike, shape: tuple[int, int]) -> np.ndarray:
    arr = np.asarray(colors)
    if arr.ndim != 3 or arr.shape[:2] != shape or arr.shape[2] not in (3, 4):
        raise ShapeError(
            f"Expected `colors` to have shape {shape_str((*shape, 3))} or "
            f"{shape_str((*shape, 4))} like `depth`, got {shape_str(arr.shape)}."
        )
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype.kind == "f":
        lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
        if not (lo >= 0.0 and hi <= 1.0):
            raise InvalidValueError(
                f"Expected float `colors` in [0, 1], got values in [{lo:.6g}, {hi:.6g}]. "
                "Pass uint8 colours, or divide 0..255 values by 255."
            )
        return arr
    raise InvalidValueError(
        f"Expected `colors` to be uint8 or float in [0, 1], got dtype {arr.dtype}. "
        "For 16-bit images pass (colors >> 8).astype(np.uint8)."
    )


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


class _Buffers(NamedTuple):
    points: np.ndarray
    pixels: np.ndarray | None
    colors: np.ndarray | None
    normals: np.ndarray | None


def _check_out(out: np.ndarray | PointCloud | None) -> _Buffers | None:
    """The caller's output buffers (None where a fresh array is to be allocated)."""
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
        return _Buffers(points, None, None, None)
    for name in ("points", "pixels", "colors", "normals"):
        buf = getattr(out, name)
        if buf is not None:
            _check_writeable(buf, f"out.{name}")
    return _Buffers(out.points, out.pixels, out.colors, out.normals)


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


def _as_rows(
    value: npt.ArrayLike, name: str, width: int, dtype: Any, *, n: int | None = None
) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != 2 or arr.shape[1] != width or (n is not None and arr.shape[0] != n):
        rows = "N" if n is None else str(n)
        raise ShapeError(
            f"Expected `{name}` to have shape ({rows}, {width}), got {shape_str(arr.shape)}."
        )
    if arr.dtype == dtype:
        return arr
    if np.dtype(dtype).kind == "i" and arr.dtype.kind not in "iu":
        raise InvalidValueError(f"Expected `{name}` to be integer, got dtype {arr.dtype}.")
    return arr.astype(dtype)

"""The :class:`PointCloud` type: points with optional pixel indices, colours and normals.

:func:`camgeom.depth.points_from_depth` makes them; this module moves them
between frames, fuses several views, and hands them to trimesh or to a PLY
file (:func:`camgeom.io.write_ply`).

Names
-----
``pixel_indices`` are the integer ``(column, row)`` indices of the depth pixel
each point comes from. They are not pixel *coordinates*: the centre of pixel
``(col, row)`` is at ``(u, v) = (col + 0.5, row + 0.5)`` in camgeom's pixel
convention (the one ``Landmarks.pixels`` and :func:`camgeom.project_points` use).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from camgeom._validation import check_pose, shape_str
from camgeom.errors import InvalidValueError, ShapeError

if TYPE_CHECKING:
    import trimesh

__all__ = ["PointCloud", "concatenate_point_clouds"]

_BLOCK_ROWS = 1 << 20
"""Rows per block when transforming clouds (bounds float64 temporaries)."""

_OPTIONAL = ("pixel_indices", "colors", "normals")


@dataclass(frozen=True, eq=False, repr=False)
class PointCloud:
    """Points, e.g. back-projected from a depth map, with optional per-point data.

    Parameters
    ----------
    points : (N, 3) float32
        Points; in the OpenCV camera frame when made by
        :func:`~camgeom.depth.points_from_depth`.
    pixel_indices : (N, 2) int32, optional
        Integer ``(column, row)`` index of the depth pixel each point comes from
        (its centre is at ``+ 0.5``); ``None`` unless asked for.
    colors : (N, 3) uint8, optional
        RGB colour per point.
    normals : (N, 3) float32, optional
        Normal per point, in the same frame as ``points``.

    Notes
    -----
    Arrays are converted to these dtypes when needed (without a copy when they
    already match, so a cloud can be a view of a caller's buffer).

    Examples
    --------
    >>> import numpy as np
    >>> cloud = PointCloud(np.zeros((2, 3)), np.array([[0, 0], [1, 0]]))
    >>> len(cloud), cloud.points.dtype, cloud.pixel_indices.dtype
    (2, dtype('float32'), dtype('int32'))
    >>> PointCloud(np.zeros((2, 3))).pixel_indices is None
    True
    """

    points: np.ndarray
    pixel_indices: np.ndarray | None = None
    colors: np.ndarray | None = None
    normals: np.ndarray | None = None

    def __post_init__(self) -> None:
        points = _as_rows(self.points, "points", 3, np.float32)
        n = points.shape[0]
        object.__setattr__(self, "points", points)
        if self.pixel_indices is not None:
            indices = _as_rows(self.pixel_indices, "pixel_indices", 2, np.int32, n=n)
            object.__setattr__(self, "pixel_indices", indices)
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
    def empty(
        cls,
        n: int,
        *,
        pixel_indices: bool = False,
        colors: bool = False,
        normals: bool = False,
    ) -> PointCloud:
        """Allocate an uninitialised cloud of ``n`` points, for ``points_from_depth(out=...)``.

        Parameters
        ----------
        n : int
            Capacity (number of points); see :func:`~camgeom.depth.count_valid_depth`.
        pixel_indices, colors, normals : bool, optional
            Also allocate a (n, 2) int32 index / (n, 3) uint8 colour / (n, 3)
            float32 normal buffer.

        Examples
        --------
        >>> buf = PointCloud.empty(10, colors=True)
        >>> buf.points.shape, buf.colors.shape, buf.pixel_indices
        ((10, 3), (10, 3), None)
        """
        if not (isinstance(n, (int, np.integer)) and n >= 0):
            raise InvalidValueError(f"Expected `n` to be a non-negative integer, got {n!r}.")
        return cls(
            np.empty((n, 3), np.float32),
            np.empty((n, 2), np.int32) if pixel_indices else None,
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
            New cloud; ``pixel_indices`` and ``colors`` are shared with this one.

        Examples
        --------
        >>> import numpy as np
        >>> cloud = PointCloud(np.array([[0.0, 0.0, 2.0]]))
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
        return PointCloud(points, self.pixel_indices, colors=self.colors, normals=normals)

    def to_trimesh(self) -> trimesh.PointCloud:
        """Return a :class:`trimesh.PointCloud` with the points and colours.

        trimesh point clouds have no normals attribute: the normals and the pixel
        indices (when present) are put in ``metadata["normals"]`` and
        ``metadata["pixel_indices"]``.

        Examples
        --------
        >>> import numpy as np
        >>> white = np.full((1, 3), 255, np.uint8)
        >>> cloud = PointCloud(np.ones((1, 3)), colors=white)
        >>> cloud.to_trimesh().colors.tolist()
        [[255, 255, 255, 255]]
        """
        import trimesh

        metadata: dict[str, Any] = {}
        if self.pixel_indices is not None:
            metadata["pixel_indices"] = self.pixel_indices
        if self.normals is not None:
            metadata["normals"] = self.normals
        return trimesh.PointCloud(
            vertices=self.points.astype(np.float64), colors=self.colors, metadata=metadata
        )

    def write_ply(self, path: str | Path, *, overwrite: bool = False, atomic: bool = True) -> Path:
        """Write the cloud (points, colours, normals) as binary little-endian PLY.

        Uses :func:`camgeom.io.write_ply`: the file appears atomically (unless
        ``atomic=False``), and an existing file raises
        :class:`~camgeom.errors.OutputExistsError` unless ``overwrite=True``. Pixel
        indices are not stored. Returns the path written.
        """
        from camgeom.io.ply import write_ply

        return write_ply(
            path,
            self.points,
            colors=self.colors,
            normals=self.normals,
            overwrite=overwrite,
            atomic=atomic,
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
        Either all or none of them must carry pixel indices, and likewise
        colours and normals. Pixel indices are kept as they are: they refer to
        each cloud's own image.

    Returns
    -------
    PointCloud
        Points in input order; an empty cloud for an empty input.

    Examples
    --------
    >>> import numpy as np
    >>> a = PointCloud(np.zeros((2, 3)))
    >>> b = PointCloud(np.ones((1, 3)))
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
        return PointCloud(np.empty((0, 3), np.float32))
    extras: dict[str, np.ndarray | None] = {}
    for attr in _OPTIONAL:
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
        extras["pixel_indices"],
        colors=extras["colors"],
        normals=extras["normals"],
    )


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

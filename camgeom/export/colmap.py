"""COLMAP sparse models: ``cameras``, ``images`` and ``points3D`` in text and binary form.

A model is a :class:`ColmapModel` of :class:`ColmapCamera` and :class:`ColmapImage`
records and a :class:`ColmapPoints` table (of :class:`ColmapPoint` rows), written by :func:`write_model` and read by
:func:`read_model` in COLMAP's own layout (``cameras.txt`` or ``cameras.bin``
and so on). Conventions, all COLMAP's:

- camera axes are OpenCV's (x right, y down, z forward), as in camgeom;
- an image stores ``cam_from_world`` as a unit quaternion ``(qw, qx, qy, qz)``
  (scalar part first, made non-negative) and a translation;
- pixel coordinates put the centre of the top-left pixel at (0.5, 0.5), as
  camgeom does: ``K`` and (u, v) are written unchanged;
- camera models ``PINHOLE`` (fx, fy, cx, cy), ``OPENCV`` (+ k1, k2, p1, p2),
  ``OPENCV_FISHEYE`` (+ k1, k2, k3, k4) and ``FULL_OPENCV`` (+ k1, k2, p1, p2,
  k3, k4, k5, k6).

Numbers are written with Python's shortest round-trip form, so a text model
holds the same doubles as a binary one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from camgeom.errors import CamgeomError, InvalidValueError
from camgeom.poses import pose_from_quaternion

__all__ = [
    "CAMERA_MODELS",
    "ColmapCamera",
    "ColmapImage",
    "ColmapModel",
    "ColmapPoint",
    "ColmapPoints",
    "ExportError",
    "camera_text",
    "images_text",
    "model_bytes",
    "points_text",
    "pose_from_qvec",
    "qvec_from_pose",
    "qvecs_from_rotations",
    "read_model",
    "write_model",
]

#: COLMAP camera model name -> (model id, parameter names).
CAMERA_MODELS: dict[str, tuple[int, tuple[str, ...]]] = {
    "SIMPLE_PINHOLE": (0, ("f", "cx", "cy")),
    "PINHOLE": (1, ("fx", "fy", "cx", "cy")),
    "SIMPLE_RADIAL": (2, ("f", "cx", "cy", "k1")),
    "RADIAL": (3, ("f", "cx", "cy", "k1", "k2")),
    "OPENCV": (4, ("fx", "fy", "cx", "cy", "k1", "k2", "p1", "p2")),
    "OPENCV_FISHEYE": (5, ("fx", "fy", "cx", "cy", "k1", "k2", "k3", "k4")),
    "FULL_OPENCV": (
        6,
        ("fx", "fy", "cx", "cy", "k1", "k2", "p1", "p2", "k3", "k4", "k5", "k6"),
    ),
}
_NO_POINT = -1
_NO_POINT_U64 = 2**64 - 1


class ExportError(CamgeomError):
    """A dataset cannot be exported to the asked format (e.g. a lens model it cannot hold)."""


@dataclass(frozen=True)
class ColmapCamera:
    """One COLMAP camera: id, model name, image size and parameters.

    Parameters
    ----------
    camera_id : int
    model : str
        A key of :data:`CAMERA_MODELS` (camgeom writes ``PINHOLE``, ``OPENCV``,
        ``OPENCV_FISHEYE`` and ``FULL_OPENCV``; it also reads COLMAP's
        ``SIMPLE_PINHOLE``, ``SIMPLE_RADIAL`` and ``RADIAL``).
    width, height : int
    params : tuple of float
        In the order of :data:`CAMERA_MODELS`; pixel centres at +0.5.
    """

    camera_id: int
    model: str
    width: int
    height: int
    params: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.model not in CAMERA_MODELS:
            raise InvalidValueError(
                f"Expected `model` to be one of {sorted(CAMERA_MODELS)}, got {self.model!r}."
            )
        n = len(CAMERA_MODELS[self.model][1])
        if len(self.params) != n:
            raise InvalidValueError(
                f"Expected {n} parameters for a {self.model} camera, got {len(self.params)}."
            )

    @property
    def K(self) -> np.ndarray:
        """Intrinsic matrix (3, 3) in camgeom's (and COLMAP's) pixel convention."""
        v = dict(zip(CAMERA_MODELS[self.model][1], self.params, strict=True))
        fx, fy = v.get("fx", v.get("f")), v.get("fy", v.get("f"))
        return np.array([[fx, 0.0, v["cx"]], [0.0, fy, v["cy"]], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class ColmapImage:
    """One COLMAP image: pose, camera, file name and 2D observations.

    Parameters
    ----------
    image_id, camera_id : int
    qvec : tuple of float, length 4
        ``cam_from_world`` rotation as ``(qw, qx, qy, qz)``.
    tvec : tuple of float, length 3
        ``cam_from_world`` translation.
    name : str
        Image path relative to the image folder (``/``-separated).
    xys : ndarray, shape (N, 2), float64
        Observed pixels (u, v), pixel centres at +0.5.
    point3D_ids : ndarray, shape (N,), int64
        The 3D point each observation belongs to, -1 for none.
    """

    image_id: int
    camera_id: int
    qvec: tuple[float, float, float, float]
    tvec: tuple[float, float, float]
    name: str
    xys: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    point3D_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def cam_from_world(self) -> np.ndarray:
        """The image's pose (4, 4) in the OpenCV camera convention."""
        return pose_from_qvec(self.qvec, self.tvec)


@dataclass(frozen=True)
class ColmapPoint:
    """One COLMAP 3D point and its track.

    Parameters
    ----------
    point3D_id : int
    xyz : tuple of float, length 3
    rgb : tuple of int, length 3
    error : float
        Mean reprojection error of the track in pixels.
    image_ids, point2D_idxs : tuple of int
        The track: each observation's image and its row in that image's ``xys``.
    """

    point3D_id: int
    xyz: tuple[float, float, float]
    rgb: tuple[int, int, int]
    error: float
    image_ids: tuple[int, ...]
    point2D_idxs: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class ColmapPoints:
    """Many COLMAP 3D points and their tracks, as columns (what a model holds).

    Parameters
    ----------
    ids : ndarray, shape (P,), int64
    xyz : ndarray, shape (P, 3), float64
    rgb : ndarray, shape (P, 3), uint8
    error : ndarray, shape (P,), float64
    track_offsets : ndarray, shape (P + 1,), int64
        Point ``i``'s track is rows ``track_offsets[i]:track_offsets[i + 1]`` of
        ``track_image`` and ``track_idx``.
    track_image, track_idx : ndarray, shape (T,), int64
        Each observation's image id and its row in that image's ``xys``.
    """

    ids: np.ndarray
    xyz: np.ndarray
    rgb: np.ndarray
    error: np.ndarray
    track_offsets: np.ndarray
    track_image: np.ndarray
    track_idx: np.ndarray

    @classmethod
    def empty(cls) -> ColmapPoints:
        """No points."""
        z = np.zeros(0, np.int64)
        return cls(
            z,
            np.zeros((0, 3)),
            np.zeros((0, 3), np.uint8),
            np.zeros(0),
            np.zeros(1, np.int64),
            z,
            z,
        )

    @classmethod
    def from_points(cls, points: Sequence[ColmapPoint]) -> ColmapPoints:
        """The table of a sequence of :class:`ColmapPoint`."""
        if not points:
            return cls.empty()
        lengths = [len(p.image_ids) for p in points]
        return cls(
            np.array([p.point3D_id for p in points], np.int64),
            np.array([p.xyz for p in points], float).reshape(-1, 3),
            np.array([p.rgb for p in points], np.uint8).reshape(-1, 3),
            np.array([p.error for p in points], float),
            np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            np.array([i for p in points for i in p.image_ids], np.int64),
            np.array([j for p in points for j in p.point2D_idxs], np.int64),
        )

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> ColmapPoint:
        a, b = int(self.track_offsets[i]), int(self.track_offsets[i + 1])
        x, y, z = (float(v) for v in self.xyz[i])
        r, g, bl = (int(v) for v in self.rgb[i])
        return ColmapPoint(
            int(self.ids[i]),
            (x, y, z),
            (r, g, bl),
            float(self.error[i]),
            tuple(int(v) for v in self.track_image[a:b]),
            tuple(int(v) for v in self.track_idx[a:b]),
        )

    def __iter__(self) -> Iterator[ColmapPoint]:
        return (self[i] for i in range(len(self)))


@dataclass(frozen=True, eq=False)
class ColmapModel:
    """A sparse model: cameras and images in id order, and a :class:`ColmapPoints` table.

    ``points`` may also be given as a sequence of :class:`ColmapPoint`.
    """

    cameras: tuple[ColmapCamera, ...]
    images: tuple[ColmapImage, ...]
    points: ColmapPoints = field(default_factory=ColmapPoints.empty)

    def __post_init__(self) -> None:
        if not isinstance(self.points, ColmapPoints):
            object.__setattr__(self, "points", ColmapPoints.from_points(list(self.points)))


# ----------------------------------------------------------------------------- poses


def qvecs_from_rotations(R: npt.ArrayLike) -> np.ndarray:
    """Unit quaternions ``(qw, qx, qy, qz)``, ``qw >= 0``, of the rotations nearest to R (N, 3, 3).

    Bar-Itzhack's method: the eigenvector of the largest eigenvalue of a
    symmetric 4x4 matrix built from R, which is the quaternion of the rotation
    nearest to R in the Frobenius norm. A stored matrix that is a rotation only
    to its stored precision (float32) gets its nearest rotation.
    """
    m = np.asarray(R, dtype=np.float64).reshape(-1, 3, 3)
    xx, xy, xz = m[:, 0, 0], m[:, 0, 1], m[:, 0, 2]
    yx, yy, yz = m[:, 1, 0], m[:, 1, 1], m[:, 1, 2]
    zx, zy, zz = m[:, 2, 0], m[:, 2, 1], m[:, 2, 2]
    k = (
        np.stack(
            [
                np.stack([xx - yy - zz, yx + xy, zx + xz, zy - yz], -1),
                np.stack([yx + xy, yy - xx - zz, zy + yz, xz - zx], -1),
                np.stack([zx + xz, zy + yz, zz - xx - yy, yx - xy], -1),
                np.stack([zy - yz, xz - zx, yx - xy, xx + yy + zz], -1),
            ],
            -2,
        )
        / 3.0
    )
    _, vecs = np.linalg.eigh(k)
    xyzw = vecs[:, :, -1]
    q = xyzw[:, [3, 0, 1, 2]]
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    q[q[:, 0] < 0] *= -1.0
    return q


def qvec_from_pose(cam_from_world: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``(qw, qx, qy, qz)`` and ``(tx, ty, tz)`` of a ``cam_from_world`` (4, 4) or (3, 4).

    Examples
    --------
    >>> qvec_from_pose(np.eye(4))
    ((1.0, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
    """
    pose = np.asarray(cam_from_world, dtype=np.float64)
    q = qvecs_from_rotations(pose[:3, :3])[0]
    return tuple(float(x) for x in q), tuple(float(x) for x in pose[:3, 3])


def pose_from_qvec(qvec: npt.ArrayLike, tvec: npt.ArrayLike) -> np.ndarray:
    """``cam_from_world`` (4, 4) from COLMAP's quaternion ``(qw, qx, qy, qz)`` and translation.

    The quaternion is normalised (COLMAP's text files round it).
    """
    return pose_from_quaternion(
        np.asarray(qvec, float), np.asarray(tvec, float), order="wxyz", normalize=True
    )


# Writing and reading live in their own modules, which import the records above: imported last.
from camgeom.export.colmap_read import read_model  # noqa: E402
from camgeom.export.colmap_write import (  # noqa: E402
    camera_text,
    images_text,
    model_bytes,
    points_text,
    write_model,
)

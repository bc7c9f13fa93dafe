"""Helpers shared by the vendor readers (camera construction, stored poses, image sizes, sorting)."""

from __future__ import annotations

import math
import re
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from camgeom.errors import CamgeomError, ConventionError, FormatError

if TYPE_CHECKING:
    from camgeom.camera import Camera

__all__ = [
    "MAX_IMAGE_SIDE",
    "decimals_of",
    "image_size",
    "make_camera",
    "natural_key",
    "read_obj_vertices",
    "readonly",
    "relative_id",
    "stored_pose",
]

_DIGITS = re.compile(r"(\d+)")

MAX_IMAGE_SIDE = 16384
"""Largest image width or height a metadata file may declare (pixels).

Sizes come from metadata (Datagen ``resolution_px``, Synthesis AI
``metadata.jsonl``, GeoGen ``resolution``) and size every array made for the
frame; a larger value is refused as damaged rather than allocated."""


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort key that orders embedded numbers numerically ("2" < "10").

    Examples
    --------
    >>> sorted(["10.info.json", "2.info.json"], key=natural_key)
    ['2.info.json', '10.info.json']
    """
    return tuple(int(p) if p.isdigit() else p for p in _DIGITS.split(text))


def relative_id(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` in POSIX form ("." becomes the folder name)."""
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        rel = path.as_posix()
    return rel if rel not in ("", ".") else path.name


def make_camera(
    K: np.ndarray,
    pose: np.ndarray,
    size: tuple[int, int],
    path: Any,
    *,
    convention: str = "opencv",
    kind: str = "cam_from_world",
    what: str = "the stored camera",
) -> Camera:
    """Build a :class:`~camgeom.camera.Camera` of image ``size`` (width, height).

    ``pose`` may be in any camera-axis ``convention`` and of either ``kind``: it
    is converted with :func:`camgeom.conventions.convert_pose` (through
    :meth:`Camera.from_pose <camgeom.camera.Camera.from_pose>`), and the camera
    checks that it is rigid. Invalid values raise :class:`FormatError` naming
    ``path`` and ``what``.
    """
    from camgeom.camera import Camera

    width, height = int(size[0]), int(size[1])
    if not (0 < width <= MAX_IMAGE_SIDE and 0 < height <= MAX_IMAGE_SIDE):
        raise FormatError(
            f"{path}: image size {width}x{height} from {what} is outside 1..{MAX_IMAGE_SIDE} "
            "pixels per side; the metadata is damaged."
        )
    try:
        if convention == "opencv" and kind == "cam_from_world":
            return Camera(K, pose, width, height)
        return Camera.from_pose(K, pose, width, height, convention=convention, kind=kind)
    except CamgeomError as exc:
        raise FormatError(f"{path}: {what} is not valid: {exc}") from None


def stored_pose(matrix: np.ndarray, convention: str, *, kind: str) -> np.ndarray:
    """A stored 4x4 pose with its camera axes relabelled to OpenCV, otherwise as stored.

    For a rigid pose this equals ``convert_pose(matrix, convention, "opencv",
    kind=kind)``. Unlike :func:`~camgeom.conventions.convert_pose` it does not
    require the matrix to be rigid, so :class:`~camgeom.datasets.CameraMetadata`
    keeps a scaled or sheared stored pose for a verifier to see: the camera-frame
    vectors of the matrix (the columns of ``cam_from_world``, the rows of the
    rotation of ``world_from_cam``) go through
    :func:`~camgeom.conventions.convert_points`. The result is a new float64 array.

    Examples
    --------
    >>> stored_pose(np.diag([2.0, 1.0, 1.0, 1.0]), "opengl", kind="cam_from_world")[:3, :3]
    array([[ 2.,  0.,  0.],
           [ 0., -1.,  0.],
           [ 0.,  0., -1.]])
    """
    from camgeom.conventions import POSE_KINDS, convert_points

    if kind not in POSE_KINDS:
        raise ConventionError(f"Expected `kind` to be one of {POSE_KINDS!r}, got {kind!r}.")
    out = np.array(matrix, dtype=np.float64)
    if convention == "opencv":
        return out
    if kind == "cam_from_world":
        out[:3] = convert_points(out[:3].T, convention, "opencv").T
    else:
        out[:3, :3] = convert_points(out[:3, :3], convention, "opencv")
    return out


def readonly(arr: np.ndarray | None) -> np.ndarray | None:
    """Mark ``arr`` read-only (in place) and return it; None passes through."""
    if arr is not None:
        arr.flags.writeable = False
    return arr


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of a PNG (header only) or TIFF/other image; None if unreadable."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(24)
        if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
            width, height = struct.unpack(">II", head[16:24])
            return int(width), int(height)
        if path.suffix.lower() in (".tif", ".tiff"):
            import tifffile

            with tifffile.TiffFile(path) as tif:
                shape = tif.pages[0].shape
            return int(shape[1]), int(shape[0])
        from PIL import Image

        with Image.open(path) as img:
            return int(img.size[0]), int(img.size[1])
    except Exception:  # any unreadable image: the caller falls back to other sources
        return None


_POWERS = 10.0 ** np.arange(7)
_PY_POWERS = tuple(float(p) for p in _POWERS)


def decimals_of(values: np.ndarray, *, max_decimals: int = 6) -> int | None:
    """Smallest number of decimals (0 to ``max_decimals``) all ``values`` are rounded to.

    None when the values are not rounded (or there are no finite values).

    Examples
    --------
    >>> decimals_of(np.array([0.4293, 0.5, 1.0]))
    4
    >>> decimals_of(np.array([0.1234567891])) is None
    True
    """
    flat = np.asarray(values, dtype=np.float64).ravel()
    v = float(flat[0]) if flat.size else math.nan
    if math.isfinite(v):  # quick rejection: the first value is not rounded
        if not any(abs(v * p - round(v * p)) <= 1e-6 for p in _PY_POWERS[: max_decimals + 1]):
            return None
    if not np.isfinite(flat).all():
        flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return None
    scaled = flat[None, :] * _POWERS[: max_decimals + 1, None]
    ok = (np.abs(scaled - np.rint(scaled)) <= 1e-6).all(axis=1)
    return int(np.argmax(ok)) if ok.any() else None


def read_obj_vertices(path: Path) -> np.ndarray:
    """Return the ``v x y z`` vertices of a Wavefront OBJ file as float64 (N, 3)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"{path}: cannot read the file ({exc.strerror or exc}).") from None
    lines = [line[2:] for line in data.splitlines() if line[:2] == b"v "]
    if not lines:
        raise FormatError(f"{path}: no 'v x y z' vertex lines found; is this a Wavefront OBJ file?")
    try:
        values = np.array(b" ".join(lines).split(), dtype=np.float64)
    except ValueError:
        raise FormatError(f"{path}: vertex lines hold non-numeric values.") from None
    if values.size != 3 * len(lines):
        raise FormatError(
            f"{path}: expected 3 coordinates per vertex line, got {values.size} numbers on "
            f"{len(lines)} lines."
        )
    verts = values.reshape(-1, 3)
    if not np.all(np.isfinite(verts)):
        raise FormatError(f"{path}: vertices hold non-finite values.")
    return verts

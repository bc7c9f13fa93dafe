"""Point clouds to binary PLY files.

The layout is the one trimesh writes for point clouds (``float x, y, z``;
``uchar red, green, blue, alpha``) plus ``float nx, ny, nz`` for normals, which
trimesh's point-cloud exporter cannot store. The file is written from a numpy
structured array, so there is one code path whatever the optional attributes.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from camgeom._colors import colors_to_uint8
from camgeom._validation import check_array
from camgeom.errors import InvalidValueError, ShapeError
from camgeom.io.atomic import atomic_output, refuse_existing

__all__ = ["write_ply"]

_PLY_TYPES = {np.dtype("<f4"): "float", np.dtype("u1"): "uchar"}


def _colors_u8(colors: Any, n: int) -> np.ndarray:
    """RGB(A) colours as uint8 (N, 3|4): uint8 kept, floats in [0, 1] scaled and rounded."""
    arr = np.asarray(colors)
    if arr.ndim != 2 or arr.shape[0] != n or arr.shape[1] not in (3, 4):
        raise ShapeError(
            f"Expected `colors` to have shape ({n}, 3) or ({n}, 4) (one RGB or RGBA per point), "
            f"got {arr.shape}."
        )
    return colors_to_uint8(arr)


def _float32_rows(value: Any, name: str) -> np.ndarray:
    """``value`` as float32 rows (N, 3), finite after the conversion; float32 input is not copied.

    Raises :class:`InvalidValueError` for NaN/inf and for finite values beyond the
    float32 range (they would be stored as inf).
    """
    with np.errstate(over="ignore"):  # beyond float32: inf, refused below
        arr = check_array(value, name, (3,), dtype=np.float32, finite=False)
    if arr.ndim != 2:
        raise ShapeError(f"Expected `{name}` to have shape (N, 3), got {arr.shape}.")
    if not np.isfinite(arr).all():
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise InvalidValueError(
            f"Expected `{name}` to be finite and within the float32 range (|x| < 3.4e38), "
            f"got {bad} NaN/inf or out-of-range value(s) of {arr.size}."
        )
    return arr


def write_ply(
    path: str | os.PathLike[str],
    points: Any,
    *,
    colors: Any = None,
    normals: Any = None,
    overwrite: bool = False,
    atomic: bool = True,
) -> Path:
    """Write a point cloud as a binary little-endian PLY file, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Output ``.ply`` file; its folder must exist.
    points : array_like, shape (N, 3)
        Finite coordinates within the float32 range; stored as float32 (``x``,
        ``y``, ``z``; float32 input is written without a copy). Filter
        background and invalid pixels (NaN) out before writing.
    colors : array_like, shape (N, 3) or (N, 4), optional, keyword-only
        RGB or RGBA per point: uint8, integers in 0..255, or floats in [0, 1]
        (scaled by 255 and rounded). Stored as ``uchar red, green, blue`` and
        ``alpha`` (255 when only RGB is given).
    normals : array_like, shape (N, 3), optional, keyword-only
        Finite normals within the float32 range, stored as float32 ``nx``, ``ny``, ``nz`` (not
        re-normalised).
    overwrite : bool, keyword-only
        Replace an existing file (otherwise :class:`~camgeom.errors.OutputExistsError`).
    atomic : bool, keyword-only
        Write to a temporary name and rename it onto ``path`` (default). False
        writes ``path`` directly: for a path that is itself a temporary name
        (the dataset jobs' staged outputs), where a second rename only costs.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ShapeError
        Wrong shapes, or counts that differ between points, colours and normals.
    InvalidValueError
        NaN/inf in points or normals, or values beyond the float32 range; colours
        out of range.
    OutputExistsError
        ``path`` exists and ``overwrite`` is false.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "cloud.ply"
    >>> pts = np.array([[0.0, 0.0, 1.0], [0.1, 0.0, 1.0]])
    >>> _ = write_ply(path, pts, colors=[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    >>> print(path.read_bytes().split(b"end_header")[0].decode())
    ply
    format binary_little_endian 1.0
    element vertex 2
    property float x
    property float y
    property float z
    property uchar red
    property uchar green
    property uchar blue
    property uchar alpha
    <BLANKLINE>
    """
    pts = _float32_rows(points, "points")
    n = pts.shape[0]
    fields: list[tuple[str, np.dtype]] = [(k, np.dtype("<f4")) for k in ("x", "y", "z")]
    nrm = None
    if normals is not None:
        nrm = _float32_rows(normals, "normals")
        if nrm.shape != (n, 3):
            raise ShapeError(
                f"Expected `normals` to have shape ({n}, 3) (one per point), got {nrm.shape}."
            )
        fields += [(k, np.dtype("<f4")) for k in ("nx", "ny", "nz")]
    rgba = None
    if colors is not None:
        rgb = _colors_u8(colors, n)
        rgba = np.full((n, 4), 255, dtype=np.uint8)
        rgba[:, : rgb.shape[1]] = rgb
        fields += [(k, np.dtype("u1")) for k in ("red", "green", "blue", "alpha")]
    if nrm is None and rgba is None:
        body = np.ascontiguousarray(pts, dtype="<f4")  # already the vertex layout
    else:
        body = np.empty(n, dtype=np.dtype(fields))
        for i, k in enumerate(("x", "y", "z")):
            body[k] = pts[:, i]
            if nrm is not None:
                body["n" + k] = nrm[:, i]
        if rgba is not None:
            for i, k in enumerate(("red", "green", "blue", "alpha")):
                body[k] = rgba[:, i]
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        f"element vertex {n}\n"
        + "".join(f"property {_PLY_TYPES[dt]} {name}\n" for name, dt in fields)
        + "end_header\n"
    )
    path = Path(path)
    if atomic:
        target: AbstractContextManager[Path] = atomic_output(path, overwrite=overwrite)
    else:
        refuse_existing(path, overwrite=overwrite)
        target = nullcontext(path)
    with target as dest, open(dest, "wb") as fh:
        fh.write(header.encode("ascii"))
        fh.write(body.data)
    return path

"""COLMAP sparse models written as text or binary files: :func:`model_bytes`, :func:`write_model`.

The counterpart of :mod:`camgeom.export.colmap_read` (all names here are also
reachable from :mod:`camgeom.export.colmap`). The writers work on whole
columns: every number of a file is formatted in one pass and the lines are
assembled from those tokens, so a model of a million points is written at
about the speed of its bytes.

Numbers are written in Python's shortest round-trip form (``repr``), so a
text model holds the same doubles as a binary one.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import orjson

from camgeom.errors import InvalidValueError
from camgeom.export.colmap import (
    CAMERA_MODELS,
    ColmapCamera,
    ColmapImage,
    ColmapModel,
    ColmapPoints,
)

__all__ = [
    "camera_text",
    "float_tokens",
    "images_text",
    "int_tokens",
    "model_bytes",
    "points_text",
    "write_model",
]

_NUMPY = orjson.OPT_SERIALIZE_NUMPY
# orjson writes a float as ``repr`` does for 0 and 1e-4 <= |x| < 1e16 (the shortest
# round-trip digits, same notation); outside that range repr switches to exponent form.
_FIXED_LOW, _FIXED_HIGH = 1e-4, 1e16


def float_tokens(values: npt.ArrayLike) -> list[str]:
    """``repr`` of every number of ``values`` (flattened, as float64), in order.

    Parameters
    ----------
    values : array_like
        Any shape; converted to float64.

    Returns
    -------
    list of str
        ``[repr(float(v)) for v in values.ravel()]``, computed in one pass.

    Examples
    --------
    >>> float_tokens([[0.1, 1e-05], [2.0, float("nan")]])
    ['0.1', '1e-05', '2.0', 'nan']
    """
    flat = np.ascontiguousarray(values, dtype=np.float64).ravel()
    if not flat.size:
        return []
    tokens = orjson.dumps(flat, option=_NUMPY).decode("ascii")[1:-1].split(",")
    mag = np.abs(flat)
    with np.errstate(invalid="ignore"):
        other = ~((mag >= _FIXED_LOW) & (mag < _FIXED_HIGH)) & (flat != 0.0)
    for i in np.flatnonzero(other).tolist():  # exponent form, nan and inf: repr's own text
        tokens[i] = repr(float(flat[i]))
    return tokens


def int_tokens(values: npt.ArrayLike) -> list[str]:
    """``str`` of every integer of ``values`` (flattened, as int64), in order.

    Examples
    --------
    >>> int_tokens(np.array([[1, -2], [30, 4]]))
    ['1', '-2', '30', '4']
    """
    flat = np.ascontiguousarray(values, dtype=np.int64).ravel()
    if not flat.size:
        return []
    return orjson.dumps(flat, option=_NUMPY).decode("ascii")[1:-1].split(",")


def _objects(tokens: list[str]) -> np.ndarray:
    out = np.empty(len(tokens), object)
    out[:] = tokens
    return out


# ----------------------------------------------------------------------------- text


def camera_text(cameras: Sequence[ColmapCamera]) -> str:
    """``cameras.txt`` content."""
    lines = [
        "# Camera list with one line of data per camera:",
        "#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]",
        f"# Number of cameras: {len(cameras)}",
    ]
    params = float_tokens(np.array([p for c in cameras for p in c.params], np.float64))
    a = 0
    for c in cameras:
        b = a + len(c.params)
        lines.append(f"{c.camera_id} {c.model} {c.width} {c.height} {' '.join(params[a:b])}")
        a = b
    return "\n".join(lines) + "\n"


def _check_names(images: Sequence[ColmapImage]) -> None:
    if not any(map(str.isspace, "".join(im.name for im in images))):
        return
    for im in images:
        if any(c.isspace() for c in im.name):
            raise InvalidValueError(
                f"COLMAP text models cannot hold image names with spaces, got {im.name!r}; "
                "write a binary model."
            )


def images_text(images: Sequence[ColmapImage]) -> str:
    """``images.txt`` content."""
    counts = [len(im.point3D_ids) for im in images]
    n_obs = sum(counts)
    mean = n_obs / len(images) if images else 0.0
    head = (
        "# Image list with two lines of data per image:\n"
        "#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME\n"
        "#   POINTS2D[] as (X, Y, POINT3D_ID)\n"
        f"# Number of images: {len(images)}, mean observations per image: {mean!r}\n"
    )
    if not images:
        return head
    _check_names(images)
    poses = float_tokens(np.array([(*im.qvec, *im.tvec) for im in images], np.float64))
    obs: list[str] = [""] * (3 * n_obs)
    if n_obs:
        xy = float_tokens(np.concatenate([np.reshape(im.xys, (-1, 2)) for im in images]))
        obs[0::3] = xy[0::2]
        obs[1::3] = xy[1::2]
        obs[2::3] = int_tokens(np.concatenate([np.ravel(im.point3D_ids) for im in images]))
    parts = [head]
    a = 0
    for i, im in enumerate(images):
        b = a + 3 * counts[i]
        pose = " ".join(poses[7 * i : 7 * i + 7])
        parts.append(f"{im.image_id} {pose} {im.camera_id} {im.name}\n{' '.join(obs[a:b])}\n")
        a = b
    return "".join(parts)


def _line_format(track_length: int) -> str:
    return "%s %s %s %s %s %s %s %s" + " %s %s" * track_length + "\n"


def points_text(points: ColmapPoints) -> str:
    """``points3D.txt`` content."""
    n = len(points)
    mean = len(points.track_image) / n if n else 0.0
    head = (
        "# 3D point list with one line of data per point:\n"
        "#   POINT3D_ID, X, Y, Z, R, G, B, ERROR, TRACK[] as (IMAGE_ID, POINT2D_IDX)\n"
        f"# Number of points: {n}, mean track length: {mean!r}\n"
    )
    if not n:
        return head
    lengths = np.diff(points.track_offsets)
    xyz = float_tokens(points.xyz)
    rgb = int_tokens(points.rgb)
    columns = [int_tokens(points.ids), xyz[0::3], xyz[1::3], xyz[2::3]]
    columns += [rgb[0::3], rgb[1::3], rgb[2::3], float_tokens(points.error)]
    track_image = int_tokens(points.track_image)
    track_idx = int_tokens(points.track_idx)
    first = int(lengths[0])
    if (lengths == first).all():  # every track of one length (single views: 1): list slices
        width = 8 + 2 * first
        tokens: list[str] = [""] * (width * n)
        for k, col in enumerate(columns):
            tokens[k::width] = col
        for r in range(first):
            tokens[8 + 2 * r :: width] = track_image[r::first]
            tokens[9 + 2 * r :: width] = track_idx[r::first]
        return head + (_line_format(first) * n) % tuple(tokens)
    starts = np.concatenate([[0], np.cumsum(8 + 2 * lengths)])
    line = starts[:-1]
    grid = np.empty(int(starts[-1]), object)
    for k, col in enumerate(columns):
        grid[line + k] = _objects(col)
    owner = np.repeat(np.arange(n), lengths)
    rank = np.arange(len(owner)) - points.track_offsets[:-1][owner]
    pos = line[owner] + 8 + 2 * rank
    grid[pos] = _objects(track_image)
    grid[pos + 1] = _objects(track_idx)
    formats = np.array([_line_format(k) for k in range(int(lengths.max()) + 1)], object)
    return head + "".join(formats[lengths].tolist()) % tuple(grid.tolist())


# ----------------------------------------------------------------------------- binary


def _cameras_bin(cameras: Sequence[ColmapCamera]) -> bytes:
    parts = [struct.pack("<Q", len(cameras))]
    for c in cameras:
        mid = CAMERA_MODELS[c.model][0]
        parts.append(struct.pack("<iiQQ", c.camera_id, mid, c.width, c.height))
        parts.append(np.asarray(c.params, "<f8").tobytes())
    return b"".join(parts)


_IMAGE_HEAD = np.dtype([("id", "<u4"), ("pose", "<f8", 7), ("camera", "<u4")])
_OBSERVATION = np.dtype([("xy", "<f8", 2), ("id", "<i8")])


def _images_bin(images: Sequence[ColmapImage]) -> bytes:
    n = len(images)
    heads = np.zeros(n, _IMAGE_HEAD)
    heads["id"] = [im.image_id for im in images]
    heads["pose"] = np.array([(*im.qvec, *im.tvec) for im in images], np.float64).reshape(n, 7)
    heads["camera"] = [im.camera_id for im in images]
    counts = [len(im.point3D_ids) for im in images]
    obs = np.zeros(sum(counts), _OBSERVATION)
    if len(obs):
        obs["xy"] = np.concatenate([np.reshape(im.xys, (-1, 2)) for im in images])
        obs["id"] = np.concatenate([np.ravel(im.point3D_ids) for im in images])
    head_bytes = heads.tobytes()
    obs_bytes = obs.tobytes()
    size = _IMAGE_HEAD.itemsize
    parts = [struct.pack("<Q", n)]
    a = 0
    for i, im in enumerate(images):
        b = a + _OBSERVATION.itemsize * counts[i]
        parts.append(head_bytes[size * i : size * (i + 1)])
        parts.append(im.name.encode("utf-8") + b"\0" + struct.pack("<Q", counts[i]))
        parts.append(obs_bytes[a:b])
        a = b
    return b"".join(parts)


_POINT_FIELDS = [("id", "<u8"), ("xyz", "<f8", 3), ("rgb", "u1", 3), ("error", "<f8"), ("n", "<u8")]
_POINT_HEAD = np.dtype(_POINT_FIELDS)


def _points_bin(points: ColmapPoints) -> bytes:
    n = len(points)
    lengths = np.diff(points.track_offsets)
    if n and lengths[0] > 0 and (lengths == lengths[0]).all():  # one record layout
        k = int(lengths[0])
        rec = np.zeros(n, np.dtype([*_POINT_FIELDS, ("track", "<u4", (k, 2))]))
        rec["id"] = points.ids
        rec["xyz"] = points.xyz
        rec["rgb"] = points.rgb
        rec["error"] = points.error
        rec["n"] = k
        rec["track"][..., 0] = points.track_image.reshape(n, k)
        rec["track"][..., 1] = points.track_idx.reshape(n, k)
        return struct.pack("<Q", n) + rec.tobytes()
    head = np.zeros(n, _POINT_HEAD)
    head["id"] = points.ids
    head["xyz"] = points.xyz
    head["rgb"] = points.rgb
    head["error"] = points.error
    head["n"] = lengths
    size = _POINT_HEAD.itemsize
    starts = size * np.arange(n, dtype=np.int64) + 8 * points.track_offsets[:-1]
    buf = np.zeros(8 + size * n + 8 * len(points.track_image), np.uint8)
    buf[:8] = np.frombuffer(struct.pack("<Q", n), np.uint8)
    body = buf[8:]
    body[starts[:, None] + np.arange(size)] = head.view(np.uint8).reshape(n, size)
    track = np.empty((len(points.track_image), 2), "<u4")
    track[:, 0] = points.track_image
    track[:, 1] = points.track_idx
    owner = np.repeat(np.arange(n), lengths)
    rank = np.arange(len(owner)) - points.track_offsets[:-1][owner]
    pos = starts[owner] + size + 8 * rank
    body[pos[:, None] + np.arange(8)] = track.view(np.uint8).reshape(-1, 8)
    return buf.tobytes()


def model_bytes(model: ColmapModel, *, binary: bool = False) -> dict[str, bytes]:
    """File name -> content of a model's three files.

    Parameters
    ----------
    model : ColmapModel
    binary : bool, keyword-only
        ``.bin`` files instead of ``.txt``.

    Examples
    --------
    >>> cam = ColmapCamera(1, "PINHOLE", 64, 48, (50.0, 50.0, 32.0, 24.0))
    >>> files = model_bytes(ColmapModel((cam,), ()))
    >>> sorted(files), files["cameras.txt"].decode().splitlines()[-1]
    (['cameras.txt', 'images.txt', 'points3D.txt'], '1 PINHOLE 64 48 50.0 50.0 32.0 24.0')
    """
    if binary:
        return {
            "cameras.bin": _cameras_bin(model.cameras),
            "images.bin": _images_bin(model.images),
            "points3D.bin": _points_bin(model.points),
        }
    return {
        "cameras.txt": camera_text(model.cameras).encode("utf-8"),
        "images.txt": images_text(model.images).encode("utf-8"),
        "points3D.txt": points_text(model.points).encode("utf-8"),
    }


def write_model(
    model: ColmapModel, folder: str | os.PathLike[str], *, binary: bool = False
) -> list[Path]:
    """Write a model's three files into ``folder`` (created); return their paths."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in model_bytes(model, binary=binary).items():
        (out / name).write_bytes(data)
        paths.append(out / name)
    return paths

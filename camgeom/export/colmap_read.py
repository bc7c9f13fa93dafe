"""COLMAP sparse models read from text or binary files: :func:`read_model`.

The counterpart of :func:`camgeom.export.colmap.write_model` (also reachable as
:func:`camgeom.export.colmap.read_model`): the files are read in COLMAP's own
layout into the records of :mod:`camgeom.export.colmap`, unchanged (pixel
centres at +0.5, quaternions ``(qw, qx, qy, qz)`` as stored).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from camgeom.errors import FormatError
from camgeom.export.colmap import (
    CAMERA_MODELS,
    ColmapCamera,
    ColmapImage,
    ColmapModel,
    ColmapPoints,
)

__all__ = ["read_model"]

_MODEL_BY_ID = {mid: name for name, (mid, _) in CAMERA_MODELS.items()}


def _data_lines(path: Path) -> list[str]:
    return [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]


def _points_table(
    ids: Sequence[int],
    xyz: Sequence[Sequence[float]],
    rgb: Sequence[Sequence[int]],
    err: Sequence[float],
    lengths: Sequence[int],
    pairs: np.ndarray,
) -> ColmapPoints:
    """The :class:`ColmapPoints` of parsed point rows; ``pairs`` (T, 2) int64: (image id, row)."""
    return ColmapPoints(
        np.array(ids, np.int64),
        np.array(xyz, float).reshape(-1, 3),
        np.array(rgb, np.uint8).reshape(-1, 3),
        np.array(err, float),
        np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(np.int64),
        pairs[:, 0].copy(),
        pairs[:, 1].copy(),
    )


def _read_text(folder: Path) -> ColmapModel:
    cameras = []
    for ln in _data_lines(folder / "cameras.txt"):
        if not ln.strip():
            continue
        f = ln.split()
        cameras.append(
            ColmapCamera(int(f[0]), f[1], int(f[2]), int(f[3]), tuple(float(x) for x in f[4:]))
        )
    images = []
    lines = _data_lines(folder / "images.txt")
    for i in range(0, len(lines) - 1, 2):
        head = lines[i].split(maxsplit=9)
        if not head:
            continue
        obs = np.array(lines[i + 1].split(), dtype=float).reshape(-1, 3)
        images.append(
            ColmapImage(
                int(head[0]),
                int(head[8]),
                (float(head[1]), float(head[2]), float(head[3]), float(head[4])),
                (float(head[5]), float(head[6]), float(head[7])),
                head[9],
                obs[:, :2].copy(),
                obs[:, 2].astype(np.int64),
            )
        )
    ids, xyz, rgb, err, lengths, flat = [], [], [], [], [], []
    for ln in _data_lines(folder / "points3D.txt"):
        f = ln.split()
        if not f:
            continue
        ids.append(int(f[0]))
        xyz.append((float(f[1]), float(f[2]), float(f[3])))
        rgb.append((int(f[4]), int(f[5]), int(f[6])))
        err.append(float(f[7]))
        lengths.append((len(f) - 8) // 2)
        flat.extend(f[8:])
    pairs = np.array(flat, np.int64).reshape(-1, 2)
    points = _points_table(ids, xyz, rgb, err, lengths, pairs)
    return ColmapModel(tuple(cameras), tuple(images), points)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def array(self, dtype: str | np.dtype, count: int) -> np.ndarray:
        dt = np.dtype(dtype)
        arr = np.frombuffer(self.data, dt, count, self.pos)
        self.pos += dt.itemsize * count
        return arr


def _read_binary(folder: Path) -> ColmapModel:
    r = _Reader((folder / "cameras.bin").read_bytes())
    cameras = []
    for _ in range(r.take("<Q")[0]):
        cid, mid, w, h = r.take("<iiQQ")
        if mid not in _MODEL_BY_ID:
            raise FormatError(f"{folder / 'cameras.bin'}: camera model id {mid} is not supported.")
        model = _MODEL_BY_ID[mid]
        params = r.array("<f8", len(CAMERA_MODELS[model][1]))
        cameras.append(ColmapCamera(cid, model, w, h, tuple(float(x) for x in params)))
    r = _Reader((folder / "images.bin").read_bytes())
    obs_dt = np.dtype([("x", "<f8"), ("y", "<f8"), ("id", "<i8")])
    images = []
    for _ in range(r.take("<Q")[0]):
        iid, qw, qx, qy, qz, tx, ty, tz, cid = r.take("<I7dI")
        end = r.data.index(b"\0", r.pos)
        name = r.data[r.pos : end].decode("utf-8")
        r.pos = end + 1
        rec = r.array(obs_dt, r.take("<Q")[0])
        xys = np.stack([rec["x"], rec["y"]], axis=1) if len(rec) else np.zeros((0, 2))
        images.append(
            ColmapImage(iid, cid, (qw, qx, qy, qz), (tx, ty, tz), name, xys, rec["id"].copy())
        )
    r = _Reader((folder / "points3D.bin").read_bytes())
    ids, xyz, rgb, err, lengths, tracks = [], [], [], [], [], []
    for _ in range(r.take("<Q")[0]):
        pid, x, y, z, cr, cg, cb, e = r.take("<Q3d3Bd")
        count = r.take("<Q")[0]
        ids.append(pid)
        xyz.append((x, y, z))
        rgb.append((cr, cg, cb))
        err.append(e)
        lengths.append(count)
        tracks.append(r.array("<u4", 2 * count))
    pairs = (np.concatenate(tracks) if tracks else np.zeros(0, "<u4")).astype(np.int64)
    pairs = pairs.reshape(-1, 2)
    points = _points_table(ids, xyz, rgb, err, lengths, pairs)
    return ColmapModel(tuple(cameras), tuple(images), points)


def read_model(folder: str | os.PathLike[str]) -> ColmapModel:
    """Read a COLMAP sparse model (text or binary) from ``folder``.

    Raises
    ------
    FormatError
        No ``cameras.txt`` / ``cameras.bin`` in the folder, or a file is malformed.
    """
    path = Path(folder)
    try:
        if (path / "cameras.bin").is_file():
            return _read_binary(path)
        if (path / "cameras.txt").is_file():
            return _read_text(path)
    except (OSError, ValueError, IndexError, struct.error) as exc:
        if isinstance(exc, FormatError):  # names its file already
            raise
        raise FormatError(f"{path}: not a readable COLMAP model ({exc}).") from None
    raise FormatError(f"{path}: no COLMAP model (cameras.txt or cameras.bin) in this folder.")

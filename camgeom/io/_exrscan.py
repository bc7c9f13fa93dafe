"""A direct decoder for the EXR files renderers write most: scanline, ZIP, ZIPS or none.

Depth maps, normal maps and render passes of the vendors are single-part
scanline files compressed with ZIP (16 lines a block) or ZIPS (one line a
block). For those, :func:`decode_scanline` reads the file in one call, inflates
its blocks with libdeflate (through imagecodecs) a batch at a time, undoes
OpenEXR's byte filter with a numba kernel (:mod:`camgeom._kernels.exrzip`) and
copies the rows out while the batch is in the cache; large files are split
over several threads. It gives the same channels, shapes, dtypes and bits as
the OpenEXR bindings, and takes less time (``benchmarks/bench_read_depth.py``:
``read_depth`` of a 2048x2048 R=G=B depth map on one thread 61-68 ms, masking
and checks included, against 74 ms for OpenEXR's bare decode).

It returns None for everything else (tiled, multi-part or deep files, other
compressions, sub-sampled channels, a big-endian machine) *and* for anything
it finds inconsistent (a header OpenEXR would refuse, channels stored out of
order, a truncated file, an offset or a block size out of range, a block that
runs into the next one or inflates to the wrong size): the caller then decodes
with OpenEXR, which decodes what it can and reports what it cannot, so a
damaged file gets the same error as before. The layout followed is the
OpenEXR file-format specification ("OpenEXR File Layout"); the header rules
are those OpenEXR checks before it reads pixels.
"""

from __future__ import annotations

import itertools
import os
import struct
import sys
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["decode_scanline"]

_MAGIC = 20000630
_LONG_NAMES = 0x400
"""The one version flag a single-part scanline file may have (the others mark tiled,
deep and multi-part files; unknown flags make OpenEXR refuse the file)."""
_LARGE = 2**31 // 2
"""Window corners must lie strictly within +-this (OpenEXR's own limit)."""

_NONE, _ZIPS, _ZIP = 0, 2, 3
_LINES = {_NONE: 1, _ZIPS: 1, _ZIP: 16}
_DTYPES: dict[int, np.dtype[Any]] = {0: np.dtype("<u4"), 1: np.dtype("<f2"), 2: np.dtype("<f4")}
_MAX_RATIO = 1100
"""More than deflate can expand (about 1032:1): a block claiming to inflate further
is damaged, which bounds what a header can make us allocate."""

_LITTLE = sys.byteorder == "little"

try:
    import imagecodecs

    _inflate_into = imagecodecs.deflate_decode if imagecodecs.DEFLATE.available else None
except (ImportError, AttributeError):  # pragma: no cover - imagecodecs is a dependency
    _inflate_into = None


_SCRATCH = threading.local()
_BATCH_BYTES = 256 * 1024
"""Blocks are inflated this many bytes at a time, then unfiltered and copied to the
channels while they are still in the CPU's cache."""


def _scratch(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Two uint8 buffers of ``size`` bytes, reused by the calling thread's next call.

    Reusing them spares the page faults of fresh memory on every file (nothing
    returned aliases them). They hold at most one block or :data:`_BATCH_BYTES`.
    """
    kept = getattr(_SCRATCH, "buffers", None)
    if kept is not None and kept[0].size >= size:
        return kept[0][:size], kept[1][:size]
    buffers = (np.empty(size, np.uint8), np.empty(size, np.uint8))
    _SCRATCH.buffers = buffers
    return buffers


def _inflate(block: bytes | memoryview, out: np.ndarray) -> bool:
    """Inflate the zlib stream ``block`` into all of ``out``; False unless it fits exactly."""
    try:
        if _inflate_into is not None:
            got = _inflate_into(block, out=out)  # type: ignore[arg-type]
            return len(got) == out.size
        raw = zlib.decompress(block)  # pragma: no cover - without libdeflate
    except Exception:  # any decoder failure means "let OpenEXR decide"
        return False
    if len(raw) != out.size:  # pragma: no cover - without libdeflate
        return False
    out[:] = np.frombuffer(raw, np.uint8)  # pragma: no cover - without libdeflate
    return True


_REQUIRED = {
    b"channels": (b"chlist", None),
    b"compression": (b"compression", 1),
    b"dataWindow": (b"box2i", 16),
    b"displayWindow": (b"box2i", 16),
    b"lineOrder": (b"lineOrder", 1),
    b"pixelAspectRatio": (b"float", 4),
    b"screenWindowCenter": (b"v2f", 8),
    b"screenWindowWidth": (b"float", 4),
}
"""The attributes every EXR header holds: name -> (type name, size or None)."""


def _header(data: bytes) -> tuple[dict[bytes, bytes], int] | None:
    """The attributes (name -> raw value) of a single-part header, and where it ends.

    None unless every required attribute (:data:`_REQUIRED`) is there with its
    type and size.
    """
    pos = 8
    attrs: dict[bytes, bytes] = {}
    types: dict[bytes, bytes] = {}
    while True:
        end = data.find(b"\0", pos)
        if end < 0:
            return None
        if end == pos:
            for name, (kind, size) in _REQUIRED.items():
                if types.get(name) != kind or (size is not None and len(attrs[name]) != size):
                    return None
            return attrs, pos + 1
        name = data[pos:end]
        type_end = data.find(b"\0", end + 1)
        if type_end < 0 or type_end + 5 > len(data):
            return None
        (size,) = struct.unpack_from("<i", data, type_end + 1)
        start = type_end + 5
        if size < 0 or start + size > len(data):
            return None
        kind = data[end + 1 : type_end]
        value = data[start : start + size]
        try:  # the bindings decode names, type names and string values as UTF-8
            name.decode("utf-8")
            kind.decode("utf-8")
            if kind == b"string":
                value.decode("utf-8")
        except UnicodeDecodeError:
            return None
        attrs[name] = value
        types[name] = kind
        pos = start + size


def _channels(blob: bytes) -> list[tuple[str, np.dtype[Any]]] | None:
    """(name, dtype) of each channel in stored order; None for sub-sampled or odd lists."""
    out: list[tuple[str, np.dtype[Any]]] = []
    raw: list[bytes] = []  # the names as stored
    pos = 0
    while True:
        if pos >= len(blob):
            return None
        if blob[pos] == 0:
            break
        end = blob.find(b"\0", pos)
        if end < 0 or end + 17 > len(blob):
            return None
        ptype, linear, xs, ys = struct.unpack_from("<iB3xii", blob, end + 1)
        if ptype not in _DTYPES or linear > 1 or xs != 1 or ys != 1:
            return None
        raw.append(blob[pos:end])
        try:
            out.append((raw[-1].decode("utf-8"), _DTYPES[ptype]))
        except UnicodeDecodeError:
            return None  # OpenEXR's bindings report it
        pos = end + 17
    # OpenEXR keeps channels sorted by name and reads the pixels in that order:
    # a list stored out of order (a damaged name) is left to it.
    return out if out and all(a < b for a, b in itertools.pairwise(raw)) else None


def _sane(attrs: dict[bytes, bytes]) -> bool:
    """The header checks OpenEXR makes before it reads pixels (it refuses the file otherwise)."""
    for key in (b"dataWindow", b"displayWindow"):
        x0, y0, x1, y1 = struct.unpack("<4i", attrs[key])
        if x0 > x1 or y0 > y1 or min(x0, y0) <= -_LARGE or max(x1, y1) >= _LARGE:
            return False
    (ratio,) = struct.unpack("<f", attrs[b"pixelAspectRatio"])
    if not (1e-6 <= ratio <= 1e6):  # also refuses NaN
        return False
    (width,) = struct.unpack("<f", attrs[b"screenWindowWidth"])
    return not width < 0.0  # NaN passes, as in OpenEXR


_PEEK = 64 * 1024
_COMPRESSION_ATTR = b"compression\0compression\0\x01\0\0\0"


def _read_if_decodable(path: Path) -> bytes | None:
    """The file's bytes; None as soon as its first bytes show it is not for this decoder.

    A tiled, multi-part or deep file (its version flags), or one whose header
    names another compression, is left to OpenEXR without being read in full
    here first. The compression is looked for as bytes: a look that misses, or
    finds a look-alike, only defers the decision to :func:`_header`.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read(_PEEK)
            if len(data) < 8:
                return None
            magic, version = struct.unpack_from("<ii", data, 0)
            if magic != _MAGIC or version & ~_LONG_NAMES != 2:  # no flag but long names
                return None
            at = data.find(_COMPRESSION_ATTR)
            if 0 <= at < len(data) - len(_COMPRESSION_ATTR):
                if data[at + len(_COMPRESSION_ATTR)] not in _LINES:
                    return None
            if len(data) == _PEEK:  # more to read
                fh.seek(0)
                data = fh.read()
    except OSError:
        return None
    return data


def decode_scanline(path: Path, *, threads: int = 1) -> dict[str, np.ndarray] | None:
    """Every channel of a single-part scanline ZIP/ZIPS/uncompressed EXR file, or None.

    Parameters
    ----------
    path : Path
    threads : int, keyword-only
        Threads that decode the file's blocks (the calling thread and
        ``threads - 1`` of a pool kept for the process); files of few blocks
        decode in the calling thread.

    Returns
    -------
    dict of str to ndarray, or None
        Channel name to its pixels, shape (H, W) of the data window, dtype
        float16, float32 or uint32 as stored (little-endian), each array
        C-contiguous and writeable. None when the file is not of that kind or
        looks damaged: decode it with OpenEXR then.
    """
    if not _LITTLE:  # pragma: no cover - camgeom's CI machines are little-endian
        return None
    data = _read_if_decodable(path)
    if data is None:
        return None
    parsed = _header(data)
    if parsed is None:
        return None
    attrs, table = parsed
    comp = attrs[b"compression"][0]  # _header: every required attribute, its type and size
    if comp not in _LINES:
        return None
    if attrs.get(b"type", b"scanlineimage\0").rstrip(b"\0") != b"scanlineimage":
        return None
    channels = _channels(attrs[b"channels"])
    if channels is None:
        return None
    if not _sane(attrs):
        return None
    x0, y0, x1, y1 = struct.unpack("<4i", attrs[b"dataWindow"])
    width, height = x1 - x0 + 1, y1 - y0 + 1
    lines = _LINES[comp]
    n_blocks = -(-height // lines)
    if table + 8 * n_blocks > len(data):
        return None
    row_bytes = width * sum(dt.itemsize for _, dt in channels)
    offsets = np.frombuffer(data, "<u8", n_blocks, table)
    if int(offsets.min()) < table + 8 * n_blocks or int(offsets.max()) > len(data) - 8:
        return None

    sizes = (np.minimum(lines, height - lines * np.arange(n_blocks)) * row_bytes).tolist()
    zipped = comp != _NONE
    view = memoryview(data)
    blocks: list[tuple[memoryview, bool]] = []
    starts = offsets.tolist()
    ordered = sorted(starts)
    # Each block must end where the next one in the file starts, or before.
    limit = dict(zip(ordered, ordered[1:] + [len(data)], strict=True))
    if len(limit) != len(starts):
        return None  # two blocks at one offset
    for k, at in enumerate(starts):
        y, packed = struct.unpack_from("<ii", data, at)
        size = sizes[k]
        if y != y0 + k * lines or packed < 0 or at + 8 + packed > limit[at]:
            return None
        if packed != size and (not zipped or packed > size or size > _MAX_RATIO * packed + 64):
            return None
        blocks.append((view[at + 8 : at + 8 + packed], packed != size))
    # Every block's size is now bounded by its bytes in the file: allocating is safe.
    out = {name: np.empty((height, width), dt.newbyteorder("=")) for name, dt in channels}
    columns: list[_Column] = []
    at = 0
    for name, dt in channels:
        columns.append((out[name], at, at + width * dt.itemsize, dt))
        at += width * dt.itemsize
    parts = max(1, min(threads, len(blocks) // _MIN_BLOCKS_PER_THREAD))
    if parts == 1:
        done = _decode_blocks(blocks, sizes, 0, row_bytes, columns)
    else:
        cut = [len(blocks) * i // parts for i in range(parts + 1)]
        pool = _pool(parts)
        helpers = [
            pool.submit(
                _decode_blocks,
                blocks[cut[i] : cut[i + 1]],
                sizes[cut[i] : cut[i + 1]],
                sum(sizes[: cut[i]]) // row_bytes,
                row_bytes,
                columns,
            )
            for i in range(1, parts)
        ]
        mine = _decode_blocks(blocks[: cut[1]], sizes[: cut[1]], 0, row_bytes, columns)
        done = all([h.result() for h in helpers]) and mine
    return out if done else None


_Column = tuple[np.ndarray, int, int, "np.dtype[Any]"]
"""A channel's output array and where its row lies in a scanline (start, stop, dtype)."""

_MIN_BLOCKS_PER_THREAD = 4


def _decode_blocks(
    blocks: list[tuple[memoryview, bool]],
    sizes: list[int],
    first_row: int,
    row_bytes: int,
    columns: list[_Column],
) -> bool:
    """Inflate, unfilter and place ``blocks`` (starting at ``first_row``); False if one is bad.

    Blocks are gathered in the calling thread's scratch buffer up to
    :data:`_BATCH_BYTES`, then unfiltered and copied to the channels while in the
    cache.
    """
    from camgeom._kernels.exrzip import unfilter_blocks

    inflated, unfiltered = _scratch(min(sum(sizes), max(_BATCH_BYTES, max(sizes))))

    def place(bounds: list[int], deflated: list[bool], first_row: int) -> None:
        end = bounds[-1]
        if any(deflated):
            unfilter_blocks(inflated, unfiltered, np.array(bounds, np.int64), np.array(deflated))
            rows = unfiltered[:end].reshape(-1, row_bytes)
        else:
            rows = inflated[:end].reshape(-1, row_bytes)
        last = first_row + len(rows)
        for pixels, start, stop, dt in columns:
            pixels[first_row:last] = rows[:, start:stop].view(dt)

    bounds = [0]
    deflated: list[bool] = []
    for (block, zipped_block), size in zip(blocks, sizes, strict=True):
        pos = bounds[-1]
        if pos + size > inflated.size:  # place the blocks gathered while in the cache
            place(bounds, deflated, first_row)
            first_row += pos // row_bytes
            bounds, deflated, pos = [0], [], 0
        if zipped_block:
            if not _inflate(block, inflated[pos : pos + size]):
                return False
        else:  # stored as is
            inflated[pos : pos + size] = np.frombuffer(block, np.uint8)
        bounds.append(pos + size)
        deflated.append(zipped_block)
    place(bounds, deflated, first_row)
    return True


_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0
_POOL_LOCK = threading.Lock()


def _pool(parts: int) -> ThreadPoolExecutor:
    """The process's decode threads: ``parts - 1`` helpers (the caller decodes one part)."""
    global _POOL, _POOL_SIZE
    with _POOL_LOCK:
        if _POOL is None or _POOL_SIZE < parts - 1:
            if _POOL is not None:
                _POOL.shutdown(wait=False)
            _POOL = ThreadPoolExecutor(parts - 1, thread_name_prefix="camgeom-exr")
            _POOL_SIZE = parts - 1
        return _POOL


def _forget_pool() -> None:
    """A forked child has none of its parent's threads: it starts its own pool."""
    global _POOL, _POOL_SIZE, _POOL_LOCK
    _POOL, _POOL_SIZE, _POOL_LOCK = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)

"""OpenEXR images: read channels, read the header, write files.

Built on the OpenEXR package (the official bindings). Channels are keyed by
their full names as stored in the file (``"R"``, ``"Z"``,
``"ViewLayer.Depth.Z"``). Lookups also accept a trailing part of a name
(``"Z"``, ``"Depth.Z"``) or a layer name (``"normals"`` for ``normals.X/Y/Z``);
see :func:`read_exr`.

Multi-part files are flattened into one dictionary. A channel name that occurs
in more than one part is prefixed with its part's name (``"left.R"``,
``"right.R"``), or with ``part<i>`` when parts are unnamed.

Files that cannot be read raise :class:`~camgeom.errors.FormatError` naming the
file; a missing file raises :class:`FileNotFoundError`.

Decoding uses :func:`~camgeom.io.decode_threads` threads (every core by
default; OpenEXR alone decodes on one).
"""

from __future__ import annotations

import errno
import os
import struct
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import OpenEXR

from camgeom.errors import FormatError, InvalidValueError, MissingChannelError, ShapeError
from camgeom.io._exrscan import decode_scanline
from camgeom.io._threads import decode_threads
from camgeom.io.atomic import atomic_output

__all__ = ["COMPRESSIONS", "exr_header", "read_exr", "write_exr"]

PathLike = str | os.PathLike[str]

_EXR_MAGIC = 20000630
_PIXEL_TYPES = {0: "UINT", 1: "HALF", 2: "FLOAT"}
_MULTIPART_FLAG = 0x1000

COMPRESSIONS: dict[str, Any] = {
    ("none" if name == "NO_COMPRESSION" else name.removesuffix("_COMPRESSION").lower()): member
    for name, member in OpenEXR.Compression.__members__.items()
    if name.endswith("_COMPRESSION")
}
"""Compression names accepted by :func:`write_exr` and reported by :func:`exr_header`."""


# --------------------------------------------------------------------------- reading


def _check_exists(path: Path) -> None:
    if not path.is_file():
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "Expected an EXR file, got a folder", str(path))
        raise FileNotFoundError(errno.ENOENT, "No such EXR file", str(path))


def _damaged(path: Path, exc: BaseException | str) -> FormatError:
    return FormatError(
        f"Cannot read EXR file {path}: {exc}. The file is truncated or damaged; "
        "download or export it again."
    )


def _open_exr(path: Path, *, header_only: bool = False, threads: int | None = None) -> Any:
    """``OpenEXR.File`` of ``path`` with every failure turned into a :class:`FormatError`."""
    _check_exists(path)
    if not OpenEXR.isOpenExrFile(str(path)):
        with open(path, "rb") as fh:
            head = fh.read(4)
        raise FormatError(
            f"{path} is not an OpenEXR file: it starts with {head!r}, expected the EXR magic "
            f"number {struct.pack('<i', _EXR_MAGIC)!r}. Check the file name and its origin."
        )
    if threads is None:
        threads = 0 if header_only else _exr_threads(path)
    if threads and OpenEXR.global_thread_count() < threads:
        OpenEXR.set_global_thread_count(threads)  # the pool that runs a file's tasks
    try:
        exr = OpenEXR.File(
            str(path), separate_channels=True, header_only=header_only, num_threads=threads
        )
    except Exception as exc:  # the bindings raise RuntimeError, ValueError, IndexError ...
        raise _damaged(path, exc) from exc
    if not exr.parts:
        raise _damaged(path, "the file has no image parts")
    return exr


_THREADED_BYTES = 128 * 1024
"""Files smaller than this decode in the calling thread: below it, handing blocks
to other threads costs more than it saves. Measured on 2 cores with camgeom's
direct decoder, R=G=B float32 ZIP depth maps, one thread against two: 128x128
(67 KB file) 0.28 against 0.31 ms, 192x192 (150 KB) 0.55 against 0.43 ms,
256x256 (265 KB) 0.93 against 0.70 ms."""


def _exr_threads(path: Path) -> int:
    """Threads for one file (0: the calling thread alone).

    Small files (:data:`_THREADED_BYTES`) decode in the calling thread. OpenEXR
    runs a file's decode tasks on one process-wide pool (empty by default), which
    :func:`_open_exr` sizes to the threads asked for when it is used.
    """
    n = decode_threads()
    if n <= 1:
        return 0
    try:
        if os.stat(path).st_size < _THREADED_BYTES:
            return 0
    except OSError:
        return 0  # OpenEXR reports the problem
    return n


def _part_labels(names: Sequence[str]) -> list[str]:
    """Prefixes that tell parts apart: their names, or ``part<i>`` if unnamed or repeated."""
    unique = all(names) and len(set(names)) == len(names)
    return list(names) if unique else [f"part{i}" for i in range(len(names))]


def _flat_names(
    path: Path, part_channels: Sequence[Iterable[str]], part_names: Sequence[str]
) -> list[list[str]]:
    """Flattened (file-unique) channel names per part, in the order given."""
    per_part = [list(chans) for chans in part_channels]
    counts: dict[str, int] = {}
    for chans in per_part:
        for name in chans:
            counts[name] = counts.get(name, 0) + 1
    labels = _part_labels(part_names)
    flat = [
        [name if counts[name] == 1 else f"{labels[i]}.{name}" for name in chans]
        for i, chans in enumerate(per_part)
    ]
    seen = [n for chans in flat for n in chans]
    if len(set(seen)) != len(seen):
        raise FormatError(
            f"EXR file {path} has parts whose channel names cannot be told apart even with "
            f"part prefixes: {sorted(seen)}."
        )
    return flat


def _decode(path: Path) -> dict[str, np.ndarray]:
    """Every channel of every part as stored (float16/float32/uint32), flattened names.

    Single-part scanline files with ZIP, ZIPS or no compression are read by
    :func:`camgeom.io._exrscan.decode_scanline` (on the threads
    :func:`_exr_threads` allows); every other file, and any file it finds
    inconsistent, by OpenEXR.
    """
    threads = _exr_threads(path)
    fast = decode_scanline(path, threads=max(1, threads))
    if fast is not None:
        return fast
    exr = _open_exr(path, threads=threads)
    parts = exr.parts
    flat = _flat_names(path, [p.channels.keys() for p in parts], [p.name() for p in parts])
    out: dict[str, np.ndarray] = {}
    for part, names in zip(parts, flat, strict=True):
        for stored, name in zip(part.channels.keys(), names, strict=True):
            pixels = part.channels[stored].pixels
            if not isinstance(pixels, np.ndarray) or pixels.ndim != 2:
                raise _damaged(path, f"channel {stored!r} has no pixel data")
            out[name] = pixels
    if not out:
        raise _damaged(path, "no channel could be decoded")
    return out


def _as_output(pixels: np.ndarray) -> np.ndarray:
    """HALF and FLOAT channels as float32 (no copy when already float32), UINT as uint32."""
    if pixels.dtype == np.uint32:
        return pixels
    return pixels.astype(np.float32, copy=False)


def _available(names: Iterable[str]) -> str:
    names = list(names)
    shown = ", ".join(names[:40]) + (f", ... ({len(names)} in all)" if len(names) > 40 else "")
    return f"[{shown}]"


def _matches(query: str, names: Sequence[str], *, fold: bool) -> tuple[list[str], str, set[str]]:
    """Channels that ``query`` names, how (``"exact"``, ``"suffix"``, ``"layer"``), and layers."""

    def key(s: str) -> str:
        return s.lower() if fold else s

    exact = [n for n in names if key(n) == key(query)]
    if exact:
        return exact, "exact", set()
    q = key(query).split(".")
    n = len(q)
    suffix: list[str] = []
    layer: list[str] = []
    layers: set[str] = set()
    for name in names:
        parts = key(name).split(".")
        if len(parts) > n and parts[-n:] == q:
            suffix.append(name)
            continue
        for i in range(len(parts) - n):
            if parts[i : i + n] == q:
                layer.append(name)
                layers.add(".".join(name.split(".")[: i + n]))
                break
    if suffix:
        return suffix, "suffix", set()
    return layer, "layer", layers


def _resolve_channels(query: str, names: Sequence[str], path: PathLike) -> list[str]:
    """Full channel names that ``query`` stands for in a file holding ``names``.

    Resolution order: an exact full name; else the channels whose name ends with
    ``"." + query`` (must be one); else the channels of the layer ``query``
    (``"normals"`` -> ``normals.X``, ``normals.Y``, ``normals.Z``; must be one
    layer). Case-sensitive first, case-insensitive when that finds nothing.

    Raises
    ------
    MissingChannelError
        Nothing matches (the message lists the file's channels) or the query is
        ambiguous (the message lists the candidates).
    """
    for fold in (False, True):
        found, how, layers = _matches(query, names, fold=fold)
        if how == "suffix" and len(found) > 1:
            raise MissingChannelError(
                f"Channel {query!r} is ambiguous in {path}: it matches {_available(found)}. "
                "Pass one of these full names."
            )
        if len(layers) > 1:
            raise MissingChannelError(
                f"Layer {query!r} is ambiguous in {path}: it matches the layers "
                f"{_available(sorted(layers))}. Pass a longer layer name or a full channel name."
            )
        if found:
            return found
    raise MissingChannelError(
        f"EXR file {path} has no channel {query!r}; its channels are {_available(names)}."
    )


def read_exr(path: PathLike, channels: str | Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Read channels of an OpenEXR file (single- or multi-part) into arrays.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.exr`` file.
    channels : str or sequence of str, optional
        Channels to return; all when omitted. Each entry is a full channel name
        (``"ViewLayer.Depth.Z"``), a trailing part of one (``"Z"``,
        ``"Depth.Z"``: must match one channel), or a layer name (``"normals"``
        returns ``normals.X``, ``normals.Y`` and ``normals.Z``). An exact full
        name always wins (``"R"`` is the channel ``R``, not ``diffuse.R``).
        Matching is case-sensitive first, then case-insensitive.

    Returns
    -------
    dict of str to numpy.ndarray
        Full channel name -> array of shape (H, W) (smaller for subsampled
        channels). HALF and FLOAT channels are float32 (half is promoted
        exactly), UINT channels uint32. Requested channels come in the order
        asked, the others in file order. Values are as stored.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    FormatError
        The file is not an EXR file, or is truncated or damaged.
    MissingChannelError
        A requested channel is absent or ambiguous (the message lists the
        available channels or the candidates).

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "depth.exr"
    >>> depth = np.full((2, 3), 1.5, dtype=np.float32)
    >>> _ = write_exr(path, {"ViewLayer.Depth.Z": depth, "R": depth}, half=["R"])
    >>> sorted(read_exr(path))
    ['R', 'ViewLayer.Depth.Z']
    >>> z = read_exr(path, "Z")["ViewLayer.Depth.Z"]
    >>> z.shape, z.dtype, float(z[0, 0])
    ((2, 3), dtype('float32'), 1.5)
    """
    path = Path(path)
    raw = _decode(path)
    if channels is None:
        wanted = list(raw)
    else:
        queries = [channels] if isinstance(channels, str) else list(channels)
        wanted = []
        for query in queries:
            if not isinstance(query, str):
                raise InvalidValueError(
                    f"Expected `channels` to hold channel names (str), got {query!r}."
                )
            for name in _resolve_channels(query, list(raw), path):
                if name not in wanted:
                    wanted.append(name)
    return {name: _as_output(raw[name]) for name in wanted}


# --------------------------------------------------------------------------- header


def _read_header_bytes(path: Path) -> list[dict[str, list[tuple[str, str, int, int]]]]:
    """Channel lists (name, pixel type, x/y sampling) of every part, parsed from the header.

    The OpenEXR bindings do not report pixel types without decoding pixels, so
    the ``chlist`` attributes are read from the header bytes (layout from the
    OpenEXR file-format specification).
    """
    with open(path, "rb") as fh:
        data = fh.read(1 << 16)
        while True:
            try:
                return _parse_chlists(data)
            except (IndexError, struct.error, ValueError):
                more = fh.read(len(data))
                if not more:
                    raise _damaged(path, "the header ends before it is complete") from None
                data += more


def _parse_chlists(data: bytes) -> list[dict[str, list[tuple[str, str, int, int]]]]:
    magic, version = struct.unpack_from("<ii", data, 0)
    if magic != _EXR_MAGIC:
        raise FormatError("not an EXR file")
    multipart = bool(version & _MULTIPART_FLAG)
    pos = 8
    parts: list[dict[str, list[tuple[str, str, int, int]]]] = []
    while True:
        if multipart and data[pos] == 0:  # an empty header ends the list
            break
        attrs: dict[str, list[tuple[str, str, int, int]]] = {}
        while data[pos] != 0:
            name_end = data.index(b"\0", pos)
            type_end = data.index(b"\0", name_end + 1)
            attr = data[pos:name_end].decode("latin-1")
            kind = data[name_end + 1 : type_end]
            (size,) = struct.unpack_from("<i", data, type_end + 1)
            start = type_end + 5
            if start + size > len(data):
                raise IndexError("attribute beyond the data read")
            if kind == b"chlist":
                attrs[attr] = _parse_chlist(data[start : start + size])
            pos = start + size
        pos += 1
        parts.append(attrs)
        if not multipart:
            break
    return parts


def _parse_chlist(blob: bytes) -> list[tuple[str, str, int, int]]:
    out = []
    pos = 0
    while blob[pos] != 0:
        end = blob.index(b"\0", pos)
        name = blob[pos:end].decode("utf-8", errors="replace")
        ptype, _linear, xs, ys = struct.unpack_from("<iB3xii", blob, end + 1)
        out.append((name, _PIXEL_TYPES.get(ptype, f"UNKNOWN({ptype})"), xs, ys))
        pos = end + 1 + 16
    return out


def _plain(value: Any) -> Any:
    """Header attribute values as plain Python (tuples, floats, str)."""
    if isinstance(value, np.ndarray):
        return tuple(value.tolist())
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, OpenEXR.Compression):
        return _compression_name(value)
    if isinstance(value, OpenEXR.TileDescription):
        return {
            "x_size": value.xSize,
            "y_size": value.ySize,
            "mode": value.mode.name,
            "rounding_mode": value.roundingMode.name,
        }
    if hasattr(value, "name") and type(value).__module__ == "OpenEXR" and hasattr(value, "value"):
        return value.name  # enums such as LineOrder and Storage
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def _compression_name(value: Any) -> str:
    for name, member in COMPRESSIONS.items():
        if member == value:
            return name
    return str(value)


def exr_header(path: PathLike) -> dict[str, Any]:
    """Describe an OpenEXR file from its header, without decoding pixels.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.exr`` file.

    Returns
    -------
    dict
        ``"channels"``: full name -> pixel type (``"HALF"``, ``"FLOAT"``,
        ``"UINT"``), flattened across parts with the names :func:`read_exr`
        uses; ``"size"``: (width, height) of the first part's data window;
        ``"compression"``: the first part's compression (a name from
        :data:`COMPRESSIONS`, e.g. ``"zip"``); ``"attributes"``: the first
        part's other header attributes, as plain Python values where the
        attribute type has one (``dataWindow`` as ``((xmin, ymin), (xmax,
        ymax))``, enums as their names, ``tiles`` as a dict; others as the
        OpenEXR bindings return them); ``"parts"``:
        one dict per part with ``"name"``, ``"size"``, ``"compression"``,
        ``"channels"`` (stored names) and ``"attributes"``.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    FormatError
        Not an EXR file, or the header itself is damaged. A file whose pixel
        data are damaged but whose header is intact is described normally
        (:func:`read_exr` then raises).

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "depth.exr"
    >>> _ = write_exr(path, {"Z": np.ones((2, 3), np.float32), "A": np.ones((2, 3))}, half=["A"])
    >>> info = exr_header(path)
    >>> info["channels"], info["size"], info["compression"]
    ({'A': 'HALF', 'Z': 'FLOAT'}, (3, 2), 'zip')
    """
    path = Path(path)
    exr = _open_exr(path, header_only=True)
    chlists = _read_header_bytes(path)
    if len(chlists) != len(exr.parts):
        raise _damaged(
            path, f"the header lists {len(chlists)} part(s), OpenEXR found {len(exr.parts)}"
        )
    parts = []
    for i, part in enumerate(exr.parts):
        try:
            header = dict(part.header)
            stored = [c.name for c in header.get("channels", [])]
            part_name = part.name()
        except UnicodeDecodeError as exc:  # the bindings decode names as UTF-8
            raise _damaged(path, f"part {i} holds a name that is not UTF-8 text ({exc})") from None
        found = chlists[i].get("channels", [])
        if [c[0] for c in found] != stored:
            raise _damaged(path, f"part {i} channel list could not be parsed consistently")
        (xmin, ymin), (xmax, ymax) = (tuple(int(v) for v in w) for w in header["dataWindow"])
        attributes = {
            k: _plain(v) for k, v in header.items() if k not in ("channels", "compression")
        }
        parts.append(
            {
                "name": part_name,
                "size": (xmax - xmin + 1, ymax - ymin + 1),
                "compression": _compression_name(header.get("compression")),
                "channels": {name: ptype for name, ptype, _, _ in found},
                "attributes": attributes,
            }
        )
    flat = _flat_names(path, [p["channels"] for p in parts], [p["name"] for p in parts])
    channels = {
        name: ptype
        for part, names in zip(parts, flat, strict=True)
        for name, ptype in zip(names, part["channels"].values(), strict=True)
    }
    first = parts[0]
    return {
        "channels": channels,
        "size": first["size"],
        "compression": first["compression"],
        "attributes": first["attributes"],
        "parts": parts,
    }


# --------------------------------------------------------------------------- writing


def _pixels_for_exr(name: str, value: Any, *, half: bool) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise InvalidValueError(f"Expected `channels[{name!r}]` to be an array: {exc}") from None
    if arr.ndim != 2:
        raise ShapeError(
            f"Expected `channels[{name!r}]` to have shape (H, W), got {arr.shape}. "
            "Write one channel per array (e.g. 'normals.X', 'normals.Y', 'normals.Z')."
        )
    if half:
        return np.ascontiguousarray(arr, dtype=np.float16)
    if arr.dtype == np.float16 or arr.dtype == np.uint32:
        return np.ascontiguousarray(arr)
    if arr.dtype.kind not in "fiub":
        raise InvalidValueError(
            f"Expected `channels[{name!r}]` to be numeric, got dtype {arr.dtype}."
        )
    return np.ascontiguousarray(arr, dtype=np.float32)


def write_exr(
    path: PathLike,
    channels: Mapping[str, Any],
    *,
    overwrite: bool = False,
    compression: str = "zip",
    half: Iterable[str] = (),
    attributes: Mapping[str, Any] | None = None,
) -> Path:
    """Write a single-part scanline OpenEXR file, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Output ``.exr`` file; its folder must exist.
    channels : mapping of str to array_like
        Full channel name -> (H, W) array; all the same shape. float16 arrays
        are stored as HALF, uint32 as UINT, everything else as FLOAT (float32).
    overwrite : bool, keyword-only
        Replace an existing file (otherwise :class:`~camgeom.errors.OutputExistsError`).
    compression : str, keyword-only
        One of :data:`COMPRESSIONS` (``"zip"``, ``"piz"``, ``"none"``, ...).
    half : iterable of str, keyword-only
        Channel names to store as HALF (16-bit float) whatever their dtype.
    attributes : mapping, optional, keyword-only
        Extra header attributes (str, int, float values), e.g. ``{"comment": "..."}``.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ShapeError
        A channel is not 2-D or the channels differ in shape.
    InvalidValueError
        No channels, an unknown compression or ``half`` name, a bad attribute.
    OutputExistsError
        ``path`` exists and ``overwrite`` is false.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "z.exr"
    >>> write_exr(path, {"Z": np.zeros((4, 5))}).name
    'z.exr'
    >>> read_exr(path)["Z"].shape
    (4, 5)
    """
    path = Path(path)
    if not isinstance(channels, Mapping) or not channels:
        raise InvalidValueError(
            "Expected `channels` to be a non-empty mapping of channel name -> (H, W) array, "
            f"got {channels!r:.80}."
        )
    if compression not in COMPRESSIONS:
        raise InvalidValueError(
            f"Expected `compression` to be one of {sorted(COMPRESSIONS)}, got {compression!r}."
        )
    half_names = {half} if isinstance(half, str) else set(half)
    unknown = sorted(half_names - set(channels))
    if unknown:
        raise InvalidValueError(
            f"Expected `half` to name channels being written {sorted(channels)}, got {unknown}."
        )
    pixels: dict[str, np.ndarray] = {}
    for name, value in channels.items():
        if not isinstance(name, str) or not name:
            raise InvalidValueError(f"Expected channel names to be non-empty str, got {name!r}.")
        pixels[name] = _pixels_for_exr(name, value, half=name in half_names)
    shapes = {arr.shape for arr in pixels.values()}
    if len(shapes) > 1:
        listed = ", ".join(f"{n}: {a.shape}" for n, a in pixels.items())
        raise ShapeError(f"Expected all `channels` to have the same shape (H, W), got {listed}.")
    if 0 in next(iter(shapes)):
        raise ShapeError(
            f"Expected `channels` to have a non-empty shape, got {next(iter(shapes))}."
        )
    header: dict[str, Any] = dict(attributes or {})
    header["compression"] = COMPRESSIONS[compression]
    header["type"] = OpenEXR.scanlineimage
    try:
        exr = OpenEXR.File(header, pixels)
    except Exception as exc:
        raise InvalidValueError(f"Cannot build the EXR header/channels for {path}: {exc}") from exc
    with atomic_output(path, overwrite=overwrite) as tmp:
        exr.write(str(tmp))
    return path

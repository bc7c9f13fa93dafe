"""Read a depth map from an EXR or TIFF file as float32 values.

The values come back as stored (metres, planar or along the ray) except the
background sentinels (0, 0.0025, +inf, 1e10, 65504), which become NaN unless
``background="keep"``. Whether depth is planar or along the ray is decided by
the dataset readers. Decoding and masking use
:func:`~camgeom.io.decode_threads` threads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from camgeom._sentinels import BACKGROUND_DEPTH_VALUES
from camgeom.errors import FormatError, InvalidValueError, MissingChannelError, ShapeError
from camgeom.io._threads import BLOCK, in_parts
from camgeom.io.exr import _available, _decode, _resolve_channels
from camgeom.io.tiff import read_tiff

__all__ = ["BACKGROUND_DEPTH_VALUES", "mask_background_depth", "read_depth"]

EXR_SUFFIXES = (".exr",)
TIFF_SUFFIXES = (".tif", ".tiff")

BACKGROUND_MODES = ("nan", "keep")
"""What :func:`read_depth` does with background sentinels."""

_VECTOR_SIBLINGS = ("X", "Y")
_DEPTH_LAST = ("Z", "V", "Y", "R")


def _last(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _layer(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else ""


def _default_exr_channel(raw: dict[str, np.ndarray], path: Path) -> tuple[str, list[str]]:
    """The depth channel of an EXR file when none is named (rules in :func:`read_depth`).

    Returns the channel and the channels that must be bit-identical to it (G and B
    for rule 5), which the caller checks in the same pass as it masks the background.
    """
    names = list(raw)
    if "Z" in names:
        return "Z", []
    in_depth_layer = [n for n in names if any(p.lower() == "depth" for p in n.split(".")[:-1])]
    if len(in_depth_layer) == 1:
        return in_depth_layer[0], []
    for last in _DEPTH_LAST:
        picked = [n for n in in_depth_layer if _last(n) == last]
        if len(picked) == 1:
            return picked[0], []
    if in_depth_layer:
        raise MissingChannelError(
            f"EXR file {path} has several depth-layer channels {_available(in_depth_layer)}; "
            "pass channel= with one of them."
        )
    lone_z = [
        n
        for n in names
        if _last(n) == "Z" and not any(f"{_layer(n)}.{s}" in names for s in _VECTOR_SIBLINGS)
    ]
    if len(lone_z) == 1:
        return lone_z[0], []
    if len(lone_z) > 1:
        raise MissingChannelError(
            f"EXR file {path} has several Z channels {_available(lone_z)}; pass channel= "
            "with one of them."
        )
    for single in ("V", "Y"):
        if single in names:
            return single, []
    if "R" in names:
        return "R", [c for c in ("G", "B") if c in names]
    if len(names) == 1:
        return names[0], []
    raise MissingChannelError(
        f"EXR file {path} has no depth channel (Z, *.Z, depth.*, V, Y, or R with R=G=B); its "
        f"channels are {_available(names)}. Pass channel= with the one that holds depth."
    )


def _exr_depth(path: Path, channel: str | int | None, *, mask: bool) -> np.ndarray:
    raw = _decode(path)
    twins: list[str] = []
    if channel is None:
        name, twins = _default_exr_channel(raw, path)
    elif isinstance(channel, str):
        found = _resolve_channels(channel, list(raw), path)
        if len(found) != 1:
            raise MissingChannelError(
                f"Channel {channel!r} of {path} names a layer of {len(found)} channels "
                f"{_available(found)}; a depth map is one channel: pass one of these names."
            )
        name = found[0]
    else:
        raise InvalidValueError(
            f"Expected `channel` of an EXR file to be a channel name (str), got {channel!r}. "
            f"The channels of {path} are {_available(raw)}."
        )
    pixels = raw[name]
    if pixels.dtype.kind != "f":
        raise FormatError(
            f"Channel {name!r} of {path} holds {pixels.dtype} values (UINT), not depth; "
            f"pass channel= with a float channel of {_available(raw)}."
        )
    depth = pixels.astype(np.float32, copy=False)
    if mask and not depth.flags.writeable:
        depth = depth.copy()
    if not _same_then_mask(pixels, [raw[c] for c in twins], depth if mask else None):
        raise MissingChannelError(
            f"EXR file {path} has no depth channel (Z, *.Z, depth.*, V, Y) and its R, G, B "
            "channels differ, so it looks like a colour image, not a depth map. Its channels "
            f"are {_available(raw)}; pass channel= if one of them holds depth."
        )
    return depth


def _tiff_depth(path: Path, channel: str | int | None) -> np.ndarray:
    image = read_tiff(path)
    if image.ndim == 3:
        if channel is None:
            raise ShapeError(
                f"Expected TIFF depth file {path} to hold one channel (H, W), got shape "
                f"{image.shape}; pass channel=<index 0..{image.shape[2] - 1}> to pick one."
            )
        if isinstance(channel, bool) or not isinstance(channel, int | np.integer):
            raise InvalidValueError(
                f"Expected `channel` of a TIFF file to be a sample index (int), got {channel!r}."
            )
        if not 0 <= channel < image.shape[2]:
            raise MissingChannelError(
                f"TIFF file {path} has {image.shape[2]} channels (shape {image.shape}); "
                f"expected `channel` in 0..{image.shape[2] - 1}, got {channel}."
            )
        image = image[:, :, int(channel)]
    elif image.ndim == 2:
        if channel not in (None, 0):
            raise MissingChannelError(
                f"TIFF file {path} has one channel (shape {image.shape}); expected `channel` "
                f"None or 0, got {channel!r}."
            )
    else:
        raise ShapeError(
            f"Expected TIFF depth file {path} to hold an image of shape (H, W), got {image.shape}."
        )
    if image.dtype.kind not in "fiu":
        raise FormatError(f"TIFF file {path} holds {image.dtype} values, not depth.")
    return np.ascontiguousarray(image, dtype=np.float32)


def read_depth(
    path: str | os.PathLike[str],
    *,
    channel: str | int | None = None,
    background: str = "nan",
) -> np.ndarray:
    """Read a depth map from an ``.exr``, ``.tif`` or ``.tiff`` file, background as NaN.

    The rule for background: every value in :data:`BACKGROUND_DEPTH_VALUES`
    (0, 0.0025, +inf, 1e10, 65504) and any infinity becomes NaN, so a depth map
    can go straight into :func:`camgeom.points_from_depth` without a single
    point at a sentinel depth. Pass ``background="keep"`` for the stored values.

    Parameters
    ----------
    path : str or os.PathLike
        The depth file; the format is chosen by its extension.
    channel : str or int, optional, keyword-only
        EXR: a channel name, as in :func:`~camgeom.io.read_exr` (full name,
        trailing part such as ``"Z"`` or ``"Depth.Z"``, or a one-channel
        layer). TIFF: the sample index of a multi-channel image, which must
        then be given. When omitted for an EXR file, the first rule that
        applies picks the depth channel:

        1. ``Z``;
        2. the one channel of a layer named ``depth`` (any case:
           ``ViewLayer.Depth.Z``, ``depth.V``), or that layer's ``Z``, ``V``,
           ``Y`` or ``R`` channel, in this order;
        3. a single ``<layer>.Z`` whose layer has no ``X`` or ``Y`` channel
           (so ``normals.Z`` is never taken);
        4. ``V``, then ``Y``;
        5. ``R`` when ``G`` and ``B`` are bit-identical to it (Datagen
           ``depth.exr``) or absent;
        6. the only channel of a one-channel file.
    background : {"nan", "keep"}, keyword-only
        ``"nan"`` (default): background sentinels become NaN;
        ``"keep"``: the stored values, sentinels included.

    Returns
    -------
    numpy.ndarray
        float32 array of shape (H, W): the stored values, HALF/float16 promoted
        exactly, integers converted without scaling; background NaN unless
        ``background="keep"``.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    FormatError
        Unsupported extension, or a damaged, truncated or non-image file.
    MissingChannelError
        The named channel is absent or ambiguous, or no depth channel can be
        chosen (the message lists the channels).
    ShapeError
        A multi-channel TIFF without ``channel``.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> from camgeom.io import write_exr
    >>> path = Path(tempfile.mkdtemp()) / "depth.exr"
    >>> z = np.array([[1.0, 2.0], [3.0, 1e10]], dtype=np.float32)
    >>> _ = write_exr(path, {"R": z, "G": z, "B": z})
    >>> read_depth(path)
    array([[ 1.,  2.],
           [ 3., nan]], dtype=float32)
    >>> read_depth(path, background="keep")
    array([[1.e+00, 2.e+00],
           [3.e+00, 1.e+10]], dtype=float32)
    """
    if background not in BACKGROUND_MODES:
        raise InvalidValueError(
            f"Expected `background` to be one of {BACKGROUND_MODES!r}, got {background!r}."
        )
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in EXR_SUFFIXES:
        return _exr_depth(path, channel, mask=background == "nan")
    if suffix not in TIFF_SUFFIXES:
        raise FormatError(
            f"Cannot read depth from {path}: expected an extension in "
            f"{_supported(EXR_SUFFIXES + TIFF_SUFFIXES)}, got {suffix or 'none'!r}. "
            "Convert the file, or rename it if its extension is wrong."
        )
    depth = _tiff_depth(path, channel)
    if background == "nan":
        if not depth.flags.writeable:
            depth = depth.copy()
        _mask_background_inplace(depth)
    return depth


_FINITE_SENTINELS = tuple(
    v for v in dict.fromkeys(np.float32(x) for x in BACKGROUND_DEPTH_VALUES) if np.isfinite(v)
)


def _mask_block(block: np.ndarray, bad: np.ndarray, hit: np.ndarray) -> None:
    """Set NaN where float32 ``block`` holds a sentinel or an infinity (scratch: two bool blocks)."""
    np.isinf(block, out=bad)
    for value in _FINITE_SENTINELS:
        np.equal(block, value, out=hit)
        np.logical_or(bad, hit, out=bad)
    np.copyto(block, np.float32(np.nan), where=bad)


def _same_then_mask(stored: np.ndarray, twins: list[np.ndarray], depth: np.ndarray | None) -> bool:
    """In one threaded pass: whether every twin is bit-identical to ``stored`` (NaNs included),
    and, if so and ``depth`` (float32, as many values as ``stored``) is given, its background
    masked in place.

    Block by block, so that the comparisons and the six sentinel tests run while
    the block is in cache; False as soon as a block differs (``depth`` is then
    partly masked, and the caller discards it).
    """
    if any(t.dtype != stored.dtype or t.shape != stored.shape for t in twins):
        return False
    as_bits = np.dtype(f"u{stored.dtype.itemsize}")
    arrays = [stored, *twins] + ([] if depth is None else [depth])
    if not all(a.flags.c_contiguous for a in arrays):
        if not all(np.array_equal(stored.view(as_bits), t.view(as_bits)) for t in twins):
            return False
        if depth is not None:
            bad = np.isin(depth, np.asarray(_FINITE_SENTINELS, dtype=np.float32))
            depth[bad | np.isinf(depth)] = np.nan
        return True
    flat = stored.reshape(-1).view(as_bits)
    flat_twins = [t.reshape(-1).view(as_bits) for t in twins]
    flat_depth = None if depth is None else depth.reshape(-1)

    def work(start: int, stop: int) -> bool:
        scratch = np.empty(min(BLOCK, stop - start), dtype=bool)
        hit = np.empty_like(scratch)
        for lo in range(start, stop, BLOCK):
            hi = min(lo + BLOCK, stop)
            s = scratch[: hi - lo]
            for twin in flat_twins:
                np.not_equal(flat[lo:hi], twin[lo:hi], out=s)
                if s.any():
                    return False
            if flat_depth is not None:
                _mask_block(flat_depth[lo:hi], s, hit[: hi - lo])
        return True

    return all(in_parts(flat.size, work))


def _mask_background_inplace(depth: np.ndarray) -> None:
    """Background sentinels and infinities of float32 ``depth`` become NaN, in place."""
    _same_then_mask(depth, [], depth)


def mask_background_depth(depth: np.ndarray) -> np.ndarray:
    """Return float32 ``depth`` with :data:`BACKGROUND_DEPTH_VALUES` set to NaN.

    Examples
    --------
    >>> mask_background_depth(np.array([0.0, 1.5, 1e10, 65504.0], dtype=np.float32))
    array([nan, 1.5, nan, nan], dtype=float32)
    """
    out = np.array(depth, dtype=np.float32)
    _mask_background_inplace(out)
    return out


def _supported(suffixes: Sequence[str]) -> str:
    return ", ".join(suffixes)

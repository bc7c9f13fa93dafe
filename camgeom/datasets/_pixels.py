"""Decoding of a frame's pixel files: RGB images, segmentation, normal maps, alpha.

Private to :mod:`camgeom.datasets`: the ``Frame.read_*`` methods and
``Frame.segment_mask`` call these functions with the paths and conventions a
reader recorded. Depth files are not decoded here: :func:`camgeom.io.read_depth`
reads them and owns the background-sentinel rule.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from camgeom.errors import FormatError, InvalidValueError

__all__ = [
    "NORMALS_CONVENTIONS",
    "alpha_mask",
    "check_size",
    "read_normal_map",
    "read_rgb",
    "read_segmentation",
    "segment_mask",
    "segment_names",
]

NORMALS_CONVENTIONS = ("opengl", "datagen_rgb")
"""How a normal map file stores its vectors (see :attr:`Frame.normals_convention`)."""

_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I")

_PNG_START = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"
"""PNG signature and the length and type of the IHDR chunk that must follow it."""


def _image_errors() -> tuple[type[BaseException], ...]:
    """What Pillow raises for a damaged, truncated or hostile image file."""
    from PIL import Image

    # DecompressionBombError: a header claiming more pixels than Pillow's limit
    # (a 65536x65536 PNG). SyntaxError, ValueError, EOFError, struct.error: broken chunks.
    return (OSError, SyntaxError, ValueError, EOFError, struct.error, Image.DecompressionBombError)


def _decoded(path: Path, arr: np.ndarray, what: str) -> np.ndarray:
    if arr.size == 0:
        raise FormatError(f"{path}: the {what} decodes to an empty image {arr.shape}.")
    return arr


def check_size(
    arr: np.ndarray, path: Path, width: int | None, height: int | None, what: str
) -> np.ndarray:
    """Return ``arr`` if its first two dimensions are (height, width); None skips the check.

    Raises
    ------
    FormatError
        The map is another size than the camera's image: a damaged header (a
        flipped bit in a TIFF's ImageLength) or a file of another camera.
    """
    if width is None or height is None or tuple(arr.shape[:2]) == (height, width):
        return arr
    h, w = arr.shape[:2] if arr.ndim >= 2 else (0, 0)
    raise FormatError(
        f"{path}: the {what} is {w}x{h} pixels but the camera's image is {width}x{height}; "
        "the file is damaged or belongs to another camera or resolution."
    )


def read_rgb(path: Path) -> np.ndarray:
    """Read an image as uint8 RGB (H, W, 3); alpha is dropped, 16-bit grey scaled to 8 bits."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            if img.mode in _SIXTEEN_BIT_MODES:
                arr16 = np.asarray(img, dtype=np.float64)
                gray = np.clip(np.round(arr16 / 257.0), 0, 255).astype(np.uint8)
                return _decoded(path, np.repeat(gray[..., None], 3, axis=2), "image")
            return _decoded(path, np.asarray(img.convert("RGB"), dtype=np.uint8), "image")
    except _image_errors() as exc:
        raise FormatError(f"{path}: cannot read the image ({type(exc).__name__}: {exc}).") from None


def _read_exr_rgb(path: Path) -> np.ndarray:
    from camgeom.io import read_exr

    channels = read_exr(path, ["R", "G", "B"])
    return np.stack([channels["R"], channels["G"], channels["B"]], axis=-1).astype(np.float32)


def read_segmentation(path: Path) -> np.ndarray:
    """Read a segmentation image as stored.

    Integer-id PNGs come back (H, W) integer; colour PNGs (H, W, 3) uint8 (a
    palette or alpha channel is dropped); EXR masks (H, W, 3) float32.
    """
    if path.suffix.lower() == ".exr":
        return _read_exr_rgb(path)
    from PIL import Image

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _unreadable_segmentation(path, exc) from None
    if _plain_gray_png(data, Image.MAX_IMAGE_PIXELS) and _libpng_decodes_png():
        return _decoded(path, _decode_gray_png(data, path), "segmentation image")
    try:
        with Image.open(io.BytesIO(data)) as img:  # the bytes above: the file is read once
            if img.mode in ("RGBA", "P", "LA"):
                img = img.convert("RGB")
            return _decoded(path, np.array(img), "segmentation image")
    except _image_errors() as exc:
        raise _unreadable_segmentation(path, exc) from None


def _unreadable_segmentation(path: Path, exc: BaseException) -> FormatError:
    if type(exc).__name__ == "UnidentifiedImageError":  # its message names a BytesIO object
        why = "not an image format Pillow reads: the file is damaged or not a PNG"
    else:
        why = f"{type(exc).__name__}: {exc}"
    return FormatError(f"{path}: cannot read the segmentation image ({why}).")


def _plain_gray_png(data: bytes, max_pixels: int | None) -> bool:
    """Whether ``data`` is a PNG that :func:`_decode_gray_png` decodes as Pillow would.

    That is: grayscale (colour type 0), 8 or 16 bits, not interlaced, no ``tRNS``
    chunk (libpng would add an alpha channel), no critical chunk other than IHDR
    before the first IDAT, and no more pixels than Pillow's ``max_pixels`` (its
    decompression-bomb limit, which stays Pillow's to report). Everything else is
    Pillow's to decode or reject.
    """
    if len(data) < 33 or not data.startswith(_PNG_START):
        return False
    width, height, depth, colour, _, _, interlace = struct.unpack_from(">IIBBBBB", data, 16)
    if colour != 0 or depth not in (8, 16) or interlace != 0:
        return False
    if max_pixels is not None and width * height > max_pixels:
        return False
    pos = 33
    while pos + 8 <= len(data):
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            return True
        if kind == b"tRNS" or not kind[0] & 0x20:  # bit 5 of the first letter: ancillary
            return False
        pos += 12 + int.from_bytes(data[pos : pos + 4], "big")
    return False


@lru_cache(maxsize=1)
def _libpng_decodes_png() -> bool:
    """Whether the installed imagecodecs was built with its PNG codec."""
    import imagecodecs

    return bool(imagecodecs.PNG.available)


def _decode_gray_png(data: bytes, path: Path) -> np.ndarray:
    """Decode a :func:`_plain_gray_png` PNG to (H, W) uint8 or uint16 with libpng.

    Raises
    ------
    FormatError
        The file is damaged (libpng's message): truncated, a bad checksum, too
        little image data for the size its IHDR claims.
    """
    import imagecodecs

    try:
        arr = imagecodecs.png_decode(data)
    except (imagecodecs.PngError, ValueError) as exc:
        raise _unreadable_segmentation(path, exc) from None
    if arr.ndim != 2 or arr.dtype not in (np.uint8, np.uint16):  # not for a plain gray PNG
        raise FormatError(
            f"{path}: the grayscale segmentation PNG decodes to {arr.dtype} {arr.shape}."
        )
    return np.asarray(arr)


def read_normal_map(path: Path, convention: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a normal map into the OpenCV camera frame.

    Parameters
    ----------
    path : Path
    convention : {"opengl", "datagen_rgb"}
        ``"opengl"``: float vectors in the OpenGL camera frame (Synthesis AI
        ``normals.tif``); ``"datagen_rgb"``: ``n = 2 * RGB - 1`` in the same axes
        (Datagen ``normal_maps.exr``).

    Returns
    -------
    normals : ndarray, shape (H, W, 3), float32
        In the OpenCV camera frame (x right, y down, z forward); not renormalised.
    nodata : ndarray, shape (H, W), bool, or None
        Pixels the encoding marks as empty (an all-zero RGB triple), when it can.
    """
    from camgeom.conventions import convert_points

    nodata = None
    vec: np.ndarray
    if convention == "opengl":
        from camgeom.io import read_tiff

        vec = np.asarray(read_tiff(path), dtype=np.float32)
    elif convention == "datagen_rgb":
        rgb = _read_exr_rgb(path)
        vec = 2.0 * rgb - 1.0
        nodata = np.all(rgb == 0.0, axis=-1)
    else:
        raise FormatError(
            f"{path}: unknown normals convention {convention!r} "
            f"(known: {', '.join(NORMALS_CONVENTIONS)})."
        )
    if vec.ndim != 3 or vec.shape[2] != 3:
        raise FormatError(f"{path}: expected a (H, W, 3) normal map, got shape {vec.shape}.")
    return convert_points(vec, "opengl", "opencv").astype(np.float32), nodata


def alpha_mask(path: Path, shape: tuple[int, ...]) -> np.ndarray | None:
    """Pixels with nonzero alpha in an alpha TIFF, (H, W) bool; None if its size differs."""
    from camgeom.io import read_tiff

    alpha = np.asarray(read_tiff(path))
    if alpha.shape[:2] != tuple(shape):
        return None
    return (alpha if alpha.ndim == 2 else alpha[..., 0]) > 0


def segment_names(mapping: Mapping[str, Any], names: Sequence[str]) -> list[str]:
    """The mapping keys that ``names`` select, in order, without repeats.

    A name selects the key equal to it and every key with it as one of its
    dot- or slash-separated parts (``"hair"`` selects ``"human.hair"``).

    Raises
    ------
    InvalidValueError
        A name selects nothing; the message lists every known name.

    Examples
    --------
    >>> segment_names({"human.hair": 1, "human.eye.left": 2, "background": 0}, ["hair", "eye"])
    ['human.hair', 'human.eye.left']
    """
    if isinstance(names, str):
        names = [names]
    # each key split once: a key or one of its parts -> the keys it selects, in order
    selects: dict[str, dict[str, None]] = {}
    for key in mapping:
        parts = key.replace("/", ".").split(".")
        if len(parts) > 1:
            parts.append(key)
        for part in parts:
            hit = selects.get(part)
            if hit is None:
                selects[part] = {key: None}
            else:
                hit[key] = None
    wanted: dict[str, None] = {}
    for term in names:
        hits = selects.get(term) if isinstance(term, str) else None
        if not hits:
            raise InvalidValueError(
                f"segment {term!r} is not in the segmentation mapping; known names: "
                f"{', '.join(sorted(mapping))}."
            )
        wanted.update(hits)
    return list(wanted)


def segment_mask(seg: np.ndarray, mapping: Mapping[str, Any], keys: Sequence[str]) -> np.ndarray:
    """Boolean (H, W) mask of the pixels of ``seg`` labelled with any of ``keys``.

    ``seg`` is what :func:`read_segmentation` returns: (H, W) integer ids, or
    (H, W, 3) colours compared with the mapping's RGB triples to half a unit (a
    mapping in 0-1 floats is scaled to 0-255 for uint8 images). A float image
    with 0-1 colours (a Datagen EXR segmentation) is compared to half an 8-bit
    step, 0.5 / 255: its half-float values lie within 5e-4 of the mapping's,
    and its classes at least 0.01 apart.
    """
    if seg.ndim == 2:
        ids = [int(np.asarray(mapping[k]).ravel()[0]) for k in keys]
        if seg.dtype in (np.uint8, np.uint16):
            # one table entry per value the image type holds; an id outside that
            # range (negative, or above 255 / 65535) labels no pixel
            lut = np.zeros(np.iinfo(seg.dtype).max + 1, dtype=bool)
            lut[[i for i in ids if 0 <= i < lut.size]] = True
            return np.take(lut, seg)
        return np.isin(seg, ids)
    mask = np.zeros(seg.shape[:2], bool)
    rgb = seg[..., :3].astype(np.float64)
    for k in keys:
        col = np.asarray(mapping[k], dtype=np.float64).ravel()[:3]
        if seg.dtype == np.uint8 and col.max() <= 1.0 and not float(col.max()).is_integer():
            col = col * 255
        tol = 0.5 / 255 if seg.dtype.kind == "f" and col.max() <= 1.0 else 0.5
        mask |= np.all(np.abs(rgb - col) < tol, axis=-1)
    return mask

"""TIFF images (depth, normals, alpha) through tifffile.

Compressed float TIFFs such as DEFLATE float16 depth maps need the
``imagecodecs`` package, a dependency of camgeom. Strips and tiles are decoded
on :func:`~camgeom.io.decode_threads` threads.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from camgeom.errors import FormatError
from camgeom.io._threads import decode_threads

__all__ = ["read_tiff"]

_AGAIN = "Download or export it again."


def read_tiff(path: str | os.PathLike[str]) -> np.ndarray:
    """Read the first image of a TIFF file.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.tif`` / ``.tiff`` file.

    Returns
    -------
    numpy.ndarray
        Shape (H, W) or (H, W, C) as stored (samples last). float16 data are
        promoted to float32 (exactly); other dtypes (uint8 alpha, float32
        depth ...) are returned unchanged. Values are as stored: background
        sentinels such as 0 or +inf are kept.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    FormatError
        The file is not a TIFF, or is truncated or damaged.

    Examples
    --------
    >>> import tempfile, numpy as np, tifffile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "depth.tif"
    >>> tifffile.imwrite(path, np.full((2, 3), 1.5, np.float16), compression="zlib")
    >>> depth = read_tiff(path)
    >>> depth.shape, depth.dtype, float(depth[0, 0])
    ((2, 3), dtype('float32'), 1.5)
    """
    path = Path(path)
    if not path.is_file():
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "Expected a TIFF file, got a folder", str(path))
        raise FileNotFoundError(errno.ENOENT, "No such TIFF file", str(path))
    try:
        with tifffile.TiffFile(path) as tif:
            if not len(tif.pages):
                raise FormatError(f"Cannot read TIFF file {path}: it holds no image. {_AGAIN}")
            _check_layout(path, tif.pages[0], path.stat().st_size)
        # tifffile alone decodes strips and tiles on half the cores.
        image = tifffile.imread(path, maxworkers=decode_threads())
    except FormatError:
        raise
    except Exception as exc:  # TiffFileError, codec errors (RuntimeError), struct.error ...
        if "imagecodecs" in str(exc):
            hint = "Its compression needs the imagecodecs package: pip install imagecodecs."
        else:
            hint = f"The file is truncated, damaged or not a TIFF. {_AGAIN}"
        raise FormatError(
            f"Cannot read TIFF file {path}: {type(exc).__name__}: {exc}. {hint}"
        ) from exc
    image = np.asarray(image)
    if image.size == 0:
        raise FormatError(f"Cannot read TIFF file {path}: it decodes to an empty image. {_AGAIN}")
    if image.dtype == np.float16:
        image = image.astype(np.float32)
    return image


def _check_layout(path: Path, page: Any, file_size: int) -> None:
    """Raise :class:`FormatError` when the first page's header and data cannot agree.

    tifffile fills strips that are missing or cut off with zeros, so a flipped
    bit in ImageLength or a truncated file would otherwise decode to a larger
    or partly blank image without complaint.
    """
    shape = tuple(int(n) for n in page.shape)
    if not shape or 0 in shape:
        raise FormatError(f"Cannot read TIFF file {path}: its header gives shape {shape}. {_AGAIN}")
    offsets, counts = page.dataoffsets, page.databytecounts
    for k, (offset, count) in enumerate(zip(offsets, counts, strict=False)):
        if offset + count > file_size:
            raise FormatError(
                f"Cannot read TIFF file {path}: its data block {k} ends at byte {offset + count}, "
                f"beyond the end of the {file_size}-byte file (truncated). {_AGAIN}"
            )
    if page.is_tiled:
        return
    rows = int(page.imagelength)
    per_strip = min(int(page.rowsperstrip or rows), rows) or rows
    planes = int(page.samplesperpixel) if int(page.planarconfig) == 2 else 1
    expected = -(-rows // per_strip) * planes
    if len(offsets) < expected:
        raise FormatError(
            f"Cannot read TIFF file {path}: its header gives {rows} rows in strips of "
            f"{per_strip}, which needs {expected} strips, but it has {len(offsets)}: "
            f"ImageLength or RowsPerStrip is damaged. {_AGAIN}"
        )
    if int(page.compression) == 1:
        needed = int(np.prod(shape)) * page.dtype.itemsize
        if sum(int(c) for c in counts) < needed:
            raise FormatError(
                f"Cannot read TIFF file {path}: its {shape} {page.dtype} image needs {needed} "
                f"bytes, its strips hold {sum(int(c) for c in counts)}. {_AGAIN}"
            )

"""TIFF images (depth, normals, alpha) through tifffile.

Compressed float TIFFs such as DEFLATE float16 depth maps need the
``imagecodecs`` package, a dependency of camgeom. Strips and tiles are decoded
on :func:`~camgeom.io.decode_threads` threads.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import tifffile

from camgeom.errors import FormatError
from camgeom.io._threads import decode_threads

__all__ = ["read_tiff"]


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
        # tifffile alone decodes strips and tiles on half the cores.
        image = tifffile.imread(path, maxworkers=decode_threads())
    except Exception as exc:  # TiffFileError, codec errors (RuntimeError), struct.error ...
        if "imagecodecs" in str(exc):
            hint = "Its compression needs the imagecodecs package: pip install imagecodecs."
        else:
            hint = "The file is truncated, damaged or not a TIFF; download or export it again."
        raise FormatError(
            f"Cannot read TIFF file {path}: {type(exc).__name__}: {exc}. {hint}"
        ) from exc
    image = np.asarray(image)
    if image.dtype == np.float16:
        image = image.astype(np.float32)
    return image

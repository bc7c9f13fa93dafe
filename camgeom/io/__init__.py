"""File formats: OpenEXR, TIFF and PLY, plus atomic output files.

No vendor knowledge lives here; the dataset readers in :mod:`camgeom.datasets`
decide what the values mean. Every reader returns raw stored values (half
floats promoted to float32) and raises :class:`~camgeom.errors.FormatError`
(or a subclass) naming the file when it cannot; a missing file raises
:class:`FileNotFoundError`. Every writer is atomic and refuses to overwrite an
existing file unless asked.
"""

from camgeom.io._threads import decode_threads, set_decode_threads
from camgeom.io.atomic import atomic_output
from camgeom.io.depthfile import BACKGROUND_DEPTH_VALUES, mask_background_depth, read_depth
from camgeom.io.exr import exr_header, read_exr, write_exr
from camgeom.io.ply import write_ply
from camgeom.io.tiff import read_tiff

__all__ = [
    "BACKGROUND_DEPTH_VALUES",
    "atomic_output",
    "decode_threads",
    "exr_header",
    "mask_background_depth",
    "read_depth",
    "read_exr",
    "read_tiff",
    "set_decode_threads",
    "write_exr",
    "write_ply",
]

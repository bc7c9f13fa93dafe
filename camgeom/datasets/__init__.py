"""Vendor readers (Synthesis AI, Datagen, GeoGen, FaceSynthetics) into one model.

:func:`load` detects the vendor and layout of a file or folder and returns a lazy
:class:`Dataset` of :class:`Frame` objects: one image seen by one camera, with its
:class:`~camgeom.camera.Camera` in the OpenCV convention, its :class:`Landmarks`
groups, a :class:`CameraMetadata` with everything stored about the camera, and the
notes naming each vendor quirk the reader undid. See ``docs/datasets.md``.

Where each concept lives: :mod:`~camgeom.datasets.frame` (``Frame``,
``FrameError``, ``FrameSource``), :mod:`~camgeom.datasets.landmarks`
(``Landmarks``, ``LazyLandmarks``), :mod:`~camgeom.datasets.metadata`
(``CameraMetadata``), :mod:`~camgeom.datasets.dataset` (``Dataset``),
:mod:`~camgeom.datasets.detect` (``load``), and one module or subpackage per
vendor. Depth background sentinels belong to :mod:`camgeom.io` and are
re-exported here.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "0_ldmks.txt").write_text("10.5 20.5\\n" * 70)
>>> frame = load(folder)[0]
>>> frame.vendor, frame.camera, frame.landmarks["ibug68"].pixels.shape
('facesynthetics', None, (68, 2))
"""

from camgeom.datasets.dataset import Dataset
from camgeom.datasets.detect import load
from camgeom.datasets.frame import Frame, FrameError
from camgeom.datasets.landmarks import Landmarks, LazyLandmarks
from camgeom.datasets.metadata import CameraMetadata
from camgeom.io.depthfile import BACKGROUND_DEPTH_VALUES, mask_background_depth

__all__ = [
    "BACKGROUND_DEPTH_VALUES",
    "CameraMetadata",
    "Dataset",
    "Frame",
    "FrameError",
    "Landmarks",
    "LazyLandmarks",
    "load",
    "mask_background_depth",
]

"""One image seen by one camera: :class:`Frame`; and its unparsed form :class:`FrameSource`.

A :class:`Frame` holds its :class:`~camgeom.camera.Camera` in the OpenCV
convention (x right, y down, z forward; pixel centres at +0.5), its landmark
groups (:class:`~camgeom.datasets.Landmarks`), everything the vendor stored about
the camera (:class:`~camgeom.datasets.CameraMetadata`) and the paths of its image,
depth, normal and segmentation files with readers that undo each vendor's storage
conventions. See ``docs/datasets.md`` for each vendor's layouts and quirks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np

from camgeom.datasets import _pixels
from camgeom.datasets.landmarks import Landmarks
from camgeom.datasets.metadata import CameraMetadata
from camgeom.errors import FormatError, InvalidValueError

if TYPE_CHECKING:
    from camgeom.camera import Camera

__all__ = ["VENDORS", "Frame", "FrameError", "FrameSource"]

VENDORS = ("synthesisai", "datagen", "geogen", "facesynthetics", "colmap", "nerfstudio")
"""The vendors a :class:`Frame` can come from."""


class FrameError(NamedTuple):
    """A frame that could not be read: its id, the offending file and the message."""

    frame_id: str
    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.frame_id}: {self.message}"


@dataclass(frozen=True, eq=False)
class Frame:
    """One image seen by one camera, with everything the vendor stored about it.

    Parameters
    ----------
    camera : camgeom.camera.Camera or None
        Intrinsics, pose (OpenCV convention) and image size. None for vendors that
        publish no camera (FaceSynthetics).
    vendor : {"synthesisai", "datagen", "geogen", "facesynthetics", "colmap", "nerfstudio"}
    version : str or None
        The metadata version as stored (None for unversioned files).
    frame_id : str
        Unique within the dataset (a path relative to the dataset root).
    scene_id : str
        Frames with the same scene id show the same subject at the same moment
        from different cameras (see :meth:`Dataset.scenes`).
    camera_name : str
    image_path, depth_path, normals_path, segmentation_path : Path or None
    depth_kind : {"z", "range"} or None
        ``"z"``: planar depth along the optical axis (Datagen); ``"range"``: distance
        along the pixel ray (Synthesis AI ``depth.tif``).
    normals_convention : str or None
        How :attr:`normals_path` stores normals: ``"opengl"`` (camera frame, x right,
        y up, z toward the viewer) or ``"datagen_rgb"`` (``n = 2 * RGB - 1`` in the
        same axes).
    segmentation_mapping : dict
        Class name -> label value in :attr:`segmentation_path` (an integer id, or an
        RGB triple as it appears in the image).
    landmarks : Mapping[str, Landmarks]
        Landmark groups by stable snake_case name (see ``docs/datasets.md``).
    raw : dict
        The parsed metadata file(s), by file role.
    metadata : CameraMetadata
    notes : tuple of str
        The format quirks the reader handled for this frame, and known vendor
        defects it detected.
    source : Path or None
        The file (or folder) the frame was read from.
    depth_channel : str or None
        EXR channel holding depth, for multi-channel depth files.
    alpha_path : Path or None
        Synthesis AI ``alpha.tif`` (used to mask normals when there is no depth).
    distorted_camera : camgeom.camera.Camera or None
        Camera (with a lens model) of the frame's distorted images, e.g. Synthesis
        AI's fisheye ``*.dist.png`` (see :func:`camgeom.warp.synthesisai_fisheye_camera`).
    """

    camera: Camera | None
    vendor: str
    version: str | None
    frame_id: str
    scene_id: str
    camera_name: str
    image_path: Path | None = None
    depth_path: Path | None = None
    depth_kind: Literal["z", "range"] | None = None
    normals_path: Path | None = None
    normals_convention: Literal["opengl", "datagen_rgb"] | None = None
    segmentation_path: Path | None = None
    segmentation_mapping: Mapping[str, Any] = field(default_factory=dict)
    landmarks: Mapping[str, Landmarks] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)
    metadata: CameraMetadata = field(default_factory=CameraMetadata)
    notes: tuple[str, ...] = ()
    source: Path | None = None
    depth_channel: str | None = None
    alpha_path: Path | None = None
    distorted_camera: Camera | None = None

    def __post_init__(self) -> None:
        if self.vendor not in VENDORS:
            raise InvalidValueError(
                f"Expected `vendor` to be one of {VENDORS!r}, got {self.vendor!r}."
            )
        if self.depth_kind not in (None, "z", "range"):
            raise InvalidValueError(
                f"Expected `depth_kind` to be 'z', 'range' or None, got {self.depth_kind!r}."
            )
        object.__setattr__(self, "notes", tuple(self.notes))

    # ------------------------------------------------------------------ sizes
    @property
    def width(self) -> int | None:
        """Image width in pixels (from the camera, else the metadata)."""
        return self.camera.width if self.camera is not None else self.metadata.width

    @property
    def height(self) -> int | None:
        """Image height in pixels (from the camera, else the metadata)."""
        return self.camera.height if self.camera is not None else self.metadata.height

    # ------------------------------------------------------------------ pixel data
    def _need(self, path: Path | None, what: str) -> Path:
        if path is None:
            raise FormatError(
                f"frame {self.frame_id}: this {self.vendor} frame has no {what} file."
            )
        if not path.is_file():
            raise FormatError(f"frame {self.frame_id}: {what} file {path} does not exist.")
        return path

    def read_depth(self) -> np.ndarray:
        """Read the depth map as float32 (H, W) metres, background as NaN.

        The values are what the vendor stored: planar z or range along the ray (see
        :attr:`depth_kind`). Background sentinels
        (:data:`camgeom.io.BACKGROUND_DEPTH_VALUES`: 0, +inf, 0.0025, 1e10, 65504)
        become NaN (:func:`camgeom.io.read_depth` with ``background="nan"``); half
        floats are widened to float32.
        """
        from camgeom.io import read_depth

        path = self._need(self.depth_path, "depth")
        depth = read_depth(path, channel=self.depth_channel, background="nan")
        return _pixels.check_size(depth, path, self.width, self.height, "depth map")

    def read_image(self) -> np.ndarray:
        """Read the rendered image as uint8 RGB (H, W, 3); an alpha channel is dropped.

        16-bit grey images are scaled to 8 bits (``round(v / 257)``).
        """
        return _pixels.read_rgb(self._need(self.image_path, "image"))

    def read_normals(self) -> np.ndarray:
        """Read the normal map as float32 (H, W, 3) in the OpenCV camera frame.

        ``"opengl"`` normals (Synthesis AI ``normals.tif``) become ``(nx, -ny, -nz)``;
        ``"datagen_rgb"`` normals are decoded ``n = 2 * RGB - 1`` first. Pixels with
        no surface (background in the depth map, else zero alpha, else an all-zero
        RGB encoding) are NaN. Vectors are not renormalised.
        """
        path = self._need(self.normals_path, "normals")
        normals, nodata = _pixels.read_normal_map(path, self.normals_convention)
        _pixels.check_size(normals, path, self.width, self.height, "normal map")
        mask = self._surface_mask(normals.shape[:2])
        if mask is None and nodata is not None:
            mask = ~nodata
        if mask is not None:
            normals[~mask] = np.nan
        return normals

    def _surface_mask(self, shape: tuple[int, ...]) -> np.ndarray | None:
        if self.depth_path is not None and self.depth_path.is_file():
            depth = self.read_depth()
            if depth.shape == tuple(shape):
                return np.isfinite(depth)
        if self.alpha_path is not None and self.alpha_path.is_file():
            return _pixels.alpha_mask(self.alpha_path, shape)
        return None

    def read_segmentation(self) -> np.ndarray:
        """Read the segmentation image as stored.

        Integer-id PNGs (Synthesis AI, FaceSynthetics) come back (H, W) integer;
        colour PNGs (Datagen) (H, W, 3) uint8; Datagen's older EXR masks (H, W, 3)
        float32. Compare with :attr:`segmentation_mapping`, or use
        :meth:`segment_mask`.
        """
        path = self._need(self.segmentation_path, "segmentation")
        seg = _pixels.read_segmentation(path)
        return _pixels.check_size(seg, path, self.width, self.height, "segmentation image")

    def segment_mask(self, names: str | Sequence[str]) -> np.ndarray:
        """Boolean (H, W) mask of the pixels of the named segmentation classes.

        Parameters
        ----------
        names : str or sequence of str
            Class names of :attr:`segmentation_mapping`. A name selects the class
            equal to it and every class with it as one dot- or slash-separated part
            (``"hair"`` selects Datagen's ``"human.hair"``).

        Returns
        -------
        ndarray, shape (H, W), bool

        Raises
        ------
        InvalidValueError
            A name matches no class; the message lists every known name.
        FormatError
            The frame has no segmentation image or no class mapping.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "0_ldmks.txt").write_text("1 2\\n" * 70)
        >>> Image.fromarray(np.array([[0, 13], [13, 1]], np.uint8)).save(folder / "0_seg.png")
        >>> from camgeom.datasets import load
        >>> load(folder)[0].segment_mask(["hair"]).tolist()
        [[False, True], [True, False]]
        """
        path = self._need(self.segmentation_path, "segmentation")
        if not self.segmentation_mapping:
            raise FormatError(
                f"frame {self.frame_id}: this {self.vendor} frame has no segmentation class "
                "mapping."
            )
        keys = _pixels.segment_names(self.segmentation_mapping, names)
        seg = _pixels.read_segmentation(path)
        _pixels.check_size(seg, path, self.width, self.height, "segmentation image")
        return _pixels.segment_mask(seg, self.segmentation_mapping, keys)

    def __repr__(self) -> str:
        size = f"{self.width}x{self.height}" if self.width else "no camera"
        return (
            f"Frame({self.vendor} {self.version or 'unversioned'}, id={self.frame_id!r}, "
            f"scene={self.scene_id!r}, camera={self.camera_name!r}, {size}, "
            f"landmarks={list(self.landmarks)})"
        )


@dataclass(frozen=True)
class FrameSource:
    """A not-yet-parsed frame: cheap to hold, parsed by :meth:`read`.

    Vendor readers list a dataset as one source per frame, holding the functions
    (module-level functions with their arguments bound, so sources pickle) that
    read the frame and find its scene id.

    Parameters
    ----------
    vendor : str
    path : Path
        The frame's main file or folder.
    frame_id : str
    reader : callable () -> Frame
        Parses the frame's files.
    scene : callable () -> str
        Returns the frame's scene id, reading as little as possible.
    skips_landmarks : bool
        ``reader`` accepts ``landmarks=False`` and then neither reads nor checks
        landmarks (Datagen leaves its ``key_points/`` files unread; Synthesis AI
        does not build or check the groups of its ``info.json``).
    files : callable () -> sequence of path-like, optional
        Lists, without parsing anything, every file ``reader`` may read (see
        :meth:`input_files`). Default: the frame's main file, or every file
        directly in its folder.
    """

    vendor: str
    path: Path
    frame_id: str
    reader: Callable[..., Frame] = field(repr=False)
    scene: Callable[[], str] = field(repr=False)
    skips_landmarks: bool = field(default=False, repr=False)
    files: Callable[[], Sequence[str | os.PathLike[str]]] | None = field(
        default=None, repr=False, compare=False
    )

    def input_files(self) -> list[str]:
        """Every file the frame is read from, sorted, listed without parsing it.

        Dataset jobs fingerprint these files (size and modification time) to
        tell whether a frame must be redone: a change to any of them, a file
        that appears or one that goes, redoes the frame. They are the metadata
        and every pixel file of the frame (Synthesis AI ``N.*`` and the dataset's
        ``metadata.jsonl``; a Datagen camera folder, its ``key_points/`` and the
        datapoint's JSON files; ...). Paths that do not exist may be listed
        (candidates the reader looks for). Hidden files are left out.
        """
        if self.files is not None:
            found = [os.fspath(p) for p in self.files()]
        elif self.path.is_dir():
            found = files_in(self.path)
        else:
            found = [os.fspath(self.path)]
        return sorted(dict.fromkeys(found))

    def read(self, *, landmarks: bool = True) -> Frame:
        """Parse the frame's files and return the :class:`Frame`.

        Parameters
        ----------
        landmarks : bool, keyword-only
            False: the caller needs no landmarks. The frame then has none
            (``frame.landmarks`` is empty, and no note about landmarks is made).
            Vendors that keep landmarks in files of their own (Datagen
            ``key_points/``) do not read those files, which makes reading a frame
            for its camera and pixels several times cheaper; Synthesis AI skips
            building and checking the groups of its ``info.json`` (about half the
            cost of a read).
        """
        if landmarks:
            return self.reader()
        if self.skips_landmarks:
            return self.reader(landmarks=False)
        frame = self.reader()
        return replace(frame, landmarks={}) if frame.landmarks else frame

    def scene_id(self) -> str:
        """The frame's scene id (see :attr:`Frame.scene_id`)."""
        return self.scene()


def files_in(folder: str | os.PathLike[str]) -> list[str]:
    """The files directly in ``folder`` (not hidden), or none when it cannot be listed."""
    try:
        with os.scandir(folder) as entries:
            return [e.path for e in entries if not e.name.startswith(".") and e.is_file()]
    except OSError:
        return []

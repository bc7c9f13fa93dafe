"""The common model every vendor reader produces: Dataset, Frame, Landmarks, CameraMetadata.

A :class:`Dataset` is a lazy, indexable collection of :class:`Frame` objects. Loading
a dataset (:func:`camgeom.datasets.load`) only lists file paths; a frame's files are
parsed when the frame is accessed. A :class:`Frame` is one image seen by one camera:
its :class:`~camgeom.camera.Camera` in the OpenCV convention (x right, y down, z
forward; pixel centres at +0.5), its landmark groups (:class:`Landmarks`), everything
the vendor stored about the camera (:class:`CameraMetadata`) and the paths of its
image, depth, normal and segmentation files with readers that undo each vendor's
storage conventions. See ``docs/datasets.md`` for each vendor's layouts and quirks.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, overload

import numpy as np

from camgeom.errors import CamgeomError, FormatError, InvalidValueError, ShapeError
from camgeom.io.depthfile import BACKGROUND_DEPTH_VALUES, mask_background_depth

if TYPE_CHECKING:
    from camgeom.camera import Camera
    from camgeom.poses import EulerRule

__all__ = [
    "BACKGROUND_DEPTH_VALUES",
    "CameraMetadata",
    "Dataset",
    "Frame",
    "FrameError",
    "Landmarks",
    "LazyLandmarks",
    "mask_background_depth",
]

VENDORS = ("synthesisai", "datagen", "geogen", "facesynthetics")
ON_ERROR = ("raise", "skip", "collect")

_T = TypeVar("_T")


def _readonly(arr: np.ndarray | None) -> np.ndarray | None:
    if arr is not None:
        arr.flags.writeable = False
    return arr


def _as_array(value: Any, name: str, trailing: tuple[int, ...], dtype: Any) -> np.ndarray | None:
    if value is None:
        return None
    arr = np.array(value, dtype=dtype)  # a private copy: the caller's array is not frozen
    if arr.ndim != 1 + len(trailing) or tuple(arr.shape[1:]) != trailing:
        want = "(N" + "".join(f", {t}" for t in trailing) + (",)" if not trailing else ")")
        raise ShapeError(f"Expected `{name}` to have shape {want}, got {arr.shape}.")
    return arr


@dataclass(frozen=True, eq=False)
class Landmarks:
    """One group of landmarks of one frame (e.g. iBUG-68), as parallel arrays.

    Parameters
    ----------
    names : tuple of str, length N
        Point names in the group's standard order (e.g. ``"1"`` .. ``"68"`` for iBUG-68).
    world : ndarray, shape (N, 3), float64, or None
        World positions in metres (None when the vendor gives only 2D labels).
    pixels : ndarray, shape (N, 2), float64, or None
        The vendor's own 2D labels converted to camgeom (u, v) pixel coordinates
        (column, row; pixel centres at +0.5). NaN where a point has no label.
    visible : ndarray, shape (N,), bool, or None
        The vendor's visibility flag (None when the vendor has none).
    camera_space : ndarray, shape (N, 3), float64, or None
        The vendor's stored camera-frame positions, converted to the OpenCV camera
        frame (metres), kept for verification.
    distance : ndarray, shape (N,), float64, or None
        The vendor's stored ``distance_to_camera`` (metres).
    in_frustum : ndarray, shape (N,), bool, or None
        The vendor's stored in-frustum flag.
    pixels_decimals : int or None
        Number of decimals the stored 2D labels were rounded to, in the vendor's
        own units (4 for Synthesis iBUG-68 ``screen_space_pos``, 0 for integer
        pixel labels); None when they are not rounded.
    pixels_scale : tuple of float
        Factor from the vendor's label units to pixels per axis: ``(W, H)`` for
        normalised ``screen_space_pos``, ``(1, 1)`` for pixel labels.
    source : str
        The file and JSON path the group was read from.

    Examples
    --------
    >>> lm = Landmarks(names=("a", "b"), world=[[0, 0, 1], [0, 1, 1]], pixels=None, visible=None)
    >>> len(lm), lm.world.dtype, lm.world.flags.writeable
    (2, dtype('float64'), False)
    """

    names: tuple[str, ...]
    world: np.ndarray | None
    pixels: np.ndarray | None
    visible: np.ndarray | None
    camera_space: np.ndarray | None = None
    distance: np.ndarray | None = None
    in_frustum: np.ndarray | None = None
    pixels_decimals: int | None = None
    pixels_scale: tuple[float, float] = (1.0, 1.0)
    source: str = ""

    def __post_init__(self) -> None:
        names = tuple(str(n) for n in self.names)
        object.__setattr__(self, "names", names)
        n = len(names)
        arrays = {
            "world": _as_array(self.world, "world", (3,), np.float64),
            "pixels": _as_array(self.pixels, "pixels", (2,), np.float64),
            "visible": _as_array(self.visible, "visible", (), bool),
            "camera_space": _as_array(self.camera_space, "camera_space", (3,), np.float64),
            "distance": _as_array(self.distance, "distance", (), np.float64),
            "in_frustum": _as_array(self.in_frustum, "in_frustum", (), bool),
        }
        for key, arr in arrays.items():
            if arr is not None and arr.shape[0] != n:
                raise ShapeError(
                    f"Expected `{key}` of landmark group {self.source or '?'} to have {n} rows "
                    f"(one per name), got {arr.shape[0]}."
                )
            object.__setattr__(self, key, _readonly(arr))
        object.__setattr__(
            self, "pixels_scale", (float(self.pixels_scale[0]), float(self.pixels_scale[1]))
        )

    @classmethod
    def _trusted(cls, **fields: Any) -> Landmarks:
        """Build from read-only arrays a reader already checked (shapes, dtypes): no copies."""
        obj = object.__new__(cls)
        setattr_ = object.__setattr__
        for key, default in _LANDMARK_DEFAULTS:
            setattr_(obj, key, fields.get(key, default))
        return obj

    def __len__(self) -> int:
        return len(self.names)

    @property
    def pixels_rounding(self) -> np.ndarray | None:
        """Worst-case rounding error of :attr:`pixels` in pixels per axis, shape (2,).

        ``0.5 * 10**-pixels_decimals * pixels_scale``; None when not rounded.
        """
        if self.pixels_decimals is None:
            return None
        return 0.5 * 10.0 ** (-self.pixels_decimals) * np.asarray(self.pixels_scale)

    def index(self, name: str) -> int:
        """Return the row of the point called ``name``."""
        try:
            return self.names.index(str(name))
        except ValueError:
            raise KeyError(
                f"no landmark named {name!r} in this group of {len(self)} "
                f"({', '.join(self.names[:5])}{', ...' if len(self) > 5 else ''})"
            ) from None

    def __repr__(self) -> str:
        parts = [f"N={len(self)}"]
        for key in ("world", "pixels", "visible", "camera_space", "distance", "in_frustum"):
            if getattr(self, key) is not None:
                parts.append(key)
        return f"Landmarks({', '.join(parts)}, source={self.source!r})"


_LANDMARK_DEFAULTS = tuple((f.name, f.default) for f in Landmarks.__dataclass_fields__.values())


class LazyLandmarks(Mapping[str, Landmarks]):
    """A read-only mapping of landmark groups; some groups are read on first access.

    Groups stored in separate files (the Synthesis AI dense ``.obj`` sets) are
    parsed only when asked for, so loading a frame stays as cheap as parsing its
    metadata file. ``len``, ``in`` and iteration do not read anything.

    Examples
    --------
    >>> lm = LazyLandmarks({}, {"dense": lambda: Landmarks(("0",), [[0, 0, 0]], None, None)})
    >>> list(lm), len(lm["dense"])
    (['dense'], 1)
    """

    def __init__(
        self,
        groups: Mapping[str, Landmarks],
        loaders: Mapping[str, Callable[[], Landmarks]] | None = None,
    ) -> None:
        self._groups: dict[str, Landmarks] = dict(groups)
        self._loaders: dict[str, Callable[[], Landmarks]] = dict(loaders or {})
        self._order = list(self._groups) + [k for k in self._loaders if k not in self._groups]

    def __getitem__(self, key: str) -> Landmarks:
        if key not in self._groups:
            loader = self._loaders.get(key)
            if loader is None:
                raise KeyError(
                    f"no landmark group {key!r}; this frame has: {', '.join(self._order)}"
                )
            self._groups[key] = loader()
        return self._groups[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, key: object) -> bool:
        return key in self._groups or key in self._loaders

    def loaded(self) -> tuple[str, ...]:
        """Names of the groups already parsed."""
        return tuple(k for k in self._order if k in self._groups)

    def __repr__(self) -> str:
        return f"LazyLandmarks({self._order!r})"


@dataclass(frozen=True, eq=False)
class CameraMetadata:
    """Everything a vendor stored about one camera, as stored, for verification.

    All fields are optional (None when the vendor does not store them). Matrices
    are float64 arrays; angles are radians unless the field says degrees; lengths
    are millimetres for the sensor and the focal length, metres for positions.
    Nothing here is made consistent: a verifier compares these values with each
    other and with :attr:`Frame.camera`.

    Parameters
    ----------
    focal_length_mm, sensor_width_mm, sensor_height_mm : float or None
        Lens focal length and sensor size in millimetres.
    fov_x, fov_y : float or None
        Stored horizontal / vertical field of view in radians.
    fov_source : str or None
        Where the field of view was read from (file and key).
    shift_x, shift_y : float or None
        Lens shift as fractions of the image width / height (Synthesis AI
        ``lens_shift_horizontal`` / ``lens_shift_vertical`` from ``metadata.jsonl``).
    window_offset_x, window_offset_y : float or None
        Synthesis AI window offsets from ``metadata.jsonl``.
    width, height : int or None
        Image size in pixels as stored in the metadata.
    stored_K : ndarray (3, 3) or None
        The intrinsic matrix as stored (may disagree with the focal length / FOV).
    stored_cam_from_world : ndarray (4, 4) or None
        The stored world-to-camera matrix converted to the OpenCV camera frame after
        undoing documented layout quirks (room-format transpose; Datagen 3x4 padded).
    stored_world_from_cam : ndarray (4, 4) or None
        The stored camera-to-world matrix, converted likewise.
    location : ndarray (3,) or None
        Stored camera centre in world coordinates (metres).
    look_at, up : ndarray (3,) or None
        Stored viewing direction and up vector in world coordinates.
    quaternion : ndarray (4,) or None
        A stored rotation quaternion, numbers in stored order.
    quaternion_order : {"xyzw", "wxyz"} or None
        The order the numbers really are in (Synthesis AI: ``"xyzw"`` whatever the
        key is called).
    quaternion_label : str or None
        The key the quaternion was stored under, e.g. ``"quaternion_wxyz"``.
    euler : ndarray (3,) or None
        Stored Euler angles, in stored order.
    euler_rule : camgeom.poses.EulerRule or None
        How the vendor turns :attr:`euler` into the camera rotation (axis
        sequence, signs, fixed right factor, which pose it gives).
    euler_sequence : str or None
        What the three numbers are called as stored, e.g. ``"yaw,pitch,roll"`` or
        ``"xyz"`` (a label; :attr:`euler_rule` is what the math uses).
    euler_degrees : bool or None
        True when :attr:`euler` is in degrees.
    euler_source : str or None
        Where the angles were read from.
    source : str or None
        The metadata file the camera was read from.
    axis_convention : str or None
        Camera-axis convention of the stored pose matrices and rotations, as the
        vendor stored them (``"opengl"`` for Synthesis AI, ``"opencv"`` for
        Datagen). :attr:`stored_cam_from_world` is already converted to OpenCV.
    pose_kind : {"cam_from_world", "world_from_cam", "both"} or None
        Which pose direction(s) the vendor stored.
    matrix_layout : str or None
        How the stored 4x4 was laid out: ``"row_major"`` or ``"transposed"``
        (translation in the last row, undone by the reader).
    pixel_convention : str or None
        The pixel convention of the vendor's 2D labels, as a
        :func:`camgeom.conventions.convert_pixels` name (``"screen_space"``,
        ``"row_col"``, ``"camgeom"``); the readers convert labels to camgeom's.
    square_pixels : bool or None
        True when the vendor's camera model promises ``fx == fy``; False when
        it documents non-square pixels; None when it says nothing.
    shift_units : {"fit", "per_axis"} or None
        Units of :attr:`shift_x` / :attr:`shift_y` for
        :func:`camgeom.intrinsics.principal_point_from_shift`.
    stored_K_includes_shift : bool or None
        Whether the vendor's stored K already has the lens shift applied.
    extras : dict
        Any other stored camera value (vendor-specific keys, see ``docs/datasets.md``).
    """

    focal_length_mm: float | None = None
    sensor_width_mm: float | None = None
    sensor_height_mm: float | None = None
    fov_x: float | None = None
    fov_y: float | None = None
    fov_source: str | None = None
    shift_x: float | None = None
    shift_y: float | None = None
    window_offset_x: float | None = None
    window_offset_y: float | None = None
    width: int | None = None
    height: int | None = None
    stored_K: np.ndarray | None = None
    stored_cam_from_world: np.ndarray | None = None
    stored_world_from_cam: np.ndarray | None = None
    location: np.ndarray | None = None
    look_at: np.ndarray | None = None
    up: np.ndarray | None = None
    quaternion: np.ndarray | None = None
    quaternion_order: str | None = None
    quaternion_label: str | None = None
    euler: np.ndarray | None = None
    euler_rule: EulerRule | None = None
    euler_sequence: str | None = None
    euler_degrees: bool | None = None
    euler_source: str | None = None
    source: str | None = None
    axis_convention: str | None = None
    pose_kind: str | None = None
    matrix_layout: str | None = None
    pixel_convention: str | None = None
    square_pixels: bool | None = None
    shift_units: str | None = None
    stored_K_includes_shift: bool | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def _trusted(cls, **fields: Any) -> CameraMetadata:
        """Build from float64 arrays a reader owns (no copies; arrays become read-only)."""
        obj = object.__new__(cls)
        for f in cls.__dataclass_fields__.values():
            value = fields.get(f.name, f.default)
            if f.name == "extras" and value is f.default:
                value = {}
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
            object.__setattr__(obj, f.name, value)
        return obj

    def __post_init__(self) -> None:
        for key in (
            "stored_K",
            "stored_cam_from_world",
            "stored_world_from_cam",
            "location",
            "look_at",
            "up",
            "quaternion",
            "euler",
        ):
            value = getattr(self, key)
            if value is not None:
                object.__setattr__(self, key, _readonly(np.array(value, dtype=np.float64)))


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
    vendor : {"synthesisai", "datagen", "geogen", "facesynthetics"}
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
    """

    camera: Camera | None
    vendor: str
    version: str | None
    frame_id: str
    scene_id: str
    camera_name: str
    image_path: Path | None = None
    depth_path: Path | None = None
    depth_kind: str | None = None
    normals_path: Path | None = None
    normals_convention: str | None = None
    segmentation_path: Path | None = None
    segmentation_mapping: Mapping[str, Any] = field(default_factory=dict)
    landmarks: Mapping[str, Landmarks] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)
    metadata: CameraMetadata = field(default_factory=CameraMetadata)
    notes: tuple[str, ...] = ()
    source: Path | None = None
    depth_channel: str | None = None
    alpha_path: Path | None = None

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
        :attr:`depth_kind`). Background sentinels (:data:`BACKGROUND_DEPTH_VALUES`:
        0, +inf, 0.0025, 1e10, 65504) become NaN; half floats are widened to float32.
        """
        from camgeom.io import read_depth

        path = self._need(self.depth_path, "depth")
        return read_depth(path, channel=self.depth_channel, background="nan")

    def read_image(self) -> np.ndarray:
        """Read the rendered image as uint8 RGB (H, W, 3); an alpha channel is dropped."""
        from PIL import Image

        path = self._need(self.image_path, "image")
        try:
            with Image.open(path) as img:
                if img.mode in ("I;16", "I;16B", "I"):
                    arr16 = np.asarray(img, dtype=np.float64)
                    gray = np.clip(np.round(arr16 / 257.0), 0, 255).astype(np.uint8)
                    return np.repeat(gray[..., None], 3, axis=2)
                return np.asarray(img.convert("RGB"), dtype=np.uint8)
        except OSError as exc:
            raise FormatError(f"{path}: cannot read the image ({exc}).") from None

    def read_normals(self) -> np.ndarray:
        """Read the normal map as float32 (H, W, 3) in the OpenCV camera frame.

        ``"opengl"`` normals (Synthesis AI ``normals.tif``) become ``(nx, -ny, -nz)``;
        ``"datagen_rgb"`` normals are decoded ``n = 2 * RGB - 1`` first. Pixels with
        no surface (background in the depth map, else zero alpha, else an all-zero
        RGB encoding) are NaN. Vectors are not renormalised.
        """
        from camgeom.conventions import convert_points

        path = self._need(self.normals_path, "normals")
        if self.normals_convention == "opengl":
            from camgeom.io import read_tiff

            vec = np.asarray(read_tiff(path), dtype=np.float32)
            nodata = None
        elif self.normals_convention == "datagen_rgb":
            from camgeom.io import read_exr

            channels = read_exr(path, ["R", "G", "B"])
            rgb = np.stack([channels["R"], channels["G"], channels["B"]], axis=-1).astype(
                np.float32
            )
            vec = 2.0 * rgb - 1.0
            nodata = np.all(rgb == 0.0, axis=-1)
        else:
            raise FormatError(
                f"frame {self.frame_id}: unknown normals convention {self.normals_convention!r}."
            )
        if vec.ndim != 3 or vec.shape[2] != 3:
            raise FormatError(f"{path}: expected a (H, W, 3) normal map, got shape {vec.shape}.")
        out = convert_points(vec, "opengl", "opencv").astype(np.float32)
        mask = self._surface_mask(vec.shape[:2])
        if mask is None and nodata is not None:
            mask = ~nodata
        if mask is not None:
            out[~mask] = np.nan
        return out

    def _surface_mask(self, shape: tuple[int, ...]) -> np.ndarray | None:
        if self.depth_path is not None and self.depth_path.is_file():
            depth = self.read_depth()
            if depth.shape == tuple(shape):
                return np.isfinite(depth)
        if self.alpha_path is not None and self.alpha_path.is_file():
            from camgeom.io import read_tiff

            alpha = np.asarray(read_tiff(self.alpha_path))
            if alpha.shape[:2] == tuple(shape):
                return (alpha if alpha.ndim == 2 else alpha[..., 0]) > 0
        return None

    def read_segmentation(self) -> np.ndarray:
        """Read the segmentation image as stored.

        Integer-id PNGs (Synthesis AI, FaceSynthetics) come back (H, W) integer;
        colour PNGs (Datagen) (H, W, 3) uint8; Datagen's older EXR masks (H, W, 3)
        float32. Compare with :attr:`segmentation_mapping`.
        """
        path = self._need(self.segmentation_path, "segmentation")
        if path.suffix.lower() == ".exr":
            from camgeom.io import read_exr

            channels = read_exr(path, ["R", "G", "B"])
            return np.stack([channels["R"], channels["G"], channels["B"]], axis=-1).astype(
                np.float32
            )
        from PIL import Image

        try:
            with Image.open(path) as img:
                if img.mode in ("RGBA", "P", "LA"):
                    img = img.convert("RGB")
                return np.array(img)
        except OSError as exc:
            raise FormatError(f"{path}: cannot read the segmentation image ({exc}).") from None

    def __repr__(self) -> str:
        size = f"{self.width}x{self.height}" if self.width else "no camera"
        return (
            f"Frame({self.vendor} {self.version or 'unversioned'}, id={self.frame_id!r}, "
            f"scene={self.scene_id!r}, camera={self.camera_name!r}, {size}, "
            f"landmarks={list(self.landmarks)})"
        )


# ---------------------------------------------------------------------- dataset


class FrameSource(ABC):
    """A not-yet-parsed frame: cheap to hold, parsed by :meth:`read`."""

    vendor: str
    frame_id: str
    path: Path

    @abstractmethod
    def read(self) -> Frame:
        """Parse the frame's files and return the :class:`Frame`."""

    @abstractmethod
    def scene_id(self) -> str:
        """The frame's scene id, reading as little as possible."""


class Dataset(Sequence[Frame]):
    """A lazy, indexable collection of frames from one or more vendor layouts.

    ``len(ds)``, ``ds.frame_ids`` and ``ds.scenes()`` do not parse frames (scenes may
    read one small file per frame); ``ds[i]`` and iteration parse one frame at a
    time. Index with an int, a slice (a new :class:`Dataset`) or a frame id.

    Iterating raises on the first bad frame; :meth:`iter_frames` can skip bad frames
    or collect them in :attr:`errors`, and :meth:`scan` checks every frame.

    Examples
    --------
    >>> ds = Dataset([], root=".")
    >>> len(ds), ds.errors
    (0, [])
    """

    def __init__(
        self,
        sources: Sequence[FrameSource],
        *,
        root: str | os.PathLike[str],
        description: str = "",
    ) -> None:
        self._sources = list(sources)
        self.root = root if isinstance(root, Path) else Path(root)
        self.description = description
        self.errors: list[FrameError] = []
        self._by_id: dict[str, int] | None = None

    # ------------------------------------------------------------------ sequence
    def __len__(self) -> int:
        return len(self._sources)

    @overload
    def __getitem__(self, index: int) -> Frame: ...

    @overload
    def __getitem__(self, index: slice) -> Dataset: ...

    @overload
    def __getitem__(self, index: str) -> Frame: ...

    def __getitem__(self, index: int | slice | str) -> Frame | Dataset:
        if isinstance(index, slice):
            return Dataset(self._sources[index], root=self.root, description=self.description)
        if isinstance(index, str):
            if self._by_id is None:
                self._by_id = {s.frame_id: i for i, s in enumerate(self._sources)}
            if index not in self._by_id:
                raise KeyError(f"no frame with id {index!r} in {self.root}")
            return self._sources[self._by_id[index]].read()
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(
                f"Dataset indices must be int, slice or frame id, got {type(index).__name__}"
            )
        n = len(self._sources)
        i = int(index)
        if not -n <= i < n:
            raise IndexError(f"frame index {i} out of range for a dataset of {n} frames")
        return self._sources[i].read()

    def __iter__(self) -> Iterator[Frame]:
        return self.iter_frames(on_error="raise")

    def __repr__(self) -> str:
        vendors = ", ".join(self.vendors) or "empty"
        return f"Dataset({len(self)} frames, {vendors}, root={str(self.root)!r})"

    # ------------------------------------------------------------------ cheap info
    @property
    def frame_ids(self) -> tuple[str, ...]:
        """The id of every frame, in order (no parsing)."""
        return tuple(s.frame_id for s in self._sources)

    @property
    def paths(self) -> tuple[Path, ...]:
        """The main file or folder of every frame, in order (no parsing)."""
        return tuple(s.path for s in self._sources)

    @property
    def vendors(self) -> tuple[str, ...]:
        """The vendors present, sorted (no parsing)."""
        return tuple(sorted({s.vendor for s in self._sources}))

    # ------------------------------------------------------------------ iteration
    def iter_frames(self, *, on_error: str = "raise") -> Iterator[Frame]:
        """Yield each frame, parsed on demand.

        Parameters
        ----------
        on_error : {"raise", "skip", "collect"}
            What to do with a frame whose files cannot be read: raise the
            :class:`~camgeom.errors.CamgeomError`; skip it silently; or skip it and
            append a :class:`FrameError` (path and message) to :attr:`errors`.
        """
        for _, frame in self._each(lambda source: source.read(), on_error):
            yield frame

    def _each(
        self, fn: Callable[[FrameSource], _T], on_error: str
    ) -> Iterator[tuple[FrameSource, _T]]:
        """Apply ``fn`` to every source under the ``on_error`` policy of :meth:`iter_frames`."""
        if on_error not in ON_ERROR:
            raise InvalidValueError(
                f"Expected `on_error` to be one of {ON_ERROR!r}, got {on_error!r}."
            )
        for source in self._sources:
            try:
                value = fn(source)
            except (CamgeomError, OSError) as exc:
                if on_error == "raise":
                    raise
                if on_error == "collect":
                    self.errors.append(FrameError(source.frame_id, source.path, str(exc)))
                continue
            yield source, value

    def scan(self) -> list[FrameError]:
        """Parse every frame and return the ones that failed (also kept in :attr:`errors`).

        Frames are not kept; use this to check a dataset before a long job.
        """
        self.errors = []
        for _ in self.iter_frames(on_error="collect"):
            pass
        return list(self.errors)

    def scenes(self, *, on_error: str = "raise") -> dict[str, Dataset]:
        """Group frames by scene: scene id -> a :class:`Dataset` of its frames.

        A scene holds every camera's view of one subject at one moment (a Datagen
        HIC ``frames/NNN`` folder, Datagen Faces datapoints that share actor and
        pose, a Synthesis AI task and frame number, a GeoGen subject). Only the
        files needed for the scene id are read. ``on_error`` as in
        :meth:`iter_frames`.
        """
        groups: dict[str, list[FrameSource]] = {}
        for source, key in self._each(lambda source: source.scene_id(), on_error):
            groups.setdefault(key, []).append(source)
        return {
            key: Dataset(items, root=self.root, description=f"scene {key}")
            for key, items in groups.items()
        }

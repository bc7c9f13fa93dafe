"""What a vendor stored about one camera, as stored: :class:`CameraMetadata`.

The readers build the :class:`~camgeom.camera.Camera` of a frame from the values
that reproduce the vendor's own labels; everything else they read about the
camera -- the stored matrices, focal length, sensor, field of view, lens shift,
quaternion, Euler angles and what convention each was stored in -- lands here
unchanged, so that :mod:`camgeom.verification` can compare it with the camera.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from camgeom.datasets._common import readonly

if TYPE_CHECKING:
    from camgeom.poses import EulerRule

__all__ = ["CameraMetadata", "MatrixLayout", "PoseKind", "ShiftUnits"]

PoseKind = Literal["cam_from_world", "world_from_cam", "both"]
"""Which pose direction(s) a vendor stored."""

MatrixLayout = Literal["row_major", "transposed"]
"""How a stored 4x4 was laid out (``"transposed"``: translation in the last row)."""

ShiftUnits = Literal["fit", "per_axis"]
"""Units of a stored lens shift, as :func:`camgeom.intrinsics.principal_point_from_shift` names them."""

_ARRAY_FIELDS = (
    "stored_K",
    "stored_cam_from_world",
    "stored_world_from_cam",
    "location",
    "look_at",
    "up",
    "quaternion",
    "euler",
)


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
    calibrated_principal_point : bool or None
        True when the format stores a calibrated principal point, which may lie
        anywhere in the image (COLMAP, nerfstudio): no rule ties it to the image
        centre, so ``verify`` reports it without judging it.
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
    pose_kind: PoseKind | None = None
    matrix_layout: MatrixLayout | None = None
    pixel_convention: str | None = None
    square_pixels: bool | None = None
    shift_units: ShiftUnits | None = None
    stored_K_includes_shift: bool | None = None
    calibrated_principal_point: bool | None = None
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
        for key in _ARRAY_FIELDS:
            value = getattr(self, key)
            if value is not None:
                object.__setattr__(self, key, readonly(np.array(value, dtype=np.float64)))

"""Synthesis AI camera: stored intrinsics and poses, lens shift, :class:`CameraMetadata`.

* ``camera.intrinsics`` is an OpenCV K (v1.5 may nest it as ``intrinsics.mat_3x3``).
* ``camera.transform_world2cam.mat_4x4`` is ``cam_from_world`` in the **OpenGL**
  camera frame (``transform_cam2world`` its inverse, when present); the "room"
  format stores both **transposed** (translation in the last row), detected from
  the data.
* The lens shift of ``metadata.jsonl`` is a fraction of the width / height
  (:data:`SHIFT_UNITS`); the stored K does not include it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from camgeom.datasets._common import stored_pose
from camgeom.datasets._json import (
    check_depth,
    get,
    get_array,
    get_optional_array,
    get_optional_float,
)
from camgeom.datasets.metadata import CameraMetadata
from camgeom.errors import CamgeomError, FormatError, MissingKeyError
from camgeom.intrinsics import principal_point_from_shift
from camgeom.poses import EulerRule

__all__ = [
    "AXIS_CONVENTION",
    "PIXEL_CONVENTION",
    "SHIFT_UNITS",
    "SYNTHESIS_EULER_RULE",
    "StoredPoses",
    "camera_metadata",
    "read_stored_intrinsics",
    "read_stored_poses",
    "shifted_intrinsics",
]

AXIS_CONVENTION = "opengl"
"""Camera axes of the stored poses, rotations, ``camera_space_pos`` and normals."""

PIXEL_CONVENTION = "screen_space"
"""The :func:`~camgeom.conventions.convert_pixels` name of ``screen_space_pos``."""

SHIFT_UNITS = "per_axis"
"""``lens_shift_horizontal`` / ``_vertical`` are fractions of the width / height
(:func:`camgeom.intrinsics.principal_point_from_shift`)."""

SYNTHESIS_EULER_RULE = EulerRule("xyz", degrees=True, gives="cam_from_world", axes="opengl")
"""``transform_world2cam.euler_xyz``: extrinsic x-y-z degrees giving the OpenGL
``cam_from_world`` rotation. Every public sample rotates about one axis only, so
extrinsic and intrinsic order cannot be told apart on them."""


class StoredPoses(NamedTuple):
    """The stored poses after undoing the layout, in OpenCV camera axes, values as stored."""

    cam_from_world: np.ndarray
    world_from_cam: np.ndarray | None
    transposed: bool


def read_stored_intrinsics(info: Mapping[str, Any], path: Path) -> np.ndarray:
    """The stored K (``camera.intrinsics`` or ``camera.intrinsics.mat_3x3``), (3, 3)."""
    intr = get(info, "camera.intrinsics", path, default=None)
    if isinstance(intr, Mapping):
        return get_array(info, "camera.intrinsics.mat_3x3", path, (3, 3))
    if intr is None:
        cam = info.get("camera")
        has = ", ".join(sorted(map(str, cam))[:8]) if isinstance(cam, Mapping) else ""
        raise MissingKeyError(
            f"{path}: missing key camera.intrinsics. Layout detected: Synthesis AI "
            f"'containers' info.json (top-level keys: {', '.join(sorted(map(str, info))[:8])}; "
            f"camera keys: {has or 'none'}), which stores no intrinsics (its scripts hard-code "
            "K); camgeom needs camera.intrinsics and camera.transform_world2cam to build "
            "the camera."
        )
    return get_array(info, "camera.intrinsics", path, (3, 3), value=intr)


def _fix_layout(mat: np.ndarray) -> tuple[np.ndarray, bool]:
    """Undo the room-format transpose; returns (matrix, was_transposed)."""
    if mat[3].tolist() == [0.0, 0.0, 0.0, 1.0]:
        return mat, False
    if mat[:, 3].tolist() == [0.0, 0.0, 0.0, 1.0]:
        return mat.T.copy(), True
    return mat, False


def read_stored_poses(info: Mapping[str, Any], path: Path, notes: list[str]) -> StoredPoses:
    """``transform_world2cam`` (and ``transform_cam2world``) relabelled to OpenCV axes.

    Not checked for rigidity: the :class:`~camgeom.camera.Camera` built from
    ``cam_from_world`` checks it, and the verifier measures both as stored.
    """
    cam_from_world, transposed = _fix_layout(
        get_array(info, "camera.transform_world2cam.mat_4x4", path, (4, 4))
    )
    world_from_cam = get_optional_array(info, "camera.transform_cam2world.mat_4x4", path, (4, 4))
    if world_from_cam is not None:
        world_from_cam = stored_pose(
            _fix_layout(world_from_cam)[0], AXIS_CONVENTION, kind="world_from_cam"
        )
    if transposed:
        notes.append(
            "room format: 4x4 stored transposed (translation in the last row): transposed back"
        )
    notes.append("transform_world2cam is in the OpenGL camera frame: converted to OpenCV")
    return StoredPoses(
        stored_pose(cam_from_world, AXIS_CONVENTION, kind="cam_from_world"),
        world_from_cam,
        transposed,
    )


def shifted_intrinsics(
    K: np.ndarray, width: int, height: int, jcam: Mapping[str, Any], path: Path, notes: list[str]
) -> np.ndarray:
    """K with the principal point moved by the ``metadata.jsonl`` lens shift (if nonzero)."""
    shift_x, shift_y = jcam.get("shift_x") or 0.0, jcam.get("shift_y") or 0.0
    if shift_x != 0.0 or shift_y != 0.0:
        try:
            cx, cy = principal_point_from_shift(width, height, shift_x, shift_y, units=SHIFT_UNITS)
        except CamgeomError as exc:
            raise FormatError(
                f"{path}: cannot apply the lens shift of metadata.jsonl: {exc}"
            ) from None
        K = K.copy()
        K[0, 2], K[1, 2] = cx, cy
        notes.append(
            "lens shift from metadata.jsonl applied: cx = W/2 - shift_x W, cy = H/2 + shift_y H"
        )
    if (jcam.get("window_offset_x") or 0.0) != 0.0 or (jcam.get("window_offset_y") or 0.0) != 0.0:
        notes.append(
            "window offset in metadata.jsonl is nonzero: not applied to the intrinsics (unverified)"
        )
    return K


def camera_metadata(
    info: Mapping[str, Any],
    path: Path,
    jcam: Mapping[str, Any],
    stored_K: np.ndarray,
    poses: StoredPoses,
    notes: list[str],
) -> CameraMetadata:
    """Everything ``info.json`` and the joined ``metadata.jsonl`` line store about the camera."""
    cam = get(info, "camera", path)
    stored = cam.get("transform_world2cam")
    stored = stored if isinstance(stored, Mapping) else {}
    quat, euler = stored.get("quaternion_wxyz"), stored.get("euler_xyz")
    if quat is not None:
        notes.append("quaternion_wxyz holds (x, y, z, w)")
        quat = get_array(info, "camera.transform_world2cam.quaternion_wxyz", path, (4,), value=quat)
    if euler is not None:
        euler = get_array(info, "camera.transform_world2cam.euler_xyz", path, (3,), value=euler)
    world_from_cam = poses.world_from_cam
    zmin = get(info, "render.zmin", path, default=None)
    zmax = get(info, "render.zmax", path, default=None)
    check_depth(zmin, "render.zmin", path)  # kept as stored: printed with the metadata
    check_depth(zmax, "render.zmax", path)
    euler_fields: dict[str, Any] = {}
    if euler is not None:
        euler_fields = {
            "euler": euler,
            "euler_rule": SYNTHESIS_EULER_RULE,
            "euler_sequence": "xyz",
            "euler_degrees": True,
            "euler_source": f"{path.name}: camera.transform_world2cam.euler_xyz",
        }
    return CameraMetadata._trusted(
        focal_length_mm=get_optional_float(info, "camera.focal_length_mm", path),
        sensor_width_mm=get_optional_float(info, "camera.sensor.width_mm", path),
        sensor_height_mm=get_optional_float(info, "camera.sensor.height_mm", path),
        fov_x=get_optional_float(info, "camera.field_of_view.x_axis_rads", path),
        fov_y=get_optional_float(info, "camera.field_of_view.y_axis_rads", path),
        fov_source=f"{path.name}: camera.field_of_view" if "field_of_view" in cam else None,
        shift_x=jcam.get("shift_x"),
        shift_y=jcam.get("shift_y"),
        window_offset_x=jcam.get("window_offset_x"),
        window_offset_y=jcam.get("window_offset_y"),
        width=jcam.get("width"),
        height=jcam.get("height"),
        stored_K=stored_K,
        stored_cam_from_world=poses.cam_from_world,
        stored_world_from_cam=world_from_cam,
        location=None if world_from_cam is None else world_from_cam[:3, 3],
        quaternion=quat,
        quaternion_order=None if quat is None else "xyzw",
        quaternion_label=None if quat is None else "transform_world2cam.quaternion_wxyz",
        **euler_fields,
        source=str(path),
        axis_convention=AXIS_CONVENTION,
        pose_kind="cam_from_world" if world_from_cam is None else "both",
        matrix_layout="transposed" if poses.transposed else "row_major",
        pixel_convention=PIXEL_CONVENTION,
        square_pixels=not poses.transposed,  # room-format K comes from two FOVs: fx != fy
        shift_units=SHIFT_UNITS,
        stored_K_includes_shift=False,
        extras={
            k: v
            for k, v in {
                "focal_length_mm_requested": jcam.get("focal_length_mm"),
                "sensor_width_mm_requested": jcam.get("sensor_width_mm"),
                "zmin": zmin,
                "zmax": zmax,
            }.items()
            if v is not None
        },
    )

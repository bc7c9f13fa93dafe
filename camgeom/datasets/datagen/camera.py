"""Datagen camera: ``camera_metadata.json`` (and the request's Euler angles).

* v1.1.0: ``K = intrinsic_matrix``, ``cam_from_world`` = ``extrinsic_matrix``
  (3x4, world -> OpenCV camera) padded to 4x4.
* Files without ``version`` store wrong matrices (``t = -R^T C``; in-cabin
  ``fy = fx W / H``): the camera is rebuilt from ``location``, ``look_at_vector``,
  ``up_vector`` and the horizontal FOV (``fx = fy = (W/2) / tan(hfov/2)``,
  ``cx = W/2``, ``cy = H/2``); the stored matrices are kept in :class:`CameraMetadata`.
* The camera's yaw, pitch and roll in ``datapoint_request.json`` follow
  :data:`DATAGEN_EULER_RULE`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from camgeom.datasets._common import make_camera
from camgeom.datasets._json import get, get_array, get_float
from camgeom.datasets.datagen.keypoints import PIXEL_CONVENTION
from camgeom.datasets.metadata import CameraMetadata
from camgeom.errors import CamgeomError, FormatError, MissingKeyError, UnknownVersionError
from camgeom.poses import EulerRule

if TYPE_CHECKING:
    from camgeom.camera import Camera

__all__ = ["AXIS_CONVENTION", "DATAGEN_EULER_RULE", "KNOWN_CAMERA_VERSIONS", "read_camera"]

AXIS_CONVENTION = "opencv"
"""Camera axes of ``extrinsic_matrix`` (world -> OpenCV camera)."""

DATAGEN_EULER_RULE = EulerRule(
    "yxz",
    signs=(-1.0, -1.0, 1.0),
    degrees=True,
    right=((1.0, 0.0, 0.0), (0.0, 0.0, -1.0), (0.0, 1.0, 0.0)),
    gives="cam_from_world",
    axes="opencv",
)
"""Camera (yaw, pitch, roll) in ``datapoint_request.json``, degrees:
``from_euler("yxz", (-yaw, -pitch, roll)) @ [[1,0,0],[0,0,-1],[0,1,0]]`` is the
OpenCV ``cam_from_world`` rotation (1e-7 on every sample; roll is 0 in all of
them, so its sign is unverified)."""

KNOWN_CAMERA_VERSIONS = ("1.1.0",)
"""``camera_metadata.json`` versions read with the stored matrices."""


def _vec3(doc: Any, keypath: str, path: Path) -> np.ndarray:
    node = get(doc, keypath, path)
    if not isinstance(node, Mapping):
        raise FormatError(f"{path}: expected an object with x, y, z at {keypath}.")
    return np.array([get_float(doc, f"{keypath}.{k}", path) for k in "xyz"])


def read_camera(
    meta: Mapping[str, Any],
    path: Path,
    version: str | None,
    request: Any,
    camera_name: str,
    notes: list[str],
) -> tuple[Camera, CameraMetadata]:
    """The camera of a ``camera_metadata.json`` and what it stores, by version.

    An unknown version is read with the 1.1.0 layout and a ``UserWarning``; if it
    does not fit, :class:`UnknownVersionError`.
    """
    if version is None:
        return camera_unversioned(meta, path, request, camera_name, notes)
    if version in KNOWN_CAMERA_VERSIONS:
        return camera_v110(meta, path, request, camera_name, notes)
    warnings.warn(
        f"{path}: unknown Datagen camera_metadata version {version!r} (known: "
        f"{', '.join(KNOWN_CAMERA_VERSIONS)}); reading it with the 1.1.0 layout.",
        UserWarning,
        stacklevel=3,
    )
    try:
        return camera_v110(meta, path, request, camera_name, notes)
    except (MissingKeyError, FormatError) as exc:
        raise UnknownVersionError(
            f"{path}: unknown Datagen camera_metadata version {version!r} and the file does not "
            f"fit the 1.1.0 layout: {exc}"
        ) from None


def _resolution(meta: Mapping[str, Any], path: Path) -> tuple[int, int]:
    out = []
    for axis in "xy":
        value = get_float(meta, f"resolution_px.{axis}", path)
        if value <= 0 or not float(value).is_integer():
            raise FormatError(
                f"{path}: resolution_px.{axis} must be a positive whole number, got {value}."
            )
        out.append(int(value))
    return out[0], out[1]


def _stored_extrinsic(meta: Mapping[str, Any], path: Path) -> np.ndarray | None:
    raw = meta.get("extrinsic_matrix")
    if raw is None:
        return None
    rows = 4 if isinstance(raw, list) and len(raw) == 4 else 3
    ext = get_array(meta, "extrinsic_matrix", path, (rows, 4), value=raw)
    out = np.eye(4)
    out[:rows] = ext
    return out


def _metadata(
    meta: Mapping[str, Any],
    path: Path,
    request: Any,
    camera_name: str,
    size: tuple[int, int],
    stored_cam_from_world: np.ndarray | None,
) -> CameraMetadata:
    def opt(keypath: str) -> float | None:
        value = get(meta, keypath, path, default=None)
        return None if value is None else get_float(meta, keypath, path, value=value)

    fov_h, fov_v = opt("fov.horizontal"), opt("fov.vertical")
    K = meta.get("intrinsic_matrix")
    euler = None
    euler_source = None
    extras: dict[str, Any] = {}
    cam_req = _request_camera(request, camera_name)
    if cam_req is not None:
        request_path = _request_path(path)
        rot = get(cam_req, "extrinsic_params.rotation", request_path, default=None)
        if isinstance(rot, Mapping) and all(k in rot for k in ("yaw", "pitch", "roll")):
            euler = np.array(
                [
                    get_float(rot, f"{_ROTATION}.{k}", request_path, value=rot[k])
                    for k in ("yaw", "pitch", "roll")
                ]
            )
            euler_source = "datapoint_request.json: camera.extrinsic_params.rotation"
        intr = cam_req.get("intrinsic_params")
        if isinstance(intr, Mapping) and intr.get("sensor_width") is not None:
            extras["sensor_width_mm_requested"] = intr.get("sensor_width")
    for key in ("camera_type", "aspect_px"):
        if key in meta:
            extras[key] = meta[key]
    return CameraMetadata(
        focal_length_mm=opt("focal_length"),
        sensor_width_mm=opt("sensor.sensor_width"),
        sensor_height_mm=opt("sensor.sensor_height"),
        fov_x=None if fov_h is None else math.radians(fov_h),
        fov_y=None if fov_v is None else math.radians(fov_v),
        fov_source="camera_metadata.json: fov (degrees)" if fov_h is not None else None,
        width=size[0],
        height=size[1],
        stored_K=None if K is None else get_array(meta, "intrinsic_matrix", path, (3, 3), value=K),
        stored_cam_from_world=stored_cam_from_world,
        location=_vec3(meta, "location", path) if "location" in meta else None,
        look_at=_vec3(meta, "orientation.look_at_vector", path)
        if get(meta, "orientation.look_at_vector", path, default=None) is not None
        else None,
        up=_vec3(meta, "orientation.up_vector", path)
        if get(meta, "orientation.up_vector", path, default=None) is not None
        else None,
        euler=euler,
        euler_rule=DATAGEN_EULER_RULE if euler is not None else None,
        euler_sequence="yaw,pitch,roll" if euler is not None else None,
        euler_degrees=True if euler is not None else None,
        euler_source=euler_source,
        source=str(path),
        axis_convention=AXIS_CONVENTION,
        pose_kind="cam_from_world" if stored_cam_from_world is not None else None,
        matrix_layout="row_major",
        pixel_convention=PIXEL_CONVENTION,
        square_pixels=True,
        extras=extras,
    )


_ROTATION = "datapoints[*].camera.extrinsic_params.rotation"


def _request_path(meta_path: Path) -> Path:
    """The ``datapoint_request.json`` beside a camera folder (for messages)."""
    for folder in (meta_path.parent, meta_path.parent.parent):
        if (folder / "datapoint_request.json").is_file():
            return folder / "datapoint_request.json"
    return meta_path.parent.parent / "datapoint_request.json"


def _request_camera(request: Any, camera_name: str) -> Mapping[str, Any] | None:
    if not isinstance(request, Mapping):
        return None
    datapoints = request.get("datapoints")
    if not isinstance(datapoints, list):
        return None
    for dp in datapoints:
        cam = dp.get("camera") if isinstance(dp, Mapping) else None
        if isinstance(cam, Mapping) and cam.get("name", camera_name) == camera_name:
            return cam
    return None


def camera_v110(
    meta: Mapping[str, Any], path: Path, request: Any, camera_name: str, notes: list[str]
) -> tuple[Camera, CameraMetadata]:
    width, height = _resolution(meta, path)
    K = get_array(meta, "intrinsic_matrix", path, (3, 3))
    ext = get_array(meta, "extrinsic_matrix", path, (3, 4))
    cam_from_world = np.eye(4)
    cam_from_world[:3] = ext
    notes.append("extrinsic_matrix (3x4, world to OpenCV camera) padded to 4x4")
    camera = make_camera(K, cam_from_world, (width, height), path)
    return camera, _metadata(meta, path, request, camera_name, (width, height), cam_from_world)


def camera_unversioned(
    meta: Mapping[str, Any], path: Path, request: Any, camera_name: str, notes: list[str]
) -> tuple[Camera, CameraMetadata]:
    from camgeom.intrinsics import intrinsics_from_fov
    from camgeom.poses import cam_from_world_look_at

    width, height = _resolution(meta, path)
    location = _vec3(meta, "location", path)
    look_at = _vec3(meta, "orientation.look_at_vector", path)
    up = _vec3(meta, "orientation.up_vector", path)
    hfov = math.radians(get_float(meta, "fov.horizontal", path))
    if not 0.0 < hfov < math.pi:
        raise FormatError(
            f"{path}: fov.horizontal must be in (0, 180) degrees, got {math.degrees(hfov)}."
        )
    try:
        K = intrinsics_from_fov(hfov, width, height)
        pose = cam_from_world_look_at(location, look_at=look_at, up=up, convention="opencv")
    except CamgeomError as exc:
        raise FormatError(
            f"{path}: cannot rebuild the camera from location/look-at/up/fov: {exc}"
        ) from None
    notes.append(
        "unversioned Datagen metadata: camera rebuilt from location/look-at/up and horizontal FOV; "
        "stored matrices ignored"
    )
    camera = make_camera(K, pose, (width, height), path)
    return camera, _metadata(
        meta, path, request, camera_name, (width, height), _stored_extrinsic(meta, path)
    )

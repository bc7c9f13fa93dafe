"""Datagen datasets (Faces, HIC, and the older ``environment_NNNNN`` layout).

A frame is one camera folder (``camera_metadata.json``, ``depth.exr``,
``normal_maps.exr``, ``visible_spectrum*.png``, ``semantic_segmentation.png``,
``key_points/*.json``). Camera folders live in ``datapoint_NNNNN/`` (Faces; with
``actor_metadata.json``, ``datapoint_request.json`` and
``semantic_segmentation_metadata.json`` beside them), in
``scene_NNNNN/frames/NNN/`` (HIC) or in ``environment_NNNNN/`` (2022 datasets).

Quirks undone here (named in :attr:`Frame.notes` when they apply):

* ``pixel_2d.x`` is the image **row** and ``pixel_2d.y`` the column (the same in
  ``keypoints_2d_coordinates``, the actor metadata's eye points and
  ``face_bounding_box.json``): swapped to camgeom (u, v).
* ``camera_metadata.json`` v1.1.0: ``K = intrinsic_matrix``, ``cam_from_world`` =
  ``extrinsic_matrix`` (3x4, world -> OpenCV camera) padded to 4x4.
* Files without ``version`` store wrong matrices (``t = -R^T C``; in-cabin
  ``fy = fx W / H``): the camera is rebuilt from ``location``, ``look_at_vector``,
  ``up_vector`` and the horizontal FOV (``fx = fy = (W/2) / tan(hfov/2)``,
  ``cx = W/2``, ``cy = H/2``); the stored matrices are kept in :class:`CameraMetadata`.
* Keypoint keys ``"01".."68"`` or ``"1".."68"`` are sorted numerically (names are
  normalised to ``"1".."68"``); ear keys count from 0; the ear section is ``ears`` in
  its own file and ``ear`` in ``all_key_points.json``; ``is_visible`` is a string.
* ``depth.exr`` holds planar z in metres (``depth_kind="z"``; R, G and B identical);
  background 1e10 (float32) or 65504 (half) reads as NaN.
* ``normal_maps.exr`` encodes ``n = 2 RGB - 1`` in x right, y up, z toward the viewer
  (``normals_convention="datagen_rgb"``).
* ``semantic_segmentation_metadata.json`` colours are 16-bit (0-65535) while the PNG
  is 8-bit: the mapping holds ``value // 256``, the colour as it appears in the PNG.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from camgeom.datasets._common import make_camera, natural_key, relative_id
from camgeom.datasets._json import get, get_array, get_float, load_json
from camgeom.datasets.model import CameraMetadata, Frame, FrameSource, Landmarks
from camgeom.errors import CamgeomError, FormatError, MissingKeyError, UnknownVersionError
from camgeom.poses import EulerRule

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

__all__ = [
    "GROUP_ORDER",
    "KNOWN_CAMERA_VERSIONS",
    "SECTION_GROUPS",
    "DatagenSource",
    "find_images",
    "read_frame",
]

KNOWN_CAMERA_VERSIONS = ("1.1.0",)
"""``camera_metadata.json`` versions read with the stored matrices."""

KNOWN_KEYPOINT_VERSIONS = ("2.0.0",)

SECTION_GROUPS: dict[str, str] = {
    "face.standard": "ibug68",
    "face.dense": "mediapipe_dense",
    "ears": "ears",
    "ear": "ears",
    "head": "head",
    "body": "body",
    "feet": "feet",
    "hands": "hands",
    "hand": "hands",
    "eyes": "eyes",
}
"""Keypoint file section -> landmark group name."""

GROUP_ORDER = ("ibug68", "mediapipe_dense", "ears", "head", "eyes", "body", "hands", "feet")
"""Order of the landmark groups in :attr:`Frame.landmarks` (others follow in file order)."""

LEGACY_KEYPOINT_FILES = {
    "standard_keypoints.json": "ibug68",
    "dense_keypoints.json": "mediapipe_dense",
}

_EYE_POINTS = (
    ("apex_of_cornea_point", "cornea.apex"),
    ("center_of_iris_point", "iris.center"),
    ("iris_circle", "iris.circle"),
    ("center_of_pupil_point", "pupil.center"),
    ("pupil_circle", "pupil.circle"),
    ("center_of_rotation_point", "rotation.center"),
)
_IMAGE_RE = re.compile(r"^(visible_spectrum|infrared_spectrum)(_\d+)?\.png$")


def find_images(names: frozenset[str] | set[str]) -> list[str]:
    """Rendered image file names of a camera folder, visible spectrum first."""
    found = [n for n in names if _IMAGE_RE.match(n)]
    return sorted(found, key=lambda n: (not n.startswith("visible"), natural_key(n)))


# ------------------------------------------------------------------ frame source
@dataclass
class DatagenSource(FrameSource):
    """One camera folder (and one of its images) of a Datagen dataset, not yet parsed."""

    path: Path
    frame_id: str
    root: Path
    image_name: str | None = None
    vendor: str = "datagen"

    def read(self) -> Frame:
        return read_frame(
            self.path, frame_id=self.frame_id, root=self.root, image_name=self.image_name
        )

    def scene_id(self) -> str:
        return scene_id_of(self.path, self.root)


def scene_id_of(camera_dir: Path, root: Path) -> str:
    """Scene id of a camera folder.

    HIC (``.../frames/NNN/<camera>``): the ``frames/NNN`` folder (all cameras at one
    moment). Faces and older layouts: the actor (identity id, expression and head
    pose in ``actor_metadata.json``), so datapoints that differ only by camera or
    lighting share a scene. Without actor metadata: the datapoint folder.
    """
    moment = camera_dir.parent
    if moment.parent.name == "frames":
        return "frame:" + relative_id(moment, root)
    actor_path = _datapoint_file(camera_dir, "actor_metadata.json")
    if actor_path is None:
        return "datapoint:" + relative_id(camera_dir.parent, root)
    actor = load_json(actor_path)
    return _actor_scene(actor, actor_path, camera_dir, root)


def _actor_scene(actor: Any, actor_path: Path, camera_dir: Path, root: Path) -> str:
    if not isinstance(actor, Mapping) or "identity_id" not in actor:
        return "datapoint:" + relative_id(actor_path.parent, root)
    key = {k: actor.get(k) for k in ("identity_id", "face_expression", "head_metadata")}
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:10]
    return f"actor:{actor['identity_id']}/{digest}"


def _datapoint_file(camera_dir: Path, name: str) -> Path | None:
    for folder in (camera_dir, camera_dir.parent):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


# ------------------------------------------------------------------ reading
def read_frame(
    path: str | Path,
    *,
    frame_id: str | None = None,
    root: str | Path | None = None,
    image_name: str | None = None,
) -> Frame:
    """Read one Datagen camera folder.

    Parameters
    ----------
    path : path-like
        The camera folder (holding ``camera_metadata.json``).
    frame_id : str, optional
        Id to give the frame (default: the path relative to ``root``).
    root : path-like, optional
        Dataset root, for ids (default: the datapoint folder's parent; for HIC the
        parent of ``scene_NNNNN``).
    image_name : str, optional
        Which rendered image of the folder this frame is (default: the first
        ``visible_spectrum*.png``, else ``infrared_spectrum*.png``).

    Returns
    -------
    Frame

    Raises
    ------
    MissingKeyError, FormatError
        Missing keys, wrong shapes, non-finite numbers or corrupt JSON; the message
        names the file and the JSON path.
    UnknownVersionError
        An unknown ``camera_metadata.json`` version whose layout does not fit v1.1.0
        (one that fits gives a ``UserWarning``).
    """
    camera_dir = Path(path)
    meta_path = camera_dir / "camera_metadata.json"
    if not meta_path.is_file():
        raise FormatError(f"{camera_dir}: not a Datagen camera folder (no camera_metadata.json).")
    if root is not None:
        root_path = Path(root)
    elif camera_dir.parent.parent.name == "frames":  # HIC: ids from the scene's parent
        root_path = camera_dir.parents[3]
    else:
        root_path = camera_dir.parent.parent
    if frame_id is None:
        frame_id = relative_id(camera_dir, root_path)
    try:
        names = frozenset(p.name for p in camera_dir.iterdir())
    except OSError as exc:
        raise FormatError(f"{camera_dir}: cannot list the folder ({exc}).") from None
    notes: list[str] = []
    raw: dict[str, Any] = {}

    cam_meta = load_json(meta_path)
    if not isinstance(cam_meta, dict):
        raise FormatError(f"{meta_path}: expected a JSON object at the top level.")
    raw["camera_metadata"] = cam_meta
    version = cam_meta.get("version")
    version_text = None if version is None else str(version)
    camera_name = str(cam_meta.get("camera_name", camera_dir.name))

    actor_path = _datapoint_file(camera_dir, "actor_metadata.json")
    actor = load_json(actor_path) if actor_path is not None else None
    raw["actor_metadata"] = actor
    request_path = _datapoint_file(camera_dir, "datapoint_request.json")
    request = load_json(request_path) if request_path is not None else None
    raw["datapoint_request"] = request
    for fname, key in (
        ("environment.json", "environment"),
        ("face_bounding_box.json", "face_bounding_box"),
        ("center_of_geometry.json", "center_of_geometry"),
    ):
        raw[key] = load_json(camera_dir / fname) if fname in names else None

    camera, metadata = _camera(cam_meta, meta_path, version_text, request, camera_name, notes)
    groups = _keypoints(camera_dir, names, notes, raw)
    if "eyes" not in groups and isinstance(actor, Mapping) and actor_path is not None:
        eyes = _actor_eyes(actor, actor_path, camera_name)
        if eyes is not None:
            groups["eyes"] = eyes
    rank = {name: i for i, name in enumerate(GROUP_ORDER)}
    groups = dict(sorted(groups.items(), key=lambda kv: rank.get(kv[0], len(rank))))
    if any(g.pixels is not None for g in groups.values()):
        notes.append("datagen pixel_2d is (row, col): swapped to (u, v)")

    # --- files
    images = find_images(names)
    if image_name is None:
        image_name = images[0] if images else None
    image_path = camera_dir / image_name if image_name else None
    depth_path = camera_dir / "depth.exr" if "depth.exr" in names else None
    if depth_path is not None:
        notes.append(
            "depth.exr holds planar z: depth_kind 'z'; background 1e10 / 65504 read as NaN"
        )
    normals_path = camera_dir / "normal_maps.exr" if "normal_maps.exr" in names else None
    seg_path = None
    for seg_name in ("semantic_segmentation.png", "semantic_segmentation.exr"):
        if seg_name in names:
            seg_path = camera_dir / seg_name
            break
    mapping: dict[str, Any] = {}
    seg_meta_path = _datapoint_file(camera_dir, "semantic_segmentation_metadata.json")
    if seg_meta_path is not None:
        seg_meta = load_json(seg_meta_path)
        raw["semantic_segmentation_metadata"] = seg_meta
        mapping = _segmentation_mapping(seg_meta, seg_path, notes)

    if actor is not None and actor_path is not None and camera_dir.parent.parent.name != "frames":
        scene = _actor_scene(actor, actor_path, camera_dir, root_path)
    else:
        scene = scene_id_of(camera_dir, root_path)

    return Frame(
        camera=camera,
        vendor="datagen",
        version=version_text,
        frame_id=frame_id,
        scene_id=scene,
        camera_name=camera_name,
        image_path=image_path,
        depth_path=depth_path,
        depth_kind="z" if depth_path is not None else None,
        normals_path=normals_path,
        normals_convention="datagen_rgb" if normals_path is not None else None,
        segmentation_path=seg_path,
        segmentation_mapping=mapping,
        landmarks=groups,
        raw=raw,
        metadata=metadata,
        notes=tuple(notes),
        source=camera_dir,
        depth_channel="R" if depth_path is not None else None,
    )


# ------------------------------------------------------------------ camera
def _vec3(doc: Any, keypath: str, path: Path) -> np.ndarray:
    node = get(doc, keypath, path)
    if not isinstance(node, Mapping):
        raise FormatError(f"{path}: expected an object with x, y, z at {keypath}.")
    return np.array([get_float(doc, f"{keypath}.{k}", path) for k in "xyz"])


def _camera(
    meta: Mapping[str, Any],
    path: Path,
    version: str | None,
    request: Any,
    camera_name: str,
    notes: list[str],
) -> tuple[Any, CameraMetadata]:
    if version is None:
        return _camera_unversioned(meta, path, request, camera_name, notes)
    if version in KNOWN_CAMERA_VERSIONS:
        return _camera_v110(meta, path, request, camera_name, notes)
    warnings.warn(
        f"{path}: unknown Datagen camera_metadata version {version!r} (known: "
        f"{', '.join(KNOWN_CAMERA_VERSIONS)}); reading it with the 1.1.0 layout.",
        UserWarning,
        stacklevel=3,
    )
    try:
        return _camera_v110(meta, path, request, camera_name, notes)
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
    meta: Mapping[str, Any], path: Path, request: Any, camera_name: str, width: int, height: int
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
        rot = get(cam_req, "extrinsic_params.rotation", path, default=None)
        if isinstance(rot, Mapping) and all(k in rot for k in ("yaw", "pitch", "roll")):
            euler = np.array([float(rot["yaw"]), float(rot["pitch"]), float(rot["roll"])])
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
        width=width,
        height=height,
        stored_K=None if K is None else get_array(meta, "intrinsic_matrix", path, (3, 3), value=K),
        stored_cam_from_world=_stored_extrinsic(meta, path),
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
        axis_convention="opencv",
        pose_kind="cam_from_world" if "extrinsic_matrix" in meta else None,
        matrix_layout="row_major",
        pixel_convention="row_col",
        square_pixels=True,
        extras=extras,
    )


def _request_camera(request: Any, camera_name: str) -> Mapping[str, Any] | None:
    if not isinstance(request, Mapping):
        return None
    for dp in request.get("datapoints", []) or []:
        cam = dp.get("camera") if isinstance(dp, Mapping) else None
        if isinstance(cam, Mapping) and cam.get("name", camera_name) == camera_name:
            return cam
    return None


def _camera_v110(
    meta: Mapping[str, Any], path: Path, request: Any, camera_name: str, notes: list[str]
) -> tuple[Any, CameraMetadata]:
    width, height = _resolution(meta, path)
    K = get_array(meta, "intrinsic_matrix", path, (3, 3))
    ext = get_array(meta, "extrinsic_matrix", path, (3, 4))
    cam_from_world = np.eye(4)
    cam_from_world[:3] = ext
    notes.append("extrinsic_matrix (3x4, world to OpenCV camera) padded to 4x4")
    camera = make_camera(K, cam_from_world, width, height, path)
    return camera, _metadata(meta, path, request, camera_name, width, height)


def _camera_unversioned(
    meta: Mapping[str, Any], path: Path, request: Any, camera_name: str, notes: list[str]
) -> tuple[Any, CameraMetadata]:
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
    camera = make_camera(K, pose, width, height, path)
    return camera, _metadata(meta, path, request, camera_name, width, height)


# ------------------------------------------------------------------ keypoints
def _leaves(node: Any, prefix: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if isinstance(node, Mapping):
        if "global_3d" in node:
            yield prefix, node
            return
        keys = [k for k in node if k != "version"]
        if keys and all(isinstance(k, str) and k.isdigit() for k in keys):
            keys.sort(key=int)
        for key in keys:
            yield from _leaves(node[key], f"{prefix}.{key}" if prefix else str(key))


def _to_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _section_group(section: str, sub: str | None) -> str:
    key = f"{section}.{sub}" if sub is not None else section
    if key in SECTION_GROUPS:
        return SECTION_GROUPS[key]
    return re.sub(r"[^0-9a-z]+", "_", key.lower()).strip("_")


def _group_from_leaves(
    leaves: list[tuple[str, Mapping[str, Any]]], group: str, path: Path, keypath: str
) -> Landmarks:
    n = len(leaves)
    world = np.empty((n, 3))
    pixels = np.full((n, 2), np.nan)
    visible = np.zeros(n, dtype=bool)
    has_visible = True
    has_pixels = False
    all_int = True
    names = []
    for i, (name, leaf) in enumerate(leaves):
        where = f"{keypath}.{name}"
        g: Any = leaf.get("global_3d")
        try:
            world[i] = (g["x"], g["y"], g["z"])
        except (KeyError, TypeError):
            raise MissingKeyError(f"{path}: missing key {where}.global_3d.x/y/z") from None
        px = leaf.get("pixel_2d")
        if px is not None:
            try:
                pixels[i] = (px["y"], px["x"])  # pixel_2d.x is the row
            except (KeyError, TypeError):
                raise MissingKeyError(f"{path}: missing key {where}.pixel_2d.x/y") from None
            has_pixels = True
            all_int = all_int and isinstance(px["x"], int) and isinstance(px["y"], int)
        if "is_visible" in leaf:
            visible[i] = _to_bool(leaf["is_visible"])
        else:
            has_visible = False
        names.append(str(int(name)) if group == "ibug68" and name.isdigit() else name)
    return _finish(
        names,
        world,
        pixels if has_pixels else None,
        visible if has_visible else None,
        all_int,
        path,
        keypath,
    )


def _finish(
    names: list[str],
    world: np.ndarray,
    pixels: np.ndarray | None,
    visible: np.ndarray | None,
    all_int: bool,
    path: Path,
    keypath: str,
) -> Landmarks:
    if not np.all(np.isfinite(world)):
        bad = names[int(np.argwhere(~np.isfinite(world))[0, 0])]
        raise FormatError(f"{path}: {keypath}.{bad} world position holds non-finite values.")
    if pixels is not None and not np.all(np.isfinite(pixels)):
        bad = names[int(np.argwhere(~np.isfinite(pixels))[0, 0])]
        raise FormatError(f"{path}: {keypath}.{bad} pixel position holds non-finite values.")
    return Landmarks(
        names=tuple(names),
        world=world,
        pixels=pixels,
        visible=visible,
        pixels_decimals=0 if (pixels is not None and all_int) else None,
        source=f"{path.name}: {keypath}",
    )


def _keypoints(
    camera_dir: Path, names: frozenset[str], notes: list[str], raw: dict[str, Any]
) -> dict[str, Landmarks]:
    groups: dict[str, Landmarks] = {}
    raw_kp: dict[str, Any] = {}
    raw["keypoints"] = raw_kp
    kp_dir = camera_dir / "key_points"
    files: list[Path] = []
    if "key_points" in names and kp_dir.is_dir():
        files = sorted(kp_dir.glob("*.json"), key=lambda p: natural_key(p.name))
        separate = [p for p in files if p.name != "all_key_points.json"]
        files = separate or files
    numeric_sort_noted = False
    for kp_path in files:
        doc = load_json(kp_path)
        raw_kp[kp_path.name] = doc
        if not isinstance(doc, Mapping):
            raise FormatError(f"{kp_path}: expected a JSON object at the top level.")
        version = doc.get("version")
        if version is not None and str(version) not in KNOWN_KEYPOINT_VERSIONS:
            warnings.warn(
                f"{kp_path}: unknown Datagen keypoints version {version!r} (known: "
                f"{', '.join(KNOWN_KEYPOINT_VERSIONS)}); reading it with the 2.0.0 layout.",
                UserWarning,
                stacklevel=4,
            )
        for section, body in doc.items():
            if section == "version" or not isinstance(body, Mapping):
                continue
            subsections: list[tuple[str | None, Any]]
            if section == "face" and not any(
                "global_3d" in v for v in body.values() if isinstance(v, Mapping)
            ):
                subsections = [(k, v) for k, v in body.items()]
            else:
                subsections = [(None, body)]
            for sub, node in subsections:
                group = _section_group(section, sub)
                keypath = section if sub is None else f"{section}.{sub}"
                leaves = list(_leaves(node, ""))
                if not leaves:
                    continue
                if not numeric_sort_noted and any(n[:1] == "0" and len(n) > 1 for n, _ in leaves):
                    notes.append("keypoint keys '01'..'68' sorted numerically; names normalised")
                    numeric_sort_noted = True
                if group in groups:
                    continue  # the same section in all_key_points.json and its own file
                groups[group] = _group_from_leaves(leaves, group, kp_path, keypath)
                if section in ("ear", "hand"):
                    notes.append(f"all_key_points.json section {section!r} read as group {group!r}")
    for fname, group in LEGACY_KEYPOINT_FILES.items():
        if fname in names and group not in groups:
            kp_path = camera_dir / fname
            doc = load_json(kp_path)
            raw_kp[fname] = doc
            groups[group] = _legacy_group(doc, kp_path, group)
    return groups


def _legacy_group(doc: Any, path: Path, group: str) -> Landmarks:
    pts3 = get(doc, "keypoints_3d_coordinates", path)
    pts2 = get(doc, "keypoints_2d_coordinates", path, default=None)
    vis = get(doc, "is_visible", path, default=None)
    if not isinstance(pts3, Mapping):
        raise FormatError(f"{path}: expected an object at keypoints_3d_coordinates.")
    keys = sorted(pts3, key=lambda k: int(k) if str(k).isdigit() else math.inf)
    world = get_array(
        doc, "keypoints_3d_coordinates", path, (len(keys), 3), value=[pts3[k] for k in keys]
    )
    pixels = None
    all_int = False
    if isinstance(pts2, Mapping):
        missing = [k for k in keys if k not in pts2]
        if missing:
            raise MissingKeyError(f"{path}: missing key keypoints_2d_coordinates.{missing[0]}")
        rc = get_array(
            doc, "keypoints_2d_coordinates", path, (len(keys), 2), value=[pts2[k] for k in keys]
        )
        pixels = rc[:, ::-1].copy()  # stored (row, col)
        all_int = all(isinstance(v, int) for k in keys for v in pts2[k])
    visible = None
    if isinstance(vis, Mapping) and all(k in vis for k in keys):
        visible = np.array([_to_bool(vis[k]) for k in keys])
    names = [str(int(k)) if str(k).isdigit() else str(k) for k in keys]
    return _finish(names, world, pixels, visible, all_int, path, "keypoints_3d_coordinates")


def _actor_eyes(actor: Mapping[str, Any], path: Path, camera_name: str) -> Landmarks | None:
    names: list[str] = []
    world: list[Any] = []
    pixels: list[Any] = []
    has_pixels = True
    all_int = True
    for side in ("left", "right"):
        for key, label in _EYE_POINTS:
            entry = actor.get(key)
            if not isinstance(entry, Mapping) or "3d" not in entry:
                continue
            p3 = entry["3d"].get(f"{side}_eye") if isinstance(entry["3d"], Mapping) else None
            p2_all = entry.get("2d", {})
            p2 = (
                p2_all.get(camera_name, {}).get(f"{side}_eye")
                if isinstance(p2_all, Mapping)
                else None
            )
            if p3 is None:
                continue
            items3 = p3 if isinstance(p3, list) else [p3]
            items2 = p2 if isinstance(p2, list) else ([p2] if p2 is not None else [])
            if len(items2) != len(items3):
                has_pixels = False
            for i, q3 in enumerate(items3):
                suffix = f".{i}" if isinstance(p3, list) else ""
                names.append(f"{side}.{label}{suffix}")
                try:
                    world.append((q3["x"], q3["y"], q3["z"]))
                except (KeyError, TypeError):
                    raise MissingKeyError(
                        f"{path}: missing key {key}.3d.{side}_eye{suffix}.x/y/z"
                    ) from None
                if has_pixels and i < len(items2):
                    q2 = items2[i]
                    try:
                        pixels.append((q2["y"], q2["x"]))  # x is the row
                    except (KeyError, TypeError):
                        raise MissingKeyError(
                            f"{path}: missing key {key}.2d.{camera_name}.{side}_eye{suffix}.x/y"
                        ) from None
                    all_int = all_int and isinstance(q2["x"], int) and isinstance(q2["y"], int)
    if not names:
        return None
    try:
        world_arr = np.array(world, dtype=np.float64)
        pix_arr = (
            np.array(pixels, dtype=np.float64) if has_pixels and len(pixels) == len(names) else None
        )
    except (TypeError, ValueError):
        raise FormatError(f"{path}: eye points hold non-numeric values.") from None
    return _finish(names, world_arr, pix_arr, None, all_int, path, "actor eye points")


# ------------------------------------------------------------------ segmentation
def _flatten_colours(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, Mapping):
        if {"R", "G", "B"} <= set(node):
            yield prefix, (node["R"], node["G"], node["B"])
            return
        for key, value in node.items():
            if key == "version":
                continue
            yield from _flatten_colours(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, list) and len(node) in (3, 4) and prefix:
        yield prefix, tuple(node[:3])


def _segmentation_mapping(seg_meta: Any, seg_path: Path | None, notes: list[str]) -> dict[str, Any]:
    mapping = dict(_flatten_colours(seg_meta))
    if not mapping:
        return {}
    values = [v for rgb in mapping.values() for v in rgb]
    if (
        seg_path is not None
        and seg_path.suffix.lower() == ".png"
        and all(isinstance(v, int) for v in values)
    ):
        if max(values) > 255:
            notes.append(
                "semantic_segmentation_metadata colours are 16-bit: mapping holds value // 256 "
                "(the 8-bit PNG colour)"
            )
            return {k: tuple(int(v) // 256 for v in rgb) for k, rgb in mapping.items()}
    return {k: tuple(rgb) for k, rgb in mapping.items()}

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

Modules: :mod:`~camgeom.datasets.datagen.camera` (the camera metadata by version),
:mod:`~camgeom.datasets.datagen.keypoints` (the landmark groups); this module finds
and reads a frame.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from camgeom.datasets._common import image_size, natural_key, relative_id
from camgeom.datasets._json import load_json, parse_json_bytes, read_bytes
from camgeom.datasets.datagen.camera import DATAGEN_EULER_RULE, KNOWN_CAMERA_VERSIONS, read_camera
from camgeom.datasets.datagen.keypoints import GROUP_ORDER, SECTION_GROUPS, keypoint_groups
from camgeom.datasets.frame import Frame, FrameSource, files_in
from camgeom.errors import FormatError

__all__ = [
    "DATAGEN_EULER_RULE",
    "GROUP_ORDER",
    "KNOWN_CAMERA_VERSIONS",
    "SECTION_GROUPS",
    "find_images",
    "read_frame",
    "scene_id_of",
    "source_for",
]

_IMAGE_RE = re.compile(r"^(visible_spectrum|infrared_spectrum)(_\d+)?\.png$")


def find_images(names: frozenset[str] | set[str]) -> list[str]:
    """Rendered image file names of a camera folder, visible spectrum first."""
    found = [n for n in names if _IMAGE_RE.match(n)]
    return sorted(found, key=lambda n: (not n.startswith("visible"), natural_key(n)))


# ------------------------------------------------------------------ frame source
def source_for(
    camera_dir: Path, frame_id: str, root: Path, image_name: str | None = None
) -> FrameSource:
    """The :class:`FrameSource` of one camera folder (and one of its images)."""
    return FrameSource(
        "datagen",
        camera_dir,
        frame_id,
        partial(read_frame, camera_dir, frame_id=frame_id, root=root, image_name=image_name),
        partial(scene_id_of, camera_dir, root),
        skips_landmarks=True,
        files=partial(input_files, camera_dir),
    )


_DATAPOINT_FILES = (
    "actor_metadata.json",
    "datapoint_request.json",
    "semantic_segmentation_metadata.json",
)
"""Files :func:`read_frame` looks for in the camera folder, else in the folder above it."""


def input_files(camera_dir: Path) -> list[str]:
    """Every file :func:`read_frame` may read for ``camera_dir``, without reading any.

    The files directly in the camera folder, its ``key_points/*.json`` and the
    datapoint's JSON files (:data:`_DATAPOINT_FILES`) in the folder above.
    """
    camera = os.fspath(camera_dir)
    found = files_in(camera)
    here = {os.path.basename(p) for p in found}
    found += [p for p in files_in(os.path.join(camera, "key_points")) if p.endswith(".json")]
    wanted = [name for name in _DATAPOINT_FILES if name not in here]
    if wanted:  # one listing of the datapoint folder rather than a stat per name
        above = os.path.dirname(camera)
        found += [p for p in files_in(above) if os.path.basename(p) in wanted]
    return found


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


def _datapoint_file(
    camera_dir: Path, name: str, names: frozenset[str] | None = None
) -> Path | None:
    """``name`` in the camera folder, else in the datapoint folder above it, or None.

    ``names``: the camera folder's listing, when the caller has it (spares a stat).
    """
    if names is None or name in names:
        candidate = camera_dir / name
        if candidate.is_file():
            return candidate
    candidate = camera_dir.parent / name
    return candidate if os.path.isfile(candidate) else None


# ------------------------------------------------------------------ reading
def read_frame(
    path: str | Path,
    *,
    frame_id: str | None = None,
    root: str | Path | None = None,
    image_name: str | None = None,
    landmarks: bool = True,
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
    landmarks : bool, keyword-only
        False: leave the keypoint files (and the actor's eye points) unread; the
        frame then has no landmark groups.

    Returns
    -------
    Frame
        Camera from the stored matrices (v1.1.0) or rebuilt from location, look-at
        and FOV (unversioned files); planar z depth; labels converted from (row, col).

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
        root_path = camera_dir.parents[min(3, len(camera_dir.parents) - 1)]
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

    actor_path = _datapoint_file(camera_dir, "actor_metadata.json", names)
    actor = load_json(actor_path) if actor_path is not None else None
    raw["actor_metadata"] = actor
    request_path = _datapoint_file(camera_dir, "datapoint_request.json", names)
    request = load_json(request_path) if request_path is not None else None
    raw["datapoint_request"] = request
    for fname, key in (
        ("environment.json", "environment"),
        ("face_bounding_box.json", "face_bounding_box"),
        ("center_of_geometry.json", "center_of_geometry"),
    ):
        raw[key] = load_json(camera_dir / fname) if fname in names else None

    camera, metadata = read_camera(cam_meta, meta_path, version_text, request, camera_name, notes)
    groups = (
        keypoint_groups(camera_dir, names, actor, actor_path, camera_name, notes, raw)
        if landmarks
        else {}
    )

    # --- files
    images = find_images(names)
    if image_name is None:
        image_name = images[0] if images else None
    image_path = camera_dir / image_name if image_name else None
    if image_path is not None and image_path.is_file():
        # resolution_px sizes every array made for the frame: the image header bounds it
        size = image_size(image_path)
        if size is not None and size != (camera.width, camera.height):
            raise FormatError(
                f"{meta_path}: resolution_px {camera.width}x{camera.height} differs from the "
                f"image {image_name} ({size[0]}x{size[1]})."
            )
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
    seg_meta_path = _datapoint_file(camera_dir, "semantic_segmentation_metadata.json", names)
    if seg_meta_path is not None:
        data = read_bytes(seg_meta_path)
        seg_meta = parse_json_bytes(data, seg_meta_path)
        raw["semantic_segmentation_metadata"] = seg_meta
        png = seg_path is not None and seg_path.suffix.lower() == ".png"
        cached = _MAPPINGS.get((data, png))
        if cached is None:
            seg_notes: list[str] = []
            mapping = _segmentation_mapping(seg_meta, seg_path, seg_notes, seg_meta_path)
            cached = (mapping, tuple(seg_notes))
            if len(_MAPPINGS) >= 8:
                _MAPPINGS.clear()
            _MAPPINGS[(data, png)] = cached
        mapping = dict(cached[0])
        notes.extend(cached[1])

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


# ------------------------------------------------------------------ segmentation
# Datasets repeat one class table in every datapoint: parse each distinct file once.
_MAPPINGS: dict[tuple[bytes, bool], tuple[dict[str, Any], tuple[str, ...]]] = {}


def _colour_value(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= 65535
    )


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


def _segmentation_mapping(
    seg_meta: Any, seg_path: Path | None, notes: list[str], meta_path: Path
) -> dict[str, Any]:
    mapping = dict(_flatten_colours(seg_meta))
    if not mapping:
        return {}
    for key, rgb in mapping.items():
        if not all(_colour_value(v) for v in rgb) or len(rgb) != 3:
            raise FormatError(
                f"{meta_path}: expected three numbers (R, G, B) from 0 to 65535 at {key}, "
                f"got {list(rgb)!r:.80}."
            )
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

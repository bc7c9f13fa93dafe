"""Synthesis AI ("Human API") renders: ``N.info.json`` and its sibling files.

Layout of a job folder: one ``N.info.json`` per render ``N`` (computed values), with
``N.rgb.png``, ``N.depth.tif``, ``N.normals.tif``, ``N.alpha.tif``, ``N.segments.png``,
optionally ``N.exr``, ``N.sai_dense.obj``, ``N.mediapipe_dense.obj``, and one
``metadata.jsonl`` (the request, one JSON object per line, joined by ``render_id``).

Quirks undone here (each one is named in :attr:`Frame.notes` when it applies):

* ``camera.transform_world2cam.mat_4x4`` maps world points into the **OpenGL**
  camera frame; the camera is converted to OpenCV with
  ``convert_pose(M, "opengl", "opencv")``.
* The "room" format stores its 4x4 matrices **transposed** (translation in the
  last row); detected from the data (last row not ``[0, 0, 0, 1]``).
* ``quaternion_wxyz`` really holds ``(x, y, z, w)``: kept as stored in
  :class:`CameraMetadata` with ``quaternion_order="xyzw"``.
* ``screen_space_pos`` is ``(u / W, v / H)`` (origin top-left, no half-pixel
  offset): multiplied by ``(W, H)`` to get camgeom pixels.
* ``camera_space_pos`` is in the OpenGL frame: stored in
  :attr:`Landmarks.camera_space` converted to OpenCV (``convert_points``).
* v1.2 ``contour_landmarks`` number points from 1 (``landmarks`` from 0) and omit
  hidden points: returned as 68 rows with NaN for the missing ones.
* ``depth.tif`` holds the distance along the pixel ray (``depth_kind="range"``).
* A ``metadata.jsonl`` line is only joined when its identity and resolution agree
  with the render (the public v1.5 sample's only line describes another render).

Known vendor defects are detected and named in the notes but not "fixed": in v1 /
v1.1 ``pupil_right`` carries ``pupil_left``'s world and camera-space positions; in
v1.5 the iBUG-68 eyebrow labels (points 18-27) are 3-21 px away from the projection
of their world positions (they follow ``ibug68_contour``).

Image size: from the joined ``metadata.jsonl`` line, else the header of a sibling
image, else ``(2 cx, 2 cy)`` of the stored intrinsics.

Modules: :mod:`~camgeom.datasets.synthesisai.jsonl` (the ``metadata.jsonl`` index
and join), :mod:`~camgeom.datasets.synthesisai.camera` (intrinsics, poses, lens
shift, camera metadata), :mod:`~camgeom.datasets.synthesisai.landmarks` (the
landmark tables); this module reads a frame.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from camgeom.datasets._common import image_size, make_camera, relative_id
from camgeom.datasets._json import _short, check_depth, load_json
from camgeom.datasets.frame import Frame, FrameSource
from camgeom.datasets.landmarks import Landmarks
from camgeom.datasets.synthesisai.camera import (
    AXIS_CONVENTION,
    SYNTHESIS_EULER_RULE,
    camera_metadata,
    read_stored_intrinsics,
    read_stored_poses,
    shifted_intrinsics,
)
from camgeom.datasets.synthesisai.fisheye import distorted_camera
from camgeom.datasets.synthesisai.jsonl import MetadataJsonl, join_line
from camgeom.datasets.synthesisai.landmarks import DENSE_FILES, landmark_groups, note_defects
from camgeom.errors import FormatError, MissingKeyError, UnknownVersionError

__all__ = [
    "DENSE_FILES",
    "INFO_SUFFIX",
    "KNOWN_VERSIONS",
    "SYNTHESIS_EULER_RULE",
    "MetadataJsonl",
    "read_frame",
    "render_id_of",
    "source_for",
]

KNOWN_VERSIONS = ("1", "1.1", "1.2", "1.5")
"""``info.json`` versions this reader knows (unversioned "room" files are read too)."""

INFO_SUFFIX = ".info.json"

_SIZE_SOURCES = (".rgb.png", ".segments.png", ".clothing_segments.png", ".depth.tif", ".alpha.tif")
"""Sibling files whose header gives the image size, in order of preference."""


# ------------------------------------------------------------------ frame source
def _render_scene(frame_id: str) -> str:
    return f"render:{frame_id}"


def render_id_of(info_path: Path) -> str:
    """Render id of ``N.info.json`` (``"N"``, leading zeros removed when numeric)."""
    stem = info_path.name[: -len(INFO_SUFFIX)]
    return str(int(stem)) if stem.isdigit() else stem


def source_for(
    info_path: Path, root: Path, *, jsonl: MetadataJsonl | None, siblings: frozenset[str]
) -> FrameSource:
    """The :class:`FrameSource` of ``info_path``, with a frame id relative to ``root``."""
    stem = info_path.name[: -len(INFO_SUFFIX)]
    folder = info_path.parent
    frame_id = stem if folder == root else relative_id(folder / stem, root)
    reader = partial(read_frame, info_path, frame_id=frame_id, jsonl=jsonl, siblings=siblings)
    return FrameSource(
        "synthesisai",
        info_path,
        frame_id,
        reader,
        partial(_scene_id, info_path, frame_id, jsonl, reader),
        skips_landmarks=True,
        files=partial(_input_files, info_path, siblings, None if jsonl is None else jsonl.path),
    )


def _input_files(info_path: Path, siblings: frozenset[str], jsonl: Path | None) -> list[str]:
    """``N.info.json``, every ``N.*`` file beside it, and the dataset's ``metadata.jsonl``.

    ``siblings``: the names in the folder that start with the render's stem.
    """
    stem = info_path.name[: -len(INFO_SUFFIX)]
    folder = os.fspath(info_path.parent)
    found = [os.fspath(info_path)]
    found += [os.path.join(folder, n) for n in siblings if n.startswith(f"{stem}.")]
    if jsonl is not None:
        found.append(os.fspath(jsonl))
    return found


def _scene_id(
    info_path: Path, frame_id: str, jsonl: MetadataJsonl | None, reader: Callable[[], Frame]
) -> str:
    """A task and frame number need the render's metadata.jsonl line (and the frame)."""
    if jsonl is None or jsonl.line(render_id_of(info_path)) is None:
        return _render_scene(frame_id)
    return reader().scene_id


# ------------------------------------------------------------------ reading
def read_frame(
    path: str | Path,
    *,
    frame_id: str | None = None,
    jsonl: MetadataJsonl | None = None,
    siblings: frozenset[str] | None = None,
    landmarks: bool = True,
) -> Frame:
    """Read one Synthesis AI render from its ``N.info.json``.

    Parameters
    ----------
    path : path-like
        The ``N.info.json`` file.
    frame_id : str, optional
        Id to give the frame (default: ``"N"``).
    jsonl : MetadataJsonl, optional
        The job's ``metadata.jsonl`` index (default: ``metadata.jsonl`` beside ``path``
        if it exists).
    siblings : frozenset of str, optional
        Names of the files in the folder (default: listed).
    landmarks : bool, keyword-only
        False: the landmark groups are neither built nor checked (``frame.landmarks``
        is empty, and the notes the landmarks would give are absent); the camera,
        metadata, files and every other note are the same. Points of the
        ``info.json`` landmark groups are then not validated either.

    Returns
    -------
    Frame
        Camera converted from the OpenGL ``transform_world2cam`` (lens shift of the
        joined ``metadata.jsonl`` line applied); range depth; labels in pixels.

    Raises
    ------
    MissingKeyError, FormatError
        A required key is missing, a value has the wrong shape or is not finite,
        or the JSON is corrupt; the message names the file and the JSON path.
    UnknownVersionError
        The version is unknown and the closest layout does not fit. (An unknown
        version whose layout fits gives a ``UserWarning`` instead.)
    """
    info_path = Path(path)
    if not info_path.name.endswith(INFO_SUFFIX):
        raise FormatError(f"{info_path}: expected a Synthesis AI 'N.info.json' file.")
    folder = info_path.parent
    if siblings is None:
        try:
            siblings = frozenset(p.name for p in folder.iterdir())
        except OSError:
            siblings = frozenset()
    if jsonl is None and "metadata.jsonl" in siblings:
        jsonl = MetadataJsonl(folder / "metadata.jsonl")
    stem = info_path.name[: -len(INFO_SUFFIX)]
    rid = render_id_of(info_path)
    if frame_id is None:
        frame_id = stem

    # nesting is checked where the reader recurses or prints (check_depth), not by a
    # scan of the whole file: landmark points are only taken apart by fixed keys
    info = load_json(info_path, check_nesting=False)
    if not isinstance(info, dict):
        raise FormatError(
            f"{info_path}: expected a JSON object at the top level, got {type(info).__name__}."
        )
    raw_version = info.get("version")
    check_depth(raw_version, "version", info_path)
    version = None if raw_version is None else _version_text(raw_version)
    if version is None or version in KNOWN_VERSIONS:
        return _read(info, info_path, stem, rid, frame_id, version, jsonl, siblings, landmarks)
    closest = "1.5" if isinstance(info.get("landmarks"), dict) else "1.2"
    warnings.warn(
        f"{info_path}: unknown Synthesis AI info.json version {raw_version!r} (known: "
        f"{', '.join(KNOWN_VERSIONS)}); reading it with the closest known layout ({closest}).",
        UserWarning,
        stacklevel=2,
    )
    try:
        return _read(info, info_path, stem, rid, frame_id, version, jsonl, siblings, landmarks)
    except (MissingKeyError, FormatError) as exc:
        if isinstance(exc, UnknownVersionError):
            raise
        raise UnknownVersionError(
            f"{info_path}: unknown Synthesis AI info.json version {raw_version!r} and the file "
            f"does not fit the closest known layout ({closest}): {exc}"
        ) from None


def _version_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read(
    info: dict[str, Any],
    info_path: Path,
    stem: str,
    rid: str,
    frame_id: str,
    version: str | None,
    jsonl: MetadataJsonl | None,
    siblings: frozenset[str],
    with_landmarks: bool,
) -> Frame:
    notes: list[str] = []
    folder = info_path.parent
    stored_K = read_stored_intrinsics(info, info_path)
    poses = read_stored_poses(info, info_path, notes)
    line, jcam = join_line(jsonl, rid, info, stored_K, notes, info_path=info_path)
    width, height = _image_size(jcam, folder, stem, siblings, stored_K, notes)
    K = shifted_intrinsics(stored_K, width, height, jcam, info_path, notes)
    camera = make_camera(K, poses.cam_from_world, (width, height), info_path)
    metadata = camera_metadata(info, info_path, jcam, stored_K, poses, notes)
    landmarks: Mapping[str, Landmarks] = {}
    if with_landmarks:
        landmarks = landmark_groups(info, info_path, stem, siblings, (width, height), notes)
        note_defects(landmarks, camera, notes)  # builds the (small) groups it checks

    files = _frame_files(folder, stem, siblings, notes)
    return Frame(
        vendor="synthesisai",
        version=version,
        source=info_path,
        frame_id=frame_id,
        scene_id=_scene_of_line(line, frame_id),
        camera_name=str(line.get("camera_name", "default")) if line is not None else "default",
        camera=camera,
        distorted_camera=distorted_camera(camera, stem, siblings),
        metadata=metadata,
        landmarks=landmarks,
        segmentation_mapping=(
            (_segments_mapping(info, info_path) or {})
            if files["segmentation_path"] is not None
            else {}
        ),
        raw={"info": info, "metadata_jsonl": line},
        notes=tuple(notes),
        **files,
    )


def _frame_files(
    folder: Path, stem: str, siblings: frozenset[str], notes: list[str]
) -> dict[str, Any]:
    """The :class:`Frame` fields naming a render's pixel files (and how to read them)."""

    def sib(suffix: str) -> Path | None:
        name = f"{stem}{suffix}"
        return folder / name if name in siblings else None

    depth_kind: str | None = "range"
    depth_channel: str | None = None
    depth_path = sib(".depth.tif")
    if depth_path is None and sib(".exr") is not None:
        depth_path, depth_kind, depth_channel = sib(".exr"), None, "Z"
        notes.append(
            "depth from the EXR Z channel: planar z or range is unverified (depth_kind None)"
        )
    if depth_path is not None and depth_kind == "range":
        notes.append("depth.tif holds the distance along the pixel ray: depth_kind 'range'")
    normals_path = sib(".normals.tif")
    return {
        "image_path": sib(".rgb.png"),
        "depth_path": depth_path,
        "depth_kind": depth_kind if depth_path is not None else None,
        "depth_channel": depth_channel,
        "normals_path": normals_path,
        "normals_convention": AXIS_CONVENTION if normals_path is not None else None,
        "segmentation_path": sib(".segments.png"),
        "alpha_path": sib(".alpha.tif"),
    }


def _scene_of_line(line: Mapping[str, Any] | None, frame_id: str) -> str:
    """A task and frame number from the metadata.jsonl line, else the render alone."""
    task = line.get("task_id") if line is not None else None
    if line is None or task is None:
        return _render_scene(frame_id)
    fnum = line.get("frame_number")
    return f"task:{task}" + (f"/frame:{fnum}" if fnum is not None else "")


def _segments_mapping(info: Mapping[str, Any], path: Path) -> dict[str, Any] | None:
    """Class name -> id: ``segments_mapping``, or the room format's objects' ``mask_id``."""
    seg_map = info.get("segments_mapping")
    objects = info.get("objects")
    if seg_map is None and isinstance(objects, list):  # room format: one mask id per object
        check_depth(objects, "objects", path)
        seg_map = {
            str(o.get("type")): o.get("mask_id")
            for o in objects
            if isinstance(o, Mapping) and "mask_id" in o
        }
    if not isinstance(seg_map, Mapping):
        return None
    key = "segments_mapping" if "segments_mapping" in info else "objects[*].mask_id"
    values = seg_map.values()
    if set(map(type, values)) <= {int} and (not values or 0 <= min(values) <= max(values) < 2**32):
        return dict(seg_map)  # every value a class id, checked without a call per value
    for name, value in seg_map.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
            raise FormatError(
                f"{path}: expected a class id (a whole number from 0) at {key} for {name!r}, "
                f"got {_short(value)}."
            )
    return dict(seg_map)


def _image_size(
    jcam: Mapping[str, Any],
    folder: Path,
    stem: str,
    siblings: frozenset[str],
    K: Any,
    notes: list[str],
) -> tuple[int, int]:
    """From the joined metadata.jsonl line, else a sibling image, else (2 cx, 2 cy)."""
    width, height = jcam.get("width"), jcam.get("height")
    if width is not None and height is not None:
        return width, height
    for suffix in _SIZE_SOURCES:
        name = f"{stem}{suffix}"
        if name in siblings:
            size = image_size(folder / name)
            if size is not None:
                return size
    notes.append(
        "image size taken from the principal point (2 cx, 2 cy): no image or metadata.jsonl"
    )
    return round(2.0 * K[0, 2]), round(2.0 * K[1, 2])

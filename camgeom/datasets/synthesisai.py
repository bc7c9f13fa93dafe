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
  :attr:`Landmarks.camera_space` as ``p * (1, -1, -1)``.
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
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import chain, repeat
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from camgeom.datasets._common import (
    image_size,
    make_camera,
    read_obj_vertices,
    relative_id,
)
from camgeom.datasets._json import (
    get,
    get_array,
    get_optional_array,
    get_optional_float,
    load_json,
    parse_json_bytes,
)
from camgeom.datasets.model import (
    CameraMetadata,
    Frame,
    FrameSource,
    Landmarks,
    LazyLandmarks,
)
from camgeom.errors import FormatError, MissingKeyError, UnknownVersionError
from camgeom.poses import EulerRule

__all__ = [
    "KNOWN_VERSIONS",
    "MetadataJsonl",
    "SynthesisSource",
    "read_frame",
]

KNOWN_VERSIONS = ("1", "1.1", "1.2", "1.5")
"""``info.json`` versions this reader knows (unversioned "room" files are read too)."""

INFO_SUFFIX = ".info.json"
_RENDER_ID = re.compile(rb'"render_id"\s*:\s*"?(-?\d+)"?')
_GL4 = np.diag([1.0, -1.0, -1.0, 1.0])

SYNTHESIS_EULER_RULE = EulerRule("xyz", degrees=True, gives="cam_from_world", axes="opengl")
"""``transform_world2cam.euler_xyz``: extrinsic x-y-z degrees giving the OpenGL
``cam_from_world`` rotation. Every public sample rotates about one axis only, so
extrinsic and intrinsic order cannot be told apart on them."""

DENSE_FILES = {"sai_dense": ".sai_dense.obj", "mediapipe_dense": ".mediapipe_dense.obj"}
"""Dense landmark sets stored as separate OBJ files (world-space vertices, no 2D labels)."""


# ------------------------------------------------------------------ metadata.jsonl
class MetadataJsonl:
    """Streaming index of a ``metadata.jsonl`` file: render id -> line.

    The index (render id -> byte offset) is built in one pass over the file the
    first time a line is asked for, reading each line's ``render_id`` with a
    regular expression; a line is parsed only when its render is read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "metadata.jsonl"
    >>> _ = p.write_text('{"render_id": 3, "a": 1}\\n{"render_id": 7, "a": 2}\\n')
    >>> MetadataJsonl(p).line("7")["a"]
    2
    """

    def __init__(self, path: Path) -> None:
        self.path = path if isinstance(path, Path) else Path(path)
        self._offsets: dict[str, tuple[int, int, int]] | None = None
        self._cache: dict[str, dict[str, Any] | None] = {}

    def _build(self) -> dict[str, tuple[int, int, int]]:
        offsets: dict[str, tuple[int, int, int]] = {}
        try:
            with open(self.path, "rb") as fh:
                pos = 0
                for lineno, line in enumerate(fh, start=1):
                    match = _RENDER_ID.search(line)
                    if match is not None:
                        offsets.setdefault(str(int(match.group(1))), (pos, len(line), lineno))
                    pos += len(line)
        except OSError as exc:
            raise FormatError(
                f"{self.path}: cannot read the file ({exc.strerror or exc})."
            ) from None
        return offsets

    def render_ids(self) -> tuple[str, ...]:
        """Render ids found in the file, in file order."""
        if self._offsets is None:
            self._offsets = self._build()
        return tuple(self._offsets)

    def line(self, render_id: str) -> dict[str, Any] | None:
        """The parsed line for ``render_id``, or None if the file has none."""
        if render_id in self._cache:
            return self._cache[render_id]
        if self._offsets is None:
            self._offsets = self._build()
        entry = self._offsets.get(render_id)
        if entry is None:
            self._cache[render_id] = None
            return None
        offset, length, lineno = entry
        with self.path.open("rb") as fh:
            fh.seek(offset)
            data = fh.read(length)
        parsed = parse_json_bytes(data, self.path, what=f" line {lineno}")
        if not isinstance(parsed, dict):
            raise FormatError(f"{self.path} line {lineno}: expected a JSON object.")
        self._cache[render_id] = parsed
        return parsed


# ------------------------------------------------------------------ frame source
@dataclass
class SynthesisSource(FrameSource):
    """One render of a Synthesis AI job folder, not yet parsed."""

    path: Path
    render_id: str
    frame_id: str
    siblings: frozenset[str]
    jsonl: MetadataJsonl | None = None
    vendor: str = "synthesisai"

    def read(self) -> Frame:
        return read_frame(
            self.path, frame_id=self.frame_id, jsonl=self.jsonl, siblings=self.siblings
        )

    def scene_id(self) -> str:
        if self.jsonl is None or self.jsonl.line(self.render_id) is None:
            return _render_scene(self.frame_id)
        return self.read().scene_id


def _render_scene(frame_id: str) -> str:
    return f"render:{frame_id}"


def render_id_of(info_path: Path) -> str:
    """Render id of ``N.info.json`` (``"N"``, leading zeros removed when numeric)."""
    stem = info_path.name[: -len(INFO_SUFFIX)]
    return str(int(stem)) if stem.isdigit() else stem


def source_for(
    info_path: Path, root: Path, *, jsonl: MetadataJsonl | None, siblings: frozenset[str]
) -> SynthesisSource:
    """Build the :class:`SynthesisSource` of ``info_path`` with a frame id relative to ``root``."""
    stem = info_path.name[: -len(INFO_SUFFIX)]
    folder = info_path.parent
    frame_id = stem if folder == root else relative_id(folder / stem, root)
    return SynthesisSource(info_path, render_id_of(info_path), frame_id, siblings, jsonl)


# ------------------------------------------------------------------ reading
def read_frame(
    path: str | Path,
    *,
    frame_id: str | None = None,
    jsonl: MetadataJsonl | None = None,
    siblings: frozenset[str] | None = None,
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

    Returns
    -------
    Frame

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

    info = load_json(info_path)
    if not isinstance(info, dict):
        raise FormatError(
            f"{info_path}: expected a JSON object at the top level, got {type(info).__name__}."
        )
    raw_version = info.get("version")
    version = None if raw_version is None else _version_text(raw_version)
    if version is None or version in KNOWN_VERSIONS:
        return _read(info, info_path, stem, rid, frame_id, version, jsonl, siblings)
    closest = "1.5" if isinstance(info.get("landmarks"), dict) else "1.2"
    warnings.warn(
        f"{info_path}: unknown Synthesis AI info.json version {raw_version!r} (known: "
        f"{', '.join(KNOWN_VERSIONS)}); reading it with the closest known layout ({closest}).",
        UserWarning,
        stacklevel=2,
    )
    try:
        return _read(info, info_path, stem, rid, frame_id, version, jsonl, siblings)
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


def _fix_layout(mat: np.ndarray) -> tuple[np.ndarray, bool]:
    """Undo the room-format transpose; returns (matrix, was_transposed)."""
    last_row = mat[3].tolist()
    if last_row == [0.0, 0.0, 0.0, 1.0]:
        return mat, False
    if mat[:, 3].tolist() == [0.0, 0.0, 0.0, 1.0]:
        return mat.T.copy(), True
    return mat, False


def _read(
    info: dict[str, Any],
    info_path: Path,
    stem: str,
    rid: str,
    frame_id: str,
    version: str | None,
    jsonl: MetadataJsonl | None,
    siblings: frozenset[str],
) -> Frame:
    notes: list[str] = []
    folder = info_path.parent
    cam = get(info, "camera", info_path)

    # --- intrinsics
    intr = get(cam, "intrinsics", info_path, default=None)
    if isinstance(intr, Mapping):
        K = get_array(info, "camera.intrinsics.mat_3x3", info_path, (3, 3))
    elif intr is None:
        raise MissingKeyError(f"{info_path}: missing key camera.intrinsics")
    else:
        K = get_array(info, "camera.intrinsics", info_path, (3, 3), value=intr)
    stored_K = K

    # --- extrinsics (OpenGL camera frame; room format transposed)
    w2c = get_array(info, "camera.transform_world2cam.mat_4x4", info_path, (4, 4))
    w2c, transposed = _fix_layout(w2c)
    c2w = get_optional_array(info, "camera.transform_cam2world.mat_4x4", info_path, (4, 4))
    if c2w is not None:
        c2w, _ = _fix_layout(c2w)
    if transposed:
        notes.append(
            "room format: 4x4 stored transposed (translation in the last row): transposed back"
        )
    # == convert_pose(w2c, "opengl", "opencv"): rigidity is checked once, by the Camera
    cam_from_world = _GL4 @ w2c
    notes.append("transform_world2cam is in the OpenGL camera frame: converted to OpenCV")

    # --- metadata.jsonl join
    line = jsonl.line(rid) if jsonl is not None else None
    jcam: dict[str, Any] = {}
    if line is not None:
        jcam = _jsonl_camera(line)
        reason = _join_mismatch(info, jcam, K, line)
        if reason:
            notes.append(
                f"metadata.jsonl line for render_id {rid} not used: it describes another "
                f"render ({reason})"
            )
            line, jcam = None, {}

    # --- image size
    width = jcam.get("width")
    height = jcam.get("height")
    if width is None or height is None:
        size = _sibling_size(folder, stem, siblings)
        if size is not None:
            width, height = size
        else:
            width, height = round(2.0 * K[0, 2]), round(2.0 * K[1, 2])
            notes.append(
                "image size taken from the principal point (2 cx, 2 cy): no image or metadata.jsonl"
            )

    shift_x, shift_y = jcam.get("shift_x"), jcam.get("shift_y")
    if (shift_x or 0.0) != 0.0 or (shift_y or 0.0) != 0.0:
        K = K.copy()
        K[0, 2] = width / 2.0 - float(shift_x or 0.0) * width
        K[1, 2] = height / 2.0 + float(shift_y or 0.0) * height
        notes.append(
            "lens shift from metadata.jsonl applied: cx = W/2 - shift_x W, cy = H/2 + shift_y H"
        )
    if (jcam.get("window_offset_x") or 0.0) != 0.0 or (jcam.get("window_offset_y") or 0.0) != 0.0:
        notes.append(
            "window offset in metadata.jsonl is nonzero: not applied to the intrinsics (unverified)"
        )

    camera = make_camera(K, cam_from_world, width, height, info_path)

    # --- camera metadata (as stored)
    t_w2c = cam.get("transform_world2cam", {})
    quat = t_w2c.get("quaternion_wxyz") if isinstance(t_w2c, Mapping) else None
    euler = t_w2c.get("euler_xyz") if isinstance(t_w2c, Mapping) else None
    if quat is not None:
        notes.append("quaternion_wxyz holds (x, y, z, w)")
    metadata = CameraMetadata._trusted(
        focal_length_mm=get_optional_float(info, "camera.focal_length_mm", info_path),
        sensor_width_mm=get_optional_float(info, "camera.sensor.width_mm", info_path),
        sensor_height_mm=get_optional_float(info, "camera.sensor.height_mm", info_path),
        fov_x=get_optional_float(info, "camera.field_of_view.x_axis_rads", info_path),
        fov_y=get_optional_float(info, "camera.field_of_view.y_axis_rads", info_path),
        fov_source=f"{info_path.name}: camera.field_of_view" if "field_of_view" in cam else None,
        shift_x=shift_x,
        shift_y=shift_y,
        window_offset_x=jcam.get("window_offset_x"),
        window_offset_y=jcam.get("window_offset_y"),
        width=jcam.get("width"),
        height=jcam.get("height"),
        stored_K=stored_K,
        stored_cam_from_world=_GL4 @ w2c,
        stored_world_from_cam=None if c2w is None else c2w @ _GL4,
        location=None if c2w is None else c2w[:3, 3],
        quaternion=None
        if quat is None
        else get_array(
            info, "camera.transform_world2cam.quaternion_wxyz", info_path, (4,), value=quat
        ),
        quaternion_order=None if quat is None else "xyzw",
        quaternion_label=None if quat is None else "transform_world2cam.quaternion_wxyz",
        euler=None
        if euler is None
        else get_array(info, "camera.transform_world2cam.euler_xyz", info_path, (3,), value=euler),
        euler_rule=None if euler is None else SYNTHESIS_EULER_RULE,
        euler_sequence=None if euler is None else "xyz",
        euler_degrees=None if euler is None else True,
        euler_source=None
        if euler is None
        else f"{info_path.name}: camera.transform_world2cam.euler_xyz",
        source=str(info_path),
        axis_convention="opengl",
        pose_kind="cam_from_world" if c2w is None else "both",
        matrix_layout="transposed" if transposed else "row_major",
        pixel_convention="screen_space",
        square_pixels=not transposed,  # room-format K comes from two FOVs: fx != fy
        shift_units="per_axis",
        stored_K_includes_shift=False,
        extras={
            k: v
            for k, v in {
                "focal_length_mm_requested": jcam.get("focal_length_mm"),
                "sensor_width_mm_requested": jcam.get("sensor_width_mm"),
                "zmin": get(info, "render.zmin", info_path, default=None),
                "zmax": get(info, "render.zmax", info_path, default=None),
            }.items()
            if v is not None
        },
    )

    # --- landmarks
    groups, dense_loaders = _landmarks(
        info, info_path, stem, siblings, width, height, version, notes
    )
    _note_defects(groups, K, cam_from_world, notes)

    # --- files
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
    seg_map = info.get("segments_mapping")
    objects = info.get("objects")
    if seg_map is None and isinstance(objects, list):  # room format: one mask id per object
        seg_map = {
            str(o.get("type")): o.get("mask_id")
            for o in objects
            if isinstance(o, Mapping) and "mask_id" in o
        }
    seg_path = sib(".segments.png")

    scene = _render_scene(frame_id)
    camera_name = "default"
    if line is not None:
        task = line.get("task_id")
        if task is not None:
            fnum = line.get("frame_number")
            scene = f"task:{task}" + (f"/frame:{fnum}" if fnum is not None else "")
        camera_name = str(line.get("camera_name", camera_name))

    return Frame(
        camera=camera,
        vendor="synthesisai",
        version=version,
        frame_id=frame_id,
        scene_id=scene,
        camera_name=camera_name,
        image_path=sib(".rgb.png"),
        depth_path=depth_path,
        depth_kind=depth_kind if depth_path is not None else None,
        normals_path=normals_path,
        normals_convention="opengl" if normals_path is not None else None,
        segmentation_path=seg_path,
        segmentation_mapping=dict(seg_map) if isinstance(seg_map, Mapping) and seg_path else {},
        landmarks=LazyLandmarks(groups, dense_loaders),
        raw={"info": info, "metadata_jsonl": line},
        metadata=metadata,
        notes=tuple(notes),
        source=info_path,
        depth_channel=depth_channel,
        alpha_path=sib(".alpha.tif"),
    )


def _sibling_size(folder: Path, stem: str, siblings: frozenset[str]) -> tuple[int, int] | None:
    for suffix in (
        ".rgb.png",
        ".segments.png",
        ".clothing_segments.png",
        ".depth.tif",
        ".alpha.tif",
    ):
        name = f"{stem}{suffix}"
        if name in siblings:
            size = image_size(folder / name)
            if size is not None:
                return size
    return None


def _jsonl_camera(line: Mapping[str, Any]) -> dict[str, Any]:
    """Camera settings of a metadata.jsonl line (v1.1-v1.3 and v1.4 rig layouts)."""
    out: dict[str, Any] = {}
    scene = line.get("scene") if isinstance(line.get("scene"), Mapping) else {}
    res = (
        line.get("render", {}).get("resolution")
        if isinstance(line.get("render"), Mapping)
        else None
    )
    if isinstance(res, Mapping):
        out["width"], out["height"] = res.get("w"), res.get("h")
    spec: Mapping[str, Any] = {}
    adv: Mapping[str, Any] = {}
    scam = scene.get("camera") if isinstance(scene, Mapping) else None
    if isinstance(scam, Mapping):
        spec = scam.get("specifications", {}) or {}
        adv = spec
    rigs = scene.get("camera_and_light_rigs") if isinstance(scene, Mapping) else None
    if isinstance(rigs, list):
        name = line.get("camera_name")
        for rig in rigs:
            for cam in (rig or {}).get("cameras", []) or []:
                if name is None or cam.get("name") == name:
                    spec = cam.get("specifications", {}) or {}
                    adv = cam.get("advanced", {}) or {}
                    if out.get("width") is None:
                        out["width"], out["height"] = (
                            spec.get("resolution_w"),
                            spec.get("resolution_h"),
                        )
                    break
    for key, src, where in (
        ("shift_x", "lens_shift_horizontal", adv),
        ("shift_y", "lens_shift_vertical", adv),
        ("window_offset_x", "window_offset_horizontal", adv),
        ("window_offset_y", "window_offset_vertical", adv),
        ("focal_length_mm", "focal_length", spec),
        ("sensor_width_mm", "sensor_width", spec),
    ):
        value = where.get(src) if isinstance(where, Mapping) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = float(value)
    for key in ("width", "height"):
        value = out.get(key)
        out[key] = (
            int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        )
    return out


def _identity_of(doc: Mapping[str, Any]) -> Any:
    for keypath in ("identity_metadata.id", "identity.id", "id"):
        node: Any = doc
        for part in keypath.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is not None:
            return node
    return None


def _join_mismatch(
    info: Mapping[str, Any], jcam: Mapping[str, Any], K: np.ndarray, line: Mapping[str, Any]
) -> str:
    """Why a metadata.jsonl line does not belong to this render ("" if it does)."""
    ident_info = _identity_of(info) if "identity_metadata" in info else None
    scene = line.get("scene")
    ident_line = _identity_of(scene) if isinstance(scene, Mapping) else None
    if ident_info is not None and ident_line is not None and str(ident_info) != str(ident_line):
        return f"identity {ident_line} vs {ident_info} in the info.json"
    width, height = jcam.get("width"), jcam.get("height")
    if width and height:
        # the stored K may or may not include a lens shift: accept either centre
        cx = width / 2.0 - (jcam.get("shift_x") or 0.0) * width
        cy = height / 2.0 + (jcam.get("shift_y") or 0.0) * height
        plain = abs(width / 2.0 - K[0, 2]) <= 1.0 and abs(height / 2.0 - K[1, 2]) <= 1.0
        shifted = abs(cx - K[0, 2]) <= 1.0 and abs(cy - K[1, 2]) <= 1.0
        if not (plain or shifted):
            return (
                f"resolution {width}x{height} does not match the principal point "
                f"({K[0, 2]:g}, {K[1, 2]:g}) of the info.json"
            )
    return ""


# ------------------------------------------------------------------ landmarks
class _Spec(NamedTuple):
    """One landmark group to convert: its points and how to name and order them."""

    name: str
    pts: list[Any]
    keypath: str
    order: str  # "id" (sort by id), "ptnum0"/"ptnum1" (place by point number), "given"
    names: list[str] | None = None
    item_paths: list[str] | None = None


def _landmarks(
    info: Mapping[str, Any],
    info_path: Path,
    stem: str,
    siblings: frozenset[str],
    width: int,
    height: int,
    version: str | None,
    notes: list[str],
) -> tuple[dict[str, Landmarks], dict[str, Any]]:
    specs: list[_Spec] = []
    lms = info.get("landmarks")
    if isinstance(lms, list):
        specs.append(_Spec("ibug68", lms, "landmarks", "ptnum0"))
    elif isinstance(lms, Mapping):
        for name, pts, keypath in _flatten_groups(lms, "landmarks"):
            specs.append(_Spec(name, pts, keypath, "id"))
    elif lms is not None:
        raise FormatError(
            f"{info_path}: expected landmarks to be a list or an object, got {type(lms).__name__}."
        )
    contour = info.get("contour_landmarks")
    if isinstance(contour, list):
        specs.append(_Spec("ibug68_contour", contour, "contour_landmarks", "ptnum1"))
        notes.append("contour_landmarks ptnum counts from 1: aligned to 68 rows, NaN where absent")
    pupils = info.get("pupil_coordinates")
    if isinstance(pupils, Mapping) and pupils:
        keys = [k for k in ("pupil_left", "pupil_right") if k in pupils] or list(pupils)
        specs.append(
            _Spec(
                "pupils",
                [pupils[k] for k in keys],
                "pupil_coordinates",
                "given",
                names=[k.removeprefix("pupil_") for k in keys],
                item_paths=[f"pupil_coordinates.{k}" for k in keys],
            )
        )
    groups = _convert(specs, info_path, (float(width), float(height)))
    if groups:
        notes.append("screen_space_pos is (u/W, v/H): scaled to camgeom pixels")
    loaders: dict[str, Any] = {}
    for name, suffix in DENSE_FILES.items():
        fname = f"{stem}{suffix}"
        if fname in siblings:
            loaders[name] = _dense_loader(info_path.parent / fname)
    return groups, loaders


def _dense_loader(path: Path) -> Any:
    def load() -> Landmarks:
        verts = read_obj_vertices(path)
        return Landmarks(
            names=tuple(str(i) for i in range(len(verts))),
            world=verts,
            pixels=None,
            visible=None,
            source=str(path),
        )

    return load


def _flatten_groups(
    node: Mapping[str, Any], prefix: str, name: str = ""
) -> list[tuple[str, list[Any], str]]:
    out: list[tuple[str, list[Any], str]] = []
    for key, value in node.items():
        gname = f"{name}_{key}" if name else str(key)
        keypath = f"{prefix}.{key}"
        if isinstance(value, list):
            out.append((_snake(gname), value, keypath))
        elif isinstance(value, Mapping):
            out.extend(_flatten_groups(value, keypath, gname))
    return out


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def _points(
    pts: list[Any], key: str, keypath: str, path: Path, width: int, item_paths: list[str] | None
) -> np.ndarray:
    try:
        arr = np.array([p[key] for p in pts], dtype=np.float64)
    except (KeyError, TypeError, ValueError):
        for i, p in enumerate(pts):
            where = item_paths[i] if item_paths else f"{keypath}[{i}]"
            if not isinstance(p, Mapping):
                raise FormatError(
                    f"{path}: expected an object at {where}, got {type(p).__name__}."
                ) from None
            if key not in p:
                raise MissingKeyError(f"{path}: missing key {where}.{key}") from None
            get_array(p, f"{where}.{key}", path, (width,), value=p[key])
        raise FormatError(f"{path}: {keypath} points have inconsistent {key} values.") from None
    if arr.ndim != 2 or arr.shape[1] != width:
        raise FormatError(
            f"{path}: expected {keypath}[*].{key} to hold {width} numbers each, "
            f"got shape {arr.shape}."
        )
    if not np.all(np.isfinite(arr)):
        bad = int(np.argwhere(~np.isfinite(arr))[0, 0])
        where = item_paths[bad] if item_paths else f"{keypath}[{bad}]"
        raise FormatError(f"{path}: {where}.{key} holds non-finite values (NaN or inf).")
    return arr


# One table for every landmark group of a file: 12 columns, zeros where a group has no value.
_S, _W, _C, _ID, _PT, _DIST, _FR = 0, 2, 5, 8, 9, 10, 11
_WIDTH = 12
_VECTOR_KEYS = ("screen_space_pos", "world_space_pos", "camera_space_pos")
_SCALAR_KEYS = ("id", "ptnum", "distance_to_camera", "in_frustum")
_COLUMN = {
    "screen_space_pos": _S,
    "world_space_pos": _W,
    "camera_space_pos": _C,
    "id": _ID,
    "ptnum": _PT,
    "distance_to_camera": _DIST,
    "in_frustum": _FR,
}
_PY_POWERS = tuple(10.0**d for d in range(7))
_Z6 = [0.0] * 6


def _signature(first: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(k for k in (*_VECTOR_KEYS, *_SCALAR_KEYS) if k in first)


_V15 = ("screen_space_pos", "world_space_pos", "camera_space_pos", "id", "in_frustum")
_V15_2D = ("screen_space_pos", "id", "in_frustum")
_V1 = ("screen_space_pos", "world_space_pos", "camera_space_pos", "ptnum", "distance_to_camera")
_V1_2D = ("screen_space_pos", "ptnum")
_PUPIL = ("screen_space_pos", "world_space_pos", "camera_space_pos", "distance_to_camera")


def _rows(pts: list[Any], sig: tuple[str, ...]) -> list[list[Any]]:
    """Each point as one 12-value row (fast paths for the layouts seen in the data)."""
    s, w, c = _VECTOR_KEYS
    if sig == _V15:  # v1.5 groups
        return [p[s] + p[w] + p[c] + [p["id"], 0.0, 0.0, p["in_frustum"]] for p in pts]
    if sig == _V15_2D:  # v1.5 ibug68_contour
        return [p[s] + _Z6 + [p["id"], 0.0, 0.0, p["in_frustum"]] for p in pts]
    if sig == _V1:  # v1-v1.2 landmarks
        return [p[s] + p[w] + p[c] + [0.0, p["ptnum"], p["distance_to_camera"], 0.0] for p in pts]
    if sig == _V1_2D:  # v1.2 contour_landmarks
        return [p[s] + _Z6 + [0.0, p["ptnum"], 0.0, 0.0] for p in pts]
    if sig == _PUPIL:
        return [p[s] + p[w] + p[c] + [0.0, 0.0, p["distance_to_camera"], 0.0] for p in pts]
    rows = []
    for p in pts:
        row = [0.0] * _WIDTH
        for key in sig:
            col = _COLUMN[key]
            if key in _VECTOR_KEYS:
                value = p[key]
                row[col : col + len(value)] = value
            else:
                row[col] = p[key]
        rows.append(row)
    return rows


def _first_lengths_ok(first: Mapping[str, Any], sig: tuple[str, ...]) -> bool:
    for k in _VECTOR_KEYS:
        if k in sig:
            value = first.get(k)
            if not isinstance(value, list) or len(value) != (2 if k == _VECTOR_KEYS[0] else 3):
                return False
    return True


def _table(spec: _Spec, sig: tuple[str, ...], path: Path) -> np.ndarray:
    """One group's (N, 12) rows, checked point by point (errors name the point and key).

    The slow path behind :func:`_convert`, used only when the fast path fails.
    """
    pts, keypath, item_paths = spec.pts, spec.keypath, spec.item_paths
    out = np.zeros((len(pts), _WIDTH))
    out[:, _S : _S + 2] = _points(pts, "screen_space_pos", keypath, path, 2, item_paths)
    for key in _VECTOR_KEYS[1:]:
        if key in sig:
            col = _COLUMN[key]
            out[:, col : col + 3] = _points(pts, key, keypath, path, 3, item_paths)
    for key in _SCALAR_KEYS:
        if key not in sig:
            continue
        if key == "in_frustum":
            values: list[Any] = [p.get("in_frustum") is True for p in pts]
        elif key == "distance_to_camera":
            values = [p.get("distance_to_camera", np.nan) for p in pts]
        else:
            if any(key not in p for p in pts):
                raise MissingKeyError(f"{path}: missing key {keypath}[*].{key}")
            values = [p[key] for p in pts]
        try:
            out[:, _COLUMN[key]] = np.array(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise FormatError(f"{path}: {keypath}[*].{key} must be numbers.") from None
    return out


def _convert(specs: list[_Spec], path: Path, scale: tuple[float, float]) -> dict[str, Landmarks]:
    """Convert landmark groups to :class:`Landmarks` with one table for all of them.

    Every point of every group becomes one row of a (N, 12) float64 table built
    by a single ``np.array`` call; the finiteness check, the scaling to pixels,
    the OpenGL -> OpenCV flip and the reordering by id are each one operation on
    the whole table, and each group gets read-only views of its rows. Any problem
    falls back to a per-group, per-key path whose errors name the file, the group,
    the point and the key.
    """
    done: dict[str, Landmarks] = {}
    members: list[tuple[_Spec, tuple[str, ...]]] = []
    for spec in specs:
        if not spec.pts:
            done[spec.name] = Landmarks(
                (), np.zeros((0, 3)), np.zeros((0, 2)), None, source=f"{path.name}: {spec.keypath}"
            )
            continue
        first = spec.pts[0]
        if not isinstance(first, Mapping):
            raise FormatError(
                f"{path}: expected objects in {spec.keypath}, got {type(first).__name__}."
            )
        members.append((spec, _signature(first)))
    if members:
        arr = None
        if all(_first_lengths_ok(m.pts[0], sig) for m, sig in members):
            rows: list[list[Any]] = []
            try:
                for m, sig in members:
                    rows.extend(_rows(m.pts, sig))
                arr = np.array(rows, dtype=np.float64)
                # one reduction: the sum is finite only if every value is
                if arr.shape != (len(rows), _WIDTH) or not np.isfinite(arr.sum()):
                    arr = None
            except (KeyError, TypeError, ValueError):
                arr = None
        if arr is None:
            arr = np.concatenate([_table(m, sig, path) for m, sig in members], axis=0)
        done.update(_split(arr, members, path, scale))
    return {spec.name: done[spec.name] for spec in specs}


def _split(
    arr: np.ndarray,
    members: list[tuple[_Spec, tuple[str, ...]]],
    path: Path,
    scale: tuple[float, float],
) -> dict[str, Landmarks]:
    counts = [len(m.pts) for m, _ in members]
    starts = [0]
    for n in counts[:-1]:
        starts.append(starts[-1] + n)
    # decimals each group's stored screen_space_pos is rounded to: only groups whose
    # first value is rounded at all are checked, and only at the candidate decimals
    decimals: list[int | None] = []
    firsts = arr[starts, _S].tolist()
    for v, start, n in zip(firsts, starts, counts, strict=True):
        found = None
        for d, q in enumerate(_PY_POWERS):
            if abs(v * q - round(v * q)) <= 1e-6:
                x = arr[start : start + n, _S : _S + 2] * q
                if float(np.abs(x - np.rint(x)).max()) <= 1e-6:
                    found = d
                    break
        decimals.append(found)

    # names, and the order by id of groups that have ids (one gather for all groups)
    stored = list(map(dict.get, chain.from_iterable(m.pts for m, _ in members), repeat("name")))
    by_id = [m.order == "id" and "id" in sig for m, sig in members]
    if any(by_id):
        ids = arr[:, _ID].tolist()
        index: list[int] | None = None
        for m_by_id, start, n in zip(by_id, starts, counts, strict=True):
            part = ids[start : start + n]
            if m_by_id and part != sorted(part):
                if index is None:
                    index = list(range(len(ids)))
                index[start : start + n] = sorted(range(start, start + n), key=ids.__getitem__)
        if set(map(type, stored)) != {str}:
            stored = [str(v) if v is not None else f"{ids[i]:g}" for i, v in enumerate(stored)]
        if index is not None:
            arr = arr[index]
            stored = [stored[i] for i in index]
    # screen -> pixels, OpenGL camera frame -> OpenCV (arr is a private array)
    arr[:, _S : _S + 2] *= scale
    arr[:, _C + 1 : _C + 3] *= -1.0
    frustum = arr[:, _FR] == 1.0
    arr.flags.writeable = False  # the views below inherit read-only
    frustum.flags.writeable = False

    out: dict[str, Landmarks] = {}
    for (m, sig), start, n, dec in zip(members, starts, counts, decimals, strict=True):
        block = arr[start : start + n]
        fr = frustum[start : start + n] if "in_frustum" in sig else None
        if m.names is not None:
            names = list(m.names)
        elif m.order in ("ptnum0", "ptnum1") and "ptnum" in sig:
            block, fr, names = _place(block, fr, m, path)
        elif m.order in ("ptnum0", "ptnum1"):
            raise MissingKeyError(f"{path}: missing key {m.keypath}[0].ptnum")
        else:
            names = [
                v if type(v) is str else str(i) for i, v in enumerate(stored[start : start + n])
            ]
        out[m.name] = Landmarks._trusted(
            names=tuple(names),
            world=block[:, _W : _W + 3] if "world_space_pos" in sig else None,
            pixels=block[:, _S : _S + 2],
            visible=None,
            camera_space=block[:, _C : _C + 3] if "camera_space_pos" in sig else None,
            distance=block[:, _DIST] if "distance_to_camera" in sig else None,
            in_frustum=fr,
            pixels_decimals=dec,
            pixels_scale=scale,
            source=f"{path.name}: {m.keypath}",
        )
    return out


def _place(
    block: np.ndarray, frustum: np.ndarray | None, spec: _Spec, path: Path
) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Put points at their row ``ptnum - base`` (68 rows at least; NaN where absent)."""
    base = 0 if spec.order == "ptnum0" else 1
    nums = [int(v) - base for v in block[:, _PT].tolist()]
    if min(nums) < 0 or len(set(nums)) != len(nums):
        raise FormatError(
            f"{path}: {spec.keypath} ptnum values are not distinct point numbers from {base}."
        )
    total = max(68, max(nums) + 1)
    names = [str(i + 1) for i in range(total)]
    if nums == list(range(total)):
        return block, frustum, names
    full = np.full((total, block.shape[1]), np.nan)
    full[nums] = block
    full.flags.writeable = False
    if frustum is not None:
        fr = np.zeros(total, dtype=bool)
        fr[nums] = frustum
        fr.flags.writeable = False
        frustum = fr
    return full, frustum, names


def _note_defects(
    groups: Mapping[str, Landmarks], K: np.ndarray, cam_from_world: np.ndarray, notes: list[str]
) -> None:
    pupils = groups.get("pupils")
    if pupils is not None and pupils.world is not None and len(pupils) == 2:
        if np.array_equal(pupils.world[0], pupils.world[1]):
            notes.append(
                "known vendor defect: pupil_right carries pupil_left's world_space_pos and "
                "camera_space_pos (its screen_space_pos and distance_to_camera are its own)"
            )
    ibug = groups.get("ibug68")
    if ibug is not None and ibug.world is not None and ibug.pixels is not None and len(ibug) == 68:
        uvw = ibug.world @ (K @ cam_from_world[:3, :3]).T + K @ cam_from_world[:3, 3]
        depth = uvw[:, 2:]
        if not (depth > 0).all():
            return
        err = np.abs(uvw[:, :2] / depth - ibug.pixels).max(axis=1).tolist()
        brows = max(err[17:27])
        rest = max(err[:17] + err[27:])
        if brows > 1.0 and rest < 1.0:
            notes.append(
                "known vendor defect: iBUG-68 eyebrow labels (points 18-27) are up to "
                f"{brows:.1f} px from the projection of their world positions"
            )

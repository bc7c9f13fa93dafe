"""Microsoft GeoGen cameras: a per-subject ``metadata.json`` (assumed layout).

GeoGen publishes 512x512 images, 7 views per identity, with "the extrinsics and
intrinsics in json format" (average focal length 50 mm, sensor width 36 mm). No
sample metadata file is public, so this reader assumes the layout below and fails
with a :class:`~camgeom.errors.FormatError` naming the file and the key on anything
else (a missing key, an unknown key, a wrong shape, an unknown convention)::

    {
      "name": "subj_id_0",              optional: subject name (the scene id);
                                        default: the folder name
      "convention": "opencv",           optional: camera axes of every pose
                                        (any camgeom convention name), default "opencv"
      "cameras": [                      a list (view k is entry k) or an object
        {                               name -> camera
          "image": "0.png",             optional: image path relative to the file;
                                        default "<k>.png" (or "<name>.png"), beside the
                                        file or in the folder "<name>"
          "resolution": [512, 512],     [width, height] in pixels (required)
          "focal_length_mm": 50.0,      with sensor_width_mm, unless "intrinsics"
          "sensor_width_mm": 36.0,
          "sensor_height_mm": 36.0,     optional: default sensor_width_mm * H / W
          "intrinsics": [[fx, 0, cx], [0, fy, cy], [0, 0, 1]],  optional OpenCV K
          "cam_from_world": 4x4 or 3x4, exactly one of these two
          "world_from_cam": 4x4 or 3x4,
          "convention": "opengl"        optional: overrides the top-level convention
        }
      ]
    }

Translations are in metres. The pose is converted to the OpenCV convention with
:func:`camgeom.conventions.convert_pose`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np

from camgeom.datasets._common import image_size, make_camera, relative_id, stored_pose
from camgeom.datasets._json import get, get_array, get_float, load_json
from camgeom.datasets.frame import Frame, FrameSource
from camgeom.datasets.metadata import CameraMetadata
from camgeom.errors import CamgeomError, FormatError, MissingKeyError

__all__ = [
    "CAMERA_KEYS",
    "TOP_KEYS",
    "GeoGenFile",
    "is_geogen_metadata",
    "read_frame",
]

TOP_KEYS = frozenset({"name", "convention", "cameras"})
"""Top-level keys of the assumed ``metadata.json`` layout."""

CAMERA_KEYS = frozenset(
    {
        "name",
        "image",
        "resolution",
        "focal_length_mm",
        "sensor_width_mm",
        "sensor_height_mm",
        "intrinsics",
        "cam_from_world",
        "world_from_cam",
        "convention",
    }
)
"""Keys of one camera entry of the assumed layout."""

ASSUMED_NOTE = (
    "GeoGen metadata.json read with the assumed key layout documented in docs/datasets.md"
)


def is_geogen_metadata(doc: Any) -> bool:
    """True when ``doc`` (parsed JSON) looks like the assumed GeoGen layout."""
    return isinstance(doc, Mapping) and "cameras" in doc


@dataclass
class GeoGenFile:
    """A parsed per-subject metadata file shared by its views."""

    path: Path
    doc: dict[str, Any] = field(default_factory=dict)
    root: Path | None = None
    """Files named by the metadata must lie in this folder (default: the file's folder)."""
    allow_outside_root: bool = False

    @classmethod
    def load(cls, path: Path) -> GeoGenFile:
        doc = load_json(path)
        if not isinstance(doc, dict):
            raise FormatError(
                f"{path}: expected a JSON object at the top level (GeoGen metadata.json)."
            )
        unknown = sorted(set(doc) - TOP_KEYS)
        if unknown:
            raise FormatError(
                f"{path}: unknown key {unknown[0]!r} at the top level; the assumed GeoGen layout "
                f"has "
                f"{', '.join(sorted(TOP_KEYS))} (see docs/datasets.md)."
            )
        cams = get(doc, "cameras", path)
        if not isinstance(cams, (list, Mapping)) or not cams:
            raise FormatError(f"{path}: expected 'cameras' to be a non-empty list or object.")
        return cls(path, doc)

    def views(self) -> list[tuple[str, str, Mapping[str, Any]]]:
        """(view name, JSON path, camera entry) of every view."""
        cams = self.doc["cameras"]
        if isinstance(cams, Mapping):
            return [(str(k), f"cameras.{k}", v) for k, v in cams.items()]
        out = []
        for i, cam in enumerate(cams):
            name = cam.get("name", str(i)) if isinstance(cam, Mapping) else str(i)
            out.append((str(name), f"cameras[{i}]", cam))
        return out

    @property
    def subject(self) -> str:
        name = self.doc.get("name")
        return str(name) if name is not None else self.path.parent.name


def sources_for(path: Path, root: Path, *, allow_outside_root: bool = False) -> list[FrameSource]:
    """One source per view of the metadata file ``path`` (the file is parsed now).

    Image files the metadata names must lie inside ``root`` (after resolving
    symbolic links) unless ``allow_outside_root``.
    """
    gfile = replace(GeoGenFile.load(path), root=root, allow_outside_root=allow_outside_root)
    base = relative_id(path.parent, root) if path.parent != root else ""
    scene = partial(_subject_scene, gfile)
    out = []
    for i, (name, _, _) in enumerate(gfile.views()):
        frame_id = f"{base}/{name}" if base else name
        out.append(
            FrameSource(
                "geogen",
                path,
                frame_id,
                partial(_read_view, gfile, i, frame_id),
                scene,
                files=partial(_input_files, gfile, i),
            )
        )
    return out


def _input_files(gfile: GeoGenFile, index: int) -> list[Path]:
    """The metadata file and the image file(s) view ``index`` may be read with."""
    name, _, cam = gfile.views()[index]
    folder = gfile.path.parent
    image = cam.get("image") if isinstance(cam, Mapping) else None
    if isinstance(image, str) and image and "\0" not in image:
        return [gfile.path, folder / image]
    return [gfile.path, folder / f"{name}.png", folder / gfile.subject / f"{name}.png"]


def _check_inside(file: Path, root: Path, path: Path, key: str) -> None:
    """Refuse a file named by the metadata that resolves outside the dataset ``root``."""
    try:
        inside = file.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError, ValueError):  # a link loop or an unusable name
        inside = False
    if not inside:
        raise FormatError(
            f"{path}: {key} names {str(file)!r}, which is outside the dataset root {root}; "
            "pass allow_outside_root=True to load() to read it."
        )


def _subject_scene(gfile: GeoGenFile) -> str:
    return f"subject:{gfile.subject}"


def read_frame(path: str | Path, view: int | str = 0) -> Frame:
    """Read one view of a GeoGen per-subject ``metadata.json``.

    Parameters
    ----------
    path : path-like
        The metadata file (assumed layout: see the module documentation).
    view : int or str
        View index or camera name.

    Raises
    ------
    MissingKeyError, FormatError
        A missing, unknown or malformed key; the message names the file and key.
    """
    gfile = GeoGenFile.load(Path(path))
    views = gfile.views()
    if isinstance(view, str):
        names = [v[0] for v in views]
        if view not in names:
            raise KeyError(f"{path}: no camera named {view!r}; cameras: {', '.join(names)}")
        index = names.index(view)
    else:
        index = int(view)
        if not 0 <= index < len(views):
            raise IndexError(f"{path}: view {index} out of range ({len(views)} cameras)")
    return _read_view(gfile, index, views[index][0])


def _stored_matrix(
    cam: Mapping[str, Any], path: Path, where: str
) -> tuple[Literal["cam_from_world", "world_from_cam"], np.ndarray]:
    """The pose kind and the stored pose padded to 4x4, as stored."""
    has_cfw, has_wfc = "cam_from_world" in cam, "world_from_cam" in cam
    if has_cfw == has_wfc:
        if has_cfw:
            raise FormatError(
                f"{path}: {where} has both cam_from_world and world_from_cam; give one."
            )
        raise MissingKeyError(
            f"{path}: missing key {where}.cam_from_world (or {where}.world_from_cam)"
        )
    kind: Literal["cam_from_world", "world_from_cam"] = (
        "cam_from_world" if has_cfw else "world_from_cam"
    )
    raw = cam[kind]
    rows = 3 if isinstance(raw, list) and len(raw) == 3 else 4
    mat = np.eye(4)
    mat[:rows] = get_array(cam, f"{where}.{kind}", path, (rows, 4), value=raw)
    return kind, mat


def _read_view(gfile: GeoGenFile, index: int, frame_id: str) -> Frame:
    from camgeom.conventions import resolve_convention
    from camgeom.intrinsics import intrinsics_from_focal_length

    path = gfile.path
    name, where, cam = gfile.views()[index]
    if not isinstance(cam, Mapping):
        raise FormatError(f"{path}: expected an object at {where}, got {type(cam).__name__}.")
    unknown = sorted(set(cam) - CAMERA_KEYS)
    if unknown:
        raise FormatError(
            f"{path}: unknown key {where}.{unknown[0]}; the assumed GeoGen camera keys are "
            f"{', '.join(sorted(CAMERA_KEYS))} (see docs/datasets.md)."
        )
    convention = str(cam.get("convention", gfile.doc.get("convention", "opencv")))
    try:
        resolve_convention(convention)
    except CamgeomError as exc:
        raise FormatError(f"{path}: {where}: {exc}") from None

    def required(key: str) -> Any:
        if key not in cam:
            raise MissingKeyError(f"{path}: missing key {where}.{key}")
        return cam[key]

    res = get_array(cam, f"{where}.resolution", path, (2,), value=required("resolution"))
    if np.any(res <= 0) or np.any(res != np.round(res)):
        raise FormatError(
            f"{path}: {where}.resolution must be two positive whole numbers, got {res.tolist()}."
        )
    width, height = int(res[0]), int(res[1])

    focal: float | None = None
    sensor_w: float | None = None
    sensor_h: float | None = None
    if "sensor_height_mm" in cam:
        sensor_h = get_float(cam, f"{where}.sensor_height_mm", path, value=cam["sensor_height_mm"])
    if "intrinsics" in cam:
        K = get_array(cam, f"{where}.intrinsics", path, (3, 3), value=cam["intrinsics"])
        if "focal_length_mm" in cam:
            focal = get_float(cam, f"{where}.focal_length_mm", path, value=cam["focal_length_mm"])
        if "sensor_width_mm" in cam:
            sensor_w = get_float(
                cam, f"{where}.sensor_width_mm", path, value=cam["sensor_width_mm"]
            )
    else:
        f_mm = get_float(cam, f"{where}.focal_length_mm", path, value=required("focal_length_mm"))
        s_mm = get_float(cam, f"{where}.sensor_width_mm", path, value=required("sensor_width_mm"))
        focal, sensor_w = f_mm, s_mm
        try:
            K = intrinsics_from_focal_length(f_mm, s_mm, width, height, sensor_height_mm=sensor_h)
        except CamgeomError as exc:
            raise FormatError(f"{path}: {where}: {exc}") from None
    kind, stored = _stored_matrix(cam, path, where)
    camera = make_camera(
        K,
        stored,
        (width, height),
        path,
        convention=convention,
        kind=kind,
        what=f"{where}.{kind} with convention {convention!r}",
    )
    # the stored pose in OpenCV axes, not the camera's checked copy: a verifier measures it
    pose = stored_pose(stored, convention, kind=kind)

    image = cam.get("image")
    folder = path.parent
    if image is not None:
        if not isinstance(image, str) or not image or "\0" in image:
            raise FormatError(f"{path}: expected a file name at {where}.image, got {image!r}.")
        image_path: Path | None = folder / image
    else:
        image_path = None
        for candidate in (folder / f"{name}.png", folder / gfile.subject / f"{name}.png"):
            if candidate.is_file():
                image_path = candidate
                break
    if image_path is not None and not gfile.allow_outside_root:
        _check_inside(image_path, gfile.root or folder, path, f"{where}.image")
    notes = [ASSUMED_NOTE]
    if resolve_convention(convention) != "RDF":
        notes.append(f"pose stored in the {convention!r} convention: converted to OpenCV")
    metadata = CameraMetadata(
        focal_length_mm=focal,
        sensor_width_mm=sensor_w,
        sensor_height_mm=sensor_h,
        width=width,
        height=height,
        stored_K=K if "intrinsics" in cam else None,
        stored_cam_from_world=pose if kind == "cam_from_world" else None,
        stored_world_from_cam=pose if kind == "world_from_cam" else None,
        source=str(path),
        axis_convention=convention,
        pose_kind=kind,
        matrix_layout="row_major",
        square_pixels=True,
        extras={"convention": convention, "stored_pose": stored},
    )
    if image_path is not None and image_path.is_file():
        size = image_size(image_path)
        if size is not None and size != (width, height):
            notes.append(
                f"image size {size[0]}x{size[1]} differs from the stored resolution "
                f"{width}x{height}"
            )
    return Frame(
        camera=camera,
        vendor="geogen",
        version=None,
        frame_id=frame_id,
        scene_id=_subject_scene(gfile),
        camera_name=name,
        image_path=image_path,
        raw={"metadata": gfile.doc},
        metadata=metadata,
        notes=tuple(notes),
        source=path,
    )

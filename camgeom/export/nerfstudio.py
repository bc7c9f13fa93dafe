"""nerfstudio / instant-ngp ``transforms.json``: one entry per frame.

Each frame carries its own intrinsics (``fl_x, fl_y, cx, cy, w, h``), lens
model (``camera_model`` and the distortion keys ``k1 .. k4, p1, p2``), its pose
as ``transform_matrix`` (``world_from_cam`` with OpenGL camera axes: x right,
y up, z toward the viewer), and paths relative to the file's folder
(``file_path``, ``depth_file_path``, ``mask_path``). nerfstudio casts rays
through pixel centres at +0.5, as camgeom does, so ``cx, cy`` are camgeom's.

Depth images are float32 TIFFs of planar depth (z along the optical axis, 0
where there is no surface) in metres; ``depth_unit_scale_factor`` is 1.0 (pass
``--depth-unit-scale-factor 1.0`` to nerfstudio's data parser, whose default is
millimetres).

Masks (``mask_path``) are 8-bit PNGs of the image size, 255 on the foreground
(every segmentation class except ``background``, else alpha > 0) and 0 where
nerfstudio ignores the pixel. ``ply_file_path`` names a binary PLY of the
fused depth cloud (every few pixels of each view's foreground, in the world
frame of ``transform_matrix``, coloured from the image).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from camgeom.errors import FormatError
from camgeom.io.png import png_bytes

if TYPE_CHECKING:
    from camgeom.camera import Camera

__all__ = [
    "DEPTH_UNIT_SCALE_FACTOR",
    "DISTORTION_KEYS",
    "cloud_samples",
    "entry_text",
    "frame_entry",
    "mask_png_bytes",
    "read_transforms",
    "resolve_image",
    "transforms_bytes",
    "transforms_bytes_of_texts",
]

#: Metres per stored depth unit in the depth TIFFs camgeom writes.
DEPTH_UNIT_SCALE_FACTOR = 1.0
#: The distortion keys of each camera model, in nerfstudio's names.
DISTORTION_KEYS = {
    "OPENCV": ("k1", "k2", "k3", "k4", "p1", "p2"),
    "OPENCV_FISHEYE": ("k1", "k2", "k3", "k4"),
}


def cloud_samples(
    camera: Camera,
    z: np.ndarray,
    *,
    world_from_cam: np.ndarray,
    stride: int,
    mask: np.ndarray | None = None,
    image: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """World points (N, 3) and uint8 colours (N, 3) of every ``stride``-th pixel with a surface.

    ``z`` is (H, W) planar depth (0 or NaN: no surface), unprojected through
    ``camera`` and moved to the world by ``world_from_cam`` ((3, 4) or (4, 4),
    OpenCV axes; the pose as stored, so a reloaded export fuses the same bits);
    ``mask`` (H, W) bool keeps only foreground pixels; ``image`` (H, W, 3)
    colours the points (grey without).
    """
    rows = np.arange(stride // 2, z.shape[0], stride)
    cols = np.arange(stride // 2, z.shape[1], stride)
    sub = z[np.ix_(rows, cols)].astype(np.float64)
    ok = np.isfinite(sub) & (sub > 0)
    if mask is not None:
        ok &= mask[np.ix_(rows, cols)]
    r, c = np.nonzero(ok)
    uv = np.stack([cols[c] + 0.5, rows[r] + 0.5], axis=1)
    pose = np.asarray(world_from_cam, np.float64)
    cam_pts = np.asarray(camera.unproject(uv, sub[ok], frame="camera"), np.float64)
    world = cam_pts.reshape(-1, 3) @ pose[:3, :3].T + pose[:3, 3]
    rgb = np.full((len(uv), 3), 128, np.uint8)
    if image is not None and image.shape[:2] == z.shape:
        rgb = np.asarray(image[rows[r], cols[c]][:, :3], np.uint8)
    return world.reshape(-1, 3), rgb


def frame_entry(
    *,
    file_path: str,
    K: np.ndarray,
    width: int,
    height: int,
    world_from_cam_opengl: np.ndarray,
    camera_model: str = "OPENCV",
    distortion: Mapping[str, float] | None = None,
    depth_file_path: str | None = None,
    mask_path: str | None = None,
) -> dict[str, Any]:
    """One ``frames[]`` entry of ``transforms.json``.

    ``camera_model`` is ``"OPENCV"`` for a pinhole camera (nerfstudio has no
    ``PINHOLE``; its distortion keys are then 0).
    """
    entry: dict[str, Any] = {
        "file_path": file_path,
        "fl_x": float(K[0, 0]),
        "fl_y": float(K[1, 1]),
        "cx": float(K[0, 2]),
        "cy": float(K[1, 2]),
        "w": int(width),
        "h": int(height),
        "camera_model": camera_model,
    }
    dist = dict(distortion or {})
    for key in DISTORTION_KEYS.get(camera_model, ()):
        entry[key] = float(dist.get(key, 0.0))
    entry["transform_matrix"] = [[float(v) for v in row] for row in world_from_cam_opengl]
    if depth_file_path is not None:
        entry["depth_file_path"] = depth_file_path
    if mask_path is not None:
        entry["mask_path"] = mask_path
    return entry


def transforms_bytes(
    frames: Sequence[Mapping[str, Any]],
    *,
    ply_file_path: str | None = None,
) -> bytes:
    """The content of ``transforms.json`` for ``frames`` (from :func:`frame_entry`).

    Deterministic: keys in a fixed order, two-space indent, shortest round-trip numbers.

    Examples
    --------
    >>> e = frame_entry(file_path="a.png", K=np.diag([50.0, 50.0, 1.0]), width=64, height=48,
    ...                 world_from_cam_opengl=np.eye(4))
    >>> json.loads(transforms_bytes([e]))["frames"][0]["fl_x"]
    50.0
    """
    return transforms_bytes_of_texts(
        [entry_text(f) for f in frames],
        depth=any("depth_file_path" in f for f in frames),
        ply_file_path=ply_file_path,
    )


#: Line break and indentation of a ``frames[]`` entry in ``transforms.json``.
_ENTRY_NEWLINE = "\n    "


def entry_text(entry: Mapping[str, Any]) -> str:
    """A ``frames[]`` entry as it appears in :func:`transforms_bytes`'s text.

    Export workers make this text, so the document is joined from it without
    encoding every number again in one process.

    Raises
    ------
    ValueError
        A non-finite number (JSON cannot hold it).
    """
    return _indented_json(dict(entry), _ENTRY_NEWLINE)


def transforms_bytes_of_texts(
    texts: Sequence[str], *, depth: bool, ply_file_path: str | None = None
) -> bytes:
    """:func:`transforms_bytes` of the entries whose :func:`entry_text` is ``texts``.

    ``depth``: some entry has a ``depth_file_path`` (adds ``depth_unit_scale_factor``).

    Examples
    --------
    >>> e = frame_entry(file_path="a.png", K=np.diag([50.0, 50.0, 1.0]), width=64, height=48,
    ...                 world_from_cam_opengl=np.eye(4))
    >>> transforms_bytes_of_texts([entry_text(e)], depth=False) == transforms_bytes([e])
    True
    """
    head = []
    if depth:
        head.append(f'"depth_unit_scale_factor": {float.__repr__(DEPTH_UNIT_SCALE_FACTOR)}')
    if ply_file_path is not None:
        head.append(f'"ply_file_path": {_encode_str(ply_file_path)}')
    if texts:
        joiner = "," + _ENTRY_NEWLINE
        head.append('"frames": [' + _ENTRY_NEWLINE + joiner.join(texts) + "\n  ]")
    else:
        head.append('"frames": []')
    return ("{\n  " + ",\n  ".join(head) + "\n}\n").encode("utf-8")


_encode_str = json.encoder.encode_basestring_ascii


def _indented_json(value: Any, newline: str) -> str:
    """``json.dumps(value, indent=2, allow_nan=False)`` for str-keyed documents, in fewer steps.

    Same text as :mod:`json` (ASCII escapes, ``repr`` of floats, ``[]`` / ``{}``
    when empty); ``newline`` is ``"\\n"`` plus the indentation of ``value``'s level.
    """
    if isinstance(value, str):
        return _encode_str(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")
        return float.__repr__(value)
    if isinstance(value, int):
        return int.__repr__(value)
    inner = newline + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        if not all(isinstance(k, str) for k in value):
            return json.dumps(value, indent=2, allow_nan=False).replace("\n", newline)
        items = (f"{_encode_str(k)}: {_indented_json(v, inner)}" for k, v in value.items())
        return "{" + inner + ("," + inner).join(items) + newline + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        if all(type(v) is float for v in value):  # a row of numbers: no recursion
            if not all(map(math.isfinite, value)):
                raise ValueError("Out of range float values are not JSON compliant")
            return "[" + inner + ("," + inner).join(map(float.__repr__, value)) + newline + "]"
        return (
            "["
            + inner
            + ("," + inner).join(_indented_json(v, inner) for v in value)
            + newline
            + "]"
        )
    return json.dumps(value, indent=2, allow_nan=False).replace("\n", newline)


def mask_png_bytes(mask: np.ndarray) -> bytes:
    """An 8-bit greyscale PNG of a boolean (H, W) mask: 255 where True, else 0.

    Rows are stored unfiltered and deflated at level 1 (masks compress well at
    any level; this one is cheap). Any PNG reader reads back the same pixels.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> m = np.zeros((2, 3), bool); m[0, 1] = True
    >>> np.asarray(Image.open(io.BytesIO(mask_png_bytes(m)))).tolist()
    [[0, 255, 0], [0, 0, 0]]
    """
    m = np.asarray(mask, bool)
    grey = np.zeros(m.shape, np.uint8)
    grey[m] = 255
    return png_bytes(grey, filtered=False)


IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".exr")
"""Tried, in order, for a ``file_path`` without an extension (NeRF-synthetic's ``./train/r_0``)."""


def resolve_image(folder: str | os.PathLike[str], file_path: str) -> Path:
    """The image a frame's ``file_path`` names, relative to the ``transforms.json`` folder.

    A ``file_path`` without an extension (the Blender NeRF-synthetic scenes) is
    the first of :data:`IMAGE_EXTENSIONS` that exists; otherwise the path as written.
    """
    image = Path(folder) / file_path
    if image.suffix or image.exists():
        return image
    for ext in IMAGE_EXTENSIONS:
        candidate = image.with_name(image.name + ext)
        if candidate.is_file():
            return candidate
    return image


def read_transforms(
    path: str | os.PathLike[str],
    *,
    image_size: Callable[[Path], tuple[int, int] | None] | None = None,
) -> dict[str, Any]:
    """Parse ``transforms.json`` and fill every frame's intrinsics from the top level.

    Returns the document with each frame holding ``fl_x, fl_y, cx, cy, w, h``
    and ``camera_model`` (frame values win over top-level ones; ``camera_angle_x``
    of instant-ngp files gives ``fl_x``; a missing ``cx`` / ``cy`` is the image centre).

    Parameters
    ----------
    path : str or os.PathLike
    image_size : callable (Path) -> (width, height) or None, keyword-only, optional
        Reads an image's size: a frame without ``w`` / ``h`` (the NeRF-synthetic
        scenes state only ``camera_angle_x``) takes its image's
        (:func:`resolve_image`).

    Raises
    ------
    FormatError
        Not JSON, no ``frames`` list, or a frame without size, focal length or pose.
    """
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FormatError(f"{p}: not a readable transforms.json ({exc}).") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("frames"), list):
        raise FormatError(f"{p}: expected a JSON object with a 'frames' list.")
    shared = {k: v for k, v in doc.items() if k != "frames"}
    frames = []
    for i, raw in enumerate(doc["frames"]):
        f = {**shared, **raw}
        if ("w" not in f or "h" not in f) and image_size is not None:
            name = f.get("file_path")
            size = image_size(resolve_image(p.parent, name)) if isinstance(name, str) else None
            if size is not None:
                f.setdefault("w", size[0])
                f.setdefault("h", size[1])
        try:
            w, h = int(f["w"]), int(f["h"])
            if "fl_x" not in f and "camera_angle_x" in f:
                f["fl_x"] = 0.5 * w / math.tan(0.5 * float(f["camera_angle_x"]))
            if "fl_y" not in f:
                f["fl_y"] = f["fl_x"]
            f.setdefault("cx", w / 2)
            f.setdefault("cy", h / 2)
            f.setdefault("camera_model", "OPENCV")
            f["transform_matrix"] = np.asarray(f["transform_matrix"], dtype=float)
            float(f["fl_x"])
            str(f["file_path"])
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatError(f"{p}: frame {i} lacks a usable {exc}.") from None
        if f["transform_matrix"].shape != (4, 4):
            raise FormatError(f"{p}: frame {i} transform_matrix is not 4x4.")
        frames.append(f)
    doc["frames"] = frames
    return doc

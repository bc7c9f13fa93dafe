"""Apply (or undo) one kind of mistake to a copy of a frame's files, in the vendor's format.

Private: :func:`camgeom.testing.inject` copies and edits; the diagnosis
(:mod:`camgeom.verification.diagnosis`) and the repair
(:mod:`camgeom.verification.repair`) undo a kind on a copy. Every edit reads and
writes the copy only.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from camgeom.errors import InvalidValueError
from camgeom.testing.kinds import KINDS, NotExpressibleError

if TYPE_CHECKING:
    from camgeom.datasets import Frame

__all__ = ["EDITABLE_VENDORS", "copy_frame", "edit_copy", "metadata_files"]

EDITABLE_VENDORS = ("synthesisai", "datagen")
"""Vendors whose files the edits can rewrite."""

_OPENGL_FROM_OPENCV = np.diag([1.0, -1.0, -1.0, 1.0])
_DATAGEN_BACKGROUND = 1e9  # 1e10 (float32) and 65504 (half) are background
_SAI_BACKGROUND = (0.0, 0.0025)


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise InvalidValueError(f"Expected `kind` to be one of {KINDS!r}, got {kind!r}.")


def _render_name(frame: Frame) -> str:
    assert frame.source is not None
    return frame.source.name[: -len(".info.json")]


def copy_frame(frame: Frame, out_dir: Path, *, link_pixels: bool = False) -> Path:
    """Copy the files of one frame into ``out_dir`` so that ``camgeom.load(out_dir)`` reads it.

    With ``link_pixels``, every file is a symbolic link to its original; the
    edits replace a link by a file of its own before writing it. Returns the
    folder holding the frame's own files in the copy.
    """
    copy = _linker if link_pixels else shutil.copyfile
    if frame.vendor not in EDITABLE_VENDORS or frame.source is None:
        raise NotExpressibleError(
            f"{frame.vendor} frames cannot be rewritten: only {EDITABLE_VENDORS} files are "
            "supported (GeoGen publishes no sample metadata file; FaceSynthetics has no camera)"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    src = Path(frame.source)
    if frame.vendor == "synthesisai":
        prefix = _render_name(frame) + "."
        for p in src.parent.iterdir():
            if p.is_file() and (p.name.startswith(prefix) or p.name == "metadata.jsonl"):
                copy(p, out_dir / p.name)
        return out_dir
    parts = frame.frame_id.split("/")
    cam_dir = src if src.is_dir() else src.parent
    root = cam_dir.parents[len(parts) - 1]
    for i in range(1, len(parts)):
        d = root.joinpath(*parts[:i])
        (out_dir.joinpath(*parts[:i])).mkdir(parents=True, exist_ok=True)
        for p in d.iterdir():
            if p.is_file():
                copy(p, out_dir.joinpath(*parts[:i], p.name))
    dest = out_dir.joinpath(*parts)
    shutil.copytree(cam_dir, dest, dirs_exist_ok=True, copy_function=copy)
    return dest


def _linker(src: str | Path, dst: str | Path) -> None:
    Path(dst).symlink_to(Path(src).resolve())


def _writable(path: Path) -> Path:
    """Replace a symbolic link by an empty file of its own before writing: links are read-only."""
    if path.is_symlink():
        path.unlink()
    return path


def metadata_files(frame: Frame, frame_dir: Path) -> list[Path]:
    """The metadata files of a frame's copy that the edits may rewrite (no pixel files)."""
    if frame.vendor == "synthesisai":
        files = [frame_dir / f"{_render_name(frame)}.info.json", frame_dir / "metadata.jsonl"]
    else:
        files = [
            frame_dir / "camera_metadata.json",
            *sorted((frame_dir / "key_points").glob("*.json")),
        ]
    return [p for p in files if p.exists()]


def edit_copy(frame: Frame, frame_dir: Path, kind: str, *, undo: bool = False) -> None:
    """Apply kind ``kind`` (or its inverse) to the copy of ``frame`` in ``frame_dir``.

    Raises
    ------
    NotExpressibleError
        The frame's files cannot express the kind (the message says why).
    """
    check_kind(kind)
    if frame.camera is None:
        raise NotExpressibleError("the frame has no camera")
    if kind in ("depth_kind_swapped", "depth_millimetres"):
        _edit_depth(frame, frame_dir, kind, undo)
    elif frame.vendor == "synthesisai":
        _SynthesisAI(frame, frame_dir).edit(kind, undo)
    else:
        _Datagen(frame, frame_dir).edit(kind, undo)


# ---------------------------------------------------------------- intrinsics


def _edit_K(K: np.ndarray, kind: str, undo: bool, width: int, height: int) -> np.ndarray:
    K = K.astype(float).copy()
    if kind == "fx_fy_swapped":
        if abs(K[0, 0] - K[1, 1]) <= 1e-9 * abs(K[0, 0]):
            raise NotExpressibleError(
                "square pixels (fx == fy): swapping fx and fy changes nothing"
            )
        K[0, 0], K[1, 1] = K[1, 1], K[0, 0]
    elif kind == "aspect_stretched":
        if width == height:
            raise NotExpressibleError(
                "a square image (W == H): stretching fy by W/H changes nothing"
            )
        K[1, 1] *= (height / width) if undo else (width / height)
    elif kind == "principal_point_half_pixel":
        K[:2, 2] += 0.5 if undo else -0.5
    elif kind in ("intrinsics_other_resolution", "resolution_mismatch"):
        K[:2] *= 0.5 if undo else 2.0
    return K


def _pose_edit(M: np.ndarray, kind: str, undo: bool, *, opengl: bool) -> np.ndarray:
    """Edit a 4x4 cam_from_world (row-major, translation in column 3)."""
    M = M.astype(float).copy()
    if kind == "pose_inverted":
        return np.linalg.inv(M)
    if kind == "pose_transposed":
        if np.abs(M[:3, :3] - M[:3, :3].T).max() <= 1e-6:
            raise NotExpressibleError(
                "a symmetric rotation (R == R^T): transposing changes nothing"
            )
        M[:3, :3] = M[:3, :3].T.copy()
    elif kind == "axes_opengl_as_opencv":
        M = _OPENGL_FROM_OPENCV @ M
    elif kind == "translation_centimetres":
        M[:3, 3] *= 0.01 if undo else 100.0
    return M


_POSE_KINDS = (
    "pose_inverted",
    "pose_transposed",
    "axes_opengl_as_opencv",
    "translation_centimetres",
)
_K_KINDS = (
    "fx_fy_swapped",
    "aspect_stretched",
    "principal_point_half_pixel",
    "intrinsics_other_resolution",
)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def _write_json(path: Path, obj: Any) -> None:
    _writable(path).write_text(json.dumps(obj, indent=2))


def _walk(obj: Any) -> Iterator[dict[str, Any]]:
    if isinstance(obj, dict):
        yield obj
        for v in obj.values():
            yield from _walk(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _walk(v)


# ---------------------------------------------------------------- Synthesis AI


class _SynthesisAI:
    def __init__(self, frame: Frame, frame_dir: Path) -> None:
        self.frame = frame
        self.info_path = frame_dir / f"{_render_name(frame)}.info.json"
        self.info = _read_json(self.info_path)
        self.jsonl_path = frame_dir / "metadata.jsonl"
        assert frame.camera is not None
        self.width, self.height = frame.camera.width, frame.camera.height

    def edit(self, kind: str, undo: bool) -> None:
        cam = self.info["camera"]
        if kind in _K_KINDS or kind == "resolution_mismatch":
            if kind == "resolution_mismatch":
                self._edit_resolution(undo)
            nested = isinstance(cam["intrinsics"], dict)
            K = np.asarray(cam["intrinsics"]["mat_3x3"] if nested else cam["intrinsics"])
            K = _edit_K(K, kind, undo, self.width, self.height)
            if nested:
                cam["intrinsics"]["mat_3x3"] = K.tolist()
            else:
                cam["intrinsics"] = K.tolist()
        elif kind in _POSE_KINDS:
            self._edit_pose(cam, kind, undo)
        elif kind == "quaternion_order":
            found = False
            for key in ("transform_world2cam", "transform_cam2world"):
                q = cam.get(key, {}).get("quaternion_wxyz")
                if q is not None:
                    found = True
                    cam[key]["quaternion_wxyz"] = (q[1:] + q[:1]) if undo else (q[3:] + q[:3])
            if not found:
                raise NotExpressibleError("this info.json stores no quaternion (only mat_4x4)")
        elif kind == "pixel_row_col":
            r = self.height / self.width
            for node in _walk(self.info):
                s = node.get("screen_space_pos")
                if isinstance(s, list) and len(s) == 2 and None not in s:
                    node["screen_space_pos"] = [s[1] * r, s[0] / r]
        _write_json(self.info_path, self.info)

    def _edit_pose(self, cam: dict[str, Any], kind: str, undo: bool) -> None:
        if kind == "pose_inverted" and "transform_cam2world" in cam:
            cam["transform_world2cam"], cam["transform_cam2world"] = (
                cam["transform_cam2world"],
                cam["transform_world2cam"],
            )
            return
        for key in ("transform_world2cam", "transform_cam2world"):
            node = cam.get(key)
            if node is None or "mat_4x4" not in node:
                continue
            if kind in ("pose_transposed", "pose_inverted") and key == "transform_cam2world":
                continue
            M = np.asarray(node["mat_4x4"], dtype=float)
            transposed = not np.allclose(M[3], [0, 0, 0, 1])
            M = M.T if transposed else M
            if key == "transform_cam2world":  # edit as cam_from_world, store its inverse
                M = np.linalg.inv(_pose_edit(np.linalg.inv(M), kind, undo, opengl=True))
            else:
                M = _pose_edit(M, kind, undo, opengl=True)
            node["mat_4x4"] = (M.T if transposed else M).tolist()
            if kind == "translation_centimetres" and "translation_xyz" in node:
                f = 0.01 if undo else 100.0
                node["translation_xyz"] = [v * f for v in node["translation_xyz"]]

    def _edit_resolution(self, undo: bool) -> None:
        if not self.jsonl_path.exists():
            raise NotExpressibleError(
                "no metadata.jsonl: the render's size comes from its image files, so other "
                "metadata reads as intrinsics_other_resolution"
            )
        f = 0.5 if undo else 2.0
        lines = self.jsonl_path.read_text().splitlines()
        rid = _render_name(self.frame)
        out, hit = [], False
        for text in lines:
            if not text.strip():
                continue
            line = json.loads(text)
            if str(line.get("render_id")) == rid:
                for node in _walk(line):
                    for k in ("resolution_w", "resolution_h"):
                        if isinstance(node.get(k), (int, float)):
                            node[k] = round(node[k] * f)
                            hit = True
                    res = node.get("resolution")
                    if isinstance(res, dict) and "w" in res and "h" in res:
                        res["w"], res["h"] = round(res["w"] * f), round(res["h"] * f)
                        hit = True
            out.append(json.dumps(line))
        if not hit:
            raise NotExpressibleError(f"metadata.jsonl has no resolution for render {rid}")
        _writable(self.jsonl_path).write_text("\n".join(out) + "\n")


# ---------------------------------------------------------------- Datagen


class _Datagen:
    def __init__(self, frame: Frame, frame_dir: Path) -> None:
        self.frame_dir = frame_dir
        self.meta_path = frame_dir / "camera_metadata.json"
        self.meta = _read_json(self.meta_path)
        assert frame.camera is not None
        self.width, self.height = frame.camera.width, frame.camera.height

    def edit(self, kind: str, undo: bool) -> None:
        m = self.meta
        if kind in _K_KINDS or kind == "resolution_mismatch":
            if "intrinsic_matrix" not in m:
                raise NotExpressibleError("camera_metadata.json stores no intrinsic_matrix")
            m["intrinsic_matrix"] = _edit_K(
                np.asarray(m["intrinsic_matrix"]), kind, undo, self.width, self.height
            ).tolist()
            if kind == "resolution_mismatch":
                f = 0.5 if undo else 2.0
                m["resolution_px"] = {k: v * f for k, v in m["resolution_px"].items()}
        elif kind in _POSE_KINDS:
            if "extrinsic_matrix" not in m:
                raise NotExpressibleError("camera_metadata.json stores no extrinsic_matrix")
            E = np.vstack([np.asarray(m["extrinsic_matrix"], dtype=float), [0, 0, 0, 1]])
            m["extrinsic_matrix"] = _pose_edit(E, kind, undo, opengl=False)[:3].tolist()
            if kind == "translation_centimetres" and "location" in m:
                f = 0.01 if undo else 100.0
                m["location"] = {k: v * f for k, v in m["location"].items()}
        elif kind == "quaternion_order":
            raise NotExpressibleError("Datagen camera_metadata.json stores no quaternion")
        elif kind == "pixel_row_col":
            self._swap_keypoints()
            return
        _write_json(self.meta_path, m)

    def _swap_keypoints(self) -> None:
        files = sorted((self.frame_dir / "key_points").glob("*.json"))
        if not files:
            raise NotExpressibleError("the frame has no key point files")
        for path in files:
            doc = _read_json(path)
            for node in _walk(doc):
                p = node.get("pixel_2d")
                if isinstance(p, dict) and "x" in p and "y" in p:
                    p["x"], p["y"] = p["y"], p["x"]
                p2 = node.get("keypoints_2d_coordinates")
                if isinstance(p2, list):
                    node["keypoints_2d_coordinates"] = [
                        [q[1], q[0], *q[2:]] if isinstance(q, list) else q for q in p2
                    ]
            _write_json(path, doc)


# ---------------------------------------------------------------- depth


def _edit_depth(frame: Frame, frame_dir: Path, kind: str, undo: bool) -> None:
    if frame.depth_path is None or frame.depth_kind is None:
        raise NotExpressibleError("the frame has no depth map")
    path = frame_dir / Path(frame.depth_path).name
    if path.is_symlink():  # replace the link by a private copy before writing
        target = path.resolve()
        path.unlink()
        shutil.copyfile(target, path)
    assert frame.camera is not None
    if kind == "depth_millimetres":
        factor: Any = 0.001 if undo else 1000.0
    else:
        h, w = frame.camera.height, frame.camera.width
        u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
        rays = np.stack([u, v, np.ones_like(u)], axis=-1) @ np.linalg.inv(frame.camera.K).T
        norm = np.linalg.norm(rays, axis=-1)
        to_other = 1.0 / norm if frame.depth_kind == "range" else norm
        factor = 1.0 / to_other if undo else to_other
    if path.suffix.lower() in (".tif", ".tiff"):
        _scale_tiff(path, factor)
    else:
        _scale_exr(path, factor)


def _scaled(
    d: np.ndarray, factor: Any, background: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    f = np.broadcast_to(np.asarray(factor, dtype=float), d.shape[:2])
    f = f[..., None] if d.ndim == 3 else f
    keep = background(d) | ~np.isfinite(d)
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.where(keep, d, d.astype(np.float64) * f)
    return out.astype(d.dtype)


def _scale_tiff(path: Path, factor: Any) -> None:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        d = page.asarray()
        compression = page.compression
    out = _scaled(d, factor, lambda a: np.isin(a, np.asarray(_SAI_BACKGROUND, dtype=a.dtype)))
    tifffile.imwrite(path, out, compression=compression)


def _scale_exr(path: Path, factor: Any) -> None:
    from camgeom.io import read_exr, write_exr

    channels = read_exr(path)
    out = {
        name: _scaled(
            a, factor, lambda x: x.astype(np.float64) >= min(_DATAGEN_BACKGROUND, 65504.0)
        )
        for name, a in channels.items()
    }
    write_exr(path, out, compression="zip", overwrite=True)

"""What both export jobs share: the base job, image placement, lens models, option checks.

Every export job reads a frame in a worker, links or copies its image (never
re-encoded) to ``<out>/<stem>.image<ext>`` and passes the frame's camera on to
the job's reduce step as a JSON record (:func:`_frame_record`). The jobs are
:mod:`camgeom.export.jobs` (COLMAP) and :mod:`camgeom.export.nerfstudio_job`.
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from camgeom.errors import InvalidValueError
from camgeom.export.colmap import ExportError
from camgeom.jobs.commit import FrameOutputs
from camgeom.jobs.job import Job
from camgeom.jobs.manifest import FrameRow
from camgeom.poses import invert_pose

if TYPE_CHECKING:
    from camgeom.camera import Camera
    from camgeom.datasets.frame import Frame, FrameSource

__all__ = ["FUSED_STRIDE", "IMAGE_MODES", "UNKNOWN_DEPTH_KIND", "lens_model"]

#: How images reach the output folder.
IMAGE_MODES = ("symlink", "hardlink", "copy")
#: Pixel step of the depth samples of a fused cloud (COLMAP ``points3D``, nerfstudio PLY).
FUSED_STRIDE = 4

UNKNOWN_DEPTH_KIND = (
    "depth of unknown kind (planar z or range along the ray is unverified): left out, "
    "since it cannot be converted to planar z"
)
"""The warning of a frame whose depth map is not exported (``Frame.depth_kind`` None)."""


_IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr", ".bmp", ".webp")
_IMAGE_SUFFIXES = tuple(".image" + e for e in _IMAGE_EXTS)


def lens_model(camera: Camera) -> tuple[str, list[float], dict[str, Any]]:
    """COLMAP camera model, its parameters after ``fx, fy, cx, cy``, and nerfstudio's lens fields.

    A camera without a lens distortion is COLMAP ``"PINHOLE"`` (nerfstudio
    ``"OPENCV"`` with zero coefficients); an OpenCV lens is ``"OPENCV"`` (or
    ``"FULL_OPENCV"`` when ``k3 .. k6`` are used), a fisheye lens ``"OPENCV_FISHEYE"``.

    Raises
    ------
    ExportError
        A lens model that COLMAP or nerfstudio cannot hold.
    """
    dist = getattr(camera, "distortion", None)
    if dist is None:
        return "PINHOLE", [], {"camera_model": "OPENCV"}
    try:
        from camgeom import lens
    except ImportError:  # pragma: no cover - lens models are part of camgeom
        raise ExportError(
            f"This camera has a lens distortion ({dist!r}) camgeom cannot export."
        ) from None
    try:
        ns = lens.nerfstudio_from_distortion(dist)
    except ValueError:
        ns = {}
    coef = [float(c) for c in dist.coefficients]
    if isinstance(dist, lens.FisheyeDistortion):
        return "OPENCV_FISHEYE", coef, ns
    if isinstance(dist, lens.OpenCVDistortion):
        if any(coef[4:]):
            return "FULL_OPENCV", coef, ns
        return "OPENCV", coef[:4], ns
    raise ExportError(f"This camera has a lens model camgeom cannot export: {dist!r}.")


def pack_array(values: np.ndarray, dtype: str) -> str:
    """An array as base64 text of its ``dtype`` bytes: exact, compact and cheap to parse.

    The frame records travel from the workers to the reduce step as JSON (kept in
    the manifest); arrays go as one string each instead of lists of numbers.
    """
    return base64.b64encode(np.ascontiguousarray(values, dtype).tobytes()).decode("ascii")


def unpack_array(text: str, dtype: str, width: int) -> np.ndarray:
    """The ``(N, width)`` array (read-only) of :func:`pack_array`'s text."""
    return np.frombuffer(base64.b64decode(text), dtype).reshape(-1, width)


def _place_image(src: Path, dst: Path, mode: str) -> None:
    if mode == "symlink":
        os.symlink(os.path.abspath(src), dst)
    elif mode == "hardlink":
        try:
            os.link(src, dst)
        except OSError:  # another file system, or no hard links there
            shutil.copyfile(src, dst)
    else:
        shutil.copyfile(src, dst)


def _image_suffix(path: Path) -> str:
    ext = path.suffix.lower()
    if ext not in _IMAGE_EXTS:
        raise ExportError(
            f"Image {path.name}: extension {ext or '(none)'} is not one of {', '.join(_IMAGE_EXTS)}."
        )
    return ".image" + ext


def _frame_record(job: _ExportJob, frame: Frame, out: FrameOutputs) -> dict[str, Any]:
    """Place one frame's image; return what the reduce step needs (JSON)."""
    cam = frame.camera
    if cam is None:
        raise ExportError(
            f"frame {frame.frame_id}: this {frame.vendor} frame has no camera; nothing to export."
        )
    model, extra, ns = lens_model(cam)
    image = None
    if frame.image_path is not None and frame.image_path.is_file():
        suffix = _image_suffix(frame.image_path)
        _place_image(frame.image_path, out.path(suffix), job.images)
        image = out.stem + suffix
    K = cam.K
    # a pose stored as world_from_cam, from which the camera was built, is passed on as
    # stored: inverting it twice would change its last bits (export -> load -> export)
    world_from_cam = cam.world_from_cam
    stored = frame.metadata.stored_world_from_cam
    if stored is not None and np.array_equal(invert_pose(stored), cam.cam_from_world):
        world_from_cam = stored
    return {
        "frame_id": frame.frame_id,
        "scene": frame.scene_id,
        "image": image,
        "size": [cam.width, cam.height],
        "K": [K[0, 0], K[1, 1], K[0, 2], K[1, 2]],
        "model": model,
        "extra": extra,
        "nerfstudio": ns,
        "cam_from_world": cam.cam_from_world[:3].tolist(),
        "world_from_cam": np.asarray(world_from_cam)[:3].tolist(),
    }


@dataclass(frozen=True)
class _ExportJob(Job):
    images: str = "symlink"

    suffixes: ClassVar[tuple[str, ...]] = _IMAGE_SUFFIXES

    def inputs(self, item: FrameSource) -> Sequence[str]:
        from camgeom.jobs.project import source_inputs

        return source_inputs(item)

    @staticmethod
    def _records(rows: Iterator[FrameRow]) -> list[dict[str, Any]]:
        recs = [r.data for r in rows if r.state == "ok" and r.result is not None]
        return sorted(recs, key=lambda d: d["frame_id"])


def _check_choice(value: str, name: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise InvalidValueError(
            f"Expected `{name}` to be one of {tuple(choices)!r}, got {value!r}."
        )

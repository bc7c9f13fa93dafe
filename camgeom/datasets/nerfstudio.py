"""nerfstudio / instant-ngp ``transforms.json`` as a dataset: one frame per entry.

Each frame's camera comes from its intrinsics (``fl_x, fl_y, cx, cy, w, h``,
top-level values used where a frame has none; pixel centres at +0.5, as in
camgeom) and ``transform_matrix`` (``world_from_cam`` with OpenGL camera axes).
A lens model (``camera_model`` with nonzero ``k1 .. k4, p1, p2``) becomes the
camera's distortion. ``depth_file_path`` is the frame's planar depth when the
file's ``depth_unit_scale_factor`` is 1 (metres, as camgeom writes it).

Frame ids are ``file_path`` without its extension (and without the ``.image``
tag camgeom's exports add); every frame is its own scene.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import numpy as np

from camgeom.conventions import convert_pose
from camgeom.datasets._common import make_camera
from camgeom.datasets.colmap import frame_id_of
from camgeom.datasets.frame import Frame, FrameSource
from camgeom.datasets.metadata import CameraMetadata
from camgeom.errors import FormatError

__all__ = ["FILE_NAME", "sources_for"]

#: The file this reader opens.
FILE_NAME = "transforms.json"


@functools.lru_cache(maxsize=4)
def _doc(path: str, stamp: tuple[int, int]) -> dict[str, Any]:
    from camgeom.datasets._common import image_size
    from camgeom.export.nerfstudio import read_transforms

    return read_transforms(path, image_size=image_size)


def _read_doc(path: Path) -> dict[str, Any]:
    st = os.stat(path)
    return _doc(os.fspath(path), (st.st_mtime_ns, st.st_size))


def _distortion(f: dict[str, Any], path: Path) -> Any:
    coefs = [float(f.get(k, 0.0)) for k in ("k1", "k2", "k3", "k4", "p1", "p2")]
    if not any(coefs) and str(f.get("camera_model", "OPENCV")).upper() == "OPENCV":
        return None
    try:
        from camgeom.lens import distortion_from_nerfstudio
    except ImportError:  # pragma: no cover - lens models are part of camgeom
        raise FormatError(f"{path}: lens distortion is not supported.") from None
    try:
        return distortion_from_nerfstudio(f)
    except ValueError as exc:
        raise FormatError(f"{path}: {exc}") from None


def _frame_files(f: Any) -> tuple[str, ...]:
    """The file names a ``frames[i]`` entry holds (image, depth, mask)."""
    keys = ("file_path", "depth_file_path", "mask_path")
    if not isinstance(f, dict):
        return ()
    return tuple(str(f[k]) for k in keys if isinstance(f.get(k), str) and "\0" not in f[k])


def _input_files(path: Path, names: tuple[str, ...]) -> list[str]:
    """``transforms.json`` and the files its frame entry names."""
    from camgeom.export.nerfstudio import resolve_image

    return [os.fspath(path), *(os.fspath(resolve_image(path.parent, n)) for n in names)]


def _read_frame(path: Path, index: int, frame_id: str) -> Frame:
    from camgeom.export.nerfstudio import resolve_image

    doc = _read_doc(path)
    f = doc["frames"][index]
    K = np.array(
        [
            [float(f["fl_x"]), 0.0, float(f["cx"])],
            [0.0, float(f["fl_y"]), float(f["cy"])],
            [0.0, 0.0, 1.0],
        ]
    )
    cam = make_camera(
        K,
        f["transform_matrix"],
        (int(f["w"]), int(f["h"])),
        path,
        convention="opengl",
        kind="world_from_cam",
        what=f"frame {index}",
    )
    stored = convert_pose(f["transform_matrix"], "opengl", "opencv", kind="world_from_cam")
    distortion = _distortion(f, path)
    if distortion is not None:
        from camgeom.camera import Camera

        cam = Camera(cam.K, cam.cam_from_world, cam.width, cam.height, distortion=distortion)
    folder = path.parent
    depth = None
    notes: tuple[str, ...] = ()
    if f.get("depth_file_path"):
        if float(f.get("depth_unit_scale_factor", 1e-3)) == 1.0:
            depth = folder / str(f["depth_file_path"])
        else:
            notes = ("depth_file_path not used: its depth_unit_scale_factor is not 1 (metres)",)
    return Frame(
        camera=cam,
        vendor="nerfstudio",
        version=None,
        frame_id=frame_id,
        scene_id=frame_id,
        camera_name=str(f.get("camera_model", "OPENCV")),
        image_path=resolve_image(folder, str(f["file_path"])),
        depth_path=depth,
        depth_kind="z" if depth is not None else None,
        raw={"frame": {k: v for k, v in f.items() if k != "transform_matrix"}},
        metadata=CameraMetadata(
            width=int(f["w"]),
            height=int(f["h"]),
            stored_world_from_cam=stored,
            stored_K=K,
            calibrated_principal_point=True,
        ),
        notes=notes,
        source=path,
    )


def _scene(frame_id: str) -> str:
    return frame_id


def sources_for(path: Path) -> list[FrameSource]:
    """One source per frame of the ``transforms.json`` at ``path``, in file order.

    Raises
    ------
    FormatError
        Not a readable ``transforms.json``.
    """
    doc = _read_doc(path)
    out = []
    for i, f in enumerate(doc["frames"]):
        fid = frame_id_of(str(f["file_path"]).removeprefix("./"))
        out.append(
            FrameSource(
                "nerfstudio",
                path,
                fid,
                functools.partial(_read_frame, path, i, fid),
                functools.partial(_scene, fid),
                files=functools.partial(_input_files, path, _frame_files(f)),
            )
        )
    return out

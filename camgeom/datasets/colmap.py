"""COLMAP sparse models as datasets: one frame per registered image.

A model folder holds ``cameras``, ``images`` and ``points3D`` (``.txt`` or
``.bin``). Each image becomes a :class:`~camgeom.datasets.Frame` whose camera
is the image's COLMAP camera (pixel centres at +0.5, as in camgeom) and pose
(``cam_from_world``, OpenCV axes), and whose landmark group ``"points3D"``
holds the 3D points the image observes (names: point ids) with their observed
pixels as labels. Images are looked for in ``<project>/images/`` when the model
sits in ``<project>/sparse/<name>/``, else beside ``sparse/`` (the layout
:func:`camgeom.export.export_colmap` writes), else in the model folder.

Frame ids are image names without their extension (and without the
``.image`` tag camgeom's exports add), so a camgeom export read back keeps its
frame ids; the scene id is the model folder's name, percent-decoded (camgeom's
exports name each multi-view model after its scene id).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from urllib.parse import unquote

import numpy as np

from camgeom.datasets._common import make_camera
from camgeom.datasets.frame import Frame, FrameSource, files_in
from camgeom.datasets.landmarks import Landmarks
from camgeom.datasets.metadata import CameraMetadata
from camgeom.errors import FormatError
from camgeom.export.colmap import ColmapModel, read_model

__all__ = ["MODEL_FILES", "frame_id_of", "image_root", "is_model_dir", "sources_for"]

#: A folder holding one of these is a COLMAP model.
MODEL_FILES = ("cameras.txt", "cameras.bin")


def is_model_dir(folder: Path) -> bool:
    """True when ``folder`` holds a COLMAP model."""
    return any((folder / n).is_file() for n in MODEL_FILES)


def frame_id_of(name: str) -> str:
    """Frame id of an image name: the extension and a trailing ``.image`` removed.

    A name ending in ``.image.<ext>`` was written by a camgeom export, whose
    file names are percent-encoded frame ids (:func:`camgeom.jobs.output_stem`):
    they are decoded, so a camgeom export read back keeps its frame ids (unless
    a component was shortened with a hash, marked by ``~``). Other names are
    kept as they are.

    Examples
    --------
    >>> frame_id_of("datapoint_00001/camera_1.image.png"), frame_id_of("IMG_0001.JPG")
    ('datapoint_00001/camera_1', 'IMG_0001')
    >>> frame_id_of("job%20a/cam%3Avisible.png.image.png"), frame_id_of("a%20b.jpg")
    ('job a/cam:visible.png', 'a%20b')
    """
    stem, dot, ext = name.rpartition(".")
    if not dot or "/" in ext:
        return name
    if not stem.endswith(".image"):
        return stem
    stem = stem[: -len(".image")]
    if "~" in stem:  # a shortened component: its frame id is in the export's manifest
        return stem
    return "/".join(unquote(part, errors="surrogateescape") for part in stem.split("/"))


def image_root(model_dir: Path) -> Path:
    """Where the images named by a model are."""
    if model_dir.parent.name == "sparse":
        project = model_dir.parent.parent
        return project / "images" if (project / "images").is_dir() else project
    return model_dir


def _input_files(folder: Path, image_name: str) -> list[str]:
    """The model's files and the image it names (a frame is read from both)."""
    return [*files_in(folder), os.fspath(image_root(folder) / image_name)]


@functools.lru_cache(maxsize=8)
def _model(folder: str, stamp: tuple[int, int]) -> ColmapModel:
    return read_model(folder)


def _read_model(folder: Path) -> ColmapModel:
    name = "cameras.bin" if (folder / "cameras.bin").is_file() else "cameras.txt"
    st = os.stat(folder / name)
    return _model(os.fspath(folder), (st.st_mtime_ns, st.st_size))


def _read_frame(folder: Path, image_id: int, frame_id: str) -> Frame:
    model = _read_model(folder)
    image = next((im for im in model.images if im.image_id == image_id), None)
    if image is None:
        raise FormatError(f"{folder}: no image with id {image_id} in this COLMAP model.")
    camera = next((c for c in model.cameras if c.camera_id == image.camera_id), None)
    if camera is None:
        raise FormatError(f"{folder}: image {image.name} names missing camera {image.camera_id}.")
    K = camera.K
    distortion = None
    if camera.model != "PINHOLE":
        try:
            from camgeom.lens import distortion_from_colmap
        except ImportError:  # pragma: no cover - lens models are part of camgeom
            raise FormatError(
                f"{folder}: camera {camera.camera_id} is {camera.model}; only PINHOLE is read."
            ) from None
        K, distortion = distortion_from_colmap(camera.model, camera.params)
    cam = make_camera(
        K, image.cam_from_world, (camera.width, camera.height), folder, what=f"image {image.name}"
    )
    if distortion is not None:
        from camgeom.camera import Camera

        cam = Camera(cam.K, cam.cam_from_world, cam.width, cam.height, distortion=distortion)
    pts = model.points
    order = np.argsort(pts.ids)
    wanted = image.point3D_ids
    pos = np.searchsorted(pts.ids, wanted, sorter=order) if len(pts) else np.zeros(0, int)
    pos = np.minimum(pos, max(len(pts) - 1, 0))
    row = order[pos] if len(pts) else pos
    keep = (wanted >= 0) & (len(pts) > 0)
    if len(pts):
        keep &= pts.ids[row] == wanted
    landmarks = {}
    if keep.any():
        landmarks["points3D"] = Landmarks(
            names=tuple(str(i) for i in wanted[keep].tolist()),
            world=pts.xyz[row[keep]],
            pixels=image.xys[keep],
            visible=None,
            source=f"{folder.name}/images: {image.name}",
        )
    path = image_root(folder) / image.name
    return Frame(
        camera=cam,
        vendor="colmap",
        version=None,
        frame_id=frame_id,
        scene_id=unquote(folder.name),
        camera_name=str(camera.camera_id),
        image_path=path if path.is_file() else None,
        landmarks=landmarks,
        raw={"image": {"image_id": image.image_id, "name": image.name}},
        metadata=CameraMetadata(
            width=camera.width, height=camera.height, calibrated_principal_point=True
        ),
        source=folder,
    )


def _scene(name: str) -> str:
    return name


def sources_for(folder: Path, *, prefix: str = "") -> list[FrameSource]:
    """One source per image of the model in ``folder``, in image-id order.

    Raises
    ------
    FormatError
        The model cannot be read.
    """
    model = _read_model(folder)
    out = []
    for im in sorted(model.images, key=lambda im: im.image_id):
        fid = prefix + frame_id_of(im.name)
        out.append(
            FrameSource(
                "colmap",
                folder,
                fid,
                functools.partial(_read_frame, folder, im.image_id, fid),
                functools.partial(_scene, unquote(folder.name)),
                files=functools.partial(_input_files, folder, im.name),
            )
        )
    return out

"""Writing demo cameras in the Datagen layout.

One datapoint, ``datapoint_00001/``, holds ``semantic_segmentation_metadata.json``
and a folder per camera with ``camera_metadata.json`` (v1.1.0),
``depth.exr`` (float32 planar z in R, G and B, 1e10 background),
``normal_maps.exr`` (OpenGL camera frame, stored as ``(n + 1) / 2``),
``visible_spectrum_01.png``, ``semantic_segmentation.png`` (16-bit colours
stored as ``value >> 8``, as the vendor's files do) and ``key_points/*.json``
(``pixel_2d`` holds (row, column), ``is_visible`` the honest visibility).
Every frame change and pixel swap goes through :mod:`camgeom.conventions` and
:mod:`camgeom.poses`, the code the reader uses to come back.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from camgeom.conventions import convert_pixels, convert_points, convert_pose
from camgeom.demo._files import dump_json, write_png, xyz
from camgeom.demo.ground_truth import Layout, frame_truth, truth_record
from camgeom.demo.render import Render, landmark_truth, render
from camgeom.demo.scene import DATAGEN_FOCAL_MM, DATAGEN_WORLD, OBJECTS, Scene, View

__all__ = ["DATAGEN", "write_datagen"]

DATAGEN = Layout(name="datagen", world=DATAGEN_WORLD, depth_kind="z", background=1e10)
"""The Datagen layout: z-up world (the scene's own), planar z depth, 1e10 background."""

_DATAPOINT = "datapoint_00001"

# 16-bit segmentation colours (the PNG holds value >> 8, as the vendor's files do).
_COLOURS16 = {
    "head_left": (9114, 4994, 13827),
    "head_right": (44166, 8762, 45533),
    "hand_left": (20055, 51000, 30210),
    "hand_right": (61010, 40200, 5120),
    "floor": (50712, 50712, 12850),
}

_FILES = {
    "camera_metadata": "camera_metadata.json",
    "depth": "depth.exr",
    "normals": "normal_maps.exr",
    "image": "visible_spectrum_01.png",
    "segmentation": "semantic_segmentation.png",
}
"""Truth-file key -> file name in a camera folder."""


def _rgb(colour: tuple[int, int, int]) -> dict[str, int]:
    return dict(zip("RGB", colour, strict=True))


def _segmentation_metadata() -> dict[str, Any]:
    return {
        "version": "1.0.0",
        "human": {
            "head": {
                "skin": {
                    "left": _rgb(_COLOURS16["head_left"]),
                    "right": _rgb(_COLOURS16["head_right"]),
                }
            },
            "hand": {
                "left": _rgb(_COLOURS16["hand_left"]),
                "right": _rgb(_COLOURS16["hand_right"]),
            },
        },
        "floor": _rgb(_COLOURS16["floor"]),
        "background": {"R": 0, "G": 0, "B": 0},
    }


def _camera_metadata(view: View) -> dict[str, Any]:
    W, H, K = view.width, view.height, view.K
    name, hfov_deg = view.extra["name"], view.extra["hfov_deg"]
    # in a camera frame of axes (left, up, forward), the world_from_cam columns are the
    # camera's image-up and viewing directions, which the vendor stores
    world_from_cam = convert_pose(view.world_from_cam, "opencv", "LUF", kind="world_from_cam")
    sensor_w = 2.0 * DATAGEN_FOCAL_MM * math.tan(math.radians(hfov_deg) / 2.0)
    return {
        "version": "1.1.0",
        "camera_name": name,
        "camera_type": "PERSP",
        "focal_length": DATAGEN_FOCAL_MM,
        "location": xyz(world_from_cam[:3, 3]),
        "orientation": {
            "look_at_vector": xyz(world_from_cam[:3, 2]),
            "up_vector": xyz(world_from_cam[:3, 1]),
        },
        "aspect_px": {"x": 1.0, "y": 1.0},
        "resolution_px": {"x": float(W), "y": float(H)},
        "fov": {
            "horizontal": hfov_deg,
            "vertical": math.degrees(2.0 * math.atan((H / 2.0) / K[1, 1])),
        },
        "sensor": {"sensor_width": sensor_w, "sensor_height": sensor_w * H / W},
        "intrinsic_matrix": [
            [K[0, 0], 0.0, K[0, 2]],
            [0.0, K[1, 1], K[1, 2]],
            [0.0, 0.0, 1.0],
        ],
        "extrinsic_matrix": view.cam_from_world[:3, :4],
    }


def _write_exr(path: Path, channels: dict[str, np.ndarray]) -> None:
    """ZIP-compressed float32 EXR with the vendor's 72 dpi attribute."""
    from camgeom.io import write_exr

    write_exr(path, channels, compression="zip", attributes={"xDensity": 72.0})


def _write_images(cam_dir: Path, scene: Scene, image: Render) -> None:
    H, W = image.obj.shape
    fg = image.obj >= 0
    z = np.where(fg, image.z_m, DATAGEN.background).astype(np.float32)
    _write_exr(cam_dir / _FILES["depth"], {"R": z, "G": z.copy(), "B": z.copy()})
    normals_gl = convert_points(image.normal_cv, "opencv", "opengl")
    rgb_normals = np.where(fg[..., None], (normals_gl + 1.0) / 2.0, 0.0).astype(np.float32)
    channels = {c: np.ascontiguousarray(rgb_normals[..., i]) for i, c in enumerate("RGB")}
    _write_exr(cam_dir / _FILES["normals"], channels)
    rgba = np.concatenate([image.rgb, np.full((H, W, 1), 255, np.uint8)], axis=-1)
    write_png(cam_dir / _FILES["image"], rgba, dpi=(72, 72))
    seg = np.zeros((H, W, 3), dtype=np.uint8)
    head_id = OBJECTS.index("head")
    left = (image.points - scene.head_centre) @ scene.head_rotation[:, 0] > 0
    for obj_id, obj in enumerate(OBJECTS):
        mask = image.obj == obj_id
        if obj_id == head_id:
            seg[mask & left] = np.array(_COLOURS16["head_left"]) >> 8
            seg[mask & ~left] = np.array(_COLOURS16["head_right"]) >> 8
        else:
            seg[mask] = np.array(_COLOURS16[obj]) >> 8
    write_png(cam_dir / _FILES["segmentation"], seg, dpi=(72, 72))


def _keypoints(lm: dict[str, Any], names: list[str]) -> dict[str, Any]:
    row_col = convert_pixels(lm["uv"], "camgeom", "row_col")
    return {
        name: {
            "global_3d": xyz(lm["world"][i]),
            "pixel_2d": {"x": float(row_col[i, 0]), "y": float(row_col[i, 1])},
            "is_visible": "true" if lm["visible"][i] else "false",
        }
        for i, name in enumerate(names)
    }


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """{"left.wrist": v} -> {"left": {"wrist": v}}."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def _write_keypoints(folder: Path, ibug: dict[str, Any], hands: dict[str, Any]) -> None:
    folder.mkdir(parents=True)
    standard = _keypoints(ibug, [f"{i + 1:02d}" for i in range(68)])
    hand_points = _nest(_keypoints(hands, list(hands["names"])))
    documents = {
        "face_standard_key_points.json": {"version": "2.0.0", "face": {"standard": standard}},
        "hands_key_points.json": {"version": "2.0.0", "hands": hand_points},
        "all_key_points.json": {
            "version": "2.0.0",
            "face": {"standard": standard},
            "hands": hand_points,
        },
    }
    for name, doc in documents.items():
        dump_json(doc, folder / name, indent=3, newline=False)


def write_datagen(folder: Path, scene: Scene, views: list[View]) -> list[dict]:
    """Write one datapoint with a camera per view under ``folder``; return the frames' truth."""
    datapoint = folder / _DATAPOINT
    datapoint.mkdir(parents=True)
    dump_json(
        _segmentation_metadata(),
        datapoint / "semantic_segmentation_metadata.json",
        indent=3,
        newline=False,
    )
    frames = []
    for view in views:
        name = view.extra["name"]
        cam_dir = datapoint / name
        cam_dir.mkdir()
        meta = _camera_metadata(view)
        dump_json(meta, cam_dir / _FILES["camera_metadata"], indent=3, newline=False)
        image = render(scene, view)
        _write_images(cam_dir, scene, image)
        ibug = landmark_truth(scene, view, "ibug68")
        hands = landmark_truth(scene, view, "hands")
        _write_keypoints(cam_dir / "key_points", ibug, hands)
        rel = f"{DATAGEN.name}/{_DATAPOINT}/{name}"
        frames.append(
            frame_truth(
                f"{_DATAPOINT}/{name}",
                view,
                image,
                layout=DATAGEN,
                cam_from_world=view.cam_from_world,
                files={key: f"{rel}/{file}" for key, file in _FILES.items()},
                landmarks={
                    "ibug68": truth_record(ibug, DATAGEN),
                    "hands": truth_record(hands, DATAGEN),
                },
                extra={"hfov_deg": view.extra["hfov_deg"]},
            )
        )
    return frames

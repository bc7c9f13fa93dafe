"""Writing demo renders in the Synthesis AI layout.

Per render ``N``: ``N.info.json`` (v1.5 layout), ``N.rgb.png``, ``N.depth.tif``
(float32 distance along the ray, +inf background), ``N.normals.tif`` (float16,
OpenGL camera frame), ``N.alpha.tif``, ``N.segments.png`` (uint16 ids); and one
``metadata.jsonl`` line per render (the v1.4 request with a head-orbit rig).
Cameras are stored as the vendor does, OpenGL ``transform_world2cam`` in the y-up
world; every frame change goes through :mod:`camgeom.conventions` and
:mod:`camgeom.poses`, the code the reader uses to come back.
"""

from __future__ import annotations

import json
import math
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from camgeom.conventions import convert_pixels, convert_points, convert_pose
from camgeom.demo._files import dump_json, plain, write_png
from camgeom.demo.ground_truth import Layout, frame_truth, truth_record
from camgeom.demo.render import Render, landmark_truth, render
from camgeom.demo.scene import (
    DATAGEN_FROM_SYNTHESIS,
    OBJECTS,
    SPHERES,
    SYNTHESIS_SENSOR_WIDTH_MM,
    SYNTHESIS_WORLD,
    Scene,
    View,
    world_from_head,
)
from camgeom.poses import compose_poses, invert_pose

__all__ = ["SYNTHESIS", "write_synthesis"]

SYNTHESIS = Layout(
    name="synthesisai", world=SYNTHESIS_WORLD, depth_kind="range", background=float("inf")
)
"""The Synthesis AI layout: y-up world, range depth, +inf background."""

# Segmentation ids: background first, then alphabetical, like the vendor's table.
_SEGMENTS = {"background": 0, "floor": 1, "hand_left": 2, "hand_right": 3, "head": 4}

_KINECT_IDS = {
    "HAND_LEFT": 8,
    "HAND_RIGHT": 15,
    "FOOT_LEFT": 21,
    "FOOT_RIGHT": 25,
    "HEAD": 26,
    "NOSE": 27,
}
"""Kinect v2 joint ids as the vendor numbers them."""

_FILES = {
    "info": "info.json",
    "depth": "depth.tif",
    "normals": "normals.tif",
    "image": "rgb.png",
    "segmentation": "segments.png",
    "alpha": "alpha.tif",
}
"""Truth-file key -> file name suffix of render ``N`` (``N.<suffix>``)."""


def _group(lm: dict[str, Any], gl_cam_from_world: np.ndarray, size: tuple[int, int]) -> list[dict]:
    """Landmark entries in the vendor's v1.5 layout (iBUG-68 and kinect_v2 key orders differ)."""
    world = SYNTHESIS.points(lm["world"])
    gl_cam = world @ gl_cam_from_world[:3, :3].T + gl_cam_from_world[:3, 3]
    ssp = convert_pixels(lm["uv"], "camgeom", "screen_space", width=size[0], height=size[1])
    entries = []
    for i, name in enumerate(lm["names"]):
        in_frustum = bool(np.all((ssp[i] >= 0.0) & (ssp[i] <= 1.0)))
        if name in _KINECT_IDS:
            entries.append(
                {
                    "world_space_pos": world[i],
                    "camera_space_pos": gl_cam[i],
                    "screen_space_pos": ssp[i],
                    "name": name,
                    "id": _KINECT_IDS[name],
                    "in_frustum": in_frustum,
                }
            )
        elif name.startswith("pupil_"):
            entries.append(
                {
                    "screen_space_pos": ssp[i],
                    "distance_to_camera": float(np.linalg.norm(gl_cam[i])),
                    "world_space_pos": world[i],
                    "camera_space_pos": gl_cam[i],
                }
            )
        else:
            entries.append(
                {
                    "id": i,
                    "name": name,
                    "in_frustum": in_frustum,
                    "screen_space_pos": ssp[i],
                    "world_space_pos": world[i],
                    "camera_space_pos": gl_cam[i],
                }
            )
    return entries


def _info(scene: Scene, view: View, gl_cam_from_world: np.ndarray, lms: dict[str, dict]) -> dict:
    """The ``N.info.json`` document (v1.5 layout, the keys this scene can fill)."""
    W, H, K = view.width, view.height, view.K
    focal = view.extra["focal_length_mm"]
    sensor_h = SYNTHESIS_SENSOR_WIDTH_MM * H / W
    head_pose = world_from_head(scene, SYNTHESIS.world)
    return {
        "version": "1.5",
        "camera": {
            "intrinsics": [[K[0, 0], 0.0, K[0, 2]], [0.0, K[1, 1], K[1, 2]], [0, 0, 1.0]],
            "transform_cam2world": {"mat_4x4": invert_pose(gl_cam_from_world)},
            "transform_world2cam": {"mat_4x4": gl_cam_from_world},
            "focal_length_mm": focal,
            "field_of_view": {
                "x_axis_rads": 2.0 * math.atan(SYNTHESIS_SENSOR_WIDTH_MM / 2.0 / focal),
                "y_axis_rads": 2.0 * math.atan(sensor_h / 2.0 / focal),
            },
            "sensor": {"height_mm": sensor_h, "width_mm": SYNTHESIS_SENSOR_WIDTH_MM},
        },
        "pupil_coordinates": dict(
            zip(
                lms["pupils"]["names"],
                _group(lms["pupils"], gl_cam_from_world, (W, H)),
                strict=True,
            )
        ),
        "head_transform": {
            "transform_head2world": {"mat_4x4": head_pose},
            "transform_head2cam": {"mat_4x4": compose_poses(gl_cam_from_world, head_pose)},
        },
        "landmarks": {
            "ibug68": _group(lms["ibug68"], gl_cam_from_world, (W, H)),
            "kinect_v2": _group(lms["kinect_v2"], gl_cam_from_world, (W, H)),
        },
        "identity_metadata": {"id": 0},
        "render": {"zmin": 0.0, "zmax": 100.0, "wavelength": "visible", "frame_number": 1},
        "segments_mapping": _SEGMENTS,
    }


def _line(view: View, rid: int, job: uuid.UUID) -> dict:
    """One ``metadata.jsonl`` line (the v1.4 request layout with a camera rig)."""
    camera = {
        "name": "default",
        "advanced": {
            "denoise": False,
            "noise_threshold": 0.017,
            "lens_shift_vertical": 0,
            "lens_shift_horizontal": 0,
            "window_offset_vertical": 0,
            "window_offset_horizontal": 0,
        },
        "specifications": {
            "wavelength": "visible",
            "focal_length": view.extra["focal_length_mm"],
            "resolution_h": view.height,
            "resolution_w": view.width,
            "sensor_width": SYNTHESIS_SENSOR_WIDTH_MM,
        },
        "relative_location": dict.fromkeys(("x", "y", "z", "yaw", "roll", "pitch"), 0),
    }
    rig = {
        "type": "head_orbit",
        "lights": [],
        "cameras": [camera],
        "location": view.extra["rig"]["location"],
    }
    return {
        "api": 0,
        "version": "1.4",
        "job_id": str(job),
        "task_id": str(uuid.uuid5(job, f"task-{rid}")),
        "render_id": rid,
        "frame_number": 1,
        "camera_name": "default",
        "scene": {"identity": {"id": 0}, "camera_and_light_rigs": [rig]},
    }


def _strip_rows(row_bytes: int, strip_bytes: int) -> int:
    return max(1, strip_bytes // row_bytes)


def _write_images(folder: Path, rid: int, image: Render) -> None:
    H, W = image.obj.shape
    fg = image.obj >= 0
    depth = np.where(fg, image.range_m, SYNTHESIS.background).astype(np.float32)
    # strips of 64 KiB (8 KiB for the alpha matte), as in the vendor's files
    tifffile.imwrite(
        folder / f"{rid}.{_FILES['depth']}",
        depth,
        compression="zlib",
        rowsperstrip=_strip_rows(W * 4, 65536),
    )
    normals_gl = convert_points(image.normal_cv, "opencv", "opengl")
    normals_gl[~fg] = (0.0, 0.0, 1.0)
    tifffile.imwrite(
        folder / f"{rid}.{_FILES['normals']}",
        normals_gl.astype(np.float16),
        compression="zlib",
        predictor=True,
        photometric="rgb",
        rowsperstrip=_strip_rows(W * 6, 65536),
    )
    human = np.isin(image.obj, [OBJECTS.index(n) for n in SPHERES])
    tifffile.imwrite(
        folder / f"{rid}.{_FILES['alpha']}",
        np.where(human, 255, 0).astype(np.uint8),
        compression="lzw",
        predictor=True,
        description=None,
        software=False,
        metadata=None,
        rowsperstrip=_strip_rows(W, 8192),
    )
    segments = np.zeros((H, W), dtype=np.uint16)
    for obj_id, name in enumerate(OBJECTS):
        segments[image.obj == obj_id] = _SEGMENTS[name]
    write_png(folder / f"{rid}.{_FILES['segmentation']}", segments)
    write_png(folder / f"{rid}.{_FILES['image']}", image.rgb)


def write_synthesis(folder: Path, scene: Scene, views: list[View], job: uuid.UUID) -> list[dict]:
    """Write one render per view into ``folder`` (created); return the frames' truth."""
    folder.mkdir()
    frames = []
    lines = []
    for rid, view in enumerate(views):
        cam_from_world = compose_poses(view.cam_from_world, DATAGEN_FROM_SYNTHESIS)
        gl_cam_from_world = convert_pose(cam_from_world, "opencv", "opengl")
        lms = {g: landmark_truth(scene, view, g) for g in ("ibug68", "kinect_v2", "pupils")}
        info = _info(scene, view, gl_cam_from_world, lms)
        dump_json(info, folder / f"{rid}.{_FILES['info']}", indent=4, newline=True)
        image = render(scene, view)
        _write_images(folder, rid, image)
        lines.append(_line(view, rid, job))
        rig = view.extra["rig"]
        frames.append(
            frame_truth(
                str(rid),
                view,
                image,
                layout=SYNTHESIS,
                cam_from_world=cam_from_world,
                files={key: f"{SYNTHESIS.name}/{rid}.{suffix}" for key, suffix in _FILES.items()},
                landmarks={g: truth_record(lm, SYNTHESIS) for g, lm in lms.items()},
                extra={
                    "rig_orbit_centre": rig["orbit_centre"],
                    "rig_location": rig["location"],
                    "rig_rotation": "cam2world (OpenGL) = Ry(yaw) Rx(pitch) Rz(roll), degrees; "
                    "camera centre = rig_orbit_centre + rotation @ (x, y, z)",
                },
            )
        )
    text = "".join(json.dumps(plain(line), separators=(",", ":")) + "\n" for line in lines)
    (folder / "metadata.jsonl").write_text(text, encoding="utf-8")
    return frames

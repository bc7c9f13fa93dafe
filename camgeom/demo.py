"""A small demo dataset with exact ground truth, in both vendor layouts.

:func:`make_demo_dataset` ray-casts an analytic scene (a floor disk, a "head"
sphere and two "hand" spheres) and writes it the way Synthesis AI and Datagen
store their renders, so the dataset readers, the verifier and the point-cloud
tools can be tried (and tested) without downloading vendor data::

    out_dir/
      ground_truth.json           scene primitives, cameras, landmark truth
      synthesisai/                N.info.json (v1.5), N.rgb.png, N.depth.tif (range),
                                  N.normals.tif, N.alpha.tif, N.segments.png, metadata.jsonl
      datagen/datapoint_00001/    semantic_segmentation_metadata.json,
        camera_1/, camera_2/      camera_metadata.json (v1.1.0), depth.exr (planar z),
                                  normal_maps.exr, visible_spectrum_01.png,
                                  semantic_segmentation.png, key_points/*.json

The scene
---------
One scene, stored in each vendor's world frame: Datagen's is z up (the actor
faces -y), Synthesis AI's is y up (the actor faces +z); ``x_synthesis = x``,
``y_synthesis = z``, ``z_synthesis = -y``. Metres throughout.

* ``floor``: a disk of radius 6 m in the plane z = 0 (Datagen frame).
* ``head``: a sphere of radius 0.11 m near (0, 0, 1.6), turned by a yaw angle.
* ``hand_left``, ``hand_right``: spheres of radius 0.05 / 0.04 m; the right hand
  is raised in front of the chin and hides part of the face from frontal cameras.

Landmarks are exact surface points: 68 iBUG-style points and two pupils on the
head (the jaw contour wraps round to the sides of the head, so its ends are
hidden from frontal cameras), Kinect-style points on the hands (one on the back
of the left hand, always hidden) and on top of the head, and two foot points on
the floor (outside the views).

What is exact
-------------
Camera rays go through pixel centres ((col + 0.5, row + 0.5) in camgeom
pixels) and each pixel holds the analytic first intersection: Synthesis AI
``depth.tif`` holds the distance along the ray (float32, +inf background),
Datagen ``depth.exr`` the planar z (float32 in R, G and B, 1e10 background).
2D labels are the pinhole projections of the 3D labels with the stored
camera (not rounded). A landmark is *visible* when it projects inside the image
and the ray from the camera centre reaches it before any other surface; Datagen
``is_visible`` and the truth file say exactly that (the vendor's own flag
ignores occlusion). No anti-aliasing, lens distortion or noise.

The ground truth is computed here from first principles (a look-at rotation, a
pinhole projection) rather than with :mod:`camgeom.projection`, so that it can
check that module.

Examples
--------
>>> import json, tempfile
>>> from pathlib import Path
>>> tmp = tempfile.TemporaryDirectory()
>>> paths = make_demo_dataset(Path(tmp.name) / "demo")
>>> sorted(p.name for p in paths.synthesisai.glob("*.info.json"))
['0.info.json', '1.info.json', '2.info.json']
>>> truth = json.loads(paths.ground_truth.read_text())
>>> [f["frame_id"] for f in truth["datagen"]["frames"]]
['datapoint_00001/camera_1', 'datapoint_00001/camera_2']
>>> tmp.cleanup()
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import tifffile
from PIL import Image

from camgeom._kernels import raycast
from camgeom.errors import InvalidValueError, OutputExistsError

__all__ = ["DemoPaths", "make_demo_dataset"]

GROUND_TRUTH_FORMAT = 1
"""Version of the layout of ``ground_truth.json``."""

OCCLUSION_TOLERANCE_M = 1e-6
"""A landmark is unoccluded when the first surface along its camera ray is at most
this much closer to the camera than the landmark itself."""

SYNTHESIS_BACKGROUND = float("inf")
DATAGEN_BACKGROUND = 1e10

# Synthesis AI world (y up) from the Datagen world (z up): (x, y, z) -> (x, z, -y).
_SYN_FROM_DG = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
# OpenGL camera frame from OpenCV camera frame (and back): flip y and z.
_GL_FROM_CV = np.diag([1.0, -1.0, -1.0])

_SPHERES = ("head", "hand_left", "hand_right")
_FLOOR = "floor"
_OBJECTS = (*_SPHERES, _FLOOR)  # object ids of the ray caster: spheres first, then disks

# iBUG-68 layout on the head sphere: (azimuth, elevation) in degrees. Azimuth grows
# toward the actor's left (the image right of a frontal view), 0 is straight ahead.
_JAW = [(-105.0 + 210.0 * k / 16.0, -4.0 - 52.0 * math.sin(math.pi * k / 16.0)) for k in range(17)]
_BROW_RIGHT = [(-46.0 + 9.0 * k, 27.0 + 6.0 * math.sin(math.pi * k / 4.0)) for k in range(5)]
_BROW_LEFT = [(10.0 + 9.0 * k, 27.0 + 6.0 * math.sin(math.pi * k / 4.0)) for k in range(5)]
_NOSE_BRIDGE = [(0.0, 18.0), (0.0, 10.0), (0.0, 2.0), (0.0, -6.0)]
_NOSTRILS = [(-12.0, -12.0), (-6.0, -14.0), (0.0, -15.0), (6.0, -14.0), (12.0, -12.0)]
_EYE_RIGHT = [
    (-34.0, 12.0),
    (-28.0, 16.0),
    (-20.0, 16.0),
    (-14.0, 12.0),
    (-20.0, 8.0),
    (-28.0, 8.0),
]
_EYE_LEFT = [(14.0, 12.0), (20.0, 16.0), (28.0, 16.0), (34.0, 12.0), (28.0, 8.0), (20.0, 8.0)]
_MOUTH_OUTER = [
    (-22.0, -28.0), (-14.0, -24.0), (-6.0, -22.0), (0.0, -23.0), (6.0, -22.0), (14.0, -24.0),
    (22.0, -28.0), (14.0, -33.0), (6.0, -35.0), (0.0, -36.0), (-6.0, -35.0), (-14.0, -33.0),
]  # fmt: skip
_MOUTH_INNER = [
    (-18.0, -28.0), (-6.0, -26.0), (0.0, -26.5), (6.0, -26.0),
    (18.0, -28.0), (6.0, -30.0), (0.0, -30.5), (-6.0, -30.0),
]  # fmt: skip
_IBUG68_ANGLES_DEG = np.array(
    _JAW + _BROW_RIGHT + _BROW_LEFT + _NOSE_BRIDGE + _NOSTRILS + _EYE_RIGHT + _EYE_LEFT
    + _MOUTH_OUTER + _MOUTH_INNER
)  # fmt: skip
_PUPILS_DEG = {"pupil_right": (-24.0, 12.0), "pupil_left": (24.0, 12.0)}

# Synthesis AI renders: (width, height, focal_length_mm, orbit distance, yaw, pitch, roll).
_SYN_SENSOR_WIDTH_MM = 33.0
_SYN_RENDERS = (
    (160, 120, 45.0, 1.30, 0.0, -3.0, 0.0),
    (120, 160, 35.0, 1.60, 35.0, -15.0, 0.0),
    (128, 128, 60.0, 1.20, -25.0, 10.0, 8.0),
)
# Datagen cameras: (name, width, height, horizontal FOV deg, eye and target offsets from the head).
_DG_FOCAL_MM = 50.0
_DG_CAMERAS = (
    ("camera_1", 128, 128, 30.0, (0.04, -1.15, 0.06), (0.0, 0.0, 0.0)),
    ("camera_2", 160, 120, 50.0, (0.90, -1.30, 0.35), (0.0, 0.0, -0.25)),
)

# Segmentation: Synthesis AI ids (background first, then alphabetical, like the vendor's
# table) and Datagen 16-bit colours (the PNG holds value >> 8, as the vendor's files do).
_SYN_SEGMENTS = {"background": 0, "floor": 1, "hand_left": 2, "hand_right": 3, "head": 4}
_DG_COLOURS16 = {
    "head_left": (9114, 4994, 13827),
    "head_right": (44166, 8762, 45533),
    "hand_left": (20055, 51000, 30210),
    "hand_right": (61010, 40200, 5120),
    "floor": (50712, 50712, 12850),
}

_ALBEDO = {
    "head": (0.88, 0.70, 0.58),
    "hand_left": (0.80, 0.60, 0.48),
    "hand_right": (0.80, 0.60, 0.48),
}
_LIGHT = np.array([0.4, -0.5, 0.8]) / np.linalg.norm([0.4, -0.5, 0.8])


@dataclass(frozen=True)
class DemoPaths:
    """Folders and files written by :func:`make_demo_dataset`.

    Attributes
    ----------
    root : pathlib.Path
        The output folder.
    synthesisai : pathlib.Path
        Synthesis AI layout (``N.info.json`` and siblings, ``metadata.jsonl``).
    datagen : pathlib.Path
        Datagen layout (holds ``datapoint_00001/``).
    ground_truth : pathlib.Path
        ``ground_truth.json``: primitives, cameras (OpenCV ``cam_from_world``) and
        landmark truth per frame, for each layout in its own world frame.
    """

    root: Path
    synthesisai: Path
    datagen: Path
    ground_truth: Path


# --------------------------------------------------------------------------- scene


@dataclass(frozen=True)
class _Scene:
    """The analytic scene in the Datagen world frame (z up, metres)."""

    sphere_centres: np.ndarray  # (3, 3) head, hand_left, hand_right
    sphere_radii: np.ndarray  # (3,)
    disk_centres: np.ndarray  # (1, 3)
    disk_normals: np.ndarray  # (1, 3)
    disk_radii: np.ndarray  # (1,)
    head_yaw_deg: float
    head_rotation: np.ndarray  # (3, 3): columns = actor's left, back of the head, up
    landmarks: dict[str, tuple[tuple[str, ...], np.ndarray, tuple[str, ...]]]
    # group -> (names, world points (N, 3), object of each point)

    @property
    def head_centre(self) -> np.ndarray:
        return self.sphere_centres[0]


def _rot_z(deg: float) -> np.ndarray:
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _rot_x(deg: float) -> np.ndarray:
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _rot_y(deg: float) -> np.ndarray:
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _on_sphere(centre: np.ndarray, radius: float, directions: np.ndarray) -> np.ndarray:
    """Points ``centre + radius * d / |d|`` for directions (N, 3)."""
    d = np.asarray(directions, dtype=np.float64)
    return centre + radius * d / np.linalg.norm(d, axis=-1, keepdims=True)


def _face_points(
    scene_head: np.ndarray, radius: float, rotation: np.ndarray, angles_deg: np.ndarray
) -> np.ndarray:
    """Head-sphere points at (azimuth, elevation) in the head frame (left, back, up)."""
    az = np.radians(angles_deg[:, 0])
    el = np.radians(angles_deg[:, 1])
    # forward (toward the cameras) is -y of the head frame; azimuth turns toward +x (left)
    local = np.stack([np.cos(el) * np.sin(az), -np.cos(el) * np.cos(az), np.sin(el)], axis=-1)
    return _on_sphere(scene_head, radius, local @ rotation.T)


def _make_scene(rng: np.random.Generator) -> _Scene:
    head = np.array([0.0, 0.0, 1.60]) + rng.uniform(-0.015, 0.015, 3)
    yaw = float(np.round(rng.uniform(-20.0, 20.0), 3))
    rot = _rot_z(yaw)
    hand_left = np.array([0.30, -0.10, 1.05]) + rng.uniform(-0.02, 0.02, 3)
    hand_right = head + np.array([-0.06, -0.22, -0.075]) + rng.uniform(-0.01, 0.01, 3)
    centres = np.stack([head, hand_left, hand_right])
    radii = np.array([0.11, 0.05, 0.04])

    ibug = _face_points(head, radii[0], rot, _IBUG68_ANGLES_DEG)
    pupils = _face_points(head, radii[0], rot, np.array(list(_PUPILS_DEG.values())))
    forward = rot @ np.array([0.0, -1.0, 0.0])
    kinect = {
        # name: (point, object)
        "HAND_RIGHT": (_on_sphere(hand_right, radii[2], forward[None])[0], "hand_right"),
        "HAND_LEFT": (_on_sphere(hand_left, radii[1], -forward[None])[0], "hand_left"),
        "FOOT_LEFT": (np.array([0.12, 0.02, 0.0]), _FLOOR),
        "FOOT_RIGHT": (np.array([-0.12, 0.02, 0.0]), _FLOOR),
        "HEAD": (_on_sphere(head, radii[0], np.array([[0.0, 0.0, 1.0]]))[0], "head"),
        "NOSE": (ibug[30], "head"),
    }
    landmarks = {
        "ibug68": (tuple(str(i + 1) for i in range(68)), ibug, ("head",) * 68),
        "pupils": (tuple(_PUPILS_DEG), pupils, ("head", "head")),
        "kinect_v2": (
            tuple(kinect),
            np.stack([p for p, _ in kinect.values()]),
            tuple(o for _, o in kinect.values()),
        ),
        "hands": (
            ("left.wrist", "right.wrist"),
            np.stack([kinect["HAND_LEFT"][0], kinect["HAND_RIGHT"][0]]),
            ("hand_left", "hand_right"),
        ),
    }
    return _Scene(
        sphere_centres=centres,
        sphere_radii=radii,
        disk_centres=np.zeros((1, 3)),
        disk_normals=np.array([[0.0, 0.0, 1.0]]),
        disk_radii=np.array([6.0]),
        head_yaw_deg=yaw,
        head_rotation=rot,
        landmarks=landmarks,
    )


# --------------------------------------------------------------------------- cameras


@dataclass(frozen=True)
class _View:
    """One camera: OpenCV K and cam_from_world in the Datagen (scene) world frame."""

    width: int
    height: int
    K: np.ndarray
    cam_from_world: np.ndarray  # (4, 4), OpenCV, Datagen world
    extra: dict[str, Any]

    @property
    def centre(self) -> np.ndarray:
        R, t = self.cam_from_world[:3, :3], self.cam_from_world[:3, 3]
        return -R.T @ t


def _pose(R: np.ndarray, centre: np.ndarray) -> np.ndarray:
    pose = np.eye(4)
    pose[:3, :3] = R
    pose[:3, 3] = -R @ centre
    return pose


def _look_at_cv(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    """OpenCV camera rotation (rows: x right, y down, z forward) looking from eye at target."""
    z = target - eye
    z = z / np.linalg.norm(z)
    x = np.cross(z, up)
    x = x / np.linalg.norm(x)
    y = np.cross(z, x)
    return np.stack([x, y, z])


def _synthesis_views(scene: _Scene, rng: np.random.Generator) -> list[_View]:
    views = []
    head_syn = _SYN_FROM_DG @ scene.head_centre
    for width, height, focal, dist, yaw, pitch, roll in _SYN_RENDERS:
        yaw = float(np.round(yaw + rng.uniform(-3.0, 3.0), 3))
        pitch = float(np.round(pitch + rng.uniform(-2.0, 2.0), 3))
        dist = float(np.round(dist + rng.uniform(-0.05, 0.05), 4))
        # cam2world rotation of the OpenGL camera in the y-up world
        rig = _rot_y(yaw) @ _rot_x(pitch) @ _rot_z(roll)
        centre_syn = head_syn + rig @ np.array([0.0, 0.0, dist])
        R_cv_syn = _GL_FROM_CV @ rig.T
        R_cv_dg = R_cv_syn @ _SYN_FROM_DG
        centre_dg = _SYN_FROM_DG.T @ centre_syn
        fx = focal / _SYN_SENSOR_WIDTH_MM * width
        K = np.array([[fx, 0.0, width / 2.0], [0.0, fx, height / 2.0], [0.0, 0.0, 1.0]])
        extra = {
            "focal_length_mm": focal,
            "rig": {
                "orbit_centre": head_syn,
                "location": {"x": 0, "y": 0, "z": dist, "yaw": yaw, "roll": roll, "pitch": pitch},
            },
        }
        views.append(_View(width, height, K, _pose(R_cv_dg, centre_dg), extra))
    return views


def _datagen_views(scene: _Scene, rng: np.random.Generator) -> list[_View]:
    views = []
    for name, width, height, hfov_deg, eye_off, target_off in _DG_CAMERAS:
        eye = scene.head_centre + np.array(eye_off) + rng.uniform(-0.05, 0.05, 3)
        target = scene.head_centre + np.array(target_off)
        R = _look_at_cv(eye, target, np.array([0.0, 0.0, 1.0]))
        f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
        K = np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])
        views.append(_View(width, height, K, _pose(R, eye), {"name": name, "hfov_deg": hfov_deg}))
    return views


# --------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class _Render:
    range_m: np.ndarray  # (H, W) float64, inf for background
    z_m: np.ndarray  # (H, W) float64, inf for background
    obj: np.ndarray  # (H, W) int64, -1 for background
    normal_cv: np.ndarray  # (H, W, 3) camera-frame unit normals (OpenCV), 0 for background
    points: np.ndarray  # (H, W, 3) world hit points, nan for background
    rgb: np.ndarray  # (H, W, 3) uint8


_cast_rays = cast(Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]], raycast.cast_rays)


def _cast(scene: _Scene, origins: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, ...]:
    return _cast_rays(
        np.ascontiguousarray(origins, dtype=np.float64),
        np.ascontiguousarray(directions, dtype=np.float64),
        scene.sphere_centres,
        scene.sphere_radii,
        scene.disk_centres,
        scene.disk_normals,
        scene.disk_radii,
    )


def _render(scene: _Scene, view: _View) -> _Render:
    W, H, K = view.width, view.height, view.K
    u, v = np.meshgrid(np.arange(W) + 0.5, np.arange(H) + 0.5)
    d_cam = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], axis=-1)
    norm = np.linalg.norm(d_cam, axis=-1)
    R = view.cam_from_world[:3, :3]
    d_world = (d_cam / norm[..., None]) @ R  # R^T d for row vectors
    centre = view.centre
    origins = np.broadcast_to(centre, d_world.shape).reshape(-1, 3)
    dist, hit, normal = _cast(scene, origins, d_world.reshape(-1, 3))
    dist = dist.reshape(H, W)
    hit = hit.reshape(H, W)
    normal = normal.reshape(H, W, 3)
    fg = hit >= 0
    points = np.where(fg[..., None], centre + dist[..., None] * d_world, np.nan)
    rgb = _shade(scene, hit, normal, points, d_world)
    return _Render(
        range_m=dist,
        z_m=np.where(fg, dist / norm, np.inf),
        obj=hit,
        normal_cv=normal @ R.T,
        points=points,
        rgb=rgb,
    )


def _shade(
    scene: _Scene, hit: np.ndarray, normal: np.ndarray, points: np.ndarray, d_world: np.ndarray
) -> np.ndarray:
    """Lambert shading, a checkered floor and a sky gradient (deterministic)."""
    up = np.clip(d_world[..., 2] * 3.0, 0.0, 1.0)[..., None]
    colour = (1.0 - up) * np.array([0.80, 0.88, 0.97]) + up * np.array([0.45, 0.65, 0.90])
    lambert = 0.3 + 0.7 * np.clip(normal @ _LIGHT, 0.0, None)
    for obj_id, name in enumerate(_OBJECTS):
        mask = hit == obj_id
        if not np.any(mask):
            continue
        if name == _FLOOR:
            p = points[mask]
            check = (np.floor(p[:, 0] / 0.5) + np.floor(p[:, 1] / 0.5)) % 2.0
            albedo = np.where(check[:, None] > 0.5, [0.55, 0.55, 0.55], [0.35, 0.35, 0.38])
        else:
            albedo = np.array(_ALBEDO[name])
        colour[mask] = albedo * lambert[mask][:, None]
    return np.round(np.clip(colour, 0.0, 1.0) * 255.0).astype(np.uint8)


def _landmark_truth(scene: _Scene, view: _View, group: str) -> dict[str, Any]:
    names, world, objects = scene.landmarks[group]
    R, t = view.cam_from_world[:3, :3], view.cam_from_world[:3, 3]
    cam = world @ R.T + t
    img = cam @ view.K.T
    uv = img[:, :2] / img[:, 2:3]
    z = cam[:, 2]
    in_image = (z > 0) & np.all((uv >= 0) & (uv <= (view.width, view.height)), axis=1)
    centre = view.centre
    offset = world - centre
    dist = np.linalg.norm(offset, axis=1)
    first, _, _ = _cast(scene, np.broadcast_to(centre, world.shape), offset / dist[:, None])
    unoccluded = first >= dist - OCCLUSION_TOLERANCE_M
    return {
        "names": names,
        "objects": objects,
        "world": world,
        "uv": uv,
        "z": z,
        "range": dist,
        "in_image": in_image,
        "unoccluded": unoccluded,
        "visible": in_image & unoccluded,
    }


# --------------------------------------------------------------------------- writers


def _dump(obj: Any, path: Path, *, indent: int, newline: bool) -> None:
    text = json.dumps(_plain(obj), indent=indent)
    path.write_text(text + ("\n" if newline else ""), encoding="utf-8")


def _plain(obj: Any) -> Any:
    """numpy values -> JSON-ready Python values."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    return obj


def _strip_rows(row_bytes: int, strip_bytes: int) -> int:
    return max(1, strip_bytes // row_bytes)


def _write_png(path: Path, array: np.ndarray, **params: Any) -> None:
    Image.fromarray(array).save(path, format="PNG", **params)


_KINECT_IDS = {
    "HAND_LEFT": 8,
    "HAND_RIGHT": 15,
    "FOOT_LEFT": 21,
    "FOOT_RIGHT": 25,
    "HEAD": 26,
    "NOSE": 27,
}
"""Kinect v2 joint ids as the vendor numbers them."""


def _synthesis_group(
    lm: dict[str, Any], world2cam: np.ndarray, size: tuple[int, int]
) -> list[dict]:
    """Landmark entries in the vendor's v1.5 layout (iBUG-68 and kinect_v2 key orders differ)."""
    world = lm["world"] @ _SYN_FROM_DG.T
    gl_cam = world @ world2cam[:3, :3].T + world2cam[:3, 3]
    ssp = lm["uv"] / np.array(size, dtype=np.float64)
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


def _synthesis_info(
    scene: _Scene, view: _View, world2cam: np.ndarray, lms: dict[str, dict]
) -> dict:
    """The ``N.info.json`` document (v1.5 layout, the keys this scene can fill)."""
    W, H, K = view.width, view.height, view.K
    focal = view.extra["focal_length_mm"]
    sensor_h = _SYN_SENSOR_WIDTH_MM * H / W
    cam2world = np.eye(4)
    cam2world[:3, :3] = world2cam[:3, :3].T
    cam2world[:3, 3] = -world2cam[:3, :3].T @ world2cam[:3, 3]
    head2world = np.eye(4)
    head2world[:3, :3] = _SYN_FROM_DG @ scene.head_rotation @ _SYN_FROM_DG.T
    head2world[:3, 3] = _SYN_FROM_DG @ scene.head_centre
    pupils = _synthesis_group(lms["pupils"], world2cam, (W, H))
    return {
        "version": "1.5",
        "camera": {
            "intrinsics": [[K[0, 0], 0.0, K[0, 2]], [0.0, K[1, 1], K[1, 2]], [0, 0, 1.0]],
            "transform_cam2world": {"mat_4x4": cam2world},
            "transform_world2cam": {"mat_4x4": world2cam},
            "focal_length_mm": focal,
            "field_of_view": {
                "x_axis_rads": 2.0 * math.atan(_SYN_SENSOR_WIDTH_MM / 2.0 / focal),
                "y_axis_rads": 2.0 * math.atan(sensor_h / 2.0 / focal),
            },
            "sensor": {"height_mm": sensor_h, "width_mm": _SYN_SENSOR_WIDTH_MM},
        },
        "pupil_coordinates": dict(zip(lms["pupils"]["names"], pupils, strict=True)),
        "head_transform": {
            "transform_head2world": {"mat_4x4": head2world},
            "transform_head2cam": {"mat_4x4": world2cam @ head2world},
        },
        "landmarks": {
            "ibug68": _synthesis_group(lms["ibug68"], world2cam, (W, H)),
            "kinect_v2": _synthesis_group(lms["kinect_v2"], world2cam, (W, H)),
        },
        "identity_metadata": {"id": 0},
        "render": {"zmin": 0.0, "zmax": 100.0, "wavelength": "visible", "frame_number": 1},
        "segments_mapping": _SYN_SEGMENTS,
    }


def _synthesis_line(view: _View, rid: int, job: uuid.UUID) -> dict:
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
            "sensor_width": _SYN_SENSOR_WIDTH_MM,
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


def _write_synthesis_images(folder: Path, rid: int, render: _Render) -> None:
    H, W = render.obj.shape
    fg = render.obj >= 0
    depth = np.where(fg, render.range_m, SYNTHESIS_BACKGROUND).astype(np.float32)
    # strips of 64 KiB (8 KiB for the alpha matte), as in the vendor's files
    tifffile.imwrite(
        folder / f"{rid}.depth.tif",
        depth,
        compression="zlib",
        rowsperstrip=_strip_rows(W * 4, 65536),
    )
    normals_gl = render.normal_cv @ _GL_FROM_CV
    normals_gl[~fg] = (0.0, 0.0, 1.0)
    tifffile.imwrite(
        folder / f"{rid}.normals.tif",
        normals_gl.astype(np.float16),
        compression="zlib",
        predictor=True,
        photometric="rgb",
        rowsperstrip=_strip_rows(W * 6, 65536),
    )
    human = np.isin(render.obj, [_OBJECTS.index(n) for n in _SPHERES])
    tifffile.imwrite(
        folder / f"{rid}.alpha.tif",
        np.where(human, 255, 0).astype(np.uint8),
        compression="lzw",
        predictor=True,
        description=None,
        software=False,
        metadata=None,
        rowsperstrip=_strip_rows(W, 8192),
    )
    segments = np.zeros((H, W), dtype=np.uint16)
    for obj_id, name in enumerate(_OBJECTS):
        segments[render.obj == obj_id] = _SYN_SEGMENTS[name]
    _write_png(folder / f"{rid}.segments.png", segments)
    _write_png(folder / f"{rid}.rgb.png", render.rgb)


def _write_synthesis(folder: Path, scene: _Scene, views: list[_View], job: uuid.UUID) -> list[dict]:
    folder.mkdir()
    frames = []
    lines = []
    syn_from_dg = np.eye(4)
    syn_from_dg[:3, :3] = _SYN_FROM_DG
    for rid, view in enumerate(views):
        cv_from_syn = view.cam_from_world @ syn_from_dg.T
        world2cam = np.diag([1.0, -1.0, -1.0, 1.0]) @ cv_from_syn  # OpenGL camera frame
        lms = {g: _landmark_truth(scene, view, g) for g in ("ibug68", "kinect_v2", "pupils")}
        info = _synthesis_info(scene, view, world2cam, lms)
        _dump(info, folder / f"{rid}.info.json", indent=4, newline=True)
        render = _render(scene, view)
        _write_synthesis_images(folder, rid, render)
        lines.append(_synthesis_line(view, rid, job))
        rig = view.extra["rig"]
        frames.append(
            _frame_truth(
                frame_id=str(rid),
                view=view,
                cam_from_world=cv_from_syn,
                depth_kind="range",
                background=SYNTHESIS_BACKGROUND,
                files={
                    "info": f"synthesisai/{rid}.info.json",
                    "depth": f"synthesisai/{rid}.depth.tif",
                    "normals": f"synthesisai/{rid}.normals.tif",
                    "image": f"synthesisai/{rid}.rgb.png",
                    "segmentation": f"synthesisai/{rid}.segments.png",
                    "alpha": f"synthesisai/{rid}.alpha.tif",
                },
                landmarks={g: _truth_record(lm, _SYN_FROM_DG) for g, lm in lms.items()},
                render=render,
                extra={
                    "rig_orbit_centre": rig["orbit_centre"],
                    "rig_location": rig["location"],
                    "rig_rotation": "cam2world (OpenGL) = Ry(yaw) Rx(pitch) Rz(roll), degrees; "
                    "camera centre = rig_orbit_centre + rotation @ (x, y, z)",
                },
            )
        )
    text = "".join(json.dumps(_plain(line), separators=(",", ":")) + "\n" for line in lines)
    (folder / "metadata.jsonl").write_text(text, encoding="utf-8")
    return frames


def _xyz(p: np.ndarray) -> dict[str, float]:
    return {"x": float(p[0]), "y": float(p[1]), "z": float(p[2])}


def _datagen_keypoints(lm: dict[str, Any], names: list[str]) -> dict[str, Any]:
    return {
        name: {
            "global_3d": _xyz(lm["world"][i]),
            "pixel_2d": {"x": float(lm["uv"][i, 1]), "y": float(lm["uv"][i, 0])},  # x = row
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


def _write_datagen(folder: Path, scene: _Scene, views: list[_View]) -> list[dict]:
    datapoint = folder / "datapoint_00001"
    datapoint.mkdir(parents=True)
    _dump(
        {
            "version": "1.0.0",
            "human": {
                "head": {
                    "skin": {
                        "left": dict(zip("RGB", _DG_COLOURS16["head_left"], strict=True)),
                        "right": dict(zip("RGB", _DG_COLOURS16["head_right"], strict=True)),
                    }
                },
                "hand": {
                    "left": dict(zip("RGB", _DG_COLOURS16["hand_left"], strict=True)),
                    "right": dict(zip("RGB", _DG_COLOURS16["hand_right"], strict=True)),
                },
            },
            "floor": dict(zip("RGB", _DG_COLOURS16["floor"], strict=True)),
            "background": {"R": 0, "G": 0, "B": 0},
        },
        datapoint / "semantic_segmentation_metadata.json",
        indent=3,
        newline=False,
    )
    from camgeom.io import write_exr

    frames = []
    for view in views:
        name = view.extra["name"]
        cam_dir = datapoint / name
        (cam_dir / "key_points").mkdir(parents=True)
        W, H, K = view.width, view.height, view.K
        R = view.cam_from_world[:3, :3]
        f_mm = _DG_FOCAL_MM
        sensor_w = 2.0 * f_mm * math.tan(math.radians(view.extra["hfov_deg"]) / 2.0)
        meta = {
            "version": "1.1.0",
            "camera_name": name,
            "camera_type": "PERSP",
            "focal_length": f_mm,
            "location": _xyz(view.centre),
            "orientation": {"look_at_vector": _xyz(R[2]), "up_vector": _xyz(-R[1])},
            "aspect_px": {"x": 1.0, "y": 1.0},
            "resolution_px": {"x": float(W), "y": float(H)},
            "fov": {
                "horizontal": view.extra["hfov_deg"],
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
        _dump(meta, cam_dir / "camera_metadata.json", indent=3, newline=False)

        render = _render(scene, view)
        fg = render.obj >= 0
        z = np.where(fg, render.z_m, DATAGEN_BACKGROUND).astype(np.float32)
        write_exr(
            cam_dir / "depth.exr",
            {"R": z, "G": z.copy(), "B": z.copy()},
            compression="zip",
            attributes={"xDensity": 72.0},
        )
        rgb_normals = np.where(fg[..., None], (render.normal_cv @ _GL_FROM_CV + 1.0) / 2.0, 0.0)
        rgb_normals = rgb_normals.astype(np.float32)
        write_exr(
            cam_dir / "normal_maps.exr",
            {c: np.ascontiguousarray(rgb_normals[..., i]) for i, c in enumerate("RGB")},
            compression="zip",
            attributes={"xDensity": 72.0},
        )
        rgba = np.concatenate([render.rgb, np.full((H, W, 1), 255, np.uint8)], axis=-1)
        _write_png(cam_dir / "visible_spectrum_01.png", rgba, dpi=(72, 72))
        seg = np.zeros((H, W, 3), dtype=np.uint8)
        head_id = _OBJECTS.index("head")
        left = (render.points - scene.head_centre) @ scene.head_rotation[:, 0] > 0
        for obj_id, obj in enumerate(_OBJECTS):
            mask = render.obj == obj_id
            if obj_id == head_id:
                seg[mask & left] = np.array(_DG_COLOURS16["head_left"]) >> 8
                seg[mask & ~left] = np.array(_DG_COLOURS16["head_right"]) >> 8
            else:
                seg[mask] = np.array(_DG_COLOURS16[obj]) >> 8
        _write_png(cam_dir / "semantic_segmentation.png", seg, dpi=(72, 72))

        ibug = _landmark_truth(scene, view, "ibug68")
        hands = _landmark_truth(scene, view, "hands")
        standard = _datagen_keypoints(ibug, [f"{i + 1:02d}" for i in range(68)])
        hand_points = _nest(_datagen_keypoints(hands, list(hands["names"])))
        kp = cam_dir / "key_points"
        face = {"version": "2.0.0", "face": {"standard": standard}}
        _dump(face, kp / "face_standard_key_points.json", indent=3, newline=False)
        _dump(
            {"version": "2.0.0", "hands": hand_points},
            kp / "hands_key_points.json",
            indent=3,
            newline=False,
        )
        _dump(
            {"version": "2.0.0", "face": {"standard": standard}, "hands": hand_points},
            kp / "all_key_points.json",
            indent=3,
            newline=False,
        )
        rel = f"datagen/datapoint_00001/{name}"
        frames.append(
            _frame_truth(
                frame_id=f"datapoint_00001/{name}",
                view=view,
                cam_from_world=view.cam_from_world,
                depth_kind="z",
                background=DATAGEN_BACKGROUND,
                files={
                    "camera_metadata": f"{rel}/camera_metadata.json",
                    "depth": f"{rel}/depth.exr",
                    "normals": f"{rel}/normal_maps.exr",
                    "image": f"{rel}/visible_spectrum_01.png",
                    "segmentation": f"{rel}/semantic_segmentation.png",
                },
                landmarks={"ibug68": _truth_record(ibug), "hands": _truth_record(hands)},
                render=render,
                extra={"hfov_deg": view.extra["hfov_deg"]},
            )
        )
    return frames


def _truth_record(lm: dict[str, Any], world_from_scene: np.ndarray | None = None) -> dict[str, Any]:
    world = lm["world"] if world_from_scene is None else lm["world"] @ world_from_scene.T
    return {
        "names": list(lm["names"]),
        "objects": list(lm["objects"]),
        "world": world,
        "uv": lm["uv"],
        "z": lm["z"],
        "range": lm["range"],
        "in_image": lm["in_image"],
        "unoccluded": lm["unoccluded"],
        "visible": lm["visible"],
    }


def _frame_truth(
    *,
    frame_id: str,
    view: _View,
    cam_from_world: np.ndarray,
    depth_kind: str,
    background: float,
    files: dict[str, str],
    landmarks: dict[str, Any],
    render: _Render,
    extra: dict[str, Any],
) -> dict[str, Any]:
    counts = {name: int(np.count_nonzero(render.obj == i)) for i, name in enumerate(_OBJECTS)}
    counts["background"] = int(np.count_nonzero(render.obj < 0))
    return {
        "frame_id": frame_id,
        "width": view.width,
        "height": view.height,
        "K": view.K,
        "cam_from_world": cam_from_world,
        "depth_kind": depth_kind,
        "depth_background": repr(background),
        "files": files,
        "pixel_counts": counts,
        "landmarks": landmarks,
        **extra,
    }


def _scene_truth(scene: _Scene, world_from_scene: np.ndarray) -> dict[str, Any]:
    M = world_from_scene
    return {
        "spheres": [
            {"name": name, "centre": M @ scene.sphere_centres[i], "radius": scene.sphere_radii[i]}
            for i, name in enumerate(_SPHERES)
        ],
        "planes": [
            {
                "name": _FLOOR,
                "point": M @ scene.disk_centres[0],
                "normal": M @ scene.disk_normals[0],
                "radius": scene.disk_radii[0],
            }
        ],
        "head_yaw_deg": scene.head_yaw_deg,
        "head_rotation": M @ scene.head_rotation @ M.T,
    }


# --------------------------------------------------------------------------- public


def make_demo_dataset(
    out_dir: str | os.PathLike[str], *, overwrite: bool = False, seed: int = 0
) -> DemoPaths:
    """Write the demo dataset (both vendor layouts and the ground truth) to ``out_dir``.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Output folder; created if missing. Other content of the folder is left alone.
    overwrite : bool, keyword-only
        Replace ``synthesisai/``, ``datagen/`` and ``ground_truth.json`` if they exist.
    seed : int, keyword-only
        Seed of the small random variations (head position and yaw, camera
        placement). The same seed gives the same files.

    Returns
    -------
    DemoPaths
        The folders and the ground-truth file written.

    Raises
    ------
    OutputExistsError
        ``out_dir`` already holds demo output and ``overwrite`` is false, or
        ``out_dir`` is a file.
    InvalidValueError
        ``seed`` is not a non-negative integer.

    Notes
    -----
    Three Synthesis AI renders (160x120, 120x160, 128x128) and one Datagen
    datapoint with two cameras (128x128, 160x120). Everything is written to a
    temporary folder inside ``out_dir`` and moved into place when complete, so
    a failure never leaves a partial dataset. ``ground_truth.json`` holds, for
    each layout in its own world frame: the primitives (sphere centres and radii,
    the floor's point, normal and radius), per frame ``K`` and the OpenCV
    ``cam_from_world``, the depth kind and background value, and per landmark
    the primitive it lies on (``objects``), the world position, pixel ``uv``
    (camgeom convention), ``z``, ``range`` and the ``in_image`` / ``unoccluded`` /
    ``visible`` flags.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = make_demo_dataset(tmp, seed=1)
    ...     sorted(p.name for p in (paths.datagen / "datapoint_00001").iterdir())
    ['camera_1', 'camera_2', 'semantic_segmentation_metadata.json']
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidValueError(f"Expected `seed` to be a non-negative integer, got {seed!r}.")
    root = Path(out_dir)
    if root.exists() and not root.is_dir():
        raise OutputExistsError(
            f"Demo output folder {root} exists and is a file; pass a folder path."
        )
    names = ("synthesisai", "datagen", "ground_truth.json")
    present = [n for n in names if (root / n).exists() or (root / n).is_symlink()]
    if present and not overwrite:
        raise OutputExistsError(
            f"Demo output folder {root} already holds {', '.join(present)}; pass "
            "overwrite=True to replace them (other files in the folder are kept) or choose "
            "another folder."
        )
    root.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(int(seed))
    scene = _make_scene(rng)
    syn_views = _synthesis_views(scene, rng)
    dg_views = _datagen_views(scene, rng)
    job = uuid.uuid5(uuid.NAMESPACE_URL, f"https://camgeom.invalid/demo/{int(seed)}")

    staging = Path(tempfile.mkdtemp(prefix=".camgeom-demo-", dir=root))
    try:
        syn_frames = _write_synthesis(staging / "synthesisai", scene, syn_views, job)
        dg_frames = _write_datagen(staging / "datagen", scene, dg_views)
        truth = {
            "format": GROUND_TRUTH_FORMAT,
            "seed": int(seed),
            "units": "metres",
            "conventions": {
                "cam_from_world": "OpenCV camera frame (x right, y down, z forward), "
                "p_cam = R @ p_world + t",
                "uv": "camgeom pixels: (column, row), pixel (c, r) covers [c, c+1) x [r, r+1)",
                "z": "camera-frame depth along the optical axis",
                "range": "distance from the camera centre",
                "visible": "in_image and unoccluded (no surface closer along the camera ray)",
            },
            "synthesisai": {
                "world_up": [0.0, 1.0, 0.0],
                "scene": _scene_truth(scene, _SYN_FROM_DG),
                "frames": syn_frames,
            },
            "datagen": {
                "world_up": [0.0, 0.0, 1.0],
                "scene": _scene_truth(scene, np.eye(3)),
                "frames": dg_frames,
            },
        }
        _dump(truth, staging / "ground_truth.json", indent=2, newline=True)
        # Move into place; the ground truth last, as the mark of a complete dataset.
        for name in names:
            target = root / name
            if target.exists() or target.is_symlink():
                old = staging / f".old-{name}"
                os.replace(target, old)
            os.replace(staging / name, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return DemoPaths(
        root=root,
        synthesisai=root / "synthesisai",
        datagen=root / "datagen",
        ground_truth=root / "ground_truth.json",
    )

"""The analytic demo scene: primitives, landmarks, cameras and the two world frames.

The scene lives in Datagen's world frame (z up, the actor faces -y); Synthesis
AI's world is y up with the actor facing +z. Both are named here by axis
letters, as :mod:`camgeom.conventions` names camera frames: the letters say
where +x, +y and +z point for a viewer facing the actor. Datagen's world is
``"RFU"`` (right, away from the viewer, up) and Synthesis AI's ``"RUB"``
(right, up, toward the viewer), so every change between the two worlds is one
:func:`~camgeom.conventions.convert_points` call or a composition with
:data:`SYNTHESIS_FROM_DATAGEN`: ``x_synthesis = x``, ``y_synthesis = z``,
``z_synthesis = -y``. Metres throughout.

* ``floor``: a disk of radius 6 m in the plane z = 0 (Datagen frame).
* ``head``: a sphere of radius 0.11 m near (0, 0, 1.6), turned by a yaw angle.
* ``hand_left``, ``hand_right``: spheres of radius 0.05 / 0.04 m; the right hand
  is raised in front of the chin and hides part of the face from frontal cameras.

Landmarks are exact surface points: 68 iBUG-style points and two pupils on the
head (the jaw contour wraps round to the sides of the head, so its ends are
hidden from frontal cameras), Kinect-style points on the hands (one on the back
of the left hand, always hidden) and on top of the head, and two foot points on
the floor (outside the views).

Cameras are OpenCV ``cam_from_world`` poses in the scene (Datagen) frame: the
Synthesis AI ones are built from the vendor's head-orbit rig (an OpenGL camera,
``cam2world = Ry(yaw) Rx(pitch) Rz(roll)``), the Datagen ones by looking at the
head with :func:`~camgeom.poses.cam_from_world_look_at`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from camgeom.conventions import axes_matrix, convert_points, convert_pose
from camgeom.poses import (
    cam_from_world_look_at,
    compose_poses,
    invert_pose,
    pose_from_rotation_translation,
)

__all__ = [
    "DATAGEN_FOCAL_MM",
    "DATAGEN_FROM_SYNTHESIS",
    "DATAGEN_WORLD",
    "FLOOR",
    "OBJECTS",
    "SPHERES",
    "SYNTHESIS_FROM_DATAGEN",
    "SYNTHESIS_SENSOR_WIDTH_MM",
    "SYNTHESIS_WORLD",
    "Scene",
    "View",
    "datagen_views",
    "make_scene",
    "synthesis_views",
    "to_synthesis_world",
    "world_from_head",
]

DATAGEN_WORLD = "RFU"
"""Datagen's world axes as seen by a viewer facing the actor: right, forward (away), up."""

SYNTHESIS_WORLD = "RUB"
"""Synthesis AI's world axes as seen by a viewer facing the actor: right, up, backward."""

SYNTHESIS_FROM_DATAGEN = pose_from_rotation_translation(
    axes_matrix(DATAGEN_WORLD, SYNTHESIS_WORLD), np.zeros(3)
)
"""(4, 4) rigid change from the Datagen (scene) world to the Synthesis AI world."""

DATAGEN_FROM_SYNTHESIS = invert_pose(SYNTHESIS_FROM_DATAGEN)
"""(4, 4) inverse of :data:`SYNTHESIS_FROM_DATAGEN`."""

SPHERES = ("head", "hand_left", "hand_right")
FLOOR = "floor"
OBJECTS = (*SPHERES, FLOOR)
"""Object ids of the ray caster: spheres first, then disks."""

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

SYNTHESIS_SENSOR_WIDTH_MM = 33.0
# Synthesis AI renders: (width, height, focal_length_mm, orbit distance, yaw, pitch, roll).
_SYN_RENDERS = (
    (160, 120, 45.0, 1.30, 0.0, -3.0, 0.0),
    (120, 160, 35.0, 1.60, 35.0, -15.0, 0.0),
    (128, 128, 60.0, 1.20, -25.0, 10.0, 8.0),
)
DATAGEN_FOCAL_MM = 50.0
# Datagen cameras: (name, width, height, horizontal FOV deg, eye and target offsets from the head).
_DG_CAMERAS = (
    ("camera_1", 128, 128, 30.0, (0.04, -1.15, 0.06), (0.0, 0.0, 0.0)),
    ("camera_2", 160, 120, 50.0, (0.90, -1.30, 0.35), (0.0, 0.0, -0.25)),
)


def to_synthesis_world(points: np.ndarray) -> np.ndarray:
    """Scene (Datagen world) points or directions (..., 3) in the Synthesis AI world."""
    return convert_points(points, DATAGEN_WORLD, SYNTHESIS_WORLD)


# --------------------------------------------------------------------------- scene


@dataclass(frozen=True)
class Scene:
    """The analytic scene in the Datagen world frame (z up, metres).

    Attributes
    ----------
    sphere_centres : ndarray, shape (3, 3)
        Centres of ``head``, ``hand_left``, ``hand_right``.
    sphere_radii : ndarray, shape (3,)
    disk_centres, disk_normals : ndarray, shape (1, 3)
        The floor disk.
    disk_radii : ndarray, shape (1,)
    head_yaw_deg : float
    head_rotation : ndarray, shape (3, 3)
        ``world_from_head`` rotation; columns: the actor's left, the back of the
        head, up.
    landmarks : dict
        Group name -> (point names, world points (N, 3), object of each point).
    """

    sphere_centres: np.ndarray
    sphere_radii: np.ndarray
    disk_centres: np.ndarray
    disk_normals: np.ndarray
    disk_radii: np.ndarray
    head_yaw_deg: float
    head_rotation: np.ndarray
    landmarks: dict[str, tuple[tuple[str, ...], np.ndarray, tuple[str, ...]]]

    @property
    def head_centre(self) -> np.ndarray:
        """Centre of the head sphere, shape (3,)."""
        return self.sphere_centres[0]


def world_from_head(scene: Scene, world: str) -> np.ndarray:
    """Return the (4, 4) ``world_from_head`` pose in the world frame ``world``.

    The head's own axes follow the world's: in Datagen's world they are (left,
    back, up) of the actor, and a change of world relabels them the same way.

    Parameters
    ----------
    scene : Scene
    world : str
        :data:`DATAGEN_WORLD` or :data:`SYNTHESIS_WORLD`.
    """
    pose = pose_from_rotation_translation(scene.head_rotation, scene.head_centre)
    pose = convert_pose(pose, DATAGEN_WORLD, world, kind="world_from_cam")  # the head's axes
    to_world = pose_from_rotation_translation(axes_matrix(DATAGEN_WORLD, world), np.zeros(3))
    return compose_poses(to_world, pose)


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


def make_scene(rng: np.random.Generator) -> Scene:
    """Draw the scene's small random variations (head position and yaw, hands) from ``rng``."""
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
        "FOOT_LEFT": (np.array([0.12, 0.02, 0.0]), FLOOR),
        "FOOT_RIGHT": (np.array([-0.12, 0.02, 0.0]), FLOOR),
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
    return Scene(
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
class View:
    """One camera: OpenCV K and ``cam_from_world`` in the Datagen (scene) world frame.

    Attributes
    ----------
    width, height : int
        Image size in pixels.
    K : ndarray, shape (3, 3)
    cam_from_world : ndarray, shape (4, 4)
        OpenCV camera frame, Datagen world.
    extra : dict
        Vendor-specific camera settings (focal length and rig, or name and FOV).
    """

    width: int
    height: int
    K: np.ndarray
    cam_from_world: np.ndarray
    extra: dict[str, Any]

    @property
    def world_from_cam(self) -> np.ndarray:
        """The rigid inverse of :attr:`cam_from_world`, shape (4, 4)."""
        return invert_pose(self.cam_from_world)

    @property
    def centre(self) -> np.ndarray:
        """Camera centre in the scene world, shape (3,)."""
        return self.world_from_cam[:3, 3]


def synthesis_views(scene: Scene, rng: np.random.Generator) -> list[View]:
    """The Synthesis AI renders: a head-orbit rig of OpenGL cameras in the y-up world."""
    views = []
    head_syn = to_synthesis_world(scene.head_centre)
    for width, height, focal, dist, yaw, pitch, roll in _SYN_RENDERS:
        yaw = float(np.round(yaw + rng.uniform(-3.0, 3.0), 3))
        pitch = float(np.round(pitch + rng.uniform(-2.0, 2.0), 3))
        dist = float(np.round(dist + rng.uniform(-0.05, 0.05), 4))
        # world_from_cam rotation of the OpenGL camera in the y-up world
        rig = _rot_y(yaw) @ _rot_x(pitch) @ _rot_z(roll)
        centre_syn = head_syn + rig @ np.array([0.0, 0.0, dist])
        syn_from_gl_cam = pose_from_rotation_translation(rig, centre_syn)
        syn_from_cam = convert_pose(syn_from_gl_cam, "opengl", "opencv", kind="world_from_cam")
        world_from_cam = compose_poses(DATAGEN_FROM_SYNTHESIS, syn_from_cam)
        fx = focal / SYNTHESIS_SENSOR_WIDTH_MM * width
        K = np.array([[fx, 0.0, width / 2.0], [0.0, fx, height / 2.0], [0.0, 0.0, 1.0]])
        extra = {
            "focal_length_mm": focal,
            "rig": {
                "orbit_centre": head_syn,
                "location": {"x": 0, "y": 0, "z": dist, "yaw": yaw, "roll": roll, "pitch": pitch},
            },
        }
        views.append(View(width, height, K, invert_pose(world_from_cam), extra))
    return views


def datagen_views(scene: Scene, rng: np.random.Generator) -> list[View]:
    """The Datagen cameras: upright (z up) cameras looking at the head."""
    views = []
    for name, width, height, hfov_deg, eye_off, target_off in _DG_CAMERAS:
        eye = scene.head_centre + np.array(eye_off) + rng.uniform(-0.05, 0.05, 3)
        target = scene.head_centre + np.array(target_off)
        cam_from_world = cam_from_world_look_at(eye, target=target, up=np.array([0.0, 0.0, 1.0]))
        f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
        K = np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])
        extra = {"name": name, "hfov_deg": hfov_deg}
        views.append(View(width, height, K, cam_from_world, extra))
    return views

"""The ``ground_truth.json`` document of the demo dataset.

For each layout, in its own world frame: the primitives (sphere centres and
radii, the floor's point, normal and radius), and per frame ``K``, the OpenCV
``cam_from_world``, the depth kind and background value, the files written,
the pixel count of each object, and per landmark the primitive it lies on
(``objects``), the world position, pixel ``uv`` (camgeom convention), ``z``,
``range`` and the ``in_image`` / ``unoccluded`` / ``visible`` flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from camgeom.conventions import convert_points
from camgeom.demo.render import Render
from camgeom.demo.scene import DATAGEN_WORLD, FLOOR, OBJECTS, SPHERES, Scene, View, world_from_head

__all__ = [
    "GROUND_TRUTH_FORMAT",
    "Layout",
    "frame_truth",
    "ground_truth_document",
    "scene_truth",
    "truth_record",
]

GROUND_TRUTH_FORMAT = 1
"""Version of the layout of ``ground_truth.json``."""

_CONVENTIONS = {
    "cam_from_world": "OpenCV camera frame (x right, y down, z forward), p_cam = R @ p_world + t",
    "uv": "camgeom pixels: (column, row), pixel (c, r) covers [c, c+1) x [r, r+1)",
    "z": "camera-frame depth along the optical axis",
    "range": "distance from the camera centre",
    "visible": "in_image and unoccluded (no surface closer along the camera ray)",
}


@dataclass(frozen=True)
class Layout:
    """What a vendor layout stores: its world frame, depth kind and background value.

    Attributes
    ----------
    name : str
        ``"synthesisai"`` or ``"datagen"`` (also the output folder).
    world : str
        World axes as letters (:data:`camgeom.demo.scene.DATAGEN_WORLD`, ...).
    depth_kind : str
        ``"range"`` or ``"z"``.
    background : float
        Depth value of background pixels.
    """

    name: str
    world: str
    depth_kind: str
    background: float

    def points(self, scene_points: np.ndarray) -> np.ndarray:
        """Scene (Datagen world) points or directions (..., 3) in this layout's world."""
        return convert_points(scene_points, DATAGEN_WORLD, self.world)

    @property
    def world_up(self) -> np.ndarray:
        """The world's up direction, shape (3,) (camgeom's camera frame has up along -y)."""
        return convert_points(np.array([0.0, -1.0, 0.0]), "opencv", self.world) + 0.0


def truth_record(lm: dict[str, Any], layout: Layout) -> dict[str, Any]:
    """One landmark group of :func:`camgeom.demo.render.landmark_truth` in ``layout``'s world."""
    return {
        "names": list(lm["names"]),
        "objects": list(lm["objects"]),
        "world": layout.points(lm["world"]),
        "uv": lm["uv"],
        "z": lm["z"],
        "range": lm["range"],
        "in_image": lm["in_image"],
        "unoccluded": lm["unoccluded"],
        "visible": lm["visible"],
    }


def frame_truth(
    frame_id: str,
    view: View,
    render: Render,
    *,
    layout: Layout,
    cam_from_world: np.ndarray,
    files: dict[str, str],
    landmarks: dict[str, Any],
    extra: dict[str, Any],
) -> dict[str, Any]:
    """The truth of one written frame (``cam_from_world`` in ``layout``'s world)."""
    counts = {name: int(np.count_nonzero(render.obj == i)) for i, name in enumerate(OBJECTS)}
    counts["background"] = int(np.count_nonzero(render.obj < 0))
    return {
        "frame_id": frame_id,
        "width": view.width,
        "height": view.height,
        "K": view.K,
        "cam_from_world": cam_from_world,
        "depth_kind": layout.depth_kind,
        "depth_background": repr(layout.background),
        "files": files,
        "pixel_counts": counts,
        "landmarks": landmarks,
        **extra,
    }


def scene_truth(scene: Scene, layout: Layout) -> dict[str, Any]:
    """The primitives and the head's turn in ``layout``'s world."""
    return {
        "spheres": [
            {
                "name": name,
                "centre": layout.points(scene.sphere_centres[i]),
                "radius": scene.sphere_radii[i],
            }
            for i, name in enumerate(SPHERES)
        ],
        "planes": [
            {
                "name": FLOOR,
                "point": layout.points(scene.disk_centres[0]),
                "normal": layout.points(scene.disk_normals[0]),
                "radius": scene.disk_radii[0],
            }
        ],
        "head_yaw_deg": scene.head_yaw_deg,
        "head_rotation": world_from_head(scene, layout.world)[:3, :3],
    }


def ground_truth_document(
    scene: Scene, seed: int, frames: dict[Layout, list[dict[str, Any]]]
) -> dict[str, Any]:
    """The whole ``ground_truth.json`` document: conventions, then each layout's scene and frames."""
    doc: dict[str, Any] = {
        "format": GROUND_TRUTH_FORMAT,
        "seed": seed,
        "units": "metres",
        "conventions": _CONVENTIONS,
    }
    for layout, layout_frames in frames.items():
        doc[layout.name] = {
            "world_up": layout.world_up,
            "scene": scene_truth(scene, layout),
            "frames": layout_frames,
        }
    return doc

"""Rendering the demo scene through the ray caster, and the landmark truth of a view.

Camera rays go through pixel centres ((col + 0.5, row + 0.5) in camgeom
pixels) and each pixel holds the analytic first intersection with the scene's
primitives (:mod:`camgeom.demo._raycast`): the distance along the ray, the
planar z, the object id, the camera-frame normal, the world point and a shaded
colour. No anti-aliasing, lens distortion or noise.

The landmark truth is computed from first principles (a pinhole projection and
a ray cast toward each point) rather than with :mod:`camgeom.projection`, so
that it can check that module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from camgeom.demo import _raycast
from camgeom.demo.scene import FLOOR, OBJECTS, Scene, View

__all__ = ["OCCLUSION_TOLERANCE_M", "Render", "landmark_truth", "render"]

OCCLUSION_TOLERANCE_M = 1e-6
"""A landmark is unoccluded when the first surface along its camera ray is at most
this much closer to the camera than the landmark itself."""

_ALBEDO = {
    "head": (0.88, 0.70, 0.58),
    "hand_left": (0.80, 0.60, 0.48),
    "hand_right": (0.80, 0.60, 0.48),
}
_LIGHT = np.array([0.4, -0.5, 0.8]) / np.linalg.norm([0.4, -0.5, 0.8])


@dataclass(frozen=True)
class Render:
    """One rendered view.

    Attributes
    ----------
    range_m : ndarray, shape (H, W), float64
        Distance along the pixel's ray; inf for background.
    z_m : ndarray, shape (H, W), float64
        Planar depth; inf for background.
    obj : ndarray, shape (H, W), int64
        Object id (index into :data:`camgeom.demo.scene.OBJECTS`); -1 for background.
    normal_cv : ndarray, shape (H, W, 3), float64
        Unit normals in the OpenCV camera frame; 0 for background.
    points : ndarray, shape (H, W, 3), float64
        World (scene-frame) hit points; NaN for background.
    rgb : ndarray, shape (H, W, 3), uint8
    """

    range_m: np.ndarray
    z_m: np.ndarray
    obj: np.ndarray
    normal_cv: np.ndarray
    points: np.ndarray
    rgb: np.ndarray


_cast_rays = cast(Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]], _raycast.cast_rays)


def _cast(scene: Scene, origins: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, ...]:
    return _cast_rays(
        np.ascontiguousarray(origins, dtype=np.float64),
        np.ascontiguousarray(directions, dtype=np.float64),
        scene.sphere_centres,
        scene.sphere_radii,
        scene.disk_centres,
        scene.disk_normals,
        scene.disk_radii,
    )


def render(scene: Scene, view: View) -> Render:
    """Ray-cast every pixel centre of ``view`` against ``scene``."""
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
    rgb = _shade(hit, normal, points, d_world)
    return Render(
        range_m=dist,
        z_m=np.where(fg, dist / norm, np.inf),
        obj=hit,
        normal_cv=normal @ R.T,
        points=points,
        rgb=rgb,
    )


def _shade(
    hit: np.ndarray, normal: np.ndarray, points: np.ndarray, d_world: np.ndarray
) -> np.ndarray:
    """Lambert shading, a checkered floor and a sky gradient (deterministic)."""
    up = np.clip(d_world[..., 2] * 3.0, 0.0, 1.0)[..., None]
    colour = (1.0 - up) * np.array([0.80, 0.88, 0.97]) + up * np.array([0.45, 0.65, 0.90])
    lambert = 0.3 + 0.7 * np.clip(normal @ _LIGHT, 0.0, None)
    for obj_id, name in enumerate(OBJECTS):
        mask = hit == obj_id
        if not np.any(mask):
            continue
        if name == FLOOR:
            p = points[mask]
            check = (np.floor(p[:, 0] / 0.5) + np.floor(p[:, 1] / 0.5)) % 2.0
            albedo = np.where(check[:, None] > 0.5, [0.55, 0.55, 0.55], [0.35, 0.35, 0.38])
        else:
            albedo = np.array(_ALBEDO[name])
        colour[mask] = albedo * lambert[mask][:, None]
    return np.round(np.clip(colour, 0.0, 1.0) * 255.0).astype(np.uint8)


def landmark_truth(scene: Scene, view: View, group: str) -> dict[str, Any]:
    """Projection, depth and visibility of one landmark group in one view.

    Returns
    -------
    dict
        ``names``, ``objects``, ``world`` (N, 3) scene-frame points, ``uv`` (N, 2)
        camgeom pixels, ``z`` and ``range`` (N,), and the boolean ``in_image``,
        ``unoccluded`` and ``visible`` (N,) flags. A landmark is *visible* when it
        projects inside the image and the ray from the camera centre reaches it
        before any other surface (within :data:`OCCLUSION_TOLERANCE_M`).
    """
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

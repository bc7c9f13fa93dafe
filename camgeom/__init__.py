"""camgeom: camera math for synthetic human datasets.

Conventions: cameras are stored in the OpenCV frame (x right, y down, z
forward); pixel (col, row) covers [col, col+1) x [row, row+1) with its centre at
+0.5; depth is planar ``"z"`` or ray ``"range"``. See ``docs/conventions.md``.

The names here are the ones a user needs every day. The rest lives in its own
room: every error type in :mod:`camgeom.errors`, file formats in
:mod:`camgeom.io`, vendor readers and the frame model in
:mod:`camgeom.datasets`, the checks and their report in
:mod:`camgeom.verification`, point-cloud helpers in :mod:`camgeom.depth` and
:mod:`camgeom.pointcloud`, overlays in :mod:`camgeom.drawing`, the demo data in
:mod:`camgeom.demo` (see ``docs/architecture.md``).
"""

from camgeom._version import __version__
from camgeom.camera import Camera
from camgeom.conventions import convert_pixels, convert_points, convert_pose
from camgeom.errors import CamgeomError
from camgeom.intrinsics import (
    fov_from_intrinsics,
    intrinsics_from_focal_length,
    intrinsics_from_fov,
    principal_point_from_shift,
)
from camgeom.lens import FisheyeDistortion, OpenCVDistortion
from camgeom.poses import cam_from_world_look_at, compose_poses, invert_pose, transform_points
from camgeom.projection import in_image, project_points, reproject_points, unproject_points

# Entry points that pull in file formats, readers or the verifier load on first use.
_LAZY = {
    "load": "camgeom.datasets",
    "points_from_depth": "camgeom.depth",
    "PointCloud": "camgeom.pointcloud",
    "read_depth": "camgeom.io",
    "verify": "camgeom.verification",
    "verify_dataset": "camgeom.verification",
    "warp_image": "camgeom.warp",
    "distort_image": "camgeom.warp",
    "undistort_image": "camgeom.warp",
    "synthesisai_fisheye_camera": "camgeom.warp",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(
        f"module 'camgeom' has no attribute {name!r}; other names live in camgeom.errors, "
        "camgeom.io, camgeom.datasets, camgeom.verification, camgeom.depth, "
        "camgeom.pointcloud, camgeom.drawing and camgeom.demo"
    )


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "Camera",
    "CamgeomError",
    "FisheyeDistortion",
    "OpenCVDistortion",
    "PointCloud",
    "__version__",
    "cam_from_world_look_at",
    "compose_poses",
    "convert_pixels",
    "convert_points",
    "convert_pose",
    "distort_image",
    "fov_from_intrinsics",
    "in_image",
    "intrinsics_from_focal_length",
    "intrinsics_from_fov",
    "invert_pose",
    "load",
    "points_from_depth",
    "principal_point_from_shift",
    "project_points",
    "read_depth",
    "reproject_points",
    "synthesisai_fisheye_camera",
    "transform_points",
    "undistort_image",
    "unproject_points",
    "verify",
    "verify_dataset",
    "warp_image",
]

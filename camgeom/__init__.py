"""camgeom: camera math for synthetic human datasets.

Conventions: cameras are stored in the OpenCV frame (x right, y down, z
forward); pixel (col, row) covers [col, col+1) x [row, row+1) with its centre at
+0.5; depth is planar ``"z"`` or ray ``"range"``. See ``docs/conventions.md``.
"""

from camgeom._version import __version__
from camgeom.camera import Camera
from camgeom.conventions import convert_pixels, convert_points, convert_pose
from camgeom.errors import (
    CamgeomError,
    ConventionError,
    FormatError,
    InvalidValueError,
    MissingChannelError,
    MissingKeyError,
    NonRigidPoseError,
    OutputExistsError,
    ShapeError,
    UnknownVersionError,
)
from camgeom.intrinsics import (
    fov_from_intrinsics,
    intrinsics_from_focal_length,
    intrinsics_from_fov,
)
from camgeom.poses import cam_from_world_look_at, invert_pose, transform_points
from camgeom.projection import in_image, project_points, reproject_points, unproject_points

# Heavier entry points (file formats, readers, jobs) load on first use.
_LAZY = {
    "load": "camgeom.datasets",
    "Dataset": "camgeom.datasets",
    "Frame": "camgeom.datasets",
    "Landmarks": "camgeom.datasets",
    "CameraMetadata": "camgeom.datasets",
    "FrameError": "camgeom.datasets",
    "points_from_depth": "camgeom.depth",
    "PointCloud": "camgeom.pointcloud",
    "count_valid_depth": "camgeom.depth",
    "concatenate_point_clouds": "camgeom.pointcloud",
    "range_from_z": "camgeom.depth",
    "z_from_range": "camgeom.depth",
    "draw_landmarks": "camgeom.drawing",
    "draw_landmarks_comparison": "camgeom.drawing",
    "make_demo_dataset": "camgeom.demo",
    "read_depth": "camgeom.io",
    "read_exr": "camgeom.io",
    "write_ply": "camgeom.io",
    "Report": "camgeom.verification",
    "verify": "camgeom.verification",
    "verify_dataset": "camgeom.verification",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'camgeom' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    *_LAZY,
    "CamgeomError",
    "Camera",
    "ConventionError",
    "FormatError",
    "InvalidValueError",
    "MissingChannelError",
    "MissingKeyError",
    "NonRigidPoseError",
    "OutputExistsError",
    "ShapeError",
    "UnknownVersionError",
    "__version__",
    "cam_from_world_look_at",
    "convert_pixels",
    "convert_points",
    "convert_pose",
    "fov_from_intrinsics",
    "in_image",
    "intrinsics_from_focal_length",
    "intrinsics_from_fov",
    "invert_pose",
    "project_points",
    "reproject_points",
    "transform_points",
    "unproject_points",
]

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

__all__ = [
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

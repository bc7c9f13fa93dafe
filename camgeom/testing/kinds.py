"""The vocabulary of camera-metadata mistakes that :func:`camgeom.testing.inject` writes.

Each kind is one mistake users of synthetic datasets make, with its inverse
(the correction :mod:`camgeom.verification.diagnosis` tries). :data:`KINDS`
lists them in a fixed order; :data:`DESCRIPTIONS` says what each does to the
files. See ``docs/verification.md`` for which vendor formats can express each
kind and which checks detect it.
"""

from __future__ import annotations

from camgeom.errors import CamgeomError

__all__ = ["DESCRIPTIONS", "KINDS", "NotExpressibleError"]

DESCRIPTIONS: dict[str, str] = {
    "pose_inverted": "cam_from_world and world_from_cam swapped (the pose in the other direction)",
    "pose_transposed": (
        "the 3x3 rotation block of the stored pose transposed, translation left in place "
        "(a full 4x4 transpose is recognised by its last row and read as the room layout)"
    ),
    "axes_opengl_as_opencv": (
        "the pose written in the other camera axes (OpenGL y up, z back vs OpenCV y down, "
        "z forward) than the file's format states"
    ),
    "quaternion_order": "the stored quaternion written in the other component order",
    "fx_fy_swapped": "fx and fy of the stored K swapped",
    "aspect_stretched": "fy of the stored K multiplied by W/H (non-square pixels)",
    "principal_point_half_pixel": "cx, cy of the stored K moved by -0.5 px (integer pixel centres)",
    "intrinsics_other_resolution": "the stored K of a render at twice the resolution",
    "translation_centimetres": "the camera translation (and location) written in centimetres",
    "depth_kind_swapped": "range depth written as planar z, or planar z as range",
    "depth_millimetres": "depth values written in millimetres",
    "pixel_row_col": "2D labels written as (row, col) where the format stores (col, row), or back",
    "resolution_mismatch": "metadata (resolution and K) of a render at twice the image size",
}
"""What each kind does to a frame's files."""

KINDS: tuple[str, ...] = tuple(DESCRIPTIONS)
"""Every kind of mistake, in report order."""


class NotExpressibleError(CamgeomError, ValueError):
    """A kind that a frame's files cannot express (the message says why)."""

"""Every tolerance the verifier uses, in one place.

Vendors store float32 values (about 1e-7 relative), so checks that compare
stored numbers with each other pass far below these limits on clean data; the
limits are wide enough for float32 storage and tight enough that a convention
mistake (a flipped axis, a transposed matrix, a wrong lens shift) fails by
orders of magnitude. Tolerances that a frame supplies itself (label rounding,
a user's occlusion threshold) are added where the check runs.
"""

from __future__ import annotations

__all__ = [
    "DEPTH_KIND_RATIO",
    "DEPTH_MIN_SCALE_LANDMARKS",
    "DEPTH_MIN_SURFACE_LANDMARKS",
    "DEPTH_SCALE_TOL",
    "DEPTH_SURFACE_M",
    "DUPLICATES_SHOWN",
    "NAMES_SHOWN",
    "NORMALS_AGREE_RAD",
    "NORMALS_EDGE_RAD",
    "NORMALS_MAX_SAMPLES",
    "NORMALS_MIN_PIXELS",
    "OCCLUSION_M",
    "TOL_FOV_RAD",
    "TOL_INVERSE",
    "TOL_K_PX",
    "TOL_M",
    "TOL_PRINCIPAL_PX",
    "TOL_PX",
    "TOL_REL_FOCAL",
    "TOL_ROT",
    "TOL_SQUARE",
]

TOL_REL_FOCAL = 1e-4
"""``fx`` against ``focal_length_mm / sensor_width_mm * width``, relative."""

TOL_FOV_RAD = 1e-4
"""Field of view implied by K (or by the lens) against the stated one, radians."""

TOL_PRINCIPAL_PX = 0.01
"""Principal point against the image centre moved by the lens shift, pixels."""

TOL_SQUARE = 1e-4
"""``|fx - fy| / fx`` where the format promises square pixels."""

TOL_K_PX = 1e-3
"""Largest entry of ``|stored K - camera K|`` (like with like), pixels."""

TOL_ROT = 1e-4
"""Rotation matrix elements: rigidity, quaternion, Euler angles, look-at."""

TOL_M = 1e-4
"""Metres: translations, camera-space positions, distances to the camera."""

TOL_INVERSE = 1e-5
"""Largest entry of ``|cam_from_world @ world_from_cam - I|``."""

TOL_PX = 1e-3
"""Projection against unrounded 2D labels, pixels (label rounding is added)."""

OCCLUSION_M = 0.005
"""A landmark this far behind every nearby depth sample is occluded, metres."""

DEPTH_SURFACE_M = 0.02
"""Landmarks this close to the depth surface decide whether depth is z or range."""

DEPTH_MIN_SURFACE_LANDMARKS = 3
"""Fewest landmarks on the depth surface for the depth-kind check to run."""

DEPTH_MIN_SCALE_LANDMARKS = 3
"""Fewest visible landmarks inside the depth surface for the depth-scale check to run."""

DEPTH_SCALE_TOL = 0.05
"""``|median(depth / landmark distance) - 1|`` beyond this fails ``depth.scale``.

Landmarks sit on the skin the depth map sees, so the ratio is 1 to well under
1 % on clean data (z against range alone differs by under 2 % for a face near
the image centre); a wrong unit or a vendor's scale factor is off by 400 % or
more. 5 % also leaves room for landmarks slightly inside the surface (eye
centres, the mouth) and for occluded ones among the visible flags."""

DEPTH_KIND_RATIO = 2.0
"""The declared depth kind's residual may be at most this times the other kind's."""

NORMALS_AGREE_RAD = 0.035
"""``depth.kind_normals`` runs only where the depth map's own normals (finite
differences of the better-fitting kind) follow the normal map to this median
angle, radians (2 degrees).

Read as the wrong kind, the depth surface tilts by about the angle between the
pixel's ray and the optical axis: 1-2 degrees over a face in an 8-degree field
of view. Float32 depth maps agree with their normal maps to 0.3-0.5 degrees
(Datagen faces) or better (the demo renders); half-float depth (Synthesis AI
``depth.tif``, older Datagen sets) is quantised to about 1 mm, and its finite
differences are 11-18 degrees off, with a bias of their own toward the
quantisation terraces: there the test says so and does not run."""

NORMALS_EDGE_RAD = 0.52
"""Pixels whose depth-derived normals are more than this (30 degrees) from the
normal map under either kind are silhouettes or depth steps and are left out."""

NORMALS_MAX_SAMPLES = 5_000
"""Pixels sampled (on a regular grid) for ``depth.kind_normals``."""

NORMALS_MIN_PIXELS = 200
"""Fewest usable pixels for ``depth.kind_normals`` to run."""

NAMES_SHOWN = 12
"""Landmark names listed in a hint before it is cut with ``...``."""

DUPLICATES_SHOWN = 4
"""Duplicated pairs listed in a message."""

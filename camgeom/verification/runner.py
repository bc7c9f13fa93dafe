"""Run the checks of one frame, all of them or only some families, on maps read once.

:func:`camgeom.verification.verify` runs every family; the diagnosis
(:mod:`camgeom.verification.diagnosis`) re-runs only the families a
hypothesis changes, on the same :class:`~camgeom.verification.depth.DepthMaps`
(the depth and normal maps stay in memory). A check belongs to the family
named by :func:`family_of`.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, NamedTuple

from camgeom.verification.depth import DepthMaps, depth_checks
from camgeom.verification.intrinsics import intrinsics_checks
from camgeom.verification.landmarks import landmark_checks, projected_groups
from camgeom.verification.poses import pose_checks

if TYPE_CHECKING:
    from collections.abc import Collection

    from camgeom.camera import Camera
    from camgeom.datasets import Frame
    from camgeom.verification.landmarks import Projected
    from camgeom.verification.report import Check

__all__ = ["FAMILIES", "Options", "Run", "family_of", "run_checks"]

FAMILIES = ("intrinsics", "pose", "landmarks", "depth")
"""The check families, in report order."""

_PREFIXES = {
    "intrinsics.": "intrinsics",
    "pose.": "pose",
    "extrinsics.": "pose",
    "landmarks.": "landmarks",
    "depth.": "depth",
    "occlusion.": "depth",
}


@functools.lru_cache(maxsize=4096)
def family_of(name: str) -> str:
    """The family of a check name ("" for format notes and checks of no family)."""
    if name.startswith(("landmarks.duplicates.", "landmarks.read.", "landmarks.unprojected.")):
        return ""  # positions and files only: no camera, pose or depth changes them
    if name == "intrinsics.focal_length_vs_fov":
        return ""  # the lens's focal length, sensor and FOV: no K, pose or depth in it
    for prefix, family in _PREFIXES.items():
        if name.startswith(prefix):
            return family
    return ""


class Options(NamedTuple):
    """The options of :func:`camgeom.verification.verify` that change what a check says."""

    strict: bool = False
    occlusion_threshold: float | None = None
    use_depth: bool = True


class Run(NamedTuple):
    """The checks of one run and the landmark projections they used."""

    checks: list[Check]
    groups: list[Projected]


def run_checks(
    frame: Frame,
    camera: Camera,
    options: Options,
    maps: DepthMaps,
    *,
    families: Collection[str] = FAMILIES,
    groups: list[Projected] | None = None,
    normals: str = "auto",
) -> Run:
    """The checks of ``families`` on ``frame`` (seen by ``camera``), in report order.

    Parameters
    ----------
    frame : Frame
    camera : Camera
        ``frame.camera``.
    options : Options
    maps : DepthMaps
        The frame's depth and normal maps (read on first use).
    families : collection of str
        Which of :data:`FAMILIES` to run. Without ``"landmarks"`` in it the
        groups are still projected for ``"depth"`` (unless ``groups`` is
        given), but no landmark check runs; with it but without every family,
        ``landmarks.duplicates`` (positions only) is left out.
    groups : list of Projected, optional
        Projections to reuse (the camera is unchanged).
    normals : {"auto", "never", "always"}
        When ``depth.kind_normals`` runs (see
        :func:`~camgeom.verification.depth.depth_checks`).

    Returns
    -------
    Run
    """
    checks: list[Check] = []
    if "intrinsics" in families:
        checks += intrinsics_checks(frame, camera)
    if "pose" in families:
        checks += pose_checks(frame.metadata)
    if groups is None and ("landmarks" in families or "depth" in families):
        groups, unprojected = projected_groups(frame, camera)
        if len(families) == len(FAMILIES):
            checks += unprojected
    groups = groups if groups is not None else []
    if "landmarks" in families:
        checks += landmark_checks(
            camera, groups, strict=options.strict, duplicates=len(families) == len(FAMILIES)
        )
    if "depth" in families:
        checks += depth_checks(
            frame,
            camera,
            groups,
            strict=options.strict,
            occlusion_threshold=options.occlusion_threshold,
            use_depth=options.use_depth,
            maps=maps,
            normals=normals,
        )
    return Run(checks, groups)

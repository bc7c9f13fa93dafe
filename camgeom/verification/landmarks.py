"""Checks of the landmarks: camera-space positions, distances, 2D labels, flags, duplicates.

Every landmark group with world positions is projected once
(:func:`projected_groups`); the landmark checks here and the depth checks in
:mod:`camgeom.verification.depth` share the result. The readers have already
converted the vendor's 2D labels to camgeom's pixel convention
(``CameraMetadata.pixel_convention`` names the one they were stored in), so
labels and projections compare directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from camgeom.errors import CamgeomError
from camgeom.poses import transform_points
from camgeom.verification._stats import nanmedian
from camgeom.verification.report import Check, failure, measured, skipped
from camgeom.verification.tolerances import DUPLICATES_SHOWN, NAMES_SHOWN, TOL_M, TOL_PX

if TYPE_CHECKING:
    from camgeom.camera import Camera
    from camgeom.datasets import Frame, Landmarks

__all__ = ["Projected", "landmark_checks", "project_group", "projected_groups"]


class Projected(NamedTuple):
    """One landmark group projected by the frame's camera."""

    group: str
    """The group's name in ``frame.landmarks``."""
    landmarks: Landmarks
    pixels: np.ndarray
    """(N, 2) projected pixels, NaN behind the camera."""
    cam_points: np.ndarray
    """(N, 3) points in the OpenCV camera frame."""


# Landmarks that coincide by the definition of their set (0-based rows), not by a defect:
# COCO-WholeBody's wrists are also its hand roots, and its nose is face point 30.
_COINCIDENT_BY_DEFINITION = {"coco_whole_body": {(9, 91), (10, 112), (0, 53)}}


def projected_groups(frame: Frame, camera: Camera) -> tuple[list[Projected], list[Check]]:
    """Project every readable group with world points, once for all checks.

    Returns
    -------
    groups : list of Projected
    skips : list of Check
        One ``skip`` per group that cannot be checked against the camera (a file
        that cannot be read, or 2D labels without world positions), with the reason.
    """
    groups: list[Projected] = []
    skips: list[Check] = []
    for name in frame.landmarks:
        try:
            lm = frame.landmarks[name]
        except CamgeomError as exc:
            skips.append(skipped(f"landmarks.read.{name}", f"group not checked: {exc}"))
            continue
        if lm.world is None:
            skips.append(
                skipped(
                    f"landmarks.unprojected.{name}",
                    "2D labels only: no world positions to compare with the camera",
                )
            )
            continue
        groups.append(project_group(name, lm, camera))
    return groups, skips


def project_group(name: str, lm: Landmarks, camera: Camera) -> Projected:
    """One group with world positions projected by ``camera``."""
    assert lm.world is not None
    uv, _ = camera.project(lm.world)
    return Projected(name, lm, uv, transform_points(camera.cam_from_world, lm.world))


def landmark_checks(
    camera: Camera, groups: list[Projected], *, strict: bool, duplicates: bool = True
) -> list[Check]:
    """Check each projected group against what the vendor stored about it.

    Parameters
    ----------
    camera : Camera
    groups : list of Projected
        From :func:`projected_groups`.
    strict : bool
        Turn warnings into failures.
    duplicates : bool
        Look for duplicated positions (``False``: the camera changed, the
        positions did not, as in the diagnosis).

    Returns
    -------
    list of Check
        Per group: ``landmarks.camera_space``, ``.distance``, ``.duplicates`` (only
        when there are duplicates), ``.reprojection``, ``.in_frustum`` and
        ``.visible_in_image``, where the group stores what they compare.
    """
    out: list[Check] = []
    for group, lm, uv, p_cam in groups:
        if lm.camera_space is not None:
            out += _camera_space_checks(group, lm, lm.camera_space, p_cam)
        dup = _duplicates(lm, group) if duplicates else []
        if dup:
            out.append(
                failure(
                    f"landmarks.duplicates.{group}",
                    "distinct landmarks carry identical 3D positions: "
                    + "; ".join(dup[:DUPLICATES_SHOWN]),
                    hint="a known vendor defect (v1/v1.1 pupils): one of these labels is a copy "
                    "of the other",
                    value=float(len(dup)),
                    tolerance=0.0,
                )
            )
        if lm.pixels is not None:
            out.append(_reprojection_check(group, lm, lm.pixels, uv))
        inside = camera.in_image(uv)
        edge = _near_edge(uv, camera.width, camera.height, lm)
        if lm.in_frustum is not None:
            out.append(
                _disagreement(
                    f"landmarks.in_frustum.{group}",
                    (lm.in_frustum != inside) & ~edge & np.isfinite(p_cam).all(axis=-1),
                    lm.names,
                    message="in_frustum flags against the projection falling inside the image",
                    hint="flags disagree for",
                )
            )
        if lm.visible is not None:
            out.append(
                _disagreement(
                    f"landmarks.visible_in_image.{group}",
                    lm.visible & ~inside & ~edge,
                    lm.names,
                    message="points flagged visible whose projection falls outside the image or "
                    "behind the camera",
                    hint="visible but not in the image:",
                    severity="warning",
                    strict=strict,
                )
            )
    return out


def _camera_space_checks(
    group: str, lm: Landmarks, camera_space: np.ndarray, p_cam: np.ndarray
) -> list[Check]:
    err = np.linalg.norm(p_cam - camera_space, axis=-1)
    out = [
        measured(
            f"landmarks.camera_space.{group}",
            _nanmax(err),
            TOL_M,
            unit="m",
            message="stored camera-space positions against cam_from_world @ world positions",
            hint=f"worst: {_worst(lm.names, err)}",
        )
    ]
    if lm.distance is not None:
        derr = np.abs(np.linalg.norm(camera_space, axis=-1) - lm.distance)
        out.append(
            measured(
                f"landmarks.distance.{group}",
                _nanmax(derr),
                TOL_M,
                unit="m",
                message="distance_to_camera against |camera-space position|",
                hint=f"worst: {_worst(lm.names, derr)}",
            )
        )
    return out


def _reprojection_check(group: str, lm: Landmarks, labels: np.ndarray, uv: np.ndarray) -> Check:
    """Projected world points against the 2D labels ``labels`` (N, 2)."""
    name = f"landmarks.reprojection.{group}"
    ok = np.isfinite(labels).all(axis=-1)
    if not ok.any():
        return skipped(name, "no point of the group has a 2D label")
    tol = _label_tolerance(lm)
    if not (ok & np.isfinite(uv).all(axis=-1)).any():
        # labels exist but no labelled point projects in front of the camera: that is a
        # disagreement, never a 0 px pass
        return measured(
            name,
            float("inf"),
            tol,
            unit="px",
            message="no labelled point projects in front of the camera",
            hint="every labelled landmark is behind the camera: pose inverted, or OpenGL "
            "axes read as OpenCV?",
        )
    err = np.where(ok, np.abs(uv - labels).max(axis=-1), np.nan)
    bad = np.nonzero(err > tol)[0]
    return measured(
        name,
        _nanmax(err),
        tol,
        unit="px",
        message=f"projected world points against the vendor 2D labels: median "
        f"{nanmedian(err):.3g} px",
        hint=(
            f"{len(bad)} of {int(ok.sum())} labels off: "
            + ", ".join(f"{lm.names[i]} ({err[i]:.3g} px)" for i in bad[:NAMES_SHOWN])
            + (" ..." if len(bad) > NAMES_SHOWN else "")
        ),
    )


def _disagreement(
    name: str,
    mismatch: np.ndarray,
    names: tuple[str, ...],
    *,
    message: str,
    hint: str,
    severity: str = "error",
    strict: bool = False,
) -> Check:
    """Count of points whose stored flag disagrees with the projection (0 passes)."""
    return measured(
        name,
        float(mismatch.sum()),
        0.0,
        severity=severity,
        unit="points",
        message=message,
        hint=f"{hint} {_names(names, mismatch)}",
        strict=strict,
    )


def _label_tolerance(lm: Landmarks) -> float:
    """:data:`TOL_PX` plus the rounding of the stored labels, pixels."""
    rounding = lm.pixels_rounding
    return TOL_PX + (float(np.max(rounding)) if rounding is not None else 0.0)


def _nanmax(a: np.ndarray) -> float:
    a = np.asarray(a, float)
    return float(np.nanmax(a)) if np.isfinite(a).any() else 0.0


def _worst(names: tuple[str, ...], err: np.ndarray) -> str:
    if not np.isfinite(err).any():
        return "none"
    i = int(np.nanargmax(err))
    return f"{names[i]} ({err[i]:.3g})"


def _names(names: tuple[str, ...], mask: np.ndarray) -> str:
    idx = np.nonzero(mask)[0]
    return ", ".join(names[i] for i in idx[:NAMES_SHOWN]) + (
        " ..." if len(idx) > NAMES_SHOWN else ""
    )


def _near_edge(uv: np.ndarray, w: int, h: int, lm: Landmarks) -> np.ndarray:
    """Points within label rounding (or 1e-3 px) of the image border: flags may go either way."""
    tol = _label_tolerance(lm)
    u, v = uv[..., 0], uv[..., 1]
    with np.errstate(invalid="ignore"):
        return (
            (np.abs(u) <= tol)
            | (np.abs(u - w) <= tol)
            | (np.abs(v) <= tol)
            | (np.abs(v - h) <= tol)
        )


def _duplicates(lm: Landmarks, group: str = "") -> list[str]:
    """``"a == b"`` for each landmark whose 3D position repeats an earlier one's exactly."""
    pos = lm.camera_space if lm.camera_space is not None else lm.world
    if pos is None or len(pos) < 2:
        return []
    allowed = _COINCIDENT_BY_DEFINITION.get(group, set())
    rows = np.nonzero(np.isfinite(pos).all(axis=-1))[0]
    if len(rows) < 2:
        return []
    p = pos[rows]
    # A stable sort by x, then y, then z: equal positions are adjacent, earliest first.
    order = np.lexsort((p[:, 2], p[:, 1], p[:, 0]))
    s = p[order]
    repeat = np.zeros(len(order), dtype=bool)
    repeat[1:] = (s[1:] == s[:-1]).all(axis=1)
    if not repeat.any():
        return []
    run_start = np.maximum.accumulate(np.where(repeat, 0, np.arange(len(order))))
    firsts = np.empty_like(rows)
    firsts[order] = rows[order[run_start]]
    return [
        f"{lm.names[i]} == {lm.names[j]}"
        for i, j in zip(firsts.tolist(), rows.tolist(), strict=True)
        if i != j and (i, j) not in allowed
    ]

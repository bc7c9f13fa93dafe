"""Checks against the depth map: the depth kind (z or range) and occluded "visible" landmarks.

Both checks sample the depth map at the projected landmarks (background is
NaN, see :meth:`camgeom.datasets.Frame.read_depth`). ``depth.kind`` asks
whether the landmarks on the depth surface fit the declared kind better than
the other one; ``occlusion.visible_behind_depth`` measures the share of
landmarks flagged visible that lie behind the surface.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from camgeom.errors import CamgeomError
from camgeom.verification.report import Check, failure, measured, skipped, verdict
from camgeom.verification.tolerances import (
    DEPTH_KIND_RATIO,
    DEPTH_MIN_SURFACE_LANDMARKS,
    DEPTH_SURFACE_M,
    OCCLUSION_M,
)

if TYPE_CHECKING:
    from camgeom.camera import Camera
    from camgeom.datasets import Frame
    from camgeom.verification.landmarks import Projected

__all__ = ["depth_checks"]

_NAMES = ("occlusion.visible_behind_depth", "depth.kind")


def depth_checks(
    frame: Frame,
    camera: Camera,
    groups: list[Projected],
    *,
    strict: bool,
    occlusion_threshold: float | None,
    use_depth: bool,
) -> list[Check]:
    """Read the frame's depth map and check the landmarks against it.

    Parameters
    ----------
    frame : Frame
    camera : Camera
        ``frame.camera``.
    groups : list of Projected
        From :func:`camgeom.verification.landmarks.projected_groups`.
    strict, occlusion_threshold, use_depth
        As in :func:`camgeom.verification.verify`.

    Returns
    -------
    list of Check
        ``occlusion.visible_behind_depth`` and ``depth.kind``, or their skips
        with the reason; ``depth.readable`` / ``depth.size`` when the depth map
        cannot be used.
    """
    if not use_depth:
        return _skip_all("depth maps not read (use_depth=False)")
    if frame.depth_path is None:
        return _skip_all("the frame has no depth map")
    if frame.depth_kind is None:
        return _skip_all("the frame does not say whether its depth is z or range")
    try:
        depth = frame.read_depth()
    except CamgeomError as exc:
        return [
            failure("depth.readable", str(exc), hint="re-download the file"),
            *_skip_all("the depth map cannot be read"),
        ]
    H, W = depth.shape[:2]
    if (W, H) != (camera.width, camera.height):
        return [
            failure(
                "depth.size",
                f"depth map is {W}x{H}, camera is {camera.width}x{camera.height}",
                hint="the depth file belongs to another camera or resolution",
            ),
            *_skip_all("the depth map does not match the camera's image size"),
        ]
    return _sampled_checks(frame.depth_kind, camera, groups, depth, strict, occlusion_threshold)


def _skip_all(reason: str) -> list[Check]:
    return [skipped(name, reason) for name in _NAMES]


def _sampled_checks(
    depth_kind: str,
    camera: Camera,
    groups: list[Projected],
    depth: np.ndarray,
    strict: bool,
    occlusion_threshold: float | None,
) -> list[Check]:
    vis_behind = vis_total = 0
    z_res: list[np.ndarray] = []
    r_res: list[np.ndarray] = []
    for _, lm, uv, p_cam_all in groups:
        inside = camera.in_image(uv)
        if not inside.any():
            continue
        col = np.floor(uv[inside, 0]).astype(int)
        row = np.floor(uv[inside, 1]).astype(int)
        d = depth[row, col].astype(float)
        p_cam = p_cam_all[inside]
        zl = p_cam[:, 2]
        rl = np.linalg.norm(p_cam, axis=-1)
        ok = np.isfinite(d)
        z_res.append((d - zl)[ok])
        r_res.append((d - rl)[ok])
        if lm.visible is not None:
            far = _farthest_around(depth, row, col)
            vis = lm.visible[inside] & np.isfinite(far)
            own = zl if depth_kind == "z" else rl
            vis_total += int(vis.sum())
            with np.errstate(invalid="ignore"):
                vis_behind += int((vis & (own - far > OCCLUSION_M)).sum())
    return [
        _occlusion_check(vis_behind, vis_total, depth_kind, strict, occlusion_threshold),
        _kind_check(depth_kind, z_res, r_res),
    ]


def _occlusion_check(
    behind: int, total: int, depth_kind: str, strict: bool, threshold: float | None
) -> Check:
    if not total:
        return skipped(_NAMES[0], "no visibility flags to test against the depth map")
    return measured(
        _NAMES[0],
        behind / total,
        threshold if threshold is not None else 0.0,
        severity="error" if threshold is not None else "warning",
        unit="share",
        message=(
            f"{behind} of {total} landmarks flagged visible lie more than "
            f"{OCCLUSION_M * 1000:g} mm behind every {depth_kind}-depth sample of their "
            "3x3 pixels (landmarks on silhouettes left out)"
        ),
        hint="vendor visibility flags ignore occlusion; mask with the depth map before training",
        strict=strict,
    )


def _kind_check(depth_kind: str, z_res: list[np.ndarray], r_res: list[np.ndarray]) -> Check:
    if not z_res:
        return skipped(_NAMES[1], "no landmark projects inside the depth map")
    zr, rr = np.concatenate(z_res), np.concatenate(r_res)
    near = np.minimum(np.abs(zr), np.abs(rr)) < DEPTH_SURFACE_M
    if near.sum() < DEPTH_MIN_SURFACE_LANDMARKS:
        return skipped(
            _NAMES[1], f"fewer than {DEPTH_MIN_SURFACE_LANDMARKS} landmarks on the depth surface"
        )
    mz = float(np.median(np.abs(zr[near])))
    mr = float(np.median(np.abs(rr[near])))
    fits = "z" if mz < mr else "range"
    own, other = (mz, mr) if depth_kind == "z" else (mr, mz)
    ratio = own / max(other, 1e-12)
    return verdict(
        _NAMES[1],
        ratio <= DEPTH_KIND_RATIO,
        message=(
            f"median residual at {int(near.sum())} landmarks: {mz * 1000:.3g} mm as z, "
            f"{mr * 1000:.3g} mm as range; the frame says {depth_kind!r}"
        ),
        hint=f"the depth map fits {fits!r} better than the declared {depth_kind!r}",
        value=ratio,
        tolerance=DEPTH_KIND_RATIO,
        unit="x",
    )


def _farthest_around(depth: np.ndarray, row: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Farthest depth in the 3x3 pixels around each (row, col).

    NaN where any of those pixels is background: at a silhouette a grazing
    landmark cannot be judged from pixel samples. A landmark is called occluded
    only if it lies behind every nearby surface sample, so steep surfaces at low
    resolution do not count.
    """
    h, w = depth.shape[:2]
    best = np.full(row.shape, -np.inf)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            r = np.clip(row + dr, 0, h - 1)
            c = np.clip(col + dc, 0, w - 1)
            best = np.maximum(best, depth[r, c].astype(float))  # NaN propagates
    return best

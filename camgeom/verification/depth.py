"""Checks against the depth map: its scale, its kind (z or range) and occluded "visible" landmarks.

The checks sample the depth map at the projected landmarks (background is
NaN, see :meth:`camgeom.datasets.Frame.read_depth`). ``depth.scale`` compares
the sampled depth with the landmarks' own camera z or range (median ratio, 1
for a map in metres); ``depth.kind`` asks whether the landmarks on the depth
surface fit the declared kind better than the other one (after dividing out a
wrong scale, so that a scaled map is still judged);
``occlusion.visible_behind_depth`` measures the share of landmarks flagged
visible that lie behind the surface.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from camgeom.errors import CamgeomError
from camgeom.verification.report import Check, failure, measured, skipped, verdict
from camgeom.verification.tolerances import (
    DEPTH_KIND_RATIO,
    DEPTH_MIN_SCALE_LANDMARKS,
    DEPTH_MIN_SURFACE_LANDMARKS,
    DEPTH_SCALE_TOL,
    DEPTH_SURFACE_M,
    OCCLUSION_M,
)

if TYPE_CHECKING:
    from camgeom.camera import Camera
    from camgeom.datasets import Frame
    from camgeom.verification.landmarks import Projected

__all__ = ["depth_checks"]

_NAMES = ("occlusion.visible_behind_depth", "depth.kind", "depth.scale")

_KNOWN_SCALES = (
    (1000.0, "the depth is in millimetres; divide it by 1000"),
    (100.0, "the depth is in centimetres; divide it by 100"),
    (
        5.0,
        "a Synthesis AI face set from early 2021 stores 5x the range; divide its depth by 5",
    ),
    (0.001, "the depth is in kilometres, or was divided by 1000 twice"),
)
"""Depth-to-metres ratios with a known cause, matched to 2 %."""


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
        ``occlusion.visible_behind_depth``, ``depth.kind`` and ``depth.scale``, or their skips
        with the reason; ``depth.readable`` / ``depth.size`` when the depth map
        cannot be used.
    """
    if not use_depth:
        return _skip_all("depth maps not read (use_depth=False)")
    if frame.depth_path is None:
        return _skip_all("the frame has no depth map")
    if frame.depth_kind is None:
        return _skip_all("the frame does not say whether its depth is z or range")
    from camgeom.io import read_depth

    try:
        # Read as Frame.read_depth does, without its size check: a map of another
        # size is reported as depth.size below.
        path = frame._need(frame.depth_path, "depth")
        depth = read_depth(path, channel=frame.depth_channel, background="nan")
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
    sampled: list[np.ndarray] = []  # (d, z, range) of landmarks on the depth surface
    scale_parts: list[tuple[str, np.ndarray]] = []  # per group: d / own
    for group, lm, uv, p_cam_all in groups:
        inside = camera.in_image(uv)
        if not inside.any():
            continue
        col = np.floor(uv[inside, 0]).astype(int)
        row = np.floor(uv[inside, 1]).astype(int)
        d = depth[row, col].astype(float)
        p_cam = p_cam_all[inside]
        zl = p_cam[:, 2]
        rl = np.linalg.norm(p_cam, axis=-1)
        own = zl if depth_kind == "z" else rl
        ok = np.isfinite(d)
        sampled.append(np.stack([d[ok], zl[ok], rl[ok]], axis=-1))
        far = _farthest_around(depth, row, col)
        # Scale evidence: landmarks inside the surface (not on a silhouette), in
        # front of the camera, and flagged visible where the group has flags.
        keep = np.isfinite(far) & (own > 0)
        if lm.visible is not None:
            keep &= lm.visible[inside]
        if keep.any():
            scale_parts.append((group, d[keep] / own[keep]))
        if lm.visible is not None:
            vis = lm.visible[inside] & np.isfinite(far)
            vis_total += int(vis.sum())
            with np.errstate(invalid="ignore"):
                vis_behind += int((vis & (own - far > OCCLUSION_M)).sum())
    scale_check, scale = _scale_check(depth_kind, scale_parts)
    return [
        _occlusion_check(vis_behind, vis_total, depth_kind, strict, occlusion_threshold),
        _kind_check(depth_kind, sampled, scale),
        scale_check,
    ]


def _scale_check(depth_kind: str, parts: list[tuple[str, np.ndarray]]) -> tuple[Check, float]:
    """``depth.scale`` and the median ratio (1.0 when it passes or cannot be measured)."""
    ratios = np.concatenate([r for _, r in parts]) if parts else np.empty(0)
    if ratios.size < DEPTH_MIN_SCALE_LANDMARKS:
        return (
            skipped(
                _NAMES[2],
                f"fewer than {DEPTH_MIN_SCALE_LANDMARKS} visible landmarks inside the depth "
                "surface",
            ),
            1.0,
        )
    ratio = float(np.median(ratios))
    off = abs(ratio - 1.0)
    ok = off <= DEPTH_SCALE_TOL
    # The densest group (a face mesh) alone, when there is one beside others.
    dense_name, dense = max(parts, key=lambda p: p[1].size)
    mesh = ""
    if len(parts) > 1 and dense.size >= 100:
        mesh = f"; {float(np.median(dense)):.4g} over the {dense.size} points of {dense_name!r}"
    message = (
        f"median depth / landmark {'camera z' if depth_kind == 'z' else 'range'} is "
        f"{ratio:.4g} over {ratios.size} landmarks{mesh} (1 for a depth map in metres)"
    )
    check = verdict(
        _NAMES[2],
        ok,
        message=message,
        hint=_scale_hint(ratio),
        value=off,
        tolerance=DEPTH_SCALE_TOL,
        unit="",
    )
    return check, (1.0 if ok or not ratio > 0 else ratio)


def _scale_hint(ratio: float) -> str:
    for known, cause in _KNOWN_SCALES:
        if abs(ratio / known - 1.0) <= 0.02:
            return f"the depth map is {ratio:.4g}x the landmarks' distance: {cause}"
    return (
        f"the depth map is {ratio:.4g}x the landmarks' distance: check its unit, a "
        "normalisation by the renderer's near/far range, or whether it belongs to this frame"
    )


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


def _kind_check(depth_kind: str, sampled: list[np.ndarray], scale: float) -> Check:
    if not sampled:
        return skipped(_NAMES[1], "no landmark projects inside the depth map")
    dzr = np.concatenate(sampled)
    # A wrong scale (``depth.scale`` fails) is divided out so that the kind is still judged.
    d = dzr[:, 0] / scale
    zr, rr = d - dzr[:, 1], d - dzr[:, 2]
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
    scaled = "" if scale == 1.0 else f" (depth divided by {scale:.4g}, see depth.scale)"
    return verdict(
        _NAMES[1],
        ratio <= DEPTH_KIND_RATIO,
        message=(
            f"median residual at {int(near.sum())} landmarks{scaled}: {mz * 1000:.3g} mm as z, "
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

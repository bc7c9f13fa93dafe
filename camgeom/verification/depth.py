"""Checks against the depth map: its scale, its kind (z or range) and occluded "visible" landmarks.

The checks sample the depth map at the projected landmarks (background is
NaN, see :meth:`camgeom.datasets.Frame.read_depth`). ``depth.scale`` compares
the sampled depth with the landmarks' own camera z or range (median ratio, 1
for a map in metres); ``depth.kind`` asks whether the landmarks on the depth
surface fit the declared kind better than the other one (after dividing out a
wrong scale, so that a scaled map is still judged);
``occlusion.visible_behind_depth`` measures the share of landmarks flagged
visible that lie behind the surface.

Where the landmarks cannot tell z from range (at a narrow field of view the two
differ by ``z (sqrt(1 + x^2 + y^2) - 1)``, under a millimetre at a face near the
optical axis), ``depth.kind_normals`` asks the frame's normal map instead: read
as the wrong kind, the depth surface tilts by about the ray's angle to the
optical axis (a first-order effect, degrees where the landmarks see
millimetres), so the surface normals of the declared kind must fit the normal
map better than those of the other kind.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from camgeom.errors import CamgeomError
from camgeom.verification._stats import median
from camgeom.verification.report import Check, failure, measured, skipped, verdict
from camgeom.verification.tolerances import (
    DEPTH_KIND_RATIO,
    DEPTH_MIN_SCALE_LANDMARKS,
    DEPTH_MIN_SURFACE_LANDMARKS,
    DEPTH_SCALE_TOL,
    DEPTH_SURFACE_M,
    NORMALS_AGREE_RAD,
    NORMALS_EDGE_RAD,
    NORMALS_MAX_SAMPLES,
    NORMALS_MIN_PIXELS,
    OCCLUSION_M,
)

if TYPE_CHECKING:
    from camgeom.camera import Camera
    from camgeom.datasets import Frame
    from camgeom.verification.landmarks import Projected

__all__ = ["DepthMaps", "depth_checks"]

_NAMES = ("occlusion.visible_behind_depth", "depth.kind", "depth.scale", "depth.kind_normals")

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


class _Shared:
    """What the copies of one frame's :class:`DepthMaps` share: the normal map, the stored precision."""

    def __init__(self) -> None:
        self.normals: np.ndarray | CamgeomError | None = None
        self.half_float: str | None = None
        self.precision_known = False


class DepthMaps:
    """A frame's depth map (and normal map), each read at most once.

    :func:`depth_checks` reads through it; the diagnosis
    (:mod:`camgeom.verification.diagnosis`) keeps it to test hypotheses on the
    arrays in memory (:meth:`with_depth`) instead of reading the files again.

    Parameters
    ----------
    frame : Frame
    """

    def __init__(self, frame: Frame) -> None:
        self.frame = frame
        self._depth: np.ndarray | CamgeomError | None = None
        self._shared = _Shared()

    def depth(self) -> np.ndarray:
        """float32 (H, W) depth as stored, background NaN; raises :class:`CamgeomError`.

        Read as :meth:`Frame.read_depth` does, without its size check: a map of
        another size is reported as ``depth.size``.
        """
        if self._depth is None:
            from camgeom.io import read_depth

            frame = self.frame
            try:
                path = frame._need(frame.depth_path, "depth")
                self._depth = read_depth(path, channel=frame.depth_channel, background="nan")
            except CamgeomError as exc:
                self._depth = exc
        if isinstance(self._depth, CamgeomError):
            raise self._depth
        return self._depth

    def shape(self) -> tuple[int, ...] | None:
        """(H, W) of the depth map if it was read (no file is read here), else None."""
        return self._depth.shape[:2] if isinstance(self._depth, np.ndarray) else None

    def normals(self) -> np.ndarray:
        """float32 (H, W, 3) OpenCV normals (:meth:`Frame.read_normals`); raises :class:`CamgeomError`."""
        shared = self._shared
        if shared.normals is None:
            try:
                shared.normals = self.frame.read_normals()
            except CamgeomError as exc:
                shared.normals = exc
        if isinstance(shared.normals, CamgeomError):
            raise shared.normals
        return shared.normals

    def half_float(self, K: np.ndarray) -> str | None:
        """Why the stored depth (before any hypothesis rescaled it) is too coarse for normals, or None."""
        shared = self._shared
        if not shared.precision_known:
            shared.half_float = _half_float_steps(self.depth(), K)
            shared.precision_known = True
        return shared.half_float

    def with_depth(self, frame: Frame, depth: np.ndarray) -> DepthMaps:
        """These maps for ``frame`` (a corrected copy) with another depth array.

        The copy shares the normal map and the stored depth's precision: both
        are read or measured once.
        """
        if not self._shared.precision_known and frame.camera is not None:
            self.half_float(frame.camera.K)
        other = DepthMaps(frame)
        other._depth = depth
        other._shared = self._shared
        return other


def depth_checks(
    frame: Frame,
    camera: Camera,
    groups: list[Projected],
    *,
    strict: bool,
    occlusion_threshold: float | None,
    use_depth: bool,
    maps: DepthMaps | None = None,
    normals: str = "auto",
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
    maps : DepthMaps, optional
        Where to read the depth and normal maps (default: the frame's files,
        read here).
    normals : {"auto", "never", "always"}
        ``depth.kind_normals``: where the landmarks cannot decide (``"auto"``),
        not at all, or whenever the maps allow (as the diagnosis re-runs it
        where it ran on the frame itself, to compare like with like).

    Returns
    -------
    list of Check
        ``occlusion.visible_behind_depth``, ``depth.kind``, ``depth.scale`` and
        ``depth.kind_normals``, or their skips with the reason;
        ``depth.readable`` / ``depth.size`` when the depth map cannot be used.
    """
    if not use_depth:
        return _skip_all("depth maps not read (use_depth=False)")
    if frame.depth_path is None:
        return _skip_all("the frame has no depth map")
    if frame.depth_kind is None:
        return _skip_all("the frame does not say whether its depth is z or range")
    maps = maps if maps is not None else DepthMaps(frame)
    try:
        depth = maps.depth()
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
    checks = _sampled_checks(frame.depth_kind, camera, groups, depth, strict, occlusion_threshold)
    kind = checks[1]
    if normals == "never":
        normal_check = skipped(_NAMES[3], "not asked for")
    elif (
        normals == "auto"
        and kind.status == "pass"
        and kind.value is not None
        and kind.value <= 1 / DEPTH_KIND_RATIO
    ):
        normal_check = skipped(
            _NAMES[3],
            f"the landmarks decide: their residual as {frame.depth_kind!r} is "
            f"{kind.value:.3g}x the other kind's (see depth.kind)",
        )
    elif normals == "auto" and kind.failed:
        normal_check = skipped(_NAMES[3], "the landmarks decide: depth.kind fails")
    elif frame.normals_path is None:
        normal_check = skipped(
            _NAMES[3],
            "no normal map, and the landmarks cannot tell z from range (see depth.kind)",
        )
    elif normals == "auto" and kind.skipped and groups:
        normal_check = skipped(
            _NAMES[3],
            "the landmarks miss the depth surface (see depth.kind): the camera is in question",
        )
    elif (coarse := maps.half_float(camera.K)) is not None:
        normal_check = skipped(_NAMES[3], coarse)
    else:
        try:
            normal_map = maps.normals()
        except CamgeomError as exc:
            normal_check = skipped(_NAMES[3], f"the normal map cannot be read: {exc}")
        else:
            normal_check = normals_kind_check(frame.depth_kind, camera.K, depth, normal_map)
    return [*checks, normal_check]


def _half_float_steps(depth: np.ndarray, K: np.ndarray) -> str | None:
    """Why half-float depth cannot show the z/range tilt, or None for finer depth."""
    sample = depth[:: max(1, depth.shape[0] // 64), :: max(1, depth.shape[1] // 64)]
    sample = sample[np.isfinite(sample)]
    if not sample.size:
        return None
    with np.errstate(over="ignore"):
        if not np.array_equal(sample.astype(np.float16).astype(sample.dtype), sample):
            return None
    typical = median(sample)
    step = float(np.spacing(np.float16(typical)))
    footprint = typical / float(K[0, 0])
    h, w = depth.shape[:2]
    corner = np.linalg.inv(K) @ np.array([0.0, 0.0, 1.0])
    corner_far = np.linalg.inv(K) @ np.array([float(w), float(h), 1.0])
    ray_angle = max(
        math.atan(math.hypot(float(c[0]), float(c[1])) / float(c[2])) for c in (corner, corner_far)
    )
    return (
        f"the depth map holds half floats: steps of {step * 1000:.2g} mm at {typical:.3g} m "
        f"against pixels {footprint * 1000:.2g} mm wide, so its finite-difference normals are "
        "terraced (11-18 deg off the vendors' normal maps where measured), while z and range "
        f"tilt them apart by at most {math.degrees(ray_angle):.2g} deg (the ray's angle to the "
        "optical axis at the image corner)"
    )


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
    ratio = median(ratios)
    off = abs(ratio - 1.0)
    ok = off <= DEPTH_SCALE_TOL
    # The densest group (a face mesh) alone, when there is one beside others.
    dense_name, dense = max(parts, key=lambda p: p[1].size)
    mesh = ""
    if len(parts) > 1 and dense.size >= 100:
        mesh = f"; {median(dense):.4g} over the {dense.size} points of {dense_name!r}"
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
    mz = median(np.abs(zr[near]))
    mr = median(np.abs(rr[near]))
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
    r = np.clip(row[:, None] + _AROUND, 0, h - 1)  # (n, 3)
    c = np.clip(col[:, None] + _AROUND, 0, w - 1)
    around = depth[r[:, :, None], c[:, None, :]].reshape(len(row), 9)
    return around.max(axis=1, initial=-np.inf).astype(float)  # NaN propagates


_AROUND = np.array([-1, 0, 1])


def normals_kind_check(
    depth_kind: str, K: np.ndarray, depth: np.ndarray, normal_map: np.ndarray
) -> Check:
    """``depth.kind_normals``: surface normals of the depth map, as z and as range, against the normal map.

    Parameters
    ----------
    depth_kind : {"z", "range"}
        The declared kind.
    K : ndarray, shape (3, 3)
        Intrinsics of the depth map's pixels (centres at +0.5).
    depth : ndarray, shape (H, W)
        Depth in any unit (a scale does not change normals), background NaN.
    normal_map : ndarray, shape (H, W, 3)
        Normals in the OpenCV camera frame, NaN where there is no surface.

    Returns
    -------
    Check
        Fails when the declared kind's median angle to the normal map exceeds
        :data:`~camgeom.verification.tolerances.DEPTH_KIND_RATIO` times the
        other kind's; skipped when the depth-derived normals do not follow the
        normal map closely enough (:data:`~camgeom.verification.tolerances.NORMALS_AGREE_RAD`)
        for the tilt between the kinds to show, e.g. half-float depth whose
        quantisation steps dominate the finite differences.
    """
    name = _NAMES[3]
    h, w = depth.shape[:2]
    if h < 3 or w < 3 or normal_map.shape[:2] != (h, w):
        return skipped(name, "the depth and normal maps are too small or differ in size")
    s = max(1, math.ceil(math.sqrt((h - 2) * (w - 2) / NORMALS_MAX_SAMPLES)))
    # centre pixels on a grid of step s, and their four neighbours at one pixel
    mid_r, mid_c = slice(1, h - 1, s), slice(1, w - 1, s)
    window = {
        "c": (mid_r, mid_c),
        "r": (mid_r, slice(2, w, s)),
        "l": (mid_r, slice(0, w - 2, s)),
        "d": (slice(2, h, s), mid_c),
        "u": (slice(0, h - 2, s), mid_c),
    }
    K_inv = np.linalg.inv(K)
    u = np.arange(w, dtype=np.float64) + 0.5
    v = np.arange(h, dtype=np.float64) + 0.5

    def ray(rows: slice, cols: slice) -> tuple[np.ndarray, ...]:
        uu, vv = u[cols][None, :], v[rows][:, None]
        return tuple(K_inv[i, 0] * uu + K_inv[i, 1] * vv + K_inv[i, 2] for i in range(3))

    rays = {k: ray(*win) for k, win in window.items()}
    d = {k: depth[win].astype(np.float64) for k, win in window.items()}
    m = [normal_map[window["c"]][..., i].astype(np.float64) for i in range(3)]
    m_len = np.sqrt(m[0] ** 2 + m[1] ** 2 + m[2] ** 2)
    cos: dict[str, np.ndarray] = {}
    unit: dict[str, tuple[np.ndarray, ...]] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for kind in ("z", "range"):
            p = {}
            for k, (x, y, z) in rays.items():
                scale = d[k] if kind == "z" else d[k] / np.sqrt(x * x + y * y + z * z)
                p[k] = (x * scale, y * scale, z * scale)
            a = [p["r"][i] - p["l"][i] for i in range(3)]
            b = [p["d"][i] - p["u"][i] for i in range(3)]
            n = (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])
            facing = n[0] * p["c"][0] + n[1] * p["c"][1] + n[2] * p["c"][2]
            length = np.sqrt(n[0] ** 2 + n[1] ** 2 + n[2] ** 2) * -np.sign(facing)
            unit[kind] = tuple(c / length for c in n)  # facing the camera
            cos[kind] = (unit[kind][0] * m[0] + unit[kind][1] * m[1] + unit[kind][2] * m[2]) / m_len
        cos_tilt = sum(unit["z"][i] * unit["range"][i] for i in range(3))
        # off silhouettes and depth steps, where finite differences mean nothing
        edge = math.cos(NORMALS_EDGE_RAD)
        ok = (cos["z"] > edge) & (cos["range"] > edge)
    ang = {k: np.arccos(np.clip(c[ok], -1.0, 1.0)) for k, c in cos.items()}
    tilt = np.arccos(np.clip(np.asarray(cos_tilt)[ok], -1.0, 1.0))
    if int(ok.sum()) < NORMALS_MIN_PIXELS:
        return skipped(
            name, f"fewer than {NORMALS_MIN_PIXELS} pixels where the depth and normal maps agree"
        )
    mz, mr = median(ang["z"]), median(ang["range"])
    t = median(tilt)
    deg = math.degrees
    if min(mz, mr) > NORMALS_AGREE_RAD:
        return skipped(
            name,
            f"the depth map's normals follow the normal map only to {deg(min(mz, mr)):.2g} deg "
            f"(median, best kind; {deg(NORMALS_AGREE_RAD):g} deg needed) while z and range "
            f"tilt them apart by {deg(t):.2g} deg (median over {int(ok.sum())} pixels): the "
            "difference cannot be resolved",
        )
    own, other = (mz, mr) if depth_kind == "z" else (mr, mz)
    fits_kind = "z" if mz < mr else "range"
    ratio = own / max(other, 1e-12)
    return verdict(
        name,
        ratio <= DEPTH_KIND_RATIO,
        message=(
            f"median angle between the normal map and the depth map's normals at "
            f"{int(ok.sum())} pixels: {deg(mz):.3g} deg as z, {deg(mr):.3g} deg as range "
            f"(the kinds differ by {deg(t):.2g} deg); the frame says {depth_kind!r}"
        ),
        hint=f"the depth map fits {fits_kind!r} better than the declared {depth_kind!r}",
        value=ratio,
        tolerance=DEPTH_KIND_RATIO,
        unit="x",
    )

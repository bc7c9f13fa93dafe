"""Check a frame's camera metadata against itself and against its pixels.

:func:`verify` runs named checks on one :class:`~camgeom.datasets.Frame` and
returns a :class:`Report`; :func:`verify_dataset` aggregates over a dataset.
Each :class:`Check` carries the measured value, the tolerance, a status and a
hint on how to read or fix it.

Severities
----------
``error``
    The data contradict themselves (K against its own FOV, stored extrinsics
    against the camera's location and orientation, duplicated landmarks, labels
    that the projection does not reproduce). A failing error check fails
    verification.
``warning``
    Suspicious but common (vendor visibility flags ignore occlusion). Fails only
    with ``strict=True``, or for the occlusion share above a threshold you set.
``info``
    A documented layout quirk of the format that the reader handled (Datagen's
    row/column swap, Synthesis AI's xyzw quaternion under a wxyz name, the room
    format's transposed matrices). Never fails.

Known vendor defects (``docs/conventions.md``) come out as failures with clear
names, not hidden.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from camgeom.errors import CamgeomError, InvalidValueError
from camgeom.intrinsics import fov_from_intrinsics
from camgeom.poses import (
    cam_from_world_look_at,
    rotation_from_euler,
    rotation_from_quaternion,
    transform_points,
)

if TYPE_CHECKING:
    from camgeom.datasets import Dataset, Frame, Landmarks

__all__ = ["Check", "DatasetReport", "Report", "verify", "verify_dataset"]

STATUSES = ("pass", "fail", "warn", "info", "skip")
SEVERITIES = ("error", "warning", "info")

# Tolerances. Vendors store float32 values: ~1e-7 relative.
TOL_REL_FOCAL = 1e-4  # fx against focal length / sensor / width
TOL_FOV_RAD = 1e-4  # FOV implied by K against the stated FOV
TOL_PRINCIPAL_PX = 0.01  # principal point against W/2 - shift
TOL_SQUARE = 1e-4  # |fx - fy| / fx
TOL_ROT = 1e-4  # rotation matrix elements
TOL_M = 1e-4  # metres (translations, camera-space points)
TOL_INVERSE = 1e-5  # |cam_from_world @ world_from_cam - I|
TOL_PX = 1e-3  # projection against unrounded labels, pixels
OCCLUSION_M = 0.005  # behind the depth surface by more than this: occluded
DEPTH_SURFACE_M = 0.02  # landmarks this close to the depth surface decide its kind
DEPTH_KIND_RATIO = 2.0  # declared kind's residual may be at most this times the other's


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


@dataclass(frozen=True)
class Check:
    """One named check and its outcome.

    Attributes
    ----------
    name : str
        Dotted name, e.g. ``"landmarks.reprojection.ibug68"``.
    status : {"pass", "fail", "warn", "info", "skip"}
    severity : {"error", "warning", "info"}
    value : float or None
        The measured value (see ``unit``).
    tolerance : float or None
        The largest value that passes.
    unit : str
    message : str
        What was measured, in words.
    hint : str
        How to read or fix a failure.
    """

    name: str
    status: str
    severity: str
    value: float | None = None
    tolerance: float | None = None
    unit: str = ""
    message: str = ""
    hint: str = ""

    @property
    def failed(self) -> bool:
        """True when the check fails verification."""
        return self.status == "fail"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        d = asdict(self)
        for k in ("value", "tolerance"):
            v = d[k]
            if v is not None and not math.isfinite(v):
                d[k] = None if math.isnan(v) else ("inf" if v > 0 else "-inf")
        return d


def _measured(
    name: str,
    value: float,
    tolerance: float,
    *,
    severity: str = "error",
    unit: str = "",
    message: str = "",
    hint: str = "",
    strict: bool = False,
) -> Check:
    ok = bool(value <= tolerance)
    if ok:
        status = "pass"
    elif severity == "error" or (severity == "warning" and strict):
        status = "fail"
    elif severity == "warning":
        status = "warn"
    else:
        status = "info"
    return Check(
        name,
        status,
        severity,
        float(value),
        float(tolerance),
        unit,
        message,
        hint if not ok else "",
    )


def _info(name: str, message: str, hint: str = "") -> Check:
    return Check(name, "info", "info", message=message, hint=hint)


def _skip(name: str, message: str) -> Check:
    return Check(name, "skip", "info", message=message)


@dataclass(frozen=True)
class Report:
    """The checks of one frame.

    Attributes
    ----------
    frame_id, vendor : str
    version : str or None
    checks : tuple of Check
    """

    frame_id: str
    vendor: str
    version: str | None
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        """True when no check failed."""
        return not any(c.failed for c in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        """The failing checks."""
        return tuple(c for c in self.checks if c.failed)

    @property
    def warnings(self) -> tuple[Check, ...]:
        """The checks with status ``warn``."""
        return tuple(c for c in self.checks if c.status == "warn")

    def __getitem__(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"no check named {name!r}; checks: {', '.join(c.name for c in self.checks)}")

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {
            "frame_id": self.frame_id,
            "vendor": self.vendor,
            "version": self.version,
            "passed": self.passed,
            "checks": [c.to_dict() for c in self.checks],
        }

    def to_json(self, **kwargs: Any) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_dict(), **({"indent": 2} | kwargs))

    def __str__(self) -> str:
        head = f"{self.frame_id} ({self.vendor} {self.version or 'unversioned'}): " + (
            "PASS" if self.passed else f"FAIL ({len(self.failures)} failing)"
        )
        return head + "\n" + _table(self.checks)


def _fmt(v: float | None) -> str:
    if v is None:
        return ""
    if v == 0:
        return "0"
    return f"{v:.3g}"


def _table(checks: Iterable[Check]) -> str:
    rows = [("check", "status", "value", "tolerance", "note")]
    for c in checks:
        note = c.hint or c.message
        value = _fmt(c.value) + (f" {c.unit}" if c.unit and c.value is not None else "")
        rows.append((c.name, c.status.upper(), value, _fmt(c.tolerance), note))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for r in rows:
        lines.append("  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4])
    lines.insert(1, "  ".join("-" * w for w in widths) + "  ----")
    return "\n".join(lines)


@dataclass(frozen=True)
class DatasetReport:
    """Reports of many frames, with unreadable frames listed apart.

    Attributes
    ----------
    reports : tuple of Report
    unreadable : tuple of (frame_id, message)
        Frames whose files could not be read.
    """

    reports: tuple[Report, ...]
    unreadable: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        """True when every frame was read and passed."""
        return not self.unreadable and all(r.passed for r in self.reports)

    def summary(self) -> list[dict[str, Any]]:
        """Per check name: counts of each status and the worst value."""
        by: dict[str, dict[str, Any]] = {}
        for r in self.reports:
            for c in r.checks:
                s = by.setdefault(
                    c.name,
                    {
                        "check": c.name,
                        "worst": None,
                        "tolerance": c.tolerance,
                        "unit": c.unit,
                        "hint": "",
                    }
                    | {k: 0 for k in STATUSES},
                )
                s[c.status] += 1
                if c.value is not None and (s["worst"] is None or c.value > s["worst"]):
                    s["worst"] = c.value
                if c.failed and not s["hint"]:
                    s["hint"] = c.hint or c.message
        return list(by.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary: summary, per-frame reports and unreadable frames."""
        summ = self.summary()
        for s in summ:
            if s["worst"] is not None and not math.isfinite(s["worst"]):
                s["worst"] = None
        return {
            "passed": self.passed,
            "frames": len(self.reports),
            "failed_frames": sum(not r.passed for r in self.reports),
            "unreadable": [{"frame_id": f, "message": m} for f, m in self.unreadable],
            "summary": summ,
            "reports": [r.to_dict() for r in self.reports],
        }

    def to_json(self, **kwargs: Any) -> str:
        """The dataset report as JSON text."""
        return json.dumps(self.to_dict(), **({"indent": 2} | kwargs))

    def __str__(self) -> str:
        n_fail = sum(not r.passed for r in self.reports)
        head = (
            f"{len(self.reports)} frames verified, {n_fail} failing, {len(self.unreadable)} unreadable: "
            + ("PASS" if self.passed else "FAIL")
        )
        rows = [("check", "pass", "fail", "warn", "info", "skip", "worst", "tolerance", "note")]
        for s in self.summary():
            worst = _fmt(s["worst"]) + (
                f" {s['unit']}" if s["unit"] and s["worst"] is not None else ""
            )
            rows.append(
                (s["check"], *(str(s[k]) for k in STATUSES), worst, _fmt(s["tolerance"]), s["hint"])
            )
        widths = [max(len(r[i]) for r in rows) for i in range(8)]
        lines = [head, ""]
        for i, r in enumerate(rows):
            lines.append("  ".join(r[j].ljust(widths[j]) for j in range(8)) + "  " + r[8])
            if i == 0:
                lines.append("  ".join("-" * w for w in widths) + "  ----")
        for fid, msg in self.unreadable:
            lines.append(f"UNREADABLE {fid}: {msg}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------- checks


def verify(
    frame: Frame,
    *,
    strict: bool = False,
    occlusion_threshold: float | None = None,
    use_depth: bool = True,
) -> Report:
    """Run every applicable check on one frame.

    Parameters
    ----------
    frame : Frame
        A frame from :func:`camgeom.load`.
    strict : bool
        Turn warnings into failures.
    occlusion_threshold : float, optional
        Fail the occlusion check when the share of "visible" landmarks lying
        more than 5 mm behind the depth surface exceeds this (0..1). By default
        the occlusion share is only a warning, since vendor visibility flags
        ignore occlusion.
    use_depth : bool
        Read the depth map for the occlusion and depth-semantics checks.

    Returns
    -------
    Report

    Examples
    --------
    >>> import camgeom, tempfile
    >>> from camgeom.demo import make_demo_dataset
    >>> out = make_demo_dataset(tempfile.mkdtemp() + "/demo")
    >>> report = verify(camgeom.load(out.synthesisai)[0])
    >>> report.passed
    True
    """
    if occlusion_threshold is not None and not 0 <= occlusion_threshold <= 1:
        raise InvalidValueError(
            f"Expected `occlusion_threshold` in [0, 1], got {occlusion_threshold!r}."
        )
    checks: list[Check] = [_info("format.quirk", note) for note in frame.notes]
    if frame.camera is None:
        checks.append(
            _skip("camera", "the frame has no camera (e.g. FaceSynthetics): nothing to verify")
        )
        return Report(frame.frame_id, frame.vendor, frame.version, tuple(checks))
    checks += _intrinsics_checks(frame, strict)
    checks += _pose_checks(frame)
    groups = _projected_groups(frame)
    checks += _landmark_checks(frame, groups, strict)
    if use_depth and frame.depth_path is not None and frame.depth_kind is not None:
        try:
            depth = frame.read_depth()
        except CamgeomError as exc:
            checks.append(
                Check(
                    "depth.readable", "fail", "error", message=str(exc), hint="re-download the file"
                )
            )
        else:
            checks += _depth_checks(frame, groups, depth, strict, occlusion_threshold)
    return Report(frame.frame_id, frame.vendor, frame.version, tuple(checks))


def _intrinsics_checks(frame: Frame, strict: bool) -> list[Check]:
    cam = frame.camera
    assert cam is not None
    meta = frame.metadata
    K = meta.stored_K if meta.stored_K is not None else cam.K
    W, H = cam.width, cam.height
    out: list[Check] = []
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    inside = 0 <= cx <= W and 0 <= cy <= H
    out.append(
        Check(
            "intrinsics.principal_point_inside",
            "pass" if inside else "fail",
            "error",
            message=f"cx={cx:.6g}, cy={cy:.6g} in a {W}x{H} image",
            hint=""
            if inside
            else "K is for another resolution or crop: see camgeom.intrinsics.scale_intrinsics",
        )
    )
    sx = meta.shift_x or 0.0
    sy = meta.shift_y or 0.0
    err_pp = max(abs(cx - (W / 2 - sx * W)), abs(cy - (H / 2 + sy * H)))
    out.append(
        _measured(
            "intrinsics.principal_point",
            err_pp,
            TOL_PRINCIPAL_PX,
            unit="px",
            message=f"(cx, cy) against (W/2 - shift_x*W, H/2 + shift_y*H) with shift ({sx:g}, {sy:g})",
            hint="principal point does not follow the image size and lens shift",
        )
    )
    square_expected = not any("room format" in n for n in frame.notes)
    rel = abs(fx - fy) / fx
    out.append(
        _measured(
            "intrinsics.square_pixels",
            rel,
            TOL_SQUARE,
            severity="error" if square_expected else "info",
            message=f"|fx - fy| / fx with fx={fx:.6g}, fy={fy:.6g}",
            hint=(
                "fy != fx where the format promises square pixels; if fy = fx*W/H the stored K "
                "mixes up the width and height (rebuild K from the horizontal FOV)"
            ),
        )
    )
    if meta.stored_K is not None and not np.allclose(meta.stored_K, cam.K, rtol=1e-6, atol=1e-6):
        d = float(np.abs(meta.stored_K - cam.K).max())
        out.append(
            _measured(
                "intrinsics.stored_K_vs_camera",
                d,
                1e-6,
                message="the stored intrinsic_matrix differs from the K the reader derived from the FOV",
                hint="the stored K is inconsistent with the stated FOV/resolution; camgeom uses the derived K",
            )
        )
    if meta.focal_length_mm and meta.sensor_width_mm:
        fx_lens = meta.focal_length_mm / meta.sensor_width_mm * W
        out.append(
            _measured(
                "intrinsics.K_vs_focal_length",
                abs(fx - fx_lens) / fx_lens,
                TOL_REL_FOCAL,
                message=f"fx={fx:.6g} against focal/sensor*W = {fx_lens:.6g} (relative)",
                hint="K does not follow focal_length_mm / sensor_width_mm * width",
            )
        )
    if meta.fov_x is not None or meta.fov_y is not None:
        kx, ky = fov_from_intrinsics(K, W, H)
        errs = []
        if meta.fov_x is not None:
            errs.append(abs(float(kx) - meta.fov_x))
        if meta.fov_y is not None:
            errs.append(abs(float(ky) - meta.fov_y))
        out.append(
            _measured(
                "intrinsics.K_vs_fov",
                max(errs),
                TOL_FOV_RAD,
                unit="rad",
                message="field of view implied by K against the stated FOV",
                hint="K and the stated field of view disagree",
            )
        )
    if meta.focal_length_mm and meta.sensor_width_mm and meta.fov_x is not None:
        lens_fov = 2 * math.atan(meta.sensor_width_mm / 2 / meta.focal_length_mm)
        out.append(
            _measured(
                "intrinsics.focal_length_vs_fov",
                abs(lens_fov - meta.fov_x),
                TOL_FOV_RAD,
                unit="rad",
                message=(
                    f"2 atan(sensor/2f) = {lens_fov:.6g} rad from focal {meta.focal_length_mm:g} mm, "
                    f"sensor {meta.sensor_width_mm:g} mm, against stated fov_x {meta.fov_x:.6g} rad"
                ),
                hint="the stated focal length contradicts the stated field of view; trust the FOV/K",
            )
        )
    return out


def _pose_checks(frame: Frame) -> list[Check]:
    cam = frame.camera
    assert cam is not None
    meta = frame.metadata
    out: list[Check] = []
    c2w, w2c = meta.stored_cam_from_world, meta.stored_world_from_cam
    for name, m in (("cam_from_world", c2w), ("world_from_cam", w2c)):
        if m is None:
            continue
        r = m[:3, :3]
        err = max(
            float(np.abs(r.T @ r - np.eye(3)).max()),
            float(np.abs(m[3] - [0, 0, 0, 1]).max()),
            0.0 if np.linalg.det(r) > 0 else 2.0,
        )
        out.append(
            _measured(
                f"pose.rigid.{name}",
                err,
                TOL_ROT,
                message="stored matrix: orthonormal rotation, det +1, last row 0 0 0 1",
                hint="the stored matrix is not a rigid transform (scale, shear or reflection)",
            )
        )
    if c2w is not None and w2c is not None:
        out.append(
            _measured(
                "pose.inverse_pair",
                float(np.abs(c2w @ w2c - np.eye(4)).max()),
                TOL_INVERSE,
                message="stored world-to-camera @ camera-to-world against the identity",
                hint="the two stored transforms are not inverses of each other",
            )
        )
    if (
        meta.location is not None
        and meta.look_at is not None
        and meta.up is not None
        and c2w is not None
    ):
        try:
            expect = cam_from_world_look_at(meta.location, look_at=meta.look_at, up=meta.up)
        except CamgeomError as exc:
            out.append(Check("extrinsics.stored_vs_location", "fail", "error", message=str(exc)))
        else:
            rot = float(np.abs(c2w[:3, :3] - expect[:3, :3]).max())
            trans = float(np.linalg.norm(c2w[:3, 3] - expect[:3, 3]))
            out.append(
                _measured(
                    "extrinsics.rotation_vs_orientation",
                    rot,
                    TOL_ROT,
                    message="stored rotation against the one built from look_at and up vectors",
                    hint="stored rotation disagrees with the stated look-at/up orientation",
                )
            )
            t_alt = -c2w[:3, :3].T @ meta.location
            sign_bug = np.linalg.norm(c2w[:3, 3] - t_alt) < TOL_M and trans > TOL_M
            out.append(
                _measured(
                    "extrinsics.translation_vs_location",
                    trans,
                    TOL_M,
                    unit="m",
                    message="stored translation against -R @ location",
                    hint=(
                        "stored translation is -R^T @ location instead of -R @ location (legacy files): "
                        "camgeom rebuilds the camera from location and orientation"
                        if sign_bug
                        else "stored translation does not put the camera at its stated location"
                    ),
                )
            )
    if c2w is not None and meta.quaternion is not None:
        out += _quaternion_checks(frame, c2w)
    if (
        c2w is not None
        and meta.euler is not None
        and meta.euler_degrees is not None
        and meta.euler_sequence
    ):
        r_gl = _vendor_rotation(frame, c2w)
        best = None
        for seq in dict.fromkeys([meta.euler_sequence, meta.euler_sequence.upper()]):
            try:
                rr = rotation_from_euler(seq, meta.euler, degrees=bool(meta.euler_degrees))
            except CamgeomError:
                continue
            e = float(np.abs(rr - r_gl).max())
            if best is None or e < best[0]:
                best = (e, seq)
        if best is not None:
            out.append(
                _measured(
                    "pose.euler",
                    best[0],
                    TOL_ROT,
                    message=f"stored Euler angles (sequence {best[1]!r}) against the stored matrix",
                    hint="stored Euler angles disagree with the stored matrix",
                )
            )
    return out


def _vendor_rotation(frame: Frame, c2w: np.ndarray) -> np.ndarray:
    """The stored rotation in the vendor's own camera frame (OpenGL for Synthesis AI)."""
    if frame.vendor == "synthesisai":
        return np.diag([1.0, -1.0, -1.0]) @ c2w[:3, :3]
    return c2w[:3, :3]


def _quaternion_checks(frame: Frame, c2w: np.ndarray) -> list[Check]:
    meta = frame.metadata
    q = np.asarray(meta.quaternion, float)
    order = meta.quaternion_order or "wxyz"
    label = meta.quaternion_label or "quaternion"
    r_vendor = _vendor_rotation(frame, c2w)
    try:
        err_real = float(
            np.abs(rotation_from_quaternion(q, order=order, normalize=True) - r_vendor).max()
        )
    except CamgeomError as exc:
        return [Check("pose.quaternion", "fail", "error", message=str(exc))]
    out = [
        _measured(
            "pose.quaternion",
            err_real,
            TOL_ROT,
            message=f"{label} read as {order} against the stored matrix",
            hint="the stored quaternion does not describe the stored rotation",
        )
    ]
    key_order = label.rsplit("_", 1)[-1] if "_" in label else None
    if key_order in ("wxyz", "xyzw") and key_order != order:
        err_label = float(
            np.abs(rotation_from_quaternion(q, order=key_order, normalize=True) - r_vendor).max()
        )
        if err_real <= TOL_ROT < err_label:
            out.append(
                _info(
                    "pose.quaternion_order",
                    f"{label} holds ({', '.join(order)}), not ({', '.join(key_order)}): read in its name's "
                    f"order the rotation is off by {err_label:.3g}; camgeom reads it as {order}",
                )
            )
    return out


def _landmark_checks(frame: Frame, groups: list[_Projected], strict: bool) -> list[Check]:
    cam = frame.camera
    assert cam is not None
    out: list[Check] = []
    for group, lm, uv, p_cam in groups:
        if lm.camera_space is not None:
            err = np.linalg.norm(p_cam - lm.camera_space, axis=-1)
            out.append(
                _measured(
                    f"landmarks.camera_space.{group}",
                    _nanmax(err),
                    TOL_M,
                    unit="m",
                    message="stored camera-space positions against cam_from_world @ world positions",
                    hint=f"worst: {_worst(lm.names, err)}",
                )
            )
            if lm.distance is not None:
                derr = np.abs(np.linalg.norm(lm.camera_space, axis=-1) - lm.distance)
                out.append(
                    _measured(
                        f"landmarks.distance.{group}",
                        _nanmax(derr),
                        TOL_M,
                        unit="m",
                        message="distance_to_camera against |camera-space position|",
                        hint=f"worst: {_worst(lm.names, derr)}",
                    )
                )
        dup = _duplicates(lm, group)
        if dup:
            out.append(
                Check(
                    f"landmarks.duplicates.{group}",
                    "fail",
                    "error",
                    value=float(len(dup)),
                    tolerance=0.0,
                    message="distinct landmarks carry identical 3D positions: "
                    + "; ".join(dup[:4]),
                    hint="a known vendor defect (v1/v1.1 pupils): one of these labels is a copy of the other",
                )
            )
        if lm.pixels is not None:
            ok = np.isfinite(lm.pixels).all(axis=-1)
            if ok.any():
                err = np.abs(uv - lm.pixels).max(axis=-1)
                err = np.where(ok, err, np.nan)
                rounding = lm.pixels_rounding
                tol = TOL_PX + (float(np.max(rounding)) if rounding is not None else 0.0)
                med = float(np.nanmedian(err))
                bad = np.nonzero(err > tol)[0]
                out.append(
                    _measured(
                        f"landmarks.reprojection.{group}",
                        _nanmax(err),
                        tol,
                        unit="px",
                        message=f"projected world points against the vendor 2D labels: median {med:.3g} px",
                        hint=(
                            f"{len(bad)} of {int(ok.sum())} labels off: "
                            + ", ".join(f"{lm.names[i]} ({err[i]:.3g} px)" for i in bad[:12])
                            + (" ..." if len(bad) > 12 else "")
                        ),
                    )
                )
        inside = cam.in_image(uv)
        if lm.in_frustum is not None:
            edge = _near_edge(uv, cam.width, cam.height, lm)
            mism = (lm.in_frustum != inside) & ~edge & np.isfinite(p_cam).all(axis=-1)
            out.append(
                _measured(
                    f"landmarks.in_frustum.{group}",
                    float(mism.sum()),
                    0.0,
                    unit="points",
                    message="in_frustum flags against the projection falling inside the image",
                    hint=f"flags disagree for {_names(lm.names, mism)}",
                )
            )
        if lm.visible is not None:
            edge = _near_edge(uv, cam.width, cam.height, lm)
            mism = lm.visible & ~inside & ~edge
            out.append(
                _measured(
                    f"landmarks.visible_in_image.{group}",
                    float(mism.sum()),
                    0.0,
                    severity="warning",
                    unit="points",
                    message="points flagged visible whose projection falls outside the image or behind the camera",
                    hint=f"visible but not in the image: {_names(lm.names, mism)}",
                    strict=strict,
                )
            )
    return out


_Projected = tuple[str, "Landmarks", np.ndarray, np.ndarray]
"""(group name, landmarks, pixels (N, 2), OpenCV camera-frame points (N, 3))."""


def _projected_groups(frame: Frame) -> list[_Projected]:
    """Every readable group with world points, projected once for all checks."""
    cam = frame.camera
    assert cam is not None
    out: list[_Projected] = []
    for name in frame.landmarks:
        try:
            lm = frame.landmarks[name]
        except CamgeomError:
            continue
        if lm.world is None:
            continue
        uv, _ = cam.project(lm.world)
        out.append((name, lm, uv, transform_points(cam.cam_from_world, lm.world)))
    return out


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
    return ", ".join(names[i] for i in idx[:12]) + (" ..." if len(idx) > 12 else "")


def _near_edge(uv: np.ndarray, w: int, h: int, lm: Landmarks) -> np.ndarray:
    """Points within label rounding (or 1e-3 px) of the image border: flags may go either way."""
    tol = TOL_PX + (float(np.max(lm.pixels_rounding)) if lm.pixels_rounding is not None else 0.0)
    u, v = uv[..., 0], uv[..., 1]
    with np.errstate(invalid="ignore"):
        return (
            (np.abs(u) <= tol)
            | (np.abs(u - w) <= tol)
            | (np.abs(v) <= tol)
            | (np.abs(v - h) <= tol)
        )


# Landmarks that coincide by the definition of their set (0-based rows), not by a defect:
# COCO-WholeBody's wrists are also its hand roots, and its nose is face point 30.
_COINCIDENT_BY_DEFINITION = {"coco_whole_body": {(9, 91), (10, 112), (0, 53)}}


def _duplicates(lm: Landmarks, group: str = "") -> list[str]:
    pos = lm.camera_space if lm.camera_space is not None else lm.world
    if pos is None or len(pos) < 2 or len(pos) > 5000:
        return []
    allowed = _COINCIDENT_BY_DEFINITION.get(group, set())
    finite = np.isfinite(pos).all(axis=-1)
    seen: dict[bytes, int] = {}
    dups = []
    for i in np.nonzero(finite)[0]:
        key = np.ascontiguousarray(pos[i]).tobytes()
        if key in seen:
            if (seen[key], int(i)) not in allowed:
                dups.append(f"{lm.names[seen[key]]} == {lm.names[i]}")
        else:
            seen[key] = int(i)
    return dups


def _depth_checks(
    frame: Frame,
    groups: list[_Projected],
    depth: np.ndarray,
    strict: bool,
    occlusion_threshold: float | None,
) -> list[Check]:
    cam = frame.camera
    assert cam is not None
    H, W = depth.shape[:2]
    if (W, H) != (cam.width, cam.height):
        return [
            Check(
                "depth.size",
                "fail",
                "error",
                message=f"depth map is {W}x{H}, camera is {cam.width}x{cam.height}",
                hint="the depth file belongs to another camera or resolution",
            )
        ]
    vis_behind = vis_total = 0
    z_res: list[np.ndarray] = []
    r_res: list[np.ndarray] = []
    for _, lm, uv, p_cam_all in groups:
        inside = cam.in_image(uv)
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
            own = zl if frame.depth_kind == "z" else rl
            vis_total += int(vis.sum())
            with np.errstate(invalid="ignore"):
                vis_behind += int((vis & (own - far > OCCLUSION_M)).sum())
    out: list[Check] = []
    if vis_total:
        share = vis_behind / vis_total
        sev = "error" if occlusion_threshold is not None else "warning"
        out.append(
            _measured(
                "occlusion.visible_behind_depth",
                share,
                occlusion_threshold if occlusion_threshold is not None else 0.0,
                severity=sev,
                unit="share",
                message=(
                    f"{vis_behind} of {vis_total} landmarks flagged visible lie more than "
                    f"{OCCLUSION_M * 1000:g} mm behind every {frame.depth_kind}-depth sample of their "
                    "3x3 pixels (landmarks on silhouettes left out)"
                ),
                hint="vendor visibility flags ignore occlusion; mask with the depth map before training",
                strict=strict,
            )
        )
    else:
        out.append(
            _skip(
                "occlusion.visible_behind_depth",
                "no visibility flags to test against the depth map",
            )
        )
    if z_res:
        zr, rr = np.concatenate(z_res), np.concatenate(r_res)
        near = np.minimum(np.abs(zr), np.abs(rr)) < DEPTH_SURFACE_M
        if near.sum() >= 5:
            mz = float(np.median(np.abs(zr[near])))
            mr = float(np.median(np.abs(rr[near])))
            fits = "z" if mz < mr else "range"
            own, other = (mz, mr) if frame.depth_kind == "z" else (mr, mz)
            ratio = own / max(other, 1e-12)
            contradicts = ratio > DEPTH_KIND_RATIO
            out.append(
                Check(
                    "depth.kind",
                    "fail" if contradicts else "pass",
                    "error",
                    value=ratio,
                    tolerance=DEPTH_KIND_RATIO,
                    unit="x",
                    message=(
                        f"median residual at {int(near.sum())} landmarks: {mz * 1000:.3g} mm as z, "
                        f"{mr * 1000:.3g} mm as range; the frame says {frame.depth_kind!r}"
                    ),
                    hint=f"the depth map fits {fits!r} better than the declared {frame.depth_kind!r}"
                    if contradicts
                    else "",
                )
            )
        else:
            out.append(_skip("depth.kind", "fewer than 5 landmarks on the depth surface"))
    return out


def verify_dataset(
    dataset: Dataset | Iterable[Frame],
    *,
    strict: bool = False,
    occlusion_threshold: float | None = None,
    use_depth: bool = True,
    progress: bool = False,
) -> DatasetReport:
    """Verify every frame of a dataset; unreadable frames are listed, not raised.

    Parameters
    ----------
    dataset : Dataset or iterable of Frame
    strict, occlusion_threshold, use_depth
        As in :func:`verify`.
    progress : bool
        Show a progress bar (tqdm) on standard error.

    Returns
    -------
    DatasetReport
    """
    from camgeom.datasets import Dataset

    reports: list[Report] = []
    unreadable: list[tuple[str, str]] = []
    ds = dataset if isinstance(dataset, Dataset) else None
    if ds is not None:
        ds.errors = []
        frames: Iterable[Frame] = ds.iter_frames(on_error="collect")
        total: int | None = len(ds)
    else:
        frames = dataset
        total = None
    if progress:
        from tqdm import tqdm

        frames = tqdm(
            frames, total=total, desc="verify", unit="frame", file=sys.stderr, leave=False
        )
    for frame in frames:
        try:
            reports.append(
                verify(
                    frame,
                    strict=strict,
                    occlusion_threshold=occlusion_threshold,
                    use_depth=use_depth,
                )
            )
        except CamgeomError as exc:
            unreadable.append((frame.frame_id, str(exc)))
    if ds is not None:
        unreadable += [(e.frame_id, f"{e.path}: {e.message}") for e in ds.errors]
    return DatasetReport(tuple(reports), tuple(unreadable))

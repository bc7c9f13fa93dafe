"""Checks of the intrinsics: K against the image size, lens shift, focal length and FOV.

The checks read the stored K when the vendor stored one (otherwise the camera's
K). A lens shift moves the principal point by
:func:`camgeom.intrinsics.principal_point_from_shift`, in the units the reader
recorded (``CameraMetadata.shift_units``); whether the stored K already holds
that shift is ``CameraMetadata.stored_K_includes_shift``. The camera's K always
holds it. Comparisons are made like with like: the stored K with the shift
applied (when it lacks it) against the camera's K, and the K without the shift
against the stated field of view of the lens.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from camgeom.errors import CamgeomError
from camgeom.intrinsics import fov_from_intrinsics, principal_point_from_shift
from camgeom.verification.report import Check, failure, measured, noted, skipped, verdict
from camgeom.verification.tolerances import (
    TOL_FOV_RAD,
    TOL_K_PX,
    TOL_PRINCIPAL_PX,
    TOL_REL_FOCAL,
    TOL_SQUARE,
)

if TYPE_CHECKING:
    from camgeom.camera import Camera
    from camgeom.datasets import CameraMetadata, Frame

__all__ = ["intrinsics_checks", "intrinsics_checks_for"]


def intrinsics_checks(frame: Frame, camera: Camera) -> list[Check]:
    """Check the stored intrinsics of ``frame`` against each other and its camera.

    :func:`intrinsics_checks_for` does the same from the values alone.

    Parameters
    ----------
    frame : Frame
    camera : Camera
        ``frame.camera``.

    Returns
    -------
    list of Check
        ``intrinsics.principal_point_inside``, ``.principal_point``,
        ``.square_pixels``, ``.stored_K_vs_camera``, ``.K_vs_focal_length``,
        ``.K_vs_fov`` and ``.focal_length_vs_fov``, where the metadata allow.
    """
    return intrinsics_checks_for(frame.metadata, camera.K, camera.width, camera.height)


def intrinsics_checks_for(
    meta: CameraMetadata, camera_K: np.ndarray, W: int, H: int
) -> list[Check]:
    """:func:`intrinsics_checks` for a camera given by its K and image size (width ``W``, height ``H``)."""
    K = meta.stored_K if meta.stored_K is not None else camera_K
    fx, fy, cx, cy = (float(v) for v in (K[0, 0], K[1, 1], K[0, 2], K[1, 2]))
    inside = 0 <= cx <= W and 0 <= cy <= H
    out = [
        verdict(
            "intrinsics.principal_point_inside",
            inside,
            message=f"cx={cx:.6g}, cy={cy:.6g} in a {W}x{H} image",
            hint="K is for another resolution or crop: see camgeom.intrinsics.scale_intrinsics",
        )
    ]
    out += _shift_checks(meta, camera_K, W, H, K)
    out.append(
        measured(
            "intrinsics.square_pixels",
            abs(fx - fy) / fx,
            TOL_SQUARE,
            severity=_square_severity(meta.square_pixels),
            message=f"|fx - fy| / fx with fx={fx:.6g}, fy={fy:.6g}",
            hint=(
                "fy != fx where the format promises square pixels; if fy = fx*W/H the stored K "
                "mixes up the width and height (rebuild K from the horizontal FOV)"
            ),
        )
    )
    unusable = _unusable_lens(meta)
    if unusable:
        hint = "the metadata state a focal length or sensor width no lens has: trust K and the FOV"
        out.append(failure("intrinsics.K_vs_focal_length", unusable, hint=hint))
        if meta.fov_x is not None:
            out.append(failure("intrinsics.focal_length_vs_fov", unusable, hint=hint))
        return out
    if meta.focal_length_mm and meta.sensor_width_mm:
        fx_lens = meta.focal_length_mm / meta.sensor_width_mm * W
        out.append(
            measured(
                "intrinsics.K_vs_focal_length",
                abs(fx - fx_lens) / fx_lens,
                TOL_REL_FOCAL,
                message=f"fx={fx:.6g} against focal/sensor*W = {fx_lens:.6g} (relative)",
                hint="K does not follow focal_length_mm / sensor_width_mm * width",
            )
        )
    if meta.focal_length_mm and meta.sensor_width_mm and meta.fov_x is not None:
        lens_fov = 2 * math.atan(meta.sensor_width_mm / 2 / meta.focal_length_mm)
        out.append(
            measured(
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


def _principal_point_check(
    K: np.ndarray,
    expect: tuple[float, float],
    which: str,
    includes: bool | None,
    sx: float,
    sy: float,
    units: str,
) -> Check:
    """``intrinsics.principal_point``: (cx, cy) against the image centre moved by the lens shift."""
    return measured(
        "intrinsics.principal_point",
        float(np.abs(K[:2, 2] - expect).max()),
        TOL_PRINCIPAL_PX,
        unit="px",
        message=(
            f"(cx, cy) of the {which} against ({expect[0]:.6g}, {expect[1]:.6g}): the image "
            f"centre{' moved by' if includes else ' without'} lens shift ({sx:g}, {sy:g}) "
            f"in {units!r} units"
        ),
        hint="principal point does not follow the image size and lens shift",
    )


def _unusable_lens(meta: CameraMetadata) -> str:
    """Why the stated focal length or sensor width cannot be a lens's ("" when both are fine).

    Values that are absent are not checked; a stated one must be finite and positive
    (a zero focal length would otherwise silently drop the lens checks, and a
    negative one would make the relative error negative, i.e. passing).
    """
    bad = [
        f"{name} = {value!r}"
        for name, value in (
            ("focal_length_mm", meta.focal_length_mm),
            ("sensor_width_mm", meta.sensor_width_mm),
        )
        if value is not None and not (math.isfinite(value) and value > 0)
    ]
    return f"{', '.join(bad)}: must be a positive length in millimetres" if bad else ""


def _square_severity(promised: bool | None) -> str:
    """Square pixels promised: error; documented non-square: info; not said: warning."""
    if promised is None:
        return "warning"
    return "error" if promised else "info"


def _shift_checks(
    meta: CameraMetadata, camera_K: np.ndarray, W: int, H: int, K: np.ndarray
) -> list[Check]:
    """The checks that depend on the lens shift: principal point, stored K, FOV."""
    sx, sy = meta.shift_x or 0.0, meta.shift_y or 0.0
    units = meta.shift_units or "per_axis"
    names = ("intrinsics.principal_point", "intrinsics.stored_K_vs_camera", "intrinsics.K_vs_fov")
    try:
        px, py = principal_point_from_shift(W, H, sx, sy, units=units)
    except CamgeomError as exc:
        return [
            failure(names[0], f"lens shift ({sx!r}, {sy!r}) in {units!r} units: {exc}"),
            *(skipped(n, "the stored lens shift is unusable") for n in names[1:]),
        ]
    shift = np.array([[0.0, 0.0, px - W / 2], [0.0, 0.0, py - H / 2], [0.0, 0.0, 0.0]])
    shifted = bool(shift.any())
    has_stored = meta.stored_K is not None
    includes = meta.stored_K_includes_shift if has_stored else True
    if shifted and includes is None:
        reason = (
            f"lens shift ({sx:g}, {sy:g}) is nonzero and the metadata do not say whether "
            "the stored K includes it"
        )
        return [skipped(n, reason) for n in names]
    lens_K = K - shift if includes else K  # K of the lens alone (centred)
    which = "stored K" if has_stored else "camera K"
    expect = (px, py) if includes else (W / 2, H / 2)
    if meta.calibrated_principal_point:
        out = [
            noted(
                names[0],
                f"(cx, cy) = ({K[0, 2]:.6g}, {K[1, 2]:.6g}) in a {W}x{H} image: a calibrated "
                "principal point, which the format does not tie to the image centre",
            )
        ]
    else:
        out = [_principal_point_check(K, expect, which, includes, sx, sy, units)]
    if has_stored:
        like = K if includes else K + shift
        out.append(
            measured(
                names[1],
                float(np.abs(like - camera_K).max()),
                TOL_K_PX,
                unit="px",
                message="the stored intrinsic_matrix"
                + ("" if includes or not shifted else " with the lens shift applied")
                + " against the camera's K",
                hint="the stored K is inconsistent with the stated FOV/resolution/lens shift; "
                "camgeom uses the derived K",
            )
        )
    if meta.fov_x is not None or meta.fov_y is not None:
        kx, ky = fov_from_intrinsics(lens_K, W, H)
        errs = [abs(float(k) - s) for k, s in ((kx, meta.fov_x), (ky, meta.fov_y)) if s is not None]
        out.append(
            measured(
                names[2],
                max(errs),
                TOL_FOV_RAD,
                unit="rad",
                message="field of view implied by K"
                + (" without the lens shift" if shifted else "")
                + " against the stated FOV",
                hint="K and the stated field of view disagree",
            )
        )
    return out

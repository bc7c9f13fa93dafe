"""Name the mistake behind a failing report: each known kind tried as a hypothesis.

For a frame that fails verification, :func:`diagnose` undoes each kind of
:data:`camgeom.testing.KINDS` on a temporary copy of the frame's files (the
originals are only read), re-reads and re-verifies the copy, and keeps the
kinds that fix failing checks without breaking passing ones. The residual is
measured on the failing check furthest beyond its tolerance (the *primary*
check), so a diagnosis reads ``pose_transposed: landmarks.reprojection.ibug68
1,830 px -> 0.02 px``.
Kinds rank by the failures left, then by the notes the reader adds on the
corrected copy (a correction the reader has to work around is worse), then by
the residual left; ties keep the order of :data:`camgeom.testing.KINDS`.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from camgeom.errors import CamgeomError
from camgeom.verification.report import Diagnosis, Report

if TYPE_CHECKING:
    from collections.abc import Callable

    from camgeom.datasets import Frame

__all__ = ["DEPTH_KINDS", "diagnose", "primary_check"]

DEPTH_KINDS = ("depth_kind_swapped", "depth_millimetres")
"""Kinds whose hypothesis needs the depth map read."""


def primary_check(report: Report) -> str:
    """The failing check furthest beyond its tolerance ("" when no failure has a value)."""
    best, name = -math.inf, ""
    for c in report.failures:
        if c.value is None or c.tolerance is None or not math.isfinite(c.value):
            ratio = math.inf if c.value is not None else -1.0
        else:
            ratio = c.value / max(c.tolerance, 1e-300)
        if ratio > best:
            best, name = ratio, c.name
    return name


_SIGNATURES: dict[str, tuple[str, ...]] = {
    "pose_inverted": ("pose.", "extrinsics.", "landmarks."),
    "pose_transposed": ("pose.", "extrinsics.", "landmarks."),
    "axes_opengl_as_opencv": ("pose.", "extrinsics.", "landmarks."),
    "quaternion_order": ("pose.quaternion",),
    "translation_centimetres": ("pose.", "extrinsics.", "landmarks."),
    "fx_fy_swapped": ("intrinsics.", "landmarks."),
    "aspect_stretched": ("intrinsics.", "landmarks."),
    "principal_point_half_pixel": ("intrinsics.", "landmarks."),
    "intrinsics_other_resolution": ("intrinsics.", "landmarks.", "depth.size"),
    "resolution_mismatch": ("intrinsics.", "landmarks.", "depth.size"),
    "pixel_row_col": ("landmarks.reprojection", "landmarks.visible"),
    "depth_kind_swapped": ("depth.",),
    "depth_millimetres": ("depth.",),
}
"""Check-name prefixes a kind can make fail: hypotheses that cannot explain a failure are not tried."""


def _labels_in_view(frame: Frame) -> tuple[int, int]:
    """Landmarks whose 3D point projects inside the image; landmarks whose 2D label is inside."""
    import numpy as np

    camera, projected, labelled = frame.camera, 0, 0
    if camera is None:
        return 0, 0
    for lm in frame.landmarks.values():
        if lm.world is None or lm.pixels is None:
            continue
        uv, _ = camera.project(lm.world)
        with np.errstate(invalid="ignore"):
            projected += int(np.sum(camera.in_image(uv) & np.isfinite(uv).all(axis=-1)))
            labelled += int(
                np.sum(camera.in_image(lm.pixels) & np.isfinite(lm.pixels).all(axis=-1))
            )
    return projected, labelled


_IN_VIEW_SHARE = 0.9
"""A corrected camera must project at least this share of the in-image 2D labels into the image."""


def _broken(name: str, status: str | None) -> bool:
    return status == "fail" or (status == "warn" and not name.startswith("occlusion."))


def _plausible(kind: str, failing: set[str]) -> bool:
    return any(n.startswith(_SIGNATURES[kind]) for n in failing)


def _residual(report: Report, name: str) -> float:
    if name and name in report:
        c = report[name]
        if c.value is not None and not c.skipped:
            return c.value
    return float(len(report.failures))


def diagnose(
    frame: Frame, report: Report, run: Callable[[Frame, bool], Report]
) -> tuple[tuple[Diagnosis, ...], str]:
    """The kinds whose inverse makes ``frame`` (more) self-consistent, best first.

    Parameters
    ----------
    frame : Frame
        The frame ``report`` describes (Synthesis AI or Datagen).
    report : Report
        Its failing report.
    run : callable
        ``run(frame, use_depth) -> Report``: verification with the caller's options.

    Returns
    -------
    diagnosis : tuple of Diagnosis
        ``(kind, residual_before, residual_after)`` per kind that fixes failing
        checks and breaks none, best first; empty when none does.
    check : str
        The primary check the residuals are measured on.
    """
    from camgeom.datasets import load
    from camgeom.testing import KINDS, NotExpressibleError
    from camgeom.testing._edits import EDITABLE_VENDORS, copy_frame, edit_copy

    if report.passed or frame.vendor not in EDITABLE_VENDORS or frame.camera is None:
        return (), ""
    name = primary_check(report)
    before = _residual(report, name)
    failing = {c.name for c in report.failures}
    passing = {c.name for c in report.checks if c.status == "pass"}
    depth_failing = any(n.startswith("depth.") for n in failing)
    found: list[tuple[tuple[int, int, float], Diagnosis]] = []
    with tempfile.TemporaryDirectory(prefix="camgeom-diagnose-") as tmp:
        for i, kind in enumerate(KINDS):
            if not _plausible(kind, failing):
                continue
            out = Path(tmp) / str(i)
            try:
                frame_dir = copy_frame(frame, out, link_pixels=True)
                edit_copy(frame, frame_dir, kind, undo=True)
                candidate = load(out)[0]
                with_depth = kind in DEPTH_KINDS or depth_failing
                after_report = run(candidate, with_depth)
            except (NotExpressibleError, CamgeomError, OSError, ValueError):
                continue  # the hypothesis cannot be tried on this frame's files
            in_view, labelled = _labels_in_view(candidate)
            if in_view < _IN_VIEW_SHARE * labelled:
                continue  # labelled points behind the camera or out of the image
            status = {c.name: c.status for c in after_report.checks}
            # checks such as depth.size exist only when they fail
            fixed = sum(status.get(n, "pass") == "pass" for n in failing)
            # a passing check may become a skip (depth not read) or the occlusion
            # warning (vendor flags, once depth is in metres again), never a failure
            # or another warning (landmarks no longer in the image)
            if not fixed or any(_broken(n, status.get(n)) for n in passing):
                continue
            after = _residual(after_report, name)
            ratio = after / before if before and math.isfinite(after) else math.inf
            left = len(failing) - fixed
            # a reader that had to work around the corrected files (a metadata.jsonl
            # line dropped, ...) says so in a new note: the correction is worse
            new_notes = len(set(candidate.notes) - set(frame.notes))
            found.append(((left, new_notes, ratio), Diagnosis(kind, before, after)))
    found.sort(key=lambda t: t[0])
    return tuple(d for _, d in found), name

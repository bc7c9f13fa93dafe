"""Name the mistake behind a failing report: each known kind tried as a hypothesis.

For a frame that fails verification, :func:`diagnose` undoes each kind of
:data:`camgeom.testing.KINDS` on the parsed frame in memory
(:func:`camgeom.verification.hypotheses.undo`: the camera, the stored
metadata, the labels or the depth array; no file is written or read again),
re-runs only the check families the kind changes, and keeps the kinds that fix
the worst failure of every family they change without breaking a passing
check. Families run in order of cost (intrinsics, poses, landmarks one group
at a time, depth) and a hypothesis is dropped at the first check that rules it
out, so wrong hypotheses cost little; the whole diagnosis of a failing frame
costs at most 3 plain ``verify`` calls (``benchmarks/bench_diagnose.py``).
The residual is
measured on the failing check furthest beyond its tolerance (the *primary*
check), so a diagnosis reads ``pose_transposed: landmarks.reprojection.ibug68
1,830 px -> 0.02 px``. Kinds rank by the failures left, then by the residual
left; ties keep the order of :data:`camgeom.testing.KINDS`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from camgeom.errors import CamgeomError
from camgeom.testing.kinds import NotExpressibleError
from camgeom.verification.intrinsics import intrinsics_checks_for
from camgeom.verification.landmarks import landmark_checks, project_group
from camgeom.verification.poses import pose_checks
from camgeom.verification.report import Diagnosis, Report
from camgeom.verification.runner import FAMILIES, family_of, run_checks

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from camgeom.camera import Camera
    from camgeom.datasets import Frame, Landmarks
    from camgeom.verification.depth import DepthMaps
    from camgeom.verification.hypotheses import Hypothesis
    from camgeom.verification.landmarks import Projected
    from camgeom.verification.report import Check
    from camgeom.verification.runner import Options

__all__ = ["diagnose", "primary_check"]


def primary_check(report: Report | Sequence[Check]) -> str:
    """The failing check furthest beyond its tolerance ("" when no failure has a value)."""
    best, name = -math.inf, ""
    failures = report.failures if isinstance(report, Report) else [c for c in report if c.failed]
    for c in failures:
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
    # fy alone: not fx against the focal length, nor the principal point
    "aspect_stretched": (
        "intrinsics.square_pixels",
        "intrinsics.stored_K_vs_camera",
        "intrinsics.K_vs_fov",
        "landmarks.",
    ),
    # cx, cy alone: not the focal lengths
    "principal_point_half_pixel": (
        "intrinsics.principal_point",
        "intrinsics.stored_K_vs_camera",
        "intrinsics.K_vs_fov",
        "landmarks.",
    ),
    "intrinsics_other_resolution": ("intrinsics.", "landmarks.", "depth.size"),
    "resolution_mismatch": ("intrinsics.", "landmarks.", "depth.size"),
    "pixel_row_col": ("landmarks.reprojection", "landmarks.visible"),
    "depth_kind_swapped": ("depth.",),
    "depth_millimetres": ("depth.",),
}
"""Check-name prefixes a kind can make fail: hypotheses that cannot explain a failure are not tried."""


def _labels_in_view(
    camera_in_image: Callable[[Any], Any], groups: list[Projected]
) -> tuple[int, int]:
    """Landmarks whose 3D point projects inside the image; landmarks whose 2D label is inside."""
    import numpy as np

    projected = labelled = 0
    for _, lm, uv, _ in groups:
        if lm.pixels is None:
            continue
        with np.errstate(invalid="ignore"):
            projected += int(np.sum(camera_in_image(uv) & np.isfinite(uv).all(axis=-1)))
            labelled += int(
                np.sum(camera_in_image(lm.pixels) & np.isfinite(lm.pixels).all(axis=-1))
            )
    return projected, labelled


_IN_VIEW_SHARE = 0.9
"""A corrected camera must project at least this share of the in-image 2D labels into the image."""


def _broken(name: str, status: str | None) -> bool:
    return status == "fail" or (status == "warn" and not name.startswith("occlusion."))


_DEPTH_ONLY = ("depth_kind_swapped", "depth_millimetres")


def _plausible(kind: str, failing: set[str]) -> bool:
    if kind in _DEPTH_ONLY and any(n.startswith("landmarks.reprojection.") for n in failing):
        # the depth checks sample the map where the landmarks project: with the
        # projections off their labels, a depth failure says nothing of the map
        return False
    return any(n.startswith(_SIGNATURES[kind]) for n in failing)


def _residual(checks: Sequence[Check], name: str) -> float:
    for c in checks:
        if c.name == name and c.value is not None and not c.skipped:
            return c.value
    return float(sum(c.failed for c in checks))


def diagnose(
    frame: Frame,
    report: Report,
    options: Options,
    maps: DepthMaps,
    groups: list[Projected],
) -> tuple[tuple[Diagnosis, ...], str]:
    """The kinds whose inverse makes ``frame`` (more) self-consistent, best first.

    Parameters
    ----------
    frame : Frame
        The frame ``report`` describes.
    report : Report
        Its failing report.
    options : Options
        The options ``report`` was made with.
    maps : DepthMaps
        The depth and normal maps ``report`` read (kept in memory).
    groups : list of Projected
        The landmark projections ``report`` used.

    Returns
    -------
    diagnosis : tuple of Diagnosis
        ``(kind, residual_before, residual_after)`` per kind that fixes failing
        checks and breaks none, best first; empty when none does.
    check : str
        The primary check the residuals are measured on.
    """
    from camgeom.testing import KINDS
    from camgeom.verification.hypotheses import undo

    if report.passed or frame.camera is None:
        return (), ""
    name = primary_check(report)
    before = _residual(report.checks, name)
    failing = {c.name for c in report.failures}
    seen = _Seen(report)
    found: list[tuple[tuple[int, float], Diagnosis]] = []
    for kind in KINDS:
        if not _plausible(kind, failing):
            continue
        try:
            hyp = undo(frame, kind, maps, failing=failing)
        except NotExpressibleError:
            continue  # the frame holds nothing this kind could have changed
        after = _try(hyp, seen, options, groups)
        if after is None:
            continue
        status = {c.name: c.status for c in after}
        # checks such as depth.size exist only when they fail
        fixed = sum(status.get(n, "pass") == "pass" for n in failing)
        if not fixed:
            continue
        left = len(failing) - fixed
        residual = _residual(after, name)
        ratio = residual / before if before and math.isfinite(residual) else math.inf
        found.append(((left, ratio), Diagnosis(kind, before, residual)))
    found.sort(key=lambda t: t[0])
    return tuple(d for _, d in found), name


class _Seen:
    """What the failing report says, computed once for every hypothesis."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.status = {c.name: c.status for c in report.checks}
        self.passing = {n for n, st in self.status.items() if st == "pass"}
        self.failing = [c.name for c in report.failures]
        # a family whose checks all skipped can neither be fixed nor broken
        self.live = {
            family_of(n) for n, st in self.status.items() if st in ("pass", "fail", "warn")
        }
        # depth.kind_normals is re-run where it ran, and only there
        ran = self.status.get("depth.kind_normals") in ("pass", "fail")
        self.normals = "always" if ran else "never"
        by_family: dict[str, list[Check]] = {}
        for c in report.failures:
            by_family.setdefault(family_of(c.name), []).append(c)
        by_family.pop("", None)
        self.failing_families = set(by_family)
        self.worst = {f: primary_check(checks) for f, checks in by_family.items()}


def _try(
    hyp: Hypothesis, seen: _Seen, options: Options, groups: list[Projected]
) -> list[Check] | None:
    """The report's checks with the hypothesis' families re-run; None when the kind is ruled out.

    A kind is ruled out when it breaks a passing check (a passing check may
    become a skip, depth no longer sampled, or the occlusion warning, vendor
    flags once depth is in metres again; never a failure or another warning),
    when the corrected camera loses the labelled landmarks from view, or when
    it leaves the worst failure (:func:`primary_check`) of a family it changes
    failing: one mistake explains the worst failure of every family it
    touches. Families run from the cheapest, landmark groups one at a time, so
    a wrong kind costs little.
    """
    report, passing = seen.report, seen.passing
    families = [f for f in FAMILIES if f in hyp.families and f in seen.live]
    if not seen.failing_families & set(families):
        return None  # it changes no family with a failure
    new: dict[str, Check] = {}
    projected: list[Projected] | None = None if hyp.camera_changed else groups
    for family in families:
        worst = seen.worst.get(family, "")
        if family == "intrinsics":
            checks = intrinsics_checks_for(hyp.metadata, hyp.K, *hyp.size)
        elif family == "pose":
            checks = pose_checks(hyp.metadata)
        else:
            try:
                frame = hyp.frame
            except NotExpressibleError:
                return None  # the corrected values are not a camera
            camera = frame.camera
            assert camera is not None
            if family == "landmarks":
                before = [] if hyp.camera_changed else groups
                found = _landmark_family(frame, camera, before, passing, worst, options)
                if found is None:
                    return None
                checks, projected = found
                in_view, labelled = _labels_in_view(camera.in_image, projected)
                if in_view < _IN_VIEW_SHARE * labelled:
                    return None  # labelled points behind the camera or out of the image
            else:
                run = run_checks(
                    frame,
                    camera,
                    options,
                    hyp.maps,
                    families=(family,),
                    groups=projected,
                    normals=seen.normals,
                )
                checks = run.checks
                if family == "depth":
                    projected = run.groups
        for c in checks:
            if c.name in passing and _broken(c.name, c.status):
                return None
            new[c.name] = c
        if worst and not _fixed(new.get(worst)):
            return None  # not the mistake this family's worst failure shows
    kept = [c for c in report.checks if family_of(c.name) not in families]
    return kept + list(new.values())


def _landmark_family(
    frame: Frame,
    camera: Camera,
    before: list[Projected],
    passing: set[str],
    worst: str,
    options: Options,
) -> tuple[list[Check], list[Projected]] | None:
    """The landmark checks group by group; None as soon as one rules the kind out.

    The group of the family's worst failure goes first (it must be fixed),
    then the groups that pass (a wrong camera breaks one at once); each group
    is projected when its turn comes, or keeps its projection in ``before``
    (given when the camera did not change).
    """
    old = {g.group: g for g in before}
    todo = []
    for name in frame.landmarks:
        try:
            lm = frame.landmarks[name]
        except CamgeomError:
            continue  # reported as landmarks.read.<group>: no hypothesis changes it
        if lm.world is not None:
            todo.append((name, lm))

    def order(item: tuple[str, Landmarks]) -> int:
        if worst.endswith(f".{item[0]}"):
            return 0
        return 1 if f"landmarks.reprojection.{item[0]}" in passing else 2

    checks: list[Check] = []
    projected: list[Projected] = []
    for name, lm in sorted(todo, key=order):
        if name in old and old[name].landmarks is lm:
            g = old[name]
        elif name in old:  # new labels, same camera: the projection stands
            g = old[name]._replace(landmarks=lm)
        else:
            g = project_group(name, lm, camera)
        part = landmark_checks(camera, [g], strict=options.strict, duplicates=False)
        if any(c.name in passing and _broken(c.name, c.status) for c in part):
            return None
        if order((name, lm)) == 0 and not any(c.name == worst and _fixed(c) for c in part):
            return None
        checks += part
        projected.append(g)
    return checks, projected


def _fixed(check: Check | None) -> bool:
    """A failing check is fixed when it passes, or is gone (depth.size exists only when it fails)."""
    return check is None or check.status == "pass"

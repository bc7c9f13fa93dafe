"""Check a frame's camera metadata against itself and against its pixels.

:func:`verify` runs named checks on one :class:`~camgeom.datasets.Frame` and
returns a :class:`Report`; :func:`verify_dataset` aggregates over a dataset.
Each :class:`Check` carries the measured value, the tolerance, a status and a
hint on how to read or fix it. The checks decide from the structured fields
the readers fill in :class:`~camgeom.datasets.CameraMetadata` (axis
convention, lens-shift units, Euler rule, square-pixel promise, ...), never
from the vendor's name or the text of a note.

Severities
----------
``error``
    The data contradict themselves (K against its own FOV, stored extrinsics
    against the camera's location and orientation, duplicated landmarks, labels
    that the projection does not reproduce). A failing error check fails
    verification.
``warning``
    Suspicious but common (vendor visibility flags ignore occlusion; non-square
    pixels where the format says nothing). Fails only with ``strict=True``, or
    for the occlusion share above a threshold you set.
``info``
    A documented layout quirk of the format that the reader handled (Datagen's
    row/column swap, Synthesis AI's xyzw quaternion under a wxyz name, the room
    format's transposed matrices), or a check that could not run (status
    ``skip``, with the reason). Never fails.

Known vendor defects (``docs/conventions.md``) come out as failures with clear
names, not hidden. The modules of this package hold the report types
(:mod:`~camgeom.verification.report`), the tolerances
(:mod:`~camgeom.verification.tolerances`) and the checks, grouped by what they
compare (:mod:`~camgeom.verification.intrinsics`,
:mod:`~camgeom.verification.poses`, :mod:`~camgeom.verification.landmarks`,
:mod:`~camgeom.verification.depth`), run by
:mod:`~camgeom.verification.runner`; the diagnosis of a failing frame
(:mod:`~camgeom.verification.diagnosis`) tests the hypotheses of
:mod:`~camgeom.verification.hypotheses` in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from camgeom.errors import InvalidValueError
from camgeom.verification.depth import DepthMaps
from camgeom.verification.report import Check, DatasetReport, Report, noted, skipped
from camgeom.verification.runner import Options, run_checks

if TYPE_CHECKING:
    from camgeom.datasets import Dataset, Frame

__all__ = ["Check", "DatasetReport", "Report", "verify", "verify_dataset"]


def verify(
    frame: Frame,
    *,
    strict: bool = False,
    occlusion_threshold: float | None = None,
    use_depth: bool = True,
    diagnose: bool = False,
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
        Read the depth map for the occlusion and depth-semantics checks
        (``False``: those checks are reported as skipped).
    diagnose : bool
        When the frame fails, try each kind of :data:`camgeom.testing.KINDS` as
        a hypothesis (undo it on the parsed camera, metadata, labels or depth
        map in memory and re-run the checks it changes) and fill
        :attr:`Report.diagnosis` with the kinds that fix failing checks, best
        first (:mod:`camgeom.verification.diagnosis`). A passing frame costs
        nothing extra; a failing one at most 3 plain ``verify`` calls
        (``benchmarks/bench_diagnose.py``).

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
    _check_threshold(occlusion_threshold)
    checks: list[Check] = [noted("format.quirk", note) for note in frame.notes]
    camera = frame.camera
    if camera is None:
        checks.append(
            skipped("camera", "the frame has no camera (e.g. FaceSynthetics): nothing to verify")
        )
        return Report(frame.frame_id, frame.vendor, frame.version, tuple(checks))
    options = Options(strict, occlusion_threshold, use_depth)
    maps = DepthMaps(frame)
    run = run_checks(frame, camera, options, maps)
    report = Report(frame.frame_id, frame.vendor, frame.version, tuple(checks + run.checks))
    if diagnose and not report.passed:
        from dataclasses import replace

        from camgeom.verification.diagnosis import diagnose as _diagnose

        found, check = _diagnose(frame, report, options, maps, run.groups)
        report = replace(report, diagnosis=found, diagnosis_check=check)
    return report


def _check_threshold(occlusion_threshold: float | None) -> None:
    if occlusion_threshold is not None and not 0 <= occlusion_threshold <= 1:
        raise InvalidValueError(
            f"Expected `occlusion_threshold` in [0, 1], got {occlusion_threshold!r}."
        )


def verify_dataset(
    dataset: Dataset | Iterable[Frame],
    *,
    strict: bool = False,
    occlusion_threshold: float | None = None,
    use_depth: bool = True,
    progress: bool = False,
    workers: int | None = None,
    scheduler: Any = None,
    debug: bool = False,
) -> DatasetReport:
    """Verify every frame of a dataset; frames that cannot be read or checked are listed, not raised.

    Runs as a dataset job (:mod:`camgeom.jobs.verify`): frames are parsed and
    checked in worker processes or on a Dask cluster, and any exception inside
    one frame (not only a :class:`~camgeom.errors.CamgeomError`) lists that
    frame in :attr:`DatasetReport.unreadable` with the error's type and
    message, while the other frames go on. The returned report holds every
    frame's report; for datasets too large for that, use
    :func:`camgeom.jobs.verify.run_verify`, which streams them to a file.

    Parameters
    ----------
    dataset : Dataset or iterable of Frame
        A dataset (parsed in the workers), or parsed frames (checked in this
        process unless ``workers`` or ``scheduler`` is given).
    strict, occlusion_threshold, use_depth
        As in :func:`verify`.
    progress : bool
        Show a progress bar (tqdm) on standard error.
    workers : int, keyword-only, optional
        Local worker processes; 1 checks every frame in this process. Default:
        every core (a dataset), or 1 (parsed frames); ``$CAMGEOM_DASK_SCHEDULER``
        when set.
    scheduler : str or distributed.Client, keyword-only, optional
        Run on this Dask cluster.
    debug : bool, keyword-only
        Keep failures' tracebacks (see :func:`camgeom.jobs.run_job`).

    Returns
    -------
    DatasetReport
        Per-frame reports in the dataset's order, and ``(frame_id, "Type: message")``
        for each frame that could not be read or checked.

    Raises
    ------
    InvalidValueError
        ``occlusion_threshold`` outside [0, 1], or bad ``workers`` (before any frame).

    Examples
    --------
    >>> import camgeom, tempfile
    >>> from camgeom.demo import make_demo_dataset
    >>> out = make_demo_dataset(tempfile.mkdtemp() + "/demo")
    >>> rep = verify_dataset(camgeom.load(out.datagen), workers=1)
    >>> rep.passed, len(rep.unreadable)
    (True, 0)
    """
    from camgeom.jobs.verify import run_verify

    with run_verify(
        dataset,
        strict=strict,
        occlusion_threshold=occlusion_threshold,
        use_depth=use_depth,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        debug=debug,
    ) as run:
        return run.dataset_report()

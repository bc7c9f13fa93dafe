"""Write corrected copies of frames whose diagnosis is unambiguous (``camgeom verify --diagnose --fix``).

A frame is repaired only when its :attr:`~camgeom.verification.Report.diagnosis`
names exactly one kind and the copy with that kind undone passes
verification. The corrected copy is written to a new folder (the originals are
only read) and every repair is logged in ``fix_log.json`` with the files it
changed and the residual before and after.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from camgeom.errors import InvalidValueError

if TYPE_CHECKING:
    from camgeom.datasets import Frame
    from camgeom.verification.report import Report

__all__ = ["FIX_LOG", "Repair", "diagnose_frames", "repair_frame"]

FIX_LOG = "fix_log.json"
"""Name of the log written in the ``--fix`` folder."""


@dataclass(frozen=True)
class Repair:
    """One frame's repair (or why it was not repaired).

    Attributes
    ----------
    frame_id : str
    kind : str or None
        The kind undone; None when the frame was left alone.
    folder : Path or None
        Dataset folder of the corrected copy (``camgeom.load(folder)`` reads it;
        Datagen copies of several frames share one folder).
    files : tuple of str
        Metadata files changed, relative to ``folder``.
    reason : str
        Why the frame was left alone ("" when repaired).
    """

    frame_id: str
    kind: str | None
    folder: Path | None = None
    files: tuple[str, ...] = ()
    reason: str = ""


def repair_frame(
    frame: Frame,
    report: Report,
    out_dir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
) -> Repair:
    """Undo the diagnosed kind on a copy of ``frame`` in ``out_dir / frame_id``.

    The copy is built and verified in a temporary folder inside ``out_dir``,
    then its files are moved into place one by one (each move atomic). Files
    already in ``out_dir`` are never deleted: a file the copy would replace is
    replaced only with ``overwrite`` (or when it already holds the same bytes);
    otherwise the frame is left alone, with the reason.

    Parameters
    ----------
    frame : Frame
    report : Report
        ``verify(frame, diagnose=True)``.
    out_dir : str or os.PathLike
        Root of the corrected copies; must not be inside the frame's own folder.
    overwrite : bool, keyword-only
        Replace files of an earlier copy.

    Returns
    -------
    Repair
        With ``kind`` None and a reason when the diagnosis is empty or
        ambiguous, the corrected copy does not pass, or it would replace files
        without ``overwrite``.
    """
    import shutil
    import tempfile

    from camgeom.datasets import load
    from camgeom.testing._edits import copy_frame, edit_copy, metadata_files
    from camgeom.verification import verify

    if report.passed:
        return Repair(frame.frame_id, None, reason="passes: nothing to fix")
    within = _within_tolerance(report)
    if len(within) != 1:
        kinds = ", ".join(within) or "none"
        return Repair(
            frame.frame_id,
            None,
            reason=f"no unambiguous diagnosis (kinds that bring {report.diagnosis_check or 'the failures'} "
            f"within tolerance: {kinds})",
        )
    kind = within[0]
    assert frame.source is not None
    own = Path(frame.source).resolve()
    out = Path(out_dir).resolve()
    # the copy's dataset folder: Datagen frame ids are folder paths below it already
    final_root = out / frame.frame_id if frame.vendor == "synthesisai" else out
    target = out / frame.frame_id
    if target == own or own in target.parents or (own.is_file() and own.parent in target.parents):
        raise InvalidValueError(f"--fix folder {out_dir} is inside the frame's own files")
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".camgeom-fix-", dir=out))
    try:
        frame_dir = copy_frame(frame, scratch)
        before = {p: p.read_bytes() for p in metadata_files(frame, frame_dir)}
        edit_copy(frame, frame_dir, kind, undo=True)
        copy = load(scratch)
        fixed = verify(copy[0] if frame.vendor == "synthesisai" else copy[frame.frame_id])
        if not fixed.passed:
            names = ", ".join(c.name for c in fixed.failures)
            return Repair(frame.frame_id, None, reason=f"{kind} undone still fails: {names}")
        changed = tuple(
            str(p.relative_to(scratch)) for p, data in before.items() if p.read_bytes() != data
        )
        if Path(frame.depth_path or "").name and kind in (
            "depth_kind_swapped",
            "depth_millimetres",
        ):
            changed += (str((frame_dir / Path(str(frame.depth_path)).name).relative_to(scratch)),)
        moves = [
            (p, final_root / p.relative_to(scratch))
            for p in sorted(scratch.rglob("*"))
            if p.is_file()
        ]
        folders = [dst for _, dst in moves if dst.is_dir() and not dst.is_symlink()]
        if folders:  # checked before any file moves: a copy is placed whole or not at all
            return Repair(frame.frame_id, None, reason=f"{folders[0]} is a folder, not a file")
        clashes = [
            dst
            for src, dst in moves
            if (dst.exists() or dst.is_symlink())
            and not (dst.is_file() and dst.read_bytes() == src.read_bytes())
        ]
        if clashes and not overwrite:
            more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
            return Repair(
                frame.frame_id,
                None,
                reason=f"the corrected copy would replace {clashes[0]}{more}, which exists; "
                "pass --overwrite to replace it, or --fix a new folder",
            )
        for src, dst in moves:
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
        return Repair(frame.frame_id, kind, final_root, changed)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _within_tolerance(report: Report) -> list[str]:
    """Kinds of the diagnosis whose residual after falls within the primary check's tolerance."""
    name = report.diagnosis_check
    check = report[name] if name and name in report else None
    tol = check.tolerance if check is not None and check.tolerance is not None else 0.0
    return [d.kind for d in report.diagnosis if d.residual_after <= tol]


def diagnose_frames(
    frames: Iterable[tuple[Frame, Report]],
    *,
    fix: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
) -> Iterator[str]:
    """Lines to print for each failing frame's diagnosis; with ``fix``, repair and log.

    Parameters
    ----------
    frames : iterable of (Frame, Report)
        Failing frames with ``verify(frame, diagnose=True)`` reports.
    fix : str or os.PathLike, optional
        Folder for corrected copies and ``fix_log.json`` (written atomically).
    overwrite : bool, keyword-only
        Replace the files of earlier copies and an earlier ``fix_log.json``
        (see :func:`repair_frame`); without it they are kept.
    """
    from camgeom.io import atomic_output

    log: list[dict[str, Any]] = []
    for frame, report in frames:
        if report.passed:
            continue
        if not report.diagnosis:
            yield f"{report.frame_id}: no known kind of mistake explains the failures"
        for d in report.diagnosis:
            unit = report[report.diagnosis_check].unit if report.diagnosis_check in report else ""
            unit = f" {unit}" if unit else ""
            yield (
                f"{report.frame_id}: {d.kind}: {report.diagnosis_check or 'failing checks'} "
                f"{_fmt(d.residual_before)}{unit} -> {_fmt(d.residual_after)}{unit}"
            )
        if fix is not None:
            r = repair_frame(frame, report, fix, overwrite=overwrite)
            entry: dict[str, Any] = {"frame_id": r.frame_id, "kind": r.kind}
            if r.kind is None:
                entry["reason"] = r.reason
                yield f"{report.frame_id}: not fixed: {r.reason}"
            else:
                d = next(x for x in report.diagnosis if x.kind == r.kind)
                entry |= {
                    "folder": str(r.folder),
                    "files": list(r.files),
                    "check": report.diagnosis_check,
                    "residual_before": d.residual_before,
                    "residual_after": d.residual_after,
                }
                yield f"{report.frame_id}: fixed ({r.kind} undone) in {r.folder}: {', '.join(r.files)}"
            log.append(entry)
    if fix is not None:
        Path(fix).mkdir(parents=True, exist_ok=True)
        with atomic_output(Path(fix) / FIX_LOG, overwrite=overwrite) as tmp:
            tmp.write_text(json.dumps(log, indent=2))
        yield f"fix log: {Path(fix) / FIX_LOG}"


def _fmt(v: float) -> str:
    return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"

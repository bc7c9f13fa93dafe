"""The ``verify`` dataset job: every frame's checks, and the dataset report, streamed.

Each frame's :class:`~camgeom.verification.Report` travels as its dictionary
(:meth:`Report.to_dict`) in the manifest; :meth:`VerifyJob.reduce` then reads
the run's rows once, in order, keeping only the per-check summary in memory,
and writes the dataset report, ``verify.json`` (the layout of
:meth:`DatasetReport.to_dict`, one frame report per line), to the output
folder. Memory therefore does not grow with the number of frames.

Verify writes no per-frame files. With an output folder (``--out``), its
manifest is kept there, and a rerun verifies only the frames whose input files
or options changed (the others' reports are taken from the manifest); without
one, the run uses a temporary folder, deleted afterwards.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from camgeom.jobs.commit import FrameOutputs, JobOutputs
from camgeom.jobs.job import FrameResult, Job, JobSummary
from camgeom.jobs.manifest import FrameRow
from camgeom.jobs.runner import run_job
from camgeom.verification.report import (
    STATUSES,
    Check,
    DatasetReport,
    Diagnosis,
    Report,
    dataset_table,
)

if TYPE_CHECKING:
    from camgeom.datasets import Dataset, Frame

__all__ = [
    "REPORT_NAME",
    "VerifyJob",
    "VerifyRun",
    "copy_report",
    "report_from_dict",
    "run_verify",
]

#: File name of the dataset report in the output folder.
REPORT_NAME = "verify.json"


def _number(value: Any) -> float | None:
    """Inverse of the report's JSON numbers (``"inf"``, ``"-inf"``, None)."""
    if value is None:
        return None
    return float(value)


def _residual(value: Any) -> float:
    number = _number(value)
    return math.nan if number is None else number


def report_from_dict(data: Mapping[str, Any]) -> Report:
    """The :class:`Report` of :meth:`Report.to_dict` output.

    Examples
    --------
    >>> r = Report("f", "datagen", None, (Check("a", "pass", "error", float("inf")),))
    >>> report_from_dict(json.loads(r.to_json())) == r
    True
    """
    checks = tuple(
        Check(
            c["name"],
            c["status"],
            c["severity"],
            _number(c.get("value")),
            _number(c.get("tolerance")),
            c.get("unit", ""),
            c.get("message", ""),
            c.get("hint", ""),
        )
        for c in data["checks"]
    )
    found = data.get("diagnosis") or ()
    diagnosis = tuple(
        Diagnosis(d["kind"], _residual(d["residual_before"]), _residual(d["residual_after"]))
        for d in found
    )
    check = str(found[0].get("check") or "") if found else ""
    return Report(data["frame_id"], data["vendor"], data.get("version"), checks, diagnosis, check)


# ----------------------------------------------------------------------------- the job


@dataclass(frozen=True)
class VerifyJob(Job):
    """Verify each frame; see :func:`run_verify`.

    Items are frame sources (parsed in the worker) or parsed frames. Options as
    in :func:`camgeom.verification.verify`.
    """

    strict: bool = False
    occlusion_threshold: float | None = None
    use_depth: bool = True
    diagnose: bool = False

    name = "verify"
    suffixes = ()

    @property
    def options(self) -> Mapping[str, Any]:
        options: dict[str, Any] = {
            "strict": self.strict,
            "occlusion_threshold": self.occlusion_threshold,
            "use_depth": self.use_depth,
        }
        if self.diagnose:  # absent otherwise: manifests written without it stay valid
            options["diagnose"] = True
        return options

    def inputs(self, item: Any) -> Sequence[str]:
        if not hasattr(item, "read"):  # a parsed frame: nothing to fingerprint
            return ()
        from camgeom.jobs.project import source_inputs

        return source_inputs(item)

    def run(self, item: Any, out: FrameOutputs) -> FrameResult:
        from camgeom.verification import verify

        frame: Frame = item.read() if hasattr(item, "read") else item
        report = verify(
            frame,
            strict=self.strict,
            occlusion_threshold=self.occlusion_threshold,
            use_depth=self.use_depth,
            diagnose=self.diagnose,
        )
        return FrameResult(report.to_dict())

    def reduce(self, rows: Iterator[FrameRow], out: JobOutputs) -> Mapping[str, Any]:
        """Write ``verify.json``; return the counts and the per-check summary."""
        summary = _Summary()
        frames = failed_frames = unreadable = 0
        with (
            tempfile.TemporaryFile("w+", encoding="utf-8") as reports,
            tempfile.TemporaryFile("w+", encoding="utf-8") as bad,
        ):
            for row in rows:
                if row.state == "ok" and row.result is not None:
                    data = json.loads(row.result)
                    summary.add(data)
                    frames += 1
                    failed_frames += not data.get("passed", True)
                    reports.write(",\n" if frames > 1 else "\n")
                    reports.write(row.result)
                else:
                    unreadable += 1
                    entry = {"frame_id": row.frame_id, "message": _failure_message(row)}
                    bad.write(", " if unreadable > 1 else "")
                    bad.write(json.dumps(entry, ensure_ascii=False))
            table = summary.rows()
            totals = {
                "passed": not failed_frames and not unreadable,
                "frames": frames,
                "failed_frames": failed_frames,
                "unreadable": unreadable,
                "summary": table,
            }
            head = {k: totals[k] for k in ("passed", "frames", "failed_frames")}
            with open(out.path(REPORT_NAME), "w", encoding="utf-8") as f:
                f.write(json.dumps(head, allow_nan=False)[:-1])
                f.write(', "unreadable": [')
                bad.seek(0)
                shutil.copyfileobj(bad, f)
                f.write('], "summary": ')
                f.write(json.dumps(_json_summary(table), ensure_ascii=False, allow_nan=False))
                f.write(', "reports": [')
                reports.seek(0)
                shutil.copyfileobj(reports, f)
                f.write("\n]}\n")
        return totals


def _failure_message(row: FrameRow) -> str:
    kind = row.error_type or "Error"
    message = row.error_message or ""
    return f"{kind}: {message}" if message else kind


def _json_number(v: float | None) -> float | str | None:
    if v is None or math.isfinite(v):
        return v
    return None if math.isnan(v) else ("inf" if v > 0 else "-inf")


def _json_summary(table: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s | {"worst": _json_number(s["worst"])} for s in table]


class _Summary:
    """:meth:`DatasetReport.summary`, one frame report (a dictionary) at a time."""

    def __init__(self) -> None:
        self.by: dict[str, dict[str, Any]] = {}

    def add(self, report: Mapping[str, Any]) -> None:
        frame_id = report["frame_id"]
        for c in report["checks"]:
            status = c["status"]
            failed = status == "fail"
            value = _number(c.get("value"))
            hint = c.get("hint") or c.get("message") or ""
            s = self.by.get(c["name"])
            if s is None:
                s = self.by[c["name"]] = {
                    "check": c["name"],
                    "worst": None,
                    "tolerance": _number(c.get("tolerance")),
                    "unit": c.get("unit", ""),
                    "worst_frame": None,
                    "hint": "",
                    "_worst_failed": False,
                } | {k: 0 for k in STATUSES}
            s[status] += 1
            if value is not None:
                key = (failed, value)
                if s["worst"] is None or key > (s["_worst_failed"], s["worst"]):
                    s.update(
                        worst=value,
                        tolerance=_number(c.get("tolerance")),
                        unit=c.get("unit", ""),
                        worst_frame=frame_id,
                        _worst_failed=failed,
                    )
                    if failed:
                        s["hint"] = hint
            if failed and not s["hint"]:
                s["hint"] = hint
            elif status == "skip" and not s["fail"] and not s["hint"]:
                s["hint"] = f"skipped: {c.get('message', '')}"

    def rows(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in s.items() if k != "_worst_failed"} for s in self.by.values()]


# ----------------------------------------------------------------------------- running it


@dataclass(frozen=True)
class VerifyRun:
    """The outcome of :func:`run_verify`.

    Attributes
    ----------
    summary : JobSummary
        Frames done, kept and failed (a frame that raised is failed, i.e. unreadable).
    report_path : Path or None
        The dataset report (``verify.json``); None when it could not be written
        (see ``summary.failures``).
    """

    summary: JobSummary

    @property
    def report_path(self) -> Path | None:
        path = Path(self.summary.out_dir) / REPORT_NAME
        return path if self.summary.totals and path.is_file() else None

    @property
    def frames(self) -> int:
        """Frames verified (read and checked)."""
        return int(self.summary.totals.get("frames", 0))

    @property
    def failed_frames(self) -> int:
        """Verified frames with a failing check."""
        return int(self.summary.totals.get("failed_frames", 0))

    @property
    def unreadable(self) -> int:
        """Frames that could not be read or raised while being checked."""
        return int(self.summary.totals.get("unreadable", self.summary.failed))

    @property
    def passed(self) -> bool:
        """True when every frame was read and passed (and the report was written)."""
        return bool(self.summary.totals.get("passed", False)) and not self.summary.failures

    @property
    def exit_code(self) -> int:
        """0 passed; 2 no frame could be read; else 1."""
        if self.passed:
            return 0
        return 2 if self.unreadable and not self.frames else 1

    def table(self) -> str:
        """The dataset table of :class:`DatasetReport` (its ``str``), from the streamed summary."""
        return dataset_table(
            self.frames,
            self.failed_frames,
            self.unreadable,
            self.passed,
            self.summary.totals.get("summary", ()),
        )

    def iter_reports(self) -> Iterator[Report]:
        """Each frame's report, read back from ``verify.json`` one line at a time."""
        path = self.report_path
        if path is None:
            return
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith('{"frame_id"'):
                    yield report_from_dict(json.loads(line.rstrip().rstrip(",")))

    def dataset_report(self) -> DatasetReport:
        """Every frame's report in memory (for the library call; the CLI streams)."""
        path = self.report_path
        if path is None:
            unreadable = tuple(
                (f.frame_id, f"{f.error_type}: {f.message}") for f in self.summary.failures
            )
            return DatasetReport((), unreadable)
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return DatasetReport(
            tuple(report_from_dict(r) for r in data["reports"]),
            tuple((u["frame_id"], u["message"]) for u in data["unreadable"]),
        )


@contextmanager
def run_verify(
    dataset: Dataset | Iterable[Frame],
    out: str | os.PathLike[str] | None = None,
    *,
    strict: bool = False,
    occlusion_threshold: float | None = None,
    use_depth: bool = True,
    diagnose: bool = False,
    workers: int | None = None,
    scheduler: Any = None,
    overwrite: bool = False,
    progress: bool = True,
    debug: bool = False,
) -> Iterator[VerifyRun]:
    """Verify every frame through the job runner; yield the outcome while its report exists.

    Parameters
    ----------
    dataset : Dataset or iterable of Frame
        A dataset (its frames are parsed in the workers) or parsed frames (run
        in this process unless ``workers`` or ``scheduler`` says otherwise).
    out : str or os.PathLike, optional
        Keep the manifest and ``verify.json`` in this folder: a rerun verifies
        only the frames whose files or options changed. Default: a temporary
        folder, deleted when the ``with`` block ends.
    strict, occlusion_threshold, use_depth, diagnose
        As in :func:`camgeom.verification.verify` (a failing frame's report then
        carries its diagnosis, in the workers, at no extra read).
    workers, scheduler, overwrite, progress, debug
        As in :func:`camgeom.jobs.run_job`.

    Yields
    ------
    VerifyRun

    Examples
    --------
    >>> import tempfile, camgeom
    >>> from camgeom.demo import make_demo_dataset
    >>> paths = make_demo_dataset(tempfile.mkdtemp() + "/demo")
    >>> with run_verify(camgeom.load(paths.datagen), workers=1, progress=False) as run:
    ...     run.passed, run.frames > 0, run.exit_code
    (True, True, 0)
    """
    from camgeom.datasets import Dataset
    from camgeom.verification import _check_threshold

    _check_threshold(occlusion_threshold)
    job = VerifyJob(bool(strict), occlusion_threshold, bool(use_depth), bool(diagnose))
    if isinstance(dataset, Dataset):
        items: Iterable[Any] = dataset.sources
        root: Any = dataset.root
    else:
        items, root = dataset, None
        if workers is None and scheduler is None:
            workers = 1  # parsed frames: no pickling unless asked for
    tmp = None
    if out is None:
        tmp = tempfile.mkdtemp(prefix="camgeom-verify-")
        out = tmp
    try:
        summary = run_job(
            job,
            items,
            out,
            root=root,
            workers=workers,
            scheduler=scheduler,
            overwrite=overwrite or tmp is not None,
            progress=progress,
            debug=debug,
        )
        yield VerifyRun(summary)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def copy_report(run: VerifyRun, target: str | os.PathLike[str], *, overwrite: bool) -> None:
    """Write ``run``'s dataset report to ``target`` atomically (streamed, any file system)."""
    from camgeom.io import atomic_output

    path = run.report_path
    if path is None:
        raise FileNotFoundError(f"no dataset report was written in {run.summary.out_dir}")
    with atomic_output(target, overwrite=overwrite) as tmp, open(path, "rb") as src:
        with open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst)

"""Run a job over a dataset: resume, parallel workers or a Dask cluster, isolated failures.

The main process iterates the items lazily, skips the ones the manifest says
are up to date, and keeps at most ``4 x workers`` frames in flight, so memory
does not grow with the dataset. Workers write each frame's outputs under
temporary names; the main process commits them together and records the
outcome (see :mod:`camgeom.jobs.commit`). An exception in one frame fails that
frame only.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
import traceback
from collections.abc import Collection, Iterable, Mapping, Sized
from typing import Any

from camgeom.errors import CamgeomError, InvalidValueError
from camgeom.jobs.backends import (
    Backend,
    DaskBackend,
    InlineBackend,
    ProcessBackend,
    TaskOutcome,
    WorkerLost,
    resolve_workers,
)
from camgeom.jobs.commit import JobOutputs, StagedFrame, clean_orphans, commit_frames
from camgeom.jobs.job import (
    MAX_LISTED,
    FrameFailure,
    FrameWarning,
    Job,
    JobSummary,
    fingerprint,
    options_digest,
)
from camgeom.jobs.lock import RunLock, prepare_output_dir
from camgeom.jobs.manifest import FrameRow, Manifest, ManifestError
from camgeom.jobs.naming import MAX_SUFFIX_BYTES, output_stem

__all__ = ["run_job"]

_WINDOW_PER_WORKER = 4  # tasks in flight per worker
_FLUSH_FRAMES = 256
_FLUSH_SECONDS = 0.5
#: A row's ``inputs`` until its worker has fingerprinted them (never a fingerprint: those are JSON).
_PENDING = ""


def run_job(
    job: Job,
    items: Iterable[Any],
    out_dir: str | os.PathLike[str],
    *,
    root: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    overwrite: bool = False,
    progress: bool = True,
    debug: bool = False,
) -> JobSummary:
    """Run ``job`` on every item and commit the outputs to ``out_dir``.

    Parameters
    ----------
    job : Job
        What to do per frame (and, in :meth:`Job.reduce`, once at the end).
    items : iterable
        The frames, iterated once and lazily: pass unparsed frame sources so that
        parsing happens in the workers. Ids must be unique.
    out_dir : str or os.PathLike
        Output folder; created when missing. Its ``.camgeom`` folder holds the
        manifest and the run lock.
    root : str or os.PathLike, keyword-only, optional
        Dataset root: input paths under it are fingerprinted relative to it.
        Default: ``items.root`` when present.
    workers : int, keyword-only, optional
        Local worker processes; 1 runs every frame in this process. Default:
        every core this process may use, unless a Dask scheduler is configured.
        Never more processes than ``items`` (when it has a length) are started.
    scheduler : str or distributed.Client, keyword-only, optional
        Run on this Dask cluster instead of local processes. Default: the
        ``CAMGEOM_DASK_SCHEDULER`` environment variable when ``workers`` is not given.
    overwrite : bool, keyword-only
        Redo every frame, and replace files camgeom did not write.
    progress : bool, keyword-only
        Show a progress bar on stderr.
    debug : bool, keyword-only
        Keep each failure's traceback in the summary.

    Returns
    -------
    JobSummary

    Raises
    ------
    InvalidValueError
        Bad arguments or job definition (before any frame runs).
    OutputFolderError, OutputLockedError, ManifestError
        The output folder is unusable, in use by another run, or its manifest is
        damaged.
    CamgeomError
        The Dask scheduler cannot be reached or dask is not installed.

    Examples
    --------
    >>> import tempfile
    >>> from dataclasses import dataclass
    >>> from pathlib import Path
    >>> from camgeom.jobs import FrameResult, Job
    >>> @dataclass(frozen=True)
    ... class Shout(Job):
    ...     name = "shout"
    ...     suffixes = (".txt",)
    ...     def frame_id(self, item):
    ...         return item
    ...     def run(self, item, out):
    ...         _ = out.path(".txt").write_text(item.upper())
    ...         return FrameResult({"chars": len(item)})
    >>> out = tempfile.mkdtemp()
    >>> summary = run_job(Shout(), ["sai.v2/0", "a b/1"], out, workers=1, progress=False)
    >>> summary.done, summary.kept, summary.exit_code
    (2, 0, 0)
    >>> sorted(p.relative_to(out).as_posix() for p in Path(out).rglob("*.txt"))
    ['a%20b/1.txt', 'sai.v2/0.txt']
    >>> run_job(Shout(), ["sai.v2/0", "a b/1"], out, workers=1, progress=False).kept
    2
    """
    start = time.perf_counter()
    _check_not_bootstrapping()
    _check_job(job)
    if scheduler is not None and workers is not None:
        raise InvalidValueError("Pass either `workers` (local processes) or `scheduler` (Dask).")
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise InvalidValueError(f"Expected `workers` to be an integer >= 1, got {workers!r}.")
    scheduler, local_workers = resolve_workers(workers, scheduler)
    options = job.options
    options_text, options_hash = options_digest(job, options)
    if root is None:
        root = getattr(items, "root", None)

    out = prepare_output_dir(out_dir)
    with RunLock(out), Manifest.open(out, reset_damaged=overwrite) as manifest:
        try:
            _check_suffixes(job, manifest.job_suffixes())
            manifest.register_job(job.name, job.suffixes)
            if not manifest.last_run_finished():
                clean_orphans(out)
            manifest.add_options(options_hash, options_text)
            run_id = manifest.start_run(job.name, options_hash)
            if isinstance(items, Sized):  # a worker with no frame to run is never started
                local_workers = min(local_workers, max(1, len(items)))
            if scheduler is not None:
                backend: Backend = DaskBackend(job, scheduler)
            elif local_workers == 1:
                backend = InlineBackend(job)
            else:
                backend = ProcessBackend(job, local_workers)
            state = _Run(job, manifest, backend, run_id, overwrite=overwrite, debug=debug)
            state.options_hash = options_hash
            state.root = None if root is None else os.fspath(root)
            total = len(items) if isinstance(items, Sized) else None
            state.run(items, total=total, progress=progress)
            totals = state.reduce()
            manifest.finish_run(run_id, state.counts())
            if state.unclean:
                clean_orphans(out)
        except sqlite3.Error as exc:
            raise ManifestError(f"Cannot update the manifest in {out}: {exc}.") from None
    return JobSummary(
        job=job.name,
        out_dir=os.fspath(out),
        backend=backend.name,
        workers=backend.workers,
        done=state.done,
        kept=state.kept,
        failed=state.failed,
        failures=tuple(state.failures),
        warned=state.warned,
        warnings=tuple(state.warnings),
        elapsed=time.perf_counter() - start,
        totals=dict(totals),
    )


# ----------------------------------------------------------------------------- checks


UNGUARDED_MAIN = (
    "worker processes import the program's main script, so its work must be under "
    '`if __name__ == "__main__":`'
)


def _check_not_bootstrapping() -> None:
    """Refuse a run started while a worker process imports the main script.

    multiprocessing imports the program's ``__main__`` in its fork server and
    spawned workers; a script that starts a dataset job at top level would start
    it again there, and again in its workers.
    """
    import multiprocessing

    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise CamgeomError(
            f"A camgeom dataset job was started while a worker process imported the main "
            f"script: {UNGUARDED_MAIN}, or the job run with workers=1."
        )


def _check_job(job: Job) -> None:
    if not isinstance(job, Job):
        raise InvalidValueError(
            f"Expected `job` to be a camgeom.jobs.Job, got {type(job).__name__}."
        )
    if not isinstance(job.name, str) or not job.name.strip():
        raise InvalidValueError(f"Expected {type(job).__name__}.name to be a non-empty str.")
    seen: list[str] = []
    for suffix in job.suffixes:
        if (
            not isinstance(suffix, str)
            or not suffix.startswith(".")
            or len(suffix.encode("utf-8", "surrogateescape")) > MAX_SUFFIX_BYTES
            or any(c in suffix for c in "/\\\0")
        ):
            raise InvalidValueError(
                f"Expected each suffix of job {job.name!r} to start with '.', hold no "
                f"path separator and be at most {MAX_SUFFIX_BYTES} bytes, got {suffix!r}."
            )
        for other in seen:
            if suffix == other or suffix.endswith(other) or other.endswith(suffix):
                raise InvalidValueError(
                    f"Job {job.name!r} declares suffixes {other!r} and {suffix!r}: one ends "
                    "the other, so two frames could get the same file name."
                )
        seen.append(suffix)


def _check_suffixes(job: Job, known: Mapping[str, tuple[str, ...]]) -> None:
    for name, theirs in known.items():
        if name == job.name:
            continue
        for mine in job.suffixes:
            for other in theirs:
                if mine.endswith(other) or other.endswith(mine):
                    raise InvalidValueError(
                        f"Job {job.name!r} appends {mine!r} to output names and job {name!r} "
                        f"already wrote {other!r} files in this folder: their names could "
                        "collide. Choose another output folder."
                    )


# ----------------------------------------------------------------------------- the run


class _Run:
    """The state of one run in the main process."""

    def __init__(
        self,
        job: Job,
        manifest: Manifest,
        backend: Backend,
        run_id: int,
        *,
        overwrite: bool,
        debug: bool,
    ) -> None:
        self.job = job
        self.manifest = manifest
        self.backend = backend
        self.run_id = run_id
        self.overwrite = overwrite
        self.debug = debug
        self.out = os.fspath(manifest.out_dir)
        self.options_hash = ""
        self.root: str | None = None
        self.per_frame_options = type(job).frame_options is not Job.frame_options
        self._last_options: tuple[dict[str, Any], str] | None = None
        self.window = _WINDOW_PER_WORKER * backend.workers if backend.name != "inline" else 1
        self.in_flight: dict[Any, list[tuple[FrameRow, Any]]] = {}
        self.chunk: list[tuple[FrameRow, Any]] = []
        self.chunk_size = 1
        self.frame_seconds: float | None = None
        self.batch: list[StagedFrame] = []
        self.seen: list[tuple[str, int]] = []
        self.last_flush = time.monotonic()
        self.done = self.kept = self.failed = self.warned = 0
        self.failures: list[FrameFailure] = []
        self.warnings: list[FrameWarning] = []
        self.unclean = False
        #: frames already rerun as a task of their own (a second loss there is theirs)
        self.ran_alone: set[str] = set()
        self.bar: Any = None
        # No frame of this job in the manifest yet: none can be up to date, so the
        # workers fingerprint the inputs (in parallel) instead of this process.
        self.fresh = not manifest.has_frames(job.name)

    def counts(self) -> dict[str, int]:
        return {"done": self.done, "kept": self.kept, "failed": self.failed}

    # ------------------------------------------------------------------ main loop
    def run(self, items: Iterable[Any], *, total: int | None, progress: bool) -> None:
        if progress:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total, desc=self.job.name, unit="frame", file=sys.stderr, leave=False
            )
        try:
            for seq, item in enumerate(items):
                row = self._prepare(seq, item)
                if row is None:
                    continue
                self.chunk.append((row, item))
                if len(self.chunk) >= self._task_size(total, seq):
                    self._submit()
            self._submit()
            while self.in_flight:
                self._collect(self.backend.wait(self.in_flight))
        finally:
            pending = list(self.in_flight)
            self.in_flight.clear()
            self.backend.close(pending)
            if pending:
                self.unclean = True
            self._flush()
            if self.bar is not None:
                self.bar.close()

    def _task_size(self, total: int | None, seq: int) -> int:
        """Frames in the task being gathered: :attr:`chunk_size`, smaller near the end.

        With ``left`` frames from the task's first on, a task takes at most
        ``ceil(left / (2 * workers))`` of them (guided self-scheduling): the last
        tasks are short, so the workers finish together instead of one of them
        running a long last task alone.
        """
        workers = self.backend.workers
        if total is None or workers < 2:
            return self.chunk_size
        left = total - seq - 1 + len(self.chunk)
        return max(1, min(self.chunk_size, -(-left // (2 * workers))))

    def _submit(self) -> None:
        """Send the frames gathered so far as one task, once the window has room."""
        if not self.chunk:
            return
        while len(self.in_flight) >= self.window:
            self._collect(self.backend.wait(self.in_flight))
        chunk, self.chunk = self.chunk, []
        tasks = [self._task(row, item) for row, item in chunk]
        self.in_flight[self.backend.submit(self.out, tasks)] = chunk

    def _task(self, row: FrameRow, item: Any) -> tuple[Any, ...]:
        if row.inputs == _PENDING:  # the worker takes the fingerprint
            return (item, row.frame_id, row.stem, (self.root,))
        return (item, row.frame_id, row.stem)

    def _prepare(self, seq: int, item: Any) -> FrameRow | None:
        """The frame's manifest row, or None when it is up to date (or failed already)."""
        job = self.job
        frame_id = f"#{seq}"
        try:
            frame_id = job.frame_id(item)
            stem = output_stem(frame_id)
            options_hash = self.options_hash
            if self.per_frame_options:
                options_hash = self._frame_options_hash(job.frame_options(item))
            if self.fresh:
                return FrameRow(
                    job.name, frame_id, stem, options_hash, _PENDING, run=self.run_id, seq=seq
                )
            inputs = fingerprint(job.inputs(item), root=self.root)
        except Exception as exc:
            row = FrameRow(
                job.name, frame_id, "", self.options_hash, "[]", run=self.run_id, seq=seq
            )
            error = (type(exc).__name__, str(exc), traceback.format_exc())
            self._stage(row, TaskOutcome((), None, (), error, 0.0))
            return None
        if not self.overwrite and self.manifest.is_done(job.name, frame_id, options_hash, inputs):
            self.kept += 1
            self.seen.append((frame_id, seq))
            self._tick()
            if len(self.seen) >= 4 * _FLUSH_FRAMES:
                self._flush()
            return None
        return FrameRow(job.name, frame_id, stem, options_hash, inputs, run=self.run_id, seq=seq)

    def _frame_options_hash(self, options: Mapping[str, Any]) -> str:
        # Consecutive frames mostly share their options: hash each distinct set once.
        if self._last_options is not None and self._last_options[0] == options:
            return self._last_options[1]
        text, digest = options_digest(self.job, options)
        self.manifest.add_options(digest, text)
        self._last_options = (dict(options), digest)
        return digest

    def _collect(self, done: Collection[Any]) -> None:
        lost: list[tuple[FrameRow, Any]] = []
        alone: list[tuple[FrameRow, Any]] = []
        for future in done:
            chunk = self.in_flight.pop(future)
            try:
                outcomes = self.backend.result(future)
            except WorkerLost:
                lost.extend(chunk)
                continue
            except Exception as exc:  # a task lost or cancelled on a cluster
                self.unclean = True
                # Find which frame is to blame: a task that shared a dying worker with
                # another frame's crash is lost too (Dask's KilledWorker counts every task
                # on the worker), so every frame gets one run of its own before it fails.
                if len(chunk) > 1 or chunk[0][0].frame_id not in self.ran_alone:
                    alone.extend(chunk)
                    continue
                error = (type(exc).__name__, str(exc), traceback.format_exc())
                outcomes = [TaskOutcome((), None, (), error, 0.0)]
            else:
                self._adapt(outcomes)
            for (row, _), outcome in zip(chunk, outcomes, strict=True):
                self._stage(row, outcome)
        if lost:
            self._recover(lost)
        for row, item in alone:
            self._run_alone(row, item)

    def _adapt(self, outcomes: list[TaskOutcome]) -> None:
        """Size tasks to about ``backend.task_seconds`` of work: few round trips for small frames."""
        if self.backend.name == "inline" or not outcomes:
            return
        seconds = sorted(o.duration for o in outcomes)[len(outcomes) // 2]  # the median
        previous = self.frame_seconds
        if previous is None or seconds < previous / 4:
            # first estimate, or a worker's first frame (imports, kernel loading) was the last
            self.frame_seconds = seconds
        else:  # clipped: a lone slow frame (a new worker's first) moves it little
            self.frame_seconds = 0.8 * previous + 0.2 * min(seconds, 4 * previous)
        size = int(self.backend.task_seconds / max(self.frame_seconds, 1e-6))
        self.chunk_size = max(1, min(self.backend.max_task_frames, size))

    def _recover(self, lost: list[tuple[FrameRow, Any]]) -> None:
        """A worker died: rerun each frame that was in flight alone, to find the culprit."""
        self.unclean = True
        self.backend.restart()  # every other task of the broken pool is finished now
        for future, chunk in list(self.in_flight.items()):
            try:
                outcomes = self.backend.result(future)
            except Exception:  # died with the pool, or cancelled by its shutdown
                lost.extend(chunk)
                continue
            for (row, _), outcome in zip(chunk, outcomes, strict=True):
                self._stage(row, outcome)
        self.in_flight.clear()
        for row, item in lost:
            self._run_alone(row, item)

    def _run_alone(self, row: FrameRow, item: Any) -> None:
        """Run one frame as a task of its own and wait for it."""
        self.ran_alone.add(row.frame_id)
        future = self.backend.submit(self.out, [self._task(row, item)])
        self.backend.wait([future])
        try:
            (outcome,) = self.backend.result(future)
        except WorkerLost:
            self.backend.restart()
            message = (
                "the worker process died while running this frame (killed, out of "
                "memory, or a crash in compiled code)"
            )
            outcome = TaskOutcome((), None, (), ("WorkerLost", message, ""), 0.0)
        except Exception as exc:
            error = (type(exc).__name__, str(exc), traceback.format_exc())
            outcome = TaskOutcome((), None, (), error, 0.0)
        self._stage(row, outcome)

    def _stage(self, row: FrameRow, outcome: TaskOutcome) -> None:
        row = row.evolve(
            result=outcome.result, warnings=outcome.warnings, duration=outcome.duration
        )
        if row.inputs == _PENDING:  # fingerprinted by the worker ("[]": it failed before that)
            row = row.evolve(inputs=outcome.inputs or "[]")
        self.batch.append(StagedFrame(row, outcome.staged, outcome.error, outcome.checked))
        self._tick()
        if len(self.batch) >= _FLUSH_FRAMES or time.monotonic() - self.last_flush >= _FLUSH_SECONDS:
            self._flush()

    def _tick(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def _flush(self) -> None:
        self.last_flush = time.monotonic()
        if self.seen:
            seen, self.seen = self.seen, []
            self.manifest.mark_seen(self.job.name, self.run_id, seen)
        if not self.batch:
            return
        batch, self.batch = self.batch, []
        failed_before = self.failed
        for row in commit_frames(self.manifest, batch, overwrite=self.overwrite):
            self._count(row)
        if self.bar is not None and self.failed != failed_before:
            self.bar.set_postfix(failed=self.failed)

    def _count(self, row: FrameRow) -> None:
        if row.state == "ok":
            self.done += 1
        else:
            self.failed += 1
            if len(self.failures) < MAX_LISTED:
                self.failures.append(self._failure(row))
        if row.warnings:
            self.warned += 1
            for message in row.warnings:
                if len(self.warnings) < MAX_LISTED:
                    self.warnings.append(FrameWarning(row.frame_id, message))

    def _failure(self, row: FrameRow) -> FrameFailure:
        return FrameFailure(
            row.frame_id,
            row.error_type or "Error",
            row.error_message or "",
            row.traceback if self.debug else None,
        )

    # ------------------------------------------------------------------ job level
    def reduce(self) -> Mapping[str, Any]:
        """Run the job's reduce step over the run's rows and commit its outputs."""
        job = self.job
        if type(job).reduce is Job.reduce:
            return {}
        out = JobOutputs(self.out)
        totals: Mapping[str, Any] = {}
        error = None
        try:
            totals = job.reduce(self.manifest.run_rows(job.name, self.run_id), out)
        except Exception as exc:
            out.discard()
            error = (type(exc).__name__, str(exc), traceback.format_exc())
        row = FrameRow(job.name, "", "", self.options_hash, "[]", run=self.run_id, seq=-1)
        staged, checked = out.checked()
        (final,) = commit_frames(
            self.manifest, [StagedFrame(row, staged, error, checked)], overwrite=self.overwrite
        )
        if final.state != "ok":
            self.failures.append(self._failure(final))
        return totals or {}

"""What every ``camgeom`` command shares: exit codes, console, argument checks and options.

Used by :mod:`camgeom.cli` and by the commands it registers from other
packages (``camgeom export``, :mod:`camgeom.export.cli`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from camgeom.errors import CamgeomError

if TYPE_CHECKING:
    from camgeom.datasets import Dataset, Frame
    from camgeom.jobs import JobSummary

#: Exit codes of every command (see :mod:`camgeom.cli`).
EXIT_OK, EXIT_FAIL, EXIT_INPUT = 0, 1, 2


class _Console:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def say(self, text: str = "") -> None:
        print(text)

    def err(self, text: str) -> None:
        print(text, file=sys.stderr)

    def progress(self, items: Any, total: int | None, desc: str) -> Any:
        if self.quiet:
            return items
        from tqdm import tqdm

        return tqdm(items, total=total, desc=desc, unit="frame", file=sys.stderr, leave=False)


class _UsageError(CamgeomError, ValueError):
    """A command-line argument no frame could use (exit 2 before any frame runs)."""


def _load(path: str, console: _Console) -> Dataset | None:
    from camgeom.datasets import load

    try:
        return load(path)
    except FileNotFoundError as exc:
        console.err(f"error: {exc}")
    except CamgeomError as exc:
        console.err(f"error: {exc}")
    return None


def _csv_list(value: str | None, option: str = "") -> list[str] | None:
    """``"a, b"`` -> ``["a", "b"]``; None when the option was not given.

    A given value that names nothing (``""``, ``","``) is refused (exit 2): it
    would otherwise read as "every one".
    """
    if value is None:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names:
        raise _UsageError(f"{option or 'the list'} is empty: name at least one, comma-separated.")
    return names


def _frames(ds: Dataset, console: _Console, desc: str) -> Iterator[Frame]:
    ds.errors = []
    yield from console.progress(ds.iter_frames(on_error="collect"), len(ds), desc)


def _check_job_args(args: argparse.Namespace) -> None:
    """Refuse arguments of the per-frame jobs that no frame could use."""
    workers = getattr(args, "workers", None)
    if workers is not None and workers < 1:
        raise _UsageError(f"--workers must be at least 1, got {workers}.")
    if workers is not None and workers > MAX_WORKERS_PER_CORE * _cores():
        raise _UsageError(
            f"--workers {workers} is more than {MAX_WORKERS_PER_CORE} per core (this machine "
            f"has {_cores()}): processes beyond the cores add memory and start-up time, not "
            f"speed. Pass at most {MAX_WORKERS_PER_CORE * _cores()}, or leave --workers out "
            "to use every core."
        )
    if workers is not None and getattr(args, "scheduler", None):
        raise _UsageError(
            "pass either --workers (local processes) or --scheduler (Dask), not both."
        )
    if hasattr(args, "workers"):
        from camgeom.jobs.backends import check_scheduler_address, resolve_workers

        scheduler, _ = resolve_workers(workers, getattr(args, "scheduler", None) or None)
        if isinstance(scheduler, str):
            try:
                check_scheduler_address(scheduler)
            except CamgeomError as exc:
                raise _UsageError(str(exc)) from None
    out = getattr(args, "out", None)
    if out is not None:
        if not str(out).strip():
            raise _UsageError("--out is empty: name the output folder.")
        _check_writable_folder(Path(out), "--out", may_create=True)
    _start_local_workers_early(args)


MAX_WORKERS_PER_CORE = 8
"""``--workers`` above this many per local core is refused (a typo, not a plan)."""


def _cores() -> int:
    from camgeom.jobs.backends import local_cores

    return local_cores()


def _start_local_workers_early(args: argparse.Namespace) -> None:
    """Let local workers' imports run while the dataset is listed (see start_worker_server)."""
    from camgeom.jobs.backends import resolve_workers, start_worker_server

    if not hasattr(args, "workers"):
        return
    scheduler, workers = resolve_workers(args.workers, getattr(args, "scheduler", None) or None)
    if scheduler is None and workers > 1:
        start_worker_server()


def _check_writable_folder(path: Path, what: str, *, may_create: bool) -> None:
    """Exit-2 check of an output folder (``may_create``: its nearest existing parent)."""
    probe = path
    if may_create:
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise _UsageError(f"{what} {path}: {probe} is a file, not a folder.")
    if not probe.exists():
        raise _UsageError(f"{what} {path}: the folder {probe} does not exist.")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise _UsageError(f"{what} {path}: the folder {probe} is not writable.")


def _report(console: _Console, summary: JobSummary, what: str) -> None:
    """Print a job's summary line, its warnings and failures."""
    console.say(
        f"{summary.done} {what} done, {summary.kept} kept (unchanged since the last run), "
        f"{summary.failed} failed" + (f", {summary.warned} with warnings" if summary.warned else "")
    )
    for w in summary.warnings:
        console.err(f"WARNING {w}")
    for f in summary.failures:
        console.err(f"FAILED {f}")
        if f.traceback:
            console.err(f.traceback)


def _job_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "workers": args.workers,
        "scheduler": args.scheduler or None,
        "overwrite": args.overwrite,
        "progress": not args.quiet,
        "debug": args.debug,
    }


# ----------------------------------------------------------------------------- options


def _add_console_options(p: argparse.ArgumentParser) -> None:
    """--quiet and --debug, on every command."""
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    p.add_argument("--debug", action="store_true", help="show tracebacks of failures")


def _add_parallel_options(p: argparse.ArgumentParser) -> None:
    """--workers and --scheduler, on every command that runs a dataset job."""
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="local worker processes (default: every core; 1 runs in this process; never more "
        "than frames, at most 8 per core)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on this Dask scheduler (default: $CAMGEOM_DASK_SCHEDULER when set)",
    )


def _add_job_options(p: argparse.ArgumentParser) -> None:
    """PATH, --out, --workers, --scheduler and --overwrite of a per-frame job."""
    p.add_argument("path", help="dataset, render, camera folder or metadata file")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created)")
    _add_parallel_options(p)
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="redo every frame (a rerun already redoes the frames whose inputs or options changed)",
    )

"""What a dataset job is, what one frame returns, and what a run reports.

A job subclasses :class:`Job` (usually as a frozen dataclass holding its
options) and says, for one item of the dataset (a not-yet-parsed frame source,
or a scene): its id, its input files, and how to make its outputs. The runner
(:func:`camgeom.jobs.run_job`) does everything else: naming, skipping what is
done, parallel execution, committing, the manifest and the summary.
"""

from __future__ import annotations

import hashlib
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, ClassVar

from camgeom.errors import InvalidValueError
from camgeom.jobs.commit import FrameOutputs, JobOutputs
from camgeom.jobs.manifest import FrameRow

__all__ = [
    "MAX_LISTED",
    "FrameFailure",
    "FrameResult",
    "FrameWarning",
    "Job",
    "JobSummary",
    "canonical_json",
    "fingerprint",
    "json_default",
    "options_digest",
]

#: How many failures and warnings a :class:`JobSummary` lists (all are in the manifest).
MAX_LISTED = 1000


@dataclass(frozen=True)
class FrameResult:
    """What :meth:`Job.run` returns for one frame besides its files.

    Parameters
    ----------
    data : Mapping
        JSON-serialisable payload, kept in the manifest and handed to
        :meth:`Job.reduce` (e.g. a frame's check results, a point count).
        numpy arrays and scalars, paths and sets are converted; non-finite
        floats are stored as ``null``.
    warnings : tuple of str
        Things the user should know, e.g. "no RGB image: cloud written without colours".
    """

    data: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


class Job(ABC):
    """A per-frame job over a dataset; subclass it and implement :meth:`run`.

    Subclasses must be importable top-level classes and picklable (they are
    sent to worker processes and Dask workers), and their methods must not rely
    on state of the main process.

    Attributes
    ----------
    name : str
        Job name (``"project"``); keys the manifest, so two jobs may share an
        output folder.
    version : str
        Bump it when the job's outputs change for the same options: every frame
        is then redone.
    suffixes : tuple of str
        Every suffix :meth:`run` may append to a frame's output stem
        (``".overlay.png"``). No suffix may be the tail of another, in this job
        or in another job writing to the same folder (``".png"`` and
        ``".overlay.png"`` would let frame ``"a.overlay"`` and frame ``"a"``
        collide).
    """

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    suffixes: ClassVar[tuple[str, ...]] = ()

    @property
    def options(self) -> Mapping[str, Any]:
        """The options that shape the outputs (JSON-serialisable); changing one redoes frames."""
        return {}

    def frame_id(self, item: Any) -> str:
        """The item's id, a ``/``-separated path relative to the dataset root."""
        return str(item.frame_id)

    def inputs(self, item: Any) -> Sequence[str | os.PathLike[str]]:
        """The item's input files (their size and mtime decide whether it is redone)."""
        return ()

    def frame_options(self, item: Any) -> Mapping[str, Any]:
        """The options that shape this item's outputs (default: :attr:`options`).

        Override when only some options matter for some frames, so that changing
        an option redoes only the frames it affects.
        """
        return self.options

    @abstractmethod
    def run(self, item: Any, out: FrameOutputs) -> FrameResult | None:
        """Make one item's outputs, writing each to ``out.path(suffix)``.

        Runs in a worker. Any exception fails this item only; its partial
        outputs are discarded.
        """

    def reduce(self, rows: Iterator[FrameRow], out: JobOutputs) -> Mapping[str, Any]:
        """Make job-level outputs from every frame of the run; return job totals.

        ``rows`` streams the manifest rows of the frames this run saw (made,
        kept or failed) in the run's order; :attr:`FrameRow.data` is each
        frame's payload. Write files to ``out.path(name)``; they are committed
        like a frame's outputs. Runs in the main process.
        """
        return {}


@dataclass(frozen=True)
class FrameFailure:
    """One frame that failed: its id (``""`` for the job-level step), error type and message."""

    frame_id: str
    error_type: str
    message: str
    traceback: str | None = None

    def __str__(self) -> str:
        return f"{self.frame_id or '(job)'}: {self.error_type}: {self.message}"


@dataclass(frozen=True)
class FrameWarning:
    """A warning raised for one frame."""

    frame_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.frame_id}: {self.message}"


@dataclass(frozen=True)
class JobSummary:
    """What a run did.

    Parameters
    ----------
    job : str
    out_dir : str
    backend : {"inline", "processes", "dask"}
    workers : int
        Worker processes (inline: 1; Dask: threads on the cluster).
    done : int
        Frames made by this run.
    kept : int
        Frames skipped because their outputs were up to date.
    failed : int
        Frames that failed.
    failures : tuple of FrameFailure
        The first :data:`MAX_LISTED` frame failures (all are in the manifest),
        then the job-level step's failure, if any (``frame_id == ""``).
    warned : int
        Frames with warnings.
    warnings : tuple of FrameWarning
        The first :data:`MAX_LISTED` warnings.
    elapsed : float
        Seconds.
    totals : Mapping
        Job-specific totals returned by :meth:`Job.reduce`.
    """

    job: str
    out_dir: str
    backend: str
    workers: int
    done: int
    kept: int
    failed: int
    failures: tuple[FrameFailure, ...] = ()
    warned: int = 0
    warnings: tuple[FrameWarning, ...] = ()
    elapsed: float = 0.0
    totals: Mapping[str, Any] = field(default_factory=dict)

    @property
    def frames(self) -> int:
        """Frames seen: done + kept + failed."""
        return self.done + self.kept + self.failed

    @property
    def exit_code(self) -> int:
        """0 when nothing failed, else 1 (a frame or the job-level step failed)."""
        return 1 if self.failed or self.failures else 0


# ----------------------------------------------------------------------------- hashing


def json_default(value: Any) -> Any:
    """JSON form of paths, sets and numpy values (``default=`` of :func:`json.dumps`)."""
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars
    if callable(tolist):
        return tolist()
    item = getattr(value, "item", None)  # other scalars of array libraries
    if callable(item):
        return item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def canonical_json(value: Any) -> str:
    """Canonical JSON text of ``value``: sorted keys, no spaces, UTF-8, no NaN.

    Examples
    --------
    >>> canonical_json({"b": (1, 2), "a": {"z", "y"}})
    '{"a":["y","z"],"b":[1,2]}'
    """
    try:
        return json.dumps(
            value,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
            default=json_default,
        )
    except (TypeError, ValueError) as exc:
        raise InvalidValueError(
            f"Expected job options to be JSON-serialisable (numbers, text, lists, "
            f"mappings, paths), got {value!r}: {exc}."
        ) from None


def options_digest(job: Job, options: Mapping[str, Any]) -> tuple[str, str]:
    """``(canonical JSON, SHA-256 hex)`` of a job's options, with its name and version.

    Examples
    --------
    >>> class Echo(Job):
    ...     name = "echo"
    ...     def run(self, item, out): return None
    >>> text, digest = options_digest(Echo(), {"stride": 2})
    >>> text, len(digest)
    ('{"job":"echo","options":{"stride":2},"version":"1"}', 64)
    """
    text = canonical_json({"job": job.name, "version": job.version, "options": dict(options)})
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


def fingerprint(paths: Iterable[str | os.PathLike[str]], *, root: str | None = None) -> str:
    """Canonical JSON ``[[path, size, mtime_ns], ...]`` of input files.

    Paths under ``root`` are recorded relative to it (a dataset moved with its
    times kept is not redone); a missing file is recorded with ``null`` size
    and time.

    Examples
    --------
    >>> fingerprint(["/no/such/file"], root="/no")
    '[["such/file",null,null]]'
    """
    prefix = None if root is None else os.path.join(os.fspath(root), "")
    entries = []
    for path in paths:
        text = os.fspath(path)
        size: int | None = None
        mtime: int | None = None
        try:
            st = os.stat(text)
            size, mtime = st.st_size, st.st_mtime_ns
        except OSError:
            pass
        if prefix is not None and text.startswith(prefix):
            text = text[len(prefix) :]
        entries.append([text.replace(os.sep, "/"), size, mtime])
    return json.dumps(entries, separators=(",", ":"), ensure_ascii=False)

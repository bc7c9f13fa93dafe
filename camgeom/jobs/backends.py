"""Where frames run: in the calling process, in local worker processes, or on a Dask cluster.

A task is a short list of frames (:data:`Task` each); every backend runs
:func:`run_frames` on it and hands back one :class:`TaskOutcome` per frame.
Backends differ only in how tasks are submitted and awaited.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import time
import traceback
import warnings
from collections.abc import Collection, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from typing import Any, NamedTuple

import orjson

from camgeom.errors import CamgeomError, InvalidValueError
from camgeom.jobs.commit import FrameOutputs
from camgeom.jobs.job import FrameResult, Job, fingerprint, json_default

__all__ = [
    "SCHEDULER_ENV",
    "WORKER_PRELOAD",
    "Backend",
    "DaskBackend",
    "InlineBackend",
    "ProcessBackend",
    "Task",
    "TaskOutcome",
    "WorkerLost",
    "configure_worker_threads",
    "local_cores",
    "resolve_workers",
    "run_frame",
    "run_frames",
    "start_worker_server",
    "worker_context",
    "worker_threads",
]

#: Environment variable naming a Dask scheduler address (used when none is passed).
SCHEDULER_ENV = "CAMGEOM_DASK_SCHEDULER"


class TaskOutcome(NamedTuple):
    """What a worker hands back for one frame (plain data: cheap to pickle).

    ``checked`` holds each staged file's size and whether its final path existed
    (see :class:`~camgeom.jobs.commit.StagedFrame`); ``inputs`` the fingerprint of
    the frame's inputs when the worker was asked to take it.
    """

    staged: tuple[tuple[str, str], ...]
    result: str | None
    warnings: tuple[str, ...]
    error: tuple[str, str, str] | None
    duration: float
    checked: tuple[tuple[int, bool], ...] | None = None
    inputs: str | None = None


# numpy arrays as lists, integer keys as text (as json.dumps does)
_ORJSON = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS

#: One frame of a task: ``(item, frame_id, output stem)``, and optionally ``(root,)``
#: to have the worker fingerprint the frame's inputs (relative to ``root``) first.
Task = tuple[Any, ...]


class WorkerLost(Exception):
    """The process running a frame died (killed, out of memory, crashed in native code)."""


_worker_job: list[Job] = []


def worker_threads(workers: int, cores: int | None = None) -> int:
    """Threads each of ``workers`` processes may use on ``cores`` cores: ``max(1, cores // workers)``.

    Examples
    --------
    >>> worker_threads(2, 8), worker_threads(16, 8)
    (4, 1)
    """
    return max(1, (local_cores() if cores is None else cores) // max(1, workers))


def configure_worker_threads(threads: int) -> None:
    """Cap the threads one worker process uses, so that N workers do not oversubscribe.

    Sets camgeom's decode threads (:func:`camgeom.io.set_decode_threads`) and
    numba's thread count: :func:`numba.set_num_threads` when numba is already
    imported (for the calling thread, the one that runs the frames), else
    ``$NUMBA_NUM_THREADS`` so that numba starts only that many threads when it
    is imported. ``$CAMGEOM_DECODE_THREADS`` is set too, for code that reads it.
    """
    from camgeom.io import set_decode_threads

    threads = max(1, int(threads))
    os.environ["CAMGEOM_DECODE_THREADS"] = str(threads)
    set_decode_threads(threads)
    numba = sys.modules.get("numba")
    if numba is None:
        os.environ["NUMBA_NUM_THREADS"] = str(threads)
        return
    try:
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    except (AttributeError, ValueError):  # pragma: no cover - a numba without threading layer
        pass


def _install_job(job: Job | bytes, threads: int | None = None) -> None:
    """Worker start-up: cap the threads, then load the job (its imports see the cap)."""
    if threads is not None:
        configure_worker_threads(threads)
    _worker_job[:] = [pickle.loads(job) if isinstance(job, bytes) else job]


def run_frame(
    job: Job | None,
    item: Any,
    out_dir: str,
    frame_id: str,
    stem: str,
    fingerprint_root: tuple[str | None] | None = None,
) -> TaskOutcome:
    """Run ``job`` on one item in the current process; never raises for the frame's errors.

    ``job`` None uses the job installed in this worker process at start-up.
    Python warnings raised by the frame become the frame's warnings.
    ``fingerprint_root`` ``(root,)``: first fingerprint the frame's inputs
    (:func:`~camgeom.jobs.fingerprint` of ``job.inputs(item)``, relative to
    ``root``), as the main process would, and return it in the outcome.
    """
    job = job if job is not None else _worker_job[0]
    out = FrameOutputs(out_dir, frame_id, stem, job.suffixes)
    start = time.perf_counter()
    inputs = None
    try:
        if fingerprint_root is not None:
            inputs = fingerprint(job.inputs(item), root=fingerprint_root[0])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = job.run(item, out)
        if result is None:
            result = FrameResult()
        elif not isinstance(result, FrameResult):
            raise TypeError(
                f"{type(job).__name__}.run must return a FrameResult or None, "
                f"got {type(result).__name__}"
            )
        data = orjson.dumps(dict(result.data), default=json_default, option=_ORJSON).decode()
        notes = tuple(str(w) for w in result.warnings)
        notes += tuple(f"{w.category.__name__}: {w.message}" for w in caught)
        staged, checked = out.checked()
        duration = time.perf_counter() - start
        return TaskOutcome(staged, data, notes, None, duration, checked, inputs)
    except Exception as exc:
        out.discard()
        error = (type(exc).__name__, str(exc), traceback.format_exc())
        return TaskOutcome((), None, (), error, time.perf_counter() - start, None, inputs)


def run_frames(job: Job | None, out_dir: str, tasks: Sequence[Task]) -> list[TaskOutcome]:
    """:func:`run_frame` on each frame of a task, in order."""
    return [run_frame(job, task[0], out_dir, *task[1:]) for task in tasks]


def _dask_threads(host_threads: dict[str, int]) -> int | None:
    """Threads for one task on this Dask worker: its host's cores over the host's task threads."""
    try:
        from distributed import get_worker

        address = get_worker().address
    except (ImportError, ValueError):  # not in a Dask worker
        return None
    return worker_threads(host_threads.get(_host(address), 1))


def run_frames_on_dask(
    job: Job, out_dir: str, tasks: Sequence[Task], host_threads: dict[str, int]
) -> list[TaskOutcome]:
    """:func:`run_frames` on a Dask worker, after capping the threads its frames may use.

    ``host_threads`` maps each worker host to the number of task threads the
    cluster runs on it; a frame then uses ``max(1, cores // threads)`` decode and
    numba threads.
    """
    threads = _dask_threads(host_threads)
    if threads is not None:
        configure_worker_threads(threads)
    return run_frames(job, out_dir, tasks)


def _ping() -> bool:
    """A no-op task: answers once a worker process has started and loaded the job."""
    return bool(_worker_job)


def _host(address: str) -> str:
    return address.split("://", 1)[-1].rsplit(":", 1)[0]


#: What a worker process needs to run camgeom's jobs, imported once by the fork server
#: (see :func:`worker_context`); a name that fails to import is skipped.
WORKER_PRELOAD = (
    "__main__",
    "numba",
    "OpenEXR",
    "imagecodecs",
    "PIL.Image",
    "tifffile",
    "camgeom",
    "camgeom.datasets",
    "camgeom.depth",
    "camgeom.drawing",
    "camgeom.warp",
    "camgeom.io.depthfile",
    "camgeom.io.exr",
    "camgeom.io.png",
    "camgeom.io.ply",
    "camgeom.io.tiff",
    "camgeom._kernels.depth",
    "camgeom._kernels.exrzip",
    "camgeom._kernels.projection",
    "camgeom._kernels.streaming",
    "camgeom._kernels.validation",
    "camgeom.jobs.project",
    "camgeom.jobs.pointcloud",
    "camgeom.jobs.verify",
    "camgeom.export",
    "camgeom.verification",
    "camgeom.jobs._server",  # last: readies numba's compiler once imports are done
)


def worker_context() -> multiprocessing.context.BaseContext:
    """How local worker processes start: from a fork server on Linux, else spawned.

    A fork server is a clean process started once per program (not a fork of
    the caller, so no state of the caller leaks into workers, as with spawn).
    It imports :data:`WORKER_PRELOAD` once, and every worker is forked from it:
    a worker starts in milliseconds instead of importing numba, the kernels and
    the readers again, and later runs of a job in the same program start no
    import at all. Elsewhere (macOS, Windows) workers are spawned.

    Workers take the caller's working folder and ``sys.path`` at each run, as
    spawned ones do, but the environment variables the program had when the
    server started: set ``NUMBA_*`` variables before a program's first parallel
    run (camgeom sets each worker's thread counts itself).
    """
    if sys.platform.startswith("linux") and "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(list(WORKER_PRELOAD))  # read when the server starts
        return ctx
    return multiprocessing.get_context("spawn")


def start_worker_server() -> None:
    """Start the fork server now (it imports in the background), if workers use one.

    Programs call this early, before work of their own such as listing a
    dataset, so that the imports of :func:`worker_context` overlap with it.
    """
    ctx = worker_context()
    if ctx.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def resolve_workers(workers: int | None, scheduler: Any) -> tuple[Any, int]:
    """Where a run's frames go: ``(scheduler, local worker processes)``.

    With neither given, the scheduler is ``$CAMGEOM_DASK_SCHEDULER`` if set. On
    a scheduler there are no local workers (0); otherwise ``workers`` defaults
    to :func:`local_cores`, and 1 means the frames run in the calling process.
    """
    if scheduler is None and workers is None:
        scheduler = os.environ.get(SCHEDULER_ENV) or None
    if scheduler is not None:
        return scheduler, 0
    return None, workers or local_cores()


def local_cores() -> int:
    """Cores this process may use (CPU affinity where the system reports it)."""
    from camgeom.io._threads import available_cores

    return available_cores()


class Backend:
    """Submit frames, wait for some, read outcomes, close."""

    name = ""
    workers = 1
    #: Work per task once frame times are known, and the most frames in one task:
    #: enough to make the per-task cost of the backend small.
    task_seconds = 0.05
    max_task_frames = 64

    def submit(self, out_dir: str, tasks: Sequence[Task]) -> Any:
        """Start a task; return its future (its result: one outcome per frame)."""
        raise NotImplementedError

    def wait(self, futures: Collection[Any]) -> Collection[Any]:
        """Block until at least one of ``futures`` is done; return the done ones."""
        done, _ = wait_futures(futures, return_when=FIRST_COMPLETED)
        return done

    def result(self, future: Any) -> list[TaskOutcome]:
        """The outcomes of a done task; :class:`WorkerLost` when its process died."""
        outcomes: list[TaskOutcome] = future.result()
        return outcomes

    def restart(self) -> None:
        """Replace broken workers (after :class:`WorkerLost`)."""

    def close(self, pending: Collection[Any] = ()) -> None:
        """Cancel ``pending`` futures and release the workers."""


class InlineBackend(Backend):
    """Frames run in the calling process, one at a time (no pickling)."""

    name = "inline"

    def __init__(self, job: Job) -> None:
        self.job = job

    def submit(self, out_dir: str, tasks: Sequence[Task]) -> Future[list[TaskOutcome]]:
        future: Future[list[TaskOutcome]] = Future()
        future.set_result(run_frames(self.job, out_dir, tasks))
        return future

    def wait(self, futures: Collection[Any]) -> Collection[Any]:
        return list(futures)  # finished when submitted


class ProcessBackend(Backend):
    """Frames run in ``workers`` local processes (see :func:`worker_context`).

    The pool is started on the first submission, so a run with nothing to do
    starts no process.
    """

    name = "processes"

    def __init__(self, job: Job, workers: int) -> None:
        self.job = job
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            pool = None
            try:
                # pickled here, unpickled after the thread cap: the job's imports see it
                initargs = (pickle.dumps(self.job), worker_threads(self.workers))
                pool = ProcessPoolExecutor(
                    self.workers,
                    mp_context=worker_context(),
                    initializer=_install_job,
                    initargs=initargs,
                )
                # One ping per worker: the pool starts a process per pending task, so
                # every worker starts now, side by side, instead of one after another.
                pings = [pool.submit(_ping) for _ in range(self.workers)]
                pings[0].result()
            except Exception as exc:
                if pool is not None:
                    pool.shutdown(wait=True, cancel_futures=True)
                raise CamgeomError(
                    f"Worker processes could not start ({type(exc).__name__}: {exc}). The "
                    "job must be a top-level class of an importable module, the program a "
                    "file (not read from stdin), and a script's work under "
                    '`if __name__ == "__main__":` (worker processes import the main script); '
                    "otherwise run with one worker (workers=1, --workers 1)."
                ) from None
            self._pool = pool
        return self._pool

    def submit(self, out_dir: str, tasks: Sequence[Task]) -> Future[list[TaskOutcome]]:
        try:
            return self._executor().submit(run_frames, None, out_dir, list(tasks))
        except BrokenProcessPool as exc:
            # a worker died since the last wait: this task is lost with the pool
            # (result() reports WorkerLost, and the runner reruns its frames alone)
            lost: Future[list[TaskOutcome]] = Future()
            lost.set_exception(exc)
            return lost

    def result(self, future: Any) -> list[TaskOutcome]:
        try:
            outcomes: list[TaskOutcome] = future.result()
        except BrokenProcessPool as exc:
            raise WorkerLost(str(exc)) from None
        return outcomes

    def restart(self) -> None:
        self.close()

    def close(self, pending: Collection[Any] = ()) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def check_scheduler_address(address: str) -> None:
    """Refuse a Dask scheduler address that no client could connect to, without connecting.

    A malformed address (``"garbage"``, ``"tcp://host"`` without a port, an
    unknown protocol) would otherwise leave a half-built client behind that
    blocks the program's exit for a minute.

    Raises
    ------
    CamgeomError
        dask.distributed is not installed.
    InvalidValueError
        The address is malformed (the message says the expected form).
    """
    try:
        from distributed.comm import parse_address
        from distributed.comm.addressing import parse_host_port
        from distributed.comm.registry import backends
    except ImportError:
        raise CamgeomError(
            'Running on a Dask cluster needs dask.distributed: pip install "camgeom[dask]".'
        ) from None
    try:
        if not address.strip():
            raise ValueError("the address is empty")
        scheme, location = parse_address(address)
        if scheme not in backends:
            raise ValueError(f"unknown protocol {scheme!r} (known: {', '.join(sorted(backends))})")
        if scheme in ("tcp", "tls", "ws", "wss"):
            parse_host_port(location)
    except ValueError as exc:
        raise InvalidValueError(
            f"Cannot use {address!r} as a Dask scheduler address: {exc}. Give it as "
            f"tcp://HOST:PORT (--scheduler or ${SCHEDULER_ENV})."
        ) from None


class DaskBackend(Backend):
    """Frames run on a Dask distributed cluster.

    Parameters
    ----------
    job : Job
        Sent to the workers with each task.
    scheduler : str or distributed.Client
        A scheduler address (``"tcp://10.0.0.5:8786"``), or a client to use (it
        is left open).
    timeout : float, keyword-only
        Seconds to wait for the scheduler.

    Notes
    -----
    Workers write outputs straight into the output folder, so it must be on a
    file system they share with this process. Use one thread per worker process:
    the warnings of a frame are captured per process.
    """

    name = "dask"
    # A task costs the scheduler and the worker a few milliseconds: give it more work.
    task_seconds = 0.5
    max_task_frames = 512

    def __init__(self, job: Job, scheduler: Any, *, timeout: float = 30.0) -> None:
        try:
            import distributed
        except ImportError:
            raise CamgeomError(
                'Running on a Dask cluster needs dask.distributed: pip install "camgeom[dask]".'
            ) from None
        self._distributed = distributed
        if isinstance(scheduler, str):
            check_scheduler_address(scheduler)
            try:
                self.client = distributed.Client(scheduler, timeout=timeout, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as exc:
                raise CamgeomError(
                    f"Cannot connect to the Dask scheduler at {scheduler}: {exc}. Check the "
                    f"address (--scheduler or ${SCHEDULER_ENV}) and that the scheduler runs."
                ) from None
            self._own_client = True
        elif isinstance(scheduler, distributed.Client):
            self.client = scheduler
            self._own_client = False
        else:
            raise InvalidValueError(
                "Expected `scheduler` to be an address or a distributed.Client, "
                f"got {type(scheduler).__name__}."
            )
        nthreads = self.client.nthreads()
        self.workers = max(1, sum(nthreads.values()))
        self._host_threads: dict[str, int] = {}
        for address, n in nthreads.items():
            host = _host(address)
            self._host_threads[host] = self._host_threads.get(host, 0) + n
        # Sent with every task rather than scattered once: scattered data dies with the
        # workers holding it, and every task depending on it would then be cancelled.
        self._job = job

    def submit(self, out_dir: str, tasks: Sequence[Task]) -> Any:
        return self.client.submit(
            run_frames_on_dask, self._job, out_dir, list(tasks), self._host_threads, pure=False
        )

    def wait(self, futures: Collection[Any]) -> Collection[Any]:
        try:
            with self.client.as_current():  # distributed.wait uses the current client
                done: Collection[Any] = self._distributed.wait(
                    list(futures), return_when="FIRST_COMPLETED"
                ).done
        except self._distributed.client.FuturesCancelledError:
            done = [f for f in futures if f.done()]  # their results raise; see result()
        return done

    def close(self, pending: Collection[Any] = ()) -> None:
        if pending:
            self.client.cancel(list(pending))
        if self._own_client:
            self.client.close()

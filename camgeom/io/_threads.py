"""How many threads decode one image file (EXR, TIFF) and mask its background.

One setting for the process: :func:`set_decode_threads`, else the environment
variable ``CAMGEOM_DECODE_THREADS``, else every core this process may run on.
A job runner that already keeps every core busy with one worker process per
core sets 1 in its workers, so that decoding never oversubscribes the machine.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from camgeom.errors import InvalidValueError

__all__ = [
    "BLOCK",
    "DECODE_THREADS_ENV",
    "available_cores",
    "decode_threads",
    "in_parts",
    "set_decode_threads",
]

DECODE_THREADS_ENV = "CAMGEOM_DECODE_THREADS"
"""Environment variable holding the default number of decode threads."""

_threads: int | None = None


def _from_env(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise InvalidValueError(
            f"Expected ${DECODE_THREADS_ENV} to be a positive integer, got {text!r}."
        )
    return n


@functools.cache
def available_cores() -> int:
    """Cores this process may run on (CPU affinity where the system reports it), asked once.

    The system call is slow on some VMs, and decoders ask for every file.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def decode_threads() -> int:
    """Number of threads that decode one EXR or TIFF file.

    The value set by :func:`set_decode_threads`; else ``$CAMGEOM_DECODE_THREADS``;
    else the number of cores this process may run on.

    Examples
    --------
    >>> set_decode_threads(2)
    >>> decode_threads()
    2
    >>> set_decode_threads(None)  # back to the default
    """
    if _threads is not None:
        return _threads
    env = os.environ.get(DECODE_THREADS_ENV, "").strip()
    if env:
        return _from_env(env)
    return available_cores()


def set_decode_threads(n: int | None) -> None:
    """Set the number of threads that decode one EXR or TIFF file, for this process.

    Parameters
    ----------
    n : int or None
        At least 1 (1 decodes in the calling thread only). ``None`` restores
        the default (``$CAMGEOM_DECODE_THREADS``, else every available core).
        Processes that already run one per core (a job runner's workers) should
        use 1; ``n`` workers on ``c`` cores can use ``max(1, c // n)``.

    Notes
    -----
    OpenEXR decodes on one thread pool per process; camgeom sizes it to at
    least ``n`` when it reads a file and asks for ``n`` threads per file.

    Raises
    ------
    InvalidValueError
        ``n`` is not a positive integer or None.
    """
    global _threads
    if n is not None and (isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1):
        raise InvalidValueError(f"Expected `n` to be a positive integer or None, got {n!r}.")
    _threads = None if n is None else int(n)


T = TypeVar("T")

BLOCK = 1 << 18
"""Elements a numpy pass over a decoded image handles per call: large enough that
the GIL is free most of the time, small enough that the block stays in cache."""


def in_parts(n: int, work: Callable[[int, int], T]) -> list[T]:
    """Run ``work(start, stop)`` over ``[0, n)`` in contiguous parts, on several threads.

    Up to :func:`decode_threads` parts, each at least two :data:`BLOCK` long;
    part 0 runs in the calling thread. ``work`` must release the GIL for most
    of its time (numpy passes over large blocks do). An exception in any part
    is raised here once all parts have finished.

    Returns
    -------
    list
        The result of each part, in order.
    """
    parts = max(1, min(decode_threads(), n // (2 * BLOCK)))
    if parts == 1:
        return [work(0, n)]
    bounds = [(n * i // parts) // BLOCK * BLOCK for i in range(parts)] + [n]
    results: list[T | None] = [None] * parts
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = work(bounds[i], bounds[i + 1])
        except BaseException as exc:  # re-raised in the calling thread
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(1, parts)]
    for worker in workers:
        worker.start()
    run(0)
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]

"""How many threads decode one image file (EXR, TIFF) and mask its background.

One setting for the process: :func:`set_decode_threads`, else the environment
variable ``CAMGEOM_DECODE_THREADS``, else every core this process may run on.
A job runner that already keeps every core busy with one worker process per
core sets 1 in its workers, so that decoding never oversubscribes the machine.
"""

from __future__ import annotations

import os

import numpy as np

from camgeom.errors import InvalidValueError

__all__ = ["DECODE_THREADS_ENV", "decode_threads", "set_decode_threads"]

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


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


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
    return _cores()


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

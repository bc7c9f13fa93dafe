"""The one place where numba options are set.

Kernels import :data:`jit` (serial) or :data:`pjit` (parallel) from here. Both
cache compiled code on disk so a new process does not recompile. Setting the
environment variable ``NUMBA_DISABLE_JIT=1`` turns every kernel into plain
Python, which the test-suite uses to check the kernels' logic.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import numba

__all__ = ["jit", "pjit", "prange"]

F = TypeVar("F", bound=Callable[..., Any])

jit: Callable[[F], F] = partial(numba.njit, cache=True, nogil=True, error_model="numpy")  # type: ignore[assignment]
pjit: Callable[[F], F] = partial(  # type: ignore[assignment]
    numba.njit, cache=True, nogil=True, parallel=True, error_model="numpy"
)
prange = numba.prange

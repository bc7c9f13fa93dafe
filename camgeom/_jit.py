"""The one place where numba options are set.

Kernels import :data:`jit` (serial) or :data:`pjit` (parallel) from here. Both
cache compiled code on disk so a new process does not recompile. Setting the
environment variable ``NUMBA_DISABLE_JIT=1`` turns every kernel into plain
Python, which the test-suite uses to check the kernels' logic.
"""

from __future__ import annotations

from functools import partial

import numba

__all__ = ["jit", "pjit", "prange"]

jit = partial(numba.njit, cache=True, nogil=True, error_model="numpy")
pjit = partial(numba.njit, cache=True, nogil=True, parallel=True, error_model="numpy")
prange = numba.prange

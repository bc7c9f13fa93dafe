"""The one place where numba options are set.

Kernels import :data:`jit` (serial), :data:`pjit` (parallel) or
:func:`jit_variants` (both, for a kernel that runs serially on small inputs
and in parallel on large ones) from here. All cache compiled code on disk so a
new process does not recompile. Setting the environment variable
``NUMBA_DISABLE_JIT=1`` turns every kernel into plain Python, which the
test-suite uses to check the kernels' logic.

This module imports numba; nothing imported by ``import camgeom`` imports it,
so numba loads with the first kernel that is called.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import numba

__all__ = ["jit", "jit_variants", "pjit", "prange"]

F = TypeVar("F", bound=Callable[..., Any])

jit: Callable[[F], F] = partial(numba.njit, cache=True, nogil=True, error_model="numpy")  # type: ignore[assignment]
pjit: Callable[[F], F] = partial(  # type: ignore[assignment]
    numba.njit, cache=True, nogil=True, parallel=True, error_model="numpy"
)
prange = numba.prange


def _renamed(func: types.FunctionType, suffix: str) -> types.FunctionType:
    copy = types.FunctionType(
        func.__code__, func.__globals__, func.__name__ + suffix, func.__defaults__, func.__closure__
    )
    copy.__qualname__ = func.__qualname__ + suffix
    copy.__module__ = func.__module__
    copy.__doc__ = func.__doc__
    return copy


_FMA = {"contract"}
"""The one fast-math flag camgeom uses: fuse ``a * b + c`` into one rounding (FMA).
Never ``nnan``/``ninf``: kernels rely on NaN and infinity propagating."""


def jit_variants(func: F, *, fma: bool = False) -> tuple[F, F]:
    """Compile ``func`` serially and in parallel, each under its own cache entry.

    numba names its on-disk cache after the module, the qualified name and the
    line number of the Python function, not after the compile options: ``jit(f)``
    and ``pjit(f)`` share one index (``.nbi``) and whichever variant compiles
    first is then loaded for both. The variants here are copies of ``func``
    named ``<name>_serial`` and ``<name>_parallel``, so each has its own index
    and data (``.nbc``) files.

    Parameters
    ----------
    func : function
        The kernel, written with ``prange`` for its parallel loop.
    fma : bool, keyword-only
        Let the compiler fuse multiply-adds (one rounding instead of two: as
        accurate or more, not bit-identical to numpy). Both variants get the
        same flag, so they return identical results.

    Returns
    -------
    (serial, parallel)
        Two dispatchers of the same code; ``prange`` is a plain ``range`` in
        the serial one.
    """
    if not isinstance(func, types.FunctionType):
        raise TypeError(f"Expected a Python function, got {type(func).__name__}.")
    fastmath = _FMA if fma else False
    serial = jit(_renamed(func, "_serial"), fastmath=fastmath)  # type: ignore[call-arg]
    parallel = pjit(_renamed(func, "_parallel"), fastmath=fastmath)  # type: ignore[call-arg]
    return serial, parallel  # type: ignore[return-value]


def prepare_compiler() -> bool:
    """Do now what numba does when the first compiled function loads in a process.

    numba sets up its CPU target (typing and lowering registries, runtime,
    about 0.3 s) on the first call of any compiled function. A process that
    forks workers calls this once first, so that no worker pays it (see
    :mod:`camgeom.jobs._server`). It starts no thread. Returns False when this
    numba lays its target out differently (the workers then set it up themselves).
    """
    try:
        from numba.core.registry import cpu_target

        cpu_target.target_context.refresh()
        cpu_target.typing_context.refresh()
    except Exception:  # a speed-up only: never fail because of it
        return False
    return True

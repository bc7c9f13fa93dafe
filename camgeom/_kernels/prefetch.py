"""Software prefetch for kernels that read memory in an order the hardware cannot guess.

:func:`prefetch` asks for the cache line of ``arr[i]`` without waiting for it
(LLVM's ``llvm.prefetch``: x86 ``prefetcht0``): a gather that will read rows of
an image further on starts their loads now, and does not stall on each line
when it reaches it. It never faults and changes no result. Under
``NUMBA_DISABLE_JIT=1`` it is plain Python (nothing).
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

__all__ = ["prefetch"]


def prefetch(arr: Any, i: int) -> None:
    """Start loading the cache line of ``arr[i]`` (1-D ``arr``; ``i`` not checked)."""


def _prefetch_typing(typingctx: Any, arr: Any, i: Any) -> Any:  # pragma: no cover - compiled
    sig = types.void(arr, i)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        aryty, _ = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(
            context, builder, aryty, ary, [args[1]], wraparound=False, boundscheck=False
        )
        byte_ptr = builder.bitcast(ptr, ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        opaque = str(byte_ptr.type) == "ptr"
        fn = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [byte_ptr.type, i32, i32, i32]),
            "llvm.prefetch.p0" if opaque else "llvm.prefetch.p0i8",
        )
        # read, keep in every cache level, data (not instructions)
        builder.call(fn, [byte_ptr, i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen


# Called only from compiled code, with the arguments of the typing function minus typingctx.
_prefetch: Any = intrinsic(_prefetch_typing)


@overload(prefetch, inline="always")
def _prefetch_impl(arr: Any, i: Any) -> Any:  # pragma: no cover - compiled
    if not (isinstance(arr, types.Array) and arr.ndim == 1):
        return None

    def impl(arr: Any, i: Any) -> None:
        _prefetch(arr, i)

    return impl

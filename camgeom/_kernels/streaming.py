"""Streaming (non-temporal) stores for kernels that write far more than the caches hold.

A normal store to memory that is not in the cache first reads the cache line
("read for ownership"), so writing N bytes moves 2 N bytes over the memory bus.
A non-temporal store goes to write-combining buffers and then straight to
memory: N bytes. For outputs much larger than the last-level cache this is the
difference between reaching and missing the memory's bandwidth; for small
outputs it is a loss (the data the caller reads next is no longer cached), so
kernels use it only above a size.

:func:`store_nt` writes ``arr[i] = v`` with LLVM's ``!nontemporal`` hint (x86:
``movnti``, or ``movntss`` / ``movntsd`` where SSE4a exists; a plain store on
targets without such an instruction). Non-temporal stores are weakly ordered:
a kernel calls :func:`fence` (x86 ``sfence``) after its last one, before the
thread that made them finishes. Under ``NUMBA_DISABLE_JIT=1`` both are plain Python (a
normal assignment and nothing).
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

__all__ = ["fence", "store_nt"]


def store_nt(arr: Any, i: int, v: Any) -> None:
    """``arr[i] = v`` (1-D C-contiguous ``arr``, ``0 <= i < len(arr)``: not checked)."""
    arr[i] = v


def fence() -> None:
    """Order every earlier store (non-temporal ones included) before every later one."""


def _store_nt_typing(typingctx: Any, arr: Any, i: Any, v: Any) -> Any:  # pragma: no cover
    sig = types.void(arr, i, v)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        aryty, _, valty = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(
            context, builder, aryty, ary, [args[1]], wraparound=False, boundscheck=False
        )
        store = builder.store(context.cast(builder, args[2], valty, aryty.dtype), ptr)
        store.set_metadata(
            "nontemporal", builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)])
        )
        return context.get_dummy_value()

    return sig, codegen


def _fence_typing(typingctx: Any) -> Any:  # pragma: no cover - compiled
    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        module = builder.module
        if module.triple.startswith(("x86_64", "i386", "i686")):
            # sfence: orders the non-temporal stores before every later store
            sfence = cgutils.get_or_insert_function(
                module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse.sfence"
            )
            builder.call(sfence, [])
        else:
            builder.fence("seq_cst")
        return context.get_dummy_value()

    return types.void(), codegen


# Called only from compiled code, with the arguments of the typing functions minus typingctx.
_store_nt: Any = intrinsic(_store_nt_typing)
_fence: Any = intrinsic(_fence_typing)


@overload(store_nt, inline="always")
def _store_nt_impl(arr: Any, i: Any, v: Any) -> Any:  # pragma: no cover - compiled
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and arr.layout == "C"):
        return None

    def impl(arr: Any, i: Any, v: Any) -> None:
        _store_nt(arr, i, v)

    return impl


@overload(fence, inline="always")
def _fence_impl() -> Any:  # pragma: no cover - compiled
    def impl() -> None:
        _fence()

    return impl

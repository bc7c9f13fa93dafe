"""Undo the byte filter of OpenEXR's ZIP and ZIPS compression.

Private kernel behind :mod:`camgeom.io._exrscan`. Before deflating a block,
OpenEXR (``ImfZip.cpp``, ``internal_zip.c``) splits its bytes into the even- and
the odd-indexed ones (first half, second half) and replaces every byte but the
first by its difference to the previous one, plus 128, modulo 256. Undoing it:

1. predictor: ``t[0] = s[0]``, ``t[i] = t[i - 1] + s[i] - 128 (mod 256)``, which is
   ``t[i] = 128 + sum(s[k] ^ 0x80 for k <= i) (mod 256)``;
2. interleave: ``out[2 i] = t[i]``, ``out[2 i + 1] = t[h + i]`` with ``h = n // 2``
   (blocks hold whole pixels of 2- or 4-byte channels, so ``n`` is even).

The prefix sum runs on eight bytes at a time, packed in a ``uint64``
(little-endian: byte ``j`` of the word is bits ``8 j .. 8 j + 7``). Three
shifted byte-wise additions give each word's own prefix sums, a short serial
pass carries the running total from word to word, and a last pass adds it;
the first and last passes have no loop-carried dependency, so LLVM vectorises
them. The caller guarantees a little-endian machine, contiguous ``uint8``
arrays and an even length per block. The plain-numpy reference the tests
compare against lives in ``tests/io/test_exr_fast.py``.
"""

from __future__ import annotations

import numpy as np

from camgeom._jit import jit

__all__ = ["unfilter_blocks"]

_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_HIGH = np.uint64(0x8080808080808080)
_ONES = np.uint64(0x0101010101010101)
_BYTE = np.uint64(255)
_S8 = np.uint64(8)
_S16 = np.uint64(16)
_S32 = np.uint64(32)
_S56 = np.uint64(56)


@jit
def _add_bytes(a: np.uint64, b: np.uint64) -> np.uint64:  # pragma: no cover - jitted
    """Eight byte-wise sums modulo 256 (no carry from one byte into the next)."""
    return ((a & _LOW7) + (b & _LOW7)) ^ ((a ^ b) & _HIGH)


@jit
def _unfilter(
    src: np.ndarray, dst: np.ndarray, tmp: np.ndarray, carry: np.ndarray
) -> None:  # pragma: no cover - jitted
    n = src.size
    m = n // 8
    t = tmp[: 8 * m].view(np.uint64)
    words = src[: 8 * m].view(np.uint64)
    for i in range(m):  # each word's own prefix sums of (byte - 128)
        v = words[i] ^ _HIGH
        v = _add_bytes(v, v << _S8)
        v = _add_bytes(v, v << _S16)
        t[i] = _add_bytes(v, v << _S32)
    acc = np.uint64(128)
    for i in range(m):  # the running total before each word
        carry[i] = acc
        acc = (acc + (t[i] >> _S56)) & _BYTE
    for i in range(m):
        t[i] = _add_bytes(t[i], carry[i] * _ONES)
    a = np.int64(acc)
    for j in range(8 * m, n):
        a = (a + np.int64(src[j]) + 128) & 255
        tmp[j] = a
    h = n // 2
    out = dst[: 2 * h].view(np.uint16)
    for i in range(h):
        out[i] = np.uint16(tmp[i]) | (np.uint16(tmp[h + i]) << np.uint16(8))


@jit
def unfilter_blocks(
    src: np.ndarray, dst: np.ndarray, starts: np.ndarray, filtered: np.ndarray
) -> None:  # pragma: no cover - jitted
    """Unfilter each block ``src[starts[k]:starts[k + 1]]`` into the same bytes of ``dst``.

    Parameters
    ----------
    src, dst : ndarray of uint8, shape (N,)
        Inflated blocks, back to back, and where their unfiltered bytes go.
    starts : ndarray of int64, shape (K + 1,)
        Block boundaries: ``0 = starts[0] <= ... <= starts[K] = N``; every block
        has an even length.
    filtered : ndarray of bool, shape (K,)
        False for blocks OpenEXR stored as they were (deflating did not make
        them smaller): those are copied.
    """
    longest = 0
    for k in range(filtered.size):
        longest = max(longest, starts[k + 1] - starts[k])
    tmp = np.empty(longest + 8, np.uint8)
    carry = np.empty(longest // 8 + 1, np.uint64)
    for k in range(filtered.size):
        s = starts[k]
        e = starts[k + 1]
        if filtered[k]:
            _unfilter(src[s:e], dst[s:e], tmp, carry)
        else:
            dst[s:e] = src[s:e]

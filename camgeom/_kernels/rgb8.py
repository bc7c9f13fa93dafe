"""Numba kernels of the RGB uint8 bilinear sampler (private; see camgeom._kernels.remap).

cv2.remap's fixed-point bilinear (see ``camgeom._kernels.remap``) of (H, W, 3)
uint8 images, one row segment of an output tile at a time, in loops of which
all but one vectorise:

1. :func:`encode_pairs` (positions) or :func:`plan_pairs` (a stored plan): the
   byte offsets of the top and bottom neighbour pairs and the code, in 32-bit
   lanes;
2. :func:`gather_pairs`: one unaligned 8-byte load per pair (:func:`pair_view`:
   the three channels of a pixel and of its right neighbour), the one scalar
   loop; :func:`prefetch_below` first starts the loads of the rows the tile's
   next rows read;
3. :func:`blend_pairs`: the arithmetic, the three channels of a pair in one
   64-bit word (21-bit lanes), three multiplications a pixel;
4. :func:`store_rgb`: the 3-byte stores.

Byte offsets are uint32: images below 2**32 - 8 bytes (the caller checks).
"""

from __future__ import annotations

import numpy as np

from camgeom._jit import jit
from camgeom._kernels.prefetch import prefetch

MISS = 1024
"""Code of an output pixel whose ray misses the source image (gets ``fill``)."""
_RND3 = 512 | (512 << 21) | (512 << 42)


def pair_view(src):
    """The 8 bytes from each byte of flat uint8 ``src`` as one unaligned uint64 (a view).

    Element ``i`` is bytes ``i .. i + 7`` (little-endian): the three channels of an
    RGB pixel at byte ``3 k`` and of its right neighbour in one load. Needs 8 bytes.
    """
    whole = src[: src.size // 8 * 8].view(np.uint64)
    return np.lib.stride_tricks.as_strided(
        whole, shape=(src.size - 7,), strides=(1,), writeable=False
    )


NO_PAIRS = pair_view(np.zeros(8, np.uint8))
"""The ``pairs`` argument of the kernels when the sampler is not RGB8 (same type)."""


@jit
def pair_buffers(n):  # pragma: no cover - compiled
    """Scratch rows of ``n`` pixels for one row of the sampler, allocated once per work item:
    ``o0, o2, cc`` (:func:`encode_pairs` / :func:`plan_pairs`), ``top, bottom``
    (:func:`gather_pairs`) and ``res`` (:func:`blend_pairs`)."""
    return (
        np.empty(n, np.uint32),
        np.empty(n, np.uint32),
        np.empty(n, np.uint32),
        np.empty(n, np.uint64),
        np.empty(n, np.uint64),
        np.empty(n, np.uint32),
    )


@jit
def encode_pairs(us, vs, w, ws, hs, o0, o2, cc):  # pragma: no cover - compiled
    """The encoding of ``camgeom._kernels.remap._encode_linear`` of ``w`` positions,
    as the byte offsets of this sampler.

    ``o0``: byte offset of the top-left neighbour, ``o2``: of the bottom-left one
    (``o0`` again when the row fraction is 0), ``cc``: the code (uint32 each).
    Returns the largest ``o2``. Branch-free and in 32-bit lanes, so that it
    vectorises 16 pixels to an AVX-512 instruction (8 to an AVX one).
    """
    f32 = np.float32
    u32 = np.uint32
    wsf = f32(ws)
    hsf = f32(hs)
    ws1 = f32(ws - 1)
    hs1 = f32(hs - 1)
    row3 = u32(3 * ws)
    top = u32(0)
    for col in range(w):
        u = us[col]
        v = vs[col]
        inside = (u >= f32(0.0)) & (u < wsf) & (v >= f32(0.0)) & (v < hsf)
        u = u if inside else f32(0.5)
        v = v if inside else f32(0.5)
        # X = floor(32 u - 15.5) as in _encode_linear; X >> 5 and X & 31 in float32
        # (exact: integers below 2**24; numba would widen int32 lanes to int64)
        X = np.floor(u * f32(32.0) - f32(15.5))
        Y = np.floor(v * f32(32.0) - f32(15.5))
        ix = np.floor(X * f32(1.0 / 32.0))
        iy = np.floor(Y * f32(1.0 / 32.0))
        a = X - f32(32.0) * ix if (ix >= f32(0.0)) & (ix < ws1) else f32(0.0)
        b = Y - f32(32.0) * iy if (iy >= f32(0.0)) & (iy < hs1) else f32(0.0)
        # np.multiply / np.add keep uint32 (numba's operators widen to 64 bits)
        o = np.add(
            np.multiply(u32(max(iy, f32(0.0))), row3), np.multiply(u32(max(ix, f32(0.0))), u32(3))
        )
        o2_ = np.add(o, row3 if b != f32(0.0) else u32(0))
        o0[col] = o
        o2[col] = o2_
        top = max(top, u32(o2_))
        cc[col] = u32(a + f32(32.0) * b) if inside else u32(MISS)
    return top


@jit
def plan_pairs(offset, code, i0, w, ws, o0, o2, cc):  # pragma: no cover - compiled
    """The RGB8 sampler's byte offsets and codes of plan entries ``i0 .. i0 + w``
    (as :func:`encode_pairs`; returns the largest ``o2``)."""
    u32 = np.uint32
    row3 = u32(3 * ws)
    top = u32(0)
    for col in range(w):
        i = np.uint64(i0) + np.uint64(col)
        c = u32(code[i])
        o = u32(3) * u32(offset[i])
        o0[col] = o
        o2[col] = o + row3 * u32((c & u32(1023)) >= u32(32))
        top = max(top, o + row3 * u32((c & u32(1023)) >= u32(32)))
        cc[col] = c
    return top


@jit
def gather_pairs(pairs, w, o0, o2, top, bottom, clamp):  # pragma: no cover - compiled
    """One 8-byte load per neighbour pair (``pairs``: :func:`pair_view` of the image).

    The last two pixels of the image have fewer than 8 bytes after them: with
    ``clamp`` (a row segment that reads them) loads end at the image's last byte,
    and :func:`blend_pairs` shifts them back.
    """
    U = np.uint64
    if clamp:
        last = U(pairs.size - 1)
        for col in range(w):
            top[col] = pairs[min(U(o0[col]), last)]
            bottom[col] = pairs[min(U(o2[col]), last)]
    else:
        for col in range(w):
            top[col] = pairs[U(o0[col])]
            bottom[col] = pairs[U(o2[col])]


@jit
def spread(t):  # pragma: no cover - compiled
    """Bytes 0, 1, 2 of ``t`` into 21-bit lanes."""
    U = np.uint64
    return (t & U(0xFF)) | ((t & U(0xFF00)) << U(13)) | ((t & U(0xFF0000)) << U(26))


@jit
def bilinear3(t, u, c, fill):  # pragma: no cover - compiled
    """Bilinear RGB of the pairs ``t`` (top) and ``u`` (bottom) for code ``c`` as
    ``r | g << 8 | b << 16`` (``fill`` on a miss).

    Separable, three multiplications for the three channels: modulo 2**64 the
    21-bit lanes may go negative in between, the result (lanes in [0, 2**21),
    255 * 1024 + 512 < 2**21) is exact.
    """
    U = np.uint64
    a = c & U(31)
    b = (c >> U(5)) & U(31)
    p0 = spread(t)
    p2 = spread(u)
    upper = (p0 << U(5)) + (spread(t >> U(24)) - p0) * a
    lower = (p2 << U(5)) + (spread(u >> U(24)) - p2) * a
    s = (upper << U(5)) + (lower - upper) * b + U(_RND3)
    v = ((s >> U(10)) & U(0xFF)) | ((s >> U(23)) & U(0xFF00)) | ((s >> U(36)) & U(0xFF0000))
    return np.uint32(v) if c < U(MISS) else fill


@jit
def blend_pairs(w, o0, o2, cc, top, bottom, last, fill, res, clamp):  # pragma: no cover
    """:func:`bilinear3` of ``w`` gathered pairs into ``res`` (``clamp``: as for
    :func:`gather_pairs`, loads that ended at byte ``last`` are shifted back)."""
    U = np.uint64
    if clamp:
        for col in range(w):
            x0 = U(o0[col])
            x2 = U(o2[col])
            t = top[col] >> ((x0 - min(x0, last)) << U(3))
            u = bottom[col] >> ((x2 - min(x2, last)) << U(3))
            res[col] = bilinear3(t, u, U(cc[col]), fill)
    else:
        for col in range(w):
            res[col] = bilinear3(top[col], bottom[col], U(cc[col]), fill)


@jit
def store_rgb(w, res, out, o):  # pragma: no cover - compiled
    """``w`` RGB pixels packed in ``res`` into flat uint8 ``out`` from ``o``."""
    U = np.uint64
    for col in range(w):
        v = res[col]
        q = U(o) + U(3) * U(col)
        out[q] = np.uint8(v & np.uint32(0xFF))
        out[q + U(1)] = np.uint8((v >> np.uint32(8)) & np.uint32(0xFF))
        out[q + U(2)] = np.uint8(v >> np.uint32(16))


@jit
def prefetch_below(pairs, w, o2, below):  # pragma: no cover - compiled
    """Start loading the source bytes ``below`` bytes (whole rows) after the bottom
    pairs ``o2``, one per 16 pixels (48 bytes, less than a cache line): the rows that
    the tile's next output rows will read, fetched while this row is sampled."""
    last = np.uint64(pairs.size - 1)
    for col in range(0, w, 16):
        prefetch(pairs, min(np.uint64(o2[col]) + np.uint64(below), last))

"""Numba kernels of fixed-point image remapping (private; see camgeom.warp).

Bilinear sampling of integer images at 1/32 pixel, as ``cv2.remap`` does
(``INTER_BITS = 5``): a source position ``(u, v)`` in camgeom's pixel
convention becomes ``X = floor(32 (u - 0.5) + 0.5)`` (likewise ``Y``), the
top-left neighbour ``(X >> 5, Y >> 5)`` and the fractions ``a = X & 31``,
``b = Y & 31``; the four weights ``(32 - a)(32 - b)``, ``a (32 - b)``,
``(32 - a) b`` and ``a b`` sum to 1024 exactly, and the sample is
``(sum(w p) + 512) >> 10``. These are cv2's weights (its 15-bit table holds the
same products times 32), so given the same ``(X, Y)`` an 8-bit result is
cv2's to the bit (cv2 sums 16-bit images in float32, which can round a half
level the other way).

Each output pixel is encoded as a **source offset** (int32: the flat index of
the top-left neighbour's first channel) and a **code** (int32):
``a | b << 5``, or :data:`MISS` when the ray misses the source image. Edge
pixels repeat for the outer half pixel: a neighbour outside the image is
folded by setting its fraction to 0, and a zero fraction reads no second
pixel, so no read leaves the image. A nearest-neighbour encoding is the same
with both fractions 0. A :class:`camgeom.warp.WarpPlan` stores these two
arrays; without a plan the fused kernels compute them one output row at a
time and sample at once.

RGB uint8 images are sampled one output tile per work item by the kernels of
``camgeom._kernels.rgb8`` (three of their four loops vectorise); tiles keep the
source rows they read in cache, as ``cv2.remap``'s 128x128 blocks do.

Source positions of a pinhole output camera are computed in float32 with fused
multiply-adds (the forward lens model needs no iteration): within 3e-4 pixel of float64 at 2048
pixels, 1e-3 at 8192, against the 1/64-pixel rounding. An output camera with a
lens model is lifted by Newton iteration in float64 (``camgeom._kernels.lens``).

Indices are unsigned throughout: numba then compiles no negative-index
handling, which is what lets the row loops vectorise.
"""

from __future__ import annotations

import math

import numpy as np
from numba import parallel_chunksize

from camgeom._jit import jit, jit_variants, prange
from camgeom._kernels.lens import FISHEYE, OPENCV, _row_coords
from camgeom._kernels.rgb8 import (
    MISS,
    blend_pairs,
    encode_pairs,
    gather_pairs,
    pair_buffers,
    plan_pairs,
    prefetch_below,
    store_rgb,
)
from camgeom._kernels.rgb8 import NO_PAIRS as NO_PAIRS  # the sampler's input, for camgeom.warp
from camgeom._kernels.rgb8 import pair_view as pair_view

ROWS = 8
"""Output rows per parallel work item (one set of row buffers each)."""
TILE_ROWS = 8
TILE_COLS = 512
"""Output tile of the RGB8 sampler (rows x columns; one parallel work item): its
source rows stay in the core's cache between the tile's rows."""
AHEAD = 2
"""Source rows below its bottom pairs that each output row prefetches for the
tile's next rows (one row a row, at magnification 1)."""
GRAB = 2
"""Work items a thread takes at a time, set by the caller with :data:`grabbing`:
the items are then shared out as threads finish theirs (numba's default gives each
thread an equal share up front, and the whole call waits for a thread that another
process delays)."""


grabbing = parallel_chunksize
"""``with grabbing(GRAB): kernel(...)``: numba's per-thread chunk-size setting
(a runtime setting: inside a kernel it would keep numba from caching it)."""


@jit(fastmath={"contract"})  # type: ignore[call-arg]
def _row_coords32(row, c0, w, k_dst, rot, k_src, model_src, p_src, us, vs):  # pragma: no cover
    """Float32 source positions of columns ``c0 .. c0 + w`` of output row ``row`` of a
    pinhole output camera into ``us[:w]``, ``vs[:w]`` (the same values for any ``c0``)."""
    f32 = np.float32
    U = np.uint64
    fxd, sd, cxd, fyd, cyd = k_dst[0, 0], k_dst[0, 1], k_dst[0, 2], k_dst[1, 1], k_dst[1, 2]
    yn = (row + 0.5 - cyd) / fyd
    x0 = (0.5 - cxd - sd * yn) / fxd
    # the row is a line in the source camera's frame: ray(col) = a + col * d
    ax = f32(rot[0, 0] * x0 + rot[0, 1] * yn + rot[0, 2])
    ay = f32(rot[1, 0] * x0 + rot[1, 1] * yn + rot[1, 2])
    az = f32(rot[2, 0] * x0 + rot[2, 1] * yn + rot[2, 2])
    dx = f32(rot[0, 0] / fxd)
    dy = f32(rot[1, 0] / fxd)
    dz = f32(rot[2, 0] / fxd)
    fxs, ss, cxs = f32(k_src[0, 0]), f32(k_src[0, 1]), f32(k_src[0, 2])
    fys, cys = f32(k_src[1, 1]), f32(k_src[1, 2])
    one = f32(1.0)
    two = f32(2.0)
    zero = f32(0.0)
    nan = f32(np.nan)
    if model_src == OPENCV:
        k1, k2, p1, p2 = f32(p_src[0]), f32(p_src[1]), f32(p_src[2]), f32(p_src[3])
        k3, k4, k5, k6, r2max = f32(p_src[4]), f32(p_src[5]), f32(p_src[6]), f32(p_src[7]), p_src[8]
        r2m = f32(min(r2max, 1e30))
        rational = k4 != 0.0 or k5 != 0.0 or k6 != 0.0
        flat = dz == zero  # no rotation about x or y: one depth, one division a row
        inv0 = one / az if az > zero else nan
        for col in range(w):
            c = f32(c0 + col)
            if flat:
                inv = inv0
            else:
                rz = az + c * dz
                inv = one / rz if rz > zero else nan
            x = (ax + c * dx) * inv
            y = (ay + c * dy) * inv
            r2 = x * x + y * y
            rad = one + r2 * (k1 + r2 * (k2 + r2 * k3))
            if rational:
                rad = rad / (one + r2 * (k4 + r2 * (k5 + r2 * k6)))
            rad = rad if r2 <= r2m else nan
            xy = x * y
            xd = x * rad + two * p1 * xy + p2 * (r2 + two * x * x)
            yd = y * rad + p1 * (r2 + two * y * y) + two * p2 * xy
            us[U(col)] = fxs * xd + ss * yd + cxs
            vs[U(col)] = fys * yd + cys
    elif model_src == FISHEYE:
        k1, k2, k3, k4 = f32(p_src[0]), f32(p_src[1]), f32(p_src[2]), f32(p_src[3])
        r2m = f32(min(p_src[8], 1e30))
        for col in range(w):
            c = f32(c0 + col)
            rz = az + c * dz
            inv = one / rz if rz > zero else nan
            x = (ax + c * dx) * inv
            y = (ay + c * dy) * inv
            r2 = x * x + y * y
            r = math.sqrt(r2)
            th = math.atan(r)
            t2 = th * th
            thd = th * (one + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4))))
            scale = thd / r if r > f32(1e-30) else one
            scale = scale if r2 <= r2m else nan
            xd = x * scale
            yd = y * scale
            us[U(col)] = fxs * xd + ss * yd + cxs
            vs[U(col)] = fys * yd + cys
    else:
        for col in range(w):
            c = f32(c0 + col)
            rz = az + c * dz
            inv = one / rz if rz > zero else nan
            xd = (ax + c * dx) * inv
            yd = (ay + c * dy) * inv
            us[U(col)] = fxs * xd + ss * yd + cxs
            vs[U(col)] = fys * yd + cys


@jit
def _encode_linear(us, vs, w, ws, hs, offset, code, o0):  # pragma: no cover - compiled
    """Pixel offsets and codes (see the module) of ``w`` float32 positions, from ``o0``."""
    f32 = np.float32
    U = np.uint64
    wsf = f32(ws)
    hsf = f32(hs)
    for col in range(w):
        u = us[U(col)]
        v = vs[U(col)]
        if u >= f32(0.0) and u < wsf and v >= f32(0.0) and v < hsf:
            X = np.int32(math.floor(u * f32(32.0) - f32(15.5)))
            Y = np.int32(math.floor(v * f32(32.0) - f32(15.5)))
            ix = X >> 5
            iy = Y >> 5
            # a neighbour beyond the edge: the edge pixel alone (fraction 0)
            a = X & 31 if ix >= 0 and ix < ws - 1 else 0
            b = Y & 31 if iy >= 0 and iy < hs - 1 else 0
            offset[U(o0 + col)] = max(iy, 0) * ws + max(ix, 0)
            code[U(o0 + col)] = a | (b << 5)
        else:
            offset[U(o0 + col)] = 0
            code[U(o0 + col)] = MISS


@jit
def _encode_nearest(us, vs, w, ws, hs, offset, code, o0):  # pragma: no cover - compiled
    """Nearest-neighbour pixel offsets (codes 0, or MISS) of ``w`` float64 positions."""
    for col in range(w):
        u = us[col]
        v = vs[col]
        if u >= 0.0 and u < ws and v >= 0.0 and v < hs:
            offset[o0 + col] = int(v) * ws + int(u)
            code[o0 + col] = 0
        else:
            offset[o0 + col] = 0
            code[o0 + col] = MISS


_a = np.arange(1024) & 31
_b = np.arange(1024) >> 5
WEIGHTS = np.stack([(32 - _a) * (32 - _b), _a * (32 - _b), (32 - _a) * _b, _a * _b], -1)
"""Bilinear weights (1024, 4) of each code: top-left, top-right, bottom-left, bottom-right."""
_W = WEIGHTS.astype(np.uint64).reshape(-1)
_WF = (WEIGHTS / 1024.0).reshape(-1)

RGB8 = 0
"""Sampler for (H, W, 3) uint8 images: a neighbour pair's three channels in one
8-byte load, the three channels weighed at once (see the module)."""
INT = 1
"""Sampler for other integer images (one channel at a time, int64 sums)."""
FLOAT = 2
"""Sampler for float images (weights ``w / 1024``)."""
NEAREST = 3
"""Copy of the encoded pixel (a nearest-neighbour plan), any dtype."""


@jit
def _sample(src, ws, nc, kind, offset, code, n, i0, out, o0, fill):  # pragma: no cover
    """Sample encoded pixels ``i0 .. i0 + n`` of ``src`` (flat) into flat ``out`` from ``o0``
    (the INT, FLOAT and NEAREST samplers).

    Indices are unsigned, so no negative-index handling is compiled in.
    """
    U = np.uint64
    unc = U(nc)
    stride = U(ws) * unc
    if kind == NEAREST:
        for j in range(n):
            c = U(code[U(i0) + U(j)])
            o = U(o0) + unc * U(j)
            s0 = unc * U(offset[U(i0) + U(j)])
            for ch in range(nc):
                k = U(ch)
                if c >= U(MISS):
                    out[o + k] = fill
                else:
                    out[o + k] = src[s0 + k]
    else:
        for j in range(n):
            c = U(code[U(i0) + U(j)])
            o = U(o0) + unc * U(j)
            if c >= U(MISS):
                for ch in range(nc):
                    out[o + U(ch)] = fill
                continue
            s0 = unc * U(offset[U(i0) + U(j)])
            dx = unc * U((c & U(31)) != U(0))
            s1 = s0 + dx
            s2 = s0 + stride * U(c >= U(32))
            s3 = s2 + dx
            c4 = U(4) * c
            if kind == INT:
                w00 = np.int64(_W[c4])
                w01 = np.int64(_W[c4 + U(1)])
                w10 = np.int64(_W[c4 + U(2)])
                w11 = np.int64(_W[c4 + U(3)])
                for ch in range(nc):
                    k = U(ch)
                    out[o + k] = (
                        np.int64(src[s0 + k]) * w00
                        + np.int64(src[s1 + k]) * w01
                        + np.int64(src[s2 + k]) * w10
                        + np.int64(src[s3 + k]) * w11
                        + 512
                    ) >> 10
            else:
                f00 = _WF[c4]
                f01 = _WF[c4 + U(1)]
                f10 = _WF[c4 + U(2)]
                f11 = _WF[c4 + U(3)]
                for ch in range(nc):
                    k = U(ch)
                    out[o + k] = (
                        f00 * src[s0 + k]
                        + f01 * src[s1 + k]
                        + f10 * src[s2 + k]
                        + f11 * src[s3 + k]
                    )


@jit
def _row_positions(row, c0, w, geom, us, vs, us64, vs64):  # pragma: no cover - compiled
    """Float32 source positions of columns ``c0 .. c0 + w`` of one output row into
    ``us``, ``vs`` (an output camera with a lens model: whole rows only, ``c0 = 0``).

    ``geom``: ``(k_dst, model_dst, p_dst, rot, k_src, model_src, p_src, tol)``, the two
    cameras as the kernels' entry points receive them.
    """
    k_dst, model_dst, p_dst, rot, k_src, model_src, p_src, tol = geom
    if model_dst < 0:
        _row_coords32(row, c0, w, k_dst, rot, k_src, model_src, p_src, us, vs)
    else:
        _row_coords(row, w, k_dst, model_dst, p_dst, rot, k_src, model_src, p_src, tol, us64, vs64)
        for col in range(w):
            us[col] = us64[col]
            vs[col] = vs64[col]


@jit
def _warp_tile(pairs, out, ws, hs, h, w, r0, c0, tw, geom, fill):  # pragma: no cover - compiled
    """The RGB8 sampler's fused work item: output rows ``r0 .. r0 + TILE_ROWS``,
    columns ``c0 .. c0 + tw`` (a function of its own, not inside the parallel loop:
    so both variants run the same compiled loops)."""
    n = min(tw, w - c0)
    n64 = w if geom[1] >= 0 else 0  # model_dst: lens positions are lifted in float64
    fill3 = np.uint32(fill) * np.uint32(0x10101)
    last = np.uint64(pairs.size - 1)
    ahead = AHEAD * 3 * ws
    us = np.empty(tw, np.float32)
    vs = np.empty(tw, np.float32)
    us64 = np.empty(n64)
    vs64 = np.empty(n64)
    o0, o2, cc, top, bottom, res = pair_buffers(tw)
    for row in range(r0, min(r0 + TILE_ROWS, h)):
        _row_positions(row, c0, n, geom, us, vs, us64, vs64)
        clamp = encode_pairs(us, vs, n, ws, hs, o0, o2, cc) > last
        prefetch_below(pairs, n, o2, ahead)
        gather_pairs(pairs, n, o0, o2, top, bottom, clamp)
        blend_pairs(n, o0, o2, cc, top, bottom, last, fill3, res, clamp)
        store_rgb(n, res, out, 3 * (row * w + c0))


def _warp_linear(
    src,
    pairs,
    out,
    ws,
    hs,
    nc,
    kind,
    h,
    w,
    k_dst,
    model_dst,
    p_dst,
    rot,
    k_src,
    model_src,
    p_src,
    tol,
    fill,
):  # pragma: no cover - compiled
    # Fused: positions, encoding and sampling through buffers that stay in cache
    # (no map is stored). RGB8: one output tile per work item (whole rows when the
    # output camera has a lens model); other samplers: ROWS whole rows.
    geom = (k_dst, model_dst, p_dst, rot, k_src, model_src, p_src, tol)
    n64 = w if model_dst >= 0 else 0
    if kind == RGB8:
        tw = TILE_COLS if model_dst < 0 else w
        ntx = (w + tw - 1) // tw
        for t in prange(ntx * ((h + TILE_ROWS - 1) // TILE_ROWS)):
            r0 = (t // ntx) * TILE_ROWS
            c0 = (t % ntx) * tw
            _warp_tile(pairs, out, ws, hs, h, w, r0, c0, tw, geom, fill)
    else:
        for blk in prange((h + ROWS - 1) // ROWS):
            us = np.empty(w, np.float32)
            vs = np.empty(w, np.float32)
            us64 = np.empty(n64)
            vs64 = np.empty(n64)
            offset = np.empty(w, np.int32)
            code = np.empty(w, np.uint16)
            for row in range(blk * ROWS, min(blk * ROWS + ROWS, h)):
                _row_positions(row, 0, w, geom, us, vs, us64, vs64)
                _encode_linear(us, vs, w, ws, hs, offset, code, 0)
                _sample(src, ws, nc, kind, offset, code, w, 0, out, row * w * nc, fill)


warp_linear_serial, warp_linear_parallel = jit_variants(_warp_linear)


def _plan(
    ws, hs, h, w, k_dst, model_dst, p_dst, rot, k_src, model_src, p_src, tol, nearest, offset, code
):  # pragma: no cover - compiled
    geom = (k_dst, model_dst, p_dst, rot, k_src, model_src, p_src, tol)
    for blk in prange((h + ROWS - 1) // ROWS):
        us = np.empty(w, np.float32)
        vs = np.empty(w, np.float32)
        us64 = np.empty(w)
        vs64 = np.empty(w)
        for row in range(blk * ROWS, min(blk * ROWS + ROWS, h)):
            if nearest:
                _row_coords(
                    row, w, k_dst, model_dst, p_dst, rot, k_src, model_src, p_src, tol, us64, vs64
                )
                _encode_nearest(us64, vs64, w, ws, hs, offset, code, row * w)
            else:
                _row_positions(row, 0, w, geom, us, vs, us64, vs64)
                _encode_linear(us, vs, w, ws, hs, offset, code, row * w)


plan_serial, plan_parallel = jit_variants(_plan)

BLOCK = 4096
"""Output pixels per parallel work item of a stored plan (samplers other than RGB8)."""


@jit
def _apply_tile(pairs, ws, offset, code, h, w, r0, c0, out, fill):  # pragma: no cover
    """The RGB8 sampler's work item of a stored plan (see :func:`_warp_tile`)."""
    n = min(TILE_COLS, w - c0)
    fill3 = np.uint32(fill) * np.uint32(0x10101)
    last = np.uint64(pairs.size - 1)
    ahead = AHEAD * 3 * ws
    o0, o2, cc, top, bottom, res = pair_buffers(TILE_COLS)
    for row in range(r0, min(r0 + TILE_ROWS, h)):
        i0 = row * w + c0
        clamp = plan_pairs(offset, code, i0, n, ws, o0, o2, cc) > last
        prefetch_below(pairs, n, o2, ahead)
        gather_pairs(pairs, n, o0, o2, top, bottom, clamp)
        blend_pairs(n, o0, o2, cc, top, bottom, last, fill3, res, clamp)
        store_rgb(n, res, out, 3 * i0)


def _apply(src, pairs, ws, nc, kind, offset, code, h, w, out, fill):  # pragma: no cover
    if kind == RGB8:
        ntx = (w + TILE_COLS - 1) // TILE_COLS
        for t in prange(ntx * ((h + TILE_ROWS - 1) // TILE_ROWS)):
            _apply_tile(
                pairs,
                ws,
                offset,
                code,
                h,
                w,
                (t // ntx) * TILE_ROWS,
                (t % ntx) * TILE_COLS,
                out,
                fill,
            )
    else:
        n = offset.shape[0]
        for blk in prange((n + BLOCK - 1) // BLOCK):
            i0 = blk * BLOCK
            _sample(src, ws, nc, kind, offset, code, min(BLOCK, n - i0), i0, out, i0 * nc, fill)


apply_serial, apply_parallel = jit_variants(_apply)

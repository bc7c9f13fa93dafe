"""Depth map to point cloud kernels (two passes, parallel over image rows).

Private kernels behind :mod:`camgeom.depth`. They do no validation: callers pass
a C-contiguous float32 or float64 ``depth`` (H, W), a C-contiguous boolean
``mask`` (H, W) (a (1, 1) placeholder with ``use_mask=False``), ``max_depth``,
the background values ``skip`` and the per-column / per-row ray terms of
``write_points``, all in the dtype of ``depth``. The plain-numpy references
the tests compare against live in ``tests/test_depth.py``.

A pixel ``(row, col)`` is valid when ``0 < depth[row, col] < max_depth`` (false
for NaN and, with ``max_depth <= inf``, for +inf), ``depth[row, col]`` equals
none of the four values in ``skip`` (pad with NaN, which equals nothing) and,
with ``use_mask``, ``mask[row, col]`` is true. Valid pixels are written in
row-major order.

``max_depth`` must be the smallest value of the depth dtype that is ``>=`` the
caller's float64 limit, so that ``d < max_depth`` in that dtype equals the
float64 comparison for every depth value ``d``.

Pixel strides are handled by the caller, which passes the sub-sampled grid
(``depth[::s, ::s]`` and the matching ray terms, made contiguous) and
``stride = s`` so that the pixel indices written are the full-resolution
``(col * s, row * s)``. The inner loops then run over unit steps, which LLVM
compiles to much tighter code than a loop with a run-time step.

Pass 1 (``count_valid_rows``) counts the valid pixels of every row; the
caller turns the counts into start offsets (exclusive prefix sum) and sizes the
output; pass 2 (``write_points``) writes each row's points from its offset.
Each pass is compiled twice (:func:`camgeom._jit.jit_variants`): ``*_parallel``
splits the rows over numba's threads, ``*_serial`` runs them in one thread for
maps too small to pay for starting the threads. From :data:`STREAM_MIN_POINTS`
points on, pass 2 writes with streaming stores (:mod:`camgeom._kernels.streaming`),
which do not read the output's memory before writing it.
"""

from __future__ import annotations

import numpy as np

from camgeom._jit import jit, jit_variants, prange
from camgeom._kernels.streaming import fence, store_nt

__all__ = [
    "ROWS_PER_TASK",
    "STREAM_MIN_POINTS",
    "count_valid_rows_parallel",
    "count_valid_rows_serial",
    "write_points_parallel",
    "write_points_serial",
]


def _count_valid_rows(depth, mask, use_mask, max_depth, skip):  # pragma: no cover - compiled
    """Number of valid pixels in each row of ``depth``, as an int64 array of length H."""
    h, w = depth.shape
    s0, s1, s2, s3 = skip[0], skip[1], skip[2], skip[3]
    counts = np.empty(h, dtype=np.int64)
    for r in prange(h):
        d_row = depth[r]
        n = 0
        if use_mask:
            m_row = mask[r]
            for c in range(w):
                d = d_row[c]
                ok = (d > 0) & (d < max_depth) & (d != s0) & (d != s1) & (d != s2) & (d != s3)
                n += ok & m_row[c]
        else:
            for c in range(w):
                d = d_row[c]
                n += (d > 0) & (d < max_depth) & (d != s0) & (d != s1) & (d != s2) & (d != s3)
        counts[r] = n
    return counts


@jit
def _store_point(points, k, x, y, t, stream):  # pragma: no cover - compiled (and inlined by LLVM)
    """Write point ``k`` = ``t * (x, y, 1)`` into the flat (3 N,) ``points``."""
    j = 3 * k
    if stream:
        store_nt(points, j, x * t)
        store_nt(points, j + 1, y * t)
        store_nt(points, j + 2, t)
    else:
        points[j] = x * t
        points[j + 1] = y * t
        points[j + 2] = t


@jit
def _store_index(indices, k, col, row, stream):  # pragma: no cover - compiled (and inlined)
    """Write pixel index ``k`` = ``(col, row)`` into the flat (2 N,) ``indices``."""
    if stream:
        store_nt(indices, 2 * k, col)
        store_nt(indices, 2 * k + 1, row)
    else:
        indices[2 * k] = col
        indices[2 * k + 1] = row


STREAM_MIN_POINTS = 1 << 21
"""Outputs of this many points (24 MB of float32 points, most of a server's last-level
cache) and more are written with streaming stores (:mod:`camgeom._kernels.streaming`):
at 4096 x 4096 that saves reading the output's 179 MB before writing it. Smaller
outputs stay in the cache for whatever reads them next."""


ROWS_PER_TASK = 16
"""Rows handled by one task of ``write_points`` (they share its row buffers)."""


def _write_points(  # pragma: no cover - compiled
    depth,
    mask,
    use_mask,
    max_depth,
    skip,
    is_range,
    xc,
    xr,
    yr,
    yq,
    stride,
    offsets,
    points,
    pixel_indices,
    write_indices,
):
    """Write the camera-frame points (and, if asked, the (column, row) indices) of valid pixels.

    The normalised ray of pixel ``(row, col)`` is ``(x, y, 1)`` with
    ``x = xc[col] + xr[row]`` and ``y = yr[row]`` (``xr`` carries the skew term);
    ``yq[row] = y * y + 1``. For z-depth the point is ``d * (x, y, 1)``; for range
    it is ``d / sqrt(x * x + yq[row]) * (x, y, 1)``. The ray terms, ``max_depth``
    and ``skip`` have the dtype of ``depth``, which sets the precision of the
    arithmetic. The index written is ``(col * stride, row * stride)``.

    ``offsets[row]`` is the index of the first point of the row (exclusive
    prefix sum of ``count_valid_rows``, length H + 1). ``points`` is the flat
    (3 N,) view of a C-contiguous (N, 3) float32 array with ``N >= offsets[-1]``.
    With ``write_indices``, ``pixel_indices`` is the flat (2 N,) view of an
    (N, 2) int32 array; otherwise it is not touched (pass any int32 array).

    Each row is done in two steps. First, loops without dependencies between
    pixels (which LLVM vectorises) compute every pixel's validity and, for
    range, its scale ``d / |ray|`` into row buffers. Then a serial loop writes
    the points: every pixel is written at the row's next free index ``k``, and
    ``k`` advances only for a valid one, so an invalid pixel's values are
    overwritten by the next valid pixel (no branch on validity, so scattered
    invalid pixels cost no mispredictions). A row stops once its last valid
    pixel is written, so nothing lands outside ``offsets[row] .. offsets[row + 1]``.
    """
    h, w = depth.shape
    s0, s1, s2, s3 = skip[0], skip[1], skip[2], skip[3]
    n_tasks = (h + ROWS_PER_TASK - 1) // ROWS_PER_TASK
    stream = offsets[h] >= STREAM_MIN_POINTS
    for t in prange(n_tasks):
        # Tasks run from the bottom of the image up: with freshly allocated output
        # this measured 13-15% faster (how the OS hands out and zeroes new pages),
        # and no slower with a reused buffer.
        task = n_tasks - 1 - t
        ok = np.empty(w, dtype=np.uint8)
        ray_scale = np.empty(w, dtype=depth.dtype)
        for r in range(task * ROWS_PER_TASK, min(h, (task + 1) * ROWS_PER_TASK)):
            k = offsets[r]
            end = offsets[r + 1]
            if k == end:
                continue
            d_row = depth[r]
            x_row = xr[r]
            y = yr[r]
            scale = d_row
            if is_range:
                y_sq1 = yq[r]
                for c in range(w):
                    d = d_row[c]
                    valid = (d > 0) & (d < max_depth) & (d != s0) & (d != s1)
                    ok[c] = valid & (d != s2) & (d != s3)
                    x = xc[c] + x_row
                    ray_scale[c] = d / np.sqrt(x * x + y_sq1)
                scale = ray_scale
            else:
                for c in range(w):
                    d = d_row[c]
                    valid = (d > 0) & (d < max_depth) & (d != s0) & (d != s1)
                    ok[c] = valid & (d != s2) & (d != s3)
            if use_mask:
                m_row = mask[r]
                for c in range(w):
                    ok[c] &= m_row[c]
            row = np.int32(r * stride)
            # Two loops rather than a test inside one: LLVM does not unswitch it (15% slower).
            if write_indices:
                for c in range(w):
                    _store_point(points, k, xc[c] + x_row, y, scale[c], stream)
                    _store_index(pixel_indices, k, np.int32(c * stride), row, stream)
                    k += ok[c]
                    if k == end:
                        break
            else:
                for c in range(w):
                    _store_point(points, k, xc[c] + x_row, y, scale[c], stream)
                    k += ok[c]
                    if k == end:
                        break
        if stream:
            fence()  # the streaming stores are weakly ordered: done before the task ends


# Two cache entries per pass (depth._count_valid_rows_serial-*, ..._parallel-*), never
# one shared by both: see camgeom._jit.jit_variants.
count_valid_rows_serial, count_valid_rows_parallel = jit_variants(_count_valid_rows)
write_points_serial, write_points_parallel = jit_variants(_write_points)

"""Depth map to point cloud kernels (two passes, parallel over image rows).

Private kernels behind :mod:`camgeom.depth`. They do no validation: callers pass
a C-contiguous float32 or float64 ``depth`` (H, W), a C-contiguous boolean
``mask`` (H, W) (a (1, 1) placeholder with ``use_mask=False``), ``max_depth``,
the background values ``skip`` and the per-column / per-row ray terms of
:func:`write_points`, all in the dtype of ``depth``. The plain-numpy references
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

Pass 1 (:func:`count_valid_rows`) counts the valid pixels of every row; the
caller turns the counts into start offsets (exclusive prefix sum) and sizes the
output; pass 2 (:func:`write_points`) writes each row's points from its offset.
"""

from __future__ import annotations

import numpy as np

from camgeom._jit import pjit, prange

__all__ = ["count_valid_rows", "write_points"]


@pjit
def count_valid_rows(depth, mask, use_mask, max_depth, skip):
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


@pjit
def write_points(
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
    prefix sum of :func:`count_valid_rows`, length H + 1). ``points`` is the flat
    (3 N,) view of a C-contiguous (N, 3) float32 array with ``N >= offsets[-1]``.
    With ``write_indices``, ``pixel_indices`` is the flat (2 N,) view of an
    (N, 2) int32 array; otherwise it is not touched (pass any int32 array).

    The loop is branch-free on validity (scattered invalid pixels cost no branch
    mispredictions): every pixel is written at the row's next free index ``k``,
    and ``k`` advances only for a valid one, so an invalid pixel's values are
    overwritten by the next valid pixel. A row stops once its last valid pixel is
    written, so nothing lands outside ``offsets[row] .. offsets[row + 1]``. For
    range depth the ray scale of the whole row is computed first, in a loop that
    vectorises, so the square roots do not sit in the serial write loop.
    """
    h, w = depth.shape
    s0, s1, s2, s3 = skip[0], skip[1], skip[2], skip[3]
    for r in prange(h):
        k = offsets[r]
        end = offsets[r + 1]
        if k == end:
            continue
        d_row = depth[r]
        m_row = mask[r] if use_mask else mask[0]
        x_row = xr[r]
        y = yr[r]
        if is_range:
            scale = np.empty(w, dtype=depth.dtype)
            y_sq1 = yq[r]
            for c in range(w):
                x = xc[c] + x_row
                scale[c] = d_row[c] / np.sqrt(x * x + y_sq1)
        else:
            scale = d_row
        row = np.int32(r * stride)
        for c in range(w):
            d = d_row[c]
            valid = (d > 0) & (d < max_depth) & (d != s0) & (d != s1) & (d != s2) & (d != s3)
            if use_mask:
                valid = valid & m_row[c]
            t = scale[c]
            j = 3 * k
            points[j] = (xc[c] + x_row) * t
            points[j + 1] = y * t
            points[j + 2] = t
            if write_indices:
                pixel_indices[2 * k] = c * stride
                pixel_indices[2 * k + 1] = row
            k += valid
            if k == end:
                break

"""Numba kernel of batched pinhole projection (private; see camgeom.projection).

Inputs are already validated and canonicalised by the public wrapper: points
(M * N, 3), one K (M, 3, 3) and one pose (M, 4, 4) per group of N consecutive
points. Outputs are written into ``uv`` (M * N, 2) and ``depth`` (M * N,).
"""

from __future__ import annotations

import numpy as np

from camgeom._jit import jit, pjit, prange

CHUNK = 2048


def _project(points, K, pose, n_per, uv, depth):  # pragma: no cover - compiled twice below
    total = points.shape[0]
    nchunks = (total + CHUNK - 1) // CHUNK
    for c in prange(nchunks):
        start = c * CHUNK
        end = min(start + CHUNK, total)
        m = start // n_per
        n = start - m * n_per
        r00, r01, r02, t0 = pose[m, 0, 0], pose[m, 0, 1], pose[m, 0, 2], pose[m, 0, 3]
        r10, r11, r12, t1 = pose[m, 1, 0], pose[m, 1, 1], pose[m, 1, 2], pose[m, 1, 3]
        r20, r21, r22, t2 = pose[m, 2, 0], pose[m, 2, 1], pose[m, 2, 2], pose[m, 2, 3]
        fx, s, cx, fy, cy = K[m, 0, 0], K[m, 0, 1], K[m, 0, 2], K[m, 1, 1], K[m, 1, 2]
        for i in range(start, end):
            if n == n_per:
                m += 1
                n = 0
                r00, r01, r02, t0 = pose[m, 0, 0], pose[m, 0, 1], pose[m, 0, 2], pose[m, 0, 3]
                r10, r11, r12, t1 = pose[m, 1, 0], pose[m, 1, 1], pose[m, 1, 2], pose[m, 1, 3]
                r20, r21, r22, t2 = pose[m, 2, 0], pose[m, 2, 1], pose[m, 2, 2], pose[m, 2, 3]
                fx, s, cx, fy, cy = K[m, 0, 0], K[m, 0, 1], K[m, 0, 2], K[m, 1, 1], K[m, 1, 2]
            px = points[i, 0]
            py = points[i, 1]
            pz = points[i, 2]
            x = r00 * px + r01 * py + r02 * pz + t0
            y = r10 * px + r11 * py + r12 * pz + t1
            z = r20 * px + r21 * py + r22 * pz + t2
            depth[i] = z
            if z > 0.0:
                inv = 1.0 / z
                xn = x * inv
                yn = y * inv
                uv[i, 0] = fx * xn + s * yn + cx
                uv[i, 1] = fy * yn + cy
            else:
                uv[i, 0] = np.nan
                uv[i, 1] = np.nan
            n += 1


project_serial = jit(_project)
project_parallel = pjit(_project)

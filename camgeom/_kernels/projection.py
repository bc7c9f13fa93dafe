"""Numba kernel of batched pinhole projection (private; see camgeom.projection).

Inputs are already validated and canonicalised by the public wrapper: points
(M * N, 3), one K (M, 3, 3) and one pose (M, 4, 4) per group of N consecutive
points. Outputs are written into ``uv`` (M * N, 2) and ``depth`` (M * N,).
"""

from __future__ import annotations

from camgeom._jit import jit_variants, prange

CHUNK = 4096


def _project(points, K, pose, n_per, uv, depth):  # pragma: no cover - compiled
    # Work items are chunks that never cross a group boundary, so the inner loop
    # runs with constant camera parameters and no bookkeeping: it is memory-bound.
    n_groups = K.shape[0]
    per = (n_per + CHUNK - 1) // CHUNK
    for c in prange(n_groups * per):
        m = c // per
        n0 = (c - m * per) * CHUNK
        n1 = min(n0 + CHUNK, n_per)
        r00, r01, r02, t0 = pose[m, 0, 0], pose[m, 0, 1], pose[m, 0, 2], pose[m, 0, 3]
        r10, r11, r12, t1 = pose[m, 1, 0], pose[m, 1, 1], pose[m, 1, 2], pose[m, 1, 3]
        r20, r21, r22, t2 = pose[m, 2, 0], pose[m, 2, 1], pose[m, 2, 2], pose[m, 2, 3]
        fx, s, cx, fy, cy = K[m, 0, 0], K[m, 0, 1], K[m, 0, 2], K[m, 1, 1], K[m, 1, 2]
        base = m * n_per
        for i in range(base + n0, base + n1):
            px = points[i, 0]
            py = points[i, 1]
            pz = points[i, 2]
            x = r00 * px + r01 * py + r02 * pz + t0
            y = r10 * px + r11 * py + r12 * pz + t1
            z = r20 * px + r21 * py + r22 * pz + t2
            # Branch-free "NaN unless in front": f is 1.0 or 0.0 (NaN z gives 0.0),
            # and f / f is exactly 1.0 or NaN. A branch here is unpredictable when
            # points lie on both sides of the camera and costs ~50% of the speed.
            f = (z > 0.0) * 1.0
            inv = (f / f) / z
            xn = x * inv
            yn = y * inv
            uv[i, 0] = fx * xn + s * yn + cx
            uv[i, 1] = fy * yn + cy
            depth[i] = z


# Two cache entries (projection._project_serial-*, projection._project_parallel-*),
# never one shared by both: see camgeom._jit.jit_variants.
project_serial, project_parallel = jit_variants(_project)

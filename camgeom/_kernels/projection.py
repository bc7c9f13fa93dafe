"""Numba kernel of batched pinhole projection (private; see camgeom.projection).

Inputs are already validated and canonicalised by the public wrapper: points
(M * N, 3), one K (M, 3, 3) and one pose (M, 4, 4) per group of N consecutive
points. Outputs are written into ``uv`` (M * N, 2) and ``depth`` (M * N,).
K's last row is taken to be [0, 0, 1] (the wrapper checks it to 1e-9).
"""

from __future__ import annotations

from camgeom._jit import jit_variants, prange

CHUNK = 4096


def _project(points, K, pose, n_per, uv, depth):  # pragma: no cover - compiled
    # Work items are chunks that never cross a group boundary, so the inner loop
    # runs with constant camera parameters and no bookkeeping.
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
        # img_from_world = K @ [R | t], folded once per chunk: per point the kernel
        # then does three dot products and one scaling (a quarter fewer operations).
        a00 = fx * r00 + s * r10 + cx * r20
        a01 = fx * r01 + s * r11 + cx * r21
        a02 = fx * r02 + s * r12 + cx * r22
        a03 = fx * t0 + s * t1 + cx * t2
        a10 = fy * r10 + cy * r20
        a11 = fy * r11 + cy * r21
        a12 = fy * r12 + cy * r22
        a13 = fy * t1 + cy * t2
        base = m * n_per
        for i in range(base + n0, base + n1):
            px = points[i, 0]
            py = points[i, 1]
            pz = points[i, 2]
            u = a00 * px + a01 * py + a02 * pz + a03
            v = a10 * px + a11 * py + a12 * pz + a13
            z = r20 * px + r21 * py + r22 * pz + t2
            # Branch-free "NaN unless in front": f is 1.0 or 0.0 (NaN z gives 0.0),
            # and f / f is exactly 1.0 or NaN. A branch here is unpredictable when
            # points lie on both sides of the camera and costs ~60% of the speed.
            f = (z > 0.0) * 1.0
            inv = (f / f) / z
            uv[i, 0] = u * inv
            uv[i, 1] = v * inv
            depth[i] = z


# Two cache entries (projection._project_serial-*, projection._project_parallel-*),
# never one shared by both: see camgeom._jit.jit_variants. Fused multiply-adds
# take about 15% off the kernel's time.
project_serial, project_parallel = jit_variants(_project, fma=True)

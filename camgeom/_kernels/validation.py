"""Numba kernels behind the pose and intrinsics checks (private; see camgeom._validation).

One pass over a stack of matrices returns the worst violation, so checking a
single pose costs about a microsecond and 10,000 poses well under a millisecond.
"""

from __future__ import annotations

import numpy as np

from camgeom._jit import jit


@jit
def pose_errors(poses):  # pragma: no cover - compiled
    """For poses (M, 4, 4): (max |R^T R - I|, min det R, max |last row - [0,0,0,1]|, all finite)."""
    ortho = 0.0
    min_det = np.inf
    last = 0.0
    finite = True
    for m in range(poses.shape[0]):
        for i in range(4):
            for j in range(4):
                if not np.isfinite(poses[m, i, j]):
                    finite = False
        for i in range(3):
            for j in range(3):
                s = 0.0
                for k in range(3):
                    s += poses[m, k, i] * poses[m, k, j]
                if i == j:
                    s -= 1.0
                ortho = max(ortho, abs(s))
        a = poses[m]
        det = (
            a[0, 0] * (a[1, 1] * a[2, 2] - a[1, 2] * a[2, 1])
            - a[0, 1] * (a[1, 0] * a[2, 2] - a[1, 2] * a[2, 0])
            + a[0, 2] * (a[1, 0] * a[2, 1] - a[1, 1] * a[2, 0])
        )
        min_det = min(min_det, det)
        last = max(last, abs(a[3, 0]), abs(a[3, 1]), abs(a[3, 2]), abs(a[3, 3] - 1.0))
    return ortho, min_det, last, finite


@jit
def intrinsics_errors(Ks):  # pragma: no cover - compiled
    """For K (M, 3, 3): (min fx, min fy, max |lower part and last row - [0,0,1]|, all finite)."""
    min_fx = np.inf
    min_fy = np.inf
    shape_err = 0.0
    finite = True
    for m in range(Ks.shape[0]):
        for i in range(3):
            for j in range(3):
                if not np.isfinite(Ks[m, i, j]):
                    finite = False
        min_fx = min(min_fx, Ks[m, 0, 0])
        min_fy = min(min_fy, Ks[m, 1, 1])
        shape_err = max(
            shape_err, abs(Ks[m, 1, 0]), abs(Ks[m, 2, 0]), abs(Ks[m, 2, 1]), abs(Ks[m, 2, 2] - 1.0)
        )
    return min_fx, min_fy, shape_err, finite

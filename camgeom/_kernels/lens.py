"""Numba kernels of lens distortion (private; see camgeom.lens and camgeom.warp).

Parameter vector ``p`` (float64, length 10), filled by ``camgeom.lens``:

* model 0, OpenCV rational radial-tangential: ``k1, k2, p1, p2, k3, k4, k5, k6,
  r2_max, 0`` where ``r2_max`` bounds the squared normalised radius of the
  model's monotonic (invertible) range.
* model 1, OpenCV fisheye: ``k1, k2, k3, k4, 0, 0, 0, 0, r2_max, theta_d_max``
  where ``theta_d_max`` is the distorted angle at the end of that range.

Points outside the range give NaN, never a wrapped value.
"""

from __future__ import annotations

import math

import numpy as np

from camgeom._jit import jit, jit_variants, prange

OPENCV = 0
FISHEYE = 1
CHUNK = 4096


@jit
def distort(model, p, x, y):  # pragma: no cover - compiled
    """Distorted normalised coordinates of undistorted ``(x, y)`` (NaN outside the range)."""
    r2 = x * x + y * y
    if not r2 <= p[8]:
        return np.nan, np.nan
    if model == OPENCV:
        num = 1.0 + r2 * (p[0] + r2 * (p[1] + r2 * p[4]))
        den = 1.0 + r2 * (p[5] + r2 * (p[6] + r2 * p[7]))
        radial = num / den
        xy = x * y
        xd = x * radial + 2.0 * p[2] * xy + p[3] * (r2 + 2.0 * x * x)
        yd = y * radial + p[2] * (r2 + 2.0 * y * y) + 2.0 * p[3] * xy
        return xd, yd
    r = math.sqrt(r2)
    if r < 1e-300:
        return x, y
    th = math.atan(r)
    t2 = th * th
    thd = th * (1.0 + t2 * (p[0] + t2 * (p[1] + t2 * (p[2] + t2 * p[3]))))
    scale = thd / r
    return x * scale, y * scale


@jit
def undistort(model, p, xd, yd, tol, max_iter):  # pragma: no cover - compiled
    """Undistorted normalised coordinates of distorted ``(xd, yd)`` by Newton iteration.

    Stops when the step is below ``tol``; NaN when the point is outside the
    model's range or the iteration does not converge in ``max_iter`` steps.
    """
    if not (math.isfinite(xd) and math.isfinite(yd)):
        return np.nan, np.nan
    if model == FISHEYE:
        thd = math.sqrt(xd * xd + yd * yd)
        if thd < 1e-300:
            return xd, yd
        if thd > p[9]:
            return np.nan, np.nan
        hi = math.atan(math.sqrt(p[8])) if p[8] < np.inf else 0.5 * math.pi
        lo = 0.0
        th = min(thd, hi)
        ok = False
        for _ in range(max_iter):
            t2 = th * th
            g = th * (1.0 + t2 * (p[0] + t2 * (p[1] + t2 * (p[2] + t2 * p[3])))) - thd
            dg = 1.0 + t2 * (3.0 * p[0] + t2 * (5.0 * p[1] + t2 * (7.0 * p[2] + t2 * 9.0 * p[3])))
            if abs(g) <= 4.4e-16 * thd:  # converged to rounding (steps are noise there)
                ok = True
                break
            if g > 0.0:
                hi = th
            else:
                lo = th
            step = g / dg if dg > 0.0 else np.inf
            new = th - step
            if not (lo <= new <= hi):  # safeguard: bisect inside the monotonic bracket
                new = 0.5 * (lo + hi)
            done = abs(new - th) <= tol * max(1.0, th)
            th = new
            if done:
                ok = True
                break
        if not ok or th >= 0.5 * math.pi:
            return np.nan, np.nan
        scale = math.tan(th) / thd
        return xd * scale, yd * scale
    # OpenCV: 2-D Newton on dist(x, y) - (xd, yd) with a backtracking step: a step
    # that leaves the model's range or does not shrink the residual is halved from
    # the point it started at (near the fold of the radial polynomial a full step
    # overshoots and the plain iteration diverges).
    k1, k2, p1, p2, k3, k4, k5, k6 = p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]
    x = xd
    y = yd
    fx = 0.0
    fy = 0.0
    prev_cost = np.inf
    px = x
    py = y
    psx = 0.0
    psy = 0.0
    t = 1.0
    for it in range(max_iter + 1):
        r2 = x * x + y * y
        num = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        den = 1.0 + r2 * (k4 + r2 * (k5 + r2 * k6))
        rad = num / den
        xy = x * y
        fx = x * rad + 2.0 * p1 * xy + p2 * (r2 + 2.0 * x * x) - xd
        fy = y * rad + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * xy - yd
        cost = abs(fx) + abs(fy)
        if not (r2 <= p[8] and cost < prev_cost) and t > 1.0 / 1024.0:
            t *= 0.5  # overshot: a shorter step from the previous point
            x = px - t * psx
            y = py - t * psy
            continue
        if it == max_iter:
            break
        if cost <= 4.4e-16 * (abs(xd) + abs(yd)):
            break  # converged to rounding
        dnum = k1 + r2 * (2.0 * k2 + r2 * 3.0 * k3)
        dden = k4 + r2 * (2.0 * k5 + r2 * 3.0 * k6)
        drad = (dnum * den - num * dden) / (den * den)
        a = rad + 2.0 * x * x * drad + 2.0 * p1 * y + 6.0 * p2 * x
        b = 2.0 * xy * drad + 2.0 * p1 * x + 2.0 * p2 * y
        d = rad + 2.0 * y * y * drad + 6.0 * p1 * y + 2.0 * p2 * x
        det = a * d - b * b
        if det == 0.0 or not math.isfinite(det):
            return np.nan, np.nan
        sx = (d * fx - b * fy) / det
        sy = (a * fy - b * fx) / det
        px = x
        py = y
        psx = sx
        psy = sy
        prev_cost = cost
        t = 1.0
        x -= sx
        y -= sy
        if abs(sx) + abs(sy) <= tol * max(1.0, abs(x) + abs(y)):
            fx = 0.0
            fy = 0.0
            break
    if abs(fx) + abs(fy) > 4.4e-16 * (abs(xd) + abs(yd)) and it == max_iter:
        return np.nan, np.nan
    if not x * x + y * y <= p[8]:
        return np.nan, np.nan
    return x, y


def _project_lens(points, K, pose, n_per, model, p, uv, depth):  # pragma: no cover - compiled
    # Indices are unsigned (numba compiles no negative-index handling for them)
    # and "NaN unless in front / in range" are selects, so the two OpenCV loops
    # vectorise; the fisheye loop calls atan per point.
    U = np.uint64
    nan = np.nan
    n_groups = K.shape[0]
    per = (n_per + CHUNK - 1) // CHUNK
    k1, k2, p1, p2, k3, k4, k5, k6, r2max = p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8]
    tp1 = 2.0 * p1
    tp2 = 2.0 * p2
    # The common OpenCV case (k1 k2 p1 p2 k3) has no rational part: one division
    # per point, as in the pinhole kernel.
    plain = model == OPENCV and k4 == 0.0 and k5 == 0.0 and k6 == 0.0
    pts = points.reshape(-1)
    out = uv.reshape(-1)
    for c in prange(n_groups * per):
        m = c // per
        n0 = (c - m * per) * CHUNK
        n1 = min(n0 + CHUNK, n_per)
        r00, r01, r02, t0 = pose[m, 0, 0], pose[m, 0, 1], pose[m, 0, 2], pose[m, 0, 3]
        r10, r11, r12, t1 = pose[m, 1, 0], pose[m, 1, 1], pose[m, 1, 2], pose[m, 1, 3]
        r20, r21, r22, t2 = pose[m, 2, 0], pose[m, 2, 1], pose[m, 2, 2], pose[m, 2, 3]
        fx, s, cx, fy, cy = K[m, 0, 0], K[m, 0, 1], K[m, 0, 2], K[m, 1, 1], K[m, 1, 2]
        base = U(m * n_per)
        for j in range(n0, n1):
            i = base + U(j)
            px = pts[U(3) * i]
            py = pts[U(3) * i + U(1)]
            pz = pts[U(3) * i + U(2)]
            z = r20 * px + r21 * py + r22 * pz + t2
            inv = 1.0 / z
            inv = inv if z > 0.0 else nan  # NaN z too
            x = (r00 * px + r01 * py + r02 * pz + t0) * inv
            y = (r10 * px + r11 * py + r12 * pz + t1) * inv
            if plain or model == OPENCV:
                x2 = x * x
                y2 = y * y
                r2 = x2 + y2
                rad = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
                if not plain:
                    rad = rad / (1.0 + r2 * (k4 + r2 * (k5 + r2 * k6)))
                rad = rad if r2 <= r2max else nan
                xy = x * y
                xd = x * rad + tp1 * xy + p2 * (r2 + 2.0 * x2)
                yd = y * rad + p1 * (r2 + 2.0 * y2) + tp2 * xy
            else:
                xd, yd = distort(model, p, x, y)
            out[U(2) * i] = fx * xd + s * yd + cx
            out[U(2) * i + U(1)] = fy * yd + cy
            depth[i] = z


project_lens_serial, project_lens_parallel = jit_variants(_project_lens, fma=True)


def _undistort_many(xy, model, p, tol, max_iter, out):  # pragma: no cover - compiled
    n = xy.shape[0]
    for i in prange(n):
        out[i, 0], out[i, 1] = undistort(model, p, xy[i, 0], xy[i, 1], tol, max_iter)


undistort_many_serial, undistort_many_parallel = jit_variants(_undistort_many)


def _distort_many(xy, model, p, out):  # pragma: no cover - compiled
    n = xy.shape[0]
    for i in prange(n):
        out[i, 0], out[i, 1] = distort(model, p, xy[i, 0], xy[i, 1])


distort_many_serial, distort_many_parallel = jit_variants(_distort_many)


@jit
def _row_coords(
    row, w, k_dst, model_dst, p_dst, rot, k_src, model_src, p_src, tol, us, vs
):  # pragma: no cover - compiled
    """Source pixel coordinates (``us``, ``vs``) of output row ``row`` (NaN where none)."""
    # Loops over the row with one job each (no per-pixel model branch), so the
    # common ones (pinhole, OpenCV model) vectorise.
    fxd, sd, cxd, fyd, cyd = k_dst[0, 0], k_dst[0, 1], k_dst[0, 2], k_dst[1, 1], k_dst[1, 2]
    fxs, ss, cxs, fys, cys = k_src[0, 0], k_src[0, 1], k_src[0, 2], k_src[1, 1], k_src[1, 2]
    yn0 = (row + 0.5 - cyd) / fyd
    x0 = (0.5 - cxd - sd * yn0) / fxd
    dx = 1.0 / fxd
    if model_dst >= 0:
        for col in range(w):
            us[col], vs[col] = undistort(model_dst, p_dst, x0 + col * dx, yn0, tol, 50)
    else:
        for col in range(w):
            us[col] = x0 + col * dx
            vs[col] = yn0
    for col in range(w):
        xn = us[col]
        yn = vs[col]
        rx = rot[0, 0] * xn + rot[0, 1] * yn + rot[0, 2]
        ry = rot[1, 0] * xn + rot[1, 1] * yn + rot[1, 2]
        rz = rot[2, 0] * xn + rot[2, 1] * yn + rot[2, 2]
        f = (rz > 0.0) * 1.0
        inv = (f / f) / rz
        us[col] = rx * inv
        vs[col] = ry * inv
    if model_src == OPENCV:
        k1, k2, p1, p2, k3, k4, k5, k6, r2max = (
            p_src[0],
            p_src[1],
            p_src[2],
            p_src[3],
            p_src[4],
            p_src[5],
            p_src[6],
            p_src[7],
            p_src[8],
        )
        for col in range(w):
            x = us[col]
            y = vs[col]
            r2 = x * x + y * y
            g = (r2 <= r2max) * 1.0
            num = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
            den = 1.0 + r2 * (k4 + r2 * (k5 + r2 * k6))
            rad = (g / g) * num / den
            xy = x * y
            us[col] = x * rad + 2.0 * p1 * xy + p2 * (r2 + 2.0 * x * x)
            vs[col] = y * rad + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * xy
    elif model_src >= 0:
        for col in range(w):
            us[col], vs[col] = distort(model_src, p_src, us[col], vs[col])
    for col in range(w):
        xs = us[col]
        ys = vs[col]
        us[col] = fxs * xs + ss * ys + cxs
        vs[col] = fys * ys + cys


def _warp_nearest(
    image, out, k_dst, model_dst, p_dst, rot, k_src, model_src, p_src, fill, tol
):  # pragma: no cover - compiled
    h, w, nc = out.shape
    hs, ws = image.shape[0], image.shape[1]
    for row in prange(h):
        us = np.empty(w)
        vs = np.empty(w)
        _row_coords(row, w, k_dst, model_dst, p_dst, rot, k_src, model_src, p_src, tol, us, vs)
        for col in range(w):
            u = us[col]
            v = vs[col]
            if u >= 0.0 and u < ws and v >= 0.0 and v < hs:
                iu = int(u)
                iv = int(v)
                for c in range(nc):
                    out[row, col, c] = image[iv, iu, c]
            else:
                for c in range(nc):
                    out[row, col, c] = fill


warp_nearest_serial, warp_nearest_parallel = jit_variants(_warp_nearest)


def _warp_linear(
    image, out, k_dst, model_dst, p_dst, rot, k_src, model_src, p_src, fill, tol
):  # pragma: no cover - compiled
    # Float images: bilinear between pixel centres at full precision; edge pixels
    # repeat for the outer half pixel (integer images: camgeom._kernels.remap).
    h, w, nc = out.shape
    hs, ws = image.shape[0], image.shape[1]
    for row in prange(h):
        us = np.empty(w)
        vs = np.empty(w)
        _row_coords(row, w, k_dst, model_dst, p_dst, rot, k_src, model_src, p_src, tol, us, vs)
        for col in range(w):
            u = us[col]
            v = vs[col]
            if not (u >= 0.0 and u < ws and v >= 0.0 and v < hs):
                for c in range(nc):
                    out[row, col, c] = fill
                continue
            fu = u - 0.5
            fv = v - 0.5
            iu = math.floor(fu)
            iv = math.floor(fv)
            au = fu - iu
            av = fv - iv
            u0 = max(iu, 0)
            u1 = min(iu + 1, ws - 1)
            v0 = max(iv, 0)
            v1 = min(iv + 1, hs - 1)
            w00 = (1.0 - au) * (1.0 - av)
            w01 = au * (1.0 - av)
            w10 = (1.0 - au) * av
            w11 = au * av
            for c in range(nc):
                out[row, col, c] = (
                    w00 * image[v0, u0, c]
                    + w01 * image[v0, u1, c]
                    + w10 * image[v1, u0, c]
                    + w11 * image[v1, u1, c]
                )


warp_linear_serial, warp_linear_parallel = jit_variants(_warp_linear)

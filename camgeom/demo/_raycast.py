"""Ray casting against analytic primitives (spheres and flat disks).

Private kernels behind :mod:`camgeom.demo.render`. They do no validation:
callers pass contiguous float64 arrays of the documented shapes and unit ray
directions. The numba options come from :mod:`camgeom._jit`, as for every
kernel. The plain-numpy reference the tests compare against lives in
``tests/demo/test_raycast.py``.

Object ids: spheres are numbered ``0 .. S-1`` in the order given, disks
``S .. S+D-1``; a ray that hits nothing gets id ``-1``, distance ``+inf`` and a
zero normal.
"""

# numba's stubs type a jitted function as a Dispatcher object, which mypy cannot call:
# mypy: disable-error-code="call-arg, operator, assignment"

from __future__ import annotations

import math

import numpy as np

from camgeom._jit import jit, pjit, prange

__all__ = ["cast_rays", "ray_disk", "ray_sphere"]

T_MIN = 1e-9
"""Hits closer than this to the ray origin (metres) are ignored (self-intersection)."""


@jit
def ray_sphere(ox, oy, oz, dx, dy, dz, cx, cy, cz, radius):
    """Distance along a unit ray to the first sphere crossing after ``T_MIN``, or +inf.

    Solves ``t^2 + 2 b t + c = 0`` with the cancellation-free pair of roots
    ``q = -b - sign(b) sqrt(b^2 - c)``, ``t = q`` and ``t = c / q``.
    """
    px = ox - cx
    py = oy - cy
    pz = oz - cz
    b = px * dx + py * dy + pz * dz
    c = px * px + py * py + pz * pz - radius * radius
    disc = b * b - c
    if disc < 0.0:
        return math.inf
    sq = math.sqrt(disc)
    q = -b - sq if b > 0.0 else -b + sq
    if q == 0.0:
        return math.inf
    t0 = q
    t1 = c / q
    if t0 > t1:
        t0, t1 = t1, t0
    if t0 > T_MIN:
        return t0
    if t1 > T_MIN:
        return t1
    return math.inf


@jit
def ray_disk(ox, oy, oz, dx, dy, dz, cx, cy, cz, nx, ny, nz, radius):
    """Distance along a unit ray to a flat disk (centre, unit normal, radius), or +inf."""
    denom = nx * dx + ny * dy + nz * dz
    if denom == 0.0:
        return math.inf
    t = (nx * (cx - ox) + ny * (cy - oy) + nz * (cz - oz)) / denom
    if not t > T_MIN:
        return math.inf
    hx = ox + t * dx - cx
    hy = oy + t * dy - cy
    hz = oz + t * dz - cz
    if hx * hx + hy * hy + hz * hz > radius * radius:
        return math.inf
    return t


@pjit
def cast_rays(
    origins,
    directions,
    sphere_centres,
    sphere_radii,
    disk_centres,
    disk_normals,
    disk_radii,
):
    """First hit of each ray with a set of spheres and disks (parallel over rays).

    Parameters
    ----------
    origins, directions : ndarray, shape (N, 3), float64
        Ray origins and **unit** directions (world frame, metres).
    sphere_centres : ndarray, shape (S, 3), float64
    sphere_radii : ndarray, shape (S,), float64
    disk_centres, disk_normals : ndarray, shape (D, 3), float64
        Disk centres and unit normals.
    disk_radii : ndarray, shape (D,), float64

    Returns
    -------
    distance : ndarray, shape (N,), float64
        Distance along the ray to the first hit (the ray parameter of a unit
        direction); +inf where nothing is hit.
    hit : ndarray, shape (N,), int64
        Object id of the first hit (spheres first, then disks); -1 for none.
    normal : ndarray, shape (N, 3), float64
        Unit surface normal at the hit, turned to face the ray origin
        (``dot(normal, direction) <= 0``); zeros where nothing is hit.
    """
    n = origins.shape[0]
    n_spheres = sphere_centres.shape[0]
    n_disks = disk_centres.shape[0]
    distance = np.empty(n, dtype=np.float64)
    hit = np.empty(n, dtype=np.int64)
    normal = np.zeros((n, 3), dtype=np.float64)
    for i in prange(n):
        ox = origins[i, 0]
        oy = origins[i, 1]
        oz = origins[i, 2]
        dx = directions[i, 0]
        dy = directions[i, 1]
        dz = directions[i, 2]
        best = math.inf
        best_id = -1
        for s in range(n_spheres):
            cx, cy, cz = sphere_centres[s, 0], sphere_centres[s, 1], sphere_centres[s, 2]
            t = ray_sphere(ox, oy, oz, dx, dy, dz, cx, cy, cz, sphere_radii[s])
            if t < best:
                best = t
                best_id = s
        for k in range(n_disks):
            cx, cy, cz = disk_centres[k, 0], disk_centres[k, 1], disk_centres[k, 2]
            nx, ny, nz = disk_normals[k, 0], disk_normals[k, 1], disk_normals[k, 2]
            t = ray_disk(ox, oy, oz, dx, dy, dz, cx, cy, cz, nx, ny, nz, disk_radii[k])
            if t < best:
                best = t
                best_id = n_spheres + k
        distance[i] = best
        hit[i] = best_id
        if best_id < 0:
            continue
        if best_id < n_spheres:
            r = sphere_radii[best_id]
            gx = (ox + best * dx - sphere_centres[best_id, 0]) / r
            gy = (oy + best * dy - sphere_centres[best_id, 1]) / r
            gz = (oz + best * dz - sphere_centres[best_id, 2]) / r
        else:
            gx = disk_normals[best_id - n_spheres, 0]
            gy = disk_normals[best_id - n_spheres, 1]
            gz = disk_normals[best_id - n_spheres, 2]
        if gx * dx + gy * dy + gz * dz > 0.0:
            gx = -gx
            gy = -gy
            gz = -gz
        normal[i, 0] = gx
        normal[i, 1] = gy
        normal[i, 2] = gz
    return distance, hit, normal

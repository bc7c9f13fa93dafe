"""Tests of the ray-casting kernels against hand-derived values and a plain-numpy reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from camgeom.demo._raycast import T_MIN, cast_rays, ray_disk, ray_sphere

pytestmark = pytest.mark.kernels

NO_SPHERES = (np.zeros((0, 3)), np.zeros(0))
NO_DISKS = (np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0))


def reference_cast(origins, directions, sc, sr, dc, dn, dr):
    """Plain-numpy first hit: textbook quadratic for spheres, plane equation for disks."""
    n = len(origins)
    ts = [np.full(n, np.inf)]
    for c, r in zip(sc, sr, strict=True):
        oc = origins - c
        b = np.sum(oc * directions, axis=1)
        cc = np.sum(oc * oc, axis=1) - r * r
        disc = b * b - cc
        with np.errstate(invalid="ignore"):
            sq = np.sqrt(disc)
        near, far = -b - sq, -b + sq
        t = np.where(near > T_MIN, near, np.where(far > T_MIN, far, np.inf))
        ts.append(np.where(disc >= 0, t, np.inf))
    for c, nrm, r in zip(dc, dn, dr, strict=True):
        denom = directions @ nrm
        with np.errstate(divide="ignore", invalid="ignore"):
            t = ((c - origins) @ nrm) / denom
        hitp = origins + t[:, None] * directions
        inside = np.sum((hitp - c) ** 2, axis=1) <= r * r
        ts.append(np.where((denom != 0) & (t > T_MIN) & inside, t, np.inf))
    allt = np.stack(ts, axis=1)  # column 0 is "nothing"
    best = np.argmin(allt, axis=1)
    t = allt[np.arange(n), best]
    hit = best - 1
    hit[~np.isfinite(t)] = -1
    normal = np.zeros((n, 3))
    for i in range(n):
        k = hit[i]
        if k < 0:
            continue
        if k < len(sc):
            g = (origins[i] + t[i] * directions[i] - sc[k]) / sr[k]
        else:
            g = dn[k - len(sc)].copy()
        normal[i] = -g if g @ directions[i] > 0 else g
    return t, hit, normal


def _unit(v):
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def cast(origins, directions, spheres=NO_SPHERES, disks=NO_DISKS):
    return cast_rays(
        np.ascontiguousarray(origins, dtype=np.float64),
        np.ascontiguousarray(directions, dtype=np.float64),
        np.ascontiguousarray(spheres[0], dtype=np.float64).reshape(-1, 3),
        np.ascontiguousarray(spheres[1], dtype=np.float64).reshape(-1),
        np.ascontiguousarray(disks[0], dtype=np.float64).reshape(-1, 3),
        np.ascontiguousarray(disks[1], dtype=np.float64).reshape(-1, 3),
        np.ascontiguousarray(disks[2], dtype=np.float64).reshape(-1),
    )


def test_ray_sphere_hand_derived():
    # unit sphere at z = 5 seen from the origin: front surface at t = 4
    assert ray_sphere(0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 5.0, 1.0) == 4.0
    # from inside (the centre) the exit point at t = radius
    assert ray_sphere(0.0, 0.0, 5.0, 0.0, 0.0, 1.0, 0.0, 0.0, 5.0, 2.0) == 2.0
    # behind the ray origin: no hit
    assert ray_sphere(0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 5.0, 1.0) == math.inf
    # tangent ray (discriminant exactly 0) touches at t = 5
    assert ray_sphere(0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 5.0, 1.0) == 5.0
    # passing beside it
    assert ray_sphere(0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.5, 0.0, 5.0, 1.0) == math.inf
    # 3-4-5 triangle: sphere of radius 3 at distance 5 along x, grazing ray at angle
    d = (0.8, 0.6, 0.0)  # cos = 0.8 toward the centre (5, 0, 0): distance to centre line 3
    assert ray_sphere(0.0, 0.0, 0.0, *d, 5.0, 0.0, 0.0, 3.0) == pytest.approx(4.0, abs=1e-7)


def test_ray_disk_hand_derived():
    # disk in the plane z = 2 of radius 1
    assert ray_disk(0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 1.0, 1.0) == 2.0
    # normal pointing the other way does not matter
    assert ray_disk(0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 2.0, 0.0, 0.0, -1.0, 1.0) == 2.0
    # 45 degrees: hits at (2, 0, 2), outside radius 1 but inside radius 3
    s = math.sqrt(0.5)
    assert ray_disk(0.0, 0.0, 0.0, s, 0.0, s, 0.0, 0.0, 2.0, 0.0, 0.0, 1.0, 1.0) == math.inf
    t = ray_disk(0.0, 0.0, 0.0, s, 0.0, s, 0.0, 0.0, 2.0, 0.0, 0.0, 1.0, 3.0)
    assert t == pytest.approx(2.0 * math.sqrt(2.0), rel=1e-15)
    # parallel to the plane, and plane behind the origin: no hit
    assert ray_disk(0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 1.0, 10.0) == math.inf
    assert ray_disk(0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 1.0, 10.0) == math.inf


def test_cast_rays_nearest_object_ids_and_normals():
    spheres = ([[0.0, 0.0, 5.0], [0.0, 0.0, 10.0]], [1.0, 1.0])
    disks = ([[0.0, 0.0, 3.0]], [[0.0, 0.0, 1.0]], [0.5])
    origins = np.zeros((4, 3))
    directions = _unit([[0, 0, 1], [0.2, 0, 1], [0, 0, -1], [0.0, 0.45 / 3.0, 1.0]])
    t, hit, normal = cast(origins, directions, spheres, disks)
    assert t.dtype == np.float64 and hit.dtype == np.int64 and normal.shape == (4, 3)
    # ray 0 meets the disk (id 2 = 2 spheres + disk 0) first at t = 3, normal facing the origin
    assert (t[0], hit[0]) == (3.0, 2)
    np.testing.assert_array_equal(normal[0], [0.0, 0.0, -1.0])
    # ray 1 passes outside the disk (radius at z = 3 is 0.6 > 0.5) and meets sphere 0
    assert hit[1] == 0 and 3.0 < t[1] < 5.0
    p = t[1] * directions[1]
    np.testing.assert_allclose(normal[1], (p - [0, 0, 5]) / 1.0, atol=1e-15)
    # ray 2 goes away from everything
    assert (t[2], hit[2]) == (math.inf, -1)
    np.testing.assert_array_equal(normal[2], [0.0, 0.0, 0.0])
    # ray 3 hits the disk at radius 0.45 < 0.5
    assert hit[3] == 2 and t[3] == pytest.approx(3.0 / directions[3, 2], rel=1e-15)


def test_cast_rays_from_inside_a_sphere_turns_the_normal_toward_the_origin():
    t, hit, normal = cast([[0.0, 0.0, 0.0]], [[1.0, 0.0, 0.0]], ([[0.0, 0.0, 0.0]], [2.0]))
    assert (t[0], hit[0]) == (2.0, 0)
    np.testing.assert_array_equal(normal[0], [-1.0, 0.0, 0.0])


def test_cast_rays_without_primitives_or_rays():
    t, hit, normal = cast(np.zeros((2, 3)), [[0, 0, 1.0], [1.0, 0, 0]])
    assert np.all(np.isinf(t)) and np.all(hit == -1) and np.all(normal == 0)
    t, hit, normal = cast(np.zeros((0, 3)), np.zeros((0, 3)), ([[0.0, 0.0, 5.0]], [1.0]))
    assert t.shape == (0,) and hit.shape == (0,) and normal.shape == (0, 3)


def test_cast_rays_pixel_grid_matches_analytic_range():
    # a 6x5 pinhole camera at the origin looking at a sphere: the range of every pixel
    # centre ray is -b - sqrt(b^2 - c) in closed form
    # (fx = fy = 4, cx = 3, cy = 2.5)
    u, v = np.meshgrid(np.arange(6) + 0.5, np.arange(5) + 0.5)
    d = _unit(np.stack([(u - 3.0) / 4.0, (v - 2.5) / 4.0, np.ones_like(u)], -1)).reshape(-1, 3)
    centre, radius = np.array([0.1, -0.05, 2.0]), 0.6
    t, hit, _ = cast(np.zeros_like(d), d, ([centre], [radius]))
    b = -(d @ centre)
    disc = b * b - (centre @ centre - radius**2)
    expected = np.where(disc >= 0, -b - np.sqrt(np.clip(disc, 0, None)), np.inf)
    np.testing.assert_allclose(t, expected, rtol=1e-14)
    assert np.array_equal(hit >= 0, np.isfinite(expected))
    assert 0 < np.count_nonzero(hit >= 0) < len(d)  # both hits and misses on the grid


def _random_scene(rng: np.random.Generator):
    sc = rng.uniform(-2, 2, (3, 3)) + np.array([0, 0, 4])
    sr = rng.uniform(0.2, 1.0, 3)
    dc = rng.uniform(-1, 1, (2, 3)) + np.array([0, 0, 3])
    dn = _unit(rng.normal(size=(2, 3)))
    dr = rng.uniform(0.5, 3.0, 2)
    return sc, sr, dc, dn, dr


@given(seed=st.integers(0, 2**32 - 1))
def test_cast_rays_matches_numpy_reference(seed):
    rng = np.random.default_rng(seed)
    sc, sr, dc, dn, dr = _random_scene(rng)
    origins = rng.uniform(-1, 1, (40, 3))
    directions = _unit(rng.normal(size=(40, 3)) + np.array([0, 0, 1.5]))
    t, hit, normal = cast(origins, directions, (sc, sr), (dc, dn, dr))
    t_ref, hit_ref, normal_ref = reference_cast(origins, directions, sc, sr, dc, dn, dr)
    np.testing.assert_array_equal(hit, hit_ref)
    np.testing.assert_allclose(t, t_ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(normal, normal_ref, atol=1e-9)
    assert np.all(np.sum(normal * directions, axis=1) <= 0)
    hit_any = hit >= 0
    np.testing.assert_allclose(np.linalg.norm(normal[hit_any], axis=1), 1.0, atol=1e-12)


def test_cast_rays_does_not_modify_inputs():
    rng = np.random.default_rng(3)
    sc, sr, dc, dn, dr = _random_scene(rng)
    origins = rng.uniform(-1, 1, (10, 3))
    directions = _unit(rng.normal(size=(10, 3)))
    arrays = [origins, directions, sc, sr, dc, dn, dr]
    copies = [a.copy() for a in arrays]
    cast_rays(*arrays)
    for a, c in zip(arrays, copies, strict=True):
        np.testing.assert_array_equal(a, c)

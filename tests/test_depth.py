"""Tests of camgeom.depth: depth maps to points, z <-> range, and the depth kernels."""

from __future__ import annotations

from unittest import mock

import cv2
import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from camgeom import depth as depth_module
from camgeom._kernels import depth as kernels
from camgeom._sentinels import BACKGROUND_DEPTH_VALUES
from camgeom.depth import count_valid_depth, points_from_depth, range_from_z, z_from_range
from camgeom.errors import ConventionError, InvalidValueError, ShapeError
from camgeom.pointcloud import PointCloud

EPS32 = float(np.finfo(np.float32).eps)

# Non-square image, off-centre principal point, fx != fy.
H, W = 64, 97
K_OFF = np.array([[80.0, 0.0, 41.3], [0.0, 90.0, 29.6], [0.0, 0.0, 1.0]])
K_SKEW = np.array([[80.0, 3.5, 41.3], [0.0, 90.0, 29.6], [0.0, 0.0, 1.0]])


# --------------------------------------------------------------------------- references


def pixel_rays(K: np.ndarray, h: int, w: int) -> np.ndarray:
    """(h, w, 3) rays K^-1 (u, v, 1) through the pixel centres (u, v) = (col, row) + 0.5."""
    v, u = np.mgrid[0:h, 0:w] + 0.5
    uv1 = np.stack([u, v, np.ones_like(u)], axis=-1)
    return uv1 @ np.linalg.inv(K).T


def render_plane(K, h, w, normal, point):
    """Exact (z, range) maps of the plane through ``point`` with ``normal`` (NaN: no hit)."""
    rays = pixel_rays(K, h, w)
    n = np.asarray(normal, float) / np.linalg.norm(normal)
    t = (n @ np.asarray(point, float)) / (rays @ n)
    t = np.where(t > 0, t, np.nan)
    return t, t * np.linalg.norm(rays, axis=-1)


def render_sphere(K, h, w, center, radius):
    """Exact (z, range) maps of the sphere's near side (NaN where the ray misses)."""
    rays = pixel_rays(K, h, w)
    c = np.asarray(center, float)
    a = np.sum(rays * rays, axis=-1)
    b = -2.0 * (rays @ c)
    disc = b * b - 4.0 * a * (c @ c - radius**2)
    with np.errstate(invalid="ignore"):
        t = (-b - np.sqrt(disc)) / (2.0 * a)
    t = np.where(disc >= 0, t, np.nan)
    return t, t * np.sqrt(a)


def reference_points(depth, K, depth_kind="z", *, mask=None, max_depth=np.inf, stride=1):
    """Plain-numpy back-projection in float64: (points (N, 3), pixel indices (N, 2)).

    Skips depths outside (0, max_depth) and the background values, compared in the
    dtype the depth is computed in (float16 is read as float32).
    """
    d_all = np.asarray(depth)
    if d_all.dtype == np.float16:
        d_all = d_all.astype(np.float32)
    rows = np.arange(0, d_all.shape[0], stride)
    cols = np.arange(0, d_all.shape[1], stride)
    background = np.array(BACKGROUND_DEPTH_VALUES, dtype=d_all.dtype)
    in_dtype = d_all[np.ix_(rows, cols)]
    sub = in_dtype.astype(np.float64)
    with np.errstate(invalid="ignore"):
        valid = (sub > 0) & (sub < max_depth) & ~np.isin(in_dtype, background)
    if mask is not None:
        valid &= np.asarray(mask)[np.ix_(rows, cols)]
    ri, ci = np.nonzero(valid)  # row-major order
    r, c = rows[ri], cols[ci]
    d = sub[ri, ci]
    fx, skew, cx = K[0]
    fy, cy = K[1, 1], K[1, 2]
    y = (r + 0.5 - cy) / fy
    x = (c + 0.5 - cx - skew * y) / fx
    if depth_kind == "range":
        d = d / np.sqrt(x * x + y * y + 1.0)
    return np.stack([x * d, y * d, d], axis=-1), np.stack([c, r], axis=-1)


def assert_points_close(points, ref, ulps=8.0):
    """Points equal to float32 precision: per point, ``ulps`` eps times its largest |coordinate|."""
    assert points.shape == ref.shape
    scale = np.abs(ref).max(axis=-1, keepdims=True) if len(ref) else 0.0
    tol = np.broadcast_to(ulps * EPS32 * scale + 1e-30, ref.shape)
    np.testing.assert_array_less(np.abs(points - ref), tol)


# --------------------------------------------------------------------------- analytic scenes


@pytest.mark.parametrize("K", [K_OFF, K_SKEW], ids=["offcentre", "skew"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_plane_points_lie_on_plane(K, dtype):
    normal = np.array([0.2, -0.1, -1.0])
    point = np.array([0.05, 0.02, 2.0])
    z, rng = render_plane(K, H, W, normal, point)
    n = normal / np.linalg.norm(normal)
    for kind, depth in (("z", z), ("range", rng)):
        cloud = points_from_depth(depth.astype(dtype), K, depth_kind=kind)
        assert len(cloud) == H * W
        residual = np.abs((cloud.points.astype(np.float64) - point) @ n)
        assert residual.max() < 1e-5, kind
    # The other depth kind is measurably wrong: this test can fail.
    wrong = points_from_depth(rng.astype(dtype), K, depth_kind="z")
    assert np.abs((wrong.points.astype(np.float64) - point) @ n).max() > 1e-3


@pytest.mark.parametrize("K", [K_OFF, K_SKEW], ids=["offcentre", "skew"])
def test_sphere_points_lie_on_sphere(K):
    center = np.array([0.1, -0.05, 2.5])
    radius = 0.6
    z, rng = render_sphere(K, H, W, center, radius)
    hits = np.isfinite(z)
    assert 0 < hits.sum() < H * W  # both hits and misses (NaN, skipped)
    for kind, depth in (("z", z), ("range", rng)):
        cloud = points_from_depth(depth.astype(np.float32), K, depth_kind=kind, pixel_indices=True)
        assert len(cloud) == hits.sum()
        assert np.all(hits[cloud.pixel_indices[:, 1], cloud.pixel_indices[:, 0]])
        dist = np.linalg.norm(cloud.points.astype(np.float64) - center, axis=1)
        assert np.abs(dist - radius).max() < 1e-5, kind
    wrong = points_from_depth(z.astype(np.float32), K, depth_kind="range")
    assert np.abs(np.linalg.norm(wrong.points - center, axis=1) - radius).max() > 1e-3


def test_points_reproject_to_pixel_centres_with_opencv():
    z, _ = render_plane(K_OFF, H, W, [0.3, 0.2, -1.0], [0.0, 0.0, 1.5])
    cloud = points_from_depth(z, K_OFF, pixel_indices=True)
    uv, _ = cv2.projectPoints(
        cloud.points.astype(np.float64).reshape(-1, 1, 3),
        np.zeros(3),
        np.zeros(3),
        K_OFF,
        np.zeros(5),
    )
    np.testing.assert_allclose(uv.reshape(-1, 2), cloud.pixel_indices + 0.5, atol=1e-3)


def test_range_and_z_conversions_match_analytic_maps():
    z, rng = render_sphere(K_SKEW, H, W, [0.1, -0.05, 2.5], 0.6)
    got_range = range_from_z(z, K_SKEW)
    got_z = z_from_range(rng, K_SKEW)
    assert got_range.dtype == np.float32 and got_range.shape == (H, W)
    np.testing.assert_allclose(got_range, rng, rtol=2e-7, equal_nan=True)
    np.testing.assert_allclose(got_z, z, rtol=2e-7, equal_nan=True)


def test_range_from_z_hand_values_and_passthrough():
    # Principal point at the centre of pixel (col 2, row 1): its ray is the optical axis.
    K = np.array([[2.0, 0.0, 2.5], [0.0, 4.0, 1.5], [0.0, 0.0, 1.0]])
    depth = np.array([[1.0, 1.0, 1.0, 1.0], [np.nan, 0.0, 3.0, np.inf]], dtype=np.float32)
    got = range_from_z(depth, K)
    assert got[1, 2] == 3.0  # on the axis: range == z
    # pixel (col 0, row 0): u = 0.5, v = 0.5 -> x = -1, y = -0.25
    assert got[0, 0] == pytest.approx(np.sqrt(1.0 + 0.0625 + 1.0), rel=1e-7)
    assert np.isnan(got[1, 0]) and got[1, 1] == 0.0 and got[1, 3] == np.inf
    back = z_from_range(got, K)
    np.testing.assert_allclose(back, depth, rtol=2e-7)
    assert np.all(depth[0] == 1.0)  # input untouched


# --------------------------------------------------------------------------- kernel vs reference

finite_depth = st.floats(0.0625, 5.0, width=32)
special_depth = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -1.0, 1e10, 65504.0, 0.0025])


@st.composite
def depth_cases(draw):
    h = draw(st.integers(1, 40))  # more rows than one parallel task holds
    w = draw(st.integers(1, 11))
    values = draw(st.lists(st.one_of(finite_depth, special_depth), min_size=h * w, max_size=h * w))
    dtype = draw(st.sampled_from([np.float16, np.float32, np.float64]))
    depth = np.array(values, dtype=np.float64).reshape(h, w)
    with np.errstate(over="ignore"):
        depth = depth.astype(dtype)
    fx = draw(st.floats(20.0, 200.0))
    fy = draw(st.floats(20.0, 200.0))
    skew = draw(st.sampled_from([0.0, 2.5, -7.0]))
    cx = draw(st.floats(0.0, float(w)))
    cy = draw(st.floats(0.0, float(h)))
    K = np.array([[fx, skew, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    mask = None
    if draw(st.booleans()):
        bits = draw(st.lists(st.booleans(), min_size=h * w, max_size=h * w))
        mask = np.array(bits, dtype=bool).reshape(h, w)
    max_depth = draw(st.sampled_from([np.inf, 3.0, 1.1, 0.0]))
    stride = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["z", "range"]))
    return depth, K, kind, mask, max_depth, stride


VARIANTS = {"serial": 1 << 62, "parallel": 0}
"""Smallest map run on the parallel kernels, forcing each variant."""


@pytest.mark.kernels
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@given(case=depth_cases())
def test_kernel_matches_numpy_reference(variant, case):
    depth, K, kind, mask, max_depth, stride = case
    kwargs = {"mask": mask, "max_depth": max_depth, "stride": stride}
    with mock.patch.object(depth_module, "_PARALLEL_MIN_PIXELS", VARIANTS[variant]):
        cloud = points_from_depth(depth, K, depth_kind=kind, pixel_indices=True, **kwargs)
        points_only = points_from_depth(depth, K, depth_kind=kind, **kwargs)
        count = count_valid_depth(depth, **kwargs)
    ref_points, ref_pixels = reference_points(depth, K, kind, **kwargs)
    np.testing.assert_array_equal(cloud.pixel_indices, ref_pixels)  # same set, same order
    assert_points_close(cloud.points, ref_points)
    assert count == len(cloud)
    assert cloud.points.dtype == np.float32 and cloud.pixel_indices.dtype == np.int32
    assert cloud.points.flags.c_contiguous and cloud.pixel_indices.flags.c_contiguous
    assert points_only.pixel_indices is None
    np.testing.assert_array_equal(points_only.points, cloud.points)


@pytest.mark.kernels
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("kind", ["z", "range"])
def test_kernel_matches_reference_on_scene(kind, variant):
    z, rng = render_sphere(K_SKEW, H, W, [0.1, -0.05, 2.5], 0.6)
    depth = (z if kind == "z" else rng).astype(np.float32)
    mask = np.add.outer(np.arange(H), np.arange(W)) % 3 != 0
    with mock.patch.object(depth_module, "_PARALLEL_MIN_PIXELS", VARIANTS[variant]):
        cloud = points_from_depth(
            depth, K_SKEW, depth_kind=kind, mask=mask, max_depth=2.3, pixel_indices=True
        )
    ref_points, ref_pixels = reference_points(depth, K_SKEW, kind, mask=mask, max_depth=2.3)
    assert 0 < len(ref_pixels) < mask.sum()
    np.testing.assert_array_equal(cloud.pixel_indices, ref_pixels)
    assert_points_close(cloud.points, ref_points)


@pytest.mark.kernels
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("kind", ["z", "range"])
def test_large_outputs_written_with_streaming_stores_match_reference(kind, variant):
    """From STREAM_MIN_POINTS points on, the kernel writes with non-temporal stores.

    Compiled kernels hold the threshold as a constant, so they get a map above it;
    as plain Python (``NUMBA_DISABLE_JIT=1``) they read it when called, and a small
    map with a lowered threshold runs the same path.
    """
    python = numba.config.DISABLE_JIT
    h, w = (48, 45) if python else (1500, 1450)
    threshold = 1000 if python else kernels.STREAM_MIN_POINTS
    rng = np.random.default_rng(7)
    depth = rng.uniform(0.5, 6.0, (h, w)).astype(np.float32)
    depth[rng.random((h, w)) < 0.03] = np.nan
    K = np.array([[1200.0, 2.5, w / 2 + 3.1], [0.0, 1190.0, h / 2 - 7.4], [0.0, 0.0, 1.0]])
    with (
        mock.patch.object(depth_module, "_PARALLEL_MIN_PIXELS", VARIANTS[variant]),
        mock.patch.object(kernels, "STREAM_MIN_POINTS", threshold),
    ):
        cloud = points_from_depth(depth, K, depth_kind=kind, pixel_indices=True)
        plain = points_from_depth(depth, K, depth_kind=kind)
    ref_points, ref_pixels = reference_points(depth, K, kind)
    assert len(ref_pixels) >= threshold
    np.testing.assert_array_equal(cloud.pixel_indices, ref_pixels)
    assert_points_close(cloud.points, ref_points)
    np.testing.assert_array_equal(plain.points, cloud.points)


NO_SKIP = np.full(4, np.nan, np.float32)
"""Background values for the kernels: NaN-padded, so none."""


@pytest.mark.kernels
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("is_range", [False, True])
@pytest.mark.parametrize("use_mask", [False, True])
def test_write_kernel_stays_inside_each_rows_slots(use_mask, is_range, variant):
    """Rows ending in invalid pixels: nothing is written past a row's last slot.

    Each row is run on its own with a spare sentinel slot after its points; in a
    whole-image run such a stray write would land in the next row's slots. Rays
    along the optical axis (all ray terms 0) make range equal z.
    """
    count_valid_rows = getattr(kernels, f"count_valid_rows_{variant}")
    write_points = getattr(kernels, f"write_points_{variant}")
    depth = np.array(
        [[1.0, np.nan, 2.0, np.nan], [np.nan, np.nan, np.nan, -1.0], [3.0, 4.0, 0.0, 5.0]],
        dtype=np.float32,
    )
    mask = np.array([[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 0]], bool)
    limit = np.float32(np.inf)
    mask_arg = mask if use_mask else np.ones((1, 1), bool)
    counts = count_valid_rows(depth, mask_arg, use_mask, limit, NO_SKIP)
    np.testing.assert_array_equal(counts, [2, 0, 2 if use_mask else 3])
    expected = {0: ([1.0, 2.0], [0, 2]), 1: ([], []), 2: ([3.0, 4.0], [0, 1])}
    if not use_mask:
        expected[2] = ([3.0, 4.0, 5.0], [0, 1, 3])
    for r, (zs, cols) in expected.items():
        row = depth[r : r + 1]
        row_mask = mask[r : r + 1] if use_mask else np.ones((1, 1), bool)
        n = len(zs)
        offsets = np.array([0, n])
        points = np.full((n + 1, 3), -99.0, np.float32)
        indices = np.full((n + 1, 2), -99, np.int32)
        terms = [np.zeros(4, np.float32), np.zeros(1, np.float32), np.zeros(1, np.float32)]
        yq = np.ones(1, np.float32)
        args = (row, row_mask, use_mask, limit, NO_SKIP, is_range, *terms, yq, 1, offsets)
        write_points(*args, points.reshape(-1), indices.reshape(-1), True)
        np.testing.assert_array_equal(points[:n, 2], zs)
        np.testing.assert_array_equal(indices[:n, 0], cols)
        assert np.all(points[n] == -99.0) and np.all(indices[n] == -99), f"row {r}"
        # Without indices: the same points, and the index buffer is not touched.
        untouched = np.full(2, -7, np.int32)
        points[:] = -99.0
        write_points(*args, points.reshape(-1), untouched, False)
        np.testing.assert_array_equal(points[:n, 2], zs)
        assert np.all(points[n] == -99.0) and np.all(untouched == -7)


@pytest.mark.kernels
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_kernels_skip_the_background_values_they_are_given(variant):
    count_valid_rows = getattr(kernels, f"count_valid_rows_{variant}")
    write_points = getattr(kernels, f"write_points_{variant}")
    depth = np.array([[1.0, 2.0, 3.0, 4.0, 2.0]], np.float32)
    skip = np.array([2.0, 4.0, np.nan, np.nan], np.float32)
    counts = count_valid_rows(depth, np.ones((1, 1), bool), False, np.float32(np.inf), skip)
    assert counts.tolist() == [2]
    points = np.full((2, 3), -99.0, np.float32)
    zeros = [np.zeros(5, np.float32), np.zeros(1, np.float32), np.zeros(1, np.float32)]
    args = (depth, np.ones((1, 1), bool), False, np.float32(np.inf), skip, False, *zeros)
    write_points(
        *args,
        np.ones(1, np.float32),
        1,
        np.array([0, 2]),
        points.reshape(-1),
        np.empty(0, np.int32),
        False,
    )
    np.testing.assert_array_equal(points[:, 2], [1.0, 3.0])


# --------------------------------------------------------------------------- skipping rules


def test_invalid_values_are_skipped():
    K = np.array([[10.0, 0.0, 2.0], [0.0, 10.0, 1.0], [0.0, 0.0, 1.0]])
    depth = np.array([[np.nan, np.inf, -np.inf, -2.0], [0.0, -0.0, 1.5, 1e9]], dtype=np.float32)
    before = depth.copy()
    cloud = points_from_depth(depth, K, pixel_indices=True)
    np.testing.assert_array_equal(cloud.pixel_indices, [[2, 1], [3, 1]])  # 1e9 is finite: kept
    np.testing.assert_array_equal(depth, before)  # input untouched
    cloud = points_from_depth(depth, K, max_depth=1000.0, pixel_indices=True)
    np.testing.assert_array_equal(cloud.pixel_indices, [[2, 1]])
    np.testing.assert_allclose(cloud.points, [[(2.5 - 2.0) / 10 * 1.5, 0.5 / 10 * 1.5, 1.5]])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("kind", ["z", "range"])
def test_background_values_never_give_points(dtype, kind):
    """Every vendor background value, as it is stored, is skipped; its neighbours are not."""
    K = np.array([[10.0, 0.0, 2.0], [0.0, 10.0, 1.0], [0.0, 0.0, 1.0]])
    stored = {
        np.float16: [0.0025, 65504.0],  # 1e10 does not fit in half
        np.float32: [np.float32(0.0025), np.float32(np.float16(0.0025)), 1e10, 65504.0],
        np.float64: [np.float64(np.float32(0.0025)), 1e10, 65504.0],
    }[dtype]
    values = np.array(stored, dtype=dtype)
    near = np.nextafter(values, dtype(0))  # the closest smaller depths are not background
    depth = np.stack([values, near])
    cloud = points_from_depth(depth, K, depth_kind=kind, pixel_indices=True)
    assert cloud.pixel_indices[:, 1].tolist() == [1] * len(values)  # only the second row
    assert count_valid_depth(depth) == len(values)
    # The background values as the readers keep them are skipped even past max_depth=inf.
    assert len(points_from_depth(depth[:1], K, depth_kind=kind)) == 0


@pytest.mark.fixtures
def test_datagen_background_kept_by_the_reader_gives_no_points(fixtures):
    """read_depth(..., background="keep") + points_from_depth: no point at 1e10 or 65504 m."""
    from camgeom.io import read_depth

    paths = sorted((fixtures / "datagen").glob("**/depth.exr"))
    assert len(paths) >= 10
    seen = set()
    for path in paths:
        kept = read_depth(path, background="keep")
        as_nan = read_depth(path)
        h, w = kept.shape
        K = np.array([[w, 0.0, w / 2], [0.0, w, h / 2], [0.0, 0.0, 1.0]])
        for kind in ("z", "range"):
            cloud = points_from_depth(kept, K, depth_kind=kind)
            same = points_from_depth(as_nan, K, depth_kind=kind)
            np.testing.assert_array_equal(cloud.points, same.points)
            if "hic_" not in str(path):  # face renders: every surface within 100 m
                assert np.linalg.norm(cloud.points, axis=1).max() < 100.0, path
        seen |= set(np.unique(kept[kept > 1000.0]).tolist())
    assert seen == {65504.0, 1e10}  # both Datagen backgrounds were exercised


def test_all_invalid_gives_empty_cloud():
    K = K_OFF * [[0.05], [0.05], [1]]
    cloud = points_from_depth(np.full((3, 5), np.nan, np.float32), K, pixel_indices=True)
    assert len(cloud) == 0
    assert cloud.points.shape == (0, 3) and cloud.pixel_indices.shape == (0, 2)


def test_max_depth_is_exclusive_and_exact_in_float32():
    K = np.array([[10.0, 0.0, 1.0], [0.0, 10.0, 0.5], [0.0, 0.0, 1.0]])
    v = np.float32(1.1)  # 1.10000002384...
    depth = np.array([[v, np.float32(1.0)]], dtype=np.float32)
    assert len(points_from_depth(depth, K, max_depth=float(v))) == 1  # d >= max_depth skipped
    assert len(points_from_depth(depth, K, max_depth=1.1)) == 1  # v > 1.1 in float64
    # A limit just above v rounds down to v in float32; v must still count as valid.
    assert len(points_from_depth(depth, K, max_depth=float(v) + 1e-12)) == 2
    assert len(points_from_depth(depth, K, max_depth=0.0)) == 0


def test_stride_keeps_grid_pixels():
    z, _ = render_plane(K_OFF, H, W, [0.0, 0.0, -1.0], [0.0, 0.0, 2.0])
    z[5, 6] = np.nan
    cloud = points_from_depth(z, K_OFF, stride=3, pixel_indices=True)
    assert np.all(cloud.pixel_indices % 3 == 0)
    expected = len(range(0, H, 3)) * len(range(0, W, 3))
    assert len(cloud) == expected  # (5, 6) is not on the grid
    full = points_from_depth(z, K_OFF, pixel_indices=True)
    lookup = {tuple(p): i for i, p in enumerate(full.pixel_indices.tolist())}
    idx = [lookup[tuple(p)] for p in cloud.pixel_indices.tolist()]
    np.testing.assert_array_equal(cloud.points, full.points[idx])


def test_segment_ids_select_segments():
    rng = np.random.default_rng(3)
    depth = rng.uniform(0.5, 2.0, (H, W)).astype(np.float32)
    seg = rng.integers(0, 6, (H, W)).astype(np.uint8)
    kw = {"pixel_indices": True}
    by_ids = points_from_depth(depth, K_OFF, segment_ids={1, 4}, segmentation=seg, **kw)
    by_mask = points_from_depth(depth, K_OFF, mask=(seg == 1) | (seg == 4), **kw)
    np.testing.assert_array_equal(by_ids.pixel_indices, by_mask.pixel_indices)
    np.testing.assert_array_equal(by_ids.points, by_mask.points)
    cols, rows = by_ids.pixel_indices[:, 0], by_ids.pixel_indices[:, 1]
    assert np.all(np.isin(seg[rows, cols], [1, 4]))
    single = points_from_depth(depth, K_OFF, segment_ids=2, segmentation=seg.astype(np.int32), **kw)
    assert len(single) == np.count_nonzero(seg == 2)
    listed = points_from_depth(depth, K_OFF, segment_ids=[2], segmentation=seg, **kw)
    np.testing.assert_array_equal(listed.pixel_indices, single.pixel_indices)
    assert count_valid_depth(depth, segment_ids=[1, 4], segmentation=seg) == len(by_ids)
    assert len(points_from_depth(depth, K_OFF, segment_ids=[], segmentation=seg)) == 0
    # mask and segments together: a pixel is kept when both keep it.
    left = np.zeros((H, W), bool)
    left[:, : W // 2] = True
    both = points_from_depth(depth, K_OFF, mask=left, segment_ids=(1, 4), segmentation=seg)
    assert len(both) == np.count_nonzero(left & np.isin(seg, [1, 4])) > 0
    assert count_valid_depth(depth, mask=left, segment_ids=(1, 4), segmentation=seg) == len(both)


# --------------------------------------------------------------------------- colors / normals


def test_colors_and_normals_follow_their_pixels():
    rng = np.random.default_rng(7)
    depth = rng.uniform(0.5, 2.0, (H, W)).astype(np.float32)
    depth[rng.random((H, W)) < 0.3] = np.nan
    rows, cols = np.mgrid[0:H, 0:W]
    rgba = np.stack([cols, rows, np.full_like(rows, 7), np.full_like(rows, 200)], -1)
    rgba = rgba.astype(np.uint8)
    normals = np.stack([cols, rows, -np.ones_like(rows)], -1).astype(np.float64)
    cloud = points_from_depth(
        depth, K_OFF, colors=rgba, normals=normals, stride=2, pixel_indices=True
    )
    c, r = cloud.pixel_indices[:, 0], cloud.pixel_indices[:, 1]
    assert cloud.colors is not None and cloud.normals is not None
    np.testing.assert_array_equal(cloud.colors, np.stack([c, r, np.full_like(c, 7)], -1))
    assert cloud.colors.dtype == np.uint8 and cloud.colors.shape == (len(cloud), 3)
    np.testing.assert_array_equal(cloud.normals, np.stack([c, r, -np.ones_like(c)], -1))
    assert cloud.normals.dtype == np.float32
    # Without pixel indices in the result: the same colours and normals.
    lean = points_from_depth(depth, K_OFF, colors=rgba, normals=normals, stride=2)
    assert lean.pixel_indices is None
    np.testing.assert_array_equal(lean.colors, cloud.colors)
    np.testing.assert_array_equal(lean.normals, cloud.normals)


def test_float_colors_are_rounded_to_uint8():
    depth = np.ones((2, 2), np.float32)
    K = np.array([[10.0, 0.0, 1.0], [0.0, 10.0, 1.0], [0.0, 0.0, 1.0]])
    colors = np.array([[[0.0, 0.5, 1.0], [0.2, 0.0, 0.0]], [[1.0, 1.0, 1.0], [0.001, 0.003, 0]]])
    cloud = points_from_depth(depth, K, colors=colors)
    assert cloud.colors is not None
    np.testing.assert_array_equal(
        cloud.colors, [[0, 128, 255], [51, 0, 0], [255, 255, 255], [0, 1, 0]]
    )


# --------------------------------------------------------------------------- errors


def _depth():
    return np.ones((H, W), np.float32)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"mask": np.ones((W, H), bool)}, ShapeError, r"`mask` to have shape \(64, 97\)"),
        ({"mask": np.ones((H, W))}, InvalidValueError, "boolean"),
        ({"mask": [1, 2]}, InvalidValueError, "segmentation="),
        ({"mask": {1, 2}}, InvalidValueError, "segment_ids="),
        ({"mask": np.ones((H, W), np.uint8)}, InvalidValueError, "boolean"),
        (
            {"mask": np.ones((H, W), bool), "segmentation": np.zeros((H, W), int)},
            InvalidValueError,
            "segment ids",
        ),
        (
            {"segment_ids": [1], "segmentation": np.zeros((H, W - 1), int)},
            ShapeError,
            "segmentation",
        ),
        (
            {"segment_ids": [1], "segmentation": np.zeros((H, W, 3), np.uint8)},
            ShapeError,
            "segmentation",
        ),
        ({"segment_ids": [1], "segmentation": np.zeros((H, W))}, InvalidValueError, "integer"),
        ({"segmentation": np.zeros((H, W), int)}, InvalidValueError, "segment_ids=None"),
        ({"segment_ids": [1, 4]}, InvalidValueError, "no segmentation"),
        (
            {"segment_ids": [1.5], "segmentation": np.zeros((H, W), int)},
            InvalidValueError,
            "segment_ids",
        ),
        (
            {"segment_ids": [[1, 2]], "segmentation": np.zeros((H, W), int)},
            InvalidValueError,
            "flat collection",
        ),
        ({"colors": np.zeros((H, W, 2), np.uint8)}, ShapeError, "colors"),
        ({"colors": np.zeros((H + 1, W, 3), np.uint8)}, ShapeError, "colors"),
        ({"colors": np.full((H, W, 3), 2.0)}, InvalidValueError, r"\[0, 1\]"),
        ({"colors": np.zeros((H, W, 3), np.uint16)}, InvalidValueError, "uint8"),
        ({"normals": np.zeros((H, W, 4))}, ShapeError, "normals"),
        ({"normals": np.zeros((H, W, 3), np.uint8)}, InvalidValueError, "floating"),
        ({"stride": 0}, InvalidValueError, "stride"),
        ({"stride": 1.5}, InvalidValueError, "stride"),
        ({"max_depth": -1.0}, InvalidValueError, "max_depth"),
        ({"max_depth": np.nan}, InvalidValueError, "max_depth"),
        ({"depth_kind": "distance"}, ConventionError, "depth_kind"),
        ({"out": np.empty((10, 3), np.float64)}, ShapeError, "float32"),
        ({"out": np.empty((10, 4), np.float32)}, ShapeError, r"\(M, 3\)"),
        ({"out": np.empty((H * W, 3), np.float32)[::2]}, InvalidValueError, "C-contiguous"),
        ({"out": [1, 2, 3]}, InvalidValueError, "PointCloud"),
    ],
)
def test_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        points_from_depth(_depth(), K_OFF, **kwargs)


def test_out_too_small_states_size_needed():
    with pytest.raises(ShapeError, match=rf"at least {H * W} points, got room for 10"):
        points_from_depth(_depth(), K_OFF, out=np.empty((10, 3), np.float32))
    with pytest.raises(ShapeError, match="count_valid_depth"):
        points_from_depth(_depth(), K_OFF, out=PointCloud.empty(10))


def test_depth_errors():
    with pytest.raises(InvalidValueError, match="millimetres"):
        points_from_depth(np.ones((4, 4), np.uint16), K_OFF)
    with pytest.raises(ShapeError, match=r"depth\[\.\.\., 0\]"):
        points_from_depth(np.ones((4, 4, 3), np.float32), K_OFF)
    with pytest.raises(ShapeError, match="non-empty"):
        points_from_depth(np.ones((0, 4), np.float32), K_OFF)


def test_intrinsics_for_another_resolution_are_rejected():
    depth = np.ones((128, 128), np.float32)
    K_1024 = np.array([[915.0 * 8, 0.0, 512.0], [0.0, 915.0 * 8, 512.0], [0.0, 0.0, 1.0]])
    with pytest.raises(InvalidValueError, match=r"scale_intrinsics\(K, 0\.125, 0\.125\)"):
        points_from_depth(depth, K_1024)
    with pytest.raises(InvalidValueError, match="1024x1024"):
        range_from_z(depth, K_1024)
    # The rule: -W <= cx <= 2W and -H <= cy <= 2H.
    edge = np.array([[100.0, 0.0, 256.0], [0.0, 100.0, -128.0], [0.0, 0.0, 1.0]])
    assert len(points_from_depth(depth, edge)) == 128 * 128
    with pytest.raises(InvalidValueError, match="far outside"):
        points_from_depth(depth, edge + np.array([[0, 0, 0.5], [0, 0, 0], [0, 0, 0]]))
    with pytest.raises(InvalidValueError, match="focal"):
        points_from_depth(depth, np.diag([-1.0, 1.0, 1.0]))


# --------------------------------------------------------------------------- dtypes


def test_depth_dtypes_agree():
    z, _ = render_sphere(K_OFF, H, W, [0.1, -0.05, 2.5], 0.6)
    half = z.astype(np.float16)  # values exactly representable in every float dtype
    base = points_from_depth(half.astype(np.float32), K_OFF, pixel_indices=True)
    from_half = points_from_depth(half, K_OFF)
    from_double = points_from_depth(half.astype(np.float64), K_OFF, pixel_indices=True)
    from_big_endian = points_from_depth(half.astype(">f4"), K_OFF)
    np.testing.assert_array_equal(from_half.points, base.points)
    np.testing.assert_array_equal(from_big_endian.points, base.points)
    np.testing.assert_array_equal(from_double.pixel_indices, base.pixel_indices)
    assert_points_close(from_double.points, base.points, ulps=4)
    assert from_double.points.dtype == np.float32


# --------------------------------------------------------------------------- out= buffers


def test_out_array_is_reused_and_matches_fresh_call():
    rng = np.random.default_rng(11)
    depth = rng.uniform(0.5, 2.0, (H, W)).astype(np.float32)
    depth[rng.random((H, W)) < 0.3] = np.nan
    fresh = points_from_depth(depth, K_SKEW, depth_kind="range", pixel_indices=True)
    n = count_valid_depth(depth)
    assert n == len(fresh)
    out = np.full((n + 5, 3), -1.0, np.float32)
    cloud = points_from_depth(depth, K_SKEW, depth_kind="range", out=out, pixel_indices=True)
    assert cloud.points.base is out or cloud.points.base is out.base
    assert cloud.points.__array_interface__["data"][0] == out.__array_interface__["data"][0]
    np.testing.assert_array_equal(cloud.points, fresh.points)
    np.testing.assert_array_equal(cloud.pixel_indices, fresh.pixel_indices)
    assert np.all(out[n:] == -1.0)  # rows past the valid count untouched


def test_out_point_cloud_buffers_are_reused_across_calls():
    rng = np.random.default_rng(12)
    buf = PointCloud.empty(H * W, pixel_indices=True, colors=True, normals=True)
    colors = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    normals = rng.normal(size=(H, W, 3))
    for seed in (1, 2):
        depth = np.random.default_rng(seed).uniform(0.5, 2.0, (H, W)).astype(np.float32)
        depth[np.random.default_rng(seed).random((H, W)) < 0.4] = 0.0
        kwargs = {"colors": colors, "normals": normals, "pixel_indices": True}
        fresh = points_from_depth(depth, K_OFF, **kwargs)
        cloud = points_from_depth(depth, K_OFF, out=buf, **kwargs)
        for name in ("points", "pixel_indices", "colors", "normals"):
            got, want = getattr(cloud, name), getattr(fresh, name)
            assert np.shares_memory(got, getattr(buf, name)), name
            np.testing.assert_array_equal(got, want)


def test_kernels_see_every_positive_finite_background_value():
    """The kernels compare with four values: the background list must fit in them."""
    for dtype, skip in depth_module._SKIP.items():
        listed = {dtype(v) for v in BACKGROUND_DEPTH_VALUES if 0.0 < v < np.inf}
        assert skip.shape == (4,) and skip.dtype == dtype
        assert set(skip[np.isfinite(skip)].tolist()) == {float(v) for v in listed}


def test_out_without_an_index_buffer_still_gives_indices_when_asked():
    depth = np.random.default_rng(13).uniform(0.5, 2.0, (H, W)).astype(np.float32)
    depth[::7, ::5] = np.nan
    fresh = points_from_depth(depth, K_OFF, pixel_indices=True)
    buf = PointCloud.empty(len(fresh))
    cloud = points_from_depth(depth, K_OFF, out=buf, pixel_indices=True)
    assert np.shares_memory(cloud.points, buf.points) and buf.pixel_indices is None
    np.testing.assert_array_equal(cloud.pixel_indices, fresh.pixel_indices)
    # An index buffer that is not asked for stays untouched.
    with_indices = PointCloud.empty(len(fresh), pixel_indices=True)
    with_indices.pixel_indices[:] = -5
    lean = points_from_depth(depth, K_OFF, out=with_indices)
    assert lean.pixel_indices is None and np.all(with_indices.pixel_indices == -5)

"""Benchmark of camgeom.depth.points_from_depth.

Run ``python benchmarks/bench_depth.py`` (``--help`` for options). One run prints:

1. camgeom against a vectorised numpy mask-and-gather implementation (same
   outputs: float32 points and int32 pixels) and against Open3D's
   ``PointCloud.create_from_depth_image`` when Open3D is importable, on a
   4096 x 4096 float32 z-depth map with about 30% invalid pixels (NaN, 0 and
   +inf), both scattered at random and as a contiguous background;
2. the effective bandwidth of camgeom with a reused ``out`` buffer against the
   single-thread memory copy bandwidth measured in the same run (both count
   bytes read plus bytes written);
3. the time of the first call in a new process with a warm numba cache.

Timings are the minimum over ``--repeat`` runs (the median is printed too).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

from camgeom.depth import PointCloud, count_valid_depth, points_from_depth

TARGET_NUMPY = 3.0
TARGET_OPEN3D = 5.0
TARGET_BANDWIDTH = 0.25
TARGET_FIRST_CALL_S = 0.5

FIRST_CALL_SNIPPET = """
import time
t0 = time.perf_counter()
import numpy as np
from camgeom.depth import points_from_depth
t1 = time.perf_counter()
depth = np.full((64, 48), 1.5, dtype=np.float32)
K = np.array([[50.0, 0.0, 24.0], [0.0, 50.0, 32.0], [0.0, 0.0, 1.0]])
cloud = points_from_depth(depth, K)
t2 = time.perf_counter()
assert len(cloud) == 64 * 48
print(t1 - t0, t2 - t1)
"""


def timeit(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """(minimum, median) wall time of ``fn`` over ``repeat`` runs, after one warm-up."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), float(np.median(times))


def make_depth(size: int, invalid: float, pattern: str, seed: int = 0) -> np.ndarray:
    """A smooth z-depth surface in [1, 3] m with a fraction ``invalid`` of invalid pixels."""
    rng = np.random.default_rng(seed)
    v, u = np.mgrid[0:size, 0:size].astype(np.float32) / np.float32(size)
    depth = (2.0 + 0.5 * np.sin(6.0 * u) * np.cos(4.0 * v)).astype(np.float32)
    if pattern == "scattered":
        bad = rng.random((size, size)) < invalid
        kinds = rng.integers(0, 3, size=int(bad.sum()))
        depth[bad] = np.array([np.nan, 0.0, np.inf], dtype=np.float32)[kinds]
    else:  # a centred foreground disc; the background (outside it) is NaN
        radius = np.sqrt((1.0 - invalid) / np.pi)
        depth[(u - 0.5) ** 2 + (v - 0.5) ** 2 > radius**2] = np.nan
    return depth


def numpy_points(depth: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised numpy baseline: mask, nonzero, gather, scale (same outputs as camgeom)."""
    valid = np.isfinite(depth) & (depth > 0)
    rows, cols = np.nonzero(valid)
    z = depth[rows, cols]
    h, w = depth.shape
    xc = ((np.arange(w) + 0.5 - K[0, 2]) / K[0, 0]).astype(np.float32)
    yr = ((np.arange(h) + 0.5 - K[1, 2]) / K[1, 1]).astype(np.float32)
    points = np.empty((z.size, 3), np.float32)
    np.multiply(xc[cols], z, out=points[:, 0])
    np.multiply(yr[rows], z, out=points[:, 1])
    points[:, 2] = z
    pixels = np.empty((z.size, 2), np.int32)
    pixels[:, 0] = cols
    pixels[:, 1] = rows
    return points, pixels


def copy_bandwidth(repeat: int, nbytes: int = 256 << 20) -> float:
    """Single-thread memory copy bandwidth in bytes/s (read + write) with np.copyto."""
    src = np.ones(nbytes // 8, dtype=np.float64)
    dst = np.empty_like(src)
    best, _ = timeit(lambda: np.copyto(dst, src), repeat)
    return 2.0 * src.nbytes / best


def first_call_seconds(env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """(import, first call, whole process) seconds in a fresh interpreter."""
    cmd = [sys.executable, "-c", FIRST_CALL_SNIPPET]
    t0 = time.perf_counter()
    run = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    total = time.perf_counter() - t0
    imp, call = (float(x) for x in run.stdout.split())
    return imp, call, total


def verdict(ok: bool) -> str:
    return "meets target" if ok else "BELOW TARGET"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096, help="image side in pixels")
    parser.add_argument("--invalid", type=float, default=0.3, help="fraction of invalid pixels")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per figure")
    args = parser.parse_args(argv)
    size, repeat = args.size, args.repeat
    K = np.array([[0.9 * size, 0.0, size / 2], [0.0, 0.9 * size, size / 2], [0.0, 0.0, 1.0]])

    print(f"numpy {np.__version__}, numba {numba.__version__} ({numba.get_num_threads()} threads)")
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    print(f"depth map {size}x{size} float32 z-depth, {args.invalid:.0%} invalid, best of {repeat}")
    depths = {p: make_depth(size, args.invalid, p) for p in ("scattered", "background")}
    camgeom_s = {}
    for pattern, depth in depths.items():
        n = count_valid_depth(depth)
        print(f"\n[{pattern} invalid pixels] {n} valid of {depth.size} ({n / depth.size:.1%})")
        cg, cg_med = timeit(lambda d=depth: points_from_depth(d, K), repeat)
        camgeom_s[pattern] = cg
        print(f"  camgeom points_from_depth   {cg * 1e3:8.1f} ms (median {cg_med * 1e3:.1f})")
        ref = points_from_depth(depth, K)
        pts, pix = numpy_points(depth, K)
        assert np.array_equal(pix, ref.pixels) and np.allclose(pts, ref.points, rtol=1e-6)
        nb, nb_med = timeit(lambda d=depth: numpy_points(d, K), repeat)
        ratio = nb / cg
        print(
            f"  numpy mask + gather         {nb * 1e3:8.1f} ms (median {nb_med * 1e3:.1f})"
            f"  -> camgeom {ratio:.1f}x faster (target >= {TARGET_NUMPY:.0f}x: "
            f"{verdict(ratio >= TARGET_NUMPY)})"
        )

    depth = depths["scattered"]
    n = count_valid_depth(depth)
    buf = PointCloud.empty(n)
    bytes_moved = depth.nbytes + buf.points.nbytes + buf.pixels.nbytes
    copy_bw = copy_bandwidth(repeat)
    print(f"\nsingle-thread np.copyto bandwidth (read + write): {copy_bw / 1e9:.1f} GB/s")
    for kind in ("z", "range"):
        best, med = timeit(
            lambda k=kind: points_from_depth(depth, K, depth_kind=k, out=buf), repeat
        )
        bw = bytes_moved / best
        ratio = bw / copy_bw
        print(
            f"  out= reused, {kind:5s}: {best * 1e3:6.1f} ms (median {med * 1e3:.1f}), "
            f"{bytes_moved / 1e6:.0f} MB (depth read + points and pixels written) -> "
            f"{bw / 1e9:.1f} GB/s = {ratio:.0%} of copy (target >= {TARGET_BANDWIDTH:.0%}: "
            f"{verdict(ratio >= TARGET_BANDWIDTH)})"
        )
        if kind == "z":
            points_only = depth.nbytes + buf.points.nbytes
            print(
                f"    (counting only depth read + points written: "
                f"{points_only / best / 1e9:.1f} GB/s = {points_only / best / copy_bw:.0%} of copy)"
            )

    # Open3D last: its OpenMP threads keep spinning after a call and would slow the rest.
    try:
        import open3d as o3d
    except ImportError as exc:
        print(f"\nOpen3D: not importable ({exc}); comparison skipped (pip install open3d)")
        o3d = None
    if o3d is not None:
        print(f"\nOpen3D {o3d.__version__} PointCloud.create_from_depth_image (float64 points)")
        intrinsic = o3d.camera.PinholeCameraIntrinsic(
            size, size, K[0, 0], K[1, 1], K[0, 2], K[1, 2]
        )
        for pattern, depth in depths.items():
            image = o3d.geometry.Image(depth)

            def run_o3d(img: Any = image, intr: Any = intrinsic) -> Any:
                return o3d.geometry.PointCloud.create_from_depth_image(
                    img, intr, depth_scale=1.0, depth_trunc=1e30, stride=1
                )

            o3d_n = len(run_o3d().points)
            assert o3d_n == count_valid_depth(depth)
            ob, ob_med = timeit(run_o3d, repeat)
            ratio = ob / camgeom_s[pattern]
            print(
                f"  [{pattern:10s}] {ob * 1e3:7.1f} ms (median {ob_med * 1e3:.1f}) -> camgeom "
                f"{ratio:.1f}x faster (target >= {TARGET_OPEN3D:.0f}x: "
                f"{verdict(ratio >= TARGET_OPEN3D)})"
            )
        time.sleep(1.0)

    with tempfile.TemporaryDirectory() as cache_dir:
        _, cold, _ = first_call_seconds({**os.environ, "NUMBA_CACHE_DIR": cache_dir})
    first_call_seconds()  # make sure the default cache is filled
    runs = [first_call_seconds() for _ in range(3)]
    imp, call, total = min(runs, key=lambda r: r[0] + r[1])
    print(
        f"\nnew process, warm numba cache (best of 3): import camgeom.depth {imp:.3f} s + "
        f"first call {call:.3f} s = {imp + call:.3f} s (target < {TARGET_FIRST_CALL_S} s: "
        f"{verdict(imp + call < TARGET_FIRST_CALL_S)}); whole process incl. interpreter "
        f"start {total:.3f} s"
    )
    print(f"  for contrast, first call with an empty numba cache (compiles): {cold:.2f} s")
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

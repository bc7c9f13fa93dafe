"""Benchmark of camgeom.depth.points_from_depth against lean numpy and the memory system.

Run ``python benchmarks/bench_depth.py`` (``--help`` for options). One run prints:

1. the machine, its load, and the state of numba's on-disk cache for the depth
   kernels (loaded from the cache, or compiled in this run);
2. points-only calls with fresh outputs at 4096 x 4096 (float32, about 11% of the
   pixels invalid: NaN, 0 and +inf), z and range, against the best of a few
   plain-numpy mask-and-gather implementations that a numpy user would write:
   ray grids precomputed once (float32, like the depth and the output), a mask
   from ``np.isfinite(depth) & (depth > 0)``, gathers, one multiply per axis.
   Target: camgeom at least 3x the fastest of them, for z and for range;
3. effective bandwidth (depth read once + points written) with a reused ``out=``
   buffer and with fresh outputs, as a share of the single-thread memory-copy
   bandwidth measured in the same run (read + write). Targets: 60% with ``out=``,
   40% fresh;
4. the cost of range relative to z at 1024^2, 2048^2 and 4096^2 (target <= 1.2x);
5. the first call in a new process with a warm numba cache.

Every figure is the median of interleaved rounds (each case runs once per round,
so a burst of load from other processes spreads over all cases); the spread
(min - max) is printed beside it, with the ratios of the best rounds (on a shared
machine the least disturbed round of each case is the closest to a quiet run),
and after each section the share of the CPUs that other processes used meanwhile.
The depth map and the ray grids are in memory (warm) but far larger than the CPU
caches; each fresh-output call gets new pages
from the OS, so page faults are part of its time, as in real use.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

from camgeom.depth import count_valid_depth, points_from_depth

TARGET_NUMPY = 3.0
TARGET_OUT_BANDWIDTH = 0.60
TARGET_FRESH_BANDWIDTH = 0.40
TARGET_RANGE_OVER_Z = 1.2

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


# --------------------------------------------------------------------------- inputs


def make_depth(size: int, invalid: float, seed: int = 0) -> np.ndarray:
    """A smooth z-depth surface in [1.5, 2.5] m with a fraction ``invalid`` of NaN, 0 and +inf."""
    rng = np.random.default_rng(seed)
    v, u = np.mgrid[0:size, 0:size].astype(np.float32) / np.float32(size)
    depth = (2.0 + 0.5 * np.sin(6.0 * u) * np.cos(4.0 * v)).astype(np.float32)
    bad = rng.random((size, size)) < invalid
    kinds = rng.integers(0, 3, size=int(bad.sum()))
    depth[bad] = np.array([np.nan, 0.0, np.inf], dtype=np.float32)[kinds]
    return depth


def intrinsics(size: int) -> np.ndarray:
    return np.array([[0.9 * size, 0.0, size / 2], [0.0, 0.9 * size, size / 2], [0.0, 0.0, 1.0]])


# --------------------------------------------------------------------------- numpy baseline


class NumpyBaseline:
    """What a numpy user writes: ray grids computed once per camera, then gathers per frame.

    z: ``point = d * (x, y, 1)``; range: ``point = d * (x, y, 1) / |(x, y, 1)|`` with the
    three unit-ray grids precomputed, so range costs one more gather than z and no
    square root per frame. Grids are float32 like the depth map and the points.
    """

    def __init__(self, K: np.ndarray, h: int, w: int) -> None:
        u = (np.arange(w) + 0.5 - K[0, 2]) / K[0, 0]
        v = (np.arange(h) + 0.5 - K[1, 2]) / K[1, 1]
        x, y = np.meshgrid(u, v)
        norm = np.sqrt(x * x + y * y + 1.0)
        self.grids = {
            "z": (x.astype(np.float32), y.astype(np.float32), None),
            "range": tuple((a / norm).astype(np.float32) for a in (x, y, np.ones_like(x))),
        }

    def stack(self, depth: np.ndarray, kind: str) -> np.ndarray:
        """Boolean indexing and ``np.stack`` (the textbook form)."""
        xs, ys, zs = self.grids[kind]
        m = np.isfinite(depth) & (depth > 0)
        d = depth[m]
        return np.stack([d * xs[m], d * ys[m], d if zs is None else d * zs[m]], -1)

    def take(self, depth: np.ndarray, kind: str) -> np.ndarray:
        """One ``flatnonzero``, ``take`` gathers, products written straight into the output."""
        xs, ys, zs = self.grids[kind]
        m = np.isfinite(depth)
        m &= depth > 0
        idx = np.flatnonzero(m)
        d = depth.reshape(-1).take(idx)
        out = np.empty((idx.size, 3), np.float32)
        np.multiply(d, xs.reshape(-1).take(idx), out=out[:, 0])
        np.multiply(d, ys.reshape(-1).take(idx), out=out[:, 1])
        if zs is None:
            out[:, 2] = d
        else:
            np.multiply(d, zs.reshape(-1).take(idx), out=out[:, 2])
        return out


# --------------------------------------------------------------------------- timing


def timed_rounds(cases: dict[str, Callable[[], Any]], rounds: int) -> dict[str, np.ndarray]:
    """Seconds per call of every case over ``rounds`` interleaved rounds (after one warm-up)."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for fn in cases.values():
        fn()
    for _ in range(rounds):
        for name, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: np.array(t) for name, t in times.items()}


def fmt(t: np.ndarray) -> str:
    return f"{np.median(t) * 1e3:7.1f} ms ({t.min() * 1e3:.1f}-{t.max() * 1e3:.1f})"


def verdict(ok: bool) -> str:
    return "meets target" if ok else "BELOW TARGET"


class OtherLoad:
    """CPU time used by other processes while a section runs, as a share of all CPUs.

    Linux only (``/proc/stat``); the whole machine's busy time minus this process's.
    """

    def __enter__(self) -> OtherLoad:
        self.start = (self._machine_busy(), time.process_time(), time.perf_counter())
        return self

    def __exit__(self, *exc: object) -> None:
        busy, own, wall = self._machine_busy(), time.process_time(), time.perf_counter()
        others = (busy - self.start[0]) - (own - self.start[1])
        share = max(0.0, others) / ((wall - self.start[2]) * (os.cpu_count() or 1))
        print(f"  (other processes used {share:.0%} of the CPUs during this section)")

    @staticmethod
    def _machine_busy() -> float:
        try:
            with open("/proc/stat") as fh:
                fields = [int(v) for v in fh.readline().split()[1:]]
        except OSError:
            return float("nan")
        idle = fields[3] + fields[4]
        return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def numba_cache_state() -> str:
    """Whether the depth kernels came from numba's on-disk cache in this process."""
    from camgeom._kernels import depth as kernels

    for size in (4, 512):  # the serial and the parallel variants
        for kind in ("z", "range"):
            points_from_depth(np.ones((size, size), np.float32), intrinsics(size), depth_kind=kind)
    dispatchers = [
        getattr(kernels, f"{name}_{variant}")
        for name in ("count_valid_rows", "write_points")
        for variant in ("serial", "parallel")
    ]
    hits = sum(k.stats.cache_hits.total() for k in dispatchers)
    misses = sum(k.stats.cache_misses.total() for k in dispatchers)
    if misses == 0 and hits:
        return f"warm ({hits} kernel variants loaded from numba's on-disk cache, none compiled)"
    return f"cold ({misses} kernel variant(s) compiled in this run, {hits} loaded from cache)"


def last_level_cache() -> str:
    sizes = []
    for index in range(8):
        try:
            with open(f"/sys/devices/system/cpu/cpu0/cache/index{index}/size") as fh:
                sizes.append(fh.read().strip())
        except OSError:
            break
    return sizes[-1] if sizes else "unknown-size"


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def first_call_seconds() -> tuple[float, float]:
    """(import, first call) seconds in a fresh interpreter."""
    run = subprocess.run(
        [sys.executable, "-c", FIRST_CALL_SNIPPET], check=True, capture_output=True, text=True
    )
    imp, call = (float(x) for x in run.stdout.split())
    return imp, call


# --------------------------------------------------------------------------- sections


def versus_numpy(size: int, invalid: float, rounds: int) -> None:
    depth = make_depth(size, invalid)
    K = intrinsics(size)
    base = NumpyBaseline(K, size, size)
    n = count_valid_depth(depth)
    print(
        f"\n[1] points only, fresh outputs: {size}x{size} float32, {1 - n / depth.size:.1%} "
        f"invalid ({n} points, {n * 12 / 1e6:.0f} MB out)"
    )
    cases: dict[str, Callable[[], Any]] = {}
    for kind in ("z", "range"):
        ref = points_from_depth(depth, K, depth_kind=kind).points
        for variant in ("stack", "take"):
            got = getattr(base, variant)(depth, kind)
            np.testing.assert_allclose(got, ref, rtol=2e-6, atol=1e-6)
        cases[f"camgeom {kind}"] = lambda kind=kind: points_from_depth(depth, K, depth_kind=kind)
        cases[f"numpy stack {kind}"] = lambda kind=kind: base.stack(depth, kind)
        cases[f"numpy take {kind}"] = lambda kind=kind: base.take(depth, kind)
    del ref, got
    res = timed_rounds(cases, rounds)
    for kind in ("z", "range"):
        ours = res[f"camgeom {kind}"]
        print(f"  {kind:5s} camgeom points_from_depth      {fmt(ours)}")
        best = min(("stack", "take"), key=lambda v: np.median(res[f"numpy {v} {kind}"]))
        for variant in ("stack", "take"):
            mark = "  <- fastest numpy" if variant == best else ""
            print(
                f"        numpy mask + gather ({variant:5s})  {fmt(res[f'numpy {variant} {kind}'])}{mark}"
            )
        ratio = np.median(res[f"numpy {best} {kind}"]) / np.median(ours)
        print(
            f"        -> camgeom {ratio:.1f}x the fastest numpy (target >= {TARGET_NUMPY:.0f}x: "
            f"{verdict(ratio >= TARGET_NUMPY)})"
        )
    print(
        "  (camgeom also skips the vendor background values 0.0025, 1e10 and 65504, "
        "which the numpy baseline does not check)"
    )


def bandwidth(size: int, invalid: float, rounds: int) -> None:
    depth = make_depth(size, invalid)
    K = intrinsics(size)
    n = count_valid_depth(depth)
    out = np.empty((n, 3), np.float32)
    src = np.ones(32 << 20, dtype=np.float64)  # 256 MB, far beyond the caches
    dst = np.empty_like(src)
    dst[:] = 0.0
    cases: dict[str, Callable[[], Any]] = {"copy": lambda: np.copyto(dst, src)}
    for kind in ("z", "range"):
        cases[f"out {kind}"] = lambda kind=kind: points_from_depth(
            depth, K, depth_kind=kind, out=out
        )
        cases[f"fresh {kind}"] = lambda kind=kind: points_from_depth(depth, K, depth_kind=kind)
    res = timed_rounds(cases, rounds)
    copy_bw = 2.0 * src.nbytes / np.median(res["copy"])
    moved = depth.nbytes + out.nbytes
    print(
        f"\n[2] bandwidth at {size}x{size}: depth read + points written = {moved / 1e6:.0f} MB; "
        f"single-thread np.copyto of {src.nbytes >> 20} MB {fmt(res['copy'])} -> "
        f"{copy_bw / 1e9:.1f} GB/s (read + write)"
    )
    best_copy_bw = 2.0 * src.nbytes / np.min(res["copy"])
    for mode, target in (("out", TARGET_OUT_BANDWIDTH), ("fresh", TARGET_FRESH_BANDWIDTH)):
        for kind in ("z", "range"):
            t = res[f"{mode} {kind}"]
            share = moved / np.median(t) / copy_bw
            best = moved / np.min(t) / best_copy_bw
            label = "out= reused" if mode == "out" else "fresh output"
            print(
                f"  {label:12s} {kind:5s} {fmt(t)} -> {moved / np.median(t) / 1e9:.1f} GB/s = "
                f"{share:.0%} of copy (target >= {target:.0%}: {verdict(share >= target)}); "
                f"best round / best copy {best:.0%}"
            )


def range_over_z(sizes: list[int], invalid: float, rounds: int) -> None:
    print("\n[3] range / z cost (same map, median times)")
    for size in sizes:
        depth = make_depth(size, invalid)
        K = intrinsics(size)
        out = np.empty((count_valid_depth(depth), 3), np.float32)
        cases: dict[str, Callable[[], Any]] = {}
        for kind in ("z", "range"):
            cases[f"out {kind}"] = lambda kind=kind, d=depth, K=K, o=out: points_from_depth(
                d, K, depth_kind=kind, out=o
            )
            cases[f"fresh {kind}"] = lambda kind=kind, d=depth, K=K: points_from_depth(
                d, K, depth_kind=kind
            )
        res = timed_rounds(cases, rounds)
        for mode in ("out", "fresh"):
            ratio = np.median(res[f"{mode} range"]) / np.median(res[f"{mode} z"])
            best = np.min(res[f"{mode} range"]) / np.min(res[f"{mode} z"])
            print(
                f"  {size:5d}^2 {mode:5s}: z {fmt(res[f'{mode} z'])}, range "
                f"{fmt(res[f'{mode} range'])} -> {ratio:.2f}x (target <= "
                f"{TARGET_RANGE_OVER_Z}: {verdict(ratio <= TARGET_RANGE_OVER_Z)}); best rounds {best:.2f}x"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096, help="image side in pixels")
    parser.add_argument("--invalid", type=float, default=0.11, help="share of invalid pixels")
    parser.add_argument("--rounds", type=int, default=11, help="interleaved rounds per case")
    parser.add_argument(
        "--sizes", default="1024,2048,4096", help="image sides for the range / z comparison"
    )
    args = parser.parse_args(argv)

    state = numba_cache_state()  # first: runs the kernels once, before anything else
    print(
        f"{cpu_name()}, {os.cpu_count()} CPUs; Python {platform.python_version()}, numpy "
        f"{np.__version__}, numba {numba.__version__} ({numba.get_num_threads()} threads, "
        f"{numba.threading_layer()} layer)"
    )
    print(f"numba cache for the depth kernels: {state}")
    print(
        f"data: inputs resident in RAM (warm) but larger than the {last_level_cache()} "
        "last-level cache; fresh outputs get new pages from the OS on every call"
    )
    print(f"at start: {load()}")
    print(f"timings: median of {args.rounds} interleaved rounds (min-max in brackets)")

    with OtherLoad():
        versus_numpy(args.size, args.invalid, args.rounds)
    with OtherLoad():
        bandwidth(args.size, args.invalid, args.rounds)
    with OtherLoad():
        range_over_z([int(s) for s in args.sizes.split(",")], args.invalid, args.rounds)

    first_call_seconds()  # make sure the default cache is filled
    runs = [first_call_seconds() for _ in range(3)]
    imp, call = sorted(runs, key=sum)[1]
    print(
        f"\n[4] new process, warm numba cache (median of 3): import camgeom.depth {imp:.3f} s + "
        f"first call {call:.3f} s = {imp + call:.3f} s"
    )
    print(f"\nat end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

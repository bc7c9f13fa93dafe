"""Lens-model projection and image undistortion against OpenCV and camgeom's own pinhole.

Run: ``python benchmarks/bench_lens.py [--repeat 5] [--size 2048]``

1. **Projection with radial-tangential distortion**: 10,000 frames x 468 points
   with per-frame K and pose and one :class:`camgeom.OpenCVDistortion`, through
   ``camgeom.project_points(..., distortion=d)`` (validation included, fresh
   outputs), against a per-frame ``cv2.projectPoints`` loop with the same
   coefficients and against camgeom's pinhole projection of the same batch.
   Targets: >= 20x the cv2 loop, <= 1.5x the pinhole cost.
2. **undistort_image** on a size x size RGB uint8 image (bilinear), against
   ``cv2.remap`` with a precomputed ``CV_16SC2`` map (the map reused: the
   fastest OpenCV path) and against ``cv2.initUndistortRectifyMap`` + ``cv2.remap``
   (the map not reused). camgeom stores no map: it recomputes the mapping in
   the sampling kernel. Targets: >= 1x the reused remap, >= 2x map + remap.

Every timing is repeated, rounds alternating between the contenders, and
printed as median (min-max). Ratios are of medians. The load average is printed
with the results: the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

from camgeom.camera import Camera
from camgeom.lens import OpenCVDistortion
from camgeom.poses import pose_from_rotation_translation
from camgeom.projection import project_points
from camgeom.warp import undistort_image

F, N = 10_000, 468
D = OpenCVDistortion(-0.28, 0.07, 0.0008, -0.0012, -0.01)


def _time(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _rounds(contenders: dict[str, Callable[[], object]], repeat: int) -> dict[str, list[float]]:
    for fn in contenders.values():
        fn()  # warm-up (compilation or cache load, page faults)
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(repeat):
        for name, fn in contenders.items():
            times[name].append(_time(fn))
    return times


def _fmt(ts: list[float]) -> str:
    return f"{statistics.median(ts) * 1e3:9.2f} ms ({min(ts) * 1e3:.2f}-{max(ts) * 1e3:.2f})"


def bench_projection(repeat: int) -> None:
    rng = np.random.default_rng(0)
    poses = pose_from_rotation_translation(
        Rotation.random(F, random_state=rng).as_matrix(), rng.normal(size=(F, 3)) * 0.1
    )
    poses[:, 2, 3] = 3.0  # points in front of every camera
    K = np.zeros((F, 3, 3))
    K[:, 0, 0] = K[:, 1, 1] = rng.uniform(500, 2000, F)
    K[:, 0, 2] = K[:, 1, 2] = 256.0
    K[:, 2, 2] = 1.0
    pts = rng.normal(size=(F, N, 3)) * 0.3
    rvecs = [cv2.Rodrigues(p[:3, :3])[0] for p in poses]
    coef = D.coefficients

    def cv2_loop() -> None:
        for f in range(F):
            cv2.projectPoints(pts[f], rvecs[f], poses[f, :3, 3], K[f], coef)

    def ours() -> None:
        project_points(pts, K[:, None], poses[:, None], distortion=D)

    def pinhole() -> None:
        project_points(pts, K[:, None], poses[:, None])

    cv2_reps = max(1, repeat // 2)
    times = _rounds({"lens": ours, "pinhole": pinhole}, repeat)
    times.update(_rounds({"cv2": cv2_loop}, cv2_reps))
    lens, pin, cv = (statistics.median(times[k]) for k in ("lens", "pinhole", "cv2"))
    print(f"projection, {F} frames x {N} points, radial-tangential (k1 k2 p1 p2 k3):")
    print(f"  camgeom lens     {_fmt(times['lens'])}  {F * N / lens / 1e6:7.1f} M points/s")
    print(f"  camgeom pinhole  {_fmt(times['pinhole'])}  {F * N / pin / 1e6:7.1f} M points/s")
    print(f"  cv2 loop         {_fmt(times['cv2'])}  {F * N / cv / 1e6:7.1f} M points/s")
    print(f"  ratio vs cv2 loop: {cv / lens:6.1f}x   (target >= 20x)")
    print(f"  cost vs pinhole:   {lens / pin:6.2f}x   (target <= 1.5x)")


def bench_undistort(repeat: int, size: int) -> None:
    rng = np.random.default_rng(1)
    img = cv2.GaussianBlur(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), (0, 0), 1.5)
    K = np.array([[0.8 * size, 0, size / 2], [0, 0.8 * size, size / 2], [0, 0, 1]])
    cam = Camera(K, np.eye(4), size, size, distortion=D)
    K_cv = K - [[0, 0, 0.5], [0, 0, 0.5], [0, 0, 0]]  # OpenCV's integer pixel centres
    m1, m2 = cv2.initUndistortRectifyMap(
        K_cv, D.coefficients, None, K_cv, (size, size), cv2.CV_16SC2
    )

    def ours() -> None:
        undistort_image(img, cam)

    def remap_reused() -> None:
        cv2.remap(img, m1, m2, cv2.INTER_LINEAR)

    def map_and_remap() -> None:
        a, b = cv2.initUndistortRectifyMap(
            K_cv, D.coefficients, None, K_cv, (size, size), cv2.CV_16SC2
        )
        cv2.remap(img, a, b, cv2.INTER_LINEAR)

    times = _rounds({"ours": ours, "reused": remap_reused, "both": map_and_remap}, repeat)
    o, r, b = (statistics.median(times[k]) for k in ("ours", "reused", "both"))
    print(
        f"undistort_image, {size}x{size} RGB uint8, bilinear (cv2 threads: {cv2.getNumThreads()}):"
    )
    print(f"  camgeom undistort_image    {_fmt(times['ours'])}")
    print(f"  cv2.remap, map reused      {_fmt(times['reused'])}")
    print(f"  cv2 map + remap            {_fmt(times['both'])}")
    print(f"  ratio vs reused remap:     {r / o:5.2f}x   (target >= 1x)")
    print(f"  ratio vs map + remap:      {b / o:5.2f}x   (target >= 2x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--size", type=int, default=2048)
    args = ap.parse_args()
    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()}")
    bench_projection(args.repeat)
    bench_undistort(args.repeat, args.size)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()

"""Speed of :func:`camgeom.io.read_depth` against the strongest plain decoders.

Writes 2048x2048 float32 depth maps to a temporary folder and times, alternately
in one process (medians of ``--repeat`` runs):

EXR (ZIP), once as a ``Z`` channel and once as identical ``R``, ``G``, ``B``
channels (the Datagen layout, where read_depth also checks that the three are
identical):

* ``OpenEXR.File(path, separate_channels=True).channels()`` single-threaded
  (OpenEXR's default: ``global_thread_count()`` 0),
* the same decode on every core (the pool sized to the cores, ``num_threads``
  per file): the strongest raw baseline,
* ``camgeom.io.read_depth(path)`` with the default decode threads (every
  core), background masked to NaN. Target: at most 0.65x the single-threaded
  raw decode on 2 cores;
* ``read_depth`` with ``set_decode_threads(1)``: what a job worker that leaves
  the other cores to other workers pays.

TIFF (DEFLATE with the floating-point predictor, 64 rows per strip, the
layout Synthesis AI's float32 ``depth.tif`` uses): ``cv2.imread(path,
IMREAD_UNCHANGED)`` against ``read_depth``. Target: not slower than cv2.
(cv2 cannot read float16 TIFFs such as the float16 Synthesis AI depth maps.)

Run: ``python benchmarks/bench_read_depth.py [--size 2048] [--repeat 15]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import OpenEXR
import tifffile

from camgeom.io import decode_threads, read_depth, set_decode_threads, write_exr


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _alternate(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, list[float]]:
    """Seconds of each function, run in turn ``repeat`` times after one warm-up each."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            times[name].append(_time(fn))
    return times


def _line(label: str, values: list[float], ref: float | None = None, note: str = "") -> str:
    med = statistics.median(values)
    ratio = f"  {med / ref:5.2f}x" if ref else "       "
    return (
        f"  {label:<44} {med * 1e3:7.2f} ms (min {min(values) * 1e3:6.2f}, max "
        f"{max(values) * 1e3:6.2f}){ratio} {note}"
    )


def _exr_raw(path: Path, threads: int) -> Callable[[], object]:
    def run() -> object:
        return OpenEXR.File(str(path), separate_channels=True, num_threads=threads).channels()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048, help="image side in pixels")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs of each reader")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0 : args.size, 0 : args.size].astype(np.float32)
    # A smooth surface with a little noise and a background, like a rendered depth map.
    depth = 1.5 + 0.2 * np.sin(rows / 97.0) * np.cos(cols / 131.0)
    depth += rng.normal(0.0, 1e-3, depth.shape).astype(np.float32)
    depth[:, : args.size // 8] = np.inf
    expected = np.where(np.isinf(depth), np.float32(np.nan), depth)

    cores = decode_threads()
    print(
        f"image {args.size}x{args.size} float32, {args.repeat} runs each, medians "
        f"(ratios against the first line of each block); {os.cpu_count()} CPUs, "
        f"decode threads {cores}, load average {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory() as folder:
        for label, channels in (
            ("EXR ZIP, Z channel", {"Z": depth}),
            ("EXR ZIP, R=G=B (Datagen layout)", {"R": depth, "G": depth, "B": depth}),
        ):
            path = Path(folder) / "depth.exr"
            write_exr(path, channels, compression="zip", overwrite=True)
            if not np.array_equal(read_depth(path), expected, equal_nan=True):
                raise SystemExit(f"read_depth({path}) does not return the values written")
            OpenEXR.set_global_thread_count(max(cores, OpenEXR.global_thread_count()))

            def single(path: Path = path) -> object:
                set_decode_threads(1)
                try:
                    return read_depth(path)
                finally:
                    set_decode_threads(None)

            t = _alternate(
                {
                    "raw1": _exr_raw(path, 0),
                    "rawn": _exr_raw(path, cores),
                    "ours": lambda path=path: read_depth(path),
                    "ours1": single,
                },
                args.repeat,
            )
            ref = statistics.median(t["raw1"])
            print(f"{label}:")
            print(_line("OpenEXR decode, single-threaded", t["raw1"], ref))
            print(_line(f"OpenEXR decode, {cores} threads", t["rawn"], ref))
            print(_line("camgeom.io.read_depth", t["ours"], ref, "(target <= 0.65x)"))
            print(_line("camgeom.io.read_depth, decode threads 1", t["ours1"], ref))

        path = Path(folder) / "depth.tif"
        tifffile.imwrite(path, depth, compression="zlib", predictor=3, rowsperstrip=64)
        if not np.array_equal(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), depth):
            raise SystemExit("cv2.imread does not return the values written")
        t = _alternate(
            {
                "cv2": lambda: cv2.imread(str(path), cv2.IMREAD_UNCHANGED),
                "ours": lambda: read_depth(path),
            },
            args.repeat,
        )
        ref = statistics.median(t["cv2"])
        print("TIFF DEFLATE + floating-point predictor, 64 rows per strip:")
        print(_line("cv2.imread(IMREAD_UNCHANGED)", t["cv2"], ref))
        print(_line("camgeom.io.read_depth", t["ours"], ref, "(target <= 1.0x)"))
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

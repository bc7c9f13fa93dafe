"""Overhead of :func:`camgeom.io.read_depth` over a bare OpenEXR decode.

Writes a 2048x2048 float32 ZIP-compressed EXR depth map to a temporary folder,
once as a ``Z`` channel and once as identical ``R``, ``G``, ``B`` channels (the
Datagen layout, where read_depth also checks that the three are identical).
For each it times, alternately in the same process,

* ``OpenEXR.File(path, separate_channels=True).channels()`` (the raw decode),
* ``camgeom.io.read_depth(path)``,

and prints the median of each and their ratio (target: <= 1.15).

Run: ``python benchmarks/bench_read_depth.py [--size 2048] [--repeat 15]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import OpenEXR

from camgeom.io import read_depth, write_exr


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


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

    print(f"image {args.size}x{args.size} float32 ZIP, {args.repeat} runs each (median)")
    with tempfile.TemporaryDirectory() as folder:
        for label, channels in (
            ("Z channel", {"Z": depth}),
            ("R=G=B (Datagen layout)", {"R": depth, "G": depth, "B": depth}),
        ):
            path = Path(folder) / "depth.exr"
            write_exr(path, channels, compression="zip", overwrite=True)
            m_raw, m_ours = _measure(path, depth, args.repeat)
            print(f"{label}:")
            print(f"  OpenEXR.File(...).channels()  {m_raw * 1e3:8.2f} ms")
            print(f"  camgeom.io.read_depth         {m_ours * 1e3:8.2f} ms")
            print(f"  ratio read_depth / raw decode {m_ours / m_raw:8.3f}  (target <= 1.15)")


def _measure(path: Path, expected: np.ndarray, repeat: int) -> tuple[float, float]:
    """Median seconds of the raw decode and of read_depth, timed alternately."""

    def raw() -> object:
        return OpenEXR.File(str(path), separate_channels=True).channels()

    def ours() -> object:
        return read_depth(path)

    if not np.array_equal(read_depth(path), expected):
        raise SystemExit(f"read_depth({path}) does not return the values written")
    raw(), ours()  # warm the page cache
    t_raw, t_ours = [], []
    for _ in range(repeat):
        t_raw.append(_time(raw))
        t_ours.append(_time(ours))
    return statistics.median(t_raw), statistics.median(t_ours)


if __name__ == "__main__":
    main()

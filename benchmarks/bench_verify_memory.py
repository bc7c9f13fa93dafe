"""Peak memory of ``camgeom verify`` over 10,000 and 100,000 metadata-only frames.

Run ``python benchmarks/bench_verify_memory.py`` (``--help`` for options). The
frames are FaceSynthetics samples, one ``{id}_ldmks.txt`` each (70 landmark
rows, no image: the cheapest frame ``verify`` reads), in folders of 1,000,
made in a temporary folder that is deleted at the end. Each size is verified
by ``camgeom verify DIR -q --workers N`` in a new process, and its peak
resident memory is read with ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``
in a wrapper process of its own (so the two sizes do not share a maximum).

Target: the peak at 100,000 frames at most 1.2x the peak at 10,000 frames
(memory bounded independent of the number of frames).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1.2
PER_FOLDER = 1000

WRAPPER = """
import resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
if proc.returncode not in (0, 1):
    sys.exit(proc.stderr)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def make_frames(root: Path, n: int) -> Path:
    """``n`` FaceSynthetics ``_ldmks.txt`` files under ``root``, 1,000 per folder."""
    rows = "".join(f"{100.5 + i:.1f} {200.25 + 0.5 * i:.2f}\n" for i in range(70))
    for i in range(n):
        folder = root / f"part_{i // PER_FOLDER:04d}"
        if i % PER_FOLDER == 0:
            folder.mkdir(parents=True)
        (folder / f"{i:06d}_ldmks.txt").write_text(rows)
    return root


def peak_rss_mb(data: Path, workers: int) -> tuple[float, float]:
    """Peak resident memory (MB) and seconds of ``camgeom verify`` on ``data``."""
    cmd = [sys.executable, "-m", "camgeom.cli", "verify", str(data), "-q"]
    cmd += ["--workers", str(workers)]
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", WRAPPER, *cmd], capture_output=True, text=True, check=True
    )
    return int(proc.stdout.strip()) / 1024, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="camgeom-bench-verify-memory-") as tmp:
        results = {}
        for n in (args.small, args.large):
            data = make_frames(Path(tmp) / str(n), n)
            results[n] = peak_rss_mb(data, args.workers)
            mb, seconds = results[n]
            print(
                f"{n:>7} frames: peak RSS {mb:7.1f} MB, {seconds:6.1f} s "
                f"({n / seconds:,.0f} frames/s, --workers {args.workers})"
            )
        ratio = results[args.large][0] / results[args.small][0]
        print(
            f"peak RSS {args.large:,} / {args.small:,} frames: {ratio:.2f}x "
            f"(target at most {TARGET}x): {'ok' if ratio <= TARGET else 'OVER'}"
        )


if __name__ == "__main__":
    main()

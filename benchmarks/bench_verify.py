"""Throughput of ``camgeom verify`` on 2,000 Datagen 128x128 frames at one worker.

Run ``python benchmarks/bench_verify.py`` (``--help`` for options). The frames
are hard links of one Datagen fixture datapoint
(``faces_nn/datapoint_00016``), made in a temporary folder that is deleted at
the end. One run prints, for the same frames:

1. ``camgeom verify DIR --workers 1 -q`` as a user runs it (a new process:
   start-up, listing, every frame, the table), in frames/s, and its ratio to
   the 121 frames/s measured before verify ran through the job engine
   (target: at least 2x);
2. the plain in-process loop ``for frame in dataset: verify(frame)`` (no
   manifest, no per-frame isolation), in frames/s, and the CLI's ratio to it.

Each figure is the best of ``--repeat`` runs (the machine may be shared: the
best run is the one least disturbed by other processes).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIXTURE = (
    Path(os.environ.get("CAMGEOM_FIXTURES", "/work/shared/fixtures"))
    / "datagen/faces_nn/datapoint_00016"
)
OLD_FRAMES_PER_SECOND = 121.0
TARGET = 2.0

LOOP = """
import sys, time
import camgeom
from camgeom.verification import verify
t = time.perf_counter()
ds = camgeom.load(sys.argv[1])
n = 0
for frame in ds:
    verify(frame)
    n += 1
print(n, time.perf_counter() - t)
"""


def make_frames(root: Path, n: int, fixture: Path = FIXTURE) -> Path:
    """``n`` Datagen datapoints under ``root/data``: hard links of ``fixture``'s files."""
    data = root / "data"
    template = root / "template"
    shutil.copytree(fixture, template)
    files = [p.relative_to(template) for p in template.rglob("*") if p.is_file()]
    for i in range(n):
        dst = data / f"datapoint_{i:05d}"
        for rel in files:
            target = dst / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(template / rel, target)
    return data


def time_cli(data: Path, workers: int) -> float:
    """Seconds of ``camgeom verify`` in a new process (exit code 0 or 1 accepted)."""
    cmd = [sys.executable, "-m", "camgeom.cli", "verify", str(data), "-q"]
    cmd += ["--workers", str(workers)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if proc.returncode not in (0, 1):
        raise SystemExit(f"camgeom verify failed ({proc.returncode}):\n{proc.stderr}")
    return seconds


def time_loop(data: Path) -> float:
    """Seconds of the plain in-process loop (without interpreter start-up)."""
    proc = subprocess.run(
        [sys.executable, "-c", LOOP, str(data)], capture_output=True, text=True, check=True
    )
    return float(proc.stdout.split()[1])


def main() -> None:
    # The CLI process imports camgeom from cached bytecode, as on a user's machine.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--no-loop", action="store_true", help="skip the plain loop")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="camgeom-bench-verify-") as tmp:
        data = make_frames(Path(tmp), args.frames)
        time_cli(data, args.workers)  # warm the page cache and numba's cache
        cli = min(time_cli(data, args.workers) for _ in range(args.repeat))
        rate = args.frames / cli
        print(f"frames: {args.frames} Datagen 128x128 (hard links of {FIXTURE.name})")
        print(
            f"camgeom verify --workers {args.workers}: {rate:8.1f} frames/s "
            f"({cli:.2f} s, best of {args.repeat}); {rate / OLD_FRAMES_PER_SECOND:.2f}x the "
            f"old {OLD_FRAMES_PER_SECOND:.0f} frames/s (target {TARGET:.1f}x)"
        )
        if not args.no_loop:
            loop = min(time_loop(data) for _ in range(args.repeat))
            print(
                f"plain loop verify(frame):      {args.frames / loop:8.1f} frames/s "
                f"({loop:.2f} s); CLI / loop = {loop / cli:.2f}x"
            )


if __name__ == "__main__":
    main()

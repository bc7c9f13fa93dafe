"""Start-up costs: ``import camgeom`` against ``import numpy``, and the first projection.

Each measurement runs in a new Python process (so nothing is imported yet) and
times, inside that process, with ``time.perf_counter``:

* ``import numpy`` and ``import camgeom`` (target: camgeom at most 2x numpy;
  ``import camgeom`` must not import numba or scipy);
* the first ``project_points`` of one 468-point frame (serial kernel) and of
  10,000 x 468 points (parallel kernel) after ``import camgeom``, with the
  kernels already in numba's on-disk cache (target: at most 0.25 s), split into
  what numba's own start-up costs (``import numba``; ``scipy.linalg``, which
  numba imports for BLAS when its first function loads; the first call of a
  trivial cached numba function, which builds numba's type registries) and
  what is left for camgeom;
* the first ``points_from_depth`` (range) of a 64x64 map (serial kernels) and of
  a 2048x2048 map (parallel kernels) after ``import camgeom``, warm cache (the
  first process of each size warms it and is not counted);
* the first ``camgeom.load(info.json)[0]`` of a Synthesis AI v1.5 frame after
  ``import camgeom`` (reading metadata must not import numba), when the vendor
  fixtures are found (``--fixtures`` or ``CAMGEOM_FIXTURES``).

Prints medians and the spread (min-max) of ``--repeat`` processes, the cache
state and the load average.

Run: ``python benchmarks/bench_startup.py [--repeat 9]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

DEFAULT_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"

IMPORT_NUMPY = """
import time
t0 = time.perf_counter()
import numpy
print(time.perf_counter() - t0)
"""

IMPORT_CAMGEOM = """
import sys, time
t0 = time.perf_counter()
import camgeom
t = time.perf_counter() - t0
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"numba", "scipy", "OpenEXR", "cv2"})
assert not heavy, heavy
print(t)
"""

FIRST_PROJECTION = """
import sys, time
import numpy as np
import camgeom
n = int(sys.argv[1])
points = np.random.default_rng(0).normal(size=(n, 3)) + [0, 0, 4]
K, pose = np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]]), np.eye(4)
numba_parts = {}
if sys.argv[2] == "split":
    t0 = time.perf_counter()
    import numba
    numba_parts["import numba"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    import scipy.linalg
    numba_parts["import scipy.linalg"] = time.perf_counter() - t0
    sys.path.insert(0, sys.argv[3])
    import trivial_kernel
    t0 = time.perf_counter()
    trivial_kernel.first(points)
    numba_parts["trivial kernel"] = time.perf_counter() - t0
t0 = time.perf_counter()
camgeom.project_points(points, K, pose)
t = time.perf_counter() - t0
from camgeom._kernels import projection as kern
hits = sum(sum(k.stats.cache_hits.values()) for k in (kern.project_serial, kern.project_parallel))
misses = sum(sum(k.stats.cache_misses.values()) for k in (kern.project_serial, kern.project_parallel))
print(json.dumps({"first": t, "hits": hits, "misses": misses, **numba_parts}))
""".replace("import sys, time", "import json, sys, time")


FIRST_DEPTH = """
import json, sys, time
import numpy as np
import camgeom
side = int(sys.argv[1])
depth = np.full((side, side), 1.5, dtype=np.float32)
K = np.array([[side, 0.0, side / 2], [0.0, side, side / 2], [0.0, 0.0, 1.0]])
t0 = time.perf_counter()
cloud = camgeom.points_from_depth(depth, K, depth_kind="range")
t = time.perf_counter() - t0
assert len(cloud) == side * side
from camgeom._kernels import depth as kern
kernels = [getattr(kern, f"{p}_{v}") for p in ("count_valid_rows", "write_points")
           for v in ("serial", "parallel")]
hits = sum(sum(k.stats.cache_hits.values()) for k in kernels)
misses = sum(sum(k.stats.cache_misses.values()) for k in kernels)
print(json.dumps({"first": t, "hits": hits, "misses": misses}))
"""


FIRST_READ = """
import json, sys, time
import camgeom
t0 = time.perf_counter()
frame = camgeom.load(sys.argv[1])[0]
t = time.perf_counter() - t0
print(json.dumps({"first": t, "numba": "numba" in sys.modules}))
"""


TRIVIAL_KERNEL = """
import numba


@numba.njit(cache=True)
def first(a):
    return a[0, 0]
"""


def run(code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1]


def summary(values: list[float], unit: float = 1e3) -> str:
    return (
        f"median {statistics.median(values) * unit:7.1f} ms "
        f"(min {min(values) * unit:.1f}, max {max(values) * unit:.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="processes per measurement")
    default = Path(os.environ.get("CAMGEOM_FIXTURES", DEFAULT_FIXTURES))
    parser.add_argument("--fixtures", type=Path, default=default, help="vendor fixtures folder")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs")
    folder = tempfile.mkdtemp()  # a one-line cached numba function: numba's own floor
    with open(os.path.join(folder, "trivial_kernel.py"), "w") as fh:
        fh.write(TRIVIAL_KERNEL)
    # Warm numba's on-disk cache (and the OS file cache) for every kernel used.
    for n in ("468", "4680000"):
        run(FIRST_PROJECTION, n, "split", folder)

    t_np, t_cg = [], []
    for _ in range(args.repeat):  # alternate, so both see the same machine state
        t_np.append(float(run(IMPORT_NUMPY)))
        t_cg.append(float(run(IMPORT_CAMGEOM)))
    ratio = statistics.median(t_cg) / statistics.median(t_np)
    print(f"import numpy   : {summary(t_np)}")
    print(f"import camgeom : {summary(t_cg)}   ratio {ratio:.2f}x numpy (target <= 2x)")

    for n, label in (
        ("468", "one 468-point frame (serial)"),
        ("4680000", "10,000 x 468 (parallel)"),
    ):
        whole = [json.loads(run(FIRST_PROJECTION, n, "whole", folder)) for _ in range(args.repeat)]
        split = [json.loads(run(FIRST_PROJECTION, n, "split", folder)) for _ in range(args.repeat)]
        cache = "warm" if all(r["misses"] == 0 for r in whole + split) else "COLD (compiled)"
        first = [r["first"] for r in whole]
        print(f"first project_points, {label}, cache {cache}:")
        print(f"  {'whole first call':<59}: {summary(first)}  (target <= 250 ms)")
        for part, label in (
            ("import numba", "import numba"),
            ("import scipy.linalg", "import scipy.linalg (numba's BLAS check)"),
            ("trivial kernel", "numba's first dispatch (a trivial cached kernel)"),
        ):
            print(f"    of which {label:<48}: {summary([r[part] for r in split])}")
        rest = "camgeom (its modules, kernels and the work)"
        print(f"    of which {rest:<48}: {summary([r['first'] for r in split])}")
    for side, label in (("64", "64x64 (serial)"), ("2048", "2048x2048 (parallel)")):
        runs = [json.loads(run(FIRST_DEPTH, side)) for _ in range(args.repeat + 1)][1:]
        cache = "warm" if all(r["misses"] == 0 for r in runs) else "COLD (compiled)"
        print(f"first points_from_depth, range, {label}, cache {cache}:")
        first = [r["first"] for r in runs]
        print(f"  {'whole first call':<59}: {summary(first)}  (target <= 250 ms)")
    info = args.fixtures / "synthesisai" / "v1_5_docs" / "24.info.json"
    if info.is_file():
        reads = [json.loads(run(FIRST_READ, str(info))) for _ in range(args.repeat)]
        numba = "imports numba" if any(r["numba"] for r in reads) else "numba not imported"
        print(f"first camgeom.load({info.name})[0] (a v1.5 frame's metadata), {numba}:")
        print(f"  {'whole first read':<59}: {summary([r['first'] for r in reads])}")
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

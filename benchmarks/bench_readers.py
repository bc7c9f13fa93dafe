"""Cost of reading a Synthesis AI v1.5 frame compared with parsing its JSON.

Times, interleaved in the same process and on the same file
(``synthesisai/v1_5_docs/24.info.json``, about 270 KB, of the vendor fixtures),

* ``orjson.loads`` of the file's bytes (the floor and the strongest baseline:
  camgeom parses with orjson, and every reader must parse the file once), and
  ``json.load`` of the file for reference;
* ``camgeom.load(path)[0]``: the frame read, every landmark point checked, the
  groups' arrays not yet built (they are built when first asked for);
* the same with every landmark group of the ``info.json`` built (camera,
  metadata and the 9 groups; the ``metadata.jsonl`` beside it is indexed too);
  checked before timing: afterwards ``frame.landmarks.loaded()`` names every
  group, so no group of this row is left unbuilt;
* the same with the dense ``.obj`` landmark sets too (separate files).

Prints the median and best time of each, their ratios to ``orjson.loads``
(target: a frame with all groups at most 1.5x), the numba cache state (a v1.5
frame's defect check projects its iBUG-68 points) and the load average.

Run: ``python benchmarks/bench_readers.py [--fixtures PATH] [--repeat 30]``
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from camgeom.datasets import load

DEFAULT_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
TARGET = 1.5


def _time(fn: Callable[[], object]) -> float:
    gc.collect()  # no case pays for the garbage of the one before
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _json_load(path: Path) -> object:
    with path.open("rb") as fh:
        return json.load(fh)


def _orjson_loads(path: Path) -> object:
    return orjson.loads(path.read_bytes())


def _frame(path: Path) -> object:
    return load(path)[0]


def _frame_with_groups(path: Path) -> Any:
    frame = load(path)[0]
    groups = [
        frame.landmarks[name]
        for name in frame.landmarks
        if name not in ("sai_dense", "mediapipe_dense")
    ]
    assert len(groups) >= 9, groups
    return frame


def _dense(path: Path) -> object:
    frame = _frame_with_groups(path)
    return frame.landmarks["sai_dense"], frame.landmarks["mediapipe_dense"]


def _cache_state() -> str:
    from camgeom._kernels import projection

    kernels = (projection.project_serial, projection.project_parallel)
    hits = sum(sum(k.stats.cache_hits.values()) for k in kernels)
    misses = sum(sum(k.stats.cache_misses.values()) for k in kernels)
    return f"projection kernels: {hits} loaded from numba's cache, {misses} compiled"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(os.environ.get("CAMGEOM_FIXTURES", DEFAULT_FIXTURES))
    parser.add_argument("--fixtures", type=Path, default=default, help="vendor fixtures folder")
    parser.add_argument("--repeat", type=int, default=30, help="timed runs of each reader")
    args = parser.parse_args()

    path = args.fixtures / "synthesisai" / "v1_5_docs" / "24.info.json"
    if not path.is_file():
        raise SystemExit(f"{path} not found: pass --fixtures or set CAMGEOM_FIXTURES")
    size_kb = path.stat().st_size / 1024
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs")

    cases: dict[str, Callable[[Path], object]] = {
        "orjson.loads(bytes)": _orjson_loads,
        "json.load": _json_load,
        "camgeom.load(path)[0] (groups unbuilt)": _frame,
        "same + all info.json groups built": _frame_with_groups,
        "same + dense .obj sets (4840 + 468 pts)": _dense,
    }
    for _ in range(3):  # warm caches and imports
        for fn in cases.values():
            fn(path)
    built = _frame_with_groups(path).landmarks
    unbuilt = [name for name in built if name not in built.loaded() and "dense" not in name]
    assert not unbuilt, f"groups left unbuilt by the 'all groups' case: {unbuilt}"
    times: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(args.repeat):  # interleaved: every case sees the same machine
        for label, fn in cases.items():
            times[label].append(_time(partial(fn, path)))
    print(f"{path.name} ({size_kb:.0f} KB), {args.repeat} interleaved runs each; {_cache_state()}")
    base_med = statistics.median(times["orjson.loads(bytes)"])
    base_best = min(times["orjson.loads(bytes)"])
    print(f"  {'':44s}    median       best   / orjson (median, best)")
    for label, ts in times.items():
        med, best = statistics.median(ts), min(ts)
        print(
            f"  {label:44s} {med * 1e3:7.3f} ms {best * 1e3:7.3f} ms"
            f"   {med / base_med:5.2f}x {best / base_best:5.2f}x"
        )
    ratio = statistics.median(times["same + all info.json groups built"]) / base_med
    verdict = "meets target" if ratio <= TARGET else "BELOW TARGET"
    print(f"  frame with all groups / orjson.loads: {ratio:.2f}x (target <= {TARGET}x: {verdict})")
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()

"""Cost of reading a Synthesis AI v1.5 frame compared with a bare ``json.load``.

Times, interleaved in the same process and on the same file
(``synthesisai/v1_5_docs/24.info.json``, about 270 KB, of the vendor fixtures),

* ``json.load`` of the file (the floor: every reader must parse it once),
* ``camgeom.load(path)[0]`` with every landmark group of the ``info.json`` turned
  into arrays (camera, metadata and the 10 groups; the ``metadata.jsonl`` beside it
  is indexed too),

and prints the median and best time of each and their ratios (target: <= 1.5).
It also prints the time including the dense ``.obj`` landmark sets, which are
separate files read only when their group is accessed.

Run: ``python benchmarks/bench_readers.py [--fixtures PATH] [--repeat 30]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from camgeom.datasets import load

DEFAULT_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _json_load(path: Path) -> object:
    with path.open("rb") as fh:
        return json.load(fh)


def _frame_with_groups(path: Path) -> object:
    frame = load(path)[0]
    groups = [
        frame.landmarks[name]
        for name in frame.landmarks
        if name not in ("sai_dense", "mediapipe_dense")
    ]
    assert len(groups) >= 9, groups
    return frame


def _dense(path: Path) -> object:
    frame = load(path)[0]
    return frame.landmarks["sai_dense"], frame.landmarks["mediapipe_dense"]


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

    for _ in range(3):  # warm caches and imports
        _json_load(path)
        _frame_with_groups(path)
    t_json: list[float] = []
    t_frame: list[float] = []
    t_dense: list[float] = []
    for _ in range(args.repeat):
        t_json.append(_time(lambda: _json_load(path)))
        t_frame.append(_time(lambda: _frame_with_groups(path)))
        t_dense.append(_time(lambda: _dense(path)))
    print(f"{path.name} ({size_kb:.0f} KB), {args.repeat} interleaved runs each")
    print("                                              median       best")
    for label, times in (
        ("json.load", t_json),
        ("camgeom.load(path)[0] + all info groups", t_frame),
        ("same + dense .obj sets (4840 + 468 pts)", t_dense),
    ):
        med, best = statistics.median(times), min(times)
        print(f"  {label:42s} {med * 1e3:7.2f} ms {best * 1e3:7.2f} ms")
    ratio_med = statistics.median(t_frame) / statistics.median(t_json)
    ratio_best = min(t_frame) / min(t_json)
    print(f"  ratio frame / json.load (target <= 1.5)    {ratio_med:7.3f}    {ratio_best:7.3f}")


if __name__ == "__main__":
    main()

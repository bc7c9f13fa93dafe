"""Exporting a dataset against loading it and writing the same bytes with ``json.dump``.

Builds a Synthesis AI dataset of ``--frames`` renders in a temporary folder from
the demo dataset (``camgeom.demo.make_demo_dataset``): each ``N.info.json`` is a
copy of one of the three demo renders, its images are symbolic links. Then, on
the same frames:

baseline
    ``camgeom.load`` and parse every frame (camera and landmarks), then
    ``json.dump`` an object of as many bytes as the export wrote (a list of
    floats), in one process.
``export_colmap`` / ``export_nerfstudio``
    the export into a fresh folder through the job runner (images symlinked,
    manifest, commit), at ``--workers`` local workers.

Each contender and its baseline run ``--rounds`` times, alternating which goes
first (the first round runs the export first: the baseline needs its byte
count), so that neither side always meets a cold page cache; before each timed
run, ``os.sync()`` writes back what earlier runs (and their deletion) left
pending, so that no run pays for another's file writes. The best round of each
side is compared.

Target: export time <= 1.5x the baseline for 10,000 frames. The ratio is printed.

Run: ``python benchmarks/bench_export.py [--frames 10000] [--workers 2] [--rounds 3] [--tmp DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import camgeom
from camgeom.demo import make_demo_dataset
from camgeom.export import export_colmap, export_nerfstudio


def make_dataset(root: Path, n: int) -> Path:
    demo = make_demo_dataset(root / "demo")
    src = demo.synthesisai
    infos = sorted(src.glob("*.info.json"))
    out = root / "big"
    out.mkdir()
    for i in range(n):
        info = infos[i % len(infos)]
        k = info.name.split(".")[0]
        shutil.copyfile(info, out / f"{i}.info.json")
        for f in src.glob(f"{k}.*"):
            if not f.name.endswith(".info.json"):
                os.symlink(f, out / f"{i}{f.name[len(k) :]}")
    return out


def out_bytes(folder: Path) -> int:
    return sum(
        p.stat().st_size
        for p in folder.rglob("*")
        if p.is_file() and not p.is_symlink() and ".camgeom" not in p.parts
    )


def settle() -> None:
    """Write back every dirty page and pending file-system change before a timed run.

    Each round creates and then deletes tens of thousands of files; without this,
    the next timed run (of either side) pays for the write-back of the last one.
    """
    os.sync()


def baseline(data: Path, nbytes: int, scratch: Path) -> float:
    settle()
    t0 = time.perf_counter()
    ds = camgeom.load(data)
    for frame in ds:
        _ = frame.camera
        for lm in frame.landmarks.values():
            _ = lm.world
    items = [0.123456789012345] * max(1, nbytes // 19)  # ~19 bytes per float in JSON
    with open(scratch / "same_bytes.json", "w") as fh:
        json.dump(items, fh)
    return time.perf_counter() - t0


def time_export(fn: Any, data: Path, out: Path, workers: int, kw: dict[str, Any]) -> float:
    settle()
    t0 = time.perf_counter()
    s = fn(camgeom.load(data), out, workers=workers, progress=False, **kw)
    t = time.perf_counter() - t0
    assert s.exit_code == 0, s.failures[:3]
    return t


def _file_system(path: Path) -> str:
    """The type of the file system holding ``path`` (from /proc/mounts), or "unknown"."""
    best, kind = "", "unknown"
    try:
        with open("/proc/mounts", encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 3 and str(path).startswith(parts[1]) and len(parts[1]) > len(best):
                    best, kind = parts[1], parts[2]
    except OSError:
        pass
    return f"file system {kind}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--only",
        default="colmap,binary,nerfstudio",
        help="comma-separated subset of colmap, binary, nerfstudio (default: all)",
    )
    ap.add_argument(
        "--tmp",
        default=None,
        help="folder for the dataset and the exports (default: the system's temporary "
        "folder); e.g. /dev/shm to measure without the disk",
    )
    args = ap.parse_args()
    only = set(args.only.split(","))
    print(f"load average before the run: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        root = Path(tmp)
        data = make_dataset(root, args.frames)
        fs = _file_system(root)
        print(f"{args.frames} frames (Synthesis AI 160x120, 3 landmark groups) in {data} ({fs})")
        for key, name, fn, kw in (
            ("colmap", "export_colmap", export_colmap, {}),
            ("binary", "export_colmap --binary", export_colmap, {"binary": True}),
            ("nerfstudio", "export_nerfstudio --no-depth", export_nerfstudio, {"depth": False}),
        ):
            if key not in only:
                continue
            exports: list[float] = []
            bases: list[float] = []
            nbytes = 0  # set by the first round, which runs the export first
            for r in range(args.rounds):
                out = root / f"out-{name.replace(' ', '_')}-{r}"
                if r % 2 == 0:
                    exports.append(time_export(fn, data, out, args.workers, kw))
                    nbytes = out_bytes(out)
                    bases.append(baseline(data, nbytes, root))
                else:
                    bases.append(baseline(data, nbytes, root))
                    exports.append(time_export(fn, data, out, args.workers, kw))
                shutil.rmtree(out)
            rounds = "  ".join(f"{e:.2f}/{b:.2f}" for e, b in zip(exports, bases, strict=True))
            print(
                f"{name:30s} {min(exports):8.2f} s  ({nbytes / 1e6:.1f} MB written)  "
                f"baseline load + json.dump {min(bases):8.2f} s  "
                f"ratio {min(exports) / min(bases):.2f} (target <= 1.5)  "
                f"[rounds export/baseline s: {rounds}]"
            )
    print(f"load average after the run: {os.getloadavg()}")


if __name__ == "__main__":
    main()

"""A small job for the runner tests: text inputs in, text/JSON/PNG/PLY outputs out.

Importable by worker processes (spawned pools, Dask workers, killed subprocesses).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sys
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from camgeom.jobs import FrameOutputs, FrameResult, FrameRow, Job, JobOutputs, run_job


@dataclass(frozen=True)
class Src:
    """One input: its id, its file, and how it misbehaves."""

    frame_id: str
    path: str
    fail_if: str | None = None  # raise ZeroDivisionError while this file exists
    crash: bool = False  # kill the worker process (only in a child process)
    sleep: float = 0.0
    spin: float = 0.0  # seconds of busy CPU work


@dataclass(frozen=True)
class WriteJob(Job):
    """Writes ``<stem>.txt`` (tag:input), optionally ``.meta.json``, ``.png``, ``.ply``."""

    tag: str = "v1"
    tags: tuple[tuple[str, str], ...] = ()  # per top folder: overrides `tag`
    meta: bool = True
    png: bool = False
    ply: bool = False
    report: bool = True

    name = "write"
    suffixes = (".txt", ".meta.json", ".png", ".ply")

    @property
    def options(self) -> Mapping[str, Any]:
        return {
            "tag": self.tag,
            "tags": dict(self.tags),
            "meta": self.meta,
            "png": self.png,
            "ply": self.ply,
        }

    def _tag(self, item: Src) -> str:
        return dict(self.tags).get(item.frame_id.split("/")[0], self.tag)

    def frame_options(self, item: Src) -> Mapping[str, Any]:
        return {"tag": self._tag(item), "meta": self.meta, "png": self.png, "ply": self.ply}

    def inputs(self, item: Src) -> Sequence[str]:
        return [item.path]

    def run(self, item: Src, out: FrameOutputs) -> FrameResult:
        if item.fail_if is not None and os.path.exists(item.fail_if):
            return FrameResult({"ratio": 1 / 0})
        if item.crash and multiprocessing.parent_process() is not None:
            os._exit(7)
        if item.sleep:
            time.sleep(item.sleep)
        if item.spin:
            end = time.process_time() + item.spin
            while time.process_time() < end:
                pass
        text = Path(item.path).read_text(encoding="utf-8")
        tag = self._tag(item)
        body = f"{tag}:{text}"
        out.path(".txt").write_text(body, encoding="utf-8")
        digest = hashlib.sha256(body.encode()).digest()
        if self.meta:
            meta = {"frame_id": item.frame_id, "tag": tag, "chars": len(text)}
            out.path(".meta.json").write_text(json.dumps(meta), encoding="utf-8")
        if self.png:
            from PIL import Image

            Image.frombytes("L", (8, 4), digest).save(out.path(".png"), format="PNG")
        if self.ply:
            import numpy as np
            import trimesh

            points = np.frombuffer(digest, dtype=np.uint8).reshape(-1, 4)[:, :3] / 255.0
            trimesh.PointCloud(points).export(out.path(".ply"))
        if "warn" in text:
            warnings.warn("input asks for a warning", UserWarning, stacklevel=1)
        notes = ("short input",) if len(text) < 3 else ()
        return FrameResult({"chars": len(text), "tag": tag}, warnings=notes)

    def reduce(self, rows: Iterator[FrameRow], out: JobOutputs) -> Mapping[str, Any]:
        listed = [{"frame_id": r.frame_id, "state": r.state, "data": r.data} for r in rows]
        if self.report:
            text = json.dumps(listed, indent=1, sort_keys=True)
            out.path("report.json").write_text(text, encoding="utf-8")
        return {"chars": sum((r["data"] or {}).get("chars", 0) for r in listed)}


#: Changed by a test in its own process: a worker that sees the change shares its state.
PARENT_STATE: list[str] = []


@dataclass(frozen=True)
class StateJob(Job):
    """Reports the state of the process that runs each frame (threads, modules, folder)."""

    name = "state"

    def frame_id(self, item: Any) -> str:
        return str(item)

    def run(self, item: Any, out: FrameOutputs) -> FrameResult:
        from camgeom.io import decode_threads

        numba = sys.modules.get("numba")
        return FrameResult(
            {
                "pid": os.getpid(),
                "decode": decode_threads(),
                "numba_env": os.environ.get("NUMBA_NUM_THREADS"),
                "numba_loaded": numba is not None,
                "numba_threads": None if numba is None else numba.get_num_threads(),
                "parent_state": list(PARENT_STATE),
                "cwd": os.getcwd(),
                "kernels_loaded": "camgeom._kernels.depth" in sys.modules,
                # imported by numba when it sets up its compiler (first kernel call)
                "numba_ready": "numba.np.arraymath" in sys.modules,
                "start_method": multiprocessing.get_start_method(allow_none=True),
            }
        )

    def reduce(self, rows: Iterator[Any], out: JobOutputs) -> Mapping[str, Any]:
        return {"seen": [row.data for row in rows]}


def make_dataset(root: Path, ids: Sequence[str], *, text: str = "hello") -> list[Src]:
    """Write one input file per id (``<root>/<id>.in``) and return the sources."""
    sources = []
    for frame_id in ids:
        path = root / f"{frame_id}.in"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{text} {frame_id}", encoding="utf-8")
        sources.append(Src(frame_id, str(path)))
    return sources


def sources_for(root: Path, ids: Sequence[str], *, sleep: float = 0.0) -> list[Src]:
    """The sources of inputs written earlier by :func:`make_dataset`."""
    return [Src(i, str(root / f"{i}.in"), sleep=sleep) for i in ids]


def ids(n: int) -> list[str]:
    """``n`` frame ids in a few folders, with dots and spaces."""
    folders = ("sai.v2", "a b", "a_b", "scene_00001/frames/001")
    return [f"{folders[i % len(folders)]}/{i:04d}" for i in range(n)]


def main() -> None:
    """``python fakejob.py OUT ROOT N WORKERS SLEEP [DIE_AFTER]``: run the job (kill tests).

    Prints ``ready`` once imported. With ``DIE_AFTER``, the process kills itself
    (SIGKILL) at its DIE_AFTER-th file rename, i.e. in the middle of a commit.
    """
    import signal

    out, root, n, workers, sleep = sys.argv[1:6]
    if len(sys.argv) > 6:
        die_after = int(sys.argv[6])
        real_replace = os.replace
        calls = [0]

        def replace_then_die(src: Any, dst: Any) -> None:
            calls[0] += 1
            if calls[0] == die_after:
                os.kill(os.getpid(), signal.SIGKILL)
            real_replace(src, dst)

        os.replace = replace_then_die  # type: ignore[assignment]
    sources = sources_for(Path(root), ids(int(n)), sleep=float(sleep))
    print("ready", flush=True)
    summary = run_job(
        WriteJob(png=True, ply=True), sources, out, root=root, workers=int(workers), progress=False
    )
    print(json.dumps({"done": summary.done, "kept": summary.kept, "failed": summary.failed}))


if __name__ == "__main__":
    main()

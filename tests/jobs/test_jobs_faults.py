"""kill -9 at random points, rerun: every output loads and equals a clean run's."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakejob import WriteJob, ids, make_dataset, sources_for
from test_jobs_runner import tree

from camgeom.jobs import Manifest, run_job
from camgeom.jobs.commit import is_temp_name

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
N = 120
SLEEP = 0.004  # seconds per frame, so that a run lasts long enough to be hit


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    make_dataset(root, ids(N))
    return root


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, dataset: Path) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("clean")
    sources = sources_for(dataset, ids(N))
    summary = run_job(
        WriteJob(png=True, ply=True), sources, out, root=dataset, workers=1, progress=False
    )
    assert summary.done == N
    return tree(out)


def start(out: Path, root: Path, workers: int, *extra: str) -> subprocess.Popen[str]:
    """Run the job in a new process group; return once it has imported everything."""
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "fakejob.py"), str(out), str(root), str(N)]
        + [str(workers), str(SLEEP), *extra],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)])},
        start_new_session=True,  # its worker processes die with it
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def kill_group(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the job and its workers; return once every process of the group is gone.

    The group leader is reaped at once, but on a busy machine its workers can take a
    moment to exit, and a rerun started meanwhile would find the output folder in use.
    """
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    deadline = time.monotonic() + 30.0
    while _running_in_group(proc.pid):
        assert time.monotonic() < deadline, f"group {proc.pid} still running 30 s after SIGKILL"
        time.sleep(0.01)


def _running_in_group(pgid: int) -> bool:
    """Whether a process of group ``pgid`` is still running (zombies hold no files)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses
        state, _ppid, pgrp = stat[stat.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == pgid and state not in "ZX":
            return True
    return False


def check_after_rerun(out: Path, root: Path, clean: dict[str, bytes]) -> None:
    """Rerun to completion; the folder must then equal a clean run's, file for file."""
    summary = run_job(
        WriteJob(png=True, ply=True),
        sources_for(root, ids(N)),
        out,
        root=root,
        workers=1,
        progress=False,
    )
    assert summary.failed == 0, summary.failures
    assert not [p for p in out.rglob("*") if is_temp_name(p.name)]
    files = tree(out)
    assert files == clean
    _load_every_output(out, files)
    with Manifest.open(out) as m:
        assert {row.state for row in m.rows()} == {"ok"}


def _load_every_output(out: Path, files: dict[str, bytes]) -> None:
    import trimesh
    from PIL import Image

    for rel, data in files.items():
        if rel.endswith(".json"):
            json.loads(data)
        elif rel.endswith(".png"):
            with Image.open(out / rel) as img:
                img.load()
                assert img.size == (8, 4)
        elif rel.endswith(".ply"):
            cloud = trimesh.load(out / rel)
            assert isinstance(cloud, trimesh.PointCloud) and len(cloud.vertices) == 8
        else:
            assert data.decode("utf-8").startswith("v1:hello ")


def partial(out: Path) -> bool:
    """True when the killed run left the folder unfinished."""
    with Manifest.open(out) as m:
        done = sum(1 for row in m.rows("write") if row.frame_id and row.state == "ok")
        return done < N or not m.last_run_finished()


@pytest.mark.parametrize("workers", [1, 2])
def test_kill_at_random_times_then_rerun(
    tmp_path: Path, dataset: Path, clean: dict[str, bytes], workers: int
) -> None:
    rng = random.Random(1009 + workers)
    interrupted = 0
    for trial in range(4):
        out = tmp_path / f"trial{trial}"
        for _ in range(2):  # killed twice, the second time while resuming
            proc = start(out, dataset, workers)
            time.sleep(rng.uniform(0.0, 1.2))
            kill_group(proc)
        if out.exists() and partial(out):
            interrupted += 1
        check_after_rerun(out, dataset, clean)
    assert interrupted >= 2  # most kills hit a running job


def test_kill_in_the_middle_of_a_commit_then_rerun(
    tmp_path: Path, dataset: Path, clean: dict[str, bytes]
) -> None:
    rng = random.Random(7)
    renames = 4 * N  # four outputs per frame
    for trial, die_after in enumerate(sorted(rng.sample(range(1, renames), 4))):
        out = tmp_path / f"trial{trial}"
        proc = start(out, dataset, 1, str(die_after))
        assert proc.wait() == -signal.SIGKILL
        assert partial(out)
        # Outputs of the frame being committed are partly in place, partly temporary.
        assert [p for p in out.rglob("*") if is_temp_name(p.name)]
        check_after_rerun(out, dataset, clean)

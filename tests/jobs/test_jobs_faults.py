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
    semaphores = _semaphores_of_group(proc.pid)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    deadline = time.monotonic() + 30.0
    while _running_in_group(proc.pid):
        assert time.monotonic() < deadline, f"group {proc.pid} still running 30 s after SIGKILL"
        time.sleep(0.01)
    _unlink_semaphores(semaphores)


_SHM = Path("/dev/shm")


def _group_pids(pgid: int) -> list[str]:
    """Process ids of group ``pgid`` still running (zombies hold no files), from /proc."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses
        state, _ppid, pgrp = stat[stat.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == pgid and state not in "ZX":
            pids.append(entry.name)
    return pids


def _semaphores_of_group(pgid: int) -> set[int]:
    """Inodes of the named semaphores the group has open (Linux; else empty).

    multiprocessing's queues and locks in the job are named semaphores in
    /dev/shm, unlinked by its resource tracker when the job ends. SIGKILL on the
    whole group kills the tracker too, so the killed job's semaphores would stay
    in /dev/shm after the test.
    """
    if not _SHM.is_dir() or not Path("/proc").is_dir():
        return set()
    inodes: set[int] = set()
    for pid in _group_pids(pgid):
        inodes |= _semaphore_inodes(pid)
    return inodes


def _orphan_semaphores() -> set[str]:
    """multiprocessing semaphores in /dev/shm that no running process has open."""
    if not _SHM.is_dir() or not Path("/proc").is_dir():
        return set()
    names = {p.name: p for p in _SHM.glob("sem.mp-*")}
    if not names:
        return set()
    open_inodes = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            open_inodes |= _semaphore_inodes(entry.name)
    orphans = set()
    for name, path in names.items():
        try:
            if path.stat().st_ino not in open_inodes:
                orphans.add(name)
        except OSError:
            pass
    return orphans


def _semaphore_inodes(pid: str) -> set[int]:
    """Inodes of the named semaphores process ``pid`` has mapped."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return set()
    inodes = set()
    for line in maps.splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[5].startswith("/dev/shm/sem."):
            inodes.add(int(fields[4]))
    return inodes


def _unlink_semaphores(inodes: set[int]) -> None:
    """Remove the killed group's semaphores (by inode: only those it had open)."""
    if not inodes:
        return
    for path in _SHM.glob("sem.mp-*"):
        try:
            if path.stat().st_ino in inodes:
                path.unlink()
        except OSError:
            pass


def _running_in_group(pgid: int) -> bool:
    """Whether a process of group ``pgid`` is still running (zombies hold no files)."""
    if not Path("/proc").is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    return bool(_group_pids(pgid))


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
    orphans_before = _orphan_semaphores()
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
    # The killed jobs' semaphores are gone from /dev/shm (see kill_group).
    assert _orphan_semaphores() <= orphans_before


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

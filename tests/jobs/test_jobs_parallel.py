"""Worker processes and a Dask cluster give the outputs of a run in one process."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fakejob
import pytest
from fakejob import Src, StateJob, WriteJob, ids, make_dataset
from test_jobs_runner import tree

from camgeom.jobs import run_job
from camgeom.jobs.backends import (
    SCHEDULER_ENV,
    ProcessBackend,
    local_cores,
    resolve_workers,
    start_worker_server,
    worker_context,
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Src]]:
    root = tmp_path_factory.mktemp("data")
    return root, make_dataset(root, ids(40))


@pytest.fixture(scope="module")
def reference(
    tmp_path_factory: pytest.TempPathFactory, dataset: tuple[Path, list[Src]]
) -> dict[str, bytes]:
    root, sources = dataset
    out = tmp_path_factory.mktemp("inline")
    summary = run_job(
        WriteJob(png=True, ply=True), sources, out, root=root, workers=1, progress=False
    )
    assert summary.done == 40
    return tree(out)


def test_two_processes_give_byte_identical_outputs(
    tmp_path: Path, dataset: tuple[Path, list[Src]], reference: dict[str, bytes]
) -> None:
    root, sources = dataset
    summary = run_job(
        WriteJob(png=True, ply=True), sources, tmp_path, root=root, workers=2, progress=False
    )
    assert (summary.backend, summary.workers, summary.done, summary.failed) == (
        "processes",
        2,
        40,
        0,
    )
    assert tree(tmp_path) == reference


def test_dead_worker_fails_only_its_frame(tmp_path: Path, dataset: tuple[Path, list[Src]]) -> None:
    root, sources = dataset
    crashing = [dataclasses.replace(s, crash=(i == 5)) for i, s in enumerate(sources[:12])]
    summary = run_job(WriteJob(), crashing, tmp_path, root=root, workers=2, progress=False)
    assert (summary.done, summary.failed) == (11, 1)
    (failure,) = summary.failures
    assert (failure.frame_id, failure.error_type) == (sources[5].frame_id, "WorkerLost")
    # The next run retries it (and it dies again: workers run in child processes).
    again = run_job(WriteJob(), crashing, tmp_path, root=root, workers=2, progress=False)
    assert (again.kept, again.failed) == (11, 1)


def test_frames_in_flight_stay_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "data"
    sources = make_dataset(root, ids(400))
    counts = {"pulled": 0, "frames_done": 0, "tasks": 0, "tasks_done": 0}
    peaks = {"tasks_in_flight": 0, "frames_ahead": 0, "task_frames": 0}

    def lazily() -> Iterator[Src]:
        for source in sources:
            counts["pulled"] += 1
            ahead = counts["pulled"] - counts["frames_done"]
            peaks["frames_ahead"] = max(peaks["frames_ahead"], ahead)
            yield dataclasses.replace(source, sleep=0.002)

    submit, result = ProcessBackend.submit, ProcessBackend.result

    def counting_submit(self: ProcessBackend, out_dir: str, tasks: Any) -> Any:
        counts["tasks"] += 1
        peaks["tasks_in_flight"] = max(
            peaks["tasks_in_flight"], counts["tasks"] - counts["tasks_done"]
        )
        peaks["task_frames"] = max(peaks["task_frames"], len(tasks))
        return submit(self, out_dir, tasks)

    def counting_result(self: ProcessBackend, future: Any) -> Any:
        outcomes = result(self, future)
        counts["tasks_done"] += 1
        counts["frames_done"] += len(outcomes)
        return outcomes

    monkeypatch.setattr(ProcessBackend, "submit", counting_submit)
    monkeypatch.setattr(ProcessBackend, "result", counting_result)
    summary = run_job(WriteJob(), lazily(), tmp_path / "out", root=root, workers=2, progress=False)
    assert summary.done == 400 and counts["frames_done"] == 400
    window = 4 * 2
    assert peaks["tasks_in_flight"] == window  # the window is used, and never exceeded
    assert 1 < peaks["task_frames"] <= 64  # small frames travel several to a task
    # Items are read as the window frees up, not ahead of it.
    assert peaks["frames_ahead"] <= (window + 1) * peaks["task_frames"] < 400


def test_resume_after_processes_runs_in_one_process(
    tmp_path: Path, dataset: tuple[Path, list[Src]]
) -> None:
    root, sources = dataset
    run_job(WriteJob(), sources, tmp_path, root=root, workers=2, progress=False)
    summary = run_job(WriteJob(), sources, tmp_path, root=root, workers=1, progress=False)
    assert (summary.done, summary.kept) == (0, 40)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    try:
        import distributed  # noqa: F401
    except ImportError:  # pragma: no cover - the test extra installs it
        pytest.skip("dask.distributed is not installed (pip install 'camgeom[dask]')")
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as local:
        yield local


def test_dask_cluster_gives_byte_identical_outputs(
    tmp_path: Path, dataset: tuple[Path, list[Src]], reference: dict[str, bytes], cluster: Any
) -> None:
    root, sources = dataset
    summary = run_job(
        WriteJob(png=True, ply=True),
        sources,
        tmp_path,
        root=root,
        scheduler=cluster.scheduler_address,
        progress=False,
    )
    assert (summary.backend, summary.workers, summary.done, summary.failed) == ("dask", 2, 40, 0)
    assert tree(tmp_path) == reference
    # A rerun through the cluster has nothing to do.
    again = run_job(
        WriteJob(png=True, ply=True),
        sources,
        tmp_path,
        root=root,
        scheduler=cluster.scheduler_address,
        progress=False,
    )
    assert (again.done, again.kept) == (0, 40)


def test_dask_from_environment_isolates_failures(
    tmp_path: Path,
    dataset: tuple[Path, list[Src]],
    cluster: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, sources = dataset
    marker = tmp_path / "broken"
    marker.write_text("")
    failing = [
        dataclasses.replace(s, fail_if=str(marker)) if i == 3 else s for i, s in enumerate(sources)
    ]
    monkeypatch.setenv("CAMGEOM_DASK_SCHEDULER", cluster.scheduler_address)
    summary = run_job(WriteJob(), failing, tmp_path / "out", root=root, progress=False)
    assert (summary.backend, summary.done, summary.failed) == ("dask", 39, 1)
    assert summary.failures[0].error_type == "ZeroDivisionError"


def test_unreachable_scheduler_is_a_clear_error(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    from camgeom.errors import CamgeomError
    from camgeom.jobs.backends import DaskBackend

    with pytest.raises(CamgeomError, match="Cannot connect to the Dask scheduler"):
        DaskBackend(WriteJob(), "tcp://127.0.0.1:1", timeout=1)


def test_job_that_cannot_reach_the_workers_is_a_clear_error(
    tmp_path: Path, dataset: tuple[Path, list[Src]]
) -> None:
    from camgeom.errors import CamgeomError

    @dataclasses.dataclass(frozen=True)
    class Local(WriteJob):  # defined in a function: worker processes cannot import it
        pass

    root, sources = dataset
    with pytest.raises(CamgeomError, match="top-level class"):
        run_job(Local(), sources, tmp_path, root=root, workers=2, progress=False)


@pytest.mark.parametrize(
    ("crashers", "sleep"),
    [
        ({30}, 0.0),
        # Near the end tasks hold one frame each, and several wait on each worker: when
        # a crashing frame takes a worker down, Dask counts the death against those too.
        ({34, 38}, 0.002),
    ],
)
def test_only_the_frames_that_kill_dask_workers_fail(
    tmp_path: Path,
    dataset: tuple[Path, list[Src]],
    cluster: Any,
    crashers: set[int],
    sleep: float,
) -> None:
    root, sources = dataset
    crashing = [
        dataclasses.replace(s, crash=(i in crashers), sleep=sleep) for i, s in enumerate(sources)
    ]
    summary = run_job(
        WriteJob(),
        crashing,
        tmp_path,
        root=root,
        scheduler=cluster.scheduler_address,
        progress=False,
    )
    assert sorted(f.frame_id for f in summary.failures) == sorted(
        sources[i].frame_id for i in crashers
    ), summary.failures
    assert {f.error_type for f in summary.failures} == {"KilledWorker"}
    assert summary.done == len(sources) - len(crashers)


def test_workers_fork_from_a_clean_server_that_has_imported_the_kernels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fakejob, "PARENT_STATE", ["changed in the calling process"])
    linux = sys.platform.startswith("linux")
    assert worker_context().get_start_method() == ("forkserver" if linux else "spawn")
    start_worker_server()  # as the command line does before listing a dataset
    for run in range(2):  # the second run forks from the same server
        here = tmp_path / f"cwd{run}"
        here.mkdir()
        monkeypatch.chdir(here)  # workers take the caller's working folder of each run
        summary = run_job(
            StateJob(), [str(i) for i in range(4)], tmp_path / str(run), workers=2, progress=False
        )
        seen = summary.totals["seen"]
        assert len(seen) == 4 and os.getpid() not in {s["pid"] for s in seen}
        assert all(s["parent_state"] == [] for s in seen)  # nothing of the caller leaks in
        assert {s["cwd"] for s in seen} == {str(here)}
        # imported once by the server, not by each worker (a spawned worker has not)
        assert all(s["kernels_loaded"] is linux for s in seen)
        assert all(s["numba_ready"] is linux for s in seen)  # readied once, in the server


def test_readying_numba_for_the_fork_server_starts_no_thread() -> None:
    code = (
        "import sys, threading; import camgeom.jobs._server; "
        "print('numba.np.arraymath' in sys.modules, threading.active_count())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "1"]


def test_a_run_goes_to_the_scheduler_given_else_the_environments_else_local_cores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    assert resolve_workers(None, None) == (None, local_cores())
    assert resolve_workers(3, None) == (None, 3)
    assert resolve_workers(None, "tcp://10.0.0.5:8786") == ("tcp://10.0.0.5:8786", 0)
    monkeypatch.setenv(SCHEDULER_ENV, "tcp://10.0.0.6:8786")
    assert resolve_workers(None, None) == ("tcp://10.0.0.6:8786", 0)
    assert resolve_workers(2, None) == (None, 2)  # explicit local workers win


def test_no_more_worker_processes_than_frames(
    tmp_path: Path, dataset: tuple[Path, list[Src]], reference: dict[str, bytes]
) -> None:
    root, sources = dataset
    few = sources[:3]
    summary = run_job(
        WriteJob(png=True, ply=True), few, tmp_path, root=root, workers=50, progress=False
    )
    assert (summary.backend, summary.workers, summary.done) == ("processes", 3, 3)
    one = run_job(
        WriteJob(png=True, ply=True),
        sources[3:4],
        tmp_path / "one",
        root=root,
        workers=50,
        progress=False,
    )
    assert (one.backend, one.workers, one.done) == ("inline", 1, 1)


def test_cli_refuses_more_than_8_workers_per_core(tmp_path: Path, capsys) -> None:
    from camgeom.cli import main
    from camgeom.jobs.backends import local_cores

    too_many = 8 * local_cores() + 1
    assert (
        main(["project", str(tmp_path), "--out", str(tmp_path / "o"), "--workers", str(too_many)])
        == 2
    )
    err = capsys.readouterr().err
    assert f"--workers {too_many}" in err and "per core" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("address", ["garbage", "tcp://host-without-port", "foo://bar:1", " "])
def test_malformed_scheduler_address_is_refused_at_once(tmp_path: Path, address: str) -> None:
    """No client is built for it (a half-built one blocked the exit for 60 s)."""
    pytest.importorskip("distributed")
    import time

    from camgeom.errors import InvalidValueError
    from camgeom.jobs.backends import DaskBackend

    start = time.monotonic()
    with pytest.raises(InvalidValueError, match="Dask scheduler address"):
        DaskBackend(WriteJob(), address)
    env = {**os.environ, "CAMGEOM_DASK_SCHEDULER": address}
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "camgeom.cli", "project", str(tmp_path), "--out", str(out), "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Dask scheduler address" in proc.stderr and "tcp://HOST:PORT" in proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    assert not out.exists()
    assert time.monotonic() - start < 30


def test_a_script_without_a_main_guard_is_told_to_add_one(tmp_path: Path) -> None:
    """Workers import the main script: a job at its top level would start again in them."""
    make_dataset(tmp_path / "data", ids(4))
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import sys\n"
        "print('body', flush=True)\n"
        "from fakejob import WriteJob, sources_for, ids\n"
        "from camgeom.jobs import run_job\n"
        "from pathlib import Path\n"
        f"run_job(WriteJob(), sources_for(Path({str(tmp_path / 'data')!r}), ids(4)), "
        f"{str(tmp_path / 'out')!r}, root={str(tmp_path / 'data')!r}, workers=2, progress=False)\n"
    )
    here = Path(__file__).resolve().parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(here), str(here.parents[1])])}
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode != 0
    assert 'if __name__ == "__main__":' in proc.stderr
    assert "workers=1" in proc.stderr
    assert proc.stdout.count("body") <= 3  # the program, and each (re)started fork server

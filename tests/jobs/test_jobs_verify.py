"""verify through the job engine: isolation, the streamed report, resume, worker threads."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from fakejob import StateJob

import camgeom.datasets as ds
import camgeom.verification as verification
from camgeom.jobs import run_job
from camgeom.jobs.backends import configure_worker_threads, local_cores, worker_threads
from camgeom.jobs.verify import REPORT_NAME, VerifyJob, report_from_dict, run_verify
from camgeom.verification import DatasetReport, verify, verify_dataset


def test_worker_threads_split_the_cores() -> None:
    assert worker_threads(1, 8) == 8 and worker_threads(3, 8) == 2 and worker_threads(9, 8) == 1
    assert worker_threads(2) == max(1, local_cores() // 2)


def test_each_worker_process_caps_its_decode_and_numba_threads(tmp_path: Path) -> None:
    summary = run_job(StateJob(), [str(i) for i in range(6)], tmp_path, workers=2, progress=False)
    assert summary.exit_code == 0 and summary.backend == "processes"
    want = max(1, local_cores() // 2)
    seen = summary.totals["seen"]
    assert {s["pid"] for s in seen} - {os.getpid()}  # ran in worker processes
    assert all(s["decode"] == want for s in seen)
    for s in seen:
        if s["numba_loaded"]:  # imported before the cap (by the fork server): capped in place
            assert s["numba_threads"] == want
        else:  # imported after it, numba starts with at most that many threads
            assert s["numba_env"] == str(want)


def test_configure_worker_threads_sets_numba_when_loaded() -> None:
    import numba

    from camgeom.io import decode_threads, set_decode_threads

    before_env = {k: os.environ.get(k) for k in ("CAMGEOM_DECODE_THREADS", "NUMBA_NUM_THREADS")}
    before = numba.get_num_threads()
    try:
        configure_worker_threads(1)
        assert decode_threads() == 1 and numba.get_num_threads() == 1
    finally:
        numba.set_num_threads(before)
        set_decode_threads(None)
        for k, v in before_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_dask_workers_cap_their_threads(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        summary = run_job(
            StateJob(),
            [str(i) for i in range(4)],
            tmp_path,
            scheduler=cluster.scheduler_address,
            progress=False,
        )
    assert summary.exit_code == 0 and summary.backend == "dask"
    want = max(1, local_cores() // 2)  # two one-thread workers on this host
    assert all(s["decode"] == want for s in summary.totals["seen"])


# ----------------------------------------------------------------------------- verify


def test_a_plain_exception_in_one_frame_is_listed_and_the_rest_go_on(
    fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = ds.load(fixtures / "synthesisai" / "v1_2_faces")
    bad = data.frame_ids[0]

    def flaky(frame: Any, **kwargs: Any) -> Any:
        if frame.frame_id == bad:
            raise ZeroDivisionError("a bug in one check")
        return verify(frame, **kwargs)

    monkeypatch.setattr(verification, "verify", flaky)
    rep = verify_dataset(data, workers=1)
    assert [r.frame_id for r in rep.reports] == list(data.frame_ids[1:])
    assert rep.unreadable == ((bad, "ZeroDivisionError: a bug in one check"),)
    assert not rep.passed


@pytest.mark.parametrize("name", ["synthesisai/v1_faces", "datagen/faces_multicam"])
def test_streamed_report_equals_the_in_memory_one(fixtures: Path, name: str) -> None:
    data = ds.load(fixtures / name)
    reports = tuple(verify(f) for f in data)
    expected = DatasetReport(reports)
    with run_verify(data, workers=1, progress=False) as run:
        assert run.table() == str(expected)
        assert tuple(run.iter_reports()) == reports
        doc = json.loads(run.report_path.read_text())  # type: ignore[union-attr]
        assert run.exit_code == (0 if expected.passed else 1)
        out_dir = Path(run.summary.out_dir)
    assert doc == json.loads(expected.to_json())
    assert not out_dir.exists()  # the temporary folder is gone


def test_report_round_trips_through_its_dictionary(fixtures: Path) -> None:
    for frame in ds.load(fixtures / "datagen" / "faces_nn"):
        report = verify(frame)
        assert report_from_dict(json.loads(report.to_json())) == report


def test_out_keeps_a_manifest_and_a_rerun_checks_only_changed_frames(
    fixtures: Path, tmp_path: Path
) -> None:
    import shutil

    src = fixtures / "synthesisai" / "v1_2_faces"
    data_dir = tmp_path / "data"
    shutil.copytree(src, data_dir)
    out = tmp_path / "out"
    with run_verify(ds.load(data_dir), out, workers=1, progress=False) as first:
        assert first.summary.done == first.frames > 1 and first.passed
    report = (out / REPORT_NAME).read_text()
    with run_verify(ds.load(data_dir), out, workers=1, progress=False) as again:
        assert again.summary.done == 0 and again.summary.kept == again.frames
    assert (out / REPORT_NAME).read_text() == report
    with run_verify(ds.load(data_dir), out, strict=True, workers=1, progress=False) as strict:
        assert strict.summary.done == strict.frames  # another option: every frame again
    info = sorted(data_dir.glob("*.info.json"))[0]
    info.touch()
    os.utime(info, ns=(info.stat().st_atime_ns, info.stat().st_mtime_ns + 10**9))
    with run_verify(ds.load(data_dir), out, strict=True, workers=1, progress=False) as one:
        assert one.summary.done == 1 and one.summary.kept == one.frames - 1


def test_two_workers_give_the_one_worker_report(fixtures: Path) -> None:
    data = ds.load(fixtures / "datagen" / "faces_multicam")
    with run_verify(data, workers=1, progress=False) as one:
        inline = one.report_path.read_bytes()  # type: ignore[union-attr]
    with run_verify(data, workers=2, progress=False) as two:
        assert two.summary.backend == "processes"
        assert two.report_path.read_bytes() == inline  # type: ignore[union-attr]


def test_verify_job_options_shape_the_manifest() -> None:
    job = VerifyJob(strict=True, occlusion_threshold=0.2, use_depth=False)
    assert job.options == {"strict": True, "occlusion_threshold": 0.2, "use_depth": False}
    assert job.suffixes == ()
    with pytest.raises(ValueError, match="occlusion_threshold"):
        with run_verify([], occlusion_threshold=2.0):
            pass


def test_submitting_to_a_broken_pool_reports_a_lost_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    from concurrent.futures.process import BrokenProcessPool

    from camgeom.jobs.backends import ProcessBackend, WorkerLost

    class Broken:
        def submit(self, *args: Any) -> Any:
            raise BrokenProcessPool("a child process terminated abruptly")

    backend = ProcessBackend(StateJob(), 2)
    monkeypatch.setattr(backend, "_executor", lambda: Broken())
    future = backend.submit("/nowhere", [("0", "0", "0")])
    with pytest.raises(WorkerLost):
        backend.result(future)

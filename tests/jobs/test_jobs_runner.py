"""run_job in one process: resume, exact redo, isolation, users' files, arguments."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from fakejob import Src, WriteJob, ids, make_dataset

from camgeom.errors import CamgeomError, InvalidValueError
from camgeom.jobs import (
    FrameOutputs,
    Job,
    Manifest,
    ManifestError,
    OutputFolderError,
    OutputLockedError,
    frame_id_from_stem,
    is_shortened,
    output_stem,
    run_job,
)
from camgeom.jobs.commit import is_temp_name
from camgeom.jobs.manifest import MANIFEST_NAME


def tree(out: Path) -> dict[str, bytes]:
    """Every visible output (not the manifest) by relative path."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and ".camgeom" not in p.relative_to(out).parts
    }


def stamps(out: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime_ns) of every output: unchanged when a file was not rewritten."""
    return {
        p.relative_to(out).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in out.rglob("*")
        if p.is_file() and ".camgeom" not in p.relative_to(out).parts
    }


def run(job: Job, sources: Any, out: Path, **kwargs: Any) -> Any:
    kwargs.setdefault("workers", 1)
    kwargs.setdefault("progress", False)
    return run_job(job, sources, out, **kwargs)


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, list[Src]]:
    root = tmp_path / "data"
    return root, make_dataset(root, ids(12))


def test_first_run_writes_every_output_and_a_report(tmp_path: Path, data: Any) -> None:
    root, sources = data
    summary = run(WriteJob(), sources, tmp_path / "out", root=root)
    assert (summary.done, summary.kept, summary.failed, summary.exit_code) == (12, 0, 0, 0)
    assert summary.backend == "inline" and summary.workers == 1
    files = tree(tmp_path / "out")
    assert len(files) == 2 * 12 + 1
    assert files["sai.v2/0000.txt"] == b"v1:hello sai.v2/0000"
    assert files["a%20b/0001.txt"] == b"v1:hello a b/0001"
    assert files["a_b/0002.txt"] == b"v1:hello a_b/0002"
    report = json.loads(files["report.json"])
    assert [r["frame_id"] for r in report] == ids(12)
    assert summary.totals == {"chars": sum(len(f"hello {i}") for i in ids(12))}


def test_rerun_keeps_everything_and_rewrites_nothing(tmp_path: Path, data: Any) -> None:
    root, sources = data
    out = tmp_path / "out"
    run(WriteJob(), sources, out, root=root)
    before = stamps(out)
    summary = run(WriteJob(), sources, out, root=root)
    assert (summary.done, summary.kept, summary.failed) == (0, 12, 0)
    after = stamps(out)
    assert {k: v for k, v in after.items() if k != "report.json"} == {
        k: v for k, v in before.items() if k != "report.json"
    }
    # The report of a resumed run still covers every frame.
    assert len(json.loads((out / "report.json").read_text())) == 12
    assert summary.totals["chars"] > 0


def test_changed_option_redoes_exactly_the_frames_it_shapes(tmp_path: Path, data: Any) -> None:
    root, sources = data
    out = tmp_path / "out"
    run(WriteJob(), sources, out, root=root)
    before = stamps(out)
    # Only the frames under "a b/" get another tag.
    summary = run(WriteJob(tags=(("a b", "v2"),)), sources, out, root=root)
    affected = [s.frame_id for s in sources if s.frame_id.startswith("a b/")]
    assert (summary.done, summary.kept) == (len(affected), 12 - len(affected))
    after = stamps(out)
    changed = {k for k in after if after[k] != before.get(k)} - {"report.json"}
    assert changed == {output_stem(f) + s for f in affected for s in (".txt", ".meta.json")}
    assert tree(out)["a%20b/0001.txt"] == b"v2:hello a b/0001"
    # A global option shapes every frame.
    assert run(WriteJob(tag="v3"), sources, out, root=root).done == 12


def test_rerun_with_an_option_that_drops_an_output_removes_it(tmp_path: Path, data: Any) -> None:
    root, sources = data
    out = tmp_path / "out"
    run(WriteJob(), sources, out, root=root)
    summary = run(WriteJob(meta=False), sources, out, root=root)
    assert summary.done == 12
    assert not [k for k in tree(out) if k.endswith(".meta.json")]
    with Manifest.open(out) as m:
        assert not [p for p in m.owned_paths() if p.endswith(".meta.json")]


def test_changed_input_redoes_that_frame(tmp_path: Path, data: Any) -> None:
    root, sources = data
    out = tmp_path / "out"
    run(WriteJob(), sources, out, root=root)
    touched, grown = Path(sources[3].path), Path(sources[5].path)
    st = touched.stat()
    os.utime(touched, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    grown.write_text(grown.read_text() + "!")
    summary = run(WriteJob(), sources, out, root=root)
    assert (summary.done, summary.kept) == (2, 10)
    assert tree(out)[output_stem(sources[5].frame_id) + ".txt"].endswith(b"!")


def test_plain_exception_fails_only_its_frame_and_is_retried(tmp_path: Path, data: Any) -> None:
    root, sources = data
    out = tmp_path / "out"
    marker = tmp_path / "broken"
    marker.write_text("")
    sources = [replace(s, fail_if=str(marker)) if i in (2, 7) else s for i, s in enumerate(sources)]
    summary = run(WriteJob(), sources, out, root=root)
    assert (summary.done, summary.failed, summary.exit_code) == (10, 2, 1)
    assert {(f.frame_id, f.error_type, f.message) for f in summary.failures} == {
        (sources[2].frame_id, "ZeroDivisionError", "division by zero"),
        (sources[7].frame_id, "ZeroDivisionError", "division by zero"),
    }
    assert all(f.traceback is None for f in summary.failures)  # no traceback without debug
    report = {r["frame_id"]: r["state"] for r in json.loads((out / "report.json").read_text())}
    assert report[sources[2].frame_id] == "failed"
    marker.unlink()  # the cause goes away: the failed frames are retried, the rest kept
    summary = run(WriteJob(), sources, out, root=root)
    assert (summary.done, summary.kept, summary.failed, summary.exit_code) == (2, 10, 0, 0)


def test_debug_keeps_tracebacks(tmp_path: Path, data: Any) -> None:
    root, sources = data
    marker = tmp_path / "broken"
    marker.write_text("")
    sources = [replace(sources[0], fail_if=str(marker))]
    summary = run(WriteJob(), sources, tmp_path / "out", root=root, debug=True)
    (failure,) = summary.failures
    assert "ZeroDivisionError" in str(failure.traceback) and "fakejob.py" in str(failure.traceback)
    assert str(failure) == f"{sources[0].frame_id}: ZeroDivisionError: division by zero"


def test_users_file_is_kept_unless_overwrite(tmp_path: Path, data: Any) -> None:
    root, sources = data
    out = tmp_path / "out"
    mine = out / "sai.v2" / "0004.txt"
    mine.parent.mkdir(parents=True)
    mine.write_text("mine")
    summary = run(WriteJob(), sources, out, root=root)
    assert summary.failed == 1 and summary.failures[0].error_type == "OutputExistsError"
    assert "--overwrite" in summary.failures[0].message
    assert mine.read_text() == "mine"
    assert not (out / "sai.v2" / "0004.meta.json").exists()  # nothing half-committed
    summary = run(WriteJob(), sources, out, root=root, overwrite=True)
    assert (summary.done, summary.failed) == (12, 0)
    assert mine.read_text() == "v1:hello sai.v2/0004"
    assert run(WriteJob(), sources, out, root=root).kept == 12


def test_users_report_is_kept_unless_overwrite(tmp_path: Path, data: Any) -> None:
    root, sources = data
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text("mine")
    summary = run(WriteJob(), sources, out, root=root)
    assert (summary.done, summary.failed, summary.exit_code) == (12, 0, 1)
    assert summary.failures[0].frame_id == "" and "(job)" in str(summary.failures[0])
    assert (out / "report.json").read_text() == "mine"


def test_failing_reduce_is_reported(tmp_path: Path, data: Any) -> None:
    @dataclass(frozen=True)
    class BadReduce(WriteJob):
        def reduce(self, rows: Iterator[Any], out: Any) -> dict[str, Any]:
            raise KeyError("worst")

    root, sources = data
    summary = run(BadReduce(), sources, tmp_path / "out", root=root)
    assert summary.done == 12 and summary.exit_code == 1
    assert (summary.failures[0].frame_id, summary.failures[0].error_type) == ("", "KeyError")


def test_orphans_of_a_killed_run_are_removed(tmp_path: Path, data: Any) -> None:
    root, sources = data
    out = tmp_path / "out"
    run(WriteJob(), sources, out, root=root)
    orphan = out / "a_b" / ".0002.txt.tmp.0123456789ab.txt"
    orphan.write_text("half")
    with Manifest.open(out) as m:
        m.start_run("write", "x")  # a run that never finished
    summary = run(WriteJob(), sources, out, root=root)
    assert summary.kept == 12
    assert not orphan.exists()
    assert not [p for p in out.rglob("*") if is_temp_name(p.name)]


def test_second_concurrent_run_is_refused(tmp_path: Path, data: Any) -> None:
    from test_jobs_lock import hold_lock

    root, sources = data
    out = tmp_path / "out"
    out.mkdir()
    (out / ".camgeom").mkdir()
    proc = hold_lock(out)
    try:
        with pytest.raises(OutputLockedError, match=f"pid {proc.pid}"):
            run(WriteJob(), sources, out, root=root)
    finally:
        proc.kill()
        proc.wait()
    assert tree(out) == {}


def test_bad_frame_ids_fail_their_frame_only(tmp_path: Path, data: Any) -> None:
    root, sources = data
    bad = Src("a/../b", sources[0].path)
    summary = run(WriteJob(), [bad, *sources], tmp_path / "out", root=root)
    assert (summary.done, summary.failed) == (12, 1)
    assert summary.failures[0].error_type == "InvalidValueError"


def test_colliding_and_long_names_all_get_files(tmp_path: Path) -> None:
    root = tmp_path / "data"
    names = [f"sai.v2/{i}" for i in range(5)] + [f"a b/{i}" for i in range(5)]
    # Names a file system accepts, too long once a suffix is added (or once escaped).
    names += [f"a_b/{i}" for i in range(5)] + ["x" * 250, "x" * 249 + "y", "é" * 100]
    sources = make_dataset(root, names)
    out = tmp_path / "out"
    summary = run(WriteJob(meta=False, report=False), sources, out, root=root)
    assert summary.done == len(names)
    files = tree(out)
    assert len(files) == len(names)
    assert all(len(part.encode()) <= 255 for rel in files for part in rel.split("/"))
    with Manifest.open(out) as m:
        for name in names:
            stem = output_stem(name)
            back = m.frame_id_for_stem(stem) if is_shortened(stem) else frame_id_from_stem(stem)
            assert back == name


def test_warnings_are_collected(tmp_path: Path) -> None:
    root = tmp_path / "data"
    sources = make_dataset(root, ["w/0", "w/1"], text="please warn")
    sources += make_dataset(root, ["s/0"], text="")
    summary = run(WriteJob(), sources, tmp_path / "out", root=root)
    assert summary.failed == 0 and summary.warned == 2
    messages = {(w.frame_id, w.message) for w in summary.warnings}
    assert ("w/0", "UserWarning: input asks for a warning") in messages
    assert ("s/0", "short input") not in messages  # "hello s/0" is long enough
    assert len(summary.warnings) == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"workers": 0}, "workers"),
        ({"workers": True}, "workers"),
        ({"workers": "2"}, "workers"),
        ({"workers": 2, "scheduler": "tcp://127.0.0.1:1"}, "either"),
    ],
)
def test_bad_arguments_refused_before_any_frame(
    tmp_path: Path, data: Any, kwargs: dict[str, Any], match: str
) -> None:
    root, sources = data
    with pytest.raises(InvalidValueError, match=match):
        run_job(WriteJob(), sources, tmp_path / "out", root=root, progress=False, **kwargs)
    assert not (tmp_path / "out").exists()


@dataclass(frozen=True)
class Suffixed(Job):
    name = "suffixed"

    def run(self, item: Any, out: FrameOutputs) -> None:
        return None


@pytest.mark.parametrize(
    ("suffixes", "match"),
    [
        (("png",), "start with"),
        ((".a/b",), "separator"),
        ((".x" * 40,), "bytes"),
        ((".png", ".overlay.png"), "ends"),
        ((".png", ".png"), "ends"),
    ],
)
def test_bad_suffixes_refused(
    tmp_path: Path, suffixes: tuple[str, ...], match: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Suffixed, "suffixes", suffixes)
    with pytest.raises(InvalidValueError, match=match):
        run(Suffixed(), [], tmp_path / "out")


def test_jobs_whose_names_could_collide_cannot_share_a_folder(
    tmp_path: Path, data: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, sources = data
    out = tmp_path / "out"
    run(WriteJob(), sources, out, root=root)
    monkeypatch.setattr(Suffixed, "suffixes", (".json",))  # ".meta.json" ends with it
    with pytest.raises(InvalidValueError, match="could collide"):
        run(Suffixed(), sources, out, root=root)
    monkeypatch.setattr(Suffixed, "suffixes", (".overlay.png",))  # ends with ".png"
    with pytest.raises(InvalidValueError, match="could collide"):
        run(Suffixed(), sources, out, root=root)
    monkeypatch.setattr(Suffixed, "suffixes", (".cloud.npz",))
    assert run(Suffixed(), sources, out, root=root).done == 12


def test_output_folder_problems(tmp_path: Path, data: Any) -> None:
    root, sources = data
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputFolderError, match="is a file"):
        run(WriteJob(), sources, tmp_path / "file", root=root)


def test_damaged_manifest_needs_overwrite(tmp_path: Path, data: Any) -> None:
    root, sources = data
    out = tmp_path / "out"
    run(WriteJob(), sources, out, root=root)
    (out / ".camgeom" / MANIFEST_NAME).write_bytes(b"garbage" * 1000)
    with pytest.raises(ManifestError, match="--overwrite"):
        run(WriteJob(), sources, out, root=root)
    summary = run(WriteJob(), sources, out, root=root, overwrite=True)
    assert summary.done == 12


def test_missing_dask_is_a_clear_error(
    tmp_path: Path, data: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, sources = data
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    with pytest.raises(CamgeomError, match=r'pip install "camgeom\[dask\]"'):
        run_job(WriteJob(), sources, tmp_path / "out", scheduler="tcp://127.0.0.1:1")


def test_scheduler_from_environment_unless_workers_given(
    tmp_path: Path, data: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, sources = data
    monkeypatch.setitem(sys.modules, "distributed", None)
    monkeypatch.setenv("CAMGEOM_DASK_SCHEDULER", "tcp://127.0.0.1:1")
    with pytest.raises(CamgeomError, match="dask"):
        run_job(WriteJob(), sources, tmp_path / "out", progress=False)
    assert run(WriteJob(), sources, tmp_path / "out", root=root, workers=1).done == 12


def test_job_options_must_be_json(tmp_path: Path) -> None:
    @dataclass(frozen=True)
    class Opaque(WriteJob):
        @property
        def options(self) -> dict[str, Any]:
            return {"callback": print}

    with pytest.raises(InvalidValueError, match="JSON"):
        run(Opaque(), [], tmp_path / "out")


class Listing:
    """A dataset-like collection: sized, iterable, with a root."""

    def __init__(self, root: Path, sources: list[Src]) -> None:
        self.root = root
        self._sources = sources

    def __len__(self) -> int:
        return len(self._sources)

    def __iter__(self) -> Iterator[Src]:
        return iter(self._sources)


def test_progress_bar_and_inputs_relative_to_the_dataset_root(
    tmp_path: Path, data: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    root, sources = data
    out = tmp_path / "out"
    summary = run_job(WriteJob(), Listing(root, sources), out, workers=1, progress=True)
    assert summary.frames == 12
    err = capsys.readouterr().err
    assert "write:" in err and "/12 " in err  # a bar named after the job, over 12 frames
    with Manifest.open(out) as m:
        row = m.get("write", "sai.v2/0000")
        assert row is not None
        ((path, size, mtime),) = json.loads(row.inputs)
        assert path == "sai.v2/0000.in" and size == len("hello sai.v2/0000") and mtime > 0


def test_task_size_follows_frame_times_and_ignores_a_workers_slow_first_frame():
    from types import SimpleNamespace

    from camgeom.jobs.backends import TaskOutcome
    from camgeom.jobs.runner import _Run

    backend = SimpleNamespace(name="processes", task_seconds=0.05, max_task_frames=64)
    run = SimpleNamespace(backend=backend, frame_seconds=None)
    run.chunk_size = 1

    def task(*seconds):
        _Run._adapt(run, [TaskOutcome((), "{}", (), None, s) for s in seconds])
        return run.chunk_size

    assert task(1.5) == 1  # a new worker: imports and kernels in its first frame
    assert task(0.002) == 25  # 50 ms of work per task
    assert task(0.002, 0.002, 2.0) == 25  # the median: one slow frame among fast ones
    assert 10 <= task(2.0) < 25  # a lone slow task moves the size a little
    for _ in range(12):
        size = task(0.02)  # frames really became slower: the size follows
    assert size == 2


def test_tasks_shrink_near_the_end_so_the_workers_finish_together():
    from types import SimpleNamespace

    from camgeom.jobs.runner import _Run

    run = SimpleNamespace(backend=SimpleNamespace(workers=2), chunk_size=100, chunk=[])
    sizes = []
    seq = 0
    while seq < 1000:  # gather tasks as the main loop does
        run.chunk.append(seq)
        if len(run.chunk) >= _Run._task_size(run, 1000, seq):
            sizes.append(len(run.chunk))
            run.chunk = []
        seq += 1
    assert sum(sizes) == 1000
    # far from the end the time-based size, then ceil(left / 4): 1000 - 700 = 300 -> 75 ...
    assert sizes == [100] * 7 + [75, 57, 42, 32, 24, 18, 13, 10, 8, 6, 4, 3, 2, 2, 1, 1, 1, 1]
    one = SimpleNamespace(backend=SimpleNamespace(workers=1), chunk_size=100, chunk=[])
    assert _Run._task_size(one, 1000, 998) == 100  # one worker: nothing to balance
    assert _Run._task_size(run, None, 998) == 100  # unknown total


def test_frame_result_payload_converts_numpy_paths_sets_and_non_finite(tmp_path):
    import math
    from dataclasses import dataclass
    from pathlib import Path

    import numpy as np

    from camgeom.jobs import FrameResult, Job
    from camgeom.jobs.backends import run_frame
    from camgeom.jobs.manifest import FrameRow

    @dataclass(frozen=True)
    class Payload(Job):
        name = "payload"
        suffixes = (".txt",)

        def run(self, item, out):
            data = {
                "array": np.arange(6.0).reshape(2, 3),
                "strided": np.arange(6)[::2],
                "scalars": [np.float32(0.5), np.int64(7), np.bool_(True)],
                "path": Path("a") / "b.png",
                "set": {"b", "a"},
                "ints": {3: "three"},
                "bad": [math.nan, math.inf, -math.inf, 1e308],
            }
            return FrameResult(data)

    outcome = run_frame(Payload(), "x", str(tmp_path), "x", "x")
    assert outcome.error is None, outcome.error
    row = FrameRow("payload", "x", "x", "", "[]", result=outcome.result)
    assert row.data == {
        "array": [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]],
        "strided": [0, 2, 4],
        "scalars": [0.5, 7, True],
        "path": "a/b.png",
        "set": ["a", "b"],
        "ints": {"3": "three"},
        "bad": [None, None, None, 1e308],
    }
    legacy = FrameRow("payload", "x", "x", "", "[]", result='{"v": [NaN, Infinity, 1]}')
    assert math.isnan(legacy.data["v"][0]) and legacy.data["v"][1:] == [math.inf, 1]


@pytest.mark.parametrize("workers", [1, 2])
def test_fresh_run_fingerprints_in_the_workers_exactly_as_a_rerun_does(
    tmp_path: Path, data: Any, workers: int
) -> None:
    from camgeom.jobs import fingerprint

    root, sources = data
    out = tmp_path / "out"
    assert run(WriteJob(), sources, out, root=root, workers=workers).done == 12
    with Manifest.open(out) as m:
        for src in sources:
            row = m.get("write", src.frame_id)
            assert row is not None
            assert row.inputs == fingerprint([src.path], root=os.fspath(root))
    again = run(WriteJob(), sources, out, root=root)
    assert again.kept == 12 and again.done == 0
    # one changed input is redone: the fingerprints taken by the workers are compared
    Path(sources[3].path).write_text("changed input", encoding="utf-8")
    third = run(WriteJob(), sources, out, root=root)
    assert third.done == 1 and third.kept == 11


@dataclass(frozen=True)
class _BadInputs(WriteJob):
    def inputs(self, item: Src) -> list[str]:
        if item.frame_id.endswith("3"):
            raise KeyError("no input list")
        return super().inputs(item)


def test_a_frame_whose_inputs_cannot_be_listed_fails_alone_and_is_retried(
    tmp_path: Path, data: Any
) -> None:
    root, sources = data
    out = tmp_path / "out"
    first = run(_BadInputs(), sources, out, root=root)  # fresh: listed in the worker
    failed = [f.frame_id for f in first.failures]
    assert failed == [s.frame_id for s in sources if s.frame_id.endswith("3")]
    assert first.done == 12 - len(failed) and len(failed) == 1
    assert {f.error_type for f in first.failures} == {"KeyError"}
    second = run(_BadInputs(), sources, out, root=root)  # not fresh: listed in this process
    assert second.kept == first.done and second.failed == first.failed
    assert {f.error_type for f in second.failures} == {"KeyError"}

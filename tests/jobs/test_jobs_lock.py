"""The run lock: one run per output folder, released when its process dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from camgeom.errors import CamgeomError
from camgeom.jobs import OutputFolderError, OutputLockedError, RunLock
from camgeom.jobs.lock import prepare_output_dir

ROOT = Path(__file__).resolve().parents[2]

HOLDER = """
import sys, time
from camgeom.jobs import RunLock
lock = RunLock(sys.argv[1]).acquire()
print("locked", flush=True)
time.sleep(60)
"""


def hold_lock(out: Path) -> subprocess.Popen[str]:
    """Start a process that takes the lock of ``out`` and keeps it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_lock_in_same_process_refused(tmp_path: Path) -> None:
    out = prepare_output_dir(tmp_path / "out")
    with RunLock(out) as lock:
        assert lock.held
        with pytest.raises(OutputLockedError, match=f"pid {os.getpid()}"):
            RunLock(out).acquire()
    assert not lock.held
    with RunLock(out):  # free again
        pass


def test_lock_held_by_other_process_refused_then_freed_by_kill(tmp_path: Path) -> None:
    out = prepare_output_dir(tmp_path / "out")
    proc = hold_lock(out)
    try:
        with pytest.raises(OutputLockedError) as info:
            RunLock(out).acquire()
        message = str(info.value)
        assert f"pid {proc.pid}" in message
        assert "another camgeom run" in message and "choose another output folder" in message
        assert isinstance(info.value, CamgeomError)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with RunLock(out):  # the operating system released it with the process
        pass


def test_out_dir_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_text("x")
    with pytest.raises(OutputFolderError, match="is a file"):
        prepare_output_dir(target)
    with pytest.raises(OutputFolderError, match="a part of its path is a file"):
        prepare_output_dir(target / "sub")


def test_read_only_parent_as_root_or_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Same error path whoever runs the tests: mkdir refused with EACCES.
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(OutputFolderError, match="Permission denied"):
        prepare_output_dir(tmp_path / "out")

"""One run at a time per output folder: a lock file held by the operating system.

``<out>/.camgeom/lock`` is locked with ``flock`` (``msvcrt.locking`` on Windows)
for the whole run. The operating system releases the lock when the process
ends, even by ``kill -9``, so a stale lock cannot outlive its run. The file
also holds the pid, host and start time of the run, for the message a second
run gets.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from types import TracebackType

from camgeom.errors import OutputFolderError, OutputLockedError

__all__ = ["STATE_DIR", "OutputFolderError", "OutputLockedError", "RunLock", "prepare_output_dir"]

#: Folder (inside the output folder) holding the manifest and the lock.
STATE_DIR = ".camgeom"

try:  # pragma: no cover - platform switch
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt


def prepare_output_dir(out_dir: str | os.PathLike[str]) -> Path:
    """Create ``out_dir`` and its ``.camgeom`` folder; return ``out_dir`` as an absolute path.

    Raises
    ------
    OutputFolderError
        ``out_dir`` (or a parent) is a file, or the folders cannot be created.

    Examples
    --------
    >>> import tempfile
    >>> out = prepare_output_dir(Path(tempfile.mkdtemp()) / "a" / "b")
    >>> (out / STATE_DIR).is_dir()
    True
    """
    out = Path(out_dir).absolute()
    if out.exists() and not out.is_dir():
        raise OutputFolderError(f"Output folder {out} is a file; pass a folder for the outputs.")
    try:
        (out / STATE_DIR).mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise OutputFolderError(
            f"Cannot create output folder {out}: a part of its path is a file."
        ) from None
    except OSError as exc:
        raise OutputFolderError(
            f"Cannot create output folder {out}: {exc.strerror or exc}. "
            "Choose a folder you can write to."
        ) from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise OutputFolderError(
            f"Output folder {out} is not writable. Choose a folder you can write to."
        )
    return out


class RunLock:
    """Exclusive lock of an output folder for one run.

    Parameters
    ----------
    out_dir : str or os.PathLike
        The output folder (its ``.camgeom`` folder must exist, see
        :func:`prepare_output_dir`).

    Examples
    --------
    >>> import tempfile
    >>> out = prepare_output_dir(tempfile.mkdtemp())
    >>> with RunLock(out):
    ...     RunLock(out).acquire()
    Traceback (most recent call last):
    ...
    camgeom.errors.OutputLockedError: Output folder ... is in use by another camgeom run ...
    """

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / STATE_DIR / "lock"
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock or raise :class:`OutputLockedError` at once (never waits)."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputFolderError(
                f"Cannot create the lock file {self.path}: {exc.strerror or exc}."
            ) from None
        try:
            _lock(fd)
        except OSError:
            holder = _read_holder(fd)
            os.close(fd)
            raise OutputLockedError(
                f"Output folder {self.out_dir} is in use by another camgeom run ({holder}). "
                "Wait for it to finish or choose another output folder; the lock is "
                "released as soon as that process ends."
            ) from None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S%z"),
        }
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(info).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        """Release the lock (also released by the operating system at exit)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
            _unlock(fd)
        finally:
            os.close(fd)

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _lock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    else:  # pragma: no cover - Windows
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)


def _unlock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
    else:  # pragma: no cover - Windows
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def _read_holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        raw = os.read(fd, 4096)
        info = json.loads(raw.decode() or "{}")
        return f"pid {info['pid']} on host {info['host']}, started {info['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "its details are not written yet"

"""Write files atomically: a temporary file in the same folder, renamed on success.

A reader never sees a half-written output, and a failure (an exception, a
killed process between writes) never leaves a truncated file under the final
name. The rename is atomic because the temporary file lives in the same folder
(hence on the same file system) as the target.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from camgeom.errors import OutputExistsError

__all__ = ["atomic_output", "refuse_existing"]


@contextmanager
def atomic_output(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    The temporary file is named ``.<stem>.<random>.tmp<suffix>`` so that writers
    which choose a format from the extension (``.ply``, ``.png``) still see it.
    It is not created in advance: the body of the ``with`` block writes it.
    When the block raises, the temporary file is removed and the exception
    propagates; the target is untouched.

    Parameters
    ----------
    path : str or os.PathLike
        Final output path. Its folder must exist.
    overwrite : bool, keyword-only
        Replace an existing ``path``. Without it an existing file is kept and
        :class:`~camgeom.errors.OutputExistsError` is raised, both before the
        block runs and, should another process create the file meanwhile, at
        the final rename.

    Yields
    ------
    pathlib.Path
        The temporary path to write to.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is false.
    FileNotFoundError
        The folder of ``path`` does not exist, or the block wrote nothing.

    Notes
    -----
    Atomic against crashes of the writing process; the data are not forced to
    disk (no ``fsync``), so a power loss right after the rename may still lose
    them.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> with atomic_output(folder / "note.txt") as tmp:
    ...     _ = tmp.write_text("done")
    >>> (folder / "note.txt").read_text()
    'done'
    >>> sorted(p.name for p in folder.iterdir())
    ['note.txt']
    """
    target = Path(path)
    refuse_existing(target, overwrite=overwrite)
    folder = target.parent
    if not folder.is_dir():
        raise FileNotFoundError(
            errno.ENOENT, f"Output folder {folder} does not exist; create it first", str(folder)
        )
    tmp = folder / f".{target.stem}.{secrets.token_hex(6)}.tmp{target.suffix}"
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(
                errno.ENOENT, f"Nothing was written to the temporary file for {target}", str(tmp)
            )
        if overwrite:
            os.replace(tmp, target)
        else:
            _rename_no_clobber(tmp, target)
    finally:
        # On success the temporary file is gone already; this only cleans up failures.
        tmp.unlink(missing_ok=True)


def refuse_existing(path: Path, *, overwrite: bool) -> None:
    """Raise :class:`~camgeom.errors.OutputExistsError` if ``path`` exists and ``overwrite`` is false."""
    if not overwrite and path.exists():
        raise OutputExistsError(
            f"Output file {path} already exists; pass overwrite=True to replace it "
            "or choose another path."
        )


def _rename_no_clobber(tmp: Path, target: Path) -> None:
    """Move ``tmp`` to ``target`` unless ``target`` exists (atomic where hard links work)."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise OutputExistsError(
            f"Output file {target} was created by someone else while it was being written; "
            "pass overwrite=True to replace it or choose another path."
        ) from None
    except OSError:
        # File systems without hard links: check, then rename (a small race remains).
        if target.exists():
            raise OutputExistsError(
                f"Output file {target} was created by someone else while it was being "
                "written; pass overwrite=True to replace it or choose another path."
            ) from None
        os.replace(tmp, target)
    else:
        tmp.unlink()

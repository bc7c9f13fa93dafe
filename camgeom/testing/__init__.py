"""Write copies of vendor frames with one known camera-metadata mistake.

:func:`inject` measures how sensitive :func:`camgeom.verification.verify` is:
it copies one frame's files and applies one kind of mistake from the
vocabulary :data:`KINDS` in the vendor's own file format (Synthesis AI
``info.json`` and ``metadata.jsonl``, Datagen ``camera_metadata.json``, key
point files and ``depth.exr``). The originals are only read. Kinds a frame's
files cannot express raise :class:`NotExpressibleError` saying why (see
``docs/verification.md`` for the table).

Examples
--------
>>> import camgeom, tempfile
>>> from pathlib import Path
>>> from camgeom.demo import make_demo_dataset
>>> from camgeom.verification import verify
>>> tmp = Path(tempfile.mkdtemp())
>>> demo = make_demo_dataset(tmp / "demo")
>>> copy = inject(camgeom.load(demo.datagen)[0], "pixel_row_col", tmp / "bad")
>>> verify(camgeom.load(copy)[0]).passed
False
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from camgeom.errors import OutputExistsError
from camgeom.testing._edits import EDITABLE_VENDORS, check_kind, copy_frame, edit_copy
from camgeom.testing.kinds import DESCRIPTIONS, KINDS, NotExpressibleError

if TYPE_CHECKING:
    from camgeom.datasets import Frame

__all__ = ["DESCRIPTIONS", "EDITABLE_VENDORS", "KINDS", "NotExpressibleError", "inject"]


def inject(frame: Frame, kind: str, out_dir: str | os.PathLike[str]) -> Path:
    """Copy one frame's files into ``out_dir`` with one kind of mistake applied.

    Parameters
    ----------
    frame : Frame
        A Synthesis AI or Datagen frame from :func:`camgeom.load`.
    kind : str
        One of :data:`KINDS` (:data:`DESCRIPTIONS` says what each does).
    out_dir : str or os.PathLike
        A new or empty folder; ``camgeom.load(out_dir)`` reads the copy as a
        one-frame dataset with the same frame id.

    Returns
    -------
    Path
        ``out_dir``.

    Raises
    ------
    NotExpressibleError
        The frame's files cannot express ``kind`` (square pixels for
        ``fx_fy_swapped``, no quaternion for ``quaternion_order``, no depth map,
        ...); nothing is left in ``out_dir``.
    InvalidValueError
        ``kind`` is not in :data:`KINDS`.
    OutputExistsError
        ``out_dir`` exists and is not an empty folder.
    """
    check_kind(kind)
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputExistsError(f"{out} exists and is not an empty folder")
    created = not out.exists()
    try:
        frame_dir = copy_frame(frame, out)
        edit_copy(frame, frame_dir, kind)
    except Exception:
        import shutil

        if created:
            shutil.rmtree(out, ignore_errors=True)
        else:
            for p in out.iterdir():
                shutil.rmtree(p) if p.is_dir() else p.unlink()
        raise
    return out

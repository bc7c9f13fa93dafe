"""The ``project`` dataset job: landmark overlays and (u, v) tables per frame.

For every frame, :func:`project_dataset` writes ``<stem>.overlay.png`` (vendor
labels against camgeom's projection), ``<stem>.landmarks.csv`` and
``<stem>.landmarks.json``, where ``<stem>`` is the frame's output stem
(:func:`camgeom.jobs.output_stem`). A rerun redoes only the frames whose input
files or landmark groups changed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from camgeom.errors import CamgeomError, InvalidValueError
from camgeom.jobs.commit import FrameOutputs
from camgeom.jobs.job import FrameResult, Job, JobSummary
from camgeom.jobs.runner import run_job

if TYPE_CHECKING:
    from camgeom.datasets import Dataset, Frame
    from camgeom.datasets.frame import FrameSource

__all__ = ["LANDMARK_FIELDS", "ProjectJob", "landmark_rows", "project_dataset", "source_inputs"]

#: Columns of ``<stem>.landmarks.csv``.
LANDMARK_FIELDS = (
    "group",
    "name",
    "u",
    "v",
    "depth_z",
    "in_image",
    "visible",
    "label_u",
    "label_v",
)

_PIXEL_CONVENTION = "camgeom: (u, v) = (column, row), pixel centres at +0.5"
# zlib level 1: overlays encode several times faster than at level 6, 5-20% larger
_PNG_COMPRESS_LEVEL = 1


def source_inputs(source: FrameSource) -> list[str]:
    """The input files of a frame source, without parsing it.

    The frame's main file; for a frame stored as a folder (a Datagen camera),
    every file directly in it. Hidden files are left out.
    """
    path = Path(source.path)
    if path.is_dir():
        return sorted(
            os.path.join(path, e.name)
            for e in os.scandir(path)
            if e.is_file() and not e.name.startswith(".")
        )
    return [os.fspath(path)]


def _column(values: np.ndarray) -> list[Any]:
    """``values`` as Python numbers, non-finite ones as ``None``."""
    out: list[Any] = values.tolist()
    finite = np.isfinite(values)
    if not finite.all():
        out = [v if ok else None for v, ok in zip(out, finite.tolist(), strict=True)]
    return out


def landmark_rows(frame: Frame, groups: Sequence[str] | None) -> list[dict[str, Any]]:
    """One row per landmark of ``frame`` (optionally only ``groups``): projection and label.

    Returns
    -------
    list of dict
        Keys :data:`LANDMARK_FIELDS`; non-finite numbers are ``None``.
    """
    cam = frame.camera
    rows: list[dict[str, Any]] = []
    for g in frame.landmarks:
        if groups and g not in groups:
            continue
        lm = frame.landmarks[g]
        n = len(lm)
        if cam is not None and lm.world is not None:
            uv, z = cam.project(lm.world)
            inside = cam.in_image(uv)
        else:
            uv = np.full((n, 2), np.nan)
            z = np.full(n, np.nan)
            inside = np.zeros(n, bool)
        label = lm.pixels if lm.pixels is not None else np.full((n, 2), np.nan)
        visible = [None] * n if lm.visible is None else np.asarray(lm.visible, bool).tolist()
        columns = zip(
            [g] * n,
            lm.names,
            _column(uv[:, 0]),
            _column(uv[:, 1]),
            _column(np.asarray(z, float)),
            np.asarray(inside, bool).tolist(),
            visible,
            _column(np.asarray(label[:, 0], float)),
            _column(np.asarray(label[:, 1], float)),
            strict=True,
        )
        rows += [dict(zip(LANDMARK_FIELDS, values, strict=True)) for values in columns]
    return rows


_NUMBER_FIELDS = frozenset({"u", "v", "depth_z", "label_u", "label_v"})
_CSV_SPECIAL = re.compile(r'[,"\r\n]')


def _csv_field(value: Any) -> str:
    """A text or flag cell as :mod:`csv` writes it (``None`` empty, quoted when needed)."""
    if value is None:
        return ""
    text = str(value)
    if _CSV_SPECIAL.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_text(rows: Sequence[Mapping[str, Any]]) -> str:
    """``<stem>.landmarks.csv``: the header and one line per row.

    The cells are those :class:`csv.writer` writes, except that numbers are
    formatted by orjson (shortest round-trip text, as the JSON file; ``1e-05``
    reads ``0.00001``), many times faster than ``repr`` cell by cell.
    """
    columns: list[list[str]] = []
    for field in LANDMARK_FIELDS:
        values = [r[field] for r in rows]
        if field in _NUMBER_FIELDS and values:
            cells = orjson.dumps(values)[1:-1].decode("ascii").split(",")
            columns.append(["" if c == "null" else c for c in cells])
        else:
            columns.append([_csv_field(v) for v in values])
    lines = [",".join(LANDMARK_FIELDS)] + [",".join(cells) for cells in zip(*columns, strict=True)]
    return "\n".join(lines) + "\n"


def _frame_image(frame: Frame) -> tuple[np.ndarray, str | None]:
    """The frame's RGB image, or a black one and the reason it was not used."""
    reason = None
    if frame.image_path is not None:
        try:
            return frame.read_image(), None
        except (CamgeomError, OSError, ValueError) as exc:
            reason = f"RGB image unreadable ({exc}): overlay drawn on black"
    else:
        reason = "no RGB image: overlay drawn on black"
    w = frame.camera.width if frame.camera is not None else 512
    h = frame.camera.height if frame.camera is not None else 512
    return np.zeros((h, w, 3), np.uint8), reason


@dataclass(frozen=True)
class ProjectJob(Job):
    """Project each frame's 3D landmarks; see :func:`project_dataset`.

    Parameters
    ----------
    groups : tuple of str, optional
        Landmark groups to keep (default: all).
    """

    groups: tuple[str, ...] | None = None

    name = "project"
    suffixes = (".overlay.png", ".landmarks.csv", ".landmarks.json")

    @property
    def options(self) -> Mapping[str, Any]:
        return {"groups": None if self.groups is None else list(self.groups)}

    def inputs(self, item: FrameSource) -> Sequence[str]:
        return source_inputs(item)

    def run(self, item: FrameSource, out: FrameOutputs) -> FrameResult:
        from PIL import Image

        from camgeom.drawing import draw_landmarks_comparison

        frame = item.read()
        groups = self.groups
        if groups and not any(g in frame.landmarks for g in groups):
            raise InvalidValueError(
                f"None of the landmark groups {list(groups)} is in this frame; it has: "
                f"{', '.join(frame.landmarks) or 'none'}."
            )
        rows = landmark_rows(frame, groups)
        table = _csv_text(rows)
        doc = {
            "frame_id": frame.frame_id,
            "vendor": frame.vendor,
            "pixel_convention": _PIXEL_CONVENTION,
            "landmarks": rows,
        }
        image, reason = _frame_image(frame)
        # None -> NaN: columns u, v, label_u, label_v
        points = np.array(
            [(r["u"], r["v"], r["label_u"], r["label_v"]) for r in rows], dtype=float
        ).reshape(-1, 4)
        vis = np.array([r["visible"] is not False for r in rows], bool)
        overlay = draw_landmarks_comparison(image, points[:, 2:], points[:, :2], visible=vis)
        out.path(".landmarks.csv").write_text(table, encoding="utf-8")
        out.path(".landmarks.json").write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
        Image.fromarray(overlay).save(
            out.path(".overlay.png"), format="PNG", compress_level=_PNG_COMPRESS_LEVEL
        )
        return FrameResult({"landmarks": len(rows)}, warnings=(reason,) if reason else ())


def project_dataset(
    dataset: Dataset,
    out: str | os.PathLike[str],
    *,
    groups: Sequence[str] | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    overwrite: bool = False,
    progress: bool = True,
    debug: bool = False,
) -> JobSummary:
    """Project every frame's 3D landmarks into its image; write overlays and tables.

    Parameters
    ----------
    dataset : Dataset
        From :func:`camgeom.load`.
    out : str or os.PathLike
        Output folder (created). Per frame: ``<stem>.overlay.png``,
        ``<stem>.landmarks.csv`` (columns :data:`LANDMARK_FIELDS`) and
        ``<stem>.landmarks.json``.
    groups : sequence of str, keyword-only, optional
        Landmark groups to keep (default: all). A frame with none of them fails.
    workers, scheduler, overwrite, progress, debug
        As in :func:`camgeom.jobs.run_job`.

    Returns
    -------
    JobSummary
        Frames without a readable RGB image are drawn on black and listed as warnings.

    Examples
    --------
    >>> import tempfile, camgeom
    >>> from camgeom.demo import make_demo_dataset
    >>> paths = make_demo_dataset(tempfile.mkdtemp() + "/demo")
    >>> s = project_dataset(camgeom.load(paths.datagen), tempfile.mkdtemp(), workers=1, progress=False)
    >>> s.exit_code, s.done > 0
    (0, True)
    """
    job = ProjectJob(None if not groups else tuple(groups))
    return run_job(
        job,
        dataset.sources,
        out,
        root=dataset.root,
        workers=workers,
        scheduler=scheduler,
        overwrite=overwrite,
        progress=progress,
        debug=debug,
    )

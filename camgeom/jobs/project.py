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

__all__ = [
    "LANDMARK_FIELDS",
    "ProjectJob",
    "landmark_rows",
    "project_dataset",
    "require_groups",
    "source_inputs",
]

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


def require_groups(frame: Frame, groups: Sequence[str] | None) -> None:
    """Raise :class:`InvalidValueError` when ``groups`` names none of the frame's groups.

    A group filter that matches nothing is a typo (``IBUG68``), not a request for
    empty outputs; the message lists the groups the frame has.
    """
    if groups and not any(g in frame.landmarks for g in groups):
        raise InvalidValueError(
            f"None of the landmark groups {list(groups)} is in this frame; it has: "
            f"{', '.join(frame.landmarks) or 'none'}."
        )


def source_inputs(source: FrameSource) -> list[str]:
    """The input files of a frame source, without parsing it (:meth:`FrameSource.input_files`)."""
    return source.input_files()


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
    columns, _ = _landmark_columns(frame, groups)
    return [
        dict(zip(LANDMARK_FIELDS, values, strict=True))
        for values in zip(*columns.values(), strict=True)
    ]


def _landmark_columns(
    frame: Frame, groups: Sequence[str] | None
) -> tuple[dict[str, list[Any]], np.ndarray]:
    """The columns :data:`LANDMARK_FIELDS` of :func:`landmark_rows`, and ``(u, v, label u, v)``.

    Every group is projected in one call (one validation of the camera).
    """
    cam = frame.camera
    names = [g for g in frame.landmarks if not groups or g in groups]
    lms = [frame.landmarks[g] for g in names]
    sizes = [len(lm) for lm in lms]
    n = sum(sizes)
    uvz = np.full((n, 3), np.nan)
    label = np.full((n, 2), np.nan)
    inside = np.zeros(n, bool)
    visible: list[Any] = []
    start = 0
    with_world = []
    for lm, size in zip(lms, sizes, strict=True):
        if cam is not None and lm.world is not None:
            with_world.append((start, lm.world))
        if lm.pixels is not None:
            label[start : start + size] = lm.pixels
        visible += [None] * size if lm.visible is None else np.asarray(lm.visible, bool).tolist()
        start += size
    if with_world and cam is not None:
        world = np.concatenate([w for _, w in with_world]).reshape(-1, 3)
        uv, z = cam.project(world)
        rows = np.concatenate([np.arange(s, s + len(w)) for s, w in with_world]).astype(np.int64)
        uvz[rows, :2] = uv
        uvz[rows, 2] = z
        inside[rows] = cam.in_image(uv)
    columns: dict[str, list[Any]] = {
        "group": [g for g, size in zip(names, sizes, strict=True) for _ in range(size)],
        "name": [name for lm in lms for name in lm.names],
        "u": _column(uvz[:, 0]),
        "v": _column(uvz[:, 1]),
        "depth_z": _column(uvz[:, 2]),
        "in_image": inside.tolist(),
        "visible": visible,
        "label_u": _column(label[:, 0]),
        "label_v": _column(label[:, 1]),
    }
    return columns, np.concatenate([uvz[:, :2], label], axis=1)


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


_FLAG_CELLS = {True: "True", False: "False", None: ""}


def _text_cells(values: list[Any]) -> list[str]:
    """Cells of a text or flag column (one check of the whole column for special characters)."""
    try:
        if not _CSV_SPECIAL.search("".join(values)):
            return values  # all text, nothing to quote
    except TypeError:  # not all text: flags, or mixed
        try:
            return [_FLAG_CELLS[v] for v in values]
        except (KeyError, TypeError):
            pass
    return [_csv_field(v) for v in values]


def _csv_text(rows: Sequence[Mapping[str, Any]]) -> str:
    """``<stem>.landmarks.csv``: the header and one line per row."""
    return _csv_from_columns({f: [r[f] for r in rows] for f in LANDMARK_FIELDS})


def _number_cells(columns: Mapping[str, list[Any]]) -> dict[str, list[str]]:
    """The JSON text of each number column (:data:`_NUMBER_FIELDS`): the CSV and JSON share it."""
    return {field: _json_cells(columns[field]) for field in _NUMBER_FIELDS}


def _csv_from_columns(
    columns: Mapping[str, list[Any]], numbers: Mapping[str, list[str]] | None = None
) -> str:
    """``<stem>.landmarks.csv`` from the columns :data:`LANDMARK_FIELDS`.

    The cells are those :class:`csv.writer` writes, except that numbers are
    formatted by orjson (shortest round-trip text, as the JSON file; ``1e-05``
    reads ``0.00001``), many times faster than ``repr`` cell by cell.
    ``numbers`` is :func:`_number_cells` of ``columns``, when already made.
    """
    numbers = _number_cells(columns) if numbers is None else numbers
    cells: list[list[str]] = []
    for field in LANDMARK_FIELDS:
        if field in _NUMBER_FIELDS:
            cells.append(["" if c == "null" else c for c in numbers[field]])
        else:
            cells.append(_text_cells(columns[field]))
    lines = [",".join(LANDMARK_FIELDS)] + [",".join(row) for row in zip(*cells, strict=True)]
    return "\n".join(lines) + "\n"


# Text that JSON writes unchanged between quotes: printable ASCII but '"' and '\\'.
_JSON_PLAIN = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")


def _json_cells(values: list[Any]) -> list[str]:
    """Each value of a column as JSON text (numbers, null and booleans split from one dump)."""
    if values and type(values[0]) is not str:
        text = orjson.dumps(values)
        if b'"' not in text:  # no text: split at the commas (numbers hold none)
            return text[1:-1].decode("ascii").split(",")
    try:
        joined = "".join(values)
    except TypeError:  # text and other values mixed
        pass
    else:
        if _JSON_PLAIN.fullmatch(joined):
            return ['"' + v + '"' for v in values]
    return [orjson.dumps(v).decode("utf-8") for v in values]


def _landmarks_json(
    head: Mapping[str, Any],
    columns: Mapping[str, list[Any]],
    numbers: Mapping[str, list[str]] | None = None,
) -> bytes:
    """``orjson.dumps({**head, "landmarks": rows}, option=OPT_INDENT_2)`` built from the columns.

    The same bytes, without making one dict per landmark. ``numbers`` is
    :func:`_number_cells` of ``columns``, when already made.
    """
    top = orjson.dumps({**head, "landmarks": []}, option=orjson.OPT_INDENT_2)
    if not columns[LANDMARK_FIELDS[0]]:
        return top
    template = (
        "    {\n" + ",\n".join(f'      "{field}": %s' for field in LANDMARK_FIELDS) + "\n    }"
    )
    numbers = numbers or {}
    cells = zip(
        *(numbers.get(field) or _json_cells(columns[field]) for field in LANDMARK_FIELDS),
        strict=True,
    )
    body = ",\n".join([template % row for row in cells])
    prefix = top[: -len(b"[]\n}")]
    return prefix + b"[\n" + body.encode("utf-8") + b"\n  ]\n}"


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
    # 2: overlays written by camgeom.io.png (the same pixels, other bytes)
    version = "2"
    suffixes = (".overlay.png", ".landmarks.csv", ".landmarks.json")

    @property
    def options(self) -> Mapping[str, Any]:
        return {"groups": None if self.groups is None else list(self.groups)}

    def inputs(self, item: FrameSource) -> Sequence[str]:
        return source_inputs(item)

    def run(self, item: FrameSource, out: FrameOutputs) -> FrameResult:
        from camgeom.drawing import draw_landmarks_comparison
        from camgeom.io.png import png_bytes

        frame = item.read()
        groups = self.groups
        require_groups(frame, groups)
        columns, points = _landmark_columns(frame, groups)
        numbers = _number_cells(columns)
        table = _csv_from_columns(columns, numbers)
        head = {
            "frame_id": frame.frame_id,
            "vendor": frame.vendor,
            "pixel_convention": _PIXEL_CONVENTION,
        }
        image, reason = _frame_image(frame)
        vis = np.array([v is not False for v in columns["visible"]], bool)
        overlay = draw_landmarks_comparison(image, points[:, 2:], points[:, :2], visible=vis)
        out.path(".landmarks.csv").write_text(table, encoding="utf-8")
        out.path(".landmarks.json").write_bytes(_landmarks_json(head, columns, numbers))
        out.path(".overlay.png").write_bytes(png_bytes(overlay))
        count = len(columns["name"])
        return FrameResult({"landmarks": count}, warnings=(reason,) if reason else ())


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

"""Microsoft Face Synthetics: ``{id}.png``, ``{id}_seg.png``, ``{id}_ldmks.txt``.

Each ``{id}_ldmks.txt`` holds 70 rows ``x y`` (x is the column): the 68 iBUG points,
then the two pupil centres. The dataset publishes no camera and no 3D positions, so
:attr:`Frame.camera` is None and the landmark groups have ``world=None``. The
vendor does not state a pixel convention; the labels are used as camgeom
continuous coordinates (pixel centres at +0.5) unchanged -- an assumption, noted
in every frame. The segmentation PNG stores one class id per pixel
(:data:`SEGMENTATION_CLASSES`).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from camgeom.datasets._common import decimals_of, image_size, relative_id
from camgeom.datasets.frame import Frame, FrameSource
from camgeom.datasets.landmarks import Landmarks
from camgeom.datasets.metadata import CameraMetadata
from camgeom.errors import FormatError

__all__ = [
    "LDMKS_SUFFIX",
    "SEGMENTATION_CLASSES",
    "read_frame",
    "read_ldmks",
]

LDMKS_SUFFIX = "_ldmks.txt"
N_LANDMARKS = 70

SEGMENTATION_CLASSES: dict[str, int] = {
    "background": 0,
    "skin": 1,
    "nose": 2,
    "right_eye": 3,
    "left_eye": 4,
    "right_brow": 5,
    "left_brow": 6,
    "right_ear": 7,
    "left_ear": 8,
    "mouth_interior": 9,
    "top_lip": 10,
    "bottom_lip": 11,
    "neck": 12,
    "hair": 13,
    "beard": 14,
    "clothing": 15,
    "glasses": 16,
    "headwear": 17,
    "facewear": 18,
    "ignore": 255,
}
"""Class name -> id in ``{id}_seg.png`` (from the dataset's README)."""

PIXEL_NOTE = (
    "FaceSynthetics ldmks.txt rows are (x = column, y = row); used as camgeom continuous "
    "pixel coordinates unchanged (the vendor states no pixel convention)"
)


def sample_id(path: Path) -> str:
    """The ``{id}`` of a ``{id}_ldmks.txt`` file."""
    return path.name[: -len(LDMKS_SUFFIX)]


def source_for(ldmks_path: Path, root: Path) -> FrameSource:
    """Source of ``ldmks_path`` with a frame id relative to ``root``."""
    frame_id = relative_id(ldmks_path.parent / sample_id(ldmks_path), root)
    return FrameSource(
        "facesynthetics",
        ldmks_path,
        frame_id,
        partial(read_frame, ldmks_path, frame_id=frame_id),
        partial(_image_scene, frame_id),
        files=partial(_input_files, ldmks_path),
    )


def _input_files(ldmks_path: Path) -> list[Path]:
    """``{id}_ldmks.txt``, ``{id}.png`` and ``{id}_seg.png`` (the last two when present)."""
    sid = sample_id(ldmks_path)
    found = [ldmks_path]
    for name in (f"{sid}.png", f"{sid}_seg.png"):
        if (ldmks_path.parent / name).is_file():
            found.append(ldmks_path.parent / name)
    return found


def _image_scene(frame_id: str) -> str:
    return f"image:{frame_id}"


def read_ldmks(path: str | Path) -> np.ndarray:
    """Read a ``{id}_ldmks.txt`` file as float64 (70, 2) (x, y) = (column, row).

    Raises
    ------
    FormatError
        Unreadable file, a row without exactly two numbers, non-finite values, or
        not 70 rows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "0_ldmks.txt"
    >>> _ = p.write_text("".join(f"{i} {i + 0.5}\\n" for i in range(70)))
    >>> read_ldmks(p)[1]
    array([1. , 1.5])
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path}: cannot read the landmark file ({exc}).") from None
    rows = [line.split() for line in text.splitlines() if line.strip()]
    for i, row in enumerate(rows):
        if len(row) != 2:
            raise FormatError(
                f"{path}: line {i + 1} must hold two numbers 'x y', got {len(row)} fields."
            )
    try:
        pts = np.array(rows, dtype=np.float64).reshape(-1, 2)
    except ValueError:
        raise FormatError(f"{path}: landmark rows must hold numbers.") from None
    if len(pts) != N_LANDMARKS:
        raise FormatError(
            f"{path}: expected {N_LANDMARKS} rows 'x y' (68 iBUG points and 2 pupils), "
            f"got {len(pts)}."
        )
    if not np.all(np.isfinite(pts)):
        raise FormatError(f"{path}: landmark values must be finite.")
    return pts


def read_frame(path: str | Path, *, frame_id: str | None = None) -> Frame:
    """Read one FaceSynthetics sample from its ``{id}_ldmks.txt`` (or ``{id}.png``).

    Returns a :class:`Frame` with ``camera=None`` and the groups ``"ibug68"`` (68
    points, names ``"1".."68"``) and ``"pupils"`` (names ``"69"``, ``"70"``: the
    vendor does not say which is left), both with ``world=None``.
    """
    path = Path(path)
    if not path.name.endswith(LDMKS_SUFFIX):
        stem = path.name[: -len("_seg.png")] if path.name.endswith("_seg.png") else path.stem
        path = path.parent / f"{stem}{LDMKS_SUFFIX}"
    if not path.is_file():
        raise FormatError(f"{path}: FaceSynthetics landmark file not found.")
    sid = sample_id(path)
    folder = path.parent
    pts = read_ldmks(path)
    decimals = decimals_of(pts)
    groups = {
        "ibug68": Landmarks(
            names=tuple(str(i) for i in range(1, 69)),
            world=None,
            pixels=pts[:68],
            visible=None,
            pixels_decimals=decimals,
            source=f"{path.name}: rows 1-68",
        ),
        "pupils": Landmarks(
            names=("69", "70"),
            world=None,
            pixels=pts[68:],
            visible=None,
            pixels_decimals=decimals,
            source=f"{path.name}: rows 69-70",
        ),
    }
    image_path = folder / f"{sid}.png"
    seg_path = folder / f"{sid}_seg.png"
    size = image_size(image_path) if image_path.is_file() else None
    return Frame(
        camera=None,
        vendor="facesynthetics",
        version=None,
        frame_id=frame_id or sid,
        scene_id=_image_scene(frame_id or sid),
        camera_name="default",
        image_path=image_path if image_path.is_file() else None,
        segmentation_path=seg_path if seg_path.is_file() else None,
        segmentation_mapping=dict(SEGMENTATION_CLASSES) if seg_path.is_file() else {},
        landmarks=groups,
        raw={"ldmks": pts},
        metadata=CameraMetadata(
            width=None if size is None else size[0],
            height=None if size is None else size[1],
            source=str(path),
            pixel_convention="camgeom",
        ),
        notes=(PIXEL_NOTE,),
        source=path,
    )

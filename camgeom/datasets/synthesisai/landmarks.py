"""Synthesis AI landmark groups: one table for every group of an ``info.json``.

Groups, by layout:

* v1 - v1.2: ``landmarks`` (a list: iBUG-68 numbered by ``ptnum`` from 0),
  ``contour_landmarks`` (v1.2; ``ptnum`` from 1, hidden points omitted: 68 rows
  with NaN for the missing ones) and ``pupil_coordinates``;
* v1.5: ``landmarks`` is an object of named groups (nested names joined with
  ``_``), each point with an ``id`` it is sorted by;
* the dense sets ``N.sai_dense.obj`` / ``N.mediapipe_dense.obj``: world-space
  vertices in separate files, read on first access.

``screen_space_pos`` is ``(u / W, v / H)`` (:func:`~camgeom.conventions.convert_pixels`
``"screen_space"``), ``camera_space_pos`` is in the OpenGL camera frame
(:func:`~camgeom.conventions.convert_points` to OpenCV).
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable, Mapping
from functools import lru_cache, partial
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from camgeom.conventions import convert_pixels, convert_points
from camgeom.datasets._common import read_obj_vertices
from camgeom.datasets._json import MAX_NESTING, check_depth, get_array, nesting_error
from camgeom.datasets.landmarks import Landmarks, LazyLandmarks
from camgeom.datasets.synthesisai.camera import AXIS_CONVENTION, PIXEL_CONVENTION
from camgeom.errors import FormatError, MissingKeyError
from camgeom.projection import _project_pinhole_numpy

if TYPE_CHECKING:
    from camgeom.camera import Camera

__all__ = ["DENSE_FILES", "landmark_groups", "note_defects"]

DENSE_FILES = {"sai_dense": ".sai_dense.obj", "mediapipe_dense": ".mediapipe_dense.obj"}
"""Dense landmark sets stored as separate OBJ files (world-space vertices, no 2D labels)."""


class _Spec(NamedTuple):
    """One landmark group to convert: its points and how to name and order them."""

    name: str
    pts: list[Any]
    keypath: str
    order: str  # "id" (sort by id), "ptnum0"/"ptnum1" (place by point number), "given"
    names: list[str] | None = None
    item_paths: list[str] | None = None


def landmark_groups(
    info: Mapping[str, Any],
    info_path: Path,
    stem: str,
    siblings: frozenset[str],
    size: tuple[int, int],
    notes: list[str],
) -> LazyLandmarks:
    """The landmark groups of an ``info.json`` and its dense ``.obj`` sets, built on first access.

    Every point of the ``info.json`` groups is checked here (missing keys, shapes,
    non-finite values raise now, naming the file and the JSON path); the groups'
    arrays are built when a group is first asked for. Groups numbered by
    ``ptnum`` (v1 - v1.2, at most a few hundred points) are built now, so that a
    bad point number fails the read too. The dense sets are read from their
    files on first access.

    Parameters
    ----------
    size : (int, int)
        Image width and height: ``screen_space_pos`` is scaled by them.

    Returns
    -------
    LazyLandmarks
        Group name -> :class:`Landmarks`, in the file's order, dense sets last.
    """
    specs = _specs(info, info_path, notes)
    checked = _validated(specs, info_path, size)
    if specs:
        notes.append("screen_space_pos is (u/W, v/H): scaled to camgeom pixels")
    groups = {s.name: checked.build(s.name) for s in specs if s.order in ("ptnum0", "ptnum1")}
    loaders: dict[str, Callable[[], Landmarks]] = {
        spec.name: checked.builder(spec.name) for spec in specs if spec.name not in groups
    }
    order = [spec.name for spec in specs]
    for name, suffix in DENSE_FILES.items():
        fname = f"{stem}{suffix}"
        if fname in siblings:
            loaders[name] = partial(_read_dense, info_path.parent / fname)
            order.append(name)
    return LazyLandmarks(groups, loaders, order=order)


def _specs(info: Mapping[str, Any], info_path: Path, notes: list[str]) -> list[_Spec]:
    """The landmark groups of an ``info.json``, in the file's order."""
    specs: list[_Spec] = []
    lms = info.get("landmarks")
    if isinstance(lms, list):
        specs.append(_Spec("ibug68", lms, "landmarks", "ptnum0"))
    elif isinstance(lms, Mapping):
        for name, pts, keypath in _flatten_groups(lms, "landmarks", path=info_path):
            specs.append(_Spec(name, pts, keypath, "id"))
    elif lms is not None:
        raise FormatError(
            f"{info_path}: expected landmarks to be a list or an object, got {type(lms).__name__}."
        )
    contour = info.get("contour_landmarks")
    if isinstance(contour, list):
        specs.append(_Spec("ibug68_contour", contour, "contour_landmarks", "ptnum1"))
        notes.append("contour_landmarks ptnum counts from 1: aligned to 68 rows, NaN where absent")
    pupils = info.get("pupil_coordinates")
    if isinstance(pupils, Mapping) and pupils:
        keys = [k for k in ("pupil_left", "pupil_right") if k in pupils] or list(pupils)
        specs.append(
            _Spec(
                "pupils",
                [pupils[k] for k in keys],
                "pupil_coordinates",
                "given",
                names=[k.removeprefix("pupil_") for k in keys],
                item_paths=[f"pupil_coordinates.{k}" for k in keys],
            )
        )
    return specs


def _read_dense(path: Path) -> Landmarks:
    verts = read_obj_vertices(path)
    return Landmarks(
        names=tuple(str(i) for i in range(len(verts))),
        world=verts,
        pixels=None,
        visible=None,
        source=str(path),
    )


def _flatten_groups(
    node: Mapping[str, Any], prefix: str, name: str = "", *, path: Path, level: int = 1
) -> list[tuple[str, list[Any], str]]:
    if level > MAX_NESTING:  # the document was parsed without a nesting check
        raise nesting_error(prefix, path)
    out: list[tuple[str, list[Any], str]] = []
    for key, value in node.items():
        gname = f"{name}_{key}" if name else str(key)
        keypath = f"{prefix}.{key}"
        if isinstance(value, list):
            out.append((_snake(gname), value, keypath))
        elif type(value) is dict or isinstance(value, Mapping):
            out.extend(_flatten_groups(value, keypath, gname, path=path, level=level + 1))
    return out


@lru_cache(maxsize=1024)
def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def _points(
    pts: list[Any], key: str, keypath: str, path: Path, width: int, item_paths: list[str] | None
) -> np.ndarray:
    try:
        arr = np.array([p[key] for p in pts], dtype=np.float64)
    except (KeyError, TypeError, ValueError):
        for i, p in enumerate(pts):
            where = item_paths[i] if item_paths else f"{keypath}[{i}]"
            if not isinstance(p, Mapping):
                raise FormatError(
                    f"{path}: expected an object at {where}, got {type(p).__name__}."
                ) from None
            if key not in p:
                raise MissingKeyError(f"{path}: missing key {where}.{key}") from None
            get_array(p, f"{where}.{key}", path, (width,), value=p[key])
        raise FormatError(f"{path}: {keypath} points have inconsistent {key} values.") from None
    if arr.ndim != 2 or arr.shape[1] != width:
        raise FormatError(
            f"{path}: expected {keypath}[*].{key} to hold {width} numbers each, "
            f"got shape {arr.shape}."
        )
    if not np.all(np.isfinite(arr)):
        bad = int(np.argwhere(~np.isfinite(arr))[0, 0])
        where = item_paths[bad] if item_paths else f"{keypath}[{bad}]"
        raise FormatError(f"{path}: {where}.{key} holds non-finite values (NaN or inf).")
    return arr


# One table for every landmark group of a file: 12 columns, zeros where a group has no value.
_S, _W, _C, _ID, _PT, _DIST, _FR = 0, 2, 5, 8, 9, 10, 11
_WIDTH = 12
_VECTOR_KEYS = ("screen_space_pos", "world_space_pos", "camera_space_pos")
_SCALAR_KEYS = ("id", "ptnum", "distance_to_camera", "in_frustum")
_COLUMN = {
    "screen_space_pos": _S,
    "world_space_pos": _W,
    "camera_space_pos": _C,
    "id": _ID,
    "ptnum": _PT,
    "distance_to_camera": _DIST,
    "in_frustum": _FR,
}
_PY_POWERS = tuple(10.0**d for d in range(7))


def _signature(first: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(k for k in (*_VECTOR_KEYS, *_SCALAR_KEYS) if k in first)


_V15 = ("screen_space_pos", "world_space_pos", "camera_space_pos", "id", "in_frustum")
_V15_2D = ("screen_space_pos", "id", "in_frustum")
_V1 = ("screen_space_pos", "world_space_pos", "camera_space_pos", "ptnum", "distance_to_camera")
_V1_2D = ("screen_space_pos", "ptnum")
_PUPIL = ("screen_space_pos", "world_space_pos", "camera_space_pos", "distance_to_camera")


def _rows(pts: list[Any], sig: tuple[str, ...]) -> list[list[Any]]:
    """Each point as one 12-value row (any layout; the usual ones take :func:`_flat_values`)."""
    rows = []
    for p in pts:
        row = [0.0] * _WIDTH
        for key in sig:
            col = _COLUMN[key]
            if key in _VECTOR_KEYS:
                value = p[key]
                row[col : col + len(value)] = value
            else:
                row[col] = p[key]
        rows.append(row)
    return rows


_XY, _XYZ_W, _XYZ_C = (_S, _S + 1), (_W, _W + 1, _W + 2), (_C, _C + 1, _C + 2)
_FAST_COLUMNS: dict[tuple[str, ...], tuple[int, ...]] = {
    _V15: (*_XY, *_XYZ_W, *_XYZ_C, _ID, _FR),
    _V15_2D: (*_XY, _ID, _FR),
    _V1: (*_XY, *_XYZ_W, *_XYZ_C, _PT, _DIST),
    _V1_2D: (*_XY, _PT),
    _PUPIL: (*_XY, *_XYZ_W, *_XYZ_C, _DIST),
}
"""Table columns of each layout seen in the data, in the order :func:`_flat_values` gives them."""
_ALL_COLUMNS = tuple(range(_WIDTH))


def _flat_values(pts: list[Any], sig: tuple[str, ...], out: list[Any]) -> None:
    """Append the values of every point of a usual layout to ``out``, point after point.

    Unpacking checks each vector's length; anything that is not a number (a
    string, None, a nested list, an object's keys) is refused when ``out``
    becomes float64. A missing key raises KeyError, a point that is not an
    object TypeError.
    """
    s, w, c = _VECTOR_KEYS
    ext = out.extend
    if sig == _V15:  # v1.5 groups
        for p in pts:
            (a, b), (d, e, f), (g, h, i) = p[s], p[w], p[c]
            ext((a, b, d, e, f, g, h, i, p["id"], p["in_frustum"]))
    elif sig == _V15_2D:  # v1.5 ibug68_contour
        for p in pts:
            a, b = p[s]
            ext((a, b, p["id"], p["in_frustum"]))
    elif sig == _V1:  # v1-v1.2 landmarks
        for p in pts:
            (a, b), (d, e, f), (g, h, i) = p[s], p[w], p[c]
            ext((a, b, d, e, f, g, h, i, p["ptnum"], p["distance_to_camera"]))
    elif sig == _V1_2D:  # v1.2 contour_landmarks
        for p in pts:
            a, b = p[s]
            ext((a, b, p["ptnum"]))
    else:  # pupils
        for p in pts:
            (a, b), (d, e, f), (g, h, i) = p[s], p[w], p[c]
            ext((a, b, d, e, f, g, h, i, p["distance_to_camera"]))


@lru_cache(maxsize=64)
def _packer(count: int) -> struct.Struct:
    return struct.Struct(f"{count}d")


def _table(spec: _Spec, sig: tuple[str, ...], path: Path) -> np.ndarray:
    """One group's (N, 12) rows, checked point by point (errors name the point and key).

    The slow path behind :func:`_convert`, used only when the fast path fails.
    """
    pts, keypath, item_paths = spec.pts, spec.keypath, spec.item_paths
    out = np.zeros((len(pts), _WIDTH))
    out[:, _S : _S + 2] = _points(pts, "screen_space_pos", keypath, path, 2, item_paths)
    for key in _VECTOR_KEYS[1:]:
        if key in sig:
            col = _COLUMN[key]
            out[:, col : col + 3] = _points(pts, key, keypath, path, 3, item_paths)
    for key in _SCALAR_KEYS:
        if key not in sig:
            continue
        if key == "in_frustum":
            # true, 1 and 1.0 are in the frustum, as on the fast path (strings are not)
            values: list[Any] = [p.get("in_frustum") == 1 for p in pts]
        elif key == "distance_to_camera":
            values = [p.get("distance_to_camera", np.nan) for p in pts]
        else:
            if any(key not in p for p in pts):
                raise MissingKeyError(f"{path}: missing key {keypath}[*].{key}")
            values = [p[key] for p in pts]
        try:
            out[:, _COLUMN[key]] = np.array(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise FormatError(f"{path}: {keypath}[*].{key} must be numbers.") from None
    return out


def _members(specs: list[_Spec], path: Path) -> list[tuple[_Spec, tuple[str, ...]]]:
    """The groups with points and their layouts (the keys of their first point)."""
    members: list[tuple[_Spec, tuple[str, ...]]] = []
    for spec in specs:
        if not spec.pts:
            continue
        first = spec.pts[0]
        if type(first) is not dict and not isinstance(first, Mapping):
            raise FormatError(
                f"{path}: expected objects in {spec.keypath}, got {type(first).__name__}."
            )
        members.append((spec, _signature(first)))
    return members


def _validated(specs: list[_Spec], path: Path, size: tuple[int, int]) -> _Groups:
    """Every point of every group checked and converted in one table; the groups come later.

    Every point of every group becomes one row of a (N, 12) float64 table, filled
    from flat lists of the parsed values (:func:`_fast_table`); the finiteness
    check, the scaling to pixels and the OpenGL -> OpenCV flip are each one
    operation on the whole table, so a file that would fail when a group is
    built fails here, when it is read. Any problem falls back to a per-group, per-key path
    whose errors name the file, the group, the point and the key. What is left
    for each group (its order by id, names and :class:`Landmarks`) is done by
    :meth:`_Groups.build` when the group is first asked for.
    """
    members = _members(specs, path)
    arr = _fast_table(members)
    if arr is None:
        tables = [_table(m, sig, path) for m, sig in members]
        arr = np.concatenate(tables, axis=0) if tables else np.zeros((0, _WIDTH))
    return _Groups(specs, members, arr, path, size)


@lru_cache(maxsize=16)
def _column_factors(width: int, height: int) -> np.ndarray:
    """Per-column factors of the table's first 8 columns: the pixel and axis conversions.

    ``screen_space`` -> camgeom pixels scales by (W, H) and OpenGL -> OpenCV
    flips two axes, so both are one multiplication of the table; the factors
    are :func:`~camgeom.conventions.convert_pixels` and
    :func:`~camgeom.conventions.convert_points` of ones (tests check the
    product against the two conversions).
    """
    ones = np.ones(3)
    pixels = convert_pixels(ones[:2], PIXEL_CONVENTION, "camgeom", width=width, height=height)
    axes = convert_points(ones, AXIS_CONVENTION, "opencv")
    factors = np.concatenate([pixels, ones, axes])
    factors.flags.writeable = False
    return factors


def _fast_table(members: list[tuple[_Spec, tuple[str, ...]]]) -> np.ndarray | None:
    """The (N, 12) table of the groups' points, or None when a value needs the checked path.

    The values of every point go into one flat list of Python numbers, turned
    into float64 by one :mod:`struct` call (which, unlike ``np.array``, refuses
    strings), then placed in their layout's columns, one numpy assignment for
    each run of groups of one layout.
    """
    flat: list[Any] = []
    runs: list[tuple[tuple[int, ...], int]] = []  # (columns, points) of consecutive groups
    try:
        for m, sig in members:
            cols = _FAST_COLUMNS.get(sig)
            if cols is not None:
                _flat_values(m.pts, sig, flat)
            else:
                cols = _ALL_COLUMNS
                for row in _rows(m.pts, sig):
                    if len(row) != _WIDTH:  # a vector of another length
                        return None
                    flat.extend(row)
            if runs and runs[-1][0] is cols:
                runs[-1] = (cols, runs[-1][1] + len(m.pts))
            else:
                runs.append((cols, len(m.pts)))
        values = np.frombuffer(_packer(len(flat)).pack(*flat))
    except (KeyError, TypeError, ValueError, OverflowError, struct.error):
        return None
    if not np.isfinite(values).all():
        return None
    arr = np.zeros((sum(n for _, n in runs), _WIDTH))
    first = at = 0
    for cols, n in runs:
        size = n * len(cols)
        block = values[at : at + size].reshape(n, len(cols))
        if cols is _ALL_COLUMNS:
            arr[first : first + n] = block
        else:
            arr[first : first + n, cols] = block
        first, at = first + n, at + size
    return arr


class _Groups:
    """The checked, converted table of an ``info.json``'s groups; :meth:`build` makes one group.

    Parameters
    ----------
    specs : list of _Spec
        Every group, empty ones included.
    members : list of (_Spec, signature)
        The groups with points, in the order of their rows in ``arr``.
    arr : ndarray, shape (N, 12), float64
        Their rows as stored (private: converted in place here, then frozen).
    path : Path
        The ``info.json`` (for messages and ``Landmarks.source``).
    size : (int, int)
        Image width and height.
    """

    def __init__(
        self,
        specs: list[_Spec],
        members: list[tuple[_Spec, tuple[str, ...]]],
        arr: np.ndarray,
        path: Path,
        size: tuple[int, int],
    ) -> None:
        self.specs = {spec.name: spec for spec in specs}
        self.path = path
        self.name = path.name
        counts = [len(m.pts) for m, _ in members]
        starts = [0] if counts else []
        for n in counts[:-1]:
            starts.append(starts[-1] + n)
        by_id = ["id" in sig and m.order == "id" for m, sig in members]
        moved = [False] * len(members)
        self.order: list[int] | None = None  # stored point of each row, within its group
        if any(by_id):  # rows of groups named by id sorted by id, in one (stable) sort
            rows = np.arange(len(arr))
            key = np.where(np.repeat(by_id, counts), arr[:, _ID], rows)
            order = np.lexsort((key, np.repeat(np.arange(len(members)), counts)))
            changed = order != rows
            if changed.any():
                arr = arr[order]
                moved = np.logical_or.reduceat(changed, starts).tolist()
                self.order = (order - np.repeat(starts, counts)).tolist()
        self.screen = arr[:, _S : _S + 2].copy()  # as stored: for the decimals
        # screen -> pixels, OpenGL camera frame -> OpenCV (arr is a private array)
        width, height = size
        arr[:, : _C + 3] *= _column_factors(width, height)
        self.scale = (float(width), float(height))
        self.frustum = arr[:, _FR] == 1.0
        arr.flags.writeable = False  # the views handed out inherit read-only
        self.frustum.flags.writeable = False
        self.table = arr
        self.parts = {
            m.name: (m, sig, start, n, ordered, moves)
            for (m, sig), start, n, ordered, moves in zip(
                members, starts, counts, by_id, moved, strict=True
            )
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        # numpy unpickles arrays writeable: the groups built from a copy stay read-only
        self.__dict__.update(state)
        self.table.flags.writeable = False
        self.frustum.flags.writeable = False

    def build(self, name: str) -> Landmarks:
        """The group called ``name``."""
        spec = self.specs[name]
        source = f"{self.name}: {spec.keypath}"
        if name not in self.parts:  # a group without points
            return Landmarks((), np.zeros((0, 3)), np.zeros((0, 2)), None, source=source)
        m, sig, start, n, by_id, moved = self.parts[name]
        block = self.table[start : start + n]
        fr = self.frustum[start : start + n] if "in_frustum" in sig else None
        if m.names is not None:
            names = list(m.names)
        elif m.order in ("ptnum0", "ptnum1") and "ptnum" in sig:
            block, fr, names = _place(block, fr, m, self.path)
        elif m.order in ("ptnum0", "ptnum1"):
            raise MissingKeyError(f"{self.path}: missing key {m.keypath}[0].ptnum")
        else:
            order = self.order[start : start + n] if moved and self.order is not None else None
            names = _names(block, m, by_id, order, self.path)
        return Landmarks._trusted(
            names=tuple(names),
            world=block[:, _W : _W + 3] if "world_space_pos" in sig else None,
            pixels=block[:, _S : _S + 2],
            visible=None,
            camera_space=block[:, _C : _C + 3] if "camera_space_pos" in sig else None,
            distance=block[:, _DIST] if "distance_to_camera" in sig else None,
            in_frustum=fr,
            pixels_decimals=_decimals(self.screen[start : start + n]),
            pixels_scale=self.scale,
            source=source,
        )

    def builder(self, name: str) -> Callable[[], Landmarks]:
        """A loader of the group ``name`` for :class:`LazyLandmarks`."""
        return partial(self.build, name)


def _decimals(screen: np.ndarray) -> int | None:
    """Decimals a group's stored ``screen_space_pos`` (N, 2) is rounded to (None: not rounded).

    Only the decimals its first value is rounded to are checked on the group.
    """
    v = float(screen[0, 0])
    for d, q in enumerate(_PY_POWERS):
        x = v * q
        if math.isfinite(x) and abs(x - round(x)) <= 1e-6:
            xs = screen * q
            if float(np.abs(xs - np.rint(xs)).max()) <= 1e-6:
                return d
    return None


def _names(
    block: np.ndarray, spec: _Spec, by_id: bool, order: list[int] | None, path: Path
) -> list[str]:
    """The stored ``name`` of each row (else its id when ``by_id``, else the row number).

    ``order``: the rows of ``block`` as indices of the stored points (None: as stored).
    """
    pts = spec.pts if order is None else map(spec.pts.__getitem__, order)
    stored: list[Any] = list(map(dict.get, pts, repeat("name")))
    if set(map(type, stored)) == {str}:
        return stored
    if by_id:
        ids = block[:, _ID].tolist()
        for i, v in enumerate(stored):  # str() of a list or object recurses
            check_depth(v, f"{spec.keypath}[{i if order is None else order[i]}].name", path)
        return [str(v) if v is not None else f"{ids[i]:g}" for i, v in enumerate(stored)]
    return [v if type(v) is str else str(i) for i, v in enumerate(stored)]


def _place(
    block: np.ndarray, frustum: np.ndarray | None, spec: _Spec, path: Path
) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Put points at their row ``ptnum - base`` (68 rows at least; NaN where absent)."""
    base = 0 if spec.order == "ptnum0" else 1
    values = block[:, _PT]
    # rows are allocated up to the largest ptnum: bound it by the points listed
    limit = max(68, 2 * len(values))
    if float(values.max()) - base >= limit:
        raise FormatError(
            f"{path}: {spec.keypath} ptnum {float(values.max()):g} is beyond what "
            f"{len(values)} listed points can number (at most {limit - 1 + base})."
        )
    nums = [int(v) - base for v in values.tolist()]
    if min(nums) < 0 or len(set(nums)) != len(nums):
        raise FormatError(
            f"{path}: {spec.keypath} ptnum values are not distinct point numbers from {base}."
        )
    total = max(68, max(nums) + 1)
    names = [str(i + 1) for i in range(total)]
    if nums == list(range(total)):
        return block, frustum, names
    full = np.full((total, block.shape[1]), np.nan)
    full[nums] = block
    full.flags.writeable = False
    if frustum is not None:
        fr = np.zeros(total, dtype=bool)
        fr[nums] = frustum
        fr.flags.writeable = False
        frustum = fr
    return full, frustum, names


def note_defects(groups: Mapping[str, Landmarks], camera: Camera, notes: list[str]) -> None:
    """Name the known vendor defects the groups show (they are kept as stored)."""
    pupils = groups.get("pupils")
    if pupils is not None and pupils.world is not None and len(pupils) == 2:
        left, right = pupils.world.tolist()
        if left == right:
            notes.append(
                "known vendor defect: pupil_right carries pupil_left's world_space_pos and "
                "camera_space_pos (its screen_space_pos and distance_to_camera are its own)"
            )
    ibug = groups.get("ibug68")
    if ibug is not None and ibug.world is not None and ibug.pixels is not None and len(ibug) == 68:
        if camera.distortion is None:  # numpy: reading metadata never loads numba
            uv, z = _project_pinhole_numpy(ibug.world, camera.K, camera.cam_from_world)
        else:
            uv, z = camera.project(ibug.world)
        if not (z > 0).all():
            return
        err = np.abs(uv - ibug.pixels).max(axis=1).tolist()
        brows = max(err[17:27])
        rest = max(err[:17] + err[27:])
        if brows > 1.0 and rest < 1.0:
            notes.append(
                "known vendor defect: iBUG-68 eyebrow labels (points 18-27) are up to "
                f"{brows:.1f} px from the projection of their world positions"
            )

"""Datagen keypoints: ``key_points/*.json``, the legacy files and the actor's eye points.

* ``pixel_2d.x`` is the image **row** and ``pixel_2d.y`` the column (the same in
  ``keypoints_2d_coordinates`` and the actor metadata's eye points): converted with
  :func:`~camgeom.conventions.convert_pixels` from :data:`PIXEL_CONVENTION`.
* Keypoint keys ``"01".."68"`` or ``"1".."68"`` are sorted numerically (names are
  normalised to ``"1".."68"``); ear keys count from 0; the ear section is ``ears`` in
  its own file and ``ear`` in ``all_key_points.json``; ``is_visible`` is a string.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from itertools import chain
from operator import itemgetter, methodcaller
from pathlib import Path
from typing import Any

import numpy as np

from camgeom.conventions import convert_pixels
from camgeom.datasets._common import natural_key, readonly
from camgeom.datasets._json import _short, get, get_array, load_json
from camgeom.datasets.landmarks import Landmarks
from camgeom.errors import FormatError, MissingKeyError

__all__ = [
    "GROUP_ORDER",
    "KNOWN_KEYPOINT_VERSIONS",
    "PIXEL_CONVENTION",
    "SECTION_GROUPS",
    "keypoint_groups",
]

PIXEL_CONVENTION = "row_col"
"""The :func:`~camgeom.conventions.convert_pixels` name of Datagen's 2D labels."""

KNOWN_KEYPOINT_VERSIONS = ("2.0.0",)

SECTION_GROUPS: dict[str, str] = {
    "face.standard": "ibug68",
    "face.dense": "mediapipe_dense",
    "ears": "ears",
    "ear": "ears",
    "head": "head",
    "body": "body",
    "feet": "feet",
    "hands": "hands",
    "hand": "hands",
    "eyes": "eyes",
}
"""Keypoint file section -> landmark group name."""

GROUP_ORDER = ("ibug68", "mediapipe_dense", "ears", "head", "eyes", "body", "hands", "feet")
"""Order of the landmark groups in :attr:`Frame.landmarks` (others follow in file order)."""

LEGACY_KEYPOINT_FILES = {
    "standard_keypoints.json": "ibug68",
    "dense_keypoints.json": "mediapipe_dense",
}

_EYE_POINTS = (
    ("apex_of_cornea_point", "cornea.apex"),
    ("center_of_iris_point", "iris.center"),
    ("iris_circle", "iris.circle"),
    ("center_of_pupil_point", "pupil.center"),
    ("pupil_circle", "pupil.circle"),
    ("center_of_rotation_point", "rotation.center"),
)


def keypoint_groups(
    camera_dir: Path,
    names: frozenset[str],
    actor: Any,
    actor_path: Path | None,
    camera_name: str,
    notes: list[str],
    raw: dict[str, Any],
) -> dict[str, Landmarks]:
    """Every landmark group of a camera folder, in :data:`GROUP_ORDER`.

    Keypoint files first (the per-section files, else ``all_key_points.json``),
    then the legacy files, then the actor's eye points when no file has eyes.
    The parsed files are added to ``raw["keypoints"]``.
    """
    groups = _keypoints(camera_dir, names, notes, raw)
    if "eyes" not in groups and isinstance(actor, Mapping) and actor_path is not None:
        eyes = _actor_eyes(actor, actor_path, camera_name)
        if eyes is not None:
            groups["eyes"] = eyes
    rank = {name: i for i, name in enumerate(GROUP_ORDER)}
    groups = dict(sorted(groups.items(), key=lambda kv: rank.get(kv[0], len(rank))))
    if any(g.pixels is not None for g in groups.values()):
        notes.append("datagen pixel_2d is (row, col): swapped to (u, v)")
    return groups


def _leaves(node: Any, prefix: str) -> list[tuple[str, Mapping[str, Any]]]:
    """``(dotted name, leaf)`` of every keypoint under ``node``, numeric keys in numeric order."""
    out: list[tuple[str, Mapping[str, Any]]] = []
    _collect_leaves(node, prefix, out)
    return out


def _collect_leaves(node: Any, prefix: str, out: list[tuple[str, Mapping[str, Any]]]) -> None:
    if not (type(node) is dict or isinstance(node, Mapping)):
        return
    if "global_3d" in node:
        out.append((prefix, node))
        return
    keys = [k for k in node if k != "version"]
    if keys and _all_numbers(keys):
        keys.sort(key=int)
    for key in keys:
        child = node[key]
        name = f"{prefix}.{key}" if prefix else str(key)
        if type(child) is dict and "global_3d" in child:
            out.append((name, child))  # the usual leaf: no call for it
        else:
            _collect_leaves(child, name, out)


def _is_number(key: Any) -> bool:
    """A key of ASCII digits only ("²".isdigit() is true, but int("²") fails)."""
    return type(key) is str and key.isascii() and key.isdecimal()


def _all_numbers(keys: list[Any]) -> bool:
    """:func:`_is_number` of every key, tested on their concatenation (one C-level pass)."""
    if not keys:
        return True
    if "" in keys:
        return False
    try:
        joined = "".join(keys)
    except TypeError:  # a key that is not a str
        return False
    return joined.isascii() and joined.isdecimal()


_LEADING_ZERO = re.compile("(?:^|\x00)0[^\x00]")
"""A name that starts with "0" and goes on ("01"), in names joined by NUL."""


def _to_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _section_group(section: str, sub: str | None) -> str:
    key = f"{section}.{sub}" if sub is not None else section
    if key in SECTION_GROUPS:
        return SECTION_GROUPS[key]
    return re.sub(r"[^0-9a-z]+", "_", key.lower()).strip("_")


def _group_from_leaves(
    leaves: list[tuple[str, Mapping[str, Any]]], group: str, path: Path, keypath: str
) -> Landmarks:
    fast = _group_fast(leaves, group, path, keypath)
    if fast is not None:
        return fast
    n = len(leaves)
    world = np.empty((n, 3))
    row_col = np.full((n, 2), np.nan)
    visible = np.zeros(n, dtype=bool)
    has_visible = True
    has_pixels = False
    all_int = True
    names = []
    for i, (name, leaf) in enumerate(leaves):
        where = f"{keypath}.{name}"
        g: Any = leaf.get("global_3d")
        try:
            world[i] = (g["x"], g["y"], g["z"])
        except (KeyError, TypeError, IndexError):
            raise MissingKeyError(f"{path}: missing key {where}.global_3d.x/y/z") from None
        except (ValueError, OverflowError):
            raise FormatError(
                f"{path}: expected numbers at {where}.global_3d.x/y/z, got {_short(g)}."
            ) from None
        px = leaf.get("pixel_2d")
        if px is not None:
            try:
                row_col[i] = (px["x"], px["y"])  # pixel_2d.x is the row
            except (KeyError, TypeError, IndexError):
                raise MissingKeyError(f"{path}: missing key {where}.pixel_2d.x/y") from None
            except (ValueError, OverflowError):
                raise FormatError(
                    f"{path}: expected numbers at {where}.pixel_2d.x/y, got {_short(px)}."
                ) from None
            has_pixels = True
            all_int = all_int and isinstance(px["x"], int) and isinstance(px["y"], int)
        if "is_visible" in leaf:
            visible[i] = _to_bool(leaf["is_visible"])
        else:
            has_visible = False
        names.append(str(int(name)) if group == "ibug68" and _is_number(name) else name)
    return _finish(
        names,
        world,
        row_col if has_pixels else None,
        visible if has_visible else None,
        all_int,
        path,
        keypath,
    )


def _group_fast(
    leaves: list[tuple[str, Mapping[str, Any]]], group: str, path: Path, keypath: str
) -> Landmarks | None:
    """The group of well-formed leaves (numbers everywhere) in bulk; None for anything else.

    The per-leaf loop of :func:`_group_from_leaves` then names the offending key.
    """
    if not leaves:
        return None
    leaf_names, leaf_docs = zip(*leaves, strict=True)
    try:
        coords = list(map(_XYZ, map(_GLOBAL_3D, leaf_docs)))
        pixels = list(map(_PIXEL_2D, leaf_docs))
        flags = list(map(_IS_VISIBLE, leaf_docs))
    except (KeyError, TypeError, AttributeError):
        return None
    unlabelled = pixels.count(None)
    if unlabelled:
        if unlabelled != len(pixels):
            return None  # some labelled, some not: the general path
        row_col = None
        all_int = True
    else:
        try:
            raw = np.array(list(map(_XY, pixels)))
        except (KeyError, TypeError, AttributeError, ValueError):
            return None
        if raw.dtype.kind not in "if" or raw.shape != (len(pixels), 2):
            return None  # strings, booleans, nested values: the per-leaf path decides
        all_int = raw.dtype.kind == "i"
        row_col = raw.astype(np.float64)
    try:
        # Numbers as the per-leaf path stores them: float(), so "1.5" and True pass alike.
        world = np.fromiter(chain.from_iterable(coords), np.float64, 3 * len(coords))
    except (TypeError, ValueError, OverflowError):
        return None
    world = world.reshape(-1, 3)
    visible = None
    missing = flags.count(None)
    if not missing:
        if flags.count("true") + flags.count("false") == len(flags):  # as Datagen writes them
            visible = np.array(list(map("true".__eq__, flags)), dtype=bool)
        else:
            visible = np.array([_to_bool(f) for f in flags], dtype=bool)
    elif missing != len(flags):
        return None
    if group == "ibug68":
        names = [str(int(n)) if _is_number(n) else n for n in leaf_names]
    else:
        names = list(leaf_names)
    return _finish(names, world, row_col, visible, all_int, path, keypath)


_GLOBAL_3D = itemgetter("global_3d")
_XYZ = itemgetter("x", "y", "z")
_XY = itemgetter("x", "y")
_PIXEL_2D = methodcaller("get", "pixel_2d")
_IS_VISIBLE = methodcaller("get", "is_visible")


def _finish(
    names: list[str],
    world: np.ndarray,
    row_col: np.ndarray | None,
    visible: np.ndarray | None,
    all_int: bool,
    path: Path,
    keypath: str,
) -> Landmarks:
    """Check a group's values and build its :class:`Landmarks` (labels stored (row, col))."""
    if not np.all(np.isfinite(world)):
        bad = names[int(np.argwhere(~np.isfinite(world))[0, 0])]
        raise FormatError(f"{path}: {keypath}.{bad} world position holds non-finite values.")
    pixels = None
    if row_col is not None:
        if not np.all(np.isfinite(row_col)):
            bad = names[int(np.argwhere(~np.isfinite(row_col))[0, 0])]
            raise FormatError(f"{path}: {keypath}.{bad} pixel position holds non-finite values.")
        pixels = convert_pixels(row_col, PIXEL_CONVENTION, "camgeom")
    # Arrays this module built: float64 (N, 3) / (N, 2), bool (N,); no checks or copies again.
    return Landmarks._trusted(
        names=tuple(names),
        world=readonly(world),
        pixels=readonly(pixels),
        visible=readonly(visible),
        pixels_decimals=0 if (pixels is not None and all_int) else None,
        source=f"{path.name}: {keypath}",
    )


def _keypoints(
    camera_dir: Path, names: frozenset[str], notes: list[str], raw: dict[str, Any]
) -> dict[str, Landmarks]:
    groups: dict[str, Landmarks] = {}
    raw_kp: dict[str, Any] = {}
    raw["keypoints"] = raw_kp
    kp_dir = camera_dir / "key_points"
    files: list[Path] = []
    if "key_points" in names and kp_dir.is_dir():
        files = sorted(kp_dir.glob("*.json"), key=lambda p: natural_key(p.name))
        separate = [p for p in files if p.name != "all_key_points.json"]
        files = separate or files
    numeric_sort_noted = False
    for kp_path in files:
        doc = load_json(kp_path)
        raw_kp[kp_path.name] = doc
        if not isinstance(doc, Mapping):
            raise FormatError(f"{kp_path}: expected a JSON object at the top level.")
        version = doc.get("version")
        if version is not None and str(version) not in KNOWN_KEYPOINT_VERSIONS:
            warnings.warn(
                f"{kp_path}: unknown Datagen keypoints version {version!r} (known: "
                f"{', '.join(KNOWN_KEYPOINT_VERSIONS)}); reading it with the 2.0.0 layout.",
                UserWarning,
                stacklevel=4,
            )
        for section, body in doc.items():
            if section == "version" or not isinstance(body, Mapping):
                continue
            subsections: list[tuple[str | None, Any]]
            if section == "face" and not any(
                "global_3d" in v for v in body.values() if isinstance(v, Mapping)
            ):
                subsections = [(k, v) for k, v in body.items()]
            else:
                subsections = [(None, body)]
            for sub, node in subsections:
                group = _section_group(section, sub)
                keypath = section if sub is None else f"{section}.{sub}"
                leaves = _leaves(node, "")
                if not leaves:
                    continue
                if not numeric_sort_noted and _LEADING_ZERO.search(
                    "\x00".join([n for n, _ in leaves])
                ):
                    notes.append("keypoint keys '01'..'68' sorted numerically; names normalised")
                    numeric_sort_noted = True
                if group in groups:
                    continue  # the same section in all_key_points.json and its own file
                groups[group] = _group_from_leaves(leaves, group, kp_path, keypath)
                if section in ("ear", "hand"):
                    notes.append(f"all_key_points.json section {section!r} read as group {group!r}")
    for fname, group in LEGACY_KEYPOINT_FILES.items():
        if fname in names and group not in groups:
            kp_path = camera_dir / fname
            doc = load_json(kp_path)
            raw_kp[fname] = doc
            groups[group] = _legacy_group(doc, kp_path, group)
    return groups


def _legacy_group(doc: Any, path: Path, group: str) -> Landmarks:
    pts3 = get(doc, "keypoints_3d_coordinates", path)
    pts2 = get(doc, "keypoints_2d_coordinates", path, default=None)
    vis = get(doc, "is_visible", path, default=None)
    if not isinstance(pts3, Mapping):
        raise FormatError(f"{path}: expected an object at keypoints_3d_coordinates.")
    keys = sorted(pts3, key=lambda k: int(k) if _is_number(k) else math.inf)
    world = get_array(
        doc, "keypoints_3d_coordinates", path, (len(keys), 3), value=[pts3[k] for k in keys]
    )
    row_col = None
    all_int = False
    if isinstance(pts2, Mapping):
        missing = [k for k in keys if k not in pts2]
        if missing:
            raise MissingKeyError(f"{path}: missing key keypoints_2d_coordinates.{missing[0]}")
        row_col = get_array(
            doc, "keypoints_2d_coordinates", path, (len(keys), 2), value=[pts2[k] for k in keys]
        )
        all_int = all(isinstance(v, int) for k in keys for v in pts2[k])  # shapes checked
    visible = None
    if isinstance(vis, Mapping) and all(k in vis for k in keys):
        visible = np.array([_to_bool(vis[k]) for k in keys])
    names = [str(int(k)) if _is_number(k) else str(k) for k in keys]
    return _finish(names, world, row_col, visible, all_int, path, "keypoints_3d_coordinates")


def _actor_eyes(actor: Mapping[str, Any], path: Path, camera_name: str) -> Landmarks | None:
    names: list[str] = []
    world: list[Any] = []
    row_col: list[Any] = []
    has_pixels = True
    all_int = True
    for side in ("left", "right"):
        for key, label in _EYE_POINTS:
            entry = actor.get(key)
            if not isinstance(entry, Mapping) or "3d" not in entry:
                continue
            p3 = entry["3d"].get(f"{side}_eye") if isinstance(entry["3d"], Mapping) else None
            p2_all = entry.get("2d", {})
            p2_cam = p2_all.get(camera_name) if isinstance(p2_all, Mapping) else None
            p2 = p2_cam.get(f"{side}_eye") if isinstance(p2_cam, Mapping) else None
            if p3 is None:
                continue
            items3 = p3 if isinstance(p3, list) else [p3]
            items2 = p2 if isinstance(p2, list) else ([p2] if p2 is not None else [])
            if len(items2) != len(items3):
                has_pixels = False
            for i, q3 in enumerate(items3):
                suffix = f".{i}" if isinstance(p3, list) else ""
                names.append(f"{side}.{label}{suffix}")
                try:
                    world.append((q3["x"], q3["y"], q3["z"]))
                except (KeyError, TypeError, IndexError):
                    raise MissingKeyError(
                        f"{path}: missing key {key}.3d.{side}_eye{suffix}.x/y/z"
                    ) from None
                if has_pixels and i < len(items2):
                    q2 = items2[i]
                    try:
                        row_col.append((q2["x"], q2["y"]))  # x is the row
                    except (KeyError, TypeError, IndexError):
                        raise MissingKeyError(
                            f"{path}: missing key {key}.2d.{camera_name}.{side}_eye{suffix}.x/y"
                        ) from None
                    all_int = all_int and isinstance(q2["x"], int) and isinstance(q2["y"], int)
    if not names:
        return None
    try:
        world_arr = np.array(world, dtype=np.float64)
        rc_arr = (
            np.array(row_col, dtype=np.float64)
            if has_pixels and len(row_col) == len(names)
            else None
        )
    except (TypeError, ValueError, OverflowError):
        raise FormatError(f"{path}: eye points hold non-numeric values.") from None
    if world_arr.shape != (len(names), 3) or (
        rc_arr is not None and rc_arr.shape != (len(names), 2)
    ):
        raise FormatError(f"{path}: eye points must each hold x, y, z (3D) and x, y (2D) numbers.")
    return _finish(names, world_arr, rc_arr, None, all_int, path, "actor eye points")

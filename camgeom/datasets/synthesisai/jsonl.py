"""Synthesis AI ``metadata.jsonl``: the streaming index and the join with ``info.json``.

A job folder holds one ``metadata.jsonl`` (the request: one JSON object per
line, each naming its render by ``render_id``). :class:`MetadataJsonl` indexes it
in one pass and parses a line only when its render is read; :func:`join_line`
returns a render's line and its camera settings, or none when the line describes
another render (the public v1.5 sample's only line does).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from camgeom.datasets._json import check_depth, parse_json_bytes
from camgeom.datasets.synthesisai.camera import SHIFT_UNITS
from camgeom.errors import FormatError
from camgeom.intrinsics import principal_point_from_shift

__all__ = ["MetadataJsonl", "join_line", "jsonl_camera"]

_RENDER_ID = re.compile(rb'"render_id"\s*:\s*"?(-?\d+)"?')
_CENTRE_TOL_PX = 1.0
"""How far the stored principal point may be from the line's image centre (pixels)."""


class MetadataJsonl:
    """Streaming index of a ``metadata.jsonl`` file: render id -> line.

    The index (render id -> byte offset) is built in one pass over the file the
    first time a line is asked for, reading each line's ``render_id`` with a
    regular expression; a line is parsed only when its render is read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "metadata.jsonl"
    >>> _ = p.write_text('{"render_id": 3, "a": 1}\\n{"render_id": 7, "a": 2}\\n')
    >>> MetadataJsonl(p).line("7")["a"]
    2
    """

    def __init__(self, path: Path) -> None:
        self.path = path if isinstance(path, Path) else Path(path)
        self._offsets: dict[str, tuple[int, int, int]] | None = None
        self._cache: dict[str, dict[str, Any] | None] = {}

    def _build(self) -> dict[str, tuple[int, int, int]]:
        offsets: dict[str, tuple[int, int, int]] = {}
        try:
            with open(self.path, "rb") as fh:
                pos = 0
                for lineno, line in enumerate(fh, start=1):
                    match = _RENDER_ID.search(line)
                    if match is not None:
                        offsets.setdefault(str(int(match.group(1))), (pos, len(line), lineno))
                    pos += len(line)
        except OSError as exc:
            raise FormatError(
                f"{self.path}: cannot read the file ({exc.strerror or exc})."
            ) from None
        return offsets

    def render_ids(self) -> tuple[str, ...]:
        """Render ids found in the file, in file order."""
        if self._offsets is None:
            self._offsets = self._build()
        return tuple(self._offsets)

    def line(self, render_id: str) -> dict[str, Any] | None:
        """The parsed line for ``render_id``, or None if the file has none."""
        if render_id in self._cache:
            return self._cache[render_id]
        if self._offsets is None:
            self._offsets = self._build()
        entry = self._offsets.get(render_id)
        if entry is None:
            self._cache[render_id] = None
            return None
        offset, length, lineno = entry
        with self.path.open("rb") as fh:
            fh.seek(offset)
            data = fh.read(length)
        parsed = parse_json_bytes(data, self.path, what=f" line {lineno}")
        if not isinstance(parsed, dict):
            raise FormatError(f"{self.path} line {lineno}: expected a JSON object.")
        self._cache[render_id] = parsed
        return parsed


def jsonl_camera(line: Mapping[str, Any]) -> dict[str, Any]:
    """Camera settings of a metadata.jsonl line (v1.1-v1.3 and v1.4 rig layouts)."""
    out: dict[str, Any] = {}
    scene = line.get("scene") if isinstance(line.get("scene"), Mapping) else {}
    res = (
        line.get("render", {}).get("resolution")
        if isinstance(line.get("render"), Mapping)
        else None
    )
    if isinstance(res, Mapping):
        out["width"], out["height"] = res.get("w"), res.get("h")
    spec: Mapping[str, Any] = {}
    adv: Mapping[str, Any] = {}
    scam = scene.get("camera") if isinstance(scene, Mapping) else None
    if isinstance(scam, Mapping):
        spec = _mapping(scam.get("specifications"))
        adv = spec
    rigs = scene.get("camera_and_light_rigs") if isinstance(scene, Mapping) else None
    if isinstance(rigs, list):
        name = line.get("camera_name")
        for rig in rigs:
            cams = rig.get("cameras") if isinstance(rig, Mapping) else None
            for cam in cams if isinstance(cams, list) else []:
                if not isinstance(cam, Mapping):
                    continue
                if name is None or cam.get("name") == name:
                    spec = _mapping(cam.get("specifications"))
                    adv = _mapping(cam.get("advanced"))
                    if out.get("width") is None:
                        out["width"], out["height"] = (
                            spec.get("resolution_w"),
                            spec.get("resolution_h"),
                        )
                    break
    for key, src, where in (
        ("shift_x", "lens_shift_horizontal", adv),
        ("shift_y", "lens_shift_vertical", adv),
        ("window_offset_x", "window_offset_horizontal", adv),
        ("window_offset_y", "window_offset_vertical", adv),
        ("focal_length_mm", "focal_length", spec),
        ("sensor_width_mm", "sensor_width", spec),
    ):
        value = where.get(src) if isinstance(where, Mapping) else None
        number = _finite(value)
        if number is not None:
            out[key] = number
    for key in ("width", "height"):
        value = out.get(key)
        # a size that is not a positive whole number is ignored (the image header decides)
        number = _finite(value)
        ok = number is not None and number > 0 and number.is_integer()
        out[key] = int(number) if ok and number is not None else None
    return out


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _finite(value: Any) -> float | None:
    """``value`` as a finite float, or None (not a number, a bool, NaN or inf)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _identity_of(doc: Mapping[str, Any]) -> Any:
    for keypath in ("identity_metadata.id", "identity.id", "id"):
        node: Any = doc
        for part in keypath.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is not None:
            return node
    return None


def _join_mismatch(
    info: Mapping[str, Any],
    jcam: Mapping[str, Any],
    K: np.ndarray,
    line: Mapping[str, Any],
    info_path: Path | str,
) -> str:
    """Why a metadata.jsonl line does not belong to this render ("" if it does)."""
    ident_info = _identity_of(info) if "identity_metadata" in info else None
    check_depth(ident_info, "identity_metadata.id", info_path)  # str() below recurses
    scene = line.get("scene")
    ident_line = _identity_of(scene) if isinstance(scene, Mapping) else None
    if ident_info is not None and ident_line is not None and str(ident_info) != str(ident_line):
        return f"identity {ident_line} vs {ident_info} in the info.json"
    width, height = jcam.get("width"), jcam.get("height")
    if width and height and width > 0 and height > 0:
        # the stored K may or may not include the lens shift: accept either centre
        centres = [(width / 2.0, height / 2.0)]
        shift_x, shift_y = jcam.get("shift_x") or 0.0, jcam.get("shift_y") or 0.0
        if shift_x or shift_y:
            centres.append(
                principal_point_from_shift(width, height, shift_x, shift_y, units=SHIFT_UNITS)
            )
        cx, cy = float(K[0, 2]), float(K[1, 2])
        if not any(
            abs(x - cx) <= _CENTRE_TOL_PX and abs(y - cy) <= _CENTRE_TOL_PX for x, y in centres
        ):
            return (
                f"resolution {width}x{height} does not match the principal point "
                f"({cx:g}, {cy:g}) of the info.json"
            )
    return ""


def join_line(
    jsonl: MetadataJsonl | None,
    render_id: str,
    info: Mapping[str, Any],
    K: np.ndarray,
    notes: list[str],
    *,
    info_path: Path | str = "info.json",
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The ``metadata.jsonl`` line of a render and its camera settings.

    Returns ``(None, {})`` when there is no line for ``render_id`` or the line
    describes another render (a note says why). ``info_path`` names the
    ``info.json`` in errors.
    """
    line = jsonl.line(render_id) if jsonl is not None else None
    if line is None:
        return None, {}
    jcam = jsonl_camera(line)
    reason = _join_mismatch(info, jcam, K, line, info_path)
    if reason:
        notes.append(
            f"metadata.jsonl line for render_id {render_id} not used: it describes another "
            f"render ({reason})"
        )
        return None, {}
    return line, jcam

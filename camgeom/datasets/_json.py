"""Keyed access to parsed vendor JSON with errors that name the file and the JSON path.

Every reader goes through these helpers so that a missing key, a wrong shape or a
non-finite number in any vendor file gives the same kind of message::

    .../24.info.json: missing key camera.transform_world2cam.mat_4x4

JSON paths are dotted (``camera.intrinsics``); list items are written ``[i]``.
"""

from __future__ import annotations

import json
import math
import reprlib
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from camgeom.errors import FormatError, MissingKeyError

__all__ = [
    "MAX_NESTING",
    "MISSING",
    "check_depth",
    "get",
    "get_array",
    "get_float",
    "get_optional_array",
    "get_optional_float",
    "load_json",
    "nesting_error",
    "parse_json_bytes",
    "read_bytes",
]


class _Missing:
    """Sentinel for "no default": a missing key raises."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def load_json(path: Path, *, check_nesting: bool = True) -> Any:
    """Parse a JSON file; unreadable or corrupt files raise :class:`FormatError`.

    ``NaN``/``Infinity`` literals parse (as Python does by default); the keyed
    getters below reject non-finite values where they are used, naming the key.
    ``check_nesting`` is passed to :func:`parse_json_bytes`.
    """
    return parse_json_bytes(read_bytes(path), path, check_nesting=check_nesting)


def read_bytes(path: Path) -> bytes:
    """The bytes of a metadata file; an unreadable file raises :class:`FormatError`."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise FormatError(f"{path}: cannot read the file ({exc.strerror or exc}).") from None


def parse_json_bytes(
    data: bytes, path: Path | str, *, what: str = "", check_nesting: bool = True
) -> Any:
    """Parse JSON bytes; errors name ``path`` (and ``what``, e.g. a line number).

    orjson parses standard JSON 2-3x faster than the standard library; what it
    refuses (``NaN``/``Infinity`` literals, integers beyond 64 bits, and broken
    files) goes through :func:`json.loads`, which gives the same values as before
    and the error messages below.

    With ``check_nesting`` (the default) a document nested deeper than
    :data:`MAX_NESTING` is refused before it is parsed. Without it, a document
    orjson parses is returned unchecked (orjson itself refuses more than 1,024
    levels): the caller checks with :func:`check_depth` every value it recurses
    into or converts to text (``str``, ``repr``), since those recurse too. A
    document orjson refuses is checked before :func:`json.loads` recurses into it.
    """
    shallow_enough = len(data) <= 2 * MAX_NESTING  # a shorter file cannot nest deeper
    if check_nesting and not shallow_enough:
        _check_nesting(data, path, what)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    if not check_nesting and not shallow_enough:
        _check_nesting(data, path, what)
    try:
        return json.loads(data, parse_int=_parse_int)
    except RecursionError:
        raise FormatError(
            f"{path}{what}: corrupt JSON (nested more than {sys.getrecursionlimit()} levels deep)."
        ) from None
    except UnicodeDecodeError as exc:
        raise FormatError(f"{path}{what}: not UTF-8 text ({exc.reason}).") from None
    except ValueError as exc:
        hint = " The file looks truncated." if not data.strip() or "Expecting" in str(exc) else ""
        raise FormatError(f"{path}{what}: corrupt JSON ({exc}).{hint}") from None


MAX_NESTING = 128
"""Deepest nesting of arrays and objects a metadata file may have (vendor files: < 15).

Readers walk parsed documents recursively; a deeper file is refused when read, or,
for a document parsed with ``check_nesting=False`` (a Synthesis AI ``info.json``),
each value the reader walks or prints (:func:`check_depth`)."""


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEP = np.zeros(256, dtype=np.int8)
_BRACKET_STEP[[ord("["), ord("{")]] = 1
_BRACKET_STEP[[ord("]"), ord("}")]] = -1


def _check_nesting(data: bytes, path: Path | str, what: str) -> None:
    """Refuse ``data`` nested deeper than :data:`MAX_NESTING` (brackets in strings count too)."""
    brackets = data.translate(None, _NOT_BRACKETS)  # C speed; a small fraction of the file
    if len(brackets) <= MAX_NESTING:
        return
    step = _BRACKET_STEP[np.frombuffer(brackets, dtype=np.uint8)]
    depth = int(np.cumsum(step, dtype=np.int64).max(initial=0))
    if depth > MAX_NESTING and _exact_depth(data) > MAX_NESTING:
        raise FormatError(
            f"{path}{what}: JSON nested more than {MAX_NESTING} levels deep; is the file damaged?"
        )


def check_depth(value: Any, keypath: str, path: Path | str) -> None:
    """Refuse a parsed ``value`` (at ``keypath``) nested deeper than :data:`MAX_NESTING`.

    For documents parsed with ``check_nesting=False``: run it on a value before
    recursing into it or converting it to text. Walks without recursion; numbers
    and strings pass at once.

    Examples
    --------
    >>> check_depth([[1, 2], {"a": [3]}], "x", "doc.json")
    >>> deep: list = []
    >>> for _ in range(MAX_NESTING):
    ...     deep = [deep]
    >>> check_depth(deep, "x", "doc.json")
    Traceback (most recent call last):
    ...
    camgeom.errors.FormatError: doc.json: JSON nested more than 128 levels deep at x; is the file damaged?
    """
    if type(value) is not list and type(value) is not dict:
        return
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise nesting_error(keypath, path)
        children = node.values() if type(node) is dict else node
        stack.extend((c, depth + 1) for c in children if type(c) is list or type(c) is dict)


def nesting_error(keypath: str, path: Path | str) -> FormatError:
    """The error for a value at ``keypath`` nested deeper than :data:`MAX_NESTING`."""
    return FormatError(
        f"{path}: JSON nested more than {MAX_NESTING} levels deep at {keypath}; "
        "is the file damaged?"
    )


def _exact_depth(data: bytes) -> int:
    """Nesting depth outside strings (only run on the rare file that looks deep)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _parse_int(text: str) -> int | float:
    """An integer literal; one too long for a float's range becomes a float (maybe inf).

    ``10**400`` written out then reads as ``inf``, which every getter rejects as
    non-finite (naming the key) instead of overflowing where it is used.
    """
    return int(text) if len(text) <= 18 else float(text)


def _join(prefix: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else key


def get(doc: Any, keypath: str, path: Path | str, *, default: Any = MISSING) -> Any:
    """Return ``doc[k1][k2]...`` for ``keypath = "k1.k2..."``.

    Raises :class:`MissingKeyError` naming ``path`` and the first missing part of
    the key path, unless ``default`` is given.

    Examples
    --------
    >>> get({"camera": {"fov": 1.0}}, "camera.fov", "x.json")
    1.0
    >>> get({"camera": {}}, "camera.fov", "x.json", default=None) is None
    True
    """
    node = doc
    parts = keypath.split(".")
    for i, part in enumerate(parts):
        if (type(node) is dict or isinstance(node, Mapping)) and part in node:
            node = node[part]
            continue
        if default is not MISSING:
            return default
        done = ""  # the path found so far, written only for the message
        for found in parts[:i]:
            done = _join(done, found)
        where = _join(done, part)
        if not isinstance(node, Mapping):
            raise FormatError(
                f"{path}: expected an object at {done or '<root>'} to look up {part!r}, "
                f"got {type(node).__name__}."
            )
        raise MissingKeyError(f"{path}: missing key {where}")
    return node


def get_array(
    doc: Any,
    keypath: str,
    path: Path | str,
    shape: tuple[int | None, ...],
    *,
    value: Any = MISSING,
) -> np.ndarray:
    """Return the value at ``keypath`` as a finite float64 array of ``shape``.

    ``None`` in ``shape`` accepts any length. Pass ``value`` to check an
    already-fetched value (``keypath`` is then only used in messages).
    """
    raw = get(doc, keypath, path) if value is MISSING else value
    try:
        arr = np.array(raw, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise FormatError(
            f"{path}: expected numbers at {keypath} with shape {_shape_text(shape)}, "
            f"got {_short(raw)}."
        ) from None
    got = arr.shape
    if len(got) != len(shape) or any(
        s is not None and s != a for s, a in zip(shape, got, strict=True)
    ):
        raise FormatError(
            f"{path}: expected {keypath} to have shape {_shape_text(shape)}, got {arr.shape}."
        )
    if not math.isfinite(arr.sum()):  # one reduction: finite only if every value is
        raise FormatError(f"{path}: {keypath} holds non-finite values (NaN or inf): {_short(raw)}.")
    return arr


def get_optional_array(
    doc: Any, keypath: str, path: Path | str, shape: tuple[int | None, ...]
) -> np.ndarray | None:
    """Like :func:`get_array`, but ``None`` when the key is absent."""
    raw = get(doc, keypath, path, default=None)
    if raw is None:
        return None
    return get_array(doc, keypath, path, shape, value=raw)


def get_float(doc: Any, keypath: str, path: Path | str, *, value: Any = MISSING) -> float:
    """Return the finite number at ``keypath``."""
    raw = get(doc, keypath, path) if value is MISSING else value
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise FormatError(f"{path}: expected a number at {keypath}, got {_short(raw)}.")
    try:
        out = float(raw)
    except OverflowError:
        out = math.inf
    if not math.isfinite(out):
        raise FormatError(f"{path}: {keypath} is not finite ({raw!r}).")
    return out


def get_optional_float(doc: Any, keypath: str, path: Path | str) -> float | None:
    """Like :func:`get_float`, but ``None`` when the key is absent or null."""
    raw = get(doc, keypath, path, default=None)
    return None if raw is None else get_float(doc, keypath, path, value=raw)


def _shape_text(shape: tuple[int | None, ...]) -> str:
    parts = ["N" if s is None else str(s) for s in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def _short(value: Any, limit: int = 80) -> str:
    try:
        text = repr(value)
    except RecursionError:  # a value nested too deep to print (see check_depth)
        text = reprlib.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."

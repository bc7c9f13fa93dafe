"""Output names: one unique, reversible relative path stem per frame id.

A frame id is a ``/``-separated path relative to the dataset root
(``"sai.v2/0"``, ``"a b/x"``, ``"scene_00001/frames/001/cam"``). Its output stem
mirrors the dataset tree, one folder per component, each component
percent-encoded so that different ids never share a stem:

- letters, digits and ``-_.`` are kept; everything else (spaces, ``~``, ``%``,
  non-ASCII as UTF-8 bytes, undecodable file-name bytes) becomes ``%XX``, so
  ``"a b"`` -> ``"a%20b"`` and ``"a_b"`` -> ``"a_b"`` differ;
- a leading ``.`` becomes ``%2E``, so no output is a hidden file, none can be
  mistaken for a temporary file, and none lands in the ``.camgeom`` folder;
- dots inside a component are kept: suffixes are always *appended* to the stem
  (``stem + ".overlay.png"``), never swapped with :meth:`pathlib.Path.with_suffix`;
- a component whose encoded form is longer than :data:`MAX_COMPONENT_BYTES` is
  shortened to a prefix, ``~`` and 16 hex digits of the SHA-256 of the
  component. ``~`` appears in no other encoded component, so a shortened
  component is recognisable; its frame id is found through the manifest.

With :data:`MAX_SUFFIX_BYTES` for the longest suffix and the temporary-file
decoration of :mod:`camgeom.jobs.commit`, every file name stays under the
255-byte limit of common file systems.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote, unquote

from camgeom.errors import InvalidValueError

__all__ = [
    "MAX_COMPONENT_BYTES",
    "MAX_SUFFIX_BYTES",
    "frame_id_from_stem",
    "is_shortened",
    "output_stem",
]

#: Longest encoded component kept whole; longer ones are shortened with a hash.
MAX_COMPONENT_BYTES = 160
#: Longest suffix a job may append to a stem (``".landmarks.json"`` is 15).
MAX_SUFFIX_BYTES = 48

_SAFE = "-_."
_MARK = "~"
_HASH_HEX = 16
_ERRORS = "surrogateescape"  # file names that are not UTF-8 keep their bytes


def _encode(component: str, frame_id: str) -> str:
    if component in ("", ".", ".."):
        raise InvalidValueError(
            f"Expected `frame_id` to be a relative path without empty, '.' or '..' "
            f"components, got {frame_id!r}."
        )
    try:
        encoded = quote(component, safe=_SAFE, errors=_ERRORS)
    except UnicodeEncodeError:
        raise InvalidValueError(
            f"Expected `frame_id` to be text or a decoded file name, got {frame_id!r} "
            "(it holds a lone surrogate)."
        ) from None
    # quote() always keeps "~"; escape it so that only shortened components hold one.
    encoded = encoded.replace(_MARK, "%7E")
    if encoded.startswith("."):
        encoded = "%2E" + encoded[1:]
    if not component.isascii() and unquote(encoded, errors=_ERRORS) != component:
        # Escaped bytes that happen to form valid UTF-8 would decode to other text.
        raise InvalidValueError(
            f"Expected `frame_id` to be text or a decoded file name, got {frame_id!r} "
            "(its escaped bytes read as other characters)."
        )
    if len(encoded) > MAX_COMPONENT_BYTES:
        digest = hashlib.sha256(component.encode("utf-8", _ERRORS)).hexdigest()[:_HASH_HEX]
        cut = MAX_COMPONENT_BYTES - 1 - _HASH_HEX
        # Do not split a %XX escape.
        if encoded[cut - 1] == "%":
            cut -= 1
        elif encoded[cut - 2] == "%":
            cut -= 2
        encoded = encoded[:cut] + _MARK + digest
    return encoded


def output_stem(frame_id: str) -> str:
    """Map a frame id to its output path stem, relative to the output folder.

    Parameters
    ----------
    frame_id : str
        ``/``-separated path relative to the dataset root; no empty, ``.`` or
        ``..`` components.

    Returns
    -------
    str
        ``/``-separated stem, one encoded component per frame-id component
        (see the module docstring). Append a suffix to name a file.

    Raises
    ------
    InvalidValueError
        ``frame_id`` is empty, absolute, has ``.``/``..``/empty components, or
        holds text that cannot be encoded reversibly.

    Examples
    --------
    >>> output_stem("sai.v2/0")
    'sai.v2/0'
    >>> output_stem("a b/x"), output_stem("a_b/x")
    ('a%20b/x', 'a_b/x')
    >>> output_stem(".hidden/~tmp")
    '%2Ehidden/%7Etmp'
    >>> len(output_stem("x" * 300))
    160
    """
    if not isinstance(frame_id, str):
        raise InvalidValueError(f"Expected `frame_id` to be a str, got {type(frame_id).__name__}.")
    return "/".join(_encode(part, frame_id) for part in frame_id.split("/"))


def is_shortened(stem: str) -> bool:
    """True when some component of ``stem`` was shortened with a hash.

    Examples
    --------
    >>> is_shortened(output_stem("a" * 400)), is_shortened(output_stem("a~b"))
    (True, False)
    """
    return _MARK in stem


def frame_id_from_stem(stem: str) -> str:
    """Recover the frame id from a stem made by :func:`output_stem`.

    Parameters
    ----------
    stem : str
        A stem without shortened components (see :func:`is_shortened`).

    Returns
    -------
    str
        The frame id with ``output_stem(frame_id) == stem``.

    Raises
    ------
    InvalidValueError
        The stem was shortened (look it up with
        :meth:`camgeom.jobs.Manifest.frame_id_for_stem`), or no frame id maps to it.

    Examples
    --------
    >>> frame_id_from_stem("a%20b/x")
    'a b/x'
    >>> frame_id_from_stem(output_stem("sai.v2/.0 ~"))
    'sai.v2/.0 ~'
    """
    if is_shortened(stem):
        raise InvalidValueError(
            f"Output stem {stem!r} was shortened with a hash; its frame id is recorded "
            "in the output folder's manifest (Manifest.frame_id_for_stem)."
        )
    frame_id = "/".join(unquote(part, errors=_ERRORS) for part in stem.split("/"))
    try:
        same = output_stem(frame_id) == stem
    except InvalidValueError:
        same = False
    if not same:
        raise InvalidValueError(f"{stem!r} is not an output stem made by output_stem().")
    return frame_id
